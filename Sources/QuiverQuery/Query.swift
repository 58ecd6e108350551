import QuiverArrow
import QuiverBytes

/// A query over one table, built with Swift calls or parsed from SQL; runs on all cores.
///
/// ```swift
/// let result = try Query(lineitem)
///     .filter(col("l_shipdate") >= .date("1994-01-01") && col("l_quantity") < 24)
///     .aggregate([sum(col("l_extendedprice") * col("l_discount")).as("revenue")])
///     .execute()
/// let same = try Query(sql: "SELECT sum(l_extendedprice * l_discount) AS revenue FROM lineitem WHERE …",
///                      tables: ["lineitem": lineitem]).execute()
/// ```
/// The pipeline is fixed: scan → `filter` (WHERE) → `select` or `aggregate` (with
/// `having`) → `distinct` → `orderBy` → `offset` → `limit`, whatever order the calls come in. Building never fails;
/// names and types are checked when the query is planned (`execute`, `stream`, `explain`,
/// `outputSchema`), which throw `QuiverError(.query, …)` pointing at the problem.
///
/// Semantics, as in DuckDB unless noted:
/// - NULL propagates through arithmetic and comparisons; AND/OR/NOT are three-valued; WHERE
///   and HAVING keep rows that are TRUE.
/// - Integer arithmetic is `int64` and overflow is an error; integer division truncates
///   (DuckDB's `/` on integers divides as floats). `x / 0` and `x % 0` are ±inf/NaN for floats
///   (as DuckDB) and NULL for integers and decimals (DuckDB 2.0 raises an error for `%`).
/// - Decimals compute exactly as scaled `Int128` (+, −, ×, %, sum); ÷ and avg are `double`,
///   and a decimal becomes the nearest `double` (correctly rounded).
/// - Float comparisons are IEEE (NaN compares false — DuckDB treats NaN as largest); ORDER
///   BY puts NaN after numbers; min/max skip NaN.
/// - ORDER BY defaults to ASC NULLS LAST; ties keep scan order. Without ORDER BY, rows come
///   in scan order and groups in order of first appearance — the same on every run.
/// - CAST into integers rounds a float half to even and a decimal half away from zero (as
///   DuckDB); it fails (does not wrap or NULL) when a value does not fit or a string does
///   not parse. Floats print as the shortest text that reads back the same value.
public struct Query: Sendable {
    var spec: QuerySpec

    /// A query reading every row and column of `source`, called `name` in EXPLAIN.
    public init(_ source: any BatchSource, name: String = "t") {
        spec = QuerySpec(source: source, tableName: name)
    }

    /// Parses a SQL statement (`[EXPLAIN] SELECT [DISTINCT] … FROM table [WHERE] [GROUP BY]
    /// [HAVING] [ORDER BY] [LIMIT] [OFFSET]`) over `tables`. Throws `query` errors with line, column and a caret
    /// under the offending token.
    /// O(statement length); reads no data.
    public init(sql: String, tables: [String: any BatchSource]) throws {
        self = try SQLParser.parse(sql, tables: tables)
    }

    /// Keeps rows where `predicate` is TRUE (not FALSE, not NULL). Repeated calls AND together.
    public func filter(_ predicate: Expr) -> Query {
        var copy = self
        copy.spec.filters.append(predicate)
        return copy
    }

    /// Outputs `items` per row (columns, computed expressions). Aggregates among them make
    /// this an aggregation over the whole table.
    public func select(_ items: [Expr]) -> Query {
        var copy = self
        copy.spec.items = items
        return copy
    }

    /// Variadic form of `select(_:)`.
    public func select(_ items: Expr...) -> Query { select(items) }

    /// Groups rows by `groupBy` and outputs the group keys followed by `items` (aggregates,
    /// or expressions over keys and aggregates), one row per group. Without keys: one row.
    public func aggregate(_ items: [Expr], groupBy: [Expr] = []) -> Query {
        var copy = self
        copy.spec.items = groupBy + items
        copy.spec.groupBy = groupBy
        copy.spec.isAggregate = true
        return copy
    }

    /// Keeps groups where `predicate` (over keys and aggregates) is TRUE.
    public func having(_ predicate: Expr) -> Query {
        var copy = self
        copy.spec.having = predicate
        return copy
    }

    /// Sorts the output. A key naming an output column (`col("revenue")`) sorts by it; any
    /// other expression is computed per row (or per group) for sorting only.
    public func orderBy(_ keys: [SortKey]) -> Query {
        var copy = self
        copy.spec.orderBy = keys
        return copy
    }

    /// Variadic form of `orderBy(_:)`.
    public func orderBy(_ keys: SortKey...) -> Query { orderBy(keys) }

    /// Sorts ascending by each expression in turn.
    public func orderBy(_ exprs: Expr...) -> Query { orderBy(exprs.map { SortKey($0) }) }

    /// Keeps the first `count` output rows (after sorting; in batch order otherwise).
    public func limit(_ count: Int) -> Query {
        var copy = self
        copy.spec.limit = count
        return copy
    }

    /// Skips the first `count` output rows (after sorting), before `limit` applies.
    public func offset(_ count: Int) -> Query {
        var copy = self
        copy.spec.offset = count
        return copy
    }

    /// Outputs each distinct row once (`SELECT DISTINCT`): the select list becomes the
    /// grouping keys, so rows come in order of first appearance unless sorted.
    public func distinct() -> Query {
        var copy = self
        copy.spec.distinct = true
        return copy
    }

