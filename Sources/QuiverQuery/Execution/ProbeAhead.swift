import CQuiverIntrinsics

/// Staged requests ahead of a run of hash probes in a table past the caches, where each
/// probe waits on a chain of dependent loads (a slot, then what the slot names, …).
///
/// For probe `local` of a run of `count`, calls `stage(k, local + k × distance)` for `k` from
/// `stages` down to 1, for the rows still in the run: the first load of a chain is requested
/// furthest ahead, and each later one once the load before it has had `distance` probes'
/// time to arrive.
@inline(__always)
func requestAhead(_ local: Int, count: Int, distance: Int, stages: Int, _ stage: (_ stage: Int, _ row: Int) -> Void) {
    var k = stages
    while k >= 1 {
        let row = local + k * distance
        if row < count { stage(k, row) }
        k -= 1
    }
}

/// Asks the cache to start loading the line at `address`; never faults.
@inline(__always)
func requestCacheLine(_ address: UnsafeRawPointer) {
    quiver_prefetch_read(address)
}
