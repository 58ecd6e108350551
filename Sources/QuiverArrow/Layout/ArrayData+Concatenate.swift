import QuiverBytes

extension ArrayData {
    /// Concatenates arrays of one type into a new array (pyarrow's `pa.concat_arrays`); used
    /// to apply IPC delta dictionaries, to compact store batches and by the query engine's
    /// sort. One generic path over every layout: each input is
    /// re-based, then bitmaps are bit-copied, offsets/run ends shifted, view buffer indices
    /// renumbered, and children concatenated recursively. Dictionary arrays keep the
    /// dictionary of the last input (deltas only ever extend it).
    ///
    /// Cost: one copy of all values into `pool` allocations (a single input is returned as
    /// is). Throws `typeMismatch` for differing types, `invalidData` for inconsistent inputs
    /// or 32-bit offsets that would overflow.
    public static func concatenate(_ arrays: [ArrayData], pool: MemoryPool = .default) throws -> ArrayData {
        guard let first = arrays.first else {
            throw QuiverError(.invalidArgument, "concatenate needs at least one array")
        }
        for array in arrays where array.type != first.type {
            throw QuiverError(.typeMismatch, "cannot concatenate \(array.type) to \(first.type)")
        }
        if arrays.count == 1 { return first }
        return try concatenateRebased(try arrays.map { try $0.rebased(pool: pool) }, pool: pool)
    }

    /// Concatenates re-based arrays (offset 0, offsets starting at 0, children trimmed).
    private static func concatenateRebased(_ parts: [ArrayData], pool: MemoryPool) throws -> ArrayData {
        let type = parts[0].type
        let storage = type.storageType
        let layout = storage.layout
        let length = try parts.reduce(0) { try checkedSum($0, $1.length) }
        var buffers: [Buffer] = []
        var nullCount = 0
        if layout.first == .validity {
            nullCount = parts.reduce(0) { $0 + $1.nullCount }
            buffers.append(nullCount == 0 ? .empty : concatenateBits(parts, buffer: 0, totalBits: length, pool: pool))
        }
        func bytes(_ index: Int) throws -> Buffer { try concatenateBytes(parts.map { $0.buffers[index] }, pool: pool) }
        func child(_ index: Int) throws -> ArrayData {
            try concatenateRebased(parts.map { $0.children[index] }, pool: pool)
        }
        /// One integer buffer from every part, each part's values shifted by what the parts
        /// before it `advance`d (data bytes, child slots, logical length).
        func shifted(
            _ width: IntegerWidth, leadingZero: Bool, _ piece: (ArrayData) -> (buffer: Buffer, start: Int, count: Int),
            advance: (ArrayData) -> Int
        ) throws -> Buffer {
            var base = 0
            var pieces: [ShiftedConcatenation.Piece] = []
            for part in parts {
                let (buffer, start, count) = piece(part)
                pieces.append(.init(buffer: buffer, start: start, count: count, shift: base))
                base = try checkedSum(base, advance(part))
            }
            return try width.visit(ShiftedConcatenation(pieces: pieces, leadingZero: leadingZero, pool: pool))
        }
        var children: [ArrayData] = []
        switch storage {
        case .null:
            nullCount = length
        case .boolean:
            buffers.append(concatenateBits(parts, buffer: 1, totalBits: length, pool: pool))
        case .binary, .utf8, .largeBinary, .largeUtf8:
            // Rebased offsets start at 0: each part continues where the data before it ends.
            buffers.append(
                try shifted(IntegerWidth(layout[1]), leadingZero: true, { ($0.buffers[1], 1, $0.length) }) {
                    $0.buffers[2].count
                })
            buffers.append(try bytes(2))
        case .list, .largeList, .map:
            buffers.append(
                try shifted(IntegerWidth(layout[1]), leadingZero: true, { ($0.buffers[1], 1, $0.length) }) {
                    $0.children[0].length
                })
            children = [try child(0)]
        case .listView, .largeListView:
            buffers.append(
                try shifted(IntegerWidth(layout[1]), leadingZero: false, { ($0.buffers[1], 0, $0.length) }) {
                    $0.children[0].length
                })
            buffers.append(try bytes(2))
            children = [try child(0)]
        case .binaryView, .utf8View:
            buffers.append(try concatenateViews(parts, pool: pool))
            buffers += parts.flatMap { $0.buffers[2...] }
        case .fixedSizeList, .struct, .union(.sparse, _, _):
            if case .union = storage { buffers.append(try bytes(0)) }
            children = try storage.children.indices.map { try child($0) }
        case .union(.dense, _, let typeIds):
            buffers.append(try bytes(0))
            buffers.append(try concatenateDenseOffsets(parts, typeIds: typeIds, pool: pool))
            children = try storage.children.indices.map { try child($0) }
        case .runEndEncoded:
            let runEnds = try shifted(
                try IntegerWidth(runEnds: parts[0].children[0].type), leadingZero: false,
                { ($0.children[0].buffers[1], 0, $0.children[0].length) }
            ) { $0.length }
            let runs = parts.reduce(0) { $0 + $1.children[0].length }
            children = [
                ArrayData(uncheckedType: parts[0].children[0].type, length: runs, buffers: [.empty, runEnds]),
                try child(1),
            ]
        default:
            buffers.append(try bytes(1))
        }
        return ArrayData(
            uncheckedType: type, length: length, nullCount: nullCount, buffers: buffers, children: children,
            dictionary: parts.last?.dictionary)
    }

