import Foundation
import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverTestSupport
import Testing
@testable import QuiverStore

@Suite("quiver store, check, repair")
struct CommandLineTests {
    /// Runs `quiver` with `arguments` (and `input` on standard input); returns its exit
    /// status and standard output.
    private func quiver(_ arguments: [String], input: Data = Data()) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: quiverBinary)
        process.arguments = arguments
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        stdin.fileHandleForWriting.write(input)
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    @Test("append a file and a stream from stdin, list, stats, compact, check, repair")
    func endToEnd() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = directory.file("in.arrow")
        let output = try FileOutput(path: file)
        let writer = try FileWriter(output: output, schema: Sample.schema)
        for k in 0..<4 { try writer.write(Sample.batch(k, rows: 5)) }
        try writer.finish()
        try output.close()
        let stream = BufferOutputStream()
        let streamWriter = try StreamWriter(output: stream, schema: Sample.schema)
        try streamWriter.write(Sample.batch(9, rows: 2))
        try streamWriter.finish()

        let store = directory.file("store")
        #expect(try quiver(["store", "append", store, "t", file, "--max-batches-per-file", "3", "-q"]).status == 0)
        #expect(try quiver(["store", "append", store, "t", "-", "-q"], input: Data(stream.getvalue().array)).status == 0)
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
        #expect(repaired.status == 0 && repaired.output.contains("repaired") && repaired.output.contains("kept 2 batches"))
        #expect(try quiver(["check", store]).status == 0)

        let compacted = try quiver(["store", "compact", store, "t"])
        #expect(compacted.output.contains("2 files → 1, 5 batches → 1, 22 rows"), "\(compacted.output)")
        #expect(try Store(at: store).snapshot(of: "t").numRows == 22)
    }
}
