import QuiverArrow
import QuiverBytes

/// A set of 64-bit values, for a global count(DISTINCT) of an integer or temporal column:
/// open addressing with linear probing over a power-of-two table (load ≤ 1/2), each value in
/// its slot.
///
/// A probe reads one slot where a key table reads a slot and then the key it names, and no
/// row is packed into a key first; a count needs no ids. The empty slot is 0, so the value 0
/// is kept aside.
struct ValueSet {
    private var slots: [UInt64]
    private var mask: Int
    private var holdsZero = false
    private var nonzero = 0
    /// `HashSeed.process`'s first word, read once (each read of the global is a call).
    private let seed = HashSeed.process.first

    init() {
        slots = Array(repeating: 0, count: 16)
        mask = 15
    }

    /// How many distinct values the set holds.
    var count: Int { nonzero + (holdsZero ? 1 : 0) }

    /// Whether a column of `type` (a value type) is read as 64-bit values here: integers and
    /// temporal types of 1 to 8 bytes (floats need -0 and NaNs folded first, so they are not).
    static func reads(_ type: DataType) -> Bool {
        switch type.storageType {
        case .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64, .date32, .date64, .timestamp, .time32,
            .time64, .duration:
            return type.storageType.fixedByteWidth.map { $0 <= 8 } ?? false
        default:
            return false
        }
    }

    /// Adds the values of `column` (a plain array of a type `reads` accepts) at the rows
    /// `rows` keeps (nil: all), skipping NULLs.
    mutating func insert(_ column: ArrayData, rows mask: BitView?) {
        guard let width = column.type.storageType.fixedByteWidth, column.length > 0 else { return }
        let values = column.buffers[1].baseAddress + column.offset * width
        let validity = Bitmaps.validity(column)
        if validity == nil && mask == nil {
            switch width {
            case 8: insertRun(count: column.length) { values.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self) }
            case 4: insertRun(count: column.length) { UInt64(values.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)) }
            case 2: insertRun(count: column.length) { UInt64(values.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)) }
            default: insertRun(count: column.length) { UInt64(values.load(fromByteOffset: $0, as: UInt8.self)) }
            }
            return
        }
        forEachSetRow(validity, mask, count: column.length) { row in
            var value: UInt64 = 0
            // Little-endian: the low `width` bytes of the word are the value.
            withUnsafeMutableBytes(of: &value) { $0.baseAddress!.copyMemory(from: values + row * width, byteCount: width) }
            insert(value)
        }
    }

    /// Makes room for `count` more values, so that adding them does not rehash.
    mutating func reserve(_ count: Int) {
        var size = slots.count
        while size < (nonzero + count) * 2 { size <<= 1 }
        if size > slots.count { rehash(size: size) }
    }

    /// Adds every value of `other`.
    mutating func formUnion(_ other: ValueSet) {
        if other.holdsZero { holdsZero = true }
        let values = other.slots.filter { $0 != 0 }
        values.withUnsafeBufferPointer { values in insertRun(count: values.count) { values[$0] } }
    }

    /// Adds one value.
    private mutating func insert(_ value: UInt64) {
        guard value != 0 else {
            holdsZero = true
            return
        }
        if (nonzero + 1) * 2 > slots.count { rehash(size: slots.count * 2) }
        let (mask, seed) = (self.mask, self.seed)
        let added = slots.withUnsafeMutableBufferPointer { slots in Self.place(value, in: slots, mask: mask, seed: seed) }
        if added { nonzero += 1 }
    }

    /// Adds `value(i)` for each `i` in `0..<count`, in runs that cannot outgrow the table,
    /// each probe's slot requested rows ahead once the table is past the caches.
    private mutating func insertRun(count: Int, _ value: (Int) -> UInt64) {
        var row = 0
        while row < count {
            let room = slots.count / 2 - nonzero
            if room <= 0 {
                rehash(size: slots.count * 2)
                continue
            }
            let end = row + Swift.min(room, count - row)
            let (mask, seed) = (self.mask, self.seed)
            let prefetching = slots.count >= PackedKeyTable.prefetchSlots
            let distance = Self.prefetchDistance
            var added = 0
            var zero = false
            slots.withUnsafeMutableBufferPointer { slots in
                // Prefetching, each value's home slot is computed once, `distance` rows ahead,
                // and kept in a ring until its probe.
                withUnsafeTemporaryAllocation(of: Int.self, capacity: Self.homeRing) { ring in
                    for index in row..<end {
                        let v = value(index)
                        let home: Int
                        if prefetching {
                            let ahead = index + distance
                            if ahead < end {
                                let aheadHome = Self.home(value(ahead), seed: seed) & mask
                                ring[ahead & (Self.homeRing - 1)] = aheadHome
                                requestCacheLine(slots.baseAddress! + aheadHome)
                            }
                            home = index < row + distance ? Self.home(v, seed: seed) & mask : ring[index & (Self.homeRing - 1)]
                        } else {
                            home = Self.home(v, seed: seed) & mask
                        }
                        if v == 0 {
                            zero = true
                        } else if Self.place(v, from: home, in: slots, mask: mask) {
                            added += 1
                        }
                    }
                }
            }
            nonzero += added
            if zero { holdsZero = true }
            row = end
        }
    }

    /// How many rows ahead a run requests its probes' slots.
    static let prefetchDistance = 16
    /// The homes a run keeps between computing and probing them (a power of two, more than
    /// `prefetchDistance`).
    private static let homeRing = 32

    /// Puts `value` (not 0) in its slot; false when it was there already.
    @inline(__always)
    private static func place(_ value: UInt64, in slots: UnsafeMutableBufferPointer<UInt64>, mask: Int, seed: UInt64) -> Bool {
        place(value, from: home(value, seed: seed) & mask, in: slots, mask: mask)
    }

    /// `place` from `value`'s home slot `slot`, already computed.
    @inline(__always)
    private static func place(_ value: UInt64, from slot: Int, in slots: UnsafeMutableBufferPointer<UInt64>, mask: Int) -> Bool {
        var slot = slot
        while true {
            let held = slots[slot]
            if held == value { return false }
            if held == 0 {
                slots[slot] = value
                return true
            }
            slot = (slot + 1) & mask
        }
    }

    /// The slot a value's probe starts from, before masking (murmur3's 64-bit finaliser of
    /// the value xor `seed`).
    @inline(__always)
    private static func home(_ value: UInt64, seed: UInt64) -> Int {
        var h = value ^ seed
        h ^= h >> 33
        h = h &* 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        h = h &* 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 33
        return Int(truncatingIfNeeded: h)
    }

    /// How far past its home slot the farthest value sits (O(slots); for tests: values that
    /// share a home slot make it grow with their number).
    var longestProbeForTesting: Int {
        slots.indices.reduce(0) { longest, slot in
            slots[slot] == 0 ? longest : Swift.max(longest, (slot - Self.home(slots[slot], seed: seed)) & mask)
        }
    }

    private mutating func rehash(size: Int) {
        let old = slots
        slots = Array(repeating: 0, count: size)
        mask = size - 1
        let (mask, seed) = (self.mask, self.seed)
        slots.withUnsafeMutableBufferPointer { slots in
            for value in old where value != 0 { _ = Self.place(value, in: slots, mask: mask, seed: seed) }
        }
    }
}
