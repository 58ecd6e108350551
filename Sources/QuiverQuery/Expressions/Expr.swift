import QuiverArrow
import QuiverBytes

/// A query expression: a column, a literal, or an operation on expressions.
///
/// Build them with `col(_:)`, Swift literals (`5`, `0.05`, `"R"`, `true`), `Expr.date(_:)`
/// and friends, the operators `+ - * / %`, `== != < <= > >=`, `&& || !`, and the methods
/// below; aggregate with `sum(_:)`, `count()`, …. An expression is only a description:
/// names and types are checked when the query is planned, and problems surface then as
/// `QuiverError(.query, …)`.
public struct Expr: Sendable, CustomStringConvertible {
    indirect enum Node: Sendable {
        case column(String)
        /// Planner-internal: column `i` of the schema being bound against.
        case slot(Int, String)
        case literal(Scalar)
        /// A literal that failed to parse; reported when the query is planned.
        case invalid(QuiverError)
        case negate(Expr)
        case arithmetic(ArithmeticOp, Expr, Expr)
        case compare(CompareOp, Expr, Expr)
        case and(Expr, Expr)
        case or(Expr, Expr)
        case not(Expr)
        case isNull(Expr, negated: Bool)
        case inList(Expr, [Expr], negated: Bool)
        case between(Expr, Expr, Expr, negated: Bool)
        case like(Expr, pattern: String, escape: Character?, negated: Bool)
        case startsWith(Expr, String)
        case cast(Expr, DataType)
        /// `argument` nil is `count(*)`.
        case aggregate(AggregateFunction, Expr?)
        /// A scalar function by its SQL name (lowercase), checked when planned.
        case function(String, [Expr])
        /// Searched CASE: conditions and results alternate (`[when1, then1, when2, then2, …]`),
        /// then the ELSE result (nil: NULL).
        case caseWhen([Expr], otherwise: Expr?)

        /// The greatest depth among the children (0 for a leaf).
        var childDepth: Int {
            switch self {
            case .column, .slot, .literal, .invalid, .aggregate(_, nil): return 0
            case .negate(let e), .not(let e), .isNull(let e, _), .like(let e, _, _, _), .startsWith(let e, _),
                .cast(let e, _), .aggregate(_, let e?):
                return e.depth
            case .arithmetic(_, let a, let b), .compare(_, let a, let b), .and(let a, let b), .or(let a, let b):
                return Swift.max(a.depth, b.depth)
            case .inList(let e, let values, _): return values.reduce(e.depth) { Swift.max($0, $1.depth) }
            case .between(let e, let low, let high, _): return Swift.max(e.depth, low.depth, high.depth)
            case .function(_, let arguments): return arguments.reduce(0) { Swift.max($0, $1.depth) }
            case .caseWhen(let parts, let otherwise):
                return parts.reduce(otherwise?.depth ?? 0) { Swift.max($0, $1.depth) }
            }
        }
    }

    let node: Node
    /// The output name given with `as(_:)`.
    public private(set) var alias: String?
    /// UTF-8 offset of the expression in the SQL text it came from (for error carets).
    var position: Int?
    /// The height of the tree (a leaf is 1), kept as nodes are built so that limiting it
    /// costs nothing and needs no recursion.
    let depth: Int

    init(_ node: Node, position: Int? = nil) {
        self.node = node
        self.position = position
        self.depth = 1 + node.childDepth
    }

    /// The tallest expression tree a query may hold. Binding, folding, printing, evaluating
    /// and releasing an expression each recurse once per level, so it is the height (not the
    /// size) that must be bounded to keep the stack safe. The SQL parser builds AND/OR chains
    /// balanced and IN lists as one node, so thousands of terms stay far below it; a chain of
    /// arithmetic (`a + a + …`) is built as written and so counts one level per term.
    public static let maxDepth = 500

    /// A `capacityExceeded` error unless `depth` is within `maxDepth`.
    static func checkDepth(_ depth: Int, site: ErrorSite, at position: Int?) throws {
        guard depth > maxDepth else { return }
        throw site.error(
            "expression nested too deeply: \(depth) levels, the limit is \(maxDepth)", at: position, code: .capacityExceeded)
    }

