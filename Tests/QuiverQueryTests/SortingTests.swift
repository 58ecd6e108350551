import QuiverArrow
import QuiverBytes
import QuiverTestSupport
import Testing
@testable import QuiverQuery

/// `RowOrder` decides most comparisons by the first key's order words; rows whose words tie
/// go to the comparers. The values here are the ones where a word could lie: -0 and 0, NaN,
/// infinities, 64-bit integers that round to one double, strings sharing 8 bytes or differing
/// only by trailing zero bytes, NULLs. Each order must equal a reference comparison written
/// out by hand, for both directions and NULL placements, sorted whole and cut by top-k.
@Suite struct SortingTests {
    static func check(_ column: ArrayData, _ compareValues: @escaping (Int, Int) -> Int, isNull: @escaping (Int) -> Bool)
        throws
    {
        for descending in [false, true] {
            for nullsFirst in [false, true] {
                let order = try RowOrder(
                    columns: [column], specs: [SortSpec(column: 0, descending: descending, nullsFirst: nullsFirst)])
                let expected = (0..<Int32(column.length)).sorted { a, b in
                    let (x, y) = (Int(a), Int(b))
                    let c: Int
                    switch (isNull(x), isNull(y)) {
                    case (true, true): c = 0
                    case (true, false): c = nullsFirst ? -1 : 1
                    case (false, true): c = nullsFirst ? 1 : -1
                    case (false, false): c = descending ? -compareValues(x, y) : compareValues(x, y)
                    }
                    return c != 0 ? c < 0 : a < b
                }
                #expect(order.sorted(count: column.length) == expected, "descending \(descending), nulls first \(nullsFirst)")
                for k in [1, 3, column.length / 2] {
                    #expect(order.top(k, count: column.length) == Array(expected.prefix(k)), "top \(k), descending \(descending)")
                }
            }
        }
    }

    /// From `RowOrder.bufferedTopLimit` on, top-k collects rows that beat the bar in a buffer
    /// and keeps the best half by quickselect whenever it fills. Over inputs in random, sorted,
    /// reversed and organ-pipe order (patterns that defeat naive pivots), with many ties on the
    /// first key or none, every k around the limit and the buffer's refills gives the head of
    /// a stable reference sort.
    @Test func bufferedTopKIsTheHeadOfAStableSort() throws {
        var random = SeededRandom(seed: 61)
        let count = 20_000
        let shuffled = (0..<count).map { _ in Int64.random(in: 0..<500, using: &random) }
        let orders: [(String, [Int64])] = [
            ("random", shuffled), ("sorted", shuffled.sorted()), ("reversed", shuffled.sorted(by: >)),
            ("organ pipe", (0..<count).map { Int64(Swift.min($0, count - $0)) }),
            ("permutation", (0..<Int64(count)).shuffled(using: &random)),
        ]
        for (name, firsts) in orders {
            let seconds = (0..<count).map { _ in Int.random(in: 0..<7, using: &random) == 0 ? nil : "v\(Int.random(in: 0..<40, using: &random))" }
            let columns = [Make.int64(firsts.map { $0 }), Make.utf8(seconds)]
            let specs = [SortSpec(column: 0, descending: false, nullsFirst: false), SortSpec(column: 1, descending: true, nullsFirst: true)]
            let order = try RowOrder(columns: columns, specs: specs)
            let expected = (0..<Int32(count)).sorted { a, b in
                let (x, y) = (Int(a), Int(b))
                if firsts[x] != firsts[y] { return firsts[x] < firsts[y] }
                switch (seconds[x], seconds[y]) {
                case (nil, nil): return a < b
                case (nil, _): return true
                case (_, nil): return false
                case (let p?, let q?): return p == q ? a < b : Array(q.utf8).lexicographicallyPrecedes(Array(p.utf8))
                }
            }
            for k in [RowOrder.bufferedTopLimit - 1, RowOrder.bufferedTopLimit, 100, 999, 7_000, count - 1] {
                #expect(order.top(k, count: count) == Array(expected.prefix(k)), "\(name), k = \(k)")
            }
        }
    }

    @Test func floatsOrderAsTheComparersDo() throws {
        let values: [Double?] = [0, -0.0, .nan, 1.5, nil, -.infinity, .infinity, -.nan, -1.5, 0, nil, .nan, -0.0, 1e-300]
        try Self.check(Make.float64(values), { a, b in
            let (x, y) = (values[a]!, values[b]!)
            if x.isNaN || y.isNaN { return x.isNaN == y.isNaN ? 0 : (x.isNaN ? 1 : -1) }
            return x < y ? -1 : (x > y ? 1 : 0)
        }, isNull: { values[$0] == nil })
    }

    @Test func wideIntegersThatShareADoubleOrderExactly() throws {
        let values: [Int64?] = [.max, .max - 1, .min, .min + 1, 1 << 60, (1 << 60) + 1, (1 << 60) - 1, nil, 0, -1, .max, nil]
        try Self.check(Make.int64(values), { a, b in
            let (x, y) = (values[a]!, values[b]!)
            return x < y ? -1 : (x > y ? 1 : 0)
        }, isNull: { values[$0] == nil })
    }

