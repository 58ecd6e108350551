import QuiverBytes

/// One column split across chunks (one chunk per record batch): pyarrow's `ChunkedArray`.
/// Chunks are shared, never concatenated.
public struct ChunkedArray: Sendable {
    /// The type of every chunk.
    public let type: DataType
    /// The chunks, in order.
    public let chunks: [ArrayData]
    /// The total number of slots.
    public let length: Int
    /// The total number of null slots.
    public let nullCount: Int
    /// Where each chunk starts, plus the total length at the end (for slot lookup).
    private let starts: [Int]

    /// Joins chunks of one type. Throws `schemaMismatch` when a chunk has another type.
    /// O(chunks).
    public init(type: DataType, chunks: [ArrayData]) throws {
        for (index, chunk) in chunks.enumerated() where chunk.type != type {
            throw QuiverError(.schemaMismatch, "chunk \(index) is \(chunk.type), expected \(type)")
        }
        self.init(uncheckedType: type, chunks: chunks)
    }

    init(uncheckedType type: DataType, chunks: [ArrayData]) {
        self.type = type
        self.chunks = chunks
        var starts = [0]
        for chunk in chunks { starts.append(starts[starts.count - 1] + chunk.length) }
        self.starts = starts
        length = starts[starts.count - 1]
        nullCount = chunks.reduce(0) { $0 + $1.nullCount }
    }

    /// The number of chunks.
    public var numChunks: Int { chunks.count }

    /// The chunk holding slot `index` and the slot's position inside it (O(log chunks)).
    public func location(of index: Int) -> (chunk: Int, index: Int) {
        precondition(index >= 0 && index < length, "index \(index) outside 0..<\(length)")
        var low = 0
        var high = chunks.count - 1
        // The last chunk starting at or before `index`: never an empty one, since an empty
        // chunk shares its start with the next chunk.
        while low < high {
            let middle = (low + high + 1) / 2
            if starts[middle] <= index { low = middle } else { high = middle - 1 }
        }
        return (low, index - starts[low])
    }

    /// Slot `index` across chunks as an `ArrowValue`.
    /// O(log chunks) to find the chunk, plus the value's own size.
    public func value(at index: Int) -> ArrowValue {
        let (chunk, position) = location(of: index)
        return chunks[chunk].value(at: position)
    }

    /// Whether slot `index` is null.
    /// O(log chunks).
    public func isNull(_ index: Int) -> Bool {
        let (chunk, position) = location(of: index)
        return chunks[chunk].isNull(position)
    }

    /// Every slot as an `ArrowValue` (pyarrow's `to_pylist`).
    /// Allocates every value: O(total slots and bytes).
    public func toList() -> [ArrowValue] { chunks.flatMap { $0.toList() } }
}

/// Record batches under one schema, seen as one table of columns: what pyarrow's
/// `read_all()` returns. Zero-copy: the batches are kept as they are.
public struct Table: Sendable {
    /// The fields of every batch.
    public let schema: Schema
    /// The batches, in order.
    public let batches: [RecordBatch]
    /// The total number of rows.
    public let numRows: Int

    /// A table of `batches`, each of which must have `schema`'s fields (metadata may differ).
    /// Throws `schemaMismatch` otherwise.
    /// O(batches × fields); no data is read.
    public init(schema: Schema, batches: [RecordBatch]) throws {
        for (index, batch) in batches.enumerated() where batch.schema.fields != schema.fields {
            throw QuiverError(.schemaMismatch, "batch \(index) has schema\n\(batch.schema)\nexpected\n\(schema)")
        }
        self.schema = schema
        self.batches = batches
        numRows = batches.reduce(0) { $0 + $1.length }
    }

    /// A table of the batches, under the first batch's schema. Throws `invalidArgument` for no
    /// batches (the schema would be unknown) and `schemaMismatch` if the schemas differ.
    /// O(batches × fields); no data is read.
    public init(batches: [RecordBatch]) throws {
        guard let first = batches.first else {
            throw QuiverError(.invalidArgument, "a table needs a schema: pass one, or at least one batch")
        }
        try self.init(schema: first.schema, batches: batches)
    }

    /// The number of columns.
    public var numColumns: Int { schema.fields.count }

    /// Column `index`, one chunk per batch.
    /// O(batches).
    public func column(at index: Int) -> ChunkedArray {
        ChunkedArray(uncheckedType: schema.fields[index].type, chunks: batches.map { $0.columns[index] })
    }

    /// The column of the field called `name`.
    /// O(fields + batches).
    public func column(named name: String) -> ChunkedArray? {
        schema.index(of: name).map(column(at:))
    }

    /// Every column.
    /// O(fields × batches).
    public var columns: [ChunkedArray] { schema.fields.indices.map(column(at:)) }
}
