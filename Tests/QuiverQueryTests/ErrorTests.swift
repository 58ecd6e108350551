import QuiverTestSupport
import PropertyBased
import QuiverArrow
import QuiverBytes
import Testing
@testable import QuiverQuery

/// Bad queries fail with `QuiverError(.query, …)` that say what and where — never a crash.
@Suite struct ErrorTests {
    static func table() throws -> InMemorySource {
        try InMemorySource(batches: [
            Make.batch([
                ("a", Make.int64([1, 2, 3])), ("b", Make.float64([1, 2, 3])), ("s", Make.utf8(["x", "y", "z"])),
                ("d", Make.date32([1, 2, 3])), ("flag", Make.bool([true, false, nil])),
            ])
        ])
    }

    static func error(_ sql: String) throws -> QuiverError {
        do {
            _ = try Query(sql: sql, tables: ["t": try table()]).execute()
        } catch let error as QuiverError {
            return error
        }
        Issue.record("no error for \(sql)")
        return QuiverError(.query, "")
    }

    @Test(arguments: [
        ("SELEC a FROM t", "expected SELECT, found 'SELEC'", 1, 1),
        ("SELECT a, FROM t", "expected an expression, found 'FROM'", 1, 11),
        ("SELECT a FROM t WHERE", "expected an expression, found end of input", 1, 22),
        ("SELECT a FROM t\nWHERE a > (1", "expected ')', found end of input", 2, 13),
        ("SELECT 'abc FROM t", "unterminated string", 1, 8),
        ("SELECT a FROM t LIMIT x", "expected a row count after LIMIT", 1, 23),
        ("SELECT a FROM t ORDER a", "expected BY", 1, 23),
        ("SELECT a FROM t GROUP BY", "expected an expression", 1, 25),
        ("SELECT a FROM t WHERE a ! 1", "unexpected character '!'", 1, 25),
        ("SELECT a FROM t extra junk", "expected end of statement, found 'junk'", 1, 23),
        ("SELECT a FROM nowhere", "unknown table 'nowhere'", 1, 15),
        ("SELECT frob(a) FROM t", "unknown function 'frob'", 1, 8),
        ("SELECT a FROM t WHERE d = DATE '1994-02-30'", "invalid date '1994-02-30'", 1, 32),
        ("SELECT CAST(a AS BLOB) FROM t", "unknown type 'BLOB'", 1, 18),
        ("SELECT a FROM t WHERE a NOT 5", "expected IN, BETWEEN or LIKE after NOT", 1, 29),
        ("SELECT 12abc FROM t", "malformed number", 1, 8),
        ("SELECT a FROM t /* open", "unterminated /* comment", 1, 17),
    ])
    func syntaxErrorsPointAtTheToken(_ sql: String, message: String, line: Int, column: Int) throws {
        let error = try Self.error(sql)
        #expect(error.code == .query)
        #expect(error.message.contains(message), "\(error.message)")
        #expect(error.message.contains("at line \(line), column \(column)"), "\(error.message)")
        // The snippet's caret sits under the column.
        let lines = error.message.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 3)
        if lines.count == 3 { #expect(lines[2].firstIndex(of: "^").map { lines[2].distance(from: lines[2].startIndex, to: $0) } == column + 1) }
    }

    @Test(arguments: [
        ("SELECT nope FROM t", "unknown column 'nope'", 8),
        ("SELECT a FROM t WHERE sx = 'x'", "unknown column 'sx' (did you mean 's'?)", 23),
        ("SELECT a FROM t WHERE a = 'x'", "could not convert 'x' to int64", 25),
        ("SELECT a + s FROM t", "cannot apply + to int64 and string", 10),
        ("SELECT a FROM t WHERE a", "WHERE needs a boolean condition, found int64", 23),
        ("SELECT a FROM t WHERE s LIKE 'x' AND a", "expected a boolean, found int64", 38),
        ("SELECT sum(s) FROM t", "sum needs a number, found string", 8),
        ("SELECT a, count(*) FROM t", "column 'a' must appear in GROUP BY", 8),
        ("SELECT s FROM t GROUP BY a", "column 's' must appear in GROUP BY", 8),
        ("SELECT * FROM t GROUP BY a", "column 'a' must appear in GROUP BY", 8),
        ("SELECT sum(count(a)) FROM t", "aggregate functions cannot be nested", 8),
        ("SELECT a FROM t WHERE count(*) > 1", "aggregate function count_star is not allowed in WHERE", 23),
        ("SELECT d FROM t WHERE d > 5", "cannot compare date32[day] with int64", 25),
        ("SELECT a LIKE 'x' FROM t", "LIKE needs a string, found int64", 8),
        ("SELECT CAST(d AS INTEGER) FROM t", "cannot cast date32[day] to int32", 8),
        ("SELECT a FROM t WHERE flag = 1", "cannot compare bool with int64", 28),
        ("SELECT a FROM t ORDER BY 9", "ORDER BY position 9 is not in the select list", 26),
        ("SELECT a FROM t WHERE s LIKE 'a\\' ESCAPE '\\'", "ends with its escape character", 25),
    ])
    func semanticErrorsPointAtTheExpression(_ sql: String, message: String, column: Int) throws {
        let error = try Self.error(sql)
        #expect(error.code == .query)
        #expect(error.message.contains(message), "\(error.message)")
        #expect(error.message.contains("column \(column)\n"), "\(error.message)")
    }

