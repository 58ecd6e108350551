import QuiverArrow
import QuiverBytes

/// A bound scalar function: what `BoundExpr.call` computes from its arguments. Constant
/// arguments that select behaviour (a date part, a regular expression and its options) are
/// consumed when binding and live here, so the kernels see only the per-row arguments.
enum ScalarFunction: Hashable, Sendable {
    /// The first non-NULL argument (all arguments cast to one type).
    case coalesce
    /// Characters (Unicode code points) of a string: `length`, `char_length`.
    case characterLength
    /// Bytes of a string: `strlen`, `octet_length`.
    case byteLength
    case lower
    case upper
    /// `substring(s, start[, count])` in characters, with DuckDB's rules for a start ≤ 0 and
    /// a negative count.
    case substring
    /// `extract(part FROM x)` / `date_part('part', x)`: `int64`, or `double` for epoch.
    case datePart(DatePart)
    /// `date_trunc('part', x)`: a timestamp at the start of the part's period.
    case dateTrunc(DatePart)
    /// `regexp_matches` (anywhere in the string) and `regexp_full_match` (the whole string).
    case regexpMatches(RegexProgram, wholeString: Bool)
    case regexpReplace(RegexProgram, RegexReplacement)

    /// The name shown in EXPLAIN and messages.
    var name: String {
        switch self {
        case .coalesce: return "coalesce"
        case .characterLength: return "length"
        case .byteLength: return "strlen"
        case .lower: return "lower"
        case .upper: return "upper"
        case .substring: return "substring"
        case .datePart(let part): return "date_part('\(part.rawValue)')"
        case .dateTrunc(let part): return "date_trunc('\(part.rawValue)')"
        case .regexpMatches(let regex, let whole): return "\(whole ? "regexp_full_match" : "regexp_matches")('\(regex.pattern)')"
        case .regexpReplace(let regex, let replacement): return "regexp_replace('\(regex.pattern)', '\(replacement.text)')"
        }
    }
}

/// A calendar field or period, as `extract`, `date_part` and `date_trunc` name them.
enum DatePart: String, Hashable, Sendable, CaseIterable {
    case millennium, century, decade, year, quarter, month, week, day, hour, minute, second
    case millisecond, microsecond
    /// Day of the week, Sunday = 0 (`dow`).
    case dayOfWeek = "dow"
    /// ISO day of the week, Monday = 1 … Sunday = 7.
    case isoDayOfWeek = "isodow"
    /// Day of the year, 1…366.
    case dayOfYear = "doy"
    /// The year the ISO week belongs to.
    case isoYear = "isoyear"
    /// Seconds since 1970-01-01 00:00:00, with fractions (a `double`).
    case epoch

    /// The part a name (any case, DuckDB's singular, plural and short spellings) stands for.
    init?(name: String) {
        let lowered = name.lowercased()
        if let exact = DatePart(rawValue: lowered) {
            self = exact
            return
        }
        let synonyms: [String: DatePart] = [
            "millennia": .millennium, "millenniums": .millennium, "mil": .millennium, "mils": .millennium,
            "centuries": .century, "cent": .century, "c": .century,
            "decades": .decade, "dec": .decade, "decs": .decade,
            "years": .year, "yr": .year, "yrs": .year, "y": .year,
            "quarters": .quarter, "q": .quarter,
            "months": .month, "mon": .month, "mons": .month,
            "weeks": .week, "w": .week, "weekofyear": .week,
            "days": .day, "d": .day, "dayofmonth": .day,
            "hours": .hour, "hr": .hour, "hrs": .hour, "h": .hour,
            "minutes": .minute, "min": .minute, "mins": .minute, "m": .minute,
            "seconds": .second, "sec": .second, "secs": .second, "s": .second,
            "milliseconds": .millisecond, "ms": .millisecond, "msec": .millisecond, "msecs": .millisecond,
            "microseconds": .microsecond, "us": .microsecond, "usec": .microsecond, "usecs": .microsecond,
            "dayofweek": .dayOfWeek, "weekday": .dayOfWeek, "dayofyear": .dayOfYear,
        ]
        guard let part = synonyms[lowered] else { return nil }
        self = part
    }

    /// Whether `date_trunc` accepts the part (the week-day and epoch parts are not periods).
    var isPeriod: Bool {
        switch self {
        case .dayOfWeek, .isoDayOfWeek, .dayOfYear, .isoYear, .epoch: return false
        default: return true
        }
    }
}

/// The SQL names of the scalar functions, for the parser (which refuses unknown names at the
/// call) and for messages.
enum ScalarFunctionNames {
    /// Each accepted name and the argument counts it takes.
    static let arities: [String: ClosedRange<Int>] = [
        "coalesce": 1...Int.max, "nullif": 2...2,
        "length": 1...1, "char_length": 1...1, "character_length": 1...1,
        "strlen": 1...1, "octet_length": 1...1,
        "lower": 1...1, "lcase": 1...1, "upper": 1...1, "ucase": 1...1,
        "substring": 2...3, "substr": 2...3,
        "date_part": 2...2, "datepart": 2...2, "date_trunc": 2...2, "datetrunc": 2...2,
        "regexp_matches": 2...3, "regexp_like": 2...3, "regexp_full_match": 2...3, "regexp_replace": 3...4,
        "starts_with": 2...2,
    ]

    static var listed: String { arities.keys.sorted().joined(separator: ", ") }
}
