import QuiverArrow
import QuiverBytes

/// The state of a hash aggregation: the distinct group keys seen so far and, per aggregate,
/// one accumulator slot per group.
///
/// Each batch (morsel) builds its own partial state; keyed partials merge by hash partition at
/// the end (`finish(partials:…)`) and groups come out in order of first appearance (batch,
/// then position in the batch) at any parallelism. A global aggregate whose result does not
/// depend on the order rows are folded in (`isOrderIndependent`) is instead folded by each
/// worker into one long-lived state; float sums merge in batch order, so they add up the same
/// way on every run.
final class AggregationState {
    private let calls: [AggregateCall]
    private let keyTypes: [DataType]
    /// nil without GROUP BY: then there is exactly one group, even over no rows.
    private var keys: GroupKeys?
    private let accumulators: [any Accumulator]
    private let pool: MemoryPool
    /// Per group, where it first appeared: the batch in the high 32 bits, its rank among the
    /// groups new in that batch below. (Keyed states only.)
    private var firstSeen: [UInt64] = []
    /// The highest batch folded in so far (-1: none); batches must come in ascending order
    /// for `firstSeen` to hold each group's first appearance.
    private(set) var lastBatch = -1
    /// The first batch folded in (Int.max: none yet), and the groups and distinct pairs it made.
    private(set) var firstBatch = Int.max
    private(set) var firstBatchSize = 0
    /// Whether the state holds a fixed set of groups (see `init(…restrictedTo:…)`): rows of
    /// other keys are dropped instead of adding groups.
    let isRestricted: Bool

    /// `restrictedTo`, when given, is the only groups this state aggregates, with the ids they
    /// have there, as if first seen in batch `batch` in that order; rows of any other key are
    /// dropped. (LIMIT without ORDER BY returns the first groups to appear: once they are
    /// known, later batches need aggregate only those.)
    init(calls: [AggregateCall], keyTypes: [DataType], restrictedTo: GroupKeys? = nil, batch: Int = 0, pool: MemoryPool) throws {
        self.calls = calls
        self.keyTypes = keyTypes
        self.pool = pool
        isRestricted = restrictedTo != nil && !keyTypes.isEmpty
        keys = keyTypes.isEmpty ? nil : restrictedTo ?? GroupKeys(types: keyTypes)
        if isRestricted {
            firstSeen = (0..<(keys?.count ?? 0)).map { UInt64(batch) << 32 | UInt64($0) }
            lastBatch = batch
        }
        // sum(x) and avg(x) of one x (TPC-H Q1 has two such pairs) add x up once.
        var accumulators: [any Accumulator] = []
        for call in calls {
            if call.function == .sum || call.function == .avg, let argument = call.argument,
                let earlier = accumulators.lazy.compactMap({ $0 as? SumAccumulator }).first(where: { $0.call.argument == argument })
            {
                accumulators.append(SharedSum(source: earlier, call: call))
            } else {
                accumulators.append(try makeAccumulator(call, pool: pool))
            }
        }
        self.accumulators = accumulators
    }

    var groupCount: Int { keys?.count ?? 1 }

    /// Makes room for `groups` groups whose keys take about `keyBytes` bytes in all (and
    /// `distinctPairs` pairs in each count(DISTINCT)), so a state that will hold them does not
    /// rehash on the way.
    func reserve(groups: Int, keyBytes: Int, distinctPairs: Int = 0) {
        keys?.reserve(groups: groups, bytes: keyBytes)
        if distinctPairs > 0 {
            for case let distinct as DistinctAccumulator in accumulators { distinct.reserve(pairs: distinctPairs, grouped: keys != nil) }
        }
    }

    /// The bytes the group keys take (0 for packed keys).
    var keyBytes: Int { keys?.keyBytes ?? 0 }

    /// Renumbers the groups: group `order[i]` becomes group `i` (keys, first appearances and
    /// every accumulator's slots). O(groups) for keys and each accumulator, O(bytes) for byte
    /// keys.
    fileprivate func renumber(_ order: [Int32]) {
        keys = keys?.reordered(order)
        firstSeen = reordered(firstSeen, order, fill: UInt64.max)
        for accumulator in accumulators { accumulator.reorder(order) }
    }

    /// Splits the distinct counts' pairs by the merge partition of their group (`partitionOf`,
    /// per group; empty with one partition), once, so each partition of a merge reads only
    /// its own pairs rather than all of them: O(pairs) in all instead of O(pairs ×
    /// partitions).
    fileprivate func routeDistinctPairs(_ partitionOf: [UInt8], partitions: Int) {
        guard partitions > 1 else { return }
        for case let distinct as DistinctAccumulator in accumulators { distinct.route(partitionOf, partitions: partitions) }
    }

    /// The groups and distinct pairs held: what the state's tables grow with.
    var size: Int { groupCount + distinctPairs }

    /// The (group, value) pairs the distinct counts hold.
    var distinctPairs: Int { accumulators.reduce(0) { $0 + (($1 as? DistinctAccumulator)?.pairCount ?? 0) } }

    /// Whether the aggregates' results are the same whatever order rows are folded in:
    /// everything but floating-point sums and averages (whose rounding depends on the order)
    /// and floating-point min/max (which keeps whichever of -0 and 0 came first).
    static func isOrderIndependent(_ calls: [AggregateCall]) -> Bool {
        calls.allSatisfy { call in
            guard let argument = call.argument else { return true }
            switch call.function {
            case .count, .countStar, .countDistinct: return true
            case .sum, .avg, .min, .max:
                let family = TypeRules.family(ScalarArrays.valueType(argument.type))
                return family != .float
            }
        }
    }

    /// Adds one batch: `keyColumns` (evaluated group keys) and `inputs` (evaluated
    /// arguments, nil for count(*)), all `rowCount` rows long, of which only the rows in
    /// `selection` (nil: all) count.
    ///
    /// Selected rows are aggregated in place when the keys come from small domains (or there
    /// are none): each accumulator reads the selection's bits instead of gathered copies.
    /// Other keys are gathered to the selected rows first and interned row by row.
    ///
    /// `batch` is the batch's index in the scan; batches must come in ascending order.
    func update(keyColumns: [ArrayData], inputs: [ArrayData?], rowCount: Int, selection: Selection? = nil, batch: Int = 0) throws {
        let isFirstBatch = lastBatch < 0
        if isFirstBatch { firstBatch = batch }
        lastBatch = Swift.max(lastBatch, batch)
        if let selection, selection.count == 0 { return }
        let groupsBefore = groupCount
        defer {
            if isFirstBatch { firstBatchSize = size }
            if keys != nil {
                for rank in 0..<(groupCount - groupsBefore) { firstSeen.append(UInt64(batch) << 32 | UInt64(rank)) }
            }
        }
        var keyColumns = keyColumns
        var inputs = inputs
        var rowCount = rowCount
        var mask = selection?.bits
        var ids: [Int32]? = nil
        defer { if let ids { RowScratch.give(ids) } }
        if isRestricted {
            // Only the rows (selected, if there is a selection) of the state's own groups.
            var found = try keys!.lookup(keyColumns, pool: pool)
            var rows: [Int32] = []
            found.withUnsafeBufferPointer { found in
                forEachSetRow(mask, nil, count: rowCount) { row in if found[row] >= 0 { rows.append(Int32(row)) } }
            }
            if rows.count < rowCount {
                for (index, row) in rows.enumerated() { found[index] = found[Int(row)] }
                found.removeLast(rowCount - rows.count)
                inputs = try inputs.map { try $0.map { try Take.take($0, rows: rows, pool: pool) } }
                rowCount = rows.count
            }
            mask = nil
            ids = found
        } else if keys != nil {
            ids = try SmallDomain.localIds(keyColumns, rowCount: rowCount, mask: mask, pool: pool) {
                try keys!.intern($0, pool: pool)
            }
            if ids == nil {
                if let selection, mask != nil {
                    let rows = selection.rows()
                    inputs = try inputs.map { try $0.map { try Take.take($0, rows: rows, pool: pool) } }
                    rowCount = rows.count
                    mask = nil
                    if !keys!.isPacked {
                        ids = try keys!.intern(keyColumns, rows: rows, pool: pool)
                    } else {
                        keyColumns = try keyColumns.map { try Take.take($0, rows: rows, pool: pool) }
                    }
                }
                if ids == nil { ids = try keys!.intern(keyColumns, pool: pool) }
            }
        }
        let counted = mask == nil ? rowCount : selection?.count ?? rowCount
        let rows = GroupedRows(ids: ids, mask: mask, rowCount: rowCount, countedRows: counted, groupCount: groupCount)
        for (accumulator, input) in zip(accumulators, inputs) {
            try accumulator.update(input, rows)
        }
    }

    /// Folds `other` (a later batch's partial) into this state. Only for aggregates without
    /// group keys (their one group is group 0); keyed partials go to `finish(partials:…)`.
    func merge(_ other: AggregationState) throws {
        precondition(keys == nil, "keyed partials merge by partition")
        let zero: [Int32] = [0]
        try zero.withUnsafeBufferPointer { zero in
            let map = GroupMap(groups: zero, targets: zero, partitionOf: nil, partition: 0, partitionCount: 1)
            for (mine, theirs) in zip(accumulators, other.accumulators) {
                try mine.merge(theirs, map, groupCount: groupCount)
            }
        }
    }

    /// The group keys (as their value types) followed by one array per aggregate.
    func finish() throws -> [ArrayData] {
        let keyArrays = try keys.map { try $0.decode(types: keyTypes, pool: pool) } ?? []
        return try keyArrays + accumulators.map { try $0.finish(groupCount: groupCount, pool: pool) }
    }

    /// `finish()` with the key columns left to decode when read (`LazyKeys`): byte-string
    /// keys, whose decoding copies every string, wait for a top-k or LIMIT to say which groups
    /// it keeps; packed keys decode at once (a copy of a few words per group).
    func finishLeavingKeys() throws -> (keys: LazyKeys, aggregates: [ArrayData]) {
        let aggregates = try accumulators.map { try $0.finish(groupCount: groupCount, pool: pool) }
        guard let keys else { return (LazyKeys(decoded: [], count: groupCount), aggregates) }
        if keys.isPacked { return (LazyKeys(decoded: try keys.decode(types: keyTypes, pool: pool), count: groupCount), aggregates) }
        return (LazyKeys(keys, types: keyTypes, pool: pool), aggregates)
    }

    /// Interns this state's groups into `other`, in order of first appearance here, until
    /// `other` holds `limit` keys.
    func internGroups(into other: inout GroupKeys, limit: Int) {
        guard let keys, keys.count > 0 else { return }
        let targets = UnsafeMutableBufferPointer<Int32>.allocate(capacity: keys.count)
        defer { targets.deallocate() }
        var next = 0
        // In chunks no larger than the room left, so `other` never passes `limit`.
        while next < keys.count && other.count < limit {
            let chunk = Array(Int32(next)..<Int32(Swift.min(keys.count, next + limit - other.count)))
            chunk.withUnsafeBufferPointer { other.intern(keys, groups: $0, targets: targets) }
            next += chunk.count
        }
    }

