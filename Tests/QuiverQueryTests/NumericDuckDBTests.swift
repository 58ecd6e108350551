import Foundation
import QuiverArrow
import QuiverBytes
import QuiverTestSupport
import Testing
@testable import QuiverQuery

/// Number conversions agree with DuckDB (the installed Python `duckdb`) value for value:
/// float text and decimal → double.
@Suite struct NumericDuckDBTests {
    static let hasDuckDB: Bool = (try? Python.run("import duckdb")) != nil

    static func rows(_ sql: String, _ columns: [(String, ArrayData)]) throws -> [[V]] {
        let source = try InMemorySource(batches: [try Make.batch(columns)])
        return Read.rows(try Query(sql: sql, tables: ["t": source]).execute().batches)
    }

    /// DuckDB evaluates `expression` (with `?` bound to each input) once per input; returns
    /// each answer as `str` for text and `repr` for floats.
    static func duckdb(_ expression: String, _ inputs: [String]) throws -> [String] {
        let output = try Python.run(
            """
            import sys, json, duckdb
            con = duckdb.connect()
            out = []
            for value in json.load(sys.stdin):
                v = con.execute("SELECT " + sys.argv[1], [value]).fetchone()[0]
                out.append(repr(v) if isinstance(v, float) else str(v))
            print(json.dumps(out))
            """, input: Array(try JSONEncoder().encode(inputs)), arguments: [expression])
        return try JSONDecoder().decode([String].self, from: Data(output.utf8))
    }

    /// Doubles of every magnitude: special values, powers of ten, and random bit patterns.
    static func sampleDoubles() -> [Double] {
        var values: [Double] = [0, -0.0, 1, -1, 0.1, 28.19, 1e15, 1e16, 123456789012345680000, 1e-4, 1e-5, 1e20,
                                1.5e300, 5e-324, -1.25e-7, .infinity, -.infinity, .nan, .greatestFiniteMagnitude, 9007199254740993]
        for exponent in -30...30 { values.append(pow(10, Double(exponent))) }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        while values.count < 400 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let value = Double(bitPattern: state)
            if value.isFinite { values.append(value) }
        }
        return values
    }

    @Test(.enabled(if: hasDuckDB)) func doublesPrintAsDuckDB() throws {
        let values = Self.sampleDoubles()
        let ours = try Self.rows("SELECT CAST(x AS VARCHAR) FROM t", [("x", Make.float64(values))]).map { $0[0] }
        // repr text is exact, so DuckDB reads the very same double.
        let theirs = try Self.duckdb("CAST(CAST(? AS DOUBLE) AS VARCHAR)", values.map { $0.isNaN ? "nan" : "\($0)" })
        #expect(ours == theirs.map { V.string($0) })
    }

    @Test(.enabled(if: hasDuckDB)) func floatsPrintAsDuckDB() throws {
        var values: [Float] = [28.19, 955.64, 16777216, 1e10, 3.4e38, 1e-45, 0.1, -0.0, .infinity, .nan]
        values += Self.sampleDoubles().map { Float($0) }.filter(\.isFinite).prefix(200)
        let ours = try Self.rows("SELECT CAST(x AS VARCHAR), CAST(CAST(28.19 AS REAL) AS VARCHAR) FROM t", [("x", Make.float32(values))])
        let theirs = try Self.duckdb("CAST(CAST(CAST(? AS DOUBLE) AS REAL) AS VARCHAR)", values.map { $0.isNaN ? "nan" : "\(Double($0))" })
        #expect(ours.map { $0[0] } == theirs.map { V.string($0) })
        #expect(ours[0][1] == .string("28.19"))
    }

    @Test(.enabled(if: hasDuckDB)) func decimalsBecomeTheNearestDouble() throws {
        // decimal(12,2) values of every size, and the digits of a float that once rounded wrong.
        var unscaled: [Int128] = [95564, 1, -1, 999_999_999_999, -999_999_999_999]
        var state: UInt64 = 42
        while unscaled.count < 2000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            unscaled.append(Int128(Int64(bitPattern: state >> 1) % 1_000_000_000_000) * (state & 1 == 0 ? 1 : -1))
        }
        let column = Make.decimal128(unscaled, precision: 12, scale: 2)
        let ours = try Self.rows(
            "SELECT CAST(d AS DOUBLE), CAST(CAST(d AS DECIMAL(38,20)) AS DOUBLE) = CAST(d AS DOUBLE) FROM t", [("d", column)])
        let theirs = try Self.duckdb("CAST(CAST(? AS DECIMAL(12,2)) AS DOUBLE)", unscaled.map { Decimal.format($0, scale: 2) })
        #expect(ours.map { $0[0] } == theirs.map { V.double(Double($0)!) })
        #expect(ours.allSatisfy { $0[1] == .bool(true) })

        // 955.6400146484375 is exactly the float nearest 955.64.
        let exact = try Self.rows(
            "SELECT CAST(955.6400146484375 AS DOUBLE) = CAST(f AS DOUBLE), f <= 955.6400146484375, f = 955.6400146484375 FROM t",
            [("f", Make.float32([955.64]))])
        #expect(exact == [[.bool(true), .bool(true), .bool(true)]])
        #expect(Decimal.toDouble(9_556_400_146_484_375, scale: 13) == Double(Float(955.64)))
        #expect(Decimal.toFloat(95564, scale: 2) == Float(955.64))
    }

    /// DuckDB 2.0.1's answers: float → integer half to even, decimal → integer half away from
    /// zero, decimal % decimal exact.
    @Test func roundingAndRemainderAsDuckDB() throws {
        let casts = try Self.rows(
            """
            SELECT CAST(f AS INTEGER), CAST(CAST(f AS REAL) AS BIGINT), CAST(CAST(f AS DECIMAL(4,1)) AS INTEGER) FROM t
            """, [("f", Make.float64([2.5, 3.5, -2.5, -3.5, 0.5, 1.5, 0.49999999999999994]))])
        #expect(casts.map { $0[0] } == [2, 4, -2, -4, 0, 2, 0].map { V.int($0) })
        #expect(casts.map { $0[1] } == [2, 4, -2, -4, 0, 2, 0].map { V.int($0) })
        #expect(casts.map { $0[2] } == [3, 4, -3, -4, 1, 2, 1].map { V.int($0) })
        let remainders = try Self.rows(
            "SELECT CAST(-740412.34 % 0.01 AS VARCHAR), CAST(7.5 % 2 AS VARCHAR), CAST(-7.25 % 0.5 AS VARCHAR), -740412.34 % CAST(0.01 AS DOUBLE) FROM t",
            [("a", Make.int64([1]))])
        #expect(Array(remainders[0][..<3]) == [.string("0.00"), .string("1.5"), .string("-0.25")])
        #expect(remainders[0][3] == .double(-0.009999999951990782))
    }
}
