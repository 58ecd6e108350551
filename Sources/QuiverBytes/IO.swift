/// Input read front to back: a pipe, standard input, a socket, or a cursor over other input.
///
/// Stream readers pull exactly the bytes of the next message through this, so they never
/// read ahead of what they decode.
public protocol SequentialInput: AnyObject {
    /// Reads up to `count` bytes; returns fewer only at end of input (an empty buffer at EOF).
    /// The result is a view (in-memory or mapped input) or a fresh pool allocation (pipes,
    /// plain files), 8-byte aligned either way.
    func read(upTo count: Int) throws -> Buffer
}

/// Input with a known size and random access: a file, a memory map, or bytes in memory.
public protocol RandomAccessInput: Sendable {
    /// Total bytes available.
    var size: Int { get }
    /// The bytes `[offset, offset + count)`. Throws `outOfBounds` if the range is outside
    /// `size`. Zero-copy for in-memory and mapped input; a counted allocation for plain files.
    func read(at offset: Int, count: Int) throws -> Buffer
    /// Like `read(at:count:)`, for bytes that are parsed and dropped (message framing and
    /// metadata, never viewed by arrays): an input may copy them instead — a memory-mapped
    /// file reads them with `pread` so they touch no page of the mapping. Defaults to `read`.
    func readMetadata(at offset: Int, count: Int) throws -> Buffer
}

extension RandomAccessInput {
    /// `read(at:count:)`.
    public func readMetadata(at offset: Int, count: Int) throws -> Buffer {
        try read(at: offset, count: count)
    }
}

/// Input over a `Buffer` already in memory: random access, or sequential with a cursor.
/// Never copies.
public final class BufferInput: RandomAccessInput, SequentialInput, @unchecked Sendable {
    /// The whole input.
    public let buffer: Buffer
    /// Where the next sequential `read(upTo:)` starts.
    public private(set) var position: Int = 0

    /// Input over `buffer`, positioned at its start. O(1).
    public init(_ buffer: Buffer) { self.buffer = buffer }

    /// The buffer's size.
    public var size: Int { buffer.count }

    /// A zero-copy slice; throws `outOfBounds` past the end.
    public func read(at offset: Int, count: Int) throws -> Buffer {
        try buffer.slice(offset: offset, count: count)
    }

    /// Up to `count` bytes from the position (fewer at the end), then advances past them.
    public func read(upTo count: Int) throws -> Buffer {
        precondition(count >= 0)
        let available = min(count, buffer.count - position)
        let result = buffer.uncheckedSlice(offset: position, count: available)
        position += available
        return result
    }
}

/// Sequential reading over random-access input (a file or a memory map read as a stream).
public final class RandomAccessCursor: SequentialInput {
    /// The input read.
    public let input: any RandomAccessInput
    /// Where the next read starts.
    public private(set) var position: Int

    /// Reads `input` from `position` onward.
    public init(_ input: any RandomAccessInput, startingAt position: Int = 0) {
        self.input = input
        self.position = position
    }

    /// Up to `count` bytes from the position (fewer at the end), then advances past them.
    public func read(upTo count: Int) throws -> Buffer {
        precondition(count >= 0)
        let available = max(0, min(count, input.size - position))
        let result = try input.read(at: position, count: available)
        position += available
        return result
    }
}

/// A destination for bytes: a file, a pipe, or memory.
public protocol ByteOutput: AnyObject {
    /// Bytes written so far (the offset of the next byte).
    var position: Int { get }
    /// Writes all of `bytes` (or throws).
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Writes the bytes of a buffer. An output may keep a reference to `buffer` instead of
    /// copying it, until it writes it out. Defaults to `write(buffer.bytes)`.
    func write(_ buffer: Buffer) throws
    /// Pushes buffered bytes to the operating system.
    func flush() throws
}

extension ByteOutput {
    /// `write(buffer.bytes)`.
    public func write(_ buffer: Buffer) throws {
        try write(buffer.bytes)
        withExtendedLifetime(buffer) {}
    }
    /// Writes an array of bytes.
    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }
    /// Writes `count` zero bytes (padding).
    public func writeZeros(_ count: Int) throws {
        precondition(count >= 0 && count <= 64)
        try write(UnsafeRawBufferPointer(start: emptyStorage, count: count))
    }
}

/// Output into memory, the counterpart of pyarrow's `BufferOutputStream`: write a stream or
/// file into it, then take the bytes with `getvalue()` (no copy).
public final class BufferOutputStream: ByteOutput {
    private let storage: MutableBuffer

    /// An empty stream with `capacity` bytes reserved from `pool` (it grows as needed).
    public init(capacity: Int = 4096, pool: MemoryPool = .default) {
        storage = MutableBuffer(capacity: capacity, pool: pool)
    }

    /// Bytes written so far.
    public var position: Int { storage.count }

    /// Copies `bytes` in (amortised O(bytes)); never throws.
    public func write(_ bytes: UnsafeRawBufferPointer) throws { storage.append(bytes) }

    /// Nothing to push: the bytes are already in memory.
    public func flush() throws {}

    /// The bytes written so far, as an immutable buffer; the stream is empty afterwards.
    public func getvalue() -> Buffer { storage.finish() }
}
