import Dispatch
import Synchronization

/// Counts the heap memory Quiver allocates for buffers: the counterpart of pyarrow's
/// `pa.total_allocated_bytes()`.
///
/// Every buffer Quiver allocates (decompressed or re-aligned input, read-from-file bodies,
/// built arrays, write buffers) comes from a pool and is counted until its last view is
/// released. Memory-mapped regions and caller-provided bytes are *not* allocations and are
/// never counted; metadata objects (schemas, parsed headers) are not counted either.
///
/// Large blocks are recycled. The C allocator maps big blocks fresh and hands them back to
/// the kernel on free, so every 4 KiB page of a new block costs a page fault (and a zeroing)
/// on first write: decoding a compressed file spent about as long in those faults as in
/// decompression itself. So a freed block of at least `recycleThreshold` bytes is kept
/// (up to `retainedBytesLimit` in total) and handed out again for a request of the same size
/// class; blocks unused for `retention` are given back — as jemalloc's decay does for
/// pyarrow. Kept blocks are free memory, not counted in `totalAllocatedBytes`; see
/// `retainedBytes` and `releaseUnused()`.
public final class MemoryPool: Sendable {
    /// The pool used wherever no other is given.
    public static let `default` = MemoryPool()

    /// Blocks from this size up are recycled (smaller ones the C allocator reuses itself).
    public static let recycleThreshold = 64 << 10
    /// The most free memory a pool keeps for reuse unless told otherwise (1 GiB).
    public static let defaultRetainedBytesLimit = 1 << 30

    private let allocated = Atomic<Int>(0)
    private let peak = Atomic<Int>(0)
    private let allocations = Atomic<Int>(0)
    private let recycler: Mutex<Recycler>
    /// The most free memory kept for reuse.
    public let retainedBytesLimit: Int
    /// How long a free block is kept before it goes back to the system.
    public let retention: Duration

    /// A pool that keeps up to `retainedBytesLimit` bytes of freed large blocks for
    /// `retention` (0 turns recycling off).
    public init(retainedBytesLimit: Int = MemoryPool.defaultRetainedBytesLimit, retention: Duration = .seconds(1)) {
        self.retainedBytesLimit = max(0, retainedBytesLimit)
        self.retention = retention
        self.recycler = Mutex(Recycler())
    }

    deinit {
        for block in recycler.withLock({ $0.removeAll() }) { block.deallocate() }
    }

    /// Bytes currently allocated through this pool and still held by some buffer.
    public var totalAllocatedBytes: Int { allocated.load(ordering: .relaxed) }
    /// The highest `totalAllocatedBytes` seen since creation or `resetPeak()`.
    public var peakAllocatedBytes: Int { peak.load(ordering: .relaxed) }
    /// How many allocations were made through this pool (ever), recycled blocks included.
    public var allocationCount: Int { allocations.load(ordering: .relaxed) }
    /// Free bytes kept for reuse (not part of `totalAllocatedBytes`).
    public var retainedBytes: Int { recycler.withLock { $0.retainedBytes } }

    /// Makes the peak equal to the current total.
    public func resetPeak() { peak.store(totalAllocatedBytes, ordering: .relaxed) }

    /// Gives every block kept for reuse back to the system now (pyarrow's `release_unused`).
    public func releaseUnused() {
        for block in recycler.withLock({ $0.removeAll() }) { block.deallocate() }
    }

    /// Allocations at least this large ask for transparent huge pages.
    static let hugePageThreshold = 4 << 20

    /// Allocates `byteCount` bytes, 64-byte aligned, uninitialised except for the padding up
    /// to the next multiple of 64, which is zeroed (so writers can emit padded buffers).
    ///
    /// From 4 MiB up a fresh block asks the kernel for transparent huge pages: for a 40 MB
    /// write buffer the page faults of 4 KiB pages were most of the time spent writing
    /// (2 MiB pages make it a few dozen faults).
    public func allocate(byteCount: Int) -> HeapAllocation {
        allocate(byteCount: byteCount, headroom: 0)
    }

