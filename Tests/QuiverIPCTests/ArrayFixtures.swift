import QuiverArrow
import QuiverBytes

/// Hand-built arrays of every layout, and a renderer that reads slots straight from the
/// buffers (independently of the code under test) to compare values.
enum Fixtures {
    // MARK: Builders

    static func bitmap(_ bits: [Bool]) -> Buffer {
        var bytes = [UInt8](repeating: 0, count: (bits.count + 7) / 8)
        for (index, bit) in bits.enumerated() where bit { bytes[index / 8] |= 1 << UInt8(index % 8) }
        return Buffer(copying: bytes)
    }

    /// A validity bitmap and null count (no bitmap when every slot is valid).
    static func validity(_ valid: [Bool]) -> (Buffer, Int) {
        let nulls = valid.filter { !$0 }.count
        return (nulls == 0 ? .empty : bitmap(valid), nulls)
    }

    static func fixed<T: BitwiseCopyable>(_ type: DataType, _ values: [T?], zero: T) -> ArrayData {
        let (bits, nulls) = validity(values.map { $0 != nil })
        return ArrayData(
            uncheckedType: type, length: values.count, nullCount: nulls,
            buffers: [bits, Buffer(copyingValues: values.map { $0 ?? zero })])
    }

    static func int32(_ values: [Int32?]) -> ArrayData { fixed(.int32, values, zero: 0) }

    /// Small decimals (so they fit any precision), sign-extended to `width` bytes.
    static func decimal(_ type: DataType, width: Int, count: Int, nullEvery: Int) -> ArrayData {
        let valid = (0..<count).map { $0 % nullEvery != 1 }
        let (bits, nulls) = validity(valid)
        var bytes: [UInt8] = []
        for slot in 0..<count {
            let value = Int64(slot * 37 - 100)
            withUnsafeBytes(of: value.littleEndian) { bytes += $0.prefix(min(width, 8)) }
            if width > 8 { bytes += [UInt8](repeating: value < 0 ? 0xFF : 0, count: width - 8) }
        }
        return ArrayData(uncheckedType: type, length: count, nullCount: nulls, buffers: [bits, Buffer(copying: bytes)])
    }

    static func bool(_ values: [Bool?]) -> ArrayData {
        let (bits, nulls) = validity(values.map { $0 != nil })
        return ArrayData(
            uncheckedType: .boolean, length: values.count, nullCount: nulls, buffers: [bits, bitmap(values.map { $0 ?? false })])
    }

    /// Bytes of width `width` per slot, derived from the slot index.
    static func bytesPerSlot(_ type: DataType, width: Int, count: Int, nullEvery: Int) -> ArrayData {
        let valid = (0..<count).map { $0 % nullEvery != 1 }
        let (bits, nulls) = validity(valid)
        let bytes = (0..<count * width).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        return ArrayData(uncheckedType: type, length: count, nullCount: nulls, buffers: [bits, Buffer(copying: bytes)])
    }

    static func binary(_ type: DataType, _ values: [String?]) -> ArrayData {
        let (bits, nulls) = validity(values.map { $0 != nil })
        var offsets: [Int] = [0]
        var data: [UInt8] = []
        for value in values {
            data += Array((value ?? "").utf8)
            offsets.append(data.count)
        }
        let large = type == .largeUtf8 || type == .largeBinary
        let offsetBuffer = large ? Buffer(copyingValues: offsets.map { Int64($0) }) : Buffer(copyingValues: offsets.map { Int32($0) })
        return ArrayData(
            uncheckedType: type, length: values.count, nullCount: nulls, buffers: [bits, offsetBuffer, Buffer(copying: data)])
    }

