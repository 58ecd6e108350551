import QuiverArrow
import QuiverBytes

/// One IPC message of a file as it lies there: its flatbuffer `Message` and its body, not
/// decoded into arrays. What a server needs to forward a stored batch as is (Arrow Flight's
/// `FlightData` is exactly this pair): compressed bodies stay compressed.
///
/// Before a `StoredMessage` is handed out, its footer block was checked against the file,
/// its framing against the block, its flatbuffer verified and decoded, its kind checked,
/// its body length compared with the block's, and every buffer region of a record batch
/// checked to lie inside the body. The body's *contents* (offsets, UTF-8, …) are not
/// validated: whoever decodes them does that.
public struct StoredMessage: Sendable {
    /// The decoded metadata.
    public let metadata: MessageMetadata
    /// The flatbuffer `Message` (framing and trailing padding removed).
    let flatbuffer: Buffer
    /// The body: a view of the input where the input allows (a memory map).
    let body: Buffer

    /// Bytes in the flatbuffer.
    public var flatbufferCount: Int { flatbuffer.count }
    /// Bytes in the body.
    public var bodyCount: Int { body.count }

    /// Calls `body` with the flatbuffer and body bytes. The pointers are valid only inside
    /// the closure.
    public func withUnsafeBytes<R>(
        _ body: (_ flatbuffer: UnsafeRawBufferPointer, _ body: UnsafeRawBufferPointer) throws -> R
    ) rethrows -> R {
        try body(flatbuffer.bytes, self.body.bytes)
    }
}

extension FileReader {
    /// Record batch `index`'s message as stored (see `StoredMessage` for what is checked).
    /// Costs one small read for the metadata; the body is a view, no data page is touched.
    /// Throws `invalidArgument` outside `0..<numRecordBatches`, `invalidMessage` for a
    /// damaged block.
    public func storedRecordBatchMessage(at index: Int) throws -> StoredMessage {
        guard index >= 0, index < recordBatchBlocks.count else {
            throw QuiverError(.invalidArgument, "record batch \(index) of a file with \(recordBatchBlocks.count)")
        }
        return try withErrorContext("record batch \(index)") {
            let message = try storedMessage(recordBatchBlocks[index])
            guard case .recordBatch(let header) = message.metadata.header else {
                throw QuiverError(.invalidMessage, "the block does not hold a record batch")
            }
            try StoredMessage.checkRegions(header, bodyCount: message.body.count)
            return message
        }
    }

    /// Dictionary message `index` (in footer order) as stored; checked like
    /// `storedRecordBatchMessage(at:)`.
    /// Costs one small read for the metadata; the body is a view.
    public func storedDictionaryMessage(at index: Int) throws -> StoredMessage {
        guard index >= 0, index < dictionaryBlocks.count else {
            throw QuiverError(.invalidArgument, "dictionary \(index) of a file with \(dictionaryBlocks.count)")
        }
        return try withErrorContext("dictionary block \(index)") {
            let message = try storedMessage(dictionaryBlocks[index])
            guard case .dictionaryBatch(let batch) = message.metadata.header else {
                throw QuiverError(.invalidMessage, "the block does not hold a dictionary batch")
            }
            try StoredMessage.checkRegions(batch.data, bodyCount: message.body.count)
            return message
        }
    }

    private func storedMessage(_ block: FileBlock) throws -> StoredMessage {
        let framing = try FileReader.readFraming(block, from: input, limit: messageLimit, options: options)
        let metadata = try ArrowMetadata.decodeMessage(framing.flatbuffer)
        let body = try FileReader.readBody(of: framing, bodyLength: metadata.bodyLength, from: input)
        return StoredMessage(metadata: metadata, flatbuffer: framing.flatbuffer, body: body)
    }
}

extension StoredMessage {
    /// Every buffer region must lie inside the body, so a forwarded message never points
    /// a reader past the bytes sent with it.
    static func checkRegions(_ header: RecordBatchHeader, bodyCount: Int) throws {
        for index in 0..<header.bufferCount {
            let region = header.bufferRegion(at: index)
            let offset = try checkedCount(region.offset, limit: bodyCount, "buffer \(index) offset")
            let length = try checkedCount(region.length, limit: bodyCount, "buffer \(index) length")
            try checkRange(offset: offset, count: length, within: bodyCount)
        }
    }
}
