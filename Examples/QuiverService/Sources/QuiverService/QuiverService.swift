import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus
import Quiver
import ServiceLifecycle

/// A reference HTTP service embedding Quiver (see the README's "Quiver in a service"):
///
/// - `POST /tables/{name}`: an Arrow IPC stream body, decoded as it arrives and appended as
///   one commit (all of the body's batches or none); the table is created if missing.
///   Answers `{"table":…,"rows":N}`, the rows committed.
/// - `GET /query?sql=…` or `POST /query` (SQL as the body): JSON rows, or an Arrow IPC stream
///   with `Accept: application/vnd.apache.arrow.stream` (also NDJSON, CSV). Each query
///   scans fresh snapshots of the tables: it sees every commit before it and never waits
///   for an append in flight.
/// - `GET /metrics`: Prometheus text: allocated, mapped resident and resident-set bytes,
///   queries served, query latency, rows ingested.
///
/// Quiver errors map to statuses by `QuiverError.httpStatus` (4xx for the caller's, 5xx
/// for ours) with Quiver's message as the body. SIGINT/SIGTERM shut down gracefully:
/// requests in flight finish, then every writer is closed.
@main
struct QuiverServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "quiver-service", abstract: "Serve a Quiver store over HTTP.")

    @Option(help: "The store directory (created if missing).") var store: String
    @Option(help: "The address to listen on.") var host = "127.0.0.1"
    @Option(help: "The port to listen on (0: any free port, printed at start).") var port = 8080
    @Option(help: "The largest request body accepted, in bytes.") var maxBodyBytes = 1 << 30

    func run() async throws {
        // Queries free and reallocate blocks of several MiB (see ProcessAllocator).
        ProcessAllocator.keepLargeAllocationsResident()
        var logger = Logger(label: "quiver-service")
        logger.logLevel = .info
        let store = try Store.openOrCreate(at: self.store)
        let metrics = ServiceMetrics()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics.registry))
        let writers = Writers(store: store)
        let router = Router()
        router.add(middleware: MetricsMiddleware())
        let service = Service(store: store, writers: writers, metrics: metrics, maxBodyBytes: maxBodyBytes)
        service.register(on: router)
        let app = Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "quiver-service"),
            onServerRunning: { channel in
                // Scripts wait for this line and read the port from it.
                FileHandle.standardOutput.write(Data("quiver-service listening on \(channel.localAddress?.description ?? "?")\n".utf8))
            },
            logger: logger)
        let group = ServiceGroup(
            configuration: .init(services: [writers, app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// The service's Prometheus registry and the series it keeps.
struct ServiceMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let allocated: Prometheus.Gauge
    let mappedResident: Prometheus.Gauge
    let resident: Prometheus.Gauge
    let queries: Prometheus.Counter
    let queryErrors: Prometheus.Counter
    let rowsIngested: Prometheus.Counter
    let latency: DurationHistogram

    init() {
        allocated = registry.makeGauge(descriptor: .init(metricName: "quiver_allocated", unitName: "bytes", helpText:
            "Heap bytes Quiver holds (MemoryPool)."))
        mappedResident = registry.makeGauge(descriptor: .init(metricName: "quiver_mapped_resident", unitName: "bytes", helpText:
            "Resident bytes of Quiver's file mappings."))
        resident = registry.makeGauge(descriptor: .init(metricName: "quiver_resident_set", unitName: "bytes", helpText:
            "The process's resident set."))
        queries = registry.makeCounter(descriptor: .init(metricName: "quiver_queries", unitName: "total", helpText:
            "Queries answered."))
        queryErrors = registry.makeCounter(descriptor: .init(metricName: "quiver_query_errors", unitName: "total", helpText:
            "Queries refused or failed."))
        rowsIngested = registry.makeCounter(descriptor: .init(metricName: "quiver_rows_ingested", unitName: "total", helpText:
            "Rows committed by POST /tables."))
        latency = registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                metricName: "quiver_query_duration", unitName: "seconds", helpText: "Query latency, from request to last byte."),
            buckets: [.microseconds(500), .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(50),
                      .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5)])
    }
}

/// One shared writer per table, opened on first use (creating the table), closed at shutdown.
actor Writers: ServiceLifecycle.Service {
    let store: Store
    private var open: [String: SharedTableWriter] = [:]

    init(store: Store) { self.store = store }

    /// The writer of `table`, creating the table with `schema` if it does not exist.
    func writer(for table: String, schema: Schema) throws -> SharedTableWriter {
        if let writer = open[table] { return writer }
        try store.createTableIfMissing(table, schema: schema)
        let writer = SharedTableWriter(try store.writer(for: table))
        open[table] = writer
        return writer
    }

    /// Waits for shutdown, then closes every writer (after the server stopped: the group
    /// shuts services down in reverse order).
    func run() async throws {
        try? await gracefulShutdown()
        for (_, writer) in open { try await writer.close() }
        open = [:]
    }
}

