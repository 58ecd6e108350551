import QuiverArrow
import QuiverBytes
import QuiverIPC
import Synchronization

/// The one writer of a table: appends batches to the table's last file, rolling to a new
/// file when the last one reaches the table's limits (or a batch brings a dictionary the
/// file cannot take). Get one from `Store.writer(for:)`.
///
/// Holds the table's `writer.lock` from opening to `close()` (or deinit). `Sendable`:
/// calls from several threads are serialised by an internal lock.
public final class TableWriter: Sendable {
    /// Tests only: called with the table's name inside `append(_:)`, holding the writer's
    /// lock, before the batch is written (to hold an append in flight).
    nonisolated(unsafe) package static var appendHook: (@Sendable (String) -> Void)?

    /// The table written.
    public let table: String
    /// The store it belongs to.
    public let store: Store
    /// How it appends.
    public let options: WriterOptions
    /// What opening repaired (a torn last file; with `Store.repair`, any file, and the
    /// removal of files the catalog does not list).
    public let recoveries: [RecoveryReport]
    private let directory: String
    private let lockDescriptor: FileDescriptor
    private let state: Mutex<State>
    /// The last committed state, republished after every change under `state`'s lock:
    /// snapshots read it under a lock of their own, so a reader never waits for an append
    /// in flight (its write, its fsync) — it sees the commit before.
    private let published = Mutex<Published?>(nil)

    private struct Published: Sendable {
        var schema: Schema
        var sealed: [FileSnapshot]
        var active: CommittedView
        var isOpen: Bool
    }

    private struct State {
        var active: AppendableFile
        /// The table's catalog entry as of this writer's last change to it.
        var entry: TableEntry
        /// Snapshots of the immutable (not last) files, taken once.
        var sealed: [String: FileSnapshot] = [:]
        var isClosed = false
    }

    init(store: Store, table: String, options: WriterOptions, repairAll: Bool = false) throws {
        self.table = table
        self.store = store
        self.options = options
        directory = store.tableDirectory(table)
        _ = try Catalog.read(store.path).table(table)  // `.notFound` before any file is created
        lockDescriptor = try FileDescriptor.open(FileSystem.join(directory, "writer.lock"), .readWrite, options: [.create])
        do {
            try TableWriter.lock(lockDescriptor, table: table)
            // The catalog as of holding the lock: a writer that just closed may have changed it.
            let entry = try Catalog.read(store.path).table(table)
            var reports: [RecoveryReport] = []
            // Files the catalog does not list never held committed data of this table.
            for name in try TableWriter.unlistedFiles(in: directory, entry: entry) {
                let path = FileSystem.join(directory, name)
                let size = (try? FileDescriptor.open(path, .readOnly)).map { descriptor in
                    defer { try? descriptor.close() }
                    return (try? descriptor.status().size) ?? 0
                } ?? 0
                try FileSystem.removeFile(path)
                let report = RecoveryReport(removing: path, size: size, reason: TableWriter.unlistedReason)
                reports.append(report)
                store.log("quiver: \(report)")
            }
            guard let last = entry.files.last else {
                throw QuiverError(.invalidData, "table '\(table)' lists no data files")
            }
            /// With `repairAll`, a file that is not healthy (damaged batches, statistics that do
            /// not describe its data) is rebuilt from the messages before the first bad one.
            let directory = self.directory, appendOptions = options.appendOptions(entry.options)
            func open(_ name: String) throws -> AppendableFile {
                let path = FileSystem.join(directory, name)
                let damage = repairAll ? FileCheck.damage(path: path) : nil
                return try AppendableFile(
                    path: path, options: appendOptions, fallbackSchema: entry.schema, log: store.log, rebuildBecause: damage)
            }
            if repairAll {
                for name in entry.files.dropLast() {
                    let file = try open(name)
                    if let report = file.recovery { reports.append(report) }
                    try file.close()
                }
            }
            let active = try open(last)
            if let report = active.recovery { reports.append(report) }
            recoveries = reports
            state = Mutex(State(active: active, entry: entry))
            state.withLock { publish(&$0) }
        } catch {
            try? lockDescriptor.close()
            throw error
        }
    }

