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
        // Branch-free select loops, which the compiler vectorises.
        @inline(__always) func scan(_ range: Range<Int>) {
            var lo = low, hi = high
            for slot in range {
                let value = load(slot)
                lo = value < lo ? value : lo
                hi = value > hi ? value : hi
            }
            low = lo
            high = hi
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

    private static func strings<A: ByteSlots>(
        _ array: A?, isUTF8: Bool, _ prefixLength: Int
    ) -> Bounds? {
        guard let array else { return nil }
        var low: UnsafeRawBufferPointer?, high = UnsafeRawBufferPointer(start: nil, count: 0)
        // The first 8 bytes of the bounds as big-endian integers: most comparisons are
        // decided by them without calling memcmp.
        var lowKey: UInt64 = 0, highKey: UInt64 = 0
        let checkNulls = array.nullCount > 0
        for index in 0..<array.length where !checkNulls || array.isValid(index) {
            let value = array.bytes(at: index)
            let key = prefixKey(value)
            guard let current = low else {
                low = value
                high = value
                lowKey = key
                highKey = key
                continue
            }
            if key < lowKey || (key == lowKey && compareBytes(value, current) < 0) {
                low = value
                lowKey = key
            } else if key > highKey || (key == highKey && compareBytes(value, high) > 0) {
                high = value
                highKey = key
            }
        }
        guard let low else { return nil }
        return (
            bound(low, isUTF8: isUTF8, prefixLength: prefixLength, roundUp: false),
            bound(high, isUTF8: isUTF8, prefixLength: prefixLength, roundUp: true)
        )
    }

    /// The first 8 bytes as a big-endian integer (zero-padded): comparing two keys orders
    /// the values unless the keys are equal.
    @inline(__always)
    static func prefixKey(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        guard let base = bytes.baseAddress else { return 0 }
        let count = bytes.count
        if count >= 8 { return UInt64(bigEndian: base.loadUnaligned(as: UInt64.self)) }
        if count >= 4 {
            // Two overlapping in-bounds loads: bytes 0..<4, and the last four bytes, of
            // which the last `count - 4` are bytes 4..<count.
            let head = UInt64(UInt32(bigEndian: base.loadUnaligned(as: UInt32.self)))
            let rest = UInt64(count - 4)
            let tail = UInt64(UInt32(bigEndian: base.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)))
                & ((1 << (8 * rest)) - 1)
            return head << 32 | tail << (8 * (4 - rest))
        }
        var key: UInt64 = 0
        for index in 0..<count { key |= UInt64(bytes[index]) << (56 - 8 * UInt64(index)) }
        return key
    }

    /// Lexicographic byte order (memcmp, then length).
    static func compareBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let common = min(a.count, b.count)
        if common > 0, let pa = a.baseAddress, let pb = b.baseAddress {
            let order = memcmp(pa, pb, common)
            if order != 0 { return Int(order) }
        }
        return a.count - b.count
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
}

extension VariableBinaryArray: ByteSlots {}
extension VariableBinaryViewArray: ByteSlots {}
extension FixedSizeBinaryArray: ByteSlots {}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
