import Benchmark
import Quiver

/// Result writing: 1M rows (int64, float64, a short string, a boolean) in 16 batches of
/// 65,536, written as an Arrow stream, JSON rows, NDJSON and CSV into memory. The name
/// carries the output's size, so throughput × size is the rate in bytes per second.
let benchmarks: @Sendable () -> Void = {
    let metrics: [BenchmarkMetric] = [.wallClock, .cpuUser, .throughput, .mallocCountTotal, .peakMemoryResident]
    let schema = Schema([Field("id", .int64), Field("price", .float64), Field("name", .utf8), Field("flag", .boolean)])
    let batches = (0..<16).map { b in
        let ids = (0..<65_536).map { Int64(b * 65_536 + $0) }
        return try! RecordBatch(schema: schema, columns: [
            ArrayData.build(from: ids),
            ArrayData.build(from: ids.map { $0 % 11 == 0 ? nil : Double($0 % 100_000) / 8 }),
            ArrayData.build(from: ids.map { "customer#\($0 % 50_000)" }),
            ArrayData.build(from: ids.map { $0 % 3 == 0 }),
        ])
    }
    for format in OutputFormat.allCases {
        let sizing = BufferOutputStream(capacity: 1 << 20)
        try! format.write(batches, schema: schema, to: sizing)
        let megabytes = Double(sizing.getvalue().count) / 1_000_000
        Benchmark(
            "output/\(format.rawValue) 1M rows (\(Int(megabytes.rounded())) MB)",
            configuration: .init(metrics: metrics, maxDuration: .seconds(3),
                thresholds: [.mallocCountTotal: .init(absolute: [.p90: 4_000])])
        ) { benchmark in
            for _ in benchmark.scaledIterations {
                let output = BufferOutputStream(capacity: 1 << 20)
                try format.write(batches, schema: schema, to: output)
                blackHole(output.getvalue())
            }
        }
    }
}