    deinit {
        try? close()
    }

    /// Why a file the catalog does not list is not data.
    static let unlistedReason = "not listed by the catalog (left by an interrupted roll or compaction)"

    /// Data files (`.arrow`) and files being made (`.tmp`) in `directory` that `entry` does
    /// not list. Only leftovers when no writer holds the table's lock: a live writer's roll
    /// or compaction has such files until its catalog change.
    static func unlistedFiles(in directory: String, entry: TableEntry) throws -> [String] {
        try FileSystem.contentsOfDirectory(directory).filter { name in
            (name.hasSuffix(".arrow") || name.hasSuffix(".tmp")) && !entry.files.contains(name)
        }.sorted()
    }

    /// Takes the table's writer lock. Retries for a moment: `Store.check` holds it for the
    /// instant of listing the directory. `.conflict` if another writer keeps it.
    static func lock(_ descriptor: FileDescriptor, table: String) throws {
        for attempt in 0... {
            do {
                try descriptor.lockExclusive()
                return
            } catch let error as QuiverError where error.code == .conflict {
                guard attempt < 20 else {
                    throw QuiverError(.conflict, "table '\(table)' already has a writer (in this or another process)")
                }
                FileSystem.sleep(microseconds: 5_000)
            }
        }
    }

    /// Creates data file `name` in `directory` under a temporary name (`name.tmp`), committed
    /// and empty; `placeFiles` renames it in.
    static func createFile(_ name: String, in directory: String, schema: Schema, options: AppendOptions) throws -> AppendableFile {
        try AppendableFile.create(path: FileSystem.join(directory, name + ".tmp"), schema: schema, options: options)
    }

    /// Renames files made by `createFile` to their names and syncs the directory: only then
    /// may the catalog list them (a crash before leaves `.tmp` files, never a half-made
    /// data file under a data file's name).
    static func placeFiles(_ names: [String], in directory: String, open: AppendableFile?) throws {
        for name in names {
            let path = FileSystem.join(directory, name)
            if let open, open.path == path + ".tmp" {
                try open.rename(to: path)
            } else {
                try FileSystem.rename(path + ".tmp", to: path)
            }
        }
        try FileSystem.syncDirectory(directory)
    }

    /// Whether `close()` has not been called yet (never waits for an append in flight).
    public var isOpen: Bool { published.withLock { $0?.isOpen ?? false } }

    /// Publishes the committed state for snapshots; every change under `state`'s lock ends
    /// with it (also a failed one, which restores the last commit).
    private func publish(_ state: inout State) {
        let sealed = try? state.entry.files.dropLast().map { name in
            if let cached = state.sealed[name] { return cached }
            let file = try FileSnapshot.open(
                path: FileSystem.join(directory, name),
                options: SnapshotOptions(requireSeal: true, retryTimeout: .zero, recoverAfterTimeout: false))
            state.sealed[name] = file
            return file
        }
        let next = sealed.map { Published(schema: state.entry.schema, sealed: $0, active: state.active.committedView, isOpen: !state.isClosed) }
        published.withLock { published in
            if let next { published = next } else { published?.isOpen = !state.isClosed }
        }
    }

    /// The table's schema (from the catalog).
    public var schema: Schema { state.withLock { $0.entry.schema } }

    // MARK: Appending

    /// Appends and commits one batch (rolling to a new file first if the last is full).
    /// Throws `schemaMismatch` for a batch of another schema; nothing is written then.
    /// One commit: O(batch bytes) written, one pass over each column for statistics, the footer
    /// rewritten (O(batches in the file)); two fsyncs with `.synced` durability.
    public func append(_ batch: RecordBatch) throws {
        try state.withLock { state in
            defer { publish(&state) }
            try prepare(&state, for: batch)
            TableWriter.appendHook?(table)
            try state.active.append(batch)
        }
    }

