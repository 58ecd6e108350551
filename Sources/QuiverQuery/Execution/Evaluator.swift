import QuiverArrow
import QuiverBytes

/// The columns an expression reads, by bound column index (nil = not loaded), all of
/// `length` rows.
struct ColumnSet {
    var columns: [ArrayData?]
    var length: Int
}

/// Evaluates bound expressions over a batch, one kernel call per node.
///
/// A sub-expression over a single dictionary-encoded column (a comparison with a literal,
/// LIKE, a cast, …) is evaluated once per dictionary entry and then gathered through the
/// indices, so `flag = 'R'` on a dictionary column costs one lookup per row.
struct Evaluator {
    let pool: MemoryPool
    /// Results already computed over the current input, when several expressions share
    /// sub-expressions (TPC-H Q1 computes `price * (1 - discount)` in two sums).
    private var memo: Memo?

    /// Results by expression, for one input.
    private final class Memo {
        var results: [BoundExpr: Datum] = [:]
    }

    init(pool: MemoryPool) {
        self.pool = pool
    }

    /// This evaluator, remembering each compound expression's result for reuse; only for
    /// evaluating several expressions over one and the same input.
    func remembering() -> Evaluator {
        var copy = self
        copy.memo = Memo()
        return copy
    }

    func evaluate(_ expr: BoundExpr, _ input: ColumnSet) throws -> Datum {
        switch expr {
        case .column(let index, _):
            guard index < input.columns.count, let column = input.columns[index] else {
                throw QuiverError(.query, "internal: column \(index) was not loaded")
            }
            return .array(column)
        case .literal(let scalar):
            return .scalar(scalar)
        default:
            if let known = memo?.results[expr] { return known }
            let result: Datum
            if let index = singleDictionaryColumn(expr, input) {
                result = try evaluateOnDictionary(expr, column: index, input)
            } else {
                result = try evaluateNode(expr, input)
            }
            memo?.results[expr] = result
            return result
        }
    }

    private func evaluateNode(_ expr: BoundExpr, _ input: ColumnSet) throws -> Datum {
        let length = input.length
        switch expr {
        case .column, .literal:
            return try evaluate(expr, input)
        case .arithmetic(let op, let a, let b, let type):
            return .array(try Arithmetic.evaluate(op, try values(a, input), try values(b, input), type: type, length: length, pool: pool))
        case .compare(let op, let a, let b):
            return .array(try Compare.evaluate(op, try values(a, input), try values(b, input), length: length, pool: pool))
        case .and:
            return .array(try evaluateConjunction(expr.conjuncts, input))
        case .or(let a, let b):
            return .array(Logic.or(try evaluate(a, input), try evaluate(b, input), length: length, pool: pool))
        case .not(let a):
            return .array(Logic.not(try evaluate(a, input), length: length, pool: pool))
        case .isNull(let a, let negated):
            return .array(Logic.isNull(try values(a, input), negated: negated, length: length, pool: pool))
        case .like(let a, let pattern, let negated):
            let operand = try values(a, input)
            if operand.isNullScalar { return .scalar(.null(.boolean)) }
            let matched = StringKernels.like(try operand.materialize(length: length, pool: pool), pattern, pool: pool)
            return negated ? .array(Logic.not(.array(matched), length: length, pool: pool)) : .array(matched)
        case .inSet(let a, let set):
            return .array(try set.evaluate(try values(a, input), length: length, pool: pool))
        case .cast(let a, let type):
            let operand = try values(a, input)
            return .array(try Cast.evaluate(try operand.materialize(length: length, pool: pool), to: type, pool: pool))
        case .call(let function, let arguments, let type):
            let operands = try arguments.map { try values($0, input) }
            return try FunctionKernels.evaluate(function, operands, type: type, length: length, pool: pool)
        case .caseWhen(let parts, _):
            // Conditions are read as truth values, results as plain values.
            let operands = try parts.enumerated().map { index, part in
                index % 2 == 0 && index < parts.count - 1 ? try evaluate(part, input) : try values(part, input)
            }
            if operands.count == 1 { return operands[0] }
            let allConstant = operands.allSatisfy { if case .scalar = $0 { true } else { false } }
            let result = try FunctionKernels.caseWhen(operands, length: allConstant ? 1 : length, pool: pool)
            return allConstant ? .scalar(ScalarArrays.scalar(result, at: 0)) : .array(result)
        }
    }

