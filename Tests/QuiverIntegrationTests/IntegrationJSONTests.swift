import Foundation
import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverIntegration
import QuiverTestSupport
import Testing

/// Every golden integration JSON file with its batches' row counts (from the files).
let goldenJSONCases: [(name: String, folder: String, rows: [Int])] = [
    ("generated_binary", "cpp-21.0.0", [17, 20]),
    ("generated_binary_no_batches", "cpp-21.0.0", []),
    ("generated_binary_view", "cpp-21.0.0", [0, 7, 256]),
    ("generated_binary_zerolength", "cpp-21.0.0", [0, 0, 0]),
    ("generated_custom_metadata", "cpp-21.0.0", [1]),
    ("generated_datetime", "cpp-21.0.0", [7, 10]),
    ("generated_decimal", "cpp-21.0.0", [7, 10]),
    ("generated_decimal256", "cpp-21.0.0", [7, 10]),
    ("generated_decimal32", "cpp-21.0.0", [7, 10]),
    ("generated_decimal64", "cpp-21.0.0", [7, 10]),
    ("generated_dictionary", "cpp-21.0.0", [7, 10]),
    ("generated_dictionary_unsigned", "cpp-21.0.0", [7, 10]),
    ("generated_duplicate_fieldnames", "cpp-21.0.0", [1]),
    ("generated_duration", "cpp-21.0.0", [7, 10]),
    ("generated_extension", "cpp-21.0.0", [0, 13]),
    ("generated_interval", "cpp-21.0.0", [7, 10]),
    ("generated_interval_mdn", "cpp-21.0.0", [7, 10]),
    ("generated_large_binary", "cpp-21.0.0", [17, 20]),
    ("generated_list_view", "cpp-21.0.0", [0, 7, 256]),
    ("generated_map", "cpp-21.0.0", [7, 10]),
    ("generated_map_non_canonical", "cpp-21.0.0", [7]),
    ("generated_nested", "cpp-21.0.0", [7, 10]),
    ("generated_nested_dictionary", "cpp-21.0.0", [10, 13]),
    ("generated_nested_large_offsets", "cpp-21.0.0", [0, 13]),
    ("generated_null", "cpp-21.0.0", [10, 0]),
    ("generated_null_trivial", "cpp-21.0.0", [0, 0]),
    ("generated_primitive", "cpp-21.0.0", [17, 20]),
    ("generated_primitive_no_batches", "cpp-21.0.0", []),
    ("generated_primitive_zerolength", "cpp-21.0.0", [0, 0, 0]),
    ("generated_recursive_nested", "cpp-21.0.0", [7, 10]),
    ("generated_run_end_encoded", "cpp-21.0.0", [0, 7, 20]),
    ("generated_union", "cpp-21.0.0", [0, 11]),
    ("generated_lz4", "2.0.0-compression", [30, 30]),
    ("generated_uncompressible_zstd", "2.0.0-compression", [4]),
]

func goldenURL(_ folder: String, _ name: String, _ suffix: String) -> URL {
    TestPaths.golden.appendingPathComponent("integration/\(folder)/\(name)\(suffix)")
}

func readGolden(_ name: String, folder: String = "cpp-21.0.0") throws -> IntegrationFile {
    try IntegrationJSON.read(contentsOf: goldenURL(folder, name, ".json.gz"))
}

/// The bytes of slot `row` of a fixed-width column.
func slotBytes(_ array: ArrayData, _ row: Int) -> [UInt8] {
    let width = array.type.fixedByteWidth ?? 0
    return Array(array.buffers[1].bytes[(array.offset + row) * width..<(array.offset + row + 1) * width])
}

func value<T: BitwiseCopyable>(_ array: ArrayData, _ row: Int, as type: T.Type) -> T {
    array.buffers[1].baseAddress.loadUnaligned(fromByteOffset: (array.offset + row) * MemoryLayout<T>.size, as: T.self)
}

