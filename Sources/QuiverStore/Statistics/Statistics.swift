import QuiverArrow
import QuiverBytes

/// One minimum or maximum, in the physical kinds the Arrow statistics schema stores (the
/// value types Arrow C++'s `ArrayStatistics` uses).
///
/// Signed integers and everything stored as one (dates, times, timestamps, durations) are
/// `.int`; unsigned integers `.uint`; floats `.double`; booleans `.bool`; utf8 columns of any
/// layout `.string`; binary columns of any layout `.binary`. The column's `DataType` says how
/// to read the number (days, microseconds, …).
public enum StatisticValue: Sendable, Hashable, CustomStringConvertible {
    /// Signed integers, dates, times, timestamps, durations.
    case int(Int64)
    /// Unsigned integers.
    case uint(UInt64)
    /// Floats of any width.
    case double(Double)
    /// Booleans.
    case bool(Bool)
    /// utf8 values (possibly a prefix: see `StatisticBound.isExact`).
    case string(String)
    /// Binary values (possibly a prefix).
    case binary([UInt8])

    /// Orders two values of the same kind (strings and bytes by their bytes, unsigned, as
    /// Arrow compares them); nil for values of different kinds or unordered doubles (NaN).
    /// O(value bytes) for strings and binary, O(1) otherwise.
    public func compare(_ other: StatisticValue) -> Int? {
        func order<T: Comparable>(_ a: T, _ b: T) -> Int { a < b ? -1 : (a == b ? 0 : 1) }
        func bytes<A: Sequence<UInt8>, B: Sequence<UInt8>>(_ a: A, _ b: B) -> Int {
            a.lexicographicallyPrecedes(b) ? -1 : (b.lexicographicallyPrecedes(a) ? 1 : 0)
        }
        switch (self, other) {
        case (.int(let a), .int(let b)): return order(a, b)
        case (.uint(let a), .uint(let b)): return order(a, b)
        case (.double(let a), .double(let b)): return a.isNaN || b.isNaN ? nil : order(a, b)
        case (.bool(let a), .bool(let b)): return order(a ? 1 : 0, b ? 1 : 0)
        case (.string(let a), .string(let b)): return bytes(a.utf8, b.utf8)
        case (.binary(let a), .binary(let b)): return bytes(a, b)
        default: return nil
        }
    }

    /// The value as text: strings quoted, binary as `0x` hex.
    public var description: String {
        switch self {
        case .int(let value): return String(value)
        case .uint(let value): return String(value)
        case .double(let value): return String(value)
        case .bool(let value): return String(value)
        case .string(let value): return "\"\(value)\""
        case .binary(let value): return "0x" + value.map { String($0, radix: 16).leftPadded(2) }.joined()
        }
    }
}

/// A minimum or maximum, and whether it is the exact value or only a bound (a string cut to
/// a prefix: the minimum's prefix is ≤ every value, the maximum's incremented prefix ≥).
public struct StatisticBound: Sendable, Hashable, CustomStringConvertible {
    /// The bound.
    public var value: StatisticValue
    /// False when `value` is a bound, not a value that occurs.
    public var isExact: Bool

    /// A bound, exact unless said otherwise.
    public init(_ value: StatisticValue, isExact: Bool = true) {
        self.value = value
        self.isExact = isExact
    }

    /// The value, prefixed `≈` when it is only a bound.
    public var description: String { isExact ? value.description : "≈\(value)" }

    /// The bound as a column of `type` displays its values — dates as dates, timestamps as
    /// instants, times and durations in their units — and otherwise as `description`. An
    /// inexact bound is prefixed `≈`.
    public func formatted(as type: DataType) -> String {
        let prefix = isExact ? "" : "≈"
        guard case .int(let value) = self.value else { return prefix + self.value.description }
        let data: ArrayData
        switch type.storageType {
        case .date32, .time32:
            guard let narrow = Int32(exactly: value) else { return prefix + self.value.description }
            data = ArrayData(uncheckedType: type, length: 1, buffers: [.empty, Buffer(copyingValues: [narrow])])
        case .date64, .time64, .timestamp, .duration:
            data = ArrayData(uncheckedType: type, length: 1, buffers: [.empty, Buffer(copyingValues: [value])])
        default: return prefix + self.value.description
        }
        return prefix + data.formatValue(at: 0)
    }
}

