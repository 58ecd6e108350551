import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverStore

/// A table the query engine scans: a sequence of record batches under one schema.
///
/// The engine asks for batches by index, possibly from several threads at once, naming the
/// columns it needs (projection pushdown), and asks for per-batch statistics first to skip
/// batches a filter cannot match (zone maps). File, memory-mapped and store readers conform;
/// `InMemorySource` wraps batches already in memory.
public protocol BatchSource: Sendable {
    /// The schema every batch has.
    var schema: Schema { get }
    /// How many batches there are.
    var batchCount: Int { get }
    /// Batch `index` with at least `columns` (indices into `schema`) decoded.
    ///
    /// Return either a batch with every schema field (columns not asked for may be empty
    /// placeholders of the right type… or real data) or a batch holding exactly `columns`,
    /// in that order. Called concurrently for different indices.
    func batch(at index: Int, columns: [Int]) throws -> RecordBatch
    /// What is known about batch `batch` without reading it — its row count and, per column,
    /// null count and bounds (QuiverStore's `BatchStatistics`, as a store footer records
    /// them) — or nil. Bounds need not be attained: `min` must be ≤ and `max` ≥ every non-null
    /// value. Wrong facts make results wrong.
    func statistics(batch: Int) -> BatchStatistics?
    /// The reads of one scan: `batches` (those zone maps did not skip, in the order the
    /// engine will ask for them, though threads may ask out of order), each with `columns`.
    /// A source backed by files plans its I/O here (see `PlannedScan`); the default reads
    /// each batch with `batch(at:columns:)`.
    func scan(batches: [Int], columns: [Int]) -> any BatchScan
}

/// The batches of one scan of a `BatchSource`, read by the query engine from several threads.
public protocol BatchScan: Sendable {
    /// Batch `index` (an index into the source, one of the scan's batches), as
    /// `BatchSource.batch(at:columns:)` returns it for the scan's columns.
    func batch(at index: Int) throws -> RecordBatch
}

extension BatchSource {
    /// Reads each batch with `batch(at:columns:)` when asked: no planning, no read-ahead.
    public func scan(batches: [Int], columns: [Int]) -> any BatchScan {
        DirectScan(source: self, columns: columns)
    }
}

/// A scan that reads each batch when asked, with no I/O plan.
struct DirectScan<Source: BatchSource>: BatchScan {
    let source: Source
    let columns: [Int]

    func batch(at index: Int) throws -> RecordBatch {
        try source.batch(at: index, columns: columns)
    }
}

/// A scan of Arrow files through a `PlannedScan`: batch indices of the source map to
/// positions in the plan; `before` runs before each read (a store's checksum check).
struct FilePlannedScan: BatchScan {
    let plan: PlannedScan
    /// For each source batch index, its position in the plan, or -1.
    let positions: [Int]
    let fallback: @Sendable (Int) throws -> RecordBatch

    init(
        _ steps: [PlannedScan.Step], batches: [Int], batchCount: Int, columns: [Int], policy: ScanIOPolicy,
        fallback: @escaping @Sendable (Int) throws -> RecordBatch
    ) {
        plan = PlannedScan(steps, columns: columns, policy: policy)
        var positions = Array(repeating: -1, count: batchCount)
        for (position, index) in batches.enumerated() where positions.indices.contains(index) { positions[index] = position }
        self.positions = positions
        self.fallback = fallback
    }

    func batch(at index: Int) throws -> RecordBatch {
        guard positions.indices.contains(index), positions[index] >= 0 else { return try fallback(index) }
        return try plan.recordBatch(at: positions[index])
    }
}

/// Record batches held in memory, scanned without copying.
public struct InMemorySource: BatchSource {
    /// The schema of every batch.
    public let schema: Schema
    /// The batches, in scan order.
    public let batches: [RecordBatch]
    private var batchStatistics: [BatchStatistics?]

    /// Wraps `batches` (all with `schema`, which defaults to the first batch's).
    ///
    /// With `computeStatistics` (the default) every column of every batch is scanned once
    /// here — O(data) — for its null count, min and max, so zone maps work as they would on a
    /// stored table. Throws `schemaMismatch` when batches disagree and `invalidArgument` for
    /// no batches and no schema.
    public init(batches: [RecordBatch], schema: Schema? = nil, computeStatistics: Bool = true) throws {
        guard let schema = schema ?? batches.first?.schema else {
            throw QuiverError(.invalidArgument, "an empty source needs a schema")
        }
        for (index, batch) in batches.enumerated() where batch.schema.fields.map(\.type) != schema.fields.map(\.type) {
            throw QuiverError(.schemaMismatch, "batch \(index) has schema \(batch.schema), expected \(schema)")
        }
        self.schema = schema
        self.batches = batches
        batchStatistics = computeStatistics
            ? batches.map { batch in
                BatchStatistics(rowCount: batch.length, columns: batch.columns.map { try? StatisticsScan.compute($0) })
            }
            : Array(repeating: nil, count: batches.count)
    }

    /// Wraps batches with statistics supplied by the caller (`statistics[batch]`, each with
    /// one entry per column).
    /// O(batches × columns) to check the statistics and the schemas.
    public init(batches: [RecordBatch], schema: Schema, statistics: [BatchStatistics]) throws {
        guard statistics.count == batches.count, statistics.allSatisfy({ $0.columns.count == schema.fields.count }) else {
            throw QuiverError(.invalidArgument, "statistics must have one entry per batch and column")
        }
        try self.init(batches: batches, schema: schema, computeStatistics: false)
        batchStatistics = statistics
    }

    /// How many batches there are.
    public var batchCount: Int { batches.count }

    /// Batch `index`, whole (its columns are views: nothing is copied).
    public func batch(at index: Int, columns: [Int]) throws -> RecordBatch {
        guard batches.indices.contains(index) else {
            throw QuiverError(.outOfBounds, "batch \(index) of \(batches.count)")
        }
        return batches[index]
    }

    /// The computed or supplied statistics of one batch.
    public func statistics(batch: Int) -> BatchStatistics? {
        batchStatistics.indices.contains(batch) ? batchStatistics[batch] : nil
    }
}
