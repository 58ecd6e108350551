import QuiverArrow
import QuiverBytes
import QuiverIPC

// FieldData JSON → ArrayData. Each buffer is built straight from its JSON member:
//   VALIDITY  [1, 0, …]             → bitmap (dropped when every slot is valid)
//   DATA      values per slot       → values / bits / (binary) data + offsets
//   OFFSET    [0, 3, …] or ["0", …] → offsets (32- or 64-bit)
//   SIZE      list-view sizes; TYPE_ID union type ids
//   VIEWS + VARIADIC_DATA_BUFFERS   → 16-byte views + data buffers
//   children  one FieldData per child field, matched by position (names may repeat)
// Arrays come out valid: counts, offsets, indices, type ids and run ends are checked here,
// so malformed JSON is a `QuiverError`, never an out-of-bounds read later.

/// The most rows one JSON array may declare (Arrow C++ counts in int32 here too).
let maxIntegrationLength = Int(Int32.max)

/// Reads FieldData objects, resolving dictionary-encoded fields through `dictionaries`.
struct IntegrationArrayReader {
    let pool: MemoryPool
    /// The cap on any one buffer built from the JSON (see `IntegrationJSON.read(json:…)`).
    let maxBufferBytes: Int
    let dictionaries: IntegrationDictionaries

    func readArray(_ json: JSONValue, field: Field) throws -> ArrayData {
        let type = field.type
        let storage = type.storageType
        let count = try json.member("count").integerValue("count", as: Int.self)
        guard count >= 0, count <= maxIntegrationLength else { throw QuiverError(.invalidData, "count \(count)") }
        var buffers: [Buffer] = []
        var nullCount = 0
        if storage.layout.first == .validity {
            let (bitmap, nulls) = try validity(json["VALIDITY"], count: count)
            buffers.append(bitmap)
            nullCount = nulls
        }
        let fields = storage.children
        let children = try readChildren(json, fields: fields)
        var dictionary: ArrayData?

        switch storage {
        case .null:
            nullCount = count
        case .boolean:
            let values = try elements(json, "DATA", count: count)
            let bits = MutableBuffer(capacity: BitUtil.byteCount(forBits: count), pool: pool)
            bits.appendZeros(BitUtil.byteCount(forBits: count))
            for (index, value) in values.enumerated() where try value.boolValue("boolean value") {
                BitUtil.set(bits.pointer, index, true)
            }
            buffers.append(bits.finish())
        case .binary, .utf8, .largeBinary, .largeUtf8:
            try buffers += binary(json, count: count, large: storage.layout.contains(.offsets64), utf8: isUTF8(storage))
        case .binaryView, .utf8View:
            try buffers += views(json, count: count, utf8: storage == .utf8View)
        case .list, .largeList, .map:
            let offsetType: DataType = storage.layout.contains(.offsets64) ? .int64 : .int32
            let offsets = try fixedWidth(try elements(json, "OFFSET", count: count + 1), offsetType)
            try checkOffsets(offsets, offsetType, count: count, childLength: children[0].length)
            buffers.append(offsets)
        case .listView, .largeListView:
            let offsetType: DataType = storage.layout.contains(.offsets64) ? .int64 : .int32
            let offsets = try fixedWidth(try elements(json, "OFFSET", count: count), offsetType)
            let sizes = try fixedWidth(try elements(json, "SIZE", count: count), offsetType)
            for index in 0..<count {
                let start = offsets.integer(at: index, as: offsetType) ?? -1
                let size = sizes.integer(at: index, as: offsetType) ?? -1
                guard start >= 0, size >= 0, size <= Int64(children[0].length) - start else {
                    throw QuiverError(.invalidData, "list view slot \(index): offset \(start) size \(size) outside child of \(children[0].length)")
                }
            }
            buffers += [offsets, sizes]
        case .fixedSizeList(_, let size):
            guard size == 0 || children[0].length / size >= count else {
                throw QuiverError(.invalidData, "fixed-size list child has \(children[0].length) values for \(count) lists of \(size)")
            }
        case .struct:
            if let short = children.first(where: { $0.length < count }) {
                throw QuiverError(.invalidData, "struct child has \(short.length) rows, parent \(count)")
            }
        case .union(let mode, _, let typeIds):
            let ids = try fixedWidth(try elements(json, "TYPE_ID", count: count), .int8)
            buffers.append(ids)
            var offsets: Buffer?
            if mode == .dense {
                offsets = try fixedWidth(try elements(json, "OFFSET", count: count), .int32)
                buffers.append(offsets ?? .empty)
            }
            for index in 0..<count {
                let id = ids.bytes.load(fromByteOffset: index, as: Int8.self)
                guard let child = typeIds.firstIndex(of: id) else {
                    throw QuiverError(.invalidData, "union slot \(index) has unknown type id \(id)")
                }
                let position = offsets.flatMap { $0.integer(at: index, as: .int32) }.map(Int.init) ?? index
                guard position >= 0, position < children[child].length else {
                    throw QuiverError(.invalidData, "union slot \(index) points past child '\(fields[child].name)'")
                }
            }
        case .dictionary(let indexType, _, _):
            guard let id = field.dictionaryId else {
                throw QuiverError(.invalidData, "dictionary field '\(field.name)' has no dictionary id")
            }
            let values = try dictionaries.dictionary(id: id)
            let indices = try fixedWidth(try elements(json, "DATA", count: count), indexType, validity: buffers[0])
            for slot in 0..<count where nullCount == 0 || BitUtil.get(buffers[0].baseAddress, slot) {
                guard let index = indices.integer(at: slot, as: indexType), index >= 0, index < Int64(values.length) else {
                    throw QuiverError(.invalidData, "dictionary index at slot \(slot) is outside the \(values.length) values of dictionary \(id)")
                }
            }
            buffers.append(indices)
            dictionary = values
        case .runEndEncoded:
            try checkRunEnds(children, count: count)
        default:
            guard storage.fixedByteWidth != nil else { throw QuiverError(.unsupported, "cannot read \(type) from JSON") }
            buffers.append(try fixedWidth(try elements(json, "DATA", count: count), storage, validity: buffers[0]))
        }
        return ArrayData(
            uncheckedType: type, length: count, nullCount: nullCount, buffers: buffers, children: children, dictionary: dictionary)
    }

