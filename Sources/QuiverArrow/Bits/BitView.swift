import QuiverBytes

// Bitmaps read and written 64 bits at a time, for the query kernels' hot loops. Everything
// here is `@inlinable` so that QuiverQuery's loops specialise and inline it exactly as they
// did when it lived in that module.

/// A read-only view of `count` bits starting at bit `offset` of a bitmap, read 64 at a time.
///
/// Arrow bitmaps may start at any bit (sliced arrays) and need not be padded past their last
/// byte, so `word(_:)` reads only bytes inside `[offset, offset + count)` and shifts
/// unaligned starts into place; bits past `count` read as zero.
@usableFromInline
package struct BitView {
    @usableFromInline package let base: UnsafeRawPointer
    @usableFromInline package let offset: Int
    @usableFromInline package let count: Int

    @inlinable
    package init(_ base: UnsafeRawPointer, offset: Int, count: Int) {
        self.base = base
        self.offset = offset
        self.count = count
    }

    @inlinable
    package var wordCount: Int { (count + 63) >> 6 }

    /// Bits `[64 * index, 64 * index + 64)` of the view, LSB first.
    @inlinable @inline(__always)
    package func word(_ index: Int) -> UInt64 {
        let start = offset + index << 6
        let byte = start >> 3
        let shift = start & 7
        let endByte = (offset + count + 7) >> 3
        var value: UInt64
        if byte + 9 <= endByte {
            value = base.loadUnaligned(fromByteOffset: byte, as: UInt64.self) >> UInt64(shift)
            if shift != 0 {
                value |= UInt64(base.load(fromByteOffset: byte + 8, as: UInt8.self)) << UInt64(64 - shift)
            }
        } else {
            value = 0
            var position = 0
            while byte + position < endByte && position < 9 {
                let b = UInt64(base.load(fromByteOffset: byte + position, as: UInt8.self))
                let bitIndex = position * 8 - shift
                if bitIndex >= 0 { value |= b << UInt64(bitIndex) } else { value |= b >> UInt64(-bitIndex) }
                position += 1
            }
        }
        let remaining = count - index << 6
        return remaining >= 64 ? value : value & ((1 << UInt64(remaining)) - 1)
    }

    /// Bit `index` of the view.
    @inlinable @inline(__always)
    package subscript(index: Int) -> Bool { BitUtil.get(base, offset + index) }
}

/// A bitmap being written a word at a time; `finish` hands it over as a buffer.
@usableFromInline
package struct BitmapWriter {
    @usableFromInline package let allocation: HeapAllocation
    @usableFromInline package let count: Int
    @inlinable
    package var words: UnsafeMutablePointer<UInt64> { allocation.pointer.assumingMemoryBound(to: UInt64.self) }

    /// Allocates `count` bits from `pool`, uninitialised.
    @inlinable
    package init(count: Int, pool: MemoryPool) {
        self.count = count
        // Pool allocations are rounded up to 64 bytes, so whole trailing words are in bounds.
        allocation = pool.allocate(byteCount: ((count + 63) >> 6) * 8)
    }

    @inlinable
    package var wordCount: Int { (count + 63) >> 6 }

    /// Sets word `index`, clearing bits past `count` so the buffer is canonical.
    @inlinable @inline(__always)
    package func set(word index: Int, _ value: UInt64) {
        let remaining = count - index << 6
        words[index] = remaining >= 64 ? value : value & ((1 << UInt64(remaining)) - 1)
    }

    /// The bitmap as a buffer of `count` bits.
    @inlinable
    package func finish() -> Buffer { allocation.buffer(count: BitUtil.byteCount(forBits: count)) }

    /// The number of set bits.
    @inlinable
    package func popCount() -> Int {
        var total = 0
        for index in 0..<wordCount { total += words[index].nonzeroBitCount }
        return total
    }
}

/// Whole-bitmap operations over `BitView` and `BitmapWriter`.
@usableFromInline
package enum Bitmaps {
    /// The validity of `data` as a view, or nil when every slot is valid.
    @inlinable
    package static func validity(_ data: ArrayData) -> BitView? {
        guard data.nullCount > 0, let buffer = data.validity else { return nil }
        return BitView(buffer.baseAddress, offset: data.offset, count: data.length)
    }

    /// The AND of several validities (nil entries are all-valid) as a fresh bitmap and its
    /// null count, or nil when no input has nulls.
    @inlinable
    package static func intersect(_ views: [BitView?], count: Int, pool: MemoryPool) -> (Buffer, nullCount: Int)? {
        let present = views.compactMap { $0 }
        guard !present.isEmpty else { return nil }
        let writer = BitmapWriter(count: count, pool: pool)
        for word in 0..<writer.wordCount {
            var value = UInt64.max
            for view in present { value &= view.word(word) }
            writer.set(word: word, value)
        }
        let valid = writer.popCount()
        return (writer.finish(), count - valid)
    }

    /// Writes a bitmap from a per-row test, 64 rows per word with no branches, so the compiler
    /// vectorises the inner loop. The test is a type, not a closure: a generic loop over it is
    /// reliably specialised, whereas a closure argument can stay an indirect call per row.
    @inlinable @inline(__always)
    package static func build<Test: RowTest>(count: Int, pool: MemoryPool, _ test: Test) -> BitmapWriter {
        let writer = BitmapWriter(count: count, pool: pool)
        var row = 0
        var word = 0
        while row + 64 <= count {
            var value: UInt64 = 0
            for lane in 0..<64 { value |= (test(row + lane) ? 1 : 0) << UInt64(lane) }
            writer.words[word] = value
            row += 64
            word += 1
        }
        if row < count {
            var value: UInt64 = 0
            for lane in 0..<(count - row) { value |= (test(row + lane) ? 1 : 0) << UInt64(lane) }
            writer.words[word] = value
        }
        return writer
    }

    /// `build` for tests that are not hot enough to deserve a type.
    @inlinable
    package static func build(count: Int, pool: MemoryPool, _ test: (Int) -> Bool) -> BitmapWriter {
        withoutActuallyEscaping(test) { build(count: count, pool: pool, ClosureTest(body: $0)) }
    }
}

/// A boolean per row.
@usableFromInline
package protocol RowTest {
    func callAsFunction(_ row: Int) -> Bool
}

/// A `RowTest` that calls a closure.
@usableFromInline
package struct ClosureTest: RowTest {
    @usableFromInline package let body: (Int) -> Bool
    @inlinable package init(body: @escaping (Int) -> Bool) { self.body = body }
    @inlinable @inline(__always) package func callAsFunction(_ row: Int) -> Bool { body(row) }
}
