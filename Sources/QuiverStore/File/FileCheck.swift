import QuiverArrow
import QuiverBytes
import QuiverIPC

/// The result of verifying one file.
public struct FileCheckReport: Sendable, Hashable, CustomStringConvertible {
    /// The file checked.
    public let path: String
    /// What is wrong, if anything (empty for a healthy file).
    public let problems: [String]
    /// Record batches the footer lists (0 when the footer is unusable).
    public let batches: Int
    /// Rows in them.
    public let rows: Int
    /// Whether the footer carries a valid seal (files written by the store do).
    public let sealed: Bool
    /// Whether the footer is unusable, so `repair` would rebuild it.
    public let needsRepair: Bool

    /// No problems found.
    public var isHealthy: Bool { problems.isEmpty }

    /// `ok` or `BAD`, the path and a summary; then one line per problem.
    public var description: String {
        let summary = "\(batches) batches, \(rows) rows\(sealed ? ", sealed" : "")"
        return problems.isEmpty
            ? "ok \(path): \(summary)"
            : "BAD \(path): \(summary)\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}

/// Verifying and repairing single files (`quiver check` / `quiver repair`).
public enum FileCheck {
    /// Reads the whole file: the footer (and its seal), then every batch — its body
    /// checksum, full validation, and its statistics against the footer's. Never throws:
    /// whatever fails is a problem in the report.
    ///
    /// The footer is read as a snapshot reads it, so checking a file that a writer is
    /// appending to checks its last commit: a footer that fails verification is read again
    /// for up to `retryTimeout`, or once more after `keepRetrying` says no writer is alive.
    /// O(file bytes): every body is hashed, validated and its statistics recomputed.
    public static func check(path: String, retryTimeout: Duration = .seconds(2)) -> FileCheckReport {
        check(path: path, retryTimeout: retryTimeout, keepRetrying: { true })
    }

    static func check(path: String, retryTimeout: Duration = .seconds(2), keepRetrying: () -> Bool) -> FileCheckReport {
        let input: MappedFile
        let footer: CommittedFooter
        do {
            let (mapping, result) = try FileSnapshot.mapCommitted(
                path: path, requireSeal: false, retryTimeout: retryTimeout, pool: .default, keepRetrying: keepRetrying)
            input = mapping
            switch result {
            case .success(let committed): footer = committed
            case .failure(let error):
                return FileCheckReport(
                    path: path, problems: ["footer unusable (run repair): \(error)"], batches: 0, rows: 0, sealed: false,
                    needsRepair: true)
            }
        } catch {
            return FileCheckReport(path: path, problems: ["cannot open: \(error)"], batches: 0, rows: 0, sealed: false, needsRepair: false)
        }
        var problems: [String] = []
        var rows = 0
        do {
            let reader = try FileReader(input: input, footer: footer.footer, footerOffset: footer.footerOffset)
            let stored = try FileSnapshot.readStatistics(footer.footer, input: input, pool: .default)
            let hasColumnStatistics = footer.footer.customMetadata[StatisticsCodec.metadataKey] != nil
            for (index, block) in (footer.footer.dictionaries + footer.footer.recordBatches).enumerated() {
                do {
                    try StoreFileFormat.verifyChecksum(of: block, in: input)
                } catch let error as QuiverError {
                    problems.append("message \(index): \(error.message)")
                }
            }
            for index in 0..<reader.numRecordBatches {
                do {
                    let batch = try reader.recordBatch(at: index)
                    rows += batch.length
                    guard index < stored.count else { continue }
                    if stored[index].rowCount != batch.length {
                        problems.append("batch \(index): footer says \(stored[index].rowCount) rows, the batch has \(batch.length)")
                    } else if hasColumnStatistics {
                        let actual = StatisticsCollector.statistics(of: batch, prefixLength: 1 << 20)
                        for (column, (expected, found)) in zip(stored[index].columns, actual.columns).enumerated() {
                            if let expected, let found, !consistent(expected, found) {
                                problems.append("batch \(index) column \(column): footer statistics \(expected) do not describe the data \(found)")
                            }
                        }
                    }
                } catch {
                    problems.append("batch \(index): \(error)")
                }
            }
            if stored.count != reader.numRecordBatches {
                problems.append("statistics describe \(stored.count) batches, the footer lists \(reader.numRecordBatches)")
            }
        } catch {
            problems.append("\(error)")
        }
        return FileCheckReport(
            path: path, problems: problems, batches: footer.footer.recordBatches.count, rows: rows, sealed: footer.isSealed,
            needsRepair: false)
    }

    /// Whether stored statistics are true of data whose exact statistics are `actual`:
    /// same null count; exact bounds equal, inexact bounds on the right side.
    static func consistent(_ stored: ColumnStatistics, _ actual: ColumnStatistics) -> Bool {
        guard stored.nullCount == actual.nullCount else { return false }
        func holds(_ bound: StatisticBound?, _ value: StatisticBound?, lower: Bool) -> Bool {
            guard let bound else { return true }
            guard let value, let order = bound.value.compare(value.value) else { return false }
            return bound.isExact ? order == 0 : (lower ? order <= 0 : order >= 0)
        }
        return holds(stored.min, actual.min, lower: true) && holds(stored.max, actual.max, lower: false)
    }

    /// Opens the file for appending — which recovers it if its footer is unusable — and
    /// closes it; a file whose batches are damaged (checksums, validation, statistics) is
    /// rebuilt from the messages before the first bad one. Returns the recovery, or nil
    /// when the file was fine. Takes the file's lock (`.conflict` while a writer has it).
    /// O(file bytes) to find damage (as `check(path:)` does), plus the rewrite of a rebuilt file.
    public static func repair(
        path: String, fallbackSchema: Schema? = nil, log: @Sendable (String) -> Void = StoreLog.standardError
    ) throws -> RecoveryReport? {
        let file = try AppendableFile(
            path: path, options: AppendOptions(durability: .synced), fallbackSchema: fallbackSchema, log: log,
            rebuildBecause: damage(path: path))
        try file.close()
        return file.recovery
    }

    /// Why the file at `path` must be rebuilt although its footer is usable (its batches
    /// are damaged), or nil. For a file no writer is appending to.
    static func damage(path: String) -> String? {
        let check = check(path: path, retryTimeout: .zero)
        guard !check.isHealthy, !check.needsRepair, FileSystem.exists(path) else { return nil }
        return "damaged: " + check.problems.joined(separator: "; ")
    }
}
