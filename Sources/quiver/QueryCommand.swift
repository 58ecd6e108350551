import ArgumentParser
import Foundation
import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverOutput
import QuiverQuery
import QuiverStore

/// How `quiver query` prints its result.
enum ResultFormat: String, ExpressibleByArgument, CaseIterable {
    case table, csv, json, arrow
}

struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Run SQL over an Arrow file or a store (memory-mapped, zero-copy).",
        discussion: """
            A file is the table `t`, and also the file's name without extension when that is an
            identifier (lineitem.arrow → lineitem); a store directory's tables go by their names. Supported: SELECT expressions [AS name] FROM t
            [WHERE …] [GROUP BY …] [HAVING …] [ORDER BY … [ASC|DESC]] [LIMIT n]; prefix EXPLAIN to
            see the plan, the columns touched and the batches statistics skip.
            """)

    @Argument(help: "An Arrow file, or a store directory.") var path: String
    @Argument(help: "The SQL statement.") var sql: String
    @Option(help: "Output: table, csv, json (one object per row) or arrow (an IPC stream).") var format: ResultFormat = .table
    @Option(help: "Rows to print with --format table.") var maxRows: Int = 100
    @Option(help: "Worker threads (default: every core).") var threads: Int?
    @Option(name: .shortAndLong, help: "Write the result here instead of standard output.") var output: String?
    @Flag(help: "Print time, batches skipped, bytes allocated, RSS, bytes read from disk and major faults to standard error.")
    var stats = false
    @Option(name: .customLong("repeat"), help: "Run the query this many times in this process and report the fastest and median run (with --stats): warm timings.")
    var repetitions: Int = 1
    @Option(name: .customLong("read-ahead"), help: "MiB of the query's columns to request from disk ahead of the scan (MADV_WILLNEED); 0: read each page when first touched.")
    var readAheadMiB: Int = ScanIOPolicy.default.readAhead >> 20
    @Option(name: .customLong("io-threads"), help: "Threads that request the read-ahead window from the kernel.")
    var ioThreads: Int = ScanIOPolicy.default.planners
    @Flag(help: "Keep the pages a scan read from disk mapped after their batch is done (default: release them, so the kernel reclaims them first).")
    var keepPages = false
    @Option(name: .customLong("cache-budget"), help: "MiB of the query's columns that may stay in the page cache after the scan; batches past it are read around the cache (O_DIRECT) or evicted once used (default: what the memory limit allows).")
    var cacheBudgetMiB: Int?
    @Flag(help: "Verify each store batch's checksum as it is read: damaged data fails the query instead of altering its result.")
    var verify = false

    func run() throws {
        let start = ContinuousClock.now
        let pool = MemoryPool.default
        let allocatedBefore = pool.totalAllocatedBytes
        let rssBefore = try? MemoryUsage.residentSetBytes()
        let diskBefore = try? MemoryUsage.storageReadBytes()
        let faultsBefore = try? MemoryUsage.majorFaults()
        let io = ScanIOPolicy(
            readAhead: max(0, readAheadMiB) << 20, prefetch: readAheadMiB > 0 ? .willNeed : .none, planners: ioThreads,
            releaseBehind: !keepPages, cacheBudget: cacheBudgetMiB.map { $0 << 20 })
        let tables = try Query.tables(at: path, verifyChecksums: verify, ioPolicy: io)
        let query: Query
        do {
            query = try Query(sql: sql, tables: tables)
        } catch let error as QuiverError {
            throw QueryFailure(error: error)
        }
        var result: QueryResult
        var runs: [Duration] = []
        do {
            result = try query.execute(ExecutionOptions(parallelism: threads, pool: pool))
            runs.append(ContinuousClock.now - start)
            for _ in 1..<max(1, repetitions) {
                let again = ContinuousClock.now
                result = try query.execute(ExecutionOptions(parallelism: threads, pool: pool))
                runs.append(ContinuousClock.now - again)
            }
        } catch let error as QuiverError {
            throw QueryFailure(error: error)
        }
        let elapsed = runs[0]
        let allocated = pool.totalAllocatedBytes - allocatedBefore
        let sink = try openOutput(output ?? "-")
        try ResultWriter.write(result, format: format, maxRows: maxRows, to: sink)
        try sink.close()
        if stats {
            let rss = (try? MemoryUsage.residentSetBytes()).flatMap { after in rssBefore.map { after - $0 } }
            let s = result.statistics
            var line = "time \(elapsed)  batches \(s.batchesTotal) (skipped \(s.batchesSkipped))  "
            line += "rows \(result.numRows)  allocated \(allocated) B"
            if s.aggregationPartials > 0 { line += "  partial aggregates \(s.aggregationPartials)" }
            if let rss { line += "  RSS Δ \(rss) B" }
            if let peak = try? MemoryUsage.peakResidentSetBytes() { line += "  peak RSS \(peak) B" }
            // I/O over every run: bytes the kernel read from storage for this process (reads,
            // faults and the read-ahead they started) and faults that waited for the disk.
            if let before = diskBefore, let after = try? MemoryUsage.storageReadBytes() {
                line += "  read from disk \(after - before) B"
            }
            if let before = faultsBefore, let after = try? MemoryUsage.majorFaults() {
                line += "  major faults \(after - before)"
            }
            if runs.count > 1 {
                let sorted = runs.dropFirst().sorted()
                line += "  repeated \(runs.count - 1)×: fastest \(sorted[0]), median \(sorted[sorted.count / 2])"
            }
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }
}

/// A query error, printed with its message (which points at the offending token) and no usage.
struct QueryFailure: Error, CustomStringConvertible {
    let error: QuiverError
    var description: String { error.message }
}

/// Renders query results as a table (here: it is for people), or as CSV, JSON lines or an
/// Arrow stream through QuiverOutput's writers.
enum ResultWriter {
    static func write(_ result: QueryResult, format: ResultFormat, maxRows: Int, to output: FileOutput) throws {
        switch format {
        case .arrow: try QuiverOutput.OutputFormat.arrow.write(result.batches, schema: result.schema, to: output)
        case .csv: try QuiverOutput.OutputFormat.csv.write(result.batches, schema: result.schema, to: output)
        case .json: try QuiverOutput.OutputFormat.ndjson.write(result.batches, schema: result.schema, to: output)
        case .table where result.schema.fields.map(\.name) == ["plan"]:
            // EXPLAIN: the plan's lines, unabridged.
            var text = ""
            for batch in result.batches {
                for row in 0..<batch.length { text += batch.columns[0].formatValue(at: row) + "\n" }
            }
            try output.write(Array(text.utf8))
        case .table:
            let table = try Table(schema: result.schema, batches: result.batches)
            try output.write(Array((TablePrinter.render(table: table, limit: maxRows) + "\n").utf8))
        }
    }
}