/// The string at `row` of a utf8 column (32-bit offsets).
func string(_ array: ArrayData, _ row: Int) -> String {
    let start = Int(value(array, row, as: Int32.self))
    let end = Int(value(array, row + 1, as: Int32.self))
    return String(decoding: array.buffers[2].bytes[start..<end], as: UTF8.self)
}

func hexBytes(_ text: String) -> [UInt8] {
    stride(from: 0, to: text.count, by: 2).map {
        let start = text.index(text.startIndex, offsetBy: $0)
        return UInt8(text[start..<text.index(start, offsetBy: 2)], radix: 16) ?? 0
    }
}

@Suite("Integration JSON")
struct IntegrationJSONTests {
    @Test(arguments: goldenJSONCases.map { $0.name })
    func readsEveryGoldenFileAndRoundTrips(name: String) throws {
        let entry = try #require(goldenJSONCases.first { $0.name == name })
        let file = try readGolden(name, folder: entry.folder)
        #expect(file.batches.map(\.length) == entry.rows)
        for batch in file.batches {
            #expect(batch.columns.count == file.schema.fields.count)
            for column in batch.columns { #expect(column.length == batch.length) }
        }
        // Write it back, read that, and require the same schema and values.
        let written = try IntegrationJSON.write(schema: file.schema, batches: file.batches)
        let again = try IntegrationJSON.read(from: written)
        #expect(again.schema.firstDifference(from: file.schema) == nil)
        #expect(again.batches.count == file.batches.count)
        for (index, (batch, reread)) in zip(file.batches, again.batches).enumerated() {
            let difference = reread.firstDifference(from: batch)
            #expect(difference == nil, "batch \(index): \(difference ?? "")")
        }
        // Writing is deterministic: the re-read file writes the same bytes.
        #expect(try IntegrationJSON.write(schema: again.schema, batches: again.batches) == written)
    }

    /// Slices of every golden batch write as the rows they show (offsets rebased, children
    /// cut, runs trimmed) and compare equal to the slice; a shifted slice does not.
    @Test(arguments: goldenJSONCases.map { $0.name })
    func slicedGoldenBatchesRoundTrip(name: String) throws {
        let entry = try #require(goldenJSONCases.first { $0.name == name })
        let file = try readGolden(name, folder: entry.folder)
        for batch in file.batches where batch.length >= 4 {
            let slice = batch.slice(from: 1, length: batch.length - 2)
            let reread = try IntegrationJSON.read(from: try IntegrationJSON.write(schema: file.schema, batches: [slice]))
            let difference = reread.batches[0].firstDifference(from: slice)
            #expect(difference == nil, "\(difference ?? "")")
            #expect(reread.batches[0].firstDifference(from: batch.slice(from: 0, length: batch.length - 2)) != nil
                || file.schema.fields.allSatisfy { $0.type == .null })
        }
    }

    @Test func primitiveSpotValues() throws {
        let file = try readGolden("generated_primitive")
        let batch = file.batches[0]
        let bools = try #require(batch.column(named: "bool_nullable"))
        #expect(bools.isNull(0) && bools.isNull(1) && bools.isValid(2))
        #expect(BitUtil.get(bools.buffers[1].baseAddress, 2))
        let int8 = try #require(batch.column(named: "int8_nullable"))
        #expect(value(int8, 0, as: Int8.self) == -128 && value(int8, 1, as: Int8.self) == 127)
        let int32 = try #require(batch.column(named: "int32_nullable"))
        #expect(int32.isNull(1) && value(int32, 2, as: Int32.self) == -1_777_158_217)
        let int64 = try #require(batch.column(named: "int64_nonnullable"))
        #expect(int64.nullCount == 0 && value(int64, 2, as: Int64.self) == 1_188_575_893)
        let uint64 = try #require(batch.column(named: "uint64_nonnullable"))
        #expect(value(uint64, 2, as: UInt64.self) == 1_445_584_989)
        let float32 = try #require(batch.column(named: "float32_nonnullable"))
        #expect(value(float32, 0, as: Float.self) == Float(-977.936))
        let float64 = try #require(batch.column(named: "float64_nonnullable"))
        #expect(value(float64, 2, as: Double.self) == 2613.999)
        #expect(file.schema.field(named: "bool_nonnullable")?.nullable == false)
    }