/// Collects what a result writer writes, handed on to the response chunk by chunk.
final class ChunkOutput: ByteOutput {
    private(set) var bytes: [UInt8] = []
    var position = 0
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        self.bytes.append(contentsOf: bytes)
        position += bytes.count
    }
    func flush() throws {}
    /// The bytes written since the last `take()`.
    func take() -> ByteBuffer {
        defer { bytes.removeAll(keepingCapacity: true) }
        return ByteBuffer(bytes: bytes)
    }
}

struct Service: Sendable {
    let store: Store
    let writers: Writers
    let metrics: ServiceMetrics
    let maxBodyBytes: Int

    func register(on router: Router<BasicRequestContext>) {
        router.post("/tables/:name") { request, context in try await ingest(request, context) }
        router.get("/query") { request, _ in
            try await query(request.uri.queryParameters["sql"].map(String.init), request)
        }
        router.post("/query") { request, _ in
            let body = try await request.body.collect(upTo: maxBodyBytes)
            return try await query(String(buffer: body), request)
        }
        router.get("/metrics") { _, _ in try metricsText() }
    }

    /// Maps Quiver's errors to HTTP: its status rule, its message.
    func httpError(_ error: any Error) -> any Error {
        guard let error = error as? QuiverError else { return error }
        return HTTPError(.init(code: error.httpStatus), message: error.description + "\n")
    }

    func ingest(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let table = try context.parameters.require("name")
        let decoder = StreamDecoder(maxBufferedBytes: maxBodyBytes)
        var batches: [RecordBatch] = []
        var received = 0
        do {
            for try await chunk in request.body {
                received += chunk.readableBytes
                guard received <= maxBodyBytes else { throw HTTPError(.contentTooLarge, message: "body over \(maxBodyBytes) bytes\n") }
                batches += try chunk.withUnsafeReadableBytes { try decoder.feed($0) }
            }
            batches += try decoder.finish()
            guard let schema = decoder.schema else { throw QuiverError(.invalidMessage, "no schema") }
            let writer = try await writers.writer(for: table, schema: schema)
            if !batches.isEmpty { try await writer.append(contentsOf: batches) }
        } catch {
            throw httpError(error)
        }
        let rows = batches.reduce(0) { $0 + $1.length }
        metrics.rowsIngested.increment(by: Int64(rows))
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: "{\"table\":\(JSONText.quoted(table)),\"rows\":\(rows)}\n")))
    }

    func query(_ sql: String?, _ request: Request) async throws -> Response {
        let start = ContinuousClock.now
        let format = request.headers[.accept].flatMap(OutputFormat.init(mediaType:)) ?? .json
        let schema: Schema
        var iterator: QueryStream.Iterator
        let first: RecordBatch?
        do {
            guard let sql, !sql.isEmpty else { throw QuiverError(.invalidArgument, "no SQL: pass ?sql=… or POST it as the body") }
            var tables: [String: any BatchSource] = [:]
            for name in try store.tableNames() { tables[name] = try StoreTableSource(store: store, table: name) }
            let query = try Query(sql: sql, tables: tables)
            schema = try query.outputSchema()
            iterator = query.stream().makeAsyncIterator()
            // The first batch (or the error) before the status goes out.
            first = try await iterator.next()
        } catch {
            metrics.queryErrors.increment()
            throw httpError(error)
        }
        let handed = iterator
        let metrics = self.metrics
        return Response(
            status: .ok, headers: [.contentType: format.mediaType],
            body: ResponseBody { (writer: inout any ResponseBodyWriter) in
                let output = ChunkOutput()
                let results = try format.writer(to: output, schema: schema)
                var rest = handed
                var next = first
                while let batch = next {
                    try results.write(batch)
                    try await writer.write(output.take())
                    next = try await rest.next()
                }
                try results.finish()
                try await writer.write(output.take())
                try await writer.finish(nil)
                metrics.queries.increment()
                metrics.latency.record(ContinuousClock.now - start)
            })
    }

    func metricsText() throws -> Response {
        let memory = try store.memoryUsage()
        metrics.allocated.set(Double(memory.allocatedBytes))
        metrics.mappedResident.set(Double(memory.mappedResidentBytes))
        metrics.resident.set(Double(memory.residentSetBytes))
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
            body: .init(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer())))
    }
}
