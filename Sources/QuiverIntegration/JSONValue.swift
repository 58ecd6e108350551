import QuiverBytes
import QuiverIPC

/// A parsed JSON document, as the integration format needs it.
///
/// Numbers keep their source text (`number("9223372036854775807")`), so 64-bit integers,
/// the int64 nanoseconds of month-day-nano intervals and float literals convert exactly,
/// each by the rule of the Arrow type that reads them. Objects keep their member order
/// (the writer emits members in a fixed, readable order); lookups are linear, which is
/// cheap for the handful of members integration objects have.
enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)), (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    /// The member called `key` of an object (nil for a missing member or a non-object).
    subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last { $0.key == key }?.value
    }

    /// A short name of the JSON kind, for error messages.
    var kind: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}

// MARK: - Parsing

extension JSONValue {
    /// Parses a complete JSON text (RFC 8259, plus the `NaN`, `Infinity` and `-Infinity`
    /// number tokens that RapidJSON-based writers emit for non-finite floats).
    /// Throws `invalidData` with the byte offset on malformed input; nesting deeper than
    /// `maxDepth` is an error rather than a stack overflow.
    static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = 256) throws -> JSONValue {
        var parser = JSONParser(bytes: bytes, maxDepth: maxDepth)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.error("trailing characters after the JSON value") }
        return value
    }
}

private struct JSONParser {
    let bytes: UnsafeRawBufferPointer
    let maxDepth: Int
    var position = 0

    init(bytes: UnsafeRawBufferPointer, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    func error(_ message: String) -> QuiverError {
        QuiverError(.invalidData, "malformed JSON: \(message)", context: ["JSON byte \(position)"])
    }

    var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
            position += 1
        }
    }

    mutating func expect(_ literal: StaticString) throws {
        let expected = UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        guard bytes.count - position >= expected.count,
              zip(bytes[position...], expected).allSatisfy({ $0 == $1 })
        else { throw error("expected '\(literal)'") }
        position += expected.count
    }

    mutating func parseValue(depth: Int) throws -> JSONValue {
        guard depth < maxDepth else { throw error("nesting deeper than \(maxDepth)") }
        guard let byte = current else { throw error("unexpected end of input") }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        case UInt8(ascii: "N"): try expect("NaN"); return .number("NaN")
        case UInt8(ascii: "I"): try expect("Infinity"); return .number("Infinity")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw error("unexpected character '\(Unicode.Scalar(byte))'")
        }
    }

    mutating func parseObject(depth: Int) throws -> JSONValue {
        position += 1  // {
        var members: [(key: String, value: JSONValue)] = []
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw error("expected a member name") }
            let key = try parseString()
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw error("expected ':'") }
            position += 1
            skipWhitespace()
            members.append((key, try parseValue(depth: depth + 1)))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"): position += 1; return .object(members)
            default: throw error("expected ',' or '}'")
            }
        }
    }

    mutating func parseArray(depth: Int) throws -> JSONValue {
        position += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"): position += 1; return .array(elements)
            default: throw error("expected ',' or ']'")
            }
        }
    }

    /// Scans a number token and returns its text; the grammar is checked here so later
    /// conversions only decide range and kind.
    mutating func parseNumber() throws -> String {
        let start = position
        if current == UInt8(ascii: "-") {
            position += 1
            if current == UInt8(ascii: "I") {
                try expect("Infinity")
                return "-Infinity"
            }
        }
        func digits(_ parser: inout JSONParser) -> Int {
            var count = 0
            while let byte = parser.current, byte >= 0x30, byte <= 0x39 {
                parser.position += 1
                count += 1
            }
            return count
        }
        if current == UInt8(ascii: "0") {
            position += 1
        } else if digits(&self) == 0 {
            throw error("expected digits")
        }
        if current == UInt8(ascii: ".") {
            position += 1
            guard digits(&self) > 0 else { throw error("expected digits after '.'") }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard digits(&self) > 0 else { throw error("expected exponent digits") }
        }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
    }

    mutating func parseString() throws -> String {
        position += 1  // opening quote
        let start = position
        // Fast path: no escapes, so the bytes are the string (validated as UTF-8).
        while let byte = current, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") {
            guard byte >= 0x20 else { throw error("control character in string") }
            position += 1
        }
        guard let stop = current else { throw error("unterminated string") }
        var utf8 = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<position]))
        if stop == UInt8(ascii: "\\") {
            while true {
                guard let byte = current else { throw error("unterminated string") }
                position += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return try makeString(utf8)
                case UInt8(ascii: "\\"):
                    try parseEscape(into: &utf8)
                case 0..<0x20:
                    throw error("control character in string")
                default:
                    utf8.append(byte)
                }
            }
        }
        position += 1  // closing quote
        return try makeString(utf8)
    }

    func makeString(_ utf8: [UInt8]) throws -> String {
        guard let string = String(validating: utf8, as: UTF8.self) else { throw error("string is not valid UTF-8") }
        return string
    }

    mutating func parseEscape(into utf8: inout [UInt8]) throws {
        guard let byte = current else { throw error("unterminated escape") }
        position += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(byte)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = UInt32(try parseHex4())
            if (0xD800..<0xDC00).contains(scalar) {
                // A high surrogate must be followed by an escaped low surrogate.
                try expect("\\u")
                let low = UInt32(try parseHex4())
                guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(scalar) {
                throw error("unpaired surrogate")
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw error("invalid \\u escape") }
            utf8.append(contentsOf: String(Character(unicode)).utf8)
        default:
            throw error("invalid escape '\\\(Unicode.Scalar(byte))'")
        }
    }

    mutating func parseHex4() throws -> UInt16 {
        guard bytes.count - position >= 4 else { throw error("short \\u escape") }
        var value: UInt16 = 0
        for _ in 0..<4 {
            guard let digit = hexDigitValue(bytes[position]) else { throw error("invalid \\u escape") }
            value = value << 4 | UInt16(digit)
            position += 1
        }
        return value
    }
}

