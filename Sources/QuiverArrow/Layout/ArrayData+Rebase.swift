import QuiverBytes

extension ArrayData {
    /// The same values with `offset == 0` and every buffer trimmed to exactly this array's
    /// slots, as the IPC format requires: bitmaps start at bit 0 (zero-copy when the offset is
    /// byte-aligned, else one shifted copy), offsets start at 0 (shifted copy only when they
    /// do not), values are sliced, children are cut to the range the parent references, and
    /// null counts are recounted from the bitmap (a bitmap without nulls is dropped).
    /// Dictionaries are kept as they are (they travel in their own messages).
    ///
    /// Every size is checked before it is used, so inconsistent array data throws
    /// `invalidData` instead of reading out of bounds. Cost: O(1) per buffer for most
    /// layouts, O(length) for list views, dense unions and shifted offsets.
    package func rebased(pool: MemoryPool) throws -> ArrayData {
        let storage = type.storageType
        let layout = storage.layout
        let fields = storage.children
        guard offset >= 0, length >= 0 else {
            throw QuiverError(.invalidData, "negative offset \(offset) or length \(length)")
        }
        guard buffers.count == layout.count || (storage.hasVariadicBuffers && buffers.count > layout.count) else {
            throw QuiverError(.invalidData, "\(type) array has \(buffers.count) buffers, its layout needs \(layout.count)")
        }
        guard children.count == fields.count else {
            throw QuiverError(.invalidData, "\(type) array has \(children.count) children, its type needs \(fields.count)")
        }
        var newBuffers: [Buffer] = []
        var newChildren: [ArrayData] = []
        var newNullCount = 0
        if layout.first == .validity {
            let validity = try rebasedValidity(pool: pool)
            newBuffers = [validity.bitmap]
            newNullCount = validity.nullCount
        }
        switch storage {
        case .null:
            newNullCount = length
        case .boolean:
            newBuffers.append(try BitCopy.rebase(buffers[1], start: offset, count: length, pool: pool, "boolean values"))
        case .binary, .utf8, .largeBinary, .largeUtf8, .list, .largeList, .map:
            let rebase = OffsetsRebase(buffer: buffers[1], offset: offset, length: length, pool: pool)
            let offsets = try IntegerWidth(layout[1]).visit(rebase)
            newBuffers.append(offsets.buffer)
            if layout.count > 2 {
                newBuffers.append(try sliceBytes(buffers[2], offsets.first, offsets.last - offsets.first, "data"))
            } else {
                let child = try children[0].checkedSlice(
                    from: offsets.first, length: offsets.last - offsets.first, "list child")
                newChildren = [try child.rebased(pool: pool)]
            }
        case .listView, .largeListView:
            let rebase = ListViewRebase(
                offsets: buffers[1], sizes: buffers[2], offset: offset, length: length,
                childLength: children[0].length, pool: pool)
            let views = try IntegerWidth(layout[1]).visit(rebase)
            newBuffers += [views.offsets, views.sizes]
            let child = try children[0].checkedSlice(from: views.childStart, length: views.childCount, "list view child")
            newChildren = [try child.rebased(pool: pool)]
        case .binaryView, .utf8View:
            newBuffers.append(try sliceBytes(buffers[1], try checkedProduct(offset, 16), try checkedProduct(length, 16), "views"))
            newBuffers += buffers[2...]
        case .fixedSizeList(_, let listSize):
            let child = try children[0].checkedSlice(
                from: try checkedProduct(offset, listSize), length: try checkedProduct(length, listSize),
                "fixed-size list child")
            newChildren = [try child.rebased(pool: pool)]
        case .struct:
            newChildren = try children.map {
                try $0.checkedSlice(from: offset, length: length, "struct child").rebased(pool: pool)
            }
        case .union(.sparse, _, _):
            newBuffers.append(try sliceBytes(buffers[0], offset, length, "union type ids"))
            newChildren = try children.map {
                try $0.checkedSlice(from: offset, length: length, "union child").rebased(pool: pool)
            }
        case .union(.dense, _, let typeIds):
            (newBuffers, newChildren) = try rebasedDenseUnion(typeIds: typeIds, pool: pool)
        case .runEndEncoded:
            let rebase = RunEndsRebase(runEnds: children[0], offset: offset, length: length, pool: pool)
            let runs = try IntegerWidth(runEnds: children[0].type).visit(rebase)
            let values = try children[1].checkedSlice(from: runs.valuesStart, length: runs.runEnds.length, "run values")
            newChildren = [runs.runEnds, try values.rebased(pool: pool)]
        default:
            // Fixed-width values (including dictionary indices).
            guard let width = storage.valuesByteWidth else {
                throw QuiverError(.unsupported, "cannot re-base arrays of type \(type)")
            }
            newBuffers.append(
                try sliceBytes(buffers[1], try checkedProduct(offset, width), try checkedProduct(length, width), "values"))
        }
        return ArrayData(
            uncheckedType: type, length: length, nullCount: newNullCount, offset: 0, buffers: newBuffers,
            children: newChildren, dictionary: dictionary)
    }

