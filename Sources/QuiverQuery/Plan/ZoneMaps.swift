import QuiverArrow
import QuiverBytes
import QuiverStore

/// Batch skipping from statistics ("zone maps"): a batch is skipped when its per-column
/// min/max/null counts prove the filter cannot be TRUE for any of its rows.
///
/// Understood: `column <op> literal` (either side; a column under a numeric widening cast
/// too), `IS [NOT] NULL`, AND, OR, IN lists — which covers BETWEEN, as the binder rewrites it
/// into those. Anything else is assumed to match.
enum ZoneMaps {
    /// For each batch of the plan's source, whether it can be skipped.
    static func prune(_ plan: PhysicalPlan) -> [Bool] {
        let count = plan.source.batchCount
        guard let filter = plan.filter else { return Array(repeating: false, count: count) }
        return (0..<count).map { !mayMatch(filter, batch: $0, source: plan.source) }
    }

    static func mayMatch(_ expr: BoundExpr, batch: Int, source: any BatchSource) -> Bool {
        switch expr {
        case .literal(let scalar):
            if case .bool(true) = scalar.payload { return true }
            return false
        case .and(let a, let b):
            return mayMatch(a, batch: batch, source: source) && mayMatch(b, batch: batch, source: source)
        case .or(let a, let b):
            return mayMatch(a, batch: batch, source: source) || mayMatch(b, batch: batch, source: source)
        case .isNull(.column(let column, _), let negated):
            guard let stats = facts(column: column, batch: batch, source: source) else { return true }
            return negated ? stats.nulls < stats.rows : stats.nulls > 0
        case .compare(let op, let a, let b):
            if let column = column(of: a), case .literal(let value) = b {
                return mayMatch(op, column: column, value, batch: batch, source: source)
            }
            if let column = column(of: b), case .literal(let value) = a {
                return mayMatch(op.flipped, column: column, value, batch: batch, source: source)
            }
            return true
        case .inSet(let operand, let set):
            // Some value within the batch's range: each one for short lists, else the list's span.
            guard let column = column(of: operand) else { return true }
            if set.values.count <= 64 {
                return set.values.contains { mayMatch(.equal, column: column, $0, batch: batch, source: source) }
            }
            guard var low = set.values.first else { return false }
            var high = low
            for value in set.values.dropFirst() {
                guard let below = ScalarOrder.compare(value, low), let above = ScalarOrder.compare(value, high) else { return true }
                if below < 0 { low = value }
                if above > 0 { high = value }
            }
            return mayMatch(.greaterOrEqual, column: column, low, batch: batch, source: source)
                && mayMatch(.lessOrEqual, column: column, high, batch: batch, source: source)
        default:
            return true
        }
    }

    /// What the source knows about `column` in `batch`: row and null counts, and the bounds as
    /// scalars of the column's type (of its value type for dictionaries) for comparison with
    /// literals; bounds the engine cannot compare are nil.
    private static func facts(
        column: Int, batch: Int, source: any BatchSource
    ) -> (rows: Int, nulls: Int, min: Scalar?, max: Scalar?)? {
        guard let stats = source.statistics(batch: batch), stats.columns.indices.contains(column),
            let entry = stats.columns[column], source.schema.fields.indices.contains(column)
        else { return nil }
        var type = source.schema.fields[column].type
        if case .dictionary(_, let values, _) = type.storageType { type = values }
        return (
            stats.rowCount, entry.nullCount, entry.min.flatMap { Scalar(statistic: $0.value, type: type) },
            entry.max.flatMap { Scalar(statistic: $0.value, type: type) }
        )
    }

    /// The column under an expression that preserves order: itself, or a numeric widening.
    private static func column(of expr: BoundExpr) -> Int? {
        switch expr {
        case .column(let index, _): return index
        case .cast(.column(let index, let from), let to)
            where TypeRules.isNumeric(from) && TypeRules.isNumeric(to):
            return index
        default: return nil
        }
    }

    private static func mayMatch(_ op: CompareOp, column: Int, _ value: Scalar, batch: Int, source: any BatchSource) -> Bool {
        guard !value.isNull else { return false }
        guard let stats = facts(column: column, batch: batch, source: source) else { return true }
        if stats.nulls >= stats.rows { return false }
        let low = stats.min.flatMap { ScalarOrder.compare($0, value) }
        let high = stats.max.flatMap { ScalarOrder.compare($0, value) }
        switch op {
        case .equal: return (low.map { $0 <= 0 } ?? true) && (high.map { $0 >= 0 } ?? true)
        case .notEqual:
            // NaN <> x is TRUE and min/max ignore NaN, so only exact non-float bounds prune.
            guard TypeRules.family(value.type) != .float else { return true }
            return !(low == 0 && high == 0)
        case .less: return low.map { $0 < 0 } ?? true
        case .lessOrEqual: return low.map { $0 <= 0 } ?? true
        case .greater: return high.map { $0 > 0 } ?? true
        case .greaterOrEqual: return high.map { $0 >= 0 } ?? true
        }
    }
}

