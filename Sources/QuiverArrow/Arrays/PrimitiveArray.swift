import QuiverBytes

/// A fixed-width element type that a `PrimitiveArray` can view in place.
///
/// Several Arrow types share one storage type (date32, time32 and month intervals are
/// `Int32`; timestamps, durations, date64 and time64 are `Int64`), so each element type
/// says which Arrow types it can view.
public protocol ArrowPrimitive: BitwiseCopyable, Sendable {
    /// The Arrow type builders produce for this element type.
    static var arrowType: DataType { get }
    /// Whether arrays of `type` (a storage type) store exactly this element type.
    static func canView(_ type: DataType) -> Bool
    /// Converts a dynamic value (nil when it is of another kind or out of range), for
    /// `ArrayBuilder.append(value:)`.
    init?(arrowValue: ArrowValue)
}

extension ArrowPrimitive where Self: FixedWidthInteger {
    /// Integers, and the integer payload of temporal values, when they fit exactly.
    public init?(arrowValue value: ArrowValue) {
        guard let exact: Self = exactInteger(value) else { return nil }
        self = exact
    }
}

/// An integer value, or the integer payload of a temporal value, as `I` when it fits exactly
/// (nil for other kinds and out-of-range values).
func exactInteger<I: FixedWidthInteger>(_ value: ArrowValue) -> I? {
    switch value {
    case .int(let v), .date64(let v), .time(let v, _), .timestamp(let v, _, _), .duration(let v, _):
        return I(exactly: v)
    case .date32(let v), .yearMonthInterval(let v): return I(exactly: v)
    case .uint(let v): return I(exactly: v)
    default: return nil
    }
}

extension ArrowPrimitive where Self: BinaryFloatingPoint {
    /// Floating-point values (rounded to this precision) and integers.
    public init?(arrowValue value: ArrowValue) {
        switch value {
        case .float(let v): self.init(v)
        case .int(let v): self.init(v)
        case .uint(let v): self.init(v)
        default: return nil
        }
    }
}

extension ArrowPrimitive {
    /// Default: only the type's own Arrow type.
    public static func canView(_ type: DataType) -> Bool { type == arrowType }
}

extension Int8: ArrowPrimitive { public static var arrowType: DataType { .int8 } }
extension Int16: ArrowPrimitive { public static var arrowType: DataType { .int16 } }
extension UInt8: ArrowPrimitive { public static var arrowType: DataType { .uint8 } }
extension UInt32: ArrowPrimitive { public static var arrowType: DataType { .uint32 } }
extension UInt64: ArrowPrimitive { public static var arrowType: DataType { .uint64 } }
extension Float: ArrowPrimitive { public static var arrowType: DataType { .float32 } }
extension Double: ArrowPrimitive { public static var arrowType: DataType { .float64 } }

extension UInt16: ArrowPrimitive {
    /// uint16.
    public static var arrowType: DataType { .uint16 }
    /// uint16, and float16 read as raw IEEE half-precision bits.
    public static func canView(_ type: DataType) -> Bool { type == .uint16 || type == .float16 }
}

extension Int32: ArrowPrimitive {
    /// int32.
    public static var arrowType: DataType { .int32 }
    /// int32, date32 (days), time32 and year-month intervals (months).
    public static func canView(_ type: DataType) -> Bool {
        switch type {
        case .int32, .date32, .time32, .interval(.yearMonth): return true
        default: return false
        }
    }
}

extension Int64: ArrowPrimitive {
    /// int64.
    public static var arrowType: DataType { .int64 }
    /// int64, date64 (ms), time64, timestamps and durations.
    public static func canView(_ type: DataType) -> Bool {
        switch type {
        case .int64, .date64, .time64, .timestamp, .duration: return true
        default: return false
        }
    }
}

#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
extension Float16: ArrowPrimitive { public static var arrowType: DataType { .float16 } }
#endif

