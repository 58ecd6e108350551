import QuiverBytes

extension ArrayData {
    /// Checks that this array (and its children and dictionary) obeys the Arrow columnar
    /// format so every accessor reads in bounds. `full: false` does the O(1)-per-buffer
    /// checks (buffer sizes against lengths); `full: true` also the O(data) ones (offsets
    /// monotonic and in range, utf8, dictionary indices, union type ids, run ends).
    ///
    /// The one gate between untrusted array data and the unchecked readers of typed arrays:
    /// every size computation is overflow-checked, so hostile lengths and offsets fail here
    /// with `invalidData` instead of trapping. Errors name the failing child as context.
    public func validate(full: Bool = true) throws {
        try ArrayValidator(full: full).validate(self, depth: 0)
    }
}

/// Nested types deeper than this are rejected (recursion must stay bounded on hostile input).
let maxArrayNestingDepth = 64

/// The validation walk. Cheap checks run first for every node, so the full checks can read
/// any buffer they touch without further bounds checks.
private struct ArrayValidator {
    let full: Bool

    func validate(_ data: ArrayData, depth: Int) throws {
        guard depth <= maxArrayNestingDepth else {
            throw invalid("arrays nest deeper than \(maxArrayNestingDepth) levels")
        }
        let type = data.type.storageType
        guard data.length >= 0, data.offset >= 0, data.nullCount >= 0 else {
            throw invalid("negative length \(data.length), offset \(data.offset) or null count \(data.nullCount)")
        }
        let end = try sum(data.offset, data.length, "offset + length")
        guard data.nullCount <= data.length else {
            throw invalid("null count \(data.nullCount) exceeds length \(data.length)")
        }
        if isPlainAndSound(data, type, end: end) {
            if full && data.buffers[0].count > 0 { try checkNullCount(data, type) }
            return
        }
        try checkBuffers(data, type, end: end)
        try checkChildren(data, type, end: end, depth: depth)
        if full { try checkNullCount(data, type) }
        try checkValues(data, type, end: end)
    }

    /// The quick answer for the most common column — numbers, dates, times: a validity
    /// bitmap (or none, with no nulls) and naturally aligned values, no children — that
    /// passes every check of `checkBuffers`, `checkChildren` and `checkValues`. Anything
    /// else (or anything wrong) takes the general path, which says precisely what is wrong.
    private func isPlainAndSound(_ data: ArrayData, _ type: DataType, end: Int) -> Bool {
        let width: Int
        switch type {
        case .int8, .uint8: width = 1
        case .int16, .uint16, .float16: width = 2
        case .int32, .uint32, .float32, .date32, .time32: width = 4
        case .int64, .uint64, .float64, .date64, .time64, .timestamp, .duration: width = 8
        default: return false
        }
        guard data.buffers.count == 2, data.children.isEmpty, data.dictionary == nil else { return false }
        let (validity, values) = (data.buffers[0], data.buffers[1])
        let (valueBytes, overflow) = width.multipliedReportingOverflow(by: end)
        return !overflow && values.count >= valueBytes && values.isAligned(to: width)
            && (validity.count == 0 ? data.nullCount == 0 : validity.count >= BitUtil.byteCount(forBits: end))
    }

    // MARK: Buffers

    /// Buffer count and, for each buffer of the layout, size for `end` slots and alignment
    /// for the element type that readers view it as.
    private func checkBuffers(_ data: ArrayData, _ type: DataType, end: Int) throws {
        let layout = type.layout
        let isView = layout.last == .views
        guard isView ? data.buffers.count >= layout.count : data.buffers.count == layout.count else {
            throw invalid("\(data.buffers.count) buffers, \(type) needs \(layout.count)\(isView ? " or more" : "")")
        }
        switch type {
        case .null:
            guard data.nullCount == 0 || data.nullCount == data.length else {
                throw invalid("null array has null count \(data.nullCount), expected \(data.length)")
            }
        case .union, .runEndEncoded:
            guard data.nullCount == 0 else { throw invalid("\(type) has no validity but null count \(data.nullCount)") }
        default: break
        }
        for (index, kind) in layout.enumerated() {
            let buffer = data.buffers[index]
            if kind == .validity && buffer.count == 0 {
                guard data.nullCount == 0 else {
                    throw invalid("null count \(data.nullCount) but no validity bitmap")
                }
                continue
            }
            // An empty array may omit its start/end pairs (Arrow C++ accepts this too).
            if kind == .offsets32 || kind == .offsets64, !type.hasOffsetPerSlot, data.length == 0, buffer.count == 0 {
                continue
            }
            if kind == .data { continue }  // bounded by the offsets, checked with them
            let width = kind == .values ? try valueWidth(type) : 0
            guard let needed = type.bufferBytesNeeded(kind, slots: end, valueWidth: width) else {
                throw invalid("buffer \(index) (\(kind)) overflows for offset \(data.offset) + length \(data.length)")
            }
            let alignment: Int
            switch kind {
            case .validity, .bits, .typeIds, .data: alignment = 1
            case .values: alignment = valueAlignment(type, width: width)
            case .offsets32, .sizes32, .views: alignment = 4
            case .offsets64, .sizes64: alignment = 8
            }
            guard buffer.count >= needed else {
                throw invalid(
                    "buffer \(index) (\(kind)) has \(buffer.count) bytes, needs \(needed) for offset \(data.offset) + length \(data.length)")
            }
            guard buffer.isAligned(to: alignment) else {
                throw invalid("buffer \(index) (\(kind)) is not aligned to \(alignment) bytes")
            }
        }
        guard type.isDictionaryType || data.dictionary == nil else {
            throw invalid("\(type) array carries a dictionary")
        }
    }

