import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverStore

/// An Arrow file scanned by the query engine, usually through a memory map: each batch is
/// decoded on demand with only the columns a query needs (`recordBatch(at:columns:)`), so
/// the other columns are never decompressed, validated or paged in. A query's scan plans its
/// I/O (`scan(batches:columns:)`, a `PlannedScan` under `ioPolicy`): only the byte ranges of
/// those columns are read from disk, a window ahead of the scan.
public struct FileBatchSource: BatchSource {
    /// The file.
    public let reader: FileReader
    private let batchStatistics: [BatchStatistics]?
    /// How a query's scan of a mapped file reads it (see `PlannedScan`).
    public var ioPolicy: ScanIOPolicy

    /// Scans `reader`'s batches; `statistics[batch]`, when given, enables zone maps.
    public init(_ reader: FileReader, statistics: [BatchStatistics]? = nil, ioPolicy: ScanIOPolicy = .default) {
        self.reader = reader
        self.batchStatistics = statistics
        self.ioPolicy = ioPolicy
    }

    /// The file's schema.
    public var schema: Schema { reader.schema }
    /// The file's record batches.
    public var batchCount: Int { reader.numRecordBatches }

    /// Decodes batch `index` with only `columns` (O(their bytes); a mapped file is not copied).
    public func batch(at index: Int, columns: [Int]) throws -> RecordBatch {
        try reader.recordBatch(at: index, columns: columns)
    }

    /// The statistics given at `init` for batch `batch`, if any.
    public func statistics(batch: Int) -> BatchStatistics? {
        guard let batchStatistics, batchStatistics.indices.contains(batch) else { return nil }
        return batchStatistics[batch]
    }

    /// A `PlannedScan` of `batches`: only the projected columns' byte ranges are read, a
    /// window ahead of the scan.
    /// O(batches) to build the steps, plus a `madvise` per mapped file; nothing is read yet.
    public func scan(batches: [Int], columns: [Int]) -> any BatchScan {
        FilePlannedScan(
            batches.map { PlannedScan.Step(reader: reader, batch: $0) }, batches: batches, batchCount: batchCount,
            columns: columns, policy: ioPolicy, fallback: { [self] in try batch(at: $0, columns: columns) })
    }
}
