import QuiverArrow
import QuiverBytes

/// Writes batches as JSON row objects: `{"name":value,…}` per row, either one per line
/// (`.lines`, NDJSON) or inside one array (`.array`, `[` rows joined by `,\n` `]\n`).
///
/// Numbers, booleans, strings, lists and structs are JSON values; NaN and infinities,
/// dates, times, timestamps, decimals, binary and maps are JSON strings of the text
/// `formatValue(at:)` prints. Each batch is encoded in slices of rows on Quiver's worker
/// threads and written in order: memory holds about one batch's text.
public final class JSONRowWriter: RecordBatchWriter {
    /// How rows are laid out.
    public enum Style: Sendable {
        /// One JSON object per line.
        case lines
        /// A JSON array of objects.
        case array
    }

    private let output: any ByteOutput
    private let style: Style
    private let layout: RowLayout
    private var rowsWritten = 0
    private var finished = false

    /// A writer of batches of `schema` onto `output`; nothing is written before the first batch.
    /// O(fields).
    public init(output: any ByteOutput, schema: Schema, style: Style = .lines) {
        self.output = output
        self.style = style
        // `{"a":`, `,"b":`, …: each column's bytes before its value.
        let keys = schema.fields.enumerated().map { index, field in
            var key: [UInt8] = index == 0 ? [UInt8(ascii: "{")] : [UInt8(ascii: ",")]
            TextEncoding.appendJSONString(field.name, to: &key)
            key.append(UInt8(ascii: ":"))
            return key
        }
        let open: [UInt8] = keys.isEmpty ? [UInt8(ascii: "{")] : []
        layout = RowLayout(
            format: .json, keys: keys,
            firstRowStart: (style == .array ? [UInt8(ascii: "[")] : []) + open,
            rowStart: (style == .array ? [UInt8(ascii: ","), UInt8(ascii: "\n")] : []) + open,
            rowEnd: style == .lines ? [UInt8(ascii: "}"), UInt8(ascii: "\n")] : [UInt8(ascii: "}")])
    }

    /// Writes the batch's rows (O(rows × columns)); throws if its columns do not match the schema.
    public func write(_ batch: RecordBatch) throws {
        precondition(!finished, "write after finish")
        guard batch.length > 0 else { return }
        try checkColumns(batch, expected: layout.columnCount)
        try layout.write(batch, first: rowsWritten == 0, to: output)
        rowsWritten += batch.length
    }

    /// Writes what closes the output and flushes it; later calls do nothing.
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
    private let layout: RowLayout
    private var wroteHeader = false
    private var finished = false

    /// A writer of batches of `schema` onto `output`; the header goes out with the first
    /// batch (or on `finish()` for an empty result).
    /// O(fields).
    public init(output: any ByteOutput, schema: Schema, lineEnding: String = "\n") {
        self.output = output
        var header: [UInt8] = []
        for (index, field) in schema.fields.enumerated() {
            if index > 0 { header.append(UInt8(ascii: ",")) }
            TextEncoding.appendCSVField(field.name, to: &header)
        }
        header += lineEnding.utf8
        self.header = header
        layout = RowLayout(
            format: .csv, keys: schema.fields.indices.map { $0 == 0 ? [] : [UInt8(ascii: ",")] },
            firstRowStart: [], rowStart: [], rowEnd: Array(lineEnding.utf8))
    }

    /// Writes the batch's rows (O(rows × columns)); throws if its columns do not match the schema.
    public func write(_ batch: RecordBatch) throws {
        precondition(!finished, "write after finish")
        try checkColumns(batch, expected: layout.columnCount)
        if !wroteHeader {
            wroteHeader = true
            try output.write(header)
        }
        try layout.write(batch, first: false, to: output)
    }

