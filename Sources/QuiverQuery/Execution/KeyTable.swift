import QuiverArrow
import QuiverBytes

/// Interns byte-string keys: each distinct key gets a dense id, in order of first appearance
/// (which is what makes GROUP BY output deterministic).
///
/// Open addressing with linear probing over a power-of-two slot array (load ≤ 1/2); keys live
/// back to back in one arena, so interning allocates only when the arena or slots grow.
/// A value type on purpose: its owner mutates it through one `inout` access per batch, where
/// a class's stored arrays would pay a dynamic exclusivity check on every probe.
struct KeyTable {
    private(set) var count = 0
    /// Per slot: 0 when empty, else the key's id + 1 in the low 32 bits and the high 32 bits
    /// of its hash above them, so a probe rejects most other keys without touching them.
    private var slots: [UInt64]
    private var mask: Int
    /// Set by `reordered`: `slots` are not built yet (a renumbered partial is usually only
    /// read by a merge, which never probes it); anything that probes builds them first.
    private var needsIndex = false
    private var hashes: [UInt64] = []
    private var starts: [Int] = [0]
    private var arena: [UInt8] = []

    init(capacity: Int = 16) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = Array(repeating: 0, count: size)
        mask = size - 1
    }

    /// The id of `key`, adding it if new.
    mutating func intern(_ key: UnsafeRawBufferPointer, hash: UInt64) -> Int32 {
        indexIfNeeded()
        let place = withStorage { storage in storage.find(key, hash: hash) }
        return place.id >= 0 ? Int32(place.id) : insert(key, hash: hash, at: place.slot)
    }

    /// Each row of `keys`' id (in a `RowScratch` array): -1 for a key the table does not
    /// hold. Adds nothing.
    func lookup(_ keys: KeyEncoder) -> [Int32] {
        var ids = RowScratch.take(count: keys.rowCount, fill: 0)
        withStorage { storage in
            ids.withUnsafeMutableBufferPointer { ids in
                keys.forEachKey { row, key, hash in ids[row] = Int32(storage.find(key, hash: hash).id) }
            }
        }
        return ids
    }

    /// Interns every row of `keys`, returning each row's id (in a `RowScratch` array).
    mutating func intern(_ keys: KeyEncoder) -> [Int32] {
        var ids = RowScratch.take(count: keys.rowCount, fill: 0)
        keys.withKeys { key in
            ids.withUnsafeMutableBufferPointer { ids in intern(count: keys.rowCount, ids: ids, key: key) }
        }
        return ids
    }

    /// Interns keys `0..<count`, given by `key(i)`, writing each one's id to `ids[i]`: the
    /// keys are hashed under the process's seed, read once for all of them.
    @inline(__always)
    mutating func intern(count: Int, ids: UnsafeMutableBufferPointer<Int32>, key: (Int) -> UnsafeRawBufferPointer) {
        let seed = HashSeed.process
        intern(count: count, ids: ids, key: key) { KeyTable.hash(key($0), seed: seed) }
    }

    /// Interns keys `0..<count`, given by `key(i)` with hash `hash(i)`, writing each one's id
    /// to `ids[i]`.
    ///
    /// Keys are looked up in runs that cannot outgrow the table, with the table's storage held
    /// open; a run's new keys are collected aside and join the table after it. In a table past
    /// the caches, a run's hashes are computed first so each probe's slot, then its key's
    /// start, then its key's bytes are requested rows ahead (a probe otherwise waits on three
    /// dependent loads).
    @inline(__always)
    mutating func intern(
        count rowCount: Int, ids: UnsafeMutableBufferPointer<Int32>,
        key: (Int) -> UnsafeRawBufferPointer, hash hashOf: (Int) -> UInt64
    ) {
        indexIfNeeded()
        // Keys new in a run: which of the caller's keys they are (valid through the call, so
        // their bytes are copied once, into the arena, after the run), and their hashes.
        var fresh = FreshKeys()
        var runHashes: [UInt64] = []
        var row = 0
        while row < rowCount {
            let room = slots.count / 2 - count
            // A table just short of growing would otherwise take runs of a row or two.
            if room <= 0 || (room < PackedKeyTable.shortestRun && room < rowCount - row) {
                grow()
                continue
            }
            // Short runs, so the new keys' bytes are still cached when they are copied in.
            let end = row + Swift.min(room, rowCount - row, Self.runLength)
            let before = count
            fresh.removeAll()
            let prefetching = slots.count >= Self.prefetchSlots
            runHashes.removeAll(keepingCapacity: true)
            if prefetching { for index in row..<end { runHashes.append(hashOf(index)) } }
            let mask = self.mask
            slots.withUnsafeMutableBufferPointer { slots in
                starts.withUnsafeBufferPointer { starts in
                    arena.withUnsafeBytes { arena in
                        runHashes.withUnsafeBufferPointer { runHashes in
                            let storage = Storage(slots: UnsafeBufferPointer(slots), starts: starts, arena: arena, mask: mask)
                            let distance = Self.prefetchDistance
                            for index in row..<end {
                                let bytes = key(index)
                                let hash: UInt64
                                if prefetching {
                                    let local = index - row
                                    // The slot, then the key's start, then its bytes.
                                    requestAhead(local, count: runHashes.count, distance: distance, stages: 3) { stage, ahead in
                                        let home = Int(truncatingIfNeeded: runHashes[ahead]) & mask
                                        if stage == 3 {
                                            // The probing key too: a merge reads another table's keys.
                                            if let probe = key(row + ahead).baseAddress { requestCacheLine(probe) }
                                            return requestCacheLine(slots.baseAddress! + home)
                                        }
                                        let id = Int(slots[home] & 0xFFFF_FFFF) - 1
                                        guard id >= 0 && id < before else { return }
                                        if stage == 2 {
                                            requestCacheLine(starts.baseAddress! + id)
                                        } else if let arenaBase = arena.baseAddress {
                                            requestCacheLine(arenaBase + starts[id])
                                        }
                                    }
                                    hash = runHashes[local]
                                } else {
                                    // A table in the caches holds few keys, which recur: a key
                                    // equal to the row before's (runs of empty strings, sorted
                                    // or clustered data) takes its id without hashing or probing.
                                    if index > 0 && KeyTable.same(bytes, key(index - 1)) {
                                        ids[index] = ids[index - 1]
                                        continue
                                    }
                                    hash = hashOf(index)
                                }
                                var (found, slot) = storage.find(hash: hash) { id in
                                    id < before ? storage.holds(bytes, at: id) : KeyTable.same(bytes, key(fresh.indices[id - before]))
                                }
                                if found < 0 {
                                    found = before + fresh.count
                                    slots[slot] = KeyTable.slotEntry(hash: hash, id: found)
                                    fresh.append(index, length: bytes.count, hash: hash)
                                }
                                ids[index] = Int32(found)
                            }
                        }
                    }
                }
            }
            // The run's new keys join the table (the arrays grow once per run, not per key).
            var at = arena.count
            arena.append(contentsOf: repeatElement(0, count: fresh.bytes))
            arena.withUnsafeMutableBytes { arena in
                for index in fresh.indices {
                    let bytes = key(index)
                    if let source = bytes.baseAddress { copyShortBytes(from: source, to: arena.baseAddress! + at, count: bytes.count) }
                    at += bytes.count
                    starts.append(at)
                }
            }
            hashes.append(contentsOf: fresh.hashes)
            count += fresh.count
            row = end
        }
    }

    /// Tables with at least this many slots prefetch ahead of their probes.
    static let prefetchSlots = 1 << 16
    /// The most keys a run probes before its new keys join the table.
    static let runLength = 8192
    /// A run requests its probes' slots three times this many rows ahead, the slots' key
    /// starts twice as far ahead, and the keys' first bytes this far ahead, each once the
    /// load before it has arrived.
    static let prefetchDistance = 8

    /// Keys added during one run of `intern(count:…)`, before they join the table: the
    /// caller's indices of them, their hashes and their bytes in all.
    private struct FreshKeys {
        var indices: [Int] = []
        var hashes: [UInt64] = []
        var bytes = 0

        var count: Int { indices.count }

        mutating func removeAll() {
            indices.removeAll(keepingCapacity: true)
            hashes.removeAll(keepingCapacity: true)
            bytes = 0
        }

        mutating func append(_ index: Int, length: Int, hash: UInt64) {
            indices.append(index)
            hashes.append(hash)
            bytes += length
        }
    }

    /// Whether two keys are equal.
    @inline(__always)
    private static func same(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        a.count == b.count && (a.count == 0 || bytesEqual(a.baseAddress!, b.baseAddress!, a.count))
    }


    /// The table's arrays, read in place while a lookup runs.
    private struct Storage {
        let slots: UnsafeBufferPointer<UInt64>
        let starts: UnsafeBufferPointer<Int>
        let arena: UnsafeRawBufferPointer
        let mask: Int

        /// The id of `key` (and -1 for the slot), or -1 and the empty slot where it belongs.
        @inline(__always)
        func find(_ key: UnsafeRawBufferPointer, hash: UInt64) -> (id: Int, slot: Int) {
            find(hash: hash) { holds(key, at: $0) }
        }

        /// The id of the key with `hash` for which `isKey(id)` holds (and -1 for the slot), or
        /// -1 and the empty slot where it belongs.
        @inline(__always)
        func find(hash: UInt64, isKey: (Int) -> Bool) -> (id: Int, slot: Int) {
            let tag = hash & KeyTable.hashBits
            var slot = Int(truncatingIfNeeded: hash) & mask
            while true {
                let entry = slots[slot]
                if entry == 0 { return (-1, slot) }
                if entry & KeyTable.hashBits == tag {
                    let id = Int(entry & 0xFFFF_FFFF) - 1
                    if isKey(id) { return (id, -1) }
                }
                slot = (slot + 1) & mask
            }
        }

        /// Whether stored key `id` is `key`.
        @inline(__always)
        func holds(_ key: UnsafeRawBufferPointer, at id: Int) -> Bool {
            KeyTable.same(key, UnsafeRawBufferPointer(rebasing: arena[starts[id]..<starts[id + 1]]))
        }
    }

    @inline(__always)
    private func withStorage<R>(_ body: (Storage) -> R) -> R {
        if needsIndex {
            var indexed = self
            indexed.indexIfNeeded()
            return indexed.withStorage(body)
        }
        return slots.withUnsafeBufferPointer { slots in
            starts.withUnsafeBufferPointer { starts in
                arena.withUnsafeBytes { arena in body(Storage(slots: slots, starts: starts, arena: arena, mask: mask)) }
            }
        }
    }

    /// The high 32 bits of a hash, kept in its key's slot.
    private static let hashBits: UInt64 = 0xFFFF_FFFF_0000_0000

    /// What the slot of key `id` with `hash` holds.
    @inline(__always)
    private static func slotEntry(hash: UInt64, id: Int) -> UInt64 { (hash & hashBits) | UInt64(id + 1) }

    /// Adds `key` as the next id at `slot`, the empty slot `find` gave for it.
    private mutating func insert(_ key: UnsafeRawBufferPointer, hash: UInt64, at slot: Int) -> Int32 {
        let id = Int32(count)
        slots[slot] = Self.slotEntry(hash: hash, id: count)
        hashes.append(hash)
        arena.append(contentsOf: key)
        starts.append(arena.count)
        count += 1
        if count * 2 > slots.count { grow() }
        return id
    }

    /// Whether `count` bytes at `a` and `b` are equal: short keys word by word, inline.
    @inline(__always)
    static func bytesEqual(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ count: Int) -> Bool {
        if count > 32 { return system_memcmp(a, b, count) == 0 }
        var index = 0
        while index + 8 <= count {
            if a.loadUnaligned(fromByteOffset: index, as: UInt64.self) != b.loadUnaligned(fromByteOffset: index, as: UInt64.self) { return false }
            index += 8
        }
        while index < count {
            if a.load(fromByteOffset: index, as: UInt8.self) != b.load(fromByteOffset: index, as: UInt8.self) { return false }
            index += 1
        }
        return true
    }

    /// Interns rows whose keys come from small domains — dictionary indices, booleans,
    /// integers spanning a short range in this batch, and short strings with few distinct
    /// values in this batch — without encoding every row (see `SmallDomain.localIds`). Nil
    /// when some key column is not small (then `intern(KeyEncoder(…))` does the general work).
    /// The ids are a `RowScratch` array.
    mutating func internSmallDomains(_ columns: [ArrayData], rowCount: Int, mask: BitView? = nil, pool: MemoryPool) throws -> [Int32]? {
        try SmallDomain.localIds(columns, rowCount: rowCount, mask: mask, pool: pool) { representatives in
            intern(try KeyEncoder(representatives, rowCount: representatives.first?.length ?? 0, pool: pool))
        }
    }

    /// The same keys with ids renumbered: key `order[i]` becomes key `i` (`order` may list
    /// only some ids: then only those keys are kept). O(keys + bytes); the slots are built
    /// when the table is first probed.
    func reordered(_ order: [Int32]) -> KeyTable {
        var table = KeyTable(capacity: 0)
        table.count = order.count
        table.hashes = hashes.withUnsafeBufferPointer { gathered($0, order) }
        // The new starts first, so each key is copied straight to its place: appending key by
        // key paid a bounds and capacity check and a `memcpy` call for every few bytes.
        var newStarts = [Int](repeating: 0, count: order.count + 1)
        for (new, id) in order.lazy.map(Int.init).enumerated() { newStarts[new + 1] = newStarts[new] + starts[id + 1] - starts[id] }
        let distance = AggregationState.gatherDistance
        table.arena = [UInt8](unsafeUninitializedCapacity: newStarts[order.count]) { out, initialized in
            arena.withUnsafeBytes { arena in
                guard let source = arena.baseAddress, let target = out.baseAddress else { return }
                starts.withUnsafeBufferPointer { starts in
                    order.withUnsafeBufferPointer { order in
                        for (new, id) in order.lazy.map(Int.init).enumerated() {
                            if new + distance < order.count { requestCacheLine(source + starts[Int(order[new + distance])]) }
                            copyShortBytes(from: source + starts[id], to: target + newStarts[new], count: starts[id + 1] - starts[id])
                        }
                    }
                }
            }
            initialized = newStarts[order.count]
        }
        table.starts = newStarts
        table.slots = []
        table.mask = mask
        table.needsIndex = true
        return table
    }

    /// Builds the slots `reordered` left out.
    private mutating func indexIfNeeded() {
        guard needsIndex else { return }
        needsIndex = false
        rehash(size: mask + 1)
    }

    private mutating func grow() { rehash(size: slots.count * 2) }

    private mutating func rehash(size: Int) {
        slots = Array(repeating: 0, count: size)
        mask = size - 1
        slots.withUnsafeMutableBufferPointer { slots in
            for id in 0..<count {
                let hash = hashes[id]
                var slot = Int(truncatingIfNeeded: hash) & mask
                while slots[slot] != 0 { slot = (slot + 1) & mask }
                slots[slot] = Self.slotEntry(hash: hash, id: id)
            }
        }
    }

    /// Makes room for `keys` more keys of `bytes` bytes in all, so that interning them
    /// neither rehashes nor regrows the arena.
    mutating func reserve(keys: Int, bytes: Int) {
        indexIfNeeded()
        let wanted = count + keys
        if wanted * 2 > slots.count {
            var size = slots.count
            while size < wanted * 2 { size <<= 1 }
            rehash(size: size)
        }
        hashes.reserveCapacity(wanted)
        starts.reserveCapacity(wanted + 1)
        arena.reserveCapacity(arena.count + bytes)
    }

    /// The bytes all keys take.
    var keyBytes: Int { arena.count }

    /// Calls `body` with a function giving each key's bytes by id (valid during `body`).
    func withKeys<R>(_ body: ((Int) -> UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try starts.withUnsafeBufferPointer { starts in
            try arena.withUnsafeBytes { arena in
                try body { id in UnsafeRawBufferPointer(rebasing: arena[starts[id]..<starts[id + 1]]) }
            }
        }
    }

    /// The bytes of key `id` (valid during `body`).
    func withKey<R>(_ id: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let start = starts[id]
        let end = starts[id + 1]
        return try arena.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
    }

    func hash(of id: Int) -> UInt64 { hashes[id] }

    /// How far past its home slot the farthest key sits (O(slots); for tests: keys that share
    /// a home slot make it grow with their number).
    var longestProbeForTesting: Int {
        var table = self
        table.indexIfNeeded()
        let (slots, mask, hashes) = (table.slots, table.mask, table.hashes)
        return slots.indices.reduce(0) { longest, slot in
            let entry = slots[slot]
            guard entry != 0 else { return longest }
            return Swift.max(longest, (slot - Int(truncatingIfNeeded: hashes[Int(entry & 0xFFFF_FFFF) - 1])) & mask)
        }
    }

    /// A 64-bit hash of bytes under `seed` (`HashSeed.process`, read once per batch rather
    /// than per key: each read of it is a call). Not cryptographic; spreads short keys well.
    ///
    /// Sixteen bytes at a time, the two words — one masked by the state, the other by the
    /// seed — are multiplied to 128 bits and folded (as wyhash does); a last whole word is
    /// folded with a constant. The folds keep keys from being lengthened into collisions
    /// that hold under every seed, which a plain multiply-xorshift round allowed.
    static func hash(_ bytes: UnsafeRawBufferPointer, seed: HashSeed) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(bytes.count) ^ seed.first
        var index = 0
        let count = bytes.count
        if let base = bytes.baseAddress {
            let mask = seed.second ^ 0xE703_7ED1_A0B4_28DB
            while index + 16 <= count {
                let a = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                let b = base.loadUnaligned(fromByteOffset: index + 8, as: UInt64.self)
                h = foldedMultiply(a ^ h, b ^ mask)
                index += 16
            }
            if index + 8 <= count {
                h = foldedMultiply(h ^ base.loadUnaligned(fromByteOffset: index, as: UInt64.self), 0x9FB2_1C65_1E98_DF25)
                index += 8
            }
            // The last 0–7 bytes, little-endian, read with at most two loads: the word
            // ending at the key's end shifted down, or two overlapping halves.
            let remaining = count - index
            var tail: UInt64 = 0
            if remaining > 0 && count >= 8 {
                tail = base.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self) >> UInt64(8 * (8 - remaining))
            } else if remaining >= 4 {
                tail = UInt64(base.loadUnaligned(fromByteOffset: index, as: UInt32.self))
                    | UInt64(base.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)) << UInt64(8 * (remaining - 4))
            } else {
                var shift: UInt64 = 0
                while index < count {
                    tail |= UInt64(base.load(fromByteOffset: index, as: UInt8.self)) << shift
                    shift += 8
                    index += 1
                }
            }
            // The last round may be a plain multiply: a difference it could cancel would
            // have to come through the folded rounds before it with certainty.
            h = (h ^ tail) &* 0x9FB2_1C65_1E98_DF25
        }
        h ^= h >> 32
        h = h &* 0xD6E8_FEB8_6659_FD93
        h ^= h >> 32
        return h
    }
}