    /// `terms` joined by AND (or OR) as a balanced tree, so a chain of n terms is log2(n)
    /// levels deep; `operators[i]` is the position of the operator after `terms[i]`. Both are
    /// associative in SQL's three-valued logic, so the shape does not change the result.
    static func balanced(_ terms: [Expr], operators: [Int?], and: Bool) -> Expr {
        func build(_ low: Int, _ high: Int) -> Expr {
            if low == high { return terms[low] }
            let middle = (low + high) / 2
            let (left, right) = (build(low, middle), build(middle + 1, high))
            return Expr(and ? .and(left, right) : .or(left, right), position: operators[middle])
        }
        return build(0, terms.count - 1)
    }

    /// Whether two expressions are the same computation, ignoring aliases and source
    /// positions, so `a + b` in a select list matches `a + b` in GROUP BY. (Not `Equatable`:
    /// `==` on expressions builds a comparison.)
    func matches(_ other: Expr) -> Bool { structuralKey == other.structuralKey }

    /// The expression spelled with every literal's type, so equal keys mean equal trees.
    var structuralKey: String { render(top: true, typed: true) }

    /// The same expression, output under `name`.
    public func `as`(_ name: String) -> Expr {
        var copy = self
        copy.alias = name
        return copy
    }

    /// A literal value.
    public static func literal(_ value: Scalar) -> Expr { Expr(.literal(value)) }
    /// The untyped SQL `NULL`.
    public static var null: Expr { Expr(.literal(.null)) }
    /// A `date32` literal from `YYYY-MM-DD` (a malformed date is reported at planning).
    public static func date(_ text: String) -> Expr { parsed { try Scalar.date(text) } }
    /// A naive `timestamp[us]` literal from `YYYY-MM-DD HH:MM:SS[.ffffff]`.
    public static func timestamp(_ text: String) -> Expr { parsed { try Scalar.timestamp(text) } }
    /// A `decimal128` literal from text such as `"0.05"` (exact, unlike a `Double`).
    public static func decimal(_ text: String) -> Expr { parsed { try Scalar.decimal(text) } }

    private static func parsed(_ make: () throws -> Scalar) -> Expr {
        do { return Expr(.literal(try make())) } catch let error as QuiverError {
            return Expr(.invalid(error))
        } catch {
            return Expr(.invalid(QuiverError(.query, "\(error)")))
        }
    }

    /// `self IS NULL`.
    public func isNull() -> Expr { Expr(.isNull(self, negated: false)) }
    /// `self IS NOT NULL`.
    public func isNotNull() -> Expr { Expr(.isNull(self, negated: true)) }
    /// `self IN (values…)` with SQL semantics: NULL when nothing matches and a value is NULL.
    public func isIn(_ values: [Expr]) -> Expr { Expr(.inList(self, values, negated: false)) }
    /// `self NOT IN (values…)`.
    public func isNotIn(_ values: [Expr]) -> Expr { Expr(.inList(self, values, negated: true)) }
    /// `self BETWEEN low AND high` (inclusive).
    public func between(_ low: Expr, _ high: Expr) -> Expr { Expr(.between(self, low, high, negated: false)) }
    /// `self LIKE pattern`: `%` any run of characters, `_` one character.
    public func like(_ pattern: String, escape: Character? = nil) -> Expr {
        Expr(.like(self, pattern: pattern, escape: escape, negated: false))
    }
    /// `self NOT LIKE pattern`.
    public func notLike(_ pattern: String, escape: Character? = nil) -> Expr {
        Expr(.like(self, pattern: pattern, escape: escape, negated: true))
    }
    /// `starts_with(self, prefix)`.
    public func startsWith(_ prefix: String) -> Expr { Expr(.startsWith(self, prefix)) }
    /// `CAST(self AS type)`.
    public func cast(_ type: DataType) -> Expr { Expr(.cast(self, type)) }

    /// A scalar function called by its SQL name, e.g. `Expr.function("lower", col("name"))`.
    /// Names and argument types are checked when the query is planned.
    public static func function(_ name: String, _ arguments: [Expr]) -> Expr {
        Expr(.function(name.lowercased(), arguments))
    }

    /// Variadic form of `function(_:_:)`.
    public static func function(_ name: String, _ arguments: Expr...) -> Expr { function(name, arguments) }

