import QuiverBytes

/// Appends slots one at a time (or in bulk) and produces `ArrayData`: the common surface of
/// every builder. Builders are classes (they own growing `MutableBuffer`s); `finish()` hands
/// the buffers over without copying and leaves the builder empty for reuse.
public protocol ArrayBuilder: AnyObject {
    /// The type of the arrays produced.
    var type: DataType { get }
    /// Slots appended so far.
    var length: Int { get }
    /// Null slots appended so far.
    var nullCount: Int { get }
    /// Appends a null slot.
    func appendNull()
    /// Appends a dynamic value, converting it to this builder's type. Throws `typeMismatch`
    /// when it does not fit (wrong kind, or an integer out of range).
    func append(value: ArrowValue) throws
    /// The array built so far; the builder is empty afterwards.
    func finish() -> ArrayData
}

/// A builder whose slots take one Swift value each.
public protocol TypedArrayBuilder: ArrayBuilder {
    associatedtype Value
    /// Appends a valid slot.
    func append(_ value: Value)
}

extension ArrayBuilder {
    /// Appends `count` null slots.
    /// O(count).
    public func appendNulls(_ count: Int) {
        for _ in 0..<count { appendNull() }
    }
}

extension TypedArrayBuilder {
    /// Appends a value, or a null for nil.
    public func append(_ value: Value?) {
        if let value { append(value) } else { appendNull() }
    }

    /// Appends each element (nil as null).
    /// O(elements).
    public func append<S: Sequence>(contentsOf values: S) where S.Element == Value? {
        for value in values { append(value) }
    }
}

/// A validity bitmap under construction. It allocates nothing until the first null, so
/// arrays without nulls get no bitmap at all.
struct ValidityBitmap {
    private var bits: MutableBuffer?
    private let pool: MemoryPool
    private(set) var length = 0
    private(set) var nullCount = 0

    init(pool: MemoryPool) { self.pool = pool }

    mutating func appendValid() {
        if let bits {
            grow(bits, to: length + 1)
            BitUtil.set(bits.pointer, length, true)
        }
        length += 1
    }

    /// Appends `count` valid slots.
    mutating func appendValid(count: Int) {
        if let bits {
            grow(bits, to: length + count)
            for index in length..<length + count { BitUtil.set(bits.pointer, index, true) }
        }
        length += count
    }

    mutating func appendNull() {
        let bits = materialize()
        grow(bits, to: length + 1)
        BitUtil.set(bits.pointer, length, false)
        length += 1
        nullCount += 1
    }

    /// The bitmap (empty when nothing was null); resets to empty.
    mutating func finish() -> Buffer {
        defer { self = ValidityBitmap(pool: pool) }
        guard let bits else { return .empty }
        // Bits past the length stay zero, as Arrow C++ writes them.
        for index in length..<bits.count * 8 { BitUtil.set(bits.pointer, index, false) }
        return bits.finish()
    }

    /// The bitmap, created on the first null with every earlier slot valid.
    private mutating func materialize() -> MutableBuffer {
        if let bits { return bits }
        let created = MutableBuffer(capacity: max(64, BitUtil.byteCount(forBits: length * 2)), pool: pool)
        created.resize(to: BitUtil.byteCount(forBits: length))
        created.pointer.initializeMemory(as: UInt8.self, repeating: 0xFF, count: created.count)
        bits = created
        return created
    }

    private func grow(_ bits: MutableBuffer, to bitCount: Int) {
        let needed = BitUtil.byteCount(forBits: bitCount)
        if bits.count < needed { bits.resize(to: needed) }
    }
}

/// The error for a dynamic value that does not fit a builder's type.
func typeMismatch(_ value: ArrowValue, _ type: DataType) -> QuiverError {
    QuiverError(.typeMismatch, "cannot store \(value.kindName) value in a \(type) array")
}

extension ArrowValue {
    /// The case name, for error messages.
    var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "bool"
        case .int: return "integer"
        case .uint: return "unsigned integer"
        case .float: return "floating-point"
        case .decimal: return "decimal"
        case .string: return "string"
        case .binary: return "binary"
        case .date32, .date64: return "date"
        case .time: return "time"
        case .timestamp: return "timestamp"
        case .duration: return "duration"
        case .yearMonthInterval, .dayTimeInterval, .monthDayNanoInterval: return "interval"
        case .list: return "list"
        case .struct: return "struct"
        case .map: return "map"
        }
    }
}