/// Encodes the key columns of a batch into one byte string per row, column at a time (no
/// per-row dispatch on type): per column a flag byte (0 = NULL), then the value — fixed-width
/// values as their bytes (floats with -0 folded into 0 and NaNs made one NaN), strings as a
/// 4-byte length and their bytes, dictionary columns as their values.
struct KeyEncoder {
    private(set) var bytes: [UInt8] = []
    private(set) var offsets: [Int] = []

    /// Encodes `columns` (each `rowCount` long), optionally after a 4-byte group id per row;
    /// with `rows`, only those rows (then `rowCount` is theirs), read where they lie rather
    /// than gathered first.
    init(_ columns: [ArrayData], rows: [Int32]? = nil, rowCount: Int, groupPrefix: [Int32]? = nil, pool: MemoryPool) throws {
        let readers = try columns.map { try KeyColumn($0, rows: rows, pool: pool) }
        let rowCount = rows?.count ?? rowCount
        var lengths = [Int](repeating: groupPrefix == nil ? 0 : 4, count: rowCount)
        for reader in readers { reader.addLengths(&lengths) }
        offsets = [0]
        offsets.reserveCapacity(rowCount + 1)
        var total = 0
        for length in lengths {
            total += length
            offsets.append(total)
        }
        bytes = [UInt8](repeating: 0, count: total)
        var cursors = Array(offsets.dropLast())
        bytes.withUnsafeMutableBytes { out in
            guard let base = out.baseAddress else { return }
            if let groupPrefix {
                for row in 0..<rowCount {
                    base.storeBytes(of: groupPrefix[row], toByteOffset: cursors[row], as: Int32.self)
                    cursors[row] += 4
                }
            }
            for reader in readers { reader.write(base, &cursors) }
        }
    }

