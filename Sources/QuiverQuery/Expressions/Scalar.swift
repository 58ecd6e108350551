import QuiverArrow
import QuiverBytes

/// One typed value: a literal in an expression, or a bound in column statistics.
///
/// The `type` is an Arrow type (`int32`, `date32`, `decimal128(15, 2)`, …); the value is
/// held in the widest representation of its family (signed integers, dates and timestamps as
/// `Int64`, unsigned as `UInt64`, floats as `Double`, decimals as their unscaled `Int128`).
/// A null scalar still has a type; `Scalar.null` is the untyped SQL `NULL`, which adopts the
/// type of whatever it meets.
public struct Scalar: Sendable, Hashable {
    /// The Arrow type of the value.
    public let type: DataType
    let payload: Payload

    enum Payload: Sendable, Hashable {
        case null
        case bool(Bool)
        case int(Int64)
        case uint(UInt64)
        case float(Double)
        case decimal(Int128)
        case bytes([UInt8])
    }

    init(type: DataType, payload: Payload) {
        self.type = type
        self.payload = payload
    }

    /// The untyped SQL `NULL`.
    public static let null = Scalar(type: .null, payload: .null)
    /// A null of a given type.
    public static func null(_ type: DataType) -> Scalar { Scalar(type: type, payload: .null) }
    /// A boolean.
    public static func boolean(_ value: Bool) -> Scalar { Scalar(type: .boolean, payload: .bool(value)) }
    /// An `int8`.
    public static func int8(_ value: Int8) -> Scalar { Scalar(type: .int8, payload: .int(Int64(value))) }
    /// An `int16`.
    public static func int16(_ value: Int16) -> Scalar { Scalar(type: .int16, payload: .int(Int64(value))) }
    /// An `int32`.
    public static func int32(_ value: Int32) -> Scalar { Scalar(type: .int32, payload: .int(Int64(value))) }
    /// An `int64`.
    public static func int64(_ value: Int64) -> Scalar { Scalar(type: .int64, payload: .int(value)) }
    /// A `uint8`.
    public static func uint8(_ value: UInt8) -> Scalar { Scalar(type: .uint8, payload: .uint(UInt64(value))) }
    /// A `uint16`.
    public static func uint16(_ value: UInt16) -> Scalar { Scalar(type: .uint16, payload: .uint(UInt64(value))) }
    /// A `uint32`.
    public static func uint32(_ value: UInt32) -> Scalar { Scalar(type: .uint32, payload: .uint(UInt64(value))) }
    /// A `uint64`.
    public static func uint64(_ value: UInt64) -> Scalar { Scalar(type: .uint64, payload: .uint(value)) }
    /// A `float` (32-bit).
    public static func float32(_ value: Float) -> Scalar { Scalar(type: .float32, payload: .float(Double(value))) }
    /// A `double`.
    public static func float64(_ value: Double) -> Scalar { Scalar(type: .float64, payload: .float(value)) }
    /// A `string` (utf8).
    public static func utf8(_ value: String) -> Scalar { Scalar(type: .utf8, payload: .bytes(Array(value.utf8))) }
    /// A `date32`: days since 1970-01-01.
    public static func date32(daysSinceEpoch days: Int32) -> Scalar {
        Scalar(type: .date32, payload: .int(Int64(days)))
    }
    /// A `date64`: milliseconds since 1970-01-01 (a whole number of days, as Arrow requires).
    public static func date64(millisecondsSinceEpoch ms: Int64) -> Scalar {
        Scalar(type: .date64, payload: .int(ms))
    }
    /// A `timestamp` in `unit` since the epoch.
    public static func timestamp(_ value: Int64, unit: TimeUnit, timezone: String? = nil) -> Scalar {
        Scalar(type: .timestamp(unit, timezone: timezone), payload: .int(value))
    }
    /// A `decimal128(precision, scale)` whose value is `unscaled / 10^scale`.
    public static func decimal128(unscaled: Int128, precision: Int, scale: Int) -> Scalar {
        Scalar(type: .decimal(bitWidth: 128, precision: precision, scale: scale), payload: .decimal(unscaled))
    }

