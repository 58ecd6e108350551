import Foundation
import Quiver
@testable import QuiverOutput
import QuiverTestSupport
import Testing

/// The result writers: each fast path writes what the generic per-value path writes (the
/// text the CLI always printed), JSON parses, CSV quotes by RFC 4180, Arrow round-trips, and
/// output goes batch by batch.
@Suite struct OutputTests {
    /// Every column type with a fast path, with nulls, escapes and non-finite floats.
    static func sample() throws -> RecordBatch {
        let schema = Schema([
            Field("i8", .int8), Field("i64", .int64), Field("u32", .uint32), Field("u64", .uint64),
            Field("f32", .float32), Field("f64", .float64), Field("b", .boolean),
            Field("s", .utf8), Field("ls", .largeUtf8), Field("d", .date32),
            Field("q\"uo,te", .utf8),
        ])
        let strings: [String?] = ["plain", nil, "a,b", "say \"hi\"\n", "tab\there\r", "\u{1}ctl\\", "ünï ✓", ""]
        return try RecordBatch(schema: schema, columns: [
            ArrayData.build(from: [Int8.min, -1, 0, nil, 9, 10, 127, 5]),
            ArrayData.build(from: [Int64.min, Int64.max, -42, 0, nil, 1_000_000, 7, -7]),
            ArrayData.build(from: [UInt32.max, 0, nil, 3, 4, 5, 6, 7]),
            ArrayData.build(from: [UInt64.max, 0, 1, nil, 4, 5, 6, 7]),
            ArrayData.build(from: [Float(0.1), .nan, -.infinity, nil, 1e30, -0.0, 3, 2.5]),
            ArrayData.build(from: [0.1, .nan, .infinity, -.infinity, nil, 1e-300, 123456789.125, -0.0]),
            ArrayData.build(from: [true, false, nil, true, true, false, false, true]),
            ArrayData.build(from: strings),
            ArrayData.build(strings.map { $0.map(ArrowValue.string) ?? .null }, type: .largeUtf8),
            ArrayData.build([.date32(0), .null, .date32(19000), .date32(-1), .date32(1), .date32(2), .date32(3), .date32(4)], type: .date32),
            ArrayData.build(from: strings.reversed()),
        ])
    }

    /// Each cell of `rows` as the column encoder writes it.
    static func cells(_ column: ArrayData, _ format: CellFormat, rows: Range<Int>) -> [String] {
        let run = Cells.make(column, format: format).encode(rows)
        return (0..<rows.count).map { index in
            String(decoding: run.bytes[(index == 0 ? 0 : run.ends[index - 1])..<run.ends[index]], as: UTF8.self)
        }
    }

    /// Each cell of `rows` as the generic per-value path writes it.
    static func genericCells(_ column: ArrayData, _ format: CellFormat, rows: Range<Int>) -> [String] {
        rows.map { row in
            var out: [UInt8] = []
            if format == .json { GenericCells(column: column).appendJSON(row: row, to: &out) } else { GenericCells(column: column).appendCSV(row: row, to: &out) }
            return String(decoding: out, as: UTF8.self)
        }
    }

    @Test(arguments: [CellFormat.json, .csv])
    func fastPathsWriteWhatTheGenericPathWrites(format: CellFormat) throws {
        let batch = try Self.sample()
        for source in [batch, batch.slice(from: 3, length: 5)] {
            for column in source.columns {
                for rows in [0..<source.length, 1..<source.length - 1, 2..<2] {
                    #expect(Self.cells(column, format, rows: rows) == Self.genericCells(column, format, rows: rows), "\(column.type) \(rows)")
                }
            }
        }
    }

    /// Floats print as `description` does, through the runtime's printer, over random bit
    /// patterns and decimal fractions.
    @Test(arguments: [CellFormat.json, .csv])
    func floatsPrintAsDescriptionDoes(format: CellFormat) throws {
        var generator = SystemRandomNumberGenerator()
        let doubles: [Double?] = (0..<20_000).map { index in
            switch index % 4 {
            case 0: return Double(bitPattern: generator.next())
            case 1: return Double(Int64.random(in: -1_000_000...1_000_000)) / [8, 100, 1000, 3][index % 3]
            case 2: return index % 7 == 0 ? nil : Double(index) * 1e-7
            default: return Double(index) * 1e12
            }
        }
        let floats = doubles.map { $0.map { Float(bitPattern: UInt32(truncatingIfNeeded: $0.bitPattern)) } }
        #expect(FloatText.printer == .runtime)
        for column in [ArrayData.build(from: doubles), ArrayData.build(from: floats)] {
            let rows = 0..<column.length
            #expect(Self.cells(column, format, rows: rows) == Self.genericCells(column, format, rows: rows))
        }
    }