    var rowCount: Int { offsets.count - 1 }

    /// Calls `body` with a function giving each row's key (valid during `body`).
    func withKeys<R>(_ body: ((Int) -> UnsafeRawBufferPointer) -> R) -> R {
        bytes.withUnsafeBytes { all in
            offsets.withUnsafeBufferPointer { offsets in
                body { row in UnsafeRawBufferPointer(rebasing: all[offsets[row]..<offsets[row + 1]]) }
            }
        }
    }

    /// Calls `body` with each row's key and its hash.
    func forEachKey(_ body: (Int, UnsafeRawBufferPointer, UInt64) -> Void) {
        let seed = HashSeed.process
        withKeys { key in
            for row in 0..<rowCount {
                let key = key(row)
                body(row, key, KeyTable.hash(key, seed: seed))
            }
        }
    }
}

/// One key column, resolved to how its rows are read: through a dictionary's indices or
/// directly; fixed-width bytes, bits, or strings.
private struct KeyColumn {
    enum Values {
        case fixed(UnsafeRawPointer, width: Int, float: Int)
        case bits(BitView)
        case strings32(StringsView<Int32>)
        case strings64(StringsView<Int64>)
    }

    let values: Values
    /// Row → value position (dictionary indices), nil for the identity.
    let map: [Int32]?
    /// Per row (after mapping) validity, nil = all valid.
    let valid: [Bool]?
    let rowCount: Int
    /// Keeps the buffers read through raw pointers alive.
    let retained: ArrayData

