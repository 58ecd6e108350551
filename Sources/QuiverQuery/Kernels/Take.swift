import QuiverArrow
import QuiverBytes

/// One row of one of several arrays.
struct RowRef: Hashable {
    var source: Int32
    var row: Int32
}

/// Which rows a take gathers: positions in one array (a filter's selection vector) or rows of
/// several arrays (concatenation, merging sorted runs). The gather loops are generic over it.
protocol RowIndices {
    var count: Int { get }
    func source(_ index: Int) -> Int
    func row(_ index: Int) -> Int
}

struct SingleRows: RowIndices {
    let rows: UnsafeBufferPointer<Int32>
    var count: Int { rows.count }
    @inline(__always) func source(_ index: Int) -> Int { 0 }
    @inline(__always) func row(_ index: Int) -> Int { Int(rows[index]) }
}

struct MultiRows: RowIndices {
    let refs: UnsafeBufferPointer<RowRef>
    var count: Int { refs.count }
    @inline(__always) func source(_ index: Int) -> Int { Int(refs[index].source) }
    @inline(__always) func row(_ index: Int) -> Int { Int(refs[index].row) }
}

/// Gather kernels ("take"): build a new array from chosen rows. Fixed-width values move by
/// byte width, so one loop serves every type of that width.
///
/// Take lives here, not beside `ArrayData.concatenate` in QuiverArrow, because only the query
/// engine gathers rows, and its loops are specialised per row-index source (`SingleRows`,
/// `MultiRows`) and per width for the engine's types. Concatenation, bitmaps and re-basing
/// are QuiverArrow's (`ArrayData.concatenate`, `BitCopy`, `Bitmaps`).
enum Take {
    /// Rows `rows` of one array.
    static func take(_ data: ArrayData, rows: [Int32], pool: MemoryPool) throws -> ArrayData {
        try rows.withUnsafeBufferPointer { try gather([data], SingleRows(rows: $0), pool: pool) }
    }

    /// Rows picked from several arrays of one type.
    static func take(_ sources: [ArrayData], refs: [RowRef], pool: MemoryPool) throws -> ArrayData {
        try refs.withUnsafeBufferPointer { try gather(sources, MultiRows(refs: $0), pool: pool) }
    }

    /// All rows of several arrays of one type, in order: `ArrayData.concatenate`, except that
    /// dictionary arrays with different dictionaries are decoded first (concatenate keeps the
    /// last dictionary, which is right only for IPC delta dictionaries).
    static func concatenate(_ sources: [ArrayData], pool: MemoryPool) throws -> ArrayData {
        if sources.count == 1 { return sources[0] }
        if case .dictionary = sources[0].type.storageType,
            !sources.allSatisfy({ $0.dictionary.map { sameArray($0, sources[0].dictionary) } ?? false })
        {
            return try ArrayData.concatenate(sources.map { try decodeDictionary($0, pool: pool) }, pool: pool)
        }
        return try ArrayData.concatenate(sources, pool: pool)
    }

    /// A dictionary array as a plain array of its values.
    static func decodeDictionary(_ data: ArrayData, pool: MemoryPool) throws -> ArrayData {
        guard case .dictionary(let indexType, let valueType, _) = data.type.storageType,
            let dictionary = data.dictionary, NumberKind(indexType) != nil
        else { return data }
        if dictionary.length == 0 { return Output.nulls(valueType, length: data.length, pool: pool) }
        let rows = try indexRows(data)
        var decoded = try take(dictionary, rows: rows, pool: pool)
        // Slots null in the indices are null in the result, whatever their index points at.
        if data.nullCount > 0 {
            let validity = Bitmaps.intersect([Bitmaps.validity(data), Bitmaps.validity(decoded)], count: data.length, pool: pool)
            decoded = Output.array(decoded.type, length: data.length, validity: validity, Array(decoded.buffers.dropFirst()))
        }
        return decoded
    }

    /// A dictionary array's indices as row numbers into its dictionary; rows whose index is
    /// NULL get `nullRow` when given.
    static func indexRows(_ data: ArrayData, nullRow: Int32? = nil) throws -> [Int32] {
        guard case .dictionary(let indexType, _, _) = data.type.storageType, let kind = NumberKind(indexType) else {
            throw QuiverError(.query, "internal: \(data.type) is not a dictionary")
        }
        return try kind.visit(IndicesAsRows(data: data, nullRow: nullRow))
    }

