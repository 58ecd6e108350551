import QuiverBytes
import Testing

@Suite struct BufferTests {
    @Test func sliceIsBoundsChecked() throws {
        let buffer = Buffer(copying: [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(try buffer.slice(offset: 2, count: 3).array == [3, 4, 5])
        #expect(throws: QuiverError.self) { try buffer.slice(offset: 6, count: 3) }
        #expect(throws: QuiverError.self) { try buffer.slice(offset: -1, count: 1) }
        #expect(throws: QuiverError.self) { try buffer.slice(offset: 1, count: Int.max) }
    }

    @Test func littleEndianReadsAreChecked() throws {
        let buffer = Buffer(copying: [0x01, 0x02, 0x03, 0x04, 0xFF])
        #expect(try buffer.readLittleEndian(UInt32.self, at: 0) == 0x0403_0201)
        #expect(try buffer.readLittleEndian(UInt32.self, at: 1) == 0xFF04_0302)
        #expect(throws: QuiverError.self) { try buffer.readLittleEndian(UInt32.self, at: 2) }
    }

    @Test func poolCountsLiveAllocationsOnly() {
        let pool = MemoryPool()
        do {
            let buffer = Buffer(copying: [UInt8](repeating: 7, count: 1000), pool: pool)
            #expect(pool.totalAllocatedBytes == 1024)
            let slice = buffer.uncheckedSlice(offset: 10, count: 10)
            #expect(slice.isAligned(to: 2))
        }
        #expect(pool.totalAllocatedBytes == 0)
        #expect(pool.peakAllocatedBytes == 1024)
    }

    @Test func poolRecyclesLargeBlocksWithinOneSizeClass() {
        let pool = MemoryPool()
        var first: UnsafeMutableRawPointer?
        do {
            let allocation = pool.allocate(byteCount: 300_000)
            first = allocation.pointer
            #expect(pool.totalAllocatedBytes == 300_032)
        }
        #expect(pool.totalAllocatedBytes == 0)
        #expect(pool.retainedBytes >= 300_032)
        // A slightly different size of the same class gets the same (already faulted) block,
        // with its padding zeroed again and only the requested size counted.
        let again = pool.allocate(byteCount: 295_001)
        #expect(again.pointer == first)
        #expect(pool.totalAllocatedBytes == 295_040)
        #expect(pool.retainedBytes == 0)
        #expect((295_001..<295_040).allSatisfy { again.pointer.load(fromByteOffset: $0, as: UInt8.self) == 0 })
        #expect(pool.allocationCount == 2)
        // Small blocks are left to the C allocator.
        _ = pool.allocate(byteCount: 1000)
        #expect(pool.retainedBytes == 0)
    }

    @Test func poolKeepsNoMoreThanItsLimitAndReleasesOnRequest() {
        let pool = MemoryPool(retainedBytesLimit: 1 << 20)
        do { _ = (0..<8).map { _ in pool.allocate(byteCount: 256 << 10) } }
        #expect(pool.totalAllocatedBytes == 0)
        #expect(pool.retainedBytes == 1 << 20)  // four of the eight blocks
        pool.releaseUnused()
        #expect(pool.retainedBytes == 0)
        let off = MemoryPool(retainedBytesLimit: 0)
        do { _ = off.allocate(byteCount: 1 << 20) }
        #expect(off.retainedBytes == 0)
    }

    @Test func poolGivesIdleBlocksBackAfterItsRetention() async throws {
        let pool = MemoryPool(retention: .milliseconds(20))
        do { _ = pool.allocate(byteCount: 1 << 20) }
        #expect(pool.retainedBytes > 0)
        for _ in 0..<200 where pool.retainedBytes > 0 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(pool.retainedBytes == 0)
    }

    @Test func mutableBufferHandsOverWithoutCopy() {
        let pool = MemoryPool()
        let builder = MutableBuffer(pool: pool)
        builder.appendLittleEndian(UInt32(0xDEAD_BEEF))
        builder.pad(to: 8)
        let buffer = builder.finish()
        #expect(buffer.count == 8)
        #expect(buffer.isAligned(to: 64))
        #expect(buffer.array == [0xEF, 0xBE, 0xAD, 0xDE, 0, 0, 0, 0])
    }
}
