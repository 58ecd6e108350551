import QuiverArrow
import QuiverBytes
import Synchronization

/// Runs a `PhysicalPlan`: the per-batch pipeline on worker threads (scan, filter, project or
/// partial aggregation, per-batch top-k) and the in-order combination of batch results.
///
/// Memory: input columns are used in place (prepared views of the source's buffers); the
/// filter gathers only the columns later operators read, and only the selected rows; results
/// and per-batch scratch come from `options.pool`.
final class Execution: @unchecked Sendable {
    let plan: PhysicalPlan
    let options: ExecutionOptions
    private let evaluator: Evaluator
    private let skip: [Bool]
    /// The reads of the batches not skipped (the source plans their I/O).
    private let scan: any BatchScan
    /// Everything below is touched only by `combine` (serialised, in batch order) and `finish`.
    private(set) var statistics = QueryStatistics()
    private var ready: [RecordBatch] = []
    private var emittedRows = 0
    private var runs: [[ArrayData]] = []
    private var runRows = 0
    private var aggregate: AggregationState?
    /// Partial aggregates with group keys, merged at `finish`: per batch, in batch order, or
    /// the workers' long-lived states in order of their first batch.
    private var partials: [AggregationState] = []
    /// The states workers fold batches into when the result does not depend on the order of
    /// batches; nil otherwise, and then each batch makes a partial. A keyed state is retired
    /// (kept for the merge, no longer folded into) once it holds `WorkerStates.retiredSize`
    /// groups and distinct pairs, so its tables stay about cache-sized; a group recurring
    /// across batches is then interned once per state rather than once per batch.
    private let workerStates: WorkerStates?
    /// Whether keys recurred across the batches of the first keyed worker state to fold a
    /// second batch (nil: none has yet); when not, later states fold one batch each.
    private let keysRecur = Mutex<Bool?>(nil)
    /// The most groups (and their key bytes) and distinct pairs a batch's partial has held so
    /// far: what the next partials reserve. Only a size hint: results do not depend on it.
    private let partialSize = Mutex((groups: 0, keyBytes: 0, pairs: 0))
    private(set) var isStopped = false
    /// LIMIT without ORDER BY or HAVING over groups returns the first `groupLimit` groups to
    /// appear (nil: not such a query). `combine` collects the first groups of the partials in
    /// batch order into `firstGroups` until it holds that many, then publishes them as
    /// `restriction`: batches read after that aggregate only those groups (a lookup in a small
    /// table per row, instead of a group for every new key). The other groups of earlier
    /// partials still merge, but appear later, so they are never among the first.
    private let groupLimit: Int?
    /// Whether a filtered aggregate hands its selection to the aggregation whatever the
    /// selectivity: its keys are byte strings read from plain columns (interned from the
    /// selected rows where they lie, not gathered first) and its arguments plain columns or
    /// none (evaluating them over every row costs nothing).
    private let keysInternInPlace: Bool
    private var firstGroups: GroupKeys?
    private let restriction = Mutex<GroupKeys?>(nil)

    init(plan: PhysicalPlan, options: ExecutionOptions) {
        self.plan = plan
        self.options = options
        evaluator = Evaluator(pool: options.pool)
        let skip = options.useStatistics ? ZoneMaps.prune(plan) : Array(repeating: false, count: plan.source.batchCount)
        self.skip = skip
        scan = plan.source.scan(batches: skip.indices.filter { !skip[$0] }, columns: plan.scanColumns)
        statistics.batchesTotal = plan.source.batchCount
        statistics.batchesSkipped = skip.filter { $0 }.count
        if case .aggregate(let spec) = plan.mode, !spec.hashedKeys.isEmpty, plan.sort.isEmpty, spec.having == nil,
            let k = plan.fetchCount, k > 0, k <= Self.restrictedGroupLimit
        {
            groupLimit = k
            firstGroups = GroupKeys(types: spec.hashedKeys.map { ScalarArrays.valueType($0.type) })
        } else {
            groupLimit = nil
        }
        if case .aggregate(let spec) = plan.mode, !spec.hashedKeys.isEmpty,
            PackedKeyLayout(spec.hashedKeys.map { ScalarArrays.valueType($0.type) }) == nil
        {
            let plain = { (expression: BoundExpr) -> Bool in if case .column = expression { return true } else { return false } }
            keysInternInPlace = spec.hashedKeys.allSatisfy(plain) && spec.calls.allSatisfy { $0.argument.map(plain) ?? true }
        } else {
            keysInternInPlace = false
        }
        // LIMIT without ORDER BY collects the first groups from per-batch partials in batch order.
        if case .aggregate(let spec) = plan.mode, groupLimit == nil, AggregationState.isOrderIndependent(spec.calls) {
            let keyTypes = spec.hashedKeys.map { ScalarArrays.valueType($0.type) }
            workerStates = WorkerStates(retiredSize: keyTypes.isEmpty ? nil : WorkerStates.retiredSize) { [pool = options.pool] in
                try AggregationState(calls: spec.calls, keyTypes: keyTypes, pool: pool)
            }
        } else {
            workerStates = nil
        }
    }

