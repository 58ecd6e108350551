import Foundation
import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverTestSupport
import Testing
@testable import QuiverStore

@Suite("Store")
struct StoreTests {
    @Test("tables roll to new files, snapshots span them, statistics add up")
    func rollingAndSnapshots() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Store.create(at: directory.path, log: StoreLog.silent)
        #expect { try Store.create(at: directory.path) } throws: { ($0 as? QuiverError)?.code == .conflict }
        try store.createTable("events", schema: Sample.schema, options: TableOptions(maxBatchesPerFile: 3))
        #expect { try store.createTable("events", schema: Sample.schema) } throws: { ($0 as? QuiverError)?.code == .conflict }
        #expect { try store.createTable("../x", schema: Sample.schema) } throws: { ($0 as? QuiverError)?.code == .invalidArgument }
        let writer = try store.writer(for: "events", options: fastWriter)
        for k in 0..<7 { try writer.append(Sample.batch(k)) }
        try writer.append(contentsOf: [Sample.batch(7), Sample.batch(8)])
        let snapshot = try store.snapshot(of: "events")
        #expect(snapshot.files.count == 3 && snapshot.numRecordBatches == 9 && snapshot.numRows == 27)
        #expect(try (0..<9).allSatisfy { Sample.matches(try snapshot.recordBatch(at: $0), $0) })
        let total = snapshot.statistics
        #expect(total.rowCount == 27)
        #expect(total.columns[0] == ColumnStatistics(nullCount: 0, min: .init(.int(0)), max: .init(.int(8002))))
        #expect(total.columns[1]?.nullCount == 0 && total.columns[1]?.min == .init(.string("0-0")))
        try writer.close()
        // From disk, through another Store object: the same snapshot.
        let other = try Store(at: directory.path).snapshot(of: "events")
        #expect(other.numRecordBatches == 9 && other.batchStatistics == snapshot.batchStatistics)
        #expect(try Store(at: directory.path).tableNames() == ["events"])
    }

    @Test("a table of many files opens from disk with every batch's statistics, equal to the data's")
    func manyFilesStatistics() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Store.create(at: directory.path, log: StoreLog.silent)
        try store.createTable("t", schema: Sample.schema, options: TableOptions(maxBatchesPerFile: 3))
        let writer = try store.writer(for: "t", options: fastWriter)
        for k in 0..<30 { try writer.append(Sample.batch(k, rows: 1 + k * 37)) }
        try writer.close()
        let snapshot = try Store(at: directory.path).snapshot(of: "t")
        #expect(snapshot.files.count == 10 && snapshot.numRecordBatches == 30)
        for (k, stats) in snapshot.batchStatistics.enumerated() {
            #expect(stats == BatchStatistics(of: try snapshot.recordBatch(at: k)), "batch \(k)")
        }
    }

    @Test("one writer per table: a second one gets .conflict, until the first closes")
    func writerLock() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Store.create(at: directory.path, log: StoreLog.silent)
        try store.createTable("a", schema: Sample.schema)
        try store.createTable("b", schema: Sample.schema)
        let first = try store.writer(for: "a", options: fastWriter)
        #expect { try Store(at: directory.path).writer(for: "a") } throws: { ($0 as? QuiverError)?.code == .conflict }
        let other = try store.writer(for: "b", options: fastWriter)  // other tables are independent
        try other.close()
        let mismatched = try RecordBatch(schema: Schema([Field("x", .int32)]), columns: [ArrayData.build(from: [1] as [Int32?])])
        #expect { try first.append(mismatched) } throws: { ($0 as? QuiverError)?.code == .schemaMismatch }
        try first.close()
        let second = try store.writer(for: "a", options: fastWriter)
        try second.close()
        #expect { try store.writer(for: "missing") } throws: { ($0 as? QuiverError)?.code == .notFound }
    }

    @Test("compaction merges batches into fewer files; old snapshots keep reading")
    func compaction() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Store.create(at: directory.path, log: StoreLog.silent)
        try store.createTable("t", schema: Sample.schema, options: TableOptions(maxBatchesPerFile: 4))
        let writer = try store.writer(for: "t", options: fastWriter)
        for k in 0..<10 { try writer.append(Sample.batch(k)) }
        try writer.close()
        let before = try Store(at: directory.path).snapshot(of: "t")
        let beforeRows = try before.readBatches()
        #expect(before.files.count == 3)
        let report = try store.compact("t", targetRowsPerBatch: 12, options: fastWriter)
        #expect(report.filesBefore == 3 && report.filesAfter == 1 && report.batchesAfter == 3 && report.rows == 30)
        let after = try store.snapshot(of: "t")
        #expect(after.files.count == 1 && after.numRows == 30 && after.statistics == before.statistics)
        let flat = { (batches: [RecordBatch]) in batches.flatMap { b in (0..<b.length).map { b.columns[0].formatValue(at: $0) } } }
        #expect(flat(try after.readBatches()) == flat(beforeRows))
        // The old files are gone from the directory, yet the earlier snapshot still reads them.
        for file in before.files { #expect(!FileSystem.exists(file.path)) }
        #expect(try before.readBatches().count == 10)
        // Appends continue after the compacted file.
        let again = try store.writer(for: "t", options: fastWriter)
        try again.append(Sample.batch(10))
        try again.close()
        #expect(try store.snapshot(of: "t").numRecordBatches == 4)
        #expect(try store.check().allSatisfy { $0.isHealthy })
    }

    @Test("a writer removes files the catalog does not list; repair fixes a torn last file")
    func orphansAndRepair() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Store.create(at: directory.path, log: StoreLog.silent)
        try store.createTable("t", schema: Sample.schema, options: TableOptions(maxBatchesPerFile: 2))
        let writer = try store.writer(for: "t", options: fastWriter)
        for k in 0..<5 { try writer.append(Sample.batch(k)) }
        try writer.close()
        let tableDirectory = store.tableDirectory("t")
        let orphan = FileSystem.join(tableDirectory, "99999999.arrow")
        try writeFile(orphan, [1, 2, 3])
        let files = try store.table("t").files
        let last = FileSystem.join(tableDirectory, files[files.count - 1])
        let bytes = try fileBytes(last)
        try writeFile(last, bytes.dropLast(7))  // tear the last file's footer
        #expect(try store.check().contains { $0.needsRepair })
        let reports = try store.repair()
        #expect(reports.count == 1 && reports[0].keptBatches == 1 && reports[0].rewritten)
        #expect(!FileSystem.exists(orphan))
        #expect(try store.check().allSatisfy { $0.isHealthy })
        #expect(try store.snapshot(of: "t").numRecordBatches == 5)
    }

    @Test("a table gains a nullable column: older rows read it as null, appends need it")
    func schemaEvolution() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Store.create(at: directory.path, log: StoreLog.silent)
        try store.createTable("t", schema: Sample.schema)
        let writer = try store.writer(for: "t", options: fastWriter)
        try writer.append(contentsOf: [Sample.batch(0), Sample.batch(1)])
        #expect { try writer.addColumn(Field("flag", .boolean, nullable: false)) } throws: {
            ($0 as? QuiverError)?.code == .invalidArgument
        }
        #expect { try writer.addColumn(Field("id", .int32)) } throws: { ($0 as? QuiverError)?.code == .conflict }
        let tags = Field("tags", .list(Field("item", .utf8)))
        try writer.addColumn(tags)
        #expect { try writer.append(Sample.batch(2)) } throws: { ($0 as? QuiverError)?.code == .schemaMismatch }
        let old = Sample.batch(2)
        let list = ListBuilder(child: StringBuilder())
        for row in 0..<old.length { list.append(["r\(row)", nil]) }
        let evolved = try RecordBatch(schema: writer.schema, columns: old.columns + [list.finish()])
        try writer.append(evolved)
        try writer.close()

        let snapshot = try Store(at: directory.path).snapshot(of: "t")
        #expect(snapshot.schema.fields.map(\.name) == ["id", "name", "score", "tags"] && snapshot.files.count == 2)
        let batches = try snapshot.readBatches()
        #expect(batches.count == 3 && batches.allSatisfy { $0.numColumns == 4 })
        #expect(batches[0].columns[3].nullCount == 3 && batches[2].columns[3].nullCount == 0)
        #expect(batches[0].columns[3].formatValue(at: 0) == "null" && batches[2].columns[3].formatValue(at: 1) == "[\"r1\", null]")
        #expect(snapshot.batchStatistics[0].columns[3] == ColumnStatistics(nullCount: 3))
        #expect(snapshot.statistics.columns[3]?.nullCount == 6)
        // Compaction rewrites everything with the new schema.
        let report = try store.compact("t", options: fastWriter)
        #expect(report.filesAfter == 1)
        let compacted = try store.snapshot(of: "t")
        #expect(compacted.files[0].schema.fields.count == 4 && compacted.numRows == 9)
        #expect(try store.check().allSatisfy { $0.isHealthy })
    }

    @Test("the catalog is an Arrow file pyarrow reads", .enabled(if: Python.hasPyArrow))
    func catalogIsArrow() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Store.create(at: directory.path, log: StoreLog.silent)
        try store.createTable("t", schema: Sample.schema, options: TableOptions(compression: .zstd, maxBatchesPerFile: 9))
        let output = try Python.run(
            """
            import sys, pyarrow as pa
            rows = pa.ipc.open_file(sys.argv[1]).read_all().to_pylist()
            print([(r['name'], r['files'], r['compression'], r['max_batches_per_file']) for r in rows])
            """, arguments: [directory.file("catalog.arrow")])
        #expect(output == "[('t', ['00000001.arrow'], 'zstd', 9)]\n")
        #expect(try store.table("t").options == TableOptions(compression: .zstd, maxBatchesPerFile: 9))
    }
}
