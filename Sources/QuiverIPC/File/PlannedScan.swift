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

    /// Bytes of needed ranges (projected columns, not whole batches) requested ahead of the
    /// batch being read. At least the next batch is always requested.
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

    /// A policy; see the properties.
    public init(readAhead: Int = 64 << 20, prefetch: Prefetch = .willNeed, planners: Int = 4, releaseBehind: Bool = true) {
        self.readAhead = max(0, readAhead)
        self.planners = max(1, planners)
        self.prefetch = prefetch
        self.releaseBehind = releaseBehind
    }

    /// 64 MiB ahead with `MADV_WILLNEED` from up to 4 threads, release behind.
    public static let `default` = ScanIOPolicy()
}

/// One scan's reads over record batches of memory-mapped Arrow files, planned so that only
/// the bytes the scan needs are read from disk — the query engine's I/O path.
///
/// ```
///  batches, in scan order:  b0   b1   b2   b3   b4   b5 …
///                           ^read      ^---- window: the projected columns' buffer ranges
///                                            of the next batches, readAhead bytes of them,
///                                            requested with MADV_WILLNEED by a background
///                                            thread (resident ranges, as mincore tells, are
///                                            not requested); their metadata a stretch earlier
///  mapping advice while a scan runs: MADV_RANDOM (no read-around on faults: the kernel's
///  8 MB window would pull in every column); the descriptor's metadata preads: FADV_RANDOM
///  behind the scan: pages brought in for a batch are unmapped when its last view goes
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

    private struct State {
        /// Positions below this have been claimed by a thread that requests their ranges.
        var claimed = 0
        /// Positions below this have had their metadata requested.
        var metadataRequested = 0
        /// The furthest position a batch was asked for.
        var furthest = -1
        /// How many background planners are running.
        var planners = 0
        /// Per position, the bytes it needs, once its request is done.
        var neededBytes: [Int?]
        /// Per position, the page spans requested for it (not resident when planned): released
        /// when the last view of its batch goes.
        var release: [Int: [Range<Int>]] = [:]
    }

    /// Plans a scan of `steps` (in that order) reading `columns` of each. Advises every mapped
    /// file involved `MADV_RANDOM` until the last scan of it ends. Reads nothing yet.
    /// O(steps), plus one `madvise` per mapped file.
    public init(_ steps: [Step], columns: [Int], policy: ScanIOPolicy = .default) {
        self.steps = steps
        self.columns = columns
        self.policy = policy
        state = Mutex(State(neededBytes: Array(repeating: nil, count: steps.count)))
        var seen = Set<ObjectIdentifier>()
        var mappings: [MappedFile] = []
        for step in steps {
            guard let file = step.reader.mappedFile, seen.insert(ObjectIdentifier(step.reader)).inserted else { continue }
            (step.reader.input as? MappedFileInput)?.adviseDescriptor(.random)
            if !mappings.contains(where: { $0 === file }) { mappings.append(file) }
        }
        self.mappings = mappings
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
        if state.withLock({ $0.neededBytes[position] == nil }) { request(position: position) }
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
    /// bytes are requested past it (positions claimed but not done count as the last size
    /// known); with `commit`, claimed.
    private func claimAhead(_ state: inout State, commit: Bool) -> Int? {
        guard state.claimed < steps.count else { return nil }
        var known = 0
        var ahead = 0
        for index in max(0, state.furthest + 1)..<max(state.claimed, state.furthest + 1) {
            known = state.neededBytes[index] ?? known
            ahead += known
        }
        guard ahead < policy.readAhead else { return nil }
        if commit { state.claimed += 1 }
        return state.claimed - (commit ? 1 : 0)
    }

    /// Requests position `position`'s ranges (and the metadata of the stretch ahead of it)
    /// and records what it needs.
    private func request(position: Int) {
        requestMetadata(for: position)
        let (bytes, requested) = request(steps[position])
        state.withLock { state in
            state.neededBytes[position] = bytes
            if !requested.isEmpty { state.release[position] = requested }
        }
    }

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

    /// Unmaps the pages requested for `position` (called when its batch's last view goes).
    fileprivate func release(_ position: Int, in file: MappedFile) {
        guard let spans = state.withLock({ $0.release.removeValue(forKey: position) }) else { return }
        for span in spans { try? file.advise(.dontNeed, span) }
    }

    /// Requests one step's ranges that are not resident; returns the bytes it needs and the
    /// ranges requested. Advice is only advice: a failing call changes nothing read, and a
    /// batch whose metadata is bad is left for the read to report.
    private func request(_ step: Step) -> (bytes: Int, requested: [Range<Int>]) {
        guard let file = step.reader.mappedFile,
            let ranges = try? step.reader.bodyRanges(ofBatch: step.batch, columns: columns)
        else { return (0, []) }
        var requested: [Range<Int>] = []
        var bytes = 0
        for range in ranges {
            bytes += range.count
            guard let resident = try? file.residentBytes(in: range), resident < range.count else { continue }
            if policy.prefetch == .willNeed { try? file.advise(.willNeed, range) }
            requested.append(range)
        }
        return (bytes, requested)
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
