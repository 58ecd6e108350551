import Foundation
import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverTestSupport
import Testing
@testable import QuiverStore

@Suite("Statistics")
struct StatisticsTests {
    private func stats(_ data: ArrayData, prefix: Int = 64) -> ColumnStatistics {
        StatisticsCollector.column(data, prefixLength: prefix)
    }

    @Test("integers, dates and timestamps: exact min and max over valid slots")
    func integers() {
        let ints = stats(ArrayData.build(from: [5, nil, -3, 12, nil] as [Int32?]))
        #expect(ints == ColumnStatistics(nullCount: 2, min: StatisticBound(.int(-3)), max: StatisticBound(.int(12))))
        let dates = ArrayData(uncheckedType: .date32, length: 3, buffers: [.empty, Buffer(copyingValues: [Int32(19000), 18000, 20000])])
        #expect(stats(dates).min?.value == .int(18000))
        let stamps = ArrayData(
            uncheckedType: .timestamp(.microsecond, timezone: "UTC"), length: 2, buffers: [.empty, Buffer(copyingValues: [Int64(7), -9])])
        #expect(stats(stamps).max?.value == .int(7))
        let unsigned = stats(ArrayData.build(from: [UInt64.max, 3] as [UInt64?]))
        #expect(unsigned.min?.value == .uint(3) && unsigned.max?.value == .uint(.max))
        // A slice: only its own slots count.
        let sliced = ArrayData.build(from: [100, 1, 2, 100] as [Int64?]).slice(from: 1, length: 2)
        #expect(stats(sliced).max?.value == .int(2))
    }

    @Test("floats ignore NaN; all-NaN has no bounds; booleans; all-null columns")
    func floatsAndBooleans() {
        let floats = stats(ArrayData.build(from: [Double.nan, 2.5, -1, nil] as [Double?]))
        #expect(floats.min?.value == .double(-1) && floats.max?.value == .double(2.5) && floats.nullCount == 1)
        #expect(stats(ArrayData.build(from: [Float.nan] as [Float?])).min == nil)
        // Nullable columns long enough for the word-at-a-time path, with NaN and nulls anywhere.
        let long: [Double?] = (0..<300).map { (slot: Int) -> Double? in
            if slot % 7 == 0 { return nil }
            return slot == 150 ? Double.nan : Double(slot % 50) - 20
        }
        let longStats = stats(ArrayData.build(from: long))
        #expect(longStats.min?.value == .double(-20) && longStats.max?.value == .double(29))
        #expect(longStats.nullCount == long.filter { $0 == nil }.count)
        let ints: [Int64?] = (0..<500).map { (slot: Int) -> Int64? in slot % 3 == 0 ? nil : Int64(slot) - 100 }
        #expect(stats(ArrayData.build(from: ints)).min?.value == .int(-99))
        #expect(stats(ArrayData.build(from: ints).slice(from: 5, length: 400)).max?.value == .int(304))
        let flags = stats(ArrayData.build(from: [true, nil, true] as [Bool?]))
        #expect(flags.min?.value == .bool(true) && flags.max?.value == .bool(true))
        let empty = stats(ArrayData.build(from: [nil, nil] as [Int64?]))
        #expect(empty == ColumnStatistics(nullCount: 2))
    }

    @Test("long strings become inexact prefixes that still bound every value")
    func stringPrefixes() throws {
        let values = ["apple", "banana-split-sundae", "banana-split-sundaf", "cherry"]
        let exact = stats(ArrayData.build(from: values.map { Optional($0) }))
        #expect(exact.min == StatisticBound(.string("apple")) && exact.max == StatisticBound(.string("cherry")))
        let bounded = stats(ArrayData.build(from: ["zzzz-long", "zzzz-longer", "a"].map { Optional($0) }), prefix: 4)
        #expect(bounded.min == StatisticBound(.string("a")))
        #expect(bounded.max == StatisticBound(.string("zzz{"), isExact: false))  // "zzzz" rounded up
        // Multi-byte characters are never split; the rounded-up bound is still ≥ the value.
        let accents = stats(ArrayData.build(from: ["éééé"].map { Optional($0) }), prefix: 3)
        #expect(accents.min == StatisticBound(.string("é"), isExact: false))
        #expect(accents.max == StatisticBound(.string("ê"), isExact: false))
        // Bytes: 0xFF cannot be rounded up, so the bound drops back to an earlier byte.
        let binary = ArrayData.build(from: [[0x01, 0xFF, 0xFF, 0x05]] as [[UInt8]?])
        let bytes = stats(binary, prefix: 3)
        #expect(bytes.max == StatisticBound(.binary([0x02]), isExact: false))
        #expect(bytes.min == StatisticBound(.binary([0x01, 0xFF, 0xFF]), isExact: false))
        let allFF = stats(ArrayData.build(from: [[0xFF, 0xFF, 0xFF]] as [[UInt8]?]), prefix: 2)
        #expect(allFF.max == nil && allFF.min != nil)
    }

