import QuiverArrow

/// Calendar arithmetic for date and timestamp literals, casts and printing; the civil-date
/// conversions themselves live with QuiverArrow's part of this type.
extension CalendarMath {
    static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Parses `YYYY-MM-DD` (a four-digit year, optionally signed) into days since the epoch.
    static func parseDate<Bytes: Collection<UInt8>>(_ text: Bytes) -> Int64? {
        var scanner = DigitScanner(Array(text))
        guard let days = scanner.date(), scanner.atEnd else { return nil }
        return days
    }

    /// Parses `YYYY-MM-DD[ |T]HH:MM[:SS[.fraction]]` into units since the epoch (no time zone
    /// suffix: the value is wall-clock time, as Arrow's naive timestamps are).
    static func parseTimestamp<Bytes: Collection<UInt8>>(_ text: Bytes, unit: TimeUnit) -> Int64? {
        var scanner = DigitScanner(Array(text))
        guard let days = scanner.date() else { return nil }
        var nanos: Int64 = 0
        if !scanner.atEnd {
            guard scanner.take(UInt8(ascii: " ")) || scanner.take(UInt8(ascii: "T")),
                let hour = scanner.number(digits: 2), hour < 24, scanner.take(UInt8(ascii: ":")),
                let minute = scanner.number(digits: 2), minute < 60
            else { return nil }
            var second: Int64 = 0
            var fraction: Int64 = 0
            if scanner.take(UInt8(ascii: ":")) {
                guard let s = scanner.number(digits: 2), s < 60 else { return nil }
                second = s
                if scanner.take(UInt8(ascii: ".")) {
                    var digits = 0
                    while let digit = scanner.digit() {
                        guard digits < 9 else { return nil }
                        fraction = fraction * 10 + digit
                        digits += 1
                    }
                    guard digits > 0 else { return nil }
                    for _ in digits..<9 { fraction *= 10 }
                }
            }
            guard scanner.atEnd else { return nil }
            nanos = ((hour * 60 + minute) * 60 + second) * 1_000_000_000 + fraction
        }
        let perDay = unitsPerDay(unit)
        let perNano = 1_000_000_000 / unitsPerSecond(unit)
        let (dayUnits, overflow) = days.multipliedReportingOverflow(by: perDay)
        let (total, overflow2) = dayUnits.addingReportingOverflow(nanos / perNano)
        return overflow || overflow2 ? nil : total
    }

    static func unitsPerSecond(_ unit: TimeUnit) -> Int64 {
        switch unit {
        case .second: return 1
        case .millisecond: return 1000
        case .microsecond: return 1_000_000
        case .nanosecond: return 1_000_000_000
        }
    }

    static func unitsPerDay(_ unit: TimeUnit) -> Int64 { 86_400 * unitsPerSecond(unit) }

    /// `YYYY-MM-DD HH:MM:SS[.fraction]`, the fraction trimmed to the unit.
    static func formatTimestamp(_ value: Int64, unit: TimeUnit) -> String {
        let perDay = unitsPerDay(unit)
        var days = value / perDay
        var rest = value % perDay
        if rest < 0 {
            rest += perDay
            days -= 1
        }
        let perSecond = unitsPerSecond(unit)
        let seconds = rest / perSecond
        let fraction = rest % perSecond
        var text = formatDate(days: days)
        text += " \(pad(seconds / 3600, 2)):\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2))"
        if perSecond > 1 {
            text += "." + pad(fraction, String(perSecond).count - 1)
        }
        return text
    }
}

/// A cursor over ASCII digits and separators.
private struct DigitScanner {
    let bytes: [UInt8]
    var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { position == bytes.count }

    mutating func take(_ byte: UInt8) -> Bool {
        guard position < bytes.count, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    mutating func digit() -> Int64? {
        guard position < bytes.count, bytes[position] >= 48, bytes[position] <= 57 else { return nil }
        position += 1
        return Int64(bytes[position - 1] - 48)
    }

    mutating func number(digits: Int) -> Int64? {
        var value: Int64 = 0
        for _ in 0..<digits {
            guard let d = digit() else { return nil }
            value = value * 10 + d
        }
        return value
    }

    /// `[-]YYYY-MM-DD` with a range-checked month and day.
    mutating func date() -> Int64? {
        let negative = take(UInt8(ascii: "-"))
        guard var year = number(digits: 4) else { return nil }
        // Years beyond 9999 may carry more digits (bounded so the arithmetic cannot overflow).
        var extra = 0
        while let d = digit() {
            extra += 1
            guard extra <= 5 else { return nil }
            year = year * 10 + d
        }
        if negative { year = -year }
        guard take(UInt8(ascii: "-")), let month = number(digits: 2), (1...12).contains(month),
            take(UInt8(ascii: "-")), let day = number(digits: 2), day >= 1,
            day <= CalendarMath.daysInMonth(year: year, month: month)
        else { return nil }
        return CalendarMath.days(year: year, month: month, day: day)
    }
}
