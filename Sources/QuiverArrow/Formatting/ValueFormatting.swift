import QuiverBytes

extension ArrayData {
    /// Slot `index` as display text: `null`, numbers, ISO dates and times, strings as they
    /// are at the top level and quoted inside lists/structs/maps (`[1, null]`,
    /// `{a: "x"}`), binary as hex (`0x01ff`). Allocates; for printers, not hot paths.
    ///
    /// Nested values are formatted element by element and stop with `…` once the text has
    /// 64 KiB: a valid list may hold billions of nulls in no bytes at all, so
    /// building its whole `ArrowValue` (or text) is not an option.
    public func formatValue(at index: Int) -> String { formatValue(at: index, maxLength: 1 << 16) }

    /// `formatValue(at:)` with the text's limit in bytes.
    /// O(maxLength) at most: nested values stop once the text is full.
    public func formatValue(at index: Int, maxLength: Int) -> String {
        var text = BoundedText(limit: maxLength)
        ValueFormatter.append(self, at: index, nested: false, into: &text)
        return text.text
    }
}

/// Text that is built until it reaches `limit` bytes (then the builder stops adding).
struct BoundedText {
    var text = ""
    let limit: Int
    var isFull: Bool { text.utf8.count >= limit }
    mutating func append(_ part: String) { text += part }
}

extension ArrowValue: CustomStringConvertible {
    /// The display text, as `formatValue(at:)` would show it without type information.
    public var description: String { ValueFormatter.format(self, type: nil, nested: false) }
}

/// Turns values into display text. The type (when known) refines numbers that `ArrowValue`
/// widened: a float32 prints as `0.1`, not `0.10000000149011612`.
enum ValueFormatter {
    static func format(_ value: ArrowValue, type: DataType?, nested: Bool) -> String {
        let type = type.flatMap(displayType)
        switch value {
        case .null: return "null"
        case .bool(let flag): return flag ? "true" : "false"
        case .int(let integer): return String(integer)
        case .uint(let integer): return String(integer)
        case .float(let number): return formatFloat(number, type: type)
        case .decimal(let text): return text
        case .string(let text): return nested ? quoted(text) : text
        case .binary(let bytes): return hex(bytes)
        case .date32(let days): return CalendarMath.formatDate(days: Int64(days))
        case .date64(let milliseconds): return CalendarMath.formatDate(days: floorDivMod(milliseconds, 86_400_000).quotient)
        case .time(let value, let unit):
            let (seconds, fraction) = split(value, unit)
            return formatTimeOfDay(seconds: seconds) + formatFraction(fraction, unit)
        case .timestamp(let value, let unit, let zone):
            let (seconds, fraction) = split(value, unit)
            let (days, secondOfDay) = floorDivMod(seconds, 86_400)
            return CalendarMath.formatDate(days: days) + " " + formatTimeOfDay(seconds: secondOfDay)
                + formatFraction(fraction, unit) + (zone == nil ? "" : "Z")
        case .duration(let value, let unit): return "\(value)\(unit.abbreviation)"
        case .yearMonthInterval(let months): return "\(months)M"
        case .dayTimeInterval(let interval): return "\(interval.days)d\(interval.milliseconds)ms"
        case .monthDayNanoInterval(let interval): return "\(interval.months)M\(interval.days)d\(interval.nanoseconds)ns"
        case .list(let elements):
            let element = type?.children.first?.type
            return "[" + elements.map { format($0, type: element, nested: true) }.joined(separator: ", ") + "]"
        case .struct(let members):
            let fields = type?.children ?? []
            let parts = members.enumerated().map { index, member in
                let fieldType = index < fields.count ? fields[index].type : nil
                return "\(member.0): " + format(member.1, type: fieldType, nested: true)
            }
            return "{" + parts.joined(separator: ", ") + "}"
        case .map(let pairs):
            let kv = type?.children.first?.type.children ?? []
            let (keyType, valueType) = kv.count == 2 ? (kv[0].type, kv[1].type) : (nil, nil)
            let parts = pairs.map {
                format($0.0, type: keyType, nested: true) + ": " + format($0.1, type: valueType, nested: true)
            }
            return "{" + parts.joined(separator: ", ") + "}"
        }
    }

