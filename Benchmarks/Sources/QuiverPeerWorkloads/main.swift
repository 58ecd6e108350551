import Foundation
import QuiverArrow
import QuiverBenchmarkSupport
import QuiverBytes
import QuiverIPC

// The Quiver side of peers/compare.py: runs one named workload on a file the script wrote,
// `iterations` times, and prints one JSON object: the median and best wall time of the timed
// part, the bytes Quiver's pool held for the result, a checksum the script compares with
// pyarrow's answer, and workload-specific figures. Checksums are computed outside the timed
// part, as on the pyarrow side.
//
//   quiver-peer-workloads WORKLOAD PATH [ITERATIONS]
//
//   seed-read-memory   open + readAll of a file already in memory
//   seed-read-mmap     open + readAll, memory-mapped
//   seed-read-file     open + readAll, read with pread into pool buffers
//   seed-read-stream   open + readAll of a stream already in memory
//   seed-read-stream-mmap  open + readAll of a memory-mapped stream
//   seed-batch         recordBatch(at:) of every batch of an open mapped file (per-batch cost)
//   seed-write         write the seed file into memory
//   seed-write-file    write the seed file to disk (PATH.quiver-out, deleted afterwards)
//   open-footer        open a mapped file (O(footer)); pages touched when cold
//   scan-sum           sum of a mapped int32 column once resident (GB/s)
//   scan-bounded       FileReader.scan over a mapped file: peak RSS (one run; ITERATIONS is
//                      the read-ahead in MiB)
//   scan-unbounded     the same loop without scan's advice, for contrast

typealias Figures = [String: Any]

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// Times `body` `iterations` times. Reads return their batches: the pool's growth while they
/// are held is the allocation figure, and the checksum is taken after the clock stops.
func measureRead(_ iterations: Int, _ body: () throws -> [RecordBatch]) rethrows -> Figures {
    var times: [Double] = []
    var allocated = 0
    var checksum: Int64 = 0
    for iteration in 0..<iterations {
        let before = MemoryPool.default.totalAllocatedBytes
        let start = ContinuousClock.now
        let batches = try body()
        times.append(seconds(ContinuousClock.now - start))
        allocated = MemoryPool.default.totalAllocatedBytes - before
        if iteration == iterations - 1 { checksum = SeedWorkload.sum(of: batches) }
    }
    return summary(times).merging(["allocated_bytes": allocated, "checksum": checksum]) { $1 }
}

/// Median and best of the times, in seconds.
func summary(_ times: [Double]) -> Figures {
    let sorted = times.sorted()
    return ["median_s": sorted[sorted.count / 2], "best_s": sorted[0]]
}

func timed(_ iterations: Int, _ body: () throws -> Void) rethrows -> Figures {
    var times: [Double] = []
    for _ in 0..<iterations {
        let start = ContinuousClock.now
        try body()
        times.append(seconds(ContinuousClock.now - start))
    }
    return summary(times)
}

/// Writes the file's dirty pages and drops it from the page cache, so the next reads are cold.
func evictPageCache(_ path: String) throws {
    let descriptor = try FileDescriptor.open(path, .readOnly)
    defer { try? descriptor.close() }
    try descriptor.sync()
    try descriptor.advise(.dontNeed)
}

/// Reads a whole file into one pool buffer (the "already in memory" inputs).
func loadWhole(_ path: String) throws -> Buffer {
    let input = try ReadFileInput(path: path)
    return try input.read(at: 0, count: input.size)
}

