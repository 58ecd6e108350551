import Foundation
import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverQuery
import QuiverTestSupport
import Testing

/// Scalar functions, CASE, DISTINCT, OFFSET and 128-bit sums against DuckDB on the same
/// Arrow file: every query's rows (as text, compared as a multiset unless it sorts) equal
/// DuckDB's. The table has NULLs, empty and non-ASCII strings, and dates and timestamps on
/// both sides of 1970.
@Suite(.serialized) struct FunctionDuckDBTests {
    static let file: URL? = {
        guard Python.hasPyArrow, let directory = try? TestPaths.temporaryDirectory("functions") else { return nil }
        let path = directory.appendingPathComponent("t.arrow")
        let script = """
            import sys, datetime, pyarrow as pa, pyarrow.ipc as ipc
            d = datetime.date; ts = datetime.datetime
            t = pa.table({
                'id': pa.array(range(10), pa.int32()),
                's': pa.array(['https://www.google.com/search?q=1', 'http://example.org/a/b', None, 'héllo wörld',
                               '', 'ABC def', 'aaa', 'Ünïcödé', 'x.google.y', 'https://yandex.ru/']),
                'i': pa.array([1, 2, None, 4, -5, 0, 7, 8, None, 10], pa.int32()),
                'big': pa.array([9223372036854775807, 9223372036854775807, 5, None, -1, 2, 3, 4, 5, 6], pa.int64()),
                'f': pa.array([1.5, None, -2.25, 0.0, 3.0, 1e20, -0.5, 2.0, None, 7.75], pa.float64()),
                'ts': pa.array([ts(2013, 7, 14, 10, 23, 45, 123456), ts(1969, 12, 31, 23, 59, 59, 500000), None,
                                ts(2000, 2, 29, 0, 0, 0), ts(2013, 1, 1), ts(2012, 1, 1, 12, 0, 0), ts(1900, 3, 1, 1, 2, 3),
                                ts(2013, 7, 15, 23, 59, 59), ts(2020, 12, 31, 23, 59, 59, 999999), ts(1970, 1, 1)],
                               pa.timestamp('us')),
                'd': pa.array([d(2013, 7, 14), None, d(1969, 12, 31), d(2012, 1, 1), d(2013, 1, 1), d(2000, 2, 29),
                               d(1, 1, 1), d(2100, 12, 31), d(2013, 12, 30), d(2010, 1, 3)]),
            })
            with ipc.new_file(sys.argv[1], t.schema) as w:
                for b in t.to_batches(max_chunksize=4): w.write_batch(b)
            """
        guard (try? Python.run(script, arguments: [path.path])) != nil else { return nil }
        return path
    }()

