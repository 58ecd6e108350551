import QuiverArrow
import QuiverBytes

/// Kernels of the scalar functions (`BoundExpr.call`) and of CASE.
///
/// Every function but `coalesce` is NULL-strict: a NULL argument makes a NULL result. Arguments
/// arrive with dictionaries decoded; a constant argument stays a scalar and is read once.
enum FunctionKernels {
    static func evaluate(
        _ function: ScalarFunction, _ operands: [Datum], type: DataType, length: Int, pool: MemoryPool
    ) throws -> Datum {
        if case .coalesce = function {
            return .array(try coalesce(operands, length: length, pool: pool))
        }
        if operands.contains(where: \.isNullScalar) { return .scalar(.null(type)) }
        // All-constant calls (folding at bind time) compute one row.
        let rows = operands.allSatisfy { if case .scalar = $0 { true } else { false } } ? 1 : length
        let result = try compute(function, operands, type: type, length: rows, pool: pool)
        return rows == length ? .array(result) : .scalar(ScalarArrays.scalar(result, at: 0))
    }

    private static func compute(
        _ function: ScalarFunction, _ operands: [Datum], type: DataType, length: Int, pool: MemoryPool
    ) throws -> ArrayData {
        let first = try operands[0].materialize(length: length, pool: pool)
        switch function {
        case .coalesce:
            return try coalesce(operands, length: length, pool: pool)
        case .characterLength:
            return try StringFunctions.lengths(first, countingCharacters: true, pool: pool)
        case .byteLength:
            return try StringFunctions.lengths(first, countingCharacters: false, pool: pool)
        case .lower:
            return try StringFunctions.changeCase(first, upper: false, pool: pool)
        case .upper:
            return try StringFunctions.changeCase(first, upper: true, pool: pool)
        case .substring:
            let start = IntegerArgument(operands[1])
            let count = operands.count > 2 ? IntegerArgument(operands[2]) : nil
            return try StringFunctions.substring(first, start: start, count: count, validity: operands, pool: pool)
        case .datePart(let part):
            return try TemporalFunctions.extract(part, first, type: type, pool: pool)
        case .dateTrunc(let part):
            return try TemporalFunctions.truncate(part, first, type: type, pool: pool)
        case .regexpMatches(let regex, _):
            return try StringFunctions.regexpMatches(first, regex, pool: pool)
        case .regexpReplace(let regex, let replacement):
            return try StringFunctions.regexpReplace(first, regex, replacement, pool: pool)
        }
    }

    /// `coalesce`: per row the first argument that is not NULL (NULL when none is).
    static func coalesce(_ operands: [Datum], length: Int, pool: MemoryPool) throws -> ArrayData {
        let validities: [BitView?] = operands.map { $0.validity }
        let constantNull = operands.map(\.isNullScalar)
        return try choose(operands, length: length, pool: pool) { row in
            for index in operands.indices where !constantNull[index] {
                if validities[index].map({ $0[row] }) ?? true { return index }
            }
            return operands.count - 1
        }
    }

    /// CASE: `parts` alternates conditions and results, then the ELSE result. Each row takes
    /// the result of its first TRUE condition. (Every result is computed for every row, so a
    /// failing cast in a branch a row does not take still fails the query.)
    static func caseWhen(_ parts: [Datum], length: Int, pool: MemoryPool) throws -> ArrayData {
        let pairs = (parts.count - 1) / 2
        let conditions = (0..<pairs).map { Logic.Truth(parts[2 * $0]) }
        let results = (0..<pairs).map { parts[2 * $0 + 1] } + [parts[parts.count - 1]]
        // Each row's result (its first TRUE condition, else the ELSE), found 64 rows at a time:
        // a word of the rows still open, narrowed condition by condition.
        var picks = [Int32](repeating: Int32(pairs), count: length)
        picks.withUnsafeMutableBufferPointer { picks in
            for word in 0..<((length + 63) >> 6) {
                let tail = length - word << 6
                var open: UInt64 = tail >= 64 ? ~0 : (1 << UInt64(tail)) - 1
                for pair in 0..<pairs where open != 0 {
                    let taken = conditions[pair].words(word).isTrue & open
                    var bits = taken
                    while bits != 0 {
                        picks[word << 6 + bits.trailingZeroBitCount] = Int32(pair)
                        bits &= bits - 1
                    }
                    open &= ~taken
                }
            }
        }
        return try picks.withUnsafeBufferPointer { picks in
            try choose(results, length: length, pool: pool) { Int(picks[$0]) }
        }
    }

