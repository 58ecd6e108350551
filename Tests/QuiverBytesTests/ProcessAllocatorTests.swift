import Foundation
import QuiverBytes
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `ProcessAllocator.keepLargeAllocationsResident()`: a large block freed and allocated again
/// reuses resident pages instead of faulting in fresh zeroed ones.
@Suite(.serialized) struct ProcessAllocatorTests {
    #if canImport(Glibc)
    /// Minor page faults of the calling thread so far.
    private static func threadMinorFaults() -> Int {
        var usage = rusage()
        getrusage(__rusage_who_t(1), &usage)  // RUSAGE_THREAD: this thread only; tests run beside it
        return usage.ru_minflt
    }

    /// Allocates `bytes`, writes every page, frees it; returns the page faults that took.
    private static func faultsToFill(_ bytes: Int) -> Int {
        let before = threadMinorFaults()
        let block = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        for page in stride(from: 0, to: bytes, by: 4096) { block.storeBytes(of: 1, toByteOffset: page, as: UInt8.self) }
        block.deallocate()
        return threadMinorFaults() - before
    }

    @Test func aFreedLargeBlockIsReusedWithoutFaults() {
        #expect(ProcessAllocator.keepLargeAllocationsResident())
        let bytes = 24 << 20
        _ = Self.faultsToFill(bytes)
        // With glibc's defaults a 24 MiB block is mapped afresh each time: 6,144 faults.
        let again = Self.faultsToFill(bytes)
        #expect(again < bytes / 4096 / 10, "\(again) page faults")
    }
    #endif
}
