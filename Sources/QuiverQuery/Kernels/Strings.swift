import QuiverArrow
import QuiverBytes

/// A compiled SQL `LIKE` pattern: `%` matches any run of characters, `_` exactly one
/// character (a whole UTF-8 sequence, not a byte), and an optional escape character makes the
/// next pattern character literal. Matching is case-sensitive, on bytes.
///
/// Common shapes — exact, `abc%`, `%abc`, `%abc%` — are recognised at compile time and
/// matched with `memcmp`/substring search; anything else runs a backtracking matcher
/// that is linear for patterns with one `%`.
struct LikePattern: Hashable, Sendable, CustomStringConvertible {
    enum Token: Hashable, Sendable {
        case byte(UInt8)
        case one
        case many
    }

    enum Shape: Hashable, Sendable {
        case exact([UInt8])
        case prefix([UInt8])
        case suffix([UInt8])
        case contains([UInt8])
        case general([Token])
    }

    let shape: Shape
    /// The pattern as written (for EXPLAIN and error messages).
    let text: String

    /// Compiles `pattern`. Throws `query` when it ends with a dangling escape character.
    init(_ pattern: String, escape: Character? = nil) throws {
        text = pattern
        let escapeByte = escape.flatMap { $0.asciiValue }
        var tokens: [Token] = []
        var bytes = Array(pattern.utf8)[...]
        while let byte = bytes.popFirst() {
            if let escapeByte, byte == escapeByte {
                guard let next = bytes.popFirst() else {
                    throw QuiverError(.query, "LIKE pattern '\(pattern)' ends with its escape character")
                }
                tokens.append(.byte(next))
            } else if byte == UInt8(ascii: "%") {
                if tokens.last != .many { tokens.append(.many) }
            } else if byte == UInt8(ascii: "_") {
                tokens.append(.one)
            } else {
                tokens.append(.byte(byte))
            }
        }
        shape = LikePattern.classify(tokens)
    }

    /// A pattern matching strings that start with `prefix` (`starts_with`).
    init(prefix: String) {
        text = prefix
        shape = .prefix(Array(prefix.utf8))
    }

    var description: String { text }

    private static func classify(_ tokens: [Token]) -> Shape {
        func literal(_ slice: ArraySlice<Token>) -> [UInt8]? {
            var bytes: [UInt8] = []
            for token in slice {
                guard case .byte(let b) = token else { return nil }
                bytes.append(b)
            }
            return bytes
        }
        let manyCount = tokens.filter { $0 == .many }.count
        if manyCount == 0, let bytes = literal(tokens[...]) { return .exact(bytes) }
        if manyCount == 1, tokens.last == .many, let bytes = literal(tokens.dropLast()) { return .prefix(bytes) }
        if manyCount == 1, tokens.first == .many, let bytes = literal(tokens.dropFirst()) { return .suffix(bytes) }
        if manyCount == 2, tokens.count >= 2, tokens.first == .many, tokens.last == .many,
            let bytes = literal(tokens.dropFirst().dropLast())
        {
            return .contains(bytes)
        }
        return .general(tokens)
    }

    @inline(__always)
    func matches(_ value: ByteString) -> Bool {
        switch shape {
        case .exact(let bytes): return value.count == bytes.count && LikePattern.hasPrefix(value, bytes, at: 0)
        case .prefix(let bytes): return LikePattern.hasPrefix(value, bytes, at: 0)
        case .suffix(let bytes): return value.count >= bytes.count && LikePattern.hasPrefix(value, bytes, at: value.count - bytes.count)
        case .contains(let bytes): return LikePattern.contains(value, bytes)
        case .general(let tokens): return LikePattern.match(value, tokens)
        }
    }

    private static func hasPrefix(_ value: ByteString, _ bytes: [UInt8], at position: Int) -> Bool {
        guard value.count - position >= bytes.count else { return false }
        if bytes.isEmpty { return true }
        return bytes.withUnsafeBytes { system_memcmp(value.start + position, $0.baseAddress ?? value.start, bytes.count) == 0 }
    }

    private static func contains(_ value: ByteString, _ needle: [UInt8]) -> Bool {
        needle.withUnsafeBytes { firstIndex(of: $0, in: value.start, count: value.count) != nil }
    }

    /// The first position of `needle` in `count` bytes at `base`, 16 positions per step: a
    /// position is a candidate when both the needle's first and last bytes match there (one
    /// SIMD compare each), and only candidates are confirmed with `memcmp` — far fewer than
    /// memchr's hits on a common first letter.
    static func firstIndex(of needle: UnsafeRawBufferPointer, in base: UnsafeRawPointer, count: Int) -> Int? {
        let n = needle.count
        guard n > 0, let needleBase = needle.baseAddress else { return 0 }
        guard count >= n else { return nil }
        let first = SIMD16<UInt8>(repeating: needle[0])
        let last = SIMD16<UInt8>(repeating: needle[n - 1])
        var position = 0
        while position + 16 + n - 1 <= count {
            let a = base.loadUnaligned(fromByteOffset: position, as: SIMD16<UInt8>.self)
            let b = base.loadUnaligned(fromByteOffset: position + n - 1, as: SIMD16<UInt8>.self)
            let candidates = (a .== first) .& (b .== last)
            if any(candidates) {
                for lane in 0..<16 where candidates[lane] {
                    if n <= 2 || system_memcmp(base + position + lane + 1, needleBase + 1, n - 2) == 0 { return position + lane }
                }
            }
            position += 16
        }
        while position + n <= count {
            if system_memcmp(base + position, needleBase, n) == 0 { return position }
            position += 1
        }
        return nil
    }

