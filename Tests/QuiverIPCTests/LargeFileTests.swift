#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverTestSupport
import Testing

/// Files over 4 GiB with a batch over 2 GiB, kept fast and small on disk: the big buffer is
/// a region of zeros that is never written (a hole in a sparse file) on either side.
///
/// The source of the zeros is a mapping of a sparse file, so the array that holds them costs
/// no memory; `SparseOutput` recognises writes of that region and skips them, leaving holes.
enum SparseFiles {
    static let bigValueBytes = (4 << 30) + (512 << 20)  // 4.5 GiB

    /// Bytes the file system actually stores for `path` (`st_blocks` × 512).
    static func allocatedBytes(_ path: String) -> Int? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return Int(status.st_blocks) * 512
    }

    /// Whether a file truncated to 8 GiB in the temporary directory stays sparse.
    static let supported: Bool = {
        guard let path = try? TestPaths.temporaryDirectory("quiver-sparse").appendingPathComponent("probe").path,
            let output = try? FileOutput(path: path)
        else { return false }
        defer {
            try? output.close()
            try? FileManager.default.removeItem(atPath: path)
        }
        guard (try? output.descriptor.truncate(to: 8 << 30)) != nil, let stored = allocatedBytes(path) else { return false }
        return stored < 1 << 20
    }()

    /// Deletes a test's file and the file of zeros (their mappings stay valid).
    static func remove(_ path: String, _ zeros: MappedFile) {
        for file in [path, zeros.path] {
            try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: file).deletingLastPathComponent().path)
        }
    }

    /// A mapped sparse file of `count` zero bytes: a buffer that occupies no memory until read.
    static func zeros(_ count: Int) throws -> MappedFile {
        let path = try TestPaths.temporaryDirectory("quiver-sparse").appendingPathComponent("zeros").path
        let output = try FileOutput(path: path)
        try output.descriptor.truncate(to: count)
        try output.close()
        return try MappedFile(path: path)
    }
}

/// Output to a file that turns writes of one known all-zero region into holes.
final class SparseOutput: ByteOutput {
    let descriptor: FileDescriptor
    let holes: Range<UInt>
    private(set) var position = 0

    init(path: String, holes zeros: Buffer) throws {
        descriptor = try FileDescriptor.open(path, .writeOnly, options: [.create, .truncate])
        let start = UInt(bitPattern: Int(bitPattern: zeros.baseAddress))
        holes = start..<(start + UInt(zeros.count))
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        if !holes.contains(UInt(bitPattern: Int(bitPattern: base))) {
            try descriptor.writeAll(bytes, at: position)
        }
        position += bytes.count
    }

    func flush() throws {}

    /// Sets the size (holes at the end would otherwise be missing) and closes.
    func close() throws {
        try descriptor.truncate(to: position)
        try descriptor.close()
    }
}

@Suite(.enabled(if: SparseFiles.supported, "the temporary directory's file system does not keep sparse files sparse"))
struct LargeFileTests {
    static let schema = Schema([Field("blob", .largeBinary), Field("after", .int32)])

    /// Batch 0: a 4.5 GiB value of zeros and an empty one, then an int32 column whose buffer
    /// sits past 4 GiB in the body. Batch 1: three small rows, past 4 GiB in the file.
    static func batches(_ zeros: Buffer) throws -> [RecordBatch] {
        let big = Int64(SparseFiles.bigValueBytes)
        let blob = ArrayData(
            uncheckedType: .largeBinary, length: 2,
            buffers: [.empty, Buffer(copyingValues: [0, big, big]), try zeros.slice(offset: 0, count: Int(big))])
        let first = try RecordBatch(schema: schema, columns: [blob, Int32Array(values: [7, 8]).data])
        let second = try RecordBatch(
            schema: schema,
            columns: [
                LargeBinaryArray([[1, 2, 3], [], [255]]).data, Int32Array(values: [41, 42, 43]).data,
            ])
        return [first, second]
    }