    /// `CASE WHEN c1 THEN r1 … ELSE otherwise END`: the result of the first condition that is
    /// TRUE, else `otherwise` (NULL when nil). All results are cast to one type.
    public static func caseWhen(_ branches: [(when: Expr, then: Expr)], else otherwise: Expr? = nil) -> Expr {
        Expr(.caseWhen(branches.flatMap { [$0.when, $0.then] }, otherwise: otherwise))
    }

    /// `coalesce(a, b, …)`: the first argument that is not NULL.
    public static func coalesce(_ arguments: Expr...) -> Expr { function("coalesce", arguments) }
    /// `nullif(self, other)`: NULL where `self = other`, else `self`.
    public func nullIf(_ other: Expr) -> Expr { Expr.function("nullif", self, other) }
    /// `length(self)`: characters (Unicode code points) of a string.
    public func length() -> Expr { Expr.function("length", self) }
    /// `strlen(self)`: bytes of a string.
    public func byteLength() -> Expr { Expr.function("strlen", self) }
    /// `lower(self)`.
    public func lowercased() -> Expr { Expr.function("lower", self) }
    /// `upper(self)`.
    public func uppercased() -> Expr { Expr.function("upper", self) }
    /// `substring(self, start, count)` in characters, counting from 1.
    public func substring(_ start: Expr, _ count: Expr? = nil) -> Expr {
        Expr.function("substring", [self, start] + (count.map { [$0] } ?? []))
    }
    /// `extract(part FROM self)`: `year`, `month`, `day`, `hour`, `minute`, `second`, `dow`, ….
    public func extract(_ part: String) -> Expr { Expr.function("date_part", Expr(stringLiteral: part), self) }
    /// `date_trunc(part, self)`: the start of the `part` (`minute`, `day`, `month`, …) holding it.
    public func truncated(to part: String) -> Expr { Expr.function("date_trunc", Expr(stringLiteral: part), self) }
    /// `regexp_matches(self, pattern, options)`: whether the PCRE pattern matches anywhere.
    public func matches(regex pattern: String, options: String = "") -> Expr {
        Expr.function("regexp_matches", self, Expr(stringLiteral: pattern), Expr(stringLiteral: options))
    }
    /// `regexp_replace(self, pattern, replacement, options)`: `\1` in the replacement is group 1;
    /// option `g` replaces every match.
    public func replacing(regex pattern: String, with replacement: String, options: String = "") -> Expr {
        Expr.function(
            "regexp_replace", self, Expr(stringLiteral: pattern), Expr(stringLiteral: replacement),
            Expr(stringLiteral: options))
    }

    /// Sort ascending by this expression (NULLs last).
    public func ascending(nullsFirst: Bool = false) -> SortKey {
        SortKey(self, descending: false, nullsFirst: nullsFirst)
    }
    /// Sort descending by this expression (NULLs last).
    public func descending(nullsFirst: Bool = false) -> SortKey {
        SortKey(self, descending: true, nullsFirst: nullsFirst)
    }
}

/// A column of the table, by name (exact match first, then a unique case-insensitive one).
public func col(_ name: String) -> Expr { Expr(.column(name)) }

/// A literal value.
public func lit(_ value: Scalar) -> Expr { Expr(.literal(value)) }

extension Expr: ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByStringLiteral,
    ExpressibleByBooleanLiteral
{
    /// An `int64` literal.
    public init(integerLiteral value: Int64) { self.init(.literal(.int64(value))) }
    /// A `double` literal.
    public init(floatLiteral value: Double) { self.init(.literal(.float64(value))) }
    /// A `string` literal (not a column: use `col(_:)` for columns).
    public init(stringLiteral value: String) { self.init(.literal(.utf8(value))) }
    /// A `bool` literal.
    public init(booleanLiteral value: Bool) { self.init(.literal(.boolean(value))) }
}

