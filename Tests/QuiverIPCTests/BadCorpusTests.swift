import Foundation
import QuiverArrow
import QuiverBytes
@testable import QuiverIPC
import QuiverTestSupport
import Testing

/// Every input that ever crashed or hung a reader — Arrow's fuzzer finds (`golden/bad`), ours
/// (`../shared/regressions`, `Tests/Regressions`) — read the way the fuzz targets read them
/// (`CorpusReplay`: every batch, every value formatted, integration JSON written), quickly,
/// with the outcome recorded for it in `Tests/Regressions/outcomes.txt`: how many batches
/// decoded and which error stopped the rest. Valid batches must also re-encode.
///
/// `QUIVER_RECORD_OUTCOMES=1` rewrites the manifest from this run instead of comparing (review
/// the diff: every changed line is a changed behaviour).
@Suite(.tags(.untrustedInput)) struct BadCorpusTests {
    /// How the inputs of a folder are read.
    enum Kind { case file, stream, sniffed }

    /// One reading of one input: its manifest key and how to read it.
    struct Reading: CustomStringConvertible {
        let label: String
        let mode: String
        let path: String
        var description: String { "\(label) \(mode)" }
    }

    static let corpora: [(label: String, directory: URL, kind: Kind)] = [
        ("golden/bad/file", TestPaths.golden.appendingPathComponent("bad/file"), .file),
        ("golden/bad/stream", TestPaths.golden.appendingPathComponent("bad/stream"), .stream),
        ("regressions", TestPaths.regressions, .sniffed),
        ("Tests/Regressions/FuzzFileReader", TestPaths.committedRegressions.appendingPathComponent("FuzzFileReader"), .file),
        ("Tests/Regressions/FuzzStreamReader", TestPaths.committedRegressions.appendingPathComponent("FuzzStreamReader"), .stream),
    ]

    static let manifest = TestPaths.committedRegressions.appendingPathComponent("outcomes.txt")

    static func files(_ directory: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { $0 != "README.md" && !$0.hasPrefix(".") }.sorted()
    }

    /// Files are read as files and, from byte 8, as the stream they embed; streams whole and
    /// in 7-byte pieces.
    static let readings: [Reading] = corpora.flatMap { corpus in
        files(corpus.directory).flatMap { name -> [Reading] in
            let path = corpus.directory.appendingPathComponent(name).path
            var kind = corpus.kind
            if kind == .sniffed {
                let head = (try? FileHandle(forReadingFrom: URL(fileURLWithPath: path)).read(upToCount: 6)) ?? nil
                kind = head == Data("ARROW1".utf8) ? .file : .stream
            }
            let modes = kind == .file ? ["file", "stream@8"] : ["stream", "stream/7"]
            return modes.map { Reading(label: "\(corpus.label)/\(name)", mode: $0, path: path) }
        }
    }

    /// Reads one input in one mode; checks it was quick and that what decoded re-encodes.
    static func outcome(_ reading: Reading) throws -> String {
        let bytes = Buffer(copying: [UInt8](try Data(contentsOf: URL(fileURLWithPath: reading.path))))
        let start = ContinuousClock.now
        let (outcome, batches): (String, [RecordBatch])
        switch reading.mode {
        case "file": (outcome, batches) = CorpusReplay.readFile(bytes)
        case "stream@8": (outcome, batches) = CorpusReplay.readStream(try bytes.slice(from: min(8, bytes.count)))
        case "stream/7":
            (outcome, batches) = CorpusReplay.readStream {
                try StreamReader(input: ChunkedInput(bytes, chunk: 7), options: CorpusReplay.options)
            }
        default: (outcome, batches) = CorpusReplay.readStream(bytes)
        }
        let json = CorpusReplay.touch(batches) == nil ? ", JSON refused" : ""
        let elapsed = ContinuousClock.now - start
        #expect(elapsed < .seconds(1), "\(reading) took \(elapsed)")
        for batch in batches {
            #expect(throws: Never.self, "\(reading): a valid batch must re-encode") {
                try ArrayEncoder.encode(batch.columns, length: batch.length)
            }
        }
        return outcome + json
    }

    @Test func corporaArePresent() {
        #expect(Self.files(Self.corpora[0].directory).count > 40)
        #expect(Self.files(Self.corpora[1].directory).count > 30)
        #expect(Self.files(Self.corpora[2].directory).count >= 7)
    }

    @Test func everyInputHasItsRecordedOutcome() throws {
        var actual: [String: String] = [:]
        for reading in Self.readings { actual[reading.description] = try Self.outcome(reading) }
        for difference in try OutcomeManifest.differences(actual, manifest: Self.manifest) {
            Issue.record(Comment(rawValue: difference))
        }
    }
}