    /// With `rows`, the column's rows at those positions (in range: a selection's), in order.
    init(_ column: ArrayData, rows selected: [Int32]? = nil, pool: MemoryPool) throws {
        rowCount = selected?.count ?? column.length
        let source = { (row: Int) -> Int in selected.map { Int($0[row]) } ?? row }
        var data = column
        var map: [Int32]? = selected
        var valid: [Bool]? = nil
        if case .dictionary = column.type.storageType, let dictionary = column.dictionary {
            let indices = try Take.indexRows(column)
            let indexValidity = Bitmaps.validity(column)
            let valueValidity = Bitmaps.validity(dictionary)
            if indexValidity != nil || valueValidity != nil || dictionary.length == 0 {
                valid = (0..<rowCount).map { row in
                    let at = source(row)
                    return (indexValidity?[at] ?? true) && dictionary.length > 0 && (valueValidity?[Int(indices[at])] ?? true)
                }
            }
            map = selected.map { $0.map { indices[Int($0)] } } ?? indices
            data = dictionary
        } else if let validity = Bitmaps.validity(column) {
            valid = (0..<rowCount).map { validity[source($0)] }
        }
        self.map = map
        self.valid = valid
        retained = data
        switch data.type.storageType {
        case .boolean: values = .bits(Columns.bits(data))
        case .utf8, .binary: values = .strings32(Columns.strings(data, offsets: Int32.self))
        case .largeUtf8, .largeBinary: values = .strings64(Columns.strings(data, offsets: Int64.self))
        case .float32: values = .fixed(data.buffers[1].baseAddress + data.offset * 4, width: 4, float: 32)
        case .float64: values = .fixed(data.buffers[1].baseAddress + data.offset * 8, width: 8, float: 64)
        case .null: values = .fixed(Buffer.empty.baseAddress, width: 0, float: 0)
        default:
            guard let width = data.type.fixedByteWidth else {
                throw QuiverError(.query, "cannot group by \(data.type)")
            }
            values = .fixed(data.buffers[1].baseAddress + data.offset * width, width: width, float: 0)
        }
    }

