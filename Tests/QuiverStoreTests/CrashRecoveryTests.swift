import Foundation
import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverTestSupport
import Testing
@testable import QuiverStore

@Suite("Crash recovery")
struct CrashRecoveryTests {
    /// Creates a file and appends three batches, keeping the file's bytes after each commit
    /// (commit 0 is the creation) and where each batch's message ends.
    private func threeAppends(_ path: String) throws -> (images: [[UInt8]], batchEnds: [Int], dataEnds: [Int]) {
        let file = try AppendableFile.create(path: path, schema: Sample.schema, options: fastAppend)
        var images = [try fileBytes(path)]
        var dataEnds = [file.dataSize]
        for k in 0..<3 {
            try file.append(Sample.batch(k, rows: k + 2))
            images.append(try fileBytes(path))
            dataEnds.append(file.dataSize)
        }
        let blocks = try file.snapshot().footer.recordBatches
        try file.close()
        return (images, blocks.map { Int($0.offset) + Int($0.metadataLength) + Int($0.bodyLength) }, dataEnds)
    }

    /// Opens `path` for appending (recovering it) and checks it holds exactly batches 0..<count.
    private func expectBatches(_ path: String, _ count: Int, recovered: Bool?, _ comment: String, check: Bool = true) throws {
        let file = try AppendableFile(path: path, options: fastAppend, fallbackSchema: Sample.schema, log: StoreLog.silent)
        let batches = try file.snapshot().readBatches()
        #expect(batches.count == count, "\(comment): \(batches.count) batches, expected \(count)")
        for (k, batch) in batches.enumerated() {
            #expect(Sample.matches(batch, k, rows: k + 2), "\(comment): batch \(k) differs")
        }
        if let recovered { #expect((file.recovery != nil) == recovered, "\(comment): recovery \(String(describing: file.recovery))") }
        try file.close()
        // Whatever was repaired is a plain, healthy Arrow file again (checked on a sample:
        // a check reads everything).
        guard check else { return }
        let report = FileCheck.check(path: path)
        #expect(report.isHealthy && report.batches == count, "\(comment): \(report)")
    }

    @Test("cutting the file after three appends at every byte keeps exactly the complete batches")
    func truncateEveryOffset() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (images, batchEnds, _) = try threeAppends(directory.file("source.arrow"))
        let final = images[3]
        let path = directory.file("cut.arrow")
        for cut in 0...final.count {
            try writeFile(path, final[..<cut])
            let complete = batchEnds.filter { $0 <= cut }.count
            try expectBatches(path, complete, recovered: cut == final.count ? false : true, "cut at \(cut)", check: cut % 7 == 0)
        }
    }