    @Test func decimalsAreTwosComplementOfTheirWidth() throws {
        let wide = try readGolden("generated_decimal256").batches[0].columns[0]
        #expect(wide.type == .decimal(bitWidth: 256, precision: 37, scale: 5))
        // -2031123033167196931846941783813867591, little-endian, sign-extended to 32 bytes.
        #expect(slotBytes(wide, 1) == hexBytes("b9b72a7456c9a56fca318620e7d178fe" + String(repeating: "ff", count: 16)))
        let decimal128 = try readGolden("generated_decimal")
        let f0 = decimal128.batches[0].columns[0]
        #expect(slotBytes(f0, 2) == [190] + [UInt8](repeating: 0, count: 15))
        // The written JSON spells the same unscaled integers.
        let text = String(decoding: try IntegrationJSON.write(schema: decimal128.schema, batches: decimal128.batches), as: UTF8.self)
        #expect(text.contains("\"97060933528674307987174480314252288431\""))
        let file256 = try readGolden("generated_decimal256")
        let text256 = String(decoding: try IntegrationJSON.write(schema: file256.schema, batches: file256.batches), as: UTF8.self)
        #expect(text256.contains("\"-2031123033167196931846941783813867591\""))
        let narrow = try readGolden("generated_decimal32").batches[0].columns[0]
        #expect(narrow.type == .decimal(bitWidth: 32, precision: 3, scale: 2))
    }

    /// A width from metadata is no size to allocate by: with no rows, a
    /// fixed_size_binary[2^28] column is written at once, without a zero value of 2^28 bytes
    /// (a fuzzer's file declared 754974739 and ARROW_TO_JSON hexed 755 MB per column).
    @Test func declaredWidthWithoutRowsAllocatesNothing() throws {
        let type = DataType.fixedSizeBinary(byteWidth: 1 << 28)
        let schema = Schema([Field("f", type)])
        let empty = try RecordBatch(schema: schema, columns: [ArrayData(uncheckedType: type, length: 0, buffers: [.empty, .empty])])
        let start = ContinuousClock.now
        let json = try IntegrationJSON.write(schema: schema, batches: [empty])
        #expect(ContinuousClock.now - start < .seconds(1))
        #expect(json.count < 1_000)
    }

    @Test func stringsBinaryAndViews() throws {
        let batch = try readGolden("generated_binary").batches[0]
        let utf8 = try #require(batch.column(named: "utf8_nullable"))
        #expect(string(utf8, 2) == "r°rir矢矢")
        let binary = try #require(batch.column(named: "binary_nullable"))
        #expect(Array(binary.buffers[2].bytes[0..<3]) == [0x27, 0xDD, 0x17])
        let fixed = try #require(batch.column(named: "fixedsizebinary_19_nullable"))
        #expect(fixed.type == .fixedSizeBinary(byteWidth: 19))
        let views = try readGolden("generated_binary_view").batches[2]
        let bv = try #require(views.column(named: "bv"))
        #expect(bv.type == .binaryView && bv.buffers.count >= 3)
        #expect(Array(bv.buffers[1].bytes[0..<7]) == [3, 0, 0, 0, 0x5F, 0xCD, 0xED])
    }

