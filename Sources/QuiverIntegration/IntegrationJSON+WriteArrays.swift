import QuiverArrow
import QuiverBytes
import QuiverIPC

// ArrayData → FieldData JSON, the inverse of IntegrationArrayReader. Slices are written as
// the values they show: offsets are rebased to start at 0, struct / fixed-size-list /
// sparse-union children are cut to the parent's rows, list children to the offsets' range,
// and run-end encoded arrays are written as their logical runs. Null slots are written as
// zero values (and empty strings), as Arrow C++ does.

struct IntegrationArrayWriter {
    func columnJSON(name: String, array: ArrayData, field: Field) throws -> JSONValue {
        let storage = field.type.storageType
        guard array.type.storageType.layout == storage.layout, array.children.count == storage.children.count else {
            throw QuiverError(.schemaMismatch, "column '\(name)' is \(array.type), field says \(field.type)")
        }
        try withErrorContext("column '\(name)'") { try array.checkOwnBufferSizes() }
        let (p, count) = (array.offset, array.length)
        var members: [(key: String, value: JSONValue)] = [("name", .string(name)), ("count", .number(String(count)))]
        if storage.layout.first == .validity {
            members.append(("VALIDITY", .array((0..<count).map { .number(array.isNull($0) ? "0" : "1") })))
        }
        var children: [ArrayData] = []
        switch storage {
        case .null:
            break
        case .boolean:
            members.append(("DATA", .array((0..<count).map {
                .bool(array.isValid($0) && BitUtil.get(array.buffers[1].baseAddress, p + $0))
            })))
        case .binary, .utf8, .largeBinary, .largeUtf8, .binaryView, .utf8View:
            try members += byteStrings(array, storage)
        case .list, .largeList, .map:
            let offsetType: DataType = storage.layout.contains(.offsets64) ? .int64 : .int32
            let offsets = try (0...count).map { try integer(array.buffers[1], p + $0, offsetType) }
            let first = offsets[0]
            members.append(("OFFSET", .array(offsets.map { offsetJSON($0 - first, offsetType) })))
            children = [try slice(array.children[0], from: first, count: offsets[count] - first)]
        case .listView, .largeListView:
            let offsetType: DataType = storage.layout.contains(.offsets64) ? .int64 : .int32
            for (key, buffer) in [("OFFSET", array.buffers[1]), ("SIZE", array.buffers[2])] {
                members.append((key, .array(try (0..<count).map { offsetJSON(try integer(buffer, p + $0, offsetType), offsetType) })))
            }
            children = array.children
        case .fixedSizeList(_, let size):
            children = [try slice(array.children[0], from: p * size, count: count * size)]
        case .struct:
            children = try array.children.map { try slice($0, from: p, count: count) }
        case .union(let mode, _, _):
            members.append(("TYPE_ID", .array((0..<count).map {
                .number(String(array.buffers[0].baseAddress.load(fromByteOffset: p + $0, as: Int8.self)))
            })))
            if mode == .dense {
                members.append(("OFFSET", .array(try (0..<count).map { .number(String(try integer(array.buffers[1], p + $0, .int32))) })))
                children = array.children
            } else {
                children = try array.children.map { try slice($0, from: p, count: count) }
            }
        case .dictionary(let index, _, _):
            members.append(("DATA", fixedWidth(array, index)))
        case .runEndEncoded:
            children = try logicalRuns(array)
        default:
            guard storage.fixedByteWidth != nil else { throw QuiverError(.unsupported, "cannot write \(field.type) as JSON") }
            members.append(("DATA", fixedWidth(array, storage)))
        }
        let fields = storage.children
        if !fields.isEmpty {
            members.append((
                "children",
                .array(try zip(fields, children).map { try columnJSON(name: $0.name, array: $1, field: $0) })))
        }
        return .object(members)
    }

    // MARK: Values

    /// DATA of a fixed-width array (or dictionary indices): one JSON value per slot, the
    /// zero value at null slots. The zero is made at the first null slot: metadata may declare
    /// any width (a fixed_size_binary[754974739] with no rows), and only a slot — whose bytes
    /// the buffer then holds — makes that width real.
    private func fixedWidth(_ array: ArrayData, _ type: DataType) -> JSONValue {
        let width = type.fixedByteWidth ?? 0
        let base = array.buffers[1].baseAddress + array.offset * width
        var zero: JSONValue?
        return .array((0..<array.length).map { slot in
            guard array.isNull(slot) else { return IntegrationValues.load(type, at: base + slot * width) }
            if let zero { return zero }
            let zeros = Buffer(copying: [UInt8](repeating: 0, count: max(width, 1)))
            let made = withExtendedLifetime(zeros) { IntegrationValues.load(type, at: zeros.baseAddress) }
            zero = made
            return made
        })
    }

