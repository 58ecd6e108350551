import Foundation
import QuiverArrow
import QuiverBytes
import QuiverStore
import QuiverTestSupport
import Testing
@testable import QuiverQuery

/// Parallel execution, streaming and memory behaviour.
@Suite struct ExecutionTests {
    /// Results are bit-identical across runs and thread counts (partials merge in batch order).
    @Test func resultsAreDeterministic() throws {
        let (source, _) = try TPCHTests.generate(rows: 40_000, batchSize: 1000, seed: 7)
        let queries = [
            TPCHTests.q1SQL, TPCHTests.q6SQL,
            "SELECT l_quantity, count(*), sum(l_extendedprice) FROM lineitem GROUP BY l_quantity",
            "SELECT l_extendedprice, l_shipdate FROM lineitem WHERE l_discount > 0.05 ORDER BY l_quantity DESC, l_tax LIMIT 25",
            "SELECT l_extendedprice FROM lineitem WHERE l_quantity < 3 LIMIT 100",
        ]
        for sql in queries {
            let query = try Query(sql: sql, tables: ["lineitem": source])
            let first = Read.rows(try query.execute(ExecutionOptions(parallelism: 1)).batches)
            for parallelism in [2, 3, 8] {
                for _ in 0..<2 {
                    let again = Read.rows(try query.execute(ExecutionOptions(parallelism: parallelism)).batches)
                    #expect(again == first, "\(sql) at parallelism \(parallelism)")
                }
            }
        }
    }

    /// Many groups merge by hash partition on several threads: the output (groups in order of
    /// first appearance, every aggregate) is the same as the serial merge's at parallelism 1,
    /// for packed and byte-string keys, NULL keys, distinct counts and string min/max, and
    /// each group's count is right.
    @Test func partitionedMergeMatchesSerialMerge() throws {
        var random = SeededRandom(seed: 11)
        let batches = try (0..<8).map { _ in
            let keys: [Int64?] = (0..<20_000).map { _ in Int.random(in: 0..<100, using: &random) == 0 ? nil : Int64.random(in: 0..<60_000, using: &random) }
            let values: [Int64?] = (0..<20_000).map { _ in Int64.random(in: -5...1_000_000, using: &random) }
            return try Make.batch([
                ("k", Make.int64(keys)), ("v", Make.int64(values)),
                ("s", Make.utf8(keys.map { $0.map { "key-\($0 % 40_000)" } })),
            ])
        }
        let source = try InMemorySource(batches: batches)
        var expectedCounts: [Int64?: Int64] = [:]
        var firstSeen: [Int64?] = []
        for batch in batches {
            for value in Read.values(batch.columns[0]) {
                let key: Int64? = { if case .int(let k) = value { return k } else { return nil } }()
                if expectedCounts[key] == nil { firstSeen.append(key) }
                expectedCounts[key, default: 0] += 1
            }
        }
        for sql in [
            "SELECT k, count(*), sum(v), avg(v), min(s), max(v), count(DISTINCT v % 7) FROM t GROUP BY k",
            "SELECT s, count(*), count(DISTINCT k), min(k) FROM t GROUP BY s",
            "SELECT k, s, count(*) FROM t GROUP BY k, s",
        ] {
            let query = try Query(sql: sql, tables: ["t": source])
            let serial = Read.rows(try query.execute(ExecutionOptions(parallelism: 1)).batches)
            let partitioned = Read.rows(try query.execute(ExecutionOptions(parallelism: 4)).batches)
            #expect(serial.count > 16_384, "\(sql): too few groups to partition")
            #expect(partitioned == serial, "\(sql)")
        }
        let counted = Read.rows(try Query(sql: "SELECT k, count(*) FROM t GROUP BY k", tables: ["t": source])
            .execute(ExecutionOptions(parallelism: 4)).batches)
        #expect(counted.map { $0[0] } == firstSeen.map { $0.map { V.int($0) } ?? .null })
        #expect(counted.map { $0[1] } == firstSeen.map { V.int(expectedCounts[$0]!) })
    }

    /// Workers fold batches into long-lived states; when the first batch is slow to arrive,
    /// a later batch starts its own state first. Groups still come out in order of first
    /// appearance, for few groups (one merge partition) and many.
    @Test func slowFirstBatchKeepsFirstAppearanceOrder() throws {
        for groupsPerBatch in [3, 5_000] {
            let batches = try (0..<6).map { batch in
                try Make.batch([("k", Make.int64((0..<groupsPerBatch).map { Int64(batch * groupsPerBatch + $0) }))])
            }
            let source = SlowFirstBatch(inner: try InMemorySource(batches: batches))
            let rows = Read.rows(try Query(sql: "SELECT k, count(*) FROM t GROUP BY k", tables: ["t": source])
                .execute(ExecutionOptions(parallelism: 3)).batches)
            #expect(rows.map { $0[0] } == (0..<6 * groupsPerBatch).map { V.int(Int64($0)) }, "\(groupsPerBatch) groups per batch")
        }
    }

    /// Workers keep folding batches into one keyed state while the keys recur across batches,
    /// and retire a state after one batch when they do not: fewer partials than batches in the
    /// first case, one per batch in the second. Either way the groups come out in order of
    /// first appearance, as the serial result's, and top-k and LIMIT equal the full result.
    @Test func keyedStatesOutliveBatchesOnlyWhileKeysRecur() throws {
        var random = SeededRandom(seed: 47)
        func source(_ key: (Int, Int) -> Int64) throws -> InMemorySource {
            try InMemorySource(batches: (0..<16).map { batch in
                try Make.batch([
                    ("k", Make.int64((0..<8_000).map { key(batch, $0) })),
                    ("v", Make.int64((0..<8_000).map { _ in Int64.random(in: 0..<10, using: &random) })),
                ])
            })
        }
        let recurring = try source { _, _ in Int64.random(in: 0..<6_000, using: &random) }
        let scattered = try source { _, _ in Int64.random(in: 0..<10_000_000, using: &random) }
        let unique = try source { batch, row in Int64(batch * 8_000 + row) }
        for (source, recurs) in [(recurring, true), (scattered, false), (unique, false)] {
            let sql = "SELECT k, count(*) AS c, sum(v), min(v) FROM t GROUP BY k"
            let serial = Read.rows(try Query(sql: sql, tables: ["t": source]).execute(ExecutionOptions(parallelism: 1)).batches)
            let result = try Query(sql: sql, tables: ["t": source]).execute(ExecutionOptions(parallelism: 2))
            #expect(Read.rows(result.batches) == serial)
            let partials = result.statistics.aggregationPartials
            if recurs {
                #expect(partials < 8, "\(partials) partials for recurring keys")
            } else {
                // At most the first state to fold a second batch (and one racing it) keeps two.
                #expect(partials >= 14, "\(partials) partials for keys that do not recur")
            }
            _ = try expectLimitedIsHeadOfFull(sql + " ORDER BY c DESC, sum(v)", offset: 0, limit: 10, source: source)
            _ = try expectLimitedIsHeadOfFull(sql + " ORDER BY c", offset: 4, limit: 5, source: source)
        }
    }

    /// States that folded interleaved batches (one worker's 0, 2, 4, …, another's 1, 3, 5, …)
    /// merge into partitions whose groups are each in order of first appearance — what top-k
    /// and LIMIT read — and into the serial fold's groups and counts.
    @Test func interleavedStatesMergeInOrderOfFirstAppearance() throws {
        let pool = MemoryPool()
        let calls = [AggregateCall(function: .countStar, argument: nil, type: .int64, text: "count(*)")]
        var random = SeededRandom(seed: 53)
        let batches = (0..<8).map { _ in Make.int64((0..<5_000).map { _ in Int64.random(in: 0..<40_000, using: &random) }) }
        let serial = try AggregationState(calls: calls, keyTypes: [.int64], pool: pool)
        let states = try (0..<2).map { _ in try AggregationState(calls: calls, keyTypes: [.int64], pool: pool) }
        for (index, keys) in batches.enumerated() {
            try serial.update(keyColumns: [keys], inputs: [nil], rowCount: keys.length, batch: index)
            try states[index % 2].update(keyColumns: [keys], inputs: [nil], rowCount: keys.length, batch: index)
        }
        for parallelism in [1, 4] {
            let merged = try AggregationState.merge(partials: states, calls: calls, keyTypes: [.int64], parallelism: parallelism, pool: pool)
            let inOrder = merged.partsInFirstAppearanceOrder
            #expect(inOrder, "parallelism \(parallelism)")
            let (columns, count) = try merged.inFirstAppearanceOrder(pool: pool)
            let expected = try serial.finish()
            #expect(count == serial.groupCount)
            #expect(Read.values(columns[0]) == Read.values(expected[0]))
            #expect(Read.values(columns[1]) == Read.values(expected[1]))
        }
    }