    /// Whether partials of this aggregation should be kept for `finish(partials:)` rather
    /// than merged as they come: there are group keys (a global aggregate merges cheaply).
    var mergesByPartition: Bool { keys != nil }

    /// Merges keyed `partials` (per-batch partials in batch order) and finishes them, like merging each into the
    /// first and calling `finish()`, but in parallel: groups are split into partitions by key
    /// hash, each partition merges every partial's groups of its own, in order, on its own
    /// thread, and the groups come out in order of first appearance (batch, then position in
    /// the batch) — the same output at any parallelism.
    ///
    /// There are more partitions when there are more groups (about `groupsPerPartition`
    /// each, at least two per thread); each partial's groups are routed to their partitions
    /// once, so a partition reads only its own groups.
    static func finish(
        partials: [AggregationState], calls: [AggregateCall], keyTypes: [DataType], parallelism: Int, pool: MemoryPool
    ) throws -> (columns: [ArrayData], groupCount: Int) {
        try merge(partials: partials, calls: calls, keyTypes: keyTypes, parallelism: parallelism, pool: pool)
            .inFirstAppearanceOrder(pool: pool)
    }

    /// `finish(partials:…)` up to the merged partitions, before their groups are put back in
    /// order of first appearance: a caller that keeps only a few groups (ORDER BY … LIMIT)
    /// picks them from the partitions and gathers just those.
    static func merge(
        partials: [AggregationState], calls: [AggregateCall], keyTypes: [DataType], parallelism: Int, pool: MemoryPool
    ) throws -> MergedGroups {
        // One partial already holds its groups in order of first appearance.
        if partials.count == 1 { return MergedGroups(parts: [MergedGroups.Part(try partials[0].finishLeavingKeys(), firstSeen: nil)]) }
        // The merge's work: its groups, and the (group, value) pairs of distinct counts, which
        // can far outnumber the groups (`COUNT(DISTINCT UserID) … GROUP BY RegionID`).
        let totalGroups = partials.reduce(0) { $0 + $1.groupCount }
        let work = totalGroups + partials.reduce(0) { $0 + $1.distinctPairs }
        var partitionCount = 1
        while partitionCount < 256 && work / partitionCount > groupsPerPartition { partitionCount *= 2 }
        // At least two partitions per thread once there is enough to share (a power of two).
        while work > groupsPerPartition && partitionCount < Swift.min(parallelism * 2, 256) { partitionCount *= 2 }
        // No more partitions than groups to spread over them.
        while partitionCount > 1 && partitionCount / 2 >= totalGroups { partitionCount /= 2 }
        let partitions = partitionCount
        // Each partition only reads the partials, which no one writes any more, and writes
        // only its own groups' entries of the routes' targets.
        let shared = UncheckedSendable(partials)
        let routes = concurrentMap(count: partials.count) { index in
            let partial = shared.value[index]
            var route = PartitionRoute(partial.keys!, partitions: partitions)
            // In a large merge each partition takes a thin share of every partial's groups,
            // scattered over its keys, first appearances and accumulator slots: the partial is
            // renumbered first so that each partition's groups are one stretch. With fewer
            // partitions each one's entries lie close enough together that the copy costs
            // more than it saves.
            if partitions >= Self.arrangedPartitions && partial.groupCount > 1 { partial.renumber(route.arrangeByPartition()) }
            partial.routeDistinctPairs(route.partitionOf, partitions: partitions)
            return UncheckedSendable(route)
        }.map(\.value)
        defer { for route in routes { route.targets.deallocate() } }
        let sharedRoutes = UncheckedSendable(routes)
        let outcomes = concurrentMap(count: partitions) { partition in
            UncheckedSendable(Result { () throws -> (finished: (keys: LazyKeys, aggregates: [ArrayData]), firstSeen: [UInt64]) in
                let state = try AggregationState(calls: calls, keyTypes: keyTypes, pool: pool)
                // Room for this partition's groups up front, so its table does not keep
                // rehashing and regrowing: about as many as a sketch of their hashes counts
                // (groups recur across partials, so their sum can be far too many).
                let counts = sharedRoutes.value.map { $0.groupCount(partition) }
                var sketch = DistinctSketch()
                for route in sharedRoutes.value { sketch.formUnion(route.sketches[partition]) }
                let expected = Swift.min(counts.reduce(0, +), sketch.estimate + sketch.estimate / 4 + 16)
                let bytes = zip(shared.value, counts).reduce(0) { total, pair in
                    total + pair.0.keys!.keyBytes * pair.1 / Swift.max(1, pair.0.groupCount)
                }
                state.keys!.reserve(groups: expected, bytes: bytes * expected / Swift.max(1, counts.reduce(0, +)))
                var firstSeen: [UInt64] = []
                firstSeen.reserveCapacity(expected)
                // Keys first, in runs of a partial's groups taken in order of first appearance
                // across the partials, so new groups get ids in that order (what top-k and
                // LIMIT read within a part) even when states folded alternate batches.
                for run in Self.runsInFirstAppearanceOrder(shared.value, sharedRoutes.value, partition: partition) {
                    let (partial, route) = (shared.value[run.partial], sharedRoutes.value[run.partial])
                    route.withGroups(partition) { all in
                        let groups = UnsafeBufferPointer(rebasing: all[run.range])
                        let before = state.groupCount
                        state.keys!.intern(partial.keys!, groups: groups, targets: route.targets)
                        // A partial's keys are distinct, so its new groups got the ids from
                        // `before` on, in order. Each group's entries are requested ahead: the
                        // partition's groups lie scattered over the partial's arrays.
                        partial.firstSeen.withUnsafeBufferPointer { seen in
                            for (index, group) in groups.lazy.map(Int.init).enumerated() {
                                if index + Self.gatherDistance < groups.count {
                                    requestCacheLine(seen.baseAddress! + Int(groups[index + Self.gatherDistance]))
                                }
                                let id = Int(route.targets[group])
                                if id >= before { firstSeen.append(seen[group]) } else if seen[group] < firstSeen[id] { firstSeen[id] = seen[group] }
                            }
                        }
                    }
                }
                for (partial, route) in zip(shared.value, sharedRoutes.value) where route.groupCount(partition) > 0 {
                    try route.withGroups(partition) { groups in
                        try route.partitionOf.withUnsafeBufferPointer { partitionOf in
                            let map = GroupMap(
                                groups: groups, targets: UnsafeBufferPointer(route.targets),
                                partitionOf: partitions == 1 ? nil : partitionOf, partition: partition, partitionCount: partitions)
                            for (mine, theirs) in zip(state.accumulators, partial.accumulators) {
                                try mine.merge(theirs, map, groupCount: state.groupCount)
                            }
                        }
                    }
                }
                return (try state.finishLeavingKeys(), firstSeen)
            })
        }
        let merged = try outcomes.map { try $0.value.get() }
        return MergedGroups(parts: merged.map { MergedGroups.Part($0.finished, firstSeen: $0.firstSeen) })
    }

    /// The groups `partition` receives from each partial as runs (a partial, a range of its
    /// route's groups for the partition) in order of first appearance. Each partial's groups
    /// are ascending in it already, so a run ends only where another partial's next group
    /// appeared earlier: partials of one batch each in batch order make one run each; states
    /// that folded alternate batches, about a run per batch. The partials wait in a heap by
    /// their next group, so a merge of thousands of per-batch partials does not scan them all
    /// for every run: O(runs × (log partials + log groups)).
    private static func runsInFirstAppearanceOrder(
        _ partials: [AggregationState], _ routes: [PartitionRoute], partition: Int
    ) -> [(partial: Int, range: Range<Int>)] {
        let firstSeen = partials.map(\.firstSeen)
        let (orders, starts) = (routes.map(\.order), routes.map { $0.starts[partition] })
        let counts = routes.map { $0.groupCount(partition) }
        func seen(_ partial: Int, _ position: Int) -> UInt64 { firstSeen[partial][Int(orders[partial][starts[partial] + position])] }
        var heads = [Int](repeating: 0, count: partials.count)
        var waiting = FirstSeenHeap(partials.indices.filter { counts[$0] > 0 }.map { (seen($0, 0), $0) })
        var runs: [(partial: Int, range: Range<Int>)] = []
        while let first = waiting.popFirst() {
            // The run: its groups that appeared before the next group of any other partial
            // (binary search: ascending).
            let otherSeen = waiting.first?.seen ?? UInt64.max
            var (low, high) = (heads[first] + 1, counts[first])
            if high > low && seen(first, high - 1) >= otherSeen {
                while low < high {
                    let middle = (low + high) / 2
                    if seen(first, middle) < otherSeen { low = middle + 1 } else { high = middle }
                }
            } else {
                low = high
            }
            runs.append((first, heads[first]..<low))
            heads[first] = low
            if low < counts[first] { waiting.insert((seen(first, low), first)) }
        }
        return runs
    }

    /// The fewest merge partitions for which partials are renumbered by partition first.
    static let arrangedPartitions = 8

    /// How many groups ahead a merge requests a partial's entries for a group.
    static let gatherDistance = 16

    /// About how many groups one partition of a merge holds at most (beyond two partitions
    /// per thread): fewer, larger partitions cost less in set-up and in the final gather than
    /// they lose to cache misses.
    static let groupsPerPartition = 262_144
}

/// The groups of a keyed aggregation merged by partition: per partition its groups' aggregate
/// columns, their keys (string keys decoded when read) and where each group first appeared
/// (batch, then rank in the batch); a part without `firstSeen` is the only one and already in
/// order of first appearance.
struct MergedGroups {
    /// One partition's groups: its aggregate columns, and its key columns, which byte-string
    /// keys decode when read, whole or for the groups a top-k or LIMIT keeps.
    struct Part {
        private let keys: LazyKeys
        private let aggregates: [ArrayData]
        let firstSeen: [UInt64]?

        init(_ finished: (keys: LazyKeys, aggregates: [ArrayData]), firstSeen: [UInt64]?) {
            (keys, aggregates, self.firstSeen) = (finished.keys, finished.aggregates, firstSeen)
        }

        var count: Int { keys.count }
        var columnCount: Int { keys.columnCount + aggregates.count }

        /// Every column of every group (`AggregationState.finish()`).
        func columns() throws -> [ArrayData] { try keys.all() + aggregates }

        /// The columns at `wanted` (positions of `columns()`), the others nil: keys are decoded
        /// only when a wanted column is one.
        func columns(_ wanted: Set<Int>) throws -> [ArrayData?] {
            let keyColumns: [ArrayData?] = wanted.contains(where: { $0 < keys.columnCount })
                ? try keys.all() : Array(repeating: nil, count: keys.columnCount)
            return (keyColumns + aggregates.map { $0 }).enumerated().map { wanted.contains($0.offset) ? $0.element : nil }
        }

        /// Every column of the groups at `rows`, in that order.
        func columns(rows: [Int32], pool: MemoryPool) throws -> [ArrayData] {
            try keys.only(rows, pool: pool) + aggregates.map { try Take.take($0, rows: rows, pool: pool) }
        }
    }

    let parts: [Part]

