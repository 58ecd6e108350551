import Foundation
import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverTestSupport
@testable import QuiverStore

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

/// File options for tests: no fsync (tests simulate crashes by other means), checksums on
/// (so recovery checks them).
let fastAppend = AppendOptions(durability: .buffered, checksums: true)
let fastWriter = WriterOptions(durability: .buffered, checksums: true)

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
