import QuiverArrow
import QuiverBytes

/// A group key of fixed-width columns packed into 16 value bytes and a null mask: grouping by
/// integers, dates, timestamps, floats and booleans (up to 16 bytes in all, e.g. an int64 and
/// an int32) compares and hashes three words instead of an encoded byte string.
struct PackedKey: Hashable {
    var low: UInt64 = 0
    var high: UInt64 = 0
    /// Bit `c` set: key column `c` is NULL (its value bytes stay zero). In a count(DISTINCT)
    /// pair table this word carries the group id instead (NULL values are not counted there).
    var tag: UInt64 = 0

    /// A 64-bit mix of the three words under `seed` (`HashSeed.process`, read once per table
    /// rather than per key: each read of it is a call): both value words are xored with it,
    /// then combined by multiply-xor and put through murmur3's finaliser.
    @inline(__always)
    func hash(seed: HashSeed) -> UInt64 {
        var h = (low ^ seed.first) &* 0x9E37_79B9_7F4A_7C15
        h ^= (high ^ seed.second ^ (h >> 31)) &* 0xC2B2_AE3D_27D4_EB4F
        h ^= tag &* 0x1656_67B1_9E37_79F9
        h ^= h >> 33
        h = h &* 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        h = h &* 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 33
        return h
    }

    /// The slot a table of `mask + 1` slots probes first for this key.
    @inline(__always)
    func home(seed: HashSeed, mask: Int) -> Int { Int(truncatingIfNeeded: hash(seed: seed)) & mask }
}

/// Where each key column's value sits in a `PackedKey`'s 16 value bytes.
struct PackedKeyLayout {
    struct Slot {
        let offset: Int
        let width: Int
        /// 32 or 64 for float columns (whose -0 and NaNs are normalised), 0 otherwise.
        let float: Int
        let isBoolean: Bool
    }

    let slots: [Slot]

    /// Whether every key's values fit in its first word (`low`) and its null mask in 32 bits:
    /// then a table can keep each key inside its slot (`PackedKeyTable(keysFitOneWord:)`).
    var fitsOneWord: Bool { slots.count <= 32 && slots.allSatisfy { $0.offset + $0.width <= 8 } }

    /// The layout for key columns of `types` (value types), or nil when one is not fixed-width
    /// or they need more than 16 bytes.
    init?(_ types: [DataType]) {
        var slots: [Slot] = []
        var offset = 0
        for type in types {
            let width: Int
            var float = 0
            var isBoolean = false
            switch type.storageType {
            case .boolean:
                width = 1
                isBoolean = true
            case .float32:
                (width, float) = (4, 32)
            case .float64:
                (width, float) = (8, 64)
            case .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64, .date32, .date64, .timestamp,
                .time32, .time64, .duration, .decimal:
                guard let fixed = type.storageType.fixedByteWidth else { return nil }
                width = fixed
            default:
                return nil
            }
            guard offset + width <= 16 else { return nil }
            slots.append(Slot(offset: offset, width: width, float: float, isBoolean: isBoolean))
            offset += width
        }
        guard !slots.isEmpty, slots.count <= 64 else { return nil }
        self.slots = slots
    }

