import QuiverArrow
import QuiverBytes

/// The byte-level rules of the text formats, in one place: JSON string escaping, CSV field
/// quoting, integer digits (written by `ByteCursor`; these append them to arrays).
package enum TextEncoding {
    /// Appends `bytes` (UTF-8) as a JSON string: quotes, `\"`, `\\`, `\n`, `\r`, `\t`, other
    /// control characters as `\u00XX`; everything else as it is.
    package static func appendJSONString(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        append(capacity: bytes.count * 6 + 2, to: &out) { $0.writeJSONString(bytes, escaping: true) }
    }

    /// Appends what `write` writes into at most `capacity` bytes.
    private static func append(capacity: Int, to out: inout [UInt8], _ write: (inout ByteCursor) -> Void) {
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: capacity))
        let written = out.withUnsafeMutableBufferPointer { buffer in
            var cursor = ByteCursor(UnsafeMutableBufferPointer(rebasing: buffer[start...]))
            write(&cursor)
            return cursor.position
        }
        out.removeLast(capacity - written)
    }

    /// `text` as a JSON string.
    package static func appendJSONString(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { appendJSONString(UnsafeRawBufferPointer($0), to: &out) }
    }

    /// Whether a CSV field needs quotes (RFC 4180: it holds a comma, a quote, CR or LF).
    /// Branch-free, so long runs vectorise.
    @inlinable
    package static func csvNeedsQuotes(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var found: UInt8 = 0
        for byte in bytes {
            found |= (byte == UInt8(ascii: ",") ? 1 : 0) | (byte == UInt8(ascii: "\"") ? 1 : 0)
                | (byte == UInt8(ascii: "\n") ? 1 : 0) | (byte == UInt8(ascii: "\r") ? 1 : 0)
        }
        return found != 0
    }

    /// Appends `bytes` as a CSV field, quoted (quotes doubled) only when it needs to be.
    package static func appendCSVField(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        append(capacity: bytes.count * 2 + 2, to: &out) { $0.writeCSVField(bytes) }
    }

    /// `text` as a CSV field.
    package static func appendCSVField(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { appendCSVField(UnsafeRawBufferPointer($0), to: &out) }
    }

    /// Appends the decimal digits of `value` (with a leading `-` when negative), as
    /// `String(value)` would, without building a `String`.
    package static func appendInteger<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        append(capacity: ByteCursor.maxIntegerDigits, to: &out) { $0.writeInteger(value) }
    }
}