    /// Plans and runs the query on `options.parallelism` threads and collects its output.
    /// Results are the same on every run and at every parallelism.
    /// O(rows read) for scans, filters and projections, over the projected columns of the
    /// batches zone maps keep; aggregation adds O(groups) memory, sorting O(n log n) in
    /// the rows sorted. The output is held whole.
    public func execute(_ options: ExecutionOptions = ExecutionOptions()) throws -> QueryResult {
        let plan = try Planner.plan(spec, pool: options.pool)
        if spec.explain { return try explainResult(plan, options) }
        let execution = Execution(plan: plan, options: options)
        try execution.consume(0..<plan.source.batchCount)
        let batches = try execution.finish()
        return QueryResult(schema: plan.outputSchema, batches: batches, statistics: execution.statistics)
    }

    /// The output batches as an `AsyncSequence`, produced on Quiver's threads with
    /// backpressure (see `QueryStream`): row-wise queries yield each batch as its window of
    /// input is processed (memory stays bounded by a few batches); aggregations and sorts
    /// yield once everything is read. Planning errors surface on the first `next()`.
    /// O(1): nothing runs until iteration.
    public func stream(_ options: ExecutionOptions = ExecutionOptions()) -> QueryStream {
        QueryStream(query: self, options: options)
    }

    /// The plan as text: operators, the columns the scan reads, and how many batches the
    /// filter's statistics let it skip (which asks the source for statistics; reads no data).
    /// O(batches) statistics look-ups, plus planning.
    public func explain(_ options: ExecutionOptions = ExecutionOptions()) throws -> String {
        let plan = try Planner.plan(spec, pool: options.pool)
        return Explain.render(plan, skipped: options.useStatistics ? ZoneMaps.prune(plan).filter { $0 }.count : 0)
    }

    /// The schema of the output, after checking the query.
    /// Plans the query: O(size of the query), no data read.
    public func outputSchema() throws -> Schema {
        let plan = try Planner.plan(spec, pool: .default)
        return spec.explain ? Explain.schema : plan.outputSchema
    }

    private func explainResult(_ plan: PhysicalPlan, _ options: ExecutionOptions) throws -> QueryResult {
        let skipped = options.useStatistics ? ZoneMaps.prune(plan).filter { $0 }.count : 0
        let lines = Explain.render(plan, skipped: skipped).split(separator: "\n").map { Scalar.utf8(String($0)) }
        let column = try ScalarArrays.array(of: lines, type: .utf8, pool: options.pool)
        let batch = try RecordBatch(schema: Explain.schema, columns: [column])
        var statistics = QueryStatistics()
        statistics.batchesTotal = plan.source.batchCount
        statistics.batchesSkipped = skipped
        return QueryResult(schema: Explain.schema, batches: [batch], statistics: statistics)
    }
}

/// Everything a query says, before planning.
struct QuerySpec: Sendable {
    var source: any BatchSource
    var tableName: String
    var filters: [Expr] = []
    /// nil: every column.
    var items: [Expr]? = nil
    var groupBy: [Expr] = []
    var isAggregate = false
    var having: Expr? = nil
    var orderBy: [SortKey] = []
    var limit: Int? = nil
    var offset = 0
    var distinct = false
    var explain = false
    var sql: SourceText? = nil

    init(source: any BatchSource, tableName: String) {
        self.source = source
        self.tableName = tableName
    }
}

/// How a query runs.
public struct ExecutionOptions: Sendable {
    /// Worker threads (batches are processed in parallel, one per worker at a time).
    public var parallelism: Int
    /// Where result and scratch buffers are allocated (and counted).
    public var pool: MemoryPool
    /// Whether to skip batches using the source's statistics.
    public var useStatistics: Bool
    /// Checked before each batch; set by the async API when its task is cancelled.
    package var cancellation: CancellationFlag?

    /// Options; `parallelism` defaults to the number of online processors.
    public init(parallelism: Int? = nil, pool: MemoryPool = .default, useStatistics: Bool = true) {
        self.parallelism = Swift.max(1, parallelism ?? ExecutionOptions.processorCount)
        self.pool = pool
        self.useStatistics = useStatistics
    }

    /// Online processors (at least 1), asked of the system at each call.
    public static var processorCount: Int { currentOnlineProcessorCount() }
}

/// The output of a query.
public struct QueryResult: Sendable {
    /// The output schema (also when there are no batches).
    public let schema: Schema
    /// Output batches in order. Aggregations and sorts give one batch.
    public let batches: [RecordBatch]
    /// What the scan did.
    public let statistics: QueryStatistics

    /// Total output rows.
    /// O(batches).
    public var numRows: Int { batches.reduce(0) { $0 + $1.length } }
}

/// Counters describing one execution.
public struct QueryStatistics: Sendable, Hashable {
    /// Batches in the source.
    public var batchesTotal = 0
    /// Batches skipped because their statistics ruled out the filter.
    public var batchesSkipped = 0
    /// Batches read and processed.
    public var batchesScanned = 0
    /// Rows in the batches read.
    public var rowsScanned = 0
    /// Rows that passed the filter.
    public var rowsSelected = 0
    /// Partial states a grouped aggregation merged at the end: about one per batch when keys
    /// seldom recur across batches, fewer when workers kept folding batches into one state.
    public var aggregationPartials = 0

    /// All counters zero.
    public init() {}
}