extension Expr {
    /// Addition (integers: int64, overflow is an error; decimals exact; else double).
    public static func + (lhs: Expr, rhs: Expr) -> Expr { Expr(.arithmetic(.add, lhs, rhs)) }
    /// Subtraction.
    public static func - (lhs: Expr, rhs: Expr) -> Expr { Expr(.arithmetic(.subtract, lhs, rhs)) }
    /// Multiplication.
    public static func * (lhs: Expr, rhs: Expr) -> Expr { Expr(.arithmetic(.multiply, lhs, rhs)) }
    /// Division; by zero gives NULL. Integer division truncates; decimals divide as double.
    public static func / (lhs: Expr, rhs: Expr) -> Expr { Expr(.arithmetic(.divide, lhs, rhs)) }
    /// Remainder (sign of the dividend); by zero gives NULL.
    public static func % (lhs: Expr, rhs: Expr) -> Expr { Expr(.arithmetic(.remainder, lhs, rhs)) }
    /// Negation.
    public static prefix func - (operand: Expr) -> Expr { Expr(.negate(operand)) }

    /// `=` (SQL: NULL if either side is NULL).
    public static func == (lhs: Expr, rhs: Expr) -> Expr { Expr(.compare(.equal, lhs, rhs)) }
    /// `<>`.
    public static func != (lhs: Expr, rhs: Expr) -> Expr { Expr(.compare(.notEqual, lhs, rhs)) }
    /// `<`.
    public static func < (lhs: Expr, rhs: Expr) -> Expr { Expr(.compare(.less, lhs, rhs)) }
    /// `<=`.
    public static func <= (lhs: Expr, rhs: Expr) -> Expr { Expr(.compare(.lessOrEqual, lhs, rhs)) }
    /// `>`.
    public static func > (lhs: Expr, rhs: Expr) -> Expr { Expr(.compare(.greater, lhs, rhs)) }
    /// `>=`.
    public static func >= (lhs: Expr, rhs: Expr) -> Expr { Expr(.compare(.greaterOrEqual, lhs, rhs)) }

    /// SQL `AND` (three-valued: FALSE wins over NULL).
    public static func && (lhs: Expr, rhs: Expr) -> Expr { Expr(.and(lhs, rhs)) }
    /// SQL `OR` (three-valued: TRUE wins over NULL).
    public static func || (lhs: Expr, rhs: Expr) -> Expr { Expr(.or(lhs, rhs)) }
    /// SQL `NOT` (NULL stays NULL).
    public static prefix func ! (operand: Expr) -> Expr { Expr(.not(operand)) }
}

/// The aggregate functions.
public enum AggregateFunction: String, Sendable, Hashable {
    case countStar = "count_star"
    case count, countDistinct = "count_distinct", sum, min, max, avg
}

/// `count(*)`: the number of rows.
public func count() -> Expr { Expr(.aggregate(.countStar, nil)) }
/// `count(x)`: the number of rows where `x` is not NULL.
public func count(_ argument: Expr) -> Expr { Expr(.aggregate(.count, argument)) }
/// `count(DISTINCT x)`: the number of distinct non-NULL values.
public func countDistinct(_ argument: Expr) -> Expr { Expr(.aggregate(.countDistinct, argument)) }
/// `sum(x)`: integers → decimal128(38, 0) (DuckDB's HUGEINT), floats → double, decimals →
/// decimal128(38, scale); an error past 38 digits. NULL when every input is NULL.
public func sum(_ argument: Expr) -> Expr { Expr(.aggregate(.sum, argument)) }
/// `min(x)` over numbers, dates, timestamps, decimals and strings.
public func min(_ argument: Expr) -> Expr { Expr(.aggregate(.min, argument)) }
/// `max(x)`.
public func max(_ argument: Expr) -> Expr { Expr(.aggregate(.max, argument)) }
/// `avg(x)` as double.
public func avg(_ argument: Expr) -> Expr { Expr(.aggregate(.avg, argument)) }

/// One ORDER BY key.
public struct SortKey: Sendable {
    /// What to sort by: an output column name (`col("revenue")`), or an expression.
    public var expr: Expr
    /// Largest first.
    public var descending: Bool
    /// Where NULLs go; by default last in either direction (as DuckDB).
    public var nullsFirst: Bool

    /// A key; prefer `expr.ascending()` / `expr.descending()`.
    public init(_ expr: Expr, descending: Bool = false, nullsFirst: Bool = false) {
        self.expr = expr
        self.descending = descending
        self.nullsFirst = nullsFirst
    }
}

extension Expr {
    /// The expression in SQL syntax, as used for default output names and EXPLAIN.
    public var description: String { render(top: true) }