    /// The validity bitmap for slots `[offset, offset + length)` and the exact null count;
    /// an empty bitmap when no slot is null.
    private func rebasedValidity(pool: MemoryPool) throws -> (bitmap: Buffer, nullCount: Int) {
        let bitmap = buffers[0]
        guard bitmap.count > 0 else {
            guard nullCount == 0 else {
                throw QuiverError(.invalidData, "null count \(nullCount) without a validity bitmap")
            }
            return (.empty, 0)
        }
        let end = try checkedSum(offset, length)
        guard BitUtil.byteCount(forBits: end) <= bitmap.count else {
            throw QuiverError(.invalidData, "validity bitmap of \(bitmap.count) bytes cannot hold bits [\(offset), \(end))")
        }
        let nulls = length - BitUtil.countSetBits(bitmap.baseAddress, from: offset, count: length)
        if nulls == 0 { return (.empty, 0) }
        return (try BitCopy.rebase(bitmap, start: offset, count: length, pool: pool, "validity"), nulls)
    }

    /// Dense unions: each child is cut to the offsets its slots use, and offsets shifted to match.
    private func rebasedDenseUnion(typeIds: [Int8], pool: MemoryPool) throws -> (buffers: [Buffer], children: [ArrayData]) {
        let ids = try IntegerReader<Int8>(buffers[0], start: offset, count: length, "union type ids")
        let offsets = try IntegerReader<Int32>(buffers[1], start: offset, count: length, "union offsets")
        let childOf = UnionTypeMap(typeIds)
        var low = [Int](repeating: Int.max, count: children.count)
        var high = [Int](repeating: 0, count: children.count)
        for slot in 0..<length {
            let child = try childOf.child(ids[slot])
            let position = Int(offsets[slot])
            guard position >= 0 else { throw QuiverError(.invalidData, "negative dense union offset \(position)") }
            low[child] = min(low[child], position)
            high[child] = max(high[child], position + 1)
        }
        let newChildren = try children.indices.map { child in
            low[child] == Int.max
                ? try children[child].checkedSlice(from: 0, length: 0, "union child").rebased(pool: pool)
                : try children[child].checkedSlice(from: low[child], length: high[child] - low[child], "union child")
                    .rebased(pool: pool)
        }
        let typeIdBuffer = buffers[0].uncheckedSlice(offset: offset, count: length)
        if low.allSatisfy({ $0 == 0 || $0 == Int.max }) {
            return ([typeIdBuffer, buffers[1].uncheckedSlice(offset: offset * 4, count: length * 4)], newChildren)
        }
        let allocation = pool.allocate(byteCount: length * 4)
        for slot in 0..<length {
            let shifted = offsets[slot] - Int32(low[try childOf.child(ids[slot])])
            allocation.pointer.storeBytes(of: shifted.littleEndian, toByteOffset: slot * 4, as: Int32.self)
        }
        return ([typeIdBuffer, allocation.buffer(count: length * 4)], newChildren)
    }
}

/// Throws unless `[offset, offset + count)` lies in `buffer`, then slices it (zero-copy).
func sliceBytes(_ buffer: Buffer, _ offset: Int, _ count: Int, _ what: String) throws -> Buffer {
    do {
        return try buffer.slice(offset: offset, count: count)
    } catch {
        throw QuiverError(.invalidData, "\(what) buffer of \(buffer.count) bytes cannot hold bytes [\(offset), +\(count))")
    }
}

/// Maps union type ids to child indices.
struct UnionTypeMap {
    private var table = [Int](repeating: -1, count: 128)

    init(_ typeIds: [Int8]) {
        for (child, id) in typeIds.enumerated() where id >= 0 { table[Int(id)] = child }
    }

    /// The child index a type id selects; throws for ids the type does not declare.
    @inline(__always)
    func child(_ id: Int8) throws -> Int {
        let child = id >= 0 ? table[Int(id)] : -1
        guard child >= 0 else {
            throw QuiverError(.invalidData, "union type id \(id) is not declared by the union type")
        }
        return child
    }
}

/// Offsets of `[offset, offset + length]` re-based to start at 0; also reports the original
/// first and last offset (the range of data or child the slots use).
private struct OffsetsRebase: IntegerWidthVisitor {
    let buffer: Buffer, offset: Int, length: Int, pool: MemoryPool

