import QuiverArrow
import QuiverBytes

/// A kernel input or output: one value per row, or one value for every row.
enum Datum {
    case array(ArrayData)
    case scalar(Scalar)

    var type: DataType {
        switch self {
        case .array(let data): return data.type
        case .scalar(let scalar): return scalar.type
        }
    }

    /// The validity view of an array datum (nil when all valid or scalar).
    var validity: BitView? {
        if case .array(let data) = self { return Bitmaps.validity(data) }
        return nil
    }

    var isNullScalar: Bool {
        if case .scalar(let scalar) = self { return scalar.isNull }
        return false
    }

    /// The datum as an array of `length` rows (a scalar is repeated; allocates).
    func materialize(length: Int, pool: MemoryPool) throws -> ArrayData {
        switch self {
        case .array(let data): return data
        case .scalar(let scalar): return try ScalarArrays.repeated(scalar, count: length, pool: pool)
        }
    }
}

/// Conversions between scalars and arrays.
enum ScalarArrays {
    /// The scalar's value as the physical number `T` (exact; nil when null or not numeric).
    static func number<T: NumberValue>(_ scalar: Scalar, as type: T.Type) -> T? {
        switch scalar.payload {
        case .int(let v): return T.isInteger ? T(exactlyInt128: Int128(v)) : T(exactlyDouble: Double(v))
        case .uint(let v): return T.isInteger ? T(exactlyInt128: Int128(v)) : T(exactlyDouble: Double(v))
        case .decimal(let v): return T(exactlyInt128: v)
        case .float(let v): return T(exactlyDouble: v)
        case .bool(let b): return T(exactlyInt128: b ? 1 : 0)
        case .null, .bytes: return nil
        }
    }

    /// The scalar of `T` typed as `type`.
    static func scalar<T: NumberValue>(_ value: T, type: DataType) -> Scalar {
        let payload: Scalar.Payload
        switch type.storageType {
        case .float32, .float64: payload = .float(value.doubleValue)
        case .uint8, .uint16, .uint32, .uint64: payload = .uint(UInt64(truncatingIfNeeded: value.int128Value))
        case .decimal: payload = .decimal(value.int128Value)
        default: payload = .int(Int64(truncatingIfNeeded: value.int128Value))
        }
        return Scalar(type: type, payload: payload)
    }

    /// An array repeating `scalar` `count` times.
    static func repeated(_ scalar: Scalar, count: Int, pool: MemoryPool) throws -> ArrayData {
        let type = scalar.type
        if scalar.isNull { return Output.nulls(type, length: count, pool: pool) }
        switch (scalar.payload, type.storageType) {
        case (.bool(let value), _):
            let writer = Bitmaps.build(count: count, pool: pool) { _ in value }
            return Output.array(type, length: count, validity: nil, [writer.finish()])
        case (.bytes(let bytes), _):
            var builder = StringBuilder(type: type, capacity: count, pool: pool)
            try bytes.withUnsafeBytes { raw in
                for _ in 0..<count { try builder.append(raw) }
            }
            return builder.finish()
        default:
            guard let kind = NumberKind(type) else {
                throw QuiverError(.unsupported, "cannot make an array of \(type)")
            }
            return try kind.visit(Repeat(scalar: scalar, count: count, pool: pool))
        }
    }

    private struct Repeat: NumberVisitor {
        let scalar: Scalar
        let count: Int
        let pool: MemoryPool
        func visit<T: NumberValue>(_ type: T.Type) throws -> ArrayData {
            guard let value = ScalarArrays.number(scalar, as: T.self) else {
                throw QuiverError(.query, "\(scalar) does not fit \(scalar.type)")
            }
            let values = Output.fixed(T.self, count: count, pool: pool) { out in
                out.initialize(repeating: value, count: count)
            }
            return Output.array(scalar.type, length: count, validity: nil, [values])
        }
    }

    /// Row `index` of a prepared array as a scalar (dictionary arrays yield their value).
    static func scalar(_ data: ArrayData, at index: Int) -> Scalar {
        if data.isNull(index) { return .null(valueType(data.type)) }
        switch data.type.storageType {
        case .boolean:
            return Scalar(type: data.type, payload: .bool(Columns.bits(data)[index]))
        case .utf8, .binary:
            return Scalar(type: data.type, payload: .bytes(Array(Columns.strings(data, offsets: Int32.self)[index].bytes)))
        case .largeUtf8, .largeBinary:
            return Scalar(type: data.type, payload: .bytes(Array(Columns.strings(data, offsets: Int64.self)[index].bytes)))
        case .dictionary(let indexType, _, _):
            guard let dictionary = data.dictionary, let kind = NumberKind(indexType),
                let position = try? kind.visit(ReadIndex(data: data, row: index))
            else { return .null(valueType(data.type)) }
            return scalar(dictionary, at: position)
        default:
            guard let kind = NumberKind(data.type),
                let scalar = try? kind.visit(ReadNumber(data: data, row: index))
            else { return .null(data.type) }
            return scalar
        }
    }

    private struct ReadNumber: NumberVisitor {
        let data: ArrayData
        let row: Int
        func visit<T: NumberValue>(_ type: T.Type) throws -> Scalar {
            ScalarArrays.scalar(Columns.values(data, as: T.self)[row], type: data.type)
        }
    }

    private struct ReadIndex: NumberVisitor {
        let data: ArrayData
        let row: Int
        func visit<T: NumberValue>(_ type: T.Type) throws -> Int {
            Int(truncatingIfNeeded: Columns.values(data, as: T.self)[row].int128Value)
        }
    }

    /// The type of the values a column holds: a dictionary's value type, else the type.
    static func valueType(_ type: DataType) -> DataType {
        if case .dictionary(_, let value, _) = type.storageType { return value }
        return type.storageType
    }
}
