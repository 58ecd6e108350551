/// Proleptic Gregorian calendar arithmetic: the one home of the day-count ⇄ civil-date rule,
/// for printing values here and for SQL literals, casts and date functions in QuiverQuery
/// (which extends this type with parsing and timestamps).
///
/// Days are counted from 1970-01-01 (Arrow's `date32`); the conversions are Howard Hinnant's
/// `days_from_civil` / `civil_from_days`, exact for every representable day.
package enum CalendarMath {
    /// Days since the epoch of a civil date (month 1...12, day 1...31, already range-checked).
    package static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The civil date of a day count. The era is a floored division, so day counts near
    /// `Int64.min` do not overflow.
    package static func civil(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let (era, dayOfEra) = floorDivMod(z, 146_097)
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// `YYYY-MM-DD` of a day count; a negative (astronomical) year is signed: `-0044-03-15`.
    package static func formatDate(days: Int64) -> String {
        let (year, month, day) = civil(days: days)
        let yearText = year < 0 ? "-" + pad(-year, 4) : pad(year, 4)
        return yearText + "-" + pad(month, 2) + "-" + pad(day, 2)
    }

    /// `value` in decimal, left-padded with zeros to `width` digits.
    package static func pad(_ value: Int64, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}
