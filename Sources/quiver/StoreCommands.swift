import ArgumentParser
import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverStore

/// `quiver store …`: tables of appendable Arrow files in a directory.
struct StoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store", abstract: "Create, append to, list, inspect and compact a store of Arrow tables.",
        subcommands: [
            StoreCreateCommand.self, StoreAppendCommand.self, StoreListCommand.self, StoreStatsCommand.self,
            StoreCompactCommand.self, StoreTestWriterCommand.self,
        ])
}

/// Table settings shared by `create` and `append`: for a new table, what is omitted takes
/// `TableOptions`' defaults; for an existing one (`append`), what is given changes it.
struct TableSettings: ParsableArguments {
    @Option(help: "Body compression of new batches: none, lz4 or zstd (default none).") var compression: CompressionChoice?
    @Option(help: "Compression level (codec default when omitted).") var level: Int?
    @Option(help: "Roll to a new file past this many bytes (default 1 GiB).") var maxFileBytes: Int?
    @Option(help: "Roll to a new file past this many batches (default 256).") var maxBatchesPerFile: Int?

    /// Settings for a new table.
    var options: TableOptions { applied(to: TableOptions()) }

    /// Whether any setting was given.
    var isGiven: Bool { compression != nil || level != nil || maxFileBytes != nil || maxBatchesPerFile != nil }

    /// `existing` with the given settings changed (a new codec drops the old level).
    func applied(to existing: TableOptions) -> TableOptions {
        var options = existing
        if let compression {
            options.compression = compression.codec
            options.compressionLevel = nil
        }
        if let level { options.compressionLevel = level }
        if let maxFileBytes { options.maxFileBytes = maxFileBytes }
        if let maxBatchesPerFile { options.maxBatchesPerFile = maxBatchesPerFile }
        return options
    }
}

struct StoreCreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create a store, and optionally a table with the schema of an Arrow file.")

    @Argument(help: "The store directory.") var directory: String
    @Argument(help: "A table to create.") var table: String?
    @Option(help: "An Arrow file or stream whose schema the table takes.") var schemaFrom: String?
    @OptionGroup var settings: TableSettings

    func run() throws {
        let store = try Store.openOrCreate(at: directory)
        guard let table else { return }
        guard let schemaFrom else { throw ValidationError("creating a table needs --schema-from FILE") }
        try store.createTable(table, schema: try openInput(schemaFrom).schema, options: settings.options)
        print("created table '\(table)' in \(directory)")
    }
}

struct StoreAppendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append",
        abstract: "Append the batches of Arrow files or streams (- for standard input) to a table, creating it if needed.",
        discussion: """
            By default all the batches of one call are one commit: a crash or kill leaves the
            table with all of them or none, so the call can simply be run again. The batches are
            held (memory-mapped files: views; streams: in memory) until that commit. With
            --batches-per-commit N, every N batches are a commit and each is acknowledged on
            standard output as it lands, one JSON line:
              {"commit":1,"first_batch":0,"batches":N,"rows":R}
            (first_batch counts this call's input batches from 0), so after a crash the caller
            knows which of its batches are in the table. Table settings given for an existing
            table change it (see store create).
            """)

    @Argument(help: "The store directory (created if missing).") var directory: String
    @Argument(help: "The table.") var table: String
    @Argument(help: "Arrow files or streams, or - for standard input.") var inputs: [String]
    @OptionGroup var settings: TableSettings
    @Flag(help: "Do not fsync commits (they survive a crash of this process, not of the machine).") var noSync = false
    @Option(help: "Commit every this many batches, acknowledging each commit on standard output (default: one commit for the whole call).")
    var batchesPerCommit: Int?
    @Flag(name: .shortAndLong, help: "Print nothing but errors.") var quiet = false
    @Option(help: .hidden) var progressAfter: Int = 1000  // milliseconds before the first progress line (tests: 0)

    func validate() throws {
        if let batchesPerCommit, batchesPerCommit < 1 { throw ValidationError("--batches-per-commit must be at least 1") }
    }

    func run() throws {
        let store = try Store.openOrCreate(at: directory)
        var created = false
        if try !store.hasTable(table) {
            guard let first = inputs.first else { throw ValidationError("no input to take the table's schema from") }
            try store.createTable(table, schema: try openInput(first).schema, options: settings.options)
            created = true
        }
        let writer = try store.writer(for: table, options: WriterOptions(durability: noSync ? .buffered : .synced))
        defer { try? writer.close() }
        if !created, settings.isGiven { try writer.setOptions(settings.applied(to: writer.tableOptions)) }
        let progress = Progress(quiet: quiet, after: .milliseconds(progressAfter))
        var group: [RecordBatch] = []
        var committedBatches = 0, commits = 0
        func commit() throws {
            guard !group.isEmpty else { return }
            try writer.append(contentsOf: group)
            commits += 1
            if batchesPerCommit != nil {
                let rows = group.reduce(0) { $0 + $1.length }
                say("{\"commit\":\(commits),\"first_batch\":\(committedBatches),\"batches\":\(group.count),\"rows\":\(rows)}")
            }
            committedBatches += group.count
            group = []
        }
        for path in inputs {
            try openInput(path).forEachBatch { batch in
                group.append(batch)
                progress.add(batch)
                if let batchesPerCommit, group.count >= batchesPerCommit { try commit() }
                return true
            }
        }
        try commit()
        try writer.close()
        progress.finish(table: table)
    }
}

