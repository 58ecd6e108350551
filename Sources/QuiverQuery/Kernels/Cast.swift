import QuiverArrow
import QuiverBytes

/// CAST kernels. Numbers convert through one of two carriers — `Int128` with a decimal scale
/// (every integer, decimal, date and timestamp) or `Double` (floats) — so each direction is
/// one generic loop per physical type rather than one per pair.
///
/// Semantics (as DuckDB 2.0): float → integer rounds half to even, float → decimal and
/// decimal → integer round half away from zero; decimal → float is correctly rounded;
/// out-of-range values, NaN/infinity to integer, and unparsable strings are errors, never
/// wrapped or NULL; temporal narrowing (timestamp → date) floors.
enum Cast {
    static func evaluate(_ input: ArrayData, to target: DataType, pool: MemoryPool) throws -> ArrayData {
        let source = input.type.storageType
        if source == target { return input }
        if case .dictionary = source {
            return try evaluate(try Take.decodeDictionary(input, pool: pool), to: target, pool: pool)
        }
        if case .null = source { return Output.nulls(target, length: input.length, pool: pool) }
        switch target {
        case .utf8, .largeUtf8:
            return try toString(input, target: target, pool: pool)
        default: break
        }
        switch source {
        case .utf8, .largeUtf8:
            return try fromString(input, target: target, pool: pool)
        case .boolean:
            throw unsupported(source, target)
        default: break
        }
        guard let sourceKind = NumberKind(source), let targetKind = NumberKind(target) else {
            throw unsupported(source, target)
        }
        let validity = Bitmaps.validity(input)
        let length = input.length
        let values: Buffer
        if sourceKind == .float32 || sourceKind == .float64 {
            guard !isTemporal(target) else { throw unsupported(source, target) }
            let doubles = sourceKind == .float64
                ? input : try sourceKind.visit(ToCarrier<Double>(input: input, pool: pool))
            values = try withExtendedLifetime(doubles) {
                try targetKind.visit(FromDouble(
                    input: Columns.values(doubles, as: Double.self), length: length, valid: validity,
                    scale: decimalScale(target), precision: decimalPrecision(target), pool: pool))
            }
        } else {
            let transform = try integerTransform(from: source, to: target)
            let wide = sourceKind == .int128
                ? input : try sourceKind.visit(ToCarrier<Int128>(input: input, pool: pool))
            values = try withExtendedLifetime(wide) {
                try targetKind.visit(FromInt128(
                    input: Columns.values(wide, as: Int128.self), length: length, valid: validity,
                    sourceScale: decimalScale(source), transform: transform, pool: pool))
            }
        }
        return Output.array(
            target, length: length,
            validity: input.nullCount > 0 ? (try Take.copyValidity(input, pool: pool), input.nullCount) : nil,
            [values])
    }

    static func unsupported(_ source: DataType, _ target: DataType) -> QuiverError {
        QuiverError(.query, "cannot cast \(source) to \(target)")
    }

    static func isTemporal(_ type: DataType) -> Bool {
        switch type {
        case .date32, .date64, .timestamp, .time32, .time64, .duration: return true
        default: return false
        }
    }

    static func decimalScale(_ type: DataType) -> Int {
        if case .decimal(_, _, let scale) = type { return scale }
        return 0
    }

    static func decimalPrecision(_ type: DataType) -> Int? {
        if case .decimal(_, let precision, _) = type { return precision }
        return nil
    }

    /// Ticks of `type` per day (dates, timestamps), or nil for non-calendar types.
    static func ticksPerDay(_ type: DataType) -> Int128? {
        switch type {
        case .date32: return 1
        case .date64: return 86_400_000
        case .timestamp(let unit, _): return Int128(CalendarMath.unitsPerDay(unit))
        default: return nil
        }
    }

