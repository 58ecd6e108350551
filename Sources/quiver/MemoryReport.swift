import Foundation
import QuiverArrow
import QuiverBytes
import QuiverIPC

/// What reading an Arrow file or stream one way costs: time, bytes the library allocated,
/// resident memory. Shared by `quiver demo` and `quiver info --memory`.
///
/// Three different questions, never mixed up:
/// - **allocated**: `MemoryPool.default.totalAllocatedBytes` grown while the batches are held
///   (pyarrow's `total_allocated_bytes`): heap buffers Quiver made. A memory map makes none.
/// - **RSS Δ**: the process's resident set grown over the read (`/proc/self/statm`): heap
///   pages written plus file pages mapped in.
/// - **mapped pages**: the pages of the file's mapping that are in this process's resident set
///   (`Rss` of the mapping in `/proc/self/smaps`) — file-backed pages shared with the page
///   cache, which the kernel can drop and read again; not allocations.
struct ReadMeasurement {
    var format: ArrowFormat
    var source: FileSource
    var bytesOnDisk: Int
    var batches = 0
    var rows = 0
    var seconds = 0.0
    var allocatedBytes = 0
    var rssDelta: Int?
    /// Bytes of the mapping in this process's resident set after the read (nil: not mapped).
    var mappedResidentBytes: Int?
    var mappingBytes: Int?
}

enum MemoryReport {
    /// Reads every batch of `path` with `source` and measures it. The batches are returned
    /// so the caller can hold (and compute over) them; the figures are taken while held.
    static func measure(
        _ path: String, format: ArrowFormat, source: FileSource
    ) throws -> (ReadMeasurement, [RecordBatch]) {
        let pool = MemoryPool.default
        var row = ReadMeasurement(format: format, source: source, bytesOnDisk: try ReadFileInput(path: path).size)
        let rssBefore = try? MemoryUsage.residentSetBytes()
        let allocatedBefore = pool.totalAllocatedBytes
        let start = ContinuousClock.now
        let batches =
            switch format {
            case .file: try FileReader(path: path, source: source).readBatches()
            case .stream: try StreamReader(path: path, source: source).readBatches()
            }
        row.seconds = seconds(ContinuousClock.now - start)
        row.allocatedBytes = pool.totalAllocatedBytes - allocatedBefore
        if let before = rssBefore, let after = try? MemoryUsage.residentSetBytes() { row.rssDelta = after - before }
        row.batches = batches.count
        row.rows = batches.reduce(0) { $0 + $1.length }
        if let mapping = mapping(of: batches) {
            row.mappingBytes = mapping.length
            row.mappedResidentBytes = try? MemoryUsage.mappedResidentBytes(of: mapping)
        }
        return (row, batches)
    }

    /// The memory mapping the batches' buffers view, if any.
    static func mapping(of batches: [RecordBatch]) -> MemoryMapping? {
        func find(_ data: ArrayData) -> MemoryMapping? {
            for buffer in data.buffers { if let mapping = buffer.owner as? MemoryMapping { return mapping } }
            for child in data.children { if let mapping = find(child) { return mapping } }
            return data.dictionary.flatMap(find)
        }
        for batch in batches { for column in batch.columns { if let mapping = find(column) { return mapping } } }
        return nil
    }

    /// The rows as an aligned table.
    static func table(_ rows: [ReadMeasurement]) -> String {
        let header = ["format", "read via", "on disk", "batches", "rows", "time", "allocated", "RSS Δ", "mapped in RSS"]
        let cells = rows.map { row -> [String] in
            [
                row.format.rawValue, row.source == .memoryMap ? "memory map" : "plain read", bytes(row.bytesOnDisk),
                count(row.batches), count(row.rows), milliseconds(row.seconds), bytes(row.allocatedBytes),
                row.rssDelta.map { ($0 >= 0 ? "+" : "−") + bytes(abs($0)) } ?? "n/a",
                row.mappedResidentBytes.map(bytes) ?? (row.source == .memoryMap ? "n/a" : "—"),
            ]
        }
        return render([header] + cells, leftAligned: 2)
    }

    /// Left-aligns the first `leftAligned` columns, right-aligns the rest.
    static func render(_ rows: [[String]], leftAligned: Int) -> String {
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return column < leftAligned ? cell + padding : padding + cell
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func milliseconds(_ seconds: Double) -> String { String(format: "%.1f ms", seconds * 1e3) }

    /// Bytes in binary units: "0 B", "512 B", "38.1 MiB".
    static func bytes(_ value: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var scaled = Double(value)
        var unit = 0
        while scaled >= 1024, unit < units.count - 1 {
            scaled /= 1024
            unit += 1
        }
        return unit == 0 ? "\(value) B" : String(format: "%.1f", scaled) + " " + units[unit]
    }

    /// A count with thousands separators: "10,000,000".
    static func count(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var grouped = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { grouped += "," }
            grouped.append(digit)
        }
        return (value < 0 ? "-" : "") + grouped
    }
}
