import QuiverArrow
import QuiverBytes

/// Computes `BatchStatistics` from arrays: one pass per column, no allocation except for
/// the string bounds it keeps.
///
/// Minimum and maximum are recorded for integers (and dates, times, timestamps, durations),
/// floats (NaN ignored; nothing when every value is NaN), booleans, and utf8/binary columns
/// of every layout. Strings longer than `prefixLength` bytes are cut to a prefix (on a
/// character boundary for utf8) and flagged inexact: the minimum's prefix is ≤ every value;
/// the maximum's prefix is incremented in its last byte (utf8: its last character) so it is
/// ≥ every value, or dropped when no increment exists (all 0xFF). Other types get the null
/// count only.
enum StatisticsCollector {
    /// Statistics of one batch; `minMax: false` records row and null counts only.
    static func statistics(of batch: RecordBatch, prefixLength: Int, minMax: Bool = true) -> BatchStatistics {
        BatchStatistics(
            rowCount: batch.length,
            columns: batch.columns.map { column($0, prefixLength: prefixLength, minMax: minMax) })
    }

    /// Statistics of one column.
    static func column(_ data: ArrayData, prefixLength: Int, minMax: Bool = true) -> ColumnStatistics {
        var stats = ColumnStatistics(nullCount: data.nullCount)
        guard minMax, data.length > data.nullCount else { return stats }
        let bounds: Bounds?
        switch data.type.storageType {
        case .int8: bounds = signed(data, Int8.self)
        case .int16: bounds = signed(data, Int16.self)
        case .int32, .date32, .time32, .interval(.yearMonth): bounds = signed(data, Int32.self)
        case .int64, .date64, .time64, .timestamp, .duration: bounds = signed(data, Int64.self)
        case .uint8: bounds = unsigned(data, UInt8.self)
        case .uint16: bounds = unsigned(data, UInt16.self)
        case .uint32: bounds = unsigned(data, UInt32.self)
        case .uint64: bounds = unsigned(data, UInt64.self)
        case .float32: bounds = floating(data, Float.self)
        case .float64: bounds = floating(data, Double.self)
        case .boolean: bounds = boolean(data)
        case .utf8: bounds = strings(try? StringArray(data), isUTF8: true, prefixLength)
        case .largeUtf8: bounds = strings(try? LargeStringArray(data), isUTF8: true, prefixLength)
        case .utf8View: bounds = strings(try? StringViewArray(data), isUTF8: true, prefixLength)
        case .binary: bounds = strings(try? BinaryArray(data), isUTF8: false, prefixLength)
        case .largeBinary: bounds = strings(try? LargeBinaryArray(data), isUTF8: false, prefixLength)
        case .binaryView: bounds = strings(try? BinaryViewArray(data), isUTF8: false, prefixLength)
        case .fixedSizeBinary: bounds = strings(try? FixedSizeBinaryArray(data), isUTF8: false, prefixLength)
        default: bounds = nil
        }
        stats.min = bounds?.min
        stats.max = bounds?.max
        return stats
    }

    /// A minimum and a maximum, either of which may be unknown.
    typealias Bounds = (min: StatisticBound?, max: StatisticBound?)

    // MARK: Fixed width

