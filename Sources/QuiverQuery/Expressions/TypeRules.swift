import QuiverArrow
import QuiverBytes

/// Implicit conversions: which type two operands meet at for a comparison or arithmetic, and
/// which explicit casts exist. Dictionary columns are typed by their values.
///
/// - integers compare at their common integer type (signed wins; `uint64` meets signed types
///   at `int64`, values past its range are a runtime error); arithmetic on integers is `int64`;
/// - a float anywhere makes `double`;
/// - decimals stay exact (`decimal128`): + and − align scales, × adds them, ÷ and % are `double`;
/// - dates and timestamps compare at the finer of the two (date32 < date64 < timestamp);
/// - strings compare bytewise (utf8 with large_utf8 directly); a string *literal* next to a
///   date, timestamp, number or boolean is parsed as that type.
enum TypeRules {
    enum Family: Equatable {
        case null, boolean, integer, float, decimal, temporal, string, binary, other
    }

    static func family(_ type: DataType) -> Family {
        switch ScalarArrays.valueType(type) {
        case .null: return .null
        case .boolean: return .boolean
        case .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64: return .integer
        case .float32, .float64: return .float
        case .decimal(let bits, _, let scale) where bits <= 128 && scale >= 0 && scale <= 38: return .decimal
        case .date32, .date64, .timestamp, .time32, .time64, .duration: return .temporal
        case .utf8, .largeUtf8: return .string
        case .binary, .largeBinary: return .binary
        default: return .other
        }
    }

    static func isNumeric(_ type: DataType) -> Bool {
        [.integer, .float, .decimal].contains(family(type))
    }

    /// Width in bits and signedness of an integer type.
    private static func integerShape(_ type: DataType) -> (bits: Int, signed: Bool) {
        switch ScalarArrays.valueType(type) {
        case .int8: return (8, true)
        case .int16: return (16, true)
        case .int32: return (32, true)
        case .uint8: return (8, false)
        case .uint16: return (16, false)
        case .uint32: return (32, false)
        case .uint64: return (64, false)
        default: return (64, true)
        }
    }

    private static func integerType(bits: Int, signed: Bool) -> DataType {
        switch (bits, signed) {
        case (8, true): return .int8
        case (16, true): return .int16
        case (32, true): return .int32
        case (8, false): return .uint8
        case (16, false): return .uint16
        case (32, false): return .uint32
        case (64, false): return .uint64
        default: return .int64
        }
    }

    /// An integer type as the narrowest decimal that holds it exactly.
    static func asDecimal(_ type: DataType) -> (precision: Int, scale: Int) {
        if case .decimal(_, let p, let s) = ScalarArrays.valueType(type) { return (p, s) }
        switch integerShape(type).bits {
        case 8: return (3, 0)
        case 16: return (5, 0)
        case 32: return (10, 0)
        default: return (integerShape(type).signed ? 19 : 20, 0)
        }
    }

    static func decimal128(_ precision: Int, _ scale: Int) -> DataType {
        .decimal(bitWidth: 128, precision: Swift.min(precision, 38), scale: scale)
    }

    /// The type both sides of a comparison are cast to, or nil when they compare as they are
    /// (strings of either offset width, equal types).
    static func comparisonType(_ a: DataType, _ b: DataType) throws -> DataType? {
        let va = ScalarArrays.valueType(a)
        let vb = ScalarArrays.valueType(b)
        let fa = family(a)
        let fb = family(b)
        if fa == .null || fb == .null { return nil }
        if va == vb { return nil }
        switch (fa, fb) {
        case (.string, .string), (.binary, .binary): return nil
        case (.integer, .integer):
            let x = integerShape(va)
            let y = integerShape(vb)
            if x.signed == y.signed { return integerType(bits: Swift.max(x.bits, y.bits), signed: x.signed) }
            let (signed, unsigned) = x.signed ? (x, y) : (y, x)
            return integerType(bits: Swift.min(64, Swift.max(signed.bits, unsigned.bits * 2)), signed: true)
        case (.float, .float), (.float, .integer), (.integer, .float), (.float, .decimal), (.decimal, .float):
            return .float64
        case (.decimal, .decimal), (.decimal, .integer), (.integer, .decimal):
            let x = asDecimal(va)
            let y = asDecimal(vb)
            let scale = Swift.max(x.scale, y.scale)
            return decimal128(Swift.max(x.precision - x.scale, y.precision - y.scale) + scale, scale)
        case (.temporal, .temporal):
            return try temporalCommonType(va, vb)
        default:
            throw QuiverError(.query, "cannot compare \(va) with \(vb)")
        }
    }