    /// The most groups LIMIT without ORDER BY restricts later batches to: beyond it a lookup
    /// costs about what interning does.
    static let restrictedGroupLimit = 4096

    /// What one batch produced.
    private struct Outcome {
        var rows = 0
        var selected = 0
        var columns: [ArrayData]? = nil
        var length = 0
        var aggregate: AggregationState? = nil
    }

    /// Processes the batches in `range` (skipping those ruled out by statistics).
    func consume(_ range: Range<Int>) throws {
        guard !isStopped else { return }
        if case .aggregate(let spec) = plan.mode, aggregate == nil {
            aggregate = try AggregationState(calls: spec.calls, keyTypes: spec.hashedKeys.map { ScalarArrays.valueType($0.type) }, pool: options.pool)
        }
        if plan.fetchCount == 0 {
            isStopped = true
            return
        }
        let indices = range.filter { !skip[$0] }
        try OrderedParallel.run(
            indices, parallelism: options.parallelism,
            work: { index in
                if self.options.cancellation?.isSet == true { throw CancellationError() }
                return try withErrorContext("record batch \(index)") { try self.process(index) }
            },
            combine: { try self.combine($0) })
    }

    /// Output batches completed so far (row-wise queries), handed over once.
    func takeReady() -> [RecordBatch] {
        defer { ready = [] }
        return ready
    }

    // MARK: - Per batch (worker threads)

