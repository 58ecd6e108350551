import QuiverBytes

/// Decimal values: two's-complement little-endian integers of `bitWidth` bits, scaled by
/// `10^-scale`.
///
/// `value(at:)` formats a value as a decimal string ("-12.345"); the raw integers are read
/// with `integer(at:as:)` (Int32, Int64, Int128 for widths up to 128) or `words(at:)`.
public struct DecimalArray: ArrowScalarArray, @unchecked Sendable {
    /// The array data viewed (shared, never copied).
    public let data: ArrayData
    /// 32, 64, 128 or 256.
    public let bitWidth: Int
    /// Significant decimal digits the type allows.
    public let precision: Int
    /// Digits after the decimal point (negative: zeros before it).
    public let scale: Int
    @usableFromInline let values: UnsafeRawPointer
    @usableFromInline let nulls: NullMask

    /// Views `data` without copying. Throws `typeMismatch` if its type does not fit this
    /// array type and `invalidData` if its buffers are too small (O(1) per buffer).
    public init(_ data: ArrayData) throws {
        try checkArrayType(data, "DecimalArray") {
            if case .decimal = $0 { return true } else { return false }
        }
        self.init(unchecked: data)
    }

    init(unchecked data: ArrayData) {
        self.data = data
        if case .decimal(let bits, let precision, let scale) = data.type.storageType {
            (bitWidth, self.precision, self.scale) = (bits, precision, scale)
        } else {
            (bitWidth, precision, scale) = (128, 0, 0)
        }
        let base = data.buffers.count > 1 ? data.buffers[1].baseAddress : Buffer.empty.baseAddress
        values = base + data.offset * (bitWidth / 8)
        nulls = NullMask(data)
    }

    /// Whether slot `index` is null. O(1).
    @inlinable public func isNull(_ index: Int) -> Bool { nulls.isNull(index) }

    /// The unscaled integer of slot `index`; `I.bitWidth` must equal `bitWidth`.
    /// Decimal buffers may be only 8-byte aligned (IPC bodies), so this reads unaligned.
    @inlinable
    public func integer<I: FixedWidthInteger>(at index: Int, as _: I.Type = I.self) -> I {
        precondition(I.bitWidth == bitWidth, "decimal\(bitWidth) read as a \(I.bitWidth)-bit integer")
        return I(littleEndian: values.loadUnaligned(fromByteOffset: index * (bitWidth / 8), as: I.self))
    }

    /// The unscaled integer of slot `index` as little-endian 64-bit words, sign-extended
    /// (one word for decimal32/64, two for decimal128, four for decimal256).
    public func words(at index: Int) -> [UInt64] {
        DecimalFormat.words(UnsafeRawBufferPointer(start: values + index * (bitWidth / 8), count: bitWidth / 8))
    }

    /// The value of slot `index` as a plain decimal string with `scale` fraction digits.
    public func value(at index: Int) -> String {
        DecimalFormat.string(words: words(at: index), scale: scale)
    }
}

