import CPCRE2
import QuiverArrow
import QuiverBytes

/// A compiled regular expression for `regexp_matches` and `regexp_replace`: PCRE2 over UTF-8,
/// JIT-compiled when the platform allows.
///
/// Patterns come from SQL text, so they are untrusted. A pattern longer than
/// `maxPatternBytes` is refused, and every match runs under PCRE2's match, depth and heap
/// limits: a catastrophically backtracking pattern stops with a `query` error instead of
/// running for hours. Subjects that are not valid UTF-8 (possible in `trusted` reads) are
/// matched safely: invalid sequences simply never match (`PCRE2_MATCH_INVALID_UTF`).
///
/// Syntax follows PCRE2, which accepts the RE2 syntax DuckDB uses for everyday patterns
/// (classes, groups, `(?:…)`, `(?i)`, anchors, repetition). As in DuckDB, `.` does not match
/// a newline and `$` matches only at the very end.
final class RegexProgram: Hashable, @unchecked Sendable, CustomStringConvertible {
    /// Longest accepted pattern, in bytes.
    static let maxPatternBytes = 16_384
    /// Backtracking steps one subject may take before the match fails with an error.
    static let matchLimit: UInt32 = 5_000_000
    /// Nested backtracking depth per match.
    static let depthLimit: UInt32 = 100_000
    /// Heap the interpreter may use per match, in KiB.
    static let heapLimitKiB: UInt32 = 64 * 1024

    let pattern: String
    let options: RegexOptions
    /// Matches only the whole subject (`regexp_full_match`).
    let wholeString: Bool
    /// Capturing groups in the pattern.
    let groupCount: Int
    // pcre2_code_8: immutable after compilation, so matching from several threads is safe.
    private let code: OpaquePointer

    /// Compiles `pattern`; throws `query` with PCRE2's message and the offset of the error.
    init(_ pattern: String, options: RegexOptions = RegexOptions(), wholeString: Bool = false) throws {
        self.pattern = pattern
        self.options = options
        self.wholeString = wholeString
        let bytes = Array(pattern.utf8)
        guard bytes.count <= RegexProgram.maxPatternBytes else {
            throw QuiverError(.query, "regular expression is longer than \(RegexProgram.maxPatternBytes) bytes")
        }
        var flags = UInt32(PCRE2_UTF) | UInt32(PCRE2_MATCH_INVALID_UTF) | UInt32(PCRE2_DOLLAR_ENDONLY)
        if options.caseInsensitive { flags |= UInt32(PCRE2_CASELESS) }
        if options.dotMatchesNewline { flags |= UInt32(PCRE2_DOTALL) }
        if options.multiline { flags |= UInt32(PCRE2_MULTILINE) }
        if wholeString { flags |= UInt32(PCRE2_ANCHORED) | UInt32(PCRE2_ENDANCHORED) }
        var errorCode: Int32 = 0
        var errorOffset = 0
        let compiled = bytes.withUnsafeBufferPointer { buffer in
            pcre2_compile_8(buffer.baseAddress ?? UnsafePointer(bitPattern: 1), buffer.count, flags,
                            &errorCode, &errorOffset, nil)
        }
        guard let compiled else {
            throw QuiverError(
                .query, "invalid regular expression '\(pattern)': \(RegexProgram.message(errorCode)) at offset \(errorOffset)")
        }
        code = compiled
        // Without JIT (e.g. an unsupported CPU) the interpreter runs under the same limits.
        _ = pcre2_jit_compile_8(compiled, UInt32(PCRE2_JIT_COMPLETE))
        var captures: UInt32 = 0
        _ = pcre2_pattern_info_8(compiled, UInt32(PCRE2_INFO_CAPTURECOUNT), &captures)
        groupCount = Int(captures)
    }

    deinit { pcre2_code_free_8(code) }

    var description: String { pattern }

    static func == (a: RegexProgram, b: RegexProgram) -> Bool {
        a.pattern == b.pattern && a.options == b.options && a.wholeString == b.wholeString
    }
    func hash(into hasher: inout Hasher) {
        hasher.combine(pattern)
        hasher.combine(options)
        hasher.combine(wholeString)
    }

    fileprivate static func message(_ code: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let length = pcre2_get_error_message_8(code, &buffer, buffer.count)
        return length > 0 ? String(decoding: buffer[..<Int(length)], as: UTF8.self) : "error \(code)"
    }

    /// Runs `body` with a matcher for this pattern; one per thread at a time (it owns PCRE2's
    /// per-match scratch: the match data and a JIT stack).
    func withMatcher<R>(_ body: (inout RegexMatcher) throws -> R) throws -> R {
        var matcher = try RegexMatcher(self, code: code)
        defer { matcher.release() }
        return try body(&matcher)
    }
}

/// Flags from the SQL functions' optional options string.
struct RegexOptions: Hashable, Sendable {
    var caseInsensitive = false
    var dotMatchesNewline = false
    var multiline = false
    /// `regexp_replace`: every match instead of the first.
    var global = false

    init() {}