/// Scans `path` summing its first column; with `advising`, through `FileReader.scan`.
func scanBounded(_ path: String, advising: Bool, readAheadMiB: Int) throws -> Figures {
    let rssBefore = try MemoryUsage.residentSetBytes()
    let peakBefore = try MemoryUsage.peakResidentSetBytes()
    let reader = try FileReader(path: path)
    var total: Int64 = 0
    let start = ContinuousClock.now
    if advising {
        try reader.scan(readAhead: readAheadMiB << 20) { _, batch in total &+= Int32Kernels.sum(SeedWorkload.values(of: batch)) }
    } else {
        for index in 0..<reader.numRecordBatches {
            total &+= Int32Kernels.sum(SeedWorkload.values(of: try reader.recordBatch(at: index)))
        }
    }
    let elapsed = seconds(ContinuousClock.now - start)
    let size = try FileDescriptor.open(path, .readOnly).status().size
    return [
        "median_s": elapsed, "best_s": elapsed, "checksum": total, "allocated_bytes": 0, "file_bytes": size,
        "rss_before_bytes": rssBefore, "peak_rss_before_bytes": peakBefore,
        "peak_rss_bytes": try MemoryUsage.peakResidentSetBytes(), "gb_per_s": Double(size) / elapsed / 1e9,
    ]
}

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: quiver-peer-workloads WORKLOAD PATH [ITERATIONS]\n".utf8))
    exit(2)
}
let workload = arguments[1], path = arguments[2]
let iterations = arguments.count > 3 ? Int(arguments[3]) ?? 10 : 10
do {
    let result: Figures
    switch workload {
    case "seed-read-memory":
        let buffer = try loadWhole(path)
        result = try measureRead(iterations) { try FileReader(buffer: buffer).readBatches() }
    case "seed-read-mmap":
        result = try measureRead(iterations) { try FileReader(path: path, source: .memoryMap).readBatches() }
    case "seed-read-file":
        result = try measureRead(iterations) { try FileReader(path: path, source: .read).readBatches() }
    case "seed-read-stream":
        let buffer = try loadWhole(path)
        result = try measureRead(iterations) { try StreamReader(buffer: buffer).readBatches() }
    case "seed-read-stream-mmap":
        result = try measureRead(iterations) { try StreamReader(path: path, source: .memoryMap).readBatches() }
    case "seed-batch":
        let reader = try FileReader(path: path)
        var batches: [RecordBatch] = []
        let times = try timed(iterations) { batches = try (0..<reader.numRecordBatches).map(reader.recordBatch(at:)) }
        result = times.merging([
            "per_batch_us": (times["median_s"] as? Double ?? 0) / Double(reader.numRecordBatches) * 1e6,
            "allocated_bytes": 0, "checksum": SeedWorkload.sum(of: batches),
        ]) { $1 }
    case "seed-write", "seed-write-file":
        let batches = try FileReader(path: path).readBatches()
        let target = path + ".quiver-out"
        var written = 0
        let times = try timed(iterations) {
            let output: any ByteOutput = workload == "seed-write" ? BufferOutputStream() : try FileOutput(path: target)
            let writer = try FileWriter(output: output, schema: batches[0].schema)
            for batch in batches { try writer.write(batch) }
            try writer.finish()
            if let memory = output as? BufferOutputStream { written = memory.getvalue().count }
            if let file = output as? FileOutput { written = file.position; try file.close() }
        }
        try? FileManager.default.removeItem(atPath: target)
        result = times.merging([
            "allocated_bytes": workload == "seed-write" ? written : 0, "checksum": Int64(written),
            "gb_per_s": Double(written) / (times["median_s"] as? Double ?? 1) / 1e9,
        ]) { $1 }
    case "open-footer":
        let times = try timed(iterations) { _ = try FileReader(path: path) }
        // Pages touched: drop the file from the page cache, turn the kernel's read-around off
        // for a mapping, open a reader on it, and count the file's pages now in the cache.
        let file = try MappedFile(path: path)
        try file.advise(.random)
        try evictPageCache(path)
        let residentBefore = try file.residentBytes()
        let reader = try FileReader(input: file)
        let pages = (try file.residentBytes() - residentBefore) / MemoryUsage.pageSize
        result = times.merging([
            "allocated_bytes": 0, "checksum": Int64(reader.numRecordBatches), "pages_touched": pages,
            "file_bytes": file.size,
        ]) { $1 }
    case "scan-sum":
        let batches = try FileReader(path: path).readBatches()
        var total = SeedWorkload.total(of: batches)  // makes the column resident first
        let bytes = batches.reduce(0) { $0 + $1.length * 4 }
        let times = timed(iterations) { total = SeedWorkload.total(of: batches) }
        result = times.merging([
            "allocated_bytes": 0, "checksum": total,
            "gb_per_s": Double(bytes) / (times["median_s"] as? Double ?? 1) / 1e9,
        ]) { $1 }
    case "scan-bounded", "scan-unbounded":
        result = try scanBounded(path, advising: workload == "scan-bounded", readAheadMiB: arguments.count > 3 ? iterations : 8)
    default:
        FileHandle.standardError.write(Data("unknown workload \(workload)\n".utf8))
        exit(2)
    }
    let json = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
    print(String(decoding: json, as: UTF8.self))
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(1)
}
