import QuiverTestSupport
import QuiverArrow
import QuiverBytes
import Testing
@testable import QuiverQuery

/// A small synthetic TPC-H `lineitem` (the Q1/Q6 columns) and the two queries in SQL and in
/// the builder API, checked against a row-at-a-time evaluation written here.
@Suite struct TPCHTests {
    struct LineItem {
        var quantity: [Double] = []
        var price: [Double] = []
        var discount: [Double] = []
        var tax: [Double] = []
        var returnFlag: [String] = []
        var lineStatus: [String] = []
        var shipDate: [Int32] = []
    }

    /// Days since 1970-01-01 (computed here independently of the engine).
    static func days(_ y: Int, _ m: Int, _ d: Int) -> Int32 {
        let y = m <= 2 ? y - 1 : y
        let era = y / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        return Int32(era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468)
    }

    static func generate(rows: Int, batchSize: Int, seed: UInt64 = 42) throws -> (InMemorySource, LineItem) {
        var random = SeededRandom(seed: seed)
        var li = LineItem()
        let first = days(1992, 1, 2)
        let last = days(1998, 12, 1)
        for _ in 0..<rows {
            let quantity = Double(Int.random(in: 1...50, using: &random))
            li.quantity.append(quantity)
            li.price.append((quantity * Double(Int.random(in: 90_000...110_000, using: &random))).rounded() / 100)
            li.discount.append(Double(Int.random(in: 0...10, using: &random)) / 100)
            li.tax.append(Double(Int.random(in: 0...8, using: &random)) / 100)
            let ship = Int32.random(in: first...last, using: &random)
            li.shipDate.append(ship)
            // As dbgen: the return flag follows the receipt date, the status the ship date.
            let receipt = ship + Int32.random(in: 1...30, using: &random)
            li.returnFlag.append(receipt <= days(1995, 6, 17) ? (Bool.random(using: &random) ? "R" : "A") : "N")
            li.lineStatus.append(ship <= days(1995, 6, 17) ? "F" : "O")
        }
        var batches: [RecordBatch] = []
        for start in stride(from: 0, to: rows, by: batchSize) {
            let r = start..<min(rows, start + batchSize)
            batches.append(try Make.batch([
                ("l_quantity", Make.float64(Array(li.quantity[r]))),
                ("l_extendedprice", Make.float64(Array(li.price[r]))),
                ("l_discount", Make.float64(Array(li.discount[r]))),
                ("l_tax", Make.float64(Array(li.tax[r]))),
                ("l_returnflag", Make.utf8(Array(li.returnFlag[r]))),
                ("l_linestatus", Make.utf8(Array(li.lineStatus[r]))),
                ("l_shipdate", Make.date32(Array(li.shipDate[r]))),
            ]))
        }
        return (try InMemorySource(batches: batches), li)
    }

    static let q1SQL = """
        SELECT l_returnflag, l_linestatus,
               sum(l_quantity) AS sum_qty,
               sum(l_extendedprice) AS sum_base_price,
               sum(l_extendedprice * (1 - l_discount)) AS sum_disc_price,
               sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) AS sum_charge,
               avg(l_quantity) AS avg_qty,
               avg(l_extendedprice) AS avg_price,
               avg(l_discount) AS avg_disc,
               count(*) AS count_order
        FROM lineitem
        WHERE l_shipdate <= DATE '1998-09-02'
        GROUP BY l_returnflag, l_linestatus
        ORDER BY l_returnflag, l_linestatus
        """

    static let q6SQL = """
        SELECT sum(l_extendedprice * l_discount) AS revenue
        FROM lineitem
        WHERE l_shipdate >= DATE '1994-01-01'
          AND l_shipdate < DATE '1995-01-01'
          AND l_discount BETWEEN 0.06 - 0.01 AND 0.06 + 0.01
          AND l_quantity < 24
        """

    static func q1Builder(_ source: InMemorySource) -> Query {
        let price = col("l_extendedprice")
        let discounted = price * (1 - col("l_discount"))
        return Query(source, name: "lineitem")
            .filter(col("l_shipdate") <= .date("1998-09-02"))
            .aggregate(
                [
                    sum(col("l_quantity")).as("sum_qty"),
                    sum(price).as("sum_base_price"),
                    sum(discounted).as("sum_disc_price"),
                    sum(discounted * (1 + col("l_tax"))).as("sum_charge"),
                    avg(col("l_quantity")).as("avg_qty"),
                    avg(price).as("avg_price"),
                    avg(col("l_discount")).as("avg_disc"),
                    count().as("count_order"),
                ],
                groupBy: [col("l_returnflag"), col("l_linestatus")]
            )
            .orderBy(col("l_returnflag"), col("l_linestatus"))
    }

