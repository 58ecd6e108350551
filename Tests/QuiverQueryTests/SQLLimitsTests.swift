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