    /// Groups per part.
    var counts: [Int] { parts.map(\.count) }
    var groupCount: Int { counts.reduce(0, +) }

    /// Every group, in order of first appearance (the partitions' groups interleaved back).
    func inFirstAppearanceOrder(pool: MemoryPool) throws -> (columns: [ArrayData], groupCount: Int) {
        if parts.count == 1, parts[0].firstSeen == nil { return (try parts[0].columns(), groupCount) }
        // The parts' keys decode in parallel, as they merged.
        let shared = UncheckedSendable(parts)
        let finished = try concurrentMap(count: parts.count) { part in
            UncheckedSendable(Result { try shared.value[part].columns() })
        }.map { try $0.value.get() }
        let refs = firstAppearanceOrder(parts.map { $0.firstSeen ?? [] })
        return (try finished[0].indices.map { column in try Take.take(finished.map { $0[column] }, refs: refs, pool: pool) }, refs.count)
    }

    /// The groups at `refs` (part, group in the part), in that order: each part decodes the
    /// keys of only its groups among them.
    func gather(_ refs: [RowRef], pool: MemoryPool) throws -> [ArrayData] {
        var rowsOf = [[Int32]](repeating: [], count: parts.count)
        var local: [RowRef] = []
        local.reserveCapacity(refs.count)
        for ref in refs {
            local.append(RowRef(source: ref.source, row: Int32(rowsOf[Int(ref.source)].count)))
            rowsOf[Int(ref.source)].append(ref.row)
        }
        let chosen = try parts.indices.map { try parts[$0].columns(rows: rowsOf[$0], pool: pool) }
        return try (0..<parts[0].columnCount).map { column in try Take.take(chosen.map { $0[column] }, refs: local, pool: pool) }
    }

    /// Where `ref`'s group first appeared, comparable across parts.
    func firstSeen(_ ref: RowRef) -> UInt64 {
        parts[Int(ref.source)].firstSeen.map { $0[Int(ref.row)] } ?? UInt64(ref.row)
    }

    /// The first `k` groups to appear, in that order (parts must be in order of first
    /// appearance: then each part's first `k` groups hold them).
    func firstGroups(_ k: Int) -> [RowRef] {
        var candidates: [(seen: UInt64, ref: RowRef)] = []
        for (part, count) in counts.enumerated() {
            for row in 0..<Swift.min(k, count) {
                let ref = RowRef(source: Int32(part), row: Int32(row))
                candidates.append((firstSeen(ref), ref))
            }
        }
        candidates.sort { $0.seen < $1.seen }
        return candidates.prefix(k).map(\.ref)
    }

    /// Whether each part's groups are in order of first appearance (so a tie broken by position
    /// within a part is broken by first appearance).
    var partsInFirstAppearanceOrder: Bool {
        parts.allSatisfy { part in
            guard let seen = part.firstSeen else { return true }
            return zip(seen, seen.dropFirst()).allSatisfy { $0 < $1 }
        }
    }
}

/// A part's key columns: decoded, or byte-string keys kept as their table until read.
struct LazyKeys {
    private let decoded: [ArrayData]?
    private let table: GroupKeys?
    private let types: [DataType]
    private let pool: MemoryPool?
    let count: Int

    init(decoded: [ArrayData], count: Int) {
        (self.decoded, table, types, pool, self.count) = (decoded, nil, [], nil, count)
    }

    init(_ table: GroupKeys, types: [DataType], pool: MemoryPool) {
        (decoded, self.table, self.types, self.pool, count) = (nil, table, types, pool, table.count)
    }

    var columnCount: Int { decoded?.count ?? types.count }

    /// Every group's key columns.
    func all() throws -> [ArrayData] {
        if let decoded { return decoded }
        return try table!.decode(types: types, pool: pool!)
    }

    /// The key columns of the groups at `rows`, in that order: only their keys are decoded.
    func only(_ rows: [Int32], pool: MemoryPool) throws -> [ArrayData] {
        if let decoded { return try decoded.map { try Take.take($0, rows: rows, pool: pool) } }
        return try table!.reordered(rows).decode(types: types, pool: pool)
    }
}

/// The groups of all partitions (`firstSeen[p][r]`: where group `r` of partition `p` first
/// appeared; all distinct) in order of first appearance: an LSD radix sort, 11 bits a pass,
/// over only the bits the batch numbers and ranks use (two passes for a few million groups).
private func firstAppearanceOrder(_ firstSeen: [[UInt64]]) -> [RowRef] {
    var maxBatch: UInt64 = 0
    var maxRank: UInt64 = 0
    for part in firstSeen {
        for key in part {
            maxBatch = Swift.max(maxBatch, key >> 32)
            maxRank = Swift.max(maxRank, key & 0xFFFF_FFFF)
        }
    }
    let rankBits = UInt64(64 - maxRank.leadingZeroBitCount)
    let bits = Int(rankBits) + (64 - maxBatch.leadingZeroBitCount)
    var items: [(key: UInt64, ref: RowRef)] = []
    items.reserveCapacity(firstSeen.reduce(0) { $0 + $1.count })
    for (partition, part) in firstSeen.enumerated() {
        for (row, key) in part.enumerated() {
            items.append(((key >> 32) << rankBits | (key & 0xFFFF_FFFF), RowRef(source: Int32(partition), row: Int32(row))))
        }
    }
    let digitBits = 11
    var scratch = items
    var shift = 0
    while shift < bits {
        var starts = [Int](repeating: 0, count: (1 << digitBits) + 1)
        let digitMask = UInt64(1 << digitBits - 1)
        for item in items { starts[Int((item.key >> UInt64(shift)) & digitMask) + 1] += 1 }
        for digit in 1..<starts.count { starts[digit] += starts[digit - 1] }
        items.withUnsafeBufferPointer { items in
            scratch.withUnsafeMutableBufferPointer { scratch in
                for item in items {
                    let digit = Int((item.key >> UInt64(shift)) & digitMask)
                    scratch[starts[digit]] = item
                    starts[digit] += 1
                }
            }
        }
        swap(&items, &scratch)
        shift += digitBits
    }
    return items.map(\.ref)
}

/// A HyperLogLog sketch of 64-bit hashes: about how many distinct hashes were added (within
/// about 15%), in 64 bytes, so every partial of a merge keeps one per partition. Registers
/// are picked by the hash's low bits and ranked by bits 10–39, away from the bits that pick
/// a merge partition (40 and up).
struct DistinctSketch {
    private var registers = [UInt8](repeating: 0, count: 1 << DistinctSketch.indexBits)
    private static let indexBits = 6
    private static let rankBits = 30

    /// Makes this sketch count the hashes of `other` too.
    mutating func formUnion(_ other: DistinctSketch) {
        for index in registers.indices where other.registers[index] > registers[index] { registers[index] = other.registers[index] }
    }

    mutating func add(_ hash: UInt64) {
        let index = Int(truncatingIfNeeded: hash) & (registers.count - 1)
        let rest = (hash >> UInt64(Self.indexBits)) & ((1 << UInt64(Self.rankBits)) - 1)
        let rank = UInt8(Swift.min(rest.leadingZeroBitCount - (64 - Self.rankBits), Self.rankBits) + 1)
        if rank > registers[index] { registers[index] = rank }
    }

    /// The estimated number of distinct hashes added (linear counting while few registers
    /// are set).
    var estimate: Int {
        let m = Double(registers.count)
        var sum = 0.0
        var zeros = 0
        for register in registers {
            sum += 1 / Double(UInt64(1) << UInt64(register))
            if register == 0 { zeros += 1 }
        }
        let raw = 0.7213 / (1 + 1.079 / m) * m * m / sum
        if raw <= 2.5 * m && zeros > 0 { return Int((m * Self.naturalLog(m / Double(zeros))).rounded()) }
        return Int(raw.rounded())
    }

    /// ln(x) for x ≥ 1 without libm: x = 2^e·f with f in [1, 2), ln f = 2·atanh((f−1)/(f+1)),
    /// whose series converges fast there.
    static func naturalLog(_ x: Double) -> Double {
        let e = Double(x.exponent)
        let f = x.significand
        let y = (f - 1) / (f + 1)
        let y2 = y * y
        var term = y
        var series = 0.0
        for k in stride(from: 1, through: 21, by: 2) {
            series += term / Double(k)
            term *= y2
        }
        return e * 0.693_147_180_559_945_3 + 2 * series
    }
}

/// A binary min-heap of (first appearance, partial): the partials a merge partition still
/// takes groups from, by their next group.
private struct FirstSeenHeap {
    private var entries: [(seen: UInt64, partial: Int)]

    init(_ entries: [(UInt64, Int)]) {
        self.entries = entries.map { (seen: $0.0, partial: $0.1) }
        for index in stride(from: self.entries.count / 2 - 1, through: 0, by: -1) { siftDown(index) }
    }

    var first: (seen: UInt64, partial: Int)? { entries.first }

    mutating func insert(_ entry: (UInt64, Int)) {
        entries.append((seen: entry.0, partial: entry.1))
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].seen < entries[parent].seen else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes the entry that appeared first and returns its partial.
    mutating func popFirst() -> Int? {
        guard let top = entries.first else { return nil }
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            siftDown(0)
        }
        return top.partial
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            var smallest = parent
            let (left, right) = (2 * parent + 1, 2 * parent + 2)
            if left < entries.count && entries[left].seen < entries[smallest].seen { smallest = left }
            if right < entries.count && entries[right].seen < entries[smallest].seen { smallest = right }
            guard smallest != parent else { return }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
    }
}

/// Where the groups of one partial go in a partitioned merge: each group's partition (by key
/// hash), each partition's groups in ascending order, and room for each group's id in its
/// partition's merged state (written by that partition only).
private struct PartitionRoute {
    private(set) var partitionOf: [UInt8]
    /// The partial's groups by partition, each partition's ascending: partition `p` has
    /// `order[starts[p]..<starts[p + 1]]`. Two flat arrays, where a list per partition made
    /// partials × partitions small arrays in a large merge.
    private(set) var order: [Int32]
    let starts: [Int]
    /// Per partition, a sketch of its groups' hashes.
    let sketches: [DistinctSketch]
    let targets: UnsafeMutableBufferPointer<Int32>

    init(_ keys: GroupKeys, partitions: Int) {
        let count = keys.count
        targets = .allocate(capacity: Swift.max(count, 1))
        targets.initialize(repeating: -1)
        var sketches = [DistinctSketch](repeating: DistinctSketch(), count: partitions)
        (order, starts, partitionOf) = orderByPartition(count: count, partitions: partitions) { group in
            let hash = keys.hash(of: group)
            let partition = GroupKeys.partition(hash, of: partitions)
            sketches[partition].add(hash)
            return partition
        }
        if partitions == 1 { partitionOf = [] }
        self.sketches = sketches
    }

    /// How many of the partial's groups are in `partition`.
    func groupCount(_ partition: Int) -> Int { starts[partition + 1] - starts[partition] }

