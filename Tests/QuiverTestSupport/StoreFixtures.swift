import Foundation
import QuiverArrow
import QuiverBytes

// Fixtures shared by the store tests and the command-line tests.

/// Small batches with an int64, a nullable utf8 and a float64 column; batch `k` is
/// recognisable from its values.
public enum Sample {
    public static let schema = Schema([Field("id", .int64), Field("name", .utf8), Field("score", .float64)])

    /// Batch `k`: `rows` rows, ids `k*1000 + i`, names `"k-i"` (every 4th null), scores `i/2`.
    public static func batch(_ k: Int, rows: Int = 3) -> RecordBatch {
        let ids = (0..<rows).map { Int64(k * 1000 + $0) }
        let names: [String?] = (0..<rows).map { $0 % 4 == 3 ? nil : "\(k)-\($0)" }
        let scores = (0..<rows).map { Double($0) / 2 }
        return try! RecordBatch(
            schema: schema, columns: [ArrayData.build(from: ids), ArrayData.build(from: names), ArrayData.build(from: scores)])
    }

    /// Whether `batch` is `Sample.batch(k, rows:)`.
    public static func matches(_ batch: RecordBatch, _ k: Int, rows: Int = 3) -> Bool {
        batch.logicallyEquals(Sample.batch(k, rows: rows))
    }
}

/// A fresh directory, removed when the test is done (call `remove()`).
public struct TemporaryDirectory: Sendable {
    public let url: URL
    public var path: String { url.path }

    public init(_ name: String = "quiver-store") throws {
        url = try TestPaths.temporaryDirectory(name)
    }

    public func file(_ name: String) -> String { url.appendingPathComponent(name).path }

    public func remove() { try? FileManager.default.removeItem(at: url) }
}

/// The bytes of a file.
public func fileBytes(_ path: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// Writes bytes to a file, replacing it (no fsync: tests rewrite files thousands of times).
public func writeFile(_ path: String, _ bytes: some Collection<UInt8>) throws {
    let descriptor = try FileDescriptor.open(path, .writeOnly, options: [.create, .truncate])
    defer { try? descriptor.close() }
    try Array(bytes).withUnsafeBytes { try descriptor.writeAll($0) }
}

/// The `quiver` binary next to the test bundle (built with the tests: the test targets
/// that run it depend on it).
public let quiverBinary: String = {
    let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var directory = URL(fileURLWithPath: executable).deletingLastPathComponent()
    // On macOS the runner sits inside the .xctest bundle; on Linux next to the products.
    while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("quiver").path), directory.path != "/" {
        directory = directory.deletingLastPathComponent()
    }
    return directory.appendingPathComponent("quiver").path
}()
