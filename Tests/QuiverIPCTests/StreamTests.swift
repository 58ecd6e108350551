import Foundation
import QuiverArrow
import QuiverBytes
@testable import QuiverIPC
import QuiverTestSupport
import Testing

@Suite struct StreamTests {
    static let goldenNames = Golden.names()

    @Test func goldenCorpusIsPresent() {
        #expect(Self.goldenNames.count >= 30)
    }

    @Test(arguments: goldenNames) func goldenStreamMatchesFile(_ name: String) throws {
        let stream = try StreamReader(buffer: try Golden.bytes(name, ".stream"))
        let streamBatches = try stream.readBatches()
        let file = try FileReader(buffer: try Golden.bytes(name, ".arrow_file"))
        // The golden map_non_canonical stream names its map entries differently from the
        // file (pyarrow ignores those names), so compare structure and body bytes.
        #expect(stream.schema.description == file.schema.description)
        #expect(streamBatches.count == file.numRecordBatches)
        #expect(streamBatches.map(\.numRows) == (try file.readBatches()).map(\.numRows))
        #expect(try sameBodies(streamBatches, try file.readBatches()))
        if stream.schema == file.schema {
            #expect(try sameBatches(streamBatches, try file.readBatches()))
        }
        #expect(stream.stats.numRecordBatches == streamBatches.count)
        #expect(stream.next() == nil)
    }

    @Test(arguments: goldenNames) func chunkedInputDecodesIdentically(_ name: String) throws {
        let bytes = try Golden.bytes(name, ".stream")
        let expected = try StreamReader(buffer: bytes).readBatches()
        for chunk in [1, 3, 8, 13, 64, 4096] {
            let reader = try StreamReader(input: ChunkedInput(bytes, chunk: chunk))
            #expect(try sameBatches(try reader.readBatches(), expected), "chunk \(chunk)")
        }
    }

    /// Chunks of every size from 1 byte to the whole stream, on streams with dictionaries
    /// (incl. deltas written by us), nesting and views.
    @Test(arguments: ["generated_dictionary", "generated_nested", "generated_binary_view", "generated_map"])
    func everyChunkSizeDecodesIdentically(_ name: String) throws {
        let bytes = try Golden.bytes(name, ".stream")
        let expected = try StreamReader(buffer: bytes).readBatches()
        for chunk in 1...bytes.count {
            let reader = try StreamReader(input: ChunkedInput(bytes, chunk: chunk))
            let batches = try reader.readBatches()
            #expect(try sameBatches(batches, expected), "chunk \(chunk)")
        }
    }

    @Test(arguments: goldenNames) func rewrittenStreamReadsBackIdentically(_ name: String) throws {
        let original = try StreamReader(buffer: try Golden.bytes(name, ".stream"))
        let batches = try original.readBatches()
        for options in [IPCWriteOptions(), IPCWriteOptions(alignment: 64)] {
            let written = try writeStream(original.schema, batches, options: options)
            let again = try StreamReader(buffer: written)
            #expect(again.schema == original.schema)
            #expect(try sameBatches(try again.readBatches(), batches))
        }
    }

    @Test(arguments: goldenNames) func pyarrowReadsOurStreams(_ name: String) throws {
        let batches = try StreamReader(buffer: try Golden.bytes(name, ".stream"))
        let written = try writeStream(batches.schema, try batches.readBatches())
        let verdict = try Python.run(
            pyarrowCompare, input: written.array, arguments: [Golden.path(name, ".arrow_file"), "stream"])
        #expect(verdict.trimmingCharacters(in: .whitespacesAndNewlines) == "equal", "\(name): \(verdict)")
    }

    @Test func sequenceIterationAndStats() throws {
        let reader = try StreamReader(buffer: try Golden.bytes("generated_primitive", ".stream"))
        var rows: [Int] = []
        for batch in reader { rows.append(batch.numRows) }
        #expect(rows == [17, 20])
        #expect(reader.error == nil)
        #expect(reader.stats.numMessages == 3)
        #expect(try reader.readNext() == nil)
    }

    @Test func legacyFramingWithoutContinuationMarkers() throws {
        let modern = try Golden.bytes("generated_dictionary", ".stream")
        // Rewrite every message prefix 0xFFFFFFFF <len> as the pre-0.15 <len>.
        var legacy: [UInt8] = []
        var position = 0
        let bytes = modern.array
        while position < bytes.count {
            #expect(Array(bytes[position..<position + 4]) == [0xFF, 0xFF, 0xFF, 0xFF])
            let length = Int(try modern.readLittleEndian(Int32.self, at: position + 4))
            if length == 0 { legacy += [0, 0, 0, 0]; break }
            let metadata = try ArrowMetadata.decodeMessage(try modern.slice(offset: position + 8, count: length))
            let end = position + 8 + length + Int(metadata.bodyLength)
            legacy += bytes[(position + 4)..<end]
            position = end
        }
        let expected = try StreamReader(buffer: modern).readBatches()
        #expect(try sameBatches(try StreamReader(bytes: legacy).readBatches(), expected))
        // Without any end-of-stream marker, end of input ends the stream.
        #expect(try sameBatches(try StreamReader(bytes: Array(legacy.dropLast(4))).readBatches(), expected))
    }

