#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import QuiverBytes

/// The columns of one batch, indexed by name: the source rows decode from.
struct RowSource {
    let schema: Schema
    let columns: [ArrayData]
    let columnIndex: [String: Int]

    init(schema: Schema, columns: [ArrayData]) {
        self.schema = schema
        self.columns = columns
        var index: [String: Int] = [:]
        for (position, field) in schema.fields.enumerated() where index[field.name] == nil { index[field.name] = position }
        columnIndex = index
    }

    func decode<T: Decodable>(_: T.Type, row: Int) throws -> T {
        let context = DecodingContext(rootType: "\(T.self)", row: row, columnNames: schema.fields.map(\.name))
        return try T(from: ValueDecoder(node: .row(self, row), codingPath: [], context: context))
    }
}

/// What every error message needs to know about where decoding is.
struct DecodingContext {
    let rootType: String
    let row: Int
    let columnNames: [String]

    /// `Trade.price`
    func property(_ path: [any CodingKey]) -> String { path.isEmpty ? rootType : "\(rootType).\(path.dottedPath)" }

    func mismatch(_ path: [any CodingKey], arrowType: DataType, swiftType: Any.Type) -> QuiverError {
        QuiverError(.typeMismatch, "column '\(path.dottedPath)' is \(arrowType), \(property(path)) is \(swiftType)")
    }

    func null(_ path: [any CodingKey], swiftType: Any.Type) -> QuiverError {
        QuiverError(.typeMismatch, "column '\(path.dottedPath)' is null at row \(row), \(property(path)) is not optional (\(swiftType))")
    }

    func outOfRange(_ path: [any CodingKey], _ value: ArrowValue, swiftType: Any.Type) -> QuiverError {
        QuiverError(.typeMismatch, "value \(value) of column '\(path.dottedPath)' at row \(row) does not fit \(property(path)) (\(swiftType))")
    }
}

/// Where a decoder reads: a whole row (keyed by column name) or one value with its type.
enum DecodingNode {
    case row(RowSource, Int)
    case value(ArrowValue, DataType)
}

/// Decodes one row or one value; containers hand out child decoders for nested values.
struct ValueDecoder: Decoder {
    let node: DecodingNode
    let codingPath: [any CodingKey]
    let context: DecodingContext
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy _: Key.Type) throws -> KeyedDecodingContainer<Key> {
        let members: Members
        switch node {
        case .row(let source, let row): members = .row(source, row)
        case .value(.struct(let values), let type):
            let fields = type.storageType.children
            members = .fields(Dictionary(
                zip(values, fields).map { ($0.0, ($0.1, $1.type)) }, uniquingKeysWith: { first, _ in first }),
                order: values.map(\.0))
        case .value(.map(let pairs), let type):
            let kv = type.storageType.children.first?.type.storageType.children ?? []
            let valueType = kv.count == 2 ? kv[1].type : .null
            var fields: [String: (ArrowValue, DataType)] = [:]
            var order: [String] = []
            for (key, value) in pairs {
                guard case .string(let name) = key else { throw context.mismatch(codingPath, arrowType: type, swiftType: Key.self) }
                if fields.updateValue((value, valueType), forKey: name) == nil { order.append(name) }
            }
            members = .fields(fields, order: order)
        case .value(_, let type):
            throw context.mismatch(codingPath, arrowType: type, swiftType: Key.self)
        }
        return KeyedDecodingContainer(KeyedValueContainer<Key>(members: members, decoder: self))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .value(.list(let elements), let type) = node else {
            throw context.mismatch(codingPath, arrowType: nodeType, swiftType: [Any].self)
        }
        return ListContainer(elements: elements, elementType: type.storageType.children.first?.type ?? .null, decoder: self)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    /// The Arrow type at this node (a row reads as the batch's struct of columns).
    var nodeType: DataType {
        switch node {
        case .row(let source, _): return .struct(source.schema.fields)
        case .value(_, let type): return type
        }
    }

    /// Decodes a value of `T` found at `path`: the single path every container ends in.
    func decodeValue<T: Decodable>(_: T.Type, _ value: ArrowValue, _ type: DataType, at path: [any CodingKey]) throws -> T {
        if value.isNull {
            // An Optional decodes null itself (through `decodeNil`); anything else cannot.
            guard T.self is any OptionalMarker.Type else { throw context.null(path, swiftType: T.self) }
            return try T(from: ValueDecoder(node: .value(value, type), codingPath: path, context: context))
        }
        if let scalar = try scalarValue(T.self, value, type, at: path) { return scalar }
        let mismatch = { context.mismatch(path, arrowType: type, swiftType: T.self) }
        if let special = try SpecialValue.decode(T.self, from: value, mismatch: mismatch) { return special }
        return try T(from: ValueDecoder(node: .value(value, type), codingPath: path, context: context))
    }

    /// The standard-library scalars: nil when `T` is not one; throws when it is but the value
    /// has another kind or does not fit.
    private func scalarValue<T>(_: T.Type, _ value: ArrowValue, _ type: DataType, at path: [any CodingKey]) throws -> T? {
        let converted: Any?
        switch T.self {
        case is Bool.Type: if case .bool(let flag) = value { converted = flag } else { converted = nil }
        case is String.Type:
            switch value {
            case .string(let text), .decimal(let text): converted = text
            default: converted = nil
            }
        case is Double.Type: converted = floatingValue(value)
        case is Float.Type: converted = floatingValue(value).map { Float($0) }
        case is Int.Type: converted = try integer(Int.self, value, type, path)
        case is Int8.Type: converted = try integer(Int8.self, value, type, path)
        case is Int16.Type: converted = try integer(Int16.self, value, type, path)
        case is Int32.Type: converted = try integer(Int32.self, value, type, path)
        case is Int64.Type: converted = try integer(Int64.self, value, type, path)
        case is UInt.Type: converted = try integer(UInt.self, value, type, path)
        case is UInt8.Type: converted = try integer(UInt8.self, value, type, path)
        case is UInt16.Type: converted = try integer(UInt16.self, value, type, path)
        case is UInt32.Type: converted = try integer(UInt32.self, value, type, path)
        case is UInt64.Type: converted = try integer(UInt64.self, value, type, path)
        default: return nil
        }
        guard let result = converted as? T else { throw context.mismatch(path, arrowType: type, swiftType: T.self) }
        return result
    }

    private func integer<I: FixedWidthInteger>(_: I.Type, _ value: ArrowValue, _ type: DataType, _ path: [any CodingKey]) throws -> I? {
        switch value {
        case .int, .uint, .date32, .date64, .time, .timestamp, .duration, .yearMonthInterval:
            guard let result: I = exactInteger(value) else { throw context.outOfRange(path, value, swiftType: I.self) }
            return result
        default: return nil
        }
    }

    private func floatingValue(_ value: ArrowValue) -> Double? {
        switch value {
        case .float(let number): return number
        case .int(let integer): return Double(integer)
        case .uint(let integer): return Double(integer)
        case .decimal(let text): return Double(text)
        default: return nil
        }
    }
}

