import QuiverArrow
import QuiverBytes
import QuiverIPC

/// The formats a query result (or any sequence of record batches) can be written in.
public enum OutputFormat: String, CaseIterable, Sendable {
    /// An Arrow IPC stream (`application/vnd.apache.arrow.stream`): lossless, zero-copy.
    case arrow
    /// One JSON array of row objects (`[{"a":1},\n{"a":2}]`).
    case json
    /// One JSON object per line (newline-delimited JSON, JSON Lines).
    case ndjson
    /// RFC 4180 CSV with a header row; fields holding `,`, `"`, CR or LF are quoted, quotes doubled.
    case csv

    /// The media type an HTTP response in this format carries.
    public var mediaType: String {
        switch self {
        case .arrow: return "application/vnd.apache.arrow.stream"
        case .json: return "application/json"
        case .ndjson: return "application/x-ndjson"
        case .csv: return "text/csv; charset=utf-8"
        }
    }

    /// The format asked for by an HTTP `Accept` header (first match of its media types), or nil.
    /// O(header length).
    public init?(mediaType accept: String) {
        for part in accept.split(separator: ",") {
            let type = part.split(separator: ";").first.map { $0.trimmingASCIISpaces().lowercased() } ?? ""
            switch type {
            case "application/vnd.apache.arrow.stream": self = .arrow; return
            case "application/json": self = .json; return
            case "application/x-ndjson", "application/jsonl": self = .ndjson; return
            case "text/csv": self = .csv; return
            default: continue
            }
        }
        return nil
    }
}

extension Substring {
    fileprivate func trimmingASCIISpaces() -> Substring {
        var text = self
        while text.first == " " || text.first == "\t" { text.removeFirst() }
        while text.last == " " || text.last == "\t" { text.removeLast() }
        return text
    }
}

/// Writes record batches to an output one at a time: memory holds one batch's text (or
/// nothing beyond the batch, for Arrow), never the whole result.
public protocol RecordBatchWriter: AnyObject {
    /// Writes one batch (its schema must be the writer's). Text formats encode it into one
    /// buffer and write that; Arrow writes its buffers in place.
    func write(_ batch: RecordBatch) throws
    /// Writes what ends the output (the end-of-stream marker, the closing `]`, a header
    /// for an empty CSV) and flushes. Nothing may be written afterwards.
    func finish() throws
}

extension StreamWriter: RecordBatchWriter {}

extension OutputFormat {
    /// A writer of this format for batches of `schema` onto `output` (the Arrow stream
    /// writes its schema message at once).
    public func writer(to output: any ByteOutput, schema: Schema) throws -> any RecordBatchWriter {
        switch self {
        case .arrow: return try StreamWriter(output: output, schema: schema)
        case .json: return JSONRowWriter(output: output, schema: schema, style: .array)
        case .ndjson: return JSONRowWriter(output: output, schema: schema, style: .lines)
        case .csv: return CSVWriter(output: output, schema: schema)
        }
    }

    /// Writes `batches` (of `schema`) to `output` in this format, batch by batch, then
    /// finishes. Cost: O(size of the result), one batch's text in memory at a time.
    public func write<Batches: Sequence<RecordBatch>>(_ batches: Batches, schema: Schema, to output: any ByteOutput) throws {
        let writer = try writer(to: output, schema: schema)
        for batch in batches { try writer.write(batch) }
        try writer.finish()
    }

    /// `write(_:schema:to:)` for an asynchronous sequence (such as `Query.stream()`): each
    /// batch is written as it arrives.
    /// Cost: O(size of the result), as the synchronous form.
    public func write<Batches: AsyncSequence>(
        _ batches: Batches, schema: Schema, to output: any ByteOutput
    ) async throws where Batches.Element == RecordBatch {
        let writer = try writer(to: output, schema: schema)
        for try await batch in batches { try writer.write(batch) }
        try writer.finish()
    }
}
