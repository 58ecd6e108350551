import QuiverArrow
import QuiverBytes

/// The body of one record batch or dictionary batch, ready to write: the header describing
/// it and its buffers in body order.
///
/// The buffers are views of the arrays' own memory (or of re-based / compressed copies), so
/// encoding copies no values; `write(to:)` streams them to the output with zero padding.
public struct EncodedBody: Sendable {
    /// Row count, field nodes, buffer regions, compression and variadic counts.
    public let header: RecordBatchHeader
    /// Buffer `i` starts at `header.buffers[i].offset` and is followed by zeros up to the next.
    public let buffers: [Buffer]
    /// Total body bytes including padding (a multiple of the alignment).
    public let bodyLength: Int

    /// Writes the body: each buffer, then zeros up to the next region. No intermediate copy.
    /// O(body bytes).
    public func write(to output: any ByteOutput) throws {
        var position = 0
        for (buffer, region) in zip(buffers, header.buffers) {
            try output.writeZeros(Int(region.offset) - position)
            try output.write(buffer)
            position = Int(region.offset) + buffer.count
        }
        try output.writeZeros(bodyLength - position)
    }

    /// The body as one contiguous buffer (copies; for tests and in-memory use).
    public func makeBody(pool: MemoryPool = .default) throws -> Buffer {
        let output = BufferOutputStream(capacity: bodyLength, pool: pool)
        try write(to: output)
        return output.getvalue()
    }
}

/// Encodes arrays into IPC record batch bodies: the inverse of `ArrayDecoder`.
///
/// Sliced arrays are re-based first (the format has no array offset): bitmaps and offsets
/// are shifted only when they must be, list children are cut to the referenced range, and
/// null counts are exact. Dictionary arrays contribute only their indices; the writers send
/// the dictionary values in dictionary batches.
public enum ArrayEncoder {
    /// Encodes `columns` (each `length` slots) as a record batch body. Throws
    /// `invalidArgument` for a column of another length and `invalidData` for array data
    /// whose buffers are too small for it; compression errors propagate.
    /// O(buffers) for most columns; O(length) per shifted bitmap or offsets, list view and
    /// dense union; O(bytes) when compressing.
    public static func encode(_ columns: [ArrayData], length: Int, options: IPCWriteOptions = .init()) throws -> EncodedBody {
        try options.check()
        var flat = FlattenedArrays()
        for (index, column) in columns.enumerated() {
            guard column.length == length else {
                throw QuiverError(.invalidArgument, "column \(index) has \(column.length) rows, the batch \(length)")
            }
            try withErrorContext("column \(index)") {
                flat.append(try column.rebased(pool: options.pool))
            }
        }
        var buffers = flat.buffers
        if let codec = options.compression {
            buffers = try BodyCompression.compressAll(codec, level: options.compressionLevel, buffers, pool: options.pool)
        }
        var regions: [BufferRegion] = []
        regions.reserveCapacity(buffers.count)
        var position = 0
        for buffer in buffers {
            regions.append(BufferRegion(offset: Int64(position), length: Int64(buffer.count)))
            position += alignUp(buffer.count, to: options.alignment)
        }
        let header = RecordBatchHeader(
            length: Int64(length), nodes: flat.nodes, buffers: regions, compression: options.compression,
            variadicBufferCounts: flat.variadicCounts)
        return EncodedBody(header: header, buffers: buffers, bodyLength: position)
    }
}

/// Field nodes and buffers of re-based arrays in the pre-order the IPC format lists them.
struct FlattenedArrays {
    var nodes: [FieldNode] = []
    var buffers: [Buffer] = []
    var variadicCounts: [Int64] = []

    mutating func append(_ data: ArrayData) {
        nodes.append(FieldNode(length: Int64(data.length), nullCount: Int64(data.nullCount)))
        let fixed = data.type.storageType.layout.count
        buffers += data.buffers[..<fixed]
        if data.type.hasVariadicBuffers {
            variadicCounts.append(Int64(data.buffers.count - fixed))
            buffers += data.buffers[fixed...]
        }
        for child in data.children { append(child) }
    }
}
