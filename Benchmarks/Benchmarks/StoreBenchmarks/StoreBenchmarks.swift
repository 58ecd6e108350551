import Benchmark
import Foundation
import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverStore

// The store's appends and opens. Each benchmark works in a fresh temporary directory; files
// are written without fsync (the page cache is what is measured), as the targets say.
//
//   store/append 64K-row batch       one committed append of StoreWorkload.batch (2.55 MB of
//                                    buffers) per iteration: bytes/s = 2.55 MB / time; variants
//                                    add checksums or drop min/max
//   store/append 64K-row lineitem    one committed append of a TPC-H lineitem batch (the first
//                                    16 of datasets/generated/lineitem-sf1, in turn, 8.9 MB of
//                                    buffers each; QUIVER_LINEITEM names another file); absent
//                                    without the dataset (make datasets)
//   store/statistics of a 64K-row    computing the batch's statistics alone
//   store/1-row append at N batches  one 1-row append when the table already holds N batches
//                                    (files roll every 256 batches, the default, bounding the footer)
//   store/open 100 files + stats     a snapshot of a table of 100 files (all footers and
//                                    statistics decoded)
//
// pyarrow writing the same batches to a new file, in the same run: peers/store_append.py.

/// The data of the benchmarks.
enum StoreWorkload {
    static let rows = 65_536
    static let schema = Schema([
        Field("id", .int64), Field("ts", .timestamp(.microsecond, timezone: "UTC")), Field("value", .float64),
        Field("category", .int32), Field("tag", .utf8),
    ])

    /// 64K rows: increasing ids and timestamps, values, a small category, short tags.
    static func batch(rows: Int = rows, start: Int = 0) -> RecordBatch {
        let ids = (0..<rows).map { Int64(start + $0) }
        let stamps = (0..<rows).map { Int64(1_700_000_000_000_000 + (start + $0) * 1000) }
        let values = (0..<rows).map { Double(($0 * 7919) % 10_007) / 3 }
        let categories = (0..<rows).map { Int32($0 % 17) }
        let tags = (0..<rows).map { Optional("tag-\(($0 * 31) % 1000)") }
        return try! RecordBatch(
            schema: schema,
            columns: [
                ArrayData.build(from: ids), ArrayData.build(from: stamps, type: .timestamp(.microsecond, timezone: "UTC")),
                ArrayData.build(from: values), ArrayData.build(from: categories), ArrayData.build(from: tags),
            ])
    }

    /// The bytes a batch's buffers hold (what an append writes, before framing).
    static func bytes(of batch: RecordBatch) -> Int {
        batch.columns.reduce(0) { total, column in total + column.buffers.reduce(0) { $0 + $1.count } }
    }

    static func temporaryDirectory(_ name: String) -> String {
        let path = NSTemporaryDirectory() + "quiver-store-bench-\(name)-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static let writer = WriterOptions(durability: .buffered)

    /// The first `count` batches of the SF1 lineitem file (read into memory), or nil without it.
    static func lineitem(count: Int = 16) -> [RecordBatch]? {
        let path = ProcessInfo.processInfo.environment["QUIVER_LINEITEM"]
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("datasets/generated/lineitem-sf1/lineitem.arrow").path
        guard FileManager.default.fileExists(atPath: path), let reader = try? FileReader(path: path, source: .read) else {
            return nil
        }
        return try? (0..<min(count, reader.numRecordBatches)).map { try reader.recordBatch(at: $0) }
    }
}

/// State a benchmark prepares once (in `setup`) and measures many times.
final class Fixture: @unchecked Sendable {
    var directory = ""
    var writer: TableWriter?
    var batch: RecordBatch?
    var batches: [RecordBatch] = []
    /// The next of `batches` to append.
    var next = 0

    /// A store with table "t" under a fresh directory.
    func makeStore(schema: Schema = StoreWorkload.schema, options: TableOptions = .init()) throws -> Store {
        directory = StoreWorkload.temporaryDirectory("bench")
        let store = try Store.create(at: directory)
        try store.createTable("t", schema: schema, options: options)
        return store
    }