    /// Calls `body` with the partial's groups in `partition`, ascending.
    func withGroups<R>(_ partition: Int, _ body: (UnsafeBufferPointer<Int32>) throws -> R) rethrows -> R {
        try order.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[starts[partition]..<starts[partition + 1]])) }
    }

    /// The order that makes each partition's groups one stretch of ids (its groups in turn,
    /// each list ascending), and this route renumbered to it; the partial is to be renumbered
    /// the same way (`AggregationState.renumber`).
    mutating func arrangeByPartition() -> [Int32] {
        let arranged = order
        order = Array(0..<Int32(arranged.count))
        if !partitionOf.isEmpty {
            for partition in 0..<starts.count - 1 {
                partitionOf.replaceSubrange(starts[partition]..<starts[partition + 1], with: repeatElement(UInt8(partition), count: groupCount(partition)))
            }
        }
        return arranged
    }
}

/// `0..<count` stably sorted by `partition(i)` (each in `0..<partitions`, at most 256),
/// where each partition's run starts (`order[starts[p]..<starts[p + 1]]`), and each index's
/// partition: a counting sort.
private func orderByPartition(
    count: Int, partitions: Int, _ partition: (Int) -> Int
) -> (order: [Int32], starts: [Int], partitionOf: [UInt8]) {
    var partitionOf = [UInt8](repeating: 0, count: count)
    var starts = [Int](repeating: 0, count: partitions + 1)
    for index in 0..<count {
        let target = partition(index)
        partitionOf[index] = UInt8(target)
        starts[target + 1] += 1
    }
    for target in 0..<partitions { starts[target + 1] += starts[target] }
    var next = starts
    var order = [Int32](repeating: 0, count: count)
    for index in 0..<count {
        let target = Int(partitionOf[index])
        order[next[target]] = Int32(index)
        next[target] += 1
    }
    return (order, starts, partitionOf)
}

/// Which groups of a partial fold into which groups of a merged state.
struct GroupMap {
    /// The partial's groups that fold here, ascending.
    let groups: UnsafeBufferPointer<Int32>
    /// Per partial group, its id here (meaningful for `groups`).
    let targets: UnsafeBufferPointer<Int32>
    /// Per partial group, its partition (nil: every group folds here).
    let partitionOf: UnsafeBufferPointer<UInt8>?
    let partition: Int
    /// How many partitions the partial's groups are spread over.
    let partitionCount: Int

    /// The id here of the partial's `group`, or nil when it belongs to another partition.
    @inline(__always)
    func target(_ group: Int) -> Int? {
        if let partitionOf, Int(partitionOf[group]) != partition { return nil }
        return Int(targets[group])
    }
}

/// A value handed to worker threads that only read it.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// The distinct group keys of an aggregation: packed words when the keys are fixed-width and
/// fit in 16 bytes, encoded byte strings otherwise. (Optional stored tables, so mutating one
/// through `table!` happens in place, without a copy-on-write of its arrays.)
struct GroupKeys {
    private var bytes: KeyTable?
    private var packed: PackedKeyTable?
    private let layout: PackedKeyLayout?

    init(types: [DataType]) {
        layout = PackedKeyLayout(types)
        if let layout { packed = PackedKeyTable(keysFitOneWord: layout.fitsOneWord) } else { bytes = KeyTable() }
    }

    var count: Int { packed?.count ?? bytes?.count ?? 0 }

    /// Whether the keys are packed into fixed-width words (else they are byte strings).
    var isPacked: Bool { packed != nil }

    /// Interns the rows `rows` of `columns` (byte-string keys only: they are encoded where
    /// they lie, where gathering them first would copy every string twice); the ids, one per
    /// listed row, are a `RowScratch` array.
    mutating func intern(_ columns: [ArrayData], rows: [Int32], pool: MemoryPool) throws -> [Int32] {
        precondition(packed == nil, "packed keys are gathered, then packed")
        return bytes!.intern(try KeyEncoder(columns, rows: rows, rowCount: rows.count, pool: pool))
    }

    /// Interns every row of `columns` (all the same length); the ids are a `RowScratch` array.
    mutating func intern(_ columns: [ArrayData], pool: MemoryPool) throws -> [Int32] {
        let rowCount = columns.first?.length ?? 0
        guard let layout, packed != nil else {
            return bytes!.intern(try KeyEncoder(columns, rowCount: rowCount, pool: pool))
        }
        var ids = RowScratch.take(count: rowCount, fill: 0)
        try Self.withPackedRows(layout, columns, rowCount: rowCount, pool: pool) { rowKeys in
            ids.withUnsafeMutableBufferPointer { packed!.intern(rowKeys, ids: $0) }
        }
        return ids
    }

    /// Calls `body` with each row's packed key.
    private static func withPackedRows(
        _ layout: PackedKeyLayout, _ columns: [ArrayData], rowCount: Int, pool: MemoryPool,
        _ body: (UnsafeBufferPointer<PackedKey>) -> Void
    ) throws {
        let plain = try columns.map { try Take.decodeDictionary($0, pool: pool) }
        var rowKeys = [PackedKey](repeating: PackedKey(), count: rowCount)
        rowKeys.withUnsafeMutableBufferPointer { layout.encode(plain, rowCount: rowCount, into: $0) }
        rowKeys.withUnsafeBufferPointer(body)
    }

    /// Each row's id among the keys held (a `RowScratch` array): -1 for a row whose key is
    /// not one of them. Adds nothing.
    func lookup(_ columns: [ArrayData], pool: MemoryPool) throws -> [Int32] {
        let rowCount = columns.first?.length ?? 0
        guard let layout, let packed else {
            return bytes!.lookup(try KeyEncoder(columns, rowCount: rowCount, pool: pool))
        }
        var ids = RowScratch.take(count: rowCount, fill: 0)
        try Self.withPackedRows(layout, columns, rowCount: rowCount, pool: pool) { rowKeys in
            ids.withUnsafeMutableBufferPointer { packed.lookup(rowKeys, ids: $0) }
        }
        return ids
    }

    /// The bytes the keys take (0 for packed keys, which take none beyond their words).
    var keyBytes: Int { bytes?.keyBytes ?? 0 }

    /// The same keys with ids renumbered: key `order[i]` becomes key `i` (listing only some ids
    /// keeps only those keys).
    func reordered(_ order: [Int32]) -> GroupKeys {
        var keys = self
        if let packed { keys.packed = packed.reordered(order) } else if let bytes { keys.bytes = bytes.reordered(order) }
        return keys
    }

    /// Makes room for `groups` more groups whose keys take `bytes` bytes.
    mutating func reserve(groups: Int, bytes: Int) {
        if packed != nil { packed!.reserve(keys: groups) } else { self.bytes?.reserve(keys: groups, bytes: bytes) }
    }

    /// The hash of group `group`'s key.
    func hash(of group: Int) -> UInt64 {
        if let packed { return packed.hash(of: group) }
        return bytes!.hash(of: group)
    }

    /// The partition of a key with `hash` among `partitions` (a power of two): high bits of
    /// the hash, independent of the slot a table probes first.
    @inline(__always)
    static func partition(_ hash: UInt64, of partitions: Int) -> Int { Int(truncatingIfNeeded: hash >> 40) & (partitions - 1) }

    /// Interns the keys of `other`'s `groups` (ascending), writing each one's id here to
    /// `targets[g]`. A merge partition's groups lie scattered over the partial's arrays, so
    /// each group's key and target are requested `AggregationState.gatherDistance` groups
    /// ahead.
    mutating func intern(_ other: GroupKeys, groups: UnsafeBufferPointer<Int32>, targets: UnsafeMutableBufferPointer<Int32>) {
        let distance = AggregationState.gatherDistance
        var ids = RowScratch.take(count: groups.count, fill: 0)
        defer {
            for (index, group) in groups.enumerated() {
                if index + distance < groups.count { requestCacheLine(targets.baseAddress! + Int(groups[index + distance])) }
                targets[Int(group)] = ids[index]
            }
            RowScratch.give(ids)
        }
        if let theirs = other.packed {
            var table = packed!
            packed = nil
            defer { packed = table }
            // The groups' keys in one run, so the table interns them with its probes
            // requested ahead.
            var gathered: [PackedKey] = []
            gathered.reserveCapacity(groups.count)
            theirs.keys.withUnsafeBufferPointer { keys in
                for (index, group) in groups.enumerated() {
                    if index + distance < groups.count { requestCacheLine(keys.baseAddress! + Int(groups[index + distance])) }
                    gathered.append(keys[Int(group)])
                }
            }
            gathered.withUnsafeBufferPointer { gathered in
                ids.withUnsafeMutableBufferPointer { table.intern(gathered, ids: $0) }
            }
            return
        }
        guard let theirs = other.bytes else { return }
        var table = bytes!
        bytes = nil
        defer { bytes = table }
        theirs.withKeys { key in
            ids.withUnsafeMutableBufferPointer { ids in
                table.intern(count: groups.count, ids: ids, key: { key(Int(groups[$0])) }) { theirs.hash(of: Int(groups[$0])) }
            }
        }
    }

    func decode(types: [DataType], pool: MemoryPool) throws -> [ArrayData] {
        if let packed, let layout { return layout.decode(packed.keys, types: types, pool: pool) }
        guard let bytes else { return [] }
        return try KeyDecoder.decode(bytes, types: types, pool: pool)
    }
}

/// The rows of one batch an aggregation folds in, and their groups.
struct GroupedRows {
    /// Each row's group (nil: all in group 0).
    let ids: [Int32]?
    /// The rows that count (nil: all).
    let mask: BitView?
    let rowCount: Int
    let groupCount: Int
    /// Counted rows per group, for accumulators whose input has no NULLs; nil when there are
    /// more groups than rows (a long-lived state's groups: a pass over them per batch would
    /// cost more than the rows), and then counts are added row by row.
    let countedPerGroup: [Int64]?

    /// `countedRows` is how many rows `mask` has set (`rowCount` without a mask).
    init(ids: [Int32]?, mask: BitView?, rowCount: Int, countedRows: Int, groupCount: Int) {
        self.ids = ids
        self.mask = mask
        self.rowCount = rowCount
        self.groupCount = groupCount
        let groups = Swift.max(groupCount, 1)
        if ids != nil && groups > rowCount {
            countedPerGroup = nil
            return
        }
        var counted = [Int64](repeating: 0, count: groups)
        if let ids {
            // Interleaved copies of the counts, as `addByGroup` keeps of its sums.
            let lanes = laneCount(groups: groups)
            var laned = [Int64](repeating: 0, count: lanes * groups)
            laned.withUnsafeMutableBufferPointer { laned in
                ids.withUnsafeBufferPointer { ids in
                    forEachSetRow(mask, nil, count: rowCount) { laned[($0 & (lanes - 1)) &* groups &+ Int(ids[$0])] += 1 }
                }
            }
            for lane in 0..<lanes {
                for group in 0..<groups { counted[group] += laned[lane * groups + group] }
            }
        } else {
            counted[0] = Int64(countedRows)
        }
        countedPerGroup = counted
    }
}