    @inline(__always) private func position(_ row: Int) -> Int { map.map { Int($0[row]) } ?? row }
    @inline(__always) private func isValid(_ row: Int) -> Bool {
        if case .fixed(_, 0, _) = values { return false }
        return valid?[row] ?? true
    }

    func addLengths(_ lengths: inout [Int]) {
        for row in 0..<rowCount {
            guard isValid(row) else {
                lengths[row] += 1
                continue
            }
            switch values {
            case .fixed(_, let width, _): lengths[row] += 1 + width
            case .bits: lengths[row] += 2
            case .strings32(let view): lengths[row] += 5 + view[position(row)].count
            case .strings64(let view): lengths[row] += 5 + view[position(row)].count
            }
        }
    }

    func write(_ out: UnsafeMutableRawPointer, _ cursors: inout [Int]) {
        for row in 0..<rowCount {
            let at = cursors[row]
            guard isValid(row) else {
                out.storeBytes(of: 0, toByteOffset: at, as: UInt8.self)
                cursors[row] += 1
                continue
            }
            out.storeBytes(of: 1, toByteOffset: at, as: UInt8.self)
            let p = position(row)
            switch values {
            case .fixed(let base, let width, let float):
                if float == 64 {
                    let v = base.load(fromByteOffset: p * 8, as: Double.self)
                    out.storeBytes(of: v == 0 ? 0.0 : (v.isNaN ? Double.nan : v), toByteOffset: at + 1, as: Double.self)
                } else if float == 32 {
                    let v = base.load(fromByteOffset: p * 4, as: Float.self)
                    out.storeBytes(of: v == 0 ? Float(0) : (v.isNaN ? Float.nan : v), toByteOffset: at + 1, as: Float.self)
                } else {
                    (out + at + 1).copyMemory(from: base + p * width, byteCount: width)
                }
                cursors[row] += 1 + width
            case .bits(let view):
                out.storeBytes(of: view[p] ? 1 : 0, toByteOffset: at + 1, as: UInt8.self)
                cursors[row] += 2
            case .strings32(let view):
                cursors[row] += 1 + Self.writeString(view[p], out, at + 1)
            case .strings64(let view):
                cursors[row] += 1 + Self.writeString(view[p], out, at + 1)
            }
        }
    }