    /// Smallest and largest valid value of a fixed-width column; nil if the values buffer
    /// is too short or no value qualifies. `skip` rejects values that have no place in the
    /// order (NaN): it only matters for the first value, because a NaN compares false with
    /// everything and so never replaces a bound afterwards.
    @inline(__always)
    private static func extremes<T: Comparable & BitwiseCopyable>(
        _ data: ArrayData, _ type: T.Type, skip: (T) -> Bool
    ) -> (T, T)? {
        let stride = MemoryLayout<T>.stride
        guard data.buffers.count > 1, data.buffers[1].count >= (data.offset + data.length) * stride else { return nil }
        let values = data.buffers[1].baseAddress + data.offset * stride
        @inline(__always) func load(_ index: Int) -> T { values.loadUnaligned(fromByteOffset: index * stride, as: T.self) }
        let validity = data.nullCount > 0 ? data.validity : nil
        let length = data.length
        var index = 0
        var seed: T?
        while index < length, seed == nil {
            defer { index += 1 }
            if let validity, !BitUtil.get(validity.baseAddress, data.offset + index) { continue }
            let value = load(index)
            if !skip(value) { seed = value }
        }
        guard var low = seed, var high = seed else { return nil }
        // Branch-free selects in four independent lanes, so no lane waits on the one before
        // (one lane runs at the latency of compare + select per value).
        @inline(__always) func scan(_ range: Range<Int>) {
            var lo0 = low, lo1 = low, lo2 = low, lo3 = low
            var hi0 = high, hi1 = high, hi2 = high, hi3 = high
            var slot = range.lowerBound
            while slot + 4 <= range.upperBound {
                let v0 = load(slot), v1 = load(slot + 1), v2 = load(slot + 2), v3 = load(slot + 3)
                lo0 = v0 < lo0 ? v0 : lo0
                lo1 = v1 < lo1 ? v1 : lo1
                lo2 = v2 < lo2 ? v2 : lo2
                lo3 = v3 < lo3 ? v3 : lo3
                hi0 = v0 > hi0 ? v0 : hi0
                hi1 = v1 > hi1 ? v1 : hi1
                hi2 = v2 > hi2 ? v2 : hi2
                hi3 = v3 > hi3 ? v3 : hi3
                slot += 4
            }
            while slot < range.upperBound {
                let value = load(slot)
                lo0 = value < lo0 ? value : lo0
                hi0 = value > hi0 ? value : hi0
                slot += 1
            }
            // The lanes hold no NaN (skipped values never win a compare), so min/max is exact.
            low = Swift.min(Swift.min(lo0, lo1), Swift.min(lo2, lo3))
            high = Swift.max(Swift.max(hi0, hi1), Swift.max(hi2, hi3))
        }
        guard let validity else {
            scan(index..<length)
            return (low, high)
        }
        let bits = validity.baseAddress, bitBytes = validity.count
        while index < length {
            let bit = data.offset + index
            // Whole words of valid slots take the fast loop.
            if bit & 63 == 0, length - index >= 64, bit >> 3 + 8 <= bitBytes,
                bits.loadUnaligned(fromByteOffset: bit >> 3, as: UInt64.self) == .max
            {
                scan(index..<index + 64)
                index += 64
                continue
            }
            if BitUtil.get(bits, bit) {
                let value = load(index)
                low = value < low ? value : low
                high = value > high ? value : high
            }
            index += 1
        }
        return (low, high)
    }

    private static func signed<T: FixedWidthInteger & SignedInteger & BitwiseCopyable>(
        _ data: ArrayData, _ type: T.Type
    ) -> Bounds? {
        extremes(data, type, skip: { _ in false }).map {
            (StatisticBound(.int(Int64($0.0))), StatisticBound(.int(Int64($0.1))))
        }
    }

    private static func unsigned<T: FixedWidthInteger & UnsignedInteger & BitwiseCopyable>(
        _ data: ArrayData, _ type: T.Type
    ) -> Bounds? {
        extremes(data, type, skip: { _ in false }).map {
            (StatisticBound(.uint(UInt64($0.0))), StatisticBound(.uint(UInt64($0.1))))
        }
    }

    private static func floating<T: BinaryFloatingPoint & BitwiseCopyable>(
        _ data: ArrayData, _ type: T.Type
    ) -> Bounds? {
        extremes(data, type, skip: { $0.isNaN }).map {
            (StatisticBound(.double(Double($0.0))), StatisticBound(.double(Double($0.1))))
        }
    }

    private static func boolean(_ data: ArrayData) -> Bounds? {
        guard let array = try? BooleanArray(data) else { return nil }
        var sawTrue = false, sawFalse = false
        for index in 0..<array.length where array.isValid(index) {
            if array.value(at: index) { sawTrue = true } else { sawFalse = true }
            if sawTrue && sawFalse { break }
        }
        guard sawTrue || sawFalse else { return nil }
        return (StatisticBound(.bool(!sawFalse)), StatisticBound(.bool(sawTrue)))
    }

    // MARK: Strings and bytes

    /// Values per block of the string scan: each block remembers its smallest and largest
    /// key, so resolving ties between equal keys revisits only the blocks that hold them.
    static let stringBlock = 1024

    private static func strings<A: ByteSlots>(
        _ array: A?, isUTF8: Bool, _ prefixLength: Int
    ) -> Bounds? {
        guard let array, let (low, high) = extremeSlots(array) else { return nil }
        return (
            bound(array.bytes(at: low), isUTF8: isUTF8, prefixLength: prefixLength, roundUp: false),
            bound(array.bytes(at: high), isUTF8: isUTF8, prefixLength: prefixLength, roundUp: true)
        )
    }

