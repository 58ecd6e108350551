import QuiverTestSupport
import PropertyBased
import QuiverArrow
import QuiverBytes
import Testing
@testable import QuiverQuery

/// Random tables (ints, floats, strings, dictionary strings, dates, booleans, with NULLs),
/// random well-typed predicates, projections and aggregates: the engine — through SQL and
/// through the builder — must agree with the row-at-a-time reference.
@Suite struct PropertyTests {
    enum Kind: CaseIterable {
        case int64, int32, float64, utf8, dictionary, date32, boolean
        var isNumeric: Bool { self == .int64 || self == .int32 || self == .float64 }
        var isString: Bool { self == .utf8 || self == .dictionary }
    }

    struct Scenario {
        var kinds: [Kind]
        var batches: [RecordBatch]
        var source: InMemorySource
        var names: [String] { kinds.indices.map { "c\($0)" } }

        func columns(where test: (Kind) -> Bool) -> [String] {
            kinds.indices.filter { test(kinds[$0]) }.map { "c\($0)" }
        }
    }

    static let words = ["", "a", "ab", "abc", "b", "ba", "x_y", "x%z", "Zeta", "é"]

    static func scenario(_ random: inout SeededRandom) throws -> Scenario {
        let width = Int.random(in: 1...5, using: &random)
        var kinds = (0..<width).map { _ in Kind.allCases.randomElement(using: &random)! }
        if !kinds.contains(where: \.isNumeric) { kinds.append(.int64) }
        let dictionary = words
        var batches: [RecordBatch] = []
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let rows = Int.random(in: 0...70, using: &random)
            var columns: [(String, ArrayData)] = []
            for (index, kind) in kinds.enumerated() {
                func maybe<T>(_ make: () -> T) -> T? { Int.random(in: 0..<5, using: &random) == 0 ? nil : make() }
                let data: ArrayData
                switch kind {
                case .int64: data = Make.int64((0..<rows).map { _ in maybe { Int64.random(in: -20...20, using: &random) } })
                case .int32: data = Make.int32((0..<rows).map { _ in maybe { Int32.random(in: -20...20, using: &random) } })
                case .float64: data = Make.float64((0..<rows).map { _ in maybe { Double(Int.random(in: -40...40, using: &random)) / 4 } })
                case .utf8: data = Make.utf8((0..<rows).map { _ in maybe { words.randomElement(using: &random)! } })
                case .dictionary:
                    data = Make.dictionary((0..<rows).map { _ in maybe { Int32.random(in: 0..<Int32(dictionary.count), using: &random) } }, dictionary)
                case .date32: data = Make.date32((0..<rows).map { _ in maybe { Int32.random(in: 9000...9010, using: &random) } })
                case .boolean: data = Make.bool((0..<rows).map { _ in maybe { Bool.random(using: &random) } })
                }
                columns.append(("c\(index)", data))
            }
            batches.append(try Make.batch(columns))
        }
        return Scenario(kinds: kinds, batches: batches, source: try InMemorySource(batches: batches))
    }

    // MARK: - Random expressions (well typed by construction)

    static func numeric(_ s: Scenario, _ random: inout SeededRandom, depth: Int) -> TExpr {
        let columns = s.columns(where: \.isNumeric)
        switch Int.random(in: 0..<(depth > 0 ? 5 : 3), using: &random) {
        case 0: return .int(Int64.random(in: -5...5, using: &random))
        case 1: return .double(Double(Int.random(in: -20...20, using: &random)) / 4)
        case 2: return .column(columns.randomElement(using: &random)!)
        default:
            let op = ["+", "-", "*", "/", "%"].randomElement(using: &random)!
            return .arithmetic(op, numeric(s, &random, depth: depth - 1), numeric(s, &random, depth: depth - 1))
        }
    }

    static func predicate(_ s: Scenario, _ random: inout SeededRandom, depth: Int) -> TExpr {
        if depth > 0 && Bool.random(using: &random) {
            switch Int.random(in: 0..<3, using: &random) {
            case 0: return .and(predicate(s, &random, depth: depth - 1), predicate(s, &random, depth: depth - 1))
            case 1: return .or(predicate(s, &random, depth: depth - 1), predicate(s, &random, depth: depth - 1))
            default: return .not(predicate(s, &random, depth: depth - 1))
            }
        }
        let index = Int.random(in: 0..<s.kinds.count, using: &random)
        let column = TExpr.column("c\(index)")
        let op = ["=", "<>", "<", "<=", ">", ">="].randomElement(using: &random)!
        if Int.random(in: 0..<6, using: &random) == 0 { return .isNull(column, negated: Bool.random(using: &random)) }
        switch s.kinds[index] {
        case .int64, .int32, .float64:
            switch Int.random(in: 0..<4, using: &random) {
            case 0: return .compare(op, numeric(s, &random, depth: 2), numeric(s, &random, depth: 1))
            case 1: return .between(column, numeric(s, &random, depth: 0), numeric(s, &random, depth: 0), negated: Bool.random(using: &random))
            case 2:
                var values = (0..<Int.random(in: 1...4, using: &random)).map { _ in numeric(s, &random, depth: 0) }
                if Int.random(in: 0..<4, using: &random) == 0 { values.append(.null) }
                return .inList(column, values, negated: Bool.random(using: &random))
            default: return .compare(op, column, .int(Int64.random(in: -5...5, using: &random)))
            }
        case .utf8, .dictionary:
            let other = s.columns(where: \.isString).randomElement(using: &random)!
            switch Int.random(in: 0..<4, using: &random) {
            case 0: return .compare(op, column, .string(words.randomElement(using: &random)!))
            case 1: return .compare(op, column, .column(other))
            case 2: return .like(column, ["a%", "%b", "%b%", "_", "a_c", "%", "x\\%z", "Z%a"].randomElement(using: &random)!, negated: Bool.random(using: &random))
            default: return .inList(column, [.string(words.randomElement(using: &random)!), .string(words.randomElement(using: &random)!)], negated: Bool.random(using: &random))
            }
        case .date32:
            let other = s.columns(where: { $0 == .date32 }).randomElement(using: &random)!
            return .compare(op, column, .column(other))
        case .boolean:
            return Bool.random(using: &random) ? column : .compare(op, column, .bool(Bool.random(using: &random)))
        }
    }

    static func run(_ sql: String, _ s: Scenario, parallelism: Int = 2) throws -> [[V]] {
        Read.rows(try Query(sql: sql, tables: ["t": s.source]).execute(ExecutionOptions(parallelism: parallelism)).batches)
    }

    // MARK: - Properties

    @Test func filtersAgreeWithReference() async {
        await propertyCheck(count: 150, input: Gen.int(in: 0...Int.max)) { seed in
            var random = SeededRandom(seed: UInt64(seed))
            let s = try Self.scenario(&random)
            let predicate = Self.predicate(s, &random, depth: 2)
            let reference = ReferenceTable(s.batches)
            let expected = reference.filter(predicate).map { row in s.names.map { row[$0]! } }
            let sql = try Self.run("SELECT * FROM t WHERE \(predicate.sql)", s)
            #expect(close(sql, expected), "SQL: \(predicate.sql)")
            let built = Read.rows(try Query(s.source).filter(predicate.expr).execute().batches)
            #expect(close(built, expected), "builder: \(predicate.sql)")
        }
    }

    @Test func projectionsAgreeWithReference() async {
        await propertyCheck(count: 100, input: Gen.int(in: 0...Int.max)) { seed in
            var random = SeededRandom(seed: UInt64(seed))
            let s = try Self.scenario(&random)
            let outputs = (0..<Int.random(in: 1...3, using: &random)).map { _ in Self.numeric(s, &random, depth: 2) }
            let predicate = Self.predicate(s, &random, depth: 1)
            let expected = ReferenceTable(s.batches).filter(predicate).map { row in outputs.map { $0.evaluate(row) } }
            let sql = try Self.run("SELECT \(outputs.map(\.sql).joined(separator: ", ")) FROM t WHERE \(predicate.sql)", s)
            #expect(close(sql, expected), "\(outputs) WHERE \(predicate)")
        }
    }

    @Test func aggregatesAgreeWithReference() async {
        await propertyCheck(count: 150, input: Gen.int(in: 0...Int.max)) { seed in
            var random = SeededRandom(seed: UInt64(seed))
            let s = try Self.scenario(&random)
            let groupable = s.names
            let keys = Array(groupable.shuffled(using: &random).prefix(Int.random(in: 0...2, using: &random)))
            var aggregates: [(String, TExpr?)] = [("count_star", nil)]
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let index = Int.random(in: 0..<s.kinds.count, using: &random)
                let kind = s.kinds[index]
                var functions = ["count", "count_distinct"]
                if kind.isNumeric { functions += ["sum", "avg", "min", "max"] }
                if kind.isString || kind == .date32 { functions += ["min", "max"] }
                aggregates.append((functions.randomElement(using: &random)!, .column("c\(index)")))
            }
            let predicate: TExpr? = Bool.random(using: &random) ? Self.predicate(s, &random, depth: 1) : nil
            let expected = ReferenceTable(s.batches).aggregate(where: predicate, keys: keys.map { .column($0) }, aggregates: aggregates)
            func sqlCall(_ a: (String, TExpr?)) -> String {
                switch a.0 {
                case "count_star": return "count(*)"
                case "count_distinct": return "count(DISTINCT \(a.1!.sql))"
                default: return "\(a.0)(\(a.1!.sql))"
                }
            }
            let select = (keys + aggregates.map(sqlCall)).joined(separator: ", ")
            let sql = "SELECT \(select) FROM t" + (predicate.map { " WHERE \($0.sql)" } ?? "")
                + (keys.isEmpty ? "" : " GROUP BY \(keys.joined(separator: ", "))")
            #expect(close(try Self.run(sql, s), expected), "\(sql)")
            func call(_ a: (String, TExpr?)) -> Expr {
                switch a.0 {
                case "count_star": return count()
                case "count": return count(a.1!.expr)
                case "count_distinct": return countDistinct(a.1!.expr)
                case "sum": return sum(a.1!.expr)
                case "avg": return avg(a.1!.expr)
                case "min": return min(a.1!.expr)
                default: return max(a.1!.expr)
                }
            }
            var query = Query(s.source)
            if let predicate { query = query.filter(predicate.expr) }
            let built = try query.aggregate(aggregates.map(call), groupBy: keys.map { col($0) }).execute()
            #expect(close(Read.rows(built.batches), expected), "builder: \(sql)")
            // The same at parallelism 1: bit-identical.
            #expect(try Self.run(sql, s, parallelism: 1) == (try Self.run(sql, s, parallelism: 3)))
        }
    }

    @Test func orderByLimitAgreesWithReference() async {
        await propertyCheck(count: 100, input: Gen.int(in: 0...Int.max)) { seed in
            var random = SeededRandom(seed: UInt64(seed))
            let s = try Self.scenario(&random)
            let sortable = s.names.filter { _ in true }
            let keys = Array(sortable.shuffled(using: &random).prefix(Int.random(in: 1...2, using: &random)))
            let directions = keys.map { _ in (Bool.random(using: &random), Bool.random(using: &random)) }
            let limit: Int? = Bool.random(using: &random) ? Int.random(in: 0...30, using: &random) : nil
            let offset = Bool.random(using: &random) ? Int.random(in: 0...12, using: &random) : 0
            // A filter dropping some rows takes the late-materialising top-k path.
            let filtered = Bool.random(using: &random)
            let reference = ReferenceTable(s.batches)
            let kept = reference.rows.indices.filter { !filtered || !reference.row($0)[keys[0]]!.isNull }
            let positions = kept.sorted { a, b in
                for (key, (descending, nullsFirst)) in zip(keys, directions) {
                    let x = reference.row(a)[key]!, y = reference.row(b)[key]!
                    if x.isNull || y.isNull {
                        if x.isNull && y.isNull { continue }
                        return x.isNull == nullsFirst
                    }
                    let c = Reference.compare(x, y)!
                    if c != 0 { return descending ? c > 0 : c < 0 }
                }
                return a < b
            }
            let expected = positions.dropFirst(offset).prefix(limit ?? positions.count).map { reference.rows[$0] }
            let order = zip(keys, directions).map { "\($0) \($1.0 ? "DESC" : "ASC") NULLS \($1.1 ? "FIRST" : "LAST")" }
            let sql = "SELECT * FROM t" + (filtered ? " WHERE \(keys[0]) IS NOT NULL" : "")
                + " ORDER BY \(order.joined(separator: ", "))" + (limit.map { " LIMIT \($0)" } ?? "")
                + (offset > 0 ? " OFFSET \(offset)" : "")
            #expect(try Self.run(sql, s) == expected, "\(sql)")
        }
    }

    /// Ill-typed or nonsensical expressions must fail with a query error, never crash.
    @Test func randomExpressionsNeverCrash() async {
        await propertyCheck(count: 200, input: Gen.int(in: 0...Int.max)) { seed in
            var random = SeededRandom(seed: UInt64(seed))
            let s = try Self.scenario(&random)
            func any(_ depth: Int) -> TExpr {
                let leaves: [TExpr] = [
                    .column(s.names.randomElement(using: &random)!), .int(Int64.random(in: -3...3, using: &random)),
                    .double(0.5), .string("a"), .bool(true), .null, .column("nope"),
                ]
                guard depth > 0 else { return leaves.randomElement(using: &random)! }
                switch Int.random(in: 0..<7, using: &random) {
                case 0: return .arithmetic(["+", "-", "*", "/", "%"].randomElement(using: &random)!, any(depth - 1), any(depth - 1))
                case 1: return .compare(["=", "<", ">="].randomElement(using: &random)!, any(depth - 1), any(depth - 1))
                case 2: return .and(any(depth - 1), any(depth - 1))
                case 3: return .not(any(depth - 1))
                case 4: return .like(any(depth - 1), "a%", negated: false)
                case 5: return .inList(any(depth - 1), [any(0), any(0)], negated: true)
                default: return .isNull(any(depth - 1), negated: false)
                }
            }
            let expr = any(3)
            for sql in ["SELECT \(expr.sql) FROM t", "SELECT count(*) FROM t WHERE \(expr.sql)", "SELECT sum(\(expr.sql)) FROM t"] {
                do {
                    _ = try Query(sql: sql, tables: ["t": s.source]).execute()
                } catch let error as QuiverError {
                    #expect(error.code == .query, "\(sql): \(error)")
                }
            }
        }
    }
}
