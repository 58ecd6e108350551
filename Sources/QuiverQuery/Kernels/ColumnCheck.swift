import QuiverArrow
import QuiverBytes

/// The one gate between a source's batches and the kernels: checks that every buffer a kernel
/// will read covers the slots it addresses, so kernels can read without bounds checks.
///
/// Columns of types the engine does not compute on (nested, view, union, run-end encoded)
/// pass through untouched: a plain `SELECT` returns them as they are, and any kernel asked to
/// read them (filtering, sorting, grouping, comparing) refuses with a typed error.
///
/// O(1) per buffer for fixed-width columns; O(rows) over the offsets of string columns and
/// the indices of dictionary columns (cheap next to any kernel that reads them). Buffers not
/// aligned for their element type are copied once (counted by the pool); aligned ones —
/// everything Quiver's readers produce — are used in place.
enum ColumnCheck {
    static func prepare(_ data: ArrayData, pool: MemoryPool) throws -> ArrayData {
        var data = data
        if case .extension(_, _, let storage) = data.type { data.type = storage.storageType }
        let (end, overflow) = data.offset.addingReportingOverflow(data.length)
        guard data.length >= 0, data.offset >= 0, !overflow else {
            throw invalid("offset \(data.offset) + length \(data.length) is invalid")
        }
        guard data.nullCount >= 0, data.nullCount <= data.length else {
            throw invalid("null count \(data.nullCount) exceeds length \(data.length)")
        }
        let type = data.type
        if case .null = type { return data }
        guard !type.layout.isEmpty, type.layout[0] == .validity else { return data }
        guard data.buffers.count >= type.layout.count else {
            throw invalid("\(data.buffers.count) buffers for \(type)")
        }
        if data.nullCount > 0 {
            guard data.buffers[0].count >= BitUtil.byteCount(forBits: end) else {
                throw invalid("validity bitmap too short for \(data.nullCount) nulls")
            }
        }
        switch type {
        case .boolean:
            try requireBytes(data.buffers[1], BitUtil.byteCount(forBits: end), "values")
        case .utf8, .binary:
            try checkOffsets(&data, Int32.self, end: end, pool: pool)
        case .largeUtf8, .largeBinary:
            try checkOffsets(&data, Int64.self, end: end, pool: pool)
        case .dictionary(let indexType, let valueType, _):
            guard let kind = NumberKind(indexType), indexType.isInteger else {
                throw invalid("dictionary index type \(indexType) is not an integer")
            }
            guard let dictionary = data.dictionary else { throw invalid("dictionary array has no dictionary") }
            guard dictionary.type == valueType else {
                throw invalid("dictionary holds \(dictionary.type), type says \(valueType)")
            }
            data.dictionary = try prepare(dictionary, pool: pool)
            try checkFixed(&data, width: indexType.fixedByteWidth ?? 1, end: end, pool: pool)
            data.buffers[1] = try kind.visit(IndexCheck(data: data, limit: dictionary.length, pool: pool))
        default:
            guard ColumnCheck.isFixedWidth(type), let width = type.fixedByteWidth else { return data }
            try checkFixed(&data, width: width, end: end, pool: pool)
        }
        return data
    }

    /// Whether `type` is one values buffer of fixed-width slots (numbers, dates, decimals,
    /// intervals, fixed-size binary), which kernels can move by byte width.
    static func isFixedWidth(_ type: DataType) -> Bool {
        type.fixedByteWidth != nil && type.layout == [.validity, .values]
    }

    private static func invalid(_ message: String) -> QuiverError {
        QuiverError(.invalidData, message)
    }

    private static func requireBytes(_ buffer: Buffer, _ count: Int, _ what: String) throws {
        guard buffer.count >= count else {
            throw invalid("\(what) buffer has \(buffer.count) bytes, needs \(count)")
        }
    }

    /// Realigns (by copying) a values buffer whose start is not aligned for its element.
    private static func aligned(_ buffer: Buffer, width: Int, pool: MemoryPool) -> Buffer {
        let alignment = Swift.min(width, 16)
        return buffer.isAligned(to: alignment) ? buffer : buffer.copied(pool: pool)
    }

    private static func checkFixed(_ data: inout ArrayData, width: Int, end: Int, pool: MemoryPool) throws {
        try requireBytes(data.buffers[1], try checkedProduct(end, width), "values")
        data.buffers[1] = aligned(data.buffers[1], width: width, pool: pool)
    }

    private static func checkOffsets<O: ArrowOffset>(
        _ data: inout ArrayData, _ type: O.Type, end: Int, pool: MemoryPool
    ) throws {
        let width = MemoryLayout<O>.size
        try requireBytes(data.buffers[1], try checkedProduct(end + 1, width), "offsets")
        data.buffers[1] = aligned(data.buffers[1], width: width, pool: pool)
        let offsets = UnsafeBufferPointer(
            start: data.buffers[1].baseAddress.assumingMemoryBound(to: O.self) + data.offset, count: end + 1 - data.offset)
        guard offsets[0] >= 0 else { throw invalid("negative string offset") }
        // The validator's vectorised pass (64 offsets per step).
        guard OffsetOrder.firstDecrease(offsets) == nil, Int(offsets[offsets.count - 1]) <= data.buffers[2].count else {
            throw invalid("string offsets are not monotonic or exceed the data buffer")
        }
    }
}

/// Checks dictionary indices against the dictionary length. Null slots may hold anything
/// (the spec leaves them undefined), so when one is out of range the indices are copied with
/// zeros there, letting kernels gather without a branch.
private struct IndexCheck: NumberVisitor {
    let data: ArrayData
    let limit: Int
    let pool: MemoryPool

    func visit<T: NumberValue>(_ type: T.Type) throws -> Buffer {
        let indices = Columns.values(data, as: T.self)
        let validity = Bitmaps.validity(data)
        var badNull = false
        for row in 0..<data.length {
            let index = indices[row].int128Value
            if index < 0 || index >= Int128(limit) {
                guard let validity, !validity[row] else {
                    throw QuiverError(.invalidData, "dictionary index \(index) out of range [0, \(limit))")
                }
                badNull = true
            }
        }
        guard badNull else { return data.buffers[1] }
        let width = MemoryLayout<T>.stride
        let count = (data.offset + data.length) * width
        let copy = pool.allocateZeroed(byteCount: count)
        copy.pointer.copyMemory(from: data.buffers[1].baseAddress, byteCount: count)
        let typed = copy.pointer.assumingMemoryBound(to: T.self) + data.offset
        for row in 0..<data.length where validity?[row] == false {
            typed[row] = T(exactlyInt128: 0) ?? typed[row]
        }
        return copy.buffer(count: count)
    }
}
