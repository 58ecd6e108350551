import Foundation
import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverQuery
import QuiverTestSupport
import Testing

/// TPC-H Q1 and Q6 over a lineitem file made by `datasets/generate.py` (tpchgen-cli, scale
/// 0.01, decimals as float64), uncompressed and LZ4, memory-mapped: Quiver's answers equal
/// DuckDB's on the same data — group keys and counts exactly, sums and averages to 1e-9.
@Suite(.serialized) struct TPCHDuckDBTests {
    /// TPC-H Q1 and Q6 as every engine runs them (datasets/queries/, shared with the benchmarks).
    static let q1 = query("tpch-q1")
    static let q6 = query("tpch-q6")

    static func query(_ name: String) -> String {
        let url = TestPaths.repositoryRoot.appendingPathComponent("datasets/queries/\(name).sql")
        return (try? String(contentsOf: url, encoding: .utf8)) ?? "missing \(url.path)"
    }

    /// The generated files, once per run.
    static let directory: URL? = {
        guard let out = try? TestPaths.temporaryDirectory("tpch") else { return nil }
        let script = TestPaths.repositoryRoot.appendingPathComponent("datasets/generate.py").path
        guard (try? Python.run(
            "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')",
            arguments: [script, "--scale", "0.01", "--only", "lineitem", "--out", out.path])) != nil
        else { return nil }
        return out.appendingPathComponent("lineitem-sf0.01")
    }()

    /// DuckDB's answer as rows of strings (numbers with full precision).
    static func duckdb(_ sql: String, file: URL) throws -> [[String]] {
        let output = try Python.run(
            """
            import sys, json, duckdb, pyarrow as pa
            lineitem = pa.ipc.open_file(sys.argv[1]).read_all()
            rows = duckdb.sql(sys.argv[2]).fetchall()
            print(json.dumps([[repr(v) if isinstance(v, float) else str(v) for v in row] for row in rows]))
            """, arguments: [file.path, sql])
        return try JSONDecoder().decode([[String]].self, from: Data(output.utf8))
    }

    static func quiver(_ sql: String, file: URL) throws -> [[String]] {
        let result = try Query(sql: sql, tables: ["lineitem": try FileBatchSource(path: file.path)]).execute()
        return result.batches.flatMap { batch in
            (0..<batch.length).map { row in
                batch.columns.map { column -> String in
                    switch column.value(at: row) {
                    case .float(let d): return "\(d)"
                    case .int(let i): return "\(i)"
                    default: return column.formatValue(at: row)
                    }
                }
            }
        }
    }

    static func agree(_ ours: [[String]], _ theirs: [[String]]) -> Bool {
        guard ours.count == theirs.count, !ours.isEmpty else { return false }
        for (a, b) in zip(ours, theirs) {
            guard a.count == b.count else { return false }
            for (x, y) in zip(a, b) where x != y {
                guard let dx = Double(x), let dy = Double(y), abs(dx - dy) <= 1e-9 * max(abs(dx), abs(dy)) else {
                    return false
                }
            }
        }
        return true
    }

    @Test(arguments: ["lineitem.arrow", "lineitem-lz4.arrow"]) func q1AndQ6MatchDuckDB(_ name: String) throws {
        let directory = try #require(Self.directory, "datasets/generate.py could not make lineitem (tpchgen-cli?)")
        let file = directory.appendingPathComponent(name)
        for sql in [Self.q1, Self.q6] {
            let ours = try Self.quiver(sql, file: file)
            let theirs = try Self.duckdb(sql, file: file)
            #expect(Self.agree(ours, theirs), "\(name)\nquiver: \(ours)\nduckdb: \(theirs)")
        }
        #expect(try Self.quiver(Self.q1, file: file).count == 4)
    }

    /// The README's builder example gives the SQL Q6 answer.
    @Test func readmeBuilderExampleEqualsSQL() throws {
        let directory = try #require(Self.directory)
        let path = directory.appendingPathComponent("lineitem.arrow").path
        // --- README: begin ---
        let lineitem = try FileBatchSource(path: path)          // memory-mapped
        let revenue = try Query(lineitem)
            .filter(col("l_shipdate") >= .date("1994-01-01") && col("l_shipdate") < .date("1995-01-01")
                    && col("l_discount").between(0.05, 0.07) && col("l_quantity") < 24)
            .aggregate([sum(col("l_extendedprice") * col("l_discount")).as("revenue")])
            .execute()
        // --- README: end ---
        let sql = try Query(sql: Self.q6, tables: ["lineitem": lineitem]).execute()
        #expect(revenue.batches[0].columns[0].value(at: 0) == sql.batches[0].columns[0].value(at: 0))
        #expect(revenue.numRows == 1)
    }
}
