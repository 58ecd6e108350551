import QuiverArrow
import QuiverBytes

/// A query's output batches as an `AsyncSequence`.
///
/// Work happens inside `next()`, a window of a few batches per parallel worker at a time, so
/// a consumer that stops early (or a cancelled task) stops the scan, and row-wise queries
/// never hold more than a window of output. Aggregations and sorts read everything on the
/// first `next()` and then yield their result.
public struct QueryStream: AsyncSequence, Sendable {
    public typealias Element = RecordBatch

    let query: Query
    let options: ExecutionOptions

    /// Starts pulling; each iterator runs the query afresh.
    public func makeAsyncIterator() -> Iterator { Iterator(query: query, options: options) }

    /// Pulls batches through the query.
    public struct Iterator: AsyncIteratorProtocol {
        private let query: Query
        private let options: ExecutionOptions
        private var execution: Execution?
        private var position = 0
        private var buffered: [RecordBatch] = []
        private var finished = false

        init(query: Query, options: ExecutionOptions) {
            self.query = query
            self.options = options
        }

        /// The next output batch, or nil at the end. Throws planning and execution errors,
        /// and `CancellationError` when the task is cancelled.
        public mutating func next() async throws -> RecordBatch? {
            while true {
                if !buffered.isEmpty { return buffered.removeFirst() }
                if finished { return nil }
                try Task.checkCancellation()
                guard let execution else {
                    if query.spec.explain {
                        buffered = try query.execute(options).batches
                        finished = true
                    } else {
                        execution = Execution(plan: try Planner.plan(query.spec, pool: options.pool), options: options)
                    }
                    continue
                }
                let count = execution.plan.source.batchCount
                if position < count && !execution.isStopped {
                    let end = Swift.min(count, position + options.parallelism * 2)
                    try execution.consume(position..<end)
                    position = end
                    buffered = execution.takeReady()
                } else {
                    buffered = try execution.finish()
                    finished = true
                }
            }
        }
    }
}
