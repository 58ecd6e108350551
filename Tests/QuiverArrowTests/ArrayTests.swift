import QuiverArrow
import QuiverBytes
import QuiverTestSupport
import Testing

@Suite struct PrimitiveArrayTests {
    @Test func roundTripsWithNulls() throws {
        let array = Int32Array([1, nil, 3, nil, 5])
        #expect(Array(array) == [1, nil, 3, nil, 5])
        #expect(array.length == 5 && array.nullCount == 2 && array.type == .int32)
        #expect(array.isNull(1) && array.isValid(2))
        #expect(array.values[2] == 3)
        try array.data.validate()
    }

    @Test func slicesViewTheSameBytes() throws {
        let array = Int64Array([10, nil, 30, 40, nil, 60])
        let slice = try Int64Array(array.data.slice(from: 2, length: 3))
        #expect(Array(slice) == [30, 40, nil])
        #expect(slice.nullCount == 1)
        #expect(Array(slice.values.prefix(2)) == [30, 40])
        #expect(slice.values.baseAddress == array.values.baseAddress.map { $0 + 2 })
        try slice.data.validate()
    }

    @Test func bulkInitialiserHasNoValidity() throws {
        let array = Int32Array(values: Array(0..<1000))
        #expect(array.nullCount == 0 && array.data.buffers[0].count == 0)
        #expect(array[999] == 999)
        #expect(ArrayData.build(from: [Int32](1...3)).buffers[1].count == 12)
    }

    @Test func typedInitialiserChecksType() throws {
        let ints = Int32Array([1, 2]).data
        #expect(throws: QuiverError.self) { try Int64Array(ints) }
        #expect(throws: QuiverError.self) { try StringArray(ints) }
        #expect(throws: QuiverError.self) { try BooleanArray(ints) }
        do {
            _ = try Float64Array(ints)
        } catch let error as QuiverError {
            #expect(error.code == .typeMismatch)
            #expect(error.message.contains("int32"))
        }
        // Temporal types view their storage integer.
        let dates = Date32Array([18_628, nil], type: .date32)
        #expect(dates.type == .date32)
        #expect(try Date32Array(dates.data)[0] == 18_628)
        let stamps = TimestampArray([1_000], type: .timestamp(.millisecond, timezone: "UTC"))
        #expect(try Int64Array(stamps.data)[0] == 1_000)
    }

    @Test func floatsAndIntervals() throws {
        let halves = Float16Array([1.5, nil, -2])
        #expect(Array(halves) == [1.5, nil, -2])
        #expect(halves.data.value(at: 0) == .float(1.5))
        let raw = try UInt16Array(halves.data)
        #expect(raw[0] == 0x3E00)
        let doubles = Float64Array([.pi, nil])
        #expect(doubles[0] == .pi)
        let dayTime = DayTimeIntervalArray([DayTimeInterval(days: 1, milliseconds: 2)])
        #expect(dayTime[0] == DayTimeInterval(days: 1, milliseconds: 2))
        try dayTime.data.validate()
        let mdn = PrimitiveArray<MonthDayNanoInterval>([MonthDayNanoInterval(months: 1, days: 2, nanoseconds: 3), nil])
        #expect(mdn.data.value(at: 0) == .monthDayNanoInterval(MonthDayNanoInterval(months: 1, days: 2, nanoseconds: 3)))
        #expect(mdn.data.buffers[1].count == 32)
    }

    @Test func booleansPackBits() throws {
        let values: [Bool?] = (0..<20).map { $0 % 3 == 0 ? nil : $0 % 2 == 0 }
        let array = BooleanArray(values)
        #expect(Array(array) == values)
        #expect(array.data.buffers[1].count == 3)
        let slice = try BooleanArray(array.data.slice(from: 5, length: 10))
        #expect(Array(slice) == Array(values[5..<15]))
        // Validity bits past the length are zero, as Arrow C++ writes them.
        #expect(array.data.buffers[0].array[2] & 0xF0 == 0)
        try array.data.validate()
    }