    /// Bytes per slot of the `.values` buffer (the index width for dictionaries).
    private func valueWidth(_ type: DataType) throws -> Int {
        switch type {
        case .decimal(let bits, _, _):
            guard [32, 64, 128, 256].contains(bits) else { throw invalid("decimal bit width \(bits) is not 32, 64, 128 or 256") }
            return bits / 8
        case .fixedSizeBinary(let width):
            guard width >= 0 else { throw invalid("fixed-size binary width \(width) is negative") }
            return width
        case .dictionary(let index, _, _):
            guard index.isInteger, let width = index.fixedByteWidth else {
                throw invalid("dictionary index type \(index) is not an integer type")
            }
            return width
        default:
            guard let width = type.fixedByteWidth else { throw invalid("\(type) has no fixed width") }
            return width
        }
    }

    /// The alignment readers need: decimals and fixed-size binary are read unaligned
    /// (IPC bodies only promise 8), everything else as its natural Swift type.
    private func valueAlignment(_ type: DataType, width: Int) -> Int {
        switch type {
        case .decimal, .fixedSizeBinary: return 1
        case .interval(.dayTime): return 4
        default: return min(width, 8)
        }
    }

    // MARK: Children

    private func checkChildren(_ data: ArrayData, _ type: DataType, end: Int, depth: Int) throws {
        let fields = type.children
        guard data.children.count == fields.count else {
            throw invalid("\(data.children.count) children, \(type) needs \(fields.count)")
        }
        for (index, (child, field)) in zip(data.children, fields).enumerated() {
            guard child.type == field.type else {
                throw invalid("child \(index) ('\(field.name)') has type \(child.type), expected \(field.type)")
            }
        }
        switch type {
        case .fixedSizeList(_, let listSize):
            guard listSize >= 0 else { throw invalid("fixed-size list size \(listSize) is negative") }
            let needed = try product(end, listSize, "list elements")
            try requireChildLength(data, 0, needed)
        case .struct:
            for index in data.children.indices { try requireChildLength(data, index, end) }
        case .union(let mode, let unionFields, let typeIds):
            guard typeIds.count == unionFields.count else {
                throw invalid("union declares \(typeIds.count) type ids for \(unionFields.count) children")
            }
            guard typeIds.allSatisfy({ $0 >= 0 }), Set(typeIds).count == typeIds.count else {
                throw invalid("union type ids \(typeIds) are not distinct values in 0...127")
            }
            if mode == .sparse {
                for index in data.children.indices { try requireChildLength(data, index, end) }
            }
        case .map(let entries, _):
            let kv = entries.type.storageType.children
            guard case .struct = entries.type.storageType, kv.count == 2 else {
                throw invalid("map entries must be a struct of key and value, not \(entries.type)")
            }
            guard data.children[0].nullCount == 0 else {
                throw invalid("map entries contain \(data.children[0].nullCount) null structs")
            }
        case .runEndEncoded(let runEnds, _):
            guard [.int16, .int32, .int64].contains(runEnds.type) else {
                throw invalid("run ends must be int16, int32 or int64, not \(runEnds.type)")
            }
            let (ends, values) = (data.children[0], data.children[1])
            guard ends.nullCount == 0 else { throw invalid("run ends contain \(ends.nullCount) nulls") }
            guard values.length >= ends.length else {
                throw invalid("\(ends.length) run ends but only \(values.length) values")
            }
            guard data.length == 0 || ends.length > 0 else { throw invalid("non-empty run-end encoded array has no runs") }
        case .dictionary(_, let valueType, _):
            guard let dictionary = data.dictionary else { throw invalid("dictionary array has no dictionary") }
            guard dictionary.type == valueType else {
                throw invalid("dictionary has type \(dictionary.type), expected \(valueType)")
            }
            try withErrorContext("dictionary") { try validate(dictionary, depth: depth + 1) }
        default: break
        }
        for (index, (child, field)) in zip(data.children, fields).enumerated() {
            try withErrorContext("child \(index) ('\(field.name)')") { try validate(child, depth: depth + 1) }
        }
        // Needs the entries' own children, which the loop above has just validated.
        if case .map = type, data.children[0].children[0].nullCount > 0 {
            throw invalid("map keys contain \(data.children[0].children[0].nullCount) nulls")
        }
    }

