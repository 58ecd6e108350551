import Foundation
import QuiverArrow
import QuiverBytes
import QuiverIPC

/// The contents of an Arrow integration-test JSON file: a schema and its record batches.
///
/// Dictionary-encoded columns carry their dictionary in `ArrayData.dictionary` (the JSON
/// format has one dictionary per id for the whole file), and their fields keep the
/// file's dictionary ids in `Field.dictionaryId`.
public struct IntegrationFile: Sendable {
    /// The schema, with extension types and dictionary ids resolved.
    public var schema: Schema
    /// The record batches, in file order.
    public var batches: [RecordBatch]

    /// A file of `batches` under `schema`.
    public init(schema: Schema, batches: [RecordBatch]) {
        self.schema = schema
        self.batches = batches
    }

    /// How Arrow data read elsewhere differs from this file: the VALIDATE check of the
    /// integration-test contract. Compares schemas, then batch counts, then batches in
    /// order (values, not buffer bytes); reports the first difference, nil when equal.
    /// `batches` is called only when the schemas agree. Reads every value: O(data).
    public func firstDifference(
        schema: Schema, batches readBatches: () throws -> [RecordBatch]
    ) rethrows -> IntegrationDifference? {
        if let difference = schema.firstDifference(from: self.schema) { return .schema(difference) }
        let batches = try readBatches()
        guard batches.count == self.batches.count else {
            return .batchCount(actual: batches.count, expected: self.batches.count)
        }
        for (index, (actual, expected)) in zip(batches, self.batches).enumerated() {
            if let difference = actual.firstDifference(from: expected) { return .batch(index: index, difference) }
        }
        return nil
    }
}

/// The first way Arrow data differs from an integration JSON file (`IntegrationFile.firstDifference`).
public enum IntegrationDifference: Sendable, Hashable {
    /// The schemas differ, as described.
    case schema(String)
    /// The data has `actual` record batches, the file `expected`.
    case batchCount(actual: Int, expected: Int)
    /// Record batch `index` differs, as described (the row and values).
    case batch(index: Int, String)
}

/// Arrow's integration-test JSON format (Integration.rst, "JSON test data format"): the
/// human-readable twin of the IPC formats that archery uses to check implementations
/// against each other.
///
/// ```
/// { "schema":       { "fields": [Field], "metadata": [{"key", "value"}] },
///   "batches":      [ { "count": n, "columns": [FieldData] } ],
///   "dictionaries": [ { "id": i, "data": { "count": n, "columns": [FieldData] } } ] }
/// FieldData: { "name", "count", "VALIDITY", "DATA" | "OFFSET" | "SIZE" | "TYPE_ID" |
///              "VIEWS" + "VARIADIC_DATA_BUFFERS", "children": [FieldData] }
/// ```
/// Reading builds buffers directly from the JSON arrays into `pool` and validates them
/// (malformed input throws `QuiverError`); writing produces the same format, so files
/// round-trip. Numbers are parsed from their text, so 64-bit values stay exact.
public enum IntegrationJSON {
    /// The most bytes a `.json.gz` file may inflate to (1 GiB) unless the caller says.
    public static let defaultMaxDecompressedBytes = 1 << 30