    /// DuckDB's option letters: `i` case-insensitive, `c` case-sensitive, `s` dot matches
    /// newline, `m`/`n`/`p` newline-sensitive anchors, `g` replace all.
    init(_ text: String) throws {
        for character in text {
            switch character {
            case "i": caseInsensitive = true
            case "c": caseInsensitive = false
            case "s": dotMatchesNewline = true
            case "m", "n", "p": multiline = true
            case "g": global = true
            default: throw QuiverError(.query, "unknown regular expression option '\(character)' (known: c, i, s, m, n, p, g)")
            }
        }
    }
}

/// Matches one compiled pattern against subjects. Not shareable between threads.
struct RegexMatcher {
    private let program: RegexProgram
    private let code: OpaquePointer
    private let matchData: OpaquePointer
    private let context: OpaquePointer
    private let jitStack: OpaquePointer?

    fileprivate init(_ program: RegexProgram, code: OpaquePointer) throws {
        self.program = program
        self.code = code
        guard let matchData = pcre2_match_data_create_from_pattern_8(code, nil),
            let context = pcre2_match_context_create_8(nil)
        else { throw QuiverError(.capacityExceeded, "out of memory for a regular expression match") }
        self.matchData = matchData
        self.context = context
        pcre2_set_match_limit_8(context, RegexProgram.matchLimit)
        pcre2_set_depth_limit_8(context, RegexProgram.depthLimit)
        pcre2_set_heap_limit_8(context, RegexProgram.heapLimitKiB)
        jitStack = pcre2_jit_stack_create_8(32 * 1024, 1024 * 1024, nil)
        if let jitStack { pcre2_jit_stack_assign_8(context, nil, UnsafeMutableRawPointer(jitStack)) }
    }

    fileprivate func release() {
        if let jitStack { pcre2_jit_stack_free_8(jitStack) }
        pcre2_match_context_free_8(context)
        pcre2_match_data_free_8(matchData)
    }

    /// The first match in `subject` at or after byte `start`: whole-match range and each
    /// group's range (nil when the group did not take part), or nil when nothing matches.
    mutating func firstMatch(in subject: ByteString, from start: Int = 0) throws -> [Range<Int>?]? {
        let rc = pcre2_match_8(
            code, subject.start.assumingMemoryBound(to: UInt8.self), subject.count, start, 0, matchData, context)
        if rc == PCRE2_ERROR_NOMATCH { return nil }
        guard rc > 0 else { throw failure(rc) }
        let vector = pcre2_get_ovector_pointer_8(matchData)!
        return (0...program.groupCount).map { group in
            // Groups past the highest that matched, and unset ones (PCRE2_UNSET, ~0: size_t
            // comes into Swift as Int, so -1), are nil.
            let low = Int(truncatingIfNeeded: vector[2 * group])
            let high = Int(truncatingIfNeeded: vector[2 * group + 1])
            return group >= Int(rc) || low < 0 || high < low ? nil : low..<high
        }
    }

    /// Whether `subject` contains a match.
    mutating func matches(_ subject: ByteString) throws -> Bool {
        let rc = pcre2_match_8(
            code, subject.start.assumingMemoryBound(to: UInt8.self), subject.count, 0, 0, matchData, context)
        if rc == PCRE2_ERROR_NOMATCH { return false }
        guard rc > 0 else { throw failure(rc) }
        return true
    }

    private func failure(_ rc: Int32) -> QuiverError {
        switch rc {
        case PCRE2_ERROR_MATCHLIMIT, PCRE2_ERROR_DEPTHLIMIT, PCRE2_ERROR_HEAPLIMIT, PCRE2_ERROR_JIT_STACKLIMIT:
            return QuiverError(
                .query, "regular expression '\(program.pattern)' exceeded its matching limit (\(RegexProgram.message(rc)))")
        default:
            return QuiverError(.query, "regular expression '\(program.pattern)' failed: \(RegexProgram.message(rc))")
        }
    }
}

/// A `regexp_replace` replacement: literal bytes and group references (`\0`–`\9`; `\\` is a
/// backslash; any other backslash stays as written, as in DuckDB).
struct RegexReplacement: Hashable, Sendable {
    enum Piece: Hashable, Sendable {
        case bytes([UInt8])
        case group(Int)
    }

    let pieces: [Piece]
    let text: String

    /// Parses `template`; throws `query` when it names a group the pattern does not have.
    init(_ template: String, groupCount: Int) throws {
        text = template
        var pieces: [Piece] = []
        var literal: [UInt8] = []
        var bytes = Array(template.utf8)[...]
        while let byte = bytes.popFirst() {
            guard byte == UInt8(ascii: "\\"), let next = bytes.first else {
                literal.append(byte)
                continue
            }
            if next >= UInt8(ascii: "0") && next <= UInt8(ascii: "9") {
                let group = Int(next - UInt8(ascii: "0"))
                guard group <= groupCount else {
                    throw QuiverError(
                        .query, "replacement '\(template)' refers to group \(group), but the pattern has \(groupCount)")
                }
                bytes.removeFirst()
                if !literal.isEmpty { pieces.append(.bytes(literal)) }
                literal = []
                pieces.append(.group(group))
            } else if next == UInt8(ascii: "\\") {
                bytes.removeFirst()
                literal.append(byte)
            } else {
                literal.append(byte)
            }
        }
        if !literal.isEmpty { pieces.append(.bytes(literal)) }
        self.pieces = pieces
    }
}
