import QuiverArrow
import QuiverBytes

/// Per-buffer body compression (`BodyCompression` in Message.fbs, method BUFFER).
///
/// ```
/// compressed buffer: | int64 LE uncompressed length | codec frame (LZ4 frame or ZSTD frame) |
///                    | -1                            | raw bytes, stored uncompressed        |
///                    | (nothing: a 0-byte buffer stays 0 bytes, never prefixed)          |
/// ```
///
/// Decoding never trusts the prefix: the length must be `-1` or in `0...cap`, and it must be
/// something the frame can hold (the frame header's content size where present, else the
/// codec's maximum ratio) before the single destination allocation is made. The frame must
/// then produce exactly that many bytes. Anything else is a `.compression` error (or
/// `.capacityExceeded` for a length over the cap or over what the frame can hold).
public enum BodyCompression {
    /// The largest uncompressed buffer `decompress` accepts unless told otherwise (2 GiB).
    public static let defaultMaxUncompressedLength = 1 << 31

    /// From this many bytes in total, `decompressAll` and `compressAll` spread buffers
    /// across cores; below it, thread hand-off costs more than it saves.
    public static let parallelThreshold = 1 << 20

    /// Decodes one compressed body buffer (prefix + frame) into a fresh pool allocation, or
    /// returns a zero-copy view for the `-1` "stored raw" case.
    public static func decompress(_ codec: CompressionCodec, _ compressed: Buffer, pool: MemoryPool = .default) throws -> Buffer {
        try decompress(codec, compressed, pool: pool, maxUncompressedLength: defaultMaxUncompressedLength)
    }

    /// Decodes one compressed body buffer, refusing (before allocating) declared lengths
    /// above `maxUncompressedLength`. Allocates exactly the declared length, once, and
    /// decodes straight into it; an empty input buffer decodes to an empty buffer.
    public static func decompress(
        _ codec: CompressionCodec, _ compressed: Buffer, pool: MemoryPool, maxUncompressedLength: Int
    ) throws -> Buffer {
        guard compressed.count > 0 else { return .empty }
        guard compressed.count >= 8 else {
            throw QuiverError(.compression, "compressed buffer of \(compressed.count) bytes is shorter than its 8-byte length prefix")
        }
        let declared = compressed.uncheckedReadLittleEndian(Int64.self, at: 0)
        let frame = compressed.uncheckedSlice(offset: 8, count: compressed.count - 8)
        if declared == -1 { return frame }
        guard declared >= 0 else {
            throw QuiverError(.compression, "negative uncompressed length \(declared)")
        }
        guard declared <= Int64(maxUncompressedLength) else {
            throw QuiverError(
                .capacityExceeded, "uncompressed length \(declared) exceeds the limit of \(maxUncompressedLength) bytes")
        }
        let length = Int(declared)
        let frameCodec = codec.frameCodec
        var allocation: HeapAllocation?
        let produced = try frameCodec.decompress(frame.bytes, declaredLength: length) {
            guard length > 0 else {
                // A zero-length destination still needs a valid address for the C libraries.
                return UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(mutating: Buffer.empty.baseAddress), count: 0)
            }
            let destination = pool.allocate(byteCount: length, headroom: frameCodec.decodeHeadroom)
            allocation = destination
            return UnsafeMutableRawBufferPointer(start: destination.pointer, count: destination.blockSize)
        }
        guard produced == length else {
            throw QuiverError(.compression, "\(codec) frame produced \(produced) bytes, the prefix declared \(length)")
        }
        guard let allocation else { return .empty }
        // The decoder may have written past `length`; the padding must read as zeros again.
        (allocation.pointer + length).initializeMemory(as: UInt8.self, repeating: 0, count: allocation.capacity - length)
        return allocation.buffer(count: length)
    }

    /// Encodes one buffer with its 8-byte prefix; stores it raw (`-1`) when compression would
    /// not make it smaller.
    ///
    /// An empty buffer stays empty (no prefix), as Arrow C++ writes it. `level` defaults to
    /// Arrow C++'s (1 for both codecs); out-of-range levels throw `.invalidArgument`. The
    /// result is an exact-size pool allocation; compressing needs a transient scratch
    /// allocation of the codec's worst-case size.
    public static func compress(
        _ codec: CompressionCodec, level: Int? = nil, _ raw: Buffer, pool: MemoryPool = .default
    ) throws -> Buffer {
        guard raw.count > 0 else { return .empty }
        let frameCodec = codec.frameCodec
        let level = level ?? frameCodec.defaultLevel
        guard frameCodec.levels.contains(level) else {
            throw QuiverError(.invalidArgument, "\(codec) level \(level) is outside \(frameCodec.levels)")
        }
        let scratch = pool.allocate(byteCount: try frameCodec.compressBound(raw.count, level: level))
        let frameLength = try frameCodec.compress(
            raw.bytes, into: UnsafeMutableRawBufferPointer(start: scratch.pointer, count: scratch.capacity), level: level)
        // Stored raw unless the frame is smaller (Arrow C++ keeps any frame by default; both
        // read back the same, and raw bytes decode for free).
        let isSmaller = frameLength < raw.count
        let body = isSmaller ? UnsafeRawBufferPointer(start: scratch.pointer, count: frameLength) : raw.bytes
        let output = pool.allocate(byteCount: 8 + body.count)
        output.pointer.storeBytes(of: (isSmaller ? Int64(raw.count) : -1).littleEndian, as: Int64.self)
        if let source = body.baseAddress { (output.pointer + 8).copyMemory(from: source, byteCount: body.count) }
        return output.buffer(count: 8 + body.count)
    }

    /// Decodes the buffers of one message, in parallel across cores when they total at least
    /// `parallelThreshold` bytes. Errors name the buffer's index; the first failing index wins.
    /// O(uncompressed bytes).
    public static func decompressAll(
        _ codec: CompressionCodec, _ buffers: [Buffer], pool: MemoryPool = .default,
        maxUncompressedLength: Int = defaultMaxUncompressedLength
    ) throws -> [Buffer] {
        try map(buffers) { try decompress(codec, $0, pool: pool, maxUncompressedLength: maxUncompressedLength) }
    }

    /// Encodes the buffers of one message (each as `compress` does), in parallel across
    /// cores when they total at least `parallelThreshold` bytes.
    /// O(bytes), plus one worst-case scratch allocation per buffer.
    public static func compressAll(
        _ codec: CompressionCodec, level: Int? = nil, _ buffers: [Buffer], pool: MemoryPool = .default
    ) throws -> [Buffer] {
        try map(buffers) { try compress(codec, level: level, $0, pool: pool) }
    }

    /// `transform` over every buffer, keeping order; concurrent for large inputs.
    private static func map(_ buffers: [Buffer], _ transform: @Sendable (Buffer) throws -> Buffer) throws -> [Buffer] {
        let total = buffers.reduce(0) { $0 &+ $1.count }
        guard buffers.count > 1 && total >= parallelThreshold else {
            return try buffers.enumerated().map { index, buffer in
                try withErrorContext("buffer \(index)") { try transform(buffer) }
            }
        }
        let results = concurrentMap(count: buffers.count) { index in Result { try transform(buffers[index]) } }
        return try results.enumerated().map { index, result in try withErrorContext("buffer \(index)") { try result.get() } }
    }
}