    static func q6Builder(_ source: InMemorySource) -> Query {
        Query(source, name: "lineitem")
            .filter(col("l_shipdate") >= .date("1994-01-01") && col("l_shipdate") < .date("1995-01-01")
                && col("l_discount").between(0.05, 0.07) && col("l_quantity") < 24)
            .aggregate([sum(col("l_extendedprice") * col("l_discount")).as("revenue")])
    }

    /// Q1 row by row: key → [sum_qty, sum_base, sum_disc, sum_charge, qty, price, disc, count].
    static func q1Reference(_ li: LineItem) -> [[V]] {
        let cutoff = days(1998, 9, 2)
        var groups: [String: [Double]] = [:]
        for i in li.quantity.indices where li.shipDate[i] <= cutoff {
            let key = li.returnFlag[i] + li.lineStatus[i]
            var g = groups[key] ?? Array(repeating: 0, count: 6)
            g[0] += li.quantity[i]
            g[1] += li.price[i]
            g[2] += li.price[i] * (1 - li.discount[i])
            g[3] += li.price[i] * (1 - li.discount[i]) * (1 + li.tax[i])
            g[4] += li.discount[i]
            g[5] += 1
            groups[key] = g
        }
        return groups.keys.sorted().map { key in
            let g = groups[key]!
            let n = g[5]
            return [.string(String(key.prefix(1))), .string(String(key.suffix(1))),
                    .double(g[0]), .double(g[1]), .double(g[2]), .double(g[3]),
                    .double(g[0] / n), .double(g[1] / n), .double(g[4] / n), .int(Int64(n))]
        }
    }

    static func q6Reference(_ li: LineItem) -> Double {
        var revenue = 0.0
        for i in li.quantity.indices
        where li.shipDate[i] >= days(1994, 1, 1) && li.shipDate[i] < days(1995, 1, 1)
            && li.discount[i] >= 0.05 && li.discount[i] <= 0.07 && li.quantity[i] < 24
        {
            revenue += li.price[i] * li.discount[i]
        }
        return revenue
    }

    @Test func q1MatchesReference() throws {
        let (source, li) = try Self.generate(rows: 30_000, batchSize: 4096)
        let sql = try Query(sql: Self.q1SQL, tables: ["lineitem": source]).execute()
        let builder = try Self.q1Builder(source).execute()
        let expected = Self.q1Reference(li)
        #expect(expected.count == 4)
        #expect(close(Read.rows(sql.batches), expected))
        // Both faces plan to the same kernels: identical bits, not just close.
        #expect(Read.rows(sql.batches) == Read.rows(builder.batches))
        #expect(sql.schema.fields.map(\.name) == [
            "l_returnflag", "l_linestatus", "sum_qty", "sum_base_price", "sum_disc_price", "sum_charge",
            "avg_qty", "avg_price", "avg_disc", "count_order",
        ])
        #expect(sql.schema == builder.schema)
    }

    @Test func q6MatchesReference() throws {
        let (source, li) = try Self.generate(rows: 30_000, batchSize: 4096)
        let sql = try Query(sql: Self.q6SQL, tables: ["lineitem": source]).execute()
        let builder = try Self.q6Builder(source).execute()
        let expected = Self.q6Reference(li)
        #expect(expected > 0)
        #expect(close(Read.rows(sql.batches), [[.double(expected)]]))
        #expect(Read.rows(sql.batches) == Read.rows(builder.batches))
        #expect(sql.statistics.rowsScanned <= 30_000)
        #expect(sql.statistics.rowsSelected == li.quantity.indices.filter { i in
            li.shipDate[i] >= Self.days(1994, 1, 1) && li.shipDate[i] < Self.days(1995, 1, 1)
                && li.discount[i] >= 0.05 && li.discount[i] <= 0.07 && li.quantity[i] < 24
        }.count)
    }

    @Test func explainShowsPlanAndColumns() throws {
        let (source, _) = try Self.generate(rows: 1000, batchSize: 256)
        let text = try Query(sql: "EXPLAIN " + Self.q6SQL, tables: ["lineitem": source]).execute()
        let lines = Read.values(text.batches[0].columns[0]).map { "\($0)" }
        #expect(lines.count == 4)
        #expect(lines[1].contains("Aggregate: sum(l_extendedprice * l_discount)"))
        #expect(lines[3].contains("columns [l_quantity, l_extendedprice, l_discount, l_shipdate] (4 of 7)"))
        #expect(lines[3].contains("batches 4"))
    }
}