    /// Builds an array whose row `i` is row `i` of `sources[pick(i)]` (a scalar source is
    /// one value for every row). Sources share one type.
    private static func choose(
        _ sources: [Datum], length: Int, pool: MemoryPool, pick: (Int) -> Int
    ) throws -> ArrayData {
        var constant: [Bool] = []
        var arrays: [ArrayData] = []
        for source in sources {
            switch source {
            case .array(let data):
                constant.append(false)
                arrays.append(data)
            case .scalar(let scalar):
                constant.append(true)
                arrays.append(try ScalarArrays.repeated(scalar, count: 1, pool: pool))
            }
        }
        // Fixed-width values (numbers, dates, decimals) are picked straight into the output,
        // where the general path builds a row reference per row and gathers through them.
        if let type = arrays.first?.type, arrays.allSatisfy({ $0.type == type }), type != .boolean,
            type.storageType == type, let width = type.fixedByteWidth
        {
            switch width {
            case 1: return chooseFixed(UInt8.self, arrays, constant: constant, type: type, length: length, pool: pool, pick: pick)
            case 2: return chooseFixed(UInt16.self, arrays, constant: constant, type: type, length: length, pool: pool, pick: pick)
            case 4: return chooseFixed(UInt32.self, arrays, constant: constant, type: type, length: length, pool: pool, pick: pick)
            case 8: return chooseFixed(UInt64.self, arrays, constant: constant, type: type, length: length, pool: pool, pick: pick)
            case 16: return chooseFixed(UInt128.self, arrays, constant: constant, type: type, length: length, pool: pool, pick: pick)
            default: break
            }
        }
        var refs: [RowRef] = []
        refs.reserveCapacity(length)
        for row in 0..<length {
            let source = pick(row)
            refs.append(RowRef(source: Int32(source), row: constant[source] ? 0 : Int32(row)))
        }
        return try Take.take(arrays, refs: refs, pool: pool)
    }

    /// `choose` for sources of one fixed-width type whose values are `T`-sized (a constant
    /// source is a one-row array, read at row 0).
    private static func chooseFixed<T: BitwiseCopyable>(
        _: T.Type, _ arrays: [ArrayData], constant: [Bool], type: DataType, length: Int, pool: MemoryPool,
        pick: (Int) -> Int
    ) -> ArrayData {
        let values = arrays.map { Columns.values($0, as: T.self) }
        let validities = arrays.map { Bitmaps.validity($0) }
        let hasNulls = validities.contains { $0 != nil }
        let validity = hasNulls ? BitmapWriter(count: length, pool: pool) : nil
        var nullCount = 0
        let buffer = Output.fixed(T.self, count: length, pool: pool) { out in
            var word: UInt64 = 0
            for row in 0..<length {
                let source = pick(row)
                let at = constant[source] ? 0 : row
                out[row] = values[source][at]
                if let validity {
                    let valid = validities[source].map { $0[at] } ?? true
                    if valid { word |= 1 << UInt64(row & 63) } else { nullCount += 1 }
                    if row & 63 == 63 || row == length - 1 {
                        validity.set(word: row >> 6, word)
                        word = 0
                    }
                }
            }
        }
        return Output.array(type, length: length, validity: validity.map { ($0.finish(), nullCount) }, [buffer])
    }
}

/// An `int64` argument: a column or a constant.
struct IntegerArgument {
    let values: UnsafePointer<Int64>?
    let constant: Int64

    init(_ datum: Datum) {
        switch datum {
        case .array(let data):
            values = Columns.values(data, as: Int64.self)
            constant = 0
        case .scalar(let scalar):
            values = nil
            if case .int(let value) = scalar.payload { constant = value } else { constant = 0 }
        }
    }

    @inline(__always)
    subscript(row: Int) -> Int64 { values?[row] ?? constant }
}

// MARK: - Strings