    @Test func intervalsKeepInt64Precision() throws {
        let mdn = try readGolden("generated_interval_mdn").batches[0].columns[0]
        #expect(mdn.type == .interval(.monthDayNano))
        #expect(value(mdn, 0, as: Int32.self) == 1_493_908_993)
        #expect(mdn.buffers[1].baseAddress.loadUnaligned(fromByteOffset: 8, as: Int64.self) == 8_820_212_087_008_106_548)
        let dayTime = try readGolden("generated_interval").batches[0].columns[1]
        #expect(dayTime.isNull(0))
        #expect(dayTime.buffers[1].baseAddress.loadUnaligned(fromByteOffset: 8, as: Int32.self) == -762_259)
        #expect(dayTime.buffers[1].baseAddress.loadUnaligned(fromByteOffset: 12, as: Int32.self) == 39_238_547)
    }

    @Test func dictionariesAreResolvedById() throws {
        let file = try readGolden("generated_dictionary")
        let dict0 = try #require(file.batches[0].column(named: "dict0"))
        #expect(file.schema.fields[0].dictionaryId == 0)
        #expect(dict0.type == .dictionary(index: .int8, value: .utf8, ordered: false))
        let values = try #require(dict0.dictionary)
        #expect(values.length == 10)
        #expect(value(dict0, 0, as: Int8.self) == 2 && string(values, 2) == "jhak1rp")
        // Nested: dictionary 1's values are lists of dictionary 0-encoded strings.
        let nested = try readGolden("generated_nested_dictionary")
        let listDict = try #require(nested.batches[0].column(named: "list_dict")?.dictionary)
        guard case .list(let item) = listDict.type else { Issue.record("expected a list, got \(listDict.type)"); return }
        #expect(item.dictionaryId == 0)
        #expect(listDict.children[0].dictionary?.length == 10)
    }