    @Test func builderErrorsAreTyped() throws {
        let source = try Self.table()
        func fails(_ query: Query, _ message: String) {
            do {
                _ = try query.execute()
                Issue.record("no error, expected \(message)")
            } catch let error as QuiverError {
                #expect(error.code == .query && error.message.contains(message), "\(error.message)")
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
        fails(Query(source).filter(col("missing") > 1), "unknown column 'missing'")
        fails(Query(source).filter(col("s") > 1), "cannot compare string with int64")
        fails(Query(source).select(col("a") + "x"), "cannot apply + to int64 and string")
        fails(Query(source).filter(col("d") >= .date("1994-13-01")), "invalid date '1994-13-01'")
        fails(Query(source).aggregate([sum(col("s"))]), "sum needs a number")
        fails(Query(source).select(col("a")).limit(-1), "LIMIT must not be negative")
        fails(Query(source).filter(col("a").like("x")), "LIKE needs a string")
    }

    @Test func runtimeErrors() throws {
        let big = try InMemorySource(batches: [Make.batch([("x", Make.int64([Int64.max, 1, nil])), ("s", Make.utf8(["1", "x", nil]))])])
        func message(_ sql: String) -> String? {
            do {
                _ = try Query(sql: sql, tables: ["t": big]).execute()
                return nil
            } catch let error as QuiverError {
                return error.code == .query ? error.message : "\(error)"
            } catch {
                return "\(error)"
            }
        }
        #expect(message("SELECT x + 1 FROM t")?.contains("integer overflow") == true)
        // Integer sums are 128-bit (DuckDB's HUGEINT): past int64 they are exact, not errors.
        #expect(message("SELECT sum(x) FROM t") == nil)
        #expect(message("SELECT CAST(s AS INTEGER) FROM t")?.contains("could not convert 'x' to int32") == true)
        #expect(message("SELECT CAST(x AS SMALLINT) FROM t")?.contains("out of range") == true)
        // A NULL slot's garbage never overflows.
        #expect(message("SELECT x + 1 FROM t WHERE x < 5") == nil)
    }

    /// Mutated SQL (tokens dropped, duplicated, swapped, characters replaced) must parse or fail
    /// with a query error, and never crash.
    @Test func mutatedSQLNeverCrashes() async throws {
        let source = try Self.table()
        let seeds = [
            "SELECT s, count(*) AS n, sum(a * b) FROM t WHERE a BETWEEN 1 AND 3 AND s LIKE 'x%' GROUP BY s HAVING count(*) > 0 ORDER BY n DESC LIMIT 2",
            "EXPLAIN SELECT CAST(a AS DOUBLE) / 0, d FROM t WHERE d >= DATE '1970-01-02' OR flag IS NOT NULL ORDER BY 2",
            "SELECT a FROM t WHERE a IN (1, NULL, -3) AND NOT (b < 2.5e0) AND s <> 'y'",
        ]
        await propertyCheck(count: 300, input: Gen.int(in: 0...Int.max)) { seed in
            var random = SeededRandom(seed: UInt64(seed))
            var text = Array(seeds.randomElement(using: &random)!)
            let pieces: [String] = ["(", ")", ",", "'", "\"", "SELECT", " FROM ", "*", "NULL", "--", "/*", "e", ".", "9999999999999999999999", "é", "\n"]
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let position = Int.random(in: 0...text.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0 where !text.isEmpty: text.remove(at: min(position, text.count - 1))
                case 1: text.insert(contentsOf: pieces.randomElement(using: &random)!, at: position)
                default:
                    let end = min(text.count, position + Int.random(in: 0...8, using: &random))
                    text.removeSubrange(position..<end)
                }
            }
            do {
                _ = try Query(sql: String(text), tables: ["t": source]).execute()
            } catch let error as QuiverError {
                #expect(error.code == .query, "\(String(text)): \(error)")
            }
        }
    }
}