    /// The slots of the smallest and the largest valid value (bytewise order), or nil when
    /// no slot is valid.
    ///
    /// One pass computes every value's `chunkKey` and keeps each block's smallest and
    /// largest key: a handful of integer instructions per value, no calls, and branches
    /// that are rarely taken. A key ending in 8 stands for every value sharing its first
    /// seven bytes and running longer; only then are the values holding that key (in the
    /// blocks holding it) gathered and narrowed down seven bytes at a time, branch-free.
    static func extremeSlots<A: ByteSlots>(_ array: A) -> (low: Int, high: Int)? {
        guard array.length > array.nullCount else { return nil }
        // Two copies of the loops, so the common case tests no validity bits.
        return array.nullCount > 0 ? extremeSlots(array, SomeNulls.self) : extremeSlots(array, NoNulls.self)
    }

    private static func extremeSlots<A: ByteSlots, N: NullTest>(_ array: A, _: N.Type) -> (low: Int, high: Int)? {
        let length = array.length, limit = array.readableLimit
        let blockCount = (length + stringBlock - 1) / stringBlock
        @inline(__always) func slots(of block: Int) -> Range<Int> {
            (block * stringBlock)..<Swift.min(length, (block + 1) * stringBlock)
        }
        // One scratch allocation: `wideKey`'s masks, each block's smallest and largest key,
        // two lists of a block's candidate slots and their keys.
        let scratchCount = keyMaskCount + 2 * blockCount + 3 * stringBlock
        return withUnsafeTemporaryAllocation(of: UInt64.self, capacity: scratchCount) { scratch in
            fillKeyMasks(scratch)
            let base = scratch.baseAddress.unsafelyUnwrapped
            let masks = UnsafePointer(base), keys = base + keyMaskCount
            let candidates = UnsafeMutableRawPointer(keys + 2 * blockCount).bindMemory(to: Int.self, capacity: 2 * stringBlock)
            let levelKeys = keys + 2 * blockCount + 2 * stringBlock
            /// The key of slot `slot`'s bytes from `start` on.
            @inline(__always) func key(_ slot: Int, from start: Int = 0) -> UInt64 {
                let value = array.bytes(at: slot)
                guard let first = value.baseAddress else { return 0 }
                return (first + start).distance(to: limit) >= 8
                    ? wideKey(value, from: start, masks: masks) : chunkKey(value, from: start)
            }
            // Null slots count as UInt64.max for minima and 0 for maxima, so they never win
            // (a valid value exists; if its key is 0, the search below, which checks, finds it).
            var low = UInt64.max, high: UInt64 = 0
            for block in 0..<blockCount {
                var blockLow = UInt64.max, blockHigh: UInt64 = 0
                for slot in slots(of: block) {
                    let value = key(slot)
                    let valid = N.isValid(array, slot)
                    blockLow = Swift.min(blockLow, valid ? value : .max)
                    blockHigh = Swift.max(blockHigh, valid ? value : 0)
                }
                keys[2 * block] = blockLow
                keys[2 * block + 1] = blockHigh
                low = Swift.min(low, blockLow)
                high = Swift.max(high, blockHigh)
            }
            /// Of `count` candidates equal in their first `start` bytes, one holding the
            /// smallest (largest) value: keep those with the extreme key of the next seven
            /// bytes until that key is exact (then they are all equal). Maxima are found as
            /// minima of the inverted keys.
            func narrow(_ list: UnsafeMutablePointer<Int>, _ count: Int, from start: Int, smallest: Bool) -> Int {
                let flip: UInt64 = smallest ? 0 : .max
                var count = count, start = start
                while true {
                    var target = UInt64.max
                    for index in 0..<count {
                        let value = key(list[index], from: start) ^ flip
                        levelKeys[index] = value
                        target = Swift.min(target, value)
                    }
                    if (target ^ flip) & 0xFF < 8 {
                        for index in 0..<count where levelKeys[index] == target { return list[index] }
                    }
                    var kept = 0
                    for index in 0..<count {
                        list[kept] = list[index]
                        kept &+= levelKeys[index] == target ? 1 : 0
                    }
                    count = kept
                    start += 7
                }
            }
            // A slot holding each extreme. With an exact key, the first valid slot holding
            // it; otherwise, per block holding it, the valid slots holding it are gathered
            // (branch-free, minima and maxima in one pass) and narrowed to one, and the
            // blocks' winners compared in full.
            func first(_ target: UInt64, lane: Int) -> Int {
                for block in 0..<blockCount where keys[2 * block + lane] == target {
                    for slot in slots(of: block) where key(slot) == target && N.isValid(array, slot) { return slot }
                }
                return -1
            }
            let openLow = low & 0xFF == 8, openHigh = high & 0xFF == 8
            var lowSlot = openLow ? -1 : first(low, lane: 0), highSlot = openHigh ? -1 : first(high, lane: 1)
            func offer(_ winner: Int, to best: inout Int, smallest: Bool) {
                if best >= 0 {
                    let order = compareBytes(array.bytes(at: winner), array.bytes(at: best), from: 7)
                    guard smallest ? order < 0 : order > 0 else { return }
                }
                best = winner
            }
            let highCandidates = candidates + stringBlock
            for block in 0..<blockCount {
                let gatherLow = openLow && keys[2 * block] == low, gatherHigh = openHigh && keys[2 * block + 1] == high
                guard gatherLow || gatherHigh else { continue }
                var lowCount = 0, highCount = 0
                for slot in slots(of: block) {
                    let value = key(slot)
                    let valid = N.isValid(array, slot) ? 1 : 0
                    candidates[lowCount] = slot
                    highCandidates[highCount] = slot
                    lowCount &+= (value == low ? 1 : 0) & valid
                    highCount &+= (value == high ? 1 : 0) & valid
                }
                if gatherLow, lowCount > 0 {
                    offer(narrow(candidates, lowCount, from: 7, smallest: true), to: &lowSlot, smallest: true)
                }
                if gatherHigh, highCount > 0 {
                    offer(narrow(highCandidates, highCount, from: 7, smallest: false), to: &highSlot, smallest: false)
                }
            }
            return lowSlot >= 0 && highSlot >= 0 ? (lowSlot, highSlot) : nil
        }
    }