    /// `allocate(byteCount:)` with at least `headroom` more writable bytes after `capacity`,
    /// not counted: for decoders that run faster with room to write past the end of their
    /// output (the caller re-zeroes the padding afterwards). See `HeapAllocation.blockSize`.
    package func allocate(byteCount: Int, headroom: Int) -> HeapAllocation {
        precondition(byteCount >= 0 && headroom >= 0)
        let capacity = max(64, alignUp(byteCount, to: 64))
        let blockSize = Self.blockSize(for: capacity + headroom)
        let pointer: UnsafeMutableRawPointer
        if blockSize >= Self.recycleThreshold, let recycled = recycler.withLock({ $0.take(blockSize) }) {
            pointer = recycled.pointer
        } else {
            pointer = UnsafeMutableRawPointer.allocate(byteCount: blockSize, alignment: 64)
            if blockSize >= Self.hugePageThreshold { system_adviseHugePages(pointer, blockSize) }
        }
        (pointer + byteCount).initializeMemory(as: UInt8.self, repeating: 0, count: capacity - byteCount)
        didAllocate(capacity)
        return HeapAllocation(pointer: pointer, capacity: capacity, blockSize: blockSize, pool: self)
    }

    /// Allocates `byteCount` zeroed bytes, 64-byte aligned.
    public func allocateZeroed(byteCount: Int) -> HeapAllocation {
        let allocation = allocate(byteCount: byteCount)
        allocation.pointer.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
        return allocation
    }

    /// The size actually allocated for `capacity` bytes: below the recycling threshold the
    /// same, above it rounded up to one of eight classes per power of two (at most 12.5%
    /// more), so blocks of slightly different sizes (the same column in successive batches)
    /// can take each other's place.
    static func blockSize(for capacity: Int) -> Int {
        guard capacity >= recycleThreshold else { return capacity }
        let leadingPower = Int.bitWidth - 1 - capacity.leadingZeroBitCount
        return alignUp(capacity, to: 1 << (leadingPower - 3))
    }

    private func didAllocate(_ bytes: Int) {
        allocations.add(1, ordering: .relaxed)
        let now = allocated.add(bytes, ordering: .relaxed).newValue
        var seen = peak.load(ordering: .relaxed)
        while now > seen {
            let (exchanged, original) = peak.compareExchange(
                expected: seen, desired: now, ordering: .relaxed)
            if exchanged { break }
            seen = original
        }
    }

    /// Called by the last owner of a block: uncounts it, then keeps it for reuse or frees it.
    fileprivate func free(_ pointer: UnsafeMutableRawPointer, capacity: Int, blockSize: Int) {
        allocated.subtract(capacity, ordering: .relaxed)
        guard blockSize >= Self.recycleThreshold, retention > .zero else { return pointer.deallocate() }
        let now = ContinuousClock.now
        let block = FreeBlock(pointer: pointer)
        let (kept, schedule) = recycler.withLock { recycler in
            recycler.keep(block, blockSize: blockSize, at: now, limit: retainedBytesLimit)
        }
        if !kept { pointer.deallocate() }
        if schedule { schedulePurge(after: retention) }
    }

    /// Frees the blocks unused for `retention`, and comes back later while any are left.
    private func schedulePurge(after delay: Duration) {
        let (seconds, attoseconds) = delay.components
        let nanoseconds = Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000) + 1_000_000
        DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) {
            [weak self] in self?.purge()
        }
    }

    private func purge() {
        let cutoff = ContinuousClock.now - retention
        let (expired, oldest) = recycler.withLock { $0.removeExpired(before: cutoff) }
        for block in expired { block.deallocate() }
        if let oldest { schedulePurge(after: max(oldest - cutoff, .milliseconds(10))) }
    }
}

/// A free block a pool keeps (only the pool touches it, under its lock).
private struct FreeBlock: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    func deallocate() { pointer.deallocate() }
}

/// The free blocks a pool keeps: a LIFO stack per block size (the most recently freed block
/// is the most likely to be in cache), each block stamped with when it was freed.
private struct Recycler: ~Copyable {
    private var stacks: [Int: [(block: FreeBlock, freed: ContinuousClock.Instant)]] = [:]
    private(set) var retainedBytes = 0
    /// Whether a purge is pending (one at a time, only while blocks are kept).
    private var purgeScheduled = false

