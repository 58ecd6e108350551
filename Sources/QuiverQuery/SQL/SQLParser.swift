import QuiverArrow
import QuiverBytes

/// A recursive-descent parser for Quiver's SQL subset, producing the same `Query` the Swift
/// builder does (so SQL and Swift share one planner):
///
/// ```
/// [EXPLAIN] SELECT item [, item]* FROM table [[AS] alias]
///   [WHERE expr] [GROUP BY expr, …] [HAVING expr]
///   [ORDER BY expr [ASC|DESC] [NULLS FIRST|LAST], …] [LIMIT n] [;]
/// item  := * | expr [[AS] name]
/// expr  := OR / AND / NOT / comparisons (= <> != < <= > >=), IS [NOT] NULL,
///          [NOT] IN (…), [NOT] BETWEEN … AND …, [NOT] LIKE 'p' [ESCAPE 'c'],
///          + - * / %, unary -, CAST(expr AS type), DATE '…', TIMESTAMP '…',
///          count(*), count([DISTINCT] x), sum, min, max, avg, starts_with(x, 'p'),
///          literals (42, 0.05 as DECIMAL, 1e3 as DOUBLE, 'text', TRUE, FALSE, NULL)
/// ```
/// Keywords are case-insensitive; `"quoted"` names keep case. GROUP BY and ORDER BY accept
/// select-list aliases and 1-based ordinals.
///
/// Limits, so that no text can exhaust the stack (each is a `capacityExceeded` error pointing
/// at the token): parentheses, NOT, unary minus, CAST and function arguments nest at most
/// `maxNesting` deep, and the expression tree built is at most `Expr.maxDepth` tall. AND/OR
/// chains are built balanced, so any number of terms fits; arithmetic chains are built as
/// written (left to right), one level per operator.
struct SQLParser {
    /// How deeply the parser may recurse: parentheses, NOT, unary minus, CAST, function
    /// arguments and IN values each add a level.
    static let maxNesting = 256

    private var nesting = 0

    private let source: SourceText
    private let tokens: [SQLToken]
    private var index = 0

    private init(_ sql: String) throws {
        source = SourceText(text: sql)
        tokens = try SQLLexer.tokenize(source)
    }

    static func parse(_ sql: String, tables: [String: any BatchSource]) throws -> Query {
        var parser = try SQLParser(sql)
        return try parser.statement(tables)
    }

    // MARK: - Tokens

    private var current: SQLToken { tokens[index] }

