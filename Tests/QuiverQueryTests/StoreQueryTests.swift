import Foundation
import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverQuery
import QuiverStore
import QuiverTestSupport
import Testing

/// Queries over store tables: footer statistics drive zone maps, results equal the same
/// query over the batches in memory, and a store file opened as a plain file keeps its
/// statistics.
@Suite struct StoreQueryTests {
    @Test func zoneMapsFromStoreFootersSkipBatches() throws {
        let directory = try TestPaths.temporaryDirectory("store-query")
        let store = try Store.create(at: directory.path, log: { _ in })
        let schema = Schema([Field("k", .int64, nullable: false), Field("v", .float64)])
        try store.createTable("sorted", schema: schema)
        let writer = try store.writer(for: "sorted", options: WriterOptions(durability: .buffered))
        var batches: [RecordBatch] = []
        for b in 0..<100 {
            let keys = (0..<1000).map { Int64(b * 1000 + $0) }
            let batch = try RecordBatch(schema: schema, columns: [
                ArrayData.build(from: keys), ArrayData.build(from: keys.map { $0 % 7 == 0 ? nil : Double($0) / 2 }),
            ])
            batches.append(batch)
            try writer.append(batch)
        }
        try writer.close()

        let sql = "SELECT count(*) AS n, sum(v) AS s, min(k) AS lo FROM sorted WHERE k BETWEEN 42000 AND 42999"
        let source = try StoreTableSource(store: store, table: "sorted")
        let result = try Query(sql: sql, tables: ["sorted": source]).execute()
        #expect(result.statistics.batchesSkipped == 99)
        let reference = try Query(sql: sql, tables: ["sorted": InMemorySource(batches: batches, computeStatistics: false)]).execute()
        #expect(reference.statistics.batchesSkipped == 0)
        #expect(result.batches[0].logicallyEquals(reference.batches[0]))
        #expect(result.batches[0].columns[0].value(at: 0) == .int(1000))

        // The table's file, opened as a plain Arrow file, still carries its statistics.
        let file = try #require(source.snapshot.files.first?.path)
        let fileResult = try Query(sql: sql, tables: ["sorted": try FileBatchSource(path: file)]).execute()
        #expect(fileResult.statistics.batchesSkipped >= 90)
        #expect(fileResult.batches[0].logicallyEquals(reference.batches[0]))
    }