    /// Packs row `r` of `columns` (plain arrays of the layout's types, `rowCount` long) into
    /// `keys[r]`, one column at a time.
    func encode(_ columns: [ArrayData], rowCount: Int, into keys: UnsafeMutableBufferPointer<PackedKey>) {
        keys.initialize(repeating: PackedKey())
        let base = UnsafeMutableRawPointer(keys.baseAddress!)
        let stride = MemoryLayout<PackedKey>.stride
        for (column, (data, slot)) in zip(columns, slots).enumerated() {
            let validity = Bitmaps.validity(data)
            if slot.isBoolean {
                let bits = Columns.bits(data)
                for row in 0..<rowCount { base.storeBytes(of: bits[row] ? 1 : 0, toByteOffset: row * stride + slot.offset, as: UInt8.self) }
            } else {
                let values = data.buffers[1].baseAddress + data.offset * slot.width
                switch (slot.float, slot.width) {
                case (64, _):
                    for row in 0..<rowCount {
                        let v = values.loadUnaligned(fromByteOffset: row * 8, as: Double.self)
                        base.storeBytes(of: v == 0 ? 0.0 : (v.isNaN ? .nan : v), toByteOffset: row * stride + slot.offset, as: Double.self)
                    }
                case (32, _):
                    for row in 0..<rowCount {
                        let v = values.loadUnaligned(fromByteOffset: row * 4, as: Float.self)
                        base.storeBytes(of: v == 0 ? Float(0) : (v.isNaN ? .nan : v), toByteOffset: row * stride + slot.offset, as: Float.self)
                    }
                case (_, 8):
                    for row in 0..<rowCount {
                        base.storeBytes(of: values.loadUnaligned(fromByteOffset: row * 8, as: UInt64.self), toByteOffset: row * stride + slot.offset, as: UInt64.self)
                    }
                case (_, 4):
                    for row in 0..<rowCount {
                        base.storeBytes(of: values.loadUnaligned(fromByteOffset: row * 4, as: UInt32.self), toByteOffset: row * stride + slot.offset, as: UInt32.self)
                    }
                default:
                    for row in 0..<rowCount {
                        (base + row * stride + slot.offset).copyMemory(from: values + row * slot.width, byteCount: slot.width)
                    }
                }
            }
            if let validity {
                let bit = UInt64(1) << UInt64(column)
                for row in 0..<rowCount where !validity[row] {
                    // A NULL's value bytes are zero, so all NULLs of a column are one key.
                    (base + row * stride + slot.offset).initializeMemory(as: UInt8.self, repeating: 0, count: slot.width)
                    keys[row].tag |= bit
                }
            }
        }
    }

    /// The key columns of `keys`, typed `types` (the inverse of `encode`).
    func decode(_ keys: [PackedKey], types: [DataType], pool: MemoryPool) -> [ArrayData] {
        let count = keys.count
        let stride = MemoryLayout<PackedKey>.stride
        return keys.withUnsafeBytes { raw in
            zip(slots, types).enumerated().map { column, pair in
                let (slot, type) = pair
                let bit = UInt64(1) << UInt64(column)
                let nulls = keys.reduce(0) { $0 + ($1.tag & bit != 0 ? 1 : 0) }
                let validity: (Buffer, nullCount: Int)? = nulls == 0 ? nil : (
                    Bitmaps.build(count: count, pool: pool) { keys[$0].tag & bit == 0 }.finish(), nulls)
                if slot.isBoolean {
                    let bits = Bitmaps.build(count: count, pool: pool) { raw.load(fromByteOffset: $0 * stride + slot.offset, as: UInt8.self) != 0 }
                    return Output.array(type, length: count, validity: validity, [bits.finish()])
                }
                let values = Output.fixed(UInt8.self, count: count * slot.width, pool: pool) { out in
                    for row in 0..<count {
                        (UnsafeMutableRawPointer(out) + row * slot.width).copyMemory(
                            from: raw.baseAddress! + row * stride + slot.offset, byteCount: slot.width)
                    }
                }
                return Output.array(type, length: count, validity: validity, [values])
            }
        }
    }
}

/// Interns packed keys: dense ids in order of first appearance, open addressing with linear
/// probing over a power-of-two table (load ≤ 1/2). A value type for the same reason as
/// `KeyTable`.
///
/// Keys that fit in one word (a `UserID`, a `ClientIP`) are kept inside their slots
/// (`wordSlots`), so a probe reads one place; wider keys' slots hold ids into `keys`, and a
/// probe reads the slot and then its key.
struct PackedKeyTable {
    private(set) var keys: [PackedKey] = []
    /// Per slot the id of its key, -1 when empty (keys wider than a word).
    private var slots: [Int32] = []
    /// Per slot its key and id (keys that fit one word).
    private var wordSlots: [WordSlot] = []
    private let keysFitOneWord: Bool
    private var mask: Int
    /// Set by `reordered`: `slots` are not built yet (see `KeyTable`).
    private var needsIndex = false
    private let seed = HashSeed.process

    /// A slot of a table whose keys fit one word: the key's value word and null mask beside
    /// its id (-1: empty).
    private struct WordSlot {
        var word: UInt64 = 0
        var id: Int32 = -1
        var tag: UInt32 = 0

        init() {}

        /// The slot of `key` (its `high` zero, its `tag` below 2^32) with id `id`.
        init(_ key: PackedKey, id: Int32) { (word, self.id, tag) = (key.low, id, UInt32(truncatingIfNeeded: key.tag)) }

