import Foundation
import QuiverArrow
import QuiverBytes
@testable import QuiverIPC
import QuiverTestSupport
import Testing

/// Fuzzer-found inputs: each must give valid batches or a QuiverError, quickly, never a trap.
@Suite struct BadCorpusTests {
    static func files(_ kind: String) -> [String] {
        let directory = TestPaths.golden.appendingPathComponent("bad/\(kind)")
        return ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { $0 != "README.md" }.sorted().map { directory.appendingPathComponent($0).path }
    }

    /// Reads everything, re-encodes what decoded, and reports the outcome.
    static func outcome(_ path: String, _ read: (Buffer) throws -> [RecordBatch]) throws -> String {
        let bytes = Buffer(copying: [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
        let start = ContinuousClock.now
        defer {
            let elapsed = ContinuousClock.now - start
            #expect(elapsed < .seconds(1), "\(path) took \(elapsed)")
        }
        do {
            let batches = try read(bytes)
            for batch in batches { _ = try? ArrayEncoder.encode(batch.columns, length: batch.length) }
            return "ok"
        } catch let error as QuiverError {
            return error.code.description
        }
    }

    @Test func corpusIsPresent() {
        #expect(Self.files("file").count > 40)
        #expect(Self.files("stream").count > 30)
    }

    @Test(arguments: files("file")) func badFile(_ path: String) throws {
        _ = try Self.outcome(path) { try FileReader(buffer: $0).readBatches() }
        // The stream embedded in a file, read as a stream.
        _ = try Self.outcome(path) { try StreamReader(buffer: try $0.slice(from: min(8, $0.count))).readBatches() }
    }

    @Test(arguments: files("stream")) func badStream(_ path: String) throws {
        _ = try Self.outcome(path) { try StreamReader(buffer: $0).readBatches() }
        _ = try Self.outcome(path) { try StreamReader(input: ChunkedInput($0, chunk: 7)).readBatches() }
    }
}