    @Test func verifyingSourceFailsOnDamageInsteadOfAlteringResults() throws {
        let directory = try TestPaths.temporaryDirectory("store-verify")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try Store.create(at: directory.path, log: { _ in })
        let schema = Schema([Field("k", .int64, nullable: false), Field("v", .int64, nullable: false)])
        try store.createTable("t", schema: schema)
        let writer = try store.writer(for: "t", options: WriterOptions(durability: .buffered, checksums: true))
        for b in 0..<3 {
            let keys = (0..<100).map { Int64(b * 100 + $0) }
            try writer.append(try RecordBatch(schema: schema, columns: [ArrayData.build(from: keys), ArrayData.build(from: keys)]))
        }
        try writer.close()
        // Flip the low bit of the first `v` of batch 1 (150 + … : the values 100…199 hold no other 100).
        let file = try #require(try store.snapshot(of: "t").files.first)
        let block = file.footer.recordBatches[1]
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: file.path)))
        let body = Int(block.offset) + Int(block.metadataLength)
        let hundred = withUnsafeBytes(of: Int64(100).littleEndian) { Array($0) }
        let positions = (body..<(body + Int(block.bodyLength) - 8)).filter { bytes[$0..<($0 + 8)].elementsEqual(hundred) }
        let at = try #require(positions.last)  // the `v` column comes after `k`
        bytes[at] ^= 1
        try Data(bytes).write(to: URL(fileURLWithPath: file.path))

        let sql = "SELECT sum(v) AS s FROM t"
        let plain = try Query(sql: sql, tables: ["t": try StoreTableSource(store: store, table: "t")]).execute()
        #expect(plain.batches[0].columns[0].formatValue(at: 0) == String((0..<300).reduce(0, +) + 1))  // silently altered
        let verifying = try StoreTableSource(store: store, table: "t", verifyChecksums: true)
        #expect { try Query(sql: sql, tables: ["t": verifying]).execute() } throws: { ($0 as? QuiverError)?.code == .invalidData }
        // Even a column whose bytes are intact: the batch is damaged.
        #expect { try Query(sql: "SELECT sum(k) AS s FROM t", tables: ["t": verifying]).execute() } throws: {
            ($0 as? QuiverError)?.code == .invalidData
        }
        let undamaged = try Query(sql: "SELECT sum(k) AS s FROM t WHERE k < 100", tables: ["t": verifying]).execute()
        #expect(undamaged.batches[0].columns[0].formatValue(at: 0) == String((0..<100).reduce(0, +)))
    }

    @Test func addedColumnReadsAsNullInOlderRows() throws {
        let directory = try TestPaths.temporaryDirectory("store-evolve")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try Store.create(at: directory.path, log: { _ in })
        try store.createTable("t", schema: Schema([Field("a", .int64, nullable: false)]))
        let writer = try store.writer(for: "t", options: WriterOptions(durability: .buffered))
        try writer.append(try RecordBatch(schema: Schema([Field("a", .int64, nullable: false)]), columns: [ArrayData.build(from: [Int64(1), 2])]))
        try writer.addColumn(Field("b", .utf8))
        let evolved = Schema([Field("a", .int64, nullable: false), Field("b", .utf8)])
        try writer.append(try RecordBatch(schema: evolved, columns: [ArrayData.build(from: [Int64(3)]), ArrayData.build(from: ["x"])]))
        try writer.close()

        let source = try StoreTableSource(store: store, table: "t")
        let result = try Query(sql: "SELECT a, b FROM t ORDER BY a", tables: ["t": source]).execute()
        let rows = result.batches.flatMap { batch in
            (0..<batch.length).map { "\(batch.columns[0].formatValue(at: $0))|\(batch.columns[1].formatValue(at: $0))" }
        }
        #expect(rows == ["1|null", "2|null", "3|x"])
        let counted = try Query(sql: "SELECT count(b) AS n, count(*) AS m FROM t WHERE b IS NULL OR a > 0", tables: ["t": source]).execute()
        #expect(counted.batches[0].columns[0].value(at: 0) == .int(1))
        #expect(counted.batches[0].columns[1].value(at: 0) == .int(3))
        // Only the added column, from the older file alone.
        let onlyB = try Query(sql: "SELECT b FROM t WHERE b IS NULL", tables: ["t": source]).execute()
        #expect(onlyB.batches.reduce(0) { $0 + $1.length } == 2)
    }

    /// A service's repeated snapshots reuse what was decoded from an unchanged file
    /// (statistics are decoded once per mapped version of it), and still see each append.
    @Test func repeatedSnapshotsSeeAppendsWithTheirStatistics() throws {
        let directory = try TestPaths.temporaryDirectory("store-repeat")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try Store.create(at: directory.path, log: { _ in })
        let schema = Schema([Field("k", .int64, nullable: false)])
        try store.createTable("t", schema: schema)
        let sql = "SELECT count(*) AS n FROM t WHERE k >= 1000"
        for round in 0..<3 {
            let writer = try store.writer(for: "t", options: WriterOptions(durability: .buffered))
            try writer.append(try RecordBatch(schema: schema, columns: [ArrayData.build(from: (0..<10).map { Int64(round * 1000 + $0) })]))
            try writer.close()
            for _ in 0..<2 {
                let source = try StoreTableSource(store: store, table: "t")
                #expect(source.batchCount == round + 1)
                #expect(source.statistics(batch: round)?.columns[0]?.max == StatisticBound(.int(Int64(round * 1000 + 9))))
                let result = try Query(sql: sql, tables: ["t": source]).execute()
                #expect(result.batches[0].columns[0].value(at: 0) == .int(Int64(round * 10)))
                #expect(result.statistics.batchesSkipped == 1)
            }
        }
    }
}

/// Which tables a path offers a query.
@Suite struct PathTablesTests {
    @Test func aFileIsAlsoNamedByItsStem() {
        #expect(Query.tableName(ofFile: "data/lineitem.arrow") == "lineitem")
        #expect(Query.tableName(ofFile: "lineitem") == "lineitem")
        #expect(Query.tableName(ofFile: "dir/_t2.feather/") == "_t2")
        #expect(Query.tableName(ofFile: "a.b.arrow") == nil)
        #expect(Query.tableName(ofFile: "2020.arrow") == nil)
        #expect(Query.tableName(ofFile: ".arrow") == nil)
        #expect(Query.tableName(ofFile: "lineitem.") == nil)
    }
}