    @Test("a crash at any byte of any of the three appends loses no commit and keeps no partial batch")
    func crashDuringEveryAppend() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (images, batchEnds, dataEnds) = try threeAppends(directory.file("source.arrow"))
        let path = directory.file("crashed.arrow")
        // Commit k+1 writes the bytes of image k+1 from data end k onwards, front to back.
        // Every byte of the batch's message and of the footer's first and last 64 bytes is
        // a crash point; inside the footer every 11th byte is (they all behave alike).
        for k in 0..<3 {
            let old = images[k], new = images[k + 1], start = dataEnds[k]
            let total = new.count - start
            let points = (0...total).filter { written in
                start + written <= batchEnds[k] + 72 || written >= total - 64 || written % 11 == 0
            }
            for written in points {
                var image = old
                if start + written > image.count { image += [UInt8](repeating: 0, count: start + written - image.count) }
                image.replaceSubrange(start..<(start + written), with: new[start..<(start + written)])
                try writeFile(path, image)
                let comment = "append \(k + 1), \(written) bytes written"
                if start + written == new.count {
                    try expectBatches(path, k + 1, recovered: false, comment)
                } else if image.count == old.count, image[(start + 8)...] == old[(start + 8)...] {
                    try expectBatches(path, k, recovered: false, comment)  // the old commit is still intact
                } else {
                    try expectBatches(
                        path, start + written >= batchEnds[k] ? k + 1 : k, recovered: true, comment, check: written % 7 == 0)
                }
            }
        }
        // The creation itself: a crash before its commit leaves an empty file of the schema.
        for written in 0..<images[0].count {
            try writeFile(path, images[0][..<written])
            try expectBatches(path, 0, recovered: true, "creation, \(written) bytes written", check: written % 7 == 0)
        }
    }

    @Test("without a known schema, a file cut inside its schema is an error, not a crash")
    func unrecoverableWithoutSchema() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("cut.arrow")
        let (images, _, _) = try threeAppends(directory.file("source.arrow"))
        for cut in [0, 3, 8, 20] {
            try writeFile(path, images[3][..<cut])
            #expect(throws: QuiverError.self) { try AppendableFile(path: path, options: fastAppend, log: StoreLog.silent) }
        }
        try writeFile(path, Array("definitely not an arrow file".utf8))
        #expect { try AppendableFile(path: path, options: fastAppend, fallbackSchema: Sample.schema) } throws: {
            ($0 as? QuiverError)?.code == .invalidMessage
        }
        #expect(try fileBytes(path) == Array("definitely not an arrow file".utf8))  // never overwritten
    }

    @Test("a corrupted body is caught by its checksum: recovery stops before it")
    func checksumStopsRecovery() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (images, batchEnds, _) = try threeAppends(directory.file("source.arrow"))
        var image = images[3]
        image[batchEnds[1] - 8] ^= 0x40  // a byte of batch 1's body (its padding or values)
        image.removeLast(3)  // and the footer is gone, so recovery walks the messages
        let path = directory.file("bad.arrow")
        try writeFile(path, image)
        #expect(!FileCheck.check(path: path).isHealthy)
        try expectBatches(path, 1, recovered: true, "bit flip in batch 1")
    }

    @Test("readers recover a crashed file in memory, read-only, after the retry timeout")
    func readOnlyRecovery() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (images, batchEnds, _) = try threeAppends(directory.file("source.arrow"))
        let path = directory.file("torn.arrow")
        let torn = Array(images[3][..<(batchEnds[2] + 5)])
        try writeFile(path, torn)
        let snapshot = try FileSnapshot.open(path: path, options: SnapshotOptions(retryTimeout: .milliseconds(20)))
        #expect(snapshot.numRecordBatches == 3 && snapshot.recovery?.rewritten == false)
        #expect(try fileBytes(path) == torn)
        #expect(throws: QuiverError.self) {
            try FileSnapshot.open(path: path, options: SnapshotOptions(retryTimeout: .zero, recoverAfterTimeout: false))
        }
    }

    @Test("a writer process killed at random points never loses an acknowledged append", .timeLimit(.minutes(2)))
    func killedWriter() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = directory.file("store")
        var acknowledged = -1
        var generator = SystemRandomNumberGenerator()
        let rounds = 60
        let deadline = Date().addingTimeInterval(60)
        var round = 0
        while round < rounds && Date() < deadline {
            round += 1
            let child = try ChildProcess(quiverBinary, ["store", "test-writer", store, "t", "--max-batches-per-file", "7"])
            let started = child.wait { $0.contains { $0.hasPrefix("start ") } }
            #expect(started, "round \(round): the writer did not start: \(child.output)")
            usleep(UInt32.random(in: 0...12_000, using: &generator))
            child.kill()
            let acks = child.output.compactMap { line in line.hasPrefix("ack ") ? Int(line.dropFirst(4)) : nil }
            let start = try #require(child.output.first { $0.hasPrefix("start ") }.flatMap { Int($0.dropFirst(6)) })
            #expect(start >= acknowledged + 1, "round \(round): restarted at \(start) after ack \(acknowledged)")
            acknowledged = max(acknowledged, acks.max() ?? -1)
            // The last batch this round knows to be committed: its last ack, or the one
            // before its start. After it, at most the one batch in flight.
            let lastKnown = acks.max() ?? start - 1

            let writer = try Store(at: store, log: StoreLog.silent).writer(for: "t", options: fastWriter)
            let snapshot = try writer.snapshot()
            try writer.close()
            #expect(snapshot.numRecordBatches >= lastKnown + 1, "round \(round): lost acknowledged batches")
            #expect(snapshot.numRecordBatches <= lastKnown + 2, "round \(round): more than the one batch in flight")
            try snapshot.forEachBatch { _ in true }
            for (k, batch) in try snapshot.readBatches().enumerated() {
                let violation = testWriterViolation(batch, k)
                #expect(violation == nil, "round \(round): \(violation ?? "")")
            }
        }
        #expect(round >= 50 && acknowledged > 20, "\(round) rounds, \(acknowledged + 1) batches acknowledged")
        let reports = try Store(at: store, log: StoreLog.silent).check()
        #expect(reports.allSatisfy { $0.isHealthy }, "\(reports.filter { !$0.isHealthy })")
    }
}