    func visit<T: SignedIntegerWidth>(_: T.Type) throws -> (buffer: Buffer, first: Int, last: Int) {
        let size = MemoryLayout<T>.size
        if length == 0 && buffer.count == 0 {
            // A zero-length array may omit its offsets; the format still wants one zero.
            return (pool.allocateZeroed(byteCount: size).buffer(count: size), 0, 0)
        }
        let offsets = try IntegerReader<T>(buffer, start: offset, count: length + 1, "offsets")
        let first = try offsets.int(0), last = try offsets.int(length)
        guard first >= 0, last >= first else {
            throw QuiverError(.invalidData, "offsets run from \(first) to \(last)")
        }
        if first == 0 { return (buffer.uncheckedSlice(offset: offset * size, count: (length + 1) * size), 0, last) }
        let allocation = pool.allocate(byteCount: (length + 1) * size)
        let shift = T(truncatingIfNeeded: first)
        for index in 0...length {
            allocation.pointer.storeBytes(of: (offsets[index] &- shift).littleEndian, toByteOffset: index * size, as: T.self)
        }
        return (allocation.buffer(count: (length + 1) * size), first, last)
    }
}

/// List views: the child range every non-empty view covers, offsets shifted into it.
private struct ListViewRebase: IntegerWidthVisitor {
    let offsets: Buffer, sizes: Buffer, offset: Int, length: Int, childLength: Int, pool: MemoryPool

    func visit<T: SignedIntegerWidth>(_: T.Type) throws -> (offsets: Buffer, sizes: Buffer, childStart: Int, childCount: Int) {
        let size = MemoryLayout<T>.size
        let starts = try IntegerReader<T>(offsets, start: offset, count: length, "list view offsets")
        let counts = try IntegerReader<T>(sizes, start: offset, count: length, "list view sizes")
        var low = Int.max, high = 0
        for slot in 0..<length {
            let count = try counts.int(slot)
            guard count > 0 else {
                guard count == 0 else { throw QuiverError(.invalidData, "negative list view size \(count)") }
                continue
            }
            let start = try starts.int(slot)
            guard start >= 0 else { throw QuiverError(.invalidData, "negative list view offset \(start)") }
            low = min(low, start)
            high = max(high, try checkedSum(start, count))
        }
        if low == Int.max { (low, high) = (0, 0) }
        let sizesSlice = sizes.uncheckedSlice(offset: offset * size, count: length * size)
        if low == 0 && high == childLength {
            return (offsets.uncheckedSlice(offset: offset * size, count: length * size), sizesSlice, 0, high)
        }
        let allocation = pool.allocate(byteCount: length * size)
        let shift = T(truncatingIfNeeded: low)
        for slot in 0..<length {
            let shifted: T = counts[slot] > 0 ? starts[slot] &- shift : 0
            allocation.pointer.storeBytes(of: shifted.littleEndian, toByteOffset: slot * size, as: T.self)
        }
        return (allocation.buffer(count: length * size), sizesSlice, low, high - low)
    }
}

/// Run-end encoding: the runs covering logical slots `[offset, offset + length)`, with run
/// ends made relative to the new start and the last one clamped to `length`.
private struct RunEndsRebase: IntegerWidthVisitor {
    let runEnds: ArrayData, offset: Int, length: Int, pool: MemoryPool

    func visit<T: SignedIntegerWidth>(_: T.Type) throws -> (runEnds: ArrayData, valuesStart: Int) {
        let size = MemoryLayout<T>.size
        guard runEnds.buffers.count == 2, runEnds.offset >= 0 else {
            throw QuiverError(.invalidData, "run ends child has \(runEnds.buffers.count) buffers, needs 2")
        }
        if length == 0 {
            return (ArrayData(uncheckedType: runEnds.type, length: 0, buffers: [.empty, .empty]), 0)
        }
        let ends = try IntegerReader<T>(runEnds.buffers[1], start: runEnds.offset, count: runEnds.length, "run ends")
        let end = try checkedSum(offset, length)
        // First run ending after `offset`, then first run reaching `end` (run ends ascend).
        func firstRun(endingAfter position: Int, from start: Int) throws -> Int {
            var low = start, high = ends.count
            while low < high {
                let middle = low + (high - low) / 2
                if try ends.int(middle) > position { high = middle } else { low = middle + 1 }
            }
            return low
        }
        let first = try firstRun(endingAfter: offset, from: 0)
        let last = try firstRun(endingAfter: end - 1, from: first)
        guard last < ends.count else {
            throw QuiverError(.invalidData, "run ends stop before slot \(end - 1) of a run-end encoded array")
        }
        let count = last - first + 1
        let lastEnd = try ends.int(last)
        if offset == 0 && first == 0 && lastEnd == end {
            let buffer = runEnds.buffers[1].uncheckedSlice(offset: runEnds.offset * size, count: count * size)
            return (ArrayData(uncheckedType: runEnds.type, length: count, buffers: [.empty, buffer]), 0)
        }
        let allocation = pool.allocate(byteCount: count * size)
        for run in 0..<count {
            let relative = T(truncatingIfNeeded: min(try ends.int(first + run), end) - offset)
            allocation.pointer.storeBytes(of: relative.littleEndian, toByteOffset: run * size, as: T.self)
        }
        return (ArrayData(uncheckedType: runEnds.type, length: count, buffers: [.empty, allocation.buffer(count: count * size)]), first)
    }
}