    @Test func truncatedStreamsThrowEndOfStream() throws {
        let bytes = try Golden.bytes("generated_primitive", ".stream").array
        var codes = Set<String>()
        // Cut inside the schema, a prefix, metadata and a body.
        for cut in [3, 6, 20, bytes.count / 2, bytes.count - 9, bytes.count - 40] {
            do {
                let reader = try StreamReader(bytes: Array(bytes[..<cut]))
                _ = try reader.readBatches()
                Issue.record("a stream cut at \(cut) of \(bytes.count) bytes read without error")
            } catch let error as QuiverError {
                codes.insert(error.code.description)
            }
        }
        #expect(codes.contains(QuiverError.Code.endOfStream.description))
        #expect(throws: QuiverError.self) { try StreamReader(bytes: []) }
    }

    @Test func hostileLengthsAreCappedBeforeAllocating() throws {
        // Metadata length 2^30: refused by the cap.
        let pool = MemoryPool()
        let huge: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0x40]
        #expect(throws: QuiverError.self) {
            try StreamReader(input: ChunkedInput(Buffer(copying: huge), chunk: 4096), options: IPCReadOptions(pool: pool))
        }
        // A schema, then a batch declaring a 1 TiB body followed by 100 KiB: over a pipe the
        // reader allocates about what arrives, not what is declared.
        let schemaStream = try writeStream(Schema([Field("x", .int32)]), [])
        var bytes = Array(schemaStream.array.dropLast(8))
        let metadata = ArrowMetadata.encodeMessage(
            MessageMetadata(header: .recordBatch(RecordBatchHeader(length: 0, nodes: [], buffers: [])), bodyLength: 1 << 40))
        let padded = metadata + [UInt8](repeating: 0, count: alignUp(metadata.count, to: 8) - metadata.count)
        bytes += [0xFF, 0xFF, 0xFF, 0xFF]
        withUnsafeBytes(of: Int32(padded.count).littleEndian) { bytes += $0 }
        bytes += padded + [UInt8](repeating: 7, count: 100 << 10)
        let input = ChunkedInput(Buffer(copying: bytes), chunk: 64 << 10, pool: MemoryPool())
        let reader = try StreamReader(input: input, options: IPCReadOptions(pool: pool))
        #expect(throws: QuiverError.self) { try reader.readNext() }
        #expect(pool.peakAllocatedBytes < 8 << 20)
        // In memory the declared body is checked against the input's size before reading.
        #expect(throws: QuiverError.self) { try StreamReader(bytes: bytes).readBatches() }
    }

    @Test func secondSchemaMessageIsAnError() throws {
        let one = try writeStream(Schema([Field("x", .int32)]), []).array
        let twice = Array(one.dropLast(8)) + one
        let reader = try StreamReader(bytes: twice)
        #expect(throws: QuiverError.self) { try reader.readBatches() }
        #expect(reader.next() == nil)
    }

    @Test func streamMustStartWithSchema() throws {
        let bytes = try Golden.bytes("generated_primitive", ".stream")
        let schemaLength = 8 + Int(try bytes.readLittleEndian(Int32.self, at: 4))
        #expect(throws: QuiverError.self) { try StreamReader(buffer: try bytes.slice(from: schemaLength)) }
    }

    @Test func schemaMismatchAndFinishedWriterThrow() throws {
        let output = BufferOutputStream()
        let writer = try StreamWriter(output: output, schema: Schema([Field("x", .int32)]))
        let other = try RecordBatch(schema: Schema([Field("y", .int64)]), columns: [Fixtures.fixed(.int64, [Int64(1)], zero: 0)])
        #expect(throws: QuiverError.self) { try writer.write(other) }
        try writer.finish()
        let good = try RecordBatch(schema: Schema([Field("x", .int32)]), columns: [Fixtures.int32([1])])
        #expect(throws: QuiverError.self) { try writer.write(good) }
        #expect(throws: QuiverError.self) { try writer.finish() }
        #expect(throws: QuiverError.self) {
            try StreamWriter(output: BufferOutputStream(), schema: Schema([]), options: IPCWriteOptions(alignment: 32))
        }
    }
}

@Suite struct PyArrowInteropTests {
    /// One batch with a column of every fixture layout (but year-month and day-time
    /// intervals, which pyarrow's Python layer cannot wrap).
    static func allFixtures() throws -> RecordBatch {
        let cases = Fixtures.all.filter { !["interval_ym", "interval_dt"].contains($0.name) }
        return try RecordBatch(schema: Schema(cases.map(\.field)), columns: cases.map(\.data))
    }

    @Test func slicedBatchesAreValidAndEqualForPyArrow() throws {
        let batch = try Self.allFixtures()
        let whole = try writeStream(batch.schema, [batch])
        for (start, length) in [(3, 15), (1, 0), (8, 9), (0, 23), (21, 2)] {
            let sliced = try writeStream(batch.schema, [batch.slice(from: start, length: length)])
            let script = """
                import sys, pyarrow as pa, pyarrow.ipc as ipc
                whole_len = int(sys.argv[1]); start = int(sys.argv[2]); length = int(sys.argv[3])
                data = sys.stdin.buffer.read()
                whole = ipc.open_stream(pa.py_buffer(data[:whole_len])).read_next_batch()
                sliced = ipc.open_stream(pa.py_buffer(data[whole_len:])).read_next_batch()
                whole.validate(full=True)
                sliced.validate(full=True)
                expected = whole.slice(start, length)
                bad = [f.name for f, a, b in zip(whole.schema, expected.columns, sliced.columns) if not a.equals(b)]
                print("equal" if not bad else "differs: " + ",".join(bad))
                """
            let verdict = try Python.run(
                script, input: whole.array + sliced.array,
                arguments: [String(whole.count), String(start), String(length)])
            #expect(verdict == "equal\n", "[\(start), +\(length)): \(verdict)")
        }
    }
}
