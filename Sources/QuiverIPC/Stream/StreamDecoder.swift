import QuiverArrow
import QuiverBytes

/// Decodes an Arrow IPC stream from bytes fed in chunks as they arrive (an HTTP body, a
/// socket), yielding each record batch as soon as its last byte is in: the push
/// counterpart of `StreamReader`, with the same framing, validation and limits (it runs
/// the same `MessageReader` and message handling over the bytes buffered so far).
///
/// ```swift
/// let decoder = StreamDecoder()
/// for chunk in body { for batch in try decoder.feed(chunk) { … } }
/// for batch in try decoder.finish() { … }   // throws if the stream stopped mid-message
/// ```
///
/// Memory: bytes of an incomplete message are buffered (never more than arrived); complete
/// messages' bodies are zero-copy views of that buffer. `maxBufferedBytes` caps what one
/// message may hold back. Cost per chunk: the pending message's framing is parsed again
/// (its metadata verified again once complete), so a message split into many chunks costs
/// a little more than one read whole.
public final class StreamDecoder {
    /// The options batches are decoded with (caps, validation, pool).
    public let options: IPCReadOptions
    /// The most bytes held back waiting for one message to complete; more is `capacityExceeded`.
    public let maxBufferedBytes: Int
    /// The stream's schema, once its first message is in.
    public var schema: Schema? { messages?.schema }
    /// Whether the end-of-stream marker has been seen (later bytes are ignored).
    public private(set) var isFinished = false
    /// What has been decoded so far.
    public var stats: IPCStats { messages?.stats ?? IPCStats() }

    private var pending: MutableBuffer
    /// Bytes consumed before `pending` (offsets in errors are from the stream's start).
    private var consumed = 0
    private var messages: StreamMessages?
    private var failed = false

    /// A decoder expecting a stream's first byte; `maxBufferedBytes` caps one message's buffered bytes.
    public init(options: IPCReadOptions = .init(), maxBufferedBytes: Int = 1 << 32) {
        self.options = options
        self.maxBufferedBytes = maxBufferedBytes
        pending = MutableBuffer(capacity: 64 << 10, pool: options.pool)
    }

    /// Appends `bytes` and returns the record batches they complete (possibly none).
    /// Throws what `StreamReader` would for the same bytes; after an error the decoder
    /// accepts nothing more.
    /// Copies `bytes` once into the pending buffer, scans its message framing (O(messages)), and
    /// decodes complete messages as `StreamReader.readNext()` does; leftover bytes are copied once more.
    public func feed(_ bytes: UnsafeRawBufferPointer) throws -> [RecordBatch] {
        guard !failed else { throw QuiverError(.invalidArgument, "the stream decoder failed earlier") }
        guard !isFinished, bytes.count > 0 else { return [] }
        pending.append(bytes)
        return try guarded { try decodeComplete() }
    }

    /// `feed` for a buffer.
    /// Costs what `feed(_:)` does for its bytes.
    public func feed(_ buffer: Buffer) throws -> [RecordBatch] {
        try buffer.withUnsafeBytes { try feed($0) }
    }

    /// `feed` for an array of bytes.
    /// Costs what `feed(_:)` does for its bytes.
    public func feed(_ bytes: [UInt8]) throws -> [RecordBatch] {
        try bytes.withUnsafeBytes { try feed($0) }
    }

    /// Ends the input. A stream that ends at a message boundary (with or without the
    /// end-of-stream marker) is complete; otherwise throws `endOfStream` (or
    /// `invalidMessage` for an empty stream), as `StreamReader` does.
    /// O(pending bytes) to decode what is left.
    public func finish() throws -> [RecordBatch] {
        guard !failed, !isFinished else { return [] }
        return try guarded {
            // Whatever is left: the reader reports it exactly as it would at end of input.
            let rest = pending.finish()
            let reader = MessageReader(BufferInput(rest), options: options)
            var batches: [RecordBatch] = []
            if messages == nil {
                messages = try StreamMessages(first: try reader.next(), options: options)
            }
            while let message = try reader.next() {
                if let batch = try messages!.apply(message) { batches.append(batch) }
            }
            isFinished = true
            return batches
        }
    }

    private func guarded<R>(_ body: () throws -> R) throws -> R {
        do {
            return try body()
        } catch let error as QuiverError {
            failed = true
            throw error.adding(context: "stream bytes from \(consumed)")
        } catch {
            failed = true
            throw error
        }
    }

    /// Decodes every message wholly buffered; keeps the rest.
    private func decodeComplete() throws -> [RecordBatch] {
        // Find how many bytes hold complete messages, reading a transient view of the
        // pending bytes (nothing read from it outlives this loop).
        var complete = 0
        var sawEnd = false
        pending.withUnsafeBytes { bytes in
            let view = StreamDecoder.transientView(bytes)
            let reader = MessageReader(BufferInput(view), options: options)
            while true {
                do {
                    guard try reader.next() != nil else {
                        // End of input at a boundary, or the end-of-stream marker.
                        sawEnd = reader.position > complete
                        if sawEnd { complete = reader.position }
                        return
                    }
                    complete = reader.position
                } catch {
                    return  // incomplete (or malformed: decoded below, where it throws)
                }
            }
        }
        if complete == 0 {
            // Nothing complete: a malformed prefix throws now (same reader, same error);
            // a partial message waits for more bytes.
            try checkPartial()
            return []
        }
        let whole = pending.finish()
        let reader = MessageReader(BufferInput(try whole.slice(offset: 0, count: complete)), options: options)
        var batches: [RecordBatch] = []
        if messages == nil {
            messages = try StreamMessages(first: try reader.next(), options: options)
        }
        while let message = try reader.next() {
            if let batch = try messages!.apply(message) { batches.append(batch) }
        }
        if sawEnd { isFinished = true }
        consumed += complete
        pending = MutableBuffer(capacity: Swift.max(64 << 10, whole.count - complete), pool: options.pool)
        whole.withUnsafeBytes { pending.append(UnsafeRawBufferPointer(rebasing: $0[complete...])) }
        try checkPartial()
        return batches
    }

    /// A buffer over bytes that live only as long as the caller's closure: read, then dropped.
    private static func transientView(_ bytes: UnsafeRawBufferPointer) -> Buffer {
        bytes.baseAddress.map { Buffer(owner: nil, baseAddress: $0, count: bytes.count) } ?? .empty
    }

    /// Throws for pending bytes that can never become a valid message (anything but running
    /// out of input), and past `maxBufferedBytes`.
    private func checkPartial() throws {
        guard pending.count > 0, !isFinished else { return }
        guard pending.count <= maxBufferedBytes else {
            throw QuiverError(.capacityExceeded, "a message holds back more than \(maxBufferedBytes) bytes")
        }
        try pending.withUnsafeBytes { bytes in
            let view = StreamDecoder.transientView(bytes)
            do {
                _ = try MessageReader(BufferInput(view), options: options).next()
            } catch let error as QuiverError where error.code == .endOfStream {
                return  // just incomplete
            }
        }
    }
}
