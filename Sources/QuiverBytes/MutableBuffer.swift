/// A growable, 64-byte-aligned byte buffer from a `MemoryPool`, for building arrays and
/// serialising messages. Reference semantics: it is a builder, not a value.
///
/// `finish()` hands the bytes over as an immutable `Buffer` without copying; the builder is
/// empty afterwards.
public final class MutableBuffer {
    private var allocation: HeapAllocation
    /// Bytes written so far.
    public private(set) var count: Int = 0
    private let pool: MemoryPool

    /// Creates an empty buffer with room for `capacity` bytes.
    public init(capacity: Int = 64, pool: MemoryPool = .default) {
        self.pool = pool
        self.allocation = pool.allocate(byteCount: max(capacity, 64))
    }

    /// Room before the next reallocation.
    public var capacity: Int { allocation.capacity }

    /// The first byte; valid until the next call that grows the buffer.
    package var pointer: UnsafeMutableRawPointer { allocation.pointer }

    /// Makes room for at least `capacity` bytes in total (amortised doubling).
    /// O(count) when it grows: the written bytes are copied to the new allocation.
    public func reserve(_ capacity: Int) {
        guard capacity > allocation.capacity else { return }
        let newAllocation = pool.allocate(byteCount: max(capacity, allocation.capacity * 2))
        newAllocation.pointer.copyMemory(from: allocation.pointer, byteCount: count)
        allocation = newAllocation
    }

    /// Appends raw bytes.
    /// Amortised O(bytes).
    public func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(count + bytes.count)
        (allocation.pointer + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    /// Appends the bytes of a sequence.
    /// Amortised O(bytes).
    public func append(contentsOf bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// Appends one value in little-endian byte order.
    public func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        reserve(count + MemoryLayout<T>.size)
        (allocation.pointer + count).storeBytes(of: value.littleEndian, as: T.self)
        count += MemoryLayout<T>.size
    }

    /// Appends one value in native layout (little-endian on every platform Quiver runs on).
    public func appendValue<T: BitwiseCopyable>(_ value: T) {
        reserve(count + MemoryLayout<T>.size)
        (allocation.pointer + count).storeBytes(of: value, as: T.self)
        count += MemoryLayout<T>.size
    }

    /// Appends `count` zero bytes.
    /// Amortised O(zeros).
    public func appendZeros(_ zeros: Int) {
        guard zeros > 0 else { return }
        reserve(count + zeros)
        (allocation.pointer + count).initializeMemory(as: UInt8.self, repeating: 0, count: zeros)
        count += zeros
    }

    /// Appends zeros until `count` is a multiple of `alignment`.
    public func pad(to alignment: Int) {
        appendZeros(alignUp(count, to: alignment) - count)
    }

    /// Grows (zero-filled) or shrinks the written length.
    /// Amortised O(bytes added); shrinking is O(1).
    public func resize(to newCount: Int) {
        precondition(newCount >= 0)
        if newCount > count { appendZeros(newCount - count) } else { count = newCount }
    }

    /// Overwrites previously written bytes at `offset`.
    public func storeLittleEndian<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= count)
        (allocation.pointer + offset).storeBytes(of: value.littleEndian, as: T.self)
    }

    /// The bytes written so far (valid until the buffer next grows).
    package var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: allocation.pointer, count: count) }

    /// Calls `body` with the bytes written so far; the pointer must not escape `body`.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        defer { withExtendedLifetime(self) {} }
        return try body(bytes)
    }

    /// Hands the written bytes over as an immutable buffer (no copy) and resets this builder.
    public func finish() -> Buffer {
        let result = allocation.buffer(count: count)
        allocation = pool.allocate(byteCount: 64)
        count = 0
        return result
    }
}
