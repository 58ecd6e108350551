import Dispatch
import Synchronization

/// `transform(index)` for every index in `0..<count`, spread across the cores (the calling
/// thread and `WorkerPool.shared`'s threads); the results in index order.
///
/// `order`, a permutation of the indices (default: ascending), is the order the tasks are
/// started in — heaviest first, say, so the cores finish together. Errors are values here:
/// a throwing transform returns `Result`s, and the caller decides which failure wins.
package func concurrentMap<R: Sendable>(
    count: Int, startingWith order: [Int]? = nil, _ transform: @Sendable (Int) -> R
) -> [R] {
    precondition(order.map { $0.count == count && Set($0).count == count && $0.allSatisfy((0..<count).contains) } ?? true)
    let slots = Mutex<[R?]>(Array(repeating: nil, count: count))
    WorkerPool.shared.parallelFor(iterations: count, width: onlineProcessorCount) { iteration in
        let index = order?[iteration] ?? iteration
        let result = transform(index)
        slots.withLock { $0[index] = result }
    }
    // Every slot is filled: `order` covers each index once.
    return slots.withLock { $0 }.map { $0! }
}
