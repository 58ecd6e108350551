import QuiverArrow
import QuiverBytes

/// Writes batches as JSON row objects: `{"name":value,…}` per row, either one per line
/// (`.lines`, NDJSON) or inside one array (`.array`, `[` rows joined by `,\n` `]\n`).
///
/// Numbers, booleans, strings, lists and structs are JSON values; NaN and infinities,
/// dates, times, timestamps, decimals, binary and maps are JSON strings of the text
/// `formatValue(at:)` prints. Each batch is encoded into one buffer (about its text's size)
/// and written at once.
public final class JSONRowWriter: RecordBatchWriter {
    /// How rows are laid out.
    public enum Style: Sendable {
        /// One JSON object per line.
        case lines
        /// A JSON array of objects.
        case array
    }

    private static let rowSeparator: [UInt8] = [UInt8(ascii: ","), UInt8(ascii: "\n")]
    private let output: any ByteOutput
    private let style: Style
    /// `{"a":`, `,"b":`, …: each column's bytes before its value.
    private let keys: [[UInt8]]
    private var rowsWritten = 0
    private var finished = false

    /// A writer of batches of `schema` onto `output`; nothing is written before the first batch.
    public init(output: any ByteOutput, schema: Schema, style: Style = .lines) {
        self.output = output
        self.style = style
        keys = schema.fields.enumerated().map { index, field in
            var key: [UInt8] = index == 0 ? [UInt8(ascii: "{")] : [UInt8(ascii: ",")]
            TextEncoding.appendJSONString(field.name, to: &key)
            key.append(UInt8(ascii: ":"))
            return key
        }
    }

    public func write(_ batch: RecordBatch) throws {
        precondition(!finished, "write after finish")
        guard batch.length > 0 else { return }
        try checkColumns(batch, expected: keys.count)
        let cells = batch.columns.map(Cells.make)
        var out: [UInt8] = []
        out.reserveCapacity(batch.length * (keys.reduce(2) { $0 + $1.count + 8 }))
        for row in 0..<batch.length {
            if style == .array {
                if rowsWritten == 0 && row == 0 { out.append(UInt8(ascii: "[")) } else { out += Self.rowSeparator }
            }
            if keys.isEmpty { out.append(UInt8(ascii: "{")) }
            for column in cells.indices {
                out += keys[column]
                cells[column].appendJSON(row: row, to: &out)
            }
            out.append(UInt8(ascii: "}"))
            if style == .lines { out.append(UInt8(ascii: "\n")) }
        }
        rowsWritten += batch.length
        try output.write(out)
    }

    public func finish() throws {
        guard !finished else { return }
        finished = true
        if style == .array { try output.write(Array((rowsWritten == 0 ? "[]\n" : "]\n").utf8)) }
        try output.flush()
    }
}

/// Writes batches as CSV (RFC 4180): a header row of the column names, then one line per
/// row; nulls are empty fields, other values the text `formatValue(at:)` prints. Fields
/// holding a comma, a quote, CR or LF are quoted with their quotes doubled. Lines end in
/// `\n` (RFC 4180 readers accept it; `lineEnding` chooses `\r\n`).
public final class CSVWriter: RecordBatchWriter {
    private let output: any ByteOutput
    private let header: [UInt8]
    private let lineEnding: [UInt8]
    private let columnCount: Int
    private var wroteHeader = false
    private var finished = false

    /// A writer of batches of `schema` onto `output`; the header goes out with the first
    /// batch (or on `finish()` for an empty result).
    public init(output: any ByteOutput, schema: Schema, lineEnding: String = "\n") {
        self.output = output
        self.lineEnding = Array(lineEnding.utf8)
        columnCount = schema.fields.count
        var header: [UInt8] = []
        for (index, field) in schema.fields.enumerated() {
            if index > 0 { header.append(UInt8(ascii: ",")) }
            TextEncoding.appendCSVField(field.name, to: &header)
        }
        header += lineEnding.utf8
        self.header = header
    }

    public func write(_ batch: RecordBatch) throws {
        precondition(!finished, "write after finish")
        try checkColumns(batch, expected: columnCount)
        var out: [UInt8] = []
        if !wroteHeader {
            out = header
            wroteHeader = true
        }
        let cells = batch.columns.map(Cells.make)
        out.reserveCapacity(out.count + batch.length * (columnCount * 8 + lineEnding.count))
        for row in 0..<batch.length {
            for column in cells.indices {
                if column > 0 { out.append(UInt8(ascii: ",")) }
                cells[column].appendCSV(row: row, to: &out)
            }
            out += lineEnding
        }
        try output.write(out)
    }

    public func finish() throws {
        guard !finished else { return }
        finished = true
        if !wroteHeader {
            wroteHeader = true
            try output.write(header)
        }
        try output.flush()
    }
}

private func checkColumns(_ batch: RecordBatch, expected: Int) throws {
    guard batch.columns.count == expected else {
        throw QuiverError(.schemaMismatch, "a batch of \(batch.columns.count) columns written to an output of \(expected)")
    }
}
