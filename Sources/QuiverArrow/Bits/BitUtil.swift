import QuiverBytes

// The one home of Arrow bitmap arithmetic (LSB-first, as Arrow packs validity and boolean
// values), below every layer that reads or writes bitmaps:
// - `BitUtil`: single bits, byte counts and popcounts, for accessors and validation;
// - `BitCopy`: bit-granular copies, for re-basing and concatenating bitmaps;
// - `BitView` / `BitmapWriter` / `Bitmaps` (BitView.swift): 64 bits at a time, for the
//   query kernels' vectorised loops.

/// Bit-level helpers for validity bitmaps and boolean values (LSB-first, as Arrow packs them).
@usableFromInline
package enum BitUtil {
    /// Reads bit `index` of the bitmap at `bits`.
    @inlinable
    package static func get(_ bits: UnsafeRawPointer, _ index: Int) -> Bool {
        bits.load(fromByteOffset: index >> 3, as: UInt8.self) & (1 << UInt8(index & 7)) != 0
    }

    /// Sets bit `index` to `value`.
    @inlinable
    package static func set(_ bits: UnsafeMutableRawPointer, _ index: Int, _ value: Bool) {
        let byte = bits.load(fromByteOffset: index >> 3, as: UInt8.self)
        let mask = UInt8(1) << UInt8(index & 7)
        bits.storeBytes(of: value ? byte | mask : byte & ~mask, toByteOffset: index >> 3, as: UInt8.self)
    }

    /// Bytes needed for `bitCount` bits (no overflow near `Int.max`: lengths can be hostile).
    @inlinable
    package static func byteCount(forBits bitCount: Int) -> Int { bitCount / 8 + (bitCount % 8 == 0 ? 0 : 1) }

    /// Counts the set bits in `[from, from + count)`.
    package static func countSetBits(_ bits: UnsafeRawPointer, from start: Int, count: Int) -> Int {
        guard count > 0 else { return 0 }
        var total = 0
        var index = start
        let end = start + count
        // Leading bits up to a byte boundary.
        while index < end && index & 7 != 0 {
            if get(bits, index) { total += 1 }
            index += 1
        }
        // Whole 64-bit words, then whole bytes.
        while end - index >= 64 {
            total += bits.loadUnaligned(fromByteOffset: index >> 3, as: UInt64.self).nonzeroBitCount
            index += 64
        }
        while end - index >= 8 {
            total += bits.load(fromByteOffset: index >> 3, as: UInt8.self).nonzeroBitCount
            index += 8
        }
        while index < end {
            if get(bits, index) { total += 1 }
            index += 1
        }
        return total
    }
}

/// Bitmap copying for re-basing and concatenating validity and boolean buffers.
package enum BitCopy {
    /// Copies `count` bits from bit `sourceStart` of `source` to bit `destinationStart` of
    /// `destination` (LSB-first). Reads only the source bytes that hold the copied bits.
    package static func copy(
        _ source: UnsafeRawPointer, from sourceStart: Int,
        to destination: UnsafeMutableRawPointer, at destinationStart: Int, count: Int
    ) {
        var s = sourceStart, d = destinationStart, n = count
        // Head: bit by bit until the destination is byte-aligned.
        while n > 0 && d & 7 != 0 {
            BitUtil.set(destination, d, BitUtil.get(source, s))
            s += 1; d += 1; n -= 1
        }
        let wholeBytes = n >> 3
        let out = destination + (d >> 3)
        let input = source + (s >> 3)
        let shift = UInt8(s & 7)
        if shift == 0 {
            out.copyMemory(from: input, byteCount: wholeBytes)
        } else {
            // Output byte i takes the high bits of input byte i and the low bits of byte i+1;
            // byte i+1 holds copied bits, so it is in range.
            for i in 0..<wholeBytes {
                let low = input.load(fromByteOffset: i, as: UInt8.self) >> shift
                let high = input.load(fromByteOffset: i + 1, as: UInt8.self) << (8 - shift)
                out.storeBytes(of: low | high, toByteOffset: i, as: UInt8.self)
            }
        }
        s += wholeBytes * 8; d += wholeBytes * 8; n -= wholeBytes * 8
        while n > 0 {
            BitUtil.set(destination, d, BitUtil.get(source, s))
            s += 1; d += 1; n -= 1
        }
    }

    /// Sets bits `[start, start + count)` to one.
    package static func setAll(_ destination: UnsafeMutableRawPointer, from start: Int, count: Int) {
        var d = start, n = count
        while n > 0 && d & 7 != 0 {
            BitUtil.set(destination, d, true)
            d += 1; n -= 1
        }
        (destination + (d >> 3)).initializeMemory(as: UInt8.self, repeating: 0xFF, count: n >> 3)
        d += (n >> 3) * 8; n &= 7
        while n > 0 {
            BitUtil.set(destination, d, true)
            d += 1; n -= 1
        }
    }

    /// The bits `[start, start + count)` of `buffer` as a bitmap starting at bit 0: a
    /// zero-copy slice when `start` is byte-aligned, else a shifted copy (trailing bits zero).
    /// Throws if the buffer is too short.
    package static func rebase(_ buffer: Buffer, start: Int, count: Int, pool: MemoryPool, _ what: String) throws -> Buffer {
        let byteCount = BitUtil.byteCount(forBits: count)
        let end = try checkedSum(start, count)
        guard start >= 0, count >= 0, BitUtil.byteCount(forBits: end) <= buffer.count else {
            throw QuiverError(.invalidData, "\(what) bitmap of \(buffer.count) bytes cannot hold bits [\(start), \(end))")
        }
        if start & 7 == 0 { return buffer.uncheckedSlice(offset: start >> 3, count: byteCount) }
        let allocation = pool.allocateZeroed(byteCount: byteCount)
        copy(buffer.baseAddress, from: start, to: allocation.pointer, at: 0, count: count)
        return allocation.buffer(count: byteCount)
    }
}

