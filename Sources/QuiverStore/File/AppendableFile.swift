import QuiverArrow
import QuiverBytes
import QuiverIPC

/// When an append's bytes are forced to the disk.
public enum Durability: Sendable, Hashable {
    /// No `fsync`: a commit survives the writing process crashing (the kernel has the
    /// bytes), not the machine losing power. Fast: an append costs a few `pwrite`s.
    case buffered
    /// `fsync` after the batches and again after the footer: a commit survives power loss.
    /// Slow: two device flushes per commit (use group commit for many small batches).
    case synced

    /// Whether bodies get checksums when the caller does not say: exactly when commits are
    /// synced. Only a power loss tears pages, and buffered commits do not promise to survive
    /// one anyway.
    var checksumsByDefault: Bool { self == .synced }
}

/// How an `AppendableFile` encodes and commits.
public struct AppendOptions: Sendable {
    /// Body compression of new batches (LZ4 frame or ZSTD), or nil for none.
    public var compression: CompressionCodec?
    /// Codec level (nil: the codec's default).
    public var compressionLevel: Int?
    /// Buffer alignment of new messages: 8 (as pyarrow) or 64.
    public var alignment: Int
    /// When commits reach the disk.
    public var durability: Durability
    /// Write `quiver:xxh64` body checksums, which let recovery tell a complete in-flight
    /// batch from one whose pages never reached the disk (after a power loss), and let
    /// `FileCheck` find corrupted bytes. Costs one pass over the bytes (~0.1 ms per MB).
    public var checksums: Bool
    /// Record minimum and maximum per column (row and null counts are always recorded).
    public var minMaxStatistics: Bool
    /// Strings and binary values longer than this are bounded by a prefix of this many bytes.
    public var statisticsPrefixLength: Int
    /// Let dictionaries grow by delta batches within a file (pyarrow reads them; Polars
    /// does not). Off: a batch whose dictionary differs needs a new file.
    public var dictionaryDeltas: Bool
    /// Where encoding buffers come from.
    public var pool: MemoryPool

    /// Uncompressed, 8-byte aligned, synced commits, min/max on, 64-byte string prefixes,
    /// no dictionary deltas. Checksums default to on with `.synced` durability and off with
    /// `.buffered` (`Durability.checksumsByDefault`).
    public init(
        compression: CompressionCodec? = nil, compressionLevel: Int? = nil, alignment: Int = 8,
        durability: Durability = .synced, checksums: Bool? = nil, minMaxStatistics: Bool = true,
        statisticsPrefixLength: Int = 64, dictionaryDeltas: Bool = false, pool: MemoryPool = .default
    ) {
        self.compression = compression
        self.compressionLevel = compressionLevel
        self.alignment = alignment
        self.durability = durability
        self.checksums = checksums ?? durability.checksumsByDefault
        self.minMaxStatistics = minMaxStatistics
        self.statisticsPrefixLength = statisticsPrefixLength
        self.dictionaryDeltas = dictionaryDeltas
        self.pool = pool
    }

    var writeOptions: IPCWriteOptions {
        IPCWriteOptions(
            alignment: alignment, compression: compression, compressionLevel: compressionLevel,
            emitDictionaryDeltas: dictionaryDeltas, pool: pool)
    }
}

/// An Arrow IPC file open for appending: the one writer of the file (it holds an exclusive
/// `flock` on it; a second writer gets `.conflict`), following the commit protocol of
/// StoreFileFormat.swift.
///
/// `append` writes batches and commits them (a new sealed footer); `write` + `commit()`
/// groups several batches under one commit. Opening a file whose footer is missing, torn
/// or stale recovers it first — the result is in `recovery` and is logged. Not thread-safe:
/// one thread appends (wrap it, as `TableWriter` does, to share it).
public final class AppendableFile {
    /// The file's path.
    public private(set) var path: String
    /// The options in effect.
    public let options: AppendOptions
    /// What opening had to repair, if anything.
    public private(set) var recovery: RecoveryReport?