/// What is known about one column over some rows: nulls, smallest and largest value.
public struct ColumnStatistics: Sendable, Hashable {
    /// Null slots (exact).
    public var nullCount: Int
    /// The smallest non-null value (NaN ignored), or nil when unknown: no values, an
    /// unsupported type (nested, decimal, interval, half float, dictionary), or a merge with
    /// rows whose minimum is unknown.
    public var min: StatisticBound?
    /// The largest non-null value, as `min`.
    public var max: StatisticBound?

    /// Statistics with the given null count and bounds.
    public init(nullCount: Int, min: StatisticBound? = nil, max: StatisticBound? = nil) {
        self.nullCount = nullCount
        self.min = min
        self.max = max
    }
}

/// Statistics of a set of rows — one record batch, a file, a whole table: the row count and
/// one entry per top-level column (nil where nothing was recorded).
public struct BatchStatistics: Sendable, Hashable {
    /// Rows (exact).
    public var rowCount: Int
    /// Per top-level column, in schema order.
    public var columns: [ColumnStatistics?]

    /// Statistics with the given row count and per-column entries.
    public init(rowCount: Int, columns: [ColumnStatistics?]) {
        self.rowCount = rowCount
        self.columns = columns
    }

    /// Computes the statistics of a batch (what an append records): one pass over each
    /// column, strings bounded by `stringPrefixLength`-byte prefixes.
    public init(of batch: RecordBatch, stringPrefixLength: Int = 64) {
        self = StatisticsCollector.statistics(of: batch, prefixLength: stringPrefixLength)
    }

    /// The statistics of all rows of `parts` together: counts add up; a minimum (maximum)
    /// survives only if every part that has non-null values in the column knows its own.
    /// Columns are matched by position; `columnCount` of them are kept.
    /// O(parts × columns).
    public static func merging(_ parts: [BatchStatistics], columnCount: Int) -> BatchStatistics {
        var rows = 0
        var columns = [ColumnStatistics?](repeating: nil, count: columnCount)
        var valueCounts = [Int](repeating: 0, count: columnCount)
        var unknown = [Bool](repeating: false, count: columnCount)
        for part in parts {
            for column in 0..<columnCount where !unknown[column] {
                guard column < part.columns.count, let stats = part.columns[column] else {
                    unknown[column] = true
                    columns[column] = nil
                    continue
                }
                let values = part.rowCount - stats.nullCount
                if let merged = columns[column] {
                    columns[column] = ColumnStatistics(
                        nullCount: merged.nullCount + stats.nullCount,
                        min: mergeBound(merged.min, valueCounts[column], stats.min, values, keepSmaller: true),
                        max: mergeBound(merged.max, valueCounts[column], stats.max, values, keepSmaller: false))
                } else {
                    columns[column] = stats
                }
                valueCounts[column] += values
            }
            rows += part.rowCount
        }
        return BatchStatistics(rowCount: rows, columns: columns)
    }

    /// Combines the bounds of two row sets holding `countA` and `countB` non-null values.
    private static func mergeBound(
        _ a: StatisticBound?, _ countA: Int, _ b: StatisticBound?, _ countB: Int, keepSmaller: Bool
    ) -> StatisticBound? {
        if countA == 0 { return b }
        if countB == 0 { return a }
        guard let a, let b, let order = a.value.compare(b.value) else { return nil }
        if order == 0 { return StatisticBound(a.value, isExact: a.isExact || b.isExact) }
        return (order < 0) == keepSmaller ? a : b
    }
}

extension String {
    /// The string padded with leading zeros to `width` characters.
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
