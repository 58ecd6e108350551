/// Ordered key-value pairs attached to a schema, a field, a message or a file footer
/// (Arrow's `custom_metadata`). Order is kept as written; keys are normally unique.
public struct Metadata: Sendable, Hashable, ExpressibleByDictionaryLiteral, Sequence {
    /// The pairs in order.
    public var pairs: [(key: String, value: String)] {
        get { storage.map { (key: $0.key, value: $0.value) } }
        set { storage = newValue.map { Pair(key: $0.key, value: $0.value) } }
    }
    private var storage: [Pair]
    private struct Pair: Sendable, Hashable { var key: String; var value: String }

    public init() { storage = [] }
    public init(_ pairs: [(key: String, value: String)]) {
        storage = pairs.map { Pair(key: $0.key, value: $0.value) }
    }
    public init(dictionaryLiteral elements: (String, String)...) {
        storage = elements.map { Pair(key: $0.0, value: $0.1) }
    }

    public var isEmpty: Bool { storage.isEmpty }
    public var count: Int { storage.count }

    /// The value of the first pair with `key`; setting replaces it in place, or appends;
    /// setting nil removes every pair with `key`.
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

    public func makeIterator() -> some IteratorProtocol<(key: String, value: String)> {
        storage.lazy.map { (key: $0.key, value: $0.value) }.makeIterator()
    }
}

/// A named, typed column (or child of a nested type), with nullability and custom metadata.
public struct Field: Sendable, Hashable {
    public var name: String
    public var type: DataType
    public var nullable: Bool
    /// Custom metadata, excluding the `ARROW:extension:*` keys (those live in `.extension` types).
    public var metadata: Metadata
    /// For dictionary-encoded fields: the id that links the field to its dictionary batches in
    /// IPC. Readers set it from the input; writers assign one when nil.
    public var dictionaryId: Int64?

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
    public var description: String { "\(name): \(type)\(nullable ? "" : " not null")" }
}

/// The fields of a record batch, plus custom metadata.
public struct Schema: Sendable, Hashable {
    public var fields: [Field]
    public var metadata: Metadata

    public init(_ fields: [Field], metadata: Metadata = [:]) {
        self.fields = fields
        self.metadata = metadata
    }

    /// The index of the first field called `name`.
    public func index(of name: String) -> Int? { fields.firstIndex { $0.name == name } }

    /// The first field called `name`.
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