    /// A `date32` parsed from `YYYY-MM-DD`. Throws `query` for a malformed or impossible date.
    public static func date(_ text: String) throws -> Scalar {
        guard let days = CalendarMath.parseDate(text.utf8), let days32 = Int32(exactly: days) else {
            throw QuiverError(.query, "invalid date '\(text)' (expected YYYY-MM-DD)")
        }
        return .date32(daysSinceEpoch: days32)
    }

    /// A naive `timestamp` parsed from `YYYY-MM-DD[ HH:MM[:SS[.fraction]]]`. Throws `query` when
    /// malformed.
    public static func timestamp(_ text: String, unit: TimeUnit = .microsecond) throws -> Scalar {
        guard let value = CalendarMath.parseTimestamp(text.utf8, unit: unit) else {
            throw QuiverError(.query, "invalid timestamp '\(text)' (expected YYYY-MM-DD HH:MM:SS)")
        }
        return .timestamp(value, unit: unit)
    }

    /// A `decimal128` parsed from plain decimal text such as `-12.50` (precision = digits,
    /// scale = digits after the point). Throws `query` when malformed or wider than 38 digits.
    public static func decimal(_ text: String) throws -> Scalar {
        guard let scalar = parseDecimal(Array(text.utf8)) else {
            throw QuiverError(.query, "invalid decimal '\(text)'")
        }
        return scalar
    }

    /// Whether this is a null (typed or not).
    public var isNull: Bool { payload == .null }
}

extension Scalar: CustomStringConvertible {
    /// The value as SQL would spell it: `42`, `0.05`, `'R'`, `DATE '1994-01-01'`, `NULL`.
    public var description: String {
        switch (payload, type.storageType) {
        case (.null, _): return "NULL"
        case (.bool(let b), _): return b ? "TRUE" : "FALSE"
        case (.int(let v), .date32): return "DATE '\(CalendarMath.formatDate(days: v))'"
        case (.int(let v), .date64): return "DATE '\(CalendarMath.formatDate(days: v / 86_400_000))'"
        case (.int(let v), .timestamp(let unit, _)):
            return "TIMESTAMP '\(CalendarMath.formatTimestamp(v, unit: unit))'"
        case (.int(let v), _): return String(v)
        case (.uint(let v), _): return String(v)
        case (.float(let v), .float32): return FloatText.shortest(Float(v))
        case (.float(let v), _): return FloatText.shortest(v)
        case (.decimal(let v), .decimal(_, _, let scale)): return Decimal.format(v, scale: scale)
        case (.decimal(let v), _): return String(v)
        case (.bytes(let b), _):
            return "'" + String(decoding: b, as: UTF8.self).replacingAll("'", with: "''") + "'"
        }
    }
}

extension Scalar {
    /// Parses `[-]digits[.digits]` as a decimal literal, as SQL does for `0.05`.
    static func parseDecimal(_ bytes: [UInt8]) -> Scalar? {
        var index = 0
        let negative = bytes.first == UInt8(ascii: "-")
        if negative || bytes.first == UInt8(ascii: "+") { index = 1 }
        var unscaled: Int128 = 0
        var digits = 0
        var scale = 0
        var sawPoint = false
        var sawDigit = false
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: ".") {
                guard !sawPoint else { return nil }
                sawPoint = true
            } else if byte >= 48 && byte <= 57 {
                sawDigit = true
                if unscaled != 0 || byte != 48 { digits += 1 }
                guard digits <= 38 else { return nil }
                unscaled = unscaled * 10 + Int128(byte - 48)
                if sawPoint { scale += 1 }
            } else {
                return nil
            }
            index += 1
        }
        guard sawDigit, scale <= 38 else { return nil }
        let precision = Swift.max(digits, scale, 1)
        guard precision <= 38 else { return nil }
        return .decimal128(unscaled: negative ? -unscaled : unscaled, precision: precision, scale: scale)
    }
}

/// Decimal helpers: powers of ten and printing of scaled integers.
enum Decimal {
    /// 10^n for n in 0...38.
    static let powersOfTen: [Int128] = {
        var powers: [Int128] = [1]
        for _ in 1...38 { powers.append(powers[powers.count - 1] * 10) }
        return powers
    }()