    private func readChildren(_ json: JSONValue, fields: [Field]) throws -> [ArrayData] {
        guard !fields.isEmpty else { return [] }
        let children = try json.member("children").arrayValue("children")
        guard children.count == fields.count else {
            throw QuiverError(.invalidData, "\(children.count) children for \(fields.count) child fields")
        }
        return try zip(children, fields).map { child, field in
            try withErrorContext("child '\(field.name)'") { try readArray(child, field: field) }
        }
    }

    // MARK: Buffers

    /// The JSON array `key`, required to hold exactly `count` elements.
    private func elements(_ json: JSONValue, _ key: String, count: Int) throws -> [JSONValue] {
        let values = try json.member(key).arrayValue(key)
        guard values.count == count else { throw QuiverError(.invalidData, "\(key) has \(values.count) entries, expected \(count)") }
        return values
    }

    /// A bitmap from `VALIDITY` (absent: all valid) and the number of nulls; the empty
    /// buffer when nothing is null.
    private func validity(_ json: JSONValue?, count: Int) throws -> (Buffer, Int) {
        guard let json else { return (.empty, 0) }
        let values = try json.arrayValue("VALIDITY")
        guard values.count == count else { throw QuiverError(.invalidData, "VALIDITY has \(values.count) entries, expected \(count)") }
        let bits = MutableBuffer(capacity: BitUtil.byteCount(forBits: count), pool: pool)
        bits.appendZeros(BitUtil.byteCount(forBits: count))
        var nulls = 0
        for (index, value) in values.enumerated() {
            if try value.boolValue("validity") { BitUtil.set(bits.pointer, index, true) } else { nulls += 1 }
        }
        return nulls == 0 ? (.empty, 0) : (bits.finish(), nulls)
    }

