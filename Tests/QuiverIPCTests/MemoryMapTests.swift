import Foundation
import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverTestSupport
import Testing

/// Files on disk for the memory tests: the seed shape (`range(rows)` int32 in every batch)
/// and a wide int64 table, written through `FileOutput` and synced, so their page-cache
/// pages can be evicted.
enum DiskFixtures {
    static func seedBatch(rows: Int) -> RecordBatch {
        let values = Int32Array(values: (0..<Int32(rows)).map { $0 })
        return RecordBatch(uncheckedSchema: Schema([Field("nums", .int32)]), columns: [values.data], length: rows)
    }

    /// Writes `batches` copies of `batch` as an Arrow file (or stream) at a fresh path.
    static func write(_ batch: RecordBatch, times batches: Int, stream: Bool = false, name: String = "data") throws -> String {
        let path = try TestPaths.temporaryDirectory("quiver-mmap").appendingPathComponent(name).path
        let output = try FileOutput(path: path)
        if stream {
            let writer = try StreamWriter(output: output, schema: batch.schema)
            for _ in 0..<batches { try writer.write(batch) }
            try writer.finish()
        } else {
            let writer = try FileWriter(output: output, schema: batch.schema)
            for _ in 0..<batches { try writer.write(batch) }
            try writer.finish()
        }
        try output.sync()
        try output.close()
        return path
    }

    /// Deletes a file written by `write` and its folder (mappings of it stay valid).
    static func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path)
    }

    /// Drops the file's clean pages from the page cache, so `mincore` shows only what a
    /// mapping touches afterwards.
    static func evictPageCache(_ path: String) throws {
        let descriptor = try FileDescriptor.open(path, .readOnly)
        defer { try? descriptor.close() }
        try descriptor.advise(.dontNeed)
    }
}

/// Sum of the values above 5000: the demo's computation, over whatever the buffers view.
func sumAbove5000(_ batches: [RecordBatch]) throws -> Int64 {
    var total: Int64 = 0
    for batch in batches {
        for value in try Int32Array(batch.columns[0]).values where value > 5000 { total &+= Int64(value) }
    }
    return total
}

