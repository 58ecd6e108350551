import QuiverArrow
import QuiverBytes

/// Reads an Arrow IPC stream (pyarrow's `ipc.open_stream`): the schema, then record batches
/// one at a time, applying dictionary batches (new, delta, replacement) as they come.
///
/// Pulls exactly one message at a time from its input, so it works over pipes. Record batch
/// buffers are views of the input where the input allows (in-memory buffers), and every
/// batch is validated unless `options.trusted`. Iterate with `readNext()` (throws) or as a
/// `Sequence` (`for batch in reader`), which stops at the first error and leaves it in
/// `error`.
public final class StreamReader: Sequence, IteratorProtocol {
    /// The schema from the first message, with dictionary ids as the stream declares them.
    public var schema: Schema { decoder.schema }
    /// The options the reader was opened with.
    public var options: IPCReadOptions { decoder.options }
    /// The dictionaries as of the last batch read.
    public var dictionaries: DictionaryMemo { decoder.dictionaries }
    /// What has been read so far.
    public var stats: IPCStats { decoder.stats }
    /// The error that ended iteration through `next()`, if any.
    public private(set) var error: (any Error)?
    private let messages: MessageReader
    private var ended = false
    private var decoder: StreamMessages

    /// Opens a stream: reads and checks its schema message. Throws `invalidMessage` when the
    /// input is empty or does not begin with a schema.
    /// Reads one message: O(schema size).
    public init(input: any SequentialInput, options: IPCReadOptions = .init()) throws {
        messages = MessageReader(input, options: options)
        decoder = try StreamMessages(first: try messages.next(), options: options)
    }

    /// Opens a stream held in memory (zero-copy: batches view `buffer`).
    /// Reads the schema message only: O(schema size).
    public convenience init(buffer: Buffer, options: IPCReadOptions = .init()) throws {
        try self.init(input: BufferInput(buffer), options: options)
    }

    /// Opens a stream from bytes (copied once into a pool buffer, which batches then view).
    /// O(bytes) for the copy, plus the schema message.
    public convenience init(bytes: [UInt8], options: IPCReadOptions = .init()) throws {
        try self.init(buffer: Buffer(copying: bytes, pool: options.pool), options: options)
    }

    /// The next record batch, or nil at the end of the stream. Dictionary batches before it
    /// are applied on the way.
    /// O(columns) zero-copy from a buffer or mapping (O(bytes) read otherwise), plus O(rows)
    /// validation and O(bytes) decompression; dictionary batches cost the same again.
    public func readNext() throws -> RecordBatch? {
        guard !ended else { return nil }
        do {
            while let message = try messages.next() {
                if let batch = try decoder.apply(message) { return batch }
            }
            ended = true
            return nil
        } catch {
            ended = true
            throw error
        }
    }

    /// Every remaining record batch as a `Table` of chunked columns — pyarrow's `read_all()`.
    /// Zero-copy: the table's columns are the batches' buffers (views of the input).
    public func readAll() throws -> Table {
        try Table(schema: schema, batches: try readBatches())
    }

    /// Every remaining record batch, in stream order.
    /// O(batches) plus each batch's `readNext()` cost; memory for all of them.
    public func readBatches() throws -> [RecordBatch] {
        var batches: [RecordBatch] = []
        while let batch = try readNext() { batches.append(batch) }
        return batches
    }

    /// The next record batch; nil at the end or on an error, which is then kept in `error`.
    /// Costs what `readNext()` does.
    public func next() -> RecordBatch? {
        do {
            return try readNext()
        } catch {
            self.error = error
            return nil
        }
    }
}

/// What a stream's messages mean, one at a time: the first must be the schema; dictionary
/// batches update the dictionaries; record batches decode against them. Shared by
/// `StreamReader` (pulling from an input) and `StreamDecoder` (fed bytes as they arrive).
struct StreamMessages {
    let schema: Schema
    let options: IPCReadOptions
    private(set) var dictionaries: DictionaryMemo
    private(set) var stats = IPCStats()
    /// How to decode the schema's batches, worked out once.
    private let plan: SchemaPlan

    /// Starts from the stream's first message (nil: the stream was empty). Throws
    /// `invalidMessage` unless it is a schema.
    init(first: Message?, options: IPCReadOptions) throws {
        guard let first else {
            throw QuiverError(.invalidMessage, "the stream is empty: no schema message")
        }
        guard case .schema(let schema) = first.metadata.header else {
            throw QuiverError(.invalidMessage, "the stream does not begin with a schema message")
        }
        self.schema = schema
        self.options = options
        plan = SchemaPlan(schema, maxDepth: options.maxNestingDepth)
        dictionaries = try DictionaryMemo(schema: schema)
        stats.numMessages = 1
    }

    /// Applies one message after the schema: the record batch it holds, or nil for a
    /// dictionary batch.
    mutating func apply(_ message: Message) throws -> RecordBatch? {
        stats.numMessages += 1
        // Built only when an error needs it: formatting it per batch cost a tenth of the read.
        func context() -> String { "message at offset \(message.offset)" }
        switch message.metadata.header {
        case .schema:
            throw QuiverError(.invalidMessage, "a second schema message inside the stream").adding(context: context())
        case .dictionaryBatch(let batch):
            let update = try withErrorContext(context()) {
                try dictionaries.apply(batch, body: message.body, version: message.metadata.version, options: options)
            }
            stats.record(update)
            return nil
        case .recordBatch(let header):
            let batch = try withErrorContext("record batch \(stats.numRecordBatches), \(context())") {
                try ArrayDecoder.decodeRecordBatch(
                    schema: schema, header: header, body: message.body, dictionaries: dictionaries,
                    version: message.metadata.version, options: options, missingDictionaries: .emptyIfAllNull,
                    plan: plan)
            }
            stats.numRecordBatches += 1
            return batch
        }
    }
}
