#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import QuiverBytes

/// Encodes rows in two passes: each row becomes a tree of slots (what `Encodable` wrote),
/// then the schema is inferred from all rows and each column is built from its slots'
/// `ArrowValue`s by the dynamic builders.
enum RowEncoding {
    static func encode<T: Encodable>(_ rows: [T], pool: MemoryPool) throws -> RecordBatch {
        guard !rows.isEmpty else {
            throw QuiverError(.invalidArgument, "cannot infer a schema for \(T.self) from no rows")
        }
        var keyedRows: [EncodedKeyed] = []
        keyedRows.reserveCapacity(rows.count)
        for (index, row) in rows.enumerated() {
            let slot = EncodedSlot()
            try encodeValue(row, into: slot, at: [])
            guard case .keyed(let keyed) = slot.content else {
                throw QuiverError(.invalidArgument, "row \(index): \(T.self) must encode as a keyed container (a struct)")
            }
            keyedRows.append(keyed)
        }
        let (fields, columnSlots) = try inferFields(keyedRows, path: "\(T.self)")
        let columns = try zip(fields, columnSlots).map { field, slots in
            try withErrorContext("column '\(field.name)'") {
                try ArrayData.build(slots.map { $0?.value ?? .null }, type: field.type, pool: pool)
            }
        }
        return RecordBatch(uncheckedSchema: Schema(fields), columns: columns, length: rows.count)
    }

    /// The fields of keyed slots (keys in order of first appearance) and each field's slot per
    /// row (nil where a row lacks the key).
    private static func inferFields(_ keyed: [EncodedKeyed], path: String) throws -> ([Field], [[EncodedSlot?]]) {
        var names: [String] = []
        var seen: Set<String> = []
        for storage in keyed {
            for name in storage.order where seen.insert(name).inserted { names.append(name) }
        }
        var fields: [Field] = []
        var columns: [[EncodedSlot?]] = []
        for name in names {
            let slots = keyed.map { $0.slots[name] }
            let (type, nullable) = try inferType(slots, path: "\(path).\(name)")
            let optional = keyed.contains { $0.optional.contains(name) }
            fields.append(Field(name, type, nullable: nullable || optional))
            columns.append(slots)
        }
        return (fields, columns)
    }

    /// The Arrow type of the values in `slots`, and whether any is null or missing.
    private static func inferType(_ slots: [EncodedSlot?], path: String) throws -> (DataType, Bool) {
        var nullable = false
        var hint: DataType?
        var leafType: DataType?
        var lists: [EncodedList] = []
        var keyed: [EncodedKeyed] = []
        for slot in slots {
            switch slot?.content ?? .unset {
            case .unset:
                nullable = true
            case .null(let typeHint):
                nullable = true
                hint = hint ?? typeHint
            case .leaf(_, let type):
                leafType = try merge(leafType, type, path: path)
            case .list(let list): lists.append(list)
            case .keyed(let storage): keyed.append(storage)
            }
        }
        guard [leafType != nil, !lists.isEmpty, !keyed.isEmpty].filter({ $0 }).count <= 1 else {
            throw QuiverError(.typeMismatch, "\(path) holds values of different shapes (scalars, lists, structs) in different rows")
        }
        if let leafType { return (leafType, nullable) }
        if !lists.isEmpty {
            let (element, elementNullable) = try inferType(lists.flatMap(\.elements), path: "\(path)[]")
            return (.list(Field("item", element, nullable: elementNullable)), nullable)
        }
        if !keyed.isEmpty {
            let (fields, _) = try inferFields(keyed, path: path)
            return (.struct(fields), nullable || keyed.count < slots.count)
        }
        return (hint ?? .null, true)
    }

    /// Two rows' types for one column: equal, or decimals widened to the larger scale.
    private static func merge(_ known: DataType?, _ new: DataType, path: String) throws -> DataType {
        guard let known, known != new else { return new }
        if case .decimal(let bits, let precision, let a) = known, case .decimal(_, _, let b) = new {
            return .decimal(bitWidth: bits, precision: precision, scale: max(a, b))
        }
        throw QuiverError(.typeMismatch, "\(path) is \(known) in one row and \(new) in another")
    }
}

/// What `Encodable` wrote at one position.
final class EncodedSlot {
    enum Content {
        case unset
        /// nil, with the Arrow type of the static Swift type when known.
        case null(DataType?)
        case leaf(ArrowValue, DataType)
        case list(EncodedList)
        case keyed(EncodedKeyed)
    }
    var content: Content = .unset

    /// The slot as a dynamic value for the builders.
    var value: ArrowValue {
        switch content {
        case .unset, .null: return .null
        case .leaf(let value, _): return value
        case .list(let list): return .list(list.elements.map(\.value))
        case .keyed(let keyed): return .struct(keyed.order.compactMap { name in keyed.slots[name].map { (name, $0.value) } })
        }
    }
}

final class EncodedList {
    var elements: [EncodedSlot] = []
}

final class EncodedKeyed {
    private(set) var order: [String] = []
    private(set) var slots: [String: EncodedSlot] = [:]
    /// Keys written through `encodeIfPresent`: optional properties, nullable columns.
    var optional: Set<String> = []

    /// The slot for `key` (created on first use).
    func slot(_ key: String) -> EncodedSlot {
        if let existing = slots[key] { return existing }
        let created = EncodedSlot()
        slots[key] = created
        order.append(key)
        return created
    }
}

