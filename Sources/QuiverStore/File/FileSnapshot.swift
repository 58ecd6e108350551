import QuiverArrow
import QuiverBytes
import QuiverIPC
import Synchronization

/// How a snapshot of a file is taken from disk.
public struct SnapshotOptions: Sendable {
    /// Reject footers without a seal (store files always have one; other Arrow files don't).
    public var requireSeal: Bool
    /// How long to keep retrying a footer that fails verification (a writer is committing)
    /// before concluding the writer crashed.
    public var retryTimeout: Duration
    /// After the timeout, recover the file in memory (read-only) instead of throwing.
    public var recoverAfterTimeout: Bool
    /// How batches are decoded (validation, pool).
    public var readOptions: IPCReadOptions
    /// Verify each message's body checksum (`quiver:xxh64`) when it is read: a damaged
    /// batch or dictionary then throws `invalidData` instead of yielding altered values.
    /// Costs a hashing pass over every body read, whichever columns are projected.
    public var verifyChecksums: Bool

    /// No seal required, 2 s of retries, then read-only recovery; full validation; no
    /// checksum verification.
    public init(
        requireSeal: Bool = false, retryTimeout: Duration = .seconds(2), recoverAfterTimeout: Bool = true,
        readOptions: IPCReadOptions = .init(), verifyChecksums: Bool = false
    ) {
        self.requireSeal = requireSeal
        self.retryTimeout = retryTimeout
        self.recoverAfterTimeout = recoverAfterTimeout
        self.readOptions = readOptions
        self.verifyChecksums = verifyChecksums
    }
}

/// A consistent read view of one Arrow file: the batches its footer named when the
/// snapshot was taken, with their statistics. Appends made later are not visible; the bytes
/// it reads never change (StoreFileFormat.swift). The file is memory-mapped, so the
/// snapshot keeps working after the file is replaced or deleted. `Sendable`: share it
/// between threads.
public struct FileSnapshot: Sendable {
    /// The file read.
    public let path: String
    /// The file's schema (with its dictionary ids).
    public var schema: Schema { footer.schema }
    /// The footer the snapshot is built on.
    public let footer: Footer
    /// The file's size at this commit.
    public let committedSize: Int
    /// Per batch, in order: row count and (for files Quiver wrote) column statistics. Read
    /// from the footer: no data page is touched.
    public let statistics: [BatchStatistics]
    /// Total rows.
    public let numRows: Int
    /// Set when the snapshot had to recover the file in memory (its footer stayed torn).
    public let recovery: RecoveryReport?
    /// Whether reads verify body checksums (`SnapshotOptions.verifyChecksums`).
    public let verifiesChecksums: Bool
    let footerOffset: Int
    private let input: any RandomAccessInput
    private let readOptions: IPCReadOptions
    private let cache: ReaderCache

    /// The number of record batches.
    public var numRecordBatches: Int { footer.recordBatches.count }
    /// The footer's custom metadata.
    public var footerMetadata: Metadata { footer.customMetadata }

    init(
        path: String, footer: Footer, footerOffset: Int, committedSize: Int, statistics: [BatchStatistics],
        input: any RandomAccessInput, readOptions: IPCReadOptions, recovery: RecoveryReport?, verifyChecksums: Bool = false
    ) throws {
        guard statistics.count == footer.recordBatches.count else {
            throw QuiverError(
                .invalidData, "\(path): statistics describe \(statistics.count) batches, the footer lists \(footer.recordBatches.count)")
        }
        self.path = path
        self.footer = footer
        self.footerOffset = footerOffset
        self.committedSize = committedSize
        self.statistics = statistics
        self.numRows = statistics.reduce(0) { $0 + $1.rowCount }
        self.input = input
        self.readOptions = readOptions
        self.recovery = recovery
        self.verifiesChecksums = verifyChecksums
        cache = ReaderCache()
    }

    /// The same committed state read with other options: shares the mapping, footer and
    /// statistics (no I/O, so it needs no lock and sees no later commit).
    func reading(with readOptions: IPCReadOptions, verifyChecksums: Bool) throws -> FileSnapshot {
        try FileSnapshot(
            path: path, footer: footer, footerOffset: footerOffset, committedSize: committedSize, statistics: statistics,
            input: input, readOptions: readOptions, recovery: recovery, verifyChecksums: verifyChecksums)
    }

    /// Takes a snapshot of the file at `path`: reads and verifies its footer (retrying while
    /// it fails verification, as when a writer is mid-commit) and maps the file. Throws
    /// `.notFound` if the file does not exist.
    /// O(footer size) to read and verify the footer, plus one `mmap`; statistics are decoded
    /// once per mapping (O(batches × columns)). No batch is read.
    public static func open(path: String, options: SnapshotOptions = .init()) throws -> FileSnapshot {
        try open(path: path, options: options, keepRetrying: { true })
    }