    /// `chunkKey` of a value's bytes from `start` on when the eight bytes there, the value's
    /// or not, may all be read: one load, masked to the bytes remaining (`masks` from
    /// `fillKeyMasks`).
    @inline(__always)
    static func wideKey(_ bytes: UnsafeRawBufferPointer, from start: Int = 0, masks: UnsafePointer<UInt64>) -> UInt64 {
        let count = Swift.min(Swift.max(bytes.count - start, 0), 8)
        let word = (bytes.baseAddress.unsafelyUnwrapped + start).loadUnaligned(as: UInt64.self)
        return UInt64(bigEndian: word) & masks[count] | UInt64(truncatingIfNeeded: count)
    }

    /// Entries of `wideKey`'s mask table.
    static let keyMaskCount = 9

    /// Writes `wideKey`'s masks: for each length 0...8, the top min(length, 7) bytes set (a
    /// lookup costs fewer instructions per value than computing the mask).
    static func fillKeyMasks(_ masks: UnsafeMutableBufferPointer<UInt64>) {
        for count in 0..<keyMaskCount { masks[count] = ~(UInt64.max &>> (8 &* UInt64(Swift.min(count, 7)))) }
    }

    /// An order-preserving key of the bytes from `start` on: the next seven bytes
    /// (zero-padded) in the top seven bytes, and how many bytes remain, capped at 8, in the
    /// lowest. Values in bytewise order (a prefix first) have keys in the same order, and
    /// values with at most seven bytes left have equal keys only when they are equal; a
    /// lowest byte of 8 says the value goes on, so equal keys decide nothing then. Reads
    /// only the value's bytes.
    @inline(__always)
    static func chunkKey(_ bytes: UnsafeRawBufferPointer, from start: Int) -> UInt64 {
        let remaining = bytes.count - start
        guard remaining > 0, let base = bytes.baseAddress.map({ $0 + start }) else { return 0 }
        if remaining >= 8 { return UInt64(bigEndian: base.loadUnaligned(as: UInt64.self)) & ~0xFF | 8 }
        let count = UInt64(remaining)
        if remaining >= 4 {
            // Two overlapping in-bounds loads: bytes 0..<4, and the last four bytes placed at
            // their positions.
            let head = UInt64(UInt32(bigEndian: base.loadUnaligned(as: UInt32.self)))
            let tail = UInt64(UInt32(bigEndian: base.loadUnaligned(fromByteOffset: remaining - 4, as: UInt32.self)))
            return head << 32 | tail << (8 * (8 - count)) | count
        }
        // One to three bytes: the first, the middle and the last (repeats overlap exactly).
        let head = UInt64(base.load(as: UInt8.self))
        let middle = UInt64(base.load(fromByteOffset: remaining / 2, as: UInt8.self))
        let last = UInt64(base.load(fromByteOffset: remaining - 1, as: UInt8.self))
        return head << 56 | middle << (56 - 8 * UInt64(remaining / 2)) | last << (56 - 8 * (count - 1)) | count
    }

