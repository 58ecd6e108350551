import QuiverArrow
import QuiverBytes
import QuiverTestSupport
import Testing

@Suite struct TableTests {
    static let schema = Schema([Field("id", .int32), Field("name", .utf8)])

    static func batch(_ ids: [Int32?], _ names: [String?]) throws -> RecordBatch {
        try RecordBatch(schema: schema, columns: [Int32Array(ids).data, StringArray(names).data])
    }

    @Test func chunksColumnsWithoutCopying() throws {
        let first = try Self.batch([1, 2], ["a", nil])
        let empty = try Self.batch([], [])
        let last = try Self.batch([nil, 4, 5], ["c", "d", "e"])
        let table = try Table(batches: [first, empty, last])
        #expect(table.numRows == 5 && table.numColumns == 2)
        #expect(table.schema == Self.schema)
        let ids = try #require(table.column(named: "id"))
        #expect(ids.numChunks == 3 && ids.length == 5 && ids.nullCount == 1)
        #expect(ids.chunks[0].buffers[1].baseAddress == first.columns[0].buffers[1].baseAddress)
        #expect(ids.toList() == [.int(1), .int(2), .null, .int(4), .int(5)])
        #expect((0..<5).map(ids.value(at:)) == ids.toList())
        #expect(ids.location(of: 2) == (2, 0))
        #expect(ids.isNull(2) && !ids.isNull(3))
        #expect(table.column(named: "name")?.value(at: 1) == .null)
        #expect(table.column(named: "missing") == nil)
        #expect(table.columns.map(\.type) == [.int32, .utf8])
    }

    @Test func rejectsMismatchedBatches() throws {
        let other = try RecordBatch(
            schema: Schema([Field("id", .int64)]), columns: [Int64Array([1]).data])
        #expect(throws: QuiverError.self) { try Table(batches: [try Self.batch([1], ["a"]), other]) }
        #expect(throws: QuiverError.self) { try Table(batches: []) }
        let empty = try Table(schema: Self.schema, batches: [])
        #expect(empty.numRows == 0 && empty.column(at: 0).length == 0)
        #expect(throws: QuiverError.self) { try ChunkedArray(type: .int32, chunks: [StringArray(["a"]).data]) }
    }

    @Test func schemaMetadataMayDiffer() throws {
        let tagged = try RecordBatch(
            schema: Schema(Self.schema.fields, metadata: ["k": "v"]),
            columns: [Int32Array([1]).data, StringArray(["a"]).data])
        let table = try Table(batches: [try Self.batch([1], ["a"]), tagged])
        #expect(table.numRows == 2)
    }
}

@Suite struct FormattingTests {
    @Test func formatsScalars() throws {
        #expect(Int32Array([-5, nil]).data.formatValue(at: 0) == "-5")
        #expect(Int32Array([-5, nil]).data.formatValue(at: 1) == "null")
        #expect(Float32Array([0.1]).data.formatValue(at: 0) == "0.1")
        #expect(Float64Array([0.1]).data.formatValue(at: 0) == "0.1")
        #expect(Float16Array([0.5]).data.formatValue(at: 0) == "0.5")
        #expect(BooleanArray([true]).data.formatValue(at: 0) == "true")
        #expect(StringArray(["a \"b\""]).data.formatValue(at: 0) == "a \"b\"")
        #expect(BinaryArray([[0x01, 0xAB]]).data.formatValue(at: 0) == "0x01ab")
        let decimal = try ArrayData.build([.decimal("-0.5")], type: .decimal(bitWidth: 128, precision: 5, scale: 3))
        #expect(decimal.formatValue(at: 0) == "-0.500")
    }