    /// `open(path:options:)`, asking `keepRetrying` before waiting for a torn footer: false
    /// (no writer alive) stops the retries after one more look.
    static func open(path: String, options: SnapshotOptions, keepRetrying: () -> Bool) throws -> FileSnapshot {
        let (mapping, result) = try mapCommitted(
            path: path, requireSeal: options.requireSeal, retryTimeout: options.retryTimeout,
            pool: options.readOptions.pool, keepRetrying: keepRetrying)
        switch result {
        case .success(let footer):
            let statistics = try cachedStatistics(footer, mapping: mapping, pool: options.readOptions.pool)
            return try FileSnapshot(
                path: path, footer: footer.footer, footerOffset: footer.footerOffset, committedSize: footer.fileSize,
                statistics: statistics, input: mapping, readOptions: options.readOptions, recovery: nil,
                verifyChecksums: options.verifyChecksums)
        case .failure(let error):
            guard options.recoverAfterTimeout else { throw error.adding(context: path) }
            return try recoverInMemory(path: path, mapping: mapping, reason: error.message, options: options)
        }
    }

    /// Maps the file at `path` and reads its committed footer — the one way every reader
    /// (snapshots, `FileCheck`) takes a file's committed state. A footer that fails
    /// verification is what a reader sees while a writer commits, so it is read again
    /// (backing off) until `retryTimeout`, or one look after `keepRetrying` says no writer
    /// is alive; then the last failure is returned with the mapping. Throws `.notFound`
    /// if the file does not exist, and I/O errors.
    static func mapCommitted(
        path: String, requireSeal: Bool, retryTimeout: Duration, pool: MemoryPool, keepRetrying: () -> Bool
    ) throws -> (mapping: MappedFile, footer: Result<CommittedFooter, QuiverError>) {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: retryTimeout)
        var delay = 20
        var lastLook = false
        while true {
            let descriptor: FileDescriptor
            do {
                descriptor = try FileDescriptor.open(path, .readOnly)
            } catch let error as QuiverError where !FileSystem.exists(path) {
                throw QuiverError(.notFound, "\(path) does not exist (\(error.message))")
            }
            defer { try? descriptor.close() }
            let size = try descriptor.status().size
            let input = ReadFileInput(descriptor: descriptor, size: size, pool: pool)
            let footer: CommittedFooter
            do {
                footer = try FooterIO.read(input, requireSeal: requireSeal)
            } catch let error as QuiverError where AppendableFile.isFooterProblem(error) || error.code == .io {
                // .io: a read came back short (a writer cut the file back to its last commit).
                guard clock.now >= deadline || lastLook else {
                    lastLook = !keepRetrying()
                    FileSystem.sleep(microseconds: lastLook ? 1_000 : delay)
                    delay = min(delay * 2, 5_000)
                    continue
                }
                return (try MappedFile(descriptor: descriptor), .failure(error))
            }
            // Through the shared cache: querying an unchanged store again reuses the mapping,
            // its resident pages and what readers learned about it (validated batches). A file
            // that grew since is another version (its size is part of its identity).
            let mapping = try MappingCache.shared.mapping(path: path, descriptor: descriptor)
            guard mapping.size >= footer.dataEnd else { continue }  // cut while we looked: look again
            return (mapping, .success(footer))
        }
    }

    /// A snapshot of a file whose footer stayed unusable: its complete batches, found by
    /// walking the messages; the file is not modified.
    private static func recoverInMemory(
        path: String, mapping: MappedFile, reason: String, options: SnapshotOptions
    ) throws -> FileSnapshot {
        let scanned = try FileRecovery.scan(mapping, prefixLength: 64, pool: options.readOptions.pool)
        let footer = try FileRecovery.footer(for: scanned, metadata: [:])
        let report = RecoveryReport(
            path: path, reason: "footer unusable: \(reason)", originalSize: mapping.size,
            keptBatches: scanned.recordBatchBlocks.count, keptRows: scanned.rows, dataEnd: scanned.dataEnd,
            newSize: mapping.size, stopReason: scanned.stopReason, rewritten: false)
        return try FileSnapshot(
            path: path, footer: footer, footerOffset: scanned.dataEnd, committedSize: scanned.dataEnd,
            statistics: scanned.statistics, input: mapping, readOptions: options.readOptions, recovery: report,
            verifyChecksums: options.verifyChecksums)
    }

    /// The statistics of the footer at `footer.footerOffset`, decoded once per mapping: a
    /// mapping from `MappingCache` is one version of the file, whose committed footer never
    /// changes, so a service's repeated snapshots of an unchanged table skip decoding
    /// (for a wide table, most of a snapshot's cost).
    private static func cachedStatistics(_ footer: CommittedFooter, mapping: MappedFile, pool: MemoryPool) throws -> [BatchStatistics] {
        let decoded = mapping.fact("quiver.statistics@\(footer.footerOffset)-\(footer.fileSize)") {
            DecodedStatistics(Result { try readStatistics(footer.footer, input: mapping, pool: pool) })
        }
        return try decoded.result.get()
    }

    /// The footer's statistics; for files without them, the row count of each batch (read
    /// from each record batch's message header, not its body).
    static func readStatistics(_ footer: Footer, input: any RandomAccessInput, pool: MemoryPool) throws -> [BatchStatistics] {
        if let text = footer.customMetadata[StatisticsCodec.metadataKey] {
            return try StatisticsCodec.decode(text, schema: footer.schema, pool: pool)
        }
        let columns = [ColumnStatistics?](repeating: nil, count: footer.schema.fields.count)
        return try footer.recordBatches.map { block in
            let prefix = try input.read(at: try checkedCount(block.offset, "block offset"), count: 8)
            let continuation = prefix.uncheckedReadLittleEndian(Int32.self, at: 0) == -1
            let length = Int(prefix.uncheckedReadLittleEndian(Int32.self, at: continuation ? 4 : 0))
            guard length > 0 else { throw QuiverError(.invalidMessage, "empty message metadata at \(block.offset)") }
            let metadata = try ArrowMetadata.decodeMessage(
                try input.read(at: Int(block.offset) + (continuation ? 8 : 4), count: length))
            guard case .recordBatch(let header) = metadata.header else {
                throw QuiverError(.invalidMessage, "block at \(block.offset) does not hold a record batch")
            }
            return BatchStatistics(rowCount: try checkedCount(header.length, "record batch length"), columns: columns)
        }
    }

    /// A reader over the snapshot's batches (created once, then shared). With
    /// `verifiesChecksums`, the dictionaries' checksums are verified first; the reader
    /// itself does not verify batches (`recordBatch(at:)` does, or `verifyChecksum(ofBatch:)`).
    /// First call: O(dictionary bytes) (see `FileReader.init`), plus hashing them when
    /// verifying; later calls O(1).
    public func reader() throws -> FileReader {
        try cache.reader {
            if verifiesChecksums {
                for block in footer.dictionaries { try StoreFileFormat.verifyChecksum(of: block, in: input) }
            }
            return try FileReader(input: input, footer: footer, footerOffset: footerOffset, options: readOptions)
        }
    }

    /// Verifies the body checksum of batch `index` when the snapshot verifies checksums
    /// (a no-op otherwise). Throws `invalidData` for a damaged batch.
    /// O(body bytes) when verifying: the batch's body is hashed.
    public func verifyChecksum(ofBatch index: Int) throws {
        guard verifiesChecksums else { return }
        guard index >= 0, index < footer.recordBatches.count else {
            throw QuiverError(.invalidArgument, "record batch \(index) of a file with \(footer.recordBatches.count)")
        }
        try withErrorContext(path) { try StoreFileFormat.verifyChecksum(of: footer.recordBatches[index], in: input) }
    }

    /// Record batch `index` of the snapshot (zero-copy views of the mapping), verified
    /// first with `verifiesChecksums`.
    public func recordBatch(at index: Int) throws -> RecordBatch {
        let reader = try reader()
        try verifyChecksum(ofBatch: index)
        return try reader.recordBatch(at: index)
    }

    /// Every batch of the snapshot (verified first with `verifiesChecksums`).
    /// O(batches) plus each batch's decoding cost, and O(body bytes) to verify checksums.
    public func readBatches() throws -> [RecordBatch] {
        let reader = try reader()
        for index in 0..<numRecordBatches { try verifyChecksum(ofBatch: index) }
        return try reader.readBatches()
    }

    /// The statistics of all the file's rows together.
    /// O(batches × columns).
    public var totalStatistics: BatchStatistics {
        BatchStatistics.merging(statistics, columnCount: footer.schema.fields.count)
    }
}

/// Statistics decoded from one footer of a mapping (or why they could not be).
private final class DecodedStatistics: Sendable {
    let result: Result<[BatchStatistics], any Error>

    init(_ result: Result<[BatchStatistics], any Error>) {
        self.result = result
    }
}

/// Holds a snapshot's `FileReader` once created (reading the dictionaries costs a read).
final class ReaderCache: Sendable {
    private let state = Mutex<FileReader?>(nil)

    func reader(_ make: () throws -> FileReader) throws -> FileReader {
        try state.withLock { cached in
            if let cached { return cached }
            let reader = try make()
            cached = reader
            return reader
        }
    }
}
