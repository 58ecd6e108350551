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
}
