/// Ordered key-value pairs attached to a schema, a field, a message or a file footer
/// (Arrow's `custom_metadata`). Order is kept as written; keys are normally unique.
public struct Metadata: Sendable, Hashable, ExpressibleByDictionaryLiteral, Sequence {
    /// The pairs in order.
    /// O(pairs).
    public var pairs: [(key: String, value: String)] {
        get { storage.map { (key: $0.key, value: $0.value) } }
        set { storage = newValue.map { Pair(key: $0.key, value: $0.value) } }
    }
    private var storage: [Pair]
    private struct Pair: Sendable, Hashable { var key: String; var value: String }

    /// No pairs.
    public init() { storage = [] }
    /// The pairs, in order.
    public init(_ pairs: [(key: String, value: String)]) {
        storage = pairs.map { Pair(key: $0.key, value: $0.value) }
    }
    /// The pairs of a literal, in order (`["k": "v"]`).
    public init(dictionaryLiteral elements: (String, String)...) {
        storage = elements.map { Pair(key: $0.0, value: $0.1) }
    }

    /// Whether there are no pairs.
    public var isEmpty: Bool { storage.isEmpty }
    /// The number of pairs.
    public var count: Int { storage.count }

    /// The value of the first pair with `key`; setting replaces it in place, or appends;
    /// setting nil removes every pair with `key`.
    /// O(pairs).
    public subscript(key: String) -> String? {
        get { storage.first { $0.key == key }?.value }
        set {
            if let newValue {
                if let index = storage.firstIndex(where: { $0.key == key }) {
                    storage[index].value = newValue
                } else {
                    storage.append(Pair(key: key, value: newValue))
                }
            } else {
                storage.removeAll { $0.key == key }
            }
        }
    }

    /// The pairs in order.
    public func makeIterator() -> some IteratorProtocol<(key: String, value: String)> {
        storage.lazy.map { (key: $0.key, value: $0.value) }.makeIterator()
    }
}

/// A named, typed column (or child of a nested type), with nullability and custom metadata.
public struct Field: Sendable, Hashable {
    /// The column name (need not be unique in a schema).
    public var name: String
    /// The logical type of the column's values.
    public var type: DataType
    /// Whether slots may be null (a promise recorded in the schema; not enforced on data).
    public var nullable: Bool
    /// Custom metadata, excluding the `ARROW:extension:*` keys (those live in `.extension` types).
    public var metadata: Metadata
    /// For dictionary-encoded fields: the id that links the field to its dictionary batches in
    /// IPC. Readers set it from the input; writers assign one when nil.
    public var dictionaryId: Int64?

    /// A field; nullable and without metadata unless said otherwise.
    public init(
        _ name: String, _ type: DataType, nullable: Bool = true, metadata: Metadata = [:],
        dictionaryId: Int64? = nil
    ) {
        self.name = name
        self.type = type
        self.nullable = nullable
        self.metadata = metadata
        self.dictionaryId = dictionaryId
    }
}

extension Field: CustomStringConvertible {
    /// `name: type`, with ` not null` for non-nullable fields.
    public var description: String { "\(name): \(type)\(nullable ? "" : " not null")" }
}

/// The fields of a record batch, plus custom metadata.
public struct Schema: Sendable, Hashable {
    /// The top-level fields, in column order.
    public var fields: [Field]
    /// Custom metadata of the schema (Arrow's schema-level `custom_metadata`).
    public var metadata: Metadata

    /// A schema of `fields`.
    public init(_ fields: [Field], metadata: Metadata = [:]) {
        self.fields = fields
        self.metadata = metadata
    }

    /// The index of the first field called `name`.
    /// O(fields).
    public func index(of name: String) -> Int? { fields.firstIndex { $0.name == name } }

    /// The first field called `name`.
    /// O(fields).
    public func field(named name: String) -> Field? { index(of: name).map { fields[$0] } }
}

extension Schema: CustomStringConvertible {
    /// One line per field, as pyarrow prints a schema.
    public var description: String {
        var lines = fields.map(\.description)
        if !metadata.isEmpty {
            lines.append("-- schema metadata --")
            lines += metadata.map { "\($0.key): \($0.value)" }
        }
        return lines.joined(separator: "\n")
    }
}