    /// An AND chain in one pass: a lower and an upper bound on the same number column (`x >= a
    /// AND x < b`, BETWEEN) become one range test, and the parts are ANDed together at once
    /// rather than pairwise. NULL logic is exactly that of the chain.
    private func evaluateConjunction(_ conjuncts: [BoundExpr], _ input: ColumnSet) throws -> ArrayData {
        typealias Bound = (position: Int, op: CompareOp, value: Scalar)
        var parts: [BoundExpr?] = conjuncts
        var ranges: [Datum] = []
        // Pair each column's first lower bound with its first upper bound.
        var lowerBound: [Int: Bound] = [:]
        var upperBound: [Int: Bound] = [:]
        for (position, conjunct) in conjuncts.enumerated() {
            guard let (column, op, value) = Self.columnBound(conjunct) else { continue }
            if op == .greater || op == .greaterOrEqual {
                if lowerBound[column] == nil { lowerBound[column] = (position, op, value) }
            } else if op == .less || op == .lessOrEqual {
                if upperBound[column] == nil { upperBound[column] = (position, op, value) }
            }
        }
        for (column, low) in lowerBound.sorted(by: { $0.value.position < $1.value.position }) {
            guard let high = upperBound[column], column < input.columns.count, let data = input.columns[column],
                let range = try RangeCompare.evaluate(data, low: (low.op, low.value), high: (high.op, high.value), pool: pool)
            else { continue }
            ranges.append(.array(range))
            parts[low.position] = nil
            parts[high.position] = nil
        }
        let operands = try ranges + parts.compactMap { $0 }.map { try evaluate($0, input) }
        if operands.count == 1, case .array(let only) = operands[0] { return only }
        return Logic.all(operands, length: input.length, pool: pool)
    }

    /// `column <op> literal` (either way round) with a non-NULL literal: the column, the
    /// operator as seen from the column, and the literal.
    private static func columnBound(_ expr: BoundExpr) -> (column: Int, op: CompareOp, bound: Scalar)? {
        guard case .compare(let op, let a, let b) = expr else { return nil }
        switch (a, b) {
        case (.column(let index, _), .literal(let scalar)) where !scalar.isNull: return (index, op, scalar)
        case (.literal(let scalar), .column(let index, _)) where !scalar.isNull: return (index, op.flipped, scalar)
        default: return nil
        }
    }

    /// Evaluates and decodes dictionary arrays to plain values (for kernels that read values).
    func values(_ expr: BoundExpr, _ input: ColumnSet) throws -> Datum {
        let datum = try evaluate(expr, input)
        if case .array(let data) = datum, case .dictionary = data.type.storageType {
            return .array(try Take.decodeDictionary(data, pool: pool))
        }
        return datum
    }

    /// Evaluates an all-literal expression to its value.
    func fold(_ expr: BoundExpr) throws -> Scalar {
        switch try evaluate(expr, ColumnSet(columns: [], length: 1)) {
        case .scalar(let scalar): return scalar
        case .array(let data): return ScalarArrays.scalar(data, at: 0)
        }
    }

    private func singleDictionaryColumn(_ expr: BoundExpr, _ input: ColumnSet) -> Int? {
        // Cheap test first: this runs at every node of every expression.
        guard input.columns.contains(where: { if case .dictionary = $0?.type.storageType { true } else { false } }),
            let index = expr.singleColumn, index < input.columns.count,
            let column = input.columns[index], case .dictionary = column.type.storageType,
            let dictionary = column.dictionary, dictionary.length > 0, dictionary.length <= Swift.max(input.length, 64)
        else { return nil }
        return index
    }

    /// Evaluates `expr` once per dictionary entry plus once for NULL (an expression such as
    /// `x IS NULL` or `x = 'a' OR x IS NULL` need not be NULL on NULL input), then gathers
    /// each row's result: entry `index` for valid rows, the NULL entry for null rows.
    private func evaluateOnDictionary(_ expr: BoundExpr, column index: Int, _ input: ColumnSet) throws -> Datum {
        guard let column = input.columns[index], let dictionary = column.dictionary else {
            return try evaluateNode(expr, input)
        }
        let nullEntry = Output.nulls(dictionary.type, length: 1, pool: pool)
        var perEntry = input
        perEntry.columns[index] = try Take.concatenate([dictionary, nullEntry], pool: pool)
        perEntry.length = dictionary.length + 1
        // Over the dictionary's entries, not the input: nothing here may be remembered.
        var perEntryEvaluator = self
        perEntryEvaluator.memo = nil
        let result = try perEntryEvaluator.evaluateNode(expr, perEntry).materialize(length: perEntry.length, pool: pool)
        let rows = try Take.indexRows(column, nullRow: Int32(dictionary.length))
        return .array(try Take.take(result, rows: rows, pool: pool))
    }
}
