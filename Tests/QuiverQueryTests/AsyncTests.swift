import Foundation
import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverQuery
import QuiverStore
import QuiverTestSupport
import Synchronization
import Testing

/// A source that counts the batches read and can be slowed, to watch the scan from outside.
final class CountingSource: BatchSource, @unchecked Sendable {
    let inner: InMemorySource
    let reads = Atomic<Int>(0)
    let delay: Duration

    init(batches: Int, rows: Int, delay: Duration = .zero) throws {
        let schema = Schema([Field("v", .int64, nullable: false)])
        let column = ArrayData.build(from: (0..<rows).map { Int64($0) })
        let batch = try RecordBatch(schema: schema, columns: [column])
        inner = try InMemorySource(batches: Array(repeating: batch, count: batches), computeStatistics: false)
        self.delay = delay
    }

    var schema: Schema { inner.schema }
    var batchCount: Int { inner.batchCount }
    func batch(at index: Int, columns: [Int]) throws -> RecordBatch {
        reads.add(1, ordering: .relaxed)
        if delay > .zero { blockingSleep(delay) }
        return try inner.batch(at: index, columns: columns)
    }
    func statistics(batch: Int) -> BatchStatistics? { nil }
}

/// Blocks the calling (Quiver) thread without using the CPU, as a slow disk would.
func blockingSleep(_ duration: Duration) {
    usleep(useconds_t(duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000))
}

/// The async API: scans on Quiver's threads, cancellation, backpressure, a Sendable iterator.
@Suite(.serialized) struct AsyncTests {
    /// Four long scans at once leave Swift's cooperative pool free: an unrelated task that
    /// ticks every 10 ms is never held up for long. (Before, each scan ran inside `next()`
    /// on a cooperative thread, and the ticks waited for whole scans.)
    ///
    /// Measured in a child process running only this test: in the full suite, other tests'
    /// synchronous work occupies the cooperative pool and would delay the ticks whatever
    /// Quiver does.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["QUIVER_TICK_CHILD"] == nil))
    func tickingTaskStaysResponsiveDuringFourScans() throws {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments = ["--testing-library", "swift-testing", "--filter", "tickingTaskMeasurement"]
        child.environment = ProcessInfo.processInfo.environment.merging(["QUIVER_TICK_CHILD": "1"]) { $1 }
        let pipe = Pipe()
        child.standardOutput = pipe
        child.standardError = pipe
        try child.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        child.waitUntilExit()
        #expect(child.terminationStatus == 0, "\(output.split(separator: "\n").filter { $0.contains("late") || $0.contains("✘") }.joined(separator: "\n"))")
        #expect(output.contains("tickingTaskMeasurement()"), "the child ran no test:\n\(output.suffix(2000))")
    }

    /// The measurement itself (run by the test above in a process of its own).
    @Test(.enabled(if: ProcessInfo.processInfo.environment["QUIVER_TICK_CHILD"] != nil))
    func tickingTaskMeasurement() async throws {
        // Each batch takes 60 ms to read: a scan of 24 batches takes most of a second.
        let source = try CountingSource(batches: 24, rows: 1000, delay: .milliseconds(60))
        let query = try Query(sql: "SELECT count(*) AS n, sum(v) AS s FROM t", tables: ["t": source])
        let scanning = Atomic<Bool>(true)
        let ticker = Task { () -> Duration in
            var worst = Duration.zero
            while scanning.load(ordering: .relaxed) {
                let before = ContinuousClock.now
                try? await Task.sleep(for: .milliseconds(10))
                worst = max(worst, ContinuousClock.now - before - .milliseconds(10))
            }
            return worst
        }
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Int64.self) { group in
            for index in 0..<4 {
                group.addTask {
                    if index % 2 == 0 {
                        let result = try await query.execute()
                        guard case .int(let n) = result.batches[0].columns[0].value(at: 0) else { return -1 }
                        return n
                    }
                    var n: Int64 = -1
                    for try await batch in query.stream() {
                        if case .int(let value) = batch.columns[0].value(at: 0) { n = value }
                    }
                    return n
                }
            }
            for try await n in group { #expect(n == 24_000) }
        }
        let scans = ContinuousClock.now - start
        scanning.store(false, ordering: .relaxed)
        let worst = await ticker.value
        #expect(scans > .milliseconds(600), "the scans must be long for the test to mean anything")
        // Relative, not absolute: other suites load the machine and the pool while this runs.
        // Blocking the pool, the tick waited about as long as the scans (1.5 s of 1.53 s).
        #expect(worst < scans / 4, "a 10 ms tick was late by \(worst) during \(scans) of scans")
    }

