import QuiverArrow
import QuiverBytes

// Plain Swift forms of the Arrow IPC metadata (format/Message.fbs, File.fbs). The FlatBuffers
// are parsed into these once, verified, so nothing above this file touches FlatBuffers.

/// Arrow metadata versions; Quiver writes V5 and reads V4 and V5.
public enum MetadataVersion: Int16, Sendable, Hashable, Comparable {
    case v1 = 0, v2, v3, v4, v5
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// Length and null count of one array node in a record batch, in depth-first field order.
public struct FieldNode: Sendable, Hashable {
    public var length: Int64
    public var nullCount: Int64
    public init(length: Int64, nullCount: Int64) {
        self.length = length
        self.nullCount = nullCount
    }
}

/// Where one buffer lies in a message body: offset from the body start, and length in bytes.
public struct BufferRegion: Sendable, Hashable {
    public var offset: Int64
    public var length: Int64
    public init(offset: Int64, length: Int64) {
        self.offset = offset
        self.length = length
    }
}

/// The body compression codecs Arrow defines (`CompressionType` in Message.fbs).
public enum CompressionCodec: Int8, Sendable, Hashable, CaseIterable {
    case lz4Frame = 0
    case zstd = 1
}

/// The metadata of a record batch message: row count, nodes and buffers in depth-first
/// order, optional body compression, and the variadic buffer counts of view-typed columns.
public struct RecordBatchHeader: Sendable, Hashable {
    public var length: Int64
    public var nodes: [FieldNode]
    public var buffers: [BufferRegion]
    public var compression: CompressionCodec?
    public var variadicBufferCounts: [Int64]
    public init(
        length: Int64, nodes: [FieldNode], buffers: [BufferRegion], compression: CompressionCodec? = nil,
        variadicBufferCounts: [Int64] = []
    ) {
        self.length = length
        self.nodes = nodes
        self.buffers = buffers
        self.compression = compression
        self.variadicBufferCounts = variadicBufferCounts
    }
}

/// A dictionary batch: the values for dictionary `id`, replacing or (if `isDelta`)
/// extending the previous ones.
public struct DictionaryBatchHeader: Sendable, Hashable {
    public var id: Int64
    public var data: RecordBatchHeader
    public var isDelta: Bool
    public init(id: Int64, data: RecordBatchHeader, isDelta: Bool) {
        self.id = id
        self.data = data
        self.isDelta = isDelta
    }
}

/// What a message carries.
public enum MessageHeader: Sendable {
    case schema(Schema)
    case recordBatch(RecordBatchHeader)
    case dictionaryBatch(DictionaryBatchHeader)
}

/// One decoded, verified IPC message header (the `Message` flatbuffer).
public struct MessageMetadata: Sendable {
    public var version: MetadataVersion
    public var header: MessageHeader
    /// Bytes of body that follow the metadata (a multiple of 8 when written by Quiver).
    public var bodyLength: Int64
    public var customMetadata: Metadata
    public init(version: MetadataVersion = .v5, header: MessageHeader, bodyLength: Int64, customMetadata: Metadata = [:]) {
        self.version = version
        self.header = header
        self.bodyLength = bodyLength
        self.customMetadata = customMetadata
    }
}

/// The position of one message inside an Arrow file (`Block` in File.fbs).
public struct FileBlock: Sendable, Hashable {
    /// Offset of the message's first byte (its continuation marker) from the file start.
    public var offset: Int64
    /// Bytes of framing + metadata + padding before the body.
    public var metadataLength: Int32
    public var bodyLength: Int64
    public init(offset: Int64, metadataLength: Int32, bodyLength: Int64) {
        self.offset = offset
        self.metadataLength = metadataLength
        self.bodyLength = bodyLength
    }
}

/// The footer of an Arrow file: the schema and where every dictionary and record batch is.
public struct Footer: Sendable {
    public var version: MetadataVersion
    public var schema: Schema
    public var dictionaries: [FileBlock]
    public var recordBatches: [FileBlock]
    public var customMetadata: Metadata
    public init(
        version: MetadataVersion = .v5, schema: Schema, dictionaries: [FileBlock], recordBatches: [FileBlock],
        customMetadata: Metadata = [:]
    ) {
        self.version = version
        self.schema = schema
        self.dictionaries = dictionaries
        self.recordBatches = recordBatches
        self.customMetadata = customMetadata
    }
}