    private static func writeString(_ value: ByteString, _ out: UnsafeMutableRawPointer, _ at: Int) -> Int {
        out.storeBytes(of: UInt32(truncatingIfNeeded: value.count), toByteOffset: at, as: UInt32.self)
        if value.count > 0 { (out + at + 4).copyMemory(from: value.start, byteCount: value.count) }
        return 4 + value.count
    }
}

/// Rebuilds key columns from interned keys (the inverse of `KeyEncoder`), writing each
/// column's buffers directly (millions of groups must not each become a `Scalar`).
enum KeyDecoder {
    private enum Column {
        case fixed(UnsafeMutableRawPointer, HeapAllocation, width: Int)
        case bits
        case strings(StringBuilder)
    }

    /// How a key column's values are laid out, read per key without copying `Column`s (whose
    /// payloads would be retained and released per value).
    private enum Layout {
        case fixed(width: Int)
        case bits
        case strings
    }

    static func decode(_ table: KeyTable, types: [DataType], skipPrefix: Int = 0, pool: MemoryPool) throws -> [ArrayData] {
        let count = table.count
        var valid = [[Bool]](repeating: [Bool](repeating: true, count: count), count: types.count)
        var bitValues = [[Bool]](repeating: [], count: types.count)
        for (index, type) in types.enumerated() where type.storageType == .boolean {
            bitValues[index] = [Bool](repeating: false, count: count)
        }
        var columns: [Column] = try types.map { type in
            switch type.storageType {
            case .boolean: return .bits
            case .utf8, .binary, .largeUtf8, .largeBinary:
                return .strings(StringBuilder(type: type.storageType, capacity: count, pool: pool))
            default:
                guard let width = type.fixedByteWidth else { throw QuiverError(.query, "cannot group by \(type)") }
                let allocation = pool.allocateZeroed(byteCount: Swift.max(1, count * width))
                return .fixed(allocation.pointer, allocation, width: width)
            }
        }
        let layouts: [Layout] = columns.map {
            switch $0 {
            case .fixed(_, _, let width): return .fixed(width: width)
            case .bits: return .bits
            case .strings: return .strings
            }
        }
        let outputs: [UnsafeMutableRawPointer?] = columns.map { if case .fixed(let out, _, _) = $0 { return out } else { return nil } }
        // The builders move out of `columns` while the keys are read.
        var builders: [StringBuilder?] = columns.indices.map { index in
            guard case .strings(let builder) = columns[index] else { return nil }
            columns[index] = .bits
            return builder
        }
        try table.withKeys { key in
            for id in 0..<count {
                let key = key(id)
                guard let base = key.baseAddress else { continue }
                var at = skipPrefix
                for index in layouts.indices {
                    let isValid = base.load(fromByteOffset: at, as: UInt8.self) == 1
                    at += 1
                    if !isValid { valid[index][id] = false }
                    switch layouts[index] {
                    case .fixed(let width):
                        if isValid {
                            copyShortBytes(from: base + at, to: outputs[index]! + id * width, count: width)
                            at += width
                        }
                    case .bits:
                        if isValid {
                            bitValues[index][id] = base.load(fromByteOffset: at, as: UInt8.self) != 0
                            at += 1
                        }
                    case .strings:
                        if isValid {
                            let length = Int(base.loadUnaligned(fromByteOffset: at, as: UInt32.self))
                            try builders[index]!.append(UnsafeRawBufferPointer(start: base + at + 4, count: length))
                            at += 4 + length
                        } else {
                            builders[index]!.appendNull()
                        }
                    }
                }
            }
        }
        for (index, builder) in builders.enumerated() { if let builder { columns[index] = .strings(builder) } }
        return columns.indices.map { index in
            let (column, type, valid) = (columns[index], types[index], valid[index])
            let nulls = valid.reduce(0) { $0 + ($1 ? 0 : 1) }
            let validity: (Buffer, nullCount: Int)? = nulls == 0 ? nil
                : (Bitmaps.build(count: count, pool: pool) { valid[$0] }.finish(), nulls)
            switch column {
            case .fixed(_, let allocation, let width):
                return Output.array(type, length: count, validity: validity, [allocation.buffer(count: count * width)])
            case .bits:
                let bits = bitValues[index]
                return Output.array(type, length: count, validity: validity, [Bitmaps.build(count: count, pool: pool) { bits[$0] }.finish()])
            case .strings(let builder):
                var data = builder.finish()
                data.type = type
                return data
            }
        }
    }
}