    /// OFFSET + DATA of binary/utf8 arrays, or VIEWS + VARIADIC_DATA_BUFFERS of view arrays.
    private func byteStrings(_ array: ArrayData, _ type: DataType) throws -> [(key: String, value: JSONValue)] {
        let utf8 = type == .utf8 || type == .largeUtf8 || type == .utf8View
        func text(_ bytes: UnsafeRawBufferPointer, _ slot: Int) throws -> JSONValue {
            guard utf8 else { return .string(Hex.encode(bytes)) }
            guard let string = String(validating: bytes, as: UTF8.self) else {
                throw QuiverError(.invalidData, "slot \(slot) of a utf8 array is not valid UTF-8")
            }
            return .string(string)
        }
        if type == .binaryView || type == .utf8View {
            let views = try (0..<array.length).map { slot -> JSONValue in
                let view = array.buffers[1].baseAddress + (array.offset + slot) * 16
                let size = Int(view.loadUnaligned(as: Int32.self))
                guard array.isValid(slot) else { return .object([("SIZE", .number("0")), ("INLINED", .string(""))]) }
                guard size >= 0 else { throw QuiverError(.invalidData, "slot \(slot) has a negative view size") }
                guard size > 12 else {
                    return .object([("SIZE", .number(String(size))), ("INLINED", try text(UnsafeRawBufferPointer(start: view + 4, count: size), slot))])
                }
                return .object([
                    ("SIZE", .number(String(size))),
                    ("PREFIX_HEX", .string(Hex.encode(UnsafeRawBufferPointer(start: view + 4, count: 4)))),
                    ("BUFFER_INDEX", .number(String(view.loadUnaligned(fromByteOffset: 8, as: Int32.self)))),
                    ("OFFSET", .number(String(view.loadUnaligned(fromByteOffset: 12, as: Int32.self)))),
                ])
            }
            return [
                ("VIEWS", .array(views)),
                ("VARIADIC_DATA_BUFFERS", .array(array.buffers.dropFirst(2).map { .string(Hex.encode($0.bytes)) })),
            ]
        }
        let offsetType: DataType = type.layout.contains(.offsets64) ? .int64 : .int32
        var offsets: [JSONValue] = [offsetJSON(0, offsetType)]
        var data: [JSONValue] = []
        var total = 0
        for slot in 0..<array.length {
            if array.isValid(slot) {
                let start = try integer(array.buffers[1], array.offset + slot, offsetType)
                let end = try integer(array.buffers[1], array.offset + slot + 1, offsetType)
                guard start >= 0, end >= start, end <= array.buffers[2].count else {
                    throw QuiverError(.invalidData, "slot \(slot): offsets \(start)..<\(end) outside the data buffer")
                }
                let bytes = UnsafeRawBufferPointer(start: array.buffers[2].baseAddress + start, count: end - start)
                data.append(try text(bytes, slot))
                total += end - start
            } else {
                data.append(.string(""))
            }
            offsets.append(offsetJSON(total, offsetType))
        }
        return [("OFFSET", .array(offsets)), ("DATA", .array(data))]
    }

    /// The runs covering the array's slice, as (run ends, values) relative to its start.
    private func logicalRuns(_ array: ArrayData) throws -> [ArrayData] {
        let (runEnds, values) = (array.children[0], array.children[1])
        let (start, end) = (Int64(array.offset), Int64(array.offset + array.length))
        var ends: [Int64] = []
        var first: Int?
        for run in 0..<runEnds.length where ends.last.map({ $0 < end - start }) ?? true {
            let runEnd = Int64(try integer(runEnds.buffers[1], runEnds.offset + run, runEnds.type))
            guard runEnd > start else { continue }
            if first == nil { first = run }
            ends.append(min(runEnd, end) - start)
        }
        guard array.length == 0 || ends.last == end - start, let first = first ?? (array.length == 0 ? 0 : nil) else {
            throw QuiverError(.invalidData, "run ends do not cover the array's \(array.length) rows")
        }
        let width = runEnds.type.fixedByteWidth ?? 8
        let buffer = MutableBuffer(capacity: ends.count * width)
        for value in ends {
            switch width {
            case 2: buffer.appendLittleEndian(Int16(truncatingIfNeeded: value))
            case 4: buffer.appendLittleEndian(Int32(truncatingIfNeeded: value))
            default: buffer.appendLittleEndian(value)
            }
        }
        let logicalEnds = ArrayData(uncheckedType: runEnds.type, length: ends.count, buffers: [.empty, buffer.finish()])
        return [logicalEnds, try slice(values, from: first, count: ends.count)]
    }

    // MARK: Checked access (arrays handed to the writer are not trusted to be valid)

    private func integer(_ buffer: Buffer, _ index: Int, _ type: DataType) throws -> Int {
        guard let value = buffer.integer(at: index, as: type), let int = Int(exactly: value) else {
            throw QuiverError(.invalidData, "offset \(index) is outside its buffer")
        }
        return int
    }

    private func slice(_ array: ArrayData, from start: Int, count: Int) throws -> ArrayData {
        guard start >= 0, count >= 0, start <= array.length - count else {
            throw QuiverError(.invalidData, "child range \(start)..<\(start + count) outside its \(array.length) rows")
        }
        return array.slice(from: start, length: count)
    }

    private func offsetJSON(_ value: Int, _ type: DataType) -> JSONValue {
        type == .int64 ? .string(String(value)) : .number(String(value))
    }
}