enum StringFunctions {
    /// Runs `body` over the strings of `data` with the offset width it has.
    fileprivate static func withStrings<R>(
        _ data: ArrayData, _ body: (_ string: (Int) -> ByteString) throws -> R
    ) rethrows -> R {
        if Columns.hasLargeOffsets(data.type) {
            let view = Columns.strings(data, offsets: Int64.self)
            return try body { view[$0] }
        }
        let view = Columns.strings(data, offsets: Int32.self)
        return try body { view[$0] }
    }

    /// The validity of a per-row result over `data` (a copy of its bitmap), nil if no nulls.
    fileprivate static func validity(of data: ArrayData, pool: MemoryPool) throws -> (Buffer, nullCount: Int)? {
        data.nullCount > 0 ? (try Take.copyValidity(data, pool: pool), data.nullCount) : nil
    }

    /// Bytes of a valid UTF-8 string that start a character.
    @inline(__always)
    fileprivate static func characterCount(_ value: ByteString) -> Int {
        var count = 0
        for index in 0..<value.count where value.start.load(fromByteOffset: index, as: Int8.self) >= -64 {
            count += 1  // not a continuation byte (0b10xxxxxx is -128...-65 as Int8)
        }
        return count
    }

    static func lengths(_ data: ArrayData, countingCharacters: Bool, pool: MemoryPool) throws -> ArrayData {
        let length = data.length
        let values = withStrings(data) { string in
            Output.fixed(Int64.self, count: length, pool: pool) { out in
                for row in 0..<length {
                    let value = string(row)
                    out[row] = Int64(countingCharacters ? characterCount(value) : value.count)
                }
            }
        }
        return Output.array(.int64, length: length, validity: try validity(of: data, pool: pool), [values])
    }

    /// `lower` / `upper`: ASCII strings byte by byte, others through Swift's Unicode case
    /// mapping (full mappings, so `upper('ß')` is `SS` where DuckDB gives `ẞ`).
    /// A utf8 array with a value per row of the strings `data`: NULL where `data` is NULL,
    /// else the bytes `transform` leaves in its output for the row's bytes.
    fileprivate static func mapStrings(
        _ data: ArrayData, pool: MemoryPool, _ transform: (UnsafeRawBufferPointer, inout [UInt8]) throws -> Void
    ) throws -> ArrayData {
        var builder = StringBuilder(type: .utf8, capacity: data.length, pool: pool)
        var output: [UInt8] = []
        let validity = Bitmaps.validity(data)
        try withStrings(data) { string in
            for row in 0..<data.length {
                guard validity?[row] ?? true else {
                    builder.appendNull()
                    continue
                }
                let value = string(row)
                output.removeAll(keepingCapacity: true)
                try transform(UnsafeRawBufferPointer(start: value.start, count: value.count), &output)
                try output.withUnsafeBytes { try builder.append($0) }
            }
        }
        return builder.finish()
    }

    static func changeCase(_ data: ArrayData, upper: Bool, pool: MemoryPool) throws -> ArrayData {
        try mapStrings(data, pool: pool) { bytes, output in
            if !changeCaseDirectly(bytes, upper: upper, into: &output) {
                output.removeAll(keepingCapacity: true)
                let text = String(decoding: bytes, as: UTF8.self)
                output.append(contentsOf: (upper ? text.uppercased() : text.lowercased()).utf8)
            }
        }
    }