    @Test func formatsDatesAndTimes() throws {
        let dates = Date32Array([0, 18_628, -1, 11_016, -719_528], type: .date32)
        #expect((0..<5).map(dates.data.formatValue(at:)) == ["1970-01-01", "2021-01-01", "1969-12-31", "2000-02-29", "0000-01-01"])
        #expect(Date64Array([1_609_459_200_000], type: .date64).data.formatValue(at: 0) == "2021-01-01")
        let stamps = TimestampArray([1_609_459_200_123, -1], type: .timestamp(.millisecond, timezone: nil))
        #expect(stamps.data.formatValue(at: 0) == "2021-01-01 00:00:00.123")
        #expect(stamps.data.formatValue(at: 1) == "1969-12-31 23:59:59.999")
        let utc = TimestampArray([86_399_000_000_001], type: .timestamp(.nanosecond, timezone: "UTC"))
        #expect(utc.data.formatValue(at: 0) == "1970-01-01 23:59:59.000000001Z")
        #expect(TimestampArray([Int64.max], type: .timestamp(.second, timezone: nil)).data.formatValue(at: 0).hasPrefix("292277026596-12-04"))
        #expect(Time32Array([3_661], type: .time32(.second)).data.formatValue(at: 0) == "01:01:01")
        #expect(Time64Array([3_661_000_001], type: .time64(.microsecond)).data.formatValue(at: 0) == "01:01:01.000001")
        #expect(DurationArray([5], type: .duration(.millisecond)).data.formatValue(at: 0) == "5ms")
        #expect(YearMonthIntervalArray([14], type: .interval(.yearMonth)).data.formatValue(at: 0) == "14M")
    }

    /// Every temporal type at the ends of its integer, in every unit: the split into seconds
    /// and fraction must not overflow near `Int64.min` (the first of these trapped in
    /// `quiver cat`). Expected texts from an arbitrary-precision reference (numpy agrees where
    /// it can). A time of day outside the day is invalid but must still print: hours keep
    /// counting, minutes and seconds stay in range.
    @Test(.tags(.untrustedInput), arguments: [
        (TimeUnit.second, "-292277022657-01-27 08:29:52", "292277026596-12-04 15:30:07", "-596524:45:52", "596523:14:07"),
        (.millisecond, "-292275055-05-16 16:47:04.192", "292278994-08-17 07:12:55.807", "-597:28:36.352", "596:31:23.647"),
        (.microsecond, "-290308-12-21 19:59:05.224192", "294247-01-10 04:00:54.775807",
         "-2562047789:59:05.224192", "2562047788:00:54.775807"),
        (.nanosecond, "1677-09-21 00:12:43.145224192", "2262-04-11 23:47:16.854775807",
         "-2562048:12:43.145224192", "2562047:47:16.854775807"),
    ])
    func formatsTemporalExtremes(_ unit: TimeUnit, _ minStamp: String, _ maxStamp: String, _ minTime: String, _ maxTime: String) {
        let stamps = TimestampArray([Int64.min, Int64.max], type: .timestamp(unit, timezone: nil))
        #expect(stamps.data.formatValue(at: 0) == minStamp)
        #expect(stamps.data.formatValue(at: 1) == maxStamp)
        #expect(TimestampArray([Int64.min], type: .timestamp(unit, timezone: "UTC")).data.formatValue(at: 0) == minStamp + "Z")
        let durations = DurationArray([Int64.min, Int64.max], type: .duration(unit))
        #expect(durations.data.formatValue(at: 0) == "\(Int64.min)\(unit.abbreviation)")
        #expect(durations.data.formatValue(at: 1) == "\(Int64.max)\(unit.abbreviation)")
        let times = unit == .second || unit == .millisecond
            ? Time32Array([Int32.min, Int32.max], type: .time32(unit)).data
            : Time64Array([Int64.min, Int64.max], type: .time64(unit)).data
        #expect(times.formatValue(at: 0) == minTime)
        #expect(times.formatValue(at: 1) == maxTime)
    }

    @Test(.tags(.untrustedInput)) func formatsDateExtremes() {
        #expect(Date64Array([Int64.min, Int64.max], type: .date64).data.formatValue(at: 0) == "-292275055-05-16")
        #expect(Date64Array([Int64.min, Int64.max], type: .date64).data.formatValue(at: 1) == "292278994-08-17")
        #expect(Date32Array([Int32.min], type: .date32).data.formatValue(at: 0) == "-5877641-06-23")
        #expect(Date32Array([Int32.max], type: .date32).data.formatValue(at: 0) == "5881580-07-11")
    }

