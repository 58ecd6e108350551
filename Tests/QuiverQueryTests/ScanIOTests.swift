import Foundation
import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverQuery
import QuiverStore
import QuiverTestSupport
import Testing

/// A query's scan of a cold file reads from disk only the pages of the columns it needs:
/// the file's pages are evicted from the page cache first, and `mincore` counts what the
/// query brought back. Before planned scans, the kernel's read-around on each mapping fault
/// (`read_ahead_kb`, often megabytes) pulled in every column of the batch.
@Suite(.tags(.untrustedInput), .serialized) struct ScanIOTests {
    static let columns = 16
    static let rows = 32_768
    static let batches = 16

    /// A wide batch of random int64s (random: so compression cannot shrink the columns away).
    static func wideBatch() -> RecordBatch {
        var random = SeededRandom(seed: 18)
        let fields = (0..<columns).map { Field("c\($0)", .int64) }
        let data = (0..<columns).map { _ in Int64Array(values: (0..<rows).map { _ in Int64.random(in: 0..<1_000_000, using: &random) }).data }
        return RecordBatch(uncheckedSchema: Schema(fields), columns: data, length: rows)
    }

    /// Writes `batch` `batches` times to a fresh file, syncs it and evicts its pages.
    static func writeCold(_ batch: RecordBatch, compression: CompressionCodec? = nil) throws -> String {
        let path = try TestPaths.temporaryDirectory("quiver-scan-io").appendingPathComponent("wide.arrow").path
        let output = try FileOutput(path: path)
        let writer = try FileWriter(output: output, schema: batch.schema, options: IPCWriteOptions(compression: compression))
        for _ in 0..<batches { try writer.write(batch) }
        try writer.finish()
        try output.sync()
        try output.close()
        try evict(path)
        return path
    }

    static func evict(_ path: String) throws {
        let descriptor = try FileDescriptor.open(path, .readOnly)
        defer { try? descriptor.close() }
        try descriptor.advise(.dontNeed)
    }

    /// Syncs a store table's files and evicts their pages; returns their paths.
    static func evictFiles(of source: StoreTableSource) throws -> Set<String> {
        let paths = Set(source.snapshot.files.map(\.path))
        for path in paths {
            let descriptor = try FileDescriptor.open(path, .readOnly)
            try descriptor.sync()
            try descriptor.close()
            try evict(path)
        }
        return paths
    }

    /// Bytes of the file in the page cache now (a fresh mapping: `mincore` looks at the cache).
    static func residentBytes(_ path: String) throws -> Int {
        try MappedFile(path: path).residentBytes()
    }

    /// Bytes of this process's mappings of the file at `path` that are mapped in now: the
    /// `Rss` of its entries in `/proc/self/smaps` (only this file's, whatever else is mapped).
    static func mappedResidentBytes(ofFile path: String) throws -> Int {
        // Matched by its directory (unique per test) and name: smaps may spell the directory
        // through a resolved temporary-directory path.
        let url = URL(fileURLWithPath: path)
        let suffix = "/" + url.deletingLastPathComponent().lastPathComponent + "/" + url.lastPathComponent
        var inside = false
        var total = 0
        // Read to the end: /proc files report a size of 0.
        let smaps = try #require(FileHandle(forReadingAtPath: "/proc/self/smaps")).readToEnd() ?? Data()
        for line in String(decoding: smaps, as: UTF8.self).split(separator: "\n") {
            // An entry starts "7f12a000-7f12b000 r--s 00000000 fd:01 1234   /path"; then "Rss:  48 kB".
            if let dash = line.firstIndex(of: "-"), UInt(line[..<dash], radix: 16) != nil {
                inside = line.hasSuffix(suffix)
            } else if inside, line.hasPrefix("Rss:") {
                total += (line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0) * 1024
            }
        }
        return total
    }

    static func cleanUp(_ path: String) {
        MappingCache.shared.remove(path: path)
        try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path)
    }

    /// The bytes of `column` in every batch as stored (compressed, if the file is).
    static func storedBytes(_ reader: FileReader, column: Int) throws -> Int {
        try (0..<reader.numRecordBatches).reduce(0) { total, batch in
            total + (try reader.bodyRanges(ofBatch: batch, columns: [column]).reduce(0) { $0 + $1.count })
        }
    }

    @Test(arguments: [nil, CompressionCodec.lz4Frame, .zstd])
    func aColdProjectedQueryReadsOnlyItsColumnsPages(compression: CompressionCodec?) throws {
        let batch = Self.wideBatch()
        let path = try Self.writeCold(batch, compression: compression)
        defer { Self.cleanUp(path) }
        let pageSize = MemoryUsage.pageSize
        let fileSize = try #require(FileIdentity.current(path: path)).size
        try #require(try Self.residentBytes(path) <= 4 * pageSize, "the page cache was not evicted")

        let source = try FileBatchSource(path: path)
        let touched = 7
        let columnBytes = try Self.storedBytes(source.reader, column: touched)
        #expect(columnBytes * 8 < fileSize)
        let opened = try Self.residentBytes(path)
        try #require(opened <= (4 * Self.batches + 8) * pageSize, "opening read \(opened) bytes, more than metadata")

        let result = try Query(sql: "SELECT sum(c7) AS s FROM t", tables: ["t": source]).execute()
        let expected = try Int64Array(batch.columns[touched]).values.reduce(0, &+) * Int64(Self.batches)
        #expect(result.batches[0].columns[0].formatValue(at: 0) == "\(expected)")

        // The column, plus per batch its metadata and the partial pages at the column's ends.
        let resident = try Self.residentBytes(path)
        #expect(resident >= columnBytes)
        #expect(Double(resident) <= 1.2 * Double(columnBytes) + Double(Self.batches * 3 * pageSize + 4 * pageSize),
            "resident \(resident) of a \(fileSize)-byte file; the column is \(columnBytes)")
    }

    @Test func warmQueriesReadNothingAndGiveTheSameAnswer() throws {
        let path = try Self.writeCold(Self.wideBatch())
        defer { Self.cleanUp(path) }
        let source = try FileBatchSource(path: path)
        let query = try Query(sql: "SELECT sum(c3) AS s, count(*) AS n FROM t WHERE c5 < 500000", tables: ["t": source])
        let cold = try query.execute()
        let afterCold = try Self.residentBytes(path)
        let warm = try query.execute()
        #expect(warm.batches[0].logicallyEquals(cold.batches[0]))
        // Released pages stay in the page cache: the warm run finds them there.
        #expect(try Self.residentBytes(path) == afterCold)
        // The same answer as a whole-file read, which plans nothing.
        let all = try InMemorySource(batches: try source.reader.readBatches(), computeStatistics: false)
        let reference = try Query(sql: "SELECT sum(c3) AS s, count(*) AS n FROM t WHERE c5 < 500000", tables: ["t": all]).execute()
        #expect(reference.batches[0].logicallyEquals(cold.batches[0]))
    }

    /// A column partly in the page cache (one page in three of each batch's range cached,
    /// as after evictions under pressure) is requested, and released after use, page by page:
    /// the cached pages the scan reads stay mapped, and the pages it brought in stay cached, so
    /// the next scan finds all of it. Before, any range short of a page counted as missing
    /// whole and was unmapped after every scan, and warm scans of such a file kept faulting
    /// every page back in.
    @Test func aPartlyCachedColumnIsRequestedAndReleasedPageByPage() throws {
        let path = try Self.writeCold(Self.wideBatch())
        defer { Self.cleanUp(path) }
        let source = try FileBatchSource(path: path)
        let ranges = try (0..<Self.batches).flatMap { try source.reader.bodyRanges(ofBatch: $0, columns: [3]) }
        let page = MemoryUsage.pageSize
        // Cache every third page of the column through a plain read (no mapping of ours).
        let handle = try #require(FileHandle(forReadingAtPath: path))
        var cachedPages = 0
        for range in ranges {
            for start in stride(from: range.lowerBound / page * page, to: range.upperBound, by: 3 * page) {
                try handle.seek(toOffset: UInt64(start))
                _ = try handle.read(upToCount: 1)
                cachedPages += 1
            }
        }
        try handle.close()
        let gaps = try ranges.flatMap { try MappedFile(path: path).nonResidentRanges(in: $0) }
        #expect(gaps.count >= ranges.count, "every range has pages missing")
        #expect(try Self.residentBytes(path) >= (cachedPages - 2 * ranges.count) * page)
        let query = try Query(sql: "SELECT sum(c3) AS s FROM t", tables: ["t": source])
        _ = try query.execute()
        // The cached pages it read stay mapped in this process (only what it fetched went).
        let stillMapped = try Self.mappedResidentBytes(ofFile: path)
        #expect(stillMapped >= (cachedPages - 2 * ranges.count) * page, "\(stillMapped) bytes still mapped")
        // And the whole column is cached now: the next scan reads nothing.
        let column = ranges.reduce(0) { $0 + $1.count }
        let resident = try ranges.reduce(0) { $0 + (try MappedFile(path: path).residentBytes(in: $1)) }
        #expect(resident == column)
    }

    /// A scan larger than its cache budget keeps about the budget of what it reads cached,
    /// whole batches spread over the scan, and reads the others past the cache; the next scan
    /// finds the same batches cached and keeps them. Before, everything read stayed cached, and
    /// under a memory limit the next scan's reads evicted what it was about to find.
    @Test func aScanPastItsCacheBudgetKeepsTheSameBatchesCachedRunAfterRun() throws {
        let path = try Self.writeCold(Self.wideBatch())
        defer { Self.cleanUp(path) }
        var source = try FileBatchSource(path: path)
        let ranges = try (0..<Self.batches).map { try source.reader.bodyRanges(ofBatch: $0, columns: [7]) }
        let batchBytes = ranges.map { $0.reduce(0) { $0 + $1.count } }
        let budget = batchBytes.reduce(0, +) * 5 / 16
        source.ioPolicy = ScanIOPolicy(cacheBudget: budget)
        let query = try Query(sql: "SELECT sum(c7) AS s FROM t", tables: ["t": source])
        func residentPerBatch() throws -> [Int] {
            let mapping = try MappedFile(path: path)
            return try ranges.map { try $0.reduce(0) { $0 + (try mapping.residentBytes(in: $1)) } }
        }
        let cold = try query.execute()
        let afterCold = try residentPerBatch()
        // Whole batches (partial pages at the column's ends may be shared with other bytes).
        let cachedBatches = afterCold.indices.filter { afterCold[$0] == batchBytes[$0] }
        #expect(afterCold.indices.allSatisfy { cachedBatches.contains($0) || afterCold[$0] <= 2 * MemoryUsage.pageSize })
        #expect(cachedBatches.count == 4 || cachedBatches.count == 5, "cached: \(cachedBatches)")
        #expect(cachedBatches.last ?? 0 >= Self.batches / 2, "cached: \(cachedBatches), not spread over the scan")
        // The batches not kept were read past the cache (or through it, and evicted).
        let expected = try Int64Array(Self.wideBatch().columns[7]).values.reduce(0, &+) * Int64(Self.batches)
        #expect(cold.batches[0].columns[0].formatValue(at: 0) == "\(expected)")
        let warm = try query.execute()
        #expect(warm.batches[0].logicallyEquals(cold.batches[0]))
        #expect(try residentPerBatch() == afterCold)
    }

    /// The same for a store table, whose files are mapped without a descriptor kept open: the
    /// scan reopens them by path (checking they are the files mapped) to read past the cache.
    @Test func aStoreScanPastItsCacheBudgetReadsTheRestPastTheCache() throws {
        let directory = try TestPaths.temporaryDirectory("quiver-scan-io-budget")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try Store.create(at: directory.path, log: { _ in })
        let batch = Self.wideBatch()
        try store.createTable("wide", schema: batch.schema)
        let writer = try store.writer(for: "wide", options: WriterOptions(durability: .buffered))
        for _ in 0..<Self.batches { try writer.append(batch) }
        try writer.close()
        var source = try StoreTableSource(store: store, table: "wide")
        let paths = try Self.evictFiles(of: source)
        let columnBytes = Self.batches * Self.rows * 8
        source.ioPolicy = ScanIOPolicy(cacheBudget: columnBytes / 4)
        let result = try Query(sql: "SELECT sum(c7) AS s FROM wide", tables: ["wide": source]).execute()
        let expected = try Int64Array(batch.columns[7]).values.reduce(0, &+) * Int64(Self.batches)
        #expect(result.batches[0].columns[0].formatValue(at: 0) == "\(expected)")
        // A quarter of the column stays cached (and the batches' metadata); not all of it.
        let cached = try paths.reduce(0) { $0 + (try Self.residentBytes($1)) }
        #expect(cached >= columnBytes / 4 - Self.rows * 8, "cached \(cached)")
        #expect(cached <= columnBytes / 4 + 2 * Self.rows * 8, "cached \(cached) of a \(columnBytes)-byte column")
        for path in paths { MappingCache.shared.remove(path: path) }
    }

    @Test func zoneMapsSkipStoreBatchesBeforeReadingAnyOfTheirBytes() throws {
        let directory = try TestPaths.temporaryDirectory("quiver-scan-io-store")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try Store.create(at: directory.path, log: { _ in })
        let fields = [Field("k", .int64, nullable: false)] + (1..<8).map { Field("v\($0)", .int64) }
        try store.createTable("sorted", schema: Schema(fields))
        let writer = try store.writer(for: "sorted", options: WriterOptions(durability: .buffered))
        let rows = 16_384
        for b in 0..<16 {
            let keys = (0..<rows).map { Int64(b * rows + $0) }
            try writer.append(try RecordBatch(schema: Schema(fields), columns: fields.indices.map { c in
                ArrayData.build(from: keys.map { $0 &* Int64(c + 1) })
            }))
        }
        try writer.close()
        let source = try StoreTableSource(store: store, table: "sorted")
        let paths = try Self.evictFiles(of: source)
        let before = try paths.reduce(0) { $0 + (try Self.residentBytes($1)) }

        let result = try Query(sql: "SELECT sum(v3) AS s FROM sorted WHERE k BETWEEN 40000 AND 40999", tables: ["sorted": source])
            .execute()
        #expect(result.statistics.batchesSkipped == 15)
        #expect(result.batches[0].columns[0].formatValue(at: 0) == "\((40000...40999).reduce(0) { $0 + $1 * 4 })")
        // One batch of two columns: 256 KiB, and not a page of the 15 skipped batches.
        let read = try paths.reduce(0) { $0 + (try Self.residentBytes($1)) } - before
        #expect(read <= 2 * rows * 8 + 16 * 4 * MemoryUsage.pageSize, "read \(read)")
        for path in paths { MappingCache.shared.remove(path: path) }
    }
}
