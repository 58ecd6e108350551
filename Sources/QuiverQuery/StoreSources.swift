import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverStore

/// A store table scanned by the query engine: a consistent snapshot of its files (the
/// committed footers when the snapshot was taken, however the writer appends meanwhile),
/// with the per-batch statistics the footers carry, so zone maps skip batches without
/// touching their pages. A snapshot taken with `verifyChecksums` makes every batch read
/// verify its body checksum first: a damaged batch fails the query with `invalidData`
/// instead of giving altered values.
public struct StoreTableSource: BatchSource {
    /// The snapshot scanned.
    public let snapshot: TableSnapshot
    private let readers: [FileReader]
    /// For batch i of the table: which file, and which batch in it.
    private let locations: [(file: Int, batch: Int)]
    /// Per batch of the table, its statistics; converted for the engine only when a zone map
    /// asks (most queries ask for a column or two of a wide table).
    private let batchStatistics: [BatchStatistics]
    /// Whether batches are verified before they are read (the snapshot's choice).
    private let verifies: Bool
    /// How a query's scan reads the files (see `PlannedScan`).
    public var ioPolicy: ScanIOPolicy = .default

    /// Scans `snapshot` (take one with `store.snapshot(of:)`).
    /// O(batches) plus each file's `FileSnapshot.reader()` (O(dictionary bytes)); reads no batch.
    public init(_ snapshot: TableSnapshot) throws {
        self.snapshot = snapshot
        readers = try snapshot.files.map { try $0.reader() }
        verifies = snapshot.files.contains { $0.verifiesChecksums }
        locations = snapshot.files.enumerated().flatMap { file, files in
            (0..<files.numRecordBatches).map { (file: file, batch: $0) }
        }
        batchStatistics = snapshot.batchStatistics
    }

    /// Snapshots table `name` of `store` now; `verifyChecksums` verifies every batch read
    /// (see `SnapshotOptions.verifyChecksums`).
    /// Costs `Store.snapshot(of:options:)` plus `init(_:)`.
    public init(store: Store, table name: String, verifyChecksums: Bool = false) throws {
        try self.init(try store.snapshot(of: name, options: SnapshotOptions(verifyChecksums: verifyChecksums)))
    }

    /// The table's schema at the snapshot (the newest, after any added columns).
    public var schema: Schema { snapshot.schema }
    /// Batches of every file of the snapshot.
    public var batchCount: Int { locations.count }

    /// Decodes batch `index` with only `columns`; columns its file predates read as nulls.
    /// Verifies the batch's checksum first when the source was opened to.
    /// O(bytes of `columns`) as `FileReader.recordBatch(at:columns:)` decodes them (zero-copy from
    /// the mapping), O(body bytes) to verify the checksum, O(rows) per column added later.
    public func batch(at index: Int, columns: [Int]) throws -> RecordBatch {
        guard index >= 0, index < locations.count else {
            throw QuiverError(.invalidArgument, "record batch \(index) of a table with \(locations.count)")
        }
        let location = locations[index]
        if verifies { try snapshot.files[location.file].verifyChecksum(ofBatch: location.batch) }
        let reader = readers[location.file]
        let stored = reader.schema.fields.count
        guard columns.contains(where: { $0 >= stored }) else {
            return try reader.recordBatch(at: location.batch, columns: columns)
        }
        // A file written before columns were added: they read as null, as `TableSnapshot` has them.
        let read = try reader.recordBatch(at: location.batch, columns: columns.filter { $0 < stored })
        var next = 0
        let arrays = try columns.map { column -> ArrayData in
            guard column >= stored else { defer { next += 1 }; return read.columns[next] }
            guard column < schema.fields.count else {
                throw QuiverError(.invalidArgument, "column \(column) of a schema with \(schema.fields.count) fields")
            }
            return try SchemaEvolution.nulls(of: schema.fields[column].type, length: read.length)
        }
        return RecordBatch(uncheckedSchema: Schema(columns.map { schema.fields[$0] }, metadata: schema.metadata), columns: arrays, length: read.length)
    }

    /// The footer statistics of batch `batch`.
    public func statistics(batch: Int) -> BatchStatistics? {
        batchStatistics.indices.contains(batch) ? batchStatistics[batch] : nil
    }

