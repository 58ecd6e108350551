import QuiverArrow
import QuiverBytes
import QuiverIPC

// One element of a fixed-width type ↔ its JSON form in the integration format:
// - integers, dates, times, timestamps, durations: JSON numbers, 64-bit ones as strings;
// - floats: JSON numbers (NaN / Infinity / -Infinity tokens when not finite);
// - decimals: the unscaled integer as a decimal string, stored as a little-endian two's
//   complement integer of the decimal's bit width;
// - intervals: year-month a number, day-time `{"days", "milliseconds"}`, month-day-nano
//   `{"months", "days", "nanoseconds"}`;
// - fixed-size binary: uppercase hex.
// Every fixed-width array (and dictionary indices, offsets, run ends) reads and writes its
// values through these two functions.
enum IntegrationValues {
    /// Stores the JSON value of one `type` element at `p` (`type.fixedByteWidth` bytes).
    static func store(_ json: JSONValue, _ type: DataType, at p: UnsafeMutableRawPointer) throws {
        switch type.storageType {
        case .int8: try storeInteger(json, Int8.self, p)
        case .int16: try storeInteger(json, Int16.self, p)
        case .int32, .date32, .time32, .interval(.yearMonth): try storeInteger(json, Int32.self, p)
        case .int64, .date64, .time64, .timestamp, .duration: try storeInteger(json, Int64.self, p)
        case .uint8: try storeInteger(json, UInt8.self, p)
        case .uint16: try storeInteger(json, UInt16.self, p)
        case .uint32: try storeInteger(json, UInt32.self, p)
        case .uint64: try storeInteger(json, UInt64.self, p)
        case .float16: p.storeBytes(of: try halfBits(Float(try double(json))), as: UInt16.self)
        case .float32: p.storeBytes(of: Float(try double(json)).bitPattern.littleEndian, as: UInt32.self)
        case .float64: p.storeBytes(of: try double(json).bitPattern.littleEndian, as: UInt64.self)
        case .decimal(let bits, _, _):
            try DecimalText.store(try json.stringValue("decimal value"), byteWidth: bits / 8, at: p)
        case .interval(.dayTime):
            try storeInteger(try json.member("days"), Int32.self, p)
            try storeInteger(try json.member("milliseconds"), Int32.self, p + 4)
        case .interval(.monthDayNano):
            try storeInteger(try json.member("months"), Int32.self, p)
            try storeInteger(try json.member("days"), Int32.self, p + 4)
            try storeInteger(try json.member("nanoseconds"), Int64.self, p + 8)
        case .fixedSizeBinary(let width):
            let bytes = try Hex.decode(try json.stringValue("fixed-size binary value"))
            guard bytes.count == width else {
                throw QuiverError(.invalidData, "fixed-size binary value of \(bytes.count) bytes, expected \(width)")
            }
            p.copyMemory(from: bytes, byteCount: width)
        default:
            throw QuiverError(.unsupported, "\(type) is not a fixed-width type")
        }
    }

    /// The JSON value of the `type` element at `p`.
    static func load(_ type: DataType, at p: UnsafeRawPointer) -> JSONValue {
        switch type.storageType {
        case .int8: return number(p.load(as: Int8.self))
        case .int16: return number(p.loadUnaligned(as: Int16.self))
        case .int32, .date32, .time32, .interval(.yearMonth): return number(p.loadUnaligned(as: Int32.self))
        case .int64, .date64, .time64, .timestamp, .duration: return .string(String(p.loadUnaligned(as: Int64.self)))
        case .uint8: return number(p.load(as: UInt8.self))
        case .uint16: return number(p.loadUnaligned(as: UInt16.self))
        case .uint32: return number(p.loadUnaligned(as: UInt32.self))
        case .uint64: return .string(String(p.loadUnaligned(as: UInt64.self)))
        case .float16: return floating(halfValue(p.loadUnaligned(as: UInt16.self)))
        case .float32: return floating(p.loadUnaligned(as: Float.self))
        case .float64: return floating(p.loadUnaligned(as: Double.self))
        case .decimal(let bits, _, _): return .string(DecimalText.format(p, byteWidth: bits / 8))
        case .interval(.dayTime):
            return .object([("days", number(p.loadUnaligned(as: Int32.self))),
                            ("milliseconds", number(p.loadUnaligned(fromByteOffset: 4, as: Int32.self)))])
        case .interval(.monthDayNano):
            return .object([("months", number(p.loadUnaligned(as: Int32.self))),
                            ("days", number(p.loadUnaligned(fromByteOffset: 4, as: Int32.self))),
                            ("nanoseconds", number(p.loadUnaligned(fromByteOffset: 8, as: Int64.self)))])
        case .fixedSizeBinary(let width):
            return .string(Hex.encode(UnsafeRawBufferPointer(start: p, count: width)))
        default:
            return .null
        }
    }

    private static func storeInteger<T: FixedWidthInteger>(_ json: JSONValue, _ type: T.Type, _ p: UnsafeMutableRawPointer) throws {
        p.storeBytes(of: try json.integerValue("\(T.self) value", as: T.self).littleEndian, toByteOffset: 0, as: T.self)
    }

    private static func number<T: FixedWidthInteger>(_ value: T) -> JSONValue { .number(String(value)) }

    /// A float literal as a Double; float32 values are then rounded once more, as Arrow C++
    /// does (it reads every float as a double), so both produce the same bits.
    private static func double(_ json: JSONValue) throws -> Double {
        switch json {
        case .number("NaN"): return .nan
        case .number("Infinity"): return .infinity
        case .number("-Infinity"): return -.infinity
        case .number(let text):
            guard let value = Double(text) else { throw QuiverError(.invalidData, "'\(text)' is not a number") }
            return value
        default:
            throw QuiverError(.invalidData, "expected a floating-point number, found \(json.kind)")
        }
    }

