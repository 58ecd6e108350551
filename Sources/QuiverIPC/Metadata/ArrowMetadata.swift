import QuiverArrow
import QuiverBytes

/// Translates between the Arrow FlatBuffers metadata and the plain Swift headers.
/// Every decode verifies the FlatBuffer first: malformed input throws, never traps.
public enum ArrowMetadata {
    /// Decodes and verifies one `Message` flatbuffer (without the framing prefix).
    public static func decodeMessage(_ bytes: Buffer) throws -> MessageMetadata {
        throw QuiverError(.unsupported, "pending: flatbuffer decoding lands in the metadata step")
    }

    /// Encodes a `Message` flatbuffer (without framing or padding).
    public static func encodeMessage(_ message: MessageMetadata) -> [UInt8] {
        preconditionFailure("pending: flatbuffer encoding lands in the metadata step")
    }

    /// Decodes and verifies a `Footer` flatbuffer.
    public static func decodeFooter(_ bytes: Buffer) throws -> Footer {
        throw QuiverError(.unsupported, "pending: flatbuffer decoding lands in the metadata step")
    }

    /// Encodes a `Footer` flatbuffer.
    public static func encodeFooter(_ footer: Footer) -> [UInt8] {
        preconditionFailure("pending: flatbuffer encoding lands in the metadata step")
    }
}
