import QuiverArrow
import QuiverBytes

/// How many body bytes a column takes in a file or stream: as stored (compressed, with the
/// 8-byte length prefixes) and once decompressed.
public struct ColumnBodySize: Sendable, Hashable {
    /// The column's field name.
    public var name: String
    /// Bytes the column's buffers occupy in the message bodies.
    public var stored: Int
    /// Bytes they hold uncompressed (equal to `stored` for uncompressed bodies).
    public var uncompressed: Int
}

/// Per-column body sizes of a whole file or stream, read from message headers and each
/// buffer's length prefix only — no buffer is decompressed or decoded.
public struct BodySizeReport: Sendable {
    /// One entry per top-level column, in schema order, its children's buffers counted in
    /// (dictionary batches are not).
    public var columns: [ColumnBodySize]
    /// The codecs seen in record batch bodies (empty: uncompressed).
    public var codecs: Set<CompressionCodec>
    /// Record batch messages walked.
    public var recordBatches = 0

    /// Walks every message of an IPC stream (for a file, of the stream it embeds).
    /// O(messages × buffers): reads every message's metadata; the body is read only for the
    /// length prefix of compressed buffers.
    public init(schema: Schema, messages: MessageReader) throws {
        columns = schema.fields.map { ColumnBodySize(name: $0.name, stored: 0, uncompressed: 0) }
        codecs = []
        while let message = try messages.next() {
            guard case .recordBatch(let header) = message.metadata.header else { continue }
            recordBatches += 1
            if let codec = header.compression { codecs.insert(codec) }
            let spans = try FieldSpan.spans(
                of: schema.fields, header: header, version: message.metadata.version, maxDepth: messages.options.maxNestingDepth)
            for (column, span) in spans.enumerated() {
                for index in span.buffers {
                    let region = header.bufferRegion(at: index)
                    let stored = try checkedCount(region.length, limit: message.body.count, "buffer length")
                    columns[column].stored += stored
                    columns[column].uncompressed += try Self.uncompressedLength(
                        of: region, stored: stored, body: message.body, compressed: header.compression != nil)
                }
            }
        }
    }

    /// Opens `input` (file or stream format) and reports on it.
    /// Costs what `init(schema:messages:)` does for every message.
    public static func of(_ input: any RandomAccessInput, options: IPCReadOptions = .init()) throws -> BodySizeReport {
        let isFile = try ArrowFormat(of: input) == .file
        let messages = MessageReader(
            RandomAccessCursor(input, startingAt: isFile ? ArrowFormat.fileLeadingBytes.count : 0), options: options)
        guard let first = try messages.next(), case .schema(let schema) = first.metadata.header else {
            throw QuiverError(.invalidMessage, "the input does not start with a schema message")
        }
        return try BodySizeReport(schema: schema, messages: messages)
    }

    private static func uncompressedLength(of region: BufferRegion, stored: Int, body: Buffer, compressed: Bool) throws -> Int {
        guard compressed, stored >= 8 else { return stored }
        let offset = try checkedCount(region.offset, limit: body.count, "buffer offset")
        let prefix = try body.readLittleEndian(Int64.self, at: offset)
        return prefix == -1 ? stored - 8 : try checkedCount(prefix, "uncompressed length")
    }
}