    private func process(_ index: Int) throws -> Outcome {
        let batch = try scan.batch(at: index)
        var input = try load(batch)
        var outcome = Outcome(rows: input.length, selected: input.length)
        var selection: Selection? = nil
        // Top-k rows of a row-wise query: only the sort keys are computed for every kept row.
        let topK = plan.sort.isEmpty ? nil : plan.fetchCount
        var keptRows: [Int32]? = nil
        if let filter = plan.filter {
            let kept = Selection(try evaluator.evaluate(filter, input), length: input.length, pool: options.pool)
            outcome.selected = kept.count
            if !kept.isAll {
                if case .aggregate(let spec) = plan.mode, kept.count * 2 >= input.length || spec.readsNoColumns || keysInternInPlace {
                    // Most rows stay (or none is read, or string keys are interned where they
                    // lie): aggregate in place, reading the bits.
                    selection = kept
                } else if case .project = plan.mode, let k = topK, kept.count > k {
                    keptRows = kept.rows()
                } else {
                    input = try gather(input, kept)
                }
            }
        }
        switch plan.mode {
        case .project(let outputs, _):
            let candidates = keptRows?.count ?? input.length
            guard candidates > 0 else { return outcome }
            if let k = topK, k < candidates {
                // Late materialisation: sort keys over the candidate rows pick the top k, and
                // only those k rows of the other outputs are ever gathered or computed.
                let keyColumns = Set(plan.sort.flatMap { outputs[$0.column].columns })
                let keyInput = try keptRows.map { try gather(input, rows: $0, columns: keyColumns) } ?? input
                var sortColumns = outputs.map { _ in Output.nulls(.null, length: 0, pool: options.pool) }
                for spec in plan.sort {
                    sortColumns[spec.column] = try evaluator.evaluate(outputs[spec.column], keyInput)
                        .materialize(length: candidates, pool: options.pool)
                }
                let top = try RowOrder(columns: try sortable(sortColumns), specs: plan.sort).top(k, count: candidates)
                let rows = keptRows.map { kept in top.map { kept[Int($0)] } } ?? top
                let chosen = try gather(input, rows: rows, columns: Set(plan.postFilterColumns))
                outcome.columns = try outputs.map { try evaluator.evaluate($0, chosen).materialize(length: rows.count, pool: options.pool) }
                outcome.length = rows.count
                return outcome
            }
            let columns = try outputs.map { try evaluator.evaluate($0, input).materialize(length: input.length, pool: options.pool) }
            outcome.columns = columns
            outcome.length = input.length
        case .aggregate(let spec):
            if let workerStates {
                guard input.length > 0 && outcome.selected > 0 else { return outcome }
                let rows = Swift.min(outcome.selected, input.length)
                try workerStates.fold(batch: index) { state in
                    let (sizeBefore, isFirst) = (state.size, state.lastBatch < 0)
                    if isFirst { reserveLikeEarlierPartials(state, rows: rows) }
                    try fold(spec, input, selection, into: state, batch: index)
                    // Sizes are per batch: a state's size after later ones would over-reserve.
                    if isFirst { recordPartialSize(state) }
                    // A state pays for outliving its batch only while later batches' keys
                    // recur in it: otherwise its table outgrows the cache and saves the merge
                    // little. Retired: a state whose later batch added more than 3/4 as many
                    // groups and distinct pairs as its first made. The first state to fold a
                    // second batch decides for the states made after it.
                    if isFirst { return keysRecur.withLock { $0 } != false }
                    let recur = (state.size - sizeBefore) * 4 <= state.firstBatchSize * 3
                    return keysRecur.withLock { decided in
                        if decided == nil { decided = recur }
                        return recur && decided != false
                    }
                }
                return outcome
            }
            let restricted = groupLimit == nil ? nil : restriction.withLock { $0 }
            let state = try AggregationState(
                calls: spec.calls, keyTypes: spec.hashedKeys.map { ScalarArrays.valueType($0.type) }, restrictedTo: restricted,
                batch: index, pool: options.pool)
            if restricted != nil {
                if input.length > 0 && outcome.selected > 0 { try fold(spec, input, selection, into: state, batch: index) }
            } else if input.length > 0 && outcome.selected > 0 {
                reserveLikeEarlierPartials(state, rows: Swift.min(outcome.selected, input.length))
                try fold(spec, input, selection, into: state, batch: index)
                recordPartialSize(state)
            }
            outcome.aggregate = state
        }
        return outcome
    }

    /// Sizes a new partial like the largest before it, bounded by the `rows` it will fold: a
    /// table grown by doubling rehashes about as many keys again as it ends up holding.
    private func reserveLikeEarlierPartials(_ state: AggregationState, rows: Int) {
        let (groups, keyBytes, pairs) = partialSize.withLock { $0 }
        guard groups > 0 else { return }
        state.reserve(
            groups: Swift.min(groups, rows), keyBytes: keyBytes * Swift.min(groups, rows) / groups,
            distinctPairs: Swift.min(pairs, rows))
    }

    /// Notes `state`'s size if it is the largest partial so far (see `partialSize`).
    private func recordPartialSize(_ state: AggregationState) {
        partialSize.withLock { size in
            if state.groupCount > size.groups { (size.groups, size.keyBytes) = (state.groupCount, state.keyBytes) }
            size.pairs = Swift.max(size.pairs, state.distinctPairs)
        }
    }

    /// Folds the rows of `input` that `selection` keeps (nil: all) into `state`.
    private func fold(_ spec: AggregatePlan, _ input: ColumnSet, _ selection: Selection?, into state: AggregationState, batch: Int) throws {
        var input = input
        var selection = selection
        var evaluated: ([ArrayData], [ArrayData?])? = nil
        if let kept = selection {
            evaluated = try? evaluateAggregateInputs(spec, input)
            if evaluated == nil {
                // An expression failed on some row — possibly one the filter dropped
                // (overflow, a cast out of range): evaluate the kept rows only, where
                // a failure is the query's.
                input = try gather(input, kept)
                selection = nil
            }
        }
        let (keys, arguments) = try evaluated ?? evaluateAggregateInputs(spec, input)
        try state.update(keyColumns: keys, inputs: arguments, rowCount: input.length, selection: selection, batch: batch)
    }

    /// The columns read after the filter, gathered to the rows `selection` keeps.
    private func gather(_ input: ColumnSet, _ selection: Selection) throws -> ColumnSet {
        try gather(input, rows: selection.rows(), columns: Set(plan.postFilterColumns))
    }