/// Per-group running values of one aggregate function.
protocol Accumulator: AnyObject {
    /// Folds in the counted rows of one batch.
    func update(_ input: ArrayData?, _ rows: GroupedRows) throws
    /// Folds in another accumulator of the same kind: its groups `map.groups`, each into
    /// group `map.targets[g]` here.
    func merge(_ other: any Accumulator, _ map: GroupMap, groupCount: Int) throws
    func finish(groupCount: Int, pool: MemoryPool) throws -> ArrayData
    /// Renumbers the groups: group `order[i]` becomes group `i` (`order` is a permutation of
    /// the groups).
    func reorder(_ order: [Int32])
}

/// `values` renumbered by `order` (group `order[i]` becomes `i`); a shorter array (groups
/// never updated) is first grown with `fill`.
private func reordered<T>(_ values: [T], _ order: [Int32], fill: T) -> [T] {
    var values = values
    growSlots(&values, to: order.count, with: fill)
    return values.withUnsafeBufferPointer { values in gathered(values, order) }
}

/// `values[order[i]]` for each `i`. `order` arranges groups by merge partition, so it reads
/// from as many places at once as there are partitions, more than the hardware follows:
/// each value is requested `AggregationState.gatherDistance` entries ahead.
@inline(__always)
func gathered<T>(_ values: UnsafeBufferPointer<T>, _ order: [Int32]) -> [T] {
    let distance = AggregationState.gatherDistance
    return [T](unsafeUninitializedCapacity: order.count) { out, initialized in
        order.withUnsafeBufferPointer { order in
            for index in order.indices {
                if index + distance < order.count { requestCacheLine(values.baseAddress! + Int(order[index + distance])) }
                (out.baseAddress! + index).initialize(to: values[Int(order[index])])
            }
        }
        initialized = order.count
    }
}

private func makeAccumulator(_ call: AggregateCall, pool: MemoryPool) throws -> any Accumulator {
    let valueType = call.argument.map { ScalarArrays.valueType($0.type) } ?? .int64
    switch call.function {
    case .countStar: return CountAccumulator(countsNulls: true)
    case .count: return CountAccumulator(countsNulls: false)
    case .countDistinct: return DistinctAccumulator(valueType: valueType, pool: pool)
    case .sum, .avg:
        guard let kind = NumberKind(valueType) else { return CountAccumulator(countsNulls: false, allNull: call.type) }
        return SumAccumulator(call: call, kind: kind, scale: Cast.decimalScale(valueType))
    case .min, .max:
        switch TypeRules.family(valueType) {
        case .string, .binary: return BytesMinMax(isMax: call.function == .max, type: call.type)
        case .null: return CountAccumulator(countsNulls: false, allNull: call.type)
        default:
            guard let kind = NumberKind(valueType) else {
                throw QuiverError(.query, "\(call.function.rawValue) does not support \(valueType)")
            }
            return MinMaxAccumulator(isMax: call.function == .max, type: call.type, kind: kind)
        }
    }
}

/// Grows per-group arrays to `count` slots.
private func growSlots<T>(_ array: inout [T], to count: Int, with value: T) {
    if array.count < count { array.append(contentsOf: repeatElement(value, count: count - array.count)) }
}

/// Calls `body(row, group)` for each counted row whose input is valid (`input` nil: every
/// counted row).
@inline(__always)
private func forEachValidRow(_ input: ArrayData?, _ rows: GroupedRows, _ body: (Int, Int) -> Void) {
    let validity = input.flatMap { Bitmaps.validity($0) }
    guard let ids = rows.ids else {
        forEachSetRow(validity, rows.mask, count: rows.rowCount) { body($0, 0) }
        return
    }
    ids.withUnsafeBufferPointer { ids in
        forEachSetRow(validity, rows.mask, count: rows.rowCount) { body($0, Int(ids[$0])) }
    }
}

/// Adds the rows counted per group to `counts` (for inputs without NULLs).
private func addCounted(_ rows: GroupedRows, to counts: UnsafeMutableBufferPointer<Int64>) {
    guard let perGroup = rows.countedPerGroup else {
        forEachValidRow(nil, rows) { _, group in counts[group] += 1 }
        return
    }
    for (group, count) in perGroup.enumerated() where count > 0 { counts[group] += count }
}

/// Per-group number state kept in a carrier type — `Int128` for integers, decimals and dates
/// (exact), `Double` for floats — so the accumulator classes need not be generic. (Methods of
/// a generic class called through an existential run unspecialised, looking up type metadata
/// per operation; here each batch's loop is specialised through `NumberKind.visit` instead.)
struct Carriers {
    /// Whether the values are exact (`exact` or `narrow` holds them) or floats (`float`
    /// does); the other arrays stay empty.
    let isExact: Bool
    /// Whether exact values are kept in `narrow` (Int64) rather than `exact` (Int128): sums
    /// of integers of up to 32 bits, half the memory and no 128-bit arithmetic per row, until
    /// `narrowBound` says a sum could pass Int64 (then `widen`).
    private(set) var isNarrow: Bool
    var exact: [Int128] = []
    var narrow: [Int64] = []
    var float: [Double] = []
    /// Non-NULL inputs per group (sum/avg), or 0/1 "seen" (min/max).
    var counts: [Int64] = []
    /// What a new group's slot starts as: 0 for sums; for min/max the value every input
    /// replaces (the largest for min), so a row updates its slot without a branch.
    private let exactStart: Int128
    private let floatStart: Double
    /// The largest magnitude one input value can have (narrow carriers only), and a bound on
    /// every narrow slot's magnitude: the rows admitted so far times it.
    private let rowMagnitude: Int128
    private var narrowBound: Int128 = 0

    /// `narrowSums`: keep sums of integers of up to 32 bits in Int64 while they must fit.
    init(kind: NumberKind, startingAt start: (exact: Int128, float: Double) = (0, 0), narrowSums: Bool = false) {
        isExact = kind != .float32 && kind != .float64
        (exactStart, floatStart) = start
        switch (narrowSums, kind) {
        case (true, .int8): rowMagnitude = 1 << 7
        case (true, .uint8): rowMagnitude = (1 << 8) - 1
        case (true, .int16): rowMagnitude = 1 << 15
        case (true, .uint16): rowMagnitude = (1 << 16) - 1
        case (true, .int32): rowMagnitude = 1 << 31
        case (true, .uint32): rowMagnitude = (1 << 32) - 1
        default: rowMagnitude = 0
        }
        isNarrow = rowMagnitude > 0 && exactStart == 0
    }

    mutating func grow(to count: Int) {
        if isNarrow {
            growSlots(&narrow, to: count, with: 0)
        } else if isExact {
            growSlots(&exact, to: count, with: exactStart)
        } else {
            growSlots(&float, to: count, with: floatStart)
        }
        growSlots(&counts, to: count, with: 0)
    }

    /// Renumbers the groups as `Accumulator.reorder`.
    mutating func reorder(_ order: [Int32]) {
        if isNarrow {
            narrow = reordered(narrow, order, fill: 0)
        } else if isExact {
            exact = reordered(exact, order, fill: exactStart)
        } else {
            float = reordered(float, order, fill: floatStart)
        }
        counts = reordered(counts, order, fill: 0)
    }

    /// Makes room to fold `rows` more rows: narrow slots widen first if a sum could pass
    /// Int64 (after some 2^32 rows of 32-bit values).
    mutating func admit(rows: Int) {
        guard isNarrow else { return }
        narrowBound += Int128(rows) * rowMagnitude
        if narrowBound > Int128(Int64.max) { widen() }
    }

    /// Makes room to merge slots with `otherBound` (their `mergeBound`) into these: both stay
    /// narrow only while the sum of their bounds fits Int64.
    mutating func admit(merging otherBound: Int128) {
        guard isNarrow else { return }
        narrowBound += otherBound
        if narrowBound > Int128(Int64.max) { widen() }
    }

    /// What `admit(merging:)` adds for these slots: their bound while narrow, else more than
    /// Int64 holds. (A number rather than the carriers themselves: a merge reads it from a
    /// partial every partition reads, where a copy's reference counting would contend.)
    var mergeBound: Int128 { isNarrow ? narrowBound : Int128(Int64.max) + 1 }

    /// Moves narrow slots to Int128.
    mutating func widen() {
        guard isNarrow else { return }
        exact = narrow.map { Int128($0) }
        narrow = []
        isNarrow = false
    }

    /// The result's validity over the first `groupCount` groups (nil when every group has a
    /// value): a group with a zero count has none.
    func validity(groupCount: Int, pool: MemoryPool) -> (Buffer, nullCount: Int)? {
        let empty = counts.prefix(groupCount).reduce(0) { $0 + ($1 == 0 ? 1 : 0) }
        return empty == 0 ? nil : (Bitmaps.build(count: groupCount, pool: pool) { counts[$0] > 0 }.finish(), empty)
    }

    /// Folds `input` (of physical type `kind`) into the carrier that fits it.
    mutating func fold<U: CarrierUpdate>(_ input: ArrayData, kind: NumberKind, _ update: U) throws -> U.Output {
        try withUnsafeMutablePointer(to: &self) { try kind.visit(Visit(input: input, state: $0, update: update)) }
    }

    private struct Visit<U: CarrierUpdate>: NumberVisitor {
        let input: ArrayData
        let state: UnsafeMutablePointer<Carriers>
        let update: U

        func visit<T: NumberValue>(_: T.Type) throws -> U.Output {
            let values = Columns.values(input, as: T.self)
            return state.pointee.counts.withUnsafeMutableBufferPointer { counts in
                if T.isInteger && state.pointee.isNarrow {
                    return state.pointee.narrow.withUnsafeMutableBufferPointer { slots in update.run(values, slots, counts) }
                }
                if T.isInteger {
                    return state.pointee.exact.withUnsafeMutableBufferPointer { slots in update.run(values, slots, counts) }
                }
                return state.pointee.float.withUnsafeMutableBufferPointer { slots in update.run(values, slots, counts) }
            }
        }
    }
}

/// A per-batch loop over one number column into carrier slots (generic over both, so the
/// visitor specialises it per physical type and carrier; values become carriers through
/// `C.widen`).
protocol CarrierUpdate {
    associatedtype Output
    func run<T: NumberValue, C: ArithmeticValue>(
        _ values: UnsafePointer<T>, _ slots: UnsafeMutableBufferPointer<C>, _ counts: UnsafeMutableBufferPointer<Int64>
    ) -> Output
}

/// count(*) and count(x); also stands in for aggregates over an all-NULL literal argument
/// (`allNull`: then it finishes as NULLs of that type).
private final class CountAccumulator: Accumulator {
    let countsNulls: Bool
    let allNull: DataType?
    var counts: [Int64] = []

    init(countsNulls: Bool, allNull: DataType? = nil) {
        self.countsNulls = countsNulls
        self.allNull = allNull
    }

    func update(_ input: ArrayData?, _ rows: GroupedRows) throws {
        growSlots(&counts, to: rows.groupCount, with: 0)
        counts.withUnsafeMutableBufferPointer { counts in
            if countsNulls || input.map({ Bitmaps.validity($0) == nil }) ?? true {
                addCounted(rows, to: counts)
            } else {
                forEachValidRow(input, rows) { _, group in counts[group] += 1 }
            }
        }
    }

