import Foundation

/// A recorded outcome per corpus input (`Tests/Regressions/*.txt`: `key<TAB>outcome` lines),
/// so that corpus tests assert what each input does instead of only that it does not crash.
public enum OutcomeManifest {
    /// Whether this run records (`QUIVER_RECORD_OUTCOMES` set) instead of comparing.
    public static var recording: Bool { ProcessInfo.processInfo.environment["QUIVER_RECORD_OUTCOMES"] != nil }

    /// Compares `actual` with the manifest at `url` and returns one message per difference
    /// (a changed outcome, an input without a record, a record without its input). When
    /// recording, rewrites the manifest instead and returns no differences.
    public static func differences(_ actual: [String: String], manifest url: URL) throws -> [String] {
        if recording {
            let lines = actual.keys.sorted().map { "\($0)\t\(actual[$0]!)\n" }
            try lines.joined().write(to: url, atomically: true, encoding: .utf8)
            return []
        }
        var recorded: [String: String] = [:]
        for line in try String(contentsOf: url, encoding: .utf8).split(separator: "\n") {
            let parts = line.split(separator: "\t", maxSplits: 1).map(String.init)
            if parts.count == 2 { recorded[parts[0]] = parts[1] }
        }
        var messages: [String] = []
        for key in actual.keys.sorted() where recorded[key] != actual[key] {
            messages.append("\(key): \(actual[key]!), recorded \(recorded[key] ?? "nothing")")
        }
        for key in recorded.keys.sorted() where actual[key] == nil {
            messages.append("\(key) is recorded but its input is missing")
        }
        return messages
    }
}