    /// One `PlannedScan` over every file's batches in table order: the window runs across
    /// file boundaries, and batches zone maps skipped are never requested. Batches of files
    /// written before a requested column was added are read by `batch(at:columns:)`, which
    /// gives that column as nulls.
    /// O(batches) to build the steps; nothing is read yet.
    public func scan(batches: [Int], columns: [Int]) -> any BatchScan {
        let planned = batches.filter { index in
            let stored = readers[locations[index].file].schema.fields.count
            return columns.allSatisfy { $0 < stored }
        }
        let steps = planned.map { index in
            let location = locations[index]
            return PlannedScan.Step(reader: readers[location.file], batch: location.batch)
        }
        let plan = FilePlannedScan(
            steps, batches: planned, batchCount: batchCount, columns: columns, policy: ioPolicy,
            fallback: { [self] in try batch(at: $0, columns: columns) })
        guard verifies else { return plan }
        return VerifiedScan(plan: plan, verify: { [self] index in
            let location = locations[index]
            try snapshot.files[location.file].verifyChecksum(ofBatch: location.batch)
        })
    }
}

/// A store scan that verifies each batch's checksum before reading it.
private struct VerifiedScan: BatchScan {
    let plan: FilePlannedScan
    let verify: @Sendable (Int) throws -> Void

    func batch(at index: Int) throws -> RecordBatch {
        try verify(index)
        return try plan.batch(at: index)
    }
}

extension FileBatchSource {
    /// Opens the Arrow file at `path` memory-mapped; if it is a store file (its footer carries
    /// `quiver:statistics`), its per-batch statistics enable zone maps.
    ///
    /// By default the mapping comes from `MappingCache.shared`, so querying the same
    /// unchanged file again reuses the pages the last query faulted in (`.memoryMap` maps
    /// afresh each time; `.read` copies the columns it reads into pool buffers).
    public init(path: String, source: FileSource = .sharedMemoryMap, options: IPCReadOptions = .init()) throws {
        let reader = try FileReader(path: path, source: source, options: options)
        guard reader.footerMetadata.contains(where: { $0.key == StatisticsCodec.metadataKey }) else {
            self.init(reader)
            return
        }
        let file = try FileSnapshot.open(path: path, options: SnapshotOptions(readOptions: options))
        self.init(reader, statistics: file.statistics)
    }
}

extension Scalar {
    /// A footer statistic as a scalar of the column's type, or nil where the kinds disagree.
    init?(statistic: StatisticValue, type: DataType) {
        switch (statistic, type.storageType) {
        case (.int(let value), .int8), (.int(let value), .int16), (.int(let value), .int32), (.int(let value), .int64),
             (.int(let value), .date32), (.int(let value), .date64), (.int(let value), .time32),
             (.int(let value), .time64), (.int(let value), .timestamp), (.int(let value), .duration):
            self.init(type: type, payload: .int(value))
        case (.uint(let value), .uint8), (.uint(let value), .uint16), (.uint(let value), .uint32), (.uint(let value), .uint64):
            self.init(type: type, payload: .uint(value))
        case (.double(let value), .float32), (.double(let value), .float64):
            self.init(type: type, payload: .float(value))
        case (.bool(let value), .boolean):
            self.init(type: type, payload: .bool(value))
        case (.string(let value), .utf8), (.string(let value), .largeUtf8), (.string(let value), .utf8View):
            self.init(type: type, payload: .bytes(Array(value.utf8)))
        case (.binary(let value), .binary), (.binary(let value), .largeBinary), (.binary(let value), .binaryView),
             (.binary(let value), .fixedSizeBinary):
            self.init(type: type, payload: .bytes(value))
        default:
            return nil
        }
    }

    /// The scalar as a statistic bound, or nil for kinds the statistics schema does not store
    /// (decimals) and for NULL.
    var statisticValue: StatisticValue? {
        switch payload {
        case .int(let value): return .int(value)
        case .uint(let value): return .uint(value)
        case .float(let value): return .double(value)
        case .bool(let value): return .bool(value)
        case .bytes(let value):
            switch type.storageType {
            case .utf8, .largeUtf8, .utf8View: return String(validating: value, as: UTF8.self).map { .string($0) }
            default: return .binary(value)
            }
        case .null, .decimal: return nil
        }
    }
}
