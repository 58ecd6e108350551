import Foundation
import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverTestSupport
import Testing
@testable import QuiverStore

@Suite("Appendable files")
struct AppendableFileTests {
    @Test("appends commit batches that any reader sees, across reopening")
    func appendAndReopen() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("a.arrow")
        let file = try AppendableFile.create(path: path, schema: Sample.schema, metadata: ["owner": "test"], options: fastAppend)
        #expect(file.numRecordBatches == 0)
        try file.append(Sample.batch(0))
        try file.append(contentsOf: [Sample.batch(1), Sample.batch(2, rows: 5)])
        #expect(file.numRecordBatches == 3 && file.numRows == 11)
        // A plain Arrow file after every commit: the IPC reader opens it as it is.
        let reader = try FileReader(input: try MappedFile(path: path))
        #expect(reader.numRecordBatches == 3)
        #expect(Sample.matches(try reader.recordBatch(at: 2), 2, rows: 5))
        #expect(reader.footerMetadata["owner"] == "test")
        #expect(reader.footerMetadata[StatisticsCodec.metadataKey] != nil)
        try file.close()

        let reopened = try AppendableFile(path: path, options: fastAppend, log: StoreLog.silent)
        #expect(reopened.recovery == nil && reopened.numRecordBatches == 3)
        #expect(reopened.statistics[2].columns[0]?.max == StatisticBound(.int(2004)))
        try reopened.append(Sample.batch(3))
        let snapshot = try reopened.snapshot()
        try reopened.close()
        #expect(snapshot.numRecordBatches == 4 && snapshot.numRows == 14)
        #expect(try snapshot.readBatches().enumerated().allSatisfy { Sample.matches($1, $0, rows: $0 == 2 ? 5 : 3) })
        #expect(snapshot.footerMetadata["owner"] == "test")
    }

    @Test("a batch of another schema is a typed error and changes nothing")
    func schemaMismatch() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try AppendableFile.create(path: directory.file("a.arrow"), schema: Sample.schema, options: fastAppend)
        try file.append(Sample.batch(0))
        let other = try RecordBatch(schema: Schema([Field("x", .int32)]), columns: [ArrayData.build(from: [1] as [Int32?])])
        #expect { try file.append(other) } throws: { ($0 as? QuiverError)?.code == .schemaMismatch }
        try file.append(Sample.batch(1))
        #expect(try file.snapshot().readBatches().count == 2)
        try file.close()
    }

    @Test("a group with a bad batch commits none of its batches, now or at the next commit")
    func failedGroupCommitsNothing() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Store.create(at: directory.path, log: StoreLog.silent)
        try store.createTable("t", schema: Sample.schema)
        let writer = try store.writer(for: "t", options: fastWriter)
        try writer.append(Sample.batch(0))
        let other = try RecordBatch(schema: Schema([Field("x", .int32)]), columns: [ArrayData.build(from: [1] as [Int32?])])
        #expect { try writer.append(contentsOf: [Sample.batch(1), other, Sample.batch(2)]) } throws: {
            ($0 as? QuiverError)?.code == .schemaMismatch
        }
        try writer.commit()
        try writer.append(Sample.batch(3))
        try writer.close()
        let batches = try store.snapshot(of: "t").readBatches()
        #expect(batches.count == 2 && Sample.matches(batches[0], 0) && Sample.matches(batches[1], 3), "\(batches.count) batches")
        // The same through a file.
        let file = try AppendableFile.create(path: directory.file("a.arrow"), schema: Sample.schema, options: fastAppend)
        #expect { try file.append(contentsOf: [Sample.batch(0), other]) } throws: { ($0 as? QuiverError)?.code == .schemaMismatch }
        try file.commit()
        #expect(file.numRecordBatches == 0)
        try file.close()
    }

    @Test("a second writer of the same file gets .conflict, in this process too")
    func secondWriterConflicts() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("a.arrow")
        let first = try AppendableFile.create(path: path, schema: Sample.schema, options: fastAppend)
        #expect { try AppendableFile(path: path, options: fastAppend) } throws: { ($0 as? QuiverError)?.code == .conflict }
        try first.close()
        let second = try AppendableFile(path: path, options: fastAppend)
        try second.close()
    }

    @Test("appending to a pyarrow file keeps its rows and metadata and adds statistics", .enabled(if: Python.hasPyArrow))
    func appendToForeignFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("py.arrow")
        _ = try Python.run(
            """
            import sys, pyarrow as pa
            t = pa.table({'id': pa.array([1, 2, 3], pa.int64()), 'name': ['a', None, 'c'], 'score': [0.5, 1.5, None]})
            with pa.ipc.new_file(sys.argv[1], t.schema, metadata={'from': 'pyarrow'}) as w:
                w.write_table(t)
            """, arguments: [path])
        let file = try AppendableFile(path: path, options: fastAppend)
        #expect(file.statistics.count == 1 && file.statistics[0].columns[0]?.max == StatisticBound(.int(3)))
        try file.append(Sample.batch(5))
        try file.close()
        let output = try Python.run(
            """
            import sys, base64, pyarrow as pa
            r = pa.ipc.open_file(sys.argv[1])
            print(r.num_record_batches, r.read_all().num_rows, r.metadata[b'from'].decode(), b'quiver:statistics' in r.metadata)
            """, arguments: [path])
        #expect(output == "2 6 pyarrow True\n")
    }

    @Test("a dictionary that changes needs a new file; deltas stay in the file when enabled")
    func dictionaries() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let type = DataType.dictionary(index: .int32, value: .utf8, ordered: false)
        let schema = Schema([Field("d", type)])
        func batch(_ values: [String], _ indices: [Int32]) throws -> RecordBatch {
            var data = ArrayData.build(from: indices)
            data.type = type
            data.dictionary = ArrayData.build(from: values.map { Optional($0) })
            return try RecordBatch(schema: schema, columns: [data])
        }
        let plain = try AppendableFile.create(path: directory.file("plain.arrow"), schema: schema, options: fastAppend)
        try plain.append(try batch(["a", "b"], [0, 1, 0]))
        #expect(try !plain.needsNewFile(for: try batch(["a", "b"], [1])))
        #expect(try plain.needsNewFile(for: try batch(["a", "b", "c"], [2])))
        try plain.close()

        var options = fastAppend
        options.dictionaryDeltas = true
        let path = directory.file("delta.arrow")
        let deltas = try AppendableFile.create(path: path, schema: schema, options: options)
        try deltas.append(try batch(["a", "b"], [0, 1]))
        #expect(try !deltas.needsNewFile(for: try batch(["a", "b", "c"], [2])))
        try deltas.append(try batch(["a", "b", "c"], [2, 0]))
        try deltas.close()
        let reopened = try AppendableFile(path: path, options: options)
        try reopened.append(try batch(["a", "b", "c", "d"], [3]))
        let values = try reopened.snapshot().readBatches().flatMap { batch in
            (0..<batch.length).map { batch.columns[0].formatValue(at: $0) }
        }
        try reopened.close()
        #expect(values == ["a", "b", "c", "a", "d"])
    }

    @Test("large appends reserve disk space past the end without changing the size; closing gives it back")
    func reservation() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("big.arrow")
        let file = try AppendableFile.create(path: path, schema: Sample.schema, options: fastAppend)
        let batch = Sample.batch(0, rows: 100_000)  // a few MB: its buffers are written directly
        try file.append(batch)
        try file.append(batch)
        /// The size and the bytes of disk blocks the file holds.
        func usage() throws -> (size: Int, allocated: Int) {
            var status = stat()
            guard stat(path, &status) == 0 else { throw QuiverError(.io, "stat \(path)") }
            return (Int(status.st_size), Int(status.st_blocks) * 512)
        }
        let open = try usage()
        #expect(open.size == file.committedSize)
        #expect(try FileReader(input: try MappedFile(path: path)).numRecordBatches == 2)
        let reserves = open.allocated > open.size + PositionedOutput.reservationSteps.minimum / 2
        try file.close()
        let closed = try usage()
        #expect(closed.size == open.size)
        // Where the filesystem reserves (ext4, xfs), the space past the end is back.
        if reserves { #expect(closed.allocated < open.size + (1 << 20)) }
        let reopened = try AppendableFile(path: path, options: fastAppend, log: StoreLog.silent)
        #expect(reopened.recovery == nil && reopened.numRecordBatches == 2)
        try reopened.close()
    }
}
