import QuiverBytes

/// SQL text kept for error messages: turns a byte offset into line, column and a snippet with
/// a caret under the offending token.
struct SourceText: Sendable {
    let text: String

    /// `QuiverError(.query, …)` whose message ends with the location and a caret snippet:
    /// ```
    /// unknown column 'l_shipdat' at line 1, column 30
    ///   SELECT count(*) FROM t WHERE l_shipdat > 3
    ///                                ^~~~~~~~~
    /// ```
    func error(_ message: String, at offset: Int, length: Int = 1, code: QuiverError.Code = .query) -> QuiverError {
        let bytes = Array(text.utf8)
        let position = Swift.max(0, Swift.min(offset, bytes.count))
        var lineStart = position
        while lineStart > 0 && bytes[lineStart - 1] != UInt8(ascii: "\n") { lineStart -= 1 }
        var lineEnd = position
        while lineEnd < bytes.count && bytes[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
        let line = bytes[..<lineStart].filter { $0 == UInt8(ascii: "\n") }.count + 1
        let prefix = String(decoding: bytes[lineStart..<position], as: UTF8.self)
        let column = prefix.count + 1
        let snippet = String(decoding: bytes[lineStart..<lineEnd], as: UTF8.self)
        let width = Swift.max(1, Swift.min(length, lineEnd - position))
        let marker = String(repeating: " ", count: prefix.count) + "^" + String(repeating: "~", count: width - 1)
        return QuiverError(code, "\(message) at line \(line), column \(column)\n  \(snippet)\n  \(marker)")
    }
}

/// Where query errors are raised: with SQL text they point at the token, without it (the
/// Swift builder API) they are plain messages.
struct ErrorSite: Sendable {
    let source: SourceText?

    func error(_ message: String, at position: Int?, length: Int = 1, code: QuiverError.Code = .query) -> QuiverError {
        guard let source, let position else { return QuiverError(code, message) }
        return source.error(message, at: position, length: length, code: code)
    }

    /// Runs `body`, relocating a plain query error to `position` when it has none yet.
    func locating<R>(_ position: Int?, length: Int = 1, _ body: () throws -> R) throws -> R {
        do {
            return try body()
        } catch let error as QuiverError where error.code == .query && !error.message.contains("\n") {
            throw self.error(error.message, at: position, length: length)
        }
    }
}