    private let descriptor: FileDescriptor
    private var output: PositionedOutput
    private var writer: FileWriter
    private var committed: Committed
    /// Statistics of batches written since the last commit.
    private var pending: [BatchStatistics] = []
    /// The footer's statistics stream, kept up to date batch by batch.
    private var statisticsEncoder: StatisticsEncoder
    /// The footer, from parts encoded once.
    private var footerEncoder: FooterEncoder
    /// Footer metadata other than Quiver's own keys (kept from the file or given at creation).
    private var userMetadata: Metadata
    /// A write or commit failed part-way: the committed footer must be put back first.
    private var broken = false
    /// What the messages being written say about their commit (`quiver:commit_remaining`).
    private let commitMarker = CommitMarker()
    private var isClosed = false

    /// The state of the last commit.
    private struct Committed {
        var footer: Footer
        var dataEnd: Int
        var size: Int
        var tail: [UInt8]
        var statistics: [BatchStatistics]
        var dictionaries: [Int64: ArrayData]
        var rows: Int
    }

    /// The schema batches must have (with the file's dictionary ids).
    public var schema: Schema { writer.schema }
    /// Committed record batches.
    public var numRecordBatches: Int { committed.footer.recordBatches.count }
    /// Committed rows.
    public var numRows: Int { committed.rows }
    /// The file's size as of the last commit.
    public var committedSize: Int { committed.size }
    /// Statistics of every committed batch, in order.
    public var statistics: [BatchStatistics] { committed.statistics }
    /// What a snapshot of the last commit needs, to build it away from the writer's lock.
    var committedView: CommittedView {
        CommittedView(path: path, footer: committed.footer, footerOffset: committed.dataEnd + 8, size: committed.size, statistics: committed.statistics)
    }
    /// Batches written but not yet committed.
    public var numPendingBatches: Int { pending.count }
    /// Bytes of messages in the file, pending ones included (the footer comes after).
    public var dataSize: Int { output.position }

    // MARK: Creating and opening

    /// Creates a new file (failing with `.io` if one exists) holding `schema` and no batches,
    /// committed. `metadata` goes into every footer.
    /// Writes the schema and an empty footer; synced with `.synced` durability.
    public static func create(
        path: String, schema: Schema, metadata: Metadata = [:], options: AppendOptions = .init()
    ) throws -> AppendableFile {
        let descriptor = try FileDescriptor.open(path, .readWrite, options: [.create, .exclusive])
        do {
            try descriptor.lockExclusive()
            return try AppendableFile(path: path, descriptor: descriptor, schema: schema, metadata: metadata, options: options)
        } catch {
            try? descriptor.close()
            throw error
        }
    }

    /// Opens an existing Arrow file for appending: locks it (`.conflict` if another writer
    /// has it), reads its footer, and recovers the file if the footer is missing, torn or
    /// unreadable (`recovery`, reported to `log`). `fallbackSchema` lets recovery rebuild a
    /// file whose schema message itself is incomplete (as an empty file of that schema).
    /// A file not written by Quiver gains statistics for its existing batches (read once).
    ///
    /// `rebuildBecause` (a reason) rebuilds the file from its messages even though its footer
    /// is fine — for a file whose batches are damaged: the file is cut before the first
    /// message that fails its checksum or validation.
    /// O(footer size) for an intact Quiver file; recovery, a rebuild and statistics for a
    /// foreign file each read the messages (O(file bytes)).
    public convenience init(
        path: String, options: AppendOptions = .init(), fallbackSchema: Schema? = nil,
        log: @Sendable (String) -> Void = StoreLog.standardError, rebuildBecause: String? = nil
    ) throws {
        let descriptor = try FileDescriptor.open(path, .readWrite)
        do {
            try descriptor.lockExclusive()
            try self.init(
                path: path, descriptor: descriptor, options: options, fallbackSchema: fallbackSchema, log: log,
                rebuildBecause: rebuildBecause)
        } catch {
            try? descriptor.close()
            throw error
        }
    }

    /// A new file on a locked, empty descriptor.
    private init(path: String, descriptor: FileDescriptor, schema: Schema, metadata: Metadata, options: AppendOptions) throws {
        self.path = path
        self.options = options
        self.descriptor = descriptor
        self.recovery = nil
        userMetadata = AppendableFile.userMetadata(metadata)
        output = PositionedOutput(descriptor: descriptor, position: 0, fileSize: 0, pool: options.pool)
        writer = try FileWriter(output: output, schema: schema, options: options.writeOptions)
        committed = Committed(footer: Footer(schema: schema, dictionaries: [], recordBatches: []), dataEnd: 0, size: 0, tail: [], statistics: [], dictionaries: [:], rows: 0)
        statisticsEncoder = StatisticsEncoder(schema: writer.schema)
        footerEncoder = try FooterEncoder(schema: writer.schema)
        configureWriter()
        try commit(force: true)
    }