    /// Bytes in the UTF-8 sequence that starts with `lead` (1 for stray continuation bytes).
    @inline(__always)
    private static func sequenceLength(_ lead: UInt8) -> Int {
        if lead < 0xC0 { return 1 }
        if lead < 0xE0 { return 2 }
        if lead < 0xF0 { return 3 }
        return 4
    }

    /// Wildcard matching with single-star backtracking: on a mismatch, retry from the last
    /// `%` one character further on.
    private static func match(_ value: ByteString, _ tokens: [Token]) -> Bool {
        let count = value.count
        var s = 0
        var p = 0
        var starToken = -1
        var starPosition = 0
        while s < count {
            if p < tokens.count {
                switch tokens[p] {
                case .byte(let b) where value.start.load(fromByteOffset: s, as: UInt8.self) == b:
                    s += 1
                    p += 1
                    continue
                case .one:
                    s = Swift.min(count, s + sequenceLength(value.start.load(fromByteOffset: s, as: UInt8.self)))
                    p += 1
                    continue
                case .many:
                    starToken = p
                    starPosition = s
                    p += 1
                    continue
                default: break
                }
            }
            guard starToken >= 0 else { return false }
            starPosition = Swift.min(
                count, starPosition + sequenceLength(value.start.load(fromByteOffset: starPosition, as: UInt8.self)))
            s = starPosition
            p = starToken + 1
        }
        while p < tokens.count, tokens[p] == .many { p += 1 }
        return p == tokens.count
    }
}

/// String predicate kernels.
enum StringKernels {
    /// `value LIKE pattern` for each row (NULL where the value is NULL).
    static func like(_ input: ArrayData, _ pattern: LikePattern, pool: MemoryPool) -> ArrayData {
        let bits: BitmapWriter
        if case .contains(let needle) = pattern.shape, !needle.isEmpty {
            bits = Columns.hasLargeOffsets(input.type)
                ? containsAcrossValues(Columns.strings(input, offsets: Int64.self), count: input.length, needle, pool: pool)
                : containsAcrossValues(Columns.strings(input, offsets: Int32.self), count: input.length, needle, pool: pool)
        } else if Columns.hasLargeOffsets(input.type) {
            let view = Columns.strings(input, offsets: Int64.self)
            bits = Bitmaps.build(count: input.length, pool: pool, LikeTest(view: view, pattern: pattern))
        } else {
            let view = Columns.strings(input, offsets: Int32.self)
            bits = Bitmaps.build(count: input.length, pool: pool, LikeTest(view: view, pattern: pattern))
        }
        let validity = input.nullCount > 0 ? ((try? Take.copyValidity(input, pool: pool)) ?? .empty, input.nullCount) : nil
        return Output.array(.boolean, length: input.length, validity: validity, [bits.finish()])
    }
}

extension StringKernels {
    /// `%needle%` over all rows at once: one search runs through the values' bytes back to
    /// back, and each hit marks the row it starts in when it also ends there (a hit across a
    /// boundary resumes one byte on). A row that matches skips the rest of its bytes.
    fileprivate static func containsAcrossValues<O: FixedWidthInteger>(
        _ view: StringsView<O>, count: Int, _ needle: [UInt8], pool: MemoryPool
    ) -> BitmapWriter {
        let writer = BitmapWriter(count: count, pool: pool)
        for word in 0..<writer.wordCount { writer.words[word] = 0 }
        guard count > 0 else { return writer }
        let end = Int(truncatingIfNeeded: view.offsets[count])
        var position = Int(truncatingIfNeeded: view.offsets[0])
        var row = 0
        needle.withUnsafeBytes { needle in
            while position < end,
                let hit = LikePattern.firstIndex(of: needle, in: view.bytes + position, count: end - position)
            {
                let at = position + hit
                while row < count && Int(truncatingIfNeeded: view.offsets[row + 1]) <= at { row += 1 }
                guard row < count else { break }
                let rowEnd = Int(truncatingIfNeeded: view.offsets[row + 1])
                if at + needle.count <= rowEnd {
                    writer.words[row >> 6] |= 1 << UInt64(row & 63)
                    position = rowEnd
                    row += 1
                } else {
                    position = at + 1
                }
            }
        }
        return writer
    }
}

private struct LikeTest<O: FixedWidthInteger>: RowTest {
    let view: StringsView<O>
    let pattern: LikePattern
    @inline(__always) func callAsFunction(_ row: Int) -> Bool { pattern.matches(view[row]) }
}
