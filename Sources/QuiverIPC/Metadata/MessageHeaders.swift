import QuiverArrow
import QuiverBytes

// Plain Swift forms of the Arrow IPC metadata (format/Message.fbs, File.fbs). The FlatBuffers
// are parsed into these once, verified, so nothing above this file touches FlatBuffers.

/// Arrow metadata versions; Quiver writes V5 and reads V4 and V5.
public enum MetadataVersion: Int16, Sendable, Hashable, Comparable {
    case v1 = 0, v2, v3, v4, v5
    /// Orders versions by their number.
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// Length and null count of one array node in a record batch, in depth-first field order.
public struct FieldNode: Sendable, Hashable {
    /// Slots of the node.
    public var length: Int64
    /// Null slots of the node.
    public var nullCount: Int64
    /// A node of `length` slots, `nullCount` of them null.
    public init(length: Int64, nullCount: Int64) {
        self.length = length
        self.nullCount = nullCount
    }
}

/// Where one buffer lies in a message body: offset from the body start, and length in bytes.
public struct BufferRegion: Sendable, Hashable {
    /// Offset from the body's start, in bytes.
    public var offset: Int64
    /// Bytes of the region.
    public var length: Int64
    /// A region of `length` bytes at `offset`.
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
///
/// Nodes and buffer regions are kept as the format stores them — 16-byte structs of two
/// little-endian int64s — in the decoded flatbuffer itself (or, for a header built from
/// arrays, a copy of the same form): decoding a header materialises nothing per batch and
/// reading an entry touches no reference count. `nodes` and `buffers` build arrays on demand.
public struct RecordBatchHeader: @unchecked Sendable, Hashable {
    /// Rows of the batch.
    public var length: Int64
    /// One per array node, depth first (built on each access).
    /// O(nodes); setting rebuilds the header: O(nodes + buffers).
    public var nodes: [FieldNode] {
        get { (0..<nodeCount).map(node(at:)) }
        set { self = RecordBatchHeader(copying: self, nodes: newValue, buffers: buffers) }
    }
    /// One per buffer, depth first (built on each access).
    /// O(buffers); setting rebuilds the header: O(nodes + buffers).
    public var buffers: [BufferRegion] {
        get { (0..<bufferCount).map(bufferRegion(at:)) }
        set { self = RecordBatchHeader(copying: self, nodes: nodes, buffers: newValue) }
    }
    /// The codec of every buffer in the body, or nil for an uncompressed body.
    public var compression: CompressionCodec?
    /// Data buffers after the views buffer of each view-typed array, depth first.
    public var variadicBufferCounts: [Int64]
    /// Keeps the bytes `nodeStart` and `bufferStart` point into alive.
    private let pairs: Buffer
    private let nodeStart: UnsafeRawPointer
    /// `nodes.count`, without building the array.
    let nodeCount: Int
    private let bufferStart: UnsafeRawPointer
    /// `buffers.count`, without building the array.
    let bufferCount: Int

    /// A header from arrays: nodes and buffers are copied into the 16-byte form, O(nodes + buffers).
    public init(
        length: Int64, nodes: [FieldNode], buffers: [BufferRegion], compression: CompressionCodec? = nil,
        variadicBufferCounts: [Int64] = []
    ) {
        let bytes = MetadataBytes.pairs(nodes.map { ($0.length, $0.nullCount) } + buffers.map { ($0.offset, $0.length) })
        self.init(
            length: length, pairs: bytes, nodes: 0, nodeCount: nodes.count, buffers: nodes.count * 16,
            bufferCount: buffers.count, compression: compression, variadicBufferCounts: variadicBufferCounts)
    }

    /// A header whose nodes and buffers stay where they are in a decoded flatbuffer (verified
    /// vectors of 16-byte structs of the same buffer).
    init(
        length: Int64, nodes: FlatBufferVector?, buffers: FlatBufferVector?, compression: CompressionCodec?,
        variadicBufferCounts: [Int64]
    ) {
        let bytes = nodes?.buffer ?? buffers?.buffer ?? .empty
        precondition(nodes.map { $0.elementSize == 16 && $0.buffer.baseAddress == bytes.baseAddress } ?? true)
        precondition(buffers.map { $0.elementSize == 16 && $0.buffer.baseAddress == bytes.baseAddress } ?? true)
        self.init(
            length: length, pairs: bytes, nodes: nodes?.start ?? 0, nodeCount: nodes?.count ?? 0,
            buffers: buffers?.start ?? 0, bufferCount: buffers?.count ?? 0, compression: compression,
            variadicBufferCounts: variadicBufferCounts)
    }