/// Per-row codes for a key column with few possible values: 0 for NULL, 1… for values.
enum SmallDomain {
    /// Ids for rows whose key columns all come from small domains: each row gets a
    /// mixed-radix code from its columns' codes (column at a time), only the first row of
    /// each code is interned (`internRepresentatives` gets those rows' key columns and returns
    /// their ids, a `RowScratch` array), and the rest look their code up. Only rows in `mask`
    /// (nil: all) get meaningful ids. Nil when some column is not small. The result is a
    /// `RowScratch` array.
    static func localIds(
        _ columns: [ArrayData], rowCount: Int, mask: BitView?, pool: MemoryPool,
        internRepresentatives: ([ArrayData]) throws -> [Int32]
    ) throws -> [Int32]? {
        let limit = Swift.min(1 << 16, Swift.max(1024, 4 * rowCount))
        var combined = RowScratch.take(count: rowCount, fill: 0)
        defer { RowScratch.give(combined) }
        var domain = 1
        for column in columns {
            let size = try combined.withUnsafeMutableBufferPointer { combined in
                try addCodes(column, limit: limit / domain, radix: Int32(domain), into: combined)
            }
            guard let size else { return nil }
            domain *= size
        }
        var local = RowScratch.take(count: domain, fill: -1)
        defer { RowScratch.give(local) }
        var firstRows: [Int32] = []
        var localIds = RowScratch.take(count: rowCount, fill: 0)
        local.withUnsafeMutableBufferPointer { local in
            combined.withUnsafeBufferPointer { combined in
                localIds.withUnsafeMutableBufferPointer { localIds in
                    forEachSetRow(mask, nil, count: rowCount) { row in
                        let code = Int(combined[row])
                        var id = local[code]
                        if id < 0 {
                            id = Int32(firstRows.count)
                            local[code] = id
                            firstRows.append(Int32(row))
                        }
                        localIds[row] = id
                    }
                }
            }
        }
        if !firstRows.isEmpty {
            let representatives = try columns.map { try Take.take($0, rows: firstRows, pool: pool) }
            let ids = try internRepresentatives(representatives)
            ids.withUnsafeBufferPointer { ids in
                localIds.withUnsafeMutableBufferPointer { localIds in
                    for row in 0..<rowCount { localIds[row] = ids[Int(localIds[row])] }
                }
            }
            RowScratch.give(ids)
        }
        return localIds
    }

    /// Adds each row's code times `radix` to `combined[row]` and returns the domain size
    /// (codes are < size); nil when the column has more than `limit` possible codes or is
    /// not a dictionary, boolean, short-string or integer-stored column (`combined` is then
    /// partly updated).
    static func addCodes(
        _ column: ArrayData, limit: Int, radix: Int32, into combined: UnsafeMutableBufferPointer<Int32>
    ) throws -> Int? {
        let validity = Bitmaps.validity(column)
        switch column.type.storageType {
        case .dictionary:
            guard let dictionary = column.dictionary, dictionary.length + 1 <= limit else { return nil }
            let rows = try Take.indexRows(column, nullRow: -1)
            for row in 0..<column.length { combined[row] &+= (rows[row] + 1) &* radix }
            return dictionary.length + 1
        case .boolean:
            guard limit >= 3 else { return nil }
            let bits = Columns.bits(column)
            for row in 0..<column.length where validity?[row] ?? true { combined[row] &+= (bits[row] ? 2 : 1) &* radix }
            return 3
        case .utf8, .binary:
            return shortStrings(
                column, Columns.strings(column, offsets: Int32.self), validity: validity, limit: limit, radix: radix,
                into: combined)
        case .largeUtf8, .largeBinary:
            return shortStrings(
                column, Columns.strings(column, offsets: Int64.self), validity: validity, limit: limit, radix: radix,
                into: combined)
        default:
            // Integers, and what is stored as integers of up to 64 bits: dates, times,
            // timestamps, durations, decimals (each column has one scale).
            guard let kind = NumberKind(column.type), kind != .float32, kind != .float64, kind != .int128 else { return nil }
            return try kind.visit(IntegerCodes(column: column, validity: validity, limit: limit, radix: radix, combined: combined))
        }
    }

