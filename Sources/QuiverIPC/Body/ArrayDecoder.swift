import QuiverArrow
import QuiverBytes

/// Decodes IPC record batch bodies into `ArrayData`: the inverse of `ArrayEncoder`.
///
/// Fields are walked depth-first; each consumes one field node and the buffers its layout
/// names (view types: plus their variadic data buffers; null and run-end encoded: none;
/// unions: no validity). Buffers are zero-copy slices of the body, except that a buffer the
/// input left misaligned for its element type is copied once, and compressed buffers are
/// decompressed. Every node, buffer index and region is checked; nothing is allocated from a
/// length the body cannot back.
public enum ArrayDecoder {
    /// Decodes the arrays of `fields` from a record batch body, without validating their
    /// contents (see `decodeRecordBatch`). Dictionary-encoded fields take their values from
    /// `dictionaries`. `version` matters for V4 unions, which carried a validity buffer.
    public static func decode(
        fields: [Field], header: RecordBatchHeader, body: Buffer, dictionaries: DictionaryMemo,
        version: MetadataVersion = .v5, options: IPCReadOptions = .init()
    ) throws -> [ArrayData] {
        try decode(
            fields: fields, header: header, body: body, dictionaries: dictionaries, version: version, options: options,
            missingDictionaries: .error)
    }

    /// Decodes a record batch of `schema` and validates every column (O(data) unless
    /// `options.trusted`). Throws `invalidMessage` when the header disagrees with the schema.
    public static func decodeRecordBatch(
        schema: Schema, header: RecordBatchHeader, body: Buffer, dictionaries: DictionaryMemo,
        version: MetadataVersion = .v5, options: IPCReadOptions = .init()
    ) throws -> RecordBatch {
        try decodeRecordBatch(
            schema: schema, header: header, body: body, dictionaries: dictionaries, version: version, options: options,
            missingDictionaries: .error)
    }

    /// What to do with a dictionary-encoded column whose dictionary has not been read.
    enum MissingDictionaries {
        /// Reject the batch (file format: every dictionary is in the footer).
        case error
        /// Accept columns that are entirely null, with an empty dictionary (the stream format
        /// allows a dictionary to follow the first batch that only has nulls for it).
        case emptyIfAllNull
    }

    /// Decodes a record batch of `schema`; with `columns`, only those top-level columns (in
    /// that order) — the other columns' buffers are neither sliced, decompressed nor
    /// validated, so a projection over a mapped file touches only the pages it needs.
    static func decodeRecordBatch(
        schema: Schema, header: RecordBatchHeader, body: Buffer, dictionaries: DictionaryMemo,
        version: MetadataVersion, options: IPCReadOptions, missingDictionaries: MissingDictionaries,
        columns selected: [Int]? = nil
    ) throws -> RecordBatch {
        let length = try checkedCount(header.length, "record batch length")
        let columns = try decode(
            fields: schema.fields, header: header, body: body, dictionaries: dictionaries, version: version,
            options: options, missingDictionaries: missingDictionaries, columns: selected)
        let indices = selected ?? Array(schema.fields.indices)
        for (index, column) in zip(indices, columns) {
            let field = schema.fields[index]
            guard column.length == length else {
                throw QuiverError(
                    .invalidMessage, "column '\(field.name)' has \(column.length) rows, the record batch \(length)")
            }
            try withErrorContext("column '\(field.name)'") { try column.validate(full: !options.trusted) }
        }
        let projected = selected.map { Schema($0.map { schema.fields[$0] }, metadata: schema.metadata) } ?? schema
        return RecordBatch(uncheckedSchema: projected, columns: columns, length: length)
    }

