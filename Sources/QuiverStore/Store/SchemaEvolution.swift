import QuiverArrow
import QuiverBytes
import QuiverIPC

// Schema evolution: a table may gain nullable columns at the end of its schema. The catalog
// holds the new schema; the writer rolls to a new file with it, so every file keeps one
// schema; snapshots read older files as if the new columns were there, all null.

extension TableSnapshot {
    /// `batch` (read from a file with an older schema: a prefix of the table's) with the
    /// missing trailing columns added, all null.
    static func pad(_ batch: RecordBatch, to schema: Schema) throws -> RecordBatch {
        guard batch.schema.fields.count < schema.fields.count else { return batch }
        var columns = batch.columns
        for field in schema.fields[batch.schema.fields.count...] {
            columns.append(try SchemaEvolution.nulls(of: field.type, length: batch.length))
        }
        return RecordBatch(uncheckedSchema: schema, columns: columns, length: batch.length)
    }

    /// Statistics of a batch of an older file, with the missing columns all null.
    static func pad(_ statistics: BatchStatistics, columns: Int) -> BatchStatistics {
        guard statistics.columns.count < columns else { return statistics }
        var padded = statistics
        padded.columns += Array(repeating: ColumnStatistics(nullCount: statistics.rowCount), count: columns - statistics.columns.count)
        return padded
    }
}

package enum SchemaEvolution {
    /// Throws unless a table of `schema` may gain `field`: nullable, a new name, and a type
    /// whose all-null arrays `nulls(of:length:)` can build.
    static func checkAddable(_ field: Field, to schema: Schema) throws {
        guard field.nullable else {
            throw QuiverError(.invalidArgument, "a column added to a table must be nullable: '\(field.name)' is not")
        }
        guard schema.index(of: field.name) == nil else {
            throw QuiverError(.conflict, "the table already has a column '\(field.name)'")
        }
        _ = try nulls(of: field.type, length: 1)
    }

    /// An array of `length` nulls of `type`: zeroed buffers under an all-zero validity
    /// bitmap (offsets all zero, children empty or all null). Throws `unsupported` for
    /// types without a validity bitmap of their own (unions, run-end encoded).
    package static func nulls(of type: DataType, length: Int, pool: MemoryPool = .default) throws -> ArrayData {
        let storage = type.storageType
        func zeros(_ bytes: Int) -> Buffer { pool.allocateZeroed(byteCount: bytes).buffer(count: bytes) }
        let validity = zeros(BitUtil.byteCount(forBits: length))
        switch storage {
        case .null:
            return ArrayData(uncheckedType: type, length: length, nullCount: length, buffers: [])
        case .boolean:
            return ArrayData(uncheckedType: type, length: length, nullCount: length, buffers: [validity, zeros(BitUtil.byteCount(forBits: length))])
        case .binary, .utf8:
            return ArrayData(uncheckedType: type, length: length, nullCount: length, buffers: [validity, zeros(4 * (length + 1)), .empty])
        case .largeBinary, .largeUtf8:
            return ArrayData(uncheckedType: type, length: length, nullCount: length, buffers: [validity, zeros(8 * (length + 1)), .empty])
        case .binaryView, .utf8View:
            return ArrayData(uncheckedType: type, length: length, nullCount: length, buffers: [validity, zeros(16 * length)])
        case .list(let child), .map(let child, _):
            return ArrayData(
                uncheckedType: type, length: length, nullCount: length, buffers: [validity, zeros(4 * (length + 1))],
                children: [try ArrayData.empty(of: child.type, pool: pool)])
        case .largeList(let child):
            return ArrayData(
                uncheckedType: type, length: length, nullCount: length, buffers: [validity, zeros(8 * (length + 1))],
                children: [try ArrayData.empty(of: child.type, pool: pool)])
        case .fixedSizeList(let child, let size):
            return ArrayData(
                uncheckedType: type, length: length, nullCount: length, buffers: [validity],
                children: [try nulls(of: child.type, length: length * size, pool: pool)])
        case .struct(let fields):
            return ArrayData(
                uncheckedType: type, length: length, nullCount: length, buffers: [validity],
                children: try fields.map { try nulls(of: $0.type, length: length, pool: pool) })
        case .dictionary(let index, let value, _):
            guard let width = index.fixedByteWidth else { throw QuiverError(.unsupported, "dictionary index \(index)") }
            return ArrayData(
                uncheckedType: type, length: length, nullCount: length, buffers: [validity, zeros(width * length)],
                dictionary: try ArrayData.empty(of: value, pool: pool))
        default:
            guard let width = storage.fixedByteWidth else {
                throw QuiverError(.unsupported, "cannot add a column of type \(type) to existing rows (it has no validity bitmap)")
            }
            return ArrayData(uncheckedType: type, length: length, nullCount: length, buffers: [validity, zeros(width * length)])
        }
    }
}

extension TableWriter {
    /// Adds a nullable column at the end of the table's schema: the catalog gets the new
    /// schema, later batches must have the column, and rows appended before read it as
    /// null. The current file is closed and a new one started, so each file keeps one
    /// schema. Throws `invalidArgument` for a non-nullable column, `conflict` for a name
    /// in use, `unsupported` for unions and run-end encoded types.
    /// No data is rewritten: one commit, a new empty file and a catalog rewrite (each synced).
    public func addColumn(_ field: Field) throws {
        try updateSchema { schema in
            try SchemaEvolution.checkAddable(field, to: schema)
            var evolved = schema
            evolved.fields.append(field)
            return evolved
        }
    }
}

extension Store {
    /// Adds a nullable column to a table (see `TableWriter.addColumn`); needs the table's
    /// writer lock.
    /// Costs opening and closing the writer (see `writer(for:)`) plus `TableWriter.addColumn`.
    public func addColumn(_ field: Field, to table: String) throws {
        let writer = try self.writer(for: table)
        defer { try? writer.close() }
        try writer.addColumn(field)
    }
}