    @Test func extensionsAndCustomMetadata() throws {
        let file = try readGolden("generated_extension")
        #expect(file.schema.fields[0].type == .extension(name: "arrow.uuid", metadata: "", storage: .fixedSizeBinary(byteWidth: 16)))
        #expect(file.schema.fields[0].metadata.isEmpty)
        #expect(file.schema.fields[1].type == .extension(
            name: "dict-extension", metadata: "dict-extension-serialized",
            storage: .dictionary(index: .int8, value: .utf8, ordered: false)))
        #expect(file.batches[1].columns[1].dictionary?.length == 5)
        let custom = try readGolden("generated_custom_metadata")
        #expect(custom.schema.metadata.pairs.map(\.key) == ["schema_custom_0", "schema_custom_1"])
        #expect(custom.schema.fields[1].metadata.count == 9)
        let unregistered = custom.schema.fields[2]
        #expect(unregistered.type == .extension(name: "!nonexistent", metadata: "", storage: .int8))
        #expect(unregistered.metadata.pairs.map(\.key) == ["ARROW:integration:allow_unregistered_extension"])
        guard case .list(let item) = custom.schema.fields[3].type else { Issue.record("expected a list"); return }
        #expect(item.metadata["odd_values"] == "{}")
    }

    @Test func unionsRunEndsAndNulls() throws {
        let union = try readGolden("generated_union").batches[1]
        let dense = try #require(union.column(named: "dense_2"))
        guard case .union(.dense, _, let ids) = dense.type else { Issue.record("expected a dense union"); return }
        #expect(ids == [42, 43, 44])
        #expect(dense.buffers[0].array.prefix(3) == [44, 44, 43])
        let ree = try readGolden("generated_run_end_encoded").batches[2].columns[0]
        #expect(ree.children[0].length == 4 && value(ree.children[0], 0, as: Int16.self) == 7)
        let nulls = try readGolden("generated_null").batches[0].columns[0]
        #expect(nulls.type == .null && nulls.nullCount == 10)
    }

    @Test func writingSlicedArraysWritesWhatTheyShow() throws {
        let schema = Schema([
            Field("ints", .int32), Field("strings", .utf8),
            Field("lists", .list(Field("item", .int32))),
            Field("runs", Make.runEndEncoded([2, 5], Make.int32([7, 8])).type),
            Field("dict", .dictionary(index: .int8, value: .utf8, ordered: false)),
        ])
        let batch = try RecordBatch(schema: schema, columns: [
            Make.int32([0, 1, nil, 3, 4]),
            Make.utf8(["a", "bb", nil, "dddd", "e"]),
            Make.list([0, 1, 3, 3, 6, 6], valid: [true, true, false, true, true], child: Make.int32([1, 2, 3, 4, 5, 6])),
            Make.runEndEncoded([2, 5], Make.int32([7, 8])),
            Make.dictionary([0, 1, nil, 1, 0], Make.utf8(["x", "y"])),
        ])
        let sliced = batch.slice(from: 1, length: 3)
        let reread = try IntegrationJSON.read(from: try IntegrationJSON.write(schema: schema, batches: [sliced]))
        #expect(reread.batches[0].firstDifference(from: sliced) == nil)
        #expect(reread.batches[0].columns.allSatisfy { $0.offset == 0 })
        #expect(reread.schema.fields[4].dictionaryId == 0)
        // A batch that replaces a dictionary cannot be written.
        let replaced = try RecordBatch(schema: schema, columns: batch.columns.enumerated().map {
            $0.offset == 4 ? Make.dictionary([0, 1, nil, 1, 0], Make.utf8(["z", "y"])) : $0.element
        })
        #expect(throws: QuiverError.self) { try IntegrationJSON.write(schema: schema, batches: [batch, replaced]) }
    }

    @Test func extremeNumbersRoundTripExactly() throws {
        let schema = Schema([
            Field("u64", .uint64), Field("i64", .int64), Field("f64", .float64), Field("f32", .float32),
            Field("f16", .float16),
        ])
        let batch = try RecordBatch(schema: schema, columns: [
            Make.fixed(.uint64, [UInt64.max, 0, nil], filler: 7),
            Make.fixed(.int64, [Int64.min, Int64.max, -1], filler: 0),
            Make.fixed(.float64, [Double.nan, -Double.infinity, 0.1], filler: 0),
            Make.fixed(.float32, [Float(0.1), Float.greatestFiniteMagnitude, -0.0], filler: 0),
            Make.fixed(.float16, [UInt16(0x3C00), 0x7BFF, 0x8001], filler: 0),  // 1.0, 65504, -2^-24
        ])
        let text = try IntegrationJSON.write(schema: schema, batches: [batch])
        #expect(String(decoding: text, as: UTF8.self).contains("\"18446744073709551615\""))
        let reread = try IntegrationJSON.read(from: text)
        #expect(reread.batches[0].firstDifference(from: batch) == nil)
        #expect(slotBytes(reread.batches[0].columns[0], 0) == [UInt8](repeating: 0xFF, count: 8))
    }

    @Test func plainJSONAndGzipReadAlike() throws {
        let gz = try Data(contentsOf: goldenURL("cpp-21.0.0", "generated_nested", ".json.gz"))
        let file = try IntegrationJSON.read(from: gz)
        let plain = try IntegrationJSON.write(schema: file.schema, batches: file.batches)
        let reread = try IntegrationJSON.read(from: plain)
        #expect(reread.batches[1].firstDifference(from: file.batches[1]) == nil)
        // A truncated gzip stream is an error, not a partial file.
        #expect(throws: QuiverError.self) { try IntegrationJSON.read(from: gz.prefix(gz.count / 2)) }
    }

    static let malformed: [String] = [
        "",
        "{",
        "[1, 2",
        "{\"schema\": {\"fields\": []}, \"batches\": [}",
        "{\"schema\": {\"fields\": [{\"name\": \"a\", \"type\": {\"name\": \"int\", \"bitWidth\": 33, \"isSigned\": true}}]}, \"batches\": []}",
        "{\"schema\": {\"fields\": [{\"name\": \"a\", \"type\": {\"name\": \"nope\"}}]}, \"batches\": []}",
        // DATA shorter than count.
        "{\"schema\": {\"fields\": [{\"name\": \"a\", \"type\": {\"name\": \"int\", \"bitWidth\": 8, \"isSigned\": true}}]}, \"batches\": [{\"count\": 2, \"columns\": [{\"name\": \"a\", \"count\": 2, \"VALIDITY\": [1, 1], \"DATA\": [1]}]}]}",
        // Value out of range for int8.
        "{\"schema\": {\"fields\": [{\"name\": \"a\", \"type\": {\"name\": \"int\", \"bitWidth\": 8, \"isSigned\": true}}]}, \"batches\": [{\"count\": 1, \"columns\": [{\"name\": \"a\", \"count\": 1, \"VALIDITY\": [1], \"DATA\": [300]}]}]}",
        // List offsets past the child.
        "{\"schema\": {\"fields\": [{\"name\": \"l\", \"type\": {\"name\": \"list\"}, \"children\": [{\"name\": \"item\", \"type\": {\"name\": \"bool\"}}]}]}, \"batches\": [{\"count\": 1, \"columns\": [{\"name\": \"l\", \"count\": 1, \"VALIDITY\": [1], \"OFFSET\": [0, 5], \"children\": [{\"name\": \"item\", \"count\": 1, \"VALIDITY\": [1], \"DATA\": [true]}]}]}]}",
        // Dictionary index outside the dictionary, and a missing dictionary.
        "{\"schema\": {\"fields\": [{\"name\": \"d\", \"type\": {\"name\": \"utf8\"}, \"dictionary\": {\"id\": 0, \"indexType\": {\"name\": \"int\", \"bitWidth\": 8, \"isSigned\": true}}}]}, \"dictionaries\": [{\"id\": 0, \"data\": {\"count\": 1, \"columns\": [{\"name\": \"D\", \"count\": 1, \"VALIDITY\": [1], \"OFFSET\": [0, 1], \"DATA\": [\"x\"]}]}}], \"batches\": [{\"count\": 1, \"columns\": [{\"name\": \"d\", \"count\": 1, \"VALIDITY\": [1], \"DATA\": [3]}]}]}",
        "{\"schema\": {\"fields\": [{\"name\": \"d\", \"type\": {\"name\": \"utf8\"}, \"dictionary\": {\"id\": 0, \"indexType\": {\"name\": \"int\", \"bitWidth\": 8, \"isSigned\": true}}}]}, \"batches\": [{\"count\": 1, \"columns\": [{\"name\": \"d\", \"count\": 1, \"VALIDITY\": [1], \"DATA\": [0]}]}]}",
        // Binary hex of odd length; a decimal wider than its type.
        "{\"schema\": {\"fields\": [{\"name\": \"b\", \"type\": {\"name\": \"binary\"}}]}, \"batches\": [{\"count\": 1, \"columns\": [{\"name\": \"b\", \"count\": 1, \"VALIDITY\": [1], \"OFFSET\": [0, 1], \"DATA\": [\"ABC\"]}]}]}",
        "{\"schema\": {\"fields\": [{\"name\": \"d\", \"type\": {\"name\": \"decimal\", \"bitWidth\": 32, \"precision\": 9, \"scale\": 0}}]}, \"batches\": [{\"count\": 1, \"columns\": [{\"name\": \"d\", \"count\": 1, \"VALIDITY\": [1], \"DATA\": [\"2147483648\"]}]}]}",
        // Run ends that do not increase.
        "{\"schema\": {\"fields\": [{\"name\": \"r\", \"type\": {\"name\": \"runendencoded\"}, \"children\": [{\"name\": \"run_ends\", \"type\": {\"name\": \"int\", \"bitWidth\": 32, \"isSigned\": true}, \"nullable\": false}, {\"name\": \"values\", \"type\": {\"name\": \"bool\"}}]}]}, \"batches\": [{\"count\": 2, \"columns\": [{\"name\": \"r\", \"count\": 2, \"children\": [{\"name\": \"run_ends\", \"count\": 2, \"VALIDITY\": [1, 1], \"DATA\": [2, 2]}, {\"name\": \"values\", \"count\": 2, \"VALIDITY\": [1, 1], \"DATA\": [true, false]}]}]}]}",
        // A huge fixed width over null slots must not be allocated.
        "{\"schema\": {\"fields\": [{\"name\": \"f\", \"type\": {\"name\": \"fixedsizebinary\", \"byteWidth\": 2147483647}}]}, \"batches\": [{\"count\": 3, \"columns\": [{\"name\": \"f\", \"count\": 3, \"VALIDITY\": [0, 0, 0], \"DATA\": [\"\", \"\", \"\"]}]}]}",
        String(repeating: "[", count: 10_000),
        "{\"schema\": {\"fields\": []}, \"batches\": []} trailing",
        "\"\\ud800\"",
    ]

    @Test(arguments: malformed)
    func malformedJSONThrows(text: String) {
        #expect(throws: QuiverError.self) { try IntegrationJSON.read(from: Data(text.utf8)) }
    }

    /// Cut and corrupted versions of a real file either read or throw; none may trap.
    @Test func damagedFilesNeverTrap() throws {
        let file = try readGolden("generated_nested_dictionary")
        let text = try IntegrationJSON.write(schema: file.schema, batches: file.batches)
        var generator = SeededRandom(seed: 102)
        for cut in stride(from: 0, to: text.count, by: max(1, text.count / 300)) {
            _ = try? IntegrationJSON.read(from: text.prefix(cut))
        }
        let replacements = Array("0123456789-[]{}\",:x ".utf8)
        for _ in 0..<300 {
            var damaged = text
            for _ in 0..<3 {
                damaged[Int.random(in: 0..<damaged.count, using: &generator)] = replacements.randomElement(using: &generator) ?? 0
            }
            if let reread = try? IntegrationJSON.read(from: damaged) {
                // What does read must also compare and write without trapping.
                for (a, b) in zip(reread.batches, file.batches) { _ = a.firstDifference(from: b) }
                _ = try? IntegrationJSON.write(schema: reread.schema, batches: reread.batches)
            }
        }
    }
}

