import Dispatch
import Synchronization
import QuiverArrow
import QuiverBytes

/// How a `PlannedScan` drives I/O: how far ahead of the scan it asks for bytes, and whether
/// it gives back the pages it brought in.
public struct ScanIOPolicy: Sendable, Hashable {
    /// How the bytes ahead of the scan are requested.
    public enum Prefetch: Sendable, Hashable {
        /// `MADV_WILLNEED` on exactly the needed ranges of the mapping: the kernel reads them
        /// into the page cache in the background, the batches stay zero-copy views.
        case willNeed
        /// No requests ahead: each page is read when first touched (one page per fault,
        /// since the mapping is advised `MADV_RANDOM` while the scan runs).
        case none
    }

    /// Bytes of needed ranges (projected columns, not whole batches) requested from disk ahead
    /// of the batch being read; resident ranges are not requested and do not count. At least
    /// the next batch is always requested.
    public var readAhead: Int
    /// How the window is requested.
    public var prefetch: Prefetch
    /// How many background threads may request the window at once: each request allocates
    /// and queues its pages on the calling thread, so one thread can fall behind the disk.
    public var planners: Int
    /// Whether the pages a batch needed that were not resident when it was planned are
    /// unmapped (`MADV_DONTNEED`) once the last view of that batch goes, so the kernel can
    /// reclaim them first. Pages that were resident already are left alone: data that was
    /// warm stays warm.
    public var releaseBehind: Bool
    /// With `releaseBehind`, how many bytes of the scan's needed ranges may stay in the page
    /// cache after it. If the scan needs more, only a share of its batches, spread evenly
    /// over it and the same every run, is read into the cache; the others are read past it
    /// (`O_DIRECT` into memory of their own, which costs the kernel far less than cache
    /// pages), or where the file system cannot, read into it and evicted once used
    /// (`POSIX_FADV_DONTNEED`). So a scan larger than memory never makes the kernel reclaim,
    /// and leaves cached a set of batches that the next scan finds and keeps — where LRU
    /// would leave the tail of the scan, which the next scan's own reads evict before they
    /// get there. nil: what `MemoryUsage.cacheableBytes()` reports (read at most once a second;
    /// not at all for a scan of at most 16 MiB of batches) when the scan starts, less
    /// room for the window, the bodies read past the cache and the batches being read
    /// (`3 × readAhead + 128 MiB`; with less, a 1 GiB group still hit its limit).
    public var cacheBudget: Int?

    /// A policy; see the properties.
    public init(
        readAhead: Int = 64 << 20, prefetch: Prefetch = .willNeed, planners: Int = 4, releaseBehind: Bool = true,
        cacheBudget: Int? = nil
    ) {
        self.readAhead = max(0, readAhead)
        self.planners = max(1, planners)
        self.prefetch = prefetch
        self.releaseBehind = releaseBehind
        self.cacheBudget = cacheBudget.map { max(0, $0) }
    }

    /// 64 MiB ahead with `MADV_WILLNEED` from up to 4 threads, release behind, cache what
    /// memory allows.
    public static let `default` = ScanIOPolicy()
}

/// One scan's reads over record batches of memory-mapped Arrow files, planned so that only
/// the bytes the scan needs are read from disk — the query engine's I/O path.
///
/// ```
///  batches, in scan order:  b0   b1   b2   b3   b4   b5 …
///                           ^read      ^---- window: the projected columns' buffer ranges
///                                            of the next batches not resident (as mincore
///                                            tells), readAhead bytes of them, requested with
///                                            MADV_WILLNEED by background threads; their
///                                            metadata a stretch earlier
///  mapping advice while a scan runs: MADV_RANDOM (no read-around on faults: the kernel's
///  8 MB window would pull in every column); the descriptor's metadata preads: FADV_RANDOM
///  behind the scan: pages brought in for a batch are unmapped when its last view goes
///  larger than the cache budget: only the batches it keeps are read into the cache; the
///  others are read with O_DIRECT by the same threads, in the window's turn
/// ```
///
/// Batches are still views into the mapping (zero-copy; warm data costs nothing extra but
/// one `mincore` per range). Positions may be read from several threads in any order; the
/// window follows the furthest position asked for. Inputs that are not mapped are read as
/// `recordBatch(at:columns:)` reads them.
public final class PlannedScan: Sendable {
    /// One batch of the scan: which reader, which of its batches.
    public struct Step: Sendable {
        /// The file's reader (memory-mapped for the plan to apply).
        public let reader: FileReader
        /// The batch's index in that file.
        public let batch: Int
        /// A step reading `batch` of `reader`.
        public init(reader: FileReader, batch: Int) {
            self.reader = reader
            self.batch = batch
        }
    }

