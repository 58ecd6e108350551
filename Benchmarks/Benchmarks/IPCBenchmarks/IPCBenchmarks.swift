import Benchmark
import QuiverArrow
import QuiverBenchmarkSupport
import QuiverBytes
import QuiverIPC

/// IPC read/write on the seed workload (10M int32, 1000 batches). Thresholds guard
/// allocations, never time: machines here are noisy.
let benchmarks: @Sendable () -> Void = {
    let metrics: [BenchmarkMetric] = [.wallClock, .throughput, .mallocCountTotal, .memoryLeaked]
    let fileBytes = try! SeedWorkload.fileBytes()
    let streamBytes = try! SeedWorkload.streamBytes()

    Benchmark(
        "seed/read file from memory (open + readAll)",
        configuration: .init(metrics: metrics, maxDuration: .seconds(3),
            thresholds: [.mallocCountTotal: .init(absolute: [.p90: 20_000])])
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            let reader = try FileReader(buffer: fileBytes)
            blackHole(try reader.readBatches())
        }
    }

    Benchmark(
        "seed/read stream from memory",
        configuration: .init(metrics: metrics, maxDuration: .seconds(3))
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try StreamReader(buffer: streamBytes).readBatches())
        }
    }

    Benchmark(
        "seed/read one batch (recordBatch(at:))",
        configuration: .init(metrics: metrics, maxDuration: .seconds(2))
    ) { benchmark in
        let reader = try FileReader(buffer: fileBytes)
        for i in benchmark.scaledIterations {
            blackHole(try reader.recordBatch(at: i % reader.numRecordBatches))
        }
    }

    Benchmark(
        "seed/write file to memory (40 MB)",
        configuration: .init(metrics: metrics, maxDuration: .seconds(3))
    ) { benchmark in
        let batch = SeedWorkload.batch()
        for _ in benchmark.scaledIterations {
            let output = BufferOutputStream(capacity: 41 << 20)
            let writer = try FileWriter(output: output, schema: SeedWorkload.schema)
            for _ in 0..<SeedWorkload.batchCount { try writer.write(batch) }
            try writer.finish()
            blackHole(output.getvalue())
        }
    }
}
