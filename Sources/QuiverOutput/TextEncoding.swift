import QuiverArrow
import QuiverBytes

/// The byte-level rules of the text formats, in one place: JSON string escaping, CSV field
/// quoting, integer digits.
package enum TextEncoding {
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `bytes` (UTF-8) as a JSON string: quotes, `\"`, `\\`, `\n`, `\r`, `\t`, other
    /// control characters as `\u00XX`; everything else as it is.
    @inlinable
    package static func appendJSONString(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var start = 0
        for index in 0..<bytes.count {
            let byte = bytes[index]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
            start = index + 1
            appendEscape(byte, to: &out)
        }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start...]))
        out.append(UInt8(ascii: "\""))
    }

    @usableFromInline
    static func appendEscape(_ byte: UInt8, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\\"))
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(byte)
        case UInt8(ascii: "\n"): out.append(UInt8(ascii: "n"))
        case UInt8(ascii: "\r"): out.append(UInt8(ascii: "r"))
        case UInt8(ascii: "\t"): out.append(UInt8(ascii: "t"))
        default: out += [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 15)]]
        }
    }

    /// `text` as a JSON string.
    package static func appendJSONString(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { appendJSONString(UnsafeRawBufferPointer($0), to: &out) }
    }

    /// Whether a CSV field needs quotes (RFC 4180: it holds a comma, a quote, CR or LF).
    @inlinable
    package static func csvNeedsQuotes(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }
    }

    /// Appends `bytes` as a CSV field, quoted (quotes doubled) only when it needs to be.
    @inlinable
    package static func appendCSVField(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        guard csvNeedsQuotes(bytes) else { out.append(contentsOf: bytes); return }
        out.append(UInt8(ascii: "\""))
        for byte in bytes {
            if byte == UInt8(ascii: "\"") { out.append(byte) }
            out.append(byte)
        }
        out.append(UInt8(ascii: "\""))
    }

    /// `text` as a CSV field.
    package static func appendCSVField(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { appendCSVField(UnsafeRawBufferPointer($0), to: &out) }
    }

    /// Appends the decimal digits of `value` (with a leading `-` when negative), as
    /// `String(value)` would, without building a `String`.
    @inlinable
    package static func appendInteger<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        var magnitude = UInt64(truncatingIfNeeded: value.magnitude)
        if value < 0 { out.append(UInt8(ascii: "-")) }
        if magnitude < 10 { out.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude)); return }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var position = 20
            while magnitude > 0 {
                position -= 1
                digits[position] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10)
                magnitude /= 10
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: digits[position...]))
        }
    }
}

/// JSON text helpers for code that writes JSON around results (a service's small replies).
public enum JSONText {
    /// `text` as a JSON string literal, escaped by the result writers' rule.
    public static func quoted(_ text: String) -> String {
        var out: [UInt8] = []
        TextEncoding.appendJSONString(text, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
