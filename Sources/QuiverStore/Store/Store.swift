import QuiverArrow
import QuiverBytes
import QuiverIPC
import Synchronization

/// How a table's writer appends (the table's own settings, such as compression, live in
/// the catalog: `TableOptions`).
public struct WriterOptions: Sendable {
    /// When commits reach the disk.
    public var durability: Durability
    /// Body checksums (see `AppendOptions.checksums`; by default on exactly when synced).
    public var checksums: Bool
    /// Record minimum and maximum per column.
    public var minMaxStatistics: Bool
    /// Prefix length of string bounds.
    public var statisticsPrefixLength: Int
    /// Buffer alignment, 8 or 64.
    public var alignment: Int
    /// Where encoding buffers come from.
    public var pool: MemoryPool

    /// Synced commits (with checksums), min/max on, 64-byte prefixes, 8-byte alignment.
    public init(
        durability: Durability = .synced, checksums: Bool? = nil, minMaxStatistics: Bool = true,
        statisticsPrefixLength: Int = 64, alignment: Int = 8, pool: MemoryPool = .default
    ) {
        self.durability = durability
        self.checksums = checksums ?? durability.checksumsByDefault
        self.minMaxStatistics = minMaxStatistics
        self.statisticsPrefixLength = statisticsPrefixLength
        self.alignment = alignment
        self.pool = pool
    }

    /// The file options for a table with `table` settings.
    func appendOptions(_ table: TableOptions) -> AppendOptions {
        AppendOptions(
            compression: table.compression, compressionLevel: table.compressionLevel, alignment: alignment,
            durability: durability, checksums: checksums, minMaxStatistics: minMaxStatistics,
            statisticsPrefixLength: statisticsPrefixLength, dictionaryDeltas: false, pool: pool)
    }
}

/// A directory of named tables, each a sequence of appendable Arrow files, listed by a
/// catalog (the layout is documented in Catalog.swift, the file format in
/// StoreFileFormat.swift).
///
/// One writer per table at a time, in any process (`writer(for:)` takes the table's lock;
/// a second writer gets `.conflict`); any number of readers in any process, each reading a
/// consistent snapshot (`snapshot(of:)`) while appends continue. Readers never block the
/// writer. `Sendable`: one `Store` can serve every thread of a process.
public final class Store: Sendable {
    /// The store's directory.
    public let path: String
    /// Where repairs are reported.
    public let log: @Sendable (String) -> Void
    /// Writers opened through this object, so its snapshots can come from their memory.
    private let writers = Mutex<[String: WeakWriter]>([:])

    /// Opens an existing store (cheap: the catalog is read by each operation, so every
    /// operation sees the latest). Throws `.notFound` if `path` holds no catalog.
    public init(at path: String, log: @escaping @Sendable (String) -> Void = StoreLog.standardError) throws {
        guard FileSystem.exists(FileSystem.join(path, Catalog.fileName)) else {
            throw QuiverError(.notFound, "\(path) is not a store: it has no \(Catalog.fileName)")
        }
        self.path = path
        self.log = log
    }

    /// Creates a store at `path` (the directory may exist; it must not hold a store yet),
    /// with no tables. Throws `.conflict` if a store is already there.
    /// Writes an empty catalog: two fsyncs.
    @discardableResult
    public static func create(at path: String, log: @escaping @Sendable (String) -> Void = StoreLog.standardError) throws -> Store {
        try FileSystem.createDirectory(path)
        try FileSystem.createDirectory(FileSystem.join(path, "tables"))
        guard !FileSystem.exists(FileSystem.join(path, Catalog.fileName)) else {
            throw QuiverError(.conflict, "\(path) already holds a store")
        }
        try Catalog().write(to: path)
        return try Store(at: path, log: log)
    }