    /// A list may hold billions of nulls in no bytes (a null child needs no buffers): the
    /// text stops with "…" at `maxLength` instead of materialising them (a fuzzer's file made
    /// `formatValue` ask for a 2^52-element array).
    @Test func hugeNestedValuesFormatBounded() throws {
        let count = 1 << 52
        let nulls = ArrayData(uncheckedType: .null, length: count, nullCount: count, buffers: [])
        func int64s(_ values: [Int64]) -> Buffer { Buffer(copying: values.flatMap { v in (0..<8).map { UInt8(truncatingIfNeeded: v >> ($0 * 8)) } }) }
        let lists = ArrayData(
            uncheckedType: .largeListView(Field("item", .null)), length: 1, buffers: [.empty, int64s([0]), int64s([Int64(count)])],
            children: [nulls])
        try lists.validate(full: true)
        let text = lists.formatValue(at: 0, maxLength: 100)
        #expect(text.hasPrefix("[null, null, "))
        #expect(text.hasSuffix(", …]"))
        #expect(text.utf8.count < 120)
        // The same inside a struct, with the default limit.
        let nested = ArrayData(uncheckedType: .struct([Field("l", lists.type)]), length: 1, buffers: [.empty], children: [lists])
        let long = nested.formatValue(at: 0)
        #expect(long.hasPrefix("{l: [null, ") && long.hasSuffix("…]}") && long.utf8.count < (1 << 16) + 16)
        // Small values are whole, as before.
        #expect(try ArrayData.build([.list([.int(1), .null])], type: .list(Field("item", .int32))).formatValue(at: 0) == "[1, null]")
    }

    @Test func formatsNestedValues() throws {
        let type = DataType.struct([Field("tags", .list(Field("item", .utf8))), Field("score", .float32)])
        let data = try ArrayData.build(
            [.struct([("tags", .list([.string("a"), .null, .string("q\"")])), ("score", .float(Double(Float(0.1))))])], type: type)
        #expect(data.formatValue(at: 0) == #"{tags: ["a", null, "q\""], score: 0.1}"#)
        let map = try MapBuilder(keyType: .utf8, valueType: .int32)
        try map.append(value: .map([(.string("k"), .int(1))]))
        #expect(map.finish().formatValue(at: 0) == #"{"k": 1}"#)
        #expect(ArrowValue.list([.int(1), .null]).description == "[1, null]")
        let dictionary = Make.dictionary(indices: Int8Array([0]).data, dictionary: Float32Array([0.1]).data)
        #expect(dictionary.formatValue(at: 0) == "0.1")
    }

    @Test func rendersAlignedTable() throws {
        let batch = try RecordBatch(
            schema: Schema([Field("id", .int64), Field("name", .utf8), Field("price", .float64)]),
            columns: [
                Int64Array([1, nil, 300]).data, StringArray(["apple", nil, "line\nbreak"]).data,
                Float64Array([1.5, 2.25, nil]).data,
            ])
        let full = TablePrinter.render(batch: batch)
        #expect(full == """
            id    | name        | price
            int64 | string      | double
            ------+-------------+-------
                1 | apple       |    1.5
             null | null        |   2.25
              300 | line\\nbreak |   null

            """)
        let cut = TablePrinter.render(batch: batch, limit: 1, maxCellWidth: 4)
        #expect(cut == """
            id   | name | pri…
            int… | str… | dou…
            -----+------+-----
               1 | app… |  1.5
               … | …    |    …
            (1 of 3 rows)

            """)
        let table = try Table(batches: [batch, batch])
        let tableText = TablePrinter.render(table: table, limit: 4)
        #expect(tableText.contains("(4 of 6 rows)"))
        #expect(tableText.split(separator: "\n").count == 3 + 4 + 2)
    }
}
