import ArgumentParser
import Foundation
import QuiverArrow
import QuiverBytes
import QuiverIPC

/// `quiver demo`: the seed demonstration. Writes the seed data (pyarrow's IPC example: 10M
/// int32 in 1000 batches of `range(10000)`) as an Arrow file and stream, reads each back by
/// plain reads and by memory map, and prints what each way cost — so the difference between
/// allocating ~38 MiB and allocating nothing shows at a glance.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Write the seed data as an Arrow file and stream, read them back by plain reads and by memory map, "
            + "and compare time, allocation and resident memory.")

    @Option(help: "Directory for the files (default: a new temporary directory, deleted afterwards).")
    var dir: String?
    @Option(help: "Record batches to write.") var batches = 1000
    @Option(help: "Rows per batch (each batch holds range(rows)).") var rows = 10_000

    func validate() throws {
        guard batches > 0, rows > 0, rows <= Int(Int32.max) else {
            throw ValidationError("--batches and --rows must be positive (rows at most \(Int32.max))")
        }
    }

    func run() throws {
        let directory = dir ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("quiver-demo-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { if dir == nil { try? FileManager.default.removeItem(atPath: directory) } }
        let filePath = (directory as NSString).appendingPathComponent("seed.arrow")
        let streamPath = (directory as NSString).appendingPathComponent("seed.stream")

        print("The seed data: \(MemoryReport.count(batches * rows)) int32 in \(MemoryReport.count(batches)) batches "
            + "of range(\(MemoryReport.count(rows))), in \(directory)")
        for (path, format) in [(filePath, ArrowFormat.file), (streamPath, .stream)] {
            let (bytes, seconds) = try write(path, format: format)
            print("  wrote \((path as NSString).lastPathComponent) (IPC \(format.rawValue)): "
                + "\(MemoryReport.count(bytes)) bytes in \(MemoryReport.milliseconds(seconds)) "
                + String(format: "(%.2f GB/s)", Double(bytes) / seconds / 1e9))
        }
        print()

        // Every read's batches are held to the end, so each row's allocation and RSS growth
        // are its own (freed heap pages would otherwise be reused by the next read).
        var measurements: [ReadMeasurement] = []
        var held: [[RecordBatch]] = []
        for (path, format) in [(filePath, ArrowFormat.file), (streamPath, .stream)] {
            for source in [FileSource.read, .memoryMap] {
                let (row, batches) = try ReadMeasurement.measure(path: path, format: format, source: source)
                measurements.append(row)
                held.append(batches)
            }
        }
        print(MemoryReport.table(measurements))
        print()

        // The computation, over the memory-mapped file's batches: its pages are read now.
        let mapped = held[1]
        let start = ContinuousClock.now
        let sum = try Self.sum(of: mapped, above: 5000)
        let seconds = MemoryReport.seconds(ContinuousClock.now - start)
        let sums = try held.map { try Self.sum(of: $0, above: 5000) }
        print("sum of values > 5000 over the memory-mapped file: \(MemoryReport.count(Int(sum))) "
            + "in \(MemoryReport.milliseconds(seconds)) (the same from all four reads: \(Set(sums).count == 1 ? "yes" : "NO"))")
        if let residency = ReadMeasurement.mappingResidency(of: mapped) {
            let inRSS = residency.inProcess.map(MemoryReport.bytes) ?? "n/a"
            let cached = residency.inPageCache.map(MemoryReport.bytes) ?? "n/a"
            print("  afterwards the mapping has \(inRSS) in this process's RSS and \(cached) in RAM (mincore);")
            print("  those are file pages shared with the page cache, which the kernel may drop and read again — still 0 B allocated")
        }
        print()
        print("""
            allocated      MemoryPool.default.totalAllocatedBytes grown while the batches are held (pyarrow's total_allocated_bytes)
            RSS Δ          growth of the process's resident set over the read (/proc/self/statm)
            mapped in RSS  pages of the file's mapping in this process's resident set (/proc/self/smaps)
            """)
    }

    /// Writes the seed data at `path`; returns its size and the time taken.
    func write(_ path: String, format: ArrowFormat) throws -> (bytes: Int, seconds: Double) {
        let values = Int32Array(values: (0..<Int32(rows)).map { $0 })
        let schema = Schema([Field("nums", .int32)])
        let batch = RecordBatch(uncheckedSchema: schema, columns: [values.data], length: rows)
        let start = ContinuousClock.now
        let output = try FileOutput(path: path)
        switch format {
        case .file:
            let writer = try FileWriter(output: output, schema: schema)
            for _ in 0..<batches { try writer.write(batch) }
            try writer.finish()
        case .stream:
            let writer = try StreamWriter(output: output, schema: schema)
            for _ in 0..<batches { try writer.write(batch) }
            try writer.finish()
        }
        try output.close()
        return (output.position, MemoryReport.seconds(ContinuousClock.now - start))
    }

    /// The sum of the first column's values greater than `threshold`, read in place.
    static func sum(of batches: [RecordBatch], above threshold: Int32) throws -> Int64 {
        var total: Int64 = 0
        for batch in batches {
            for value in try Int32Array(batch.columns[0]).values where value > threshold { total &+= Int64(value) }
        }
        return total
    }
}