    /// Appends several batches under one commit (group commit): after a crash the table
    /// holds all of them or none. A full file rolls before the batches, never between them,
    /// so they may take the file past its limits. Only a batch whose dictionary the file
    /// cannot take splits them, committed file by file.
    /// O(total bytes) written and one statistics pass per column; one footer rewrite and at most
    /// two fsyncs for all of them.
    public func append(contentsOf batches: [RecordBatch]) throws {
        try state.withLock { state in
            defer { publish(&state) }
            guard let first = batches.first else { return }
            try prepare(&state, for: first)
            do {
                for (index, batch) in batches.enumerated() {
                    if index > 0, try state.active.needsNewFile(for: batch) { try roll(&state) }
                    try state.active.write(batch, commitRemaining: batches.count - 1 - index)
                }
            } catch {
                state.active.discardPending()  // no part of the group may reach a later commit
                throw error
            }
            try state.active.commit()
        }
    }

    /// Writes a batch without committing it (see `commit()`). After a crash before the
    /// commit, each batch written this way may be found complete and kept on its own: for
    /// all or nothing, use `append(contentsOf:)`.
    /// O(batch bytes) written plus one statistics pass over each column; no fsync.
    public func write(_ batch: RecordBatch) throws {
        try state.withLock { state in
            try prepare(&state, for: batch)
            try state.active.write(batch)
        }
    }

    /// Commits what `write` wrote since the last commit.
    /// Rewrites the footer (O(batches in the file)); two fsyncs with `.synced` durability.
    public func commit() throws {
        try state.withLock { state in
            defer { publish(&state) }
            try checkOpen(state)
            try state.active.commit()
        }
    }

    /// Rolls to a new file when `batch` should not go into the current one.
    private func prepare(_ state: inout State, for batch: RecordBatch) throws {
        try checkOpen(state)
        let file = state.active
        let batches = file.numRecordBatches + file.numPendingBatches
        guard batches > 0 else { return }
        let full = batches >= state.entry.options.maxBatchesPerFile || file.dataSize >= state.entry.options.maxFileBytes
        if try full || file.needsNewFile(for: batch) {
            try roll(&state)
        }
    }

    /// Commits the current file, creates the next one, lists it in the catalog, and makes
    /// it the file appended to. The old file is never written again.
    private func roll(_ state: inout State) throws {
        try state.active.commit()
        let number = state.entry.nextFileNumber
        let name = Store.fileName(number)
        let file = try TableWriter.createFile(
            name, in: directory, schema: state.entry.schema, options: options.appendOptions(state.entry.options))
        try TableWriter.placeFiles([name], in: directory, open: file)
        state.entry = try updateEntry { entry in
            entry.files.append(name)
            entry.nextFileNumber = number + 1
        }
        try state.active.close()
        state.active = file
    }

    /// The table's settings (from the catalog, as of this writer's last change to it).
    public var tableOptions: TableOptions { state.withLock { $0.entry.options } }

    /// Changes the table's settings in the catalog. New limits apply from the next append;
    /// a new codec from the next batch (Arrow lets each batch of a file have its own): the
    /// file appended to is reopened with it. `.invalidArgument` for limits that are not
    /// positive.
    /// Rewrites the catalog (O(catalog size), synced); reopening for a new codec costs a commit.
    public func setOptions(_ new: TableOptions) throws {
        try Store.checkLimits(new)
        try state.withLock { state in
            defer { publish(&state) }
            try checkOpen(state)
            let old = state.entry.options
            guard new != old else { return }
            try state.active.commit()
            state.entry = try updateEntry { entry in entry.options = new }
            if new.compression != old.compression || new.compressionLevel != old.compressionLevel {
                let path = state.active.path
                try state.active.close()
                state.active = try AppendableFile(
                    path: path, options: options.appendOptions(new), fallbackSchema: state.entry.schema, log: store.log)
            }
        }
    }

    /// Changes this table's catalog entry under the catalog lock; returns the new entry.
    private func updateEntry(_ change: (inout TableEntry) -> Void) throws -> TableEntry {
        try Catalog.update(store.path) { catalog in
            guard let index = catalog.tables.firstIndex(where: { $0.name == table }) else {
                throw QuiverError(.notFound, "table '\(table)' vanished from the catalog")
            }
            change(&catalog.tables[index])
            return catalog.tables[index]
        }
    }

