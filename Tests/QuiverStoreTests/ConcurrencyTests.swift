import Foundation
import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverTestSupport
import Synchronization
import Testing
@testable import QuiverStore

@Suite("One writer, many readers")
struct ConcurrencyTests {
    /// Records what readers saw: failures and the number of snapshots checked.
    final class Observations: Sendable {
        let failures = Mutex<[String]>([])
        let snapshots = Atomic<Int>(0)
        let done = Atomic<Bool>(false)
        func fail(_ message: String) { failures.withLock { $0.append(message) } }
    }

    /// Checks a snapshot: it may only grow from `previous`, and its newest batch and one
    /// other hold what was written. Returns its batch count.
    private static func verify(
        _ snapshot: TableSnapshot, after previous: Int, rule: (RecordBatch, Int) -> String?, _ observations: Observations
    ) -> Int {
        let count = snapshot.numRecordBatches
        if count < previous { observations.fail("batch count went from \(previous) down to \(count)") }
        if snapshot.batchStatistics.count != count { observations.fail("statistics of \(snapshot.batchStatistics.count) batches for \(count)") }
        for k in Set([count - 1, count / 2]) where k >= 0 && k < count {
            do {
                if let violation = rule(try snapshot.recordBatch(at: k), k) { observations.fail(violation) }
            } catch {
                observations.fail("reading batch \(k) of \(count): \(error)")
            }
        }
        observations.snapshots.add(1, ordering: .relaxed)
        return count
    }

    @Test("reader threads see only growing, correct snapshots while a thread appends", .timeLimit(.minutes(1)))
    func readerThreads() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Store.create(at: directory.path, log: StoreLog.silent)
        try store.createTable("t", schema: Sample.schema, options: TableOptions(maxBatchesPerFile: 16))
        let writer = try store.writer(for: "t", options: fastWriter)
        let observations = Observations()
        let rule: @Sendable (RecordBatch, Int) -> String? = { batch, k in
            Sample.matches(batch, k, rows: 1 + k % 7) ? nil : "batch \(k) differs from what was written"
        }
        // Two readers take snapshots from disk through their own Store (footer reads that
        // race the writer's commits), one from the writer's memory through the same Store.
        var threads: [Thread] = []
        for fromDisk in [true, true, false] {
            let thread = Thread {
                var previous = 0
                do {
                    let reader = fromDisk ? try Store(at: directory.path, log: StoreLog.silent) : store
                    while !observations.done.load(ordering: .acquiring) {
                        previous = ConcurrencyTests.verify(try reader.snapshot(of: "t"), after: previous, rule: rule, observations)
                    }
                } catch {
                    observations.fail("reader: \(error)")
                }
            }
            threads.append(thread)
            thread.start()
        }
        for k in 0..<400 {
            try writer.append(Sample.batch(k, rows: 1 + k % 7))
        }
        observations.done.store(true, ordering: .releasing)
        while threads.contains(where: { !$0.isFinished }) { usleep(1000) }
        try writer.close()
        #expect(observations.failures.withLock { $0 }.isEmpty, "\(observations.failures.withLock { $0.prefix(5) })")
        #expect(observations.snapshots.load(ordering: .relaxed) > 10)
        #expect(try store.snapshot(of: "t").numRecordBatches == 400)
    }

    @Test("reader threads keep up with a writer in another process", .timeLimit(.minutes(1)))
    func writerProcess() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("store")
        // Create the table first so readers can start at once.
        let setup = try ChildProcess(quiverBinary, ["store", "test-writer", path, "t", "--count", "0", "--max-batches-per-file", "50"])
        setup.waitForExit()
        let child = try ChildProcess(quiverBinary, ["store", "test-writer", path, "t", "--count", "600", "--max-batches-per-file", "50"])
        let observations = Observations()
        let reader = try Store(at: path, log: StoreLog.silent)
        let rule: @Sendable (RecordBatch, Int) -> String? = { testWriterViolation($0, $1) }
        var threads: [Thread] = []
        for _ in 0..<2 {
            let thread = Thread {
                var previous = 0
                while child.process.isRunning {
                    do {
                        previous = ConcurrencyTests.verify(try reader.snapshot(of: "t"), after: previous, rule: rule, observations)
                    } catch {
                        observations.fail("reader: \(error)")
                    }
                }
            }
            threads.append(thread)
            thread.start()
        }
        child.waitForExit()
        while threads.contains(where: { !$0.isFinished }) { usleep(1000) }
        #expect(child.process.terminationStatus == 0)
        #expect(observations.failures.withLock { $0 }.isEmpty, "\(observations.failures.withLock { $0.prefix(5) })")
        #expect(observations.snapshots.load(ordering: .relaxed) > 10)
        let final = try reader.snapshot(of: "t")
        #expect(final.numRecordBatches == 600 && final.files.count == 12)
    }

    @Test("check while a writer process commits and rolls finds nothing wrong", .timeLimit(.minutes(1)))
    func checkWhileWriting() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("store")
        let setup = try ChildProcess(quiverBinary, ["store", "test-writer", path, "t", "--count", "0", "--max-batches-per-file", "25"])
        setup.waitForExit()
        let child = try ChildProcess(quiverBinary, ["store", "test-writer", path, "t", "--count", "1500", "--max-batches-per-file", "25"])
        let store = try Store(at: path, log: StoreLog.silent)
        var checks = 0
        var alarms: [FileCheckReport] = []
        let deadline = Date().addingTimeInterval(20)
        while child.process.isRunning && Date() < deadline {
            alarms += try store.check().filter { !$0.isHealthy }
            checks += 1
        }
        child.waitForExit()
        #expect(child.process.terminationStatus == 0)
        #expect(alarms.isEmpty, "\(alarms.count) false alarms in \(checks) checks: \(alarms.prefix(3))")
        #expect(checks >= 5, "\(checks) checks")
        #expect(try store.check().allSatisfy(\.isHealthy))
    }
}
