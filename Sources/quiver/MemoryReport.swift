import Foundation
import QuiverArrow
import QuiverBytes
import QuiverIPC

/// The CLI's rendering of `ReadMeasurement`s (measured by QuiverIPC), shared by `quiver demo`
/// and `quiver info --memory`.
enum MemoryReport {
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
