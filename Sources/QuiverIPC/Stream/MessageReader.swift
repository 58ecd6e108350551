import QuiverArrow
import QuiverBytes

/// One encapsulated IPC message: its verified metadata and its body.
public struct Message: Sendable {
    /// The decoded `Message` flatbuffer.
    public let metadata: MessageMetadata
    /// Exactly `metadata.bodyLength` bytes (a view of the input where it can be).
    public let body: Buffer
    /// Where the message starts in the input (its continuation marker or length prefix).
    public let offset: Int
}

/// Reads encapsulated messages front to back from sequential input, the framing layer
/// under `StreamReader`:
/// ```
/// message: 0xFFFFFFFF | int32 metadata length | Message flatbuffer + padding | body
/// legacy (before Arrow 0.15): int32 metadata length | Message flatbuffer + padding | body
/// end:     0xFFFFFFFF 00000000, a legacy 00000000, or end of input at a message boundary
/// ```
/// The metadata length is capped (`IPCReadOptions.maxMetadataLength`) and, when the input's
/// size is known, both lengths are checked against what remains before anything is read.
/// From inputs of unknown size (pipes) bytes are requested in bounded chunks, so a hostile
/// length never allocates more than what actually arrives plus one chunk.
public final class MessageReader {
    /// The input read.
    public let input: any SequentialInput
    /// Limits applied to every message.
    public let options: IPCReadOptions
    /// Bytes consumed so far (the offset of the next message).
    public private(set) var position = 0
    private var ended = false
    /// A memory-mapped file read through a cursor: framing and metadata are copied out of it
    /// with `pread` instead of viewed, so only bodies are views and reading touches no page
    /// of the mapping (see `MappedFileInput`).
    private let mapped: (cursor: RandomAccessCursor, file: MappedFileInput)?
    /// The last bytes copied out of `mapped` (512 from a message's start): one `pread`
    /// serves a message's prefix, length and metadata.
    private var framingWindow: (offset: Int, bytes: Buffer)?

    /// The most bytes requested from input of unknown size in one read.
    static let chunkSize = 1 << 20

    /// Reads from `input` starting at its current position.
    public init(_ input: any SequentialInput, options: IPCReadOptions = .init()) {
        self.input = input
        self.options = options
        let cursor = input as? RandomAccessCursor
        mapped = (cursor?.input as? MappedFileInput).flatMap { file in cursor.map { ($0, file) } }
    }

    /// The next message, or nil at the end of the stream. Throws `endOfStream` when input
    /// ends inside a message, `invalidMessage`/`capacityExceeded` for bad lengths, and the
    /// metadata decoder's errors for a malformed flatbuffer.
    /// O(metadata size) to read and verify the flatbuffer; the body is a view of a buffer or
    /// mapping, or one read of O(body bytes) otherwise.
    public func next() throws -> Message? {
        guard !ended else { return nil }
        let start = position
        do {
            guard let message = try readMessage() else {
                ended = true
                return nil
            }
            return message
        } catch let error as QuiverError {
            ended = true
            throw error.adding(context: "message at offset \(start)")
        }
    }

    private func readMessage() throws -> Message? {
        let start = position
        let prefix = try readFraming(4)
        if prefix.count == 0 { return nil }  // end of input at a message boundary
        guard prefix.count == 4 else {
            throw QuiverError(.endOfStream, "input ends inside a message prefix (\(prefix.count) of 4 bytes)")
        }
        var length = prefix.uncheckedReadLittleEndian(Int32.self, at: 0)
        let continued = length == -1
        if continued {  // continuation marker 0xFFFFFFFF, then the length
            let lengthBytes = try readFraming(4)
            guard lengthBytes.count == 4 else {
                throw QuiverError(.endOfStream, "input ends after a continuation marker")
            }
            length = lengthBytes.uncheckedReadLittleEndian(Int32.self, at: 0)
        }
        if length == 0 { return nil }  // end-of-stream marker
        guard length > 0 else { throw QuiverError(.invalidMessage, "negative metadata length \(length)") }
        let metadataLength = Int(length)
        guard metadataLength <= options.maxMetadataLength else {
            // Without the continuation marker, a huge "legacy" length is far likelier bytes
            // that are not Arrow at all (an HTTP body of text, say) than a real message.
            guard continued else {
                throw QuiverError(
                    .invalidMessage, "not an Arrow IPC message: no continuation marker, and a length prefix of \(metadataLength)")
            }
            throw QuiverError(
                .capacityExceeded, "metadata length \(metadataLength) exceeds the cap of \(options.maxMetadataLength)")
        }
        try checkRemaining(metadataLength, "metadata")
        let metadataBytes = try readFraming(metadataLength)
        guard metadataBytes.count == metadataLength else {
            throw QuiverError(.endOfStream, "input ends inside message metadata (\(metadataBytes.count) of \(metadataLength) bytes)")
        }
        let metadata = try ArrowMetadata.decodeMessage(metadataBytes)
        let bodyLength = try checkedCount(metadata.bodyLength, "body length")
        try checkRemaining(bodyLength, "body")
        let body = try read(bodyLength)
        guard body.count == bodyLength else {
            throw QuiverError(.endOfStream, "input ends inside a message body (\(body.count) of \(bodyLength) bytes)")
        }
        return Message(metadata: metadata, body: body, offset: start)
    }

    /// `read(count)` for framing and metadata: a copy when the input is a mapped file.
    private func readFraming(_ count: Int) throws -> Buffer {
        let view = try read(count)
        guard let mapped, view.count > 0 else { return view }
        let offset = mapped.cursor.position - view.count
        if let window = framingWindow, offset >= window.offset,
            offset - window.offset <= window.bytes.count - view.count
        {
            return window.bytes.uncheckedSlice(offset: offset - window.offset, count: view.count)
        }
        let window = try mapped.file.readMetadata(at: offset, count: max(view.count, min(512, mapped.file.size - offset)))
        framingWindow = (offset, window)
        return window.uncheckedSlice(offset: 0, count: view.count)
    }

    /// Bytes left in the input, when its size is known.
    private var remaining: Int? {
        if let buffer = input as? BufferInput { return buffer.size - buffer.position }
        if let cursor = input as? RandomAccessCursor { return cursor.input.size - cursor.position }
        return nil
    }

    private func checkRemaining(_ count: Int, _ what: String) throws {
        if let remaining, count > remaining {
            throw QuiverError(.endOfStream, "\(what) of \(count) bytes exceeds the \(remaining) bytes left in the input")
        }
    }

    /// Reads `count` bytes, fewer only at end of input. One read (zero-copy for in-memory
    /// input) when the input delivers them at once; otherwise the pieces are gathered into a
    /// pool buffer that grows only as bytes arrive.
    private func read(_ count: Int) throws -> Buffer {
        let request = remaining != nil ? count : min(count, Self.chunkSize)
        let first = try input.read(upTo: request)
        guard first.count <= request else {
            throw QuiverError(.io, "input returned \(first.count) bytes for a read of \(request)")
        }
        position += first.count
        if first.count == count || first.count == 0 { return first }
        let gathered = MutableBuffer(capacity: min(count, 2 * Self.chunkSize), pool: options.pool)
        gathered.append(first.bytes)
        while gathered.count < count {
            let want = min(count - gathered.count, Self.chunkSize)
            let piece = try input.read(upTo: want)
            guard piece.count <= want else {
                throw QuiverError(.io, "input returned \(piece.count) bytes for a read of \(want)")
            }
            if piece.count == 0 { break }
            position += piece.count
            gathered.append(piece.bytes)
        }
        return gathered.finish()
    }
}