    private mutating func advance() -> SQLToken {
        let token = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    private func error(_ message: String, at token: SQLToken) -> QuiverError {
        source.error(message, at: token.offset, length: Swift.max(1, token.length))
    }

    private func unexpected(_ expected: String) -> QuiverError {
        error("syntax error: expected \(expected), found \(current.display)", at: current)
    }

    private func isKeyword(_ word: String) -> Bool { current.keyword == word }

    private func isSymbol(_ symbol: String) -> Bool { current.kind == .symbol(symbol) }

    private mutating func accept(keyword word: String) -> Bool {
        guard isKeyword(word) else { return false }
        _ = advance()
        return true
    }

    private mutating func accept(symbol: String) -> Bool {
        guard isSymbol(symbol) else { return false }
        _ = advance()
        return true
    }

    private mutating func expect(keyword word: String) throws {
        guard accept(keyword: word) else { throw unexpected(word) }
    }

    private mutating func expect(symbol: String) throws {
        guard accept(symbol: symbol) else { throw unexpected("'\(symbol)'") }
    }

    /// A name: an unquoted non-keyword word or a quoted name.
    private mutating func name(_ what: String) throws -> (String, SQLToken) {
        let token = current
        switch token.kind {
        case .word(let word) where !SQLLexer.isKeyword(word):
            _ = advance()
            return (word, token)
        case .quoted(let word):
            _ = advance()
            return (word, token)
        default:
            throw unexpected(what)
        }
    }

    private mutating func stringLiteral(_ what: String) throws -> String {
        guard case .string(let text) = current.kind else { throw unexpected(what) }
        _ = advance()
        return text
    }

    // MARK: - Statement

    private mutating func statement(_ tables: [String: any BatchSource]) throws -> Query {
        let explain = accept(keyword: "EXPLAIN")
        try expect(keyword: "SELECT")
        let distinct = accept(keyword: "DISTINCT")
        var items: [Expr]? = []
        var star: SQLToken?
        repeat {
            if isSymbol("*") {
                star = advance()
                items = nil
                if !isKeyword("FROM") { throw unexpected("FROM after *") }
                break
            }
            var item = try expression()
            if accept(keyword: "AS") {
                item = item.as(try name("an output name").0)
            } else if case .word(let word) = current.kind, !SQLLexer.isKeyword(word) {
                item = item.as(word)
                _ = advance()
            } else if case .quoted(let word) = current.kind {
                item = item.as(word)
                _ = advance()
            }
            items?.append(item)
        } while accept(symbol: ",")

        try expect(keyword: "FROM")
        let (tableName, tableToken) = try name("a table name")
        var aliases = [tableName.lowercased()]
        if accept(keyword: "AS") {
            aliases.append(try name("a table alias").0.lowercased())
        } else if case .word(let word) = current.kind, !SQLLexer.isKeyword(word) {
            aliases.append(word.lowercased())
            _ = advance()
        }
        guard let table = tables[tableName] ?? tables.first(where: { $0.key.lowercased() == tableName.lowercased() })?.value else {
            let known = tables.keys.sorted().map { "'\($0)'" }.joined(separator: ", ")
            throw error("unknown table '\(tableName)'\(known.isEmpty ? "" : " (tables: \(known))")", at: tableToken)
        }
        // Qualifiers in the select list were read before FROM named the table: check them now.
        if let (qualifier, token) = qualifiers.first(where: { !aliases.contains($0.0.lowercased()) }) {
            throw error("unknown table '\(qualifier)' in column reference", at: token)
        }
        tableAliases = aliases
        var query = Query(table, name: tableName)
        query.spec.sql = source
        query.spec.explain = explain
        if accept(keyword: "WHERE") { query = query.filter(try expression()) }
        let selectItems = items ?? []
        var groupBy: [Expr] = []
        if accept(keyword: "GROUP") {
            try expect(keyword: "BY")
            repeat {
                let token = current
                groupBy.append(try selectReference(try expression(), selectItems, token, schema: table.schema))
            } while accept(symbol: ",")
        }
        var having: Expr?
        if accept(keyword: "HAVING") { having = try expression() }
        var orderBy: [SortKey] = []
        if accept(keyword: "ORDER") {
            try expect(keyword: "BY")
            repeat {
                let token = current
                var expr = try expression()
                if case .literal(let scalar) = expr.node, case .int(let ordinal) = scalar.payload {
                    let width = items?.count ?? table.schema.fields.count
                    guard ordinal >= 1, ordinal <= width else {
                        throw error("ORDER BY position \(ordinal) is not in the select list", at: token)
                    }
                    let position = Int(ordinal) - 1
                    expr = Expr(.slot(position, items.map { $0[position].outputName } ?? table.schema.fields[position].name))
                }
                var key = SortKey(expr)
                if accept(keyword: "DESC") { key.descending = true } else { _ = accept(keyword: "ASC") }
                if accept(keyword: "NULLS") {
                    if accept(keyword: "FIRST") { key.nullsFirst = true } else { try expect(keyword: "LAST") }
                }
                orderBy.append(key)
            } while accept(symbol: ",")
        }
        // LIMIT and OFFSET, in either order.
        var sawLimit = false
        var sawOffset = false
        while !(sawLimit && sawOffset) {
            if !sawLimit && accept(keyword: "LIMIT") {
                guard case .number(let text) = current.kind, let limit = Int(text) else { throw unexpected("a row count after LIMIT") }
                _ = advance()
                query = query.limit(limit)
                sawLimit = true
            } else if !sawOffset && accept(keyword: "OFFSET") {
                guard case .number(let text) = current.kind, let offset = Int(text) else { throw unexpected("a row count after OFFSET") }
                _ = advance()
                query = query.offset(offset)
                sawOffset = true
            } else {
                break
            }
        }
        _ = accept(symbol: ";")
        guard current.kind == .end else { throw unexpected("end of statement") }

        // `*` becomes every column, located at the star for error messages.
        query.spec.items = items ?? table.schema.fields.indices.map {
            Expr(.slot($0, table.schema.fields[$0].name), position: star?.offset)
        }
        query.spec.groupBy = groupBy
        query.spec.isAggregate = !groupBy.isEmpty
        query.spec.distinct = distinct
        query.spec.having = having
        query.spec.orderBy = orderBy
        return query
    }

    /// GROUP BY accepts an ordinal or a select alias (when no column has that name).
    private func selectReference(_ expr: Expr, _ items: [Expr], _ token: SQLToken, schema: Schema) throws -> Expr {
        switch expr.node {
        case .literal(let scalar):
            if case .int(let ordinal) = scalar.payload {
                guard ordinal >= 1, ordinal <= items.count else {
                    throw error("GROUP BY position \(ordinal) is not in the select list", at: token)
                }
                let item = items[Int(ordinal) - 1]
                guard !item.containsAggregate else { throw error("cannot GROUP BY an aggregate", at: token) }
                return item
            }
        case .column(let name) where schema.index(of: name) == nil:
            if let item = items.first(where: { $0.alias == name }) { return item }
        default: break
        }
        return expr
    }

    /// Column qualifiers (`t.col`) seen so far, checked against the table once it is known.
    private var qualifiers: [(String, SQLToken)] = []
    /// The table's name and alias (lowercased), once FROM has been read.
    private var tableAliases: [String]? = nil

    // MARK: - Expressions (lowest precedence first)

    private mutating func expression() throws -> Expr {
        try enter()
        defer { nesting -= 1 }
        return try disjunction()
    }

    /// One more level of recursion, refused past `maxNesting`.
    private mutating func enter() throws {
        nesting += 1
        guard nesting <= SQLParser.maxNesting else {
            throw source.error(
                "expression nested too deeply: the limit is \(SQLParser.maxNesting) levels of parentheses, NOT, minus, CAST or function calls",
                at: current.offset, length: Swift.max(1, current.length), code: .capacityExceeded)
        }
    }

    /// `expr`, unless it is taller than `Expr.maxDepth`.
    private func checked(_ expr: Expr) throws -> Expr {
        try Expr.checkDepth(expr.depth, site: ErrorSite(source: source), at: expr.position)
        return expr
    }

    private mutating func disjunction() throws -> Expr {
        let first = try conjunction()
        guard isKeyword("OR") else { return first }  // the usual case, without building arrays
        var terms = [first]
        var operators: [Int?] = []
        while isKeyword("OR") {
            operators.append(advance().offset)
            terms.append(try conjunction())
        }
        return try checked(Expr.balanced(terms, operators: operators, and: false))
    }

    private mutating func conjunction() throws -> Expr {
        let first = try negation()
        guard isKeyword("AND") else { return first }  // the usual case, without building arrays
        var terms = [first]
        var operators: [Int?] = []
        while isKeyword("AND") {
            operators.append(advance().offset)
            terms.append(try negation())
        }
        return try checked(Expr.balanced(terms, operators: operators, and: true))
    }

    private mutating func negation() throws -> Expr {
        if isKeyword("NOT") {
            let op = advance()
            try enter()
            defer { nesting -= 1 }
            return try checked(Expr(.not(try negation()), position: op.offset))
        }
        return try predicate()
    }

    private mutating func predicate() throws -> Expr {
        let left = try additive()
        let token = current
        if case .symbol(let symbol) = token.kind, let op = SQLParser.comparisons[symbol] {
            _ = advance()
            return try checked(Expr(.compare(op, left, try additive()), position: token.offset))
        }
        if accept(keyword: "IS") {
            let negated = accept(keyword: "NOT")
            try expect(keyword: "NULL")
            return try checked(Expr(.isNull(left, negated: negated), position: token.offset))
        }
        let negated = accept(keyword: "NOT")
        if accept(keyword: "IN") {
            try expect(symbol: "(")
            var values: [Expr] = []
            repeat { values.append(try expression()) } while accept(symbol: ",")
            try expect(symbol: ")")
            return try checked(Expr(.inList(left, values, negated: negated), position: token.offset))
        }
        if accept(keyword: "BETWEEN") {
            let low = try additive()
            try expect(keyword: "AND")
            let high = try additive()
            return try checked(Expr(.between(left, low, high, negated: negated), position: token.offset))
        }
        if accept(keyword: "LIKE") {
            let pattern = try stringLiteral("a pattern string after LIKE")
            var escape: Character?
            if accept(keyword: "ESCAPE") {
                let escapeToken = current
                let text = try stringLiteral("an escape character")
                guard text.count == 1, let character = text.first else {
                    throw error("ESCAPE needs exactly one character", at: escapeToken)
                }
                escape = character
            }
            return try checked(Expr(.like(left, pattern: pattern, escape: escape, negated: negated), position: token.offset))
        }
        if negated { throw unexpected("IN, BETWEEN or LIKE after NOT") }
        return left
    }

    private static let comparisons: [String: CompareOp] = [
        "=": .equal, "<>": .notEqual, "!=": .notEqual, "<": .less, "<=": .lessOrEqual, ">": .greater, ">=": .greaterOrEqual,
    ]

    private mutating func additive() throws -> Expr {
        var left = try multiplicative()
        while isSymbol("+") || isSymbol("-") {
            let op = advance()
            left = try checked(Expr(.arithmetic(op.kind == .symbol("+") ? .add : .subtract, left, try multiplicative()), position: op.offset))
        }
        return left
    }

    private mutating func multiplicative() throws -> Expr {
        var left = try unary()
        while isSymbol("*") || isSymbol("/") || isSymbol("%") {
            let op = advance()
            let kind: ArithmeticOp = op.kind == .symbol("*") ? .multiply : op.kind == .symbol("/") ? .divide : .remainder
            left = try checked(Expr(.arithmetic(kind, left, try unary()), position: op.offset))
        }
        return left
    }

    private mutating func unary() throws -> Expr {
        if isSymbol("-") || isSymbol("+") {
            let op = advance()
            try enter()
            defer { nesting -= 1 }
            let operand = try unary()
            if op.kind == .symbol("+") { return operand }
            // Fold "-literal" so "-5" is the int64 literal −5 (and the minimum int64 parses).
            if case .literal(let scalar) = operand.node, let negative = SQLParser.negate(scalar) {
                return Expr(.literal(negative), position: op.offset)
            }
            return try checked(Expr(.negate(operand), position: op.offset))
        }
        return try primary()
    }

    private static func negate(_ scalar: Scalar) -> Scalar? {
        switch (scalar.payload, scalar.type) {
        case (.int(let v), _) where v != .min: return .int64(-v)
        case (.decimal(let v), .decimal(_, let p, let s)):
            if v == Int128(Int64.max) + 1 && s == 0 { return .int64(.min) }
            return .decimal128(unscaled: -v, precision: p, scale: s)
        case (.float(let v), _): return .float64(-v)
        default: return nil
        }
    }

    private mutating func primary() throws -> Expr {
        let token = current
        switch token.kind {
        case .number(let text):
            _ = advance()
            return Expr(.literal(try number(text, token)), position: token.offset)
        case .string(let text):
            _ = advance()
            return Expr(.literal(.utf8(text)), position: token.offset)
        case .symbol("("):
            _ = advance()
            let inner = try expression()
            try expect(symbol: ")")
            return inner
        case .quoted:
            return try columnReference()
        case .word(let word):
            switch word.uppercased() {
            case "TRUE":
                _ = advance()
                return Expr(.literal(.boolean(true)), position: token.offset)
            case "FALSE":
                _ = advance()
                return Expr(.literal(.boolean(false)), position: token.offset)
            case "NULL":
                _ = advance()
                return Expr(.literal(.null), position: token.offset)
            case "DATE", "TIMESTAMP":
                _ = advance()
                let textToken = current
                let text = try stringLiteral("a quoted \(word.uppercased()) literal such as '1994-01-01'")
                do {
                    let scalar = word.uppercased() == "DATE" ? try Scalar.date(text) : try Scalar.timestamp(text)
                    return Expr(.literal(scalar), position: token.offset)
                } catch let failure as QuiverError {
                    throw error(failure.message, at: textToken)
                }
            case "CASE":
                return try caseExpression()
            case "CAST":
                _ = advance()
                try expect(symbol: "(")
                let operand = try expression()
                try expect(keyword: "AS")
                let type = try typeName()
                try expect(symbol: ")")
                return try checked(Expr(.cast(operand, type), position: token.offset))
            default:
                if SQLLexer.isKeyword(word) { throw unexpected("an expression") }
                if tokens[index + 1].kind == .symbol("(") { return try call(word, token) }
                return try columnReference()
            }
        default:
            throw unexpected("an expression")
        }
    }

    private mutating func columnReference() throws -> Expr {
        var (column, token) = try name("a column name")
        if accept(symbol: ".") {
            if let aliases = tableAliases, !aliases.contains(column.lowercased()) {
                throw error("unknown table '\(column)' in column reference", at: token)
            }
            qualifiers.append((column, token))
            (column, token) = try name("a column name after '.'")
        }
        return Expr(.column(column), position: token.offset)
    }

    private mutating func call(_ function: String, _ token: SQLToken) throws -> Expr {
        _ = advance()
        try expect(symbol: "(")
        let lowered = function.lowercased()
        let aggregates: [String: AggregateFunction] = ["count": .count, "sum": .sum, "min": .min, "max": .max, "avg": .avg]
        if let aggregate = aggregates[lowered] {
            if lowered == "count" && accept(symbol: "*") {
                try expect(symbol: ")")
                return Expr(.aggregate(.countStar, nil), position: token.offset)
            }
            let distinct = accept(keyword: "DISTINCT")
            if distinct && aggregate != .count {
                throw error("DISTINCT is only supported in count(DISTINCT x)", at: token)
            }
            let argument = try expression()
            try expect(symbol: ")")
            return try checked(Expr(.aggregate(distinct ? .countDistinct : aggregate, argument), position: token.offset))
        }
        if lowered == "starts_with" {
            let operand = try expression()
            try expect(symbol: ",")
            let prefix = try stringLiteral("a prefix string")
            try expect(symbol: ")")
            return try checked(Expr(.startsWith(operand, prefix), position: token.offset))
        }
        if lowered == "extract" {
            // extract(part FROM value): the part is a name or a string.
            let partToken = current
            let part: String
            switch partToken.kind {
            case .word(let word), .quoted(let word), .string(let word): part = word
            default: throw unexpected("a date part such as year or minute")
            }
            _ = advance()
            try expect(keyword: "FROM")
            let value = try expression()
            try expect(symbol: ")")
            let partLiteral = Expr(.literal(.utf8(part)), position: partToken.offset)
            return Expr(.function("date_part", [partLiteral, value]), position: token.offset)
        }
        guard ScalarFunctionNames.arities[lowered] != nil else {
            throw error(
                "unknown function '\(function)' (known: count, sum, min, max, avg, extract, \(ScalarFunctionNames.listed))",
                at: token)
        }
        var arguments: [Expr] = []
        if !isSymbol(")") {
            repeat { arguments.append(try expression()) } while accept(symbol: ",")
        }
        try expect(symbol: ")")
        return Expr(.function(lowered, arguments), position: token.offset)
    }

    /// `CASE [operand] WHEN … THEN … [WHEN …] [ELSE …] END`; the simple form compares the
    /// operand with each WHEN value.
    private mutating func caseExpression() throws -> Expr {
        let token = advance()
        let operand = isKeyword("WHEN") ? nil : try expression()
        var parts: [Expr] = []
        while isKeyword("WHEN") {
            let whenToken = advance()
            let condition = try expression()
            parts.append(operand.map { Expr(.compare(.equal, $0, condition), position: whenToken.offset) } ?? condition)
            try expect(keyword: "THEN")
            parts.append(try expression())
        }
        guard !parts.isEmpty else { throw unexpected("WHEN after CASE") }
        let otherwise = accept(keyword: "ELSE") ? try expression() : nil
        try expect(keyword: "END")
        return Expr(.caseWhen(parts, otherwise: otherwise), position: token.offset)
    }

    private func number(_ text: String, _ token: SQLToken) throws -> Scalar {
        // Scanned as bytes: Character-wise `contains` was most of the time of parsing a long IN list.
        if text.utf8.contains(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            guard let value = Double(text) else { throw error("malformed number", at: token) }
            return .float64(value)
        }
        if !text.utf8.contains(UInt8(ascii: ".")), let value = Int64(text) { return .int64(value) }
        guard let decimal = Scalar.parseDecimal(Array(text.utf8)) else {
            throw error("number \(text) does not fit in 38 digits", at: token)
        }
        return decimal
    }

    private mutating func typeName() throws -> DataType {
        let token = current
        guard case .word(let word) = token.kind else { throw unexpected("a type name") }
        _ = advance()
        switch word.uppercased() {
        case "BOOLEAN", "BOOL": return .boolean
        case "TINYINT", "INT1": return .int8
        case "SMALLINT", "INT2": return .int16
        case "INTEGER", "INT", "INT4": return .int32
        case "BIGINT", "INT8": return .int64
        case "UTINYINT": return .uint8
        case "USMALLINT": return .uint16
        case "UINTEGER": return .uint32
        case "UBIGINT": return .uint64
        case "REAL", "FLOAT4", "FLOAT": return .float32
        case "DOUBLE", "FLOAT8": return .float64
        case "VARCHAR", "TEXT", "STRING":
            if accept(symbol: "(") {
                guard case .number = current.kind else { throw unexpected("a length") }
                _ = advance()
                try expect(symbol: ")")
            }
            return .utf8
        case "DATE": return .date32
        case "TIMESTAMP": return .timestamp(.microsecond, timezone: nil)
        case "DECIMAL", "NUMERIC":
            var precision = 18
            var scale = 3
            if accept(symbol: "(") {
                precision = try smallInteger()
                scale = accept(symbol: ",") ? try smallInteger() : 0
                try expect(symbol: ")")
            }
            guard (1...38).contains(precision), (0...precision).contains(scale) else {
                throw error("DECIMAL(\(precision),\(scale)) needs 1 ≤ precision ≤ 38 and 0 ≤ scale ≤ precision", at: token)
            }
            return .decimal(bitWidth: 128, precision: precision, scale: scale)
        default:
            throw error("unknown type '\(word)'", at: token)
        }
    }

    private mutating func smallInteger() throws -> Int {
        guard case .number(let text) = current.kind, let value = Int(text), value <= 1000 else {
            throw unexpected("a small integer")
        }
        _ = advance()
        return value
    }
}
