import QuiverArrow
import QuiverBytes
import Testing
@testable import QuiverQuery
import QuiverTestSupport

/// The Swift builder API: every expression form agrees with the same query in SQL.
@Suite struct BuilderTests {
    static func source() throws -> InMemorySource {
        try InMemorySource(batches: [
            Make.batch([
                ("a", Make.int64([1, 2, nil, 4, 5])), ("b", Make.float64([0.5, 1.5, 2.5, nil, 4.5])),
                ("s", Make.utf8(["apple", "banana", nil, "cherry", "avocado"])), ("d", Make.date32([8766, 8767, 9000, nil, 9131])),
            ]),
            Make.batch([
                ("a", Make.int64([6, 7])), ("b", Make.float64([6.5, 7.5])), ("s", Make.utf8(["apple", "fig"])), ("d", Make.date32([9131, 9132])),
            ]),
        ])
    }

    func same(_ builder: Query, _ sql: String) throws {
        let source = try Self.source()
        let left = try builder.execute()
        let right = try Query(sql: sql, tables: ["t": source]).execute()
        #expect(Read.rows(left.batches) == Read.rows(right.batches), "\(sql)")
        #expect(left.schema.fields.map(\.type) == right.schema.fields.map(\.type), "\(sql)")
        #expect(!Read.rows(left.batches).isEmpty, "\(sql) selects nothing: a weak test")
    }

    @Test func expressionForms() throws {
        let t = try Self.source()
        // `==` on expressions builds a comparison (Expr is deliberately not Equatable).
        let equal = col("a") == col("a")
        try same(Query(t).filter(equal).select(col("a")), "SELECT a FROM t WHERE a = a")
        try same(Query(t).filter(col("a").isNull() || col("s").isNotNull()).select(col("s")), "SELECT s FROM t WHERE a IS NULL OR s IS NOT NULL")
        try same(Query(t).filter(col("a").isIn([1, 4, .null])).select(col("a")), "SELECT a FROM t WHERE a IN (1, 4, NULL)")
        try same(Query(t).filter(col("a").isNotIn([1, 4])).select(col("a")), "SELECT a FROM t WHERE a NOT IN (1, 4)")
        try same(Query(t).filter(!col("b").between(1, 5)).select(col("b")), "SELECT b FROM t WHERE NOT b BETWEEN 1 AND 5")
        try same(Query(t).filter(col("s").like("a%") && col("s").notLike("%o")).select(col("s")), "SELECT s FROM t WHERE s LIKE 'a%' AND s NOT LIKE '%o'")
        try same(Query(t).filter(col("s").startsWith("ch")).select(col("s")), "SELECT s FROM t WHERE starts_with(s, 'ch')")
        try same(Query(t).select(-col("a") % 3, col("a") / 2, col("b") * 2 - 1, col("a").cast(.float64) + col("b")),
                 "SELECT -a % 3, a / 2, b * 2 - 1, CAST(a AS DOUBLE) + b FROM t")
        try same(Query(t).filter(col("d") >= .date("1994-01-02") && col("d") < .timestamp("1995-01-01 12:00:00")).select(col("d")),
                 "SELECT d FROM t WHERE d >= DATE '1994-01-02' AND d < TIMESTAMP '1995-01-01 12:00:00'")
        try same(Query(t).select(col("b") * .decimal("0.10"), lit(.int8(3)) + col("a"), lit(.float32(0.25)) * col("b")),
                 "SELECT b * 0.10, CAST(3 AS TINYINT) + a, CAST(0.25 AS REAL) * b FROM t")
        try same(Query(t).select(col("s").as("name"), (col("a") > 2).as("big")), "SELECT s AS name, a > 2 AS big FROM t")
    }

    @Test func aggregationAndOrdering() throws {
        let t = try Self.source()
        try same(
            Query(t).aggregate([count(), count(col("a")), countDistinct(col("s")), sum(col("a")), min(col("s")), max(col("d")), avg(col("b"))]),
            "SELECT count(*), count(a), count(DISTINCT s), sum(a), min(s), max(d), avg(b) FROM t")
        try same(
            Query(t).filter(col("a") > 0)
                .aggregate([sum(col("b")).as("total"), (count() * 10).as("tens")], groupBy: [col("s")])
                .having(count() >= 1)
                .orderBy(col("total").descending(), col("s").ascending(nullsFirst: true))
                .limit(3),
            "SELECT s, sum(b) AS total, count(*) * 10 AS tens FROM t WHERE a > 0 GROUP BY s HAVING count(*) >= 1 ORDER BY total DESC, s NULLS FIRST LIMIT 3")
        try same(Query(t).select(col("a"), col("s")).orderBy(col("b") * -1), "SELECT a, s FROM t ORDER BY b * -1")
        try same(Query(t).select("x", 1, true, 2.5).limit(2), "SELECT 'x', 1, TRUE, 2.5e0 FROM t LIMIT 2")
    }

    @Test func explainAndSchema() throws {
        let t = try Self.source()
        let query = Query(t, name: "fruit").filter(col("a") < 3).aggregate([max(col("b")).as("top")], groupBy: [col("s")]).orderBy(col("top"))
        #expect(try query.outputSchema() == Schema([Field("s", .utf8), Field("top", .float64)]))
        #expect(try query.explain() == """
            Sort: top ASC
              Project: s, top := max(b)
                Aggregate: group by [s]; max(b)
                  Filter: a < 3
                    Scan: fruit; columns [a, b, s] (3 of 4); batches 2, skipped by statistics 1
            """)
    }
}