    @Test func nullArray() throws {
        let data = NullBuilder().with { $0.appendNulls(3) }.finish()
        let array = try NullArray(data)
        #expect(array.length == 3 && array.nullCount == 3 && array.isNull(2))
        #expect(data.toList() == [.null, .null, .null])
        try data.validate()
    }
}

@Suite struct BinaryArrayTests {
    @Test func stringsRoundTrip() throws {
        let values: [String?] = ["", "a", nil, "héllo", "😀 emoji", nil]
        let array = StringArray(values)
        #expect(Array(array) == values)
        #expect(array.offsets.count == values.count + 1)
        #expect(Array(array.bytes(at: 3)) == Array("héllo".utf8))
        let slice = try StringArray(array.data.slice(from: 2, length: 3))
        #expect(Array(slice) == [nil, "héllo", "😀 emoji"])
        try slice.data.validate()
        let large = LargeStringArray(values)
        #expect(large.type == .largeUtf8 && Array(large) == values)
        try large.data.validate()
    }

    @Test func binaryRoundTrip() throws {
        let values: [[UInt8]?] = [[0, 255], nil, []]
        let array = BinaryArray(values)
        #expect(Array(array) == values)
        #expect(LargeBinaryArray(values).type == .largeBinary)
        let builder = BinaryBuilder()
        try builder.append(value: .string("ab"))
        #expect(Array(try BinaryArray(builder.finish())) == [[0x61, 0x62]])
    }

    @Test func stringViews() throws {
        let long = "a value longer than twelve bytes"
        let data = Make.stringView([Make.view(Array("short".utf8)), Make.view(Array(long.utf8))], data: [Make.bytes(long)])
        let views = try StringViewArray(data)
        #expect(Array(views) == ["short", long])
        #expect(data.value(at: 1) == .string(long))
        let sliced = try StringViewArray(data.slice(from: 1, length: 1))
        #expect(sliced[0] == long)
        var binary = data
        binary.type = .binaryView
        #expect(try BinaryViewArray(binary)[0] == Array("short".utf8))
    }

    @Test func fixedSizeBinary() throws {
        let builder = try FixedSizeBinaryBuilder(type: .fixedSizeBinary(byteWidth: 3))
        builder.append([1, 2, 3])
        builder.appendNull()
        builder.append([4, 5, 6])
        let array = try FixedSizeBinaryArray(builder.finish())
        #expect(Array(array) == [[1, 2, 3], nil, [4, 5, 6]])
        #expect(array.byteWidth == 3)
        #expect(try FixedSizeBinaryArray(array.data.slice(from: 2, length: 1))[0] == [4, 5, 6])
        #expect(throws: QuiverError.self) { try builder.append(value: .binary([1])) }
    }
}

@Suite struct DecimalArrayTests {
    @Test(arguments: [32, 64, 128, 256])
    func formatsAndParses(bits: Int) throws {
        let type = DataType.decimal(bitWidth: bits, precision: 9, scale: 2)
        let texts = ["0.00", "1.25", "-1.25", "-0.05", "123456.78", "-9999999.99"]
        let data = try ArrayData.build(texts.map { .decimal($0) } + [.null], type: type)
        let array = try DecimalArray(data)
        #expect(Array(array) == texts + [nil])
        try data.validate()
        #expect(array.words(at: 2).allSatisfy { $0 == .max } == false)
        #expect(array.words(at: 2).last.map { $0 >> 63 } == 1)
    }

    @Test func rawIntegers() throws {
        let data = try ArrayData.build([.decimal("-12.345"), .int(7)], type: .decimal(bitWidth: 128, precision: 20, scale: 3))
        let array = try DecimalArray(data)
        #expect(array.integer(at: 0, as: Int128.self) == -12_345)
        #expect(array.integer(at: 1, as: Int128.self) == 7_000)
        #expect(array[1] == "7.000")
        let small = try DecimalArray(try ArrayData.build([.decimal("3.1")], type: .decimal(bitWidth: 32, precision: 5, scale: 1)))
        #expect(small.integer(at: 0, as: Int32.self) == 31)
        let wide = try DecimalArray(try ArrayData.build(
            [.decimal("-57896044618658097711785492504343953926634992332820282019728792003956564819967")],
            type: .decimal(bitWidth: 256, precision: 76, scale: 0)))
        #expect(wide[0] == "-57896044618658097711785492504343953926634992332820282019728792003956564819967")
    }