    private func requireChildLength(_ data: ArrayData, _ index: Int, _ needed: Int) throws {
        let length = data.children[index].length
        guard length >= needed else {
            throw invalid("child \(index) has \(length) slots, needs \(needed) for offset \(data.offset) + length \(data.length)")
        }
    }

    // MARK: Values

    /// Checks that need the values themselves: O(1) ones (first/last offsets, last run end)
    /// always, the rest when `full`.
    private func checkValues(_ data: ArrayData, _ type: DataType, end: Int) throws {
        switch type {
        case .binary, .utf8:
            try checkOffsets(data, Int32.self, limit: data.buffers[2].count, what: "data bytes")
            if full, type == .utf8 { try checkUTF8(data, Int32.self) }
        case .largeBinary, .largeUtf8:
            try checkOffsets(data, Int64.self, limit: data.buffers[2].count, what: "data bytes")
            if full, type == .largeUtf8 { try checkUTF8(data, Int64.self) }
        case .list, .map:
            try checkOffsets(data, Int32.self, limit: data.children[0].length, what: "child slots")
        case .largeList:
            try checkOffsets(data, Int64.self, limit: data.children[0].length, what: "child slots")
        case .listView:
            if full { try checkListViews(data, Int32.self) }
        case .largeListView:
            if full { try checkListViews(data, Int64.self) }
        case .binaryView, .utf8View:
            if full { try checkViews(data, utf8: type == .utf8View) }
        case .dictionary(let index, _, _):
            if full { try checkDictionaryIndices(data, index) }
        case .union(let mode, _, let typeIds):
            if full { try checkUnion(data, mode: mode, typeIds: typeIds) }
        case .runEndEncoded:
            try checkRunEnds(data, end: end)
        default: break
        }
    }

    /// First offset ≥ 0, last ≤ `limit`, first ≤ last (O(1)); when `full`, every offset
    /// non-decreasing.
    private func checkOffsets<O: ArrowOffset>(_ data: ArrayData, _: O.Type, limit: Int, what: String) throws {
        let offsets = offsetsView(data, O.self)
        guard let first = offsets.first, let last = offsets.last else { return }
        guard first >= 0, last >= first, Int(last) <= limit else {
            throw invalid("offsets run from \(first) to \(last), outside the \(limit) \(what)")
        }
        guard full, let index = OffsetOrder.firstDecrease(offsets) else { return }
        throw invalid("offset \(index) (\(offsets[index])) is less than the one before (\(offsets[index - 1]))")
    }

    private func checkUTF8<O: ArrowOffset>(_ data: ArrayData, _: O.Type) throws {
        let offsets = offsetsView(data, O.self)
        guard let first = offsets.first, let last = offsets.last else { return }
        let bytes = data.buffers[2].baseAddress
        // One pass when the whole range is ASCII (every slice of ASCII is valid UTF-8).
        if UTF8Validation.isASCII(bytes + Int(first), count: Int(last - first)) { return }
        let nulls = NullMask(data)
        for index in 0..<data.length where !nulls.isNull(index) {
            let start = Int(offsets[index])
            guard UTF8Validation.isValid(bytes + start, count: Int(offsets[index + 1]) - start) else {
                throw invalid("slot \(index) is not valid UTF-8")
            }
        }
    }

    private func checkListViews<O: ArrowOffset>(_ data: ArrayData, _: O.Type) throws {
        let list = VariableListViewArray<O>(unchecked: data)
        let limit = data.children[0].length
        for index in 0..<data.length {
            let (offset, size) = (Int(list.offsets[index]), Int(list.sizes[index]))
            guard offset >= 0, size >= 0, offset <= limit, size <= limit - offset else {
                throw invalid("list view \(index) (offset \(offset), size \(size)) is outside the \(limit) child slots")
            }
        }
    }

