import Foundation
import QuiverArrow
import QuiverBenchmarkSupport
import QuiverBytes
import QuiverIPC
import QuiverOutput
import QuiverQuery
import QuiverStore

// The Quiver side of peers/compare.py: runs one named workload on a file the script wrote,
// `iterations` times, and prints one JSON object: the median and best wall time of the timed
// part, the bytes Quiver's pool held for the result, a checksum the script compares with
// pyarrow's answer, and workload-specific figures. Checksums are computed outside the timed
// part, as on the pyarrow side.
//
//   quiver-peer-workloads WORKLOAD PATH [ITERATIONS]
//
//   seed-read-memory   open + readAll of a file already in memory
//   seed-read-mmap     open + readAll, memory-mapped
//   seed-read-file     open + readAll, read with pread into pool buffers
//   seed-read-stream   open + readAll of a stream already in memory
//   seed-read-stream-mmap  open + readAll of a memory-mapped stream
//   seed-batch         recordBatch(at:) of every batch of an open mapped file (per-batch cost)
//   seed-write         write the seed file into memory
//   seed-write-file    write the seed file to disk (PATH.quiver-out, deleted afterwards)
//   open-footer        open a mapped file (O(footer)); pages touched when cold
//   scan-sum           sum of a mapped int32 column once resident (GB/s)
//   scan-bounded       FileReader.scan over a mapped file: peak RSS (one run; ITERATIONS is
//                      the read-ahead in MiB)
//   scan-unbounded     the same loop without scan's advice, for contrast
//   read-all           mapped open + readAll (default validation) of any file (lineitem)
//   read-all-trusted   the same with IPCReadOptions(trusted: true)
//   read-all-shared    read-all through FileSource.sharedMemoryMap (the mapping reused)
//   decode-1t          every batch of a (compressed) mapped file on one thread: GB/s of output
//   store-append[:R[:no-minmax]]  append every batch of PATH, R rounds (default 1), to a
//                      new store table (buffered, no fsync; files roll as the table's
//                      defaults say): GB/s over the batches' buffer bytes, CPU time, and
//                      per-append p50/p90/max (peers/store_append.py is the pyarrow side);
//                      no-minmax records row and null counts only
//   store-statistics   a store's statistics (row/null counts, min, max) of every batch of
//                      PATH: µs per batch in all and per column
//   query:NAME[:P]     a SQL query (NAME: q1, q6, range, count-gt) on the mapped file with
//                      parallelism P (default: every core); first run in this fresh process
//                      (open + execute) and warm repeats (open + execute, file resident);
//                      PATH may be a store directory: its table `t` is queried (open the store,
//                      snapshot, execute)
//   sql-file           every query of a SQL file (one per line, `--` comment lines skipped;
//                      ClickBench's datasets/queries/clickbench.sql) over PATH, an Arrow file or a
//                      store directory, registered as table TABLE (the store's table of that
//                      name): `sql-file PATH ITERATIONS SQLFILE [NUMBERS] [TABLE]` (NUMBERS: e.g.
//                      1,5,43; default all; TABLE default hits). Each query: a first run and up to
//                      ITERATIONS warm repeats (fewer once its runs pass a few seconds), each
//                      opening the source and executing `Query(sql:tables:)`; its answer as rows,
//                      or the error it threw
//   output:FORMAT      writes 1M rows (id int64, price float64 with every 11th null, name
//                      "customer#N", flag bool; 16 batches of 65,536, as OutputBenchmarks and
//                      peers/output_peers.py) into memory as FORMAT (arrow, json, ndjson, csv):
//                      MB/s over median wall time and over median CPU time (PATH is unused)
//   store-vs-file      a service's repeated queries: `store-vs-file PATH ITERATIONS SQLFILE NUMBERS
//                      STORE [TABLE]` runs each numbered query of SQLFILE over the Arrow file PATH
//                      (a `FileBatchSource` per query, as `sql-file` does) and over the same rows
//                      in table TABLE (default t, as store-load names it) of the store directory
//                      STORE, both registered as `hits` (the store opened once,
//                      as a service holds it; a `StoreTableSource` — a snapshot — per query),
//                      alternating, ITERATIONS times each after a warm-up run of both. Per query:
//                      median wall and CPU seconds of each, and their ratios
//   store-load         loads PATH's batches into a new store at ITERATIONS (a directory path)
//                      as table `t`: the store the range query runs on

