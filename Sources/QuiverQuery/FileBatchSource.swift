import QuiverArrow
import QuiverBytes
import QuiverIPC

/// An Arrow file scanned by the query engine, usually through a memory map: each batch is
/// decoded on demand with only the columns a query needs (`recordBatch(at:columns:)`), so
/// the other columns are never decompressed, validated or paged in. A query's scan plans its
/// I/O (`scan(batches:columns:)`, a `PlannedScan` under `ioPolicy`): only the byte ranges of
/// those columns are read from disk, a window ahead of the scan.
public struct FileBatchSource: BatchSource {
    /// The file.
    public let reader: FileReader
    private let columnStatistics: [[ColumnStatistics?]]?
    /// How a query's scan of a mapped file reads it (see `PlannedScan`).
    public var ioPolicy: ScanIOPolicy

    /// Scans `reader`'s batches; `statistics[batch][column]`, when given, enables zone maps.
    public init(_ reader: FileReader, statistics: [[ColumnStatistics?]]? = nil, ioPolicy: ScanIOPolicy = .default) {
        self.reader = reader
        self.columnStatistics = statistics
        self.ioPolicy = ioPolicy
    }

    public var schema: Schema { reader.schema }
    public var batchCount: Int { reader.numRecordBatches }

    public func batch(at index: Int, columns: [Int]) throws -> RecordBatch {
        try reader.recordBatch(at: index, columns: columns)
    }

    public func statistics(batch: Int, column: Int) -> ColumnStatistics? {
        columnStatistics?[batch][column]
    }

    /// A `PlannedScan` of `batches`: only the projected columns' byte ranges are read, a
    /// window ahead of the scan.
    public func scan(batches: [Int], columns: [Int]) -> any BatchScan {
        FilePlannedScan(
            batches.map { PlannedScan.Step(reader: reader, batch: $0) }, batches: batches, batchCount: batchCount,
            columns: columns, policy: ioPolicy, fallback: { [self] in try batch(at: $0, columns: columns) })
    }
}