    /// The Int128 → Int128 step between two integer-carried types: decimal rescaling with
    /// precision checks, or a change of temporal unit.
    static func integerTransform(from source: DataType, to target: DataType) throws -> (Int128) -> Int128? {
        switch (ticksPerDay(source), ticksPerDay(target)) {
        case (let from?, let to?):
            if case .timestamp(let a, _) = source, case .timestamp(let b, _) = target {
                let ratioFrom = Int128(CalendarMath.unitsPerSecond(a))
                let ratioTo = Int128(CalendarMath.unitsPerSecond(b))
                return rescale(numerator: ratioTo, denominator: ratioFrom)
            }
            return rescale(numerator: to, denominator: from)
        case (nil, nil):
            guard !isTemporal(source), !isTemporal(target) else { throw unsupported(source, target) }
            let from = decimalScale(source)
            let to = decimalScale(target)
            let bound = decimalPrecision(target).map { Decimal.powersOfTen[Swift.min($0, 38)] }
            let step: (Int128) -> Int128?
            if to >= from {
                let factor = Decimal.powersOfTen[to - from]
                step = { value in
                    let (r, o) = value.multipliedReportingOverflow(by: factor)
                    return o ? nil : r
                }
            } else {
                let divisor = Decimal.powersOfTen[from - to]
                step = { value in roundedDivide(value, divisor) }
            }
            guard let bound else { return step }
            return { value in step(value).flatMap { $0.magnitude < bound.magnitude ? $0 : nil } }
        default:
            throw unsupported(source, target)
        }
    }

    /// Multiplies by `numerator / denominator`, flooring (timestamps to coarser units).
    private static func rescale(numerator: Int128, denominator: Int128) -> (Int128) -> Int128? {
        if numerator >= denominator {
            let factor = numerator / denominator
            return { value in
                let (r, o) = value.multipliedReportingOverflow(by: factor)
                return o ? nil : r
            }
        }
        let divisor = denominator / numerator
        return { value in
            let q = value / divisor
            return value % divisor < 0 ? q - 1 : q
        }
    }

    /// Division rounding half away from zero.
    static func roundedDivide(_ value: Int128, _ divisor: Int128) -> Int128 {
        let q = value / divisor
        let r = value % divisor
        guard r.magnitude * 2 >= divisor.magnitude else { return q }
        return value < 0 ? q - 1 : q + 1
    }

    private static func outOfRange() -> QuiverError {
        QuiverError(.query, "value out of range for CAST")
    }

    /// Widens any number to a carrier array (`Int128` or `Double`).
    private struct ToCarrier<Carrier: NumberValue>: NumberVisitor {
        let input: ArrayData
        let pool: MemoryPool
        func visit<T: NumberValue>(_ type: T.Type) throws -> ArrayData {
            let source = Columns.values(input, as: T.self)
            let buffer = Output.fixed(Carrier.self, count: input.length, pool: pool) { out in
                for row in 0..<input.length {
                    out[row] = Carrier.isInteger
                        ? Carrier(exactlyInt128: source[row].int128Value) ?? .zero
                        : Carrier(exactlyDouble: source[row].doubleValue) ?? .zero
                }
            }
            return ArrayData(uncheckedType: input.type, length: input.length, buffers: [.empty, buffer])
        }
    }

    private struct FromInt128: NumberVisitor {
        let input: UnsafePointer<Int128>
        let length: Int
        let valid: BitView?
        let sourceScale: Int
        let transform: (Int128) -> Int128?
        let pool: MemoryPool

        func visit<T: NumberValue>(_ type: T.Type) throws -> Buffer {
            try Output.fixed(T.self, count: length, pool: pool) { out in
                if T.isInteger {
                    for row in 0..<length {
                        if let value = transform(input[row]).flatMap(T.init(exactlyInt128:)) {
                            out[row] = value
                        } else if valid?[row] ?? true {
                            throw outOfRange()
                        } else {
                            out[row] = .zero
                        }
                    }
                } else if T.self == Float.self {
                    for row in 0..<length {
                        out[row] = unsafeBitCast(Decimal.toFloat(input[row], scale: sourceScale), to: T.self)
                    }
                } else {
                    for row in 0..<length {
                        out[row] = T(exactlyDouble: Decimal.toDouble(input[row], scale: sourceScale)) ?? .zero
                    }
                }
            }
        }
    }

    private struct FromDouble: NumberVisitor {
        let input: UnsafePointer<Double>
        let length: Int
        let valid: BitView?
        let scale: Int
        let precision: Int?
        let pool: MemoryPool

        func visit<T: NumberValue>(_ type: T.Type) throws -> Buffer {
            let factor = Double(Decimal.powersOfTen[scale])
            let bound = precision.map { Decimal.powersOfTen[Swift.min($0, 38)] }
            let rule: FloatingPointRoundingRule = precision == nil ? .toNearestOrEven : .toNearestOrAwayFromZero
            return try Output.fixed(T.self, count: length, pool: pool) { out in
                for row in 0..<length {
                    if !T.isInteger {
                        out[row] = T(exactlyDouble: input[row]) ?? .zero
                        continue
                    }
                    let scaled = (input[row] * factor).rounded(rule)
                    if let wide = Int128(exactly: scaled), wide.magnitude < (bound ?? Int128.max).magnitude,
                        let value = T(exactlyInt128: wide)
                    {
                        out[row] = value
                    } else if valid?[row] ?? true {
                        throw outOfRange()
                    } else {
                        out[row] = .zero
                    }
                }
            }
        }
    }
}

