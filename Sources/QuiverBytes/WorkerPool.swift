import Dispatch
import Synchronization

/// Quiver's own worker threads, one per core, started on first use: the parallel loops of
/// decoding and query execution run here, never on Swift concurrency's cooperative pool
/// (whose threads must not block) nor on Dispatch's global queues.
///
/// `parallelFor` is fork-join with the caller taking part: the calling thread runs
/// iterations itself while idle workers join in, so a loop always makes progress (nested
/// loops and a busy pool degrade to running on the caller, never to a deadlock).
package final class WorkerPool: @unchecked Sendable {
    /// The process-wide pool, one thread per online processor.
    package static let shared = WorkerPool(threads: onlineProcessorCount)

    private let queue = Mutex<[Job]>([])
    private let wakeups = DispatchSemaphore(value: 0)

    init(threads: Int) {
        for _ in 0..<threads {
            startThread { [self] in
                while true {
                    wakeups.wait()
                    guard let job = queue.withLock({ $0.popLast() }) else { continue }
                    job.help()
                }
            }
        }
    }

    /// One parallel loop: iterations are claimed from a shared counter.
    private final class Job: @unchecked Sendable {
        let iterations: Int
        let next = Atomic<Int>(0)
        let completed = Atomic<Int>(0)
        let done = DispatchSemaphore(value: 0)
        /// Set for the loop's duration; read only by a thread holding an unfinished
        /// iteration, so never after the caller has returned.
        var body: ((Int) -> Void)?

        init(iterations: Int, body: @escaping (Int) -> Void) {
            self.iterations = iterations
            self.body = body
        }

        func help() {
            while true {
                let index = next.add(1, ordering: .relaxed).oldValue
                guard index < iterations else { return }
                run(index)
            }
        }

        private func run(_ index: Int) {
            body!(index)
            if completed.add(1, ordering: .acquiringAndReleasing).newValue == iterations { done.signal() }
        }
    }

    /// Calls `body(i)` for every `i` in `0..<iterations`, on the calling thread and up to
    /// `width - 1` workers; returns when all calls have returned. Order is unspecified.
    package func parallelFor(iterations: Int, width: Int, _ body: (Int) -> Void) {
        guard iterations > 1, width > 1 else {
            for index in 0..<iterations { body(index) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let job = Job(iterations: iterations, body: body)
            let helpers = Swift.min(width, iterations) - 1
            queue.withLock { $0.append(contentsOf: repeatElement(job, count: helpers)) }
            for _ in 0..<helpers { wakeups.signal() }
            job.help()
            job.done.wait()
            job.body = nil  // late helpers find no iteration left and never read it
        }
    }
}
