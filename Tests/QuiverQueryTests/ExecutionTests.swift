import QuiverArrow
import QuiverBytes
import Testing
@testable import QuiverQuery

/// Parallel execution, streaming and memory behaviour.
@Suite struct ExecutionTests {
    /// Results are bit-identical across runs and thread counts (partials merge in batch order).
    @Test func resultsAreDeterministic() throws {
        let (source, _) = try TPCHTests.generate(rows: 40_000, batchSize: 1000, seed: 7)
        let queries = [
            TPCHTests.q1SQL, TPCHTests.q6SQL,
            "SELECT l_quantity, count(*), sum(l_extendedprice) FROM lineitem GROUP BY l_quantity",
            "SELECT l_extendedprice, l_shipdate FROM lineitem WHERE l_discount > 0.05 ORDER BY l_quantity DESC, l_tax LIMIT 25",
            "SELECT l_extendedprice FROM lineitem WHERE l_quantity < 3 LIMIT 100",
        ]
        for sql in queries {
            let query = try Query(sql: sql, tables: ["lineitem": source])
            let first = Read.rows(try query.execute(ExecutionOptions(parallelism: 1)).batches)
            for parallelism in [2, 3, 8] {
                for _ in 0..<2 {
                    let again = Read.rows(try query.execute(ExecutionOptions(parallelism: parallelism)).batches)
                    #expect(again == first, "\(sql) at parallelism \(parallelism)")
                }
            }
        }
    }

    /// LIMIT without ORDER BY returns the first rows in batch order, and stops scanning.
    @Test func limitTakesLeadingRowsAndStopsEarly() throws {
        let batches = try (0..<50).map { b in try Make.batch([("i", Make.int64((0..<100).map { Int64(b * 100 + $0) }))]) }
        let source = try InMemorySource(batches: batches)
        let result = try Query(sql: "SELECT i FROM t WHERE i % 2 = 0 LIMIT 120", tables: ["t": source]).execute()
        #expect(Read.rows(result.batches) == (0..<120).map { [.int(Int64($0 * 2))] })
        #expect(result.statistics.batchesScanned < 50)
        #expect(try Query(source).limit(0).execute().numRows == 0)
    }

    /// The first error in batch order is reported, with its batch.
    @Test func errorsAreDeterministic() throws {
        let batches = try (0..<20).map { b in try Make.batch([("i", Make.int64([b == 5 || b == 12 ? .max : 1]))]) }
        let source = try InMemorySource(batches: batches)
        for parallelism in [1, 4] {
            do {
                _ = try Query(sql: "SELECT i + 1 FROM t", tables: ["t": source]).execute(ExecutionOptions(parallelism: parallelism))
                Issue.record("expected overflow")
            } catch let error as QuiverError {
                #expect(error.code == .query && error.message.contains("overflow"))
                #expect(error.context == ["record batch 5"])
            }
        }
    }

    /// A source returning batches that contradict its schema is a typed error.
    @Test func inconsistentSourceIsAnError() throws {
        struct Liar: BatchSource {
            let schema = Schema([Field("a", .int64), Field("b", .utf8)])
            let batchCount = 2
            func batch(at index: Int, columns: [Int]) throws -> RecordBatch {
                let a: ArrayData = index == 0 ? Make.int64([1]) : ArrayData(type: .int64, length: 1_000_000, buffers: [.empty, .empty])
                return RecordBatch(uncheckedSchema: schema, columns: [a, Make.utf8(["x"])], length: index == 0 ? 1 : 1_000_000)
            }
            func statistics(batch: Int, column: Int) -> ColumnStatistics? { nil }
        }
        do {
            _ = try Query(Liar()).aggregate([sum(col("a"))]).execute()
            Issue.record("expected an error")
        } catch let error as QuiverError {
            #expect(error.code == .invalidData || error.code == .schemaMismatch, "\(error)")
        }
    }

