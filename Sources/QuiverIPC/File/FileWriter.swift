import QuiverArrow
import QuiverBytes

/// Writes an Arrow IPC file (pyarrow's `ipc.new_file`):
/// ```
/// "ARROW1" 00 00 | schema | dictionaries and record batches | EOS | Footer | int32 footer length | "ARROW1"
/// ```
/// The footer repeats the schema and records where every dictionary and record batch
/// message is, so readers seek straight to batch *i*. The file format allows one dictionary
/// per id plus deltas: a batch whose dictionary changed otherwise throws.
public final class FileWriter {
    private let writer: MessageWriter
    /// Custom metadata stored in the footer (pyarrow's `open_file(...).metadata`).
    public let footerMetadata: Metadata

    /// The schema as written, with a dictionary id on every dictionary-encoded field.
    public var schema: Schema { writer.schema }
    /// Messages, batches and dictionary batches written so far.
    public var stats: IPCStats { writer.stats }

    /// Starts a file on `output` (the magic, then the schema message). `metadata` goes into
    /// the footer; schema metadata travels in `schema`. Throws `invalidArgument` for an
    /// alignment other than 8 or 64.
    /// Writes only the magic and the schema: O(fields).
    public init(output: any ByteOutput, schema: Schema, options: IPCWriteOptions = .init(), metadata: Metadata = [:]) throws {
        writer = try MessageWriter(output: output, schema: schema, options: options, allowsReplacement: false)
        footerMetadata = metadata
        try writer.writePreamble(ArrowFormat.fileLeadingBytes)
        try writer.writeSchema()
    }

    /// Resumes a file whose messages end at `output.position` (a file offset): the schema
    /// (with its dictionary ids), the blocks of the messages already in the file, and the
    /// dictionaries they define. Writes nothing; the next batch goes at `output.position`
    /// and its block offsets are file offsets. For appending to an existing file, where the
    /// caller writes the footer itself (see `dictionaryBlocks`, `recordBatchBlocks`).
    /// O(blocks + dictionaries); writes nothing.
    public init(
        resuming output: any ByteOutput, schema: Schema, dictionaryBlocks: [FileBlock], recordBatchBlocks: [FileBlock],
        dictionaries: [Int64: ArrayData], options: IPCWriteOptions = .init(), metadata: Metadata = [:]
    ) throws {
        writer = try MessageWriter(
            output: output, schema: schema, options: options, allowsReplacement: false,
            resume: .init(dictionaryBlocks: dictionaryBlocks, recordBatchBlocks: recordBatchBlocks, dictionaries: dictionaries))
        footerMetadata = metadata
    }

    /// Where every dictionary batch written so far is (what the footer will list).
    public var dictionaryBlocks: [FileBlock] { writer.dictionaryBlocks }
    /// Where every record batch written so far is (what the footer will list).
    public var recordBatchBlocks: [FileBlock] { writer.recordBatchBlocks }

    /// The dictionary values written so far, by id (deltas applied): what a reader of the
    /// file holds, and what `init(resuming:…)` takes to continue the file.
    public var dictionaries: [Int64: ArrayData] { writer.sent }

    /// Computes custom metadata for each dictionary or record batch message from its encoded
    /// body, before the message is written (e.g. a checksum of the body). Nil: none.
    public var bodyMetadata: ((EncodedBody) throws -> Metadata)? {
        get { writer.bodyMetadata }
        set { writer.bodyMetadata = newValue }
    }

    /// Whether `batch` would replace a dictionary this file already holds, which the file
    /// format forbids (`write` would throw): callers can start a new file instead. Throws
    /// `schemaMismatch` for a batch of another schema.
    /// O(dictionary values) for each dictionary column, which is compared with the one held.
    public func needsDictionaryReplacement(_ batch: RecordBatch) throws -> Bool {
        try writer.needsDictionaryReplacement(batch)
    }

    /// Writes one record batch, preceded by any dictionary that is new or (with
    /// `emitDictionaryDeltas`) grew. Throws `invalidArgument` if a dictionary was replaced,
    /// which the file format does not allow, and `schemaMismatch` for a batch of another schema.
    /// O(bytes written): buffers go straight to `output`, plus compression (O(body bytes)) when set.
    public func write(_ batch: RecordBatch) throws {
        try writer.write(batch)
    }

    /// Writes the end-of-stream marker, the footer, its length and the closing magic, then
    /// flushes. The writer accepts nothing afterwards.
    /// O(batches) to encode the footer, plus one flush.
    public func finish() throws {
        try writer.writeEndOfStream()
        let footer = ArrowMetadata.encodeFooter(
            Footer(
                version: .v5, schema: writer.schema, dictionaries: writer.dictionaryBlocks,
                recordBatches: writer.recordBatchBlocks, customMetadata: footerMetadata))
        guard let length = Int32(exactly: footer.count) else {
            throw QuiverError(.capacityExceeded, "file footer of \(footer.count) bytes is too large")
        }
        try writer.output.write(footer)
        try withUnsafeBytes(of: length.littleEndian) { try writer.output.write($0) }
        try writer.output.write(ArrowFormat.fileMagic)
        try writer.output.flush()
    }
}