    /// Views; long strings go alternately to two variadic data buffers.
    static func view(_ type: DataType, _ values: [String?]) -> ArrayData {
        let (bits, nulls) = validity(values.map { $0 != nil })
        var views: [UInt8] = []
        var data: [[UInt8]] = [[], []]
        for (index, value) in values.enumerated() {
            let bytes = Array((value ?? "").utf8)
            var view = [UInt8](repeating: 0, count: 16)
            withUnsafeBytes(of: Int32(bytes.count).littleEndian) { view.replaceSubrange(0..<4, with: $0) }
            if bytes.count <= 12 {
                view.replaceSubrange(4..<(4 + bytes.count), with: bytes)
            } else {
                let target = index % 2
                view.replaceSubrange(4..<8, with: bytes[0..<4])
                withUnsafeBytes(of: Int32(target).littleEndian) { view.replaceSubrange(8..<12, with: $0) }
                withUnsafeBytes(of: Int32(data[target].count).littleEndian) { view.replaceSubrange(12..<16, with: $0) }
                data[target] += bytes
            }
            views += view
        }
        return ArrayData(
            uncheckedType: type, length: values.count, nullCount: nulls,
            buffers: [bits, Buffer(copying: views), Buffer(copying: data[0]), Buffer(copying: data[1])])
    }

    static func list(_ type: DataType, _ child: ArrayData, offsets: [Int], valid: [Bool]) -> ArrayData {
        let (bits, nulls) = validity(valid)
        let large: Bool
        if case .largeList = type { large = true } else { large = false }
        let buffer = large ? Buffer(copyingValues: offsets.map { Int64($0) }) : Buffer(copyingValues: offsets.map { Int32($0) })
        return ArrayData(uncheckedType: type, length: valid.count, nullCount: nulls, buffers: [bits, buffer], children: [child])
    }

    static func listView(_ type: DataType, _ child: ArrayData, offsets: [Int], sizes: [Int], valid: [Bool]) -> ArrayData {
        let (bits, nulls) = validity(valid)
        let large: Bool
        if case .largeListView = type { large = true } else { large = false }
        func buffer(_ values: [Int]) -> Buffer {
            large ? Buffer(copyingValues: values.map { Int64($0) }) : Buffer(copyingValues: values.map { Int32($0) })
        }
        return ArrayData(
            uncheckedType: type, length: valid.count, nullCount: nulls, buffers: [bits, buffer(offsets), buffer(sizes)],
            children: [child])
    }

    static func strings(_ count: Int, nullEvery: Int = 4) -> [String?] {
        (0..<count).map { $0 % nullEvery == 2 ? nil : String(repeating: "s\($0)", count: $0 % 5) }
    }

    static func ints(_ count: Int, nullEvery: Int = 3) -> [Int32?] {
        (0..<count).map { $0 % nullEvery == 1 ? nil : Int32($0 * 7 - 20) }
    }

    // MARK: Cases

