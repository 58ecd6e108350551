import QuiverArrow
import QuiverBytes
import QuiverTestSupport
import Testing
@testable import QuiverQuery

/// A renumbered key table (a merge's partial, arranged by partition) leaves its slots out
/// until something probes it; it then finds every key under its new id and adds new keys
/// after them.
@Suite struct RenumberedTableTests {
    /// A permutation of `0..<count` that moves every id and is not its own inverse, so a
    /// mix-up of old and new ids shows.
    static func rotation(_ count: Int) -> [Int32] { (0..<Int32(count)).map { ($0 * 7 + 3) % Int32(count) } }

    /// Each old id's new id under `order` (group `order[i]` becomes `i`).
    static func newIds(_ order: [Int32]) -> [Int32] {
        var ids = [Int32](repeating: -1, count: order.count)
        for (new, old) in order.enumerated() { ids[Int(old)] = Int32(new) }
        return ids
    }

    @Test func packedTableFindsKeysUnderNewIds() {
        let keys = (0..<1_000).map { PackedKey(low: UInt64($0) &* 0x9E37_79B9, high: UInt64($0 % 7)) }
        var table = PackedKeyTable()
        for key in keys { _ = table.intern(key) }
        let order = Self.rotation(keys.count)
        var renumbered = table.reordered(order)
        #expect(renumbered.keys == order.map { keys[Int($0)] })

        // A lookup (which does not change the table) sees the new ids.
        var found = [Int32](repeating: -2, count: keys.count + 1)
        let probes = keys + [PackedKey(low: 1, high: 99)]
        probes.withUnsafeBufferPointer { probes in found.withUnsafeMutableBufferPointer { renumbered.lookup(probes, ids: $0) } }
        #expect(found == Self.newIds(order) + [-1])

        // Interning finds the old keys under their new ids and appends a new one.
        for (id, key) in renumbered.keys.enumerated() { #expect(renumbered.intern(key) == Int32(id)) }
        #expect(renumbered.intern(PackedKey(low: 1, high: 99)) == Int32(keys.count))
        var ids = [Int32](repeating: -2, count: keys.count)
        keys.withUnsafeBufferPointer { keys in ids.withUnsafeMutableBufferPointer { renumbered.intern(keys, ids: $0) } }
        #expect(ids == Self.newIds(order))
        #expect(renumbered.count == keys.count + 1)
    }

    @Test func byteTableFindsKeysUnderNewIds() throws {
        let texts = (0..<1_000).map { "key \($0) " + String(repeating: "x", count: $0 % 13) }
        var table = KeyTable()
        _ = table.intern(try KeyEncoder([Make.utf8(texts)], rowCount: texts.count, pool: .default))
        let order = Self.rotation(texts.count)
        var renumbered = table.reordered(order)

        let probes = texts + ["absent"]
        let found = renumbered.lookup(try KeyEncoder([Make.utf8(probes)], rowCount: probes.count, pool: .default))
        #expect(Array(found.prefix(probes.count)) == Self.newIds(order) + [-1])

        let again = renumbered.intern(try KeyEncoder([Make.utf8(probes)], rowCount: probes.count, pool: .default))
        #expect(Array(again.prefix(probes.count)) == Self.newIds(order) + [Int32(texts.count)])
        #expect(renumbered.count == texts.count + 1)
        for id in 0..<texts.count {
            let text = Array(texts[Int(order[id])].utf8)
            // The encoded key ends with the text's bytes.
            renumbered.withKey(id) { key in #expect(Array(key.suffix(text.count)) == text) }
        }
    }
}

/// A table of keys that fit one word keeps them in its slots; it gives every key the same id
/// as a table of ids into its keys, through growth, lookups and renumbering.
@Suite struct WordKeyTableTests {
    @Test func wordSlotsAgreeWithIdSlots() {
        var random = SeededRandom(seed: 91)
        // Values that repeat (so most probes find a key), NULLs in either of two columns (a
        // tag bit each), zero values beside NULLs (the same word, another tag), and one word
        // under thousands of tags (which only the tag tells apart where their probes cross).
        let keys = (0..<50_000).map { _ -> PackedKey in
            let value = UInt64.random(in: 0..<20_000, using: &random) &* 0x1_0000_0001
            switch Int.random(in: 0..<10, using: &random) {
            case 0: return PackedKey(low: 0, tag: 1)
            case 1: return PackedKey(low: value & 0xFFFF_FFFF_0000_0000, tag: 2)
            case 2: return PackedKey(low: 0)
            case 3: return PackedKey(low: 7, tag: UInt64.random(in: 0..<5_000, using: &random))
            default: return PackedKey(low: value)
            }
        }
        var words = PackedKeyTable(keysFitOneWord: true)
        var plain = PackedKeyTable()
        var wordIds = [Int32](repeating: -2, count: keys.count)
        var plainIds = wordIds
        keys.withUnsafeBufferPointer { keys in
            // Half in runs, the rest one key at a time (as a filtered batch interns them).
            let half = UnsafeBufferPointer(rebasing: keys[..<(keys.count / 2)])
            wordIds.withUnsafeMutableBufferPointer { words.intern(half, ids: UnsafeMutableBufferPointer(rebasing: $0[..<half.count])) }
            plainIds.withUnsafeMutableBufferPointer { plain.intern(half, ids: UnsafeMutableBufferPointer(rebasing: $0[..<half.count])) }
        }
        for index in (keys.count / 2)..<keys.count {
            wordIds[index] = words.intern(keys[index])
            plainIds[index] = plain.intern(keys[index])
        }
        #expect(wordIds == plainIds)
        #expect(words.keys == plain.keys)
        #expect(Set(keys.map { [$0.low, $0.tag] }).count == words.count)
        #expect(words.longestProbeForTesting < HashSeedTests.probeBound)

        let absent = [PackedKey(low: 1 << 63), PackedKey(low: 5, tag: 3)]
        let order = RenumberedTableTests.rotation(words.count)
        var renumbered = words.reordered(order)
        var found = [Int32](repeating: -2, count: keys.count + absent.count)
        (keys + absent).withUnsafeBufferPointer { probes in found.withUnsafeMutableBufferPointer { renumbered.lookup(probes, ids: $0) } }
        let newIds = RenumberedTableTests.newIds(order)
        #expect(found == wordIds.map { newIds[Int($0)] } + [-1, -1])
        #expect(renumbered.intern(absent[0]) == Int32(words.count))
    }
}