    @Test("strings compare by bytes, not by Unicode collation")
    func byteOrder() {
        // "Z" (0x5A) < "a" (0x61) < "é" (0xC3 0xA9) in byte order.
        let column = stats(ArrayData.build(from: ["é", "a", "Z"].map { Optional($0) }))
        #expect(column.min?.value == .string("Z") && column.max?.value == .string("é"))
    }

    @Test("chunk keys order byte strings as memcmp does, and are equal for short strings only when they are")
    func chunkKeys() {
        var generator = SeededRandom(seed: 108)
        func memcmpOrder(_ a: [UInt8], _ b: [UInt8]) -> Int {
            a.lexicographicallyPrecedes(b) ? -1 : (b.lexicographicallyPrecedes(a) ? 1 : 0)
        }
        for _ in 0..<20_000 {
            // Few distinct bytes (zeros included) and lengths around the 7-byte chunk edges.
            let a = (0..<Int.random(in: 0...16, using: &generator)).map { _ in UInt8.random(in: 0...2, using: &generator) }
            let b = (0..<Int.random(in: 0...16, using: &generator)).map { _ in UInt8.random(in: 0...2, using: &generator) }
            let start = Int.random(in: 0...3, using: &generator)
            a.withUnsafeBytes { x in
                b.withUnsafeBytes { y in
                    let order = memcmpOrder(a, b)
                    #expect(StatisticsCollector.compareBytes(x, y) == order, "\(a) vs \(b)")
                    let (kx, ky) = (StatisticsCollector.chunkKey(x, from: start), StatisticsCollector.chunkKey(y, from: start))
                    let suffixOrder = memcmpOrder(Array(a.dropFirst(start)), Array(b.dropFirst(start)))
                    if kx < ky { #expect(suffixOrder < 0, "\(a) vs \(b) from \(start)") }
                    if kx > ky { #expect(suffixOrder > 0, "\(a) vs \(b) from \(start)") }
                    if kx == ky && kx & 0xFF < 8 { #expect(suffixOrder == 0, "\(a) vs \(b) from \(start)") }
                }
            }
            // Loading eight bytes at once, past the value, gives the same key.
            let padded = a + (0..<8).map { _ in UInt8.random(in: 0...255, using: &generator) }
            padded.withUnsafeBytes { whole in
                let value = UnsafeRawBufferPointer(rebasing: whole[0..<a.count])
                let wide = withUnsafeTemporaryAllocation(of: UInt64.self, capacity: StatisticsCollector.keyMaskCount) { masks in
                    StatisticsCollector.fillKeyMasks(masks)
                    return StatisticsCollector.wideKey(value, masks: masks.baseAddress!)
                }
                #expect(wide == StatisticsCollector.chunkKey(value, from: 0), "\(a)")
            }
        }
        // Strings that differ only in length or trailing zeros.
        let column = StatisticsCollector.column(ArrayData.build(from: [[1, 0], [1], [1, 0, 0], [0xFF]] as [[UInt8]?]), prefixLength: 64)
        #expect(column.min?.value == .binary([1]) && column.max?.value == .binary([0xFF]))
    }

    @Test("string min and max match a sort, across blocks, ties, nulls, slices and layouts")
    func stringExtremes() throws {
        var generator = SeededRandom(seed: 109)
        let alphabets: [[Character]] = [["a", "b"], ["a", "b", "c", "d", "é"]]
        for round in 0..<60 {
            let count = [1, 7, 1_000, 3_000][round % 4]
            let alphabet = alphabets[round % 2]
            // Long shared prefixes make most keys tie (past 14 bytes, values are compared in
            // full); nulls and lengths vary.
            let prefix = String(repeating: "p", count: [0, 6, 7, 13, 14, 20][round % 6])
            let shortest = round % 5 < 2 ? 1 : 0
            let values: [String?] = (0..<count).map { _ in
                if round % 3 == 0, Int.random(in: 0..<5, using: &generator) == 0 { return nil }
                let length = Int.random(in: shortest...9, using: &generator)
                return prefix + String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
            }
            let valid = values.compactMap { $0 }
            let byBytes = valid.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            let data = ArrayData.build(from: values)
            let column = stats(data, prefix: 1_000)
            #expect(column.min?.value == byBytes.first.map { .string($0) }, "round \(round)")
            #expect(column.max?.value == byBytes.last.map { .string($0) }, "round \(round)")
            // The same values as views, and a slice.
            let views = stats(stringViews(values), prefix: 1_000)
            #expect(views.min == column.min && views.max == column.max, "round \(round)")
            if count > 2 {
                let slice = Array(values[1..<(count - 1)]).compactMap { $0 }
                    .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
                let sliced = stats(data.slice(from: 1, length: count - 2), prefix: 1_000)
                #expect(sliced.min?.value == slice.first.map { .string($0) }, "round \(round)")
                #expect(sliced.max?.value == slice.last.map { .string($0) }, "round \(round)")
            }
        }
    }

    /// A utf8View array of `values`: inline up to 12 bytes, otherwise in one data buffer.
    private func stringViews(_ values: [String?]) -> ArrayData {
        var views = [UInt8](), data = [UInt8](), validity = [UInt8](repeating: 0, count: (values.count + 7) / 8)
        for (slot, value) in values.enumerated() {
            let bytes = Array((value ?? "").utf8)
            if value != nil { validity[slot / 8] |= 1 << UInt8(slot % 8) }
            var view = [UInt8](repeating: 0, count: 16)
            withUnsafeBytes(of: Int32(bytes.count).littleEndian) { view.replaceSubrange(0..<4, with: $0) }
            if bytes.count <= 12 {
                view.replaceSubrange(4..<(4 + bytes.count), with: bytes)
            } else {
                view.replaceSubrange(4..<8, with: bytes[0..<4])
                withUnsafeBytes(of: Int32(data.count).littleEndian) { view.replaceSubrange(12..<16, with: $0) }
                data += bytes
            }
            views += view
        }
        let nulls = values.filter { $0 == nil }.count
        return ArrayData(
            uncheckedType: .utf8View, length: values.count, nullCount: nulls,
            buffers: [nulls == 0 ? .empty : Buffer(copying: validity), Buffer(copying: views), Buffer(copying: data)])
    }

    @Test("statistics computed with a helper thread equal those computed alone, however the two interleave")
    func helperThread() throws {
        let batch = Sample.batch(3, rows: 20_000)
        let expected = StatisticsCollector.statistics(of: batch, prefixLength: 64)
        var before = StatisticsEncoder(schema: Sample.schema)
        before.append(StatisticsCollector.statistics(of: Sample.batch(1), prefixLength: 64))
        var after = before
        after.append(expected)
        let expectedText = try after.text()
        for round in 0..<60 {
            let task = StatisticsTask(batch: batch, prefixLength: 64, minMax: true, encoder: round % 3 == 0 ? nil : before)
            task.offer()
            // Finish at once, while the helper works, or after it is done.
            if round % 4 == 1 { Thread.sleep(forTimeInterval: Double(round) * 20e-6) }
            let result = task.finish()
            #expect(result.statistics == expected)
            if round % 3 == 0 {
                #expect(result.encoded == nil)
            } else {
                #expect(result.encoded?.text == expectedText)
                #expect(try result.encoded?.encoder.text() == expectedText)
            }
        }
    }

    @Test("merging batches: counts add up, unknown bounds stay unknown")
    func merging() {
        let a = BatchStatistics(rowCount: 3, columns: [ColumnStatistics(nullCount: 1, min: .init(.int(2)), max: .init(.int(9)))])
        let b = BatchStatistics(rowCount: 2, columns: [ColumnStatistics(nullCount: 0, min: .init(.int(-4)), max: .init(.int(5)))])
        let allNull = BatchStatistics(rowCount: 2, columns: [ColumnStatistics(nullCount: 2)])
        let merged = BatchStatistics.merging([a, allNull, b], columnCount: 1)
        #expect(merged.rowCount == 7)
        #expect(merged.columns[0] == ColumnStatistics(nullCount: 3, min: .init(.int(-4)), max: .init(.int(9))))
        let unknown = BatchStatistics(rowCount: 1, columns: [ColumnStatistics(nullCount: 0)])  // values, but no bounds
        #expect(BatchStatistics.merging([a, unknown], columnCount: 1).columns[0]?.min == nil)
        let inexact = BatchStatistics(
            rowCount: 1, columns: [ColumnStatistics(nullCount: 0, min: .init(.int(2), isExact: false), max: .init(.int(1)))])
        #expect(BatchStatistics.merging([a, inexact], columnCount: 1).columns[0]?.min == .init(.int(2), isExact: true))
    }

    @Test("the codec round-trips every kind of value, and nested columns map to node indices")
    func codecRoundTrip() throws {
        let schema = Schema([
            Field("s", .struct([Field("a", .int32), Field("b", .utf8)])), Field("i", .int64), Field("u", .uint8),
            Field("f", .float64), Field("flag", .boolean), Field("t", .utf8), Field("bin", .binary),
        ])
        #expect(StatisticsCodec.nodeIndices(schema) == [0, 3, 4, 5, 6, 7, 8])
        let batches = [
            BatchStatistics(
                rowCount: 10,
                columns: [
                    ColumnStatistics(nullCount: 1), ColumnStatistics(nullCount: 0, min: .init(.int(-5)), max: .init(.int(5))),
                    ColumnStatistics(nullCount: 2, min: .init(.uint(0)), max: .init(.uint(255))),
                    ColumnStatistics(nullCount: 0, min: .init(.double(-0.5)), max: .init(.double(1e300))),
                    ColumnStatistics(nullCount: 0, min: .init(.bool(false)), max: .init(.bool(true))),
                    ColumnStatistics(nullCount: 3, min: .init(.string("ab")), max: .init(.string("ac"), isExact: false)),
                    nil,
                ]),
            BatchStatistics(rowCount: 0, columns: Array(repeating: nil, count: 7)),
            BatchStatistics(
                rowCount: 1,
                columns: [nil, nil, nil, nil, nil, nil, ColumnStatistics(nullCount: 0, min: .init(.binary([0, 1])), max: .init(.binary([9])))]),
        ]
        let text = try StatisticsCodec.encode(batches, schema: schema)
        #expect(try StatisticsCodec.decode(text, schema: schema) == batches)
        #expect(try StatisticsCodec.decode(try StatisticsCodec.encode([], schema: schema), schema: schema).isEmpty)
    }

    @Test("statistics that are not statistics are rejected with an error")
    func badStatistics() throws {
        #expect(throws: QuiverError.self) { try StatisticsCodec.decode("not base64!", schema: Sample.schema) }
        let output = BufferOutputStream()
        let writer = try StreamWriter(output: output, schema: Sample.schema)
        try writer.write(Sample.batch(1))
        try writer.finish()
        let other = Base64.encode(output.getvalue())
        #expect(throws: QuiverError.self) { try StatisticsCodec.decode(other, schema: Sample.schema) }
    }

    @Test("pyarrow reads the statistics stream with the Arrow statistics schema", .enabled(if: Python.hasPyArrow))
    func pyarrowReadsStatistics() throws {
        let batches = [StatisticsCollector.statistics(of: Sample.batch(7, rows: 5), prefixLength: 64)]
        let stream = try StatisticsCodec.encodeStream(batches, schema: Sample.schema)
        let script = """
            import sys, pyarrow as pa
            t = pa.ipc.open_stream(sys.stdin.buffer.read()).read_all()
            assert t.schema.field('column').type == pa.int32()
            m = t.schema.field('statistics').type
            assert m.key_type == pa.dictionary(pa.int32(), pa.utf8()), m.key_type
            for row in t.to_pylist():
                print(row['column'], sorted((k, v) for k, v in row['statistics']))
            """
        let lines = try Python.run(script, input: stream.array).split(separator: "\n").map(String.init)
        #expect(lines == [
            "None [('ARROW:row_count:exact', 5)]",
            "0 [('ARROW:max_value:exact', 7004), ('ARROW:min_value:exact', 7000), ('ARROW:null_count:exact', 0)]",
            "1 [('ARROW:max_value:exact', '7-4'), ('ARROW:min_value:exact', '7-0'), ('ARROW:null_count:exact', 1)]",
            "2 [('ARROW:max_value:exact', 2.0), ('ARROW:min_value:exact', 0.0), ('ARROW:null_count:exact', 0)]",
        ])
    }
}

/// Bounds read as their column's values.
@Suite struct StatisticBoundFormattingTests {
    @Test func boundsDisplayAsTheirColumnType() {
        #expect(StatisticBound(.int(0)).formatted(as: .date32) == "1970-01-01")
        #expect(StatisticBound(.int(86_400_000)).formatted(as: .timestamp(.millisecond, timezone: nil)).hasPrefix("1970-01-02"))
        #expect(StatisticBound(.int(Int64(Int32.max) + 1)).formatted(as: .date32) == "2147483648")
        #expect(StatisticBound(.int(7)).formatted(as: .int64) == "7")
        #expect(StatisticBound(.string("ab"), isExact: false).formatted(as: .utf8) == "≈\"ab\"")
    }
}
