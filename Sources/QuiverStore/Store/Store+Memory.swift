import QuiverBytes

/// A store's memory, as a service reports it: what Quiver allocated, what its mappings hold
/// resident, and the process's resident set. The three are different questions; never add them.
public struct StoreMemory: Sendable, Hashable {
    /// Heap bytes held through the pool (`MemoryPool.totalAllocatedBytes`).
    public var allocatedBytes: Int
    /// Bytes mapped by every mapping Quiver holds (snapshots, readers, `MappingCache`).
    public var mappedBytes: Int
    /// Of those, bytes resident in this process (`/proc/self/smaps`).
    public var mappedResidentBytes: Int
    /// The process's resident set (`/proc/self/statm`).
    public var residentSetBytes: Int
}

extension Store {
    /// The memory figures of `StoreMemory`. Reads smaps once (tens of KiB): for a metrics
    /// endpoint, not a hot path. Mappings are counted process-wide: every store and reader
    /// in the process shares them. Linux only (`.unsupported` elsewhere).
    public func memoryUsage(pool: MemoryPool = .default) throws -> StoreMemory {
        StoreMemory(
            allocatedBytes: pool.totalAllocatedBytes, mappedBytes: MemoryUsage.mappedBytes,
            mappedResidentBytes: try MemoryUsage.mappedResidentBytes(), residentSetBytes: try MemoryUsage.residentSetBytes())
    }
}