@Suite(.tags(.untrustedInput)) struct MemoryMapTests {
    /// Readers of a cached mapping remember which batches passed validation and decode them
    /// trusted the next time; a batch that failed must fail again on every read.
    @Test func validationIsRememberedOnlyWhenItPasses() throws {
        let strings = StringArray(["quiver-good", "quiver-bad!"] as [String?])
        let batch = RecordBatch(uncheckedSchema: Schema([Field("s", .utf8)]), columns: [strings.data], length: 2)
        let path = try DiskFixtures.write(batch, times: 2, name: "utf8.arrow")
        defer {
            MappingCache.shared.remove(path: path)
            DiskFixtures.remove(path)
        }
        // Make the second batch's second string invalid UTF-8.
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let marker = Array("quiver-bad!".utf8)
        let hits = (0...(bytes.count - marker.count)).filter { bytes[$0..<($0 + marker.count)].elementsEqual(marker) }
        #expect(hits.count == 2)
        bytes[hits[1] + 6] = 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        for _ in 0..<2 {
            let reader = try FileReader(path: path, source: .sharedMemoryMap)
            #expect(try reader.recordBatch(at: 0).length == 2)
            #expect(throws: QuiverError.self) { _ = try reader.recordBatch(at: 1) }
        }
    }

    /// Reads with a private pool so tests running in parallel do not disturb the counts.
    static func read(
        _ path: String, _ source: FileSource, stream: Bool = false
    ) throws -> (batches: [RecordBatch], held: Int, peak: Int) {
        let pool = MemoryPool()
        let options = IPCReadOptions(pool: pool)
        let batches =
            stream
            ? try StreamReader(path: path, source: source, options: options).readBatches()
            : try FileReader(path: path, source: source, options: options).readBatches()
        return (batches, pool.totalAllocatedBytes, pool.peakAllocatedBytes)
    }

    @Test(arguments: [false, true])
    func mapAllocatesNoBodyBytesAndReadAllocatesEvery(stream: Bool) throws {
        let rows = 10_000, batches = 100
        let path = try DiskFixtures.write(DiskFixtures.seedBatch(rows: rows), times: batches, stream: stream)
        defer { DiskFixtures.remove(path) }
        let bodyBytes = rows * 4 * batches
        let mapped = try Self.read(path, .memoryMap, stream: stream)
        let read = try Self.read(path, .read, stream: stream)
        #expect(mapped.held == 0)
        #expect(mapped.peak < 64 << 10)
        #expect(read.held >= bodyBytes)
        #expect(read.held < bodyBytes + batches * 128)  // bodies plus 64-byte rounding, nothing else
        #expect(mapped.batches.count == batches && read.batches.count == batches)
        #expect(try sameBatches(mapped.batches, read.batches))
        let expected = Int64(batches) * (5001..<Int64(rows)).reduce(0, +)
        #expect(try sumAbove5000(mapped.batches) == expected)
        for batch in mapped.batches { #expect(batch.columns[0].buffers[1].owner is MemoryMapping) }
        for batch in read.batches { #expect(batch.columns[0].buffers[1].owner is HeapAllocation) }
    }

    /// The seed file at full size: 10M int32 in 1000 batches of 10,000.
    @Test func fullSizeSeedFile() throws {
        let path = try DiskFixtures.write(DiskFixtures.seedBatch(rows: 10_000), times: 1000)
        defer { DiskFixtures.remove(path) }
        let start = ContinuousClock.now
        let mapped = try Self.read(path, .memoryMap)
        let sum = try sumAbove5000(mapped.batches)
        let elapsed = ContinuousClock.now - start
        #expect(mapped.batches.count == 1000)
        #expect(mapped.batches.reduce(0) { $0 + $1.length } == 10_000_000)
        #expect(mapped.peak < 64 << 10)
        #expect(sum == 1000 * (5001..<Int64(10_000)).reduce(0, +))
        let read = try Self.read(path, .read)
        #expect(read.held >= 40_000_000)
        #expect(try sameBatches(mapped.batches, read.batches))
        print("full seed file: mmap open + read + sum in \(elapsed)")
    }

    @Test func touchingOneColumnOfAWideFileMakesOnlyItsPagesResident() throws {
        let rows = 8192, columns = 20, batches = 16
        let pageSize = MemoryUsage.pageSize
        let fields = (0..<columns).map { Field("c\($0)", .int64) }
        let data = (0..<columns).map { c in Int64Array(values: (0..<rows).map { Int64($0 * columns + c) }).data }
        let batch = RecordBatch(uncheckedSchema: Schema(fields), columns: data, length: rows)
        let path = try DiskFixtures.write(batch, times: batches)
        defer { DiskFixtures.remove(path) }

        let file = try MappedFile(path: path)
        try file.advise(.random)  // no read-around: a fault reads its own page only
        try DiskFixtures.evictPageCache(path)
        try #require(try file.residentBytes() < 4 * pageSize, "the page cache was not evicted")

        let reader = try FileReader(input: file)
        let touched = 7
        var sum: Int64 = 0
        var columnBuffers: [[Buffer]] = Array(repeating: [], count: columns)
        for index in 0..<reader.numRecordBatches {
            let batch = try reader.recordBatch(at: index)
            for (c, column) in batch.columns.enumerated() { columnBuffers[c].append(column.buffers[1]) }
            for value in try Int64Array(batch.columns[touched]).values { sum &+= value }
        }
        #expect(sum == Int64(batches) * (0..<Int64(rows)).reduce(0) { $0 + $1 * Int64(columns) + Int64(touched) })

        let columnBytes = rows * 8
        // The touched column is resident, every byte of every batch.
        for buffer in columnBuffers[touched] { #expect(try MemoryUsage.residentBytes(of: buffer) == columnBytes) }
        // Its neighbours share at most the page at each of its ends; the others nothing but
        // the pages holding the batch's metadata (column 0) or the next message (column 19).
        for c in 0..<columns where c != touched {
            let limit = abs(c - touched) == 1 || c == 0 || c == columns - 1 ? pageSize : 0
            for buffer in columnBuffers[c] { #expect(try MemoryUsage.residentBytes(of: buffer) <= limit, "column \(c)") }
        }
        // In all: the column plus a page or two per batch (metadata, partial pages at its ends).
        let resident = try file.residentBytes()
        #expect(resident >= batches * columnBytes)
        #expect(resident <= batches * (columnBytes + 3 * pageSize) + 4 * pageSize)
    }

    @Test(arguments: FileSource.allCases)
    func buffersOutliveTheirReader(source: FileSource) throws {
        let path = try DiskFixtures.write(DiskFixtures.seedBatch(rows: 1000), times: 3)
        defer { DiskFixtures.remove(path) }
        weak var weakReader: FileReader?
        let column: ArrayData
        do {
            let reader = try FileReader(path: path, source: source)
            weakReader = reader
            column = try reader.recordBatch(at: 2).columns[0]
        }
        #expect(weakReader == nil)
        weak let owner = column.buffers[1].owner
        #expect(owner != nil)
        #expect(try Int32Array(column).values.elementsEqual(0..<1000))
        if source != .read { #expect(owner is MemoryMapping) }
        _ = consume column
        if source == .sharedMemoryMap {
            #expect(owner != nil)  // the cache keeps the mapping for the next reader
            MappingCache.shared.remove(path: path)
        }
        #expect(owner == nil)  // the last view gone: unmapped (or freed)
    }

    /// A mapping's footer is read and decoded by its first reader only: later readers of the
    /// mapping (queries through `MappingCache`) open the file without reading it again, so
    /// they keep the footer the mapping was opened with even if the file's tail is
    /// overwritten in place; a new mapping reads the file as it now is.
    @Test func aMappingReadsItsFooterOnce() throws {
        let path = try DiskFixtures.write(DiskFixtures.seedBatch(rows: 100), times: 2)
        defer { DiskFixtures.remove(path) }
        let mapping = try MappedFile(path: path)
        #expect(try FileReader(input: mapping).numRecordBatches == 2)
        // The trailing magic, overwritten in place (same size).
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seek(toOffset: UInt64(mapping.size - 6))
        try handle.write(contentsOf: Data("XXXXXX".utf8))
        try handle.close()
        #expect(try FileReader(input: mapping).numRecordBatches == 2)
        #expect(try FileReader(input: mapping).recordBatch(at: 1).length == 100)
        #expect(throws: QuiverError.self) { _ = try FileReader(input: try MappedFile(path: path)) }
    }

    @Test func aReplacedFileKeepsServingTheMappedVersion() throws {
        let path = try DiskFixtures.write(DiskFixtures.seedBatch(rows: 100), times: 2)
        defer { DiskFixtures.remove(path) }
        let reader = try FileReader(path: path)
        let replacement = try DiskFixtures.write(DiskFixtures.seedBatch(rows: 7), times: 1)
        defer { DiskFixtures.remove(replacement) }
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.moveItem(atPath: replacement, toPath: path)
        // The old inode lives as long as the mapping does.
        #expect(try reader.recordBatch(at: 1).length == 100)
        #expect(try FileReader(path: path).recordBatch(at: 0).length == 7)
    }

    @Test(arguments: FileSource.allCases)
    func truncatedFilesAreErrorsNotCrashes(source: FileSource) throws {
        let path = try DiskFixtures.write(DiskFixtures.seedBatch(rows: 1000), times: 4)
        defer { DiskFixtures.remove(path) }
        let whole = try MappedFile(path: path).buffer.array
        // Cut inside the last batch but keep the footer: its block points past the data.
        let footerLength = Int(whole[whole.count - 10]) | Int(whole[whole.count - 9]) << 8
        let footerStart = whole.count - 10 - footerLength
        let cut = Array(whole[..<(footerStart - 2000)]) + whole[footerStart...]
        let cutPath = try DiskFixtures.write(DiskFixtures.seedBatch(rows: 1), times: 1, name: "cut")
        defer { DiskFixtures.remove(cutPath) }
        try Data(cut).write(to: URL(fileURLWithPath: cutPath))
        let reader = try FileReader(path: cutPath, source: source)
        #expect(try reader.recordBatch(at: 0).length == 1000)
        let error = #expect(throws: QuiverError.self) { try reader.recordBatch(at: 3) }
        #expect(error?.code == .outOfBounds)
        // Without its tail the file is not an Arrow file; the error names the path.
        try Data(whole[..<(whole.count / 2)]).write(to: URL(fileURLWithPath: cutPath))
        let opened = #expect(throws: QuiverError.self) { try FileReader(path: cutPath, source: source) }
        #expect(opened?.code == .invalidMessage)
        #expect(opened?.description.contains(cutPath) == true)
    }

    @Test func aFileThatShrinksUnderAPlainReaderIsAnError() throws {
        let path = try DiskFixtures.write(DiskFixtures.seedBatch(rows: 1000), times: 4)
        defer { DiskFixtures.remove(path) }
        let reader = try FileReader(path: path, source: .read)
        let descriptor = try FileDescriptor.open(path, .writeOnly)
        try descriptor.truncate(to: 9000)
        try descriptor.close()
        #expect(try reader.recordBatch(at: 0).length == 1000)  // still within the file
        let error = #expect(throws: QuiverError.self) { try reader.recordBatch(at: 3) }
        #expect(error?.code == .io)
    }

    /// Reading by map copies out framing and metadata with `pread`: no page of the mapping is
    /// mapped into the process until someone reads values, except around the file footer
    /// (the kernel maps a window of cached pages around a touched one: tens of pages).
    @Test(arguments: [false, true])
    func readingTouchesNoPageOfTheMapping(stream: Bool) throws {
        let path = try DiskFixtures.write(DiskFixtures.seedBatch(rows: 10_000), times: 200, stream: stream)
        defer { DiskFixtures.remove(path) }
        let batches =
            stream ? try StreamReader(path: path).readBatches() : try FileReader(path: path).readBatches()
        let mapping = try #require(batches[0].columns[0].buffers[1].owner as? MemoryMapping)
        let mapped = try MemoryUsage.mappedResidentBytes(of: mapping)
        #expect(mapped <= (stream ? 0 : 1 << 20))  // of 8 MB
        #expect(try sumAbove5000(batches) > 0)
        #expect(try MemoryUsage.mappedResidentBytes(of: mapping) >= 200 * 40_000)
    }

    @Test func streamsReadBothWays() throws {
        let path = try DiskFixtures.write(DiskFixtures.seedBatch(rows: 500), times: 5, stream: true)
        defer { DiskFixtures.remove(path) }
        let mapped = try StreamReader(path: path, source: .memoryMap).readBatches()
        let read = try StreamReader(path: path, source: .read).readBatches()
        #expect(mapped.count == 5)
        #expect(try sameBatches(mapped, read))
        #expect(mapped[4].columns[0].buffers[1].owner is MemoryMapping)
        let missing = #expect(throws: QuiverError.self) { try StreamReader(path: path + ".missing") }
        #expect(missing?.code == .io)
    }

    @Test func scanVisitsEveryBatchAndDropsThePagesBehindIt() throws {
        let rows = 64 << 10, batches = 128  // 256 KiB per batch, 32 MiB in all
        let path = try DiskFixtures.write(DiskFixtures.seedBatch(rows: rows), times: batches)
        defer { DiskFixtures.remove(path) }
        let reader = try FileReader(path: path)
        let mapping = try #require(try reader.recordBatch(at: 0).columns[0].buffers[1].owner as? MemoryMapping)
        var visited: [Int] = []
        var sum: Int64 = 0
        var mostMapped = 0
        try reader.scan(readAhead: 1 << 20) { index, batch in
            visited.append(index)
            for value in try Int32Array(batch.columns[0]).values { sum &+= Int64(value) }
            mostMapped = max(mostMapped, try MemoryUsage.mappedResidentBytes(of: mapping))
        }
        #expect(visited == Array(0..<batches))
        #expect(sum == Int64(batches) * Int64(rows) * Int64(rows - 1) / 2)
        // Only the batch in hand plus the read-ahead window is ever mapped in, never the whole
        // file. (A fault maps a whole page-cache folio, and files FileOutput writes are cached in
        // folios of up to 2 MiB, so the bound is a few of those.)
        #expect(mostMapped < 8 << 20)
        #expect(try MemoryUsage.mappedResidentBytes(of: mapping) < 1 << 20)

        // A plain loop keeps every touched page mapped: the contrast the advice makes.
        for index in 0..<batches {
            for value in try Int32Array(try reader.recordBatch(at: index).columns[0]).values { sum &+= Int64(value) }
        }
        #expect(try MemoryUsage.mappedResidentBytes(of: mapping) >= batches * rows * 4)
    }

    @Test func scanOverAPlainFileReadsEveryBatch() throws {
        let path = try DiskFixtures.write(DiskFixtures.seedBatch(rows: 100), times: 5)
        defer { DiskFixtures.remove(path) }
        let pool = MemoryPool()
        let reader = try FileReader(path: path, source: .read, options: IPCReadOptions(pool: pool))
        var lengths: [Int] = []
        try reader.scan { _, batch in lengths.append(batch.length) }
        #expect(lengths == Array(repeating: 100, count: 5))
        #expect(pool.totalAllocatedBytes == 0)  // every body freed once its batch was let go
        #expect(reader.recordBatchByteRange(at: 5) == nil)
        let range = try #require(reader.recordBatchByteRange(at: 0))
        #expect(range.count > 400)
    }
}
