import QuiverArrow
import QuiverBytes
import QuiverIPC

/// A consistent read view of a table: its files as of one moment, each at a committed
/// footer. Appends, rolls and compactions after it was taken do not change it.
/// `Sendable`; batches are zero-copy views of the memory-mapped files.
public struct TableSnapshot: Sendable {
    /// The table's name.
    public let name: String
    /// The table's schema.
    public let schema: Schema
    /// The data files, oldest first.
    public let files: [FileSnapshot]
    /// Where each file's batches start in the table's batch numbering, plus the total.
    private let batchStarts: [Int]

    init(name: String, schema: Schema, files: [FileSnapshot]) {
        self.name = name
        self.schema = schema
        self.files = files
        var starts = [0]
        for file in files { starts.append(starts[starts.count - 1] + file.numRecordBatches) }
        batchStarts = starts
    }

    /// Record batches in the table.
    public var numRecordBatches: Int { batchStarts[batchStarts.count - 1] }
    /// Rows in the table (from the footers: no data read).
    public var numRows: Int { files.reduce(0) { $0 + $1.numRows } }
    /// Statistics of every batch, in table order (from the footers: no data read). Batches
    /// of files written before a column was added show it as all null.
    /// O(batches × columns).
    public var batchStatistics: [BatchStatistics] {
        files.flatMap(\.statistics).map { TableSnapshot.pad($0, columns: schema.fields.count) }
    }
    /// Statistics of the whole table.
    /// O(batches × columns).
    public var statistics: BatchStatistics {
        BatchStatistics.merging(batchStatistics, columnCount: schema.fields.count)
    }

    /// Batch `index` in table order. Throws `invalidArgument` outside `0..<numRecordBatches`.
    /// O(log files) to find the file, plus that file's `recordBatch(at:)`; a column added since
    /// the file was written is allocated as nulls (O(rows)).
    public func recordBatch(at index: Int) throws -> RecordBatch {
        guard index >= 0, index < numRecordBatches else {
            throw QuiverError(.invalidArgument, "record batch \(index) of a table with \(numRecordBatches)")
        }
        var low = 0, high = files.count - 1  // the last file whose start is ≤ index
        while low < high {
            let middle = (low + high + 1) / 2
            if batchStarts[middle] <= index { low = middle } else { high = middle - 1 }
        }
        return try TableSnapshot.pad(try files[low].recordBatch(at: index - batchStarts[low]), to: schema)
    }

    /// Calls `body` with each batch in order (with the table's schema: columns added after
    /// a file was written read as null); stops when it returns false.
    /// O(batches) plus each batch's `recordBatch(at:)` cost.
    public func forEachBatch(_ body: (RecordBatch) throws -> Bool) throws {
        for file in files {
            for index in 0..<file.numRecordBatches
            where try !body(try TableSnapshot.pad(try file.recordBatch(at: index), to: schema)) { return }
        }
    }

    /// Every batch, in order.
    /// O(batches) plus each batch's `recordBatch(at:)` cost; memory for all of them.
    public func readBatches() throws -> [RecordBatch] {
        var batches: [RecordBatch] = []
        try forEachBatch { batches.append($0); return true }
        return batches
    }
}