    @Test func scalesAndRejections() throws {
        let zeroScale = try DecimalArray(try ArrayData.build([.decimal("42")], type: .decimal(bitWidth: 64, precision: 5, scale: 0)))
        #expect(zeroScale[0] == "42")
        let negativeScale = try DecimalArray(try ArrayData.build([.int(12)], type: .decimal(bitWidth: 64, precision: 5, scale: -2)))
        #expect(negativeScale.integer(at: 0, as: Int64.self) == 12 && negativeScale[0] == "1200")
        let type = DataType.decimal(bitWidth: 32, precision: 9, scale: 2)
        for bad in ["1.234", "abc", "", "1.2.3", "99999999999"] {
            #expect(throws: QuiverError.self) { try ArrayData.build([.decimal(bad)], type: type) }
        }
        // Trailing zeros past the scale are exact, so accepted.
        #expect(try DecimalArray(try ArrayData.build([.decimal("1.2000")], type: type))[0] == "1.20")
    }

    /// Arrow bounds a decimal's precision, not its scale: the text of a value must not grow
    /// with |scale| (a scale of two billion made `quiver cat` build strings of two billion
    /// zeros). Up to 76 either way it is plain; beyond, scientific as Arrow C++ writes it.
    @Test(.tags(.untrustedInput), arguments: [128, 256, 32, 64])
    func extremeScalesFormatBounded(_ bitWidth: Int) throws {
        func text(_ unscaled: Int64, scale: Int) throws -> String? {
            // The unscaled integer as it lies in an IPC body, sign-extended to the width.
            let bytes = (0..<bitWidth / 8).map { UInt8(truncatingIfNeeded: $0 < 8 ? unscaled >> ($0 * 8) : unscaled >> 63) }
            let type = DataType.decimal(bitWidth: bitWidth, precision: 5, scale: scale)
            return try DecimalArray(ArrayData(uncheckedType: type, length: 1, buffers: [.empty, Buffer(copying: bytes)]))[0]
        }
        // First, and required: without the bound the next lines would build strings of
        // billions of zeros.
        try #require(try text(12345, scale: 77) == "1.2345E-73")
        #expect(try text(12345, scale: 2_000_000_000) == "1.2345E-1999999996")
        #expect(try text(-12345, scale: -2_000_000_000) == "-1.2345E+2000000004")
        #expect(try text(0, scale: Int(Int32.max)) == "0E-2147483647")
        #expect(try text(7, scale: Int(Int32.min)) == "7E+2147483648")
        #expect(try text(12345, scale: 76) == "0." + String(repeating: "0", count: 71) + "12345")
        #expect(try text(12345, scale: -76) == "12345" + String(repeating: "0", count: 76))
    }

    /// Parsing a decimal text for a huge scale: zero needs no scaling, anything else overflows
    /// within the width's digits — no loop of `scale` steps.
    @Test(.tags(.untrustedInput)) func parsingForExtremeScaleIsBounded() throws {
        let type = DataType.decimal(bitWidth: 128, precision: 5, scale: 2_000_000_000)
        let start = ContinuousClock.now
        #expect(try DecimalArray(try ArrayData.build([.decimal("0")], type: type))[0] == "0E-2000000000")
        #expect(throws: QuiverError.self) { try ArrayData.build([.decimal("1")], type: type) }
        #expect(ContinuousClock.now - start < .seconds(1))
    }
}