    /// The batches, in scan order.
    public let steps: [Step]
    /// The top-level columns read from each.
    public let columns: [Int]
    /// The policy.
    public let policy: ScanIOPolicy
    private let state: Mutex<State>
    /// The mappings the scan advised, to restore when it ends.
    private let mappings: [MappedFile]
    /// Bytes of needed ranges that may stay cached (see `ScanIOPolicy.cacheBudget`).
    private let cacheBudget: Int
    /// Per position, the bytes of its batch's message; and of all of them.
    private let messageBytes: [Int]
    private let totalMessageBytes: Int

    private struct State {
        /// Positions below this have been claimed by a thread that requests their ranges.
        var claimed = 0
        /// Positions below this have had their metadata requested.
        var metadataRequested = 0
        /// The furthest position a batch was asked for.
        var furthest = -1
        /// How many background planners are running.
        var planners = 0
        /// Per position, once its request is done: the bytes of its needed ranges that were
        /// resident, and those it requested.
        var planned: [(resident: Int, requested: Int)?]
        /// Per position, the page spans requested for it (not resident when planned): unmapped
        /// when the last view of its batch goes, and then evicted from the cache if `evict`.
        var release: [Int: (spans: [Range<Int>], evict: Bool)] = [:]
        /// Positions read past the page cache, until their batch is read.
        var direct: [Int: DirectRead] = [:]
        /// The share of the batches the budget lets stay cached, from the first one planned.
        var keepShare: Double?
    }

    /// Plans a scan of `steps` (in that order) reading `columns` of each. Advises every mapped
    /// file involved `MADV_RANDOM` until the last scan of it ends. Reads nothing yet.
    /// O(steps), plus one `madvise` per mapped file.
    public init(_ steps: [Step], columns: [Int], policy: ScanIOPolicy = .default) {
        self.steps = steps
        self.columns = columns
        self.policy = policy
        state = Mutex(State(planned: Array(repeating: nil, count: steps.count)))
        var seen = Set<ObjectIdentifier>()
        var mappings: [MappedFile] = []
        for step in steps {
            guard let file = step.reader.mappedFile, seen.insert(ObjectIdentifier(step.reader)).inserted else { continue }
            (step.reader.input as? MappedFileInput)?.adviseDescriptor(.random)
            if !mappings.contains(where: { $0 === file }) { mappings.append(file) }
        }
        self.mappings = mappings
        messageBytes = steps.map { $0.reader.recordBatchByteRange(at: $0.batch)?.count ?? 0 }
        totalMessageBytes = messageBytes.reduce(0, +)
        let room = 3 * policy.readAhead + (128 << 20)
        // A scan of a few batches cannot strain memory: it skips reading the memory figures.
        let measured = totalMessageBytes <= 16 << 20 ? nil : Self.cacheableBytes().map { $0 - room }
        // At most 2^60: the budget's share of the scan is computed in floating point.
        cacheBudget = max(0, min(1 << 60, policy.cacheBudget ?? measured ?? .max))
        for file in mappings where file.fact(ActiveScans.key, make: ActiveScans.init).begin() {
            try? file.advise(.random)
        }
    }