    private static func floating<T: BinaryFloatingPoint & LosslessStringConvertible>(_ value: T) -> JSONValue {
        if value.isNaN { return .number("NaN") }
        if value.isInfinite { return .number(value < 0 ? "-Infinity" : "Infinity") }
        return .number(value.description)  // shortest text that reads back to the same value
    }

    /// IEEE half-precision bits of `value` (round to nearest even).
    private static func halfBits(_ value: Float) throws -> UInt16 {
        #if !(os(macOS) && arch(x86_64))
        return Float16(value).bitPattern.littleEndian
        #else
        throw QuiverError(.unsupported, "float16 needs Float16, unavailable on this platform")
        #endif
    }

    private static func halfValue(_ bits: UInt16) -> Float {
        #if !(os(macOS) && arch(x86_64))
        return Float(Float16(bitPattern: UInt16(littleEndian: bits)))
        #else
        return .nan
        #endif
    }
}

/// Uppercase hex for binary values, as the integration format writes them.
enum Hex {
    static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes hex of either case; throws on odd length or a non-hex character.
    static func decode(_ text: String) throws -> [UInt8] {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { throw QuiverError(.invalidData, "hex string of odd length \(utf8.count)") }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = hexDigitValue(utf8[index]), let low = hexDigitValue(utf8[index + 1]) else {
                throw QuiverError(.invalidData, "'\(text.prefix(40))' is not hex")
            }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }
}

/// Decimal strings ↔ little-endian two's complement integers of 4, 8, 16 or 32 bytes,
/// through 64-bit limbs (least significant first).
enum DecimalText {
    /// Parses an optionally signed decimal integer and stores it in `byteWidth` bytes;
    /// throws when it does not fit.
    static func store(_ text: String, byteWidth: Int, at p: UnsafeMutableRawPointer) throws {
        var digits = Substring(text)
        let negative = digits.first == "-"
        if negative || digits.first == "+" { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw QuiverError(.invalidData, "'\(text)' is not a decimal integer")
        }
        // One spare limb so overflow past the width shows as a non-zero top limb.
        var limbs = [UInt64](repeating: 0, count: (byteWidth + 7) / 8 + 1)
        for digit in digits.utf8 {
            var carry = UInt64(digit - 0x30)
            for index in limbs.indices {
                let (high, low) = limbs[index].multipliedFullWidth(by: 10)
                let (sum, overflow) = low.addingReportingOverflow(carry)
                limbs[index] = sum
                carry = high + (overflow ? 1 : 0)
            }
            guard carry == 0 else { throw QuiverError(.invalidData, "decimal '\(text.prefix(80))' overflows \(byteWidth * 8) bits") }
        }
        // The magnitude must fit in bitWidth - 1 bits (2^(bitWidth-1) only when negative).
        let limit = magnitudeLimit(byteWidth: byteWidth, count: limbs.count)
        guard compare(limbs, limit) == .orderedAscending || (negative && compare(limbs, limit) == .orderedSame) else {
            throw QuiverError(.invalidData, "decimal '\(text.prefix(80))' does not fit in \(byteWidth * 8) bits")
        }
        if negative { negate(&limbs) }
        limbs.withUnsafeBytes { if let base = $0.baseAddress { p.copyMemory(from: base, byteCount: byteWidth) } }
    }

    /// The decimal text of the `byteWidth`-byte two's complement integer at `p`.
    static func format(_ p: UnsafeRawPointer, byteWidth: Int) -> String {
        var limbs = [UInt64](repeating: 0, count: (byteWidth + 7) / 8)
        limbs.withUnsafeMutableBytes { $0.baseAddress?.copyMemory(from: p, byteCount: byteWidth) }
        let negative = p.load(fromByteOffset: byteWidth - 1, as: UInt8.self) & 0x80 != 0
        if negative && byteWidth % 8 != 0 {
            // Sign-extend a 4-byte decimal into its limb.
            limbs[limbs.count - 1] |= ~UInt64(0) << UInt64(8 * (byteWidth % 8))
        }
        if negative { negate(&limbs) }
        // Peel off 19 digits at a time (10^19 is the largest power of ten in a UInt64).
        let chunk: UInt64 = 10_000_000_000_000_000_000
        var parts: [String] = []
        repeat {
            var remainder: UInt64 = 0
            for index in limbs.indices.reversed() {
                (limbs[index], remainder) = chunk.dividingFullWidth((remainder, limbs[index]))
            }
            parts.append(String(remainder))
        } while limbs.contains { $0 != 0 }
        var text = negative ? "-" : ""
        text += parts.last ?? "0"
        for part in parts.dropLast().reversed() {
            text += String(repeating: "0", count: 19 - part.count) + part
        }
        return text
    }

    private static func magnitudeLimit(byteWidth: Int, count: Int) -> [UInt64] {
        var limit = [UInt64](repeating: 0, count: count)
        let bit = byteWidth * 8 - 1
        limit[bit / 64] = 1 << UInt64(bit % 64)
        return limit
    }

    private enum Order { case orderedAscending, orderedSame, orderedDescending }

    private static func compare(_ a: [UInt64], _ b: [UInt64]) -> Order {
        for index in a.indices.reversed() where a[index] != b[index] {
            return a[index] < b[index] ? .orderedAscending : .orderedDescending
        }
        return .orderedSame
    }

    /// Two's complement negation in place.
    private static func negate(_ limbs: inout [UInt64]) {
        var carry: UInt64 = 1
        for index in limbs.indices {
            let (sum, overflow) = (~limbs[index]).addingReportingOverflow(carry)
            limbs[index] = sum
            carry = overflow ? 1 : 0
        }
    }
}
