import QuiverTestSupport
import QuiverArrow
import QuiverBytes
import Testing
@testable import QuiverQuery

/// Deep or long SQL gets a correct answer or a typed `capacityExceeded` error, never a stack
/// overflow: the sizes are those that once crashed the engine.
@Suite struct SQLLimitsTests {
    static func run(_ sql: String) throws -> QueryResult {
        try Query(sql: sql, tables: ["t": try ErrorTests.table()]).execute()
    }

    static func refused(_ sql: String) throws -> QuiverError {
        do {
            let result = try run(sql)
            Issue.record("no error, \(result.numRows) rows")
        } catch let error as QuiverError {
            return error
        }
        return QuiverError(.query, "")
    }

    static func int64Column(_ result: QueryResult) -> [V] {
        Read.rows(result.batches).map { $0[0] }
    }

    @Test func sixThousandParenthesesAreRefusedAtTheDeepestOne() throws {
        let error = try Self.refused("SELECT " + String(repeating: "(", count: 6000) + "1" + String(repeating: ")", count: 6000) + " FROM t")
        #expect(error.code == .capacityExceeded)
        #expect(error.message.contains("nested too deeply"), "\(error.message)")
        // The caret is at the first token nested past the limit.
        #expect(error.message.contains("column \(8 + SQLParser.maxNesting)"), "\(error.message)")
    }

    @Test func parenthesesUpToTheLimitWork() throws {
        let depth = SQLParser.maxNesting - 1
        let batch = try Self.run("SELECT " + String(repeating: "(", count: depth) + "a" + String(repeating: ")", count: depth) + " FROM t")
        #expect(Self.int64Column(batch) == [.int(1), .int(2), .int(3)])
    }

    @Test func tenThousandNotsAreRefused() throws {
        let error = try Self.refused("SELECT a FROM t WHERE " + String(repeating: "NOT ", count: 10_000) + "a = 1")
        #expect(error.code == .capacityExceeded)
        let minus = try Self.refused("SELECT " + String(repeating: "- ", count: 10_000) + "a FROM t")
        #expect(minus.code == .capacityExceeded)
    }

    @Test func twoHundredNotsWork() throws {
        let batch = try Self.run("SELECT a FROM t WHERE " + String(repeating: "NOT ", count: 201) + "a = 1")
        #expect(Self.int64Column(batch) == [.int(2), .int(3)])
    }

    @Test func twoThousandChainedAdditionsAreRefused() throws {
        let error = try Self.refused("SELECT " + Array(repeating: "a", count: 2000).joined(separator: " + ") + " FROM t")
        #expect(error.code == .capacityExceeded)
        #expect(error.message.contains("limit is \(Expr.maxDepth)"), "\(error.message)")
        // A hundred thousand terms stop at the limit too (nothing is built past it).
        let long = try Self.refused("SELECT " + Array(repeating: "a", count: 100_000).joined(separator: " * ") + " FROM t")
        #expect(long.code == .capacityExceeded)
    }

    @Test func chainsUpToTheLimitAreEvaluated() throws {
        // The select item is `a + … + a` (depth = terms) under nothing else.
        let terms = Expr.maxDepth
        let batch = try Self.run("SELECT " + Array(repeating: "a", count: terms).joined(separator: " + ") + " AS total FROM t WHERE a >= 2")
        #expect(Self.int64Column(batch) == [.int(2 * Int64(terms)), .int(3 * Int64(terms))])
    }

    @Test func theTallestTreesEvaluateOnWorkerThreads() throws {
        // Each term raises the decimal scale, so the binder adds a cast per level: the bound
        // tree is about twice the limit, evaluated by the parallel scan's threads.
        let source = try InMemorySource(batches: (0..<4).map { _ in try Make.batch([("i", Make.int64(Array(0..<100)))]) })
        let terms = (1..<Expr.maxDepth - 3).map { " + 0." + String(repeating: "0", count: $0 % 30) + "1" }.joined()
        let sql = "SELECT count(*) FROM t WHERE i\(terms) > 50 AND (i\(terms)) * 2 < 1000"
        let result = try Query(sql: sql, tables: ["t": source]).execute(ExecutionOptions(parallelism: 2))
        #expect(Read.rows(result.batches) == [[.int(4 * 51)]])  // i + 1.79… > 50
    }