    private func checkViews(_ data: ArrayData, utf8: Bool) throws {
        let views = data.buffers[1].baseAddress + data.offset * BinaryViewLayout.size
        let dataBuffers = data.buffers.dropFirst(2)
        let nulls = NullMask(data)
        for index in 0..<data.length {
            let view = views + index * BinaryViewLayout.size
            let count = Int(BinaryViewLayout.length(view))
            guard count >= 0 else { throw invalid("view \(index) has negative length \(count)") }
            let bytes: UnsafeRawPointer
            if count <= BinaryViewLayout.inlineCapacity {
                bytes = view + 4
            } else {
                let (bufferIndex, offset) = (Int(BinaryViewLayout.bufferIndex(view)), Int(BinaryViewLayout.offset(view)))
                guard bufferIndex >= 0, bufferIndex < dataBuffers.count else {
                    throw invalid("view \(index) names data buffer \(bufferIndex) of \(dataBuffers.count)")
                }
                let buffer = data.buffers[2 + bufferIndex]
                guard offset >= 0, offset <= buffer.count, count <= buffer.count - offset else {
                    throw invalid("view \(index) (offset \(offset), length \(count)) is outside data buffer \(bufferIndex) of \(buffer.count) bytes")
                }
                bytes = buffer.baseAddress + offset
                guard system_memcmp(bytes, view + 4, 4) == 0 else {
                    throw invalid("view \(index) has a prefix that differs from its data")
                }
            }
            if utf8, !nulls.isNull(index), !UTF8Validation.isValid(bytes, count: count) {
                throw invalid("slot \(index) is not valid UTF-8")
            }
        }
    }

    private func checkDictionaryIndices(_ data: ArrayData, _ indexType: DataType) throws {
        let limit = data.dictionary?.length ?? 0
        let nulls = NullMask(data)
        for index in 0..<data.length where !nulls.isNull(index) {
            let key = signedInteger(data, at: index, as: indexType)
            guard key >= 0, key < limit else {
                throw invalid("dictionary index \(key) at slot \(index) is outside the \(limit) dictionary values")
            }
        }
    }

    private func checkUnion(_ data: ArrayData, mode: UnionMode, typeIds: [Int8]) throws {
        let union = UnionArray(unchecked: data)
        for index in 0..<data.length {
            let id = union.typeId(at: index)
            guard id >= 0, union.childForTypeId[Int(id)] >= 0 else {
                throw invalid("type id \(id) at slot \(index) is not one of \(typeIds)")
            }
            guard mode == .dense else { continue }
            let (child, position) = union.location(at: index)
            let limit = data.children[child].length
            guard position >= 0, position < limit else {
                throw invalid("dense union offset \(position) at slot \(index) is outside child \(child) of \(limit) slots")
            }
        }
    }

    /// Last run end ≥ offset + length always (lookups rely on it); when `full`, run ends
    /// positive and strictly increasing.
    private func checkRunEnds(_ data: ArrayData, end: Int) throws {
        let ends = data.children[0]
        guard ends.length > 0 else { return }
        let last = signedInteger(ends, at: ends.length - 1)
        guard last >= end else {
            throw invalid("last run end \(last) is below offset + length \(end)")
        }
        guard full else { return }
        var previous: Int64 = 0
        for index in 0..<ends.length {
            let runEnd = signedInteger(ends, at: index)
            guard runEnd > previous else {
                throw invalid("run end \(runEnd) at \(index) is not greater than \(previous)")
            }
            previous = runEnd
        }
    }

    /// Slot `index` of a validated integer array, exactly (uint64 above `Int64.max` saturates,
    /// which is out of range for every check that uses it).
    private func signedInteger(_ data: ArrayData, at index: Int, as type: DataType? = nil) -> Int64 {
        if (type ?? data.type).storageType == .uint64 {
            let value = data.buffers[1].baseAddress.load(fromByteOffset: (data.offset + index) * 8, as: UInt64.self)
            return Int64(clamping: value)
        }
        return Int64(integerValue(data, at: index, as: type))
    }

    // MARK: Null count

    /// The declared null count must equal the bitmap's count of zeros, as Arrow C++ checks.
    private func checkNullCount(_ data: ArrayData, _ type: DataType) throws {
        guard type.hasValidityBitmap, let validity = data.validity else { return }
        let nulls = data.length - BitUtil.countSetBits(validity.baseAddress, from: data.offset, count: data.length)
        guard nulls == data.nullCount else {
            throw invalid("null count \(data.nullCount) but the validity bitmap has \(nulls) nulls")
        }
    }

    // MARK: Helpers

    private func invalid(_ message: String) -> QuiverError { QuiverError(.invalidData, message) }