    /// Opens the store at `path`, creating it if it does not exist yet.
    public static func openOrCreate(at path: String, log: @escaping @Sendable (String) -> Void = StoreLog.standardError) throws -> Store {
        if FileSystem.exists(FileSystem.join(path, Catalog.fileName)) { return try Store(at: path, log: log) }
        do {
            return try create(at: path, log: log)
        } catch let error as QuiverError where error.code == .conflict {
            return try Store(at: path, log: log)  // another process created it meanwhile
        }
    }

    // MARK: Tables

    /// The tables, in creation order.
    /// Reads and decodes the catalog: O(catalog size).
    public func tables() throws -> [TableEntry] {
        try Catalog.read(path).tables
    }

    /// The names of the tables, in creation order.
    /// Reads and decodes the catalog: O(catalog size).
    public func tableNames() throws -> [String] {
        try tables().map(\.name)
    }

    /// The catalog entry of `name` (`.notFound` if there is no such table).
    /// Reads and decodes the catalog: O(catalog size).
    public func table(_ name: String) throws -> TableEntry {
        try Catalog.read(path).table(name)
    }

    /// Whether the store has a table called `name`.
    /// Reads and decodes the catalog: O(catalog size).
    public func hasTable(_ name: String) throws -> Bool {
        try tables().contains { $0.name == name }
    }

    /// Creates a table: its directory, a first (empty) data file, its catalog entry.
    /// Throws `.conflict` if it exists, `.invalidArgument` for a bad name.
    /// O(catalog size) to rewrite the catalog; the first file and the catalog are each synced.
    public func createTable(_ name: String, schema: Schema, options: TableOptions = .init()) throws {
        try Store.checkName(name)
        try Store.checkLimits(options)
        try Catalog.update(path) { catalog in
            guard !catalog.tables.contains(where: { $0.name == name }) else {
                throw QuiverError(.conflict, "table '\(name)' already exists")
            }
            _ = try addTable(name, schema: schema, options: options, to: &catalog)
        }
    }

    /// Creates table `name` with `schema` and `options` unless the store has it; returns
    /// its catalog entry either way, and whether this call created it. Race-free: the check
    /// and the creation happen under the catalog's lock, so of several threads or processes
    /// creating the same table one creates it and the others get its entry. An existing
    /// table keeps its own schema and options (compare `entry.schema` if it matters; appends
    /// of another schema throw `schemaMismatch` naming the field). Cost: one catalog read
    /// when the table exists; a creation as `createTable`'s otherwise.
    @discardableResult
    public func createTableIfMissing(
        _ name: String, schema: Schema, options: TableOptions = .init()
    ) throws -> (entry: TableEntry, created: Bool) {
        if let existing = try Catalog.read(path).tables.first(where: { $0.name == name }) { return (existing, false) }
        try Store.checkName(name)
        try Store.checkLimits(options)
        return try Catalog.update(path) { catalog in
            if let existing = catalog.tables.first(where: { $0.name == name }) { return (existing, false) }
            return (try addTable(name, schema: schema, options: options, to: &catalog), true)
        }
    }

    /// Makes the table's directory and first (empty) data file and adds its entry to
    /// `catalog` (under the catalog's lock; the caller checked that the name is free).
    private func addTable(_ name: String, schema: Schema, options: TableOptions, to catalog: inout Catalog) throws -> TableEntry {
        let directory = tableDirectory(name)
        try FileSystem.createDirectory(directory)
        // Leftovers of an earlier attempt that never reached the catalog are not data.
        for file in try FileSystem.contentsOfDirectory(directory) where file.hasSuffix(".arrow") || file.hasSuffix(".tmp") {
            try FileSystem.removeFile(FileSystem.join(directory, file))
        }
        let first = Store.fileName(1)
        let file = try TableWriter.createFile(first, in: directory, schema: schema, options: AppendOptions(durability: .synced))
        try file.close()
        try TableWriter.placeFiles([first], in: directory, open: nil)
        let entry = TableEntry(name: name, schema: schema, files: [first], options: options, nextFileNumber: 2)
        catalog.tables.append(entry)
        return entry
    }

