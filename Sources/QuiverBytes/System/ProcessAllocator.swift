import CQuiverMalloc

/// The process's heap policy for the large, short-lived blocks a query or a stream allocates.
public enum ProcessAllocator {
    /// Makes glibc's allocator keep large freed blocks for reuse instead of returning them to
    /// the kernel; call once at process start, before other threads allocate (it sets
    /// process-wide malloc options; elsewhere than glibc it does nothing and returns false).
    /// The `quiver` command and `quiver-flight` call it; a service embedding Quiver should too.
    ///
    /// Why: a query over many groups builds per-batch hash tables and accumulators of several
    /// MiB each, grows them by doubling, and frees them within the query; a Flight stream
    /// passes each message through buffers of its size. With glibc's defaults, blocks over
    /// 128 KiB come from `mmap`, or from per-thread heaps trimmed as soon as their top is free,
    /// so each one faults in fresh zeroed pages: about half the CPU of a query grouping by a
    /// unique key went to the kernel zeroing pages. Kept resident, the same pages are reused
    /// block after block and query after query (figures in BENCHMARKS.md).
    ///
    /// The price: memory freed after a burst stays mapped (up to 1 GiB), and all threads share
    /// one arena (small blocks still go through per-thread caches).
    @discardableResult
    public static func keepLargeAllocationsResident() -> Bool {
        quiver_keep_large_allocations_resident() != 0
    }
}