    /// date_trunc to a day or less rounds each timestamp down to a multiple of the period in
    /// its own unit: within ±2^53 through a floating-point reciprocal corrected to the exact
    /// floor, beyond it by integer division. Both equal an exact reference, before and after
    /// 1970, at the ±2^53 edge and for nanosecond instants far past it; a result below the
    /// timestamp range is an error. (Week and longer periods are cut on the calendar: the
    /// DuckDB comparison covers them.)
    @Test func dateTruncToADayOrLessIsTheExactFloor() throws {
        var random = SeededRandom(seed: 59)
        let edge: Int64 = 1 << 53
        var instants: [Int64] = [0, -1, 1, edge - 1, -edge + 1, edge, -edge, edge + 1, -edge - 1, Int64.max, Int64.min + 86_400_000_000_000]
        for _ in 0..<2_000 { instants.append(Int64.random(in: -edge...edge, using: &random)) }
        for _ in 0..<2_000 { instants.append(Int64.random(in: Int64.min / 2...Int64.max, using: &random)) }
        for _ in 0..<1_000 { instants.append(Int64.random(in: -1_000...1_000, using: &random) * 3_600_000_000 + Int64.random(in: -2...2, using: &random)) }
        let parts: [(String, Int64)] = [("day", 86_400), ("hour", 3_600), ("minute", 60), ("second", 1)]
        for (unit, perSecond): (TimeUnit, Int64) in [(.microsecond, 1_000_000), (.nanosecond, 1_000_000_000)] {
            let batch = try Make.batch([("t", Make.fixed(.timestamp(unit, timezone: nil), instants.map { Optional($0) }, filler: 0))])
            let source = try InMemorySource(batches: [batch])
            let sql = "SELECT " + parts.map { "date_trunc('\($0.0)', t)" }.joined(separator: ", ") + ", date_trunc('millisecond', t) FROM t"
            let rows = Read.rows(try Query(sql: sql, tables: ["t": source]).execute(ExecutionOptions(parallelism: 1)).batches)
            for (row, instant) in instants.enumerated() {
                let steps = parts.map { $0.1 * perSecond } + [perSecond / 1_000]
                let expected = steps.map { step -> V in
                    let floor = (Int128(instant) - ((Int128(instant) % Int128(step)) + Int128(step)) % Int128(step))
                    return .int(Int64(floor))
                }
                #expect(rows[row] == expected, "\(unit) \(instant)")
            }
        }
        let low = try Make.batch([("t", Make.fixed(.timestamp(.nanosecond, timezone: nil), [Optional(Int64.min + 5)], filler: 0))])
        #expect(throws: QuiverError.self) {
            _ = try Query(sql: "SELECT date_trunc('day', t) FROM t", tables: ["t": try InMemorySource(batches: [low])]).execute(ExecutionOptions())
        }
    }

    /// Grouped MIN and MAX start each slot at the value every input replaces and update it
    /// without a branch, then write results in the input's own type: over int8, int64,
    /// float64 (NaNs skipped; of -0 and 0 the first kept) and decimal inputs, with NULLs and
    /// groups that have only NULLs, every group equals a reference fold, at any parallelism.
    @Test func groupedMinMaxEqualAReferenceFold() throws {
        var random = SeededRandom(seed: 67)
        let rows = 9_000
        let keys = (0..<rows).map { _ in Int64.random(in: 0..<700, using: &random) }
        let tiny: [Int8?] = (0..<rows).map { _ in Int.random(in: 0..<5, using: &random) == 0 ? nil : Int8.random(in: -128...127, using: &random) }
        let wide: [Int64?] = (0..<rows).map { row in keys[row] == 7 ? nil : Int64.random(in: Int64.min...Int64.max, using: &random) }
        let floats: [Double?] = (0..<rows).map { _ in
            [nil, .nan, -0.0, 0.0, -.infinity, .infinity, Double.random(in: -5...5, using: &random)][Int.random(in: 0..<7, using: &random)]
        }
        let cents: [Int128?] = (0..<rows).map { _ in Int.random(in: 0..<6, using: &random) == 0 ? nil : Int128(Int64.random(in: -99_999...99_999, using: &random)) }
        let batches = try stride(from: 0, to: rows, by: 1_500).map { start in
            let range = start..<(start + 1_500)
            return try Make.batch([
                ("k", Make.int64(Array(keys[range]))), ("a", Make.fixed(.int8, Array(tiny[range]), filler: 0)),
                ("b", Make.int64(Array(wide[range]))), ("f", Make.float64(Array(floats[range]))),
                ("d", Make.decimal128(Array(cents[range]), precision: 12, scale: 0)),
            ])
        }
        let source = try InMemorySource(batches: batches)
        func fold<T>(_ values: [T?], _ better: (T, T) -> Bool, skip: (T) -> Bool = { _ in false }) -> [Int64: T] {
            var best: [Int64: T] = [:]
            for (row, value) in values.enumerated() {
                guard let value, !skip(value) else { continue }
                if let current = best[keys[row]] { if better(value, current) { best[keys[row]] = value } } else { best[keys[row]] = value }
            }
            return best
        }
        let sql = "SELECT k, min(a), max(a), min(b), max(b), min(f), max(f), min(d), max(d) FROM t GROUP BY k ORDER BY k"
        let references: [[Int64: V]] = [
            fold(tiny, <).mapValues { .int(Int64($0)) }, fold(tiny, >).mapValues { .int(Int64($0)) },
            fold(wide, <).mapValues { .int($0) }, fold(wide, >).mapValues { .int($0) },
            fold(floats, <, skip: \.isNaN).mapValues { .double($0) }, fold(floats, >, skip: \.isNaN).mapValues { .double($0) },
            fold(cents, <).mapValues { .int(Int64($0)) }, fold(cents, >).mapValues { .int(Int64($0)) },
        ]
        for parallelism in [1, 3] {
            let result = Read.rows(try Query(sql: sql, tables: ["t": source]).execute(ExecutionOptions(parallelism: parallelism)).batches)
            #expect(result.count == Set(keys).count)
            for row in result {
                guard case .int(let key) = row[0] else { Issue.record("key \(row[0])"); continue }
                for (column, reference) in references.enumerated() {
                    let expected = reference[key] ?? .null
                    // -0 and 0 compare equal as Doubles: the sign tells which one was kept.
                    if case .double(let x) = row[column + 1], case .double(let y) = expected {
                        #expect(x == y && x.sign == y.sign, "group \(key), column \(column + 1)")
                    } else {
                        #expect(row[column + 1] == expected, "group \(key), column \(column + 1)")
                    }
                }
            }
        }
    }

    /// Sums of integers of up to 32 bits are kept in Int64 slots while every sum must fit:
    /// the slots widen to Int128 once the rows admitted (or two states merged) could pass
    /// Int64, keeping their values. Through queries, int8/int32/uint32 sums at the types'
    /// extremes with NULLs, over many groups and merged partials, equal an exact reference.
    @Test func narrowSumsWidenBeforeTheyCouldOverflow() throws {
        var carriers = Carriers(kind: .int32, narrowSums: true)
        #expect(carriers.isNarrow)
        carriers.admit(rows: 1 << 31)
        carriers.grow(to: 2)
        carriers.narrow[1] = -5
        #expect(carriers.isNarrow, "2^31 rows of 2^31 stay within Int64")
        carriers.admit(rows: 1 << 31)
        #expect(!carriers.isNarrow && carriers.exact == [0, -5], "2^32 rows could pass Int64")
        var left = Carriers(kind: .uint32, narrowSums: true)
        left.admit(rows: 1 << 30)
        let right = left
        left.admit(merging: right.mergeBound)
        #expect(left.isNarrow)
        left.admit(merging: right.mergeBound)
        #expect(!left.isNarrow, "three bounds of 2^62 do not fit together")
        #expect(!Carriers(kind: .int64, narrowSums: true).isNarrow && !Carriers(kind: .int32).isNarrow)

        var random = SeededRandom(seed: 71)
        let rows = 12_000
        let keys = (0..<rows).map { _ in Int64.random(in: 0..<3_000, using: &random) }
        let small: [Int8?] = (0..<rows).map { _ in Int.random(in: 0..<9, using: &random) == 0 ? nil : [Int8.min, Int8.max, 0, -1][Int.random(in: 0..<4, using: &random)] }
        let mid: [Int32?] = (0..<rows).map { _ in Int.random(in: 0..<9, using: &random) == 0 ? nil : [Int32.min, Int32.max, 7][Int.random(in: 0..<3, using: &random)] }
        let unsigned: [UInt32?] = (0..<rows).map { _ in Int.random(in: 0..<9, using: &random) == 0 ? nil : [UInt32.max, 1][Int.random(in: 0..<2, using: &random)] }
        let batches = try stride(from: 0, to: rows, by: 2_000).map { start in
            let range = start..<(start + 2_000)
            return try Make.batch([
                ("k", Make.int64(Array(keys[range]))), ("a", Make.fixed(.int8, Array(small[range]), filler: 0)),
                ("b", Make.fixed(.int32, Array(mid[range]), filler: 0)), ("c", Make.fixed(.uint32, Array(unsigned[range]), filler: 0)),
            ])
        }
        let source = try InMemorySource(batches: batches)
        func sums<T: BinaryInteger>(_ values: [T?]) -> [Int64: Int128] {
            var total: [Int64: Int128] = [:]
            for (row, value) in values.enumerated() { if let value { total[keys[row], default: 0] += Int128(value) } }
            return total
        }
        let references = [sums(small), sums(mid), sums(unsigned)]
        var midCounts: [Int64: Int] = [:]
        for (row, value) in mid.enumerated() where value != nil { midCounts[keys[row], default: 0] += 1 }
        for parallelism in [1, 2] {
            let result = Read.rows(try Query(sql: "SELECT k, sum(a), sum(b), sum(c), sum(b) + 0, avg(b) FROM t GROUP BY k", tables: ["t": source])
                .execute(ExecutionOptions(parallelism: parallelism)).batches)
            #expect(result.count == Set(keys).count)
            for row in result {
                guard case .int(let key) = row[0] else { continue }
                for (column, reference) in references.enumerated() {
                    #expect(row[column + 1] == (reference[key].map { V.int(Int64($0)) } ?? .null), "group \(key), column \(column + 1)")
                }
                // The average of narrow sums, read without widening them.
                let average = references[1][key].map { V.double(Double($0) / Double(midCounts[key]!)) } ?? .null
                #expect(row[5] == average, "group \(key), avg")
            }
        }
    }

    /// A filtered aggregate whose keys are strings read from plain columns interns the rows
    /// the filter keeps where they lie, at any selectivity, gathering only its arguments:
    /// with plain and dictionary-encoded strings, NULL keys and values, an integer key beside
    /// them, and filters keeping few rows or most, each group's count and sum equal a
    /// reference over the kept rows, in order of first appearance.
    @Test func stringKeysOfKeptRowsInternWhereTheyLie() throws {
        var random = SeededRandom(seed: 73)
        // Strings past 7 bytes and a dictionary larger than a batch's small-domain limit: no
        // small-domain codes, so the selected rows take the interning path under test.
        let words = (0..<20_000).map { "a-longer-word-\($0)" }
        var columns: (filter: [Int64], plain: [String?], coded: [Int32?], number: [Int64], value: [Int64?]) = ([], [], [], [], [])
        let batches = try (0..<6).map { _ in
            let count = 3_000
            let filter = (0..<count).map { _ in Int64.random(in: 0..<100, using: &random) }
            let plain: [String?] = (0..<count).map { _ in Int.random(in: 0..<15, using: &random) == 0 ? nil : words[Int.random(in: 0..<300, using: &random)] }
            let coded: [Int32?] = (0..<count).map { _ in Int.random(in: 0..<15, using: &random) == 0 ? nil : Int32.random(in: 0..<20_000, using: &random) }
            let number = (0..<count).map { _ in Int64.random(in: 0..<4, using: &random) }
            let value: [Int64?] = (0..<count).map { _ in Int.random(in: 0..<8, using: &random) == 0 ? nil : Int64.random(in: -9...9, using: &random) }
            columns.filter += filter; columns.plain += plain; columns.coded += coded; columns.number += number; columns.value += value
            return try Make.batch([
                ("f", Make.int64(filter)), ("p", Make.utf8(plain)), ("d", Make.dictionary(coded, words)),
                ("n", Make.int64(number)), ("v", Make.int64(value)),
            ])
        }
        let source = try InMemorySource(batches: batches)
        for threshold in [7, 80] {
            let kept = columns.filter.indices.filter { columns.filter[$0] < threshold }
            for (sql, key) in [
                ("SELECT p, n, count(*), sum(v) FROM t WHERE f < \(threshold) GROUP BY p, n", { (row: Int) -> [V] in
                    [columns.plain[row].map { .string($0) } ?? .null, .int(columns.number[row])] }),
                ("SELECT d, count(*), sum(v) FROM t WHERE f < \(threshold) GROUP BY d", { (row: Int) -> [V] in
                    [columns.coded[row].map { .string(words[Int($0)]) } ?? .null] }),
            ] {
                var order: [[V]] = []
                var totals: [[V]: (count: Int64, sum: Int64?)] = [:]
                for row in kept {
                    let group = key(row)
                    if totals[group] == nil { order.append(group) }
                    var total = totals[group] ?? (0, nil)
                    total.count += 1
                    if let value = columns.value[row] { total.sum = (total.sum ?? 0) + value }
                    totals[group] = total
                }
                let expected = order.map { $0 + [.int(totals[$0]!.count), totals[$0]!.sum.map { .int($0) } ?? .null] }
                for parallelism in [1, 2] {
                    let rows = Read.rows(try Query(sql: sql, tables: ["t": source]).execute(ExecutionOptions(parallelism: parallelism)).batches)
                    #expect(rows == expected, "\(sql) at parallelism \(parallelism)")
                }
            }
        }
    }

    /// ORDER BY … LIMIT over groups computes derived keys and outputs for the top groups only;
    /// the rows are those of the full ordered result, ties (broken by first appearance),
    /// HAVING, OFFSET and derived keys included.
    @Test func topGroupsEqualTheFullOrderedResult() throws {
        var random = SeededRandom(seed: 5)
        let batches = try (0..<4).map { _ in
            try Make.batch([
                ("k", Make.int64((0..<5_000).map { _ in Int64.random(in: 0..<3_000, using: &random) })),
                ("v", Make.int64((0..<5_000).map { _ in Int.random(in: 0..<10, using: &random) == 0 ? nil : Int64.random(in: -50...50, using: &random) })),
            ])
        }
        let source = try InMemorySource(batches: batches)
        for (body, offset, limit) in [
            ("SELECT k, count(*) AS c, sum(v) FROM t GROUP BY k ORDER BY c DESC", 0, 10),
            ("SELECT k, count(*) AS c FROM t GROUP BY k ORDER BY c", 3, 10),
            ("SELECT k, k - 1, k * 2, count(*) AS c FROM t GROUP BY k, k - 1, k * 2 ORDER BY c DESC", 0, 7),
            ("SELECT k, k - 1, count(*) AS c FROM t GROUP BY k, k - 1 ORDER BY k - 1 DESC", 0, 5),
            ("SELECT k, sum(v) AS s FROM t GROUP BY k HAVING count(*) > 8 ORDER BY s DESC, k", 2, 4),
            ("SELECT min(v), k % 7 AS m, count(*) FROM t GROUP BY m ORDER BY m", 0, 3),
        ] {
            let full = try expectLimitedIsHeadOfFull(body, offset: offset, limit: limit, source: source)
            #expect(full.count > offset + limit, "\(body)")
        }
    }

    /// ORDER BY … LIMIT over many groups decodes byte-string keys for the top groups alone
    /// (unless a sort key reads a key): with every kind of aggregate, integer keys and string
    /// keys beside them, the rows equal the head of the full ordered result.
    @Test func topGroupsDecodeOnlyTheirKeys() throws {
        var random = SeededRandom(seed: 23)
        let words = ["", "a", "bb", "a longer string than a word", "zz", "Mm"]
        let batches = try (0..<5).map { _ in
            try Make.batch([
                ("k", Make.int64((0..<8_000).map { _ in Int64.random(in: 0..<4_000, using: &random) })),
                ("v", Make.int64((0..<8_000).map { _ in Int.random(in: 0..<10, using: &random) == 0 ? nil : Int64.random(in: -50...50, using: &random) })),
                ("s", Make.utf8((0..<8_000).map { _ in Int.random(in: 0..<8, using: &random) == 0 ? nil : words.randomElement(using: &random)! })),
            ])
        }
        let source = try InMemorySource(batches: batches)
        let aggregates = "count(*) AS c, count(DISTINCT v), count(DISTINCT s), min(s), max(s), sum(v), avg(v), min(v), max(v), count(v)"
        for (body, offset, limit) in [
            // Ties are broken by first appearance, in both runs.
            ("SELECT k, \(aggregates) FROM t GROUP BY k ORDER BY c DESC", 0, 10),
            ("SELECT k, s, \(aggregates) FROM t GROUP BY k, s ORDER BY c DESC, min(v)", 4, 12),
            ("SELECT s, k, \(aggregates) FROM t GROUP BY s, k HAVING max(v) > 40 ORDER BY sum(v)", 1, 6),
            // A sort key that is a group key: every group's keys are decoded.
            ("SELECT k, \(aggregates) FROM t GROUP BY k ORDER BY k DESC", 2, 5),
        ] {
            for parallelism in [1, 2] {
                let full = try expectLimitedIsHeadOfFull(body, offset: offset, limit: limit, source: source, parallelism: parallelism)
                #expect(full.count > 4 * (offset + limit), "\(body)")
            }
        }
    }

    /// Runs `body` whole and with LIMIT `limit` (and OFFSET `offset`) appended, expects the
    /// limited rows to be the full result's from `offset` on, and returns the full result.
    private func expectLimitedIsHeadOfFull(
        _ body: String, offset: Int, limit: Int, source: InMemorySource, parallelism: Int = 2
    ) throws -> [[V]] {
        let options = ExecutionOptions(parallelism: parallelism)
        let full = Read.rows(try Query(sql: body, tables: ["t": source]).execute(options).batches)
        let sql = body + " LIMIT \(limit)" + (offset > 0 ? " OFFSET \(offset)" : "")
        let limited = Read.rows(try Query(sql: sql, tables: ["t": source]).execute(options).batches)
        #expect(limited == Array(full.dropFirst(offset).prefix(limit)), "\(sql) at parallelism \(parallelism)")
        return full
    }

    /// LIMIT without ORDER BY returns the first groups to appear; once they are known, later
    /// batches aggregate only those groups. Their aggregates still count every batch's rows:
    /// the result equals the head of the full result, for packed and string keys, with a
    /// filter, OFFSET, distinct counts and SELECT DISTINCT, at any parallelism.
    @Test func limitWithoutOrderByAggregatesTheFirstGroupsOverEveryBatch() throws {
        var random = SeededRandom(seed: 31)
        let batches = try (0..<12).map { _ in
            try Make.batch([
                ("k", Make.int64((0..<5_000).map { _ in Int64.random(in: 0..<3_000, using: &random) })),
                ("v", Make.int64((0..<5_000).map { _ in Int.random(in: 0..<10, using: &random) == 0 ? nil : Int64.random(in: -50...50, using: &random) })),
                ("s", Make.utf8((0..<5_000).map { _ in Int.random(in: 0..<12, using: &random) == 0 ? nil : "s\(Int.random(in: 0..<200, using: &random))" })),
            ])
        }
        let source = try InMemorySource(batches: batches)
        for (body, offset, limit) in [
            ("SELECT k, count(*) AS c, sum(v), min(v), count(DISTINCT v) FROM t GROUP BY k", 0, 10),
            ("SELECT k, count(*) AS c, sum(v) FROM t GROUP BY k", 5, 12),
            ("SELECT s, k % 3 AS m, count(*), max(v) FROM t WHERE v > 0 GROUP BY s, m", 3, 20),
            ("SELECT DISTINCT s FROM t", 0, 7),
        ] {
            for parallelism in [1, 2] {
                let full = try expectLimitedIsHeadOfFull(body, offset: offset, limit: limit, source: source, parallelism: parallelism)
                #expect(full.count > offset + limit, "\(body)")
            }
        }
    }

    /// Integer sort keys compare through exact words, the 64-bit extremes (whose words a
    /// NULL's may equal) included, and top-k turns rows away by their first key's word: the
    /// top rows and the full order equal a stable reference sort, ties in input order, for
    /// each direction and NULL placement; likewise strings sharing their first 8 bytes.
    @Test func sortKeysAtTheExtremesOrderLikeAStableReference() throws {
        var random = SeededRandom(seed: 41)
        let pool: [Int64?] = [Int64.min, Int64.max, Int64.min + 1, Int64.max - 1, 0, -1, 1, nil, 1 << 53, (1 << 53) + 1]
        let count = 9_000
        let xs = (0..<count).map { _ in pool[Int.random(in: 0..<pool.count, using: &random)] }
        let ss = (0..<count).map { _ in Int.random(in: 0..<9, using: &random) == 0 ? nil : "prefix--\(Int.random(in: 0..<400, using: &random))" }
        let batches = try (0..<3).map { part in
            let rows = (part * 3_000)..<((part + 1) * 3_000)
            return try Make.batch([
                ("x", Make.int64(Array(xs[rows]))), ("s", Make.utf8(Array(ss[rows]))), ("i", Make.int64(rows.map { Int64($0) })),
            ])
        }
        let source = try InMemorySource(batches: batches)
        func reference<T: Comparable>(_ values: [T?], descending: Bool, nullsFirst: Bool) -> [Int] {
            Array(0..<count).sorted { a, b in
                switch (values[a], values[b]) {
                case (nil, nil): return a < b
                case (nil, _): return nullsFirst
                case (_, nil): return !nullsFirst
                case (let x?, let y?): return x == y ? a < b : (descending ? x > y : x < y)
                }
            }
        }
        for descending in [false, true] {
            for nullsFirst in [false, true] {
                let order = (descending ? " DESC" : " ASC") + (nullsFirst ? " NULLS FIRST" : " NULLS LAST")
                for (column, expected) in [("x", reference(xs, descending: descending, nullsFirst: nullsFirst)),
                                           ("s", reference(ss, descending: descending, nullsFirst: nullsFirst))] {
                    for limit in [7, 1_000, nil] {
                        let sql = "SELECT i FROM t ORDER BY \(column)\(order)" + (limit.map { " LIMIT \($0)" } ?? "")
                        let rows = Read.rows(try Query(sql: sql, tables: ["t": source]).execute(ExecutionOptions(parallelism: 2)).batches)
                        #expect(rows == expected.prefix(limit ?? count).map { [.int(Int64($0))] }, "\(sql)")
                    }
                }
            }
        }
    }

    /// CASE picks each row's result 64 rows at a time and copies fixed-width results straight
    /// into the output: over batches of many words (a partial last word included), with NULL
    /// conditions, NULL results and constants, rows equal a row-by-row reference; so does
    /// COALESCE, which picks the same way.
    @Test func caseAndCoalesceOfFixedWidthValuesEqualARowByRowReference() throws {
        var random = SeededRandom(seed: 43)
        let count = 3 * 1_000
        func maybe(_ value: Int64) -> Int64? { Int.random(in: 0..<7, using: &random) == 0 ? nil : value }
        let xs = (0..<count).map { _ in maybe(Int64.random(in: -5...10, using: &random)) }
        let ys = (0..<count).map { _ in maybe(Int64.random(in: -1_000...1_000, using: &random)) }
        let ds = (0..<count).map { _ in Int.random(in: 0..<5, using: &random) == 0 ? nil : Int32.random(in: 0...20_000, using: &random) }
        let batches = try (0..<3).map { part in
            let rows = (part * 1_000)..<((part + 1) * 1_000)
            return try Make.batch([("x", Make.int64(Array(xs[rows]))), ("y", Make.int64(Array(ys[rows]))), ("d", Make.date32(Array(ds[rows])))])
        }
        let source = try InMemorySource(batches: batches)
        // Overlapping conditions: the first TRUE one decides.
        let sql = "SELECT CASE WHEN x > 5 THEN y WHEN x < 0 THEN NULL WHEN x > 2 THEN x ELSE 7 END, coalesce(y, x, -1), CASE WHEN x > 0 THEN d END FROM t"
        let rows = Read.rows(try Query(sql: sql, tables: ["t": source]).execute(ExecutionOptions(parallelism: 2)).batches)
        let expected: [[V]] = (0..<count).map { row in
            let x = xs[row]
            let picked: Int64? = if let x, x > 5 { ys[row] } else if let x, x < 0 { nil } else if let x, x > 2 { x } else { 7 }
            let coalesced = ys[row] ?? x ?? -1
            let date: Int32? = if let x, x > 0 { ds[row] } else { nil }
            return [picked.map { .int($0) } ?? .null, .int(coalesced), date.map { .int(Int64($0)) } ?? .null]
        }
        #expect(rows == expected)
    }

    /// Dates group through small-domain codes like integers, and a key table holding just
    /// under half its slots (31 floats) grows rather than interning in runs of a row: the
    /// groups, in order of first appearance, and their counts equal a reference.
    @Test func dateAndFewFloatKeysGroupLikeTheReference() throws {
        var random = SeededRandom(seed: 47)
        let count = 4 * 5_000
        let dates = (0..<count).map { _ in Int.random(in: 0..<20, using: &random) == 0 ? nil : Int32(15_887 + Int.random(in: 0..<31, using: &random)) }
        let floats = (0..<count).map { _ in Double(Int.random(in: 0..<31, using: &random)) / 4 }
        let users = (0..<count).map { _ in Int64.random(in: 0..<500, using: &random) }
        let batches = try (0..<4).map { part in
            let rows = (part * 5_000)..<((part + 1) * 5_000)
            return try Make.batch([
                ("d", Make.date32(Array(dates[rows]))), ("f", Make.float64(Array(floats[rows]))), ("u", Make.int64(Array(users[rows]))),
            ])
        }
        let source = try InMemorySource(batches: batches)
        func reference<K: Hashable>(_ keys: [K]) -> [(K, Int, Int)] {
            var order: [K] = []
            var counts: [K: Int] = [:]
            var distinct: [K: Set<Int64>] = [:]
            for (key, user) in zip(keys, users) {
                if counts[key] == nil { order.append(key) }
                counts[key, default: 0] += 1
                distinct[key, default: []].insert(user)
            }
            return order.map { ($0, counts[$0]!, distinct[$0]!.count) }
        }
        for parallelism in [1, 2] {
            let options = ExecutionOptions(parallelism: parallelism)
            let byDate = Read.rows(try Query(sql: "SELECT d, count(*), count(DISTINCT u) FROM t GROUP BY d", tables: ["t": source]).execute(options).batches)
            #expect(byDate == reference(dates).map { [$0.0.map { .int(Int64($0)) } ?? .null, .int(Int64($0.1)), .int(Int64($0.2))] })
            let byFloat = Read.rows(try Query(sql: "SELECT f, count(*), count(DISTINCT u) FROM t GROUP BY f", tables: ["t": source]).execute(options).batches)
            #expect(byFloat == reference(floats).map { [.double($0.0), .int(Int64($0.1)), .int(Int64($0.2))] })
        }
    }

    /// lower and upper map ASCII, Latin-1 and basic Cyrillic byte by byte, and everything else
    /// through Swift's Unicode mapping: each character of those ranges, alone and within
    /// mixed strings (with a character outside them too), maps as Swift maps it.
    @Test func lowerAndUpperMapLikeSwift() throws {
        let scalars = (0x20..<0x7F).map { $0 } + (0xC0...0xFF).map { $0 } + (0x400...0x45F).map { $0 } + [0xB5, 0x100, 0x460, 0x1E9E]
        let characters = scalars.map { String(Character(Unicode.Scalar($0)!)) }
        var random = SeededRandom(seed: 53)
        let mixed = (0..<300).map { _ in (0..<Int.random(in: 0..<12, using: &random)).map { _ in characters[Int.random(in: 0..<characters.count, using: &random)] }.joined() }
        let strings = characters + mixed + ["Москва ÀÉÎ straße", "Ёжик в тумане", ""]
        let source = try InMemorySource(batches: [Make.batch([("s", Make.utf8(strings))])])
        let rows = Read.rows(try Query(sql: "SELECT lower(s), upper(s) FROM t", tables: ["t": source]).execute().batches)
        #expect(rows == strings.map { [.string($0.lowercased()), .string($0.uppercased())] })
    }

    /// COUNT(DISTINCT) of strings without GROUP BY counts a set of the strings' own bytes: with
    /// NULLs, empty strings, a filter, several batches and workers' sets folded together, it
    /// equals the reference's count.
    @Test func globalDistinctStringsCountLikeTheReference() throws {
        var random = SeededRandom(seed: 59)
        var all = Set<String>()
        var kept = Set<String>()
        let batches = try (0..<5).map { _ in
            let keys = (0..<8_000).map { _ in Int64.random(in: 0..<10, using: &random) }
            let strings: [String?] = (0..<8_000).map { _ in
                switch Int.random(in: 0..<10, using: &random) {
                case 0: return nil
                case 1: return ""
                default: return "value \(Int.random(in: 0..<30_000, using: &random))"
                }
            }
            for (key, string) in zip(keys, strings) {
                guard let string else { continue }
                all.insert(string)
                if key < 3 { kept.insert(string) }
            }
            return try Make.batch([("k", Make.int64(keys)), ("s", Make.utf8(strings))])
        }
        let source = try InMemorySource(batches: batches)
        for parallelism in [1, 2] {
            let options = ExecutionOptions(parallelism: parallelism)
            let rows = Read.rows(try Query(sql: "SELECT count(DISTINCT s), count(*) FROM t", tables: ["t": source]).execute(options).batches)
            #expect(rows == [[.int(Int64(all.count)), .int(40_000)]])
            let filtered = Read.rows(try Query(sql: "SELECT count(DISTINCT s) FROM t WHERE k < 3", tables: ["t": source]).execute(options).batches)
            #expect(filtered == [[.int(Int64(kept.count))]])
        }
    }

    /// A constant GROUP BY key beside column keys is computed per group, not hashed: the
    /// groups are those of the column keys, in the same order, with the constant beside them;
    /// over no rows there are no groups. Constants alone still group (one group, or none).
    @Test func constantGroupKeysGroupLikeTheColumnKeysAlone() throws {
        var random = SeededRandom(seed: 23)
        let batches = try (0..<3).map { _ in
            try Make.batch([
                ("k", Make.int64((0..<4_000).map { _ in Int64.random(in: 0..<900, using: &random) })),
                ("s", Make.utf8((0..<4_000).map { _ in Int.random(in: 0..<9, using: &random) == 0 ? nil : "u\(Int.random(in: 0..<300, using: &random))" })),
            ])
        }
        let source = try InMemorySource(batches: batches)
        func rows(_ sql: String) throws -> [[V]] {
            Read.rows(try Query(sql: sql, tables: ["t": source]).execute(ExecutionOptions(parallelism: 2)).batches)
        }
        let plain = try rows("SELECT s, k, count(*) AS c FROM t GROUP BY s, k")
        let constant = try rows("SELECT 1, s, 'x' AS x, k, count(*) AS c FROM t GROUP BY 1, s, x, k")
        #expect(plain.count > 1_000)
        #expect(constant == plain.map { [.int(1), $0[0], .string("x"), $0[1], $0[2]] })
        let top = try rows("SELECT 1, s, count(*) AS c FROM t GROUP BY 1, s ORDER BY c DESC, s LIMIT 5")
        #expect(top == (try rows("SELECT s, count(*) AS c FROM t GROUP BY s ORDER BY c DESC, s LIMIT 5")).map { [.int(1)] + $0 })
        #expect(try rows("SELECT 1, s, count(*) FROM t WHERE k < 0 GROUP BY 1, s").isEmpty)
        #expect(try rows("SELECT 1, count(*) FROM t GROUP BY 1") == [[.int(1), .int(12_000)]])
        #expect(try rows("SELECT 1, count(*) FROM t WHERE k < 0 GROUP BY 1").isEmpty)
        let plan = try Query(sql: "SELECT 1, s, 'x' AS x, k, count(*) FROM t GROUP BY 1, s, x, k", tables: ["t": source]).explain()
        #expect(plan.contains("Aggregate: group by [s, k] per group [1, 'x']; count(*)"), "\(plan)")
        #expect(try Query(sql: "SELECT 1, count(*) FROM t GROUP BY 1", tables: ["t": source]).explain().contains("group by [1];"))
    }

    /// Enough groups for the merge to split them into partitions: the top groups picked from
    /// each partition's own top k, ties broken by first appearance, equal the head of the
    /// whole ordered result (the counts tie at the cut).
    @Test func topGroupsAcrossPartitionsEqualTheFullOrderedResult() throws {
        var random = SeededRandom(seed: 11)
        let batches = try (0..<6).map { _ in
            try Make.batch([
                ("k", Make.int64((0..<60_000).map { _ in Int64.random(in: 0..<1_000_000, using: &random) })),
                ("v", Make.int64((0..<60_000).map { _ in Int64.random(in: -50...50, using: &random) })),
            ])
        }
        let source = try InMemorySource(batches: batches)
        for (body, offset, limit) in [
            ("SELECT k, count(*) AS c, sum(v) AS s FROM t GROUP BY k ORDER BY c DESC", 0, 10),
            ("SELECT k, sum(v) AS s FROM t GROUP BY k HAVING count(*) > 1 ORDER BY s", 5, 20),
            // No ORDER BY: the first groups to appear.
            ("SELECT k, count(*) AS c FROM t GROUP BY k", 7, 10),
        ] {
            let full = try expectLimitedIsHeadOfFull(body, offset: offset, limit: limit, source: source)
            #expect(full.count > (body.contains("HAVING") ? 30_000 : 262_144))
        }
    }

    /// Enough (group, value) pairs for the merge to split them into partitions: each partition
    /// takes only the pairs routed to it, integer values (packed pairs) and strings (byte pairs)
    /// alike, and every group's distinct count, min, max, count and sum equals the reference's,
    /// groups in order of first appearance. At parallelism 4 the merge has 8 partitions, so
    /// partials are first renumbered by partition (`arrangeByPartition`): integer and string
    /// keys, every kind of accumulator and the distinct pairs' tags.
    @Test func distinctCountsAcrossPartitionsEqualTheReference() throws {
        var random = SeededRandom(seed: 17)
        var distinct: [Int64: Set<Int64>] = [:]
        var counts: [Int64: (rows: Int64, sum: Int64)] = [:]
        var order: [Int64] = []
        let batches = try (0..<6).map { _ in
            let keys = (0..<60_000).map { _ in Int64.random(in: 0..<5_000, using: &random) }
            let values = (0..<60_000).map { _ in Int64.random(in: 0..<2_000_000, using: &random) }
            for (key, value) in zip(keys, values) {
                if distinct[key] == nil { order.append(key) }
                distinct[key, default: []].insert(value)
                counts[key, default: (0, 0)].rows += 1
                counts[key, default: (0, 0)].sum += value
            }
            return try Make.batch([
                ("k", Make.int64(keys)), ("v", Make.int64(values)), ("s", Make.utf8(values.map { "value \($0)" })),
                ("ks", Make.utf8(keys.map { "key \($0)" })),
            ])
        }
        let source = try InMemorySource(batches: batches)
        #expect(distinct.values.reduce(0) { $0 + $1.count } > 262_144)
        for parallelism in [2, 4] {
            let options = ExecutionOptions(parallelism: parallelism)
            let sql = "SELECT k, count(DISTINCT v) AS n, count(DISTINCT s) AS m, min(v), max(v), count(*), sum(v), min(s) FROM t GROUP BY k"
            let rows = Read.rows(try Query(sql: sql, tables: ["t": source]).execute(options).batches)
            #expect(rows == order.map { key in
                let values = distinct[key]!
                return [.int(key), .int(Int64(values.count)), .int(Int64(values.count)), .int(values.min()!), .int(values.max()!),
                        .int(counts[key]!.rows), .int(counts[key]!.sum), .string(values.map { "value \($0)" }.min()!)]
            }, "parallelism \(parallelism)")
            let byString = Read.rows(try Query(sql: "SELECT ks, count(DISTINCT v), count(*), max(v) FROM t GROUP BY ks", tables: ["t": source]).execute(options).batches)
            #expect(byString == order.map { key in
                [.string("key \(key)"), .int(Int64(distinct[key]!.count)), .int(counts[key]!.rows), .int(distinct[key]!.max()!)]
            }, "parallelism \(parallelism)")
        }
    }

    /// String group keys are interned in runs whose new keys wait aside until the run ends: keys
    /// repeated within a run, NULLs, empty strings and a table that grows between runs must give
    /// the reference counts, groups in order of first appearance.
    @Test func stringKeysInternedInRunsCountLikeTheReference() throws {
        for batchCount in [1, 3] {
            try stringKeysCount(batchCount: batchCount)
        }
    }

    /// One batch is finished as it is; several go through the partitioned merge, which would
    /// fold a key split into two groups back together.
    private func stringKeysCount(batchCount: Int) throws {
        var random = SeededRandom(seed: 29)
        var order: [String] = []
        var counts: [String: Int64] = [:]
        let batches = try (0..<batchCount).map { _ in
            let keys: [String?] = (0..<20_000).map { _ in
                switch Int.random(in: 0..<20, using: &random) {
                case 0: return nil
                case 1: return ""
                default: return "key-\(Int.random(in: 0..<9_000, using: &random))"
                }
            }
            for key in keys {
                let name = key ?? "<null>"
                if counts[name] == nil { order.append(name) }
                counts[name, default: 0] += 1
            }
            return try Make.batch([("s", Make.utf8(keys))])
        }
        let rows = Read.rows(try Query(sql: "SELECT s, count(*) FROM t GROUP BY s", tables: ["t": try InMemorySource(batches: batches)])
            .execute(ExecutionOptions(parallelism: 2)).batches)
        #expect(rows == order.map { [$0 == "<null>" ? .null : .string($0), .int(counts[$0]!)] })
    }

    /// Tables past the caches request their probes ahead (per-batch tables, merged partitions,
    /// and the long-lived tables of a global count(DISTINCT)): packed keys, byte-string keys
    /// and distinct pairs there must still count like the reference, groups in order of first
    /// appearance.
    @Test func largeTablesCountLikeTheReference() throws {
        var random = SeededRandom(seed: 31)
        var order: [Int64] = []
        var counts: [Int64: Int64] = [:]
        var distinctPerGroup: [Int64: Set<Int64>] = [:]
        let batches = try (0..<3).map { _ in
            let keys: [Int64] = (0..<150_000).map { _ in
                // Skewed like user ids: a few keys recur often, most are rare.
                Int.random(in: 0..<4, using: &random) == 0 ? Int64.random(in: 0..<50, using: &random) : Int64.random(in: 0..<400_000, using: &random)
            }
            for key in keys {
                if counts[key] == nil { order.append(key) }
                counts[key, default: 0] += 1
                distinctPerGroup[key % 7, default: []].insert(key)
            }
            return try Make.batch([("k", Make.int64(keys)), ("s", Make.utf8(keys.map { "https://example.com/user/\($0)" }))])
        }
        let source = try InMemorySource(batches: batches)
        func run(_ sql: String) throws -> [[V]] {
            Read.rows(try Query(sql: sql, tables: ["t": source]).execute(ExecutionOptions(parallelism: 2)).batches)
        }
        #expect(try run("SELECT k, count(*) FROM t GROUP BY k") == order.map { [.int($0), .int(counts[$0]!)] })
        #expect(try run("SELECT s, count(*) FROM t GROUP BY s") == order.map { [.string("https://example.com/user/\($0)"), .int(counts[$0]!)] })
        #expect(try run("SELECT count(DISTINCT k), count(DISTINCT s) FROM t") == [[.int(Int64(counts.count)), .int(Int64(counts.count))]])
        let perGroup = try run("SELECT k % 7 AS g, count(DISTINCT k), count(DISTINCT s) FROM t GROUP BY g ORDER BY g")
        #expect(perGroup == (0..<7).map { group in
            let distinct = Int64(distinctPerGroup[Int64(group)]!.count)
            return [.int(Int64(group)), .int(distinct), .int(distinct)]
        })
    }

    /// A global count(DISTINCT) of an integer or temporal column counts a set of 64-bit
    /// values: every width, NULLs, zeros (the set's empty slot), negative values, a filter
    /// that keeps most rows (read through its bits), a dictionary-encoded column, several
    /// batches and workers, per-batch partials that reserve their sets, and a set past the
    /// prefetch threshold must all count like the reference.
    @Test func globalDistinctValueSetsCountLikeTheReference() throws {
        var random = SeededRandom(seed: 41)
        var wide: [Int64: Bool] = [:]
        var narrow: Set<Int16> = []
        var days: Set<Int32> = []
        var kept: Set<Int64> = []
        let batches = try (0..<4).map { _ in
            let big: [Int64?] = (0..<60_000).map { _ in
                switch Int.random(in: 0..<50, using: &random) {
                case 0: return nil
                case 1: return 0
                default: return Int64.random(in: -200_000...200_000, using: &random)
                }
            }
            let small: [Int16?] = (0..<60_000).map { _ in Int.random(in: 0..<9, using: &random) == 0 ? nil : Int16.random(in: -300...300, using: &random) }
            let dates: [Int32?] = (0..<60_000).map { _ in Int32.random(in: 19_000..<19_400, using: &random) }
            let flags: [Int32?] = (0..<60_000).map { _ in Int32.random(in: 0..<10, using: &random) }
            for (value, flag) in zip(big, flags) {
                if let value { wide[value] = true }
                if let value, flag! != 0 { kept.insert(value) }
            }
            for value in small { if let value { narrow.insert(value) } }
            for value in dates { days.insert(value!) }
            return try Make.batch([
                ("big", Make.int64(big)), ("small", Make.int16(small)), ("day", Make.date32(dates)), ("flag", Make.int32(flags)),
                ("code", Make.dictionary(indices: Make.int32((0..<60_000).map { _ in Int32.random(in: 0..<3, using: &random) }), dictionary: Make.int64([7, 0, -7]))),
            ])
        }
        let source = try InMemorySource(batches: batches)
        for parallelism in [1, 2] {
            func run(_ sql: String) throws -> [[V]] {
                Read.rows(try Query(sql: sql, tables: ["t": source]).execute(ExecutionOptions(parallelism: parallelism)).batches)
            }
            #expect(try run("SELECT count(DISTINCT big), count(DISTINCT small), count(DISTINCT day), count(DISTINCT code) FROM t")
                == [[.int(Int64(wide.count)), .int(Int64(narrow.count)), .int(Int64(days.count)), .int(3)]])
            #expect(try run("SELECT count(DISTINCT big) FROM t WHERE flag <> 0") == [[.int(Int64(kept.count))]])
            // A float average makes the aggregate order-dependent: per-batch partials, each
            // reserving its value set from the batches before it, merged in batch order.
            #expect(try run("SELECT count(DISTINCT big), avg(flag * 0.5) FROM t").first?.first == .int(Int64(wide.count)))
            #expect(try run("SELECT count(DISTINCT big) FROM t WHERE flag < 0") == [[.int(0)]])
        }
    }

    /// The merge sizes its tables by sketches of the groups' hashes: their estimate stays
    /// within 15% from a handful of values to millions, repeats do not count, and the union of
    /// two sketches counts the values of both once.
    @Test func distinctSketchEstimatesCardinality() {
        var random = SeededRandom(seed: 37)
        for distinct in [0, 1, 10, 1_000, 50_000, 2_000_000] {
            let hashes = (0..<distinct).map { _ in UInt64.random(in: 0...UInt64.max, using: &random) }
            var first = DistinctSketch()
            var second = DistinctSketch()
            for (index, hash) in hashes.enumerated() {
                first.add(hash)
                // The second sketch sees the latter two thirds, the first sketch the rest too.
                if index >= distinct / 3 { second.add(hash) }
            }
            for hash in hashes { first.add(hash) }
            first.formUnion(second)
            let error = abs(Double(first.estimate - distinct)) / Double(Swift.max(distinct, 1))
            #expect(error < 0.15, "\(distinct) distinct hashes estimated as \(first.estimate)")
        }
        #expect(abs(DistinctSketch.naturalLog(10) - 2.302_585_092_994_046) < 1e-12)
    }

    /// Global min/max of integer columns without NULLs reduce in the column's own type: the
    /// extremes of every width, across batches (one of a single row), equal the values'.
    @Test func globalMinMaxOfIntegerColumns() throws {
        var random = SeededRandom(seed: 17)
        let sizes = [1_000, 1, 2_500]
        var int64s: [[Int64]] = sizes.map { (0..<$0).map { _ in Int64.random(in: -1_000_000...1_000_000, using: &random) } }
        int64s[2][7] = .max
        int64s[0][3] = .min
        let int16s: [[Int16]] = sizes.map { (0..<$0).map { _ in Int16.random(in: .min ... .max, using: &random) } }
        let batches = try zip(int64s, int16s).map { wide, narrow in
            try Make.batch([("w", Make.int64(wide)), ("n", Make.int16(narrow))])
        }
        let rows = Read.rows(try Query(sql: "SELECT min(w), max(w), min(n), max(n) FROM t", tables: ["t": try InMemorySource(batches: batches)])
            .execute(ExecutionOptions(parallelism: 2)).batches)
        let (wide, narrow) = (int64s.flatMap { $0 }, int16s.flatMap { $0 })
        #expect(rows == [[.int(wide.min()!), .int(wide.max()!), .int(Int64(narrow.min()!)), .int(Int64(narrow.max()!))]])
    }

    /// Global sums of integers up to 32 bits add up in an unchecked Int64 per stretch of rows:
    /// extremes in every batch, one-row batches and unsigned values must give the exact sums.
    @Test func globalSumsOfNarrowIntegers() throws {
        var random = SeededRandom(seed: 23)
        let sizes = [4_000, 1, 3_000]
        var int32s: [[Int32]] = sizes.map { (0..<$0).map { _ in Int32.random(in: .min ... .max, using: &random) } }
        for batch in int32s.indices { int32s[batch][0] = batch == 1 ? .min : .max }
        let uint32s: [[UInt32]] = sizes.map { (0..<$0).map { _ in .max - UInt32.random(in: 0...3, using: &random) } }
        let int8s: [[Int8]] = sizes.map { (0..<$0).map { _ in Int8.random(in: .min ... .max, using: &random) } }
        let batches = try sizes.indices.map { b in
            try Make.batch([
                ("a", Make.int32(int32s[b])),
                ("b", Make.fixed(.uint32, uint32s[b].map { Optional($0) }, filler: 0)),
                ("c", Make.fixed(.int8, int8s[b].map { Optional($0) }, filler: 0)),
            ])
        }
        let rows = Read.rows(try Query(sql: "SELECT sum(a), sum(b), sum(c) FROM t", tables: ["t": try InMemorySource(batches: batches)])
            .execute(ExecutionOptions(parallelism: 2)).batches)
        let sums = [
            int32s.joined().reduce(Int64(0)) { $0 + Int64($1) }, uint32s.joined().reduce(Int64(0)) { $0 + Int64($1) },
            int8s.joined().reduce(Int64(0)) { $0 + Int64($1) },
        ]
        #expect(rows == [sums.map { V.int($0) }])
    }

    /// LIMIT without ORDER BY returns the first rows in batch order, and stops scanning.
    @Test func limitTakesLeadingRowsAndStopsEarly() throws {
        let batches = try (0..<50).map { b in try Make.batch([("i", Make.int64((0..<100).map { Int64(b * 100 + $0) }))]) }
        let source = try InMemorySource(batches: batches)
        let result = try Query(sql: "SELECT i FROM t WHERE i % 2 = 0 LIMIT 120", tables: ["t": source]).execute()
        #expect(Read.rows(result.batches) == (0..<120).map { [.int(Int64($0 * 2))] })
        #expect(result.statistics.batchesScanned < 50)
        #expect(try Query(source).limit(0).execute().numRows == 0)
    }

    /// The first error in batch order is reported, with its batch.
    @Test func errorsAreDeterministic() throws {
        let batches = try (0..<20).map { b in try Make.batch([("i", Make.int64([b == 5 || b == 12 ? .max : 1]))]) }
        let source = try InMemorySource(batches: batches)
        for parallelism in [1, 4] {
            do {
                _ = try Query(sql: "SELECT i + 1 FROM t", tables: ["t": source]).execute(ExecutionOptions(parallelism: parallelism))
                Issue.record("expected overflow")
            } catch let error as QuiverError {
                #expect(error.code == .query && error.message.contains("overflow"))
                #expect(error.context == ["record batch 5"])
            }
        }
    }

    /// A source returning batches that contradict its schema is a typed error.
    @Test func inconsistentSourceIsAnError() throws {
        struct Liar: BatchSource {
            let schema = Schema([Field("a", .int64), Field("b", .utf8)])
            let batchCount = 2
            func batch(at index: Int, columns: [Int]) throws -> RecordBatch {
                let a: ArrayData = index == 0 ? Make.int64([1]) : ArrayData(uncheckedType: .int64, length: 1_000_000, buffers: [.empty, .empty])
                return RecordBatch(uncheckedSchema: schema, columns: [a, Make.utf8(["x"])], length: index == 0 ? 1 : 1_000_000)
            }
            func statistics(batch: Int) -> BatchStatistics? { nil }
        }
        do {
            _ = try Query(Liar()).aggregate([sum(col("a"))]).execute()
            Issue.record("expected an error")
        } catch let error as QuiverError {
            #expect(error.code == .invalidData || error.code == .schemaMismatch, "\(error)")
        }
    }

    /// Projection pushdown: only needed columns are requested and read; row-wise outputs of
    /// plain columns are the input's buffers, not copies.
    @Test func scanDoesNotCopyInputColumns() throws {
        final class Recorder: BatchSource, @unchecked Sendable {
            let inner: InMemorySource
            var requested: [[Int]] = []
            init(_ inner: InMemorySource) { self.inner = inner }
            var schema: Schema { inner.schema }
            var batchCount: Int { inner.batchCount }
            func batch(at index: Int, columns: [Int]) throws -> RecordBatch {
                requested.append(columns)
                return try inner.batch(at: index, columns: columns).selecting(columns)
            }
            func statistics(batch: Int) -> BatchStatistics? { nil }
        }
        let batch = try Make.batch([("a", Make.int64([1, 2, 3])), ("b", Make.float64([1, 2, 3])), ("s", Make.utf8(["x", "y", "z"]))])
        let source = Recorder(try InMemorySource(batches: [batch]))
        let pool = MemoryPool()
        let result = try Query(source).filter(col("a") > 0).select(col("s"), col("a")).execute(ExecutionOptions(parallelism: 1, pool: pool))
        #expect(source.requested == [[0, 2]])
        let out = result.batches[0]
        #expect(out.columns[0].buffers[2].baseAddress == batch.columns[2].buffers[2].baseAddress)
        #expect(out.columns[1].buffers[1].baseAddress == batch.columns[0].buffers[1].baseAddress)
        // Nothing allocated for the query is still held: the output is views of the input.
        #expect(pool.totalAllocatedBytes == 0)
    }

    /// Dense filters aggregate in place through the selection's bits: groups whose rows the
    /// filter drops never appear, NULL inputs and count(*) count only kept rows, and an
    /// expression that would fail only on dropped rows does not fail the query.
    @Test(.tags(.untrustedInput)) func denseFiltersAggregateInPlace() throws {
        let all = 0..<3000
        func flag(_ i: Int) -> String? {
            i % 7 == 0 ? nil : (i % 500 == 1 ? (i % 2 == 0 ? "gone" : "longer than 7") : ["A", "N", "R"][i % 3])
        }
        func x(_ i: Int) -> Int64? { i % 11 == 0 ? nil : (i % 10 == 9 ? Int64.max / 2 : Int64(i)) }
        let batch = try Make.batch([
            ("flag", Make.utf8(all.map(flag))), ("x", Make.int64(all.map(x))), ("i", Make.int64(all.map { Int64($0) })),
        ])
        let source = try InMemorySource(batches: [batch, batch.slice(from: 17, length: 2000)])
        let rows = Array(all) + Array(17..<2017)
        func run(_ sql: String) throws -> [[V]] {
            Read.rows(try Query(sql: sql, tables: ["t": source]).execute(ExecutionOptions(parallelism: 2)).batches)
        }

        // ~80% of rows kept; every "gone" and "longer than 7" row is dropped.
        let kept = rows.filter { (x($0).map { $0 < 4_000_000_000 } ?? false) && $0 % 500 != 1 }
        var order: [String?] = []
        for i in kept where !order.contains(flag(i)) { order.append(flag(i)) }
        let expected: [[V]] = order.map { key in
            let members = kept.filter { flag($0) == key }
            let values = members.compactMap(x)
            return [
                key.map { .string($0) } ?? .null, .int(Int64(members.count)), .int(Int64(values.count)),
                .int(values.reduce(0, +)), .int(values.min()!), .int(values.max()!),
                .double(Double(values.reduce(0, +)) / Double(values.count)), .int(Int64(Set(values).count)),
                .int(values.reduce(0) { $0 + $1 * 4 }),
            ]
        }
        #expect(try run("""
            SELECT flag, count(*), count(x), sum(x), min(x), max(x), avg(x), count(DISTINCT x) FROM t
            WHERE x < 4000000000 AND i % 500 <> 1 GROUP BY flag
            """) == expected.map { Array($0.prefix(8)) })
        // x * 4 overflows on dropped rows only (x = Int64.max / 2 fails the filter).
        #expect(try run("SELECT flag, sum(x * 4) FROM t WHERE x < 4000000000 AND i % 500 <> 1 GROUP BY flag") == expected.map { [$0[0], $0[8]] })
        let thirds = rows.filter { $0 % 3 != 0 }
        #expect(try run("SELECT count(*) FROM t WHERE i % 3 <> 0") == [[.int(Int64(thirds.count))]])
        #expect(try run("SELECT count(*), sum(i) FROM t WHERE i % 3 <> 0") == [[.int(Int64(thirds.count)), .int(Int64(thirds.reduce(0, +)))]])
        // Where every row fails the filter, aggregates without groups still give one row.
        #expect(try run("SELECT count(*), sum(i) FROM t WHERE i < 0") == [[.int(0), .null]])
    }

    /// Short string keys are numbered per batch without hashing every row: many distinct
    /// values (the numbering table grows), empty strings, one-byte values, NULLs, and a batch
    /// whose values outgrow the short form all group exactly like the general path.
    @Test func shortStringKeysGroupExactly() throws {
        func key(_ i: Int) -> String? {
            i % 97 == 0 ? nil : (i % 5 == 0 ? "" : (i % 7 == 0 ? String(UnicodeScalar(UInt8(65 + i % 26))) : "k\(i % 300)"))
        }
        let short = try Make.batch([("s", Make.utf8((0..<4000).map(key)))])
        let long = try Make.batch([("s", Make.utf8((0..<500).map { key($0).map { $0 + "-longer-than-seven" } }))])
        let source = try InMemorySource(batches: [short, long, short.slice(from: 9, length: 1000)])
        let values = (0..<4000).map(key) + (0..<500).map { key($0).map { $0 + "-longer-than-seven" } } + (9..<1009).map(key)
        var order: [String?] = []
        var counts: [String?: Int64] = [:]
        for value in values {
            if counts[value] == nil { order.append(value) }
            counts[value, default: 0] += 1
        }
        let result = Read.rows(try Query(sql: "SELECT s, count(*) FROM t GROUP BY s", tables: ["t": source]).execute().batches)
        #expect(result == order.map { [$0.map { .string($0) } ?? .null, .int(counts[$0]!)] })
    }

    /// A lower and an upper bound on one column are tested in one pass; results (TRUE, FALSE
    /// and NULL, as a projection shows them) equal comparing one bound at a time: NULLs,
    /// NaN, literals on either side, both strictnesses, and bounds on other columns mixed in.
    @Test(.tags(.untrustedInput)) func rangesOnOneColumnMatchTheirComparisons() throws {
        let rows = 0..<700
        func x(_ i: Int) -> Int32? { i % 13 == 0 ? nil : Int32(i % 50) - 10 }
        func y(_ i: Int) -> Double? { i % 17 == 0 ? nil : (i % 23 == 0 ? .nan : Double(i % 40) / 4) }
        let batch = try Make.batch([
            ("x", Make.int32(rows.map(x))), ("y", Make.float64(rows.map(y))), ("d", Make.date32(rows.map { Int32($0) })),
        ])
        let source = try InMemorySource(batches: [batch, batch.slice(from: 3, length: 600)])
        func run(_ sql: String) throws -> [[V]] {
            Read.rows(try Query(sql: sql, tables: ["t": source]).execute().batches)
        }
        func truth(_ value: Bool?) -> V { value.map { .bool($0) } ?? .null }
        let all = Array(rows) + Array(3..<603)
        // Each predicate next to the row-at-a-time truth it must have.
        let cases: [(String, (Int) -> V)] = [
            ("x >= 0 AND x < 20", { i in truth(x(i).map { $0 >= 0 && $0 < 20 }) }),
            ("x > 0 AND 20 >= x", { i in truth(x(i).map { $0 > 0 && $0 <= 20 }) }),
            ("x BETWEEN 5 AND 5", { i in truth(x(i).map { $0 == 5 }) }),
            ("x BETWEEN 30 AND 5", { i in truth(x(i).map { _ in false }) }),
            ("y >= 1.5 AND y <= 6.25 AND x < 30", { i in
                let a = y(i).map { $0 >= 1.5 && $0 <= 6.25 }
                let b = x(i).map { $0 < 30 }
                return a == false || b == false ? .bool(false) : (a == nil || b == nil ? .null : .bool(true))
            }),
            ("d >= DATE '1970-01-11' AND d < DATE '1970-03-01' AND y > 2", { i in
                let a = i >= 10 && i < 59
                let b = y(i).map { $0 > 2 }
                return !a || b == false ? .bool(false) : (b == nil ? .null : .bool(true))
            }),
        ]
        for (predicate, expected) in cases {
            #expect(try run("SELECT \(predicate) FROM t") == all.map { [expected($0)] }, "\(predicate)")
            let kept = all.filter { expected($0) == .bool(true) }
            #expect(try run("SELECT count(*) FROM t WHERE \(predicate)") == [[.int(Int64(kept.count))]], "\(predicate)")
        }
    }

    /// Only results and per-batch scratch are allocated: a selective aggregate over 8 MB of
    /// input allocates a small fraction of that at its peak.
    @Test func memoryStaysSmall() throws {
        let (source, _) = try TPCHTests.generate(rows: 200_000, batchSize: 8192)
        let pool = MemoryPool()
        _ = try Query(sql: TPCHTests.q6SQL, tables: ["lineitem": source]).execute(ExecutionOptions(parallelism: 2, pool: pool))
        let input = 200_000 * (6 * 8 + 4)
        #expect(pool.peakAllocatedBytes < input / 8, "peak \(pool.peakAllocatedBytes) of \(input)")
        #expect(pool.totalAllocatedBytes == 0)
    }

    /// Types the engine does not compute on pass through unfiltered queries, untouched; asking
    /// it to filter, sort or compare them is a typed error.
    @Test func unsupportedTypesPassThrough() throws {
        let values = Make.int32([1, 2, 3])
        let list = ArrayData(uncheckedType: .list(Field("item", .int32)), length: 2, buffers: [.empty, Buffer(copyingValues: [Int32(0), 1, 3])], children: [values])
        let batch = try Make.batch([("a", Make.int64([1, 2])), ("l", list)])
        let source = try InMemorySource(batches: [batch])
        let all = try Query(source).execute()
        #expect(all.batches[0].columns[1].children[0].buffers[1].baseAddress == values.buffers[1].baseAddress)
        #expect(Read.rows(try Query(source).aggregate([count(col("l")), sum(col("a"))]).execute().batches) == [[.int(2), .int(3)]])
        for query in [Query(source).filter(col("a") > 1), Query(source).orderBy(col("l")), Query(source).filter(col("l") == col("l")),
                      Query(source).aggregate([count()], groupBy: [col("l")])] {
            #expect(throws: QuiverError.self) { try query.execute() }
        }
    }

    @Test func streamYieldsTheSameBatches() async throws {
        let batches = try (0..<12).map { b in try Make.batch([("i", Make.int64((0..<10).map { Int64(b * 10 + $0) }))]) }
        let source = try InMemorySource(batches: batches)
        let query = try Query(sql: "SELECT i * 2 AS d FROM t WHERE i % 3 = 0", tables: ["t": source])
        var streamed: [RecordBatch] = []
        for try await batch in query.stream(ExecutionOptions(parallelism: 2)) { streamed.append(batch) }
        #expect(streamed.count == 12)
        #expect(Read.rows(streamed) == Read.rows(try await query.execute().batches))
        // Stopping early is fine; aggregates arrive as one batch.
        var iterator = query.stream().makeAsyncIterator()
        #expect(try await iterator.next()?.length == 4)
        var aggregated: [RecordBatch] = []
        for try await batch in try Query(sql: "SELECT count(*) FROM t", tables: ["t": source]).stream() { aggregated.append(batch) }
        #expect(Read.rows(aggregated) == [[.int(120)]])
        // Planning errors surface on the first next().
        var failing = Query(source).select(col("missing")).stream().makeAsyncIterator()
        await #expect(throws: QuiverError.self) { _ = try await failing.next() }
    }
}

/// A source whose batch 0 arrives late, so other workers start later batches first.
private struct SlowFirstBatch: BatchSource {
    let inner: InMemorySource
    var schema: Schema { inner.schema }
    var batchCount: Int { inner.batchCount }
    func batch(at index: Int, columns: [Int]) throws -> RecordBatch {
        if index == 0 { Thread.sleep(forTimeInterval: 0.2) }
        return try inner.batch(at: index, columns: columns)
    }
    func statistics(batch: Int) -> BatchStatistics? { nil }
}
