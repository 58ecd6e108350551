import QuiverArrow
import QuiverBytes

/// A checked, executable query: Scan → Filter → (Project | Aggregate [→ Having → Project])
/// → (Sort | TopK) → Limit.
///
/// Expressions before aggregation are bound to source column indices; after aggregation to
/// the aggregate's output (group keys, then aggregate values). The row-wise output is
/// "extended": the visible outputs followed by hidden sort keys, dropped after sorting.
struct PhysicalPlan: Sendable {
    let source: any BatchSource
    let tableName: String
    /// Source columns the scan loads, ascending.
    let scanColumns: [Int]
    /// The WHERE predicate, if any.
    let filter: BoundExpr?
    let filterText: String?
    /// Source columns read after the filter (gathered to the selected rows).
    let postFilterColumns: [Int]
    let mode: Mode
    /// Sort keys over the extended output.
    let sort: [SortSpec]
    let sortTexts: [String]
    let limit: Int?
    /// Output rows skipped before the limit applies.
    let offset: Int
    let outputSchema: Schema
    /// Visible outputs + hidden sort keys.
    let extendedFields: [Field]

    enum Mode: Sendable {
        /// Per-row outputs (over source columns), extended.
        case project([BoundExpr], texts: [String])
        case aggregate(AggregatePlan)
    }

    var visibleWidth: Int { outputSchema.fields.count }

    /// Rows the query must produce before dropping the offset: `limit + offset` (nil: all).
    var fetchCount: Int? {
        limit.map { $0 > Int.max - offset ? Int.max : $0 + offset }
    }
}

/// GROUP BY / aggregate functions and what is computed from their results.
struct AggregatePlan: Sendable {
    /// Group keys over source columns.
    let keys: [BoundExpr]
    /// Keys computed from other keys rather than hashed (`GROUP BY x, x - 1`): their
    /// positions in `keys`. Each reads only source columns that are themselves plain keys, so
    /// it is a function of the group and is evaluated once per group after aggregating.
    let derivedKeys: Set<Int>

    /// The keys that are hashed, in order.
    var hashedKeys: [BoundExpr] { keys.indices.filter { !derivedKeys.contains($0) }.map { keys[$0] } }
    let keyTexts: [String]
    let calls: [AggregateCall]
    /// Fields of the aggregate's output: keys then calls.
    let fields: [Field]
    /// HAVING over `fields`.
    let having: BoundExpr?
    let havingText: String?
    /// Extended outputs over `fields`.
    let outputs: [BoundExpr]
    let outputTexts: [String]

    /// Whether aggregating reads no column: no keys, only count(*).
    var readsNoColumns: Bool { keys.isEmpty && calls.allSatisfy { $0.function == .countStar } }
}

/// One aggregate function applied to a bound argument (nil for count(*)).
struct AggregateCall: Hashable, Sendable {
    let function: AggregateFunction
    let argument: BoundExpr?
    let type: DataType
    let text: String
}

/// One sort key: a column of the extended output.
struct SortSpec: Hashable, Sendable {
    let column: Int
    let descending: Bool
    let nullsFirst: Bool
}