    func reorder(_ order: [Int32]) { counts = reordered(counts, order, fill: 0) }

    func merge(_ other: any Accumulator, _ map: GroupMap, groupCount: Int) throws {
        guard let other = other as? CountAccumulator else { return }
        growSlots(&counts, to: groupCount, with: 0)
        // Read in place, as `SumAccumulator.merge` reads a partial.
        other.counts.withUnsafeBufferPointer { theirs in
            counts.withUnsafeMutableBufferPointer { counts in
                for group in map.groups.lazy.map(Int.init) where group < theirs.count { counts[Int(map.targets[group])] += theirs[group] }
            }
        }
    }

    func finish(groupCount: Int, pool: MemoryPool) throws -> ArrayData {
        if let allNull { return Output.nulls(allNull, length: groupCount, pool: pool) }
        growSlots(&counts, to: groupCount, with: 0)
        let values = Output.fixed(Int64.self, count: groupCount, pool: pool) { out in
            for group in 0..<groupCount { out[group] = counts[group] }
        }
        return Output.array(.int64, length: groupCount, validity: nil, [values])
    }
}

/// sum(x) and avg(x): integers and decimals accumulate exactly in `Int128`, floats in
/// `Double`. A group with no non-NULL input is NULL.
private final class SumAccumulator: Accumulator {
    let call: AggregateCall
    let kind: NumberKind
    let scale: Int
    var state: Carriers
    var overflow = false

    init(call: AggregateCall, kind: NumberKind, scale: Int) {
        self.call = call
        self.kind = kind
        self.scale = scale
        state = Carriers(kind: kind, narrowSums: true)
    }

    var isExact: Bool { state.isExact }

    func update(_ input: ArrayData?, _ rows: GroupedRows) throws {
        guard let input else { return }
        state.admit(rows: rows.rowCount)
        state.grow(to: rows.groupCount)
        if try state.fold(input, kind: kind, SumRows(input: input, rows: rows)) { overflow = true }
    }

    /// Adds each valid row into its group's carrier; returns true on `Int128` overflow.
    private struct SumRows: CarrierUpdate {
        let input: ArrayData
        let rows: GroupedRows

        @inline(__always)
        func run<T: NumberValue, Acc: ArithmeticValue>(
            _ values: UnsafePointer<T>, _ sums: UnsafeMutableBufferPointer<Acc>, _ counts: UnsafeMutableBufferPointer<Int64>
        ) -> Bool {
            var overflow = false
            let validity = Bitmaps.validity(input)
            if rows.ids == nil {
                // One group: a reduction in a local, over the counted valid rows.
                var total = Acc.zero
                var counted: Int64 = 0
                if validity == nil && rows.mask == nil && T.isInteger && MemoryLayout<T>.size <= 4 {
                    // Integers of up to 32 bits add up in an Int64 that cannot overflow within a
                    // stretch of 2^30 rows: no per-row overflow check, and the loop vectorises.
                    var start = 0
                    while start < rows.rowCount {
                        let end = Swift.min(rows.rowCount, start + 1 << 30)
                        var stretch: Int64 = 0
                        for row in start..<end { stretch &+= Int64(truncatingIfNeeded: values[row].int128Value) }
                        let (sum, o) = Acc.add(total, Acc.widen(stretch))
                        total = sum
                        overflow = overflow || o
                        start = end
                    }
                    counted = Int64(rows.rowCount)
                } else if validity == nil && rows.mask == nil {
                    for row in 0..<rows.rowCount {
                        let (sum, o) = Acc.add(total, Acc.widen(values[row]))
                        total = sum
                        overflow = overflow || o
                    }
                    counted = Int64(rows.rowCount)
                } else {
                    forEachSetRow(validity, rows.mask, count: rows.rowCount) { row in
                        let (sum, o) = Acc.add(total, Acc.widen(values[row]))
                        total = sum
                        counted += 1
                        overflow = overflow || o
                    }
                }
                let (sum, o) = Acc.add(sums[0], total)
                sums[0] = sum
                counts[0] += counted
                return overflow || o
            }
            if validity == nil, let ids = rows.ids {
                // No NULLs: counts come from the batch's per-group row counts.
                overflow = ids.withUnsafeBufferPointer { ids in
                    addByGroup(values, ids, rows.mask, rows.rowCount, into: sums, groupCount: rows.groupCount)
                }
                addCounted(rows, to: counts)
                return overflow
            }
            forEachValidRow(input, rows) { row, group in
                let (sum, o) = Acc.add(sums[group], Acc.widen(values[row]))
                sums[group] = sum
                counts[group] += 1
                overflow = overflow || o
            }
            return overflow
        }
    }

    func reorder(_ order: [Int32]) { state.reorder(order) }

    func merge(_ other: any Accumulator, _ map: GroupMap, groupCount: Int) throws {
        guard let other = other as? SumAccumulator else { return }
        state.admit(merging: other.state.mergeBound)
        state.grow(to: groupCount)
        var overflowed = other.overflow
        var mine = state
        state = Carriers(kind: kind)
        defer { state = mine }
        // The partial's slots are read in place: every partition of a merge reads them, and
        // copying them would count references to arrays the other threads count too.
        other.state.counts.withUnsafeBufferPointer { theirCounts in
            if mine.isNarrow {
                // Both narrow, and their bounds fit Int64 together.
                other.state.narrow.withUnsafeBufferPointer { theirs in
                    Self.add(theirs, theirCounts, into: &mine.narrow, &mine.counts, map, overflowed: &overflowed) { $0 }
                }
            } else if mine.isExact && other.state.isNarrow {
                other.state.narrow.withUnsafeBufferPointer { theirs in
                    Self.add(theirs, theirCounts, into: &mine.exact, &mine.counts, map, overflowed: &overflowed) { Int128($0) }
                }
            } else if mine.isExact {
                other.state.exact.withUnsafeBufferPointer { theirs in
                    Self.add(theirs, theirCounts, into: &mine.exact, &mine.counts, map, overflowed: &overflowed) { $0 }
                }
            } else {
                other.state.float.withUnsafeBufferPointer { theirs in
                    Self.add(theirs, theirCounts, into: &mine.float, &mine.counts, map, overflowed: &overflowed) { $0 }
                }
            }
        }
        overflow = overflow || overflowed
    }

    /// Adds `theirs` (as `value` makes them, and their counts) of `map`'s groups into `mine`,
    /// through buffer pointers: element access on a class's stored arrays pays an exclusivity
    /// and a uniqueness check each time.
    @inline(__always)
    private static func add<Their, C: ArithmeticValue>(
        _ theirs: UnsafeBufferPointer<Their>, _ theirCounts: UnsafeBufferPointer<Int64>, into mine: inout [C], _ counts: inout [Int64],
        _ map: GroupMap, overflowed: inout Bool, _ value: (Their) -> C
    ) {
        mine.withUnsafeMutableBufferPointer { mine in
            counts.withUnsafeMutableBufferPointer { counts in
                for group in map.groups.lazy.map(Int.init) where group < theirCounts.count {
                    let target = Int(map.targets[group])
                    let (sum, o) = C.add(mine[target], value(theirs[group]))
                    mine[target] = sum
                    overflowed = overflowed || o
                    counts[target] += theirCounts[group]
                }
            }
        }
    }

    func finish(groupCount: Int, pool: MemoryPool) throws -> ArrayData {
        try finish(as: call, groupCount: groupCount, pool: pool)
    }

    /// The result of `call` — this accumulator's own, or a sum or avg of the same argument
    /// (see `SharedSum`) — from the sums and counts.
    func finish(as call: AggregateCall, groupCount: Int, pool: MemoryPool) throws -> ArrayData {
        guard !overflow else { throw QuiverError(.query, "overflow in \(call.text)") }
        state.grow(to: groupCount)
        // Written straight into the result buffers: millions of groups must not each become
        // a Scalar.
        let counts = state.counts
        let validity = state.validity(groupCount: groupCount, pool: pool)
        let values: Buffer
        if state.isNarrow {
            // Sums of integers (scale 0) that fit Int64: read as they are, without widening
            // every slot to Int128 first (Double(Int64) rounds as `Decimal.toDouble` does).
            let isAverage = call.function == .avg
            values = state.narrow.withUnsafeBufferPointer { narrow in
                counts.withUnsafeBufferPointer { counts in
                    isAverage
                        ? Output.fixed(Double.self, count: groupCount, pool: pool) { out in
                            for group in 0..<groupCount { out[group] = counts[group] > 0 ? Double(narrow[group]) / Double(counts[group]) : 0 }
                        }
                        : Output.fixed(Int128.self, count: groupCount, pool: pool) { out in
                            for group in 0..<groupCount { out[group] = counts[group] > 0 ? Int128(narrow[group]) : 0 }
                        }
                }
            }
        } else if call.function == .avg || !isExact {
            let isAverage = call.function == .avg
            values = Output.fixed(Double.self, count: groupCount, pool: pool) { out in
                for group in 0..<groupCount {
                    let sum = isExact ? Decimal.toDouble(state.exact[group], scale: scale) : state.float[group]
                    out[group] = isAverage ? (counts[group] > 0 ? sum / Double(counts[group]) : 0) : sum
                }
            }
        } else {
            let limit = Decimal.powersOfTen[38]
            if (0..<groupCount).contains(where: { state.exact[$0].magnitude >= limit && counts[$0] > 0 }) {
                throw QuiverError(.query, "\(call.text) does not fit in 38 digits")
            }
            values = Output.fixed(Int128.self, count: groupCount, pool: pool) { out in
                state.exact.withUnsafeBufferPointer { exact in
                    for group in 0..<groupCount { out[group] = counts[group] > 0 ? exact[group] : 0 }
                }
            }
        }
        return Output.array(call.type, length: groupCount, validity: validity, [values])
    }

}

/// A sum or avg whose argument an earlier sum or avg already adds up: nothing to do per
/// batch or merge (the source does it), and the result comes from the source's sums and
/// counts — both functions keep the same ones.
private final class SharedSum: Accumulator {
    let source: SumAccumulator
    let call: AggregateCall

    init(source: SumAccumulator, call: AggregateCall) {
        self.source = source
        self.call = call
    }

    func update(_ input: ArrayData?, _ rows: GroupedRows) throws {}
    func merge(_ other: any Accumulator, _ map: GroupMap, groupCount: Int) throws {}
    func reorder(_ order: [Int32]) {}
    func finish(groupCount: Int, pool: MemoryPool) throws -> ArrayData {
        try source.finish(as: call, groupCount: groupCount, pool: pool)
    }
}

/// How many interleaved copies of per-group slots a pass over rows keeps (see `addByGroup`):
/// four while groups are few (up to 1024), where rows of one group follow each other; one
/// beyond.
@inline(__always)
private func laneCount(groups: Int) -> Int { groups <= 1024 ? 4 : 1 }

