import Foundation
import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverTestSupport
@testable import QuiverStore

/// Small batches with an int64, a nullable utf8 and a float64 column; batch `k` is
/// recognisable from its values.
enum Sample {
    static let schema = Schema([Field("id", .int64), Field("name", .utf8), Field("score", .float64)])

    /// Batch `k`: `rows` rows, ids `k*1000 + i`, names `"k-i"` (every 4th null), scores `i/2`.
    static func batch(_ k: Int, rows: Int = 3) -> RecordBatch {
        let ids = (0..<rows).map { Int64(k * 1000 + $0) }
        let names: [String?] = (0..<rows).map { $0 % 4 == 3 ? nil : "\(k)-\($0)" }
        let scores = (0..<rows).map { Double($0) / 2 }
        return try! RecordBatch(
            schema: schema, columns: [ArrayData.build(from: ids), ArrayData.build(from: names), ArrayData.build(from: scores)])
    }

    /// Whether `batch` is `Sample.batch(k, rows:)`.
    static func matches(_ batch: RecordBatch, _ k: Int, rows: Int = 3) -> Bool {
        batch.logicallyEquals(Sample.batch(k, rows: rows))
    }
}

/// The rule of `quiver store test-writer`'s batches: batch `k` has `1 + k % 5` rows, row `i`
/// holds `(k, i, "k-i")`. Returns the first violation, or nil.
func testWriterViolation(_ batch: RecordBatch, _ k: Int) -> String? {
    guard batch.length == 1 + k % 5 else { return "batch \(k) has \(batch.length) rows" }
    guard let ids = try? Int64Array(batch.columns[0]), let rows = try? Int32Array(batch.columns[1]),
        let texts = try? StringArray(batch.columns[2])
    else { return "batch \(k) has the wrong column types" }
    for i in 0..<batch.length where ids[i] != Int64(k) || rows[i] != Int32(i) || texts[i] != "\(k)-\(i)" {
        return "batch \(k) row \(i) holds (\(String(describing: ids[i])), \(String(describing: rows[i])), \(String(describing: texts[i])))"
    }
    return nil
}

/// A fresh directory, removed when the test is done (call `remove()`).
struct TemporaryDirectory {
    let url: URL
    var path: String { url.path }

    init(_ name: String = "quiver-store") throws {
        url = try TestPaths.temporaryDirectory(name)
    }

    func file(_ name: String) -> String { url.appendingPathComponent(name).path }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// File options for tests: no fsync (tests simulate crashes by other means), checksums on
/// (so recovery checks them).
let fastAppend = AppendOptions(durability: .buffered, checksums: true)
let fastWriter = WriterOptions(durability: .buffered, checksums: true)

/// The bytes of a file.
func fileBytes(_ path: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// Writes bytes to a file, replacing it (no fsync: tests rewrite files thousands of times).
func writeFile(_ path: String, _ bytes: some Collection<UInt8>) throws {
    let descriptor = try FileDescriptor.open(path, .writeOnly, options: [.create, .truncate])
    defer { try? descriptor.close() }
    try Array(bytes).withUnsafeBytes { try descriptor.writeAll($0) }
}

/// The `quiver` binary next to the test bundle (built with the tests: the test target
/// depends on it).
let quiverBinary: String = {
    let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var directory = URL(fileURLWithPath: executable).deletingLastPathComponent()
    // On macOS the runner sits inside the .xctest bundle; on Linux next to the products.
    while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("quiver").path), directory.path != "/" {
        directory = directory.deletingLastPathComponent()
    }
    return directory.appendingPathComponent("quiver").path
}()

/// A child process whose standard output is collected line by line as it arrives.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    private let lock = NSLock()
    private var lines: [String] = []
    private var partial = ""
    private var ended = false

    init(_ executable: String, _ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let handle = output.fileHandleForReading
        Thread { [self] in
            while true {
                let data = handle.availableData
                if data.isEmpty {
                    lock.withLock { ended = true }
                    return
                }
                lock.withLock {
                    partial += String(decoding: data, as: UTF8.self)
                    while let newline = partial.firstIndex(of: "\n") {
                        lines.append(String(partial[..<newline]))
                        partial = String(partial[partial.index(after: newline)...])
                    }
                }
            }
        }.start()
    }

    /// The complete lines read so far.
    var output: [String] { lock.withLock { lines } }
    /// Whether the child closed its output.
    var hasEnded: Bool { lock.withLock { ended } }

    /// Waits until `condition` holds for the lines read, the output ends, or `timeout` passes.
    @discardableResult
    func wait(timeout: Double = 20, until condition: ([String]) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition(output) { return true }
            if hasEnded { return condition(output) }
            usleep(500)
        }
        return false
    }

    /// SIGKILL, then reap.
    func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        while !hasEnded { usleep(200) }
    }

    /// Waits for the child to exit by itself.
    func waitForExit() {
        process.waitUntilExit()
        while !hasEnded { usleep(200) }
    }
}