    private func sum(_ a: Int, _ b: Int, _ what: String) throws -> Int {
        let (result, overflow) = a.addingReportingOverflow(b)
        guard !overflow else { throw invalid("\(what) overflows (\(a) + \(b))") }
        return result
    }

    private func product(_ a: Int, _ b: Int, _ what: String) throws -> Int {
        let (result, overflow) = a.multipliedReportingOverflow(by: b)
        guard !overflow else { throw invalid("\(what) overflow (\(a) × \(b))") }
        return result
    }
}

extension DataType {
    /// Whether the storage type is `.dictionary`.
    var isDictionaryType: Bool {
        if case .dictionary = storageType { return true } else { return false }
    }
}

/// Whether offsets never decrease. 32-bit offsets (strings, lists) are checked 64 at a time
/// without a branch: their differences, exact in 64 bits, are or-ed together, so the sign bit
/// says whether any is negative — a loop the compiler turns into vector code. A block with a
/// decrease, and 64-bit offsets, are searched one offset at a time.
package enum OffsetOrder {
    /// The first index whose offset is below the one before it, or nil.
    package static func firstDecrease<O: ArrowOffset>(_ offsets: UnsafeBufferPointer<O>) -> Int? {
        guard let base = offsets.baseAddress, offsets.count > 1 else { return nil }
        var index = 1
        if O.self == Int32.self {  // folds away when specialised
            let raw = UnsafeRawPointer(base)
            while offsets.count - index >= 64 {
                var decreased = SIMDMask<SIMD4<Int32>>()
                for position in stride(from: index, to: index &+ 64, by: 4) {
                    let current = raw.loadUnaligned(fromByteOffset: position &* 4, as: SIMD4<Int32>.self)
                    let previous = raw.loadUnaligned(fromByteOffset: position &* 4 &- 4, as: SIMD4<Int32>.self)
                    decreased .|= current .< previous
                }
                if any(decreased) { break }
                index += 64
            }
        }
        while index < offsets.count {
            if base[index] < base[index - 1] { return index }
            index += 1
        }
        return nil
    }
}

/// UTF-8 well-formedness (Unicode Table 3-7): no overlong forms, no surrogates, nothing
/// above U+10FFFF, no truncated sequences. ASCII runs are checked eight bytes at a time.
enum UTF8Validation {
    /// Whether no byte has its high bit set: 64 bytes per step, or-ed into one vector (the
    /// check that lets a whole ASCII column skip the decoder).
    static func isASCII(_ bytes: UnsafeRawPointer, count: Int) -> Bool {
        var index = 0
        var vector = SIMD16<UInt8>()
        while count - index >= 64 {
            vector |= bytes.loadUnaligned(fromByteOffset: index, as: SIMD16<UInt8>.self)
                | bytes.loadUnaligned(fromByteOffset: index + 16, as: SIMD16<UInt8>.self)
                | bytes.loadUnaligned(fromByteOffset: index + 32, as: SIMD16<UInt8>.self)
                | bytes.loadUnaligned(fromByteOffset: index + 48, as: SIMD16<UInt8>.self)
            index += 64
        }
        let words = unsafeBitCast(vector, to: SIMD2<UInt64>.self)
        var bits = words[0] | words[1]
        while count - index >= 8 {
            bits |= bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            index += 8
        }
        while index < count {
            bits |= UInt64(bytes.load(fromByteOffset: index, as: UInt8.self))
            index += 1
        }
        return bits & 0x8080_8080_8080_8080 == 0
    }

    static func isValid(_ bytes: UnsafeRawPointer, count: Int) -> Bool {
        var index = 0
        func byte(_ i: Int) -> UInt8 { bytes.load(fromByteOffset: i, as: UInt8.self) }
        while index < count {
            if count - index >= 8,
                bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 == 0
            {
                index += 8
                continue
            }
            let lead = byte(index)
            if lead < 0x80 {
                index += 1
                continue
            }
            // The allowed range of the second byte depends on the lead (Table 3-7).
            let length: Int
            var low: UInt8 = 0x80
            var high: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: (length, low) = (3, 0xA0)
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: (length, high) = (3, 0x9F)
            case 0xF0: (length, low) = (4, 0x90)
            case 0xF1...0xF3: length = 4
            case 0xF4: (length, high) = (4, 0x8F)
            default: return false
            }
            guard count - index >= length else { return false }
            let second = byte(index + 1)
            guard second >= low, second <= high else { return false }
            for continuation in 2..<length where byte(index + continuation) & 0xC0 != 0x80 {
                return false
            }
            index += length
        }
        return true
    }
}
