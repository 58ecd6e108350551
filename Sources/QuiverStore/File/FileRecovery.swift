import QuiverArrow
import QuiverBytes
import QuiverIPC

/// What recovery did to a file whose footer was missing, torn or unreadable: reported to
/// the caller and logged, never silent.
public struct RecoveryReport: Sendable, Hashable, CustomStringConvertible {
    /// The file repaired (or, for a read-only recovery, read).
    public let path: String
    /// Why the footer could not be used.
    public let reason: String
    /// The file's size before recovery.
    public let originalSize: Int
    /// Record batches kept: every complete one, in order.
    public let keptBatches: Int
    /// Rows in the kept batches.
    public let keptRows: Int
    /// Where the kept messages end; everything after it was discarded.
    public let dataEnd: Int
    /// The size after the new footer was written (equal to `originalSize` when read-only).
    public let newSize: Int
    /// Why the walk over the messages stopped (end of file, a torn message, a bad checksum…).
    public let stopReason: String
    /// Whether the file was rewritten (false for a read-only, in-memory recovery).
    public let rewritten: Bool
    /// Whether the file was removed (a store file the catalog does not list).
    public var removed = false

    /// Bytes after the last complete batch that recovery discarded (a torn message, an old
    /// footer).
    public var discardedBytes: Int { max(0, originalSize - dataEnd) }

    /// What recovery did to the file, in one line.
    public var description: String {
        if removed { return "removed \(path): \(reason) (\(originalSize) bytes)" }
        return "\(rewritten ? "repaired" : "recovered (read-only)") \(path): \(reason); kept \(keptBatches) batches "
            + "(\(keptRows) rows) ending at byte \(dataEnd), discarded \(discardedBytes) bytes after them (\(stopReason))"
    }
}

extension RecoveryReport {
    /// The report of removing the file at `path` of `size` bytes.
    init(removing path: String, size: Int, reason: String) {
        self.init(
            path: path, reason: reason, originalSize: size, keptBatches: 0, keptRows: 0, dataEnd: 0, newSize: 0,
            stopReason: "removed", rewritten: true)
        removed = true
    }
}

/// The messages of a file as a walk from offset 8 found them: everything up to the last
/// complete record batch.
struct ScannedFile {
    var schema: Schema
    var dictionaryBlocks: [FileBlock] = []
    var recordBatchBlocks: [FileBlock] = []
    var dictionaries: DictionaryMemo
    var statistics: [BatchStatistics] = []
    /// The end of the last kept message (where a new footer goes).
    var dataEnd: Int
    /// Why the walk stopped.
    var stopReason = "end of file"

    var rows: Int { statistics.reduce(0) { $0 + $1.rowCount } }
}