    private func render(top: Bool, typed: Bool = false) -> String {
        let text: String
        switch node {
        case .column(let name): return SQLText.identifier(name)
        case .slot(let index, let name): return typed ? "#\(index)" : SQLText.identifier(name)
        case .literal(let scalar): return typed ? "\(scalar)::\(scalar.type)" : scalar.description
        case .invalid(let error): return "<\(error.message)>"
        case .negate(let e): return "-" + e.render(top: false, typed: typed)
        case .arithmetic(let op, let a, let b): text = "\(a.render(top: false, typed: typed)) \(op.rawValue) \(b.render(top: false, typed: typed))"
        case .compare(let op, let a, let b): text = "\(a.render(top: false, typed: typed)) \(op.rawValue) \(b.render(top: false, typed: typed))"
        case .and(let a, let b):
            // AND in AND (OR in OR) needs no parentheses: the chain reads the same whatever its shape.
            let flat = { (e: Expr) in if case .and = e.node { true } else { false } }
            text = "\(a.render(top: flat(a), typed: typed)) AND \(b.render(top: flat(b), typed: typed))"
        case .or(let a, let b):
            let flat = { (e: Expr) in if case .or = e.node { true } else { false } }
            text = "\(a.render(top: flat(a), typed: typed)) OR \(b.render(top: flat(b), typed: typed))"
        case .not(let e): text = "NOT \(e.render(top: false, typed: typed))"
        case .isNull(let e, let negated): text = "\(e.render(top: false, typed: typed)) IS \(negated ? "NOT " : "")NULL"
        case .inList(let e, let values, let negated):
            text = "\(e.render(top: false, typed: typed)) \(negated ? "NOT " : "")IN (\(values.map { $0.render(top: true, typed: typed) }.joined(separator: ", ")))"
        case .between(let e, let low, let high, let negated):
            text = "\(e.render(top: false, typed: typed)) \(negated ? "NOT " : "")BETWEEN \(low.render(top: false, typed: typed)) AND \(high.render(top: false, typed: typed))"
        case .like(let e, let pattern, let escape, let negated):
            let escapeText = escape.map { " ESCAPE \(Scalar.utf8(String($0)))" } ?? ""
            text = "\(e.render(top: false, typed: typed)) \(negated ? "NOT " : "")LIKE \(Scalar.utf8(pattern))\(escapeText)"
        case .startsWith(let e, let prefix): return "starts_with(\(e.render(top: true, typed: typed)), \(Scalar.utf8(prefix)))"
        case .cast(let e, let type): return "CAST(\(e.render(top: true, typed: typed)) AS \(SQLText.typeName(type)))"
        case .function(let name, let arguments):
            return "\(name)(\(arguments.map { $0.render(top: true, typed: typed) }.joined(separator: ", ")))"
        case .caseWhen(let parts, let otherwise):
            var text = "CASE"
            for pair in stride(from: 0, to: parts.count - 1, by: 2) {
                text += " WHEN \(parts[pair].render(top: true, typed: typed)) THEN \(parts[pair + 1].render(top: true, typed: typed))"
            }
            if let otherwise { text += " ELSE \(otherwise.render(top: true, typed: typed))" }
            return text + " END"
        case .aggregate(let function, let argument):
            switch function {
            case .countStar: return "count(*)"
            case .countDistinct: return "count(DISTINCT \(argument?.render(top: true, typed: typed) ?? ""))"
            default: return "\(function.rawValue)(\(argument?.render(top: true, typed: typed) ?? ""))"
            }
        }
        return top ? text : "(\(text))"
    }

    /// The output name: the alias, else a column's own name, else the SQL text.
    var outputName: String {
        if let alias { return alias }
        switch node {
        case .column(let name), .slot(_, let name): return name
        default: return description
        }
    }

    /// Whether an aggregate function occurs anywhere inside.
    var containsAggregate: Bool {
        var found = false
        visit { if case .aggregate = $0.node { found = true } }
        return found
    }

    /// Calls `body` on this expression and every sub-expression, parents first.
    func visit(_ body: (Expr) -> Void) {
        body(self)
        for child in children { child.visit(body) }
    }