    @Test func cancellingTheTaskStopsTheScanPromptly() async throws {
        let source = try CountingSource(batches: 1000, rows: 100, delay: .milliseconds(20))
        let query = try Query(sql: "SELECT sum(v) AS s FROM t", tables: ["t": source])
        let task = Task { try await query.execute(ExecutionOptions(parallelism: 2)) }
        try await Task.sleep(for: .milliseconds(100))
        let cancelled = ContinuousClock.now
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        // The whole scan takes 10 s or more; a cancelled one stops after the batches in hand.
        #expect(ContinuousClock.now - cancelled < .seconds(3))
        let read = source.reads.load(ordering: .relaxed)
        try await Task.sleep(for: .milliseconds(100))
        #expect(source.reads.load(ordering: .relaxed) == read, "the scan went on after it was cancelled")
        #expect(read < 300)

        // A stream, cancelled while its consumer waits.
        let streaming = Task {
            var rows = 0
            for try await batch in query.select(col("v")).stream(ExecutionOptions(parallelism: 1)) { rows += batch.length }
            return rows
        }
        try await Task.sleep(for: .milliseconds(100))
        streaming.cancel()
        await #expect(throws: CancellationError.self) { try await streaming.value }
    }

    /// A consumer slower than the scan holds it back: the producer reads only a window ahead.
    @Test func slowConsumersApplyBackpressure() async throws {
        let source = try CountingSource(batches: 200, rows: 100)
        let query = Query(source).select(col("v"))
        var iterator = query.stream(ExecutionOptions(parallelism: 1)).makeAsyncIterator()
        var consumed = 0
        for _ in 0..<5 {
            #expect(try await iterator.next() != nil)
            consumed += 1
            try await Task.sleep(for: .milliseconds(30))
        }
        // Ready batches (2) + the window being processed (2) + one in hand.
        #expect(source.reads.load(ordering: .relaxed) <= consumed + 5)
    }

    /// A handler pulls the first batch, then hands the iterator to another task.
    @Test func iteratorCanBeHandedToAnotherTask() async throws {
        let source = try CountingSource(batches: 10, rows: 100)
        let stream = Query(source).select(col("v")).stream()
        var iterator = stream.makeAsyncIterator()
        let first = try #require(try await iterator.next())
        let handed = iterator
        let rest = try await Task.detached {
            var iterator = handed
            var rows = 0
            while let batch = try await iterator.next() { rows += batch.length }
            return rows
        }.value
        #expect(first.length + rest == 1000)
    }
}

/// Readers never wait for the writer: a snapshot (and a query over it) taken while an
/// append holds the writer's lock returns at once with the last commit — whatever the
/// snapshot's options, over sealed files and the file being appended to.
@Suite struct SnapshotWhileAppendingTests {
    enum Reading: CaseIterable, Sendable {
        case defaults, verifyingChecksums, trusted, singleThreaded

        func source(_ store: Store, _ table: String) throws -> StoreTableSource {
            switch self {
            case .defaults: return try StoreTableSource(store: store, table: table)
            case .verifyingChecksums: return try StoreTableSource(store: store, table: table, verifyChecksums: true)
            case .trusted: return try StoreTableSource(try store.snapshot(of: table, options: SnapshotOptions(readOptions: IPCReadOptions(trusted: true))))
            case .singleThreaded:
                return try StoreTableSource(try store.snapshot(of: table, options: SnapshotOptions(readOptions: IPCReadOptions(useThreads: false))))
            }
        }
    }

