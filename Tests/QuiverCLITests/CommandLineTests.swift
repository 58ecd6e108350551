import Foundation
import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverTestSupport
import Testing
import QuiverStore

@Suite("quiver store, check, repair")
struct CommandLineTests {
    /// Runs `quiver` with `arguments` (and `input` on standard input); returns its exit
    /// status and standard output.
    private func quiver(_ arguments: [String], input: Data = Data()) throws -> (status: Int32, output: String) {
        let result = try quiverWithErrors(arguments, input: input)
        return (result.status, result.output)
    }

    /// `quiver(_:input:)`, with standard error (a file: not a terminal) too.
    private func quiverWithErrors(_ arguments: [String], input: Data = Data()) throws -> (status: Int32, output: String, errors: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: quiverBinary)
        process.arguments = arguments
        let stdin = Pipe(), stdout = Pipe()
        let errorsPath = NSTemporaryDirectory() + "quiver-stderr-\(UUID().uuidString)"
        try #require(FileManager.default.createFile(atPath: errorsPath, contents: nil))
        defer { try? FileManager.default.removeItem(atPath: errorsPath) }
        let errors = try FileHandle(forWritingTo: URL(fileURLWithPath: errorsPath))
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = errors
        try process.run()
        stdin.fileHandleForWriting.write(input)
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try errors.close()
        let errorText = String(decoding: try Data(contentsOf: URL(fileURLWithPath: errorsPath)), as: UTF8.self)
        return (process.terminationStatus, String(decoding: output, as: UTF8.self), errorText)
    }

    @Test("append a file and a stream from stdin, list, stats, compact, check, repair")
    func endToEnd() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = directory.file("in.arrow")
        try writeSampleFile(file)
        let stream = BufferOutputStream()
        let streamWriter = try StreamWriter(output: stream, schema: Sample.schema)
        try streamWriter.write(Sample.batch(9, rows: 2))
        try streamWriter.finish()

        let store = directory.file("store")
        #expect(try quiver(["store", "append", store, "t", file, "--max-batches-per-file", "3", "-q"]).status == 0)
        #expect(try quiver(["store", "append", store, "t", "-", "-q"], input: Data(stream.getvalue().array)).status == 0)
        // The file's four batches are one commit: they share a file whatever its limits;
        // the next append rolls.
        let list = try quiver(["store", "list", store])
        #expect(list.output.hasPrefix("t: 2 files, 5 batches, 22 rows"), "\(list.output)")
        let stats = try quiver(["store", "stats", store, "t"])
        #expect(stats.output.contains("id (int64): nulls 0, min 0, max 9001"), "\(stats.output)")
        #expect(stats.output.contains("name (string): nulls 4"), "\(stats.output)")
        #expect(try quiver(["check", store]).status == 0)

        // Tear the last file's footer: check fails, repair fixes it, check passes.
        let snapshot = try Store(at: store).snapshot(of: "t")
        let last = try #require(snapshot.files.last).path
        try writeFile(last, try fileBytes(last).dropLast(4))
        let failed = try quiver(["check", last])
        #expect(failed.status == 1 && failed.output.contains("footer unusable"))
        let repaired = try quiver(["repair", store])
        #expect(repaired.status == 0 && repaired.output.contains("repaired") && repaired.output.contains("kept 1 batches"), "\(repaired.output)")
        #expect(try quiver(["check", store]).status == 0)

        let compacted = try quiver(["store", "compact", store, "t"])
        #expect(compacted.output.contains("2 files → 1, 5 batches → 1, 22 rows"), "\(compacted.output)")
        #expect(try Store(at: store).snapshot(of: "t").numRows == 22)
    }

    /// Writes an Arrow file of `Sample` batches 0..<4, 5 rows each.
    private func writeSampleFile(_ path: String) throws {
        let output = try FileOutput(path: path)
        let writer = try FileWriter(output: output, schema: Sample.schema)
        for k in 0..<4 { try writer.write(Sample.batch(k, rows: 5)) }
        try writer.finish()
        try output.close()
    }

    /// A store with table `t` of `Sample` batches 0..<4 (5 rows each), appended by the CLI.
    private func sampleStore(_ directory: TemporaryDirectory, arguments: [String] = []) throws -> (store: String, output: String) {
        let file = directory.file("in.arrow")
        try writeSampleFile(file)
        let store = directory.file("store")
        let appended = try quiver(["store", "append", store, "t", file, "-q"] + arguments)
        #expect(appended.status == 0)
        return (store, appended.output)
    }

    @Test("store append commits a call's batches together, or acknowledges each commit as a JSON line")
    func appendAcknowledgements() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (store, output) = try sampleStore(directory, arguments: ["--batches-per-commit", "3"])
        #expect(
            output == "{\"commit\":1,\"first_batch\":0,\"batches\":3,\"rows\":15}\n"
                + "{\"commit\":2,\"first_batch\":3,\"batches\":1,\"rows\":5}\n", "\(output)")
        let single = try quiver(["store", "append", store, "t", directory.file("in.arrow"), "-q"])
        #expect(single.status == 0 && single.output.isEmpty)
        #expect(try Store(at: store).snapshot(of: "t").numRecordBatches == 8)
    }

    @Test("store append with settings changes an existing table's settings")
    func appendChangesSettings() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (store, _) = try sampleStore(directory)
        let changed = try quiver(
            ["store", "append", store, "t", directory.file("in.arrow"), "-q", "--compression", "zstd", "--max-batches-per-file", "5"])
        #expect(changed.status == 0)
        let options = try Store(at: store).table("t").options
        #expect(options.compression == .zstd && options.maxBatchesPerFile == 5 && options.maxFileBytes == 1 << 30, "\(options)")
        #expect(try quiver(["store", "list", store]).output.contains("compression zstd"))
        #expect(try quiver(["check", store]).status == 0)
    }

    @Test("query --verify fails on a damaged batch that a plain query reads as altered values; repair cuts it")
    func verifyAndRepairDamage() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (store, _) = try sampleStore(directory)
        let snapshot = try Store(at: store).snapshot(of: "t")
        let file = snapshot.files[0]
        let block = file.footer.recordBatches[2]
        var bytes = try fileBytes(file.path)
        // The first value of batch 2's id column: its body starts with the (absent) validity
        // bitmap, so flip a byte in the first 8-byte value after it.
        let body = Int(block.offset) + Int(block.metadataLength)
        let firstId = Array(withUnsafeBytes(of: Int64(2000).littleEndian) { Array($0) })
        let at = try #require((body..<(body + 64)).first { bytes[$0..<($0 + 8)].elementsEqual(firstId) })
        bytes[at] ^= 0x01
        try writeFile(file.path, bytes)
        let sql = "SELECT min(id) AS m FROM t WHERE id >= 2000 AND id < 3000"
        let plain = try quiver(["query", store, sql, "--format", "csv"])
        #expect(plain.status == 0 && plain.output.contains("2001"), "\(plain.output)")  // 2000 ^ 1: altered, silently
        let verified = try quiver(["query", store, sql, "--format", "csv", "--verify"])
        #expect(verified.status != 0 && verified.output.isEmpty, "\(verified.output)")
        #expect(try quiver(["check", store]).status == 1)
        let repaired = try quiver(["repair", store])
        #expect(repaired.status == 0 && repaired.output.contains("kept 2 batches"), "\(repaired.output)")
        #expect(try quiver(["check", store]).status == 0)
        #expect(try quiver(["query", store, "SELECT count(*) AS n FROM t", "--format", "csv", "--verify"]).output.contains("10"))
    }

    @Test("progress on standard error that is not a terminal is plain lines, without escape sequences")
    func progressWithoutEscapes() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (store, _) = try sampleStore(directory)
        let result = try quiverWithErrors(["store", "append", store, "t", directory.file("in.arrow"), "--progress-after", "0"])
        #expect(result.status == 0)
        #expect(result.errors.contains("1 batches, 5 rows") && result.errors.contains("appended to 't': 4 batches"), "\(result.errors)")
        #expect(!result.errors.contains("\u{1B}") && !result.errors.contains("\r"), "\(result.errors.debugDescription)")
    }

    @Test("store list on a crashed store says the table needs repair")
    func listSaysRepair() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (store, _) = try sampleStore(directory)
        let file = try Store(at: store).snapshot(of: "t").files[0].path
        try writeFile(file, try fileBytes(file).dropLast(3))
        let listed = try quiverWithErrors(["store", "list", store])
        #expect(listed.status == 0 && listed.output.contains("4 batches"), "\(listed.output)")
        #expect(listed.errors.contains("needs repair"), "\(listed.errors)")
    }
}