    deinit {
        // Batches whose last view went before their request was recorded.
        for position in state.withLock({ Array($0.release.keys) }) {
            if let file = steps[position].reader.mappedFile { release(position, in: file) }
        }
        for file in mappings where file.fact(ActiveScans.key, make: ActiveScans.init).end() {
            try? file.advise(.normal)
        }
    }

    /// The batch at `position` of the scan (`steps[position]`), with `columns` (in that
    /// order). First extends the window of requested bytes past `position`. Throws
    /// `invalidArgument` for a position outside the scan, and whatever reading the batch throws.
    /// Costs what `FileReader.recordBatch(at:columns:)` does, plus one metadata read per batch the
    /// window newly covers.
    public func recordBatch(at position: Int) throws -> RecordBatch {
        guard steps.indices.contains(position) else {
            throw QuiverError(.invalidArgument, "position \(position) of a scan of \(steps.count) batches")
        }
        plan(through: position)
        let step = steps[position]
        if let read = state.withLock({ $0.direct.removeValue(forKey: position) }), let body = read.wait() {
            return try step.reader.recordBatch(at: step.batch, columns: columns) { mapped in
                mapped.count == body.count ? body : mapped
            }
        }
        guard policy.releaseBehind, let file = step.reader.mappedFile else {
            return try step.reader.recordBatch(at: step.batch, columns: columns)
        }
        return try step.reader.recordBatch(at: step.batch, columns: columns) { body in
            Buffer(owner: ReleasedPages(scan: self, file: file, position: position), baseAddress: body.baseAddress,
                   count: body.count)
        }
    }

    /// Requests every position up to `position` (on this thread: the batch is about to be
    /// read), then has a background thread request more until `readAhead` bytes past the
    /// furthest position read are: submitting a request blocks while the device's queue is
    /// full, and no worker should wait for that. Threads claim positions under the lock and
    /// request them outside it.
    private func plan(through position: Int) {
        while let next = state.withLock({ state -> Int? in
            guard state.claimed <= position, state.claimed < steps.count else { return nil }
            state.claimed += 1
            return state.claimed - 1
        }) {
            request(position: next)
        }
        // Claimed by the background planner but not requested yet: request it here too (a
        // repeated request finds the pages in the cache or on their way, and costs no I/O).
        if state.withLock({ $0.planned[position] == nil }) { request(position: position) }
        guard policy.prefetch == .willNeed else { return }
        let start = state.withLock { state -> Bool in
            state.furthest = max(state.furthest, position)
            guard state.planners < policy.planners, claimAhead(&state, commit: false) != nil else { return false }
            state.planners += 1
            return true
        }
        if start { DispatchQueue.global(qos: .userInitiated).async { self.planAhead() } }
    }

    /// A background planner: claims and requests positions until the window is full.
    private func planAhead() {
        while let next = state.withLock({ state -> Int? in
            if let next = claimAhead(&state, commit: true) { return next }
            state.planners -= 1
            return nil
        }) {
            request(position: next)
        }
    }

    /// The next position to request ahead of the furthest one read, if fewer than `readAhead`
    /// bytes past it are requested from disk (resident ranges cost none: a warm stretch of
    /// the scan does not hold back the reads after it; positions claimed but not done count
    /// as the last size known) and fewer than 256 positions are claimed past it; with
    /// `commit`, claimed.
    private func claimAhead(_ state: inout State, commit: Bool) -> Int? {
        guard state.claimed < steps.count, state.claimed - state.furthest <= 256 else { return nil }
        var known = 0
        var ahead = 0
        for index in max(0, state.furthest + 1)..<max(state.claimed, state.furthest + 1) {
            known = state.planned[index]?.requested ?? known
            ahead += known
        }
        guard ahead < policy.readAhead else { return nil }
        if commit { state.claimed += 1 }
        return state.claimed - (commit ? 1 : 0)
    }