    /// Codes for a string column whose values in this batch are at most 7 bytes long and
    /// fewer than `limit` distinct: each value packs into one word (bytes, then its length in
    /// the top byte), which a small open-addressing table numbers in order of appearance.
    /// Nil as soon as a longer value or one too many distinct values shows up.
    private static func shortStrings<O: FixedWidthInteger>(
        _ column: ArrayData, _ view: StringsView<O>, validity: BitView?, limit: Int, radix: Int32,
        into codes: UnsafeMutableBufferPointer<Int32>
    ) -> Int? {
        let rowCount = column.length
        // Loading a whole word is safe while it ends inside the data buffer.
        let dataEnd = column.buffers[2].count
        var numbering = PackedNumbering(limit: limit)
        // Values of at most one byte (flags, status letters) skip the table: a direct map.
        var byteCodes = [Int32](repeating: 0, count: 257)
        if validity == nil, rowCount > 0, Int(view.offsets[rowCount] - view.offsets[0]) == rowCount,
            (0..<rowCount).allSatisfy({ view.offsets[$0 + 1] &- view.offsets[$0] == 1 })
        {
            // Every value one byte (TPC-H's flags): the byte indexes the map directly.
            let bytes = view.bytes.assumingMemoryBound(to: UInt8.self) + Int(view.offsets[0])
            return byteCodes.withUnsafeMutableBufferPointer { byteCodes -> Int? in
                for row in 0..<rowCount {
                    let byte = Int(bytes[row])
                    var code = byteCodes[byte]
                    if code == 0 {
                        guard let new = numbering.code(of: UInt64(byte) | 1 << 56) else { return nil }
                        code = new
                        byteCodes[byte] = code
                    }
                    codes[row] &+= code &* radix
                }
                return numbering.distinct + 1
            }
        }
        for row in 0..<rowCount {
            if let validity, !validity[row] { continue }  // code 0: NULL
            let start = Int(view.offsets[row])
            let count = Int(view.offsets[row + 1]) - start
            guard count <= 7 else { return nil }
            let byteIndex = count == 0 ? 256 : Int(view.bytes.load(fromByteOffset: start, as: UInt8.self))
            if count <= 1, byteCodes[byteIndex] != 0 {
                codes[row] &+= byteCodes[byteIndex] &* radix
                continue
            }
            var packed: UInt64
            if start + 8 <= dataEnd {
                packed = view.bytes.loadUnaligned(fromByteOffset: start, as: UInt64.self)
                packed &= (1 << UInt64(count * 8)) - 1
            } else {
                packed = 0
                for index in 0..<count {
                    packed |= UInt64(view.bytes.load(fromByteOffset: start + index, as: UInt8.self)) << UInt64(index * 8)
                }
            }
            guard let code = numbering.code(of: packed | UInt64(count) << 56) else { return nil }
            if count <= 1 { byteCodes[byteIndex] = code }
            codes[row] &+= code &* radix
        }
        return numbering.distinct + 1
    }

    /// Numbers distinct 63-bit values 1, 2, … in order of first sight: open addressing over
    /// a power-of-two table (load ≤ 1/2) from a seeded hash, growing as needed, until
    /// `limit - 1` values.
    private struct PackedNumbering {
        let limit: Int
        private(set) var distinct = 0
        private var slots = [UInt64](repeating: 0, count: 64)  // value + 1; 0 = empty
        private var slotCodes = [Int32](repeating: 0, count: 64)
        private let seed = HashSeed.process.first

        init(limit: Int) { self.limit = limit }

        /// The code of `value`, numbering it if new; nil once there would be too many.
        mutating func code(of value: UInt64) -> Int32? {
            let key = value &+ 1
            let slot = Self.probe(slots, key, seed: seed)
            if slots[slot] == key { return slotCodes[slot] }
            distinct += 1
            guard distinct + 1 < limit else { return nil }
            slots[slot] = key
            slotCodes[slot] = Int32(distinct)
            if distinct * 2 > slots.count { grow() }
            return Int32(distinct)
        }

        /// The slot holding `key`, or the empty slot where it goes.
        private static func probe(_ slots: [UInt64], _ key: UInt64, seed: UInt64) -> Int {
            let mask = slots.count - 1
            var slot = Int(truncatingIfNeeded: foldedMultiply(key ^ seed, 0x9E37_79B9_7F4A_7C15)) & mask
            while slots[slot] != 0 && slots[slot] != key { slot = (slot + 1) & mask }
            return slot
        }

        private mutating func grow() {
            var newSlots = [UInt64](repeating: 0, count: slots.count * 2)
            var newCodes = [Int32](repeating: 0, count: slots.count * 2)
            for (key, code) in zip(slots, slotCodes) where key != 0 {
                let slot = Self.probe(newSlots, key, seed: seed)
                newSlots[slot] = key
                newCodes[slot] = code
            }
            slots = newSlots
            slotCodes = newCodes
        }
    }

    private struct IntegerCodes: NumberVisitor {
        let column: ArrayData
        let validity: BitView?
        let limit: Int
        let radix: Int32
        let combined: UnsafeMutableBufferPointer<Int32>

        func visit<T: NumberValue>(_: T.Type) throws -> Int? {
            let values = Columns.values(column, as: T.self)
            var low: T?
            var high: T?
            for row in 0..<column.length where validity?[row] ?? true {
                let value = values[row]
                if low.map({ value < $0 }) ?? true { low = value }
                if high.map({ value > $0 }) ?? true { high = value }
                // Wide keys (user ids) give up within the first rows, not after the batch.
                if row & 1023 == 1023, let low, let high, high.int128Value - low.int128Value + 2 > Int128(limit) { return nil }
            }
            guard let low, let high else { return 1 }  // all NULL: every code 0
            let span = high.int128Value - low.int128Value + 2
            guard span <= Int128(limit) else { return nil }
            let base = low.int128Value
            for row in 0..<column.length where validity?[row] ?? true {
                combined[row] &+= Int32(truncatingIfNeeded: values[row].int128Value - base + 1) &* radix
            }
            return Int(span)
        }
    }
}