    mutating func take(_ blockSize: Int) -> FreeBlock? {
        guard let kept = stacks[blockSize]?.popLast() else { return nil }
        retainedBytes -= blockSize
        return kept.block
    }

    /// Keeps a block unless that would pass `limit`; returns whether it was kept and whether
    /// the caller must schedule a purge.
    mutating func keep(
        _ block: FreeBlock, blockSize: Int, at now: ContinuousClock.Instant, limit: Int
    ) -> (kept: Bool, schedule: Bool) {
        guard blockSize <= limit - retainedBytes else { return (false, false) }
        stacks[blockSize, default: []].append((block, now))
        retainedBytes += blockSize
        let schedule = !purgeScheduled
        purgeScheduled = true
        return (true, schedule)
    }

    /// Removes the blocks freed before `cutoff`; returns them and when the oldest block
    /// left was freed (nil when none is left, which ends the purging).
    mutating func removeExpired(before cutoff: ContinuousClock.Instant)
        -> (expired: [FreeBlock], oldest: ContinuousClock.Instant?)
    {
        var expired: [FreeBlock] = []
        var oldest: ContinuousClock.Instant?
        for (size, stack) in stacks {
            // Stacks are in order of freeing: the expired blocks are a prefix.
            let count = stack.prefix { $0.freed < cutoff }.count
            if count > 0 {
                expired += stack.prefix(count).map(\.block)
                retainedBytes -= count * size
                stacks[size] = count == stack.count ? nil : Array(stack.dropFirst(count))
            }
            if count < stack.count, let first = stack.dropFirst(count).first?.freed {
                oldest = min(oldest ?? first, first)
            }
        }
        purgeScheduled = oldest != nil
        return (expired, oldest)
    }

    mutating func removeAll() -> [FreeBlock] {
        let all = stacks.values.flatMap { $0.map(\.block) }
        stacks = [:]
        retainedBytes = 0
        return all
    }
}

/// A 64-byte-aligned heap allocation counted by a `MemoryPool`; freed (and uncounted) when
/// the last buffer viewing it is released.
///
/// Mutable only until it is first wrapped in a `Buffer`: whoever allocates it fills it, then
/// hands out immutable views.
public final class HeapAllocation: BufferOwner, @unchecked Sendable {
    /// The first byte (64-byte aligned).
    @usableFromInline package let pointer: UnsafeMutableRawPointer
    /// Usable bytes: the requested size rounded up to a multiple of 64.
    public let capacity: Int
    /// The size of the block underneath (`capacity` or more: recycled size classes, headroom).
    package let blockSize: Int
    private let pool: MemoryPool

    fileprivate init(pointer: UnsafeMutableRawPointer, capacity: Int, blockSize: Int, pool: MemoryPool) {
        self.pointer = pointer
        self.capacity = capacity
        self.blockSize = blockSize
        self.pool = pool
    }

    deinit {
        pool.free(pointer, capacity: capacity, blockSize: blockSize)
    }

    /// An immutable view of the first `count` bytes.
    public func buffer(count: Int) -> Buffer {
        precondition(count >= 0 && count <= capacity)
        return Buffer(owner: self, baseAddress: UnsafeRawPointer(pointer), count: count)
    }
}

/// Bytes owned by someone else, released by a closure the owner supplies
/// (e.g. to keep a `Data` or a C library's allocation alive). Never counted as allocated.
public final class ForeignBytes: BufferOwner, @unchecked Sendable {
    private let release: @Sendable () -> Void
    /// Adopts bytes; `release` runs when the last buffer viewing them is gone.
    public init(release: @escaping @Sendable () -> Void) { self.release = release }
    deinit { release() }
}

extension HeapAllocation {
    /// Calls `body` with the allocation's `capacity` bytes to fill them (before the first
    /// `buffer(count:)` hands out views); the pointer must not escape `body`.
    public func withUnsafeMutableBytes<R, E: Error>(_ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws(E) -> R {
        defer { withExtendedLifetime(self) {} }
        return try body(UnsafeMutableRawBufferPointer(start: pointer, count: capacity))
    }
}