    /// Fixed-width values, one per JSON element; slots that `validity` marks null are
    /// zeroed without parsing (writers put placeholders such as `{}` or `0` there).
    private func fixedWidth(_ values: [JSONValue], _ type: DataType, validity: Buffer = .empty) throws -> Buffer {
        let width = type.fixedByteWidth ?? 0
        let byteCount = try checkedProduct(values.count, width)
        guard byteCount <= maxBufferBytes else {
            throw QuiverError(.capacityExceeded, "\(values.count) values of \(type) exceed \(maxBufferBytes) bytes for this input")
        }
        let allocation = pool.allocateZeroed(byteCount: byteCount)
        for (index, value) in values.enumerated() where validity.count == 0 || BitUtil.get(validity.baseAddress, index) {
            try withErrorContext("slot \(index)") {
                try IntegrationValues.store(value, type, at: allocation.pointer + index * width)
            }
        }
        return allocation.buffer(count: byteCount)
    }

    /// Offsets and data of binary/utf8 arrays, built from the DATA values; OFFSET, when
    /// present, must agree with the value lengths at valid slots.
    private func binary(_ json: JSONValue, count: Int, large: Bool, utf8: Bool) throws -> [Buffer] {
        let values = try elements(json, "DATA", count: count)
        let given = try json["OFFSET"].map { offsets -> [JSONValue] in
            guard try offsets.arrayValue("OFFSET").count == count + 1 else {
                throw QuiverError(.invalidData, "OFFSET needs \(count + 1) entries")
            }
            return try offsets.arrayValue("OFFSET")
        }
        let validity = json["VALIDITY"].flatMap { try? $0.arrayValue("VALIDITY") }
        let data = MutableBuffer(pool: pool)
        let offsets = MutableBuffer(capacity: (count + 1) * (large ? 8 : 4), pool: pool)
        func appendOffset(_ value: Int) throws {
            if large { offsets.appendLittleEndian(Int64(value)) } else {
                guard let small = Int32(exactly: value) else {
                    throw QuiverError(.invalidData, "binary data exceeds 2 GiB; use a large type")
                }
                offsets.appendLittleEndian(small)
            }
        }
        try appendOffset(0)
        for (index, value) in values.enumerated() {
            let start = data.count
            let text = try value.stringValue("DATA value")
            if utf8 {
                data.append(contentsOf: Array(text.utf8))
            } else {
                data.append(contentsOf: try Hex.decode(text))
            }
            try appendOffset(data.count)
            let valid = (try validity?[index].boolValue("validity")) ?? true
            if let given, valid {
                let begin: Int64 = try given[index].integerValue("offset")
                let end: Int64 = try given[index + 1].integerValue("offset")
                guard end - begin == Int64(data.count - start) else {
                    throw QuiverError(.invalidData, "slot \(index): OFFSET gives \(end - begin) bytes, DATA has \(data.count - start)")
                }
            }
        }
        return [offsets.finish(), data.finish()]
    }

