/// Copies `count` bytes from `source` to `target` (not overlapping). The short pieces hot
/// loops copy one at a time (text cells, hash keys) go as two overlapping loads and stores
/// instead of a `memcpy` call, which costs more than such a copy; longer ones call it.
@inlinable @inline(__always)
package func copyShortBytes(from source: UnsafeRawPointer, to target: UnsafeMutableRawPointer, count: Int) {
    switch count {
    case 8...16:
        target.storeBytes(of: source.loadUnaligned(as: UInt64.self), as: UInt64.self)
        (target + count - 8).storeBytes(of: (source + count - 8).loadUnaligned(as: UInt64.self), as: UInt64.self)
    case 4..<8:
        target.storeBytes(of: source.loadUnaligned(as: UInt32.self), as: UInt32.self)
        (target + count - 4).storeBytes(of: (source + count - 4).loadUnaligned(as: UInt32.self), as: UInt32.self)
    case 1..<4:
        for index in 0..<count { target.storeBytes(of: source.load(fromByteOffset: index, as: UInt8.self), toByteOffset: index, as: UInt8.self) }
    case 0: return
    default: target.copyMemory(from: source, byteCount: count)
    }
}
