import QuiverArrow

extension DataType {
    /// The alignment a buffer of `kind` needs so that it can be viewed in place as its Swift
    /// element type (`MemoryLayout<Element>.alignment`). Decoded buffers that miss it are
    /// copied once.
    func requiredAlignment(of kind: BufferKind) -> Int {
        switch kind {
        case .validity, .bits, .data, .typeIds: return 1
        case .offsets32, .sizes32: return MemoryLayout<Int32>.alignment
        case .offsets64, .sizes64: return MemoryLayout<Int64>.alignment
        // A view is 16 bytes read as 32- and 64-bit words (BinaryViewLayout), never as one
        // 128-bit load.
        case .views: return DataType.wideAlignment
        case .values:
            switch storageType {
            case .fixedSizeBinary: return 1
            case .interval(.dayTime): return MemoryLayout<Int32>.alignment
            default: return min(valuesByteWidth ?? 1, DataType.wideAlignment)
            }
        }
    }

    /// The most alignment any element needs: 128- and 256-bit elements (decimal limbs,
    /// month-day-nano intervals, views) are read as 64-bit words, so the 8-byte alignment
    /// every Arrow writer guarantees keeps them zero-copy.
    static let wideAlignment = 8
}