    /// Requests position `position`'s ranges (and the metadata of the stretch ahead of it)
    /// and records what it needs. Ranges resident already are left alone. The others, for a
    /// batch the cache budget keeps, are requested into the page cache (`MADV_WILLNEED`);
    /// for one it does not, read past the cache into memory of their own (`O_DIRECT`, on
    /// this thread) where the file allows it, else requested and evicted once used.
    private func request(position: Int) {
        requestMetadata(for: position)
        let step = steps[position]
        // A scan of no columns (`count(*)`) reads only metadata: nothing to plan, and the
        // batch's read decodes its metadata anyway.
        guard !columns.isEmpty, let file = step.reader.mappedFile,
            let ranges = try? step.reader.bodyRanges(ofBatch: step.batch, columns: columns)
        else {
            // A batch whose metadata is bad is left for the read to report.
            state.withLock { state in if state.planned[position] == nil { state.planned[position] = (0, 0) } }
            return
        }
        // Page by page: a range partly in the cache requests (and later releases) only the
        // pages it lacks, so a warm page is never unmapped for a cold neighbour's sake.
        var resident = 0
        var missing: [Range<Int>] = []
        for range in ranges {
            let gaps = (try? file.nonResidentRanges(in: range)) ?? []
            missing += gaps
            resident += range.count - gaps.reduce(0) { $0 + $1.count }
        }
        let requested = missing.reduce(0) { $0 + $1.count }
        let plan = state.withLock { state -> Plan in
            let share = state.keepShare ?? keepShare(neededBytes: resident + requested, position: position)
            state.keepShare = share
            // Requested twice (see `plan(through:)`): the first's figures stand.
            guard state.planned[position] == nil else { return .none }
            let keep = share >= 1 || (Double(position + 1) * share).rounded(.down) > (Double(position) * share).rounded(.down)
            guard !keep, resident == 0, !missing.isEmpty, policy.releaseBehind, policy.prefetch == .willNeed
            else { return .cache(evict: !keep) }
            let read = DirectRead()
            state.direct[position] = read
            state.planned[position] = (0, requested)
            return .direct(read)
        }
        switch plan {
        case .none:
            return
        case .direct(let read):
            let body = step.reader.recordBatchBodyRange(at: step.batch).flatMap {
                file.readDirect(missing, span: $0, pool: Self.directPool)
            }
            if body == nil { requestIntoCache(missing, of: position, in: file, resident: 0, evict: true) }
            read.finish(body)
        case .cache(let evict):
            requestIntoCache(missing, of: position, in: file, resident: resident, evict: evict)
        }
    }

    /// How one position's missing ranges are read.
    private enum Plan {
        /// Not at all: another thread has requested them.
        case none
        /// Past the page cache, into memory of their own.
        case direct(DirectRead)
        /// Into the page cache; with `evict`, to leave it once used.
        case cache(evict: Bool)
    }

    /// Requests `missing` into the page cache and records the position's figures; with
    /// `evict`, its pages leave the cache once its batch is used.
    private func requestIntoCache(_ missing: [Range<Int>], of position: Int, in file: MappedFile, resident: Int, evict: Bool) {
        if policy.prefetch == .willNeed { for range in missing { try? file.advise(.willNeed, range) } }
        state.withLock { state in
            if state.planned[position] == nil { state.planned[position] = (resident, missing.reduce(0) { $0 + $1.count }) }
            if !missing.isEmpty, state.release[position] == nil { state.release[position] = (missing, evict) }
        }
    }

    /// The share of the scan's batches that may stay cached: the budget over the scan's needed
    /// bytes, estimated from one batch's (its needed bytes per message byte, times all the
    /// messages). Batches `p` with `⌊(p + 1) × share⌋ > ⌊p × share⌋` stay: spread evenly over
    /// the scan, and the same ones run after run. So the next scan, finding a cached batch
    /// between two it must read, works on it while the disk reads them.
    private func keepShare(neededBytes: Int, position: Int) -> Double {
        guard neededBytes > 0, messageBytes[position] > 0 else { return 1 }
        let scanBytes = Double(neededBytes) / Double(messageBytes[position]) * Double(totalMessageBytes)
        return Double(cacheBudget) / scanBytes
    }