typealias Figures = [String: Any]

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// Times `body` `iterations` times. Reads return their batches: the pool's growth while they
/// are held is the allocation figure, and the checksum is taken after the clock stops.
func measureRead(
    _ iterations: Int, checksum answer: ([RecordBatch]) -> Any = { SeedWorkload.sum(of: $0) },
    _ body: () throws -> [RecordBatch]
) rethrows -> Figures {
    var times: [Double] = []
    var allocated = 0
    var checksum: Any = 0
    for iteration in 0..<iterations {
        let before = MemoryPool.default.totalAllocatedBytes
        let start = ContinuousClock.now
        let batches = try body()
        times.append(seconds(ContinuousClock.now - start))
        allocated = MemoryPool.default.totalAllocatedBytes - before
        if iteration == iterations - 1 { checksum = answer(batches) }
    }
    return summary(times).merging(["allocated_bytes": allocated, "checksum": checksum]) { $1 }
}

/// Median and best of the times, in seconds.
func summary(_ times: [Double]) -> Figures {
    let sorted = times.sorted()
    return ["median_s": sorted[sorted.count / 2], "best_s": sorted[0]]
}

func timed(_ iterations: Int, _ body: () throws -> Void) rethrows -> Figures {
    var times: [Double] = []
    for _ in 0..<iterations {
        let start = ContinuousClock.now
        try body()
        times.append(seconds(ContinuousClock.now - start))
    }
    return summary(times)
}

/// Writes the file's dirty pages and drops it from the page cache, so the next reads are cold.
func evictPageCache(_ path: String) throws {
    let descriptor = try FileDescriptor.open(path, .readOnly)
    defer { try? descriptor.close() }
    try descriptor.sync()
    try descriptor.advise(.dontNeed)
}

/// Reads a whole file into one pool buffer (the "already in memory" inputs).
func loadWhole(_ path: String) throws -> Buffer {
    let input = try ReadFileInput(path: path)
    return try input.read(at: 0, count: input.size)
}

/// Scans `path` summing its first column; with `advising`, through `FileReader.scan`.
func scanBounded(_ path: String, advising: Bool, readAheadMiB: Int) throws -> Figures {
    let rssBefore = try MemoryUsage.residentSetBytes()
    let peakBefore = try MemoryUsage.peakResidentSetBytes()
    let reader = try FileReader(path: path)
    var total: Int64 = 0
    let start = ContinuousClock.now
    if advising {
        try reader.scan(readAhead: readAheadMiB << 20) { _, batch in total &+= SeedWorkload.sum(of: batch) }
    } else {
        for index in 0..<reader.numRecordBatches {
            total &+= SeedWorkload.sum(of: try reader.recordBatch(at: index))
        }
    }
    let elapsed = seconds(ContinuousClock.now - start)
    let size = try FileDescriptor.open(path, .readOnly).status().size
    return [
        "median_s": elapsed, "best_s": elapsed, "checksum": total, "allocated_bytes": 0, "file_bytes": size,
        "rss_before_bytes": rssBefore, "peak_rss_before_bytes": peakBefore,
        "peak_rss_bytes": try MemoryUsage.peakResidentSetBytes(), "gb_per_s": Double(size) / elapsed / 1e9,
    ]
}

/// Total bytes of a batch's buffers (children and dictionaries included): the decoded size.
func decodedBytes(_ data: ArrayData) -> Int {
    data.buffers.reduce(0) { $0 + $1.count } + data.children.reduce(0) { $0 + decodedBytes($1) }
        + (data.dictionary.map(decodedBytes) ?? 0)
}

/// Row count and the sum of the first float64 column: the answer a read is checked by.
func readChecksum(_ batches: [RecordBatch]) -> [Any] {
    var sum = 0.0, rows = 0
    for batch in batches {
        rows += batch.length
        guard let index = batch.schema.fields.firstIndex(where: { $0.type == .float64 }) else { continue }
        let column = batch.columns[index]
        column.buffers[1].withUnsafeBufferPointer(as: Double.self) { values in
            for row in column.offset..<(column.offset + column.length) { sum += values[row] }
        }
    }
    return [rows, sum]
}

