/// Something that keeps a range of bytes alive: a heap allocation counted by a `MemoryPool`,
/// a memory-mapped region, or bytes handed over by the caller.
///
/// A `Buffer` holds a strong reference to its owner, so bytes live exactly as long as the
/// last buffer (or slice of one) that views them.
public protocol BufferOwner: AnyObject, Sendable {}

/// An immutable view of bytes plus the owner that keeps them alive.
///
/// Slicing never copies. A buffer is `Sendable` because its bytes are never mutated once a
/// buffer views them. All reads of *untrusted* positions go through the throwing, checked
/// accessors (`slice(offset:count:)`, `readLittleEndian(_:at:)`); the `unchecked…` accessors
/// are for positions already validated.
public struct Buffer: @unchecked Sendable {
    /// Keeps the bytes alive; `nil` only for buffers over static storage (e.g. `Buffer.empty`).
    public let owner: (any BufferOwner)?
    /// The first byte. Valid (and 64-byte aligned) even for an empty buffer. Package-only:
    /// outside Quiver, bytes are reached inside `withUnsafeBytes`, which keeps the owner alive.
    @usableFromInline package let baseAddress: UnsafeRawPointer
    /// The number of bytes viewed.
    public let count: Int

    /// Wraps bytes kept alive by `owner`. The caller guarantees `count` bytes are readable at
    /// `baseAddress` for as long as `owner` lives, and that nobody mutates them.
    @inlinable
    public init(owner: (any BufferOwner)?, baseAddress: UnsafeRawPointer, count: Int) {
        precondition(count >= 0)
        self.owner = owner
        self.baseAddress = baseAddress
        self.count = count
    }

    /// A zero-length buffer (its base address is aligned, so it serves as any typed view).
    public static let empty = Buffer(owner: nil, baseAddress: UnsafeRawPointer(emptyStorage), count: 0)

    /// Copies `bytes` into a new allocation from `pool` (counted).
    public init(copying bytes: UnsafeRawBufferPointer, pool: MemoryPool = .default) {
        let allocation = pool.allocate(byteCount: bytes.count)
        if let source = bytes.baseAddress, bytes.count > 0 {
            allocation.pointer.copyMemory(from: source, byteCount: bytes.count)
        }
        self = allocation.buffer(count: bytes.count)
    }

    /// Copies an array of bytes into a new allocation from `pool` (counted).
    public init(copying bytes: [UInt8], pool: MemoryPool = .default) {
        self = bytes.withUnsafeBytes { Buffer(copying: $0, pool: pool) }
    }

    /// Copies the values of a typed array into a new allocation (counted).
    public init<T: BitwiseCopyable>(copyingValues values: [T], pool: MemoryPool = .default) {
        self = values.withUnsafeBytes { Buffer(copying: $0, pool: pool) }
    }

