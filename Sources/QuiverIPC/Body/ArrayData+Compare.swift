import QuiverArrow
import QuiverBytes

extension ArrayData {
    /// Whether both arrays encode to the same IPC bytes: same type and length, and after
    /// re-basing the same null count, bitmaps equal over their slots (bits past the end are
    /// ignored) and every other buffer byte-equal, children likewise. Values under null
    /// slots count, so this is stricter than logical equality — the right test for "may the
    /// writer skip or delta-encode this dictionary". Dictionaries are compared only when
    /// `includingDictionaries`.
    ///
    /// O(1) when both share their buffers; otherwise O(data), and it may allocate re-based
    /// copies from `pool`.
    func hasSameContents(as other: ArrayData, includingDictionaries: Bool = false, pool: MemoryPool = .default) throws -> Bool {
        guard type == other.type, length == other.length else { return false }
        if sharesStorage(with: other, includingDictionaries: includingDictionaries) { return true }
        return try ArrayData.rebasedEqual(
            try rebased(pool: pool), try other.rebased(pool: pool), includingDictionaries: includingDictionaries, pool: pool)
    }

    /// Same slice of the very same buffers (identity, not contents).
    private func sharesStorage(with other: ArrayData, includingDictionaries: Bool) -> Bool {
        guard type == other.type, length == other.length, offset == other.offset, nullCount == other.nullCount,
            buffers.count == other.buffers.count, children.count == other.children.count,
            zip(buffers, other.buffers).allSatisfy({ $0.baseAddress == $1.baseAddress && $0.count == $1.count }),
            zip(children, other.children).allSatisfy({ $0.sharesStorage(with: $1, includingDictionaries: includingDictionaries) })
        else { return false }
        guard includingDictionaries else { return true }
        switch (dictionary, other.dictionary) {
        case (nil, nil): return true
        case (let a?, let b?): return a.sharesStorage(with: b, includingDictionaries: true)
        default: return false
        }
    }

    private static func rebasedEqual(
        _ a: ArrayData, _ b: ArrayData, includingDictionaries: Bool, pool: MemoryPool
    ) throws -> Bool {
        guard a.type == b.type, a.length == b.length, a.nullCount == b.nullCount,
            a.buffers.count == b.buffers.count, a.children.count == b.children.count
        else { return false }
        let layout = a.type.storageType.layout
        for index in a.buffers.indices {
            let kind = index < layout.count ? layout[index] : .data
            let equal = kind == .validity || kind == .bits
                ? bitsEqual(a.buffers[index], b.buffers[index], count: a.length)
                : a.buffers[index].contentEquals(b.buffers[index])
            if !equal { return false }
        }
        for (x, y) in zip(a.children, b.children)
        where try !rebasedEqual(x, y, includingDictionaries: includingDictionaries, pool: pool) {
            return false
        }
        guard includingDictionaries else { return true }
        switch (a.dictionary, b.dictionary) {
        case (nil, nil): return true
        case (let x?, let y?): return try x.hasSameContents(as: y, includingDictionaries: true, pool: pool)
        default: return false
        }
    }

    /// Compares the first `count` bits of two bitmaps (both empty counts as equal).
    private static func bitsEqual(_ a: Buffer, _ b: Buffer, count: Int) -> Bool {
        if a.count == 0 || b.count == 0 { return a.count == b.count }
        let whole = count / 8
        guard a.count >= BitUtil.byteCount(forBits: count), b.count >= BitUtil.byteCount(forBits: count),
            system_memcmp(a.baseAddress, b.baseAddress, whole) == 0
        else { return false }
        for bit in (whole * 8)..<count where BitUtil.get(a.baseAddress, bit) != BitUtil.get(b.baseAddress, bit) {
            return false
        }
        return true
    }
}