    /// Replaces the table's schema by `change(schema)` in the catalog and starts a new
    /// file with it.
    func updateSchema(_ change: (Schema) throws -> Schema) throws {
        try state.withLock { state in
            defer { publish(&state) }
            try checkOpen(state)
            let schema = try change(state.entry.schema)
            try state.active.commit()
            state.entry = try updateEntry { entry in entry.schema = schema }
            try roll(&state)
        }
    }

    // MARK: Reading

    /// A consistent snapshot of the table as of the last commit, from this writer's memory
    /// (older files' footers are read once and cached: they never change). With
    /// `verifyChecksums`, reads verify body checksums (`SnapshotOptions.verifyChecksums`).
    ///
    /// Never waits for an append in flight, whatever the options: it reads the state
    /// published at the last commit and maps the last file afresh.
    /// O(files), plus one `mmap` of the last file; no data is read.
    public func snapshot(readOptions: IPCReadOptions = .init(), verifyChecksums: Bool = false) throws -> TableSnapshot {
        let defaults = IPCReadOptions()
        let plain = !verifyChecksums && readOptions.trusted == defaults.trusted && readOptions.pool === defaults.pool
            && readOptions.maxMetadataLength == defaults.maxMetadataLength
            && readOptions.maxNestingDepth == defaults.maxNestingDepth && readOptions.useThreads == defaults.useThreads
        if let current = published.withLock({ $0 }), current.isOpen {
            // The sealed files were opened with the default options; other options read the
            // same mappings and footers their own way.
            let sealed = plain
                ? current.sealed
                : try current.sealed.map { try $0.reading(with: readOptions, verifyChecksums: verifyChecksums) }
            let active = try current.active.snapshot(readOptions: readOptions, verifyChecksums: verifyChecksums)
            return TableSnapshot(name: table, schema: current.schema, files: sealed + [active])
        }
        return try state.withLock { state in
            try checkOpen(state)
            return try snapshot(&state, readOptions: readOptions, verifyChecksums: verifyChecksums)
        }
    }

    private func snapshot(_ state: inout State, readOptions: IPCReadOptions, verifyChecksums: Bool = false) throws -> TableSnapshot {
        var files: [FileSnapshot] = []
        for name in state.entry.files.dropLast() {
            let key = verifyChecksums ? name + "#verified" : name
            if let cached = state.sealed[key] {
                files.append(cached)
                continue
            }
            let file = try FileSnapshot.open(
                path: FileSystem.join(directory, name),
                options: SnapshotOptions(
                    requireSeal: true, retryTimeout: .zero, recoverAfterTimeout: false, readOptions: readOptions,
                    verifyChecksums: verifyChecksums))
            state.sealed[key] = file
            files.append(file)
        }
        files.append(try state.active.snapshot(readOptions: readOptions, verifyChecksums: verifyChecksums))
        return TableSnapshot(name: table, schema: state.entry.schema, files: files)
    }

    // MARK: Compaction