    var children: [Expr] {
        switch node {
        case .column, .slot, .literal, .invalid: return []
        case .negate(let e), .not(let e), .isNull(let e, _), .like(let e, _, _, _), .startsWith(let e, _),
            .cast(let e, _):
            return [e]
        case .arithmetic(_, let a, let b), .compare(_, let a, let b), .and(let a, let b), .or(let a, let b):
            return [a, b]
        case .inList(let e, let values, _): return [e] + values
        case .between(let e, let low, let high, _): return [e, low, high]
        case .aggregate(_, let argument): return argument.map { [$0] } ?? []
        case .function(_, let arguments): return arguments
        case .caseWhen(let parts, let otherwise): return parts + (otherwise.map { [$0] } ?? [])
        }
    }

    /// Rebuilds the tree bottom-up; `transform` may replace any node (returning nil keeps
    /// it and descends). Aliases and positions are kept.
    func rewritten(_ transform: (Expr) throws -> Expr?) throws -> Expr {
        if let replaced = try transform(self) { return replaced.keeping(self) }
        func r(_ child: Expr) throws -> Expr { try child.rewritten(transform) }
        let node: Node
        switch self.node {
        case .column, .slot, .literal, .invalid: return self
        case .negate(let e): node = .negate(try r(e))
        case .not(let e): node = .not(try r(e))
        case .isNull(let e, let negated): node = .isNull(try r(e), negated: negated)
        case .like(let e, let p, let esc, let negated): node = .like(try r(e), pattern: p, escape: esc, negated: negated)
        case .startsWith(let e, let p): node = .startsWith(try r(e), p)
        case .cast(let e, let t): node = .cast(try r(e), t)
        case .arithmetic(let op, let a, let b): node = .arithmetic(op, try r(a), try r(b))
        case .compare(let op, let a, let b): node = .compare(op, try r(a), try r(b))
        case .and(let a, let b): node = .and(try r(a), try r(b))
        case .or(let a, let b): node = .or(try r(a), try r(b))
        case .inList(let e, let values, let negated): node = .inList(try r(e), try values.map(r), negated: negated)
        case .between(let e, let low, let high, let negated): node = .between(try r(e), try r(low), try r(high), negated: negated)
        case .aggregate(let f, let argument): node = .aggregate(f, try argument.map(r))
        case .function(let name, let arguments): node = .function(name, try arguments.map(r))
        case .caseWhen(let parts, let otherwise): node = .caseWhen(try parts.map(r), otherwise: try otherwise.map(r))
        }
        return Expr(node).keeping(self)
    }

    private func keeping(_ original: Expr) -> Expr {
        var copy = self
        copy.alias = original.alias ?? alias
        copy.position = original.position ?? position
        return copy
    }

    func at(_ position: Int?) -> Expr {
        var copy = self
        copy.position = position
        return copy
    }
}

/// Spelling helpers shared by expression printing and EXPLAIN.
enum SQLText {
    /// A name as SQL needs it: bare when it is a plain identifier, else double-quoted.
    static func identifier(_ name: String) -> String {
        let plain = !name.isEmpty && name.utf8.enumerated().allSatisfy { index, byte in
            byte == UInt8(ascii: "_") || (byte >= 97 && byte <= 122) || (byte >= 65 && byte <= 90)
                || (index > 0 && byte >= 48 && byte <= 57)
        }
        return plain && !SQLLexer.isKeyword(name) ? name : "\"" + name.replacingAll("\"", with: "\"\"") + "\""
    }

    /// The SQL name of a type (`BIGINT`, `DOUBLE`, `DECIMAL(15,2)`, …), or Arrow's spelling.
    static func typeName(_ type: DataType) -> String {
        switch type {
        case .boolean: return "BOOLEAN"
        case .int8: return "TINYINT"
        case .int16: return "SMALLINT"
        case .int32: return "INTEGER"
        case .int64: return "BIGINT"
        case .uint8: return "UTINYINT"
        case .uint16: return "USMALLINT"
        case .uint32: return "UINTEGER"
        case .uint64: return "UBIGINT"
        case .float32: return "REAL"
        case .float64: return "DOUBLE"
        case .utf8: return "VARCHAR"
        case .date32: return "DATE"
        case .timestamp(.microsecond, nil): return "TIMESTAMP"
        case .decimal(_, let p, let s): return "DECIMAL(\(p),\(s))"
        default: return type.description
        }
    }
}