/// Adds each counted row's value into its group's slot of `sums`; returns true on overflow.
///
/// Rows add into four interleaved copies of the slots (row i into copy i mod 4), folded at
/// the end: consecutive rows of one group then update different memory, so each add need not
/// wait for the previous one's store (a dependency that otherwise costs ~10 cycles per row
/// when groups are few). Deterministic: the same rows always add up in the same order.
@inline(__always)
private func addByGroup<T: NumberValue, Acc: ArithmeticValue>(
    _ values: UnsafePointer<T>, _ ids: UnsafeBufferPointer<Int32>, _ mask: BitView?, _ rowCount: Int,
    into sums: UnsafeMutableBufferPointer<Acc>, groupCount: Int
) -> Bool {
    let lanes = laneCount(groups: groupCount)
    var overflow = false
    if lanes == 1 {
        // Many groups: rows of one group rarely follow each other; add in place.
        forEachSetRow(mask, nil, count: rowCount) { row in
            let group = Int(ids[row])
            let (sum, o) = Acc.add(sums[group], Acc.widen(values[row]))
            sums[group] = sum
            overflow = overflow || o
        }
        return overflow
    }
    var copies = [Acc](repeating: .zero, count: lanes * groupCount)
    copies.withUnsafeMutableBufferPointer { copies in
        @inline(__always) func add(_ row: Int) {
            let slot = (row & (lanes - 1)) &* groupCount &+ Int(ids[row])
            let (sum, o) = Acc.add(copies[slot], Acc.widen(values[row]))
            copies[slot] = sum
            overflow = overflow || o
        }
        forEachSetRow(mask, nil, count: rowCount) { add($0) }
        for lane in 0..<lanes {
            for group in 0..<groupCount {
                let (sum, o) = Acc.add(sums[group], copies[lane * groupCount + group])
                sums[group] = sum
                overflow = overflow || o
            }
        }
    }
    return overflow
}

/// min(x) / max(x) over a number type, compared in its carrier (NaNs are skipped).
private final class MinMaxAccumulator: Accumulator {
    let isMax: Bool
    let type: DataType
    let kind: NumberKind
    var state: Carriers

    init(isMax: Bool, type: DataType, kind: NumberKind) {
        self.isMax = isMax
        self.type = type
        self.kind = kind
        state = Carriers(kind: kind, startingAt: Self.start(isMax: isMax))
    }

    /// A slot's value before any input: what every input replaces.
    private static func start(isMax: Bool) -> (exact: Int128, float: Double) {
        isMax ? (Int128.min, -Double.infinity) : (Int128.max, Double.infinity)
    }

    var isExact: Bool { state.isExact }

    func update(_ input: ArrayData?, _ rows: GroupedRows) throws {
        guard let input else { return }
        state.grow(to: rows.groupCount)
        try state.fold(input, kind: kind, Rows(input: input, rows: rows, isMax: isMax))
    }

    /// Offers each valid row to its group's best value so far.
    private struct Rows: CarrierUpdate {
        let input: ArrayData
        let rows: GroupedRows
        let isMax: Bool

        @inline(__always)
        func run<T: NumberValue, C: ArithmeticValue>(
            _ values: UnsafePointer<T>, _ best: UnsafeMutableBufferPointer<C>, _ seen: UnsafeMutableBufferPointer<Int64>
        ) {
            if T.isInteger, rows.ids == nil, rows.mask == nil, rows.rowCount > 0, Bitmaps.validity(input) == nil {
                // One group, every row counts: a reduction in the column's own type (which
                // vectorises), widened once.
                var extreme = values[0]
                if isMax {
                    for row in 1..<rows.rowCount { extreme = Swift.max(extreme, values[row]) }
                } else {
                    for row in 1..<rows.rowCount { extreme = Swift.min(extreme, values[row]) }
                }
                let value = C.widen(extreme)
                if seen[0] == 0 || (isMax ? value > best[0] : value < best[0]) {
                    best[0] = value
                    seen[0] = 1
                }
                return
            }
            // Slots start at the value every input replaces: no branch on whether a group has
            // one yet. A tie keeps the earlier value (-0 or 0, whichever came first); NaNs are
            // skipped.
            if isMax {
                forEachValidRow(input, rows) { row, group in
                    let value = C.widen(values[row])
                    guard T.isInteger || value == value else { return }
                    let current = best[group]
                    best[group] = value > current ? value : current
                    seen[group] = 1
                }
            } else {
                forEachValidRow(input, rows) { row, group in
                    let value = C.widen(values[row])
                    guard T.isInteger || value == value else { return }
                    let current = best[group]
                    best[group] = value < current ? value : current
                    seen[group] = 1
                }
            }
        }
    }

    func reorder(_ order: [Int32]) { state.reorder(order) }

    func merge(_ other: any Accumulator, _ map: GroupMap, groupCount: Int) throws {
        guard let other = other as? MinMaxAccumulator else { return }
        state.grow(to: groupCount)
        // Through buffer pointers into local copies, as `SumAccumulator.merge`.
        var mine = state
        state = Carriers(kind: kind)
        defer { state = mine }
        if isExact {
            Self.merge(other.state.exact, other.state.counts, into: &mine.exact, &mine.counts, map, isMax: isMax)
        } else {
            Self.merge(other.state.float, other.state.counts, into: &mine.float, &mine.counts, map, isMax: isMax)
        }
    }

    /// Folds the best values `theirs` (where `theirSeen`) of `map`'s groups into `best`.
    private static func merge<C: Comparable>(
        _ theirs: [C], _ theirSeen: [Int64], into best: inout [C], _ seen: inout [Int64], _ map: GroupMap, isMax: Bool
    ) {
        theirs.withUnsafeBufferPointer { theirs in
            theirSeen.withUnsafeBufferPointer { theirSeen in
                best.withUnsafeMutableBufferPointer { best in
                    seen.withUnsafeMutableBufferPointer { seen in
                        for group in map.groups.lazy.map(Int.init) where group < theirSeen.count && theirSeen[group] > 0 {
                            let target = Int(map.targets[group])
                            let value = theirs[group]
                            if seen[target] == 0 || (isMax ? value > best[target] : value < best[target]) { best[target] = value }
                            seen[target] = 1
                        }
                    }
                }
            }
        }
    }

    /// Written straight into the result buffers in the input's own type, as sums are.
    func finish(groupCount: Int, pool: MemoryPool) throws -> ArrayData {
        state.grow(to: groupCount)
        let validity = state.validity(groupCount: groupCount, pool: pool)
        let values = try kind.visit(WriteBest(state: state, groupCount: groupCount, pool: pool))
        return Output.array(type, length: groupCount, validity: validity, [values])
    }

    /// Each group's best value as the input's type (a value read from the input always fits
    /// it back); 0 where a group has none.
    private struct WriteBest: NumberVisitor {
        let state: Carriers
        let groupCount: Int
        let pool: MemoryPool

        func visit<T: NumberValue>(_: T.Type) throws -> Buffer {
            Output.fixed(T.self, count: groupCount, pool: pool) { out in
                for group in 0..<groupCount {
                    guard state.counts[group] > 0 else {
                        out[group] = .zero
                        continue
                    }
                    out[group] = (state.isExact ? T(exactlyInt128: state.exact[group]) : T(exactlyDouble: state.float[group])) ?? .zero
                }
            }
        }
    }
}

/// min(x) / max(x) over strings (bytewise order); copies a value only when it wins.
private final class BytesMinMax: Accumulator {
    let isMax: Bool
    let type: DataType
    var values: [[UInt8]?] = []

    init(isMax: Bool, type: DataType) {
        self.isMax = isMax
        self.type = type
    }

    private func offer(_ candidate: ByteString, _ group: Int) {
        let wins = values[group].map { stored in
            stored.withUnsafeBytes { raw in
                let c = ByteString.compare(candidate, ByteString(start: raw.baseAddress ?? candidate.start, count: raw.count))
                return isMax ? c > 0 : c < 0
            }
        } ?? true
        if wins { values[group] = Array(candidate.bytes) }
    }

    func update(_ input: ArrayData?, _ rows: GroupedRows) throws {
        guard let input else { return }
        growSlots(&values, to: rows.groupCount, with: nil)
        if Columns.hasLargeOffsets(input.type) {
            let view = Columns.strings(input, offsets: Int64.self)
            forEachValidRow(input, rows) { row, group in offer(view[row], group) }
        } else {
            let view = Columns.strings(input, offsets: Int32.self)
            forEachValidRow(input, rows) { row, group in offer(view[row], group) }
        }
    }

    func reorder(_ order: [Int32]) { values = reordered(values, order, fill: nil) }

    func merge(_ other: any Accumulator, _ map: GroupMap, groupCount: Int) throws {
        guard let other = other as? BytesMinMax else { return }
        growSlots(&values, to: groupCount, with: nil)
        for group in map.groups.lazy.map(Int.init) where group < other.values.count {
            guard let value = other.values[group] else { continue }
            value.withUnsafeBytes { raw in
                offer(ByteString(start: raw.baseAddress ?? Buffer.empty.baseAddress, count: raw.count), Int(map.targets[group]))
            }
        }
    }

    func finish(groupCount: Int, pool: MemoryPool) throws -> ArrayData {
        growSlots(&values, to: groupCount, with: nil)
        let scalars = values.prefix(groupCount).map { $0.map { Scalar(type: type, payload: .bytes($0)) } ?? .null(type) }
        return try ScalarArrays.array(of: scalars, type: type, pool: pool)
    }
}

/// count(DISTINCT x): one key table of (group, value) pairs; a group's count is the number
/// of pairs with its id. NULL values are not counted. Fixed-width values of up to 16 bytes
/// pair up as packed keys (the value in the words, the group in the tag), others as encoded
/// byte strings behind a 4-byte group id.
private final class DistinctAccumulator: Accumulator {
    var pairs = KeyTable()
    var packedPairs = PackedKeyTable()
    /// Without group keys (every row in group 0), integer and temporal values go straight
    /// into a set of 64-bit values instead of being paired with a group.
    var values = ValueSet()
    /// Likewise string and binary values go into a set of their bytes, read straight from the
    /// column (no group id, no encoding).
    var strings = KeyTable()
    let layout: PackedKeyLayout?
    let readsValues: Bool
    let readsStrings: Bool
    let pool: MemoryPool

    var pairCount: Int { pairs.count + packedPairs.count + values.count + strings.count }

    /// The pairs split by merge partition (see `route`): partition `p`'s packed pairs are
    /// `routedPacked[routedPackedStarts[p]..<routedPackedStarts[p + 1]]`, and its byte pairs'
    /// ids likewise. Written once before a merge reads them, by the partial's own route task.
    private var routedPacked: [PackedKey] = []
    private var routedPackedStarts: [Int] = []
    private var routedBytes: [Int32] = []
    private var routedBytesStarts: [Int] = []

    /// When the state's groups were renumbered (`reorder`), each pair's group id (as tagged)
    /// → the group's id now. The pairs keep their tags: only a merge reads them after that.
    private var renumbered: [Int32]? = nil

    /// The group a pair tagged `tag` belongs to now.
    @inline(__always)
    private func group(tagged tag: Int) -> Int { renumbered.map { Int($0[tag]) } ?? tag }

