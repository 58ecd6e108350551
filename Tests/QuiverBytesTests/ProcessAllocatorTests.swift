import QuiverBytes
import Testing

/// `ProcessAllocator.keepLargeAllocationsResident()`: large blocks come from the heap, which
/// keeps them for reuse, instead of from `mmap`, which hands fresh zeroed pages each time.
@Suite(.serialized) struct ProcessAllocatorTests {
    @Test func largeBlocksComeFromTheHeapNotFromMmap() {
        #if canImport(Glibc)
        #expect(ProcessAllocator.keepLargeAllocationsResident())
        // 24 MiB: far past glibc's default mmap threshold (128 KiB), under the policy's 32 MiB.
        let block = UnsafeMutableRawPointer.allocate(byteCount: 24 << 20, alignment: 16)
        defer { block.deallocate() }
        // glibc's chunk header: the size word just before the block; bit 1 marks a chunk that
        // was mapped on its own (and is unmapped, not kept, when freed).
        let sizeWord = (block - MemoryLayout<UInt>.size).load(as: UInt.self)
        #expect(sizeWord & 2 == 0, "a 24 MiB block was mapped on its own")
        #expect(sizeWord & ~7 >= 24 << 20)
        #endif
    }
}