/// One `interval(.dayTime)` value: days and milliseconds (8 bytes, as Arrow stores it).
public struct DayTimeInterval: ArrowPrimitive, Hashable {
    /// Whole days.
    public var days: Int32
    /// Milliseconds on top of the days.
    public var milliseconds: Int32
    /// An interval of `days` days and `milliseconds` ms.
    public init(days: Int32, milliseconds: Int32) {
        self.days = days
        self.milliseconds = milliseconds
    }
    /// interval(.dayTime).
    public static var arrowType: DataType { .interval(.dayTime) }
    /// The interval inside a matching `ArrowValue`, else nil.
    public init?(arrowValue value: ArrowValue) {
        guard case .dayTimeInterval(let v) = value else { return nil }
        self = v
    }
}

/// One `interval(.monthDayNano)` value (16 bytes, as Arrow stores it).
public struct MonthDayNanoInterval: ArrowPrimitive, Hashable {
    /// Whole months.
    public var months: Int32
    /// Whole days.
    public var days: Int32
    /// Nanoseconds on top of the months and days.
    public var nanoseconds: Int64
    /// An interval of months, days and nanoseconds.
    public init(months: Int32, days: Int32, nanoseconds: Int64) {
        self.months = months
        self.days = days
        self.nanoseconds = nanoseconds
    }
    /// interval(.monthDayNano).
    public static var arrowType: DataType { .interval(.monthDayNano) }
    /// The interval inside a matching `ArrowValue`, else nil.
    public init?(arrowValue value: ArrowValue) {
        guard case .monthDayNanoInterval(let v) = value else { return nil }
        self = v
    }
}

/// A fixed-width numeric (or temporal) array viewed in place as `T` values.
///
/// `values` points straight into the data buffer, offset applied: no copy. The pointer is
/// valid as long as this array (or its `data`) is alive.
public struct PrimitiveArray<T: ArrowPrimitive>: ArrowScalarArray, @unchecked Sendable {
    /// The array data viewed (shared, never copied).
    public let data: ArrayData
    /// The `length` values, null slots included (their contents are unspecified). Package-only:
    /// outside Quiver use `withUnsafeValues`, which keeps the array alive.
    @usableFromInline package let values: UnsafeBufferPointer<T>
    @usableFromInline let nulls: NullMask

    /// Views `data` without copying. Throws `typeMismatch` if its type does not fit this
    /// array type and `invalidData` if its buffers are too small (O(1) per buffer).
    public init(_ data: ArrayData) throws {
        try checkArrayType(data, "PrimitiveArray<\(T.self)>", T.canView)
        self.init(unchecked: data)
    }

    /// Wraps data already known to be valid and of a viewable type.
    init(unchecked data: ArrayData) {
        self.data = data
        let start = data.buffers.count > 1 ? data.buffers[1].baseAddress : Buffer.empty.baseAddress
        values = UnsafeBufferPointer(
            start: start.assumingMemoryBound(to: T.self) + data.offset, count: data.length)
        nulls = NullMask(data)
    }

    /// Whether slot `index` is null. O(1).
    @inlinable public func isNull(_ index: Int) -> Bool { nulls.isNull(index) }
    /// The value in slot `index`, read in place (a null slot's value is unspecified). O(1).
    @inlinable public func value(at index: Int) -> T { values[index] }

    /// Calls `body` with the `length` values (null slots included, their contents
    /// unspecified), viewed in place; the pointer must not escape `body`.
    @inlinable
    public func withUnsafeValues<R, E: Error>(_ body: (UnsafeBufferPointer<T>) throws(E) -> R) throws(E) -> R {
        defer { withExtendedLifetime(data) {} }
        return try body(values)
    }
}