    func reorder(_ order: [Int32]) {
        var renumbered = [Int32](repeating: 0, count: order.count)
        for (new, old) in order.enumerated() { renumbered[Int(old)] = Int32(new) }
        if let earlier = self.renumbered { renumbered = earlier.map { renumbered[Int($0)] } }
        self.renumbered = renumbered
    }

    /// Sorts the pairs by the partition of their group (a counting sort), for `merge`.
    func route(_ partitionOf: [UInt8], partitions: Int) {
        func partition(_ tag: Int) -> Int {
            let group = group(tagged: tag)
            return group < partitionOf.count ? Int(partitionOf[group]) : 0
        }
        if packedPairs.count > 0 {
            let keys = packedPairs.keys
            let (order, starts, _) = orderByPartition(count: keys.count, partitions: partitions) { partition(Int(keys[$0].tag)) }
            routedPacked = order.map { keys[Int($0)] }
            routedPackedStarts = starts
        }
        if pairs.count > 0 {
            (routedBytes, routedBytesStarts, _) = orderByPartition(count: pairs.count, partitions: partitions) { id in
                partition(pairs.withKey(id) { Int($0.loadUnaligned(as: Int32.self)) })
            }
        }
    }

    /// Makes room for about `count` pairs in the table `update` will fill: the value set
    /// without group keys, else the packed table, or the byte table with as many bytes per
    /// pair as it holds now.
    func reserve(pairs count: Int, grouped: Bool) {
        if !grouped && readsValues {
            values.reserve(count)
        } else if !grouped && readsStrings {
            strings.reserve(keys: count, bytes: count * (strings.count == 0 ? 16 : strings.keyBytes / strings.count))
        } else if layout != nil {
            packedPairs.reserve(keys: count)
        } else {
            pairs.reserve(keys: count, bytes: count * (pairs.count == 0 ? 16 : pairs.keyBytes / pairs.count))
        }
    }

    init(valueType: DataType, pool: MemoryPool) {
        layout = PackedKeyLayout([valueType])
        readsValues = ValueSet.reads(valueType)
        readsStrings = [.utf8, .largeUtf8, .binary, .largeBinary].contains(valueType.storageType)
        self.pool = pool
    }

    func update(_ input: ArrayData?, _ rows: GroupedRows) throws {
        guard let input else { return }
        if rows.ids == nil && readsValues {
            // The set moves into a local for the insert (see below).
            var set = values
            values = ValueSet()
            set.insert(try Take.decodeDictionary(input, pool: pool), rows: rows.mask)
            values = set
            return
        }
        if rows.ids == nil && readsStrings {
            var set = strings
            strings = KeyTable()
            defer { strings = set }
            try Self.insertStrings(try Take.decodeDictionary(input, pool: pool), rows: rows, into: &set)
            return
        }
        if let layout {
            let plain = try Take.decodeDictionary(input, pool: pool)
            var keys = [PackedKey](repeating: PackedKey(), count: rows.rowCount)
            // The table moves into a local for the loop: a class's stored property would be
            // exclusivity-checked on every intern.
            var table = packedPairs
            packedPairs = PackedKeyTable(capacity: 0)
            keys.withUnsafeMutableBufferPointer { keys in
                layout.encode([plain], rowCount: rows.rowCount, into: keys)
                let ids = rows.ids
                let validity = Bitmaps.validity(plain)
                guard validity != nil || rows.mask != nil else {
                    // Every row counts: tag each key with its group and intern them in runs.
                    if let ids { for row in 0..<rows.rowCount { keys[row].tag = UInt64(UInt32(bitPattern: ids[row])) } }
                    var pairIds = RowScratch.take(count: rows.rowCount, fill: 0)
                    pairIds.withUnsafeMutableBufferPointer { table.intern(UnsafeBufferPointer(keys), ids: $0) }
                    RowScratch.give(pairIds)
                    return
                }
                forEachSetRow(validity, rows.mask, count: rows.rowCount) { row in
                    var key = keys[row]
                    key.tag = UInt64(UInt32(bitPattern: ids?[row] ?? 0))
                    _ = table.intern(key)
                }
            }
            packedPairs = table
            return
        }
        let prefix = rows.ids ?? [Int32](repeating: 0, count: rows.rowCount)
        let encoder = try KeyEncoder([input], rowCount: rows.rowCount, groupPrefix: prefix, pool: pool)
        // The table moves into a local (see above).
        var table = pairs
        pairs = KeyTable(capacity: 0)
        defer { pairs = table }
        guard rows.mask != nil || Bitmaps.validity(input) != nil else {
            // Every row counts: in runs, their probes requested ahead.
            RowScratch.give(table.intern(encoder))
            return
        }
        Self.intern(encoder, mask: rows.mask, into: &table)
    }

    /// Interns the counted rows' non-NULL strings (their bytes, in runs) into `set`.
    private static func insertStrings(_ input: ArrayData, rows: GroupedRows, into set: inout KeyTable) throws {
        let validity = Bitmaps.validity(input)
        // A `let`: a captured `var` would be boxed and checked for exclusive access per row.
        let counted: [Int32]? = validity == nil && rows.mask == nil ? nil : {
            var kept: [Int32] = []
            forEachSetRow(validity, rows.mask, count: rows.rowCount) { kept.append(Int32($0)) }
            return kept
        }()
        let count = counted?.count ?? rows.rowCount
        var ids = RowScratch.take(count: count, fill: 0)
        defer { RowScratch.give(ids) }
        func run<O: FixedWidthInteger>(_ view: StringsView<O>) {
            ids.withUnsafeMutableBufferPointer { ids in
                if let counted {
                    counted.withUnsafeBufferPointer { counted in
                        let key = { (index: Int) -> UnsafeRawBufferPointer in
                            let value = view[Int(counted[index])]
                            return UnsafeRawBufferPointer(start: value.start, count: value.count)
                        }
                        set.intern(count: count, ids: ids, key: key)
                    }
                } else {
                    let key = { (index: Int) -> UnsafeRawBufferPointer in
                        let value = view[index]
                        return UnsafeRawBufferPointer(start: value.start, count: value.count)
                    }
                    set.intern(count: count, ids: ids, key: key)
                }
            }
        }
        if Columns.hasLargeOffsets(input.type) { run(Columns.strings(input, offsets: Int64.self)) } else { run(Columns.strings(input, offsets: Int32.self)) }
    }

    /// Interns the counted rows' pairs; NULL values (flag byte 0 after the group id) are not
    /// counted.
    private static func intern(_ encoder: KeyEncoder, mask: BitView?, into pairs: inout KeyTable) {
        encoder.forEachKey { row, key, hash in
            if key[4] != 0 && (mask?[row] ?? true) { _ = pairs.intern(key, hash: hash) }
        }
    }

    /// Each partition of a merge takes the pairs of its own groups: those `route` put in its
    /// range, or, unrouted (one partition), all of them.
    func merge(_ other: any Accumulator, _ map: GroupMap, groupCount: Int) throws {
        guard let other = other as? DistinctAccumulator else { return }
        if other.values.count > 0, let target = map.target(0) {
            // Only a state without group keys fills its value set, and its group 0 stays 0.
            precondition(target == 0, "a value set belongs to group 0")
            var set = values
            values = ValueSet()
            set.formUnion(other.values)
            values = set
        }
        if other.strings.count > 0, let target = map.target(0) {
            precondition(target == 0, "a string set belongs to group 0")
            var set = strings
            strings = KeyTable()
            defer { strings = set }
            var ids = RowScratch.take(count: other.strings.count, fill: 0)
            defer { RowScratch.give(ids) }
            other.strings.withKeys { key in
                ids.withUnsafeMutableBufferPointer { ids in
                    set.intern(count: other.strings.count, ids: ids, key: key) { other.strings.hash(of: $0) }
                }
            }
        }
        var table = packedPairs
        packedPairs = PackedKeyTable(capacity: 0)
        // This partition's pairs (all of them when they were not routed), retagged, go in as
        // one run (its probes requested ahead).
        let isRouted = !other.routedPackedStarts.isEmpty
        let candidates = isRouted
            ? other.routedPacked[other.routedPackedStarts[map.partition]..<other.routedPackedStarts[map.partition + 1]]
            : other.packedPairs.keys[...]
        var run: [PackedKey] = []
        run.reserveCapacity(isRouted ? candidates.count : candidates.count / Swift.max(1, map.partitionCount))
        for var key in candidates {
            guard let target = map.target(other.group(tagged: Int(key.tag))) else { continue }
            key.tag = UInt64(UInt32(bitPattern: Int32(target)))
            run.append(key)
        }
        var ids = RowScratch.take(count: run.count, fill: 0)
        run.withUnsafeBufferPointer { run in ids.withUnsafeMutableBufferPointer { table.intern(run, ids: $0) } }
        RowScratch.give(ids)
        packedPairs = table
        guard other.pairs.count > 0 else { return }
        let byteCandidates = other.routedBytesStarts.isEmpty
            ? Array(0..<Int32(other.pairs.count))[...]
            : other.routedBytes[other.routedBytesStarts[map.partition]..<other.routedBytesStarts[map.partition + 1]]
        // This partition's byte pairs, retagged back to back, go in as one run.
        var retagged: [UInt8] = []
        var starts: [Int] = [0]
        other.pairs.withKeys { key in
            for id in byteCandidates.lazy.map(Int.init) {
                let pair = key(id)
                guard let target = map.target(other.group(tagged: Int(pair.loadUnaligned(as: Int32.self)))) else { continue }
                let start = retagged.count
                retagged.append(contentsOf: pair)
                retagged.withUnsafeMutableBytes { $0.storeBytes(of: Int32(target), toByteOffset: start, as: Int32.self) }
                starts.append(retagged.count)
            }
        }
        let count = starts.count - 1
        var byteTable = pairs
        pairs = KeyTable(capacity: 0)
        defer { pairs = byteTable }
        var byteIds = RowScratch.take(count: count, fill: 0)
        defer { RowScratch.give(byteIds) }
        retagged.withUnsafeBytes { bytes in
            starts.withUnsafeBufferPointer { starts in
                byteIds.withUnsafeMutableBufferPointer { ids in
                    let key = { (index: Int) in UnsafeRawBufferPointer(rebasing: bytes[starts[index]..<starts[index + 1]]) }
                    byteTable.intern(count: count, ids: ids, key: key)
                }
            }
        }
    }

    func finish(groupCount: Int, pool: MemoryPool) throws -> ArrayData {
        var counts = [Int64](repeating: 0, count: groupCount)
        if groupCount > 0 { counts[0] += Int64(values.count + strings.count) }
        for key in packedPairs.keys {
            let group = group(tagged: Int(key.tag))
            if group < groupCount { counts[group] += 1 }
        }
        for id in 0..<pairs.count {
            let group = group(tagged: pairs.withKey(id) { Int($0.loadUnaligned(as: Int32.self)) })
            if group < groupCount { counts[group] += 1 }
        }
        let values = Output.fixed(Int64.self, count: groupCount, pool: pool) { out in
            for group in 0..<groupCount { out[group] = counts[group] }
        }
        return Output.array(.int64, length: groupCount, validity: nil, [values])
    }
}
