import QuiverArrow
import QuiverBytes

/// Writes an Arrow IPC stream (pyarrow's `ipc.new_stream`): the schema, then for each batch
/// the dictionaries it needs and the batch, then the end-of-stream marker on `finish()`.
///
/// Output is 8-byte aligned (64 with `IPCWriteOptions(alignment: 64)`), little-endian, with
/// continuation markers, readable by Arrow C++ ≥ 0.15 and every current implementation.
/// Buffers are written straight from the arrays' memory; only sliced arrays whose bitmaps
/// or offsets need shifting, and compressed buffers, are copied first.
public final class StreamWriter {
    private let writer: MessageWriter

    /// The schema as written, with a dictionary id on every dictionary-encoded field.
    public var schema: Schema { writer.schema }
    /// Messages, batches and dictionary batches written so far.
    public var stats: IPCStats { writer.stats }

    /// Starts a stream on `output` and writes the schema message. Dictionary fields without
    /// an id get one (0, 1, 2, … depth-first). Throws `invalidArgument` for an alignment
    /// other than 8 or 64.
    /// Writes only the schema message: O(fields).
    public init(output: any ByteOutput, schema: Schema, options: IPCWriteOptions = .init()) throws {
        writer = try MessageWriter(output: output, schema: schema, options: options, allowsReplacement: true)
        try writer.writeSchema()
    }

    /// Writes one record batch, preceded by any dictionary that is new, grew (a delta, with
    /// `emitDictionaryDeltas`) or changed (a replacement). Throws `schemaMismatch` when the
    /// batch's schema differs from the stream's (dictionary ids and metadata aside).
    /// O(bytes written), plus O(body bytes) compression when set and O(dictionary values) to
    /// compare each dictionary with the one sent.
    public func write(_ batch: RecordBatch) throws {
        try writer.write(batch)
    }

    /// Writes the end-of-stream marker and flushes. The writer accepts nothing afterwards.
    /// One flush.
    public func finish() throws {
        try writer.writeEndOfStream()
        try writer.output.flush()
    }
}
