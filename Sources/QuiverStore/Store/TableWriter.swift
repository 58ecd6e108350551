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
    /// The table written.
    public let table: String
    /// The store it belongs to.
    public let store: Store
    /// How it appends.
    public let options: WriterOptions
    /// What opening repaired (a torn last file; with `Store.repair`, any file).
    public let recoveries: [RecoveryReport]
    private let directory: String
    private let lockDescriptor: FileDescriptor
    private let state: Mutex<State>

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
        let entry = try Catalog.read(store.path).table(table)
        lockDescriptor = try FileDescriptor.open(FileSystem.join(directory, "writer.lock"), .readWrite, options: [.create])
        do {
            do {
                try lockDescriptor.lockExclusive()
            } catch let error as QuiverError where error.code == .conflict {
                throw QuiverError(.conflict, "table '\(table)' already has a writer (in this or another process)")
            }
            // Files the catalog does not list never held committed data of this table.
            for name in try FileSystem.contentsOfDirectory(directory)
            where (name.hasSuffix(".arrow") || name.hasSuffix(".tmp")) && !entry.files.contains(name) {
                try FileSystem.removeFile(FileSystem.join(directory, name))
                store.log("quiver: removed \(FileSystem.join(directory, name)): not listed by the catalog (left by an interrupted roll or compaction)")
            }
            guard let last = entry.files.last else {
                throw QuiverError(.invalidData, "table '\(table)' lists no data files")
            }
            var reports: [RecoveryReport] = []
            if repairAll {
                for name in entry.files.dropLast() {
                    let file = try AppendableFile(
                        path: FileSystem.join(directory, name), options: options.appendOptions(entry.options),
                        fallbackSchema: entry.schema, log: store.log)
                    if let report = file.recovery { reports.append(report) }
                    try file.close()
                }
            }
            let active = try AppendableFile(
                path: FileSystem.join(directory, last), options: options.appendOptions(entry.options),
                fallbackSchema: entry.schema, log: store.log)
            if let report = active.recovery { reports.append(report) }
            recoveries = reports
            state = Mutex(State(active: active, entry: entry))
        } catch {
            try? lockDescriptor.close()
            throw error
        }
    }

    deinit {
        try? close()
    }

    /// Whether `close()` has not been called yet.
    public var isOpen: Bool { state.withLock { !$0.isClosed } }

    /// The table's schema (from the catalog).
    public var schema: Schema { state.withLock { $0.entry.schema } }

    // MARK: Appending

    /// Appends and commits one batch (rolling to a new file first if the last is full).
    /// Throws `schemaMismatch` for a batch of another schema; nothing is written then.
    public func append(_ batch: RecordBatch) throws {
        try state.withLock { state in
            try prepare(&state, for: batch)
            try state.active.append(batch)
        }
    }

    /// Appends several batches with one commit per file they land in (group commit).
    public func append(contentsOf batches: [RecordBatch]) throws {
        try state.withLock { state in
            for batch in batches {
                try prepare(&state, for: batch)
                try state.active.write(batch)
            }
            try state.active.commit()
        }
    }

    /// Writes a batch without committing it (see `commit()`).
    public func write(_ batch: RecordBatch) throws {
        try state.withLock { state in
            try prepare(&state, for: batch)
            try state.active.write(batch)
        }
    }

    /// Commits what `write` wrote since the last commit.
    public func commit() throws {
        try state.withLock { state in
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
        let file = try AppendableFile.create(
            path: FileSystem.join(directory, name), schema: state.entry.schema,
            options: options.appendOptions(state.entry.options))
        if options.durability == .synced { try FileSystem.syncDirectory(directory) }
        state.entry = try Catalog.update(store.path) { catalog in
            guard let index = catalog.tables.firstIndex(where: { $0.name == table }) else {
                throw QuiverError(.notFound, "table '\(table)' vanished from the catalog")
            }
            catalog.tables[index].files.append(name)
            catalog.tables[index].nextFileNumber = number + 1
            return catalog.tables[index]
        }
        try state.active.close()
        state.active = file
    }

    /// Replaces the table's schema by `change(schema)` in the catalog and starts a new
    /// file with it.
    func updateSchema(_ change: (Schema) throws -> Schema) throws {
        try state.withLock { state in
            try checkOpen(state)
            let schema = try change(state.entry.schema)
            try state.active.commit()
            state.entry = try Catalog.update(store.path) { catalog in
                guard let index = catalog.tables.firstIndex(where: { $0.name == table }) else {
                    throw QuiverError(.notFound, "table '\(table)' vanished from the catalog")
                }
                catalog.tables[index].schema = schema
                return catalog.tables[index]
            }
            try roll(&state)
        }
    }

    // MARK: Reading

    /// A consistent snapshot of the table as of the last commit, from this writer's memory
    /// (older files' footers are read once and cached: they never change).
    public func snapshot(readOptions: IPCReadOptions = .init()) throws -> TableSnapshot {
        try state.withLock { state in
            try checkOpen(state)
            return try snapshot(&state, readOptions: readOptions)
        }
    }

    private func snapshot(_ state: inout State, readOptions: IPCReadOptions) throws -> TableSnapshot {
        var files: [FileSnapshot] = []
        for name in state.entry.files.dropLast() {
            if let cached = state.sealed[name] {
                files.append(cached)
                continue
            }
            let file = try FileSnapshot.open(
                path: FileSystem.join(directory, name),
                options: SnapshotOptions(requireSeal: true, retryTimeout: .zero, recoverAfterTimeout: false, readOptions: readOptions))
            state.sealed[name] = file
            files.append(file)
        }
        files.append(try state.active.snapshot(readOptions: readOptions))
        return TableSnapshot(name: table, schema: state.entry.schema, files: files)
    }

    // MARK: Compaction

    /// Rewrites the table's batches into new files (merging consecutive batches up to
    /// `targetRowsPerBatch` rows, rolling by the table's limits), makes the catalog list
    /// them instead of the old files, then deletes the old files. New files are synced
    /// before the catalog changes, so a crash leaves either the old files or the new ones
    /// listed. Readers holding snapshots of the old files keep reading them.
    public func compact(targetRowsPerBatch: Int = 65_536) throws -> CompactionReport {
        try state.withLock { state in
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
                let file = try AppendableFile.create(
                    path: FileSystem.join(directory, name), schema: state.entry.schema, options: appendOptions)
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
            try FileSystem.syncDirectory(directory)
            let oldNames = state.entry.files
            state.entry = try Catalog.update(store.path) { catalog in
                guard let index = catalog.tables.firstIndex(where: { $0.name == table }) else {
                    throw QuiverError(.notFound, "table '\(table)' vanished from the catalog")
                }
                catalog.tables[index].files = names
                catalog.tables[index].nextFileNumber = next
                return catalog.tables[index]
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
    public func close() throws {
        try state.withLock { state in
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

    public var description: String {
        "compacted '\(table)': \(filesBefore) files → \(filesAfter), \(batchesBefore) batches → \(batchesAfter), "
            + "\(rows) rows, \(bytesBefore) bytes → \(bytesAfter)"
    }
}