extension Cast {
    /// Formats each value as text (dates ISO 8601, decimals with their scale, booleans
    /// `true`/`false`). Allocates a `String` per row: casts to text are not a hot path.
    static func toString(_ input: ArrayData, target: DataType, pool: MemoryPool) throws -> ArrayData {
        var builder = StringBuilder(type: target, capacity: input.length, pool: pool)
        let type = input.type.storageType
        for row in 0..<input.length {
            let scalar = ScalarArrays.scalar(input, at: row)
            if scalar.isNull {
                builder.appendNull()
                continue
            }
            switch (scalar.payload, type) {
            case (.bytes(let bytes), _):
                try bytes.withUnsafeBytes { try builder.append($0) }
            case (.bool(let b), _): try builder.append(b ? "true" : "false")
            case (.int(let v), .date32): try builder.append(CalendarMath.formatDate(days: v))
            case (.int(let v), .date64): try builder.append(CalendarMath.formatDate(days: floorDivide(v, 86_400_000)))
            case (.int(let v), .timestamp(let unit, _)): try builder.append(CalendarMath.formatTimestamp(v, unit: unit))
            default: try builder.append(scalar.description)
            }
        }
        return builder.finish()
    }

    static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return a % b < 0 ? q - 1 : q
    }

    /// Parses each string as `target`; a string that does not parse is an error.
    static func fromString(_ input: ArrayData, target: DataType, pool: MemoryPool) throws -> ArrayData {
        var scalars: [Scalar] = []
        scalars.reserveCapacity(input.length)
        for row in 0..<input.length {
            let scalar = ScalarArrays.scalar(input, at: row)
            guard case .bytes(let bytes) = scalar.payload else {
                scalars.append(.null(target))
                continue
            }
            scalars.append(try parse(bytes, as: target))
        }
        return try ScalarArrays.array(of: scalars, type: target, pool: pool)
    }

    /// One string parsed as a value of `type` (the rules of SQL literals).
    static func parse(_ bytes: [UInt8], as type: DataType) throws -> Scalar {
        let text = String(decoding: bytes, as: UTF8.self)
        let trimmed = text.trimmingSpaces
        let failure = QuiverError(.query, "could not convert '\(text)' to \(type)")
        switch type {
        case .boolean:
            switch trimmed.lowercased() {
            case "true", "t", "1": return .boolean(true)
            case "false", "f", "0": return .boolean(false)
            default: throw failure
            }
        case .date32:
            guard let days = CalendarMath.parseDate(trimmed.utf8), let d = Int32(exactly: days) else { throw failure }
            return .date32(daysSinceEpoch: d)
        case .date64:
            guard let days = CalendarMath.parseDate(trimmed.utf8) else { throw failure }
            return .date64(millisecondsSinceEpoch: days * 86_400_000)
        case .timestamp(let unit, let tz):
            guard let value = CalendarMath.parseTimestamp(trimmed.utf8, unit: unit) else { throw failure }
            return .timestamp(value, unit: unit, timezone: tz)
        case .float32, .float64:
            guard let value = Double(trimmed) else { throw failure }
            return Scalar(type: type, payload: .float(value))
        default:
            guard let decimal = Scalar.parseDecimal(Array(trimmed.utf8)),
                case .decimal(let unscaled) = decimal.payload,
                let kind = NumberKind(type)
            else { throw failure }
            let transform = try integerTransform(from: decimal.type, to: type)
            guard let wide = transform(unscaled),
                let scalar = try kind.visit(Narrow(value: wide, type: type))
            else { throw failure }
            return scalar
        }
    }

    /// `value` as a scalar of `type`, nil when it does not fit.
    struct Narrow: NumberVisitor {
        let value: Int128
        let type: DataType
        func visit<T: NumberValue>(_: T.Type) throws -> Scalar? {
            T(exactlyInt128: value).map { ScalarArrays.scalar($0, type: type) }
        }
    }
}

extension String {
    var trimmingSpaces: String {
        var slice = Substring(self)
        while slice.first == " " { slice.removeFirst() }
        while slice.last == " " { slice.removeLast() }
        return String(slice)
    }
}