    // One case at a time: `appendHook` is process-wide.
    @Test(.serialized, arguments: Reading.allCases)
    func queryDuringAnAppendInFlightDoesNotWait(reading: Reading) throws {
        let directory = try TestPaths.temporaryDirectory("snapshot-in-flight")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try Store.create(at: directory.path, log: { _ in })
        let schema = Schema([Field("v", .int64, nullable: false)])
        let table = "inflight\(UInt32.random(in: 0...UInt32.max))"
        try store.createTable(table, schema: schema, options: TableOptions(maxBatchesPerFile: 1))
        let writer = try store.writer(for: table, options: WriterOptions(durability: .buffered, checksums: true))
        let batch = try RecordBatch(schema: schema, columns: [ArrayData.build(from: (0..<100).map { Int64($0) })])
        try writer.append(batch)
        try writer.append(batch)  // the first file is sealed now

        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        TableWriter.appendHook = { name in
            guard name == table else { return }
            entered.signal()
            release.wait()
        }
        defer { TableWriter.appendHook = nil }
        let appended = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            try? writer.append(batch)
            appended.signal()
        }
        entered.wait()  // the append now holds the writer's lock
        // The query runs on its own thread so that, were it to wait for the append, the
        // test would fail after a timeout rather than hang.
        let count = Mutex<ArrowValue?>(nil)
        let queried = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let result = try? Query(sql: "SELECT count(*) AS n, sum(v) AS s FROM \(table)", tables: [table: try reading.source(store, table)])
                .execute(ExecutionOptions(parallelism: 1))
            count.withLock { $0 = result?.batches[0].columns[0].value(at: 0) }
            queried.signal()
        }
        let outcome = queried.wait(timeout: .now() + 5)
        release.signal()
        appended.wait()
        if outcome == .timedOut { queried.wait() }
        #expect(outcome == .success, "the query waited for the append in flight")
        #expect(count.withLock { $0 } == .int(200))
        let after = try Query(sql: "SELECT count(*) AS n FROM \(table)", tables: [table: try reading.source(store, table)]).execute()
        #expect(after.batches[0].columns[0].value(at: 0) == .int(300))
        try writer.close()
    }
}

@Suite struct SharedWriterAndMemoryTests {
    /// Many tasks append through one handle: every row lands, once.
    @Test func sharedWriterSerialisesConcurrentAppends() async throws {
        let directory = try TestPaths.temporaryDirectory("shared-writer")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try Store.create(at: directory.path, log: { _ in })
        let schema = Schema([Field("v", .int64, nullable: false)])
        try store.createTable("t", schema: schema)
        let shared = SharedTableWriter(try store.writer(for: "t", options: WriterOptions(durability: .buffered)))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for b in 0..<10 {
                        let values = (0..<50).map { Int64(task * 1000 + b * 50 + $0) }
                        try await shared.append(try RecordBatch(schema: schema, columns: [ArrayData.build(from: values)]))
                    }
                }
            }
            try await group.waitForAll()
        }
        let result = try await Query(sql: "SELECT count(*) AS n, count(DISTINCT v) AS d FROM t", tables: ["t": try StoreTableSource(store: store, table: "t")]).execute()
        #expect(result.batches[0].columns[0].value(at: 0) == .int(4000))
        #expect(result.batches[0].columns[1].value(at: 0) == .int(4000))
        try await shared.close()
        #expect(!shared.writer.isOpen)
    }

    /// The store's memory report sees the mappings its snapshots hold.
    @Test func storeReportsItsMemory() throws {
        let directory = try TestPaths.temporaryDirectory("store-memory")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try Store.create(at: directory.path, log: { _ in })
        let schema = Schema([Field("v", .int64, nullable: false)])
        try store.createTable("t", schema: schema)
        let writer = try store.writer(for: "t", options: WriterOptions(durability: .buffered))
        try writer.append(try RecordBatch(schema: schema, columns: [ArrayData.build(from: (0..<(1 << 20)).map { Int64($0) })]))
        try writer.close()
        let before = try store.memoryUsage()
        let source = try StoreTableSource(store: store, table: "t")
        let sum = try Query(sql: "SELECT sum(v) AS s FROM t", tables: ["t": source]).execute(ExecutionOptions(parallelism: 1))
        #expect(sum.batches[0].columns[0].formatValue(at: 0) == String((1 << 20) * ((1 << 20) - 1) / 2))
        let during = try store.memoryUsage()
        // The 8 MiB column, read through the snapshot's mapping, is resident in it (other
        // mappings of the process may have come and gone meanwhile: most of it is enough).
        #expect(during.mappedBytes - before.mappedBytes >= 7 << 20)
        #expect(during.mappedResidentBytes - before.mappedResidentBytes >= 7 << 20)
        #expect(during.residentSetBytes >= during.mappedResidentBytes)
        let pool = MemoryPool()
        let held = pool.allocate(byteCount: 1 << 20)
        #expect(try store.memoryUsage(pool: pool).allocatedBytes >= 1 << 20)
        withExtendedLifetime((source, held)) {}
    }
}