    /// Lexicographic byte order (a prefix first) of the bytes from `start` on, seven bytes at
    /// a time by `chunkKey`.
    static func compareBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer, from start: Int = 0) -> Int {
        var position = start
        while true {
            let x = chunkKey(a, from: position), y = chunkKey(b, from: position)
            if x != y { return x < y ? -1 : 1 }
            if x & 0xFF < 8 { return 0 }
            position += 7
        }
    }

    /// The value as a bound: exact when it fits `prefixLength`, otherwise a prefix (rounded
    /// up for a maximum). Nil when a maximum cannot be rounded up.
    static func bound(_ bytes: UnsafeRawBufferPointer, isUTF8: Bool, prefixLength: Int, roundUp: Bool) -> StatisticBound? {
        func make(_ bytes: some Collection<UInt8>, exact: Bool) -> StatisticBound {
            StatisticBound(isUTF8 ? .string(String(decoding: bytes, as: UTF8.self)) : .binary(Array(bytes)), isExact: exact)
        }
        guard bytes.count > prefixLength else { return make(bytes, exact: true) }
        var cut = max(0, prefixLength)
        if isUTF8 {
            while cut > 0 && bytes[cut] & 0xC0 == 0x80 { cut -= 1 }  // never split a character
        }
        let prefix = bytes[..<cut]
        guard roundUp else { return make(prefix, exact: false) }
        if isUTF8 {
            var scalars = Array(String(decoding: prefix, as: UTF8.self).unicodeScalars)
            while let last = scalars.popLast() {
                var next = last.value + 1
                if next == 0xD800 { next = 0xE000 }  // skip the surrogate range
                if let scalar = Unicode.Scalar(next) {
                    scalars.append(scalar)
                    var view = String.UnicodeScalarView()
                    view.append(contentsOf: scalars)
                    return StatisticBound(.string(String(view)), isExact: false)
                }
            }
            return nil
        }
        var rounded = Array(prefix)
        while let last = rounded.last {
            if last < 0xFF {
                rounded[rounded.count - 1] = last + 1
                return StatisticBound(.binary(rounded), isExact: false)
            }
            rounded.removeLast()
        }
        return nil
    }
}

/// Arrays whose slots are byte strings, viewed in place.
protocol ByteSlots {
    var length: Int { get }
    var nullCount: Int { get }
    func isValid(_ index: Int) -> Bool
    func bytes(at index: Int) -> UnsafeRawBufferPointer
    /// Eight bytes from the start of any value shorter than eight bytes may be read when
    /// they end at or before this address (what `chunkKey` loads at once).
    var readableLimit: UnsafeRawPointer { get }
}

extension VariableBinaryArray: ByteSlots {
    /// The end of the data buffer.
    var readableLimit: UnsafeRawPointer { Self.end(of: data.buffers.count > 2 ? data.buffers[2] : .empty) }
}

extension VariableBinaryViewArray: ByteSlots {
    /// The end of the views: values under eight bytes sit inline, 12 bytes before a view's end.
    var readableLimit: UnsafeRawPointer { Self.end(of: data.buffers.count > 1 ? data.buffers[1] : .empty) }
}

extension FixedSizeBinaryArray: ByteSlots {
    /// The end of the values buffer.
    var readableLimit: UnsafeRawPointer { Self.end(of: data.buffers.count > 1 ? data.buffers[1] : .empty) }
}

extension ByteSlots {
    static func end(of buffer: Buffer) -> UnsafeRawPointer { buffer.baseAddress + buffer.count }
}

/// Whether a slot counts, as a type: the scans are specialised for arrays without nulls,
/// whose loops then test no bits.
protocol NullTest {
    static func isValid<A: ByteSlots>(_ array: A, _ slot: Int) -> Bool
}

enum NoNulls: NullTest {
    @inline(__always) static func isValid<A: ByteSlots>(_ array: A, _ slot: Int) -> Bool { true }
}

enum SomeNulls: NullTest {
    @inline(__always) static func isValid<A: ByteSlots>(_ array: A, _ slot: Int) -> Bool { array.isValid(slot) }
}
