import Foundation
import QuiverBytes
import QuiverTestSupport
import Testing

/// Bytes that differ at every position (so an off-by-one read shows).
func patternBytes(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return UInt8(truncatingIfNeeded: state >> 33)
    }
}

/// Writes `bytes` to a fresh file (through `FileOutput`, synced) and returns its path.
func temporaryFile(_ bytes: [UInt8], name: String = "data") throws -> String {
    let path = try TestPaths.temporaryDirectory("quiver-sys").appendingPathComponent(name).path
    let output = try FileOutput(path: path)
    try output.write(bytes)
    try output.sync()
    try output.close()
    return path
}

@Suite struct MappedFileTests {
    @Test(arguments: [MappedFile.Sharing.private, .shared])
    func mappedBytesEqualFileBytes(sharing: MappedFile.Sharing) throws {
        let bytes = patternBytes(3 * MemoryUsage.pageSize + 100)
        let path = try temporaryFile(bytes)
        let file = try MappedFile(path: path, sharing: sharing)
        #expect(file.size == bytes.count)
        #expect(file.buffer.array == bytes)
        let slice = try file.read(at: 4095, count: 300)
        #expect(slice.array == Array(bytes[4095..<4395]))
        #expect(slice.owner is MemoryMapping)
        #expect(try file.read(at: bytes.count, count: 0).count == 0)
        #expect(throws: QuiverError.self) { try file.read(at: bytes.count - 10, count: 11) }
        #expect(throws: QuiverError.self) { try file.read(at: -1, count: 1) }
    }

    @Test func buffersOutliveTheMappedFile() throws {
        let bytes = patternBytes(10_000)
        let path = try temporaryFile(bytes)
        weak var weakFile: MappedFile?
        let slice: Buffer
        do {
            let file = try MappedFile(path: path)
            weakFile = file
            let cursor = RandomAccessCursor(file)
            _ = try cursor.read(upTo: 5000)
            slice = try cursor.read(upTo: 100)
        }
        #expect(weakFile == nil)
        #expect(slice.array == Array(bytes[5000..<5100]))
        #expect(try MemoryUsage.residentBytes(of: slice) == 100)
    }

    @Test func emptyFileIsNotMapped() throws {
        let path = try temporaryFile([])
        let file = try MappedFile(path: path)
        #expect(file.size == 0)
        #expect(file.buffer.owner == nil)
        #expect(try file.read(at: 0, count: 0).count == 0)
        #expect(try file.residentBytes() == 0)
        try file.advise(.willNeed)
        #expect(throws: QuiverError.self) { try file.read(at: 0, count: 1) }
    }

    @Test func mincoreSeesTouchedPagesAndTheirEviction() throws {
        let pageSize = MemoryUsage.pageSize
        let bytes = patternBytes(256 * pageSize + 17)
        let path = try temporaryFile(bytes)
        let file = try MappedFile(path: path, sharing: .private)
        try file.advise(.random)
        var sum = 0
        for offset in stride(from: 0, to: file.size, by: pageSize) { sum &+= Int(file.buffer.bytes[offset]) }
        #expect(sum > 0)
        #expect(try file.residentBytes() == file.size)
        // A sub-range that starts and ends inside pages counts only its own bytes.
        #expect(try file.residentBytes(in: 100..<(3 * pageSize + 5)) == 3 * pageSize - 95)
        #expect(throws: QuiverError.self) { try file.residentBytes(in: 0..<(file.size + 1)) }

        // mincore on a file mapping reports the page cache: MADV_DONTNEED unmaps our pages,
        // and once they are unmapped (and clean) the cache can evict them too.
        try file.advise(.dontNeed)
        let descriptor = try FileDescriptor.open(path, .readOnly)
        defer { try? descriptor.close() }
        try descriptor.advise(.dontNeed)
        let afterEviction = try file.residentBytes()
        #expect(afterEviction < file.size / 2)
        // The mapping stays valid: touching reads the pages back.
        #expect(file.buffer.array == bytes)
        #expect(try file.residentBytes() == file.size)
    }

    @Test func mappingSomethingThatIsNotAFileFails() throws {
        let directory = try TestPaths.temporaryDirectory("quiver-sys").path
        let error = #expect(throws: QuiverError.self) { try MappedFile(path: directory) }
        #expect(error?.code == .io)
        let missing = #expect(throws: QuiverError.self) { try MappedFile(path: directory + "/missing") }
        #expect(missing?.code == .io)
        #expect(missing?.message.contains("missing") == true)
    }
}
