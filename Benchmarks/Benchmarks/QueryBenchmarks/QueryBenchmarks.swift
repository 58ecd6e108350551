import Foundation
import Benchmark
import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverQuery

/// Compression per codec, scans, TPC-H Q1/Q6 and statistics skipping on synthetic in-memory
/// data (no dataset needed). Thresholds guard allocations, never time.
let benchmarks: @Sendable () -> Void = {
    let metrics: [BenchmarkMetric] = [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident]

    // 8 MiB of compressible int64s, the shape of a typical column buffer.
    let raw = Buffer(copyingValues: (0..<(1 << 20)).map { Int64($0 % 10_000) })
    for codec in CompressionCodec.allCases {
        let compressed = try! BodyCompression.compress(codec, raw)
        Benchmark(
            "compression/\(codec) compress 8 MiB",
            configuration: .init(metrics: metrics, maxDuration: .seconds(2),
                thresholds: [.mallocCountTotal: .init(absolute: [.p90: 64])])
        ) { benchmark in
            for _ in benchmark.scaledIterations { blackHole(try BodyCompression.compress(codec, raw)) }
        }
        Benchmark(
            "compression/\(codec) decompress 8 MiB",
            configuration: .init(metrics: metrics, maxDuration: .seconds(2),
                thresholds: [.mallocCountTotal: .init(absolute: [.p90: 48])])
        ) { benchmark in
            for _ in benchmark.scaledIterations { blackHole(try BodyCompression.decompress(codec, compressed)) }
        }
    }

    // A synthetic lineitem: 1M rows in 16 batches of 65,536 (TPC-H column shapes).
    let lineitem = try! SyntheticLineitem.source(rows: 1 << 20, batchRows: 1 << 16)
    let q1 = sharedQuery("tpch-q1")
    let q6 = sharedQuery("tpch-q6")
    for (name, sql, allocations) in [("tpch/Q1", q1, 20_000), ("tpch/Q6", q6, 5_000), ("scan/sum(l_quantity)", "SELECT sum(l_quantity) FROM lineitem", 2_000)] {
        Benchmark(
            "\(name) (1M rows, in memory)",
            configuration: .init(metrics: metrics, maxDuration: .seconds(3),
                thresholds: [.mallocCountTotal: .init(absolute: [.p90: allocations])])
        ) { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try Query(sql: sql, tables: ["lineitem": lineitem]).execute())
            }
        }
    }

    // Parsing and planning only: a 100,000-value IN list is one set, built in one pass.
    let inList = "SELECT count(*) FROM t WHERE k IN (" + (0..<100_000).map { String($0 * 7) }.joined(separator: ", ") + ")"
    let small = try! SyntheticLineitem.sortedSource(rows: 1 << 10, batchRows: 1 << 10)
    Benchmark(
        "sql/plan x IN (100,000 values)",
        configuration: .init(metrics: metrics, maxDuration: .seconds(3),
            thresholds: [.mallocCountTotal: .init(absolute: [.p90: 2_000_000])])
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try Query(sql: inList, tables: ["t": small]).outputSchema())
        }
    }

    // Statistics skipping: a sorted key in 160 batches; a 1% range touches 2 of them.
    let sorted = try! SyntheticLineitem.sortedSource(rows: 160 << 16, batchRows: 1 << 16)
    Benchmark(
        "statistics/1% range on a sorted key (skips 99% of batches)",
        configuration: .init(metrics: metrics, maxDuration: .seconds(2),
            thresholds: [.mallocCountTotal: .init(absolute: [.p90: 2_000])])
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try Query(sql: "SELECT count(*), sum(v) FROM t WHERE k BETWEEN 5000000 AND 5104856",
                                tables: ["t": sorted]).execute())
        }
    }
}

/// TPC-H queries from datasets/queries/ (shared with the peer comparison and the tests).
func sharedQuery(_ name: String) -> String {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("datasets/queries/\(name).sql")
    return (try? String(contentsOf: path, encoding: .utf8)) ?? "missing \(path.path)"
}

/// Deterministic synthetic data with TPC-H lineitem's column types.
enum SyntheticLineitem {
    static func source(rows: Int, batchRows: Int) throws -> InMemorySource {
        let schema = Schema([
            Field("l_quantity", .float64, nullable: false), Field("l_extendedprice", .float64, nullable: false),
            Field("l_discount", .float64, nullable: false), Field("l_tax", .float64, nullable: false),
            Field("l_returnflag", .utf8, nullable: false), Field("l_linestatus", .utf8, nullable: false),
            Field("l_shipdate", .date32, nullable: false),
        ])
        var generator = SplitMix(state: 42)
        var batches: [RecordBatch] = []
        for start in stride(from: 0, to: rows, by: batchRows) {
            let n = min(batchRows, rows - start)
            var quantity: [Double] = [], price: [Double] = [], discount: [Double] = [], tax: [Double] = []
            var flag: [String] = [], status: [String] = [], ship: [Int32] = []
            for _ in 0..<n {
                let q = Double(generator.next() % 50 + 1)
                quantity.append(q)
                price.append(q * Double(generator.next() % 100_000) / 100)
                discount.append(Double(generator.next() % 11) / 100)
                tax.append(Double(generator.next() % 9) / 100)
                flag.append(["A", "N", "R"][Int(generator.next() % 3)])
                status.append(["F", "O"][Int(generator.next() % 2)])
                ship.append(Int32(8036 + generator.next() % 2526))  // 1992-01-02 … 1998-12-01
            }
            var shipdate = ArrayData.build(from: ship.map { Optional($0) })
            shipdate.type = .date32
            batches.append(try RecordBatch(schema: schema, columns: [
                ArrayData.build(from: quantity.map { Optional($0) }), ArrayData.build(from: price.map { Optional($0) }),
                ArrayData.build(from: discount.map { Optional($0) }), ArrayData.build(from: tax.map { Optional($0) }),
                ArrayData.build(from: flag.map { Optional($0) }), ArrayData.build(from: status.map { Optional($0) }),
                shipdate,
            ]))
        }
        return try InMemorySource(batches: batches, schema: schema, computeStatistics: true)
    }

    static func sortedSource(rows: Int, batchRows: Int) throws -> InMemorySource {
        let schema = Schema([Field("k", .int64, nullable: false), Field("v", .float64)])
        let batches = try stride(from: 0, to: rows, by: batchRows).map { start in
            let keys = (start..<min(rows, start + batchRows)).map { Optional(Int64($0)) }
            return try RecordBatch(schema: schema, columns: [
                ArrayData.build(from: keys), ArrayData.build(from: keys.map { $0.map { Double($0) / 2 } }),
            ])
        }
        return try InMemorySource(batches: batches, schema: schema, computeStatistics: true)
    }
}

struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