    /// Reads an integration JSON file; gzip input (`.json.gz`) is recognised by its magic
    /// bytes and inflated first.
    public static func read(
        contentsOf url: URL, pool: MemoryPool = .default, maxDecompressedBytes: Int = defaultMaxDecompressedBytes
    ) throws -> IntegrationFile {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw QuiverError(.io, "cannot read \(url.path): \(error.localizedDescription)")
        }
        return try withErrorContext(url.lastPathComponent) {
            try read(from: data, pool: pool, maxDecompressedBytes: maxDecompressedBytes)
        }
    }

    /// Reads an integration JSON file at `path` (plain or gzip).
    public static func read(
        path: String, pool: MemoryPool = .default, maxDecompressedBytes: Int = defaultMaxDecompressedBytes
    ) throws -> IntegrationFile {
        try read(contentsOf: URL(fileURLWithPath: path), pool: pool, maxDecompressedBytes: maxDecompressedBytes)
    }

    /// Reads integration JSON (plain or gzip) from memory. Buffers are allocated from `pool`.
    public static func read(
        from data: Data, pool: MemoryPool = .default, maxDecompressedBytes: Int = defaultMaxDecompressedBytes
    ) throws -> IntegrationFile {
        try data.withUnsafeBytes { bytes in
            if Gzip.isGzip(bytes) {
                let inflated = try Gzip.decompress(bytes, limit: maxDecompressedBytes)
                return try inflated.withUnsafeBytes { try read(json: JSONValue.parse($0), inputBytes: $0.count, pool: pool) }
            }
            return try read(json: JSONValue.parse(bytes), inputBytes: bytes.count, pool: pool)
        }
    }

    /// Writes `batches` under `schema` as integration JSON (UTF-8, not compressed).
    ///
    /// Dictionaries are gathered from the arrays into the "dictionaries" section under the
    /// fields' `dictionaryId`s (fields without one get fresh ids, inner dictionaries
    /// first). The format holds one dictionary per id: batches may share a dictionary or
    /// extend it (each a prefix of the next, as delta batches do), but a batch that
    /// *replaces* a dictionary throws `unsupported`.
    public static func write(schema: Schema, batches: [RecordBatch]) throws -> Data {
        let schema = assigningDictionaryIds(schema)
        var dictionaries = DictionaryCollector()
        for (index, batch) in batches.enumerated() {
            guard batch.columns.count == schema.fields.count else {
                throw QuiverError(.schemaMismatch, "batch \(index) has \(batch.columns.count) columns for \(schema.fields.count) fields")
            }
            try withErrorContext("record batch \(index)") {
                for (field, column) in zip(schema.fields, batch.columns) {
                    try dictionaries.collect(field: field, array: column)
                }
            }
        }
        let writer = IntegrationArrayWriter()
        var members: [(key: String, value: JSONValue)] = [("schema", try schemaJSON(schema))]
        members.append((
            "batches",
            .array(try batches.enumerated().map { index, batch in
                try withErrorContext("record batch \(index)") {
                    .object([
                        ("count", .number(String(batch.length))),
                        ("columns", .array(try zip(schema.fields, batch.columns).map { field, column in
                            try writer.columnJSON(name: field.name, array: column, field: field)
                        })),
                    ])
                }
            })))
        if !dictionaries.byId.isEmpty {
            members.append((
                "dictionaries",
                .array(try dictionaries.byId.keys.sorted().map { id in
                    guard let entry = dictionaries.byId[id] else { return .null }
                    return try withErrorContext("dictionary \(id)") {
                        .object([
                            ("id", .number(String(id))),
                            ("data", .object([
                                ("count", .number(String(entry.values.length))),
                                ("columns", .array([
                                    try writer.columnJSON(name: "DICT\(id)", array: entry.values, field: entry.valueField),
                                ])),
                            ])),
                        ])
                    }
                })))
        }
        return Data(JSONValue.object(members).serialized())
    }

    // MARK: - Reading a parsed document

    /// Builds the file from a parsed document of `inputBytes` bytes; no buffer may exceed
    /// 16 × the input (+ 1 MiB), so a small file cannot declare a huge fixed-width array.
    static func read(json: JSONValue, inputBytes: Int, pool: MemoryPool) throws -> IntegrationFile {
        let schema = try withErrorContext("schema") { try readSchema(try json.member("schema")) }
        let (scaled, overflow) = inputBytes.multipliedReportingOverflow(by: 16)
        let dictionaries = try IntegrationDictionaries(
            schema: schema, json: json["dictionaries"], pool: pool,
            maxBufferBytes: overflow ? Int.max : scaled + (1 << 20))
        let reader = dictionaries.reader
        let batches = try (json["batches"] ?? .array([])).arrayValue("batches").enumerated().map { index, batch in
            try withErrorContext("record batch \(index)") {
                let count = try batch.member("count").integerValue("count", as: Int.self)
                let columns = try batch.member("columns").arrayValue("columns")
                guard columns.count == schema.fields.count else {
                    throw QuiverError(.invalidData, "\(columns.count) columns for \(schema.fields.count) fields")
                }
                let arrays = try zip(schema.fields, columns).map { field, column in
                    try withErrorContext("column '\(field.name)'") { try reader.readArray(column, field: field) }
                }
                return try RecordBatch(schema: schema, columns: arrays, length: count)
            }
        }
        return IntegrationFile(schema: schema, batches: batches)
    }

    // MARK: - Dictionary ids

    /// The schema with a dictionary id on every dictionary-encoded field: existing ids are
    /// kept, missing ones numbered from the smallest unused id, children before parents.
    static func assigningDictionaryIds(_ schema: Schema) -> Schema {
        var used = Set<Int64>()
        func gather(_ field: Field) {
            if let id = field.dictionaryId { used.insert(id) }
            field.type.dictionaryValueType.map { $0.children.forEach(gather) }
            field.type.storageType.children.forEach(gather)
        }
        schema.fields.forEach(gather)
        var next: Int64 = 0
        func assign(_ field: Field) -> Field {
            var field = field
            field.type = field.type.mapChildren(assign)
            if field.type.dictionaryValueType != nil && field.dictionaryId == nil {
                while used.contains(next) { next += 1 }
                field.dictionaryId = next
                used.insert(next)
            }
            return field
        }
        return Schema(schema.fields.map(assign), metadata: schema.metadata)
    }
}

/// Dictionaries read from the "dictionaries" section, decoded on first use so a
/// dictionary whose values are themselves dictionary-encoded finds its inner one.
final class IntegrationDictionaries {
    private var json: [Int64: JSONValue] = [:]
    private var valueFields: [Int64: Field] = [:]
    private var resolved: [Int64: ArrayData] = [:]
    private var resolving: Set<Int64> = []
    private let pool: MemoryPool
    private let maxBufferBytes: Int