/// JSON text helpers for code that writes JSON around results (a service's small replies).
public enum JSONText {
    /// `text` as a JSON string literal, escaped by the result writers' rule.
    /// O(text bytes).
    public static func quoted(_ text: String) -> String {
        var out: [UInt8] = []
        TextEncoding.appendJSONString(text, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

extension TextEncoding {
    /// Whether any byte of `bytes` must be escaped in a JSON string. Branch-free, so long
    /// runs vectorise.
    @inlinable
    package static func jsonNeedsEscape(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var found: UInt8 = 0
        for byte in bytes {
            found |= (byte < 0x20 ? 1 : 0) | (byte == UInt8(ascii: "\"") ? 1 : 0) | (byte == UInt8(ascii: "\\") ? 1 : 0)
        }
        return found != 0
    }
}

/// Writes text into capacity reserved for the worst case, through a pointer: made and used
/// only inside the closure that reserved the capacity (`CellRun.write`). Debug builds check
/// every write against the capacity.
struct ByteCursor {
    /// Digits of the longest integer, `-9223372036854775808` or `18446744073709551615`.
    static let maxIntegerDigits = 20

    private let base: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private(set) var position = 0

    init(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        base = buffer.baseAddress!
        capacity = buffer.count
    }

    @inline(__always)
    mutating func write(_ byte: UInt8) {
        assert(position < capacity)
        base[position] = byte
        position &+= 1
    }

    @inline(__always)
    mutating func write(_ bytes: UnsafeRawBufferPointer) {
        assert(position + bytes.count <= capacity)
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        copyShortBytes(from: source, to: base + position, count: bytes.count)
        position &+= bytes.count
    }

    /// A literal (`true`, `false`): static text, no allocation.
    @inline(__always)
    mutating func write(_ text: StaticString) {
        write(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    @inline(__always)
    mutating func writeNull() { write("null") }

    /// The decimal digits of `value` (with a leading `-` when negative), as `String(value)`
    /// prints them, two digits per step.
    @inline(__always)
    mutating func writeInteger<T: FixedWidthInteger>(_ value: T) {
        var magnitude = UInt64(truncatingIfNeeded: value.magnitude)
        if value < 0 { write(UInt8(ascii: "-")) }
        var digits = 1
        var power: UInt64 = 10
        while digits < Self.maxIntegerDigits && magnitude >= power {
            digits &+= 1
            power = power &* 10
        }
        assert(position + digits <= capacity)
        var end = position &+ digits
        let pairs = Self.digitPairs.utf8Start
        while magnitude >= 100 {
            let quotient = magnitude / 100
            let pair = Int(truncatingIfNeeded: magnitude &- quotient &* 100) &* 2
            end &-= 2
            base[end] = pairs[pair]
            base[end &+ 1] = pairs[pair &+ 1]
            magnitude = quotient
        }
        if magnitude >= 10 {
            let pair = Int(truncatingIfNeeded: magnitude) &* 2
            base[end &- 2] = pairs[pair]
            base[end &- 1] = pairs[pair &+ 1]
        } else {
            base[end &- 1] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude)
        }
        position &+= digits
    }

    private static let digitPairs: StaticString = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"

    /// A JSON string: quotes around `bytes`, escaped (`TextEncoding.appendJSONString`'s rule)
    /// when `escaping` says some cell may need it.
    @inline(__always)
    mutating func writeJSONString(_ bytes: UnsafeRawBufferPointer, escaping: Bool) {
        write(UInt8(ascii: "\""))
        if escaping {
            var start = 0
            for index in 0..<bytes.count {
                let byte = bytes[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                write(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
                start = index + 1
                writeEscape(byte)
            }
            write(UnsafeRawBufferPointer(rebasing: bytes[start...]))
        } else {
            write(bytes)
        }
        write(UInt8(ascii: "\""))
    }

    private mutating func writeEscape(_ byte: UInt8) {
        write(UInt8(ascii: "\\"))
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): write(byte)
        case UInt8(ascii: "\n"): write(UInt8(ascii: "n"))
        case UInt8(ascii: "\r"): write(UInt8(ascii: "r"))
        case UInt8(ascii: "\t"): write(UInt8(ascii: "t"))
        default:
            let hex = Self.hexDigits.utf8Start
            write("u00")
            write(hex[Int(byte >> 4)])
            write(hex[Int(byte & 15)])
        }
    }

    private static let hexDigits: StaticString = "0123456789abcdef"

    /// A CSV field, quoted (quotes doubled) only when it needs to be.
    @inline(__always)
    mutating func writeCSVField(_ bytes: UnsafeRawBufferPointer) {
        guard TextEncoding.csvNeedsQuotes(bytes) else { return write(bytes) }
        write(UInt8(ascii: "\""))
        for byte in bytes {
            if byte == UInt8(ascii: "\"") { write(byte) }
            write(byte)
        }
        write(UInt8(ascii: "\""))
    }

    /// A `Double` as `GenericCells.appendJSON(_:to:)` writes it: shortest round-trip digits,
    /// non-finite values as the strings "nan", "inf", "-inf".
    @inline(__always)
    mutating func writeJSONNumber(_ number: Double, printer: FloatText.Printer) {
        if number.isFinite { return writeFloat(number, printer: printer) }
        write(UInt8(ascii: "\""))
        write(number.isNaN ? "nan" : number < 0 ? "-inf" : "inf")
        write(UInt8(ascii: "\""))
    }

    /// `number.description`'s text.
    @inline(__always)
    mutating func writeFloat<F: BinaryFloatingPoint & LosslessStringConvertible>(_ number: F, printer: FloatText.Printer) {
        assert(position + FloatText.maxBytes <= capacity)
        if printer == .runtime, number.isFinite, let length = FloatText.print(number, into: base + position) {
            position &+= length
        } else {
            var text = number.description
            text.withUTF8 { write(UnsafeRawBufferPointer($0)) }
        }
    }
}

/// Swift's shortest round-trip float printing, into a caller's buffer. `description` builds a
/// `String` around the same digits; the Swift runtime exports the printer underneath it,
/// which writes into a buffer. Its contract is the runtime's, not a public one, so it is
/// checked against `description` once per process and not used if they disagree.
enum FloatText {
    /// Bytes a printed float may take (`-2.2250738585072014e-308` is 24).
    static let maxBytes = 32

    enum Printer: Sendable { case runtime, description }

    /// The runtime printer when it prints what `description` does on a sample of values.
    static let printer: Printer = {
        let doubles: [Double] = [
            0, -0.0, 1, 0.1, -7.75, 100, 2.5e-7, 1e-5, 1e-4, 1e15, 1e16, 123456789.125, 1e-300,
            .leastNonzeroMagnitude, .leastNormalMagnitude, .greatestFiniteMagnitude, 12499.875, 1.0 / 3,
        ]
        var buffer = [UInt8](repeating: 0, count: maxBytes)
        let agrees = buffer.withUnsafeMutableBufferPointer { buffer in
            doubles.allSatisfy { value in
                print(value, into: buffer.baseAddress!).map { String(decoding: buffer[..<$0], as: UTF8.self) } == value.description
            } && doubles.map(Float.init).allSatisfy { value in
                print(value, into: buffer.baseAddress!).map { String(decoding: buffer[..<$0], as: UTF8.self) } == value.description
            }
        }
        return agrees ? .runtime : .description
    }()

    /// Prints a finite `Double` or `Float` into `buffer` (`maxBytes` long); the length, or
    /// nil for other types.
    @inline(__always)
    static func print<F: BinaryFloatingPoint>(_ number: F, into buffer: UnsafeMutablePointer<UInt8>) -> Int? {
        // The printer leaves zero digits unwritten in a buffer it expects filled with "0".
        UnsafeMutableRawPointer(buffer).initializeMemory(as: UInt8.self, repeating: UInt8(ascii: "0"), count: maxBytes)
        if let value = number as? Double {
            return Int(truncatingIfNeeded: swiftFloat64ToString(buffer, UInt(maxBytes), value, false))
        }
        if let value = number as? Float {
            return Int(truncatingIfNeeded: swiftFloat32ToString(buffer, UInt(maxBytes), value, false))
        }
        return nil
    }
}

@_silgen_name("swift_float64ToString")
private func swiftFloat64ToString(_ buffer: UnsafeMutablePointer<UInt8>, _ capacity: UInt, _ value: Double, _ debug: Bool) -> UInt64

@_silgen_name("swift_float32ToString")
private func swiftFloat32ToString(_ buffer: UnsafeMutablePointer<UInt8>, _ capacity: UInt, _ value: Float, _ debug: Bool) -> UInt64