/// TPC-H Q1 and Q6 from datasets/queries/ (shared with compare.py's peers and the tests).
func sharedQuery(_ name: String) -> String {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("datasets/queries/\(name).sql")
    return (try? String(contentsOf: path, encoding: .utf8)) ?? "missing \(path.path)"
}

/// Appends `rounds` × every batch of `path` to table "t" of a fresh store under the temporary
/// directory, `iterations` times: the writer's open, appends and close are timed (the
/// store's creation and the deletion afterwards are not).
func storeAppend(path: String, rounds: Int, minMax: Bool, iterations: Int) throws -> Figures {
    // Read into memory (not mapped), as the pyarrow side does: the appends measure writing.
    let batches = try FileReader(path: path, source: .read, options: IPCReadOptions(trusted: true)).readBatches()
    guard let schema = batches.first?.schema else { throw QuiverError(.invalidArgument, "\(path) holds no batches") }
    let bytes = rounds * batches.reduce(0) { $0 + $1.columns.reduce(0) { $0 + decodedBytes($1) } }
    var written = 0
    var times: [Double] = [], cpu: [Double] = [], appends: [Double] = []
    appends.reserveCapacity(iterations * rounds * batches.count)
    for _ in 0..<iterations {
        let directory = NSTemporaryDirectory() + "quiver-store-append-\(UUID().uuidString)"
        let store = try Store.create(at: directory)
        try store.createTable("t", schema: schema)
        let cpuStart = processCPUSeconds()
        let start = ContinuousClock.now
        let writer = try store.writer(for: "t", options: WriterOptions(durability: .buffered, minMaxStatistics: minMax))
        for _ in 0..<rounds {
            for batch in batches {
                let appendStart = ContinuousClock.now
                try writer.append(batch)
                appends.append(seconds(ContinuousClock.now - appendStart))
            }
        }
        try writer.close()
        times.append(seconds(ContinuousClock.now - start))
        cpu.append(processCPUSeconds() - cpuStart)
        written = try store.snapshot(of: "t").files.reduce(0) { $0 + $1.committedSize }
        try FileManager.default.removeItem(atPath: directory)
    }
    let figures = summary(times)
    let best = figures["best_s"] as? Double ?? 1, median = figures["median_s"] as? Double ?? 1
    return figures.merging([
        "allocated_bytes": 0, "checksum": Int64(rounds * batches.count), "buffer_bytes": bytes, "file_bytes": written,
        "gb_per_s": Double(bytes) / median / 1e9, "best_gb_per_s": Double(bytes) / best / 1e9,
        "us_per_batch": median / Double(rounds * batches.count) * 1e6, "best_cpu_s": cpu.min() ?? 0,
        "append_us_p50_p90_max": [0.5, 0.9, 1.0].map { quantile in
            appends.sorted()[min(appends.count - 1, Int(Double(appends.count) * quantile))] * 1e6
        },
    ]) { $1 }
}

/// The time `BatchStatistics` takes on each batch of `path`, whole and per column.
func storeStatistics(path: String, iterations: Int) throws -> Figures {
    let batches = try FileReader(path: path, source: .read, options: IPCReadOptions(trusted: true)).readBatches()
    guard let schema = batches.first?.schema else { throw QuiverError(.invalidArgument, "\(path) holds no batches") }
    var rows = 0
    let times = timed(iterations) { for batch in batches { rows &+= BatchStatistics(of: batch).rowCount } }
    var columns: [String: Double] = [:]
    for (index, field) in schema.fields.enumerated() {
        let single = Schema([field])
        let parts = try batches.map { try RecordBatch(schema: single, columns: [$0.columns[index]]) }
        let figures = timed(iterations) { for part in parts { rows &+= BatchStatistics(of: part).rowCount } }
        columns[field.name] = (figures["best_s"] as? Double ?? 0) / Double(batches.count) * 1e6
    }
    return times.merging([
        "allocated_bytes": 0, "checksum": rows, "columns_us_per_batch": columns,
        "us_per_batch": (times["best_s"] as? Double ?? 0) / Double(batches.count) * 1e6,
    ]) { $1 }
}

