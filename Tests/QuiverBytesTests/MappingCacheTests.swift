import Foundation
import QuiverBytes
import QuiverTestSupport
import Testing

/// A private cache per test, so tests running in parallel do not see each other's entries.
@Suite(.tags(.untrustedInput)) struct MappingCacheTests {
    private func open(_ cache: MappingCache, _ path: String) throws -> MappedFile {
        let descriptor = try FileDescriptor.open(path, .readOnly)
        defer { try? descriptor.close() }
        return try cache.mapping(path: path, descriptor: descriptor)
    }

    @Test func anUnchangedFileReusesItsMapping() throws {
        let cache = MappingCache(capacity: 4)
        let bytes = patternBytes(2 * MemoryUsage.pageSize + 7)
        let path = try temporaryFile(bytes, name: "cached")
        let first = try open(cache, path)
        let second = try open(cache, path)
        #expect(first === second)
        #expect(second.buffer.array == bytes)
        #expect(cache.count == 1)
    }

    @Test func anAppendedFileGetsANewMappingThatSeesTheNewBytes() throws {
        let cache = MappingCache(capacity: 4)
        let bytes = patternBytes(5000)
        let path = try temporaryFile(bytes, name: "grown")
        let before = try open(cache, path)
        let output = try FileOutput(path: path, mode: .append)
        try output.write([1, 2, 3])
        try output.close()
        let after = try open(cache, path)
        #expect(before !== after)
        #expect(after.size == 5003)
        #expect(Array(after.buffer.array.suffix(3)) == [1, 2, 3])
        #expect(before.size == 5000)  // old readers keep their version
        #expect(cache.count == 1)  // the stale version was dropped at the lookup
    }

    @Test func aReplacedOrRemovedFileIsForgotten() throws {
        let cache = MappingCache(capacity: 4)
        let path = try temporaryFile(patternBytes(100, seed: 1), name: "replaced")
        let old = try open(cache, path)
        let replacement = try temporaryFile(patternBytes(100, seed: 2), name: "replacement")
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.moveItem(atPath: replacement, toPath: path)
        let new = try open(cache, path)
        #expect(old !== new)
        #expect(new.buffer.array == patternBytes(100, seed: 2))
        #expect(old.buffer.array == patternBytes(100, seed: 1))
        #expect(cache.count == 1)
        try FileManager.default.removeItem(atPath: path)
        let other = try temporaryFile(patternBytes(10), name: "other")
        _ = try open(cache, other)
        #expect(cache.count == 1)  // the removed file's entry went at this lookup
    }

    @Test func theLeastRecentlyUsedGoBeyondCapacity() throws {
        let cache = MappingCache(capacity: 2)
        let paths = try (0..<3).map { try temporaryFile(patternBytes(64, seed: UInt64($0)), name: "lru\($0)") }
        let a = try open(cache, paths[0])
        _ = try open(cache, paths[1])
        #expect(try open(cache, paths[0]) === a)  // a is now the most recent
        _ = try open(cache, paths[2])  // evicts paths[1]
        #expect(cache.count == 2)
        #expect(try open(cache, paths[0]) === a)
        weak var dropped: MappedFile?
        do { dropped = try open(cache, paths[1]) }  // a miss: mapped again, evicting paths[2]
        #expect(dropped != nil)
        cache.remove(path: paths[1])
        #expect(dropped == nil)  // unmapped once no one holds it
        cache.removeAll()
        #expect(cache.count == 0)
        #expect(MappingCache(capacity: 0).count == 0)
        let uncached = MappingCache(capacity: 0)
        #expect(try open(uncached, paths[0]) !== open(uncached, paths[0]))
    }
}