/// Writes `line` to standard output at once (unbuffered: a caller reading acknowledgements
/// must see each as soon as its commit landed).
func say(_ line: String) {
    (line + "\n").utf8CString.withUnsafeBytes { bytes in
        try? FileDescriptor.standardOutput.writeAll(UnsafeRawBufferPointer(rebasing: bytes.dropLast()))
    }
}

/// Reports progress on standard error about twice a second once an append has run for a
/// second, and a summary at the end. Progress lines redraw one line on a terminal; to
/// anything else (a log file, a pipe) they are plain lines, without escape sequences.
final class Progress {
    private let quiet: Bool
    private let redraws = FileDescriptor.standardError.isTerminal
    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant
    private var lastReport: ContinuousClock.Instant
    private var batches = 0, rows = 0, bytes = 0
    private var reported = false

    private let delay: Duration

    /// Progress lines start once the append has run for `after`.
    init(quiet: Bool, after: Duration = .seconds(1)) {
        delay = after
        self.quiet = quiet
        start = clock.now
        lastReport = start
    }

    func add(_ batch: RecordBatch) {
        batches += 1
        rows += batch.length
        bytes += batch.columns.reduce(0) { $0 + $1.totalBufferSize }
        let now = clock.now
        guard !quiet, now - start >= delay, !reported || now - lastReport > .milliseconds(500) else { return }
        lastReport = now
        reported = true
        if redraws {
            // Erase the line and return to its start, without a newline, so the next overwrites it.
            "\u{1B}[2K\r\(line(now))".utf8CString.withUnsafeBytes { bytes in
                try? FileDescriptor.standardError.writeAll(UnsafeRawBufferPointer(rebasing: bytes.dropLast()))
            }
        } else {
            StoreLog.standardError(line(now))
        }
    }

    func finish(table: String) {
        guard !quiet else { return }
        StoreLog.standardError((reported && redraws ? "\u{1B}[2K\r" : "") + "appended to '\(table)': " + line(clock.now))
    }

    private func line(_ now: ContinuousClock.Instant) -> String {
        let seconds = max(Double((now - start).components.attoseconds) / 1e18 + Double((now - start).components.seconds), 1e-9)
        let megabytes = Double(bytes) / 1e6
        return "\(batches) batches, \(rows) rows, \(Int(megabytes)) MB in \(String(format3(seconds))) s (\(Int(megabytes / seconds)) MB/s)"
    }

    private func format3(_ value: Double) -> String {
        String(Double(Int(value * 1000)) / 1000)
    }
}

struct StoreListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the tables of a store: files, batches, rows, bytes, schema.")

    @Argument(help: "The store directory.") var directory: String
    @Flag(help: "Also list each table's files.") var files = false

    func run() throws {
        let store = try Store(at: directory)
        for entry in try store.tables() {
            let snapshot = try store.snapshot(of: entry.name)
            let bytes = snapshot.files.reduce(0) { $0 + $1.committedSize }
            let compression = entry.options.compression.map { "\($0)" } ?? "none"
            print("\(entry.name): \(snapshot.files.count) files, \(snapshot.numRecordBatches) batches, \(snapshot.numRows) rows, \(bytes) bytes, compression \(compression)")
            for line in entry.schema.description.split(separator: "\n") { print("  \(line)") }
            if files {
                for file in snapshot.files {
                    print("    \(file.path): \(file.numRecordBatches) batches, \(file.numRows) rows, \(file.committedSize) bytes")
                }
            }
        }
    }
}