/// Rebuilds a file's contents from its embedded stream when its footer cannot be trusted.
enum FileRecovery {
    /// Walks the messages of `input` from offset 8 and keeps every complete record batch
    /// (with the dictionaries before it): a message is complete when its framing and
    /// metadata decode, its body lies inside the input, its `quiver:xxh64` (if any) matches
    /// and its arrays validate. The batches of a multi-batch commit
    /// (`quiver:commit_remaining`) are kept together or not at all. The walk stops at the first message that is not, at the
    /// end-of-stream marker or at the end of the input; dictionaries after the last kept
    /// batch are dropped with it. Computes each kept batch's statistics.
    ///
    /// Throws `invalidMessage` when the input is not an Arrow file (wrong leading magic) or
    /// holds no complete schema message — unless `fallbackSchema` is given, which then
    /// stands for a file with no batches.
    ///
    /// `committedEnd`: where the messages of a usable footer end (when rebuilding a file
    /// whose batches, not footer, are damaged): batches before it are committed, so they
    /// are kept without waiting for the rest of their commit.
    static func scan(
        _ input: any RandomAccessInput, fallbackSchema: Schema? = nil, prefixLength: Int, minMax: Bool = true,
        committedEnd: Int = 0, pool: MemoryPool = .default
    ) throws -> ScannedFile {
        let head = try input.read(at: 0, count: min(8, input.size))
        guard ArrowFormat.canBeginFile(head.array) else {
            throw QuiverError(.invalidMessage, "not an Arrow file: no leading ARROW1 magic")
        }
        let options = IPCReadOptions(trusted: false, pool: pool)
        let reader = MessageReader(RandomAccessCursor(input, startingAt: min(8, input.size)), options: options)
        let first: Message?
        do {
            first = head.count == 8 ? try reader.next() : nil
        } catch {
            first = nil
        }
        guard let first, case .schema(let schema) = first.metadata.header else {
            guard let fallbackSchema else {
                throw QuiverError(.invalidMessage, "no complete schema message: the file cannot be recovered without its schema")
            }
            var empty = ScannedFile(schema: fallbackSchema, dictionaries: try DictionaryMemo(schema: fallbackSchema), dataEnd: 8)
            empty.stopReason = "no complete schema message; rebuilt empty with the known schema"
            return empty
        }
        var scanned = ScannedFile(schema: schema, dictionaries: try DictionaryMemo(schema: schema), dataEnd: 8 + reader.position)
        // Dictionaries since the last kept batch: kept only if a complete batch follows.
        var pendingMemo = scanned.dictionaries
        var pendingBlocks: [FileBlock] = []
        // Batches of a multi-batch commit whose last batch has not been seen yet, and how
        // many more that commit announced.
        var groupBlocks: [FileBlock] = []
        var groupStatistics: [BatchStatistics] = []
        var groupRemaining: Int?
        while true {
            let message: Message
            do {
                guard let next = try reader.next() else {
                    scanned.stopReason = reader.position + 8 < input.size ? "end-of-stream marker" : "end of file"
                    break
                }
                message = next
            } catch {
                scanned.stopReason = "incomplete or invalid message at byte \(8 + reader.position): \(error)"
                break
            }
            let offset = 8 + message.offset
            let end = 8 + reader.position
            let block = FileBlock(
                offset: Int64(offset), metadataLength: Int32(clamping: end - offset - message.body.count),
                bodyLength: Int64(message.body.count))
            do {
                try StoreFileFormat.verifyChecksum(message, offset: offset)
            } catch let error as QuiverError {
                scanned.stopReason = error.message
                break
            }
            do {
                switch message.metadata.header {
                case .schema:
                    throw QuiverError(.invalidMessage, "a second schema message")
                case .dictionaryBatch(let header):
                    try pendingMemo.apply(
                        header, body: message.body, version: message.metadata.version, options: options,
                        allowReplacement: false)
                    pendingBlocks.append(block)
                case .recordBatch(let header):
                    let batch = try ArrayDecoder.decodeRecordBatch(
                        schema: schema, header: header, body: message.body, dictionaries: pendingMemo,
                        version: message.metadata.version, options: options)
                    let remaining = try commitRemaining(message, expected: groupRemaining)
                    groupStatistics.append(StatisticsCollector.statistics(of: batch, prefixLength: prefixLength, minMax: minMax))
                    groupBlocks.append(block)
                    groupRemaining = remaining == 0 ? nil : remaining - 1
                    // Kept at the commit's last batch (the whole commit is complete), or
                    // where a footer still vouches for the batch.
                    guard remaining == 0 || end <= committedEnd else { continue }
                    scanned.statistics += groupStatistics
                    scanned.recordBatchBlocks += groupBlocks
                    scanned.dictionaryBlocks += pendingBlocks
                    groupStatistics = []
                    groupBlocks = []
                    pendingBlocks = []
                    scanned.dictionaries = pendingMemo
                    scanned.dataEnd = end
                }
            } catch {
                scanned.stopReason = "invalid message at byte \(offset): \(error)"
                break
            }
        }
        if !groupBlocks.isEmpty {
            scanned.stopReason += "; dropped the \(groupBlocks.count) complete batches of a commit whose other batches are missing"
        }
        return scanned
    }

    /// The `quiver:commit_remaining` of a record batch message (0 without one: a batch
    /// committed alone). Throws when it is malformed or does not continue the commit before
    /// it (`expected`: what that commit announced next).
    private static func commitRemaining(_ message: Message, expected: Int?) throws -> Int {
        let text = message.metadata.customMetadata[StoreFileFormat.commitRemainingKey]
        guard let remaining = text.map({ Int($0) }) ?? 0, remaining >= 0 else {
            throw QuiverError(.invalidMessage, "unreadable commit entry '\(text ?? "")'")
        }
        if let expected, remaining != expected {
            throw QuiverError(.invalidMessage, "a batch announcing \(remaining) more where its commit has \(expected) more")
        }
        return remaining
    }

    /// The footer describing `scanned` (its metadata: the caller's plus the statistics).
    static func footer(for scanned: ScannedFile, metadata: Metadata) throws -> Footer {
        var metadata = metadata
        metadata[StatisticsCodec.metadataKey] =
            scanned.statistics.isEmpty ? nil : try StatisticsCodec.encode(scanned.statistics, schema: scanned.schema)
        return Footer(
            version: .v5, schema: scanned.schema, dictionaries: scanned.dictionaryBlocks,
            recordBatches: scanned.recordBatchBlocks, customMetadata: metadata)
    }
}
