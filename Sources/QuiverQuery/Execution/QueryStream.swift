import Dispatch
import QuiverArrow
import QuiverBytes
import Synchronization

/// A flag a running query checks before each batch (morsel): set, the scan stops with
/// `CancellationError`.
package final class CancellationFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    package init() {}
    package var isSet: Bool { flag.load(ordering: .relaxed) }
    package func set() { flag.store(true, ordering: .relaxed) }
}

extension Query {
    /// Runs the query on Quiver's threads and awaits its result: the calling task suspends,
    /// no cooperative thread blocks. Cancelling the task stops the scan before its next
    /// batch and throws `CancellationError`.
    /// Costs what the synchronous `execute(_:)` does, plus one thread start.
    public func execute(_ options: ExecutionOptions = ExecutionOptions()) async throws -> QueryResult {
        let flag = CancellationFlag()
        var cancellable = options
        cancellable.cancellation = flag
        let options = cancellable
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                startThread { continuation.resume(with: Result { try self.execute(options) }) }
            }
        } onCancel: {
            flag.set()
        }
    }
}

/// A query's output batches as an `AsyncSequence`, produced on Quiver's threads.
///
/// The first `next()` starts the query on a thread of its own (its batches are processed on
/// `WorkerPool.shared`); nothing runs on, or blocks, Swift's cooperative pool. The producer
/// keeps at most `bufferedBatches` output batches ready, then waits for the consumer
/// (backpressure). Row-wise queries yield batches as their input is processed; aggregations
/// and sorts yield once everything is read. Cancelling the consuming task, or dropping the
/// iterator, stops the scan before its next batch.
///
/// The iterator is `Sendable`: a handler may pull the first batch (to choose a status) and
/// hand the iterator to another task for the rest. One task at a time may call `next()`.
public struct QueryStream: AsyncSequence, Sendable {
    /// Each result batch.
    public typealias Element = RecordBatch

    let query: Query
    let options: ExecutionOptions
    /// Output batches the producer may hold ahead of the consumer.
    public var bufferedBatches = 2

    /// A new run of the query (each iterator runs it afresh).
    /// Starts the run: the query's full cost is paid as batches are pulled, with at most
    /// `bufferedBatches` output batches held ahead of the consumer.
    public func makeAsyncIterator() -> Iterator {
        Iterator(consumer: Consumer(BatchChannel(query: query, options: options, limit: Swift.max(1, bufferedBatches))))
    }

    /// Pulls batches from the producer thread.
    public struct Iterator: AsyncIteratorProtocol, Sendable {
        let consumer: Consumer

        /// The next output batch, or nil at the end. Throws planning and execution errors,
        /// and `CancellationError` when the task is cancelled.
        /// Waits for the producer; a row-wise query's batch costs its input window's scan.
        public mutating func next() async throws -> RecordBatch? { try await consumer.channel.next() }
    }

    /// Cancels the run when the last copy of its iterator goes away.
    final class Consumer: Sendable {
        let channel: BatchChannel
        init(_ channel: BatchChannel) { self.channel = channel }
        deinit { channel.cancel() }
    }
}

/// The bounded hand-over between a producing thread and an awaiting consumer.
final class BatchChannel: @unchecked Sendable {
    private struct State {
        var started = false
        var buffer: [RecordBatch] = []
        var finished = false
        var failure: (any Error)?
        var cancelled = false
        var waiter: CheckedContinuation<RecordBatch?, any Error>?
        /// The producer waits on `space` for the consumer to take a batch.
        var producerWaiting = false
    }

    private let query: Query
    private let options: ExecutionOptions
    private let flag = CancellationFlag()
    private let limit: Int
    /// Signalled only to wake a waiting producer, so it is balanced when the channel goes
    /// (Dispatch traps on a semaphore released below its initial value).
    private let space = DispatchSemaphore(value: 0)
    private let state = Mutex(State())

    init(query: Query, options: ExecutionOptions, limit: Int) {
        self.query = query
        var options = options
        options.cancellation = flag
        self.options = options
        self.limit = limit
    }

    func next() async throws -> RecordBatch? {
        let start = state.withLock { state in
            defer { state.started = true }
            return !state.started
        }
        if start { startThread { [self] in produce() } }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                var wake = false
                let ready: Result<RecordBatch?, any Error>? = state.withLock { state in
                    if !state.buffer.isEmpty {
                        wake = state.producerWaiting
                        state.producerWaiting = false
                        return .success(state.buffer.removeFirst())
                    }
                    if state.cancelled { return .failure(CancellationError()) }
                    if state.finished {
                        defer { state.failure = nil }
                        return state.failure.map { .failure($0) } ?? .success(nil)
                    }
                    state.waiter = continuation
                    return nil
                }
                if wake { space.signal() }
                guard let ready else { return }
                continuation.resume(with: ready)
            }
        } onCancel: {
            cancel()
        }
    }

    /// Stops the producer (at its next batch) and fails a waiting `next()`.
    func cancel() {
        flag.set()
        let (waiter, wake) = state.withLock { state in
            state.cancelled = true
            defer {
                state.waiter = nil
                state.producerWaiting = false
            }
            return (state.waiter, state.producerWaiting)
        }
        if wake { space.signal() }  // a producer waiting for room wakes and sees the flag
        waiter?.resume(throwing: CancellationError())
    }

    /// Hands `batch` to the consumer, waiting while `limit` batches are ready; false once cancelled.
    private func push(_ batch: RecordBatch) -> Bool {
        while true {
            let full = state.withLock { state in
                let full = !state.cancelled && state.waiter == nil && state.buffer.count >= limit
                if full { state.producerWaiting = true }
                return full
            }
            if full { space.wait() } else { break }
        }
        let waiter: CheckedContinuation<RecordBatch?, any Error>?? = state.withLock { state in
            if state.cancelled { return .none }
            if let waiter = state.waiter {
                state.waiter = nil
                return .some(waiter)
            }
            state.buffer.append(batch)
            return .some(nil)
        }
        guard let waiter else { return false }
        waiter?.resume(returning: batch)
        return true
    }

    private func finish(_ failure: (any Error)?) {
        let waiter = state.withLock { state in
            state.finished = true
            defer { state.waiter = nil }
            if state.waiter == nil { state.failure = failure }
            return state.waiter
        }
        if let waiter {
            if let failure { waiter.resume(throwing: failure) } else { waiter.resume(returning: nil) }
        }
    }

    /// The query, window by window of a few batches per worker (on this producer thread).
    private func produce() {
        do {
            if query.spec.explain {
                for batch in try query.execute(options).batches where !push(batch) { return }
                return finish(nil)
            }
            let execution = Execution(plan: try Planner.plan(query.spec, pool: options.pool), options: options)
            let count = execution.plan.source.batchCount
            var position = 0
            while position < count && !execution.isStopped {
                if flag.isSet { throw CancellationError() }
                let end = Swift.min(count, position + options.parallelism * 2)
                try execution.consume(position..<end)
                position = end
                for batch in execution.takeReady() where !push(batch) { return }
            }
            for batch in try execution.finish() where !push(batch) { return }
            finish(nil)
        } catch {
            finish(error)
        }
    }
}