    /// A utf8 view array: strings of up to 12 bytes inside their views, longer ones in one
    /// data buffer.
    static func utf8View(_ values: [String?]) -> ArrayData {
        var views: [UInt8] = [], data: [UInt8] = []
        var validity = [UInt8](repeating: 0, count: (values.count + 7) / 8)
        for (index, value) in values.enumerated() {
            if value != nil { validity[index / 8] |= 1 << (index % 8) }
            let bytes = Array((value ?? "").utf8)
            views += withUnsafeBytes(of: Int32(bytes.count).littleEndian, Array.init)
            if bytes.count <= 12 {
                views += bytes + [UInt8](repeating: 0, count: 12 - bytes.count)
            } else {
                views += bytes.prefix(4) + withUnsafeBytes(of: Int32(0).littleEndian, Array.init)
                views += withUnsafeBytes(of: Int32(data.count).littleEndian, Array.init)
                data += bytes
            }
        }
        let nulls = values.filter { $0 == nil }.count
        return ArrayData(
            uncheckedType: .utf8View, length: values.count, nullCount: nulls,
            buffers: [nulls > 0 ? Buffer(copying: validity) : .empty, Buffer(copying: views), Buffer(copying: data)])
    }

    /// The writers' text is the generic path's, row by row, across many slices of rows
    /// (encoded in parallel), batches and styles.
    @Test func writersMatchARowByRowReference() throws {
        let schema = Schema([Field("id", .int64), Field("x", .float64), Field("s", .utf8), Field("b", .boolean), Field("v", .utf8View)])
        let words = ["a", "b,c", "q\"uote", "line\nbreak", "ünï", "", "tab\t"]
        func batch(_ offset: Int, _ count: Int) throws -> RecordBatch {
            let ids = (0..<count).map { Int64(offset + $0) }
            return try RecordBatch(schema: schema, columns: [
                ArrayData.build(from: ids.map { $0 % 13 == 0 ? nil : $0 * 7919 - 50_000 }),
                ArrayData.build(from: ids.map { $0 % 11 == 0 ? nil : Double($0 % 100_000) / 8 }),
                ArrayData.build(from: ids.map { $0 % 17 == 0 ? nil : "w\($0 % 1000)" + ($0 % 500 == 0 ? words[Int($0) % words.count] : "") }),
                ArrayData.build(from: ids.map { $0 % 5 == 0 ? nil : $0 % 3 == 0 }),
                Self.utf8View(ids.map { $0 % 19 == 0 ? nil : words[Int($0) % words.count] + ($0 % 4 == 0 ? " and a long tail" : "") }),
            ])
        }
        let batches = [try batch(0, 20_000), try batch(20_000, 1), try batch(20_001, 0), try batch(20_001, 9000).slice(from: 100, length: 8500)]
        for format in [OutputFormat.json, .ndjson, .csv] {
            let output = BufferOutputStream()
            try format.write(batches, schema: schema, to: output)
            var expected: [UInt8] = format == .csv ? Array("id,x,s,b,v\n".utf8) : []
            var rowIndex = 0
            for batch in batches {
                for row in 0..<batch.length {
                    if format == .json { expected += Array((rowIndex == 0 ? "[" : ",\n").utf8) }
                    for (column, field) in schema.fields.enumerated() {
                        let cells = GenericCells(column: batch.columns[column])
                        if format == .csv {
                            if column > 0 { expected.append(UInt8(ascii: ",")) }
                            cells.appendCSV(row: row, to: &expected)
                        } else {
                            expected += Array((column == 0 ? "{\"" : ",\"").utf8) + Array(field.name.utf8) + Array("\":".utf8)
                            cells.appendJSON(row: row, to: &expected)
                        }
                    }
                    expected += Array((format == .csv ? "\n" : format == .json ? "}" : "}\n").utf8)
                    rowIndex += 1
                }
            }
            if format == .json { expected += Array("]\n".utf8) }
            #expect(output.getvalue().array == expected, "\(format)")
        }
    }

    @Test func jsonRowsParseAndNDJSONHasOneObjectPerLine() throws {
        let batch = try Self.sample()
        let output = BufferOutputStream()
        try OutputFormat.json.write([batch, batch.slice(from: 2, length: 3)], schema: batch.schema, to: output)
        let bytes = output.getvalue().array
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [[String: Any]])
        #expect(rows.count == 11)
        #expect(rows[0]["i64"] as? Int64 == Int64.min)
        #expect(rows[3]["s"] as? String == "say \"hi\"\n")
        #expect(rows[5]["s"] as? String == "\u{1}ctl\\")
        #expect(rows[1]["s"] is NSNull)
        #expect(rows[1]["f64"] as? String == "nan")
        #expect(rows[0]["d"] as? String == "1970-01-01")
        #expect(rows[8]["u32"] is NSNull)  // row 2 of the sliced batch

