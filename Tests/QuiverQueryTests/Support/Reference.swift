import QuiverArrow
@testable import QuiverQuery

/// A test-side expression: renders to SQL text and to the builder API, and evaluates one
/// row at a time with SQL semantics — the naive reference the engine is compared against.
indirect enum TExpr: CustomStringConvertible {
    case column(String)
    case int(Int64)
    case double(Double)
    case string(String)
    case bool(Bool)
    case null
    case arithmetic(String, TExpr, TExpr)
    case compare(String, TExpr, TExpr)
    case and(TExpr, TExpr)
    case or(TExpr, TExpr)
    case not(TExpr)
    case isNull(TExpr, negated: Bool)
    case inList(TExpr, [TExpr], negated: Bool)
    case between(TExpr, TExpr, TExpr, negated: Bool)
    case like(TExpr, String, negated: Bool)

    var description: String { sql }

    var sql: String {
        switch self {
        case .column(let name): return name
        case .int(let v): return v < 0 ? "(\(v))" : "\(v)"
        case .double(let v): return v < 0 ? "(\(v)e0)" : "\(v)e0"
        case .string(let s): return "'\(s.replacingOccurrences("'", "''"))'"
        case .bool(let b): return b ? "TRUE" : "FALSE"
        case .null: return "NULL"
        case .arithmetic(let op, let a, let b): return "(\(a.sql) \(op) \(b.sql))"
        case .compare(let op, let a, let b): return "(\(a.sql) \(op) \(b.sql))"
        case .and(let a, let b): return "(\(a.sql) AND \(b.sql))"
        case .or(let a, let b): return "(\(a.sql) OR \(b.sql))"
        case .not(let a): return "(NOT \(a.sql))"
        case .isNull(let a, let negated): return "(\(a.sql) IS \(negated ? "NOT " : "")NULL)"
        case .inList(let a, let values, let negated):
            return "(\(a.sql) \(negated ? "NOT " : "")IN (\(values.map(\.sql).joined(separator: ", "))))"
        case .between(let a, let low, let high, let negated):
            return "(\(a.sql) \(negated ? "NOT " : "")BETWEEN \(low.sql) AND \(high.sql))"
        case .like(let a, let pattern, let negated): return "(\(a.sql) \(negated ? "NOT " : "")LIKE '\(pattern)')"
        }
    }

    var expr: Expr {
        switch self {
        case .column(let name): return col(name)
        case .int(let v): return lit(.int64(v))
        case .double(let v): return lit(.float64(v))
        case .string(let s): return lit(.utf8(s))
        case .bool(let b): return lit(.boolean(b))
        case .null: return .null
        case .arithmetic(let op, let a, let b):
            switch op {
            case "+": return a.expr + b.expr
            case "-": return a.expr - b.expr
            case "*": return a.expr * b.expr
            case "/": return a.expr / b.expr
            default: return a.expr % b.expr
            }
        case .compare(let op, let a, let b):
            switch op {
            case "=": return a.expr == b.expr
            case "<>": return a.expr != b.expr
            case "<": return a.expr < b.expr
            case "<=": return a.expr <= b.expr
            case ">": return a.expr > b.expr
            default: return a.expr >= b.expr
            }
        case .and(let a, let b): return a.expr && b.expr
        case .or(let a, let b): return a.expr || b.expr
        case .not(let a): return !a.expr
        case .isNull(let a, let negated): return negated ? a.expr.isNotNull() : a.expr.isNull()
        case .inList(let a, let values, let negated): return negated ? a.expr.isNotIn(values.map(\.expr)) : a.expr.isIn(values.map(\.expr))
        case .between(let a, let low, let high, let negated):
            return negated ? !a.expr.between(low.expr, high.expr) : a.expr.between(low.expr, high.expr)
        case .like(let a, let pattern, let negated): return negated ? a.expr.notLike(pattern) : a.expr.like(pattern)
        }
    }

    /// Evaluates on one row (column name → value).
    func evaluate(_ row: [String: V]) -> V {
        switch self {
        case .column(let name): return row[name] ?? .null
        case .int(let v): return .int(v)
        case .double(let v): return .double(v)
        case .string(let s): return .string(s)
        case .bool(let b): return .bool(b)
        case .null: return .null
        case .arithmetic(let op, let a, let b):
            return Reference.arithmetic(op, a.evaluate(row), b.evaluate(row))
        case .compare(let op, let a, let b):
            let (x, y) = (a.evaluate(row), b.evaluate(row))
            // IEEE: NaN (from 0/0 now that float division by zero is not NULL) equals nothing.
            if !x.isNull, !y.isNull, x.asDouble?.isNaN == true || y.asDouble?.isNaN == true { return .bool(op == "<>") }
            guard let c = Reference.compare(x, y) else { return .null }
            switch op {
            case "=": return .bool(c == 0)
            case "<>": return .bool(c != 0)
            case "<": return .bool(c < 0)
            case "<=": return .bool(c <= 0)
            case ">": return .bool(c > 0)
            default: return .bool(c >= 0)
            }
        case .and(let a, let b):
            let x = a.evaluate(row), y = b.evaluate(row)
            if x == .bool(false) || y == .bool(false) { return .bool(false) }
            if x == .null || y == .null { return .null }
            return .bool(true)
        case .or(let a, let b):
            let x = a.evaluate(row), y = b.evaluate(row)
            if x == .bool(true) || y == .bool(true) { return .bool(true) }
            if x == .null || y == .null { return .null }
            return .bool(false)
        case .not(let a):
            if case .bool(let b) = a.evaluate(row) { return .bool(!b) }
            return .null
        case .isNull(let a, let negated): return .bool(a.evaluate(row).isNull != negated)
        case .inList(let a, let values, let negated):
            let any = values.map { TExpr.compare("=", a, $0) }.reduce(TExpr.bool(false)) { TExpr.or($0, $1) }
            return (negated ? TExpr.not(any) : any).evaluate(row)
        case .between(let a, let low, let high, let negated):
            let range = TExpr.and(.compare(">=", a, low), .compare("<=", a, high))
            return (negated ? TExpr.not(range) : range).evaluate(row)
        case .like(let a, let pattern, let negated):
            guard case .string(let s) = a.evaluate(row) else { return .null }
            return .bool(Reference.like(Array(s), Array(pattern)) != negated)
        }
    }
}