    /// A named array of each layout, at least 20 slots long, with nulls.
    static var all: [(name: String, field: Field, data: ArrayData)] {
        let n = 23
        var cases: [(String, Field, ArrayData)] = []
        func add(_ name: String, _ data: ArrayData, dictionaryId: Int64? = nil) {
            cases.append((name, Field(name, data.type, dictionaryId: dictionaryId), data))
        }
        add("null", ArrayData(uncheckedType: .null, length: n, nullCount: n, buffers: []))
        add("bool", bool((0..<n).map { $0 % 3 == 0 ? nil : $0 % 2 == 0 }))
        add("int8", fixed(.int8, (0..<n).map { $0 % 4 == 1 ? nil : Int8($0) - 10 }, zero: 0))
        add("int16", fixed(.int16, (0..<n).map { $0 % 4 == 1 ? nil : Int16($0 * 300) }, zero: 0))
        add("int32", int32(ints(n)))
        add("int64", fixed(.int64, (0..<n).map { $0 % 5 == 1 ? nil : Int64($0) << 40 }, zero: 0))
        add("uint8", fixed(.uint8, (0..<n).map { UInt8($0 * 11) }, zero: 0))
        add("uint16", fixed(.uint16, (0..<n).map { $0 == 7 ? nil : UInt16($0 * 999) }, zero: 0))
        add("uint32", fixed(.uint32, (0..<n).map { UInt32($0) &* 0x9E37_79B9 }, zero: 0))
        add("uint64", fixed(.uint64, (0..<n).map { $0 % 2 == 0 ? nil : UInt64($0) << 60 }, zero: 0))
        add("float16", fixed(.float16, (0..<n).map { UInt16($0 * 1000) }, zero: 0))
        add("float32", fixed(.float32, (0..<n).map { $0 % 3 == 0 ? nil : Float($0) / 3 }, zero: 0))
        add("float64", fixed(.float64, (0..<n).map { $0 % 3 == 2 ? nil : Double($0) * 1.5 }, zero: 0))
        add("date32", fixed(.date32, (0..<n).map { Int32($0 * 365) }, zero: 0))
        add("date64", fixed(.date64, (0..<n).map { Int64($0) * 86_400_000 }, zero: 0))
        add("time32", fixed(.time32(.millisecond), (0..<n).map { $0 % 3 == 1 ? nil : Int32($0 * 1000) }, zero: 0))
        add("time64", fixed(.time64(.nanosecond), (0..<n).map { Int64($0) * 1_000_000 }, zero: 0))
        add("timestamp", fixed(.timestamp(.microsecond, timezone: "UTC"), (0..<n).map { $0 == 0 ? nil : Int64($0) }, zero: 0))
        add("duration", fixed(.duration(.second), (0..<n).map { Int64(-$0) }, zero: 0))
        add("decimal32", decimal(.decimal(bitWidth: 32, precision: 9, scale: 2), width: 4, count: n, nullEvery: 4))
        add("decimal64", decimal(.decimal(bitWidth: 64, precision: 18, scale: 2), width: 8, count: n, nullEvery: 4))
        add("decimal128", decimal(.decimal(bitWidth: 128, precision: 38, scale: 5), width: 16, count: n, nullEvery: 3))
        add("decimal256", decimal(.decimal(bitWidth: 256, precision: 76, scale: 5), width: 32, count: n, nullEvery: 5))
        add("interval_ym", bytesPerSlot(.interval(.yearMonth), width: 4, count: n, nullEvery: 4))
        add("interval_dt", bytesPerSlot(.interval(.dayTime), width: 8, count: n, nullEvery: 4))
        add("interval_mdn", bytesPerSlot(.interval(.monthDayNano), width: 16, count: n, nullEvery: 4))
        add("fixed_size_binary", bytesPerSlot(.fixedSizeBinary(byteWidth: 3), width: 3, count: n, nullEvery: 6))
        add("utf8", binary(.utf8, strings(n)))
        add("binary", binary(.binary, strings(n, nullEvery: 5)))
        add("large_utf8", binary(.largeUtf8, strings(n)))
        add("large_binary", binary(.largeBinary, strings(n, nullEvery: 7)))
        let viewStrings = (0..<n).map { $0 % 6 == 3 ? nil : String(repeating: "view\($0)-", count: $0 % 4) }
        add("utf8_view", view(.utf8View, viewStrings))
        add("binary_view", view(.binaryView, viewStrings.reversed()))

        // Nested.
        let childInts = int32(ints(60, nullEvery: 5))
        let itemField = Field("item", .int32)
        var listOffsets = [0]
        for index in 0..<n { listOffsets.append(listOffsets.last! + index % 4) }
        let listValid = (0..<n).map { $0 % 5 != 3 }
        add("list", list(.list(itemField), childInts, offsets: listOffsets, valid: listValid))
        add("large_list", list(.largeList(itemField), childInts, offsets: listOffsets.map { $0 + 2 }, valid: listValid))
        let viewOffsets = (0..<n).map { (index: Int) in (index * 7) % 50 }
        let viewSizes = (0..<n).map { (index: Int) in index % 5 == 0 ? 0 : index % 6 }
        add("list_view", listView(.listView(itemField), childInts, offsets: viewOffsets, sizes: viewSizes, valid: listValid))
        add("large_list_view",
            listView(.largeListView(itemField), childInts, offsets: viewOffsets, sizes: viewSizes, valid: listValid))
        let fslChild = int32(ints(n * 2 + 4))
        let (fslBits, fslNulls) = validity(listValid)
        add("fixed_size_list",
            ArrayData(uncheckedType: .fixedSizeList(itemField, listSize: 2), length: n, nullCount: fslNulls, buffers: [fslBits],
                      children: [fslChild]))
        let structFields = [Field("a", .int32), Field("b", .utf8), Field("c", .boolean)]
        let structValid = (0..<n).map { $0 % 7 != 4 }
        let (structBits, structNulls) = validity(structValid)
        let structArray = ArrayData(
            uncheckedType: .struct(structFields), length: n, nullCount: structNulls, buffers: [structBits],
            children: [int32(ints(n)), binary(.utf8, strings(n)), bool((0..<n).map { $0 % 2 == 0 })])
        add("struct", structArray)
        // Struct children longer than the parent, addressed through the parent's offset.
        add("struct_offset_children",
            ArrayData(uncheckedType: .struct([Field("a", .int32)]), length: n, offset: 3, buffers: [.empty],
                      children: [int32(ints(n + 3))]))
        let entriesType = DataType.struct([Field("key", .utf8, nullable: false), Field("value", .int32)])
        let entries = ArrayData(
            uncheckedType: entriesType, length: 60, buffers: [.empty],
            children: [binary(.utf8, (0..<60).map { "k\($0)" }), int32(ints(60))])
        add("map", list(.map(entries: Field("entries", entriesType, nullable: false), keysSorted: false), entries,
                        offsets: listOffsets, valid: listValid))
        let unionFields = [Field("i", .int32), Field("s", .utf8), Field("b", .boolean)]
        let unionIds: [Int8] = [5, 2, 9]
        let slotIds = (0..<n).map { unionIds[$0 % 3] }
        add("sparse_union",
            ArrayData(uncheckedType: .union(.sparse, fields: unionFields, typeIds: unionIds), length: n,
                      buffers: [Buffer(copyingValues: slotIds)],
                      children: [int32(ints(n)), binary(.utf8, strings(n)), bool((0..<n).map { $0 % 4 == 0 })]))
        var counters = [0, 0, 0]
        var denseOffsets: [Int32] = []
        for slot in 0..<n {
            denseOffsets.append(Int32(counters[slot % 3] * 2))  // every other child slot
            counters[slot % 3] += 1
        }
        add("dense_union",
            ArrayData(uncheckedType: .union(.dense, fields: unionFields, typeIds: unionIds), length: n,
                      buffers: [Buffer(copyingValues: slotIds), Buffer(copyingValues: denseOffsets)],
                      children: [int32(ints(20)), binary(.utf8, strings(20)), bool((0..<20).map { $0 % 3 == 0 })]))
        let dictionaryValues = binary(.utf8, ["alpha", "beta", nil, "delta", "epsilon", "zeta"])
        var indices = fixed(.int32, (0..<n).map { $0 % 4 == 3 ? nil : Int32($0 % 6) }, zero: 0)
        indices.type = .dictionary(index: .int32, value: .utf8, ordered: false)
        indices.dictionary = dictionaryValues
        add("dictionary", indices, dictionaryId: 0)
        let runEnds: [Int32] = [3, 4, 9, 10, 15, 20, 23]
        let runEndsField = Field("run_ends", .int32, nullable: false)
        let runValues = binary(.utf8, ["r0", nil, "r2", "r3", "", "r5", "r6"])
        add("run_end_encoded",
            ArrayData(uncheckedType: .runEndEncoded(runEnds: runEndsField, values: Field("values", .utf8)), length: n,
                      buffers: [], children: [ArrayData(uncheckedType: .int32, length: 7, buffers: [.empty, Buffer(copyingValues: runEnds)]), runValues]))
        var uuid = bytesPerSlot(.fixedSizeBinary(byteWidth: 16), width: 16, count: n, nullEvery: 4)
        uuid.type = .extension(name: "arrow.uuid", metadata: "", storage: .fixedSizeBinary(byteWidth: 16))
        add("extension", uuid)
        // Deeper nesting: list<struct<list<utf8>, int32>>.
        let innerList = list(.list(Field("item", .utf8)), binary(.utf8, strings(40)),
                             offsets: (0...30).map { $0 * 40 / 30 }, valid: (0..<30).map { $0 % 9 != 0 })
        let innerStruct = ArrayData(
            uncheckedType: .struct([Field("l", innerList.type), Field("i", .int32)]), length: 30, buffers: [.empty],
            children: [innerList, int32(ints(30))])
        add("list_of_struct", list(.list(Field("item", innerStruct.type)), innerStruct,
                                   offsets: (0...n).map { min($0 * 30 / n + $0 % 2, 30) }, valid: listValid))
        return cases
    }
}

