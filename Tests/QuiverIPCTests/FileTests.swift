import Foundation
import QuiverArrow
import QuiverBytes
@testable import QuiverIPC
import QuiverTestSupport
import Testing

@Suite struct FileTests {
    static let goldenNames = Golden.names()

    @Test(arguments: goldenNames) func rewrittenFileReadsBackIdentically(_ name: String) throws {
        let original = try FileReader(buffer: try Golden.bytes(name, ".arrow_file"))
        let batches = try original.readBatches()
        for options in [IPCWriteOptions(), IPCWriteOptions(alignment: 64)] {
            let written = try writeFile(original.schema, batches, options: options, metadata: original.footerMetadata)
            let again = try FileReader(buffer: written)
            #expect(again.schema == original.schema)
            #expect(again.footerMetadata == original.footerMetadata)
            #expect(again.numRecordBatches == original.numRecordBatches)
            #expect(again.numDictionaries == original.numDictionaries)
            #expect(try sameBatches(try again.readBatches(), batches))
        }
    }

    @Test(arguments: goldenNames) func pyarrowReadsOurFiles(_ name: String) throws {
        let original = try FileReader(buffer: try Golden.bytes(name, ".arrow_file"))
        let written = try writeFile(original.schema, try original.readBatches(), metadata: original.footerMetadata)
        let verdict = try Python.run(
            pyarrowCompare, input: written.array, arguments: [Golden.path(name, ".arrow_file"), "file"])
        #expect(verdict.trimmingCharacters(in: .whitespacesAndNewlines) == "equal", "\(name): \(verdict)")
    }

    @Test func footerMetadataAndLayout() throws {
        let batch = try RecordBatch(
            schema: Schema([Field("x", .int32)], metadata: ["schema-key": "s"]), columns: [Fixtures.int32(Fixtures.ints(30))])
        let file = try writeFile(batch.schema, [batch, batch.slice(from: 3, length: 11)],
                                 options: IPCWriteOptions(alignment: 64), metadata: ["quiver:stats": "v1", "b": "2"])
        let reader = try FileReader(buffer: file)
        #expect(reader.footerMetadata == ["quiver:stats": "v1", "b": "2"])
        #expect(reader.schema.metadata == ["schema-key": "s"])
        #expect(reader.metadataVersion == .v5)
        #expect(try reader.readBatches().map(\.numRows) == [30, 11])
        #expect(Render.slots(try reader.recordBatch(at: 1).columns[0]) == Render.slots(batch.columns[0].slice(from: 3, length: 11)))
        for index in [-1, 2] {
            #expect(throws: QuiverError.self) { try reader.recordBatch(at: index) }
        }
        // 64-byte alignment: every body starts on a multiple of 64.
        let footer = try ArrowMetadata.decodeFooter(
            try file.slice(offset: file.count - 10 - Int(try file.readLittleEndian(Int32.self, at: file.count - 10)),
                           count: Int(try file.readLittleEndian(Int32.self, at: file.count - 10))))
        #expect(footer.recordBatches.allSatisfy { ($0.offset + Int64($0.metadataLength)) % 64 == 0 })
        let python = try Python.run(
            "import sys, pyarrow as pa, pyarrow.ipc as ipc; r = ipc.open_file(pa.py_buffer(sys.stdin.buffer.read())); "
                + "print(r.metadata[b'quiver:stats'].decode(), r.num_record_batches, r.read_all().num_rows)",
            input: file.array)
        #expect(python == "v1 2 41\n")
    }

    @Test func corruptFramesThrowQuiverErrors() throws {
        let file = try Golden.bytes("generated_dictionary", ".arrow_file").array
        var variants: [[UInt8]] = [
            [], Array(file[..<17]), Array(file.dropLast(1)), Array(file.dropFirst(1)),
            Array("ARROW0".utf8) + file.dropFirst(6),
        ]
        for length: Int32 in [0, -1, 1 << 30, Int32(file.count - 17)] {
            var copy = file
            withUnsafeBytes(of: length.littleEndian) { copy.replaceSubrange((file.count - 10)..<(file.count - 6), with: $0) }
            variants.append(copy)
        }
        for (index, bytes) in variants.enumerated() {
            #expect(throws: QuiverError.self, "variant \(index)") {
                _ = try FileReader(bytes: bytes).readBatches()
            }
        }
        let buffer = Buffer(copying: file)
        let edits: [(inout Footer) -> Void] = [
            { $0.recordBatches[0].offset = Int64(file.count) },
            { $0.recordBatches[0].offset = -8 },
            { $0.recordBatches[0].bodyLength += 8 },
            { $0.recordBatches[0].bodyLength = 1 << 62 },
            { $0.recordBatches[0].metadataLength = 4 },
            { $0.recordBatches[0].metadataLength = -1 },
            { $0.recordBatches[0] = $0.dictionaries[0] },
            { $0.dictionaries[0] = $0.recordBatches[0] },
            { $0.dictionaries[0].offset += 8 },
        ]
        for (index, edit) in edits.enumerated() {
            #expect(throws: QuiverError.self, "edit \(index)") {
                _ = try FileReader(buffer: try editingFooter(buffer, edit)).readBatches()
            }
        }
        // The same batch block listed twice simply reads twice.
        let twice = try FileReader(buffer: try editingFooter(buffer) { $0.recordBatches = [$0.recordBatches[0], $0.recordBatches[0]] })
        let batches = try twice.readBatches()
        #expect(try sameBatches([batches[0]], [batches[1]]))
    }

    @Test(.enabled(if: compressionAvailable)) func compressedGoldenFilesRead() throws {
        let names = Golden.names(in: Golden.compressionDirectory)
        #expect(names == ["generated_lz4", "generated_uncompressible_zstd"])
        for name in names {
            let stream = try StreamReader(buffer: try Golden.bytes(name, ".stream", in: Golden.compressionDirectory)).readBatches()
            let file = try FileReader(buffer: try Golden.bytes(name, ".arrow_file", in: Golden.compressionDirectory)).readBatches()
            #expect(try sameBatches(stream, file), "\(name)")
            #expect(!file.isEmpty)
            let chunked = try StreamReader(
                input: ChunkedInput(try Golden.bytes(name, ".stream", in: Golden.compressionDirectory), chunk: 5)).readBatches()
            #expect(try sameBatches(chunked, stream))
        }
    }

    @Test(.enabled(if: compressionAvailable), arguments: CompressionCodec.allCases)
    func compressedRoundTrip(_ codec: CompressionCodec) throws {
        let original = try FileReader(buffer: try Golden.bytes("generated_primitive", ".arrow_file"))
        let batches = try original.readBatches()
        let written = try writeFile(original.schema, batches, options: IPCWriteOptions(compression: codec))
        #expect(try sameBatches(try FileReader(buffer: written).readBatches(), batches))
        let verdict = try Python.run(
            pyarrowCompare, input: written.array, arguments: [Golden.path("generated_primitive", ".arrow_file"), "file"])
        #expect(verdict == "equal\n")
    }
}
