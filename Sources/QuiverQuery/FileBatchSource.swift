import QuiverArrow
import QuiverBytes
import QuiverIPC

/// An Arrow file scanned by the query engine, usually through a memory map: each batch is
/// decoded on demand with only the columns a query needs (`recordBatch(at:columns:)`), so
/// the other columns are never decompressed, validated or paged in.
public struct FileBatchSource: BatchSource {
    /// The file.
    public let reader: FileReader
    private let columnStatistics: [[ColumnStatistics?]]?

    /// Scans `reader`'s batches; `statistics[batch][column]`, when given, enables zone maps.
    public init(_ reader: FileReader, statistics: [[ColumnStatistics?]]? = nil) {
        self.reader = reader
        self.columnStatistics = statistics
    }

    public var schema: Schema { reader.schema }
    public var batchCount: Int { reader.numRecordBatches }

    public func batch(at index: Int, columns: [Int]) throws -> RecordBatch {
        try reader.recordBatch(at: index, columns: columns)
    }

    public func statistics(batch: Int, column: Int) -> ColumnStatistics? {
        columnStatistics?[batch][column]
    }
}