        /// Whether the slot holds `key`.
        @inline(__always)
        func holds(_ key: PackedKey) -> Bool { word == key.low && tag == UInt32(truncatingIfNeeded: key.tag) }
    }

    /// `keysFitOneWord`: every key's `high` is zero and its `tag` below 2^32 (a
    /// `PackedKeyLayout` that `fitsOneWord`); the table then keeps keys in their slots.
    init(capacity: Int = 16, keysFitOneWord: Bool = false) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        self.keysFitOneWord = keysFitOneWord
        if keysFitOneWord { wordSlots = Array(repeating: WordSlot(), count: size) } else { slots = Array(repeating: -1, count: size) }
        mask = size - 1
    }

    var count: Int { keys.count }

    /// The slots the table has (of either kind).
    private var slotCount: Int { mask + 1 }

    /// The hash of key `id`.
    func hash(of id: Int) -> UInt64 { keys[id].hash(seed: seed) }

    /// The id of `key`, adding it if new.
    @inline(__always)
    mutating func intern(_ key: PackedKey) -> Int32 {
        indexIfNeeded()
        let seed = self.seed
        if keysFitOneWord {
            let home = key.home(seed: seed, mask: mask)
            let (found, slot) = wordSlots.withUnsafeBufferPointer { Self.findWord(key, from: home, in: $0, mask: mask) }
            if found >= 0 { return found }
            let id = Int32(keys.count)
            wordSlots[slot] = WordSlot(key, id: id)
            keys.append(key)
            if keys.count * 2 > slotCount { grow() }
            return id
        }
        let (found, slot) = slots.withUnsafeBufferPointer { slots in
            keys.withUnsafeBufferPointer { keys in Self.find(key, in: slots, mask: mask, seed: seed) { keys[$0] } }
        }
        if found >= 0 { return found }
        let id = Int32(keys.count)
        slots[slot] = id
        keys.append(key)
        if keys.count * 2 > slots.count { grow() }
        return id
    }

    /// Interns each of `rowKeys`, writing each row's id to `ids`.
    ///
    /// Without a mask, rows go in runs that cannot outgrow the table: each run probes and
    /// writes the slots through a pointer and collects its new keys aside (appended after the
    /// run), where interning row by row checked the arrays' uniqueness on every write.
    mutating func intern(_ rowKeys: UnsafeBufferPointer<PackedKey>, ids: UnsafeMutableBufferPointer<Int32>, mask rowMask: BitView? = nil) {
        indexIfNeeded()
        if let rowMask {
            forEachSetRow(rowMask, nil, count: rowKeys.count) { ids[$0] = intern(rowKeys[$0]) }
            return
        }
        if keysFitOneWord { internWords(rowKeys, ids: ids) } else { internThroughIds(rowKeys, ids: ids) }
    }

    /// `intern(_:ids:)` for keys wider than a word, kept in `keys`: each probe reads a slot,
    /// then the key it names. (A function of its own, as `internWords` is: sharing one body
    /// made the compiler stop inlining this loop's closures.)
    @inline(never)
    private mutating func internThroughIds(_ rowKeys: UnsafeBufferPointer<PackedKey>, ids: UnsafeMutableBufferPointer<Int32>) {
        var row = 0
        let rowCount = rowKeys.count
        var fresh: [PackedKey] = []
        var homes: [Int32] = []
        while row < rowCount {
            let end = runEnd(from: row, of: rowCount)
            let (mask, seed) = (self.mask, self.seed)
            let before = keys.count
            fresh.removeAll(keepingCapacity: true)
            fresh.reserveCapacity(end - row)
            // A table past the caches stalls each probe on two loads (its slot, then its key):
            // the run's home slots are computed first, so both loads are requested rows ahead.
            let prefetching = slots.count >= Self.prefetchSlots
            if prefetching {
                homes.removeAll(keepingCapacity: true)
                for index in row..<end { homes.append(Int32(truncatingIfNeeded: rowKeys[index].home(seed: seed, mask: mask))) }
            }
            keys.withUnsafeBufferPointer { keys in
                slots.withUnsafeMutableBufferPointer { slots in
                    homes.withUnsafeBufferPointer { homes in
                        let distance = Self.prefetchDistance
                        for index in row..<end {
                            let home: Int
                            if prefetching {
                                let local = index - row
                                // The slot, then the key it names.
                                requestAhead(local, count: homes.count, distance: distance, stages: 2) { stage, ahead in
                                    if stage == 2 { return requestCacheLine(slots.baseAddress! + Int(homes[ahead])) }
                                    let id = Int(slots[Int(homes[ahead])])
                                    if id >= 0 && id < before { requestCacheLine(keys.baseAddress! + id) }
                                }
                                home = Int(homes[local])
                            } else {
                                home = rowKeys[index].home(seed: seed, mask: mask)
                            }
                            let key = rowKeys[index]
                            var (found, slot) = Self.find(key, from: home, in: UnsafeBufferPointer(slots), mask: mask) { id in
                                id < before ? keys[id] : fresh[id - before]
                            }
                            if found < 0 {
                                found = Int32(before + fresh.count)
                                slots[slot] = found
                                fresh.append(key)
                            }
                            ids[index] = found
                        }
                    }
                }
            }
            keys.append(contentsOf: fresh)
            row = end
        }
    }

    /// `intern(_:ids:)` for keys kept in their slots: runs as there, each row's home slot
    /// requested `wordPrefetchDistance` rows ahead once the table is past the caches (one load
    /// per probe, where the other kind waits on two).
    @inline(never)
    private mutating func internWords(_ rowKeys: UnsafeBufferPointer<PackedKey>, ids: UnsafeMutableBufferPointer<Int32>) {
        var row = 0
        let rowCount = rowKeys.count
        var fresh: [PackedKey] = []
        var homes: [Int32] = []
        while row < rowCount {
            let end = runEnd(from: row, of: rowCount)
            let (mask, seed) = (self.mask, self.seed)
            var next = Int32(keys.count)
            fresh.removeAll(keepingCapacity: true)
            fresh.reserveCapacity(end - row)
            let prefetching = slotCount >= Self.prefetchSlots
            homes.removeAll(keepingCapacity: true)
            for index in row..<end { homes.append(Int32(truncatingIfNeeded: rowKeys[index].home(seed: seed, mask: mask))) }
            wordSlots.withUnsafeMutableBufferPointer { slots in
                homes.withUnsafeBufferPointer { homes in
                    let distance = Self.wordPrefetchDistance
                    for index in row..<end {
                        let local = index - row
                        if prefetching && local + distance < homes.count { requestCacheLine(slots.baseAddress! + Int(homes[local + distance])) }
                        let key = rowKeys[index]
                        let (found, slot) = Self.findWord(key, from: Int(homes[local]), in: UnsafeBufferPointer(slots), mask: mask)
                        if found >= 0 {
                            ids[index] = found
                        } else {
                            slots[slot] = WordSlot(key, id: next)
                            ids[index] = next
                            next += 1
                            fresh.append(key)
                        }
                    }
                }
            }
            keys.append(contentsOf: fresh)
            row = end
        }
    }

    /// Where a run of rows from `row` (of `rowCount`) ends: as many as the table has room for
    /// without growing. A table just short of growing (31 dates in 64 slots) would otherwise
    /// take runs of a row or two, each paying a run's set-up: it grows first.
    private mutating func runEnd(from row: Int, of rowCount: Int) -> Int {
        while true {
            let room = slotCount / 2 - keys.count
            if room > 0 && (room >= Self.shortestRun || room >= rowCount - row) { return row + Swift.min(room, rowCount - row) }
            grow()
        }
    }

    /// Writes the id of each of `rowKeys` to `ids`: -1 for a key the table does not hold.
    /// Adds nothing.
    func lookup(_ rowKeys: UnsafeBufferPointer<PackedKey>, ids: UnsafeMutableBufferPointer<Int32>) {
        if needsIndex {
            var indexed = self
            indexed.indexIfNeeded()
            return indexed.lookup(rowKeys, ids: ids)
        }
        if keysFitOneWord {
            wordSlots.withUnsafeBufferPointer { slots in
                for (row, key) in rowKeys.enumerated() {
                    ids[row] = Self.findWord(key, from: key.home(seed: seed, mask: mask), in: slots, mask: mask).id
                }
            }
            return
        }
        slots.withUnsafeBufferPointer { slots in
            keys.withUnsafeBufferPointer { keys in
                for (row, key) in rowKeys.enumerated() { ids[row] = Self.find(key, in: slots, mask: mask, seed: seed) { keys[$0] }.id }
            }
        }
    }

    /// The fewest rows a run takes while more are left (see `intern(_:ids:mask:)`).
    static let shortestRun = 256

    /// Tables with at least this many slots (their slots and keys past a core's L2)
    /// prefetch ahead of the probes.
    static let prefetchSlots = 1 << 16
    /// How many rows ahead a run of keys kept in their slots requests a row's slot.
    static let wordPrefetchDistance = 16
    /// How many rows ahead a run requests the keys' slots; the slots' keys are requested
    /// half as far ahead, once their slots have arrived.
    static let prefetchDistance = 8

    /// The id of `key` (-1 when absent) and the slot the probe stopped at: its slot, or the
    /// empty one where it belongs. `keyAt(id)` gives the key with id `id`.
    @inline(__always)
    private static func find(
        _ key: PackedKey, in slots: UnsafeBufferPointer<Int32>, mask: Int, seed: HashSeed, keyAt: (Int) -> PackedKey
    ) -> (id: Int32, slot: Int) {
        find(key, from: key.home(seed: seed, mask: mask), in: slots, mask: mask, keyAt: keyAt)
    }

    /// `find` from the key's home slot `home`, already computed.
    @inline(__always)
    private static func find(
        _ key: PackedKey, from home: Int, in slots: UnsafeBufferPointer<Int32>, mask: Int, keyAt: (Int) -> PackedKey
    ) -> (id: Int32, slot: Int) {
        var slot = home
        while true {
            let id = slots[slot]
            if id < 0 || keyAt(Int(id)) == key { return (id, slot) }
            slot = (slot + 1) & mask
        }
    }

    /// `find` for keys kept in their slots (the key's `high` is zero, see `init`).
    @inline(__always)
    private static func findWord(_ key: PackedKey, from home: Int, in slots: UnsafeBufferPointer<WordSlot>, mask: Int) -> (id: Int32, slot: Int) {
        var slot = home
        while true {
            let entry = slots[slot]
            if entry.id < 0 || entry.holds(key) { return (entry.id, slot) }
            slot = (slot + 1) & mask
        }
    }

    /// Makes room for `count` more keys, so that interning them does not rehash.
    mutating func reserve(keys count: Int) {
        indexIfNeeded()
        let wanted = keys.count + count
        keys.reserveCapacity(wanted)
        guard wanted * 2 > slotCount else { return }
        var size = slotCount
        while size < wanted * 2 { size <<= 1 }
        rehash(size: size)
    }

    /// The same keys with ids renumbered: key `order[i]` becomes key `i`. O(keys); the slots
    /// are built when the table is first probed.
    func reordered(_ order: [Int32]) -> PackedKeyTable {
        var table = self
        table.keys = keys.withUnsafeBufferPointer { keys in gathered(keys, order) }
        table.slots = []
        table.wordSlots = []
        table.needsIndex = true
        return table
    }

    /// Builds the slots `reordered` left out.
    private mutating func indexIfNeeded() {
        guard needsIndex else { return }
        needsIndex = false
        rehash(size: mask + 1)
    }

    /// How far past its home slot the farthest key sits (O(slots); for tests: keys that share
    /// a home slot make it grow with their number).
    var longestProbeForTesting: Int {
        var table = self
        table.indexIfNeeded()
        let ids = keysFitOneWord ? table.wordSlots.map(\.id) : table.slots
        return ids.indices.reduce(0) { longest, slot in
            let id = Int(ids[slot])
            return id < 0 ? longest : Swift.max(longest, (slot - Int(truncatingIfNeeded: hash(of: id))) & mask)
        }
    }

    private mutating func grow() { rehash(size: slotCount * 2) }

    private mutating func rehash(size: Int) {
        mask = size - 1
        let seed = self.seed
        if keysFitOneWord {
            wordSlots = Array(repeating: WordSlot(), count: size)
            wordSlots.withUnsafeMutableBufferPointer { slots in
                for (id, key) in keys.enumerated() {
                    var slot = key.home(seed: seed, mask: mask)
                    while slots[slot].id >= 0 { slot = (slot + 1) & mask }
                    slots[slot] = WordSlot(key, id: Int32(id))
                }
            }
            return
        }
        slots = Array(repeating: -1, count: size)
        slots.withUnsafeMutableBufferPointer { slots in
            for (id, key) in keys.enumerated() {
                var slot = key.home(seed: seed, mask: mask)
                while slots[slot] >= 0 { slot = (slot + 1) & mask }
                slots[slot] = Int32(id)
            }
        }
    }
}