    /// Appends slot `index` of `data`: nested types child by child, within `text`'s limit;
    /// scalars through `format`.
    static func append(_ data: ArrayData, at index: Int, nested: Bool, into text: inout BoundedText) {
        if NullMask(data).isNull(index) { return text.append("null") }
        switch data.type.storageType {
        case .list, .largeList, .listView, .largeListView, .fixedSizeList:
            appendElements(data.elementRange(at: index), "[", "]", into: &text) { position, text in
                append(data.children[0], at: position, nested: true, into: &text)
            }
        case .struct(let fields):
            appendElements(0..<fields.count, "{", "}", into: &text) { member, text in
                text.append(fields[member].name + ": ")
                append(data.children[member], at: data.offset + index, nested: true, into: &text)
            }
        case .map:
            let entries = data.children[0]
            appendElements(data.elementRange(at: index), "{", "}", into: &text) { position, text in
                append(entries.children[0], at: entries.offset + position, nested: true, into: &text)
                text.append(": ")
                append(entries.children[1], at: entries.offset + position, nested: true, into: &text)
            }
        case .union:
            let (child, position) = UnionArray(unchecked: data).location(at: index)
            append(data.children[child], at: position, nested: nested, into: &text)
        case .dictionary:
            guard let dictionary = data.dictionary, let key = DictionaryArray(unchecked: data).key(at: index) else {
                return text.append("null")
            }
            append(dictionary, at: key, nested: nested, into: &text)
        case .runEndEncoded:
            append(data.children[1], at: RunEndEncodedArray(unchecked: data).physicalIndex(at: index), nested: nested, into: &text)
        default:
            text.append(format(data.value(at: index), type: data.type, nested: nested))
        }
    }

    /// `open`, the elements of `range` separated by ", ", `close` — with `…` for the rest once
    /// the text is full (each element adds at least a byte, so the loop is bounded by the
    /// limit, not by the range).
    private static func appendElements(
        _ range: Range<Int>, _ open: String, _ close: String, into text: inout BoundedText,
        _ element: (Int, inout BoundedText) -> Void
    ) {
        text.append(open)
        for position in range {
            if position != range.lowerBound { text.append(", ") }
            if text.isFull {
                text.append("…")
                break
            }
            element(position, &text)
        }
        text.append(close)
    }

    /// The type whose values an `ArrowValue` of `type` carries: dictionaries show their
    /// values, run-end encoded arrays their run values, unions have no single type.
    private static func displayType(_ type: DataType) -> DataType? {
        switch type.storageType {
        case .dictionary(_, let value, _): return displayType(value)
        case .runEndEncoded(_, let values): return displayType(values.type)
        case .union: return nil
        case let storage: return storage
        }
    }

    private static func formatFloat(_ number: Double, type: DataType?) -> String {
        switch type {
        case .float32?: return String(Float(number))
        #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
        case .float16?: return String(Float16(number))
        #endif
        default: return String(number)
        }
    }

    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    /// `0x` and two lowercase hex digits per byte, written into one buffer (a string per
    /// byte, joined, costs an allocation per byte).
    private static func hex(_ bytes: [UInt8]) -> String {
        let digits: StaticString = "0123456789abcdef"
        var text: [UInt8] = [UInt8(ascii: "0"), UInt8(ascii: "x")]
        text.reserveCapacity(2 + 2 * bytes.count)
        digits.withUTF8Buffer { digits in
            for byte in bytes {
                text.append(digits[Int(byte >> 4)])
                text.append(digits[Int(byte & 15)])
            }
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Units per second and fraction digits of a time unit.
    private static func scale(_ unit: TimeUnit) -> (perSecond: Int64, digits: Int) {
        switch unit {
        case .second: return (1, 0)
        case .millisecond: return (1_000, 3)
        case .microsecond: return (1_000_000, 6)
        case .nanosecond: return (1_000_000_000, 9)
        }
    }

    /// Whole seconds (floored) and the non-negative sub-second remainder in `unit`.
    private static func split(_ value: Int64, _ unit: TimeUnit) -> (seconds: Int64, fraction: Int64) {
        let (seconds, fraction) = floorDivMod(value, scale(unit).perSecond)
        return (seconds, fraction)
    }

    private static func formatFraction(_ fraction: Int64, _ unit: TimeUnit) -> String {
        let digits = scale(unit).digits
        guard digits > 0 else { return "" }
        let text = String(fraction)
        return "." + String(repeating: "0", count: max(0, digits - text.count)) + text
    }

    /// `HH:MM:SS`; a time outside the day (invalid, but any Int64 can arrive) keeps
    /// counting hours, so minutes and seconds stay in range and the text stays exact.
    private static func formatTimeOfDay(seconds: Int64) -> String {
        let (hours, rest) = floorDivMod(seconds, 3_600)
        let (minutes, secs) = floorDivMod(rest, 60)
        return CalendarMath.pad(hours, 2) + ":" + CalendarMath.pad(minutes, 2) + ":" + CalendarMath.pad(secs, 2)
    }
}

/// Division rounding toward negative infinity (times before the epoch) and the remainder
/// that goes with it, in `0..<divisor` for a positive divisor. Taken from
/// `quotientAndRemainder` rather than as `value - quotient * divisor`, which overflows when
/// `value` lies within one divisor of `Int64.min`.
func floorDivMod(_ value: Int64, _ divisor: Int64) -> (quotient: Int64, modulo: Int64) {
    let (quotient, remainder) = value.quotientAndRemainder(dividingBy: divisor)
    return remainder < 0 ? (quotient - 1, remainder + divisor) : (quotient, remainder)
}