    /// Projection pushdown: only needed columns are requested and read; row-wise outputs of
    /// plain columns are the input's buffers, not copies.
    @Test func scanDoesNotCopyInputColumns() throws {
        final class Recorder: BatchSource, @unchecked Sendable {
            let inner: InMemorySource
            var requested: [[Int]] = []
            init(_ inner: InMemorySource) { self.inner = inner }
            var schema: Schema { inner.schema }
            var batchCount: Int { inner.batchCount }
            func batch(at index: Int, columns: [Int]) throws -> RecordBatch {
                requested.append(columns)
                return try inner.batch(at: index, columns: columns).selecting(columns)
            }
            func statistics(batch: Int, column: Int) -> ColumnStatistics? { nil }
        }
        let batch = try Make.batch([("a", Make.int64([1, 2, 3])), ("b", Make.float64([1, 2, 3])), ("s", Make.utf8(["x", "y", "z"]))])
        let source = Recorder(try InMemorySource(batches: [batch]))
        let pool = MemoryPool()
        let result = try Query(source).filter(col("a") > 0).select(col("s"), col("a")).execute(ExecutionOptions(parallelism: 1, pool: pool))
        #expect(source.requested == [[0, 2]])
        let out = result.batches[0]
        #expect(out.columns[0].buffers[2].baseAddress == batch.columns[2].buffers[2].baseAddress)
        #expect(out.columns[1].buffers[1].baseAddress == batch.columns[0].buffers[1].baseAddress)
        // Nothing allocated for the query is still held: the output is views of the input.
        #expect(pool.totalAllocatedBytes == 0)
    }

    /// Only results and per-batch scratch are allocated: a selective aggregate over 8 MB of
    /// input allocates a small fraction of that at its peak.
    @Test func memoryStaysSmall() throws {
        let (source, _) = try TPCHTests.generate(rows: 200_000, batchSize: 8192)
        let pool = MemoryPool()
        _ = try Query(sql: TPCHTests.q6SQL, tables: ["lineitem": source]).execute(ExecutionOptions(parallelism: 2, pool: pool))
        let input = 200_000 * (6 * 8 + 4)
        #expect(pool.peakAllocatedBytes < input / 8, "peak \(pool.peakAllocatedBytes) of \(input)")
        #expect(pool.totalAllocatedBytes == 0)
    }

    /// Types the engine does not compute on pass through unfiltered queries, untouched; asking
    /// it to filter, sort or compare them is a typed error.
    @Test func unsupportedTypesPassThrough() throws {
        let values = Make.int32([1, 2, 3])
        let list = ArrayData(type: .list(Field("item", .int32)), length: 2, buffers: [.empty, Buffer(copyingValues: [Int32(0), 1, 3])], children: [values])
        let batch = try Make.batch([("a", Make.int64([1, 2])), ("l", list)])
        let source = try InMemorySource(batches: [batch])
        let all = try Query(source).execute()
        #expect(all.batches[0].columns[1].children[0].buffers[1].baseAddress == values.buffers[1].baseAddress)
        #expect(Read.rows(try Query(source).aggregate([count(col("l")), sum(col("a"))]).execute().batches) == [[.int(2), .int(3)]])
        for query in [Query(source).filter(col("a") > 1), Query(source).orderBy(col("l")), Query(source).filter(col("l") == col("l")),
                      Query(source).aggregate([count()], groupBy: [col("l")])] {
            #expect(throws: QuiverError.self) { try query.execute() }
        }
    }

    @Test func streamYieldsTheSameBatches() async throws {
        let batches = try (0..<12).map { b in try Make.batch([("i", Make.int64((0..<10).map { Int64(b * 10 + $0) }))]) }
        let source = try InMemorySource(batches: batches)
        let query = try Query(sql: "SELECT i * 2 AS d FROM t WHERE i % 3 = 0", tables: ["t": source])
        var streamed: [RecordBatch] = []
        for try await batch in query.stream(ExecutionOptions(parallelism: 2)) { streamed.append(batch) }
        #expect(streamed.count == 12)
        #expect(Read.rows(streamed) == Read.rows(try query.execute().batches))
        // Stopping early is fine; aggregates arrive as one batch.
        var iterator = query.stream().makeAsyncIterator()
        #expect(try await iterator.next()?.length == 4)
        var aggregated: [RecordBatch] = []
        for try await batch in try Query(sql: "SELECT count(*) FROM t", tables: ["t": source]).stream() { aggregated.append(batch) }
        #expect(Read.rows(aggregated) == [[.int(120)]])
        // Planning errors surface on the first next().
        var failing = Query(source).select(col("missing")).stream().makeAsyncIterator()
        await #expect(throws: QuiverError.self) { _ = try await failing.next() }
    }
}
