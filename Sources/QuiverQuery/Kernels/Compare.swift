import QuiverArrow
import QuiverBytes

/// A comparison operator.
enum CompareOp: String, Sendable, Hashable {
    case equal = "=", notEqual = "<>", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="

    /// The operator with its operands swapped (`a < b` ⇔ `b > a`).
    var flipped: CompareOp {
        switch self {
        case .equal, .notEqual: return self
        case .less: return .greater
        case .lessOrEqual: return .greaterOrEqual
        case .greater: return .less
        case .greaterOrEqual: return .lessOrEqual
        }
    }

    @inline(__always)
    func holds<T: Comparable>(_ a: T, _ b: T) -> Bool {
        switch self {
        case .equal: return a == b
        case .notEqual: return a != b
        case .less: return a < b
        case .lessOrEqual: return a <= b
        case .greater: return a > b
        case .greaterOrEqual: return a >= b
        }
    }
}

/// Comparison kernels: two operands of one physical type → a boolean array whose validity is
/// the AND of the operands' validities.
///
/// The inner loop packs 64 results per word with no branches, which LLVM vectorises, so it
/// runs at memory speed. Explicit generic `SIMD8<T>` code was tried and is much slower,
/// because `.<` on a generic `SIMD8<T>` resolves to the lane-by-lane fallback before
/// specialisation ever sees the concrete type.
enum Compare {
    static func evaluate(_ op: CompareOp, _ left: Datum, _ right: Datum, length: Int, pool: MemoryPool) throws -> ArrayData {
        if left.isNullScalar || right.isNullScalar { return Output.nulls(.boolean, length: length, pool: pool) }
        // Keep an array on the left: kernels take array⊕array or array⊕scalar.
        if case .scalar = left {
            if case .array = right { return try evaluate(op.flipped, right, left, length: length, pool: pool) }
            let array = try left.materialize(length: length, pool: pool)
            return try evaluate(op, .array(array), right, length: length, pool: pool)
        }
        let values = try values(op, left, right, length: length, pool: pool)
        let validity = Bitmaps.intersect([left.validity, right.validity], count: length, pool: pool)
        return Output.array(.boolean, length: length, validity: validity, [values])
    }

    /// Only the comparison bits (validity left to the caller).
    private static func values(_ op: CompareOp, _ left: Datum, _ right: Datum, length: Int, pool: MemoryPool) throws -> Buffer {
        let type = ScalarArrays.valueType(left.type)
        switch type {
        case .boolean:
            guard case .array(let l) = left else { throw mismatch(left, right) }
            let lhs = BitsOperand(view: Columns.bits(l))
            switch right {
            case .array(let r): return run(op, lhs, BitsOperand(view: Columns.bits(r)), length, pool)
            case .scalar(let s):
                guard case .bool(let b) = s.payload else { throw mismatch(left, right) }
                return run(op, lhs, ConstantOperand(value: UInt8(b ? 1 : 0)), length, pool)
            }
        case .utf8, .binary, .largeUtf8, .largeBinary:
            guard case .array(let l) = left else { throw mismatch(left, right) }
            // Against '' a string compares as its length against 0 (`s <> ''`: non-empty), a
            // loop over the offsets that vectorises, with no bytes read.
            if case .scalar(let s) = right, case .bytes(let bytes) = s.payload, bytes.isEmpty {
                if Columns.hasLargeOffsets(l.type) {
                    return run(op, StringLengths(offsets: Columns.strings(l, offsets: Int64.self).offsets), ConstantOperand(value: Int64(0)), length, pool)
                }
                return run(op, StringLengths(offsets: Columns.strings(l, offsets: Int32.self).offsets), ConstantOperand(value: Int32(0)), length, pool)
            }
            if Columns.hasLargeOffsets(l.type) {
                return try strings(op, StringsOperand(view: Columns.strings(l, offsets: Int64.self)), right, length, pool)
            }
            return try strings(op, StringsOperand(view: Columns.strings(l, offsets: Int32.self)), right, length, pool)
        default:
            guard let kind = NumberKind(type) else { throw mismatch(left, right) }
            return try kind.visit(NumberCompare(op: op, left: left, right: right, length: length, pool: pool))
        }
    }