    @Test func fiveThousandOrTermsAreAnswered() throws {
        let terms = (1...5000).map { "a = \($0)" }.joined(separator: " OR ")
        #expect(Self.int64Column(try Self.run("SELECT a FROM t WHERE \(terms)")) == [.int(1), .int(2), .int(3)])
        let none = (4...5003).map { "a = \($0)" }.joined(separator: " OR ")
        #expect(try Self.run("SELECT a FROM t WHERE \(none)").numRows == 0)
        let both = (1...5000).map { "a <> \($0 + 1)" }.joined(separator: " AND ")
        #expect(Self.int64Column(try Self.run("SELECT a FROM t WHERE \(both)")) == [.int(1)])
        // In the select list and GROUP BY too (printing, matching, aggregation).
        let grouped = try Self.run("SELECT \(terms) AS hit, count(*) FROM t GROUP BY \(terms)")
        #expect(grouped.numRows == 1)
    }

    @Test func theBuilderIsHeldToTheSameLimit() throws {
        var deep = col("a")
        for _ in 0..<Expr.maxDepth { deep = deep + col("a") }
        #expect(throws: QuiverError.self) { try Query(try ErrorTests.table()).select(deep).execute() }
        do {
            _ = try Query(try ErrorTests.table()).select(deep).execute()
        } catch let error as QuiverError {
            #expect(error.code == .capacityExceeded)
        }
        // Ten thousand filters are ANDed shallowly.
        var query = Query(try ErrorTests.table())
        for value in 0..<10_000 { query = query.filter(col("a") != Expr(integerLiteral: Int64(100 + value))) }
        #expect(Self.int64Column(try query.select(col("a")).execute()) == [.int(1), .int(2), .int(3)])
    }
}

/// `x IN (…)` is one set lookup per row, with the semantics of the ORed comparisons.
@Suite struct InListTests {
    static func rows(_ sql: String) throws -> [[V]] {
        let source = try InMemorySource(batches: [try Make.batch([
            ("i", Make.int32([1, 2, nil, 40_000])), ("f", Make.float64([0.5, 2, nil, -0.0])),
            ("s", Make.utf8(["x", "yy", nil, ""])), ("k", Make.dictionary([0, 1, nil, 2], ["x", "yy", ""])),
            ("d", Make.date32([0, 1, nil, 3])), ("m", Make.decimal128([150, -5, nil, 0], precision: 9, scale: 2)),
            ("b", Make.bool([true, false, nil, true])),
        ])])
        return Read.rows(try Query(sql: sql, tables: ["t": source]).execute().batches)
    }

    static let t = V.bool(true), f = V.bool(false), n = V.null

    @Test func twentyThousandValues() throws {
        let values = (0..<20_000).map { String($0 * 3 + 2) }.joined(separator: ", ")
        #expect(try Self.rows("SELECT i IN (\(values)), i NOT IN (\(values)) FROM t") == [
            [Self.f, Self.t], [Self.t, Self.f], [Self.n, Self.n], [Self.f, Self.t],
        ])
        // 40,000 is not in the list (it is 3k + 1); a hundred thousand values still answer.
        let many = (0..<100_000).map { String($0 * 2) }.joined(separator: ",")
        #expect(try Self.rows("SELECT count(*) FROM t WHERE i IN (\(many))") == [[.int(2)]])
    }

    @Test(arguments: [
        ("i IN (1, 40000, 7)", [t, f, n, t]),
        ("i IN (1, NULL, 7)", [t, n, n, n]),
        ("i NOT IN (1, NULL, 7)", [f, n, n, n]),
        ("i IN (2, 5000000000, 1.0, 2.5)", [t, t, n, f]),  // past int32 and fractional values too
        ("f IN (0.5, 0, 1e300)", [t, f, n, t]),  // -0.0 = 0
        ("s IN ('x', '', 'zz')", [t, f, n, t]),
        ("k IN ('x', '', 'zz')", [t, f, n, t]),  // a dictionary column
        ("k NOT IN ('yy', 'q')", [t, f, n, t]),
        ("d IN (DATE '1970-01-01', '1970-01-04')", [t, f, n, t]),
        ("m IN (1.5, -0.05, 3)", [t, t, n, f]),
        ("b IN (true, NULL)", [t, n, n, t]),
        ("i IN (1, i + 1, 3)", [t, f, n, f]),  // a value that is not a literal
        ("i + 1 IN (2, 3)", [t, t, n, f]),
    ])
    func semantics(_ condition: String, _ expected: [V]) throws {
        #expect(try Self.rows("SELECT \(condition) FROM t").map { $0[0] } == expected, "\(condition)")
    }
}
