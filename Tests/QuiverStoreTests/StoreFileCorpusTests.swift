import Foundation
import QuiverTestSupport
import Testing

/// Check and repair (`StoreFileReplay`, the `FuzzStoreFile` target's work) over every
/// malformed Arrow file we have — Arrow's fuzzer finds, our regressions, the committed
/// `Tests/Regressions/FuzzStoreFile` corpus — each with its outcome recorded in
/// `Tests/Regressions/store-outcomes.txt`. `QUIVER_RECORD_OUTCOMES=1` rewrites the manifest.
@Suite(.tags(.untrustedInput)) struct StoreFileCorpusTests {
    static let directories: [(label: String, directory: URL)] = [
        ("golden/bad/file", TestPaths.golden.appendingPathComponent("bad/file")),
        ("regressions", TestPaths.regressions),
        ("Tests/Regressions/FuzzStoreFile", TestPaths.committedRegressions.appendingPathComponent("FuzzStoreFile")),
    ]

    static let manifest = TestPaths.committedRegressions.appendingPathComponent("store-outcomes.txt")

    @Test func everyFileHasItsRecordedOutcome() throws {
        let scratch = try TemporaryDirectory("quiver-store-corpus")
        defer { scratch.remove() }
        var actual: [String: String] = [:]
        for (label, directory) in Self.directories {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
                .filter { $0 != "README.md" && !$0.hasPrefix(".") }.sorted()
            for name in names {
                let path = scratch.file(name)
                try? FileManager.default.removeItem(atPath: path)
                try FileManager.default.copyItem(atPath: directory.appendingPathComponent(name).path, toPath: path)
                try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
                let start = ContinuousClock.now
                actual["\(label)/\(name)"] = StoreFileReplay.run(path: path)
                #expect(ContinuousClock.now - start < .seconds(2), "\(label)/\(name) took too long")
            }
        }
        #expect(actual.count > 50)
        for difference in try OutcomeManifest.differences(actual, manifest: Self.manifest) {
            Issue.record(Comment(rawValue: difference))
        }
    }
}