    /// Each query, run by both engines. Those with ORDER BY compare in order.
    static let queries: [String] = [
        "SELECT id, length(s), strlen(s), char_length(s), lower(s), upper(s) FROM t",
        "SELECT id, substring(s, 2, 3), substring(s, 0, 2), substring(s, -3, 2), substr(s, 3), substring(s, 2, -1), substring(s, -100, 200), substring(s, i) FROM t",
        "SELECT id, substring(s, i, 2) FROM t",
        "SELECT id, extract(year FROM ts), extract(month FROM ts), extract(day FROM ts), extract(hour FROM ts), extract(minute FROM ts), extract(second FROM ts) FROM t",
        "SELECT id, extract(millisecond FROM ts), extract(microsecond FROM ts), extract(epoch FROM ts), extract(quarter FROM ts), extract(dow FROM ts), extract(isodow FROM ts) FROM t",
        "SELECT id, extract(doy FROM d), extract(week FROM d), extract(isoyear FROM d), extract(decade FROM d), extract(century FROM d), extract(millennium FROM d), date_part('year', d), date_part('minute', d) FROM t",
        "SELECT id, date_trunc('minute', ts), date_trunc('hour', ts), date_trunc('second', ts), date_trunc('millisecond', ts), date_trunc('day', ts), date_trunc('week', ts) FROM t",
        "SELECT id, date_trunc('month', ts), date_trunc('quarter', ts), date_trunc('year', ts), date_trunc('decade', ts), date_trunc('century', ts), date_trunc('millennium', ts) FROM t",
        "SELECT id, date_trunc('month', d), date_trunc('week', d), date_trunc('day', d), date_trunc('year', d) FROM t",
        "SELECT id, regexp_matches(s, 'goo'), regexp_matches(s, '^h'), regexp_matches(s, 'ABC', 'i'), regexp_full_match(s, 'a+'), regexp_matches(s, '') FROM t",
        #"SELECT id, regexp_replace(s, '^https?://(?:www\.)?([^/]+)/.*$', '\1') FROM t"#,
        // An optional group that does not take part (found by the SQL fuzz target: it trapped).
        #"SELECT id, regexp_replace(s, '(x)?(h)', '[\1|\2]'), regexp_replace(s, '(q)*(\w*)', '\1-\2', 'g') FROM t"#,
        #"SELECT id, regexp_replace(s, 'o', '0'), regexp_replace(s, 'o', '0', 'g'), regexp_replace(s, '(\w)(\w*)', '\2\1', 'g'), regexp_replace(s, 'x*', '-', 'g'), regexp_replace(s, 'L', '[\0]', 'gi') FROM t"#,
        "SELECT id, coalesce(i, 0), coalesce(NULL, i, big), coalesce(s, 'none'), coalesce(f, i), nullif(i, 2), nullif(s, '') FROM t",
        "SELECT id, CASE WHEN i > 2 THEN s ELSE 'small' END, CASE WHEN i IS NULL THEN -1 WHEN i < 0 THEN 0 END, CASE i WHEN 1 THEN 'one' WHEN 2 THEN 'two' ELSE 'many' END FROM t",
        "SELECT id, CASE WHEN f > 1 THEN i ELSE f END, CASE WHEN NULL THEN 1 ELSE 2 END, CASE WHEN s LIKE '%google%' THEN 1 END FROM t",
        "SELECT DISTINCT i % 2 FROM t",
        "SELECT DISTINCT upper(substring(s, 1, 1)) AS c FROM t ORDER BY c NULLS LAST",
        "SELECT id FROM t ORDER BY id LIMIT 3 OFFSET 2",
        "SELECT id FROM t ORDER BY id DESC OFFSET 7",
        "SELECT id FROM t ORDER BY id LIMIT 5 OFFSET 100",
        "SELECT i % 3 AS k, count(*) AS c FROM t GROUP BY k ORDER BY k NULLS LAST LIMIT 2 OFFSET 1",
        "SELECT sum(big), sum(i), sum(CAST(i AS SMALLINT)), avg(big) FROM t",
        "SELECT i % 2 AS k, sum(big) FROM t GROUP BY k",
        "SELECT sum(i + 1), sum(i - 2), sum(3 + i), sum(i + 1.5), sum(f + 1), count(*) FROM t",
        "SELECT i % 3 AS k, sum(i + 1), sum(i + 2), sum(CAST(i AS DECIMAL(10,2)) - 0.25) FROM t GROUP BY k",
        "SELECT sum(i + 1) FROM t WHERE i IS NULL",
        // Packed group keys: NULLs, floats, booleans, several columns, and count(DISTINCT) pairs.
        "SELECT f, count(*), count(DISTINCT i) FROM t GROUP BY f",
        "SELECT i, big, count(*), count(DISTINCT big), count(DISTINCT f) FROM t GROUP BY i, big",
        "SELECT i > 2 AS b, d, count(*), sum(big) FROM t GROUP BY b, d",
        "SELECT count(DISTINCT i), count(DISTINCT d), count(DISTINCT ts), count(DISTINCT s) FROM t",
        "SELECT i % 2 AS k, count(DISTINCT s), count(DISTINCT ts) FROM t GROUP BY k",
        // Keys computed from other keys (evaluated per group, not hashed).
        "SELECT i, i - 1, i * 2 + f, f, count(*) FROM t GROUP BY i, i - 1, i * 2 + f, f",
        "SELECT big + 1 AS b, count(*) FROM t GROUP BY big, b",
        "SELECT extract(year FROM d) AS y, d, count(*) FROM t GROUP BY y, d HAVING count(*) > 0 ORDER BY d NULLS LAST",
        "SELECT s, upper(s), length(s), count(*) FROM t GROUP BY s, upper(s), length(s)",
        "SELECT sum(big), count(*), coalesce(sum(i), 0) FROM t WHERE id > 100",
        "SELECT count(*) FROM t WHERE regexp_matches(s, 'google') AND extract(year FROM ts) > 2000",
        "SELECT date_trunc('month', d) AS m, count(*) FROM t GROUP BY m ORDER BY m NULLS LAST",
        "SELECT extract(minute FROM ts) AS m, length(s) AS l, count(*) FROM t GROUP BY m, l",
    ]

    /// DuckDB's answers to every query, from one Python process.
    static let duckdbAnswers: [[[String]]]? = file.flatMap { try? duckdb(queries, file: $0) }

    static func duckdb(_ queries: [String], file: URL) throws -> [[[String]]] {
        let output = try Python.run(
            """
            import sys, json, datetime, decimal, duckdb, pyarrow.ipc as ipc
            t = ipc.open_file(sys.argv[1]).read_all()
            def text(v):
                if v is None: return 'NULL'
                if isinstance(v, bool): return 'true' if v else 'false'
                if isinstance(v, float): return repr(v)
                if isinstance(v, datetime.datetime): return '%04d-%02d-%02d %02d:%02d:%02d.%06d' % (v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond)
                if isinstance(v, datetime.date): return '%04d-%02d-%02d' % (v.year, v.month, v.day)
                return str(v)
            def answer(q):
                try: return [[text(v) for v in row] for row in duckdb.sql(q).fetchall()]
                except duckdb.Error: return [['ERROR']]
            results = [answer(q) for q in json.loads(sys.stdin.read())]
            print(json.dumps(results))
            """, input: Array(try JSONEncoder().encode(queries)), arguments: [file.path])
        return try JSONDecoder().decode([[[String]]].self, from: Data(output.utf8))
    }