    /// An existing file on a locked descriptor.
    private init(
        path: String, descriptor: FileDescriptor, options: AppendOptions, fallbackSchema: Schema?,
        log: @Sendable (String) -> Void, rebuildBecause: String?
    ) throws {
        self.path = path
        self.options = options
        self.descriptor = descriptor
        let size = try descriptor.status().size
        let input = ReadFileInput(descriptor: descriptor, size: size, pool: options.pool)
        recovery = nil
        // Rebuilding a file whose footer is usable: the footer vouches for its batches.
        let committedEnd = rebuildBecause == nil ? 0 : (try? FooterIO.read(input, requireSeal: false))?.dataEnd ?? 0
        do {
            if let rebuildBecause { throw QuiverError(.invalidData, rebuildBecause) }
            let footer = try FooterIO.read(input, requireSeal: false)
            userMetadata = AppendableFile.userMetadata(footer.footer.customMetadata)
            let reader = try FileReader(
                input: input, footer: footer.footer, footerOffset: footer.footerOffset,
                options: IPCReadOptions(pool: options.pool))
            let statistics = try AppendableFile.statistics(of: reader, footer: footer.footer, options: options)
            output = PositionedOutput(descriptor: descriptor, position: footer.dataEnd, fileSize: size, pool: options.pool)
            var tail = try input.read(at: footer.dataEnd, count: size - footer.dataEnd).array
            if footer.isSealed, !tail.starts(with: StoreFileFormat.endOfStream) {
                // An append that crashed after its first bytes: the footer is intact, the
                // end-of-stream marker before it is not. Put the marker back.
                try StoreFileFormat.endOfStream.withUnsafeBytes { try descriptor.writeAll($0, at: footer.dataEnd) }
                tail.replaceSubrange(0..<8, with: StoreFileFormat.endOfStream)
            }
            committed = Committed(
                footer: footer.footer, dataEnd: footer.dataEnd, size: size, tail: tail, statistics: statistics,
                dictionaries: reader.dictionaries.dictionaries, rows: statistics.reduce(0) { $0 + $1.rowCount })
            writer = try AppendableFile.resumedWriter(output, committed, options)
            statisticsEncoder = StatisticsEncoder(schema: writer.schema)
            footerEncoder = try FooterEncoder(schema: writer.schema)
            for batch in statistics { statisticsEncoder.append(batch) }
            configureWriter()
            if !footer.isSealed || footer.dataEnd == footer.footerOffset {
                // A foreign file: commit once so it carries Quiver's statistics, seal and marker.
                try commit(force: true)
            }
        } catch let error as QuiverError where AppendableFile.isFooterProblem(error) {
            let scanned = try FileRecovery.scan(
                input, fallbackSchema: fallbackSchema, prefixLength: options.statisticsPrefixLength,
                minMax: options.minMaxStatistics, committedEnd: committedEnd, pool: options.pool)
            // The footer is unreadable, so any caller metadata in it is lost; say so.
            userMetadata = [:]
            output = PositionedOutput(descriptor: descriptor, position: scanned.dataEnd, fileSize: size, pool: options.pool)
            if scanned.dataEnd <= 8 {
                // Not even the schema survived: start the file again from its known schema.
                output.discard(movingTo: 0)
                try output.truncate(to: 0)
                writer = try FileWriter(output: output, schema: scanned.schema, options: options.writeOptions)
                committed = Committed(
                    footer: Footer(schema: scanned.schema, dictionaries: [], recordBatches: []), dataEnd: 0, size: 0,
                    tail: [], statistics: [], dictionaries: [:], rows: 0)
            } else {
                let blocks = Footer(
                    schema: scanned.schema, dictionaries: scanned.dictionaryBlocks, recordBatches: scanned.recordBatchBlocks)
                committed = Committed(
                    footer: blocks, dataEnd: scanned.dataEnd, size: size,
                    tail: [], statistics: scanned.statistics, dictionaries: scanned.dictionaries.dictionaries,
                    rows: scanned.rows)
                writer = try AppendableFile.resumedWriter(output, committed, options)
            }
            statisticsEncoder = StatisticsEncoder(schema: writer.schema)
            footerEncoder = try FooterEncoder(schema: writer.schema)
            for batch in committed.statistics { statisticsEncoder.append(batch) }
            configureWriter()
            try commit(force: true)
            let report = RecoveryReport(
                path: path, reason: rebuildBecause ?? "footer unusable: \(error.message)", originalSize: size,
                keptBatches: scanned.recordBatchBlocks.count, keptRows: scanned.rows, dataEnd: scanned.dataEnd,
                newSize: committed.size, stopReason: scanned.stopReason, rewritten: true)
            recovery = report
            log("quiver: \(report)")
        }
    }