    /// Lower- or upper-cases `bytes` byte by byte when every character is ASCII, Latin-1 or
    /// basic Cyrillic (U+0400–U+045F), whose case pairs are one fixed offset apart in UTF-8;
    /// false (output partial) at the first other character, which then goes through Swift's
    /// full Unicode mapping. Latin-1's ß, ÿ, × and ÷ have no such pair here and go that way too.
    private static func changeCaseDirectly(_ bytes: UnsafeRawBufferPointer, upper: Bool, into output: inout [UInt8]) -> Bool {
        var index = 0
        while index < bytes.count {
            let lead = bytes[index]
            if lead < 0x80 {
                let isOther = upper ? (lead >= 97 && lead <= 122) : (lead >= 65 && lead <= 90)
                output.append(isOther ? lead ^ 0x20 : lead)
                index += 1
                continue
            }
            guard index + 1 < bytes.count else { return false }
            let next = bytes[index + 1]
            switch (lead, upper) {
            case (0xC3, false):  // U+00C0–U+00DE → +0x20, but × (U+00D7); lower ones stay
                guard next >= 0x80 && next <= 0xBF && next != 0x97 && next != 0x9F && next != 0xB7 && next != 0xBF else { return false }
                output += [lead, next <= 0x9E ? next + 0x20 : next]
            case (0xC3, true):  // U+00E0–U+00FE → −0x20, but ÷ (U+00F7); upper ones stay
                guard next >= 0x80 && next <= 0xBF && next != 0x97 && next != 0x9F && next != 0xB7 && next != 0xBF else { return false }
                output += [lead, next >= 0xA0 ? next - 0x20 : next]
            case (0xD0, false):
                guard next >= 0x80 && next <= 0xBF else { return false }
                switch next {
                case 0x80...0x8F: output += [0xD1, next + 0x10]  // Ѐ–Џ → ѐ–џ
                case 0x90...0x9F: output += [0xD0, next + 0x20]  // А–П → а–п
                case 0xA0...0xAF: output += [0xD1, next - 0x20]  // Р–Я → р–я
                default: output += [lead, next]  // а–п
                }
            case (0xD0, true):
                guard next >= 0x80 && next <= 0xBF else { return false }
                output += [lead, next >= 0xB0 ? next - 0x20 : next]  // а–п → А–П
            case (0xD1, _):
                guard next >= 0x80 && next <= 0x9F else { return false }  // р–я, ѐ–џ
                if !upper {
                    output += [lead, next]
                } else if next <= 0x8F {
                    output += [0xD0, next + 0x20]  // р–я → Р–Я
                } else {
                    output += [0xD0, next - 0x10]  // ѐ–џ → Ѐ–Џ
                }
            default:
                return false
            }
            index += 2
        }
        return true
    }

    /// `substring(s, start[, count])` over characters, as DuckDB: start 1 is the first
    /// character, a negative start counts from the end, start 0 begins one before the first;
    /// a negative count takes the characters before the start.
    static func substring(
        _ data: ArrayData, start: IntegerArgument, count: IntegerArgument?, validity operands: [Datum], pool: MemoryPool
    ) throws -> ArrayData {
        var builder = StringBuilder(type: .utf8, capacity: data.length, pool: pool)
        let validities = operands.compactMap(\.validity)
        try withStrings(data) { string in
            for row in 0..<data.length {
                guard validities.allSatisfy({ $0[row] }) else {
                    builder.appendNull()
                    continue
                }
                let value = string(row)
                let range = characterRange(
                    size: Int64(characterCount(value)), offset: start[row], count: count?[row] ?? Int64.max)
                let bytes = byteRange(value, characters: range)
                try builder.append(UnsafeRawBufferPointer(start: value.start + bytes.lowerBound, count: bytes.count))
            }
        }
        return builder.finish()
    }

    /// DuckDB's `SubstringStartEnd`, with saturating arithmetic for extreme arguments.
    static func characterRange(size: Int64, offset: Int64, count: Int64) -> Range<Int64> {
        var count = count
        guard count != 0 else { return 0..<0 }
        var start: Int64
        if offset > 0 {
            start = Swift.min(size, offset - 1)
        } else if offset < 0 {
            start = Swift.max(size.addingReportingOverflow(offset).partialValue, 0)
            if offset == Int64.min { start = 0 }
        } else {
            start = 0
            count -= count == Int64.min ? 0 : 1
            if count <= 0 && count > Int64.min { return 0..<0 }
        }
        let end: Int64
        if count > 0 {
            let (sum, overflow) = start.addingReportingOverflow(count)
            end = overflow ? size : Swift.min(size, sum)
        } else {
            end = start
            let (sum, overflow) = start.addingReportingOverflow(count)
            start = overflow ? 0 : Swift.max(0, sum)
        }
        return start < end ? start..<end : 0..<0
    }

    /// The bytes of characters `characters` of a UTF-8 string.
    private static func byteRange(_ value: ByteString, characters: Range<Int64>) -> Range<Int> {
        if characters.isEmpty { return 0..<0 }
        var character: Int64 = -1
        var lower = value.count
        var upper = value.count
        for index in 0..<value.count where value.start.load(fromByteOffset: index, as: Int8.self) >= -64 {
            character += 1
            if character == characters.lowerBound { lower = index }
            if character == characters.upperBound {
                upper = index
                break
            }
        }
        return lower..<Swift.max(lower, upper)
    }

