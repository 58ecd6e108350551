import QuiverArrow
import QuiverBytes
import QuiverStore
import Testing
@testable import QuiverQuery
import QuiverTestSupport

/// Batch skipping from per-batch statistics.
@Suite struct ZoneMapTests {
    /// 100 batches of 1000 rows over a sorted `id` (0..<100_000) and a payload.
    static func sorted() throws -> InMemorySource {
        let batches = try (0..<100).map { b in
            try Make.batch([
                ("id", Make.int64((0..<1000).map { Int64(b * 1000 + $0) })),
                ("v", Make.float64((0..<1000).map { Double(($0 * 7) % 13) })),
                ("tag", Make.utf8((0..<1000).map { $0 % 2 == 0 ? "even" : "odd" })),
            ])
        }
        return try InMemorySource(batches: batches)
    }

    @Test func onePercentPredicateSkipsNinetyNinePercent() throws {
        let source = try Self.sorted()
        let sql = "SELECT count(*), sum(v) FROM t WHERE id >= 42000 AND id < 43000"
        let result = try Query(sql: sql, tables: ["t": source]).execute()
        #expect(result.statistics.batchesTotal == 100)
        #expect(result.statistics.batchesSkipped == 99)
        #expect(result.statistics.batchesScanned == 1)
        #expect(result.statistics.rowsScanned == 1000)
        let expectedSum = (0..<1000).reduce(0.0) { $0 + Double(($1 * 7) % 13) }
        #expect(Read.rows(result.batches) == [[.int(1000), .double(expectedSum)]])
        let plan = try Query(sql: "EXPLAIN " + sql, tables: ["t": source]).explain()
        #expect(plan.contains("batches 100, skipped by statistics 99"))
        // Without statistics: the same answer, every batch read.
        let unskipped = try Query(sql: sql, tables: ["t": source]).execute(ExecutionOptions(useStatistics: false))
        #expect(unskipped.statistics.batchesSkipped == 0 && unskipped.statistics.batchesScanned == 100)
        #expect(Read.rows(unskipped.batches) == Read.rows(result.batches))
    }

    @Test(arguments: [
        ("id BETWEEN 5500 AND 6400", 98, 901),
        ("id IN (10, 99999, 50500)", 97, 3),
        ("id IN (\((5000..<5200).map(String.init).joined(separator: ", ")))", 99, 200),  // a long list by its span
        ("id = 77777 OR id < 1000", 98, 1001),
        ("id > 99999", 100, 0),
        ("NOT (id < 99000)", 0, 1000),  // NOT is not used for skipping: correct, just slower
        ("id >= 2.5e4 AND id < 26000.5", 98, 1001),  // a widened column still prunes
        ("id IS NULL", 100, 0),
        ("tag = 'even' AND id < 3000", 97, 1500),
    ])
    func predicateShapes(_ predicate: String, skipped: Int, count: Int) throws {
        let source = try Self.sorted()
        let result = try Query(sql: "SELECT count(*) FROM t WHERE \(predicate)", tables: ["t": source]).execute()
        #expect(result.statistics.batchesSkipped == skipped, "\(predicate)")
        #expect(Read.rows(result.batches) == [[.int(Int64(count))]], "\(predicate)")
    }

    @Test func statisticsOfInMemoryBatches() throws {
        let batch = try Make.batch([
            ("i", Make.int32([5, nil, -3, 9])), ("s", Make.utf8(["pear", "apple", nil, "zoo"])),
            ("d", Make.dictionary([1, 0, nil, 1], ["b", "a"])), ("f", Make.float64([.nan, 2, -1, nil])),
        ])
        let source = try InMemorySource(batches: [batch])
        let columns = source.statistics(batch: 0)?.columns
        #expect(source.statistics(batch: 0)?.rowCount == 4)
        #expect(columns?[0] == ColumnStatistics(nullCount: 1, min: .init(.int(-3)), max: .init(.int(9))))
        #expect(columns?[1] == ColumnStatistics(nullCount: 1, min: .init(.string("apple")), max: .init(.string("zoo"))))
        #expect(columns?[2] == ColumnStatistics(nullCount: 1, min: .init(.string("a")), max: .init(.string("b"))))
        #expect(columns?[3]?.min == .init(.double(-1)))
        #expect(columns?[3]?.max == .init(.double(2)))
        #expect(source.statistics(batch: 1) == nil)
    }

    /// A source's explicit statistics are trusted (they are how a store describes its files).
    @Test func suppliedStatisticsAreUsed() throws {
        let batches = try (0..<3).map { b in try Make.batch([("x", Make.int64([Int64(b)]))]) }
        let statistics = (0..<3).map { b in
            BatchStatistics(rowCount: 1, columns: [ColumnStatistics(nullCount: 0, min: .init(.int(Int64(b))), max: .init(.int(Int64(b))))])
        }
        let source = try InMemorySource(batches: batches, schema: batches[0].schema, statistics: statistics)
        let result = try Query(source).filter(col("x") == 1).select(col("x")).execute()
        #expect(result.statistics.batchesSkipped == 2)
        #expect(Read.rows(result.batches) == [[.int(1)]])
    }
}
