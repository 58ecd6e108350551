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

    static func decodeRecordBatch(
        schema: Schema, header: RecordBatchHeader, body: Buffer, dictionaries: DictionaryMemo,
        version: MetadataVersion, options: IPCReadOptions, missingDictionaries: MissingDictionaries
    ) throws -> RecordBatch {
        let length = try checkedCount(header.length, "record batch length")
        let columns = try decode(
            fields: schema.fields, header: header, body: body, dictionaries: dictionaries, version: version,
            options: options, missingDictionaries: missingDictionaries)
        for (field, column) in zip(schema.fields, columns) {
            guard column.length == length else {
                throw QuiverError(
                    .invalidMessage, "column '\(field.name)' has \(column.length) rows, the record batch \(length)")
            }
            try withErrorContext("column '\(field.name)'") { try column.validate(full: !options.trusted) }
        }
        return RecordBatch(uncheckedSchema: schema, columns: columns, length: length)
    }

    static func decode(
        fields: [Field], header: RecordBatchHeader, body: Buffer, dictionaries: DictionaryMemo,
        version: MetadataVersion, options: IPCReadOptions, missingDictionaries: MissingDictionaries
    ) throws -> [ArrayData] {
        var reader = BodyReader(
            header: header, buffers: try bodyBuffers(header, body: body, pool: options.pool), dictionaries: dictionaries,
            version: version, options: options, missingDictionaries: missingDictionaries)
        var columns: [ArrayData] = []
        columns.reserveCapacity(fields.count)
        for field in fields {
            columns.append(try withErrorContext("field '\(field.name)'") { try reader.array(field, depth: 0) })
        }
        return columns
    }

    /// Every buffer region of the body, checked and sliced (zero-copy); for compressed bodies
    /// decompressed, in parallel when large. Empty regions stay empty.
    private static func bodyBuffers(_ header: RecordBatchHeader, body: Buffer, pool: MemoryPool) throws -> [Buffer] {
        let slices = try header.buffers.enumerated().map { index, region in
            try withErrorContext("buffer \(index)") {
                let offset = try checkedCount(region.offset, limit: body.count, "buffer offset")
                let length = try checkedCount(region.length, limit: body.count, "buffer length")
                return try body.slice(offset: offset, count: length)
            }
        }
        guard let codec = header.compression else { return slices }
        return try BodyCompression.decompressAll(codec, slices, pool: pool)
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
        var buffers: [Buffer] = []
        if case .union = storage, version < .v5 {
            // Before V5, unions had a validity bitmap; it carries nothing the children do not.
            _ = try buffer(alignment: 1)
        }
        for kind in storage.layout {
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