    deinit {
        try? close()
    }

    /// Errors that mean "this footer cannot be used" (as opposed to I/O failures).
    static func isFooterProblem(_ error: QuiverError) -> Bool {
        [.invalidMessage, .invalidFlatBuffer, .outOfBounds, .endOfStream, .invalidData, .capacityExceeded, .unsupported]
            .contains(error.code)
    }

    /// A writer continuing after the committed messages.
    private static func resumedWriter(_ output: PositionedOutput, _ committed: Committed, _ options: AppendOptions) throws -> FileWriter {
        try FileWriter(
            resuming: output, schema: committed.footer.schema, dictionaryBlocks: committed.footer.dictionaries,
            recordBatchBlocks: committed.footer.recordBatches, dictionaries: committed.dictionaries,
            options: options.writeOptions)
    }

    private func configureWriter() {
        let checksums = options.checksums, marker = commitMarker
        writer.bodyMetadata = { body in
            var metadata = checksums ? StoreFileFormat.checksumMetadata(body) : [:]
            if let remaining = marker.remaining { metadata[StoreFileFormat.commitRemainingKey] = String(remaining) }
            return metadata
        }
    }

    /// Gives the file its final name (files are created under a temporary one, so a crash
    /// never leaves a half-made file under a data file's name). Not durable until the
    /// directory is synced.
    func rename(to newPath: String) throws {
        try FileSystem.rename(path, to: newPath)
        path = newPath
    }

    /// `metadata` without the keys Quiver maintains itself.
    private static func userMetadata(_ metadata: Metadata) -> Metadata {
        var result = metadata
        result[StatisticsCodec.metadataKey] = nil
        return result
    }

    /// The statistics of a file's batches: from its footer when Quiver wrote it, otherwise
    /// computed by reading every batch once.
    private static func statistics(of reader: FileReader, footer: Footer, options: AppendOptions) throws -> [BatchStatistics] {
        if let text = footer.customMetadata[StatisticsCodec.metadataKey] {
            let decoded = try StatisticsCodec.decode(text, schema: footer.schema, pool: options.pool)
            guard decoded.count == footer.recordBatches.count else {
                throw QuiverError(
                    .invalidData, "footer statistics describe \(decoded.count) batches, the footer lists \(footer.recordBatches.count)")
            }
            return decoded
        }
        return try (0..<reader.numRecordBatches).map { index in
            StatisticsCollector.statistics(
                of: try reader.recordBatch(at: index), prefixLength: options.statisticsPrefixLength,
                minMax: options.minMaxStatistics)
        }
    }

    // MARK: Appending

    /// Whether `batch` needs a dictionary this file cannot take (a replacement, or a delta
    /// when deltas are off): append it to a new file instead.
    /// O(dictionary values) of each dictionary column, compared with the file's.
    public func needsNewFile(for batch: RecordBatch) throws -> Bool {
        try restoreIfBroken()
        return try writer.needsDictionaryReplacement(batch)
    }

    /// Writes a batch (and the dictionaries it needs) without committing it: it becomes
    /// visible, and durable, at the next `commit()`. Throws `schemaMismatch` for a batch of
    /// another schema (nothing is written then).
    /// O(batch bytes) written plus one statistics pass over each column; no fsync.
    public func write(_ batch: RecordBatch) throws {
        _ = try write(batch, preparingCommit: false)
    }