    static func regexpMatches(_ data: ArrayData, _ regex: RegexProgram, pool: MemoryPool) throws -> ArrayData {
        var failure: Error?
        let writer = try regex.withMatcher { matcher in
            withStrings(data) { string in
                Bitmaps.build(count: data.length, pool: pool) { row in
                    guard failure == nil else { return false }
                    do { return try matcher.matches(string(row)) } catch {
                        failure = error
                        return false
                    }
                }
            }
        }
        if let failure { throw failure }
        return Output.array(.boolean, length: data.length, validity: try validity(of: data, pool: pool), [writer.finish()])
    }

    static func regexpReplace(
        _ data: ArrayData, _ regex: RegexProgram, _ replacement: RegexReplacement, pool: MemoryPool
    ) throws -> ArrayData {
        try regex.withMatcher { matcher in
            try mapStrings(data, pool: pool) { bytes, output in
                let value = ByteString(start: bytes.baseAddress ?? Buffer.empty.baseAddress, count: bytes.count)
                // RE2's global replace, as DuckDB runs it: an empty match right where the
                // previous match ended does not count; the scan steps over one character.
                var position = 0
                var previousEnd: Int?
                while position <= value.count, let groups = try matcher.firstMatch(in: value, from: position),
                    let whole = groups[0]
                {
                    output.append(contentsOf: bytes[position..<whole.lowerBound])
                    if whole.isEmpty && whole.lowerBound == previousEnd {
                        guard whole.lowerBound < value.count else {
                            position = value.count
                            break
                        }
                        var next = whole.lowerBound + 1
                        while next < value.count, bytes[next] & 0xC0 == 0x80 { next += 1 }
                        output.append(contentsOf: bytes[whole.lowerBound..<next])
                        position = next
                        continue
                    }
                    for piece in replacement.pieces {
                        switch piece {
                        case .bytes(let literal): output.append(contentsOf: literal)
                        case .group(let group):
                            if let range = groups[group] { output.append(contentsOf: bytes[range]) }
                        }
                    }
                    position = whole.upperBound
                    previousEnd = position
                    guard regex.options.global else { break }
                }
                output.append(contentsOf: bytes[Swift.min(position, value.count)...])
            }
        }
    }
}

// MARK: - Dates and times

enum TemporalFunctions {
    /// How a temporal column's values map to days and time of day.
    private struct Ticks {
        /// Ticks per second and per day of the stored value (a date32 counts days).
        let perSecond: Int64
        let perDay: Int64
        let isDays: Bool

        init(_ type: DataType) throws {
            switch ScalarArrays.valueType(type) {
            case .date32:
                (perSecond, perDay, isDays) = (0, 1, true)
            case .date64:
                (perSecond, perDay, isDays) = (1000, 86_400_000, false)
            case .timestamp(let unit, _):
                let perSecond = CalendarMath.unitsPerSecond(unit)
                (self.perSecond, perDay, isDays) = (perSecond, perSecond * 86_400, false)
            default:
                throw QuiverError(.query, "expected a date or timestamp, found \(type)")
            }
        }

        /// Days since the epoch and ticks since midnight (floor division, so instants before
        /// 1970 land on the right day).
        @inline(__always)
        func split(_ value: Int64) -> (days: Int64, time: Int64) {
            if isDays { return (value, 0) }
            let (quotient, remainder) = value.quotientAndRemainder(dividingBy: perDay)
            return remainder < 0 ? (quotient - 1, remainder + perDay) : (quotient, remainder)
        }
    }

    /// Reads row `row` of a date32/date64/timestamp column as an `Int64`.
    private static func values(_ data: ArrayData) -> (Int) -> Int64 {
        if case .date32 = data.type.storageType {
            let values = Columns.values(data, as: Int32.self)
            return { Int64(values[$0]) }
        }
        let values = Columns.values(data, as: Int64.self)
        return { values[$0] }
    }

