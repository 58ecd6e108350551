import Foundation

/// Locations the tests read from, resolved relative to this source file so they work from
/// any working directory.
public enum TestPaths {
    /// The repository root (the folder holding Package.swift).
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `../shared/golden` beside the repository (CI has it at the same relative path).
    public static let golden: URL = repositoryRoot.deletingLastPathComponent()
        .appendingPathComponent("shared/golden")

    /// `../shared/regressions` beside the repository: inputs that once crashed Quiver.
    public static let regressions: URL = repositoryRoot.deletingLastPathComponent()
        .appendingPathComponent("shared/regressions")

    /// `Tests/Regressions`: the committed regression corpus, a folder per fuzz target.
    public static let committedRegressions: URL = repositoryRoot.appendingPathComponent("Tests/Regressions")

    /// A fresh temporary directory for one test.
    public static func temporaryDirectory(_ name: String = "quiver-test") throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