/// The JSON of every golden case against its IPC twins: what `quiver integration` checks.
@Suite("Integration JSON against IPC")
struct IntegrationJSONIPCTests {
    /// Compares decoded batches with the JSON's, naming the source and the first difference
    /// on failure.
    func expectMatch(_ schema: Schema, _ batches: [RecordBatch], _ json: IntegrationFile, _ source: String) {
        let difference = json.firstDifference(schema: schema, batches: { batches })
        #expect(difference == nil, "\(source): \(String(describing: difference))")
    }

    @Test(arguments: goldenJSONCases.map { $0.name })
    func goldenStreamAndFileEqualTheJSON(name: String) throws {
        let entry = try #require(goldenJSONCases.first { $0.name == name })
        let json = try readGolden(name, folder: entry.folder)
        func bytes(_ suffix: String) throws -> Buffer {
            Buffer(copying: [UInt8](try Data(contentsOf: goldenURL(entry.folder, name, suffix))))
        }
        let stream = try StreamReader(buffer: try bytes(".stream"))
        expectMatch(stream.schema, try stream.readBatches(), json, "\(name).stream")
        let file = try FileReader(buffer: try bytes(".arrow_file"))
        expectMatch(file.schema, try file.readBatches(), json, "\(name).arrow_file")

        // JSON_TO_ARROW: the JSON's batches written as an Arrow file read back equal.
        let written = try FileReader(buffer: try writeFile(json.schema, json.batches))
        expectMatch(written.schema, try written.readBatches(), json, "\(name) JSON→file")
        // ARROW_TO_JSON: the golden file's batches written as JSON read back equal.
        let golden = try FileReader(buffer: try bytes(".arrow_file"))
        let text = try IntegrationJSON.write(schema: golden.schema, batches: try golden.readBatches())
        let reread = try IntegrationJSON.read(from: text)
        expectMatch(reread.schema, reread.batches, json, "\(name) file→JSON")
    }
}