    /// Views and variadic buffers of binary-view/utf8-view arrays.
    private func views(_ json: JSONValue, count: Int, utf8: Bool) throws -> [Buffer] {
        let variadic = try json.member("VARIADIC_DATA_BUFFERS").arrayValue("VARIADIC_DATA_BUFFERS").map {
            Buffer(copying: try Hex.decode(try $0.stringValue("variadic buffer")), pool: pool)
        }
        let elements = try elements(json, "VIEWS", count: count)
        let views = pool.allocateZeroed(byteCount: count * 16)
        for (index, view) in elements.enumerated() {
            try withErrorContext("view \(index)") {
                let p = views.pointer + index * 16
                let size = try view.member("SIZE").integerValue("SIZE", as: Int32.self)
                guard size >= 0 else { throw QuiverError(.invalidData, "negative view size \(size)") }
                p.storeBytes(of: size.littleEndian, as: Int32.self)
                if size <= 12 {
                    let text = try view.member("INLINED").stringValue("INLINED")
                    let bytes = utf8 ? Array(text.utf8) : try Hex.decode(text)
                    guard bytes.count == Int(size) else {
                        throw QuiverError(.invalidData, "INLINED has \(bytes.count) bytes, SIZE \(size)")
                    }
                    (p + 4).copyMemory(from: bytes, byteCount: bytes.count)
                    return
                }
                let prefix = try Hex.decode(try view.member("PREFIX_HEX").stringValue("PREFIX_HEX"))
                let bufferIndex = try view.member("BUFFER_INDEX").integerValue("BUFFER_INDEX", as: Int32.self)
                let offset = try view.member("OFFSET").integerValue("OFFSET", as: Int32.self)
                guard prefix.count == 4 else { throw QuiverError(.invalidData, "PREFIX_HEX must be 4 bytes") }
                guard bufferIndex >= 0, Int(bufferIndex) < variadic.count else {
                    throw QuiverError(.invalidData, "BUFFER_INDEX \(bufferIndex) of \(variadic.count) buffers")
                }
                let data = variadic[Int(bufferIndex)]
                try checkRange(offset: Int(offset), count: Int(size), within: data.count)
                guard prefix.elementsEqual(UnsafeRawBufferPointer(start: data.baseAddress + Int(offset), count: 4)) else {
                    throw QuiverError(.invalidData, "PREFIX_HEX disagrees with the viewed bytes")
                }
                if utf8, String(validating: UnsafeRawBufferPointer(start: data.baseAddress + Int(offset), count: Int(size)), as: UTF8.self) == nil {
                    throw QuiverError(.invalidData, "utf8 view value is not valid UTF-8")
                }
                (p + 4).copyMemory(from: prefix, byteCount: 4)
                (p + 8).storeBytes(of: bufferIndex.littleEndian, as: Int32.self)
                (p + 12).storeBytes(of: offset.littleEndian, as: Int32.self)
            }
        }
        return [views.buffer(count: count * 16)] + variadic
    }

    // MARK: Checks

    private func checkOffsets(_ offsets: Buffer, _ type: DataType, count: Int, childLength: Int) throws {
        var previous: Int64 = 0
        for index in 0...count {
            let value = offsets.integer(at: index, as: type) ?? -1
            guard value >= previous || (index == 0 && value >= 0) else {
                throw QuiverError(.invalidData, "offset \(index) (\(value)) is negative or decreasing")
            }
            previous = value
        }
        guard previous <= Int64(childLength) else {
            throw QuiverError(.invalidData, "last offset \(previous) is past the child's \(childLength) values")
        }
    }

    private func checkRunEnds(_ children: [ArrayData], count: Int) throws {
        let (runEnds, values) = (children[0], children[1])
        guard runEnds.nullCount == 0 else { throw QuiverError(.invalidData, "run ends contain nulls") }
        guard runEnds.length == values.length else {
            throw QuiverError(.invalidData, "\(runEnds.length) run ends for \(values.length) values")
        }
        var previous: Int64 = 0
        for run in 0..<runEnds.length {
            let end = runEnds.buffers[1].integer(at: run, as: runEnds.type) ?? 0
            guard end > previous else { throw QuiverError(.invalidData, "run end \(run) (\(end)) is not increasing") }
            previous = end
        }
        guard count == 0 || previous >= Int64(count) else {
            throw QuiverError(.invalidData, "run ends cover \(previous) of \(count) rows")
        }
    }

    private func isUTF8(_ type: DataType) -> Bool { type == .utf8 || type == .largeUtf8 }
}