    static func extract(_ part: DatePart, _ data: ArrayData, type: DataType, pool: MemoryPool) throws -> ArrayData {
        let ticks = try Ticks(data.type)
        let read = values(data)
        let length = data.length
        let validity = try StringFunctions.validity(of: data, pool: pool)
        if part == .epoch {
            let seconds = Output.fixed(Double.self, count: length, pool: pool) { out in
                for row in 0..<length {
                    out[row] = ticks.isDays ? Double(read(row)) * 86_400 : Double(read(row)) / Double(ticks.perSecond)
                }
            }
            return Output.array(.float64, length: length, validity: validity, [seconds])
        }
        let perSecond = Swift.max(ticks.perSecond, 1)
        let result = Output.fixed(Int64.self, count: length, pool: pool) { out in
            for row in 0..<length {
                let (days, time) = ticks.split(read(row))
                out[row] = field(part, days: days, time: time, perSecond: perSecond)
            }
        }
        return Output.array(.int64, length: length, validity: validity, [result])
    }

    /// One calendar field of a day and a time of day (in ticks of `perSecond`).
    @inline(__always)
    private static func field(_ part: DatePart, days: Int64, time: Int64, perSecond: Int64) -> Int64 {
        switch part {
        case .hour: return time / (3600 * perSecond)
        case .minute: return time / (60 * perSecond) % 60
        case .second: return time / perSecond % 60
        case .millisecond: return time % (60 * perSecond) * 1000 / perSecond
        case .microsecond: return time % (60 * perSecond) * 1_000_000 / perSecond
        case .dayOfWeek: return floorMod(days + 4, 7)
        case .isoDayOfWeek:
            let weekday = floorMod(days + 4, 7)
            return weekday == 0 ? 7 : weekday
        case .week, .isoYear:
            let iso = isoWeek(days: days)
            return part == .week ? iso.week : iso.year
        case .dayOfYear:
            let year = CalendarMath.civil(days: days).year
            return days - CalendarMath.days(year: year, month: 1, day: 1) + 1
        default:
            let (year, month, day) = CalendarMath.civil(days: days)
            switch part {
            case .year: return year
            case .month: return month
            case .day: return day
            case .quarter: return (month - 1) / 3 + 1
            case .decade: return year / 10
            case .century: return year > 0 ? (year - 1) / 100 + 1 : year / 100 - 1
            case .millennium: return year > 0 ? (year - 1) / 1000 + 1 : year / 1000 - 1
            default: return 0
            }
        }
    }

    private static func floorMod(_ value: Int64, _ divisor: Int64) -> Int64 {
        let remainder = value % divisor
        return remainder < 0 ? remainder + divisor : remainder
    }

    /// The ISO 8601 week (1…53) and the year it belongs to: the week of the Thursday in it.
    private static func isoWeek(days: Int64) -> (year: Int64, week: Int64) {
        let weekday = floorMod(days + 3, 7)  // Monday = 0
        let thursday = days - weekday + 3
        let year = CalendarMath.civil(days: thursday).year
        return (year, (thursday - CalendarMath.days(year: year, month: 1, day: 1)) / 7 + 1)
    }

    /// The timestamp type `date_trunc` gives for `type`: timestamps keep their unit and zone,
    /// dates become microsecond timestamps.
    static func truncatedType(_ type: DataType) -> DataType {
        if case .timestamp = ScalarArrays.valueType(type) { return ScalarArrays.valueType(type) }
        return .timestamp(.microsecond, timezone: nil)
    }