    static func decode(
        fields: [Field], header: RecordBatchHeader, body: Buffer, dictionaries: DictionaryMemo,
        version: MetadataVersion, options: IPCReadOptions, missingDictionaries: MissingDictionaries,
        columns selected: [Int]? = nil
    ) throws -> [ArrayData] {
        guard let selected else {
            var reader = BodyReader(
                header: header, buffers: try bodyBuffers(header, body: body, wanted: nil, pool: options.pool),
                dictionaries: dictionaries, version: version, options: options, missingDictionaries: missingDictionaries)
            var columns: [ArrayData] = []
            columns.reserveCapacity(fields.count)
            for field in fields {
                columns.append(try withErrorContext("field '\(field.name)'") { try reader.array(field, depth: 0) })
            }
            return columns
        }
        // Projection: find where each wanted column's nodes and buffers start, then decode
        // only those, from there.
        let spans = try FieldSpan.spans(of: fields, header: header, version: version, maxDepth: options.maxNestingDepth)
        var wanted = [Bool](repeating: false, count: header.buffers.count)
        for index in selected {
            guard fields.indices.contains(index) else {
                throw QuiverError(.invalidArgument, "column \(index) of a schema with \(fields.count) fields")
            }
            for buffer in spans[index].buffers { wanted[buffer] = true }
        }
        var reader = BodyReader(
            header: header, buffers: try bodyBuffers(header, body: body, wanted: wanted, pool: options.pool),
            dictionaries: dictionaries, version: version, options: options, missingDictionaries: missingDictionaries)
        return try selected.map { index in
            reader.nodeIndex = spans[index].nodes.lowerBound
            reader.bufferIndex = spans[index].buffers.lowerBound
            reader.variadicIndex = spans[index].variadicCounts.lowerBound
            return try withErrorContext("field '\(fields[index].name)'") { try reader.array(fields[index], depth: 0) }
        }
    }

    /// The body's buffer regions, checked and sliced (zero-copy); for compressed bodies
    /// decompressed, in parallel when large. Empty regions stay empty; regions not `wanted`
    /// (a projection leaves them out) are not touched and read as empty.
    private static func bodyBuffers(
        _ header: RecordBatchHeader, body: Buffer, wanted: [Bool]?, pool: MemoryPool
    ) throws -> [Buffer] {
        let slices = try header.buffers.enumerated().map { index, region in
            if let wanted, !wanted[index] { return Buffer.empty }
            return try withErrorContext("buffer \(index)") {
                let offset = try checkedCount(region.offset, limit: body.count, "buffer offset")
                let length = try checkedCount(region.length, limit: body.count, "buffer length")
                return try body.slice(offset: offset, count: length)
            }
        }
        guard let codec = header.compression else { return slices }
        return try BodyCompression.decompressAll(codec, slices, pool: pool)
    }
}

/// Which field nodes, buffers and variadic buffer counts one top-level field occupies in a
/// record batch body: found by walking the types without touching the body.
struct FieldSpan {
    var nodes: Range<Int>
    var buffers: Range<Int>
    var variadicCounts: Range<Int>

    static func spans(of fields: [Field], header: RecordBatchHeader, version: MetadataVersion, maxDepth: Int) throws
        -> [FieldSpan]
    {
        var node = 0, buffer = 0, variadic = 0
        func walk(_ type: DataType, depth: Int) throws {
            guard depth <= maxDepth else {
                throw QuiverError(.invalidMessage, "fields nest deeper than \(maxDepth) levels")
            }
            let storage = type.storageType
            node += 1
            if case .union = storage, version < .v5 { buffer += 1 }
            buffer += storage.layout.count
            if storage.hasVariadicBuffers {
                guard variadic < header.variadicBufferCounts.count else {
                    throw QuiverError(.invalidMessage, "record batch lacks a variadic buffer count for a view field")
                }
                buffer += try checkedCount(
                    header.variadicBufferCounts[variadic], limit: header.buffers.count, "variadic buffer count")
                variadic += 1
            }
            for child in storage.children { try walk(child.type, depth: depth + 1) }
        }
        return try fields.map { field in
            let start = (node, buffer, variadic)
            try walk(field.type, depth: 0)
            guard node <= header.nodes.count, buffer <= header.buffers.count else {
                throw QuiverError(.invalidMessage, "record batch has fewer nodes or buffers than its schema needs")
            }
            return FieldSpan(nodes: start.0..<node, buffers: start.1..<buffer, variadicCounts: start.2..<variadic)
        }
    }
}

/// Walks one body: a cursor over the header's nodes, buffers and variadic counts.
private struct BodyReader {
    let header: RecordBatchHeader
    /// The body's buffers, sliced and decompressed.
    let buffers: [Buffer]
    let dictionaries: DictionaryMemo
    let version: MetadataVersion
    let options: IPCReadOptions
    let missingDictionaries: ArrayDecoder.MissingDictionaries
    var nodeIndex = 0
    var bufferIndex = 0
    var variadicIndex = 0