    private struct IndicesAsRows: NumberVisitor {
        let data: ArrayData
        let nullRow: Int32?
        func visit<T: NumberValue>(_ type: T.Type) throws -> [Int32] {
            let indices = Columns.values(data, as: T.self)
            var rows = (0..<data.length).map { Int32(truncatingIfNeeded: indices[$0].int128Value) }
            if let nullRow, let validity = Bitmaps.validity(data) {
                for row in 0..<data.length where !validity[row] { rows[row] = nullRow }
            }
            return rows
        }
    }

    /// The validity of `data` as a bitmap starting at bit 0 (empty when no slot is null): a
    /// zero-copy slice when the offset is byte-aligned, else a copy.
    static func copyValidity(_ data: ArrayData, pool: MemoryPool) throws -> Buffer {
        guard data.nullCount > 0, let validity = data.validity else { return .empty }
        return try BitCopy.rebase(validity, start: data.offset, count: data.length, pool: pool, "validity")
    }

    static func gather<I: RowIndices>(_ sources: [ArrayData], _ indices: I, pool: MemoryPool) throws -> ArrayData {
        guard let first = sources.first else { throw QuiverError(.query, "take from no arrays") }
        let type = first.type
        let count = indices.count
        let validity = gatherValidity(sources, indices, pool: pool)
        switch type.storageType {
        case .null:
            return ArrayData(uncheckedType: type, length: count, nullCount: count, buffers: [])
        case .boolean:
            let bits = sources.map { Columns.bits($0) }
            let writer = Bitmaps.build(count: count, pool: pool) { bits[indices.source($0)][indices.row($0)] }
            return Output.array(type, length: count, validity: validity, [writer.finish()])
        case .utf8, .binary:
            return try gatherStrings(sources, indices, Int32.self, validity, pool)
        case .largeUtf8, .largeBinary:
            return try gatherStrings(sources, indices, Int64.self, validity, pool)
        case .dictionary:
            let dictionary = first.dictionary
            let shared = sources.allSatisfy { $0.dictionary.map { sameArray($0, dictionary) } ?? false }
            guard shared else {
                return try gather(sources.map { try decodeDictionary($0, pool: pool) }, indices, pool: pool)
            }
            var result = try gatherFixed(sources, indices, validity, pool)
            result.dictionary = dictionary
            return result
        default:
            guard ColumnCheck.isFixedWidth(type.storageType) else {
                throw QuiverError(.query, "cannot filter, sort or reorder \(type) columns")
            }
            return try gatherFixed(sources, indices, validity, pool)
        }
    }

    /// Whether two arrays are the same view of the same bytes (cheap identity, not equality).
    private static func sameArray(_ a: ArrayData, _ b: ArrayData?) -> Bool {
        guard let b else { return false }
        return a.length == b.length && a.offset == b.offset && a.buffers.count == b.buffers.count
            && zip(a.buffers, b.buffers).allSatisfy { $0.baseAddress == $1.baseAddress && $0.count == $1.count }
    }

    private static func gatherValidity<I: RowIndices>(
        _ sources: [ArrayData], _ indices: I, pool: MemoryPool
    ) -> (Buffer, nullCount: Int)? {
        let views = sources.map { Bitmaps.validity($0) }
        guard views.contains(where: { $0 != nil }) else { return nil }
        let writer = Bitmaps.build(count: indices.count, pool: pool) {
            views[indices.source($0)]?[indices.row($0)] ?? true
        }
        let nulls = indices.count - writer.popCount()
        return nulls == 0 ? nil : (writer.finish(), nulls)
    }

