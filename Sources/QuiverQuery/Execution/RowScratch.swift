import QuiverBytes
import Synchronization

/// Per-row `Int32` work arrays (group ids, key codes) handed from batch to batch instead of
/// allocated afresh: a new 256 KiB array per batch costs a page fault per 4 KiB page (the C
/// allocator maps arrays that size fresh and unmaps them on free), and in TPC-H Q1 those
/// faults were a fifth of the time.
///
/// Arrays are kept per thread, so a batch's arrays are the ones its core wrote last (still in
/// its cache; another core's would have to be fetched line by line). `take` hands out an
/// array of the size asked, `give` returns one. Giving back an array something else still
/// holds is harmless (arrays are values: the next taker gets its own copy), it just saves
/// nothing. At most `arraysPerThread` arrays of at most `maxKeptCapacity` elements are kept
/// per thread, for at most `threads` threads (1 MiB per thread for 64K-row batches).
enum RowScratch {
    static let arraysPerThread = 4
    static let maxKeptCapacity = 1 << 18
    static let threads = 64

    private static let kept = Mutex<[UInt: [[Int32]]]>([:])

    /// The calling thread.
    private static var thread: UInt { currentThreadID() }

    /// An array of `count` copies of `fill`, in a kept array's storage when one is free.
    static func take(count: Int, fill: Int32) -> [Int32] {
        let thread = thread
        var array = kept.withLock { $0[thread]?.popLast() } ?? []
        array.removeAll(keepingCapacity: true)
        array.append(contentsOf: repeatElement(fill, count: count))
        return array
    }

    /// Keeps `array`'s storage for this thread's next `take` (unless enough are kept, or it
    /// is large).
    static func give(_ array: [Int32]) {
        guard array.capacity <= maxKeptCapacity, array.capacity > 0 else { return }
        let thread = thread
        kept.withLock { kept in
            guard kept[thread] != nil || kept.count < threads else { return }
            if kept[thread, default: []].count < arraysPerThread { kept[thread, default: []].append(array) }
        }
    }
}
