import QuiverBytes

/// One token of SQL text, with its byte range for error carets.
struct SQLToken: Sendable {
    enum Kind: Sendable, Equatable {
        /// An unquoted name (original spelling kept) — keywords are recognised by `isKeyword`.
        case word(String)
        /// A `"double-quoted"` name: never a keyword.
        case quoted(String)
        /// A `'single-quoted'` string literal.
        case string(String)
        /// A numeric literal as written.
        case number(String)
        /// Punctuation or an operator: `( ) , . * + - / % = <> != < <= > >= ;`.
        case symbol(String)
        case end
    }

    let kind: Kind
    let offset: Int
    let length: Int

    /// The keyword this token spells (uppercased), if it is an unquoted word.
    var keyword: String? {
        if case .word(let word) = kind { return word.uppercased() }
        return nil
    }

    var display: String {
        switch kind {
        case .word(let w): return "'\(w)'"
        case .quoted(let w): return "\"\(w)\""
        case .string(let s): return "'\(s)'"
        case .number(let n): return n
        case .symbol(let s): return "'\(s)'"
        case .end: return "end of input"
        }
    }
}

/// Splits SQL text into tokens. Skips whitespace, `-- line` and `/* block */` comments.
enum SQLLexer {
    static let keywords: Set<String> = [
        "SELECT", "FROM", "WHERE", "GROUP", "BY", "HAVING", "ORDER", "ASC", "DESC", "LIMIT", "AS", "AND",
        "OR", "NOT", "IS", "NULL", "IN", "BETWEEN", "LIKE", "ESCAPE", "CAST", "DATE", "TIMESTAMP", "TRUE",
        "FALSE", "DISTINCT", "EXPLAIN", "NULLS", "FIRST", "LAST", "OFFSET", "CASE", "WHEN", "THEN", "ELSE", "END",
    ]

    static func isKeyword(_ word: String) -> Bool { keywords.contains(word.uppercased()) }

    static func tokenize(_ source: SourceText) throws -> [SQLToken] {
        let bytes = Array(source.text.utf8)
        var tokens: [SQLToken] = []
        var i = 0
        func isIdentifierStart(_ b: UInt8) -> Bool {
            (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == UInt8(ascii: "_") || b >= 0x80
        }
        func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
        while i < bytes.count {
            let b = bytes[i]
            let start = i
            if b == 32 || b == 9 || b == 10 || b == 13 {
                i += 1
            } else if b == UInt8(ascii: "-"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "-") {
                while i < bytes.count && bytes[i] != 10 { i += 1 }
            } else if b == UInt8(ascii: "/"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "*") {
                i += 2
                while i + 1 < bytes.count && !(bytes[i] == UInt8(ascii: "*") && bytes[i + 1] == UInt8(ascii: "/")) { i += 1 }
                guard i + 1 < bytes.count else { throw source.error("unterminated /* comment", at: start, length: 2) }
                i += 2
            } else if isIdentifierStart(b) {
                while i < bytes.count && (isIdentifierStart(bytes[i]) || isDigit(bytes[i])) { i += 1 }
                tokens.append(SQLToken(kind: .word(String(decoding: bytes[start..<i], as: UTF8.self)), offset: start, length: i - start))
            } else if b == UInt8(ascii: "'") || b == UInt8(ascii: "\"") {
                // Quotes are escaped by doubling them, as SQL does.
                var text: [UInt8] = []
                i += 1
                var closed = false
                while i < bytes.count {
                    if bytes[i] == b {
                        if i + 1 < bytes.count && bytes[i + 1] == b {
                            text.append(b)
                            i += 2
                            continue
                        }
                        i += 1
                        closed = true
                        break
                    }
                    text.append(bytes[i])
                    i += 1
                }
                guard closed else {
                    throw source.error("unterminated \(b == UInt8(ascii: "'") ? "string" : "quoted name")", at: start)
                }
                let value = String(decoding: text, as: UTF8.self)
                tokens.append(SQLToken(kind: b == UInt8(ascii: "'") ? .string(value) : .quoted(value), offset: start, length: i - start))
            } else if isDigit(b) || (b == UInt8(ascii: ".") && i + 1 < bytes.count && isDigit(bytes[i + 1])) {
                while i < bytes.count && (isDigit(bytes[i]) || bytes[i] == UInt8(ascii: ".")) { i += 1 }
                if i < bytes.count && (bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E")) {
                    var j = i + 1
                    if j < bytes.count && (bytes[j] == UInt8(ascii: "+") || bytes[j] == UInt8(ascii: "-")) { j += 1 }
                    if j < bytes.count && isDigit(bytes[j]) {
                        i = j
                        while i < bytes.count && isDigit(bytes[i]) { i += 1 }
                    }
                }
                if i < bytes.count && isIdentifierStart(bytes[i]) {
                    throw source.error("malformed number", at: start, length: i - start + 1)
                }
                tokens.append(SQLToken(kind: .number(String(decoding: bytes[start..<i], as: UTF8.self)), offset: start, length: i - start))
            } else {
                let two = i + 1 < bytes.count ? String(decoding: bytes[i...(i + 1)], as: UTF8.self) : ""
                if ["<=", ">=", "<>", "!=", "=="].contains(two) {
                    tokens.append(SQLToken(kind: .symbol(two == "==" ? "=" : two), offset: start, length: 2))
                    i += 2
                } else if "(),.*+-/%=<>;".utf8.contains(b) {
                    tokens.append(SQLToken(kind: .symbol(String(UnicodeScalar(b))), offset: start, length: 1))
                    i += 1
                } else {
                    let scalarLength = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4
                    let end = Swift.min(bytes.count, i + scalarLength)
                    throw source.error("unexpected character '\(String(decoding: bytes[i..<end], as: UTF8.self))'", at: start)
                }
            }
        }
        tokens.append(SQLToken(kind: .end, offset: bytes.count, length: 0))
        return tokens
    }
}