/// Renders each slot of an array as text, reading buffers directly: the test oracle.
enum Render {
    static func slots(_ a: ArrayData) -> [String] {
        (0..<a.length).map { slot(a, $0) }
    }

    static func load<T: FixedWidthInteger>(_ buffer: Buffer, _ index: Int, as: T.Type) -> Int {
        Int(T(littleEndian: buffer.baseAddress.loadUnaligned(fromByteOffset: index * MemoryLayout<T>.size, as: T.self)))
    }

    static func bytes(_ buffer: Buffer, _ start: Int, _ count: Int) -> String {
        (0..<count).map { String(buffer.baseAddress.load(fromByteOffset: start + $0, as: UInt8.self), radix: 16) }
            .joined(separator: ".")
    }

    static func slot(_ a: ArrayData, _ i: Int) -> String {
        let storage = a.type.storageType
        let position = a.offset + i
        if case .null = storage { return "null" }
        if storage.layout.first == .validity, a.isNull(i) { return "null" }
        func offset(_ index: Int, _ buffer: Int = 1) -> Int {
            switch storage.layout[buffer] {
            case .offsets64, .sizes64: return load(a.buffers[buffer], index, as: Int64.self)
            default: return load(a.buffers[buffer], index, as: Int32.self)
            }
        }
        func range(_ child: ArrayData, _ start: Int, _ end: Int) -> String {
            "[" + (start..<end).map { slot(child, $0) }.joined(separator: ",") + "]"
        }
        switch storage {
        case .boolean: return BitUtil.get(a.buffers[1].baseAddress, position) ? "true" : "false"
        case .binary, .utf8, .largeBinary, .largeUtf8:
            let start = offset(position), end = offset(position + 1)
            return "'" + bytes(a.buffers[2], start, end - start) + "'"
        case .binaryView, .utf8View:
            let length = load(a.buffers[1], position * 4, as: Int32.self)
            if length <= 12 { return "'" + bytes(a.buffers[1], position * 16 + 4, length) + "'" }
            let buffer = load(a.buffers[1], position * 4 + 2, as: Int32.self)
            let start = load(a.buffers[1], position * 4 + 3, as: Int32.self)
            return "'" + bytes(a.buffers[2 + buffer], start, length) + "'"
        case .list, .largeList, .map:
            return range(a.children[0], offset(position), offset(position + 1))
        case .listView, .largeListView:
            let start = offset(position)
            return range(a.children[0], start, start + offset(position, 2))
        case .fixedSizeList(_, let size):
            return range(a.children[0], position * size, position * size + size)
        case .struct:
            return "{" + a.children.map { slot($0, position) }.joined(separator: ",") + "}"
        case .union(let mode, _, let typeIds):
            let id = Int8(load(a.buffers[0], position, as: Int8.self))
            let child = typeIds.firstIndex(of: id)!
            let index = mode == .sparse ? position : load(a.buffers[1], position, as: Int32.self)
            return "\(id):" + slot(a.children[child], index)
        case .dictionary(let index, _, _):
            let key: Int
            switch index {
            case .int8: key = load(a.buffers[1], position, as: Int8.self)
            case .int16: key = load(a.buffers[1], position, as: Int16.self)
            case .int64: key = load(a.buffers[1], position, as: Int64.self)
            default: key = load(a.buffers[1], position, as: Int32.self)
            }
            return "#" + slot(a.dictionary!, key)
        case .runEndEncoded:
            let ends = a.children[0]
            var run = 0
            while load(ends.buffers[1], ends.offset + run, as: Int32.self) <= position { run += 1 }
            return slot(a.children[1], run)
        default:
            let width = storage.fixedByteWidth!
            return bytes(a.buffers[1], position * width, width)
        }
    }
}