    mutating func array(_ field: Field, depth: Int) throws -> ArrayData {
        guard depth <= options.maxNestingDepth else {
            throw QuiverError(.invalidMessage, "fields nest deeper than \(options.maxNestingDepth) levels")
        }
        let storage = field.type.storageType
        let (length, declaredNulls) = try node()
        let layout = storage.layout
        var buffers: [Buffer] = []
        // Sized once: growing by appends reallocated per node (a measurable share per batch).
        buffers.reserveCapacity(layout.count + (storage.hasVariadicBuffers ? 2 : 0))
        if case .union = storage, version < .v5 {
            // Before V5, unions had a validity bitmap; it carries nothing the children do not.
            _ = try buffer(alignment: 1)
        }
        for kind in layout {
            buffers.append(try buffer(alignment: storage.requiredAlignment(of: kind)))
        }
        if storage.hasVariadicBuffers {
            guard variadicIndex < header.variadicBufferCounts.count else {
                throw QuiverError(.invalidMessage, "record batch lacks a variadic buffer count for a view field")
            }
            let count = try checkedCount(
                header.variadicBufferCounts[variadicIndex], limit: self.buffers.count - bufferIndex,
                "variadic buffer count")
            variadicIndex += 1
            for _ in 0..<count { buffers.append(try buffer(alignment: 1)) }
        }
        var children: [ArrayData] = []
        for child in storage.children {
            children.append(try withErrorContext("child '\(child.name)'") { try array(child, depth: depth + 1) })
        }
        var dictionary: ArrayData?
        if case .dictionary(_, let valueType, _) = storage {
            guard let id = field.dictionaryId else {
                throw QuiverError(.invalidMessage, "dictionary-encoded field '\(field.name)' has no dictionary id")
            }
            if let values = dictionaries[id] {
                dictionary = values
            } else if missingDictionaries == .emptyIfAllNull && declaredNulls == length {
                dictionary = try ArrayData.empty(of: valueType, pool: options.pool)
            } else {
                throw QuiverError(.invalidMessage, "dictionary \(id) of field '\(field.name)' was never defined")
            }
        }
        let nullCount: Int
        switch storage {
        case .null: nullCount = length
        // Unions and run-end encoded arrays have no validity of their own.
        case .union, .runEndEncoded: nullCount = 0
        default: nullCount = declaredNulls
        }
        return ArrayData(
            type: field.type, length: length, nullCount: nullCount, buffers: buffers, children: children,
            dictionary: dictionary)
    }

    /// The next field node's length and null count, checked (`0 ≤ nullCount ≤ length`).
    private mutating func node() throws -> (length: Int, nullCount: Int) {
        guard nodeIndex < header.nodes.count else {
            throw QuiverError(.invalidMessage, "record batch has \(header.nodes.count) field nodes; the schema needs more")
        }
        let node = header.nodes[nodeIndex]
        nodeIndex += 1
        let length = try checkedCount(node.length, "field node length")
        let nullCount = try checkedCount(node.nullCount, limit: length, "field node null count")
        return (length, nullCount)
    }

    /// The next buffer, copied if misaligned for its element type.
    private mutating func buffer(alignment: Int) throws -> Buffer {
        guard bufferIndex < buffers.count else {
            throw QuiverError(.invalidMessage, "record batch has \(buffers.count) buffers; the schema needs more")
        }
        let buffer = buffers[bufferIndex]
        bufferIndex += 1
        if buffer.count == 0 { return .empty }
        return buffer.isAligned(to: alignment) ? buffer : buffer.copied(pool: options.pool)
    }
}

extension ArrayData {
    /// A zero-length array of `type` with the buffers the format expects (offsets hold a
    /// single zero; nested dictionaries are empty too).
    public static func empty(of type: DataType, pool: MemoryPool = .default) throws -> ArrayData {
        let storage = type.storageType
        let buffers = storage.layout.map { kind -> Buffer in
            switch kind {
            case .offsets32: return pool.allocateZeroed(byteCount: 4).buffer(count: 4)
            case .offsets64: return pool.allocateZeroed(byteCount: 8).buffer(count: 8)
            default: return .empty
            }
        }
        var dictionary: ArrayData?
        if case .dictionary(_, let valueType, _) = storage { dictionary = try empty(of: valueType, pool: pool) }
        return ArrayData(
            type: type, length: 0, buffers: buffers, children: try storage.children.map { try empty(of: $0.type, pool: pool) },
            dictionary: dictionary)
    }
}