extension String {
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

enum Reference {
    /// SQL arithmetic: integers stay integers (truncating division, NULL on a zero divisor);
    /// doubles are IEEE (a zero divisor gives ±inf or NaN).
    static func arithmetic(_ op: String, _ x: V, _ y: V) -> V {
        switch (x, y) {
        case (.int(let a), .int(let b)):
            switch op {
            case "+": return .int(a &+ b)
            case "-": return .int(a &- b)
            case "*": return .int(a &* b)
            case "/": return b == 0 ? .null : .int(a / b)
            default: return b == 0 ? .null : .int(a % b)
            }
        default:
            guard let a = x.asDouble, let b = y.asDouble else { return .null }
            switch op {
            case "+": return .double(a + b)
            case "-": return .double(a - b)
            case "*": return .double(a * b)
            case "/": return .double(a / b)
            default: return .double(a.truncatingRemainder(dividingBy: b))
            }
        }
    }

    /// −1/0/1, or nil when either is NULL.
    static func compare(_ x: V, _ y: V) -> Int? {
        switch (x, y) {
        case (.null, _), (_, .null): return nil
        case (.int(let a), .int(let b)): return a < b ? -1 : (a > b ? 1 : 0)
        case (.string(let a), .string(let b)):
            let p = Array(a.utf8), q = Array(b.utf8)
            return p == q ? 0 : (p.lexicographicallyPrecedes(q) ? -1 : 1)
        case (.bool(let a), .bool(let b)): return a == b ? 0 : (!a ? -1 : 1)
        default:
            guard let a = x.asDouble, let b = y.asDouble else { return nil }
            return a < b ? -1 : (a > b ? 1 : 0)
        }
    }

    static func like(_ s: [Character], _ p: [Character]) -> Bool {
        guard let first = p.first else { return s.isEmpty }
        if first == "%" {
            for start in 0...s.count where like(Array(s[start...]), Array(p.dropFirst())) { return true }
            return false
        }
        guard let c = s.first else { return false }
        return (first == "_" || first == c) && like(Array(s.dropFirst()), Array(p.dropFirst()))
    }

    /// A reference aggregate over the rows of one group.
    static func aggregate(_ function: String, _ values: [V]) -> V {
        let present = values.filter { !$0.isNull }
        switch function {
        case "count_star": return .int(Int64(values.count))
        case "count": return .int(Int64(present.count))
        case "count_distinct": return .int(Int64(Set(present.map { $0 == .double(-0.0) ? .double(0) : $0 }).count))
        case "sum":
            guard !present.isEmpty else { return .null }
            if present.allSatisfy({ if case .int = $0 { return true } else { return false } }) {
                return .int(present.reduce(0) { if case .int(let v) = $1 { return $0 &+ v } else { return $0 } })
            }
            return .double(present.reduce(0.0) { $0 + ($1.asDouble ?? 0) })
        case "avg":
            guard !present.isEmpty else { return .null }
            return .double(present.reduce(0.0) { $0 + ($1.asDouble ?? 0) } / Double(present.count))
        case "min":
            return present.min { compare($0, $1) ?? 0 < 0 } ?? .null
        default:
            return present.max { compare($0, $1) ?? 0 < 0 } ?? .null
        }
    }
}

/// A table in row form for the reference evaluator.
struct ReferenceTable {
    let names: [String]
    let rows: [[V]]

    init(_ batches: [RecordBatch]) {
        names = batches.first?.schema.fields.map(\.name) ?? []
        rows = Read.rows(batches)
    }

    func row(_ index: Int) -> [String: V] {
        Dictionary(uniqueKeysWithValues: zip(names, rows[index]))
    }

    /// Rows where `predicate` is TRUE.
    func filter(_ predicate: TExpr?) -> [[String: V]] {
        rows.indices.map(row).filter { r in predicate.map { $0.evaluate(r) == .bool(true) } ?? true }
    }

    /// GROUP BY `keys`, computing `(function, argument)` aggregates; one row per group:
    /// keys then aggregates, groups in order of first appearance.
    func aggregate(where predicate: TExpr?, keys: [TExpr], aggregates: [(String, TExpr?)]) -> [[V]] {
        let selected = filter(predicate)
        var order: [[V]] = []
        var groups: [[V]: [[String: V]]] = [:]
        for row in selected {
            let key = keys.map { $0.evaluate(row) }.map { $0 == .double(-0.0) ? .double(0) : $0 }
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(row)
        }
        if keys.isEmpty && order.isEmpty { order = [[]]; groups[[]] = [] }
        return order.map { key in
            let members = groups[key] ?? []
            return key + aggregates.map { function, argument in
                Reference.aggregate(function, members.map { argument?.evaluate($0) ?? .int(1) })
            }
        }
    }
}
