import Foundation
import QuiverBytes
import QuiverTestSupport
import Testing

/// The I/O figures `quiver query --stats` reports: bytes read from storage and major faults
/// move when, and only when, the data really comes from the disk.
@Suite(.tags(.untrustedInput), .serialized) struct IOAccountingTests {
    static let size = 4 << 20

    /// A synced file whose pages are then evicted from the page cache.
    static func coldFile() throws -> String {
        let path = try temporaryFile(patternBytes(size), name: "cold")
        let descriptor = try FileDescriptor.open(path, .readOnly)
        defer { try? descriptor.close() }
        try descriptor.advise(.dontNeed)
        return path
    }

    @Test func readingAnEvictedFileCountsItsBytesAndAWarmReadDoesNot() throws {
        #if os(Linux)
        let path = try Self.coldFile()
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path) }
        let descriptor = try FileDescriptor.open(path, .readOnly)
        defer { try? descriptor.close() }
        var scratch = [UInt8](repeating: 0, count: Self.size)
        let before = try MemoryUsage.storageReadBytes()
        let count = try scratch.withUnsafeMutableBytes { try descriptor.pread(fillingUpTo: $0, at: 0) }
        #expect(count == Self.size)
        let cold = try MemoryUsage.storageReadBytes() - before
        #expect(cold >= Self.size)
        let warmBefore = try MemoryUsage.storageReadBytes()
        _ = try scratch.withUnsafeMutableBytes { try descriptor.pread(fillingUpTo: $0, at: 0) }
        #expect(try MemoryUsage.storageReadBytes() - warmBefore < Self.size / 8)
        #endif
    }

    /// What a scan may keep cached is bounded by the machine's available memory (and by a
    /// memory group's limit, where there is one), and is more than nothing on a test machine.
    @Test func cacheableBytesAreAtMostTheAvailableMemory() throws {
        #if os(Linux)
        let meminfo = try String(contentsOfFile: "/proc/meminfo", encoding: .utf8)
        let line = try #require(meminfo.split(separator: "\n").first { $0.hasPrefix("MemTotal:") })
        let total = try #require(line.split(separator: " ").dropFirst().first.flatMap { Int($0) }) * 1024
        let cacheable = try MemoryUsage.cacheableBytes()
        #expect(cacheable > 0)
        #expect(cacheable <= total)
        #endif
    }

    @Test func touchingEvictedMappedPagesIsAMajorFault() throws {
        #if os(Linux)
        let path = try Self.coldFile()
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path) }
        let file = try MappedFile(path: path)
        try file.advise(.random)  // each fault reads its own page
        let before = try MemoryUsage.majorFaults()
        var sum = 0
        for page in stride(from: 0, to: Self.size, by: MemoryUsage.pageSize) {
            sum &+= Int(try file.read(at: page, count: 1).uncheckedReadLittleEndian(UInt8.self, at: 0))
        }
        #expect(sum > 0)
        #expect(try MemoryUsage.majorFaults() - before >= Self.size / MemoryUsage.pageSize / 2)
        #endif
    }
}