    private static func strings<L: Operand>(
        _ op: CompareOp, _ lhs: L, _ right: Datum, _ length: Int, _ pool: MemoryPool
    ) throws -> Buffer where L.Element == ByteString {
        switch right {
        case .array(let r):
            if Columns.hasLargeOffsets(r.type) {
                return run(op, lhs, StringsOperand(view: Columns.strings(r, offsets: Int64.self)), length, pool)
            }
            return run(op, lhs, StringsOperand(view: Columns.strings(r, offsets: Int32.self)), length, pool)
        case .scalar(let s):
            guard case .bytes(let bytes) = s.payload else { throw mismatch(.scalar(s), right) }
            return bytes.withUnsafeBytes { raw in
                let constant = ByteString(start: raw.baseAddress ?? Buffer.empty.baseAddress, count: raw.count)
                return run(op, lhs, ConstantOperand(value: constant), length, pool)
            }
        }
    }

    private struct NumberCompare: NumberVisitor {
        let op: CompareOp
        let left: Datum
        let right: Datum
        let length: Int
        let pool: MemoryPool

        func visit<T: NumberValue>(_ type: T.Type) throws -> Buffer {
            guard case .array(let l) = left else { throw mismatch(left, right) }
            let lhs = ValuesOperand(base: Columns.values(l, as: T.self))
            switch right {
            case .array(let r):
                return run(op, lhs, ValuesOperand(base: Columns.values(r, as: T.self)), length, pool)
            case .scalar(let s):
                guard let value = ScalarArrays.number(s, as: T.self) else { throw mismatch(left, right) }
                return run(op, lhs, ConstantOperand(value: value), length, pool)
            }
        }
    }

    /// The one comparison loop; `op` is switched outside it so each loop body is a single
    /// branch-free comparison.
    @inline(__always)
    static func run<L: Operand, R: Operand>(
        _ op: CompareOp, _ l: L, _ r: R, _ length: Int, _ pool: MemoryPool
    ) -> Buffer where L.Element == R.Element, L.Element: Comparable {
        switch op {
        case .equal: return Bitmaps.build(count: length, pool: pool, Comparison<L, R, Equal>(l: l, r: r)).finish()
        case .notEqual: return Bitmaps.build(count: length, pool: pool, Comparison<L, R, NotEqual>(l: l, r: r)).finish()
        case .less: return Bitmaps.build(count: length, pool: pool, Comparison<L, R, Less>(l: l, r: r)).finish()
        case .lessOrEqual: return Bitmaps.build(count: length, pool: pool, Comparison<L, R, LessOrEqual>(l: l, r: r)).finish()
        case .greater: return Bitmaps.build(count: length, pool: pool, Comparison<L, R, Greater>(l: l, r: r)).finish()
        case .greaterOrEqual:
            return Bitmaps.build(count: length, pool: pool, Comparison<L, R, GreaterOrEqual>(l: l, r: r)).finish()
        }
    }

    static func mismatch(_ left: Datum, _ right: Datum) -> QuiverError {
        QuiverError(.query, "cannot compare \(left.type) with \(right.type)")
    }
}

/// A comparison operator as a type, so comparison loops specialise per operator.
protocol CompareOperator {
    static func holds<T: Comparable>(_ a: T, _ b: T) -> Bool
}

enum Equal: CompareOperator { @inline(__always) static func holds<T: Comparable>(_ a: T, _ b: T) -> Bool { a == b } }
enum NotEqual: CompareOperator { @inline(__always) static func holds<T: Comparable>(_ a: T, _ b: T) -> Bool { a != b } }
enum Less: CompareOperator { @inline(__always) static func holds<T: Comparable>(_ a: T, _ b: T) -> Bool { a < b } }
enum LessOrEqual: CompareOperator { @inline(__always) static func holds<T: Comparable>(_ a: T, _ b: T) -> Bool { a <= b } }
enum Greater: CompareOperator { @inline(__always) static func holds<T: Comparable>(_ a: T, _ b: T) -> Bool { a > b } }
enum GreaterOrEqual: CompareOperator { @inline(__always) static func holds<T: Comparable>(_ a: T, _ b: T) -> Bool { a >= b } }

