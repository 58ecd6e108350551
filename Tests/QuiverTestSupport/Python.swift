import Foundation

/// Runs Python snippets for interoperability tests (pyarrow is installed by scripts/setup.sh).
public enum Python {
    /// Runs `script` with `python3 -c`, feeding `input` on standard input; returns standard
    /// output. Throws with standard error when the script fails.
    public static func run(_ script: String, input: [UInt8] = [], arguments: [String] = []) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        // Write and read concurrently so large payloads cannot deadlock on full pipes.
        let writer = Thread {
            stdin.fileHandleForWriting.write(Data(input))
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let errorData = ErrorBox()
        let errorReader = Thread { errorData.data = stderr.fileHandleForReading.readDataToEndOfFile() }
        errorReader.start()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while errorData.data == nil { usleep(1000) }
        guard process.terminationStatus == 0 else {
            throw PythonError(message: String(decoding: errorData.data ?? Data(), as: UTF8.self))
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Whether python3 can import pyarrow here.
    public static let hasPyArrow: Bool = (try? run("import pyarrow")) != nil
}

/// A Python script failed; `message` is its standard error.
public struct PythonError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { "python failed: \(message)" }
}

private final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Data?
    var data: Data? {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}
