import QuiverArrow
import QuiverBytes
import QuiverTestSupport
import Testing
@testable import QuiverQuery

/// The engine's in-memory hashes are seeded per process, so keys built offline to share a
/// home slot under the unseeded functions spread out, and results do not depend on the seed.
@Suite struct HashSeedTests {
    /// Keys in a test that collide: enough that a shared home slot shows, few enough that the
    /// unseeded tables still finish (quadratically) when the seed is broken on purpose.
    static let keyCount = 8_192
    /// The longest probe a table of `keyCount` seeded keys may need. At load ≤ 1/2, random
    /// homes make a displacement of even 100 astronomically unlikely; shared homes make it
    /// about `keyCount`.
    static let probeBound = 128

    /// Two seeds hash one key differently, and tables hash under the process's seed.
    @Test func seedChangesHashes() throws {
        let one = HashSeed(forTesting: 1, 2)
        let other = HashSeed(forTesting: 3, 4)
        let packed = [PackedKey(), PackedKey(low: 42), PackedKey(low: 7, high: 9, tag: 1)]
        var packedTable = PackedKeyTable()
        for (id, key) in packed.enumerated() {
            #expect(key.hash(seed: one) != key.hash(seed: other))
            #expect(packedTable.intern(key) == Int32(id))
            #expect(packedTable.hash(of: id) == key.hash(seed: .process))
        }
        let texts = ["", "a", "abcdefgh", "a string longer than eight bytes"]
        var byteTable = KeyTable()
        let ids = byteTable.intern(try KeyEncoder([Make.utf8(texts)], rowCount: texts.count, pool: .default))
        #expect(ids == [0, 1, 2, 3])
        for (id, text) in texts.enumerated() {
            Array(text.utf8).withUnsafeBytes { bytes in
                #expect(KeyTable.hash(bytes, seed: one) != KeyTable.hash(bytes, seed: other), "\(text)")
            }
            // The table holds the encoded key (a flag byte, a length, the bytes).
            byteTable.withKey(id) { key in #expect(byteTable.hash(of: id) == KeyTable.hash(key, seed: .process), "\(text)") }
        }
    }

    /// Packed keys whose unseeded hashes share their low 20 bits (so a table of up to 2^20
    /// slots would give them one home slot) sit close to their homes, and each is its own
    /// group, in order of first appearance, in a GROUP BY.
    @Test func packedKeysCollidingWithoutSeedSpreadOut() throws {
        let unseeded = HashSeed(forTesting: 0, 0)
        let keys = Colliding.packedKeys(count: Self.keyCount)
        #expect(keys.allSatisfy { $0.hash(seed: unseeded) & 0xF_FFFF == Colliding.lowBits })
        #expect(Set(keys.map(\.high)).count == keys.count)

        var table = PackedKeyTable()
        var ids = [Int32](repeating: -1, count: keys.count)
        keys.withUnsafeBufferPointer { keys in ids.withUnsafeMutableBufferPointer { table.intern(keys, ids: $0) } }
        #expect(ids == (0..<Int32(keys.count)).map { $0 })
        #expect(table.longestProbeForTesting < Self.probeBound)

        // Two key columns (0, high), each key twice, through the engine.
        let highs = keys.map { Int64(bitPattern: $0.high) }
        let batch = try Make.batch([
            ("a", Make.int64(Array(repeating: 0, count: 2 * highs.count))), ("b", Make.int64(highs + highs)),
        ])
        let rows = Read.rows(try Query(sql: "SELECT a, b, count(*) FROM t GROUP BY a, b", tables: ["t": try InMemorySource(batches: [batch])])
            .execute().batches)
        #expect(rows == highs.map { [V.int(0), V.int($0), V.int(2)] })
    }

    /// Eight-byte string keys whose unseeded byte hashes share their low 20 bits sit close
    /// to their homes in a byte-key table.
    @Test func byteKeysCollidingWithoutSeedSpreadOut() {
        let words = Colliding.byteKeyWords(count: Self.keyCount)
        for word in words.prefix(4) {
            withUnsafeBytes(of: word.littleEndian) { #expect(Colliding.unseededByteHash($0) & 0xF_FFFF == Colliding.lowBits) }
        }
        var table = KeyTable()
        for (index, word) in words.enumerated() {
            let id = withUnsafeBytes(of: word.littleEndian) { table.intern($0, hash: KeyTable.hash($0, seed: .process)) }
            #expect(id == Int32(index))
        }
        #expect(table.count == words.count)
        #expect(table.longestProbeForTesting < Self.probeBound)
    }

    /// Int64 values whose unseeded value-set homes share their low 20 bits sit close to their
    /// homes, and each is counted once. Enough of them, each twice, that the set outgrows the
    /// caches and probes from homes computed rows ahead.
    @Test func valuesCollidingWithoutSeedSpreadOut() {
        let count = PackedKeyTable.prefetchSlots / 2 + 1_000
        let values = (0..<UInt64(count)).map { Int64(bitPattern: Colliding.unfinalise($0 << 20 | Colliding.lowBits)) }
        var set = ValueSet()
        set.insert(Make.int64(values + values), rows: nil)
        #expect(set.count == count)
        #expect(set.longestProbeForTesting < Self.probeBound)
    }
}

/// Keys built offline to collide under the unseeded hash functions, by running them backwards
/// from chosen hashes.
private enum Colliding {
    /// The low bits every constructed hash shares.
    static let lowBits: UInt64 = 0x5_A5A5

    /// Packed keys (0, high, no NULLs): under the unseeded hash their pre-finaliser state is
    /// `high × 0xC2B2AE3D27D4EB4F`, so `high` follows from an inverted finaliser.
    static func packedKeys(count: Int) -> [PackedKey] {
        let inverse = inverseOf(0xC2B2_AE3D_27D4_EB4F)
        return (0..<UInt64(count)).map { PackedKey(low: 0, high: unfinalise($0 << 20 | lowBits) &* inverse) }
    }

    /// The 8-byte keys (as little-endian words) whose unseeded `KeyTable` hashes are
    /// `i << 20 | lowBits`.
    static func byteKeyWords(count: Int) -> [UInt64] {
        let multiplier = inverseOf(0x9FB2_1C65_1E98_DF25)
        return (0..<UInt64(count)).map { index in
            var h = index << 20 | lowBits
            h = unshift(h, 32)
            h = h &* inverseOf(0xD6E8_FEB8_6659_FD93)
            h = unshift(h, 32)
            h = h &* multiplier  // the zero tail's round
            h = unshift(h, 29)
            h = h &* multiplier  // the word's round
            return h ^ (0x9E37_79B9_7F4A_7C15 ^ 8)
        }
    }

    /// `KeyTable.hash` as it was before the seed (a copy, so the construction stays checked).
    static func unseededByteHash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        precondition(bytes.count == 8)
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ 8
        h = (h ^ bytes.loadUnaligned(as: UInt64.self)) &* 0x9FB2_1C65_1E98_DF25
        h ^= h >> 29
        h = h &* 0x9FB2_1C65_1E98_DF25
        h ^= h >> 32
        h = h &* 0xD6E8_FEB8_6659_FD93
        h ^= h >> 32
        return h
    }

    /// The input murmur3's 64-bit finaliser maps to `h`.
    static func unfinalise(_ h: UInt64) -> UInt64 {
        var x = unshift(h, 33)
        x = x &* inverseOf(0xC4CE_B9FE_1A85_EC53)
        x = unshift(x, 33)
        x = x &* inverseOf(0xFF51_AFD7_ED55_8CCD)
        return unshift(x, 33)
    }

    /// The `x` with `x ^ (x >> shift) == y`.
    static func unshift(_ y: UInt64, _ shift: UInt64) -> UInt64 {
        var x = y
        for _ in 0..<(64 / shift + 1) { x = y ^ (x >> shift) }
        return x
    }

    /// The multiplicative inverse of odd `a` modulo 2^64 (Newton's iteration).
    static func inverseOf(_ a: UInt64) -> UInt64 {
        var x = a
        for _ in 0..<6 { x = x &* (2 &- a &* x) }
        return x
    }
}
