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

    @Test("a three-batch commit cut at any byte lands whole or not at all")
    func multiBatchCommitIsAtomic() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let source = directory.file("source.arrow")
        let file = try AppendableFile.create(path: source, schema: Sample.schema, options: fastAppend)
        try file.append(Sample.batch(0, rows: 2))
        let before = try fileBytes(source)
        let start = file.dataSize
        try file.append(contentsOf: (1..<4).map { Sample.batch($0, rows: $0 + 2) })
        try file.close()
        let after = try fileBytes(source)
        let path = directory.file("crashed.arrow")
        // The commit writes the bytes of `after` from the old data end on, front to back.
        for written in 0...(after.count - start) {
            var image = before
            if start + written > image.count { image += [UInt8](repeating: 0, count: start + written - image.count) }
            image.replaceSubrange(start..<(start + written), with: after[start..<(start + written)])
            try writeFile(path, image)
            let opened = try AppendableFile(path: path, options: fastAppend, fallbackSchema: Sample.schema, log: StoreLog.silent)
            let batches = try opened.snapshot().readBatches()
            try opened.close()
            #expect(batches.count == 1 || batches.count == 4, "\(written) bytes written: \(batches.count) batches")
            for (k, batch) in batches.enumerated() {
                #expect(Sample.matches(batch, k, rows: k + 2), "\(written) bytes written: batch \(k) differs")
            }
            if start + written == after.count { #expect(batches.count == 4) }
        }
    }

    @Test("a body flip: verifying reads throw, repair cuts before the damaged batch, check is clean after")
    func flipVerifiedAndRepaired() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (images, batchEnds, _) = try threeAppends(directory.file("source.arrow"))
        var image = images[3]
        image[batchEnds[1] - 8] ^= 0x40  // a byte of batch 1's body; the footer stays intact
        let path = directory.file("flipped.arrow")
        try writeFile(path, image)
        let plain = try FileSnapshot.open(path: path)
        #expect(try !Sample.matches(plain.recordBatch(at: 1), 1, rows: 3))  // altered values, silently
        let verified = try FileSnapshot.open(path: path, options: SnapshotOptions(verifyChecksums: true))
        #expect(Sample.matches(try verified.recordBatch(at: 0), 0, rows: 2))
        #expect { try verified.recordBatch(at: 1) } throws: { ($0 as? QuiverError)?.code == .invalidData }
        #expect { try verified.readBatches() } throws: { ($0 as? QuiverError)?.code == .invalidData }

        #expect(!FileCheck.check(path: path).isHealthy)
        let report = try #require(try FileCheck.repair(path: path, log: StoreLog.silent))
        #expect(report.keptBatches == 1 && report.reason.contains("checksum"), "\(report)")
        #expect(FileCheck.check(path: path).isHealthy)
        try expectBatches(path, 1, recovered: false, "after repair")
    }

    @Test("a checksum entry a flip made unreadable marks its batch damaged, not unchecked")
    func unreadableChecksumEntry() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (images, batchEnds, _) = try threeAppends(directory.file("source.arrow"))
        let key = Array(StoreFileFormat.checksumKey.utf8)
        // Batch 1's message: its metadata (with the entry) lies between batch 0's end and its body.
        let region = batchEnds[0]..<batchEnds[1]
        let at = try #require(region.first { images[3][$0..<min($0 + key.count, images[3].count)].elementsEqual(key) })
        for (offset, replacement) in [(7, UInt8(ascii: "X")), (11, UInt8(ascii: "5"))] {
            var image = images[3]
            image[at + offset] = replacement  // "quiver:Xxh64", "quiver:xxh65"
            let path = directory.file("key\(offset).arrow")
            try writeFile(path, image)
            let report = FileCheck.check(path: path)
            #expect(!report.isHealthy && report.problems.contains { $0.contains("unreadable checksum") }, "\(report)")
            let verified = try FileSnapshot.open(path: path, options: SnapshotOptions(verifyChecksums: true))
            #expect(throws: QuiverError.self) { try verified.recordBatch(at: 1) }
        }
        // A value that is not 16 hex digits is unreadable too.
        let source = try MappedFile(path: directory.file("source.arrow"))
        let block = try FileSnapshot.open(path: directory.file("source.arrow")).footer.recordBatches[1]
        let message = try #require(try MessageReader(RandomAccessCursor(source, startingAt: Int(block.offset))).next())
        let digest = Array(try #require(message.metadata.customMetadata[StoreFileFormat.checksumKey]).utf8)
        var image = images[3]
        let digits = try #require(region.first { image[$0..<($0 + digest.count)].elementsEqual(digest) })
        image[digits] = UInt8(ascii: "z")
        let path = directory.file("value.arrow")
        try writeFile(path, image)
        #expect(FileCheck.check(path: path).problems.contains { $0.contains("unreadable checksum") || $0.contains("mismatch") })
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
        var generator = SeededRandom(seed: 103)
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

    /// The files in the table directory that the catalog does not list, and whether each
    /// `.arrow` one is an Arrow file (a leftover must never pass for data under a data name).
    private func leftovers(_ store: Store, _ table: String) throws -> [String] {
        let directory = store.tableDirectory(table)
        let listed = try store.table(table).files
        return try FileSystem.contentsOfDirectory(directory).filter { name in
            (name.hasSuffix(".arrow") || name.hasSuffix(".tmp")) && !listed.contains(name)
        }.map { FileSystem.join(directory, $0) }.sorted()
    }

    /// After a kill: every `.arrow` file is an Arrow file; `check` reports exactly the
    /// files the catalog does not list among its problems, `repair` removes them, and then
    /// the store checks clean. Returns how many leftovers there were.
    private func expectLeftoversHandled(_ path: String, _ table: String, _ comment: String) throws -> Int {
        let store = try Store(at: path, log: StoreLog.silent)
        let unlisted = try leftovers(store, table)
        // A listed file may end in a torn footer (the append in flight; recovery cuts it), but
        // a file under a data name that the catalog does not list must be a complete one.
        for file in unlisted where file.hasSuffix(".arrow") {
            #expect(throws: Never.self, "\(comment): \(file) is not an Arrow file") { try FileReader(input: try MappedFile(path: file)) }
        }
        let checks = try store.check()
        let flagged = checks.filter { $0.needsRepair && !$0.isHealthy }.map(\.path)
        for file in unlisted { #expect(flagged.contains(file), "\(comment): check did not report \(file): \(checks)") }
        let repaired = try store.repair()
        #expect(Set(repaired.filter(\.removed).map(\.path)) == Set(unlisted), "\(comment): \(repaired)")
        #expect(try leftovers(store, table).isEmpty)
        let after = try store.check()
        let unhealthy = after.filter { !$0.isHealthy }
        #expect(unhealthy.isEmpty, "\(comment): \(unhealthy)")
        return unlisted.count
    }

    @Test("a writer killed while rolling to new files leaves nothing check misses or repair keeps", .timeLimit(.minutes(1)))
    func killedDuringRoll() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = directory.file("store")
        var generator = SeededRandom(seed: 104)
        let deadline = Date().addingTimeInterval(20)
        var round = 0, withLeftovers = 0, acknowledged = -1
        while round < 40 && Date() < deadline {
            round += 1
            // One batch per file: every append rolls (creates a file, then lists it).
            let child = try ChildProcess(quiverBinary, ["store", "test-writer", store, "t", "--max-batches-per-file", "1"])
            #expect(child.wait { $0.contains { $0.hasPrefix("start ") } }, "round \(round): \(child.output)")
            usleep(UInt32.random(in: 0...30_000, using: &generator))
            child.kill()
            acknowledged = max(acknowledged, child.output.compactMap { $0.hasPrefix("ack ") ? Int($0.dropFirst(4)) : nil }.max() ?? -1)
            withLeftovers += try expectLeftoversHandled(store, "t", "round \(round)") > 0 ? 1 : 0
            let snapshot = try Store(at: store, log: StoreLog.silent).snapshot(of: "t")
            #expect(snapshot.numRecordBatches >= acknowledged + 1, "round \(round): lost acknowledged batches")
            for (k, batch) in try snapshot.readBatches().enumerated() {
                let violation = testWriterViolation(batch, k)
                #expect(violation == nil, "round \(round): \(violation ?? "")")
            }
        }
        #expect(round >= 10 && acknowledged >= 5, "\(round) rounds, \(acknowledged + 1) batches acknowledged, \(withLeftovers) with leftovers")
    }

    @Test("a compaction killed at any point keeps the table's rows; its leftovers are reported and removed", .timeLimit(.minutes(1)))
    func killedDuringCompaction() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = directory.file("store")
        let count = 400
        let setup = try ChildProcess(quiverBinary, ["store", "test-writer", store, "t", "--count", "\(count)", "--max-batches-per-file", "10"])
        setup.waitForExit()
        let expected = (0..<count).flatMap { k in (0..<(1 + k % 5)).map { "\(k)-\($0)" } }
        var generator = SeededRandom(seed: 105)
        let deadline = Date().addingTimeInterval(20)
        var round = 0, withLeftovers = 0, completed = 0
        while round < 25 && Date() < deadline {
            round += 1
            // Alternate the target so that every compaction rewrites the whole table.
            let rows = round % 2 == 0 ? "7" : "11"
            let child = try ChildProcess(quiverBinary, ["store", "compact", store, "t", "--rows-per-batch", rows])
            // A compaction syncs each new file: the kill must be able to fall that late.
            usleep(UInt32.random(in: 0...400_000, using: &generator))
            child.kill()
            if child.output.contains(where: { $0.hasPrefix("compacted") }) { completed += 1 }
            let snapshot = try Store(at: store, log: StoreLog.silent).snapshot(of: "t")
            var texts: [String] = []
            try snapshot.forEachBatch { batch in
                let column = try StringArray(batch.columns[2])
                texts += (0..<batch.length).map { column[$0] ?? "" }
                return true
            }
            #expect(texts == expected, "round \(round): the table's rows changed (\(texts.count) rows)")
            withLeftovers += try expectLeftoversHandled(store, "t", "round \(round)") > 0 ? 1 : 0
        }
        #expect(round >= 10 && withLeftovers > 0, "\(round) rounds, \(completed) completed, \(withLeftovers) with leftovers")
    }

    @Test("a killed store append of a three-batch file leaves all three batches or none", .timeLimit(.minutes(1)))
    func killedMultiBatchAppend() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let input = directory.file("three.arrow")
        let rows = [30_000, 20_000, 40_000]
        let output = try FileOutput(path: input)
        let fileWriter = try FileWriter(output: output, schema: Sample.schema)
        for (k, count) in rows.enumerated() { try fileWriter.write(Sample.batch(k, rows: count)) }
        try fileWriter.finish()
        try output.close()
        let store = directory.file("store")
        let create = try ChildProcess(quiverBinary, ["store", "create", store, "t", "--schema-from", input, "--max-batches-per-file", "2"])
        create.waitForExit()
        var generator = SeededRandom(seed: 106)
        let deadline = Date().addingTimeInterval(20)
        var round = 0, previous = 0, landed = 0
        while round < 40 && Date() < deadline {
            round += 1
            let child = try ChildProcess(quiverBinary, ["store", "append", store, "t", input, "--no-sync", "-q"])
            // Most of a debug build's call passes before the writes: the kill must be able to fall after.
            usleep(UInt32.random(in: 0...150_000, using: &generator))
            child.kill()
            // Opening the writer recovers whatever the kill left.
            let writer = try Store(at: store, log: StoreLog.silent).writer(for: "t", options: fastWriter)
            let snapshot = try writer.snapshot()
            try writer.close()
            let batches = snapshot.numRecordBatches
            #expect(batches == previous || batches == previous + 3, "round \(round): \(previous) batches became \(batches)")
            for index in Set([batches - 1, batches - 2, batches - 3, previous]) where index >= 0 && index < batches {
                #expect(Sample.matches(try snapshot.recordBatch(at: index), index % 3, rows: rows[index % 3]), "round \(round): batch \(index)")
            }
            if batches > previous { landed += 1 }
            previous = batches
        }
        #expect(round >= 10 && landed > 0, "\(round) rounds, \(landed) landed")
    }
}
