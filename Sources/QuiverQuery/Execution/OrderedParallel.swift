import Dispatch
import QuiverBytes
import Synchronization

/// Runs `work` over indices on several threads and hands each result to `combine` strictly
/// in index order, so whatever `combine` accumulates is the same at any parallelism.
///
/// Workers (the caller and `WorkerPool.shared`'s threads) take the next index from a shared counter (morsel-driven: a fast thread simply
/// takes more batches). A finished result waits in a small reorder buffer until every earlier
/// one is combined; a semaphore keeps at most `window` results in flight, bounding memory when
/// one batch is slow. `combine` runs under a lock (one at a time) and returns false to stop
/// early (LIMIT). The first error in index order is rethrown; later work is abandoned.
enum OrderedParallel {
    static func run<Partial>(
        _ indices: [Int], parallelism: Int,
        work: @Sendable (Int) throws -> Partial,
        combine: (Partial) throws -> Bool
    ) throws {
        guard !indices.isEmpty else { return }
        if parallelism <= 1 || indices.count == 1 {
            for index in indices { guard try combine(try work(index)) else { return } }
            return
        }
        let state = SharedState<Partial>(window: parallelism * 4)
        try withoutActuallyEscaping(combine) { combine in
            let combiner = UncheckedBox(combine)
            WorkerPool.shared.parallelFor(iterations: Swift.min(parallelism, indices.count), width: parallelism) { _ in
                while true {
                    state.slots.wait()
                    let position = state.next.add(1, ordering: .relaxed).oldValue
                    guard position < indices.count, !state.stopped.load(ordering: .relaxed) else {
                        state.slots.signal()
                        return
                    }
                    let result = UncheckedBox(Result { try work(indices[position]) })
                    state.lock.withLock { buffer in
                        buffer.pending[position] = result.value
                        while let ready = buffer.pending.removeValue(forKey: buffer.nextToCombine) {
                            buffer.nextToCombine += 1
                            state.slots.signal()
                            guard buffer.error == nil, !state.stopped.load(ordering: .relaxed) else { continue }
                            do {
                                if try !combiner.value(try ready.get()) { state.stopped.store(true, ordering: .relaxed) }
                            } catch {
                                buffer.error = error
                                state.stopped.store(true, ordering: .relaxed)
                            }
                        }
                    }
                }
            }
            if let error = state.lock.withLock({ $0.error }) { throw error }
        }
    }

    private final class SharedState<Partial>: @unchecked Sendable {
        struct Buffer {
            var pending: [Int: Result<Partial, any Error>] = [:]
            var nextToCombine = 0
            var error: (any Error)?
        }
        let next = Atomic<Int>(0)
        let stopped = Atomic<Bool>(false)
        let slots: DispatchSemaphore
        let lock = Mutex(Buffer())

        init(window: Int) { slots = DispatchSemaphore(value: window) }
    }
}

/// Moves a non-Sendable value across threads where the algorithm guarantees exclusive use.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