/// The value of one ASCII hex digit (either case), or nil.
@inline(__always)
func hexDigitValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case 0x30...0x39: return byte - 0x30
    case 0x41...0x46: return byte - 0x41 + 10
    case 0x61...0x66: return byte - 0x61 + 10
    default: return nil
    }
}

// MARK: - Serialising

extension JSONValue {
    /// The JSON text of this value: objects one member per line (indented by depth), arrays
    /// of scalars on one line, so integration files stay readable and diffable.
    func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(1 << 16)
        write(into: &out, indent: 0)
        out.append(0x0A)
        return out
    }

    private var isScalar: Bool {
        switch self {
        case .array, .object: return false
        default: return true
        }
    }

    private func write(into out: inout [UInt8], indent: Int) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let value): out.append(contentsOf: (value ? "true" : "false").utf8)
        case .number(let text): out.append(contentsOf: text.utf8)
        case .string(let text): JSONValue.writeString(text, into: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            if elements.allSatisfy(\.isScalar) {
                for (index, element) in elements.enumerated() {
                    if index > 0 { out.append(contentsOf: ", ".utf8) }
                    element.write(into: &out, indent: indent)
                }
            } else {
                for (index, element) in elements.enumerated() {
                    out.append(contentsOf: (index > 0 ? ",\n" : "\n").utf8)
                    out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * (indent + 1)))
                    element.write(into: &out, indent: indent + 1)
                }
                if !elements.isEmpty {
                    out.append(0x0A)
                    out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * indent))
                }
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (index, member) in members.enumerated() {
                out.append(contentsOf: (index > 0 ? ",\n" : "\n").utf8)
                out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * (indent + 1)))
                JSONValue.writeString(member.key, into: &out)
                out.append(contentsOf: ": ".utf8)
                member.value.write(into: &out, indent: indent + 1)
            }
            if !members.isEmpty {
                out.append(0x0A)
                out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * indent))
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func writeString(_ text: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: "\\\"".utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: "\\\\".utf8)
            case 0x0A: out.append(contentsOf: "\\n".utf8)
            case 0x0D: out.append(contentsOf: "\\r".utf8)
            case 0x09: out.append(contentsOf: "\\t".utf8)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: "\\u00".utf8)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 15)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

// MARK: - Typed access (throwing `invalidData` naming what was expected)

extension JSONValue {
    /// The member `key` of an object; throws when it is missing.
    func member(_ key: String) throws -> JSONValue {
        guard case .object = self else { throw QuiverError(.invalidData, "expected an object with '\(key)', found \(kind)") }
        guard let value = self[key] else { throw QuiverError(.invalidData, "missing member '\(key)'") }
        return value
    }

    func arrayValue(_ what: String) throws -> [JSONValue] {
        guard case .array(let elements) = self else { throw QuiverError(.invalidData, "\(what): expected an array, found \(kind)") }
        return elements
    }

    func stringValue(_ what: String) throws -> String {
        guard case .string(let text) = self else { throw QuiverError(.invalidData, "\(what): expected a string, found \(kind)") }
        return text
    }

    /// A boolean, also accepting the numbers 0 and 1 (the format writes validity that way).
    func boolValue(_ what: String) throws -> Bool {
        switch self {
        case .bool(let value): return value
        case .number("0"): return false
        case .number("1"): return true
        default: throw QuiverError(.invalidData, "\(what): expected a boolean, found \(self)")
        }
    }

    /// An integer given as a JSON number or as a decimal string (the format writes 64-bit
    /// values as strings); throws unless it is an exact integer that fits `T`.
    func integerValue<T: FixedWidthInteger>(_ what: String, as type: T.Type = Int64.self) throws -> T {
        let text: String
        switch self {
        case .number(let value), .string(let value): text = value
        default: throw QuiverError(.invalidData, "\(what): expected an integer, found \(kind)")
        }
        guard let value = T(text) else { throw QuiverError(.invalidData, "\(what): '\(text)' is not a \(T.self)") }
        return value
    }
}

extension JSONValue: CustomStringConvertible {
    /// The compact JSON text (truncated), for error messages.
    var description: String {
        let text = String(decoding: serialized().filter { $0 != 0x0A }, as: UTF8.self)
        return text.count > 80 ? String(text.prefix(80)) + "…" : text
    }
}
