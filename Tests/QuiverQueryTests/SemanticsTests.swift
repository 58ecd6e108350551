import QuiverArrow
import QuiverBytes
import QuiverTestSupport
import Testing
@testable import QuiverQuery

/// SQL semantics, one behaviour per test, through the SQL front end.
@Suite struct SemanticsTests {
    static func rows(_ sql: String, _ columns: [(String, ArrayData)]) throws -> [[V]] {
        let source = try InMemorySource(batches: [try Make.batch(columns)])
        return Read.rows(try Query(sql: sql, tables: ["t": source]).execute().batches)
    }

    @Test func threeValuedLogic() throws {
        let x: [Bool?] = [true, true, true, false, false, false, nil, nil, nil]
        let y: [Bool?] = [true, false, nil, true, false, nil, true, false, nil]
        let result = try Self.rows("SELECT x AND y, x OR y, NOT x, x IS NULL, y IS NOT NULL FROM t", [("x", Make.bool(x)), ("y", Make.bool(y))])
        let t = V.bool(true), f = V.bool(false), n = V.null
        #expect(result.map { $0[0] } == [t, f, n, f, f, f, n, f, n])
        #expect(result.map { $0[1] } == [t, t, t, t, f, n, t, n, n])
        #expect(result.map { $0[2] } == [f, f, f, t, t, t, n, n, n])
        #expect(result.map { $0[3] } == [f, f, f, f, f, f, t, t, t])
        #expect(result.map { $0[4] } == [t, t, f, t, t, f, t, t, f])
        // WHERE keeps TRUE only.
        #expect(try Self.rows("SELECT count(*) FROM t WHERE x OR y", [("x", Make.bool(x)), ("y", Make.bool(y))]) == [[.int(5)]])
    }