/// Ordering of scalars of comparable types (statistics against literals).
enum ScalarOrder {
    /// −1, 0 or 1; nil when the two cannot be compared (different families, NULLs, or
    /// temporal values of different types).
    static func compare(_ a: Scalar, _ b: Scalar) -> Int? {
        let fa = TypeRules.family(a.type)
        let fb = TypeRules.family(b.type)
        if fa == .temporal || fb == .temporal {
            guard a.type.storageType == b.type.storageType else { return nil }
        }
        switch (a.payload, b.payload) {
        case (.null, _), (_, .null): return nil
        case (.bytes(let x), .bytes(let y)):
            return x.lexicographicallyPrecedes(y) ? -1 : (x == y ? 0 : 1)
        case (.bool(let x), .bool(let y)):
            return x == y ? 0 : (!x ? -1 : 1)
        default:
            guard let x = exact(a), let y = exact(b) else {
                guard let x = approximate(a), let y = approximate(b), !x.isNaN, !y.isNaN else { return nil }
                return x < y ? -1 : (x > y ? 1 : 0)
            }
            let scale = Swift.max(x.scale, y.scale)
            let (left, o1) = x.value.multipliedReportingOverflow(by: Decimal.powersOfTen[scale - x.scale])
            let (right, o2) = y.value.multipliedReportingOverflow(by: Decimal.powersOfTen[scale - y.scale])
            guard !o1, !o2 else {
                guard let x = approximate(a), let y = approximate(b) else { return nil }
                return x < y ? -1 : (x > y ? 1 : 0)
            }
            return left < right ? -1 : (left > right ? 1 : 0)
        }
    }

    /// Integers and decimals as (unscaled, scale).
    private static func exact(_ s: Scalar) -> (value: Int128, scale: Int)? {
        switch s.payload {
        case .int(let v): return (Int128(v), 0)
        case .uint(let v): return (Int128(v), 0)
        case .decimal(let v): return (v, Cast.decimalScale(s.type))
        default: return nil
        }
    }

    private static func approximate(_ s: Scalar) -> Double? {
        switch s.payload {
        case .float(let v): return v
        case .int(let v): return Double(v)
        case .uint(let v): return Double(v)
        case .decimal(let v): return Decimal.toDouble(v, scale: Cast.decimalScale(s.type))
        default: return nil
        }
    }
}

/// Computes a column's statistics by scanning it (for sources without stored statistics),
/// with the engine's own MIN and MAX, so every type the engine orders gets bounds: unlike a
/// store append (`BatchStatistics(of:)`), dictionary columns get bounds over their
/// dictionary. Decimal bounds have no kind in the statistics schema and are left out.
enum StatisticsScan {
    static func compute(_ column: ArrayData, pool: MemoryPool = .default) throws -> ColumnStatistics {
        let data = try ColumnCheck.prepare(column, pool: pool)
        if let dictionary = data.dictionary {
            // Bounds over the dictionary hold for the rows (they need not be attained). A row
            // is NULL when its index is or when its index selects a NULL entry.
            var statistics = try compute(dictionary, pool: pool)
            statistics.nullCount = data.nullCount
            if dictionary.nullCount > 0 {
                statistics.nullCount = try Take.indexRows(data, nullRow: -1).reduce(0) {
                    $0 + ($1 < 0 || dictionary.isNull(Int($1)) ? 1 : 0)
                }
            }
            if statistics.nullCount == data.length { (statistics.min, statistics.max) = (nil, nil) }
            return statistics
        }
        var statistics = ColumnStatistics(nullCount: data.nullCount)
        let type = data.type.storageType
        guard [.integer, .float, .decimal, .temporal, .string, .binary].contains(TypeRules.family(type)) else {
            return statistics
        }
        let argument = BoundExpr.column(0, type)
        let calls = [AggregateFunction.min, .max].map {
            AggregateCall(function: $0, argument: argument, type: type, text: $0.rawValue)
        }
        let state = try AggregationState(calls: calls, keyTypes: [], pool: pool)
        try state.update(keyColumns: [], inputs: [data, data], rowCount: data.length)
        let results = try state.finish()
        let low = ScalarArrays.scalar(results[0], at: 0)
        let high = ScalarArrays.scalar(results[1], at: 0)
        statistics.min = low.statisticValue.map { StatisticBound($0) }
        statistics.max = high.statisticValue.map { StatisticBound($0) }
        return statistics
    }
}