/// Each string's length in bytes, from its offsets.
struct StringLengths<O: FixedWidthInteger>: Operand {
    let offsets: UnsafePointer<O>
    @inline(__always) subscript(index: Int) -> O { offsets[index + 1] &- offsets[index] }
}

/// `l[row] <op> r[row]`.
struct Comparison<L: Operand, R: Operand, Op: CompareOperator>: RowTest where L.Element == R.Element, L.Element: Comparable {
    let l: L
    let r: R
    @inline(__always) func callAsFunction(_ row: Int) -> Bool { Op.holds(l[row], r[row]) }
}

/// `low <lowOp> x AND x <highOp> high` on one number column: both bounds in one pass and one
/// bitmap (a range such as `d >= DATE '1994-01-01' AND d < DATE '1995-01-01'` or BETWEEN),
/// the same TRUE/FALSE/NULL as the two comparisons ANDed.
enum RangeCompare {
    /// Nil when the column is not a plain number column or a bound does not convert exactly
    /// to its type (the caller then compares one bound at a time). `lowOp` is `>` or `>=`,
    /// `highOp` `<` or `<=`.
    static func evaluate(
        _ column: ArrayData, low: (CompareOp, Scalar), high: (CompareOp, Scalar), pool: MemoryPool
    ) throws -> ArrayData? {
        guard let kind = NumberKind(column.type),
            [.greater, .greaterOrEqual].contains(low.0), [.less, .lessOrEqual].contains(high.0)
        else { return nil }
        guard let values = try kind.visit(Visit(column: column, low: low, high: high, pool: pool)) else { return nil }
        let validity = Bitmaps.intersect([Bitmaps.validity(column)], count: column.length, pool: pool)
        return Output.array(.boolean, length: column.length, validity: validity, [values])
    }

    private struct Visit: NumberVisitor {
        let column: ArrayData
        let low: (CompareOp, Scalar)
        let high: (CompareOp, Scalar)
        let pool: MemoryPool

        func visit<T: NumberValue>(_: T.Type) throws -> Buffer? {
            guard let lowValue = ScalarArrays.number(low.1, as: T.self),
                let highValue = ScalarArrays.number(high.1, as: T.self)
            else { return nil }
            let values = ValuesOperand(base: Columns.values(column, as: T.self))
            let count = column.length
            switch (low.0 == .greaterOrEqual, high.0 == .lessOrEqual) {
            case (true, true):
                return Bitmaps.build(count: count, pool: pool, Between<T, GreaterOrEqual, LessOrEqual>(values: values, low: lowValue, high: highValue)).finish()
            case (true, false):
                return Bitmaps.build(count: count, pool: pool, Between<T, GreaterOrEqual, Less>(values: values, low: lowValue, high: highValue)).finish()
            case (false, true):
                return Bitmaps.build(count: count, pool: pool, Between<T, Greater, LessOrEqual>(values: values, low: lowValue, high: highValue)).finish()
            case (false, false):
                return Bitmaps.build(count: count, pool: pool, Between<T, Greater, Less>(values: values, low: lowValue, high: highValue)).finish()
            }
        }
    }

    /// `values[row] <Low> low && values[row] <High> high`, without a branch.
    private struct Between<T: NumberValue, Low: CompareOperator, High: CompareOperator>: RowTest {
        let values: ValuesOperand<T>
        let low: T
        let high: T
        @inline(__always) func callAsFunction(_ row: Int) -> Bool {
            let value = values[row]
            return (Low.holds(value, low) ? 1 : 0) & (High.holds(value, high) ? 1 : 0) != 0
        }
    }
}