    func tearDown() throws {
        try writer?.close()
        writer = nil
        try? FileManager.default.removeItem(atPath: directory)
    }
}

let benchmarks: @Sendable () -> Void = {
    let metrics: [BenchmarkMetric] = [.wallClock, .throughput, .mallocCountTotal]

    // The default buffered append (min/max statistics, no checksums), then with body
    // checksums added (the synced default) and with min/max off: what each costs.
    let variants: [(String, WriterOptions, TableOptions)] = [
        ("", StoreWorkload.writer, TableOptions()),
        (", checksums", WriterOptions(durability: .buffered, checksums: true), TableOptions()),
        (", no min/max", WriterOptions(durability: .buffered, minMaxStatistics: false), TableOptions()),
        (", 256 MB files", StoreWorkload.writer, TableOptions(maxFileBytes: 256 << 20)),
    ]
    for (label, options, table) in variants {
        let append = Fixture()
        Benchmark(
            "store/append 64K-row batch (uncompressed, no fsync\(label))",
            configuration: .init(metrics: metrics, maxDuration: .seconds(4), maxIterations: 400),
            closure: { benchmark in
                guard let writer = append.writer, let batch = append.batch else { return }
                for _ in benchmark.scaledIterations { try writer.append(batch) }
            },
            setup: {
                append.batch = StoreWorkload.batch()
                append.writer = try append.makeStore(options: table).writer(for: "t", options: options)
            },
            teardown: { try append.tearDown() })
    }

    if StoreWorkload.lineitem(count: 1) != nil {
        let lineitem = Fixture()
        Benchmark(
            "store/append 64K-row lineitem batch (uncompressed, no fsync)",
            configuration: .init(metrics: metrics, maxDuration: .seconds(4), maxIterations: 200),
            closure: { benchmark in
                guard let writer = lineitem.writer, !lineitem.batches.isEmpty else { return }
                for _ in benchmark.scaledIterations {
                    try writer.append(lineitem.batches[lineitem.next % lineitem.batches.count])
                    lineitem.next += 1
                }
            },
            setup: {
                lineitem.batches = StoreWorkload.lineitem() ?? []
                lineitem.writer = try lineitem.makeStore(schema: lineitem.batches[0].schema).writer(
                    for: "t", options: StoreWorkload.writer)
            },
            teardown: { try lineitem.tearDown() })
    }

    for existing in [10, 1_000, 100_000] {
        let small = Fixture()
        Benchmark(
            "store/1-row append at \(existing) batches",
            configuration: .init(metrics: metrics, maxDuration: .seconds(3), maxIterations: 5_000),
            closure: { benchmark in
                guard let writer = small.writer, let row = small.batch else { return }
                for _ in benchmark.scaledIterations { try writer.append(row) }
            },
            setup: {
                let writer = try small.makeStore().writer(for: "t", options: StoreWorkload.writer)
                let row = StoreWorkload.batch(rows: 1)
                // Fill to `existing` batches with group commits (files roll every 256).
                var filled = 0
                while filled < existing {
                    let count = min(1_000, existing - filled)
                    try writer.append(contentsOf: Array(repeating: row, count: count))
                    filled += count
                }
                small.writer = writer
                small.batch = row
            },
            teardown: { try small.tearDown() })
    }

    Benchmark(
        "store/statistics of a 64K-row batch",
        configuration: .init(metrics: metrics, maxDuration: .seconds(2))
    ) { benchmark in
        let batch = StoreWorkload.batch()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(BatchStatistics(of: batch)) }
        benchmark.stopMeasurement()
    }

    let open = Fixture()
    Benchmark(
        "store/open 100 files and read all statistics",
        configuration: .init(metrics: metrics, maxDuration: .seconds(3)),
        closure: { benchmark in
            for _ in benchmark.scaledIterations {
                let snapshot = try Store(at: open.directory).snapshot(of: "t")
                precondition(snapshot.files.count == 100)
                blackHole(snapshot.statistics)
            }
        },
        setup: {
            let writer = try open.makeStore(options: TableOptions(maxBatchesPerFile: 4)).writer(
                for: "t", options: StoreWorkload.writer)
            let batch = StoreWorkload.batch(rows: 1_000)
            for _ in 0..<400 { try writer.append(batch) }
            try writer.close()
        },
        teardown: { try open.tearDown() })
}
