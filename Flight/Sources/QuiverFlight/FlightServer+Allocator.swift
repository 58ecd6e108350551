import CMallocTuning

extension FlightServer {
    /// Makes glibc's allocator keep large freed blocks for reuse instead of returning them to
    /// the kernel; call once at process start, before the server runs (it sets process-wide
    /// malloc options; elsewhere than glibc it does nothing and returns false).
    ///
    /// Why: every DoGet message passes through two buffers of about its size that gRPC
    /// allocates (the serialized message, then its frame), a few MiB each. With glibc's
    /// defaults those come from `mmap` or from per-thread heaps that are trimmed as soon as
    /// they are free, so each message faults in fresh zeroed pages twice, costing nearly as
    /// much CPU as the copies themselves. Kept resident, the same pages are reused message
    /// after message. The price: memory freed after a burst stays mapped (up to 1 GiB), and
    /// all threads share one arena (small blocks still go through per-thread caches).
    @discardableResult
    public static func keepLargeAllocationsResident() -> Bool {
        quiver_flight_keep_large_allocations_resident() != 0
    }
}