    /// `columns` of `input`, gathered to `rows`.
    private func gather(_ input: ColumnSet, rows: [Int32], columns: Set<Int>) throws -> ColumnSet {
        var narrowed = [ArrayData?](repeating: nil, count: input.columns.count)
        for column in columns {
            if let data = input.columns[column] { narrowed[column] = try Take.take(data, rows: rows, pool: options.pool) }
        }
        return ColumnSet(columns: narrowed, length: rows.count)
    }

    /// The group keys and aggregate arguments evaluated over every row of `input`.
    private func evaluateAggregateInputs(_ spec: AggregatePlan, _ input: ColumnSet) throws -> ([ArrayData], [ArrayData?]) {
        let evaluator = evaluator.remembering()
        let keys = try spec.hashedKeys.map { try evaluator.evaluate($0, input).materialize(length: input.length, pool: options.pool) }
        let arguments = try spec.calls.map { call in
            try call.argument.map { try evaluator.values($0, input).materialize(length: input.length, pool: options.pool) }
        }
        return (keys, arguments)
    }

    /// Maps the source's batch to source column indices and checks each column it will read.
    private func load(_ batch: RecordBatch) throws -> ColumnSet {
        let fields = plan.source.schema.fields
        let positions: [Int]
        if batch.columns.count == fields.count {
            positions = plan.scanColumns
        } else if batch.columns.count == plan.scanColumns.count {
            positions = Array(plan.scanColumns.indices)
        } else {
            throw QuiverError(.schemaMismatch, "source returned \(batch.columns.count) columns; expected \(fields.count) or \(plan.scanColumns.count)")
        }
        var columns = [ArrayData?](repeating: nil, count: fields.count)
        for (column, position) in zip(plan.scanColumns, positions) {
            let data = batch.columns[position]
            guard data.type == fields[column].type, data.length == batch.length else {
                throw QuiverError(.schemaMismatch, "column '\(fields[column].name)' is \(data.type) with \(data.length) rows; expected \(fields[column].type) with \(batch.length)")
            }
            columns[column] = try withErrorContext("column '\(fields[column].name)'") {
                try ColumnCheck.prepare(data, pool: options.pool)
            }
        }
        return ColumnSet(columns: columns, length: batch.length)
    }

    /// The extended columns with sort-key dictionaries decoded (the row comparer reads values).
    private func sortable(_ columns: [ArrayData]) throws -> [ArrayData] {
        var result = columns
        for spec in plan.sort { result[spec.column] = try Take.decodeDictionary(columns[spec.column], pool: options.pool) }
        return result
    }

    // MARK: - Combining (in batch order)

    private func combine(_ outcome: Outcome) throws -> Bool {
        statistics.batchesScanned += 1
        statistics.rowsScanned += outcome.rows
        statistics.rowsSelected += outcome.selected
        if let partial = outcome.aggregate {
            if partial.mergesByPartition { partials.append(partial) } else { try aggregate?.merge(partial) }
            if let k = groupLimit, var first = firstGroups, !partial.isRestricted {
                firstGroups = nil
                partial.internGroups(into: &first, limit: k)
                if first.count >= k { restriction.withLock { $0 = first } } else { firstGroups = first }
            }
            return true
        }
        guard let columns = outcome.columns, outcome.length > 0 else { return true }
        if plan.sort.isEmpty {
            // Rows before the offset are dropped; past offset + limit the scan stops.
            let batch = RecordBatch(uncheckedSchema: plan.outputSchema, columns: Array(columns.prefix(plan.visibleWidth)), length: outcome.length)
            let start = Swift.max(0, Swift.min(batch.length, plan.offset - emittedRows))
            var end = batch.length
            if let fetch = plan.fetchCount, emittedRows + batch.length >= fetch {
                end = fetch - emittedRows
                isStopped = true
            }
            emittedRows += batch.length
            if start < end { ready.append(start == 0 && end == batch.length ? batch : batch.slice(from: start, length: end - start)) }
            return !isStopped
        }
        runs.append(columns)
        runRows += outcome.length
        // Keep the top-k candidates small: re-select once they grow well past k.
        if let limit = plan.fetchCount, runRows > Swift.max(4 * limit, 65_536) {
            let merged = try sortRuns(limit: limit)
            runs = [merged.columns]
            runRows = merged.length
        }
        return true
    }