    /// Rewrites the table's batches into new files (merging consecutive batches up to
    /// `targetRowsPerBatch` rows, rolling by the table's limits), makes the catalog list
    /// them instead of the old files, then deletes the old files. New files are synced
    /// before the catalog changes, so a crash leaves either the old files or the new ones
    /// listed. Readers holding snapshots of the old files keep reading them.
    /// Reads and rewrites every batch: O(table bytes), plus one synced commit per new file
    /// and a catalog rewrite.
    public func compact(targetRowsPerBatch: Int = 65_536) throws -> CompactionReport {
        try state.withLock { state in
            defer { publish(&state) }
            try checkOpen(state)
            try state.active.commit()
            let before = try snapshot(&state, readOptions: IPCReadOptions(trusted: true))
            var appendOptions = options.appendOptions(state.entry.options)
            appendOptions.durability = .synced
            var next = state.entry.nextFileNumber
            var names: [String] = []
            var current: AppendableFile?
            func output(for batch: RecordBatch?) throws -> AppendableFile {
                if let file = current {
                    let count = file.numRecordBatches + file.numPendingBatches
                    let full = count >= state.entry.options.maxBatchesPerFile || file.dataSize >= state.entry.options.maxFileBytes
                    let needsNew = try batch.map(file.needsNewFile(for:)) ?? false
                    if count == 0 || !(full || needsNew) { return file }
                    try file.close()
                }
                let name = Store.fileName(next)
                next += 1
                names.append(name)
                let file = try TableWriter.createFile(name, in: directory, schema: state.entry.schema, options: appendOptions)
                current = file
                return file
            }
            var group: [RecordBatch] = []
            var groupRows = 0
            var batchesAfter = 0
            func flush() throws {
                guard !group.isEmpty else { return }
                for batch in TableWriter.merge(group) {
                    try output(for: batch).write(batch)
                    batchesAfter += 1
                }
                group = []
                groupRows = 0
            }
            try before.forEachBatch { batch in
                if groupRows + batch.length > targetRowsPerBatch { try flush() }
                group.append(batch)
                groupRows += batch.length
                return true
            }
            try flush()
            let last = try output(for: nil)
            try last.commit()
            try TableWriter.placeFiles(names, in: directory, open: last)
            let oldNames = state.entry.files
            state.entry = try updateEntry { entry in
                entry.files = names
                entry.nextFileNumber = next
            }
            try state.active.close()
            state.active = last
            state.sealed = [:]
            var bytesBefore = 0
            for name in oldNames {
                let path = FileSystem.join(directory, name)
                bytesBefore += (try? FileDescriptor.open(path, .readOnly)).map { descriptor in
                    defer { try? descriptor.close() }
                    return (try? descriptor.status().size) ?? 0
                } ?? 0
                try FileSystem.removeFile(path)
            }
            try FileSystem.syncDirectory(directory)
            let after = try snapshot(&state, readOptions: IPCReadOptions(trusted: true))
            return CompactionReport(
                table: table, filesBefore: oldNames.count, filesAfter: names.count,
                batchesBefore: before.numRecordBatches, batchesAfter: batchesAfter, rows: after.numRows,
                bytesBefore: bytesBefore, bytesAfter: after.files.reduce(0) { $0 + $1.committedSize })
        }
    }

    /// `batches` as one batch when their columns concatenate, otherwise unchanged.
    private static func merge(_ batches: [RecordBatch]) -> [RecordBatch] {
        guard batches.count > 1, let first = batches.first else { return batches }
        do {
            let columns = try (0..<first.numColumns).map { column in
                try ArrayData.concatenate(batches.map { $0.columns[column] })
            }
            return [try RecordBatch(schema: first.schema, columns: columns)]
        } catch {
            return batches  // e.g. dictionaries that differ: keep the batches as they are
        }
    }

    // MARK: Closing

    /// Commits pending batches, closes the last file and releases the table's lock.
    /// One commit when batches are pending (see `commit()`).
    public func close() throws {
        try state.withLock { state in
            defer { publish(&state) }
            guard !state.isClosed else { return }
            state.isClosed = true
            defer {
                try? lockDescriptor.unlock()
                try? lockDescriptor.close()
            }
            try state.active.close()
        }
    }

    private func checkOpen(_ state: State) throws {
        guard !state.isClosed else { throw QuiverError(.invalidArgument, "the writer of table '\(table)' is closed") }
    }
}

/// What a compaction did.
public struct CompactionReport: Sendable, Hashable, CustomStringConvertible {
    /// The table compacted.
    public let table: String
    /// Data files before and after.
    public let filesBefore: Int, filesAfter: Int
    /// Record batches before and after (consecutive small batches are merged).
    public let batchesBefore: Int, batchesAfter: Int
    /// Rows (unchanged by compaction).
    public let rows: Int
    /// Bytes of the data files before and after.
    public let bytesBefore: Int, bytesAfter: Int

    /// The counts before and after, in one line.
    public var description: String {
        "compacted '\(table)': \(filesBefore) files → \(filesAfter), \(batchesBefore) batches → \(batchesAfter), "
            + "\(rows) rows, \(bytesBefore) bytes → \(bytesAfter)"
    }
}