    /// Writes `batch` as one of a multi-batch commit that has `remaining` batches after it
    /// (recovery keeps the commit's batches only together). A failure drops every batch
    /// written since the last commit, so no part of the commit can be committed later.
    func write(_ batch: RecordBatch, commitRemaining remaining: Int) throws {
        commitMarker.remaining = remaining
        defer { commitMarker.remaining = nil }
        do {
            _ = try write(batch, preparingCommit: false)
        } catch {
            discardPending()
            throw error
        }
    }

    /// Drops the batches written since the last commit (the file goes back to its last
    /// commit before the next operation).
    func discardPending() {
        if !pending.isEmpty || output.position != committed.dataEnd { broken = true }
    }

    /// The footer's statistics for the committed batches plus the one pending batch,
    /// computed while that batch was written: the encoder with it, and its text.
    private struct PreparedStatistics {
        let encoder: StatisticsEncoder
        let text: String
    }

    /// Batches with at least this many rows get their statistics computed with a helper
    /// thread while the batch is written.
    static let parallelStatisticsRows = 8_192

    /// Writes a batch, adds its statistics to `pending` and, with `preparingCommit` when
    /// nothing else is pending, also returns the statistics text its commit will need. For
    /// large batches a helper thread works on the statistics during the write (both only
    /// read the batch's buffers; see `StatisticsTask`).
    private func write(_ batch: RecordBatch, preparingCommit: Bool) throws -> PreparedStatistics? {
        try checkOpen()
        try restoreIfBroken()
        let prepares = preparingCommit && pending.isEmpty
        let start = output.position
        let blocks = writer.recordBatchBlocks.count
        let task = StatisticsTask(
            batch: batch, prefixLength: options.statisticsPrefixLength, minMax: options.minMaxStatistics,
            encoder: prepares ? statisticsEncoder : nil)
        if batch.length >= AppendableFile.parallelStatisticsRows { task.offer() }
        do {
            try writer.write(batch)
        } catch {
            task.cancel()
            if output.position != start || writer.recordBatchBlocks.count != blocks { broken = true }
            throw error
        }
        let result = task.finish()
        pending.append(result.statistics)
        return result.encoded.map { PreparedStatistics(encoder: $0.encoder, text: $0.text) }
    }

    /// Commits the batches written since the last commit: flushes them, writes the new
    /// sealed footer after them, and syncs as `options.durability` says. A no-op when
    /// nothing is pending.
    /// Rewrites the footer (O(batches)); two fsyncs with `.synced` durability.
    public func commit() throws {
        try checkOpen()
        try restoreIfBroken()
        try commit(force: false)
    }

    /// Writes and commits one batch (see `write`, `commit`); the footer's statistics are
    /// encoded while the batch is written.
    /// O(batch bytes) plus one commit (see `commit()`).
    public func append(_ batch: RecordBatch) throws {
        let prepared = try write(batch, preparingCommit: true)
        try commit(force: false, prepared: prepared)
    }

    /// Writes and commits several batches under one commit (group commit: one footer and
    /// at most two syncs for all of them). Atomic: after a crash the file holds all of them
    /// or none (each carries `quiver:commit_remaining`); batches `write` left pending before
    /// join the commit but not that promise.
    /// O(total bytes) plus one commit.
    public func append(contentsOf batches: [RecordBatch]) throws {
        guard batches.count > 1 else {
            if let batch = batches.first { try append(batch) }
            return
        }
        for (index, batch) in batches.enumerated() {
            try write(batch, commitRemaining: batches.count - 1 - index)
        }
        try commit()
    }

    private func commit(force: Bool, prepared: PreparedStatistics? = nil) throws {
        guard force || !pending.isEmpty else { return }
        let before = statisticsEncoder
        do {
            try output.flush()
            if options.durability == .synced { try descriptor.sync() }
            let dataEnd = output.position
            var metadata = userMetadata
            if let prepared {
                statisticsEncoder = prepared.encoder
                metadata[StatisticsCodec.metadataKey] = prepared.text
            } else {
                for batch in pending { statisticsEncoder.append(batch) }
                // A file without batches has nothing to describe (and stays small).
                metadata[StatisticsCodec.metadataKey] = statisticsEncoder.count == 0 ? nil : try statisticsEncoder.text()
            }
            let footer = Footer(
                version: .v5, schema: writer.schema, dictionaries: writer.dictionaryBlocks,
                recordBatches: writer.recordBatchBlocks, customMetadata: metadata)
            let tail = try FooterIO.encodeTail(
                footerEncoder, dictionaries: footer.dictionaries, recordBatches: footer.recordBatches, metadata: metadata,
                dataEnd: dataEnd)
            try tail.withUnsafeBytes { try descriptor.writeAll($0, at: dataEnd) }
            let size = dataEnd + tail.count
            if output.highWater > size { try output.truncate(to: size) } else { output.setFileSize(size) }
            if options.durability == .synced { try descriptor.sync() }
            committed.footer = footer
            committed.dataEnd = dataEnd
            committed.size = size
            committed.tail = tail
            committed.statistics += pending
            committed.dictionaries = writer.dictionaries
            committed.rows += pending.reduce(0) { $0 + $1.rowCount }
            pending = []
            footerEncoder.keep(footer.recordBatches)
        } catch {
            statisticsEncoder = before
            broken = true
            throw error
        }
    }