    /// Writes what closes the output and flushes it; later calls do nothing.
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

/// How a text format lays rows out, and the encoding of a batch by it: column by column
/// (each column's cells in one loop specialised to its type), then the cells interleaved
/// into rows. A large batch is cut into slices of rows encoded on Quiver's worker threads
/// and written in order.
struct RowLayout: Sendable {
    /// Rows per slice: small enough to spread a batch over the cores and keep a slice's
    /// text in cache, large enough that per-slice costs vanish.
    static let sliceRows = 8192

    let format: CellFormat
    /// Each column's bytes before its cell (`{"a":`, `,"b":` for JSON; `,` for CSV).
    let keys: [[UInt8]]
    /// Before the output's first row, and before every other row.
    let firstRowStart: [UInt8]
    let rowStart: [UInt8]
    /// After every row.
    let rowEnd: [UInt8]

    var columnCount: Int { keys.count }

    /// Encodes `batch` and writes its text; `first` when its first row is the output's.
    func write(_ batch: RecordBatch, first: Bool, to output: any ByteOutput) throws {
        let columns = batch.columns.map { Cells.make($0, format: format) }
        let slices = (batch.length + Self.sliceRows - 1) / Self.sliceRows
        let slice = { @Sendable (index: Int) -> [UInt8] in
            let rows = index * Self.sliceRows..<Swift.min(batch.length, (index + 1) * Self.sliceRows)
            return self.encode(columns, rows: rows, first: first && index == 0)
        }
        let texts = slices == 1 ? [slice(0)] : concurrentMap(count: slices, slice)
        for text in texts { try output.write(text) }
    }

    @inline(__always)
    private static func place(_ bytes: [UInt8], into text: UnsafeMutableBufferPointer<UInt8>, at position: inout Int) {
        bytes.withUnsafeBytes { place($0, into: text, at: &position) }
    }

    @inline(__always)
    private static func place(_ bytes: UnsafeRawBufferPointer, into text: UnsafeMutableBufferPointer<UInt8>, at position: inout Int) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        copyShortBytes(from: source, to: text.baseAddress! + position, count: bytes.count)
        position += bytes.count
    }

    /// The text of `rows`: each column's cells encoded in one run, then copied into place
    /// column by column (every row's length is known once the runs are).
    func encode(_ columns: [ColumnText], rows: Range<Int>, first: Bool) -> [UInt8] {
        let runs = columns.map { $0.encode(rows) }
        let count = rows.count
        let fixed = rowStart.count + keys.reduce(rowEnd.count) { $0 + $1.count }
        // Where each row starts in the text.
        var starts = [Int](repeating: fixed, count: count + 1)
        for run in runs {
            var previous = 0
            for index in 0..<count {
                starts[index] += run.ends[index] - previous
                previous = run.ends[index]
            }
        }
        if first, count > 0 { starts[0] += firstRowStart.count - rowStart.count }
        var total = 0
        for index in 0..<count {
            let length = starts[index]
            starts[index] = total
            total += length
        }
        starts[count] = total
        return [UInt8](unsafeUninitializedCapacity: total) { text, written in
            // Each row's position advances as its pieces are placed.
            var positions = starts
            positions.withUnsafeMutableBufferPointer { positions in
                for index in 0..<count {
                    Self.place(index == 0 && first ? firstRowStart : rowStart, into: text, at: &positions[index])
                }
                for (column, run) in runs.enumerated() {
                    keys[column].withUnsafeBytes { key in
                        run.bytes.withUnsafeBytes { cells in
                            run.ends.withUnsafeBufferPointer { ends in
                                var previous = 0
                                for index in 0..<count {
                                    Self.place(key, into: text, at: &positions[index])
                                    Self.place(UnsafeRawBufferPointer(rebasing: cells[previous..<ends[index]]), into: text, at: &positions[index])
                                    previous = ends[index]
                                }
                            }
                        }
                    }
                }
                rowEnd.withUnsafeBytes { end in
                    for index in 0..<count { Self.place(end, into: text, at: &positions[index]) }
                }
            }
            assert(zip(positions.dropLast(), starts.dropFirst()).allSatisfy(==))
            written = total
        }
    }
}