    /// Sorts all runs together; with a limit keeps only the first `limit` rows.
    private func sortRuns(limit: Int?) throws -> (columns: [ArrayData], length: Int) {
        guard let first = runs.first else { return ([], 0) }
        let columns = try first.indices.map { column in try Take.concatenate(runs.map { $0[column] }, pool: options.pool) }
        let order = try RowOrder(columns: try sortable(columns), specs: plan.sort)
        let rows = limit.map { order.top($0, count: runRows) } ?? order.sorted(count: runRows)
        return (try columns.map { try Take.take($0, rows: rows, pool: options.pool) }, rows.count)
    }

    /// Completes the query: finalises the aggregation and runs sort and limit.
    func finish() throws -> [RecordBatch] {
        if case .aggregate(let spec) = plan.mode, var state = aggregate {
            aggregate = nil
            if let workerStates {
                // The others fold into the largest worker state: folding them all into the
                // empty one would re-intern every distinct value of the largest as well.
                var states = workerStates.takeAll()
                if state.mergesByPartition {
                    // In order of their first batch: states of one batch each then merge as
                    // per-batch partials do, each partition's groups in order of first appearance.
                    partials = states.sorted { $0.firstBatch < $1.firstBatch }
                } else if let largest = states.indices.max(by: { states[$0].distinctPairs < states[$1].distinctPairs }) {
                    state = states.remove(at: largest)
                    for other in states { try state.merge(other) }
                }
            }
            var (finishedGroups, rowCount) = ([ArrayData](), 0)
            if state.mergesByPartition {
                // Keyed partials: per batch, or the workers' states (an empty state stands in
                // when there were none).
                statistics.aggregationPartials = partials.count
                let merged = try AggregationState.merge(
                    partials: partials.isEmpty ? [state] : partials, calls: spec.calls,
                    keyTypes: spec.hashedKeys.map { ScalarArrays.valueType($0.type) },
                    parallelism: options.parallelism, pool: options.pool)
                partials = []
                if let k = plan.fetchCount, !plan.sort.isEmpty, let top = try topGroups(spec, merged, k: k) {
                    // Late materialisation: only the top groups are gathered out of the
                    // partitions, and get derived keys and outputs.
                    finishedGroups = try merged.gather(top, pool: options.pool)
                    rowCount = top.count
                } else if let k = plan.fetchCount, plan.sort.isEmpty, spec.having == nil, k < merged.groupCount / 2,
                    merged.partsInFirstAppearanceOrder
                {
                    // LIMIT without ORDER BY keeps the first groups to appear: only they are gathered.
                    let first = merged.firstGroups(k)
                    finishedGroups = try merged.gather(first, pool: options.pool)
                    rowCount = first.count
                } else {
                    (finishedGroups, rowCount) = try merged.inFirstAppearanceOrder(pool: options.pool)
                }
            } else {
                (finishedGroups, rowCount) = (try state.finish(), state.groupCount)
            }
            let results = try withDerivedKeys(spec, finishedGroups, groupCount: rowCount)
            var grouped = ColumnSet(columns: results, length: rowCount)
            if let having = spec.having {
                let rows = Selection(try evaluator.evaluate(having, grouped), length: grouped.length, pool: options.pool).rows()
                grouped = ColumnSet(columns: try results.map { try Take.take($0, rows: rows, pool: options.pool) }, length: rows.count)
            }
            let outputs = try spec.outputs.map { try evaluator.evaluate($0, grouped).materialize(length: grouped.length, pool: options.pool) }
            runs = [outputs]
            runRows = grouped.length
            if plan.sort.isEmpty {
                let batch = RecordBatch(uncheckedSchema: plan.outputSchema, columns: Array(outputs.prefix(plan.visibleWidth)), length: grouped.length)
                return [window(of: batch)]
            }
        }
        if plan.sort.isEmpty { return takeReady() }
        let sorted: (columns: [ArrayData], length: Int) = runs.isEmpty
            ? (plan.extendedFields.map { Output.nulls($0.type, length: 0, pool: options.pool) }, 0)
            : try sortRuns(limit: plan.fetchCount)
        runs = []
        return [window(of: RecordBatch(uncheckedSchema: plan.outputSchema, columns: Array(sorted.columns.prefix(plan.visibleWidth)), length: sorted.length))]
    }