/// Conversions between decimal strings and multi-word two's-complement integers, for any
/// decimal width (one path for 32 to 256 bits).
enum DecimalFormat {
    /// Reads a little-endian two's-complement integer of 4, 8, 16 or 32 bytes as 64-bit words,
    /// sign-extending a 4-byte value.
    static func words(_ bytes: UnsafeRawBufferPointer) -> [UInt64] {
        if bytes.count == 4 {
            return [UInt64(bitPattern: Int64(Int32(littleEndian: bytes.loadUnaligned(as: Int32.self))))]
        }
        return (0..<bytes.count / 8).map {
            UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self))
        }
    }

    /// The largest |scale| written out in plain notation: the most digits any decimal has.
    /// Arrow puts no bound on the scale, so beyond this the text switches to scientific
    /// notation rather than growing with the scale (`decimal128(5, 2000000000)` must print
    /// its values, not build strings of two billion zeros).
    static let maxPlainScale = 76

    /// Formats an unscaled integer (little-endian words, two's complement) with `scale`
    /// fraction digits; a negative scale appends zeros. Past `maxPlainScale` either way:
    /// scientific notation as Arrow C++ writes it (`1.2345E-2000000000`, `0E+7`).
    static func string(words: [UInt64], scale: Int) -> String {
        var magnitude = words
        let negative = (words.last ?? 0) >> 63 == 1
        if negative { negate(&magnitude) }
        var digits = decimalDigits(magnitude)
        if scale.magnitude > maxPlainScale {
            let exponent = Int128(digits.count - 1) - Int128(scale)
            if digits.count > 1 { digits.insert(".", at: digits.index(after: digits.startIndex)) }
            digits += "E" + (exponent >= 0 ? "+" : "") + String(exponent)
        } else if scale < 0 {
            if digits != "0" { digits += String(repeating: "0", count: -scale) }
        } else if scale > 0 {
            if digits.count <= scale {
                digits = String(repeating: "0", count: scale - digits.count + 1) + digits
            }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -scale))
        }
        return negative ? "-" + digits : digits
    }

    /// Parses a plain decimal string ("-12.5", "3") into the unscaled integer for `scale`,
    /// as `wordCount` little-endian words. Returns nil for malformed input, a value that
    /// does not fit, or one with more fraction digits than `scale` (no silent rounding).
    static func parse(_ text: String, scale: Int, wordCount: Int) -> [UInt64]? {
        var utf8 = Substring(text).utf8[...]
        let negative = utf8.first == UInt8(ascii: "-")
        if negative || utf8.first == UInt8(ascii: "+") { utf8 = utf8.dropFirst() }
        var words = [UInt64](repeating: 0, count: wordCount)
        var fractionDigits: Int?
        var sawDigit = false
        for byte in utf8 {
            if byte == UInt8(ascii: ".") {
                guard fractionDigits == nil else { return nil }
                fractionDigits = 0
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            sawDigit = true
            if let count = fractionDigits {
                guard count < scale else {
                    if byte == UInt8(ascii: "0") { continue }  // trailing zeros beyond the scale are exact
                    return nil
                }
                fractionDigits = count + 1
            }
            guard multiplyAdd(&words, 10, UInt64(byte - UInt8(ascii: "0"))) else { return nil }
        }
        guard sawDigit else { return nil }
        // Scale the digits up to `scale` fraction digits. Zero stays zero (no loop, whatever
        // the scale); anything else overflows within the width's few dozen digits.
        if words.contains(where: { $0 != 0 }) {
            for _ in (fractionDigits ?? 0)..<max(scale, fractionDigits ?? 0) {
                guard multiplyAdd(&words, 10, 0) else { return nil }
            }
        }
        guard (words.last ?? 0) >> 63 == 0 else { return nil }  // magnitude must leave the sign bit
        if negative { negate(&words) }
        return words
    }

    /// Two's-complement negation in place.
    static func negate(_ words: inout [UInt64]) {
        var carry: UInt64 = 1
        for i in words.indices {
            let (sum, overflow) = (~words[i]).addingReportingOverflow(carry)
            words[i] = sum
            carry = overflow ? 1 : 0
        }
    }

    /// `words = words × factor + addend`; false on overflow of the whole width.
    private static func multiplyAdd(_ words: inout [UInt64], _ factor: UInt64, _ addend: UInt64) -> Bool {
        var carry = addend
        for i in words.indices {
            let (high, low) = words[i].multipliedFullWidth(by: factor)
            let (sum, overflow) = low.addingReportingOverflow(carry)
            words[i] = sum
            carry = high &+ (overflow ? 1 : 0)
        }
        return carry == 0
    }

    /// The base-10 digits of an unsigned multi-word integer.
    private static func decimalDigits(_ magnitude: [UInt64]) -> String {
        let chunk: UInt64 = 10_000_000_000_000_000_000  // 10^19, the largest power of ten in a word
        var words = magnitude
        var chunks: [UInt64] = []
        while words.contains(where: { $0 != 0 }) {
            var remainder: UInt64 = 0
            for i in words.indices.reversed() {
                let (quotient, rest) = chunk.dividingFullWidth((remainder, words[i]))
                words[i] = quotient
                remainder = rest
            }
            chunks.append(remainder)
        }
        guard let top = chunks.popLast() else { return "0" }
        var text = String(top)
        for part in chunks.reversed() {
            let digits = String(part)
            text += String(repeating: "0", count: 19 - digits.count) + digits
        }
        return text
    }
}
