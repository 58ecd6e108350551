import Foundation
import QuiverArrow
import QuiverBenchmarkSupport
import QuiverBytes
import QuiverIPC

// The Quiver side of peers/compare.py: runs one named workload on files the script wrote,
// `iterations` times, and prints one JSON object: the median and best wall time, the bytes
// Quiver allocated for the result (MemoryPool) and a checksum the script compares with the
// peers' answer.
//
//   quiver-peer-workloads WORKLOAD PATH [ITERATIONS]
//   workloads: seed-read-memory  seed-read-mmap  seed-read-file  seed-read-stream  seed-write

func measure(_ iterations: Int, _ body: () throws -> (allocated: Int, checksum: Int64)) rethrows -> [String: Any] {
    var times: [Double] = []
    var last = (allocated: 0, checksum: Int64(0))
    for _ in 0..<iterations {
        let start = ContinuousClock.now
        last = try body()
        let elapsed = ContinuousClock.now - start
        times.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }
    times.sort()
    return ["median_s": times[times.count / 2], "best_s": times[0], "allocated_bytes": last.allocated,
            "checksum": last.checksum]
}

/// Reads every batch of `input`, returning bytes allocated while the batches were alive.
func readAll(_ input: any RandomAccessInput) throws -> (allocated: Int, checksum: Int64) {
    let before = MemoryPool.default.totalAllocatedBytes
    let batches = try FileReader(input: input).readBatches()
    let allocated = MemoryPool.default.totalAllocatedBytes - before
    return (allocated, SeedWorkload.sum(of: batches))
}

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write("usage: quiver-peer-workloads WORKLOAD PATH [ITERATIONS]\n".data(using: .utf8)!)
    exit(2)
}
let workload = arguments[1], path = arguments[2]
let iterations = arguments.count > 3 ? Int(arguments[3]) ?? 10 : 10
do {
    let result: [String: Any]
    switch workload {
    case "seed-read-memory":
        let bytes = try ReadFileInput(path: path)
        let buffer = try bytes.read(at: 0, count: bytes.size)
        result = try measure(iterations) { try readAll(BufferInput(buffer)) }
    case "seed-read-mmap":
        result = try measure(iterations) { try readAll(MappedFile(path: path)) }
    case "seed-read-file":
        result = try measure(iterations) { try readAll(ReadFileInput(path: path)) }
    case "seed-read-stream":
        let bytes = try ReadFileInput(path: path)
        let buffer = try bytes.read(at: 0, count: bytes.size)
        result = try measure(iterations) {
            let batches = try StreamReader(buffer: buffer).readBatches()
            return (0, SeedWorkload.sum(of: batches))
        }
    case "seed-write":
        let batch = SeedWorkload.batch()
        result = try measure(iterations) {
            let output = BufferOutputStream(capacity: 41 << 20)
            let writer = try FileWriter(output: output, schema: SeedWorkload.schema)
            for _ in 0..<SeedWorkload.batchCount { try writer.write(batch) }
            try writer.finish()
            return (output.getvalue().count, 0)
        }
    default:
        FileHandle.standardError.write("unknown workload \(workload)\n".data(using: .utf8)!)
        exit(2)
    }
    let json = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
    print(String(decoding: json, as: UTF8.self))
} catch {
    FileHandle.standardError.write("\(error)\n".data(using: .utf8)!)
    exit(1)
}