    static func truncate(_ part: DatePart, _ data: ArrayData, type: DataType, pool: MemoryPool) throws -> ArrayData {
        let ticks = try Ticks(data.type)
        guard case .timestamp(let unit, _) = type else { throw QuiverError(.query, "internal: date_trunc to \(type)") }
        let perSecond = CalendarMath.unitsPerSecond(unit)
        let perDay = perSecond * 86_400
        let read = values(data)
        let length = data.length
        // Ticks of the input per tick of the output (1, or 1000 from date64's ms to µs).
        let scale = ticks.isDays ? 1 : perSecond / Swift.max(ticks.perSecond, 1)
        let step: Int64
        switch part {
        case .hour: step = 3600 * perSecond
        case .minute: step = 60 * perSecond
        case .second: step = perSecond
        case .millisecond: step = Swift.max(1, perSecond / 1000)
        case .microsecond: step = Swift.max(1, perSecond / 1_000_000)
        default: step = perDay
        }
        var overflowRows: [Int] = []
        if !ticks.isDays && scale == 1 && [.microsecond, .millisecond, .second, .minute, .hour, .day].contains(part) {
            // A timestamp cut to a day or less, in its own unit: one floor division a row.
            let result = Output.fixed(Int64.self, count: length, pool: pool) { out in
                Self.floorToMultiple(Columns.values(data, as: Int64.self), of: step, count: length, into: out, overflowRows: &overflowRows)
            }
            return try truncated(data, result, type: type, overflowRows: overflowRows, pool: pool)
        }
        let result = Output.fixed(Int64.self, count: length, pool: pool) { out in
            for row in 0..<length {
                let (days, time) = ticks.split(read(row))
                let startDay: Int64
                switch part {
                case .microsecond, .millisecond, .second, .minute, .hour, .day:
                    startDay = days
                case .week:
                    startDay = days - floorMod(days + 3, 7)
                default:
                    let (year, month, _) = CalendarMath.civil(days: days)
                    switch part {
                    case .month: startDay = CalendarMath.days(year: year, month: month, day: 1)
                    case .quarter: startDay = CalendarMath.days(year: year, month: (month - 1) / 3 * 3 + 1, day: 1)
                    case .decade: startDay = CalendarMath.days(year: year / 10 * 10, month: 1, day: 1)
                    case .century: startDay = CalendarMath.days(year: year / 100 * 100, month: 1, day: 1)
                    case .millennium: startDay = CalendarMath.days(year: year / 1000 * 1000, month: 1, day: 1)
                    default: startDay = CalendarMath.days(year: year, month: 1, day: 1)
                    }
                }
                let (midnight, overflow) = startDay.multipliedReportingOverflow(by: perDay)
                // Time of day in output ticks, cut to the step (0 for day and longer periods).
                let timeOfDay = step < perDay ? time * scale - time * scale % step : 0
                if overflow { overflowRows.append(row) }
                out[row] = midnight &+ timeOfDay
            }
        }
        return try truncated(data, result, type: type, overflowRows: overflowRows, pool: pool)
    }

    /// `date_trunc`'s result: `values` with `data`'s validity; an error if a valid row overflowed.
    private static func truncated(_ data: ArrayData, _ values: Buffer, type: DataType, overflowRows: [Int], pool: MemoryPool) throws -> ArrayData {
        let validity = try StringFunctions.validity(of: data, pool: pool)
        let valid = validity.map { BitView($0.0.baseAddress, offset: 0, count: data.length) }
        if let row = overflowRows.first(where: { valid?[$0] ?? true }) {
            throw QuiverError(.query, "date_trunc: \(ScalarArrays.scalar(data, at: row)) is out of the timestamp range")
        }
        return Output.array(type, length: data.length, validity: validity, [values])
    }

    /// Each value rounded down to a multiple of `step` (> 0), noting rows whose result would
    /// fall below `Int64.min`.
    ///
    /// Values within ±2^53 (microsecond timestamps for ±285 years) divide through a `Double`
    /// reciprocal, corrected to the exact floor: a 64-bit integer division costs several times
    /// more. Others divide exactly.
    private static func floorToMultiple(
        _ values: UnsafePointer<Int64>, of step: Int64, count: Int, into out: UnsafeMutablePointer<Int64>, overflowRows: inout [Int]
    ) {
        let inverse = 1 / Double(step)
        let exactLimit: Int64 = 1 << 53
        for row in 0..<count {
            let value = values[row]
            if value > -exactLimit && value < exactLimit {
                // The estimate is within 2 of the true quotient (both roundings are relative).
                var multiple = Int64((Double(value) * inverse).rounded(.down)) &* step
                while multiple > value { multiple &-= step }
                while value - multiple >= step { multiple &+= step }
                out[row] = multiple
            } else {
                let (multiple, overflow) = Cast.floorDivide(value, step).multipliedReportingOverflow(by: step)
                if overflow { overflowRows.append(row) }
                out[row] = multiple
            }
        }
    }
}