struct StoreStatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Print a table's statistics from its footers (no data is read).")

    @Argument(help: "The store directory.") var directory: String
    @Argument(help: "The table.") var table: String
    @Flag(help: "One line per batch and column, too.") var batches = false

    func run() throws {
        let snapshot = try Store(at: directory).snapshot(of: table)
        let total = snapshot.statistics
        print("\(table): \(snapshot.files.count) files, \(snapshot.numRecordBatches) batches, \(total.rowCount) rows")
        for (index, field) in snapshot.schema.fields.enumerated() {
            print("  " + describe(field, total.columns[index]))
        }
        guard batches else { return }
        for (number, batch) in snapshot.batchStatistics.enumerated() {
            print("batch \(number): \(batch.rowCount) rows")
            for (index, field) in snapshot.schema.fields.enumerated() where index < batch.columns.count {
                print("    " + describe(field, batch.columns[index]))
            }
        }
    }

    private func describe(_ field: Field, _ stats: ColumnStatistics?) -> String {
        guard let stats else { return "\(field.name): no statistics" }
        let bounds = stats.min.map { "min \($0.formatted(as: field.type))" }.map { [$0] } ?? []
        let upper = stats.max.map { "max \($0.formatted(as: field.type))" }.map { [$0] } ?? []
        return "\(field.name) (\(field.type)): nulls \(stats.nullCount)" + (bounds + upper).map { ", \($0)" }.joined()
    }
}

struct StoreCompactCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact", abstract: "Rewrite a table into fewer files and larger batches.")

    @Argument(help: "The store directory.") var directory: String
    @Argument(help: "The table.") var table: String
    @Option(help: "Merge consecutive batches up to this many rows.") var rowsPerBatch: Int = 65_536

    func run() throws {
        print(try Store(at: directory).compact(table, targetRowsPerBatch: rowsPerBatch))
    }
}

/// A writer for crash tests: appends deterministic batches (see `TestBatches`) one commit
/// at a time and prints `ack N` after batch N is committed, unbuffered.
struct StoreTestWriterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test-writer", abstract: "Append numbered test batches, acknowledging each commit (for crash tests).",
        shouldDisplay: false)

    @Argument(help: "The store directory (created if missing).") var directory: String
    @Argument(help: "The table (created if missing).") var table: String
    @Option(help: "Stop after this many batches (default: run until killed).") var count: Int?
    @Option(help: "Roll files after this many batches.") var maxBatchesPerFile: Int = 256
    @Flag(help: "fsync every commit.") var sync = false

    func run() throws {
        let store = try Store.openOrCreate(at: directory)
        if try !store.hasTable(table) {
            try store.createTable(table, schema: TestBatches.schema, options: TableOptions(maxBatchesPerFile: maxBatchesPerFile))
        }
        let writer = try store.writer(for: table, options: WriterOptions(durability: sync ? .synced : .buffered))
        var next = try writer.snapshot().numRecordBatches
        say("start \(next)")
        while count.map({ next < $0 }) ?? true {
            try writer.append(try TestBatches.batch(next))
            say("ack \(next)")
            next += 1
        }
        try writer.close()
    }

}

/// The batches `test-writer` appends: batch `k` has `1 + k % 5` rows; row `i` holds
/// `batch = k`, `row = i`, `text = "k-i"`. Tests check what they read against this rule.
enum TestBatches {
    static let schema = Schema([Field("batch", .int64), Field("row", .int32), Field("text", .utf8)])

    static func batch(_ k: Int) throws -> RecordBatch {
        let rows = 1 + k % 5
        return try RecordBatch(
            schema: schema,
            columns: [
                ArrayData.build(from: [Int64](repeating: Int64(k), count: rows)),
                ArrayData.build(from: (0..<rows).map { Int32($0) }),
                ArrayData.build(from: (0..<rows).map { Optional("\(k)-\($0)") }),
            ])
    }
}

/// `quiver check PATH`: verifies an Arrow file or every file of a store.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Verify an Arrow file or a store: footers, seals, checksums, batches, statistics. Exits 1 on problems.")

    @Argument(help: "An Arrow file or a store directory.") var path: String

    func run() throws {
        let reports = try FileCheck.check(storeOrFile: path)
        for report in reports { print(report) }
        if reports.contains(where: { !$0.isHealthy }) { throw ExitCode(1) }
    }
}

/// `quiver repair PATH`: rebuilds unusable footers from the files' messages.
struct RepairCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Repair an Arrow file or a store: rebuild missing or torn footers from the complete batches.")

    @Argument(help: "An Arrow file or a store directory.") var path: String

    func run() throws {
        let reports = try FileCheck.repair(storeOrFile: path, log: StoreLog.silent)
        for report in reports { print(report) }
        if reports.isEmpty { print("nothing to repair in \(path)") }
    }
}