    static func write(stream: Bool) throws -> (path: String, zeros: MappedFile) {
        let zeros = try SparseFiles.zeros(SparseFiles.bigValueBytes)
        let path = try TestPaths.temporaryDirectory("quiver-large").appendingPathComponent("large").path
        let output = try SparseOutput(path: path, holes: zeros.buffer)
        let batches = try batches(zeros.buffer)
        if stream {
            let writer = try StreamWriter(output: output, schema: schema)
            for batch in batches { try writer.write(batch) }
            try writer.finish()
        } else {
            let writer = try FileWriter(output: output, schema: schema)
            for batch in batches { try writer.write(batch) }
            try writer.finish()
        }
        try output.close()
        return (path, zeros)
    }

    /// Checks what was read: the big value's length and a few of its bytes (touching three
    /// pages), the column after it, and the small batch.
    static func check(_ batches: [RecordBatch]) throws {
        try #require(batches.count == 2)
        let blob = try LargeBinaryArray(batches[0].columns[0])
        #expect(blob.offsets.elementsEqual([0, Int64(SparseFiles.bigValueBytes), Int64(SparseFiles.bigValueBytes)]))
        let value = blob.bytes(at: 0)
        #expect(value.count == SparseFiles.bigValueBytes)
        #expect(value[0] == 0 && value[value.count / 2] == 0 && value[value.count - 1] == 0)
        #expect(try Int32Array(batches[0].columns[1]).values.elementsEqual([7, 8]))
        #expect(try LargeBinaryArray(batches[1].columns[0]).value(at: 0) == [1, 2, 3])
        #expect(try LargeBinaryArray(batches[1].columns[0]).value(at: 2) == [255])
        #expect(try Int32Array(batches[1].columns[1]).values.elementsEqual([41, 42, 43]))
    }

    @Test func fileOver4GiBWithABatchOver2GiB() throws {
        let (path, zeros) = try Self.write(stream: false)
        defer { SparseFiles.remove(path, zeros) }
        let size = try MappedFile(path: path).size
        #expect(size > SparseFiles.bigValueBytes)
        let stored = try #require(SparseFiles.allocatedBytes(path))
        #expect(stored < 1 << 20)  // holes stayed holes

        let pool = MemoryPool()
        let reader = try FileReader(path: path, options: IPCReadOptions(pool: pool))
        #expect(reader.numRecordBatches == 2)
        let first = try #require(reader.recordBatchByteRange(at: 0))
        let second = try #require(reader.recordBatchByteRange(at: 1))
        #expect(first.count > SparseFiles.bigValueBytes)  // a body over 4 GiB (so over 2 GiB)
        #expect(second.lowerBound > 4 << 30)  // a block offset over 4 GiB
        try Self.check(try reader.readBatches())
        #expect(pool.peakAllocatedBytes < 64 << 10)  // the 4.5 GiB are a view, never a copy

        // Plain reads with 64-bit offsets: the small batch past 4 GiB, via pread.
        let plain = try FileReader(path: path, source: .read, options: IPCReadOptions(pool: pool))
        let small = try plain.recordBatch(at: 1)
        #expect(try Int32Array(small.columns[1]).values.elementsEqual([41, 42, 43]))
        #expect(pool.totalAllocatedBytes < 64 << 10)
    }

    @Test func streamOver4GiB() throws {
        let (path, zeros) = try Self.write(stream: true)
        defer { SparseFiles.remove(path, zeros) }
        #expect(try #require(SparseFiles.allocatedBytes(path) as Int?) < 1 << 20)
        let pool = MemoryPool()
        let batches = try StreamReader(path: path, options: IPCReadOptions(pool: pool)).readBatches()
        try Self.check(batches)
        #expect(pool.peakAllocatedBytes < 64 << 10)
    }

    @Test func scanOverTheLargeFile() throws {
        let (path, zeros) = try Self.write(stream: false)
        defer { SparseFiles.remove(path, zeros) }
        var lengths: [Int] = []
        try FileReader(path: path).scan { _, batch in lengths.append(batch.length) }
        #expect(lengths == [2, 3])
    }
}
