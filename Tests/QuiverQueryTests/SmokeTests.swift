import QuiverArrow
import QuiverBytes
import Testing
@testable import QuiverQuery
import QuiverTestSupport

@Suite struct SmokeTests {
    func table() throws -> InMemorySource {
        let b1 = try Make.batch([
            ("a", Make.int64([1, 2, nil, 4])), ("b", Make.float64([1.5, nil, 3.5, 4.5])),
            ("s", Make.utf8(["x", "y", "x", nil])),
        ])
        let b2 = try Make.batch([
            ("a", Make.int64([5, 6])), ("b", Make.float64([5.5, 6.5])), ("s", Make.utf8(["y", "z"])),
        ])
        return try InMemorySource(batches: [b1, b2])
    }

    @Test func selectFilterAggregate() throws {
        let source = try table()
        let all = try Query(sql: "SELECT a, b * 2 AS d FROM t WHERE a > 1", tables: ["t": source]).execute()
        #expect(Read.rows(all.batches) == [[.int(2), .null], [.int(4), .double(9)], [.int(5), .double(11)], [.int(6), .double(13)]])
        let grouped = try Query(sql: "SELECT s, count(*), sum(a) FROM t GROUP BY s ORDER BY s", tables: ["t": source]).execute()
        #expect(Read.rows(grouped.batches) == [
            [.string("x"), .int(2), .int(1)], [.string("y"), .int(2), .int(7)], [.string("z"), .int(1), .int(6)],
            [.null, .int(1), .int(4)],
        ])
        let builder = try Query(source).filter(col("a") >= 2).aggregate([sum(col("b")).as("total")]).execute()
        #expect(Read.rows(builder.batches) == [[.double(16.5)]])
        #expect(try Query(sql: "EXPLAIN SELECT s, count(*) FROM t WHERE a > 4 GROUP BY s", tables: ["t": source]).explain() == """
            Project: s, count(*)
              Aggregate: group by [s]; count(*)
                Filter: a > 4
                  Scan: t; columns [a, s] (2 of 3); batches 2, skipped by statistics 1
            """)
    }
}