@Suite struct NestedArrayTests {
    @Test func listsSliceTheirChild() throws {
        let builder = ListBuilder(child: PrimitiveBuilder<Int32>())
        builder.append([1, 2])
        builder.appendNull()
        builder.append([])
        builder.append([3, nil, 5])
        let list = try ListArray(builder.finish())
        #expect(list.length == 4 && list.nullCount == 1)
        #expect(Array(try Int32Array(list.value(at: 3))) == [3, nil, 5])
        #expect(list.value(at: 2).length == 0)
        #expect(list.data.value(at: 0) == .list([.int(1), .int(2)]))
        let slice = try ListArray(list.data.slice(from: 2, length: 2))
        #expect(Array(try Int32Array(slice.value(at: 1))) == [3, nil, 5])
        try list.data.validate()
        let large = LargeListBuilder(child: StringBuilder())
        large.append(["a", nil])
        let largeArray = try LargeListArray(large.finish())
        #expect(largeArray.data.value(at: 0) == .list([.string("a"), .null]))
    }

    @Test func listViews() throws {
        let data = ArrayData(
            uncheckedType: .listView(Field("item", .int32)), length: 3, nullCount: 1,
            buffers: [Buffer(copying: [0b101]), Make.buffer([Int32(2), 0, 0]), Make.buffer([Int32(2), 0, 3])],
            children: [Int32Array([1, 2, 3, 4]).data])
        try data.validate()
        let views = try ListViewArray(data)
        #expect(Array(try Int32Array(views.value(at: 0))) == [3, 4])
        #expect(data.toList() == [.list([.int(3), .int(4)]), .null, .list([.int(1), .int(2), .int(3)])])
    }

    @Test func fixedSizeLists() throws {
        let builder = try FixedSizeListBuilder(child: PrimitiveBuilder<Int16>(), listSize: 2)
        try builder.append(value: .list([.int(1), .int(2)]))
        builder.appendNull()
        try builder.append(value: .list([.int(5), .null]))
        #expect(throws: QuiverError.self) { try builder.append(value: .list([.int(1)])) }
        let array = try FixedSizeListArray(builder.finish())
        try array.data.validate()
        #expect(array.listSize == 2 && array.isNull(1))
        #expect(Array(try Int16Array(array.value(at: 2))) == [5, nil])
        let slice = try FixedSizeListArray(array.data.slice(from: 2, length: 1))
        #expect(slice.data.value(at: 0) == .list([.int(5), .null]))
    }

    @Test func structsAlignFieldsWithOffset() throws {
        let builder = StructBuilder([("id", PrimitiveBuilder<Int64>()), ("name", StringBuilder())])
        for (id, name) in [(1, "a"), (2, "b"), (3, "c")] {
            builder.field(at: 0, as: PrimitiveBuilder<Int64>.self).append(Int64(id))
            builder.field(at: 1, as: StringBuilder.self).append(name)
            builder.append()
        }
        builder.appendNull()
        let array = try StructArray(builder.finish())
        try array.data.validate()
        #expect(array.fields.map(\.name) == ["id", "name"])
        let slice = try StructArray(array.data.slice(from: 1, length: 3))
        #expect(Array(try StringArray(slice.field(named: "name")!)) == ["b", "c", nil])
        #expect(slice.data.value(at: 0) == .struct([("id", .int(2)), ("name", .string("b"))]))
        #expect(slice.isNull(2))
        #expect(throws: QuiverError.self) { try builder.append(value: .struct([("nope", .int(1))])) }
    }

    @Test func maps() throws {
        let builder = try MapBuilder(keyType: .utf8, valueType: .int32)
        try builder.append(value: .map([(.string("a"), .int(1)), (.string("b"), .null)]))
        builder.appendNull()
        try builder.append(value: .map([]))
        #expect(throws: QuiverError.self) { try builder.append(value: .map([(.null, .int(1))])) }
        let map = try MapArray(builder.finish())
        try map.data.validate()
        let (keys, items) = map.value(at: 0)
        #expect(Array(try StringArray(keys)) == ["a", "b"])
        #expect(Array(try Int32Array(items)) == [1, nil])
        #expect(map.isNull(1))
        #expect(map.data.value(at: 0) == .map([(.string("a"), .int(1)), (.string("b"), .null)]))
        #expect(map.data.value(at: 2) == .map([]))
    }