    /// The viewed bytes. Valid while this buffer (or its owner) is alive: package-only, since
    /// nothing keeps the owner alive for a pointer that escapes (use `withUnsafeBytes`).
    @inlinable
    package var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: baseAddress, count: count) }

    /// Calls `body` with the viewed bytes, the owner kept alive until it returns. The pointer
    /// must not escape `body`. O(1): no copy.
    @inlinable
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        defer { withExtendedLifetime(owner) {} }
        return try body(bytes)
    }

    /// Calls `body` with the bytes viewed as `T` values (see `typed(as:)` for alignment), the
    /// owner kept alive until it returns. The pointer must not escape `body`.
    @inlinable
    public func withUnsafeBufferPointer<T: BitwiseCopyable, R, E: Error>(
        as type: T.Type, _ body: (UnsafeBufferPointer<T>) throws(E) -> R
    ) throws(E) -> R {
        defer { withExtendedLifetime(owner) {} }
        return try body(typed(as: type))
    }

    /// The bytes as an array (copies; for tests and small metadata).
    /// O(count).
    public var array: [UInt8] { Array(bytes) }

    /// Whether the first byte sits on a multiple of `alignment` (a power of two).
    @inlinable
    public func isAligned(to alignment: Int) -> Bool {
        Int(bitPattern: baseAddress) & (alignment - 1) == 0
    }

    /// The sub-range `[offset, offset + count)`, sharing the owner. Throws `outOfBounds`
    /// unless the range lies inside this buffer (overflow-safe).
    @inlinable
    public func slice(offset: Int, count: Int) throws -> Buffer {
        try checkRange(offset: offset, count: count, within: self.count)
        return Buffer(owner: owner, baseAddress: baseAddress + offset, count: count)
    }

    /// The sub-range from `offset` to the end. Throws `outOfBounds` if `offset` is outside.
    @inlinable
    public func slice(from offset: Int) throws -> Buffer {
        try slice(offset: offset, count: count - min(max(offset, 0), count))
    }

    /// A sub-range already known to be in bounds (checked in debug builds only).
    @inlinable
    public func uncheckedSlice(offset: Int, count: Int) -> Buffer {
        assert(offset >= 0 && count >= 0 && offset <= self.count - count)
        return Buffer(owner: owner, baseAddress: baseAddress + offset, count: count)
    }

    /// Reads a little-endian integer at `offset`, which need not be aligned.
    @inlinable
    public func readLittleEndian<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) throws -> T {
        try checkRange(offset: offset, count: MemoryLayout<T>.size, within: count)
        return T(littleEndian: baseAddress.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// Reads a little-endian integer at an offset already known to be in bounds.
    @inlinable
    public func uncheckedReadLittleEndian<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
        assert(offset >= 0 && offset <= count - MemoryLayout<T>.size)
        return T(littleEndian: baseAddress.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// The bytes viewed as `T` values. The buffer must be aligned for `T` (buffers that Quiver
    /// decodes are: unaligned input is copied once at decode time) and `count` a multiple of
    /// `MemoryLayout<T>.stride`; trailing bytes are ignored.
    @inlinable
    package func typed<T: BitwiseCopyable>(as type: T.Type) -> UnsafeBufferPointer<T> {
        assert(isAligned(to: MemoryLayout<T>.alignment))
        return UnsafeBufferPointer(
            start: baseAddress.assumingMemoryBound(to: T.self), count: count / MemoryLayout<T>.stride)
    }

    /// A copy of these bytes in a fresh 64-byte-aligned allocation from `pool` (counted).
    public func copied(pool: MemoryPool = .default) -> Buffer {
        Buffer(copying: bytes, pool: pool)
    }

    /// Whether both buffers hold the same bytes (compares contents, not identity).
    /// O(count): one `memcmp`.
    public func contentEquals(_ other: Buffer) -> Bool {
        count == other.count && (count == 0 || system_memcmp(baseAddress, other.baseAddress, count) == 0)
    }
}

// The checks below are inlined into every caller (a decode makes a dozen per record batch);
// the errors are built out of line, so the inlined part is a few compares and a branch.

/// Throws `outOfBounds` unless `[offset, offset + count)` lies inside `[0, limit)`.
/// The single bounds check every read of untrusted positions goes through; overflow-safe.
@inlinable @inline(__always)
package func checkRange(offset: Int, count: Int, within limit: Int) throws {
    guard offset >= 0, count >= 0, offset <= limit, count <= limit - offset else {
        throw rangeError(offset: offset, count: count, limit: limit)
    }
}

/// Multiplies two counts read from input, throwing instead of overflowing.
@inlinable @inline(__always)
package func checkedProduct(_ a: Int, _ b: Int) throws -> Int {
    let (product, overflow) = a.multipliedReportingOverflow(by: b)
    guard !overflow, a >= 0, b >= 0 else { throw sizeError(a, "×", b) }
    return product
}

/// Adds two counts read from input, throwing instead of overflowing.
@inlinable @inline(__always)
package func checkedSum(_ a: Int, _ b: Int) throws -> Int {
    let (sum, overflow) = a.addingReportingOverflow(b)
    guard !overflow else { throw sizeError(a, "+", b) }
    return sum
}

/// Converts a 64-bit length or offset read from input to `Int`, requiring `0...limit`.
@inlinable @inline(__always)
public func checkedCount(_ value: Int64, limit: Int = Int.max, _ what: @autoclosure () -> String) throws -> Int {
    guard value >= 0, value <= Int64(limit) else { throw countError(value, limit: limit, what()) }
    return Int(value)
}

@usableFromInline @inline(never)
func rangeError(offset: Int, count: Int, limit: Int) -> QuiverError {
    QuiverError(.outOfBounds, "range [\(offset), +\(count)) is outside [0, \(limit))")
}

@usableFromInline @inline(never)
func sizeError(_ a: Int, _ operation: String, _ b: Int) -> QuiverError {
    QuiverError(.outOfBounds, "size \(a) \(operation) \(b) overflows")
}

@usableFromInline @inline(never)
func countError(_ value: Int64, limit: Int, _ what: String) -> QuiverError {
    QuiverError(.outOfBounds, "\(what) \(value) is negative or exceeds \(limit)")
}

/// Rounds `value` up to a multiple of `alignment` (a power of two).
@inlinable
public func alignUp(_ value: Int, to alignment: Int) -> Int {
    (value + alignment - 1) & ~(alignment - 1)
}

@usableFromInline
nonisolated(unsafe) let emptyStorage: UnsafeMutableRawPointer = {
    let pointer = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)
    pointer.initializeMemory(as: UInt8.self, repeating: 0, count: 64)
    return pointer
}()
