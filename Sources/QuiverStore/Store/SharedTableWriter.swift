import Dispatch
import QuiverArrow
import QuiverBytes

/// A table writer shared by many tasks (an HTTP service's request handlers): each call is
/// queued on a serial Dispatch queue of its own and awaited, so appends run one at a time
/// in arrival order and their blocking work (writing, fsync) never occupies a thread of
/// Swift's cooperative pool. Snapshots and queries need no handle: they never wait for
/// the writer (`Store.snapshot(of:)`).
///
/// ```swift
/// let shared = SharedTableWriter(try store.writer(for: "events"))
/// try await shared.append(batch)          // from any task
/// try await shared.close()                // at shutdown
/// ```
public final class SharedTableWriter: Sendable {
    /// The writer the calls go to.
    public let writer: TableWriter
    private let queue: DispatchQueue

    /// Serialises calls to `writer`.
    public init(_ writer: TableWriter) {
        self.writer = writer
        queue = DispatchQueue(label: "quiver.writer.\(writer.table)")
    }

    /// `TableWriter.append(_:)`, after the calls queued before it; returns once committed.
    /// Costs what `TableWriter.append(_:)` does, once the calls before it are done.
    public func append(_ batch: RecordBatch) async throws {
        try await run { try self.writer.append(batch) }
    }

    /// `TableWriter.append(contentsOf:)`: all the batches under one commit.
    /// Costs what `TableWriter.append(contentsOf:)` does.
    public func append(contentsOf batches: [RecordBatch]) async throws {
        try await run { try self.writer.append(contentsOf: batches) }
    }

    /// `TableWriter.close()`, after every call queued before it.
    /// Costs what `TableWriter.close()` does.
    public func close() async throws {
        try await run { try self.writer.close() }
    }

    /// Runs `body` on the queue and awaits it.
    public func run<R: Sendable>(_ body: @escaping @Sendable () throws -> R) async throws -> R {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}