    /// The groups (in the merged partitions) that HAVING keeps and ORDER BY puts first, at
    /// most `k` of them, in order of first appearance, found from the sort keys alone; nil when
    /// that would not save work (few groups, or a sort key or HAVING reads a derived key).
    ///
    /// Each partition offers its own top `k` (ties broken by position there, which is first
    /// appearance); the top `k` of those candidates, ties broken by first appearance, are the
    /// top `k` of all groups in order of first appearance — what sorting them all would keep.
    private func topGroups(_ spec: AggregatePlan, _ merged: MergedGroups, k: Int) throws -> [RowRef]? {
        guard k < merged.groupCount / 2, merged.partsInFirstAppearanceOrder else { return nil }
        let read = plan.sort.reduce(spec.having?.columns ?? []) { $0.union(spec.outputs[$1.column].columns) }
        guard read.isDisjoint(with: spec.derivedKeys) else { return nil }
        let placeholder = Output.nulls(.null, length: 0, pool: options.pool)
        // Each output field's position among a part's columns (derived keys are not among
        // them); only those the sort keys and HAVING read are finished (the rest, for the top
        // groups alone, in `gather`).
        var columnOf = [Int?](repeating: nil, count: spec.fields.count)
        var next = 0
        for position in columnOf.indices where !spec.derivedKeys.contains(position) {
            columnOf[position] = next
            next += 1
        }
        let wanted = Set(read.compactMap { columnOf[$0] })
        // The parts pick their own top k in parallel, as they merged: one pass over every
        // group, which grows with the table where the final pick below does not.
        let shared = UncheckedSendable((execution: self, merged: merged, columnOf: columnOf, placeholder: placeholder))
        let picks = concurrentMap(count: merged.parts.count) { part in
            UncheckedSendable(Result {
                try shared.value.execution.topGroups(
                    spec, of: shared.value.merged.parts[part], part: part, k: k,
                    columnOf: shared.value.columnOf, wanted: wanted, placeholder: shared.value.placeholder)
            })
        }
        var candidates: [(group: RowRef, candidate: RowRef, seen: UInt64)] = []
        var partSorts: [[ArrayData]] = []
        for (part, pick) in picks.enumerated() {
            let (partSort, groups) = try pick.value.get()
            partSorts.append(partSort)
            for (rank, group) in groups.enumerated() {
                candidates.append((group, RowRef(source: Int32(part), row: Int32(rank)), merged.firstSeen(group)))
            }
        }
        // Candidates in order of first appearance, so the final top-k breaks ties by it.
        candidates.sort { $0.seen < $1.seen }
        var finalSorts = spec.outputs.map { _ in placeholder }
        for sort in plan.sort {
            finalSorts[sort.column] = try Take.take(partSorts.map { $0[sort.column] }, refs: candidates.map(\.candidate), pool: options.pool)
        }
        let top = try RowOrder(columns: finalSorts, specs: plan.sort).top(k, count: candidates.count)
        // Ascending positions keep the groups' order of first appearance among ties.
        return top.sorted().map { candidates[Int($0)].group }
    }

    /// One part's (number `part`'s) top `k` groups for `topGroups`: their sort columns (at
    /// the output positions, `placeholder` elsewhere) and the groups, best first. `columnOf`
    /// maps output fields to the part's columns; only those at `wanted` are finished.
    private func topGroups(
        _ spec: AggregatePlan, of source: MergedGroups.Part, part: Int, k: Int, columnOf: [Int?], wanted: Set<Int>,
        placeholder: ArrayData
    ) throws -> (sorts: [ArrayData], groups: [RowRef]) {
        let count = source.count
        let columns = try source.columns(wanted)
        let fields = columnOf.map { $0.flatMap { columns[$0] } }
        var groups = ColumnSet(columns: fields, length: count)
        var ids: [Int32]? = nil
        if let having = spec.having {
            let kept = Selection(try evaluator.evaluate(having, groups), length: count, pool: options.pool).rows()
            groups = ColumnSet(columns: try groups.columns.map { try $0.map { try Take.take($0, rows: kept, pool: options.pool) } }, length: kept.count)
            ids = kept
        }
        var sortColumns = spec.outputs.map { _ in placeholder }
        for sort in plan.sort {
            sortColumns[sort.column] = try evaluator.evaluate(spec.outputs[sort.column], groups).materialize(length: groups.length, pool: options.pool)
        }
        sortColumns = try sortable(sortColumns)
        let top = try RowOrder(columns: sortColumns, specs: plan.sort).top(k, count: groups.length)
        var partSort = sortColumns
        for sort in plan.sort { partSort[sort.column] = try Take.take(sortColumns[sort.column], rows: top, pool: options.pool) }
        return (partSort, top.map { row in RowRef(source: Int32(part), row: ids.map { $0[Int(row)] } ?? row) })
    }