// The numeric arrays, by element type.
/// int8 values.
public typealias Int8Array = PrimitiveArray<Int8>
/// int16 values.
public typealias Int16Array = PrimitiveArray<Int16>
/// int32 values, and the types stored as int32 (date32, time32, year-month intervals).
public typealias Int32Array = PrimitiveArray<Int32>
/// int64 values, and the types stored as int64 (date64, time64, timestamps, durations).
public typealias Int64Array = PrimitiveArray<Int64>
/// uint8 values.
public typealias UInt8Array = PrimitiveArray<UInt8>
/// uint16 values.
public typealias UInt16Array = PrimitiveArray<UInt16>
/// uint32 values.
public typealias UInt32Array = PrimitiveArray<UInt32>
/// uint64 values.
public typealias UInt64Array = PrimitiveArray<UInt64>
/// float32 values.
public typealias Float32Array = PrimitiveArray<Float>
/// float64 values.
public typealias Float64Array = PrimitiveArray<Double>
#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
/// The element type of float16 arrays: Swift's `Float16` where it exists, raw bits
/// (`UInt16`) on Intel Macs.
public typealias HalfFloat = Float16
#else
/// The element type of float16 arrays on Intel Macs, which lack `Float16`: the raw bits.
public typealias HalfFloat = UInt16
#endif
/// Half-precision floats.
public typealias Float16Array = PrimitiveArray<HalfFloat>
/// Days since the epoch.
public typealias Date32Array = PrimitiveArray<Int32>
/// Milliseconds since the epoch.
public typealias Date64Array = PrimitiveArray<Int64>
/// Seconds or milliseconds since midnight.
public typealias Time32Array = PrimitiveArray<Int32>
/// Microseconds or nanoseconds since midnight.
public typealias Time64Array = PrimitiveArray<Int64>
/// Instants in the type's unit since the epoch.
public typealias TimestampArray = PrimitiveArray<Int64>
/// Durations in the type's unit.
public typealias DurationArray = PrimitiveArray<Int64>
/// Year-month intervals (months).
public typealias YearMonthIntervalArray = PrimitiveArray<Int32>
/// Day-time intervals.
public typealias DayTimeIntervalArray = PrimitiveArray<DayTimeInterval>
/// Month-day-nanosecond intervals.
public typealias MonthDayNanoIntervalArray = PrimitiveArray<MonthDayNanoInterval>

/// Booleans, bit-packed: each value is one bit of the values bitmap.
public struct BooleanArray: ArrowScalarArray, @unchecked Sendable {
    /// The array data viewed (shared, never copied).
    public let data: ArrayData
    @usableFromInline let bits: UnsafeRawPointer
    @usableFromInline let nulls: NullMask

    /// Views `data` without copying. Throws `typeMismatch` if its type does not fit this
    /// array type and `invalidData` if its buffers are too small (O(1) per buffer).
    public init(_ data: ArrayData) throws {
        try checkArrayType(data, "BooleanArray") { $0 == .boolean }
        self.init(unchecked: data)
    }

    init(unchecked data: ArrayData) {
        self.data = data
        bits = data.buffers.count > 1 ? data.buffers[1].baseAddress : Buffer.empty.baseAddress
        nulls = NullMask(data)
    }

    /// Whether slot `index` is null. O(1).
    @inlinable public func isNull(_ index: Int) -> Bool { nulls.isNull(index) }
    /// The bit of slot `index` (false or garbage for a null slot). O(1).
    @inlinable public func value(at index: Int) -> Bool { BitUtil.get(bits, data.offset + index) }
}

/// The null type: every slot is null and there are no buffers.
public struct NullArray: ArrowArray {
    /// The array data viewed (shared, never copied).
    public let data: ArrayData

    /// Views `data` without copying. Throws `typeMismatch` if its type does not fit this
    /// array type and `invalidData` if its buffers are too small (O(1) per buffer).
    public init(_ data: ArrayData) throws {
        try checkArrayType(data, "NullArray") { $0 == .null }
        self.init(unchecked: data)
    }

    init(unchecked data: ArrayData) { self.data = data }

    /// Always true.
    public func isNull(_ index: Int) -> Bool { true }
}