    /// `value / 10^scale` rounded correctly to the nearest `Double`. When both are exact
    /// doubles (|value| ≤ 2^53, 10^scale ≤ 10^22) one IEEE division is correctly rounded;
    /// otherwise the decimal's text goes through the correctly rounded parser. (Dividing an
    /// already rounded `Double(value)` is off by one ulp for values such as 955.6400146484375.)
    static func toDouble(_ value: Int128, scale: Int) -> Double {
        // Int64 → Double is one instruction; the generic Int128 conversion is not.
        if scale == 0 && value.magnitude <= 1 << 53 { return Double(Int64(truncatingIfNeeded: value)) }
        if value.magnitude <= 1 << 53 && scale <= 22 { return Double(Int64(truncatingIfNeeded: value)) / exactDoubles[scale] }
        return Double(String(value) + "e-" + String(scale)) ?? .nan
    }

    /// `toDouble` for `Float` (rounding once, not through a `Double`).
    static func toFloat(_ value: Int128, scale: Int) -> Float {
        if value.magnitude <= 1 << 24 && scale <= 10 { return Float(value) / Float(exactDoubles[scale]) }
        return Float(String(value) + "e-" + String(scale)) ?? .nan
    }

    /// 10^n for n in 0...22, each exact as a `Double`.
    private static let exactDoubles: [Double] = (0...22).map { Double(powersOfTen[$0]) }

    static func format(_ value: Int128, scale: Int) -> String {
        let magnitude = value.magnitude
        var digits = String(magnitude)
        if scale > 0 {
            if digits.count <= scale { digits = String(repeating: "0", count: scale - digits.count + 1) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -scale))
        }
        return value < 0 ? "-" + digits : digits
    }
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var result = ""
        for character in self {
            if character == target { result += replacement } else { result.append(character) }
        }
        return result
    }
}

/// Floats as text the way DuckDB prints them: the shortest digits that read back as the same
/// value (Swift's own algorithm), laid out as Python's `repr` does — positional for decimal
/// exponents −4 … 15 (`0.0001`, `1000000000000000.0`), scientific with a signed two-digit
/// exponent beyond (`1e-05`, `1.5e+300`); `inf`, `-inf`, `nan`, `-0.0`.
enum FloatText {
    static func shortest(_ value: Double) -> String { layout(value.description, isNaN: value.isNaN, isInfinite: value.isInfinite) }

    static func shortest(_ value: Float) -> String { layout(value.description, isNaN: value.isNaN, isInfinite: value.isInfinite) }

    /// Re-lays out Swift's shortest round-trip `description` (`1e-05`, `1e+16`, `0.001`).
    private static func layout(_ text: String, isNaN: Bool, isInfinite: Bool) -> String {
        if isNaN { return "nan" }
        var body = Substring(text)
        let negative = body.first == "-"
        if negative { body = body.dropFirst() }
        let sign = negative ? "-" : ""
        if isInfinite { return sign + "inf" }
        var exponent = 0
        if let e = body.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(body[body.index(after: e)...]) ?? 0
            body = body[..<e]
        }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        let integer = parts[0]
        var digits = Array(integer.utf8) + (parts.count > 1 ? Array(parts[1].utf8) : [])
        // The value is 0.d1d2… × 10^point.
        var point = integer.count + exponent
        while digits.first == UInt8(ascii: "0") {
            digits.removeFirst()
            point -= 1
        }
        while digits.last == UInt8(ascii: "0") { digits.removeLast() }
        if digits.isEmpty { return sign + "0.0" }
        let text = String(decoding: digits, as: UTF8.self)
        if point >= -3 && point <= 16 {
            if point <= 0 { return sign + "0." + String(repeating: "0", count: -point) + text }
            if point >= digits.count { return sign + text + String(repeating: "0", count: point - digits.count) + ".0" }
            let split = text.index(text.startIndex, offsetBy: point)
            return sign + text[..<split] + "." + text[split...]
        }
        let power = point - 1
        let mantissa = digits.count == 1 ? text : String(text.prefix(1)) + "." + text.dropFirst()
        let magnitude = String(abs(power))
        return sign + mantissa + "e" + (power < 0 ? "-" : "+") + (magnitude.count < 2 ? "0" : "") + magnitude
    }
}