/// User + system CPU time of this process (all threads), in seconds.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func value(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
    return value(usage.ru_utime) + value(usage.ru_stime)
}

/// `store-vs-file`: the same queries over a file and over a store table holding its rows,
/// alternating, with the store opened once.
func storeVersusFile(file: String, store path: String, table: String, sqlFile: String, numbers: [Int], iterations: Int) throws -> Figures {
    let lines = try queryLines(of: sqlFile)
    let store = try Store(at: path, log: { _ in })
    var reports: [Figures] = []
    for number in numbers {
        let sql = lines[number - 1]
        let sources: [() throws -> any BatchSource] = [
            { try FileBatchSource(path: file) },
            { try StoreTableSource(store: store, table: table) },
        ]
        var wall: [[Double]] = [[], []], cpu: [[Double]] = [[], []]
        var answers: [String] = ["", ""]
        for iteration in 0...iterations {
            for (index, source) in sources.enumerated() {
                let cpuStart = processCPUSeconds()
                let start = ContinuousClock.now
                let result = try Query(sql: sql, tables: ["hits": try source()]).execute()
                let elapsed = seconds(ContinuousClock.now - start)
                let used = processCPUSeconds() - cpuStart
                guard iteration > 0 else { answers[index] = "\(rows(of: result))"; continue }
                wall[index].append(elapsed)
                cpu[index].append(used)
            }
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        reports.append([
            "number": number, "same_answer": answers[0] == answers[1],
            "file_s": median(wall[0]), "store_s": median(wall[1]), "wall_ratio": median(wall[1]) / median(wall[0]),
            "file_cpu_s": median(cpu[0]), "store_cpu_s": median(cpu[1]), "cpu_ratio": median(cpu[1]) / median(cpu[0]),
        ])
    }
    func geomean(_ key: String) -> Double {
        exp(reports.map { log($0[key] as? Double ?? 1) }.reduce(0, +) / Double(reports.count))
    }
    return ["queries": reports, "wall_ratio_geomean": geomean("wall_ratio"), "cpu_ratio_geomean": geomean("cpu_ratio"),
            "allocated_bytes": 0, "checksum": 0]
}

/// Result writing of `output:FORMAT`: wall and CPU time per write of the 1M-row result.
func writeOutput(format name: String, iterations: Int) throws -> Figures {
    guard let format = OutputFormat(rawValue: name) else { throw QuiverError(.invalidArgument, "no output format \(name)") }
    let schema = Schema([Field("id", .int64), Field("price", .float64), Field("name", .utf8), Field("flag", .boolean)])
    let batches = try (0..<16).map { b in
        let ids = (0..<65_536).map { Int64(b * 65_536 + $0) }
        return try RecordBatch(schema: schema, columns: [
            ArrayData.build(from: ids),
            ArrayData.build(from: ids.map { $0 % 11 == 0 ? nil : Double($0 % 100_000) / 8 }),
            ArrayData.build(from: ids.map { "customer#\($0 % 50_000)" }),
            ArrayData.build(from: ids.map { $0 % 3 == 0 }),
        ])
    }
    var times: [Double] = [], cpu: [Double] = []
    var size = 0
    var checksum = 0
    for _ in 0..<iterations {
        let output = BufferOutputStream(capacity: 1 << 20)
        let cpuStart = processCPUSeconds()
        let start = ContinuousClock.now
        try format.write(batches, schema: schema, to: output)
        times.append(seconds(ContinuousClock.now - start))
        cpu.append(processCPUSeconds() - cpuStart)
        let bytes = output.getvalue()
        size = bytes.count
        checksum = bytes.withUnsafeBytes { $0.reduce(0) { $0 &* 31 &+ Int($1) } }
    }
    let medianCPU = cpu.sorted()[cpu.count / 2]
    let figures = summary(times)
    return figures.merging([
        "allocated_bytes": 0, "checksum": checksum, "output_bytes": size, "median_cpu_s": medianCPU,
        "mb_per_s": Double(size) / (figures["median_s"] as? Double ?? 1) / 1e6,
        "mb_per_cpu_s": Double(size) / medianCPU / 1e6,
    ]) { $1 }
}

/// Queries by name; the file is registered as both `t` and `lineitem`.
let queries: [String: String] = [
    "q1": sharedQuery("tpch-q1"),
    "q6": sharedQuery("tpch-q6"),
    "range": "SELECT count(*), sum(v) FROM t WHERE k BETWEEN 5000000 AND 5099999",
    "count-gt": "SELECT count(*) FROM t WHERE k > 1000",
]

/// A query result as JSON rows (numbers as numbers, everything else formatted).
func rows(of result: QueryResult) -> [[Any]] {
    result.batches.flatMap { batch in
        (0..<batch.length).map { row in
            batch.columns.map { column -> Any in
                switch column.value(at: row) {
                case .float(let value): return value
                case .int(let value): return value
                case .uint(let value): return value
                case .null: return NSNull()
                // Decimals (integer sums are decimal128(38, 0), as DuckDB's HUGEINT) as numbers:
                // integers when they fit, else doubles; only past Int64 with no fraction as text.
                case .decimal(let text):
                    if let integer = Int64(text) { return integer }
                    if text.contains("."), let number = Double(text) { return number }
                    return text
                default: return column.formatValue(at: row)
                }
            }
        }
    }
}

/// Runs query `name` on `path`: the first run (this process is fresh) and warm repeats.
func runQuery(_ name: String, parallelism: Int?, path: String, iterations: Int) throws -> Figures {
    guard let sql = queries[name] else { throw QuiverError(.notFound, "no query \(name)") }
    let options = ExecutionOptions(parallelism: parallelism)
    var result: QueryResult?
    var times: [Double] = []
    var allocated = 0
    for _ in 0..<(iterations + 1) {
        let pool = MemoryPool.default
        pool.resetPeak()
        let before = pool.totalAllocatedBytes
        let start = ContinuousClock.now
        let source: any BatchSource = FileSystem.isDirectory(path)
            ? try StoreTableSource(store: try Store(at: path, log: { _ in }), table: "t")
            : try FileBatchSource(path: path)
        result = try Query(sql: sql, tables: ["t": source, "lineitem": source]).execute(options)
        times.append(seconds(ContinuousClock.now - start))
        allocated = max(allocated, pool.peakAllocatedBytes - before)
    }
    guard let result else { throw QuiverError(.invalidArgument, "no iterations") }
    let warm = summary(Array(times.dropFirst()))
    return warm.merging([
        "first_s": times[0], "allocated_bytes": allocated, "answer": rows(of: result),
        "rows_scanned": result.statistics.rowsScanned, "batches_skipped": result.statistics.batchesSkipped,
        "batches_total": result.statistics.batchesTotal,
        "rows_per_s": Double(result.statistics.rowsScanned) / (warm["median_s"] as? Double ?? 1),
    ]) { $1 }
}

/// The queries of a SQL file: one per line, blank and `--` comment lines skipped (query N is the
/// Nth remaining line, as compare.py counts them).
func queryLines(of file: String) throws -> [String] {
    try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").map {
        $0.trimmingCharacters(in: .whitespaces)
    }.filter { !$0.isEmpty && !$0.hasPrefix("--") }
}