        let lines = BufferOutputStream()
        try OutputFormat.ndjson.write([batch], schema: batch.schema, to: lines)
        let text = String(decoding: lines.getvalue().array, as: UTF8.self)
        let split = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(split.count == 9 && split.last == "")
        for line in split.dropLast() {
            #expect(try JSONSerialization.jsonObject(with: Data(line.utf8)) is [String: Any])
        }
        let empty = BufferOutputStream()
        try OutputFormat.json.write([RecordBatch](), schema: batch.schema, to: empty)
        #expect(empty.getvalue().array == Array("[]\n".utf8))
    }

    @Test func csvQuotesByRFC4180AndWritesTheHeaderOnce() throws {
        let schema = Schema([Field("a,b", .int64), Field("s", .utf8)])
        let first = try RecordBatch(schema: schema, columns: [ArrayData.build(from: [Int64(1), nil]), ArrayData.build(from: ["x\"y", "line\nbreak"])])
        let second = try RecordBatch(schema: schema, columns: [ArrayData.build(from: [Int64(-3)]), ArrayData.build(from: [String?.none])])
        let output = BufferOutputStream()
        try OutputFormat.csv.write([first, second], schema: schema, to: output)
        #expect(String(decoding: output.getvalue().array, as: UTF8.self) == "\"a,b\",s\n1,\"x\"\"y\"\n,\"line\nbreak\"\n-3,\n")
        let empty = BufferOutputStream()
        try OutputFormat.csv.write([RecordBatch](), schema: schema, to: empty)
        #expect(String(decoding: empty.getvalue().array, as: UTF8.self) == "\"a,b\",s\n")
    }

    @Test func arrowStreamRoundTrips() throws {
        let batch = try Self.sample()
        let output = BufferOutputStream()
        try OutputFormat.arrow.write([batch, batch], schema: batch.schema, to: output)
        let reader = try StreamReader(buffer: output.getvalue())
        let batches = try reader.readBatches()
        #expect(batches.count == 2)
        #expect(batches[1].logicallyEquals(batch))
    }

    /// Text goes out as each batch is written, not at the end.
    @Test func writesBatchByBatch() throws {
        let schema = Schema([Field("v", .int64)])
        let output = BufferOutputStream()
        for format in [OutputFormat.json, .ndjson, .csv] {
            let writer = try format.writer(to: output, schema: schema)
            var previous = output.position
            for b in 0..<3 {
                try writer.write(try RecordBatch(schema: schema, columns: [ArrayData.build(from: (0..<100).map { Int64(b * 100 + $0) })]))
                #expect(output.position > previous)
                previous = output.position
            }
            try writer.finish()
        }
    }

    @Test func acceptHeaderChoosesAFormat() {
        #expect(OutputFormat(mediaType: "application/vnd.apache.arrow.stream") == .arrow)
        #expect(OutputFormat(mediaType: "text/html, application/json;q=0.9") == .json)
        #expect(OutputFormat(mediaType: "text/CSV") == .csv)
        #expect(OutputFormat(mediaType: "image/png") == nil)
    }

    /// Bytes are reached inside closures that keep their owner alive (issue 15: a pointer
    /// taken from a temporary `getvalue()` outlived its buffer).
    @Test func closureScopedByteAccess() throws {
        let batch = try Self.sample()
        let sink = BufferOutputStream()
        try OutputFormat.arrow.write([batch], schema: batch.schema, to: sink)
        let copied = sink.getvalue().withUnsafeBytes { Array($0) }
        #expect(copied.suffix(8) == [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0])
        #expect(try StreamReader(bytes: copied).readBatches()[0].logicallyEquals(batch))

        let ints = try Int64Array(batch.columns[1])
        #expect(ints.withUnsafeValues { Array($0) }.prefix(3) == [Int64.min, Int64.max, -42])
        let strings = try StringArray(batch.columns[7].slice(from: 2, length: 3))
        #expect(strings.withUnsafeBytes(at: 0) { String(decoding: $0, as: UTF8.self) } == "a,b")
        #expect(strings.withUnsafeOffsets { $0.count } == 4)
        #expect(batch.columns[1].buffers[1].withUnsafeBufferPointer(as: Int64.self) { $0[1] } == Int64.max)
    }
}