    private static func gatherFixed<I: RowIndices>(
        _ sources: [ArrayData], _ indices: I, _ validity: (Buffer, nullCount: Int)?, _ pool: MemoryPool
    ) throws -> ArrayData {
        let type = sources[0].type
        let indexType: DataType
        if case .dictionary(let index, _, _) = type.storageType { indexType = index } else { indexType = type }
        let values: Buffer
        switch indexType.fixedByteWidth {
        case 1: values = moveFixed(sources, indices, UInt8.self, pool)
        case 2: values = moveFixed(sources, indices, UInt16.self, pool)
        case 4: values = moveFixed(sources, indices, UInt32.self, pool)
        case 8: values = moveFixed(sources, indices, UInt64.self, pool)
        case 16: values = moveFixed(sources, indices, Int128.self, pool)
        default: throw QuiverError(.unsupported, "cannot gather \(type)")
        }
        return Output.array(type, length: indices.count, validity: validity, [values])
    }

    private static func moveFixed<I: RowIndices, T: BitwiseCopyable>(
        _ sources: [ArrayData], _ indices: I, _ type: T.Type, _ pool: MemoryPool
    ) -> Buffer {
        let bases = sources.map { Columns.values($0, as: T.self) }
        return Output.fixed(T.self, count: indices.count, pool: pool) { out in
            for index in 0..<indices.count {
                out[index] = bases[indices.source(index)][indices.row(index)]
            }
        }
    }

    private static func gatherStrings<I: RowIndices, O: FixedWidthInteger & BitwiseCopyable>(
        _ sources: [ArrayData], _ indices: I, _ offsets: O.Type,
        _ validity: (Buffer, nullCount: Int)?, _ pool: MemoryPool
    ) throws -> ArrayData {
        let views = sources.map { Columns.strings($0, offsets: O.self) }
        var total = 0
        for index in 0..<indices.count { total += views[indices.source(index)][indices.row(index)].count }
        guard total <= Int(O.max) else {
            throw QuiverError(.capacityExceeded, "gathered strings exceed the \(O.self) offsets of \(sources[0].type)")
        }
        let data = pool.allocate(byteCount: total)
        var position = 0
        let offsetBuffer = Output.fixed(O.self, count: indices.count + 1, pool: pool) { out in
            out[0] = 0
            for index in 0..<indices.count {
                let value = views[indices.source(index)][indices.row(index)]
                if value.count > 0 { (data.pointer + position).copyMemory(from: value.start, byteCount: value.count) }
                position += value.count
                out[index + 1] = O(truncatingIfNeeded: position)
            }
        }
        return Output.array(sources[0].type, length: indices.count, validity: validity, [offsetBuffer, data.buffer(count: total)])
    }
}

extension ScalarArrays {
    /// An array of `type` holding `scalars` (each null or of `type`).
    static func array(of scalars: [Scalar], type: DataType, pool: MemoryPool) throws -> ArrayData {
        let count = scalars.count
        var nulls = 0
        let validity = Bitmaps.build(count: count, pool: pool) { !scalars[$0].isNull }
        nulls = count - validity.popCount()
        let valid = nulls > 0 ? (validity.finish(), nulls) : nil
        switch type.storageType {
        case .boolean:
            let bits = Bitmaps.build(count: count, pool: pool) {
                if case .bool(true) = scalars[$0].payload { return true }
                return false
            }
            return Output.array(type, length: count, validity: valid, [bits.finish()])
        case .utf8, .binary, .largeUtf8, .largeBinary:
            var builder = StringBuilder(type: type, capacity: count, pool: pool)
            for scalar in scalars {
                if case .bytes(let bytes) = scalar.payload {
                    try bytes.withUnsafeBytes { try builder.append($0) }
                } else {
                    builder.appendNull()
                }
            }
            return builder.finish()
        case .null:
            return ArrayData(uncheckedType: type, length: count, nullCount: count, buffers: [])
        default:
            guard let kind = NumberKind(type) else { throw QuiverError(.unsupported, "cannot build \(type)") }
            let values = try kind.visit(Numbers(scalars: scalars, pool: pool))
            return Output.array(type, length: count, validity: valid, [values])
        }
    }

    private struct Numbers: NumberVisitor {
        let scalars: [Scalar]
        let pool: MemoryPool
        func visit<T: NumberValue>(_ type: T.Type) throws -> Buffer {
            Output.fixed(T.self, count: scalars.count, pool: pool) { out in
                for (index, scalar) in scalars.enumerated() {
                    out[index] = ScalarArrays.number(scalar, as: T.self) ?? .zero
                }
            }
        }
    }
}
