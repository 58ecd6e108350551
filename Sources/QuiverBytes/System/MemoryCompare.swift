#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `memcmp(3)`, the one C-library call the layers above make on their own hot paths
/// (byte equality of values, keys and buffers), kept here so that only the system folder
/// imports the C library. The call is the same on Linux and Darwin. Inlined into callers,
/// so it costs exactly what `memcmp` costs.
@inlinable @inline(__always)
package func system_memcmp(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ count: Int) -> CInt {
    memcmp(a, b, count)
}