    /// Opens the table's writer: takes its lock (`.conflict` if another writer holds it),
    /// removes files the catalog does not list, and opens the last data file for appending,
    /// recovering it if a crash left it without a valid footer (logged).
    /// O(catalog size + directory entries) plus reading the last file's footer (O(footer
    /// size)); recovering a torn file scans its messages (O(file bytes)).
    public func writer(for table: String, options: WriterOptions = .init()) throws -> TableWriter {
        let writer = try TableWriter(store: self, table: table, options: options)
        writers.withLock { $0[table] = WeakWriter(writer) }
        return writer
    }

    /// A consistent snapshot of the table: its batches as of one moment, with statistics.
    /// From the open writer's memory when this object has one for the table, otherwise
    /// from disk: the catalog, then each file's verified footer (retried while a writer in
    /// another process is committing; re-read from the catalog if a compaction replaced
    /// files meanwhile). A torn footer with no writer alive is a crash: the file is
    /// recovered in memory at once and `log` says that it needs `repair`.
    /// From disk: O(catalog size) plus one footer read and verification per file (O(footer
    /// sizes)); statistics are decoded once per mapping. No data is read.
    public func snapshot(of table: String, options: SnapshotOptions = .init()) throws -> TableSnapshot {
        if let writer = writers.withLock({ $0[table]?.writer }), writer.isOpen {
            return try writer.snapshot(readOptions: options.readOptions, verifyChecksums: options.verifyChecksums)
        }
        var attempt = 0
        while true {
            let entry = try Catalog.read(path).table(table)
            do {
                let directory = tableDirectory(table)
                let files = try Store.concurrentMap(entry.files) { name in
                    try FileSnapshot.open(
                        path: FileSystem.join(directory, name), options: options,
                        keepRetrying: { self.hasLiveWriter(table) })
                }
                for recovery in files.compactMap(\.recovery) {
                    log("quiver: warning: \(recovery); the table needs repair: run quiver repair \(path)")
                }
                return TableSnapshot(name: table, schema: entry.schema, files: files)
            } catch let error as QuiverError where error.code == .notFound && attempt < 20 {
                attempt += 1  // a compaction replaced the files: read the new catalog
            }
        }
    }

    /// Rewrites the table into as few files as its limits allow, merging consecutive
    /// batches up to `targetRowsPerBatch` rows. Needs the table's writer lock.
    /// Reads and rewrites every batch of the table: O(table bytes).
    public func compact(_ table: String, targetRowsPerBatch: Int = 65_536, options: WriterOptions = .init()) throws -> CompactionReport {
        let writer = try self.writer(for: table, options: options)
        defer { try? writer.close() }
        return try writer.compact(targetRowsPerBatch: targetRowsPerBatch)
    }

    // MARK: Checking and repairing

    /// Verifies every data file of every table (footer, seal, each batch's checksum and
    /// validity, statistics); reads all data. Files the catalog does not list are problems
    /// too (leftovers of a crash) — unless a writer is alive, whose roll or compaction may
    /// be making them. Safe on a live store: footers are read as snapshots are (retried
    /// while a writer commits), and a file a compaction removed meanwhile sends the table's
    /// check back to the new catalog.
    /// O(store bytes): every body is hashed and validated.
    public func check() throws -> [FileCheckReport] {
        try tables().flatMap { entry in try check(table: entry.name) }
    }