    /// Quiver's rows as text, or `[["ERROR"]]` when the query fails (as DuckDB's side does).
    static func quiver(_ sql: String, file: URL) throws -> [[String]] {
        let result: QueryResult
        do {
            result = try Query(sql: sql, tables: ["t": try FileBatchSource(path: file.path)]).execute()
        } catch is QuiverError {
            return [["ERROR"]]
        }
        return result.batches.flatMap { batch in
            (0..<batch.length).map { row in
                batch.columns.map { column -> String in
                    if column.isNull(row) { return "NULL" }
                    switch column.value(at: row) {
                    case .float(let value): return "\(value)"
                    case .int(let value): return "\(value)"
                    default: return column.formatValue(at: row)
                    }
                }
            }
        }
    }

    @Test(arguments: 0..<queries.count) func equalsDuckDB(_ index: Int) throws {
        guard let file = Self.file else {
            Issue.record("pyarrow/duckdb not available")
            return
        }
        let sql = Self.queries[index]
        guard let answers = Self.duckdbAnswers, answers.count == Self.queries.count else {
            Issue.record("DuckDB did not answer")
            return
        }
        let theirs = answers[index]
        let ours = try Self.quiver(sql, file: file)
        let ordered = sql.contains("ORDER BY")
        let (a, b) = ordered ? (ours, theirs) : (ours.sorted { $0.lexicographicallyPrecedes($1) }, theirs.sorted { $0.lexicographicallyPrecedes($1) })
        #expect(a == b, "\(sql)")
    }

    @Test func pathologicalRegexStopsWithError() throws {
        let source = try InMemorySource(batches: [try Make.batch([("s", Make.utf8([String(repeating: "a", count: 40) + "!"]))])])
        let started = Date()
        let error = #expect(throws: QuiverError.self) {
            _ = try Query(sql: "SELECT regexp_matches(s, '(a+)+$') FROM t", tables: ["t": source]).execute()
        }
        #expect(error?.message.contains("limit") == true)
        #expect(Date().timeIntervalSince(started) < 60)
    }

    @Test func badPatternsAndArgumentsAreQueryErrors() throws {
        let source = try InMemorySource(batches: [try Make.batch([("s", Make.utf8(["a"])), ("ts", Make.int64([1]))])])
        for sql in [
            "SELECT regexp_matches(s, '(') FROM t",
            "SELECT regexp_replace(s, 'a', '\\2') FROM t",
            "SELECT regexp_matches(s, s) FROM t",
            "SELECT regexp_matches(s, 'a', 'z') FROM t",
            "SELECT extract(fortnight FROM ts) FROM t",
            "SELECT date_trunc('dow', ts) FROM t",
            "SELECT length(ts) FROM t",
            "SELECT substring(s, 'x') FROM t",
            "SELECT coalesce(s, ts) FROM t",
            "SELECT nosuchfunction(s) FROM t",
            "SELECT lower(s, s) FROM t",
            "SELECT CASE WHEN s THEN 1 END FROM t",
            "SELECT s FROM t OFFSET -1",
            "SELECT DISTINCT count(*) FROM t GROUP BY s",
        ] {
            #expect(throws: QuiverError.self, "\(sql)") { _ = try Query(sql: sql, tables: ["t": source]).execute() }
        }
    }

    /// Every function name the parser accepts binds through `Expr.function` too.
    @Test func swiftAPIFunctionsBind() throws {
        let source = try InMemorySource(batches: [try Make.batch([("s", Make.utf8(["abc", nil]))])])
        let result = try Query(source).select([
            Expr.function("starts_with", col("s"), "ab"), col("s").uppercased(), col("s").length(),
            Expr.coalesce(col("s"), "none"), col("s").replacing(regex: "(b)", with: "[\\1]"),
        ]).execute()
        #expect(Read.rows(result.batches) == [
            [.bool(true), .string("ABC"), .int(3), .string("abc"), .string("a[b]c")],
            [.null, .null, .null, .string("none"), .null],
        ])
    }

    @Test func hugeIntegerSumsAreExact() throws {
        let values: [Int64?] = Array(repeating: Int64.max, count: 1000) + [nil]
        let source = try InMemorySource(batches: [try Make.batch([("x", Make.int64(values))])])
        let result = try Query(sql: "SELECT sum(x) FROM t", tables: ["t": source]).execute()
        #expect(result.schema.fields[0].type == .decimal(bitWidth: 128, precision: 38, scale: 0))
        #expect(result.batches[0].columns[0].formatValue(at: 0) == String(Int128(Int64.max) * 1000))
    }
}