    init(schema: Schema, json section: JSONValue?, pool: MemoryPool, maxBufferBytes: Int) throws {
        self.pool = pool
        self.maxBufferBytes = maxBufferBytes
        for field in schema.fields { try register(field) }
        guard let section, section != .null else { return }
        for entry in try section.arrayValue("dictionaries") {
            let id = try entry.member("id").integerValue("dictionary id")
            guard json[id] == nil else { throw QuiverError(.invalidData, "dictionary \(id) appears twice") }
            json[id] = try entry.member("data")
        }
    }

    /// Records the value type of every dictionary-encoded field, however deeply nested.
    private func register(_ field: Field) throws {
        if let value = field.type.dictionaryValueType {
            guard let id = field.dictionaryId else {
                throw QuiverError(.invalidData, "dictionary field '\(field.name)' has no id")
            }
            let valueField = Field(field.name, value, nullable: true)
            if let existing = valueFields[id], existing.type != value {
                throw QuiverError(.invalidData, "dictionary \(id) is used with value types \(existing.type) and \(value)")
            }
            valueFields[id] = valueField
            for child in value.children { try register(child) }
        }
        for child in field.type.storageType.children { try register(child) }
    }

    /// A reader of FieldData that resolves dictionaries here.
    var reader: IntegrationArrayReader {
        IntegrationArrayReader(pool: pool, maxBufferBytes: maxBufferBytes, dictionaries: self)
    }

    func dictionary(id: Int64) throws -> ArrayData {
        if let values = resolved[id] { return values }
        guard let valueField = valueFields[id], let data = json[id] else {
            throw QuiverError(.invalidData, "dictionary \(id) is missing")
        }
        guard resolving.insert(id).inserted else { throw QuiverError(.invalidData, "dictionary \(id) contains itself") }
        defer { resolving.remove(id) }
        let values = try withErrorContext("dictionary \(id)") { () throws -> ArrayData in
            let count = try data.member("count").integerValue("count", as: Int.self)
            let columns = try data.member("columns").arrayValue("columns")
            guard columns.count == 1 else { throw QuiverError(.invalidData, "dictionary batch with \(columns.count) columns") }
            let values = try reader.readArray(columns[0], field: valueField)
            guard values.length == count else { throw QuiverError(.invalidData, "count \(count) but column has \(values.length)") }
            return values
        }
        resolved[id] = values
        return values
    }
}

/// Gathers one dictionary per id from the arrays being written.
struct DictionaryCollector {
    struct Entry {
        var valueField: Field
        var values: ArrayData
    }
    private(set) var byId: [Int64: Entry] = [:]

    mutating func collect(field: Field, array: ArrayData) throws {
        if let valueType = field.type.dictionaryValueType {
            guard let id = field.dictionaryId, let values = array.dictionary else {
                throw QuiverError(.invalidArgument, "dictionary column '\(field.name)' has no dictionary")
            }
            try add(id: id, values: values, valueField: Field(field.name, valueType, nullable: true))
            for (child, data) in zip(valueType.children, values.children) { try collect(field: child, array: data) }
        } else {
            for (child, data) in zip(field.type.storageType.children, array.children) { try collect(field: child, array: data) }
        }
    }

    private mutating func add(id: Int64, values: ArrayData, valueField: Field) throws {
        guard let existing = byId[id] else {
            byId[id] = Entry(valueField: valueField, values: values)
            return
        }
        let (shorter, longer) = existing.values.length <= values.length ? (existing.values, values) : (values, existing.values)
        guard longer.slice(from: 0, length: shorter.length).logicallyEquals(shorter) else {
            throw QuiverError(.unsupported, "dictionary \(id) is replaced between batches, which integration JSON cannot express")
        }
        byId[id] = Entry(valueField: valueField, values: longer)
    }
}

extension DataType {
    /// The value type of a dictionary type (also under an extension), else nil.
    var dictionaryValueType: DataType? {
        if case .dictionary(_, let value, _) = storageType { return value }
        return nil
    }

    /// The type with `transform` applied to each child field, including the children of
    /// a dictionary's value type and of an extension's storage.
    func mapChildren(_ transform: (Field) -> Field) -> DataType {
        switch self {
        case .list(let f): return .list(transform(f))
        case .largeList(let f): return .largeList(transform(f))
        case .listView(let f): return .listView(transform(f))
        case .largeListView(let f): return .largeListView(transform(f))
        case .fixedSizeList(let f, let size): return .fixedSizeList(transform(f), listSize: size)
        case .struct(let fields): return .struct(fields.map(transform))
        case .map(let entries, let sorted): return .map(entries: transform(entries), keysSorted: sorted)
        case .union(let mode, let fields, let ids): return .union(mode, fields: fields.map(transform), typeIds: ids)
        case .runEndEncoded(let runEnds, let values): return .runEndEncoded(runEnds: transform(runEnds), values: transform(values))
        case .dictionary(let index, let value, let ordered):
            return .dictionary(index: index, value: value.mapChildren(transform), ordered: ordered)
        case .extension(let name, let metadata, let storage):
            return .extension(name: name, metadata: metadata, storage: storage.mapChildren(transform))
        default: return self
        }
    }
}
