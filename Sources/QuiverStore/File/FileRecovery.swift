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

    /// Bytes after the last complete batch that recovery discarded (a torn message, an old
    /// footer).
    public var discardedBytes: Int { max(0, originalSize - dataEnd) }

    public var description: String {
        "\(rewritten ? "repaired" : "recovered (read-only)") \(path): \(reason); kept \(keptBatches) batches "
            + "(\(keptRows) rows) ending at byte \(dataEnd), discarded \(discardedBytes) bytes after them (\(stopReason))"
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
    /// and its arrays validate. The walk stops at the first message that is not, at the
    /// end-of-stream marker or at the end of the input; dictionaries after the last kept
    /// batch are dropped with it. Computes each kept batch's statistics.
    ///
    /// Throws `invalidMessage` when the input is not an Arrow file (wrong leading magic) or
    /// holds no complete schema message — unless `fallbackSchema` is given, which then
    /// stands for a file with no batches.
    static func scan(
        _ input: any RandomAccessInput, fallbackSchema: Schema? = nil, prefixLength: Int, minMax: Bool = true,
        pool: MemoryPool = .default
    ) throws -> ScannedFile {
        let head = try input.read(at: 0, count: min(8, input.size))
        guard head.array == Array(StoreFileFormat.leadingMagic.prefix(head.count)) else {
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
            guard StoreFileFormat.checksumMatches(message) else {
                scanned.stopReason = "body checksum mismatch in the message at byte \(offset)"
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
                    scanned.statistics.append(
                        StatisticsCollector.statistics(of: batch, prefixLength: prefixLength, minMax: minMax))
                    scanned.recordBatchBlocks.append(block)
                    scanned.dictionaryBlocks += pendingBlocks
                    pendingBlocks = []
                    scanned.dictionaries = pendingMemo
                    scanned.dataEnd = end
                }
            } catch {
                scanned.stopReason = "invalid message at byte \(offset): \(error)"
                break
            }
        }
        return scanned
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