    @Test func unions() throws {
        let sparse = Make.union(
            .sparse, typeIds: [5, 7, 5], children: [Int32Array([1, nil, 3]).data, StringArray(["a", "b", "c"]).data],
            declared: [5, 7])
        let array = try UnionArray(sparse)
        #expect(sparse.toList() == [.int(1), .string("b"), .int(3)])
        #expect(array.typeId(at: 1) == 7 && array.location(at: 1) == (1, 1))
        let slice = sparse.slice(from: 1, length: 2)
        #expect(slice.toList() == [.string("b"), .int(3)])
        let dense = Make.union(
            .dense, typeIds: [0, 1, 0, 0], offsets: [0, 0, 1, 2],
            children: [Int32Array([1, 2, nil]).data, StringArray(["x"]).data], declared: [0, 1])
        try dense.validate()
        #expect(dense.toList() == [.int(1), .string("x"), .int(2), .null])
        #expect(try UnionArray(dense).isNull(3))
    }

    @Test func dictionaries() throws {
        let data = Make.dictionary(indices: Int8Array([1, nil, 0, 1]).data, dictionary: StringArray(["a", "b"]).data)
        let array = try DictionaryArray(data)
        #expect(array.key(at: 0) == 1 && array.key(at: 1) == nil)
        #expect(array.indices.type == .int8 && array.indices.dictionary == nil)
        #expect(Array(try StringArray(array.dictionary)) == ["a", "b"])
        #expect(data.toList() == [.string("b"), .null, .string("a"), .string("b")])
        #expect(data.slice(from: 2, length: 2).toList() == [.string("a"), .string("b")])
        let unsigned = Make.dictionary(indices: UInt32Array([1]).data, dictionary: StringArray(["a", "b"]).data)
        #expect(unsigned.value(at: 0) == .string("b"))
    }

    @Test func runEndEncoded() throws {
        let data = Make.ree(runEnds: Int16Array([2, 3, 6]).data, values: StringArray(["a", nil, "c"]).data, length: 6)
        try data.validate()
        let array = try RunEndEncodedArray(data)
        #expect((0..<6).map(array.physicalIndex(at:)) == [0, 0, 1, 2, 2, 2])
        #expect(data.toList() == [.string("a"), .string("a"), .null, .string("c"), .string("c"), .string("c")])
        #expect(array.isNull(2))
        let slice = try RunEndEncodedArray(data.slice(from: 1, length: 3))
        #expect((0..<3).map(slice.physicalIndex(at:)) == [0, 1, 2])
        #expect(slice.data.toList() == [.string("a"), .null, .string("c")])
    }

    @Test func makeArrayPicksTheType() throws {
        #expect(makeArrayUnchecked(Int32Array([1]).data) is Int32Array)
        #expect(makeArrayUnchecked(Date32Array([1], type: .date32).data) is Int32Array)
        #expect(makeArrayUnchecked(StringArray(["a"]).data) is StringArray)
        #expect(makeArrayUnchecked(LargeStringArray(["a"]).data) is LargeStringArray)
        #expect(makeArrayUnchecked(BooleanArray([true]).data) is BooleanArray)
        #expect(makeArrayUnchecked(Make.ree(runEnds: Int32Array([1]).data, values: Int32Array([1]).data, length: 1)) is RunEndEncodedArray)
        var ext = Int32Array([1]).data
        ext.type = .extension(name: "my.ext", metadata: "", storage: .int32)
        let array = makeArrayUnchecked(ext)
        #expect(array is Int32Array && array.type == ext.type)
        #expect(ext.value(at: 0) == .int(1))
    }
}