    private func check(table: String) throws -> [FileCheckReport] {
        let directory = tableDirectory(table)
        var attempt = 0
        while true {
            var reports: [FileCheckReport] = []
            let entry: TableEntry
            // Holding the writer lock for the instant of listing the directory: no writer can
            // be making files meanwhile, so any file the catalog does not list is a leftover.
            if let lock = try lockIfNoWriter(table) {
                defer {
                    try? lock.unlock()
                    try? lock.close()
                }
                entry = try Catalog.read(path).table(table)
                for name in try TableWriter.unlistedFiles(in: directory, entry: entry) {
                    reports.append(
                        FileCheckReport(
                            path: FileSystem.join(directory, name), problems: [TableWriter.unlistedReason + ": run repair to remove it"],
                            batches: 0, rows: 0, sealed: false, needsRepair: true))
                }
            } else {
                entry = try Catalog.read(path).table(table)
            }
            let files = entry.files.map { FileSystem.join(directory, $0) }
            let checks = files.map { FileCheck.check(path: $0, keepRetrying: { self.hasLiveWriter(table) }) }
            // A compaction replaced the files while we read them: check the new ones.
            if attempt < 20, files.contains(where: { !FileSystem.exists($0) }), try Catalog.read(path).table(table).files != entry.files {
                attempt += 1
                continue
            }
            return checks + reports
        }
    }

    /// Whether a writer (in any process) holds table `table`'s lock.
    func hasLiveWriter(_ table: String) -> Bool {
        guard let lock = try? lockIfNoWriter(table) else { return true }
        try? lock.unlock()
        try? lock.close()
        return false
    }

    /// The table's writer lock, taken, when no writer holds it; nil when one does (or the
    /// lock cannot be opened: then nothing can be concluded, as if a writer were alive).
    private func lockIfNoWriter(_ table: String) throws -> FileDescriptor? {
        let path = FileSystem.join(tableDirectory(table), "writer.lock")
        // The table's first writer creates the file; creating it here changes nothing.
        guard let lock = try? FileDescriptor.open(path, .readWrite, options: [.create]) else { return nil }
        do {
            try lock.lockExclusive()
            return lock
        } catch let error as QuiverError where error.code == .conflict {
            try? lock.close()
            return nil
        }
    }

    /// Repairs the store, table by table under each table's writer lock: rebuilds files
    /// whose footer is unusable (see `AppendableFile`) and files with damaged batches (cut
    /// before the first bad message: the batches from there to the end of that file are
    /// dropped, and reported), and removes files the catalog does not list. Returns what was
    /// done; empty when the store was healthy.
    /// O(store bytes) to find damage, plus rewriting the damaged files.
    public func repair() throws -> [RecoveryReport] {
        var reports: [RecoveryReport] = []
        for entry in try tables() {
            let writer = try TableWriter(store: self, table: entry.name, options: WriterOptions(), repairAll: true)
            reports += writer.recoveries
            try writer.close()
        }
        return reports
    }

    /// `transform` over `items`, in order; spread over the cores when there are several
    /// (opening files is mostly system calls and small decodes, independent per file).
    static func concurrentMap<T, R: Sendable>(_ items: [T], _ transform: @Sendable (T) throws -> R) throws -> [R]
    where T: Sendable {
        guard items.count > 4 else { return try items.map(transform) }
        return try QuiverBytes.concurrentMap(count: items.count) { index in Result { try transform(items[index]) } }
            .map { try $0.get() }
    }

    // MARK: Paths

    /// The directory of table `name`.
    public func tableDirectory(_ name: String) -> String {
        FileSystem.join(FileSystem.join(path, "tables"), name)
    }

    /// The name of data file number `number`: eight digits and `.arrow`.
    static func fileName(_ number: Int) -> String {
        String(number).leftPadded(8) + ".arrow"
    }

    static func checkLimits(_ options: TableOptions) throws {
        guard options.maxBatchesPerFile > 0, options.maxFileBytes > 0 else {
            throw QuiverError(.invalidArgument, "table limits must be positive")
        }
    }

    static func checkName(_ name: String) throws {
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
        }
        guard allowed, !name.isEmpty, name.utf8.count <= 128, !name.hasPrefix(".") else {
            throw QuiverError(
                .invalidArgument, "table name '\(name)' must be 1–128 of A–Z a–z 0–9 _ - . and not start with '.'")
        }
    }
}

/// A reference to a writer that does not keep it open.
struct WeakWriter: Sendable {
    weak var writer: TableWriter?
    init(_ writer: TableWriter) { self.writer = writer }
}