    /// By zero: floats are IEEE as in DuckDB 2.0 (its answers: inf, -inf, NaN); integers and
    /// decimals are NULL, where DuckDB raises an error for `%`.
    @Test func divisionByZero() throws {
        let result = try Self.rows(
            "SELECT a / b, a % b, c / d, c % d, a / 0, CAST(a AS DECIMAL(10,2)) / 0, CAST(a AS DECIMAL(10,2)) % 0, 0.0 / CAST(0 AS DOUBLE) FROM t",
            [("a", Make.int64([7, -7, 7, 1])), ("b", Make.int64([2, 2, 0, nil])),
             ("c", Make.float64([7, -7, 7, 1])), ("d", Make.float64([2, 2, 0, -0.0]))])
        let inf = V.double(.infinity), minusInf = V.double(-.infinity)
        #expect(result.map { Array($0[..<3]) + [$0[4], $0[5], $0[6]] } == [
            [.int(3), .int(1), .double(3.5), .null, inf, .null],
            [.int(-3), .int(-1), .double(-3.5), .null, minusInf, .null],
            [.null, .null, inf, .null, inf, .null],
            [.null, .null, minusInf, .null, inf, .null],
        ])
        // x % 0 and 0 / 0 are NaN.
        #expect(result.map { [$0[3], $0[7]] }.joined().allSatisfy { if case .double(let v) = $0 { v.isNaN || v == 1 || v == -1 } else { false } })
        #expect(result[2][3] != .double(1) && result[3][3] != .double(1))
    }

    @Test func inAndBetweenWithNulls() throws {
        let result = try Self.rows(
            "SELECT a IN (2, NULL), a NOT IN (2, NULL), a IN (1, 2), a BETWEEN 1 AND 2, a NOT BETWEEN 1 AND 2 FROM t",
            [("a", Make.int64([1, 2, nil, 3]))])
        #expect(result == [
            [.null, .null, .bool(true), .bool(true), .bool(false)],
            [.bool(true), .bool(false), .bool(true), .bool(true), .bool(false)],
            [.null, .null, .null, .null, .null],
            [.null, .null, .bool(false), .bool(false), .bool(true)],
        ])
    }

    /// A string literal next to a literal of another type is read as that type, in
    /// comparisons, IN and BETWEEN (DuckDB 2.0.1 answers TRUE to each of these).
    @Test(arguments: [
        "DATE '2000-01-01' < '2001-01-01'", "'2001-01-01' > DATE '2000-01-01'",
        "DATE '2000-01-01' IN ('1999-01-01', '2000-01-01')", "NOT (DATE '2000-01-01' IN ('1999-01-01'))",
        "'2000-01-02' BETWEEN DATE '2000-01-01' AND '2000-01-03'",
        "DATE '2000-01-02' BETWEEN '2000-01-01' AND '2000-01-03'",
        "TIMESTAMP '2000-01-01 10:00:00' = '2000-01-01 10:00:00'", "1 < '2'", "NOT ('10' < 9)", "1.5 = '1.5'",
    ])
    func stringLiteralsTakeTheOtherLiteralsType(_ condition: String) throws {
        #expect(try Self.rows("SELECT \(condition) FROM t", [("a", Make.int64([1]))]) == [[.bool(true)]], "\(condition)")
    }

    @Test func likePatterns() throws {
        let words: [String?] = ["apple", "banana", "grape", "ápple", "a_b", "a%b", "", nil]
        func matches(_ pattern: String) throws -> [V] {
            try Self.rows("SELECT s LIKE '\(pattern)' FROM t", [("s", Make.utf8(words))]).map { $0[0] }
        }
        let t = V.bool(true), f = V.bool(false), n = V.null
        #expect(try matches("a%") == [t, f, f, f, t, t, f, n])
        #expect(try matches("%e") == [t, f, t, t, f, f, f, n])
        #expect(try matches("%an%") == [f, t, f, f, f, f, f, n])
        #expect(try matches("_pple") == [t, f, f, t, f, f, f, n])  // '_' is one character, á included
        #expect(try matches("%") == [t, t, t, t, t, t, t, n])
        #expect(try matches("") == [f, f, f, f, f, f, t, n])
        #expect(try matches("g_a%e") == [f, f, t, f, f, f, f, n])
        #expect(try matches("%a%a%") == [f, t, f, f, f, f, f, n])
        #expect(try Self.rows("SELECT s LIKE 'a!%b' ESCAPE '!', s LIKE 'a!_b' ESCAPE '!', starts_with(s, 'gr'), s NOT LIKE 'b%' FROM t",
                              [("s", Make.utf8(words))]).map { $0 } == [
            [f, f, f, t], [f, f, f, f], [f, f, t, t], [f, f, f, t], [f, t, f, t], [t, f, f, t], [f, f, f, t], [n, n, n, n],
        ])
    }

    /// `%needle%` against a naive search, over strings long enough for the 16-byte steps and
    /// their tail, with matches at every position (a two-letter alphabet makes many).
    @Test func likeContainsMatchesNaiveSearch() throws {
        var random = SeededRandom(seed: 7)
        let words: [String?] = (0..<400).map { _ in
            String((0..<Int.random(in: 0...70, using: &random)).map { _ in Bool.random(using: &random) ? "a" : "b" })
        }
        for needle in ["a", "b", "ab", "ba", "aab", "abba", "bbbbb", "abababab", "aaaaaaaaaaaaaaaaaaa"] {
            let result = try Self.rows("SELECT s LIKE '%\(needle)%' FROM t", [("s", Make.utf8(words))]).map { $0[0] }
            #expect(result == words.map { V.bool($0!.contains(needle)) }, "\(needle)")
        }
    }

    @Test func casts() throws {
        let result = try Self.rows(
            """
            SELECT CAST(f AS INTEGER), CAST(i AS DOUBLE), CAST(s AS BIGINT), CAST(i AS VARCHAR), CAST(d AS VARCHAR),
                   CAST('1994-01-01' AS DATE), CAST(f AS DECIMAL(10,1)), CAST(CAST(f AS DECIMAL(10,1)) AS DOUBLE),
                   CAST(f AS VARCHAR), CAST(TRUE AS VARCHAR)
            FROM t
            """,
            [("f", Make.float64([2.5, -2.5, 0.04])), ("i", Make.int64([1, -2, 300])), ("s", Make.utf8([" 42", "-7", "0"])),
             ("d", Make.date32([0, 8766, -1]))])
        #expect(result == [
            [.int(2), .double(1), .int(42), .string("1"), .string("1970-01-01"), .int(8766), .double(2.5), .double(2.5), .string("2.5"), .string("true")],
            [.int(-2), .double(-2), .int(-7), .string("-2"), .string("1994-01-01"), .int(8766), .double(-2.5), .double(-2.5), .string("-2.5"), .string("true")],
            [.int(0), .double(300), .int(0), .string("300"), .string("1969-12-31"), .int(8766), .double(0), .double(0), .string("0.04"), .string("true")],
        ])
    }

    @Test func decimalsStayExact() throws {
        // 0.1 + 0.2 in decimal is exactly 0.3; l_discount BETWEEN 0.06 - 0.01 AND 0.06 + 0.01 is exact.
        let price = Make.decimal128([1050, 2099, nil, 1], precision: 15, scale: 2)  // 10.50, 20.99, NULL, 0.01
        let result = try Self.rows(
            "SELECT p * 2, p + 0.005, sum(p), avg(p), min(p), max(p), count(p) FROM t GROUP BY p ORDER BY p NULLS FIRST",
            [("p", price)])
        #expect(result.count == 4)
        #expect(result[0][0] == .null && result[0][2] == .null && result[0][6] == .int(0))
        #expect(result[1].prefix(3) == [.double(0.02), .double(0.015), .double(0.01)])
        #expect(result[3].prefix(3) == [.double(41.98), .double(20.995), .double(20.99)])
        let schema = try Query(sql: "SELECT p * 2, p + 0.005, sum(p), avg(p), p / 2 FROM t GROUP BY p",
                               tables: ["t": try InMemorySource(batches: [try Make.batch([("p", price)])])]).outputSchema()
        #expect(schema.fields.map(\.type) == [
            .decimal(bitWidth: 128, precision: 16, scale: 2), .decimal(bitWidth: 128, precision: 17, scale: 3),
            .decimal(bitWidth: 128, precision: 38, scale: 2), .float64, .float64,
        ])
        #expect(try Self.rows("SELECT 0.1 + 0.2 = 0.3, 0.06 - 0.01 FROM t", [("p", price)])[0] == [.bool(true), .double(0.05)])
        #expect(try Self.rows("SELECT count(*) FROM t WHERE p BETWEEN 10.5 AND 20.99", [("p", price)]) == [[.int(2)]])
    }

    @Test func datesAndTimestamps() throws {
        let d = Make.date32([8766, 9131, nil])  // 1994-01-01, 1995-01-01
        #expect(try Self.rows("SELECT d >= DATE '1994-06-01', d < '1995-01-01', d = TIMESTAMP '1994-01-01 00:00:00', d > TIMESTAMP '1994-01-01 00:00:01' FROM t", [("d", d)]) == [
            [.bool(false), .bool(true), .bool(true), .bool(false)],
            [.bool(true), .bool(false), .bool(false), .bool(true)],
            [.null, .null, .null, .null],
        ])
        #expect(try Self.rows("SELECT min(d), max(d), CAST(max(d) AS TIMESTAMP) FROM t", [("d", d)]) == [[.int(8766), .int(9131), .int(9131 * 86_400_000_000)]])
    }

    @Test func dictionaryColumns() throws {
        let flags = Make.dictionary([0, 1, 1, nil, 2, 0], ["R", "A", "N"])
        let n = Make.int64([1, 2, 3, 4, 5, 6])
        #expect(try Self.rows("SELECT f, sum(n), count(DISTINCT f) FROM t WHERE f <> 'N' OR f IS NULL GROUP BY f", [("f", flags), ("n", n)]) == [
            [.string("R"), .int(7), .int(1)], [.string("A"), .int(5), .int(1)], [.null, .int(4), .int(0)],
        ])
        #expect(try Self.rows("SELECT min(f), max(f), count(f), count(DISTINCT f) FROM t", [("f", flags), ("n", n)]) == [
            [.string("A"), .string("R"), .int(5), .int(3)],
        ])
        // A plain column reference passes the dictionary through.
        let source = try InMemorySource(batches: [try Make.batch([("f", flags)])])
        let result = try Query(source).filter(col("f").isIn(["A", "N"])).execute()
        #expect(result.schema.fields[0].type == .dictionary(index: .int32, value: .utf8, ordered: false))
        #expect(Read.rows(result.batches) == [[.string("A")], [.string("A")], [.string("N")]])
        #expect(try Self.rows("SELECT f FROM t ORDER BY f DESC LIMIT 3", [("f", flags)]) == [[.string("R")], [.string("R")], [.string("N")]])
    }

    @Test func emptyInputs() throws {
        let dictionaryType = DataType.dictionary(index: .int16, value: .utf8, ordered: false)
        let empty = try InMemorySource(batches: [], schema: Schema([Field("a", .int64), Field("s", .utf8), Field("d", dictionaryType)]))
        func run(_ sql: String) throws -> [[V]] { Read.rows(try Query(sql: sql, tables: ["t": empty]).execute().batches) }
        #expect(try run("SELECT count(*), sum(a), min(s), avg(a), count(DISTINCT s) FROM t") == [[.int(0), .null, .null, .null, .int(0)]])
        #expect(try run("SELECT s, count(*) FROM t GROUP BY s") == [])
        #expect(try run("SELECT a FROM t ORDER BY a LIMIT 3") == [])
        #expect(try run("SELECT a FROM t") == [])
        let sorted = try Query(sql: "SELECT d FROM t ORDER BY d", tables: ["t": empty]).execute()
        #expect(sorted.batches.count == 1 && sorted.batches[0].length == 0)
        #expect(sorted.batches[0].columns[0].type == dictionaryType && sorted.batches[0].columns[0].dictionary?.type == .utf8)
        let result = try Query(sql: "SELECT a + 1 AS b FROM t", tables: ["t": empty]).execute()
        #expect(result.schema.fields.map(\.name) == ["b"])
    }

    @Test func orderingRules() throws {
        let columns: [(String, ArrayData)] = [
            ("k", Make.float64([2, .nan, nil, -1, 2, 0])), ("s", Make.utf8(["b", "a", "c", nil, "a", "é"])), ("i", Make.int64([1, 2, 3, 4, 5, 6])),
        ]
        func order(_ clause: String) throws -> [V] { try Self.rows("SELECT i FROM t ORDER BY \(clause)", columns).map { $0[0] } }
        #expect(try order("k") == [.int(4), .int(6), .int(1), .int(5), .int(2), .int(3)])  // NaN after numbers, NULL last
        #expect(try order("k DESC") == [.int(2), .int(1), .int(5), .int(6), .int(4), .int(3)])  // ties keep input order
        #expect(try order("k DESC NULLS FIRST") == [.int(3), .int(2), .int(1), .int(5), .int(6), .int(4)])
        #expect(try order("k, s") == [.int(4), .int(6), .int(5), .int(1), .int(2), .int(3)])
        #expect(try order("s DESC NULLS LAST, i") == [.int(6), .int(3), .int(1), .int(2), .int(5), .int(4)])
        #expect(try order("i % 3, i DESC") == [.int(6), .int(3), .int(4), .int(1), .int(5), .int(2)])
        #expect(try order("1 DESC LIMIT 2") == [.int(6), .int(5)])
        #expect(try Self.rows("SELECT i AS x FROM t ORDER BY x DESC LIMIT 1", columns) == [[.int(6)]])
    }

    @Test func groupByHavingAndAliases() throws {
        let columns: [(String, ArrayData)] = [("g", Make.utf8(["a", "b", "a", "c", "b", "a"])), ("n", Make.int64([1, 2, 3, 4, 5, 6]))]
        #expect(try Self.rows("SELECT g AS grp, sum(n) AS total FROM t GROUP BY grp HAVING sum(n) > 4 ORDER BY total DESC", columns) == [
            [.string("a"), .int(10)], [.string("b"), .int(7)],
        ])
        #expect(try Self.rows("SELECT g, count(*) * 10 + max(n) FROM t GROUP BY 1 ORDER BY sum(n)", columns) == [
            [.string("c"), .int(14)], [.string("b"), .int(25)], [.string("a"), .int(36)],
        ])
        #expect(try Self.rows("SELECT n % 2 AS odd, count(*) FROM t GROUP BY n % 2", columns) == [
            [.int(1), .int(3)], [.int(0), .int(3)],
        ])
        // Keys from a small domain (dictionary, boolean, short integer range) take a coded fast
        // path, wide ones the general hash path; both give the same groups in the same order.
        let wide: [Int64?] = [4_000_000_000_000, -7, nil, 4_000_000_000_000, 3, nil, -7]
        let narrow: [Int64?] = [40, -7, nil, 40, 3, nil, -7]
        let flags: [Bool?] = [true, false, nil, true, true, nil, false]
        for keys in [wide, narrow] {
            let grouped = try Self.rows("SELECT k, f, count(*) FROM t GROUP BY k, f", [("k", Make.int64(keys)), ("f", Make.bool(flags))])
            #expect(grouped == [
                [.int(keys[0]!), .bool(true), .int(2)], [.int(-7), .bool(false), .int(2)], [.null, .null, .int(2)], [.int(3), .bool(true), .int(1)],
            ])
        }
        // Groups come out in order of first appearance (deterministic without ORDER BY).
        #expect(try Self.rows("SELECT g FROM t GROUP BY g", columns) == [[.string("a")], [.string("b")], [.string("c")]])
    }

    /// One-byte string keys (TPC-H's flags) take a direct byte map; any other length in the
    /// batch, or a NULL, sends it down the general short-string path. Same groups either way.
    @Test(.tags(.untrustedInput)) func oneByteStringKeys() throws {
        let letters = (0..<3000).map { String(UnicodeScalar(UInt8(33 + ($0 * 7919) % 90))) }
        var expected: [String: Int] = [:]
        var order: [String] = []
        for letter in letters {
            if expected[letter] == nil { order.append(letter) }
            expected[letter, default: 0] += 1
        }
        let all = try Self.rows("SELECT g, count(*) FROM t GROUP BY g", [("g", Make.utf8(letters))])
        #expect(all == order.map { [.string($0), .int(Int64(expected[$0]!))] })
        for odd in ["", "ab", nil] as [String?] {
            let mixed: [String?] = letters.prefix(100).map { $0 } + [odd]
            var counts: [String?: Int] = [:]
            var seen: [String?] = []
            for key in mixed {
                if counts[key] == nil { seen.append(key) }
                counts[key, default: 0] += 1
            }
            let grouped = try Self.rows("SELECT g, count(*) FROM t GROUP BY g", [("g", Make.utf8(mixed))])
            #expect(grouped == seen.map { [$0.map { .string($0) } ?? .null, .int(Int64(counts[$0]!))] })
        }
    }

    /// The engine's own gate on string columns: offsets that go backwards, or past the data,
    /// are refused with a typed error before any kernel reads them.
    @Test(.tags(.untrustedInput)) func malformedStringOffsetsAreRefused() throws {
        let data = Buffer(copying: Array("abcdefgh".utf8))
        for offsets in [[0, 3, 2, 8], [0, 2, 4, 9], Array(0...100).map { $0 == 70 ? 10 : min($0, 8) }] as [[Int32]] {
            let column = ArrayData(
                uncheckedType: .utf8, length: offsets.count - 1, buffers: [.empty, Buffer(copyingValues: offsets), data])
            let error = #expect(throws: QuiverError.self) { try Self.rows("SELECT s, count(*) FROM t GROUP BY s", [("s", column)]) }
            #expect(error?.code == .invalidData)
        }
    }

    @Test func namesLiteralsAndMixedTypes() throws {
        let columns: [(String, ArrayData)] = [
            ("Mixed Case", Make.int32([1, 2])), ("u", Make.uint8([200, 7])), ("f", Make.float32([0.5, 1.5])), ("SELECT", Make.int16([3, 4])),
        ]
        #expect(try Self.rows("SELECT \"Mixed Case\" + 1, u > -1, u = 200, f = 0.5, f < 1, \"SELECT\" * 2, 7 AS seven, 'x' FROM t", columns) == [
            [.int(2), .bool(true), .bool(true), .bool(true), .bool(true), .int(6), .int(7), .string("x")],
            [.int(3), .bool(true), .bool(false), .bool(false), .bool(false), .int(8), .int(7), .string("x")],
        ])
        #expect(try Self.rows("select T.U from t AS T where u < 100", columns) == [[.int(7)]])
    }

    @Test func slicedInputs() throws {
        // Offsets that are not byte-aligned exercise the bitmap and offset paths.
        let values: [Int64?] = (0..<200).map { $0 % 7 == 0 ? nil : Int64($0) }
        let strings: [String?] = (0..<200).map { $0 % 5 == 0 ? nil : "s\($0 % 11)" }
        let batch = try Make.batch([("a", Make.int64(values)), ("s", Make.utf8(strings)), ("b", Make.bool((0..<200).map { $0 % 3 == 0 }))])
        let slice = batch.slice(from: 13, length: 150)
        let source = try InMemorySource(batches: [slice])
        let got = Read.rows(try Query(sql: "SELECT a, s, b FROM t WHERE a % 2 = 1 AND s LIKE 's1%' AND NOT b", tables: ["t": source]).execute().batches)
        let expected = (13..<163).filter { i in
            values[i].map { $0 % 2 == 1 } == true && strings[i]?.hasPrefix("s1") == true && i % 3 != 0
        }.map { [V.int(values[$0]!), V.string(strings[$0]!), V.bool(false)] }
        #expect(got == expected)
        #expect(!expected.isEmpty)
    }
}