@Suite struct BuilderTests {
    @Test func dynamicBuildRoundTripsNestedValues() throws {
        let type = DataType.list(Field("item", .struct([Field("k", .utf8), Field("v", .list(Field("item", .float64)))])))
        let values: [ArrowValue] = [
            .list([.struct([("k", .string("a")), ("v", .list([.float(1.5), .null]))]), .null]),
            .null,
            .list([]),
        ]
        let data = try ArrayData.build(values, type: type)
        try data.validate()
        #expect(data.toList() == values)
    }

    @Test func dynamicBuildRejectsMismatches() {
        #expect(throws: QuiverError.self) { try ArrayData.build([.string("x")], type: .int32) }
        #expect(throws: QuiverError.self) { try ArrayData.build([.int(300)], type: .int8) }
        #expect(throws: QuiverError.self) { try ArrayData.build([.int(-1)], type: .uint32) }
        #expect(throws: QuiverError.self) { try ArrayData.build([.binary([0xFF])], type: .utf8) }
        #expect(throws: QuiverError.self) { try ArrayData.build([.null], type: .utf8View) }
        do {
            _ = try ArrayData.build([.float(1)], type: .boolean)
        } catch let error as QuiverError {
            #expect(error.code == .typeMismatch && error.message.contains("bool"))
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test func temporalValuesBuild() throws {
        let type = DataType.timestamp(.nanosecond, timezone: nil)
        let data = try ArrayData.build([.timestamp(5, .nanosecond, timezone: nil), .int(6), .null], type: type)
        #expect(data.toList() == [.timestamp(5, .nanosecond, timezone: nil), .timestamp(6, .nanosecond, timezone: nil), .null])
        let dates = try ArrayData.build([.date32(3)], type: .date32)
        #expect(dates.value(at: 0) == .date32(3))
    }

    @Test func buildersAreReusableAfterFinish() throws {
        let builder = StringBuilder()
        builder.append("a")
        builder.appendNull()
        let first = builder.finish()
        builder.append("b")
        let second = builder.finish()
        #expect(Array(try StringArray(first)) == ["a", nil])
        #expect(Array(try StringArray(second)) == ["b"])
        #expect(second.nullCount == 0 && second.buffers[0].count == 0)
        try first.validate()
        try second.validate()
    }

    @Test func validityBitmapStartsAtFirstNull() throws {
        let builder = PrimitiveBuilder<Int32>()
        builder.append(contentsOf: Array(0..<100))
        #expect(builder.nullCount == 0)
        builder.appendNull()
        builder.append(7)
        let data = builder.finish()
        try data.validate()
        #expect(data.nullCount == 1 && data.isNull(100) && !data.isNull(99) && !data.isNull(101))
        #expect(Int32Array(unsafeData: data)[101] == 7)
    }

    @Test func manyBatchesBuildFast() throws {
        // The demo's shape: 10M int32 in 1000 batches of 10,000 through the bulk path.
        let chunk = [Int32](0..<10_000)
        let clock = ContinuousClock()
        var total = 0
        let elapsed = try clock.measure {
            for batch in 0..<1000 {
                let values = chunk.map { $0 &+ Int32(batch) }
                let array = Int32Array(values: values)
                try array.data.validate()
                total += array.length
            }
        }
        #expect(total == 10_000_000)
        #expect(elapsed < .seconds(10), "took \(elapsed)")
    }
}

extension PrimitiveArray {
    /// Test shorthand for data known to fit.
    init(unsafeData data: ArrayData) { self = try! PrimitiveArray(data) }
}

extension NullBuilder {
    func with(_ body: (NullBuilder) -> Void) -> NullBuilder {
        body(self)
        return self
    }
}

/// What holding an array keeps alive.
@Suite struct TotalBufferSizeTests {
    @Test func countsChildrenAndDictionaries() {
        let ints = Make.int32([1, nil, 3])  // bitmap 1 byte + values 12 bytes
        #expect(ints.totalBufferSize == 13)
        #expect(Make.list([0, 2, 3], child: ints).totalBufferSize == 12 + 13)
        #expect(Make.dictionary([0, 1], Make.utf8(["a", "bc"])).totalBufferSize == 2 + (12 + 3))
    }
}