/// A builder for any supported type, driven by `append(value:)`: how dynamic values
/// (Codable rows, JSON, tests) become arrays. Throws `unsupported` for types without a
/// builder (views, list views, unions, dictionaries, run-end encoded).
public func makeBuilder(for type: DataType, capacity: Int = 0, pool: MemoryPool = .default) throws -> any ArrayBuilder {
    switch type.storageType {
    case .null: return NullBuilder(type: type)
    case .boolean: return BooleanBuilder(type: type, capacity: capacity, pool: pool)
    case .int8: return PrimitiveBuilder<Int8>(type: type, capacity: capacity, pool: pool)
    case .int16: return PrimitiveBuilder<Int16>(type: type, capacity: capacity, pool: pool)
    case .int32, .date32, .time32, .interval(.yearMonth):
        return PrimitiveBuilder<Int32>(type: type, capacity: capacity, pool: pool)
    case .int64, .date64, .time64, .timestamp, .duration:
        return PrimitiveBuilder<Int64>(type: type, capacity: capacity, pool: pool)
    case .uint8: return PrimitiveBuilder<UInt8>(type: type, capacity: capacity, pool: pool)
    case .uint16: return PrimitiveBuilder<UInt16>(type: type, capacity: capacity, pool: pool)
    case .float16: return PrimitiveBuilder<HalfFloat>(type: type, capacity: capacity, pool: pool)
    case .uint32: return PrimitiveBuilder<UInt32>(type: type, capacity: capacity, pool: pool)
    case .uint64: return PrimitiveBuilder<UInt64>(type: type, capacity: capacity, pool: pool)
    case .float32: return PrimitiveBuilder<Float>(type: type, capacity: capacity, pool: pool)
    case .float64: return PrimitiveBuilder<Double>(type: type, capacity: capacity, pool: pool)
    case .interval(.dayTime): return PrimitiveBuilder<DayTimeInterval>(type: type, capacity: capacity, pool: pool)
    case .interval(.monthDayNano):
        return PrimitiveBuilder<MonthDayNanoInterval>(type: type, capacity: capacity, pool: pool)
    case .decimal, .fixedSizeBinary: return try FixedSizeBinaryBuilder(type: type, capacity: capacity, pool: pool)
    case .binary: return BinaryBuilder(type: type, capacity: capacity, pool: pool)
    case .largeBinary: return LargeBinaryBuilder(type: type, capacity: capacity, pool: pool)
    case .utf8: return StringBuilder(type: type, capacity: capacity, pool: pool)
    case .largeUtf8: return LargeStringBuilder(type: type, capacity: capacity, pool: pool)
    case .list(let field):
        return ListBuilder(child: AnyArrayBuilder(try makeBuilder(for: field.type, pool: pool)), field: field, type: type, pool: pool)
    case .largeList(let field):
        return LargeListBuilder(child: AnyArrayBuilder(try makeBuilder(for: field.type, pool: pool)), field: field, type: type, pool: pool)
    case .fixedSizeList(let field, let size):
        return try FixedSizeListBuilder(child: AnyArrayBuilder(try makeBuilder(for: field.type, pool: pool)), field: field, listSize: size, type: type, pool: pool)
    case .struct(let fields):
        return StructBuilder(
            fields: fields, children: try fields.map { try makeBuilder(for: $0.type, pool: pool) }, type: type, pool: pool)
    case .map(let entries, let keysSorted):
        return try MapBuilder(entries: entries, keysSorted: keysSorted, type: type, pool: pool)
    default:
        throw QuiverError(.unsupported, "no builder for \(type)")
    }
}

extension ArrayData {
    /// Builds an array of `type` from dynamic values (`.null` for null slots). Throws
    /// `typeMismatch` when a value does not fit the type, `unsupported` for types without
    /// a builder.
    /// O(values), plus the bytes of strings and nested values.
    public static func build(_ values: [ArrowValue], type: DataType, pool: MemoryPool = .default) throws -> ArrayData {
        let builder = try makeBuilder(for: type, capacity: values.count, pool: pool)
        for value in values { try builder.append(value: value) }
        return builder.finish()
    }
}

/// Builds `.null` arrays: only a length.
public final class NullBuilder: ArrayBuilder {
    /// The type of the arrays produced.
    public let type: DataType
    /// Slots appended so far.
    public private(set) var length = 0
    /// Null slots appended so far.
    public var nullCount: Int { length }

    /// A builder for `type`, whose storage type must be `.null`.
    public init(type: DataType = .null) {
        precondition(type.storageType == .null, "NullBuilder for \(type)")
        self.type = type
    }

    /// Appends a null slot (amortised O(1)).
    public func appendNull() { length += 1 }

    /// Appends a dynamic value, converting it to this builder's type; throws `typeMismatch`
    /// when it does not fit.
    public func append(value: ArrowValue) throws {
        guard value.isNull else { throw typeMismatch(value, type) }
        length += 1
    }

    /// The array built so far, handing over the buffers without copying; the builder is
    /// empty afterwards.
    public func finish() -> ArrayData {
        defer { length = 0 }
        return ArrayData(uncheckedType: type, length: length, nullCount: length, buffers: [])
    }
}