    /// `MemoryUsage.cacheableBytes()`, read at most once a second: it reads a few files
    /// (~50 µs), too much to add to every query of an in-memory benchmark.
    private static func cacheableBytes() -> Int? {
        let now = ContinuousClock.now
        if let (time, bytes) = recentCacheableBytes.withLock({ $0 }), now - time < .seconds(1) { return bytes }
        guard let bytes = try? MemoryUsage.cacheableBytes() else { return nil }
        recentCacheableBytes.withLock { $0 = (now, bytes) }
        return bytes
    }

    /// Where bodies read past the page cache go: a scan under memory pressure reads them, so
    /// the free blocks kept for reuse are bounded well below the default pool's 1 GiB.
    private static let directPool = MemoryPool(retainedBytesLimit: 32 << 20)

    /// The last `cacheableBytes()` and when it was read.
    private static let recentCacheableBytes = Mutex<(ContinuousClock.Instant, Int)?>(nil)

    /// Planning a position reads its metadata (a `pread`): cold, that read would wait behind
    /// the body ranges already requested. So the metadata of the positions ahead is requested
    /// (`MADV_WILLNEED`, a page or two each) well before they are planned, a stretch at a time.
    private func requestMetadata(for position: Int) {
        let stretch = 64
        guard let range = state.withLock({ state -> Range<Int>? in
            guard state.metadataRequested < min(steps.count, position + stretch) else { return nil }
            let range = state.metadataRequested..<min(steps.count, position + 2 * stretch)
            state.metadataRequested = range.upperBound
            return range
        }) else { return }
        for step in steps[range] {
            guard let file = step.reader.mappedFile, let metadata = step.reader.recordBatchMetadataRange(at: step.batch)
            else { continue }
            try? file.advise(.willNeed, metadata)
        }
    }

    /// Unmaps the pages requested for `position` (called when its batch's last view goes) and
    /// evicts from the cache those past the budget.
    fileprivate func release(_ position: Int, in file: MappedFile) {
        guard let (spans, evict) = state.withLock({ $0.release.removeValue(forKey: position) }) else { return }
        for span in spans { try? file.advise(.dontNeed, span) }
        guard evict else { return }
        for span in spans { file.evictFromCache(span) }
    }
}

/// A batch body being read past the page cache by one thread, waited for by the one that
/// reads the batch.
private final class DirectRead: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    /// Written once, before `done` is signalled.
    private var body: Buffer?

    /// Hands over the body (nil: the read failed, read through the mapping).
    func finish(_ body: Buffer?) {
        self.body = body
        done.signal()
    }

    /// Blocks until `finish`, then returns what it handed over.
    func wait() -> Buffer? {
        done.wait()
        defer { done.signal() }
        return body
    }
}

/// The owner of a batch body read through a `PlannedScan`: keeps the mapping alive, and when
/// the last view of the body goes, has the scan unmap the pages it requested for the batch. A
/// later touch reads them back (from the page cache if they are still there).
private final class ReleasedPages: BufferOwner, @unchecked Sendable {
    let scan: PlannedScan
    let file: MappedFile
    let position: Int

    init(scan: PlannedScan, file: MappedFile, position: Int) {
        self.scan = scan
        self.file = file
        self.position = position
    }

    deinit { scan.release(position, in: file) }
}

/// How many planned scans of one mapping are running: the first sets `MADV_RANDOM`, the last
/// restores the default.
private final class ActiveScans: Sendable {
    static let key = "quiver.plannedScans"
    private let count = Mutex(0)

    /// Counts a scan in; true if it is the only one.
    func begin() -> Bool { count.withLock { $0 += 1; return $0 == 1 } }
    /// Counts a scan out; true if none is left.
    func end() -> Bool { count.withLock { $0 -= 1; return $0 == 0 } }
}
