import QuiverArrow
import QuiverBytes

/// The dictionaries of an IPC stream or file, by id: what dictionary-encoded columns of the
/// next record batch refer to.
///
/// Built from a schema (which declares every id and its value type), then fed dictionary
/// batches in order: a delta appends to the current values, a replacement swaps them.
/// Arrays decoded earlier keep the values they were decoded with.
public struct DictionaryMemo: Sendable {
    /// The value type of every dictionary id the schema declares (nested ones included).
    public let valueTypes: [Int64: DataType]
    /// The current values of each dictionary read so far.
    public private(set) var dictionaries: [Int64: ArrayData] = [:]

    /// How a dictionary batch changed the memo.
    public enum Update: Sendable, Hashable {
        /// The first values for an id.
        case new
        /// Values replaced the previous ones (streams only).
        case replacement
        /// Values were appended to the previous ones.
        case delta
    }

    /// Collects the dictionary ids of `schema`. Throws `invalidMessage` for a dictionary field
    /// without an id, or one id used with two different value types.
    /// O(fields), nested ones included.
    public init(schema: Schema) throws {
        var types: [Int64: DataType] = [:]
        func visit(_ fields: [Field]) throws {
            for field in fields {
                guard case .dictionary(_, let valueType, _) = field.type.storageType else {
                    try visit(field.type.storageType.children)
                    continue
                }
                guard let id = field.dictionaryId else {
                    throw QuiverError(.invalidMessage, "dictionary-encoded field '\(field.name)' has no dictionary id")
                }
                if let known = types[id], known != valueType {
                    throw QuiverError(.invalidMessage, "dictionary id \(id) is used with types \(known) and \(valueType)")
                }
                types[id] = valueType
                try visit(valueType.storageType.children)
            }
        }
        try visit(schema.fields)
        valueTypes = types
    }

    /// The current values of dictionary `id`, if read.
    public subscript(id: Int64) -> ArrayData? { dictionaries[id] }

    /// Decodes a dictionary batch and applies it: new values, a delta (concatenated to the
    /// current values) or a replacement. The values are validated (O(data) unless
    /// `options.trusted`). Throws `invalidMessage` for an id the schema does not declare, or a
    /// replacement when `allowReplacement` is false (the file format forbids them).
    @discardableResult
    public mutating func apply(
        _ batch: DictionaryBatchHeader, body: Buffer, version: MetadataVersion = .v5,
        options: IPCReadOptions = .init(), allowReplacement: Bool = true
    ) throws -> Update {
        try withErrorContext("dictionary \(batch.id)") {
            guard let valueType = valueTypes[batch.id] else {
                throw QuiverError(.invalidMessage, "dictionary id \(batch.id) is not declared by the schema")
            }
            let field = Field("dictionary", valueType)
            let values = try ArrayDecoder.decodeRecordBatch(
                schema: Schema([field]), header: batch.data, body: body, dictionaries: self, version: version,
                options: options, missingDictionaries: .error
            ).columns[0]
            guard let current = dictionaries[batch.id] else {
                dictionaries[batch.id] = values
                return .new
            }
            if batch.isDelta {
                dictionaries[batch.id] = try ArrayData.concatenate([current, values], pool: options.pool)
                return .delta
            }
            guard allowReplacement else {
                throw QuiverError(
                    .invalidMessage, "dictionary \(batch.id) is defined twice; the file format does not allow replacement")
            }
            dictionaries[batch.id] = values
            return .replacement
        }
    }
}
