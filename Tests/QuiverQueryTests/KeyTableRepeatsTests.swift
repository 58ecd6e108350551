import Testing
@testable import QuiverQuery

/// A key equal to the row before's takes that row's id without a probe: the ids must be the
/// ones probing gives, wherever a repeat falls (within a run of rows, across the runs a
/// table interns in, right after the key's first appearance, after the table grew).
@Suite struct KeyTableRepeatsTests {
    /// Keys with runs of repeats of every length from 1 to 6, mostly the empty key (as a
    /// column of mostly-empty strings), over 40,000 rows: several 8,192-row runs.
    static func keys() -> [[UInt8]] {
        var keys: [[UInt8]] = []
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        while keys.count < 40_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let length = Int(state >> 61) % 6 + 1
            // The empty key half the time; else one of about 3,000 short keys.
            let key: [UInt8] = (state >> 33) & 1 == 0 ? [] : Array("k\((state >> 40) % 3_000)".utf8)
            keys += Array(repeating: key, count: length)
        }
        return keys
    }

    @Test func repeatedKeysGetTheIdsProbingGives() {
        let keys = Self.keys()
        // Expected: ids in order of first appearance, as a table numbers its keys.
        var expected: [Int32] = []
        var seen: [[UInt8]: Int32] = [:]
        for key in keys {
            let id = seen[key] ?? Int32(seen.count)
            seen[key] = id
            expected.append(id)
        }
        let bytes = keys.flatMap { $0 }
        var starts = [0]
        for key in keys { starts.append(starts.last! + key.count) }
        var table = KeyTable()
        var ids = [Int32](repeating: -1, count: keys.count)
        bytes.withUnsafeBytes { bytes in
            ids.withUnsafeMutableBufferPointer { ids in
                table.intern(count: keys.count, ids: ids) { row in
                    UnsafeRawBufferPointer(rebasing: bytes[starts[row]..<starts[row + 1]])
                }
            }
        }
        #expect(ids == expected)
        #expect(table.count == seen.count)
        // Probing the filled table (no repeats among these) finds the same ids.
        for (key, id) in seen {
            let found = key.withUnsafeBytes { key in table.intern(key, hash: KeyTable.hash(key, seed: HashSeed.process)) }
            #expect(found == id)
        }
    }
}
