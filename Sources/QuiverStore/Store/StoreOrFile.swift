import QuiverBytes

extension FileCheck {
    /// Checks what is at `path`: every data file of a store, when `path` is a directory
    /// (`Store.check()`), otherwise the one Arrow file (`check(path:)`). Reads all data.
    /// O(total bytes).
    public static func check(storeOrFile path: String) throws -> [FileCheckReport] {
        FileSystem.isDirectory(path) ? try Store(at: path).check() : [check(path: path)]
    }

    /// Repairs what is at `path`: a store, when `path` is a directory (`Store.repair()`),
    /// otherwise the one Arrow file (`repair(path:)`). Returns what was done; empty when
    /// nothing needed repair.
    /// O(total bytes) to find damage, plus rewriting the damaged files.
    public static func repair(
        storeOrFile path: String, log: @escaping @Sendable (String) -> Void = StoreLog.standardError
    ) throws -> [RecoveryReport] {
        if FileSystem.isDirectory(path) { return try Store(at: path, log: log).repair() }
        return try repair(path: path, log: log).map { [$0] } ?? []
    }
}
