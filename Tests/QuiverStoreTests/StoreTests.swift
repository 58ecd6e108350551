import Foundation
import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverTestSupport
import Synchronization
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

    @Test("createTableIfMissing creates a table once, even when many threads race to create it")
    func createTableIfMissing() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Store.create(at: directory.path, log: StoreLog.silent)
        let first = try store.createTableIfMissing("events", schema: Sample.schema, options: TableOptions(maxBatchesPerFile: 3))
        #expect(first.created && first.entry.schema == Sample.schema && first.entry.options.maxBatchesPerFile == 3)
        // An existing table keeps its own schema and options.
        let again = try store.createTableIfMissing("events", schema: Schema([Field("other", .utf8)]))
        #expect(!again.created && again.entry.schema == Sample.schema && again.entry.options.maxBatchesPerFile == 3)
        #expect { try store.createTableIfMissing("../x", schema: Sample.schema) } throws: { ($0 as? QuiverError)?.code == .invalidArgument }

        // Eight threads (each with its own Store object, as separate processes would have)
        // create one new table at once: one creates it, all get its entry, nothing throws.
        let outcomes = Mutex<[Result<Bool, any Error>]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            let outcome = Result { try Store(at: directory.path, log: StoreLog.silent).createTableIfMissing("raced", schema: Sample.schema).created }
            outcomes.withLock { $0.append(outcome) }
        }
        let created = try outcomes.withLock { $0 }.map { try $0.get() }
        #expect(created.filter { $0 }.count == 1 && created.count == 8)
        #expect(try store.tableNames() == ["events", "raced"])
        let writer = try store.writer(for: "raced", options: fastWriter)
        try writer.append(Sample.batch(0))
        try writer.close()
        #expect(try store.snapshot(of: "raced").numRecordBatches == 1)
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
        let checks = try store.check()
        #expect(checks.contains { $0.needsRepair && $0.path == last })
        #expect(checks.contains { $0.needsRepair && $0.path == orphan && !$0.isHealthy })  // not listed: a leftover
        let reports = try store.repair()
        #expect(reports.count == 2, "\(reports)")
        #expect(reports.contains { $0.path == orphan && $0.removed })
        #expect(reports.contains { $0.path == last && $0.keptBatches == 1 && $0.rewritten && !$0.removed })
        #expect(!FileSystem.exists(orphan))
        #expect(try store.check().allSatisfy { $0.isHealthy })
        #expect(try store.snapshot(of: "t").numRecordBatches == 5)
    }

    @Test("a crashed table is read at once, not after the writer timeout, and said to need repair")
    func crashedTableSaysRepair() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let lines = Mutex<[String]>([])
        let store = try Store.create(at: directory.path, log: { line in lines.withLock { $0.append(line) } })
        try store.createTable("t", schema: Sample.schema)
        let writer = try store.writer(for: "t", options: fastWriter)
        for k in 0..<3 { try writer.append(Sample.batch(k)) }
        try writer.close()
        let last = FileSystem.join(store.tableDirectory("t"), try store.table("t").files[0])
        try writeFile(last, try fileBytes(last).dropLast(5))  // the writer "crashed" in its last commit
        let reader = try Store(at: directory.path, log: { line in lines.withLock { $0.append(line) } })
        let start = ContinuousClock.now
        let snapshot = try reader.snapshot(of: "t")
        #expect(ContinuousClock.now - start < .milliseconds(1500), "\(ContinuousClock.now - start): waited for a writer that is gone")
        #expect(snapshot.numRecordBatches == 3 && snapshot.files[0].recovery != nil)
        #expect(lines.withLock { $0 }.contains { $0.contains("needs repair") && $0.contains("quiver repair") }, "\(lines.withLock { $0 })")
    }

    @Test("batches appended together share a commit and a file: the table's limits roll before them, not between")
    func groupCommitDoesNotSplit() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Store.create(at: directory.path, log: StoreLog.silent)
        try store.createTable("t", schema: Sample.schema, options: TableOptions(maxBatchesPerFile: 2))
        let writer = try store.writer(for: "t", options: fastWriter)
        try writer.append(Sample.batch(0))
        try writer.append(contentsOf: (1..<6).map { Sample.batch($0) })
        #expect(try writer.snapshot().files.map(\.numRecordBatches) == [6])
        try writer.append(Sample.batch(6))  // the file is full: a new one
        #expect(try writer.snapshot().files.map(\.numRecordBatches) == [6, 1])
        try writer.close()
        #expect(try (0..<7).allSatisfy { Sample.matches(try store.snapshot(of: "t").recordBatch(at: $0), $0) })
    }

    @Test("changing a table's settings: limits and codec apply to the next appends")
    func changeSettings() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Store.create(at: directory.path, log: StoreLog.silent)
        try store.createTable("t", schema: Sample.schema)
        let writer = try store.writer(for: "t", options: fastWriter)
        try writer.append(Sample.batch(0, rows: 500))
        let options = TableOptions(compression: .zstd, compressionLevel: 3, maxBatchesPerFile: 2)
        try writer.setOptions(options)
        #expect(try store.table("t").options == options && writer.tableOptions == options)
        #expect { try writer.setOptions(TableOptions(maxBatchesPerFile: 0)) } throws: { ($0 as? QuiverError)?.code == .invalidArgument }
        for k in 1..<4 { try writer.append(Sample.batch(k, rows: 500)) }
        let snapshot = try writer.snapshot()
        #expect(snapshot.files.map(\.numRecordBatches) == [2, 2])
        // The first batch is stored raw, the later ones compressed (and smaller).
        let blocks = snapshot.files[0].footer.recordBatches
        #expect(blocks[1].bodyLength < blocks[0].bodyLength / 2, "\(blocks)")
        try writer.close()
        #expect(try (0..<4).allSatisfy { Sample.matches(try store.snapshot(of: "t").recordBatch(at: $0), $0, rows: 500) })
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
