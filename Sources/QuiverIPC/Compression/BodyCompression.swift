import QuiverArrow
import QuiverBytes

/// Per-buffer body compression (`BodyCompression` in Message.fbs, method BUFFER).
///
/// ```
/// compressed buffer: | int64 LE uncompressed length | codec frame (LZ4 frame or ZSTD frame) |
///                    | -1                            | raw bytes, stored uncompressed        |
/// ```
public enum BodyCompression {
    /// Decodes one compressed body buffer (prefix + frame) into a fresh pool allocation, or
    /// returns a zero-copy view for the `-1` "stored raw" case.
    public static func decompress(_ codec: CompressionCodec, _ compressed: Buffer, pool: MemoryPool = .default) throws -> Buffer {
        throw QuiverError(.unsupported, "pending: \(codec) decompression lands in the compression step")
    }

    /// Encodes one buffer with its 8-byte prefix; stores it raw (`-1`) when compression would
    /// not make it smaller.
    public static func compress(_ codec: CompressionCodec, level: Int? = nil, _ raw: Buffer, pool: MemoryPool = .default) throws -> Buffer {
        throw QuiverError(.unsupported, "pending: \(codec) compression lands in the compression step")
    }
}