/// Runs the numbered queries of `file` over `path` (see `sql-file` above). A query that throws
/// is reported with its error; the others still run.
func runSQLFile(_ file: String, numbers: [Int]?, table: String, path: String, iterations: Int) throws -> Figures {
    let lines = try queryLines(of: file)
    // compare.py's scale check raises the budget for its large table (see CLICKBENCH_BUDGET_S).
    let budget = ProcessInfo.processInfo.environment["CLICKBENCH_BUDGET_S"].flatMap(Double.init) ?? 5.0
    var reports: [Figures] = []
    for number in numbers ?? Array(1...lines.count) {
        guard lines.indices.contains(number - 1) else {
            reports.append(["number": number, "error": "no query \(number) in \(file)"])
            continue
        }
        let sql = lines[number - 1]
        var times: [Double] = []
        var result: QueryResult?
        do {
            while times.count < iterations + 1 && (times.count < 2 || times.reduce(0, +) < budget) {
                let start = ContinuousClock.now
                let source: any BatchSource = FileSystem.isDirectory(path)
                    ? try StoreTableSource(store: try Store(at: path, log: { _ in }), table: table)
                    : try FileBatchSource(path: path)
                result = try Query(sql: sql, tables: [table: source]).execute()
                times.append(seconds(ContinuousClock.now - start))
            }
        } catch {
            reports.append(["number": number, "error": "\(error)"])
            continue
        }
        guard let result else { continue }
        let warm = summary(times.count > 1 ? Array(times.dropFirst()) : times)
        reports.append(warm.merging([
            "number": number, "first_s": times[0], "repeats": times.count - 1, "answer": rows(of: result),
        ]) { $1 })
    }
    return ["queries": reports]
}