    /// After a failed write or commit: drops what was written since the last commit and
    /// puts the committed footer back, so the file is again exactly its last commit.
    private func restoreIfBroken() throws {
        guard broken else { return }
        output.discard(movingTo: committed.dataEnd)
        try committed.tail.withUnsafeBytes { try descriptor.writeAll($0, at: committed.dataEnd) }
        try output.truncate(to: committed.size)
        if options.durability == .synced { try descriptor.sync() }
        writer = try AppendableFile.resumedWriter(output, committed, options)
        configureWriter()
        pending = []
        broken = false
    }

    // MARK: Reading and closing

    /// A consistent read view of the committed batches, taken from memory (no footer read,
    /// no waiting). Later commits do not change it.
    /// One `mmap`; no data is read.
    public func snapshot(readOptions: IPCReadOptions = .init(), verifyChecksums: Bool = false) throws -> FileSnapshot {
        try checkOpen()
        let mapping = try MappedFile(descriptor: descriptor)
        return try FileSnapshot(
            path: path, footer: committed.footer, footerOffset: committed.dataEnd + 8, committedSize: committed.size,
            statistics: committed.statistics, input: mapping, readOptions: readOptions, recovery: nil,
            verifyChecksums: verifyChecksums)
    }

    /// Commits pending batches (or, after a failure, restores the last commit), gives back
    /// the disk space reserved for further appends, releases the lock and closes the file.
    /// Later calls throw.
    /// One commit when batches are pending (see `commit()`).
    public func close() throws {
        guard !isClosed else { return }
        defer {
            isClosed = true
            try? descriptor.unlock()
            try? descriptor.close()
        }
        if broken { try restoreIfBroken() } else { try commit(force: false) }
        // Space reserved for appends that will not come (best effort: the file is committed
        // either way, and a later writer's close gives it back too).
        try? output.releaseReservation(size: committed.size)
    }

    private func checkOpen() throws {
        guard !isClosed else { throw QuiverError(.invalidArgument, "\(path) is closed") }
    }
}

/// The `quiver:commit_remaining` of the message being written (nil: none); shared by an
/// `AppendableFile` and its writer's metadata closure, so the closure holds no reference to
/// the file.
private final class CommitMarker {
    var remaining: Int?
}

/// Where the store reports what it repaired.
public enum StoreLog {
    /// Writes the line to standard error.
    @Sendable public static func standardError(_ line: String) {
        var text = line
        if !text.hasSuffix("\n") { text += "\n" }
        text.withUTF8 { try? FileDescriptor.standardError.writeAll(UnsafeRawBufferPointer($0)) }
    }

    /// Drops the line.
    @Sendable public static func silent(_ line: String) {}
}

/// The last commit of an appendable file, as values: a reader maps the file and sees exactly
/// this (bytes before `size` never change while the file is appended to).
struct CommittedView: Sendable {
    let path: String
    let footer: Footer
    let footerOffset: Int
    let size: Int
    let statistics: [BatchStatistics]

    /// A snapshot of this commit over a fresh mapping of the file.
    func snapshot(readOptions: IPCReadOptions, verifyChecksums: Bool = false) throws -> FileSnapshot {
        let mapping = try MappedFile(path: path)
        return try FileSnapshot(
            path: path, footer: footer, footerOffset: footerOffset, committedSize: size,
            statistics: statistics, input: mapping, readOptions: readOptions, recovery: nil,
            verifyChecksums: verifyChecksums)
    }
}
