import QuiverArrow

/// A fixed-width number stored in an Arrow values buffer: the element type every numeric
/// kernel is generic over, so each kernel is specialised per physical type with no
/// existential or boxing in its inner loop.
///
/// Conversions go through two canonical carriers: `Int128` (every integer and every decimal's
/// unscaled value fits) and `Double`.
protocol NumberValue: BitwiseCopyable, Comparable, Hashable, Sendable {
    static var zero: Self { get }
    static var isInteger: Bool { get }
    /// The value as an `Int128` (integers exactly; floats truncated, only used when integral).
    var int128Value: Int128 { get }
    var doubleValue: Double { get }
    /// The value of an integer, or nil when it does not fit (floats convert, never nil).
    init?(exactlyInt128 value: Int128)
    /// A float, or an integer when `value` is integral and in range.
    init?(exactlyDouble value: Double)
}

extension NumberValue where Self: FixedWidthInteger {
    static var isInteger: Bool { true }
    var int128Value: Int128 { Int128(self) }
    var doubleValue: Double { Double(self) }
    init?(exactlyInt128 value: Int128) { self.init(exactly: value) }
    init?(exactlyDouble value: Double) { self.init(exactly: value) }
}

extension NumberValue where Self: BinaryFloatingPoint {
    static var isInteger: Bool { false }
    var int128Value: Int128 { isFinite ? Int128(exactly: self.rounded(.towardZero)) ?? 0 : 0 }
    var doubleValue: Double { Double(self) }
    init?(exactlyInt128 value: Int128) { self.init(value) }
    init?(exactlyDouble value: Double) { self.init(value) }
}

extension Int8: NumberValue {}
extension Int16: NumberValue {}
extension Int32: NumberValue {}
extension Int64: NumberValue {}
extension UInt8: NumberValue {}
extension UInt16: NumberValue {}
extension UInt32: NumberValue {}
extension UInt64: NumberValue {}
extension Int128: NumberValue {}
extension Float: NumberValue {}
extension Double: NumberValue {}

/// A number type arithmetic computes in: `Int64` (integers, checked), `Double`, or `Int128`
/// (decimals, checked). Operations report overflow instead of trapping.
protocol ArithmeticValue: NumberValue {
    static func add(_ a: Self, _ b: Self) -> (Self, overflow: Bool)
    static func subtract(_ a: Self, _ b: Self) -> (Self, overflow: Bool)
    static func multiply(_ a: Self, _ b: Self) -> (Self, overflow: Bool)
    /// Division with a non-zero divisor (the kernels null out zero divisors beforehand).
    static func divide(_ a: Self, _ b: Self) -> (Self, overflow: Bool)
    static func remainder(_ a: Self, _ b: Self) -> (Self, overflow: Bool)
    /// `value` in this type (integers exactly for `Int128`, floats through `Double`). A
    /// requirement rather than a closure so generic loops specialise it inline.
    static func widen<T: NumberValue>(_ value: T) -> Self
}

extension ArithmeticValue where Self: FixedWidthInteger {
    @inline(__always) static func widen<T: NumberValue>(_ value: T) -> Self { Self(truncatingIfNeeded: value.int128Value) }
    @inline(__always) static func add(_ a: Self, _ b: Self) -> (Self, overflow: Bool) {
        let r = a.addingReportingOverflow(b)
        return (r.partialValue, r.overflow)
    }
    @inline(__always) static func subtract(_ a: Self, _ b: Self) -> (Self, overflow: Bool) {
        let r = a.subtractingReportingOverflow(b)
        return (r.partialValue, r.overflow)
    }
    @inline(__always) static func multiply(_ a: Self, _ b: Self) -> (Self, overflow: Bool) {
        let r = a.multipliedReportingOverflow(by: b)
        return (r.partialValue, r.overflow)
    }
    @inline(__always) static func divide(_ a: Self, _ b: Self) -> (Self, overflow: Bool) {
        // A zero divisor only reaches here in a row already nulled; report no overflow for it.
        guard b != 0 else { return (0, false) }
        let r = a.dividedReportingOverflow(by: b)
        return (r.partialValue, r.overflow)
    }
    @inline(__always) static func remainder(_ a: Self, _ b: Self) -> (Self, overflow: Bool) {
        guard b != 0 else { return (0, false) }
        let r = a.remainderReportingOverflow(dividingBy: b)
        return (r.partialValue, r.overflow)
    }
}

extension ArithmeticValue where Self: BinaryFloatingPoint {
    @inline(__always) static func widen<T: NumberValue>(_ value: T) -> Self { Self(value.doubleValue) }
    @inline(__always) static func add(_ a: Self, _ b: Self) -> (Self, overflow: Bool) { (a + b, false) }
    @inline(__always) static func subtract(_ a: Self, _ b: Self) -> (Self, overflow: Bool) { (a - b, false) }
    @inline(__always) static func multiply(_ a: Self, _ b: Self) -> (Self, overflow: Bool) { (a * b, false) }
    @inline(__always) static func divide(_ a: Self, _ b: Self) -> (Self, overflow: Bool) { (a / b, false) }
    @inline(__always) static func remainder(_ a: Self, _ b: Self) -> (Self, overflow: Bool) {
        (a.truncatingRemainder(dividingBy: b), false)
    }
}

extension Int64: ArithmeticValue {}
extension Int128: ArithmeticValue {}
extension Double: ArithmeticValue {}

/// Something done once per physical number type; `NumberKind.visit` picks the concrete type,
/// so the generic `visit` is specialised for each.
protocol NumberVisitor {
    associatedtype VisitResult
    func visit<T: NumberValue>(_ type: T.Type) throws -> VisitResult
}

/// The physical number types the kernels handle.
enum NumberKind: Sendable, Hashable {
    case int8, int16, int32, int64, uint8, uint16, uint32, uint64, int128, float32, float64

    /// The physical kind behind a logical type: dates, times, timestamps and durations are
    /// their integer storage, decimals their unscaled integer. Nil for non-numbers and for
    /// `decimal256` and `halffloat`, which the query engine does not compute on.
    init?(_ type: DataType) {
        switch type.storageType {
        case .int8: self = .int8
        case .int16: self = .int16
        case .int32, .date32, .time32: self = .int32
        case .int64, .date64, .time64, .timestamp, .duration: self = .int64
        case .uint8: self = .uint8
        case .uint16: self = .uint16
        case .uint32: self = .uint32
        case .uint64: self = .uint64
        case .float32: self = .float32
        case .float64: self = .float64
        case .decimal(32, _, _): self = .int32
        case .decimal(64, _, _): self = .int64
        case .decimal(128, _, _): self = .int128
        default: return nil
        }
    }

    func visit<V: NumberVisitor>(_ visitor: V) throws -> V.VisitResult {
        switch self {
        case .int8: return try visitor.visit(Int8.self)
        case .int16: return try visitor.visit(Int16.self)
        case .int32: return try visitor.visit(Int32.self)
        case .int64: return try visitor.visit(Int64.self)
        case .uint8: return try visitor.visit(UInt8.self)
        case .uint16: return try visitor.visit(UInt16.self)
        case .uint32: return try visitor.visit(UInt32.self)
        case .uint64: return try visitor.visit(UInt64.self)
        case .int128: return try visitor.visit(Int128.self)
        case .float32: return try visitor.visit(Float.self)
        case .float64: return try visitor.visit(Double.self)
        }
    }
}