// As the `quiver` command and a service embedding Quiver do (see ProcessAllocator).
ProcessAllocator.keepLargeAllocationsResident()
let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: quiver-peer-workloads WORKLOAD PATH [ITERATIONS]\n".utf8))
    exit(2)
}
let workload = arguments[1], path = arguments[2]
let iterations = arguments.count > 3 ? Int(arguments[3]) ?? 10 : 10
if workload == "store-load", arguments.count > 3 {
    do {
        let reader = try FileReader(path: path)
        let store = try Store.create(at: arguments[3], log: { _ in })
        try store.createTable("t", schema: reader.schema)
        let writer = try store.writer(for: "t")
        for index in 0..<reader.numRecordBatches { try writer.append(try reader.recordBatch(at: index)) }
        try writer.close()
        print("{\"batches\": \(reader.numRecordBatches)}")
        exit(0)
    } catch {
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        exit(1)
    }
}
do {
    let result: Figures
    switch workload {
    case "seed-read-memory":
        let buffer = try loadWhole(path)
        result = try measureRead(iterations) { try FileReader(buffer: buffer).readBatches() }
    case "seed-read-mmap":
        result = try measureRead(iterations) { try FileReader(path: path, source: .memoryMap).readBatches() }
    case "seed-read-file":
        result = try measureRead(iterations) { try FileReader(path: path, source: .read).readBatches() }
    case "seed-read-stream":
        let buffer = try loadWhole(path)
        result = try measureRead(iterations) { try StreamReader(buffer: buffer).readBatches() }
    case "seed-read-stream-mmap":
        result = try measureRead(iterations) { try StreamReader(path: path, source: .memoryMap).readBatches() }
    case "seed-batch":
        let reader = try FileReader(path: path)
        var batches: [RecordBatch] = []
        let times = try timed(iterations) { batches = try (0..<reader.numRecordBatches).map(reader.recordBatch(at:)) }
        result = times.merging([
            "per_batch_us": (times["median_s"] as? Double ?? 0) / Double(reader.numRecordBatches) * 1e6,
            "allocated_bytes": 0, "checksum": SeedWorkload.sum(of: batches),
        ]) { $1 }
    case "seed-write", "seed-write-file":
        let batches = try FileReader(path: path).readBatches()
        let target = path + ".quiver-out"
        var written = 0
        let times = try timed(iterations) {
            let output: any ByteOutput = workload == "seed-write" ? BufferOutputStream() : try FileOutput(path: target)
            let writer = try FileWriter(output: output, schema: batches[0].schema)
            for batch in batches { try writer.write(batch) }
            try writer.finish()
            if let memory = output as? BufferOutputStream { written = memory.getvalue().count }
            if let file = output as? FileOutput { written = file.position; try file.close() }
        }
        try? FileManager.default.removeItem(atPath: target)
        result = times.merging([
            "allocated_bytes": workload == "seed-write" ? written : 0, "checksum": Int64(written),
            "gb_per_s": Double(written) / (times["median_s"] as? Double ?? 1) / 1e9,
        ]) { $1 }
    case "open-footer":
        let times = try timed(iterations) { _ = try FileReader(path: path) }
        // Pages touched: drop the file from the page cache, turn the kernel's read-around off
        // for a mapping, open a reader on it, and count the file's pages now in the cache.
        let file = try MappedFile(path: path)
        try file.advise(.random)
        try evictPageCache(path)
        let residentBefore = try file.residentBytes()
        let reader = try FileReader(input: file)
        let pages = (try file.residentBytes() - residentBefore) / MemoryUsage.pageSize
        result = times.merging([
            "allocated_bytes": 0, "checksum": Int64(reader.numRecordBatches), "pages_touched": pages,
            "file_bytes": file.size,
        ]) { $1 }
    case "scan-sum":
        let batches = try FileReader(path: path).readBatches()
        var total = SeedWorkload.total(of: batches)  // makes the column resident first
        let bytes = batches.reduce(0) { $0 + $1.length * 4 }
        let times = timed(iterations) { total = SeedWorkload.total(of: batches) }
        result = times.merging([
            "allocated_bytes": 0, "checksum": total,
            "gb_per_s": Double(bytes) / (times["median_s"] as? Double ?? 1) / 1e9,
        ]) { $1 }
    case "scan-bounded", "scan-unbounded":
        result = try scanBounded(path, advising: workload == "scan-bounded", readAheadMiB: arguments.count > 3 ? iterations : 8)
    case "read-all", "read-all-trusted", "read-all-shared":
        let options = IPCReadOptions(trusted: workload == "read-all-trusted")
        let source: FileSource = workload == "read-all-shared" ? .sharedMemoryMap : .memoryMap
        result = try measureRead(iterations, checksum: readChecksum) {
            try FileReader(path: path, source: source, options: options).readAll().batches
        }
    case "decode-1t":
        let reader = try FileReader(path: path, source: .memoryMap, options: IPCReadOptions(useThreads: false))
        var batches: [RecordBatch] = []
        var allocated = 0
        let times = try timed(iterations) {
            batches = []
            let before = MemoryPool.default.totalAllocatedBytes
            for index in 0..<reader.numRecordBatches { batches.append(try reader.recordBatch(at: index)) }
            allocated = MemoryPool.default.totalAllocatedBytes - before
        }
        let bytes = batches.reduce(0) { $0 + $1.columns.reduce(0) { $0 + decodedBytes($1) } }
        result = times.merging([
            "allocated_bytes": allocated, "checksum": readChecksum(batches), "output_bytes": bytes,
            "gb_per_s": Double(bytes) / (times["median_s"] as? Double ?? 1) / 1e9,
        ]) { $1 }
    case let name where name == "store-append" || name.hasPrefix("store-append:"):
        let parts = name.split(separator: ":")
        let rounds = parts.count > 1 ? Int(parts[1]) ?? 1 : 1
        result = try storeAppend(path: path, rounds: rounds, minMax: !parts.contains("no-minmax"), iterations: iterations)
    case "store-statistics":
        result = try storeStatistics(path: path, iterations: iterations)
    case "sql-file":
        guard arguments.count > 4 else { throw QuiverError(.invalidArgument, "sql-file PATH ITERATIONS SQLFILE [NUMBERS] [TABLE]") }
        let numbers = arguments.count > 5 && !arguments[5].isEmpty
            ? arguments[5].split(separator: ",").compactMap { Int($0) } : nil
        result = try runSQLFile(
            arguments[4], numbers: numbers, table: arguments.count > 6 ? arguments[6] : "hits", path: path,
            iterations: iterations)
    case "store-vs-file":
        guard arguments.count > 6 else { throw QuiverError(.invalidArgument, "store-vs-file PATH ITERATIONS SQLFILE NUMBERS STORE [TABLE]") }
        result = try storeVersusFile(
            file: path, store: arguments[6], table: arguments.count > 7 ? arguments[7] : "t", sqlFile: arguments[4],
            numbers: arguments[5].split(separator: ",").compactMap { Int($0) }, iterations: iterations)
    case let name where name.hasPrefix("output:"):
        result = try writeOutput(format: String(name.dropFirst("output:".count)), iterations: iterations)
    case let name where name.hasPrefix("query:"):
        let parts = name.split(separator: ":").map(String.init)
        result = try runQuery(parts[1], parallelism: parts.count > 2 ? Int(parts[2]) : nil, path: path, iterations: iterations)
    default:
        FileHandle.standardError.write(Data("unknown workload \(workload)\n".utf8))
        exit(2)
    }
    // VmHWM of this process (ru_maxrss as the parent sees it starts at the parent's size).
    let figures = result["peak_rss_bytes"] == nil
        ? result.merging(["peak_rss_bytes": try MemoryUsage.peakResidentSetBytes()]) { $1 } : result
    let json = try JSONSerialization.data(withJSONObject: figures, options: [.sortedKeys])
    print(String(decoding: json, as: UTF8.self))
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(1)
}
