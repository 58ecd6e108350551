import QuiverBytes

/// Equal-length columns under a schema: the unit that IPC reads and writes.
public struct RecordBatch: Sendable {
    /// The fields the columns follow, and the schema metadata.
    public let schema: Schema
    /// One `ArrayData` per schema field, each of `length` slots.
    public let columns: [ArrayData]
    /// The number of rows.
    public let length: Int

    /// Assembles a batch. Throws `schemaMismatch` when column count, types or lengths disagree
    /// with the schema.
    /// O(columns); no data is read.
    public init(schema: Schema, columns: [ArrayData], length: Int? = nil) throws {
        guard columns.count == schema.fields.count else {
            throw QuiverError(.schemaMismatch, "\(columns.count) columns for \(schema.fields.count) fields")
        }
        let rows = length ?? columns.first?.length ?? 0
        for (field, column) in zip(schema.fields, columns) {
            guard column.length == rows else {
                throw QuiverError(.schemaMismatch, "column '\(field.name)' has \(column.length) rows, expected \(rows)")
            }
            guard column.type == field.type else {
                throw QuiverError(.schemaMismatch, "column '\(field.name)' is \(column.type), schema says \(field.type)")
            }
        }
        self.schema = schema
        self.columns = columns
        self.length = rows
    }

    /// Assembles a batch whose consistency the caller guarantees (decoders that already checked).
    public init(uncheckedSchema schema: Schema, columns: [ArrayData], length: Int) {
        self.schema = schema
        self.columns = columns
        self.length = length
    }

    /// The number of rows (pyarrow's `num_rows`).
    public var numRows: Int { length }
    /// The number of columns.
    public var numColumns: Int { columns.count }

    /// The column of the field called `name`.
    /// O(fields).
    public func column(named name: String) -> ArrayData? {
        schema.index(of: name).map { columns[$0] }
    }

    /// A zero-copy view of rows `[start, start + count)`.
    /// O(columns × count / 64): each column's null count is recomputed from its bitmap.
    public func slice(from start: Int, length count: Int) -> RecordBatch {
        RecordBatch(
            uncheckedSchema: schema, columns: columns.map { $0.slice(from: start, length: count) },
            length: count)
    }

    /// The same rows with only the named columns (zero-copy).
    public func selecting(_ indices: [Int]) -> RecordBatch {
        RecordBatch(
            uncheckedSchema: Schema(indices.map { schema.fields[$0] }, metadata: schema.metadata),
            columns: indices.map { columns[$0] }, length: length)
    }
}

extension RecordBatch {
    /// The memory mapping the first mapped buffer of the columns views, or nil (see
    /// `ArrayData.memoryMapping`). Walks the columns' nesting, reads no data.
    public var memoryMapping: MemoryMapping? { columns.lazy.compactMap(\.memoryMapping).first }
}