    @Test func stringsSharingPrefixesOrderAsBytes() throws {
        let values: [String?] = [
            "abcdefgh", "abcdefghi", "abcdefgh\u{0}", "abcdefg", "", "\u{0}", nil, "a", "a\u{0}", "b", "abcdefgh",
            "é", "abcdefgg\u{FF}", nil, "ABCDEFGHIJ",
        ]
        try Self.check(Make.utf8(values), { a, b in
            let (x, y) = (Array(values[a]!.utf8), Array(values[b]!.utf8))
            return x.lexicographicallyPrecedes(y) ? -1 : (y.lexicographicallyPrecedes(x) ? 1 : 0)
        }, isNull: { values[$0] == nil })
    }

    /// Several keys, with ties on the exact first key (small integers, NULLs) settled by the
    /// next keys: a string and a wide integer whose words are not exact.
    @Test func tiesOnExactWordsGoToTheNextKey() throws {
        var random = SeededRandom(seed: 7)
        let count = 300
        let small: [Int32?] = (0..<count).map { _ in Int.random(in: 0..<6, using: &random) == 0 ? nil : Int32.random(in: -3...3, using: &random) }
        let texts = ["", "a", "a\u{0}", "abcdefgh", "abcdefghX", "abcdefghY", "b"]
        let strings: [String?] = (0..<count).map { _ in Int.random(in: 0..<8, using: &random) == 0 ? nil : texts.randomElement(using: &random)! }
        let wide: [Int64?] = (0..<count).map { _ in Int64.max - Int64.random(in: 0...3, using: &random) }
        let columns = [Make.int32(small), Make.utf8(strings), Make.int64(wide)]
        func compare<T>(_ values: [T?], _ a: Int, _ b: Int, nullsFirst: Bool, descending: Bool, _ order: (T, T) -> Int) -> Int {
            switch (values[a], values[b]) {
            case (nil, nil): return 0
            case (nil, _): return nullsFirst ? -1 : 1
            case (_, nil): return nullsFirst ? 1 : -1
            case (let x?, let y?): return descending ? -order(x, y) : order(x, y)
            }
        }
        for (descending, nullsFirst) in [(false, false), (true, true), (true, false), (false, true)] {
            let specs = (0..<3).map { SortSpec(column: $0, descending: descending != ($0 == 1), nullsFirst: nullsFirst) }
            let order = try RowOrder(columns: columns, specs: specs)
            let expected = (0..<Int32(count)).sorted { a, b in
                let (x, y) = (Int(a), Int(b))
                let keys = [
                    compare(small, x, y, nullsFirst: nullsFirst, descending: specs[0].descending) { $0 < $1 ? -1 : ($0 > $1 ? 1 : 0) },
                    compare(strings, x, y, nullsFirst: nullsFirst, descending: specs[1].descending) {
                        let (p, q) = (Array($0.utf8), Array($1.utf8))
                        return p.lexicographicallyPrecedes(q) ? -1 : (q.lexicographicallyPrecedes(p) ? 1 : 0)
                    },
                    compare(wide, x, y, nullsFirst: nullsFirst, descending: specs[2].descending) { $0 < $1 ? -1 : ($0 > $1 ? 1 : 0) },
                ]
                let c = keys.first { $0 != 0 } ?? 0
                return c != 0 ? c < 0 : a < b
            }
            #expect(order.sorted(count: count) == expected)
            #expect(order.top(17, count: count) == Array(expected.prefix(17)))
        }
    }
}

/// A string compared with '' is decided by its length alone: every operator, NULLs, both
/// offset widths and a sliced column must give what comparing the bytes gives.
@Suite struct EmptyStringComparisonTests {
    @Test(arguments: [false, true]) func everyOperatorAgainstEmpty(largeOffsets: Bool) throws {
        let values: [String?] = ["", "a", nil, "\u{0}", "", "longer than eight", nil, "b"]
        var column = Make.utf8(values)
        if largeOffsets {
            var offsets: [Int64] = [0]
            var bytes: [UInt8] = []
            for value in values {
                bytes += Array((value ?? "").utf8)
                offsets.append(Int64(bytes.count))
            }
            column = ArrayData(
                uncheckedType: .largeUtf8, length: values.count, nullCount: column.nullCount,
                buffers: [column.buffers[0], Buffer(copyingValues: offsets), Buffer(copying: bytes)])
        }
        let sliced = column.slice(from: 1, length: values.count - 1)
        for (data, rows) in [(column, Array(values)), (sliced, Array(values.dropFirst()))] {
            let source = try InMemorySource(batches: [try Make.batch([("s", data)])])
            let operators: [(String, (Int) -> Bool)] = [
                ("=", { $0 == 0 }), ("<>", { $0 != 0 }), ("<", { _ in false }), ("<=", { $0 == 0 }),
                (">", { $0 != 0 }), (">=", { _ in true }),
            ]
            for (op, holds) in operators {
                let result = Read.rows(try Query(sql: "SELECT s \(op) '' FROM t", tables: ["t": source]).execute().batches)
                let expected: [[V]] = rows.map { value in [value.map { .bool(holds($0.utf8.count)) } ?? .null] }
                #expect(result == expected, "s \(op) '' (large offsets: \(largeOffsets))")
            }
        }
    }
}
