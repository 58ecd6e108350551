import Benchmark
import Foundation
import QuiverArrow
import QuiverBenchmarkSupport
import QuiverBytes
import QuiverIPC

/// Directories the file benchmarks created; each benchmark runs in its own process and
/// deletes them in its teardown.
nonisolated(unsafe) var temporaryDirectories: [URL] = []

/// Writes `buffer` to a file in a fresh temporary directory and returns its path.
func temporaryFile(_ buffer: Buffer, name: String) throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-bench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    temporaryDirectories.append(directory)
    let path = directory.appendingPathComponent(name).path
    let output = try FileOutput(path: path)
    try output.write(buffer)
    try output.close()
    return path
}

/// The seed file on disk (global, so written only by the benchmarks that use it).
nonisolated(unsafe) let seedPath = try! temporaryFile(try! SeedWorkload.fileBytes(), name: "seed.arrow")

/// 16,000 batches of 1,024 int32 on disk: the footer is what opening costs, not the data.
nonisolated(unsafe) let manyPath: String = {
    let output = BufferOutputStream(capacity: 70 << 20)
    let writer = try! FileWriter(output: output, schema: SeedWorkload.schema)
    let batch = SeedWorkload.batch(rows: 1024)
    for _ in 0..<16_000 { try! writer.write(batch) }
    try! writer.finish()
    return try! temporaryFile(output.getvalue(), name: "many.arrow")
}()

/// IPC read/write on the seed workload (10M int32, 1000 batches), memory-mapped reads, the
/// open of a 16,000-batch file and a resident scan. Thresholds guard allocations, never
/// time: machines here are noisy.
let benchmarks: @Sendable () -> Void = {
    let metrics: [BenchmarkMetric] = [.wallClock, .throughput, .mallocCountTotal, .memoryLeaked]
    let fileBytes = try! SeedWorkload.fileBytes()
    let streamBytes = try! SeedWorkload.streamBytes()
    Benchmark.teardown = {
        for directory in temporaryDirectories { try? FileManager.default.removeItem(at: directory) }
    }

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
        "seed/read file via memory map (open + readAll)",
        configuration: .init(metrics: metrics, maxDuration: .seconds(3),
            thresholds: [.mallocCountTotal: .init(absolute: [.p90: 25_000])])
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try FileReader(path: seedPath, source: .memoryMap).readBatches())
        }
    }

    Benchmark(
        "seed/read file via plain reads (open + readAll)",
        configuration: .init(metrics: metrics, maxDuration: .seconds(3))
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try FileReader(path: seedPath, source: .read).readBatches())
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

    Benchmark(
        "many/open a 16,000-batch file (memory map)",
        configuration: .init(metrics: metrics, maxDuration: .seconds(2))
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try FileReader(path: manyPath).numRecordBatches)
        }
    }

    Benchmark(
        "scan/sum a resident mapped int32 column (10M values)",
        configuration: .init(metrics: metrics, maxDuration: .seconds(2))
    ) { benchmark in
        let batches = try FileReader(path: seedPath).readBatches()
        blackHole(SeedWorkload.total(of: batches))  // resident from here on
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(SeedWorkload.total(of: batches))
        }
    }
}
