import QuiverArrow
import QuiverBytes

/// A type-checked expression: columns resolved to indices, every implicit conversion made
/// an explicit `cast`, IN/BETWEEN/negation rewritten into comparisons and arithmetic, and
/// constant sub-expressions folded to literals. Only the evaluator consumes it.
indirect enum BoundExpr: Hashable, Sendable {
    /// Column `index` of the schema the expression was bound against.
    case column(Int, DataType)
    case literal(Scalar)
    /// Operands already cast to the kernel's compute type; the last value is the result type.
    case arithmetic(ArithmeticOp, BoundExpr, BoundExpr, DataType)
    /// Operands of one value type (or both strings).
    case compare(CompareOp, BoundExpr, BoundExpr)
    case and(BoundExpr, BoundExpr)
    case or(BoundExpr, BoundExpr)
    case not(BoundExpr)
    case isNull(BoundExpr, negated: Bool)
    case like(BoundExpr, LikePattern, negated: Bool)
    /// `x IN (literals…)`, the literals already of `x`'s type.
    case inSet(BoundExpr, InSet)
    case cast(BoundExpr, DataType)
    /// A scalar function of per-row arguments; the last value is the result type.
    case call(ScalarFunction, [BoundExpr], DataType)
    /// Conditions and results alternating, then the ELSE result; all results of `DataType`.
    case caseWhen([BoundExpr], DataType)

    var type: DataType {
        switch self {
        case .column(_, let type): return type
        case .literal(let scalar): return scalar.type
        case .arithmetic(_, _, _, let type), .cast(_, let type), .call(_, _, let type), .caseWhen(_, let type): return type
        case .compare, .and, .or, .not, .isNull, .like, .inSet: return .boolean
        }
    }

    var children: [BoundExpr] {
        switch self {
        case .column, .literal: return []
        case .arithmetic(_, let a, let b, _), .compare(_, let a, let b), .and(let a, let b), .or(let a, let b):
            return [a, b]
        case .not(let e), .isNull(let e, _), .like(let e, _, _), .cast(let e, _), .inSet(let e, _): return [e]
        case .call(_, let arguments, _), .caseWhen(let arguments, _): return arguments
        }
    }

    /// The column indices the expression reads.
    var columns: Set<Int> {
        if case .column(let index, _) = self { return [index] }
        return children.reduce(into: Set<Int>()) { $0.formUnion($1.columns) }
    }

    /// The one column the expression reads; nil when it reads none or several (the walk stops
    /// at a second column).
    var singleColumn: Int? {
        var found: Int?
        var pending = [self]
        while let next = pending.popLast() {
            if case .column(let index, _) = next {
                if let found, found != index { return nil }
                found = index
            } else {
                pending += next.children
            }
        }
        return found
    }

    var isLiteral: Bool {
        if case .literal = self { return true }
        return false
    }

    /// The conjuncts of an AND chain.
    var conjuncts: [BoundExpr] {
        var result: [BoundExpr] = []
        var pending = [self]
        while let next = pending.popLast() {
            if case .and(let a, let b) = next { pending += [b, a] } else { result.append(next) }
        }
        return result
    }

    /// `terms` joined by AND (or OR) as a balanced tree (nil when empty), so that n terms are
    /// log2(n) levels deep for the passes that recurse.
    static func balanced(_ terms: ArraySlice<BoundExpr>, and: Bool) -> BoundExpr? {
        guard let first = terms.first else { return nil }
        if terms.count == 1 { return first }
        let middle = terms.startIndex + terms.count / 2
        let (left, right) = (balanced(terms[..<middle], and: and)!, balanced(terms[middle...], and: and)!)
        return and ? .and(left, right) : .or(left, right)
    }
}
