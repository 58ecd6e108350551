import Synchronization

/// Counts the heap memory Quiver allocates for buffers: the counterpart of pyarrow's
/// `pa.total_allocated_bytes()`.
///
/// Every buffer Quiver allocates (decompressed or re-aligned input, read-from-file bodies,
/// built arrays, write buffers) comes from a pool and is counted until its last view is
/// released. Memory-mapped regions and caller-provided bytes are *not* allocations and are
/// never counted; metadata objects (schemas, parsed headers) are not counted either.
public final class MemoryPool: Sendable {
    /// The pool used wherever no other is given.
    public static let `default` = MemoryPool()

    private let allocated = Atomic<Int>(0)
    private let peak = Atomic<Int>(0)
    private let allocations = Atomic<Int>(0)

    public init() {}

    /// Bytes currently allocated through this pool and still held by some buffer.
    public var totalAllocatedBytes: Int { allocated.load(ordering: .relaxed) }
    /// The highest `totalAllocatedBytes` seen since creation or `resetPeak()`.
    public var peakAllocatedBytes: Int { peak.load(ordering: .relaxed) }
    /// How many allocations were made through this pool (ever).
    public var allocationCount: Int { allocations.load(ordering: .relaxed) }

    /// Makes the peak equal to the current total.
    public func resetPeak() { peak.store(totalAllocatedBytes, ordering: .relaxed) }

    /// Allocations at least this large ask for transparent huge pages.
    static let hugePageThreshold = 4 << 20

    /// Allocates `byteCount` bytes, 64-byte aligned, uninitialised except for the padding up
    /// to the next multiple of 64, which is zeroed (so writers can emit padded buffers).
    ///
    /// From 4 MiB up the allocation asks the kernel for transparent huge pages: the C
    /// allocator maps such blocks fresh each time and returns them on free, so every 4 KiB
    /// page would otherwise cost a fault on first write — for a 40 MB write buffer, most of
    /// the time spent writing (2 MiB pages make it a few dozen faults).
    public func allocate(byteCount: Int) -> HeapAllocation {
        precondition(byteCount >= 0)
        let capacity = max(64, alignUp(byteCount, to: 64))
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
        if capacity >= Self.hugePageThreshold { system_adviseHugePages(pointer, capacity) }
        (pointer + byteCount).initializeMemory(as: UInt8.self, repeating: 0, count: capacity - byteCount)
        didAllocate(capacity)
        return HeapAllocation(pointer: pointer, capacity: capacity, pool: self)
    }

    /// Allocates `byteCount` zeroed bytes, 64-byte aligned.
    public func allocateZeroed(byteCount: Int) -> HeapAllocation {
        let allocation = allocate(byteCount: byteCount)
        allocation.pointer.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
        return allocation
    }

    fileprivate func didAllocate(_ bytes: Int) {
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

    fileprivate func didFree(_ bytes: Int) {
        allocated.subtract(bytes, ordering: .relaxed)
    }
}

/// A 64-byte-aligned heap allocation counted by a `MemoryPool`; freed (and uncounted) when
/// the last buffer viewing it is released.
///
/// Mutable only until it is first wrapped in a `Buffer`: whoever allocates it fills it, then
/// hands out immutable views.
public final class HeapAllocation: BufferOwner, @unchecked Sendable {
    /// The first byte (64-byte aligned).
    public let pointer: UnsafeMutableRawPointer
    /// Usable bytes: the requested size rounded up to a multiple of 64.
    public let capacity: Int
    private let pool: MemoryPool

    fileprivate init(pointer: UnsafeMutableRawPointer, capacity: Int, pool: MemoryPool) {
        self.pointer = pointer
        self.capacity = capacity
        self.pool = pool
    }

    deinit {
        pointer.deallocate()
        pool.didFree(capacity)
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