    private init(
        length: Int64, pairs: Buffer, nodes: Int, nodeCount: Int, buffers: Int, bufferCount: Int,
        compression: CompressionCodec?, variadicBufferCounts: [Int64]
    ) {
        precondition(nodes >= 0 && nodeCount >= 0 && nodeCount <= (pairs.count - nodes) / 16)
        precondition(buffers >= 0 && bufferCount >= 0 && bufferCount <= (pairs.count - buffers) / 16)
        self.length = length
        self.pairs = pairs
        nodeStart = pairs.baseAddress + nodes
        self.nodeCount = nodeCount
        bufferStart = pairs.baseAddress + buffers
        self.bufferCount = bufferCount
        self.compression = compression
        self.variadicBufferCounts = variadicBufferCounts
    }

    private init(copying other: RecordBatchHeader, nodes: [FieldNode], buffers: [BufferRegion]) {
        self.init(
            length: other.length, nodes: nodes, buffers: buffers, compression: other.compression,
            variadicBufferCounts: other.variadicBufferCounts)
    }

    /// `nodes[index]`; `index` must be below `nodeCount`.
    @inline(__always)
    func node(at index: Int) -> FieldNode {
        precondition(index >= 0 && index < nodeCount)
        return FieldNode(length: Self.int64(nodeStart, 16 * index), nullCount: Self.int64(nodeStart, 16 * index + 8))
    }

    /// `buffers[index]`; `index` must be below `bufferCount`.
    @inline(__always)
    func bufferRegion(at index: Int) -> BufferRegion {
        precondition(index >= 0 && index < bufferCount)
        return BufferRegion(offset: Self.int64(bufferStart, 16 * index), length: Self.int64(bufferStart, 16 * index + 8))
    }

    @inline(__always)
    private static func int64(_ base: UnsafeRawPointer, _ offset: Int) -> Int64 {
        Int64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: Int64.self))
    }

    /// Equal fields, nodes and buffers (O(nodes + buffers)).
    public static func == (a: Self, b: Self) -> Bool {
        a.length == b.length && a.compression == b.compression && a.variadicBufferCounts == b.variadicBufferCounts
            && a.nodes == b.nodes && a.buffers == b.buffers
    }

    /// Hashes every field, nodes and buffers included (O(nodes + buffers)).
    public func hash(into hasher: inout Hasher) {
        hasher.combine(length)
        hasher.combine(nodes)
        hasher.combine(buffers)
        hasher.combine(compression)
        hasher.combine(variadicBufferCounts)
    }
}

/// Bytes of metadata Quiver builds itself (not a buffer: never counted by a pool).
private final class MetadataBytes: BufferOwner, @unchecked Sendable {
    private let pointer: UnsafeMutableRawPointer

    /// A buffer holding `pairs` as 16-byte structs of two little-endian int64s.
    static func pairs(_ pairs: [(Int64, Int64)]) -> Buffer {
        let owner = MetadataBytes(count: pairs.count * 16)
        for (index, (first, second)) in pairs.enumerated() {
            owner.pointer.storeBytes(of: first.littleEndian, toByteOffset: 16 * index, as: Int64.self)
            owner.pointer.storeBytes(of: second.littleEndian, toByteOffset: 16 * index + 8, as: Int64.self)
        }
        return Buffer(owner: owner, baseAddress: owner.pointer, count: pairs.count * 16)
    }

    private init(count: Int) {
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 16), alignment: 16)
    }

    deinit { pointer.deallocate() }
}

/// A dictionary batch: the values for dictionary `id`, replacing or (if `isDelta`)
/// extending the previous ones.
public struct DictionaryBatchHeader: Sendable, Hashable {
    /// The dictionary id that fields refer to (`Field.dictionaryId`).
    public var id: Int64
    /// The dictionary values, laid out as a one-column record batch.
    public var data: RecordBatchHeader
    /// Whether the values extend the dictionary instead of replacing it.
    public var isDelta: Bool
    /// A dictionary batch header.
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
    /// The message's metadata version.
    public var version: MetadataVersion
    /// The schema, record batch or dictionary batch header.
    public var header: MessageHeader
    /// Bytes of body that follow the metadata (a multiple of 8 when written by Quiver).
    public var bodyLength: Int64
    /// The message's custom metadata, in order.
    public var customMetadata: Metadata
    /// A message header; V5 unless said otherwise.
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
    /// Bytes of body after the metadata.
    public var bodyLength: Int64
    /// A block at `offset`.
    public init(offset: Int64, metadataLength: Int32, bodyLength: Int64) {
        self.offset = offset
        self.metadataLength = metadataLength
        self.bodyLength = bodyLength
    }
}

/// The footer of an Arrow file: the schema and where every dictionary and record batch is.
public struct Footer: Sendable {
    /// The metadata version of the footer.
    public var version: MetadataVersion
    /// The file's schema.
    public var schema: Schema
    /// Every dictionary batch message, in file order.
    public var dictionaries: [FileBlock]
    /// Every record batch message, in file order.
    public var recordBatches: [FileBlock]
    /// The footer's custom metadata, in order (a store keeps its statistics here).
    public var customMetadata: Metadata
    /// A footer; V5 unless said otherwise.
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