/// Stores a value in a slot: standard scalars and the special Foundation types as leaves,
/// everything else through its own `encode(to:)`.
private func encodeValue<T: Encodable>(_ value: T, into slot: EncodedSlot, at path: [any CodingKey]) throws {
    if let leaf = try scalarLeaf(value) ?? SpecialValue.encode(value) {
        slot.content = .leaf(leaf.0, leaf.1)
    } else {
        try value.encode(to: SlotEncoder(slot: slot, codingPath: path))
    }
}

private func scalarLeaf(_ value: Any) -> (ArrowValue, DataType)? {
    switch value {
    case let v as Bool: return (.bool(v), .boolean)
    case let v as String: return (.string(v), .utf8)
    case let v as Int: return (.int(Int64(v)), .int64)
    case let v as Int8: return (.int(Int64(v)), .int8)
    case let v as Int16: return (.int(Int64(v)), .int16)
    case let v as Int32: return (.int(Int64(v)), .int32)
    case let v as Int64: return (.int(v), .int64)
    case let v as UInt: return (.uint(UInt64(v)), .uint64)
    case let v as UInt8: return (.uint(UInt64(v)), .uint8)
    case let v as UInt16: return (.uint(UInt64(v)), .uint16)
    case let v as UInt32: return (.uint(UInt64(v)), .uint32)
    case let v as UInt64: return (.uint(v), .uint64)
    case let v as Float: return (.float(Double(v)), .float32)
    case let v as Double: return (.float(v), .float64)
    default: return nil
    }
}

/// The encoder handed to `Encodable` values: writes into one slot.
private struct SlotEncoder: Encoder, SingleValueEncodingContainer {
    let slot: EncodedSlot
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy _: Key.Type) -> KeyedEncodingContainer<Key> {
        let storage: EncodedKeyed
        if case .keyed(let existing) = slot.content {
            storage = existing
        } else {
            storage = EncodedKeyed()
            slot.content = .keyed(storage)
        }
        return KeyedEncodingContainer(KeyedSlotContainer<Key>(storage: storage, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let list: EncodedList
        if case .list(let existing) = slot.content {
            list = existing
        } else {
            list = EncodedList()
            slot.content = .list(list)
        }
        return ListSlotContainer(list: list, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { self }

    func encodeNil() { slot.content = .null(nil) }
    func encode<T: Encodable>(_ value: T) throws { try encodeValue(value, into: slot, at: codingPath) }
}

private struct KeyedSlotContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let storage: EncodedKeyed
    let codingPath: [any CodingKey]

    func encodeNil(forKey key: Key) { storage.slot(key.stringValue).content = .null(nil) }

    func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try encodeValue(value, into: storage.slot(key.stringValue), at: codingPath + [key])
    }

    /// Marks the key optional (a nullable column) and stores the value or a typed null.
    func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        storage.optional.insert(key.stringValue)
        if let value {
            try encode(value, forKey: key)
        } else {
            storage.slot(key.stringValue).content = .null(SpecialValue.arrowType(of: T.self))
        }
    }

    // The standard library gives these default implementations that skip nil values
    // silently; routing them to the generic one records the optional column.
    func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { try encodeIfPresent(value, generic: key) }
    func encodeIfPresent(_ value: String?, forKey key: Key) throws { try encodeIfPresent(value, generic: key) }
    func encodeIfPresent(_ value: Double?, forKey key: Key) throws { try encodeIfPresent(value, generic: key) }
    func encodeIfPresent(_ value: Float?, forKey key: Key) throws { try encodeIfPresent(value, generic: key) }
    func encodeIfPresent(_ value: Int?, forKey key: Key) throws { try encodeIfPresent(value, generic: key) }
    func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { try encodeIfPresent(value, generic: key) }
    func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { try encodeIfPresent(value, generic: key) }
    func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { try encodeIfPresent(value, generic: key) }
    func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { try encodeIfPresent(value, generic: key) }
    func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { try encodeIfPresent(value, generic: key) }
    func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { try encodeIfPresent(value, generic: key) }
    func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws { try encodeIfPresent(value, generic: key) }
    func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { try encodeIfPresent(value, generic: key) }
    func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { try encodeIfPresent(value, generic: key) }

    private func encodeIfPresent<T: Encodable>(_ value: T?, generic key: Key) throws {
        try encodeIfPresent(value, forKey: key)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        SlotEncoder(slot: storage.slot(key.stringValue), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        SlotEncoder(slot: storage.slot(key.stringValue), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superEncoder() -> any Encoder {
        SlotEncoder(slot: storage.slot("super"), codingPath: codingPath + [AnyCodingKey(stringValue: "super")])
    }

    func superEncoder(forKey key: Key) -> any Encoder {
        SlotEncoder(slot: storage.slot(key.stringValue), codingPath: codingPath + [key])
    }
}

private struct ListSlotContainer: UnkeyedEncodingContainer {
    let list: EncodedList
    let codingPath: [any CodingKey]
    var count: Int { list.elements.count }

    private func next() -> (EncodedSlot, [any CodingKey]) {
        let slot = EncodedSlot()
        let path = codingPath + [AnyCodingKey(intValue: list.elements.count)]
        list.elements.append(slot)
        return (slot, path)
    }

    mutating func encodeNil() { next().0.content = .null(nil) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        let (slot, path) = next()
        try encodeValue(value, into: slot, at: path)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let (slot, path) = next()
        return SlotEncoder(slot: slot, codingPath: path).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let (slot, path) = next()
        return SlotEncoder(slot: slot, codingPath: path).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        let (slot, path) = next()
        return SlotEncoder(slot: slot, codingPath: path)
    }
}
