import QuiverArrow
import QuiverBytes
@testable import QuiverIPC
import QuiverTestSupport
import Testing

/// `FileReader.storedRecordBatchMessage(at:)` / `storedDictionaryMessage(at:)`: a file's
/// messages as they lie there, for forwarding (Arrow Flight) without decoding.
@Suite struct StoredMessageTests {
    /// Frames stored messages back into an IPC stream, as a Flight client does with the
    /// FlightData it receives.
    private func stream(schema: Schema, _ messages: [StoredMessage]) -> Buffer {
        var bytes: [UInt8] = []
        func frame(_ flatbuffer: UnsafeRawBufferPointer, _ body: UnsafeRawBufferPointer) {
            let padded = alignUp(flatbuffer.count, to: 8)
            withUnsafeBytes(of: Int32(-1).littleEndian) { bytes += $0 }
            withUnsafeBytes(of: Int32(padded).littleEndian) { bytes += $0 }
            bytes += flatbuffer
            bytes += [UInt8](repeating: 0, count: padded - flatbuffer.count)
            bytes += body
        }
        let schemaMessage = ArrowMetadata.encodeMessage(MessageMetadata(header: .schema(schema), bodyLength: 0))
        schemaMessage.withUnsafeBytes { frame($0, UnsafeRawBufferPointer(start: nil, count: 0)) }
        for message in messages { message.withUnsafeBytes { frame($0, $1) } }
        bytes += [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]
        return Buffer(copying: bytes)
    }

    @Test(arguments: [nil, CompressionCodec.lz4Frame])
    func storedMessagesReframedReadAsTheFile(_ codec: CompressionCodec?) throws {
        let batches = [
            try dictionaryBatch([0, 1, nil], ["a", "b"]),
            try dictionaryBatch([2, 0], ["a", "b", "c"]),
        ]
        let file = try writeFile(
            batches[0].schema, batches, options: IPCWriteOptions(compression: codec, emitDictionaryDeltas: true))
        let reader = try FileReader(buffer: file)
        let messages = try (0..<reader.numDictionaries).map(reader.storedDictionaryMessage(at:))
            + (0..<reader.numRecordBatches).map(reader.storedRecordBatchMessage(at:))
        let read = try StreamReader(buffer: stream(schema: reader.schema, messages)).readBatches()
        #expect(read.map { Render.slots($0.columns[0]) } == batches.map { Render.slots($0.columns[0]) })
        // Bodies are views of the file, not copies; compressed ones stay compressed.
        let last = messages[messages.count - 1]
        let inFile = last.withUnsafeBytes { _, body in
            body.baseAddress! >= file.baseAddress && body.baseAddress! + body.count <= file.baseAddress + file.count
        }
        #expect(inFile)
        guard case .recordBatch(let header) = last.metadata.header else {
            Issue.record("a stored record batch message holds \(last.metadata.header)")
            return
        }
        #expect(header.compression == codec)
    }

    @Test func indicesOutsideTheFileAreInvalidArguments() throws {
        let batch = try dictionaryBatch([0], ["a"])
        let reader = try FileReader(buffer: try writeFile(batch.schema, [batch]))
        for index in [-1, 1] {
            let error = #expect(throws: QuiverError.self) { try reader.storedRecordBatchMessage(at: index) }
            #expect(error?.code == .invalidArgument)
        }
        #expect(throws: QuiverError.self) { try reader.storedDictionaryMessage(at: 1) }
    }

    @Test func bufferRegionsPastTheBodyAreRefused() throws {
        let inside = RecordBatchHeader(
            length: 1, nodes: [FieldNode(length: 1, nullCount: 0)],
            buffers: [BufferRegion(offset: 0, length: 0), BufferRegion(offset: 0, length: 8)])
        try StoredMessage.checkRegions(inside, bodyCount: 8)
        for region in [BufferRegion(offset: 8, length: 8), BufferRegion(offset: 0, length: 16), BufferRegion(offset: -8, length: 8)] {
            let outside = RecordBatchHeader(length: 1, nodes: [FieldNode(length: 1, nullCount: 0)], buffers: [region])
            #expect(throws: QuiverError.self) { try StoredMessage.checkRegions(outside, bodyCount: 8) }
        }
    }
}