    /// The aggregate's output with the derived keys put back at their positions, each computed
    /// once per group from the hashed plain keys it reads.
    private func withDerivedKeys(_ spec: AggregatePlan, _ results: [ArrayData], groupCount: Int) throws -> [ArrayData] {
        guard !spec.derivedKeys.isEmpty else { return results }
        let hashed = spec.keys.indices.filter { !spec.derivedKeys.contains($0) }
        // The hashed plain keys as the source columns they are.
        var sourceColumns = [ArrayData?](repeating: nil, count: plan.source.schema.fields.count)
        for (result, position) in hashed.enumerated() {
            if case .column(let index, _) = spec.keys[position] { sourceColumns[index] = results[result] }
        }
        let groups = ColumnSet(columns: sourceColumns, length: groupCount)
        var keys: [ArrayData] = []
        var next = 0
        for position in spec.keys.indices {
            if spec.derivedKeys.contains(position) {
                keys.append(try evaluator.evaluate(spec.keys[position], groups).materialize(length: groupCount, pool: options.pool))
            } else {
                keys.append(results[next])
                next += 1
            }
        }
        return keys + results[next...]
    }

    /// The rows of a complete result that OFFSET and LIMIT keep.
    private func window(of batch: RecordBatch) -> RecordBatch {
        let start = Swift.min(plan.offset, batch.length)
        let end = plan.fetchCount.map { Swift.min($0, batch.length) } ?? batch.length
        if start == 0 && end == batch.length { return batch }
        return batch.slice(from: start, length: Swift.max(0, end - start))
    }
}

/// Long-lived aggregation states that workers fold batches into, one batch at a time each:
/// a worker takes a free state, folds its batch in and puts it back, so there are about as
/// many states as workers and no per-batch state to set up and merge.
///
/// A worker gets a state that has only folded earlier batches (or a new one), so each state
/// sees its batches in ascending order and knows where its groups first appeared.
///
/// A state holding more than `retiredSize` groups and distinct pairs (nil: no bound) is
/// retired: it is not handed out again, and a worker that finds no free state makes a new one.
private final class WorkerStates: @unchecked Sendable {
    private struct Pool {
        var free: [UncheckedBox<AggregationState>] = []
        var all: [UncheckedBox<AggregationState>] = []
    }
    private let make: () throws -> AggregationState
    private let retiredSize: Int?
    private let pool = Mutex(Pool())

    /// The default bound for keyed states: about what a per-partition merge table holds.
    static let retiredSize = 262_144

    init(retiredSize: Int?, make: @escaping () throws -> AggregationState) {
        self.retiredSize = retiredSize
        self.make = make
    }

    /// Runs `body` with a state no other worker holds meanwhile, that has folded only
    /// batches before `batch`; `body` returns false to retire the state.
    func fold(batch: Int, _ body: (AggregationState) throws -> Bool) throws {
        let taken = pool.withLock { pool -> UncheckedBox<AggregationState>? in
            let candidates = pool.free.indices.filter { pool.free[$0].value.lastBatch < batch }
            guard let best = candidates.max(by: { pool.free[$0].value.lastBatch < pool.free[$1].value.lastBatch }) else { return nil }
            return pool.free.remove(at: best)
        }
        let state: AggregationState
        if let taken {
            state = taken.value
        } else {
            state = try make()
            pool.withLock { $0.all.append(UncheckedBox(state)) }
        }
        var keep = true
        defer {
            if keep, retiredSize.map({ state.size <= $0 }) ?? true {
                pool.withLock { $0.free.append(UncheckedBox(state)) }
            }
        }
        keep = try body(state)
    }

    /// Every state made, in the order they were made; the pool is empty afterwards.
    func takeAll() -> [AggregationState] {
        let all = pool.withLock { pool in
            defer { pool = Pool() }
            return pool.all
        }
        return all.map(\.value)
    }
}