extension ValueDecoder: SingleValueDecodingContainer {
    private var single: (ArrowValue, DataType) {
        get throws {
            guard case .value(let value, let type) = node else {
                throw QuiverError(.typeMismatch, "\(context.rootType) must decode a row as a keyed container (a struct)")
            }
            return (value, type)
        }
    }

    func decodeNil() -> Bool { (try? single)?.0.isNull ?? false }
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (value, arrowType) = try single
        return try decodeValue(T.self, value, arrowType, at: codingPath)
    }
}

/// The named members of a row (columns) or of a struct or string-keyed map value.
enum Members {
    case row(RowSource, Int)
    case fields([String: (ArrowValue, DataType)], order: [String])

    /// Whether a member called `name` exists (without reading its value).
    func contains(_ name: String) -> Bool {
        switch self {
        case .row(let source, _): return source.columnIndex[name] != nil
        case .fields(let fields, _): return fields[name] != nil
        }
    }

    func lookup(_ name: String) -> (ArrowValue, DataType)? {
        switch self {
        case .row(let source, let row):
            return source.columnIndex[name].map { (source.columns[$0].value(at: row), source.schema.fields[$0].type) }
        case .fields(let fields, _): return fields[name]
        }
    }

    var names: [String] {
        switch self {
        case .row(let source, _): return source.schema.fields.map(\.name)
        case .fields(_, let order): return order
        }
    }
}

struct KeyedValueContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: Members
    let decoder: ValueDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }
    var allKeys: [Key] { members.names.compactMap(Key.init(stringValue:)) }

    func contains(_ key: Key) -> Bool { members.contains(key.stringValue) }

    private func member(_ key: Key) throws -> (ArrowValue, DataType) {
        guard let found = members.lookup(key.stringValue) else {
            let path = codingPath + [key]
            throw QuiverError(
                .notFound,
                "no column '\(path.dottedPath)' for \(decoder.context.property(path)) (columns: \(members.names.joined(separator: ", ")))")
        }
        return found
    }

    func decodeNil(forKey key: Key) throws -> Bool { try member(key).0.isNull }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let (value, arrowType) = try member(key)
        return try decoder.decodeValue(T.self, value, arrowType, at: codingPath + [key])
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try childDecoder(key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try childDecoder(key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { decoder }
    func superDecoder(forKey key: Key) throws -> any Decoder { try childDecoder(key) }

    private func childDecoder(_ key: Key) throws -> ValueDecoder {
        let (value, arrowType) = try member(key)
        return ValueDecoder(node: .value(value, arrowType), codingPath: codingPath + [key], context: decoder.context)
    }
}

struct ListContainer: UnkeyedDecodingContainer {
    let elements: [ArrowValue]
    let elementType: DataType
    let decoder: ValueDecoder
    private(set) var currentIndex = 0

    init(elements: [ArrowValue], elementType: DataType, decoder: ValueDecoder) {
        self.elements = elements
        self.elementType = elementType
        self.decoder = decoder
    }

    var codingPath: [any CodingKey] { decoder.codingPath }
    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private var currentPath: [any CodingKey] { codingPath + [AnyCodingKey(intValue: currentIndex)] }

    private mutating func next() throws -> ArrowValue {
        guard !isAtEnd else {
            throw QuiverError(.typeMismatch, "\(decoder.context.property(codingPath)) reads past the \(elements.count) list elements")
        }
        defer { currentIndex += 1 }
        return elements[currentIndex]
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, elements[currentIndex].isNull else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let path = currentPath
        return try decoder.decodeValue(T.self, try next(), elementType, at: path)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try childDecoder().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try childDecoder().unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder { try childDecoder() }

    private mutating func childDecoder() throws -> ValueDecoder {
        let path = currentPath
        return ValueDecoder(node: .value(try next(), elementType), codingPath: path, context: decoder.context)
    }
}

/// Lets the decoder recognise `Optional` types, whatever they wrap.
protocol OptionalMarker {}
extension Optional: OptionalMarker {}