    /// Bitmap `buffer` of every part, one after the other; parts without one are all ones.
    private static func concatenateBits(_ parts: [ArrayData], buffer index: Int, totalBits: Int, pool: MemoryPool) -> Buffer {
        let byteCount = BitUtil.byteCount(forBits: totalBits)
        let allocation = pool.allocateZeroed(byteCount: byteCount)
        var position = 0
        for part in parts {
            let bits = part.buffers[index]
            if bits.count == 0 {
                BitCopy.setAll(allocation.pointer, from: position, count: part.length)
            } else {
                BitCopy.copy(bits.baseAddress, from: 0, to: allocation.pointer, at: position, count: part.length)
            }
            position += part.length
        }
        return allocation.buffer(count: byteCount)
    }

    /// View structs of every part; out-of-line views get their buffer index renumbered past
    /// the variadic buffers of the parts before.
    private static func concatenateViews(_ parts: [ArrayData], pool: MemoryPool) throws -> Buffer {
        let total = parts.reduce(0) { $0 + $1.length }
        let allocation = pool.allocate(byteCount: total * 16)
        var slot = 0
        var bufferBase = 0
        for part in parts {
            let views = try IntegerReader<Int32>(part.buffers[1], start: 0, count: part.length * 4, "views")
            (allocation.pointer + slot * 16).copyMemory(from: views.base, byteCount: part.length * 16)
            if bufferBase > 0 {
                for view in 0..<part.length where views[view * 4] > 12 {
                    let renumbered = views[view * 4 + 2] + Int32(bufferBase)
                    allocation.pointer.storeBytes(
                        of: renumbered.littleEndian, toByteOffset: (slot + view) * 16 + 8, as: Int32.self)
                }
            }
            slot += part.length
            bufferBase += part.buffers.count - 2
        }
        return allocation.buffer(count: total * 16)
    }

    /// Dense union offsets, each shifted past the same child's slots in the parts before.
    private static func concatenateDenseOffsets(_ parts: [ArrayData], typeIds: [Int8], pool: MemoryPool) throws -> Buffer {
        let childOf = UnionTypeMap(typeIds)
        let total = parts.reduce(0) { $0 + $1.length }
        let allocation = pool.allocate(byteCount: total * 4)
        var base = [Int](repeating: 0, count: typeIds.count)
        var slot = 0
        for part in parts {
            let ids = try IntegerReader<Int8>(part.buffers[0], start: 0, count: part.length, "union type ids")
            let offsets = try IntegerReader<Int32>(part.buffers[1], start: 0, count: part.length, "union offsets")
            for index in 0..<part.length {
                guard let shifted = Int32(exactly: Int(offsets[index]) + base[try childOf.child(ids[index])]) else {
                    throw QuiverError(.invalidData, "dense union offsets overflow int32")
                }
                allocation.pointer.storeBytes(of: shifted.littleEndian, toByteOffset: slot * 4, as: Int32.self)
                slot += 1
            }
            for child in base.indices { base[child] += part.children[child].length }
        }
        return allocation.buffer(count: total * 4)
    }
}

/// Integers of several buffers, one after the other, each piece shifted by its own amount
/// (offsets continue where the previous part ended; run ends likewise).
private struct ShiftedConcatenation: IntegerWidthVisitor {
    struct Piece {
        var buffer: Buffer, start: Int, count: Int, shift: Int
    }
    let pieces: [Piece]
    /// Begin with one zero (offsets buffers have `length + 1` entries).
    let leadingZero: Bool
    let pool: MemoryPool

    func visit<T: SignedIntegerWidth>(_: T.Type) throws -> Buffer {
        let size = MemoryLayout<T>.size
        let total = pieces.reduce(leadingZero ? 1 : 0) { $0 + $1.count }
        let allocation = pool.allocate(byteCount: total * size)
        var position = 0
        if leadingZero {
            allocation.pointer.storeBytes(of: T.zero, as: T.self)
            position = 1
        }
        for piece in pieces {
            let values = try IntegerReader<T>(piece.buffer, start: piece.start, count: piece.count, "offsets")
            guard let shift = T(exactly: piece.shift) else {
                throw QuiverError(.invalidData, "concatenated offsets overflow \(T.self)")
            }
            for index in 0..<piece.count {
                let (value, overflow) = values[index].addingReportingOverflow(shift)
                guard !overflow else { throw QuiverError(.invalidData, "concatenated offsets overflow \(T.self)") }
                allocation.pointer.storeBytes(of: value.littleEndian, toByteOffset: position * size, as: T.self)
                position += 1
            }
        }
        return allocation.buffer(count: total * size)
    }
}
