import QuiverArrow
import QuiverBytes
import QuiverTestSupport
import Testing

/// Expects `invalidData` whose message contains `fragment` (so the right check fired).
func expectInvalid(_ data: ArrayData, full: Bool = true, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        try data.validate(full: full)
        Issue.record("accepted invalid data (expected '\(fragment)')", sourceLocation: sourceLocation)
    } catch let error as QuiverError {
        #expect(error.code == .invalidData, "\(error)", sourceLocation: sourceLocation)
        #expect(error.description.contains(fragment), "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
    }
}

@Suite(.tags(.untrustedInput)) struct ValidationTests {
    // MARK: Valid data passes

    static let validArrays: [(String, ArrayData)] = {
        var list = ListBuilder(child: PrimitiveBuilder<Int32>())
        list.append([1, nil, 3])
        list.appendNull()
        list.append([])
        let map = try! MapBuilder(keyType: .utf8, valueType: .int64)
        try! map.append(value: .map([(.string("a"), .int(1)), (.string("b"), .null)]))
        map.appendNull()
        let structs = StructBuilder([("x", PrimitiveBuilder<Int64>()), ("y", StringBuilder())])
        try! structs.append(value: .struct([("x", .int(1)), ("y", .string("é"))]))
        structs.appendNull()
        _ = list
        return [
            ("int32", Int32Array([1, nil, 3]).data),
            ("bool", BooleanArray([true, nil, false]).data),
            ("utf8", StringArray(["a", nil, "ü€😀", ""]).data),
            ("large utf8", LargeStringArray(["x", nil]).data),
            ("binary", BinaryArray([[0xFF, 0xFE], nil]).data),
            ("list", list.finish()),
            ("map", map.finish()),
            ("struct", structs.finish()),
            ("decimal", try! ArrayData.build([.decimal("1.25"), .null], type: .decimal(bitWidth: 128, precision: 10, scale: 2))),
            ("null", ArrayData(uncheckedType: .null, length: 3, nullCount: 3, buffers: [])),
            ("sliced", Int32Array([1, nil, 3, 4, nil]).data.slice(from: 1, length: 3)),
            ("views", Make.stringView([Make.view(Array("short".utf8)), Make.view(Array("a string longer than twelve".utf8))], data: [Make.bytes("a string longer than twelve")])),
            ("dictionary", Make.dictionary(indices: Int8Array([0, nil, 1, 0]).data, dictionary: StringArray(["a", "b"]).data)),
            ("ree", Make.ree(runEnds: Int32Array([2, 5]).data, values: StringArray(["a", nil]).data, length: 5)),
            ("sparse union", Make.union(.sparse, typeIds: [5, 7, 5], children: [Int32Array([1, 2, 3]).data, StringArray(["a", "b", "c"]).data], declared: [5, 7])),
            ("dense union", Make.union(.dense, typeIds: [0, 1, 0], offsets: [0, 0, 1], children: [Int32Array([1, 2]).data, StringArray(["a"]).data], declared: [0, 1])),
            ("empty utf8 without offsets", ArrayData(uncheckedType: .utf8, length: 0, buffers: [.empty, .empty, .empty])),
        ]
    }()

    @Test(arguments: validArrays.map(\.0))
    func validDataPasses(name: String) throws {
        let data = try #require(Self.validArrays.first { $0.0 == name }?.1)
        try data.validate(full: false)
        try data.validate(full: true)
    }

    // MARK: Header and buffers

    @Test func rejectsBadHeader() {
        var data = Make.int32([1, 2, 3])
        data.length = -1
        expectInvalid(data, "negative length")
        data = Make.int32([1, 2, 3])
        data.nullCount = 4
        expectInvalid(data, "exceeds length")
        data = Make.int32([1, 2, 3])
        data.nullCount = 1
        expectInvalid(data, "no validity bitmap")
        data = Make.int32([1, 2, 3])
        data.buffers.append(.empty)
        expectInvalid(data, "3 buffers")
        data = Make.int32([1, 2, 3])
        data.children = [Make.int32([1])]
        expectInvalid(data, "1 children")
        data = Make.int32([1, 2, 3])
        data.dictionary = Make.int32([1])
        expectInvalid(data, "carries a dictionary")
    }

    @Test func rejectsShortBuffers() {
        expectInvalid(Make.int32([1, 2, 3], length: 4), "needs 16")
        expectInvalid(Make.int32([1, 2, 3], offset: 2, length: 2), "needs 16")
        // 9 slots need 2 validity bytes.
        expectInvalid(Make.int32(Array(repeating: 1, count: 9), validity: [0xFE], nullCount: 1), "needs 2")
        expectInvalid(Make.utf8(offsets: [0, 1], data: Make.bytes("a"), type: .utf8).with { $0.length = 2 }, "needs 12")
        var bits = BooleanArray([true, false]).data
        bits.length = 9
        expectInvalid(bits, "needs 2")
    }

    @Test func rejectsHostileSizes() {
        var data = Make.int32([1])
        data.length = Int.max
        data.offset = 1
        expectInvalid(data, "overflows")
        data.offset = 0
        expectInvalid(data, "overflow")  // Int.max × 4 bytes
        data.length = Int.max / 2
        expectInvalid(data, "overflow")
        // With a validity bitmap: its byte count is worked out without overflowing (this
        // used to trap), and the one byte given is far too few.
        var withBitmap = Make.int32([1], validity: [0x01])
        withBitmap.length = Int.max
        expectInvalid(withBitmap, "needs 1152921504606846976")
        var strings = StringArray(["a"]).data
        strings.length = Int.max - 1
        expectInvalid(strings, "overflow")
        var fixed = ArrayData(
            uncheckedType: .fixedSizeList(Field("item", .int32), listSize: Int.max / 2), length: 3,
            buffers: [.empty], children: [Make.int32([1])])
        expectInvalid(fixed, "overflow")
        fixed.type = .fixedSizeList(Field("item", .int32), listSize: -1)
        expectInvalid(fixed, "negative")
        let wide = ArrayData(uncheckedType: .fixedSizeBinary(byteWidth: Int.max), length: 2, buffers: [.empty, .empty])
        expectInvalid(wide, "overflow")
    }

    @Test func rejectsBadTypeParameters() {
        expectInvalid(
            ArrayData(uncheckedType: .decimal(bitWidth: 100, precision: 5, scale: 0), length: 0, buffers: [.empty, .empty]), "bit width 100")
        expectInvalid(ArrayData(uncheckedType: .fixedSizeBinary(byteWidth: -3), length: 0, buffers: [.empty, .empty]), "negative")
    }

    @Test func rejectsMisalignedBuffers() throws {
        let raw = Buffer(copyingValues: [Int32](repeating: 7, count: 5))
        let data = ArrayData(uncheckedType: .int32, length: 2, buffers: [.empty, try raw.slice(offset: 2, count: 8)])
        expectInvalid(data, "not aligned")
    }

    @Test func checksNullCountAgainstBitmap() throws {
        // Bitmap 0b101: slot 1 null, but the declared count says 2.
        let data = Make.int32([1, 2, 3], validity: [0b101], nullCount: 2)
        try data.validate(full: false)
        expectInvalid(data, "bitmap has 1 nulls")
    }

    // MARK: Offsets and utf8

    @Test func rejectsBadOffsets() throws {
        let text = Make.bytes("abcdef")
        expectInvalid(Make.utf8(offsets: [0, 2, 9], data: text), full: false, "outside the 6 data bytes")
        expectInvalid(Make.utf8(offsets: [-1, 2, 3], data: text), full: false, "outside")
        expectInvalid(Make.utf8(offsets: [3, 2, 2], data: text), full: false, "outside")
        // Decreasing in the middle: only full validation sees it.
        let middle = Make.utf8(offsets: [0, 4, 2, 6], data: text)
        try middle.validate(full: false)
        expectInvalid(middle, "offset 2 (2) is less than the one before (4)")
        // 64-bit offsets near Int64.max.
        let large = ArrayData(
            uncheckedType: .largeBinary, length: 1, buffers: [.empty, Make.buffer([Int64(0), Int64.max]), text])
        expectInvalid(large, full: false, "outside")
        let negative = ArrayData(
            uncheckedType: .largeBinary, length: 1, buffers: [.empty, Make.buffer([Int64.min, Int64(2)]), text])
        expectInvalid(negative, full: false, "outside")
        // List offsets beyond the child.
        expectInvalid(Make.list([0, 2, 4], child: Make.int32([1, 2, 3])), full: false, "outside the 3 child slots")
        expectInvalid(Make.list([0, 2, 1, 3], child: Make.int32([1, 2, 3])), "less than")
    }

    @Test func findsADecreaseAnywhereInLongOffsets() throws {
        // The check runs 64 offsets per step: every position and the tail must be seen.
        for count in [2, 63, 64, 65, 130, 200] {
            let rising = (0..<count).map { Int32($0 * 2) }
            let bytes = Buffer(copying: [UInt8](repeating: 0x61, count: count * 2))
            try Make.utf8(offsets: rising, data: bytes).validate()
            for position in 1..<count {
                var offsets = rising
                offsets[position] = offsets[position - 1] - 1
                guard position + 1 < count else { continue }  // the last one would be out of range
                expectInvalid(Make.utf8(offsets: offsets, data: bytes), "offset \(position) (")
                let wide = ArrayData(
                    uncheckedType: .largeBinary, length: count - 1, buffers: [.empty, Make.buffer(offsets.map(Int64.init)), bytes])
                expectInvalid(wide, "offset \(position) (")
            }
        }
    }

    @Test func findsANonASCIIByteAnywhere() throws {
        // ASCII is checked 64 bytes per step before the decoder runs: a high byte at any
        // position, in the vector part or the tail, must reach the decoder.
        for count in [1, 63, 64, 65, 150] {
            for position in 0..<count {
                var bytes = [UInt8](repeating: 0x61, count: count)
                bytes[position] = 0xFF
                expectInvalid(Make.utf8(offsets: [0, Int32(count)], data: Buffer(copying: bytes)), "not valid UTF-8")
            }
        }
    }

    @Test func rejectsInvalidUTF8() throws {
        for bad: [UInt8] in [[0xFF], [0xC0, 0x80], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0x80]] {
            let data = Make.utf8(offsets: [0, 1, Int32(1 + bad.count)], data: Buffer(copying: [0x61] + bad))
            try data.validate(full: false)
            expectInvalid(data, "slot 1 is not valid UTF-8")
            var binary = data
            binary.type = .binary
            try binary.validate()
        }
        // A character split across two values is invalid even though the bytes together are fine.
        let euro = Array("€".utf8)
        expectInvalid(Make.utf8(offsets: [0, 1, 3], data: Buffer(copying: euro)), "slot 0 is not valid UTF-8")
        // Bytes under a null slot are not checked (as in Arrow C++).
        try Make.utf8(offsets: [0, 1, 2], data: Buffer(copying: [0xFF, 0x61]), validity: [0b10], nullCount: 1).validate()
        // Large strings too.
        let large = ArrayData(uncheckedType: .largeUtf8, length: 1, buffers: [.empty, Make.buffer([Int64(0), 1]), Buffer(copying: [0xFF])])
        expectInvalid(large, "not valid UTF-8")
    }

    // MARK: Views

    @Test func rejectsBadViews() throws {
        let long = Array("0123456789abcdefgh".utf8)
        let data = Buffer(copying: long)
        try Make.stringView([Make.view(long)], data: [data]).validate()
        expectInvalid(Make.stringView([Make.view(long, buffer: 1)], data: [data]), "names data buffer 1 of 1")
        expectInvalid(Make.stringView([Make.view(long, buffer: -1)], data: [data]), "names data buffer -1")
        expectInvalid(Make.stringView([Make.view(long, offset: 4)], data: [data]), "outside data buffer 0")
        expectInvalid(Make.stringView([Make.view(long, offset: Int32.max)], data: [data]), "outside data buffer 0")
        expectInvalid(Make.stringView([Make.view(long, prefix: Array("xxxx".utf8))], data: [data]), "prefix")
        expectInvalid(Make.stringView([Make.view([0x61, 0xFF])], data: []), "not valid UTF-8")
        expectInvalid(Make.stringView([Make.view([0xFF] + long.dropFirst(), prefix: [0xFF] + long[1..<4])], data: [Buffer(copying: [0xFF] + long.dropFirst())]), "not valid UTF-8")
        try Make.stringView([Make.view([0x61, 0xFF])], data: [], type: .binaryView).validate()
        var negative = Make.view([0x61])
        negative.replaceSubrange(0..<4, with: withUnsafeBytes(of: Int32(-5).littleEndian) { Array($0) })
        expectInvalid(Make.stringView([negative], data: []), "negative length")
        expectInvalid(ArrayData(uncheckedType: .utf8View, length: 2, buffers: [.empty, Buffer(copying: Make.view([1]))]), full: false, "needs 32")
    }

    // MARK: Dictionaries

    @Test func rejectsBadDictionaries() throws {
        let values = StringArray(["a", "b"]).data
        expectInvalid(Make.dictionary(indices: Int8Array([0, 2]).data, dictionary: values), "index 2 at slot 1")
        expectInvalid(Make.dictionary(indices: Int32Array([-1]).data, dictionary: values), "index -1")
        expectInvalid(Make.dictionary(indices: UInt64Array([UInt64.max]).data, dictionary: values), "outside the 2")
        expectInvalid(Make.dictionary(indices: UInt8Array([1, 200]).data, dictionary: values), "index 200")
        // Out-of-range index under a null slot is fine.
        try Make.dictionary(indices: Int16Array([1, nil]).data.withValue(99, at: 1), dictionary: values).validate()
        var missing = Make.dictionary(indices: Int8Array([0]).data, dictionary: values)
        missing.dictionary = nil
        expectInvalid(missing, "no dictionary")
        var wrongType = Make.dictionary(indices: Int8Array([0]).data, dictionary: values)
        wrongType.type = .dictionary(index: .int8, value: .int32, ordered: false)
        expectInvalid(wrongType, "dictionary has type string")
        var floatIndex = Make.dictionary(indices: Float32Array([0]).data, dictionary: values)
        floatIndex.type = .dictionary(index: .float32, value: .utf8, ordered: false)
        expectInvalid(floatIndex, "not an integer type")
        // Corruption inside the dictionary is found too, with context.
        let badDictionary = Make.utf8(offsets: [0, 1], data: Buffer(copying: [0xFF]))
        expectInvalid(Make.dictionary(indices: Int8Array([0]).data, dictionary: badDictionary), "dictionary")
    }

    // MARK: Unions

    @Test func rejectsBadUnions() throws {
        let ints = Int32Array([1, 2, 3]).data
        let strings = StringArray(["a", "b", "c"]).data
        expectInvalid(Make.union(.sparse, typeIds: [5, 6, 7], children: [ints, strings], declared: [5, 7]), "type id 6 at slot 1")
        expectInvalid(Make.union(.sparse, typeIds: [5, -1, 7], children: [ints, strings], declared: [5, 7]), "type id -1")
        expectInvalid(Make.union(.sparse, typeIds: [5, 7, 5, 5], children: [ints, strings], declared: [5, 7]), full: false, "child 0 has 3 slots, needs 4")
        expectInvalid(Make.union(.dense, typeIds: [0, 1], offsets: [0, 3], children: [ints, strings], declared: [0, 1]), "offset 3 at slot 1")
        expectInvalid(Make.union(.dense, typeIds: [0, 1], offsets: [-2, 0], children: [ints, strings], declared: [0, 1]), "offset -2")
        expectInvalid(Make.union(.dense, typeIds: [0, 1], offsets: [0], children: [ints, strings], declared: [0, 1]), full: false, "needs 8")
        expectInvalid(Make.union(.sparse, typeIds: [0], children: [ints, strings], declared: [0]), full: false, "1 type ids for 2 children")
        expectInvalid(Make.union(.sparse, typeIds: [0], children: [ints, strings], declared: [3, 3]), full: false, "not distinct")
        var withNulls = Make.union(.sparse, typeIds: [5, 7, 5], children: [ints, strings], declared: [5, 7])
        withNulls.nullCount = 1
        expectInvalid(withNulls, "no validity")
    }

    // MARK: Run-end encoding

    @Test func rejectsBadRunEnds() throws {
        let values = StringArray(["a", "b", "c"]).data
        expectInvalid(Make.ree(runEnds: Int32Array([2, 2, 5]).data, values: values, length: 5), "not greater than 2")
        expectInvalid(Make.ree(runEnds: Int32Array([0, 2, 5]).data, values: values, length: 5), "run end 0")
        expectInvalid(Make.ree(runEnds: Int32Array([-3, 2, 5]).data, values: values, length: 5), "run end -3")
        // The last run must cover offset + length, even in cheap validation.
        expectInvalid(Make.ree(runEnds: Int32Array([1, 2, 4]).data, values: values, length: 5), full: false, "below offset + length 5")
        expectInvalid(Make.ree(runEnds: Int32Array([1, 2, 4]).data, values: values, length: 3, offset: 2), full: false, "below")
        try Make.ree(runEnds: Int32Array([1, 2, 5]).data, values: values, length: 3, offset: 2).validate()
        expectInvalid(Make.ree(runEnds: Int32Array([1, nil, 5]).data, values: values, length: 5), full: false, "run ends contain 1 nulls")
        expectInvalid(Make.ree(runEnds: Int8Array([1, 2, 5]).data, values: values, length: 5), full: false, "int16, int32 or int64")
        expectInvalid(Make.ree(runEnds: Int32Array([1, 2, 5, 6]).data, values: values, length: 5), full: false, "only 3 values")
        expectInvalid(Make.ree(runEnds: Int32Array([]).data, values: values, length: 5), full: false, "has no runs")
        expectInvalid(Make.ree(runEnds: Int64Array([1, Int64.max, 3]).data, values: values, length: 2), "not greater than")
    }

    // MARK: Nested

    @Test func rejectsBadChildren() throws {
        let child = Make.int32([1, 2, 3])
        var list = Make.list([0, 1, 3], child: child)
        list.children[0].type = .int64
        expectInvalid(list, full: false, "child 0 ('item') has type int64")
        list = Make.list([0, 1, 3], child: child)
        list.children = []
        expectInvalid(list, full: false, "0 children")
        let structType = DataType.struct([Field("a", .int32), Field("b", .int32)])
        let shortStruct = ArrayData(uncheckedType: structType, length: 3, buffers: [.empty], children: [child, Make.int32([1, 2])])
        expectInvalid(shortStruct, full: false, "child 1 has 2 slots, needs 3")
        let fixed = ArrayData(uncheckedType: .fixedSizeList(Field("item", .int32), listSize: 2), length: 2, buffers: [.empty], children: [child])
        expectInvalid(fixed, full: false, "needs 4")
        // Corruption deep inside a child is reported with its path.
        let badChild = Make.utf8(offsets: [0, 1], data: Buffer(copying: [0xFF]))
        let nested = ArrayData(
            uncheckedType: .struct([Field("name", .utf8)]), length: 1, buffers: [.empty], children: [badChild])
        do {
            try nested.validate()
            Issue.record("accepted")
        } catch let error as QuiverError {
            #expect(error.context == ["child 0 ('name')"])
        }
    }

    @Test func rejectsBadListViews() throws {
        let child = Make.int32([1, 2, 3])
        func listView(_ offsets: [Int32], _ sizes: [Int32]) -> ArrayData {
            ArrayData(
                uncheckedType: .listView(Field("item", .int32)), length: offsets.count,
                buffers: [.empty, Make.buffer(offsets), Make.buffer(sizes)], children: [child])
        }
        try listView([2, 0, 1], [1, 3, 0]).validate()
        expectInvalid(listView([2, 0], [2, 1]), "list view 0 (offset 2, size 2)")
        expectInvalid(listView([0, -1], [1, 1]), "offset -1")
        expectInvalid(listView([0, 1], [1, -1]), "size -1")
        expectInvalid(listView([Int32.max, 0], [Int32.max, 0]), "outside")
        expectInvalid(listView([0], [1]).with { $0.length = 2 }, full: false, "needs 8")
    }

    @Test func rejectsBadMaps() throws {
        let map = try MapBuilder(keyType: .utf8, valueType: .int32)
        try map.append(value: .map([(.string("a"), .int(1))]))
        var data = map.finish()
        try data.validate()
        // A null key.
        data.children[0].children[0] = StringArray([nil]).data
        expectInvalid(data, "map keys contain 1 nulls")
        // Entries that are not a key/value struct.
        let entries = Field("entries", .struct([Field("key", .utf8, nullable: false)]), nullable: false)
        let bad = ArrayData(
            uncheckedType: .map(entries: entries, keysSorted: false), length: 1, buffers: [.empty, Make.buffer([Int32(0), 1])],
            children: [ArrayData(uncheckedType: entries.type, length: 1, buffers: [.empty], children: [StringArray(["k"]).data])])
        expectInvalid(bad, full: false, "struct of key and value")
    }

    @Test func capsNestingDepth() throws {
        var data = Make.int32([1])
        for _ in 0..<70 { data = Make.list([0, 1], child: data) }
        expectInvalid(data, full: false, "deeper than 64")
        var shallow = Make.int32([1])
        for _ in 0..<10 { shallow = Make.list([0, 1], child: shallow) }
        try shallow.validate()
    }

    @Test func typedInitializersValidateCheaply() {
        #expect(throws: QuiverError.self) { try Int32Array(Make.int32([1, 2, 3], length: 4)) }
        #expect(throws: QuiverError.self) { try StringArray(Make.utf8(offsets: [0, 9], data: Make.bytes("a"))) }
    }
}

extension ArrayData {
    /// A copy changed by `body` (tests build corrupt variants of valid data).
    func with(_ body: (inout ArrayData) -> Void) -> ArrayData {
        var copy = self
        body(&copy)
        return copy
    }

    /// A copy of a 16-bit integer array with the raw value of slot `index` replaced.
    func withValue(_ value: Int16, at index: Int) -> ArrayData {
        var values = Array(buffers[1].typed(as: Int16.self))
        values[offset + index] = value
        var copy = self
        copy.buffers[1] = Buffer(copyingValues: values)
        return copy
    }
}