    private static func temporalCommonType(_ a: DataType, _ b: DataType) throws -> DataType {
        func rank(_ t: DataType) -> Int? {
            switch t {
            case .date32: return 0
            case .date64: return 1
            case .timestamp: return 2
            default: return nil
            }
        }
        guard let ra = rank(a), let rb = rank(b) else {
            throw QuiverError(.query, "cannot compare \(a) with \(b)")
        }
        if case .timestamp(let ua, let za) = a, case .timestamp(let ub, let zb) = b {
            if let za, let zb, za != zb {
                throw QuiverError(.query, "cannot compare timestamps in time zones \(za) and \(zb)")
            }
            return .timestamp(ua.rawValue >= ub.rawValue ? ua : ub, timezone: za ?? zb)
        }
        return ra >= rb ? a : b
    }

    /// For arithmetic: the types each operand is cast to, and the result type.
    static func arithmeticTypes(_ op: ArithmeticOp, _ a: DataType, _ b: DataType) throws
        -> (left: DataType, right: DataType, result: DataType)
    {
        let va = ScalarArrays.valueType(a)
        let vb = ScalarArrays.valueType(b)
        let fa = family(a)
        let fb = family(b)
        // NULL adopts the other side's type.
        if fa == .null && fb == .null { return (.int64, .int64, .int64) }
        if fa == .null { return try arithmeticTypes(op, b, b) }
        if fb == .null { return try arithmeticTypes(op, a, a) }
        guard [Family.integer, .float, .decimal].contains(fa), [Family.integer, .float, .decimal].contains(fb) else {
            throw QuiverError(.query, "cannot apply \(op.rawValue) to \(va) and \(vb)")
        }
        // Decimal % decimal stays exact, as DuckDB (`-740412.34 % 0.01` is 0.00); ÷ is double.
        if fa == .float || fb == .float || ((fa == .decimal || fb == .decimal) && op == .divide) {
            return (.float64, .float64, .float64)
        }
        if fa == .integer && fb == .integer { return (.int64, .int64, .int64) }
        let x = asDecimal(va)
        let y = asDecimal(vb)
        switch op {
        case .multiply:
            let scale = x.scale + y.scale
            guard scale <= 38 else { throw QuiverError(.query, "decimal product scale \(scale) exceeds 38") }
            return (decimal128(38, x.scale), decimal128(38, y.scale), decimal128(x.precision + y.precision, scale))
        default:
            let scale = Swift.max(x.scale, y.scale)
            let precision = Swift.max(x.precision - x.scale, y.precision - y.scale) + scale + 1
            return (decimal128(38, scale), decimal128(38, scale), decimal128(precision, scale))
        }
    }

    /// Whether `CAST(from AS to)` is supported.
    static func canCast(_ from: DataType, to: DataType) -> Bool {
        // Casts produce plain arrays: never to dictionary or extension types.
        guard to.storageType == to, !isDictionary(to) else { return false }
        let source = family(from)
        let target = family(to)
        if source == .null { return target != .other }
        if ScalarArrays.valueType(from) == to { return true }
        switch (source, target) {
        case (_, .other), (.other, _): return false
        case (_, .string): return to == .utf8 || to == .largeUtf8
        case (.string, .boolean), (.string, .integer), (.string, .float), (.string, .decimal): return decimalIs128(to)
        case (.string, .temporal), (.temporal, .temporal): return Cast.ticksPerDay(to) != nil
            && (source == .string || Cast.ticksPerDay(ScalarArrays.valueType(from)) != nil)
        case (.integer, .integer), (.integer, .float), (.integer, .decimal), (.float, .integer), (.float, .float),
            (.float, .decimal), (.decimal, .integer), (.decimal, .float), (.decimal, .decimal):
            return decimalIs128(to)
        default: return false
        }
    }

    private static func isDictionary(_ type: DataType) -> Bool {
        if case .dictionary = type { return true }
        return false
    }

    private static func decimalIs128(_ type: DataType) -> Bool {
        if case .decimal(let bits, _, _) = type { return bits == 128 }
        return true
    }
}
