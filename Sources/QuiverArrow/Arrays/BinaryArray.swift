import QuiverBytes

/// The integer type of an offsets (or sizes) buffer: `Int32` for binary/utf8/list,
/// `Int64` for their large variants.
public protocol ArrowOffset: FixedWidthInteger, SignedInteger, ArrowPrimitive {}
extension Int32: ArrowOffset {}
extension Int64: ArrowOffset {}

/// How the bytes of a binary-like value read as a Swift value: `String` for utf8 types,
/// `[UInt8]` for binary ones. One generic array per layout serves both.
public protocol BinaryEncoding: Sendable {
    /// The Swift value of one slot.
    associatedtype Value
    /// Whether the Arrow type is utf8 (validated as UTF-8) rather than binary.
    static var isUTF8: Bool { get }
    /// Builds the value from its bytes (copies them).
    static func decode(_ bytes: UnsafeRawBufferPointer) -> Value
    /// Hands the bytes of a value to `body` (no copy where the value allows).
    static func withBytes<R>(of value: Value, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

/// utf8 types: values are `String`s (their bytes were validated as UTF-8).
public enum UTF8Encoding: BinaryEncoding {
    /// True: utf8 types.
    public static var isUTF8: Bool { true }
    /// Copies the bytes into a `String` (O(bytes); they were validated as UTF-8).
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> String {
        String(decoding: bytes, as: UTF8.self)
    }
    /// The string's UTF-8 bytes (no copy for native strings).
    public static func withBytes<R>(of value: String, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var value = value
        return try value.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
    }
}

/// Binary types: values are byte arrays.
public enum BytesEncoding: BinaryEncoding {
    /// False: binary types.
    public static var isUTF8: Bool { false }
    /// Copies the bytes into an array (O(bytes)).
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> [UInt8] { Array(bytes) }
    /// The array's own bytes, no copy.
    public static func withBytes<R>(of value: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try value.withUnsafeBytes(body)
    }
}

/// Arrays whose slots are byte strings: binary and utf8 in every layout, and fixed-size
/// binary. Each layout says where a slot's bytes are (`withUnsafeBytes(at:_:)`); reading
/// them as a Swift value is written once, in `value(at:)`.
public protocol ArrowBinaryArray: ArrowScalarArray where Value == Encoding.Value {
    /// How a slot's bytes read as a Swift value (`String` or `[UInt8]`).
    associatedtype Encoding: BinaryEncoding
    /// Calls `body` with the bytes of slot `index`, viewed in place; the pointer must not
    /// escape `body`. O(1), no copy.
    func withUnsafeBytes<R, E: Error>(at index: Int, _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R
}

extension ArrowBinaryArray {
    /// The value of slot `index`: copies its bytes into a `String` or `[UInt8]` (O(bytes)).
    @inlinable
    public func value(at index: Int) -> Encoding.Value { withUnsafeBytes(at: index) { Encoding.decode($0) } }
}

extension DataType {
    /// The offset-based binary type for an offset width and encoding (`utf8` for
    /// `Int32` + `UTF8Encoding`, …).
    public static func binaryType<O: ArrowOffset, E: BinaryEncoding>(_: O.Type, _: E.Type) -> DataType {
        switch (O.self == Int64.self, E.isUTF8) {
        case (false, false): return .binary
        case (false, true): return .utf8
        case (true, false): return .largeBinary
        case (true, true): return .largeUtf8
        }
    }
}

/// Variable-length binary or utf8 values addressed by an offsets buffer into one data buffer
/// (`binary`, `utf8`, `large_binary`, `large_utf8`).
///
/// `bytes(at:)` is zero-copy; `value(at:)` builds a `String` or `[UInt8]`.
public struct VariableBinaryArray<Offset: ArrowOffset, Encoding: BinaryEncoding>: ArrowBinaryArray,
    @unchecked Sendable
{
    /// The array data viewed (shared, never copied).
    public let data: ArrayData
    /// The `length + 1` offsets of this slice (empty for an empty array without offsets).
    @usableFromInline package let offsets: UnsafeBufferPointer<Offset>
    @usableFromInline let bytes: UnsafeRawPointer
    @usableFromInline let nulls: NullMask

    /// Views `data` without copying. Throws `typeMismatch` if its type does not fit this
    /// array type and `invalidData` if its buffers are too small (O(1) per buffer).
    public init(_ data: ArrayData) throws {
        try checkArrayType(data, "\(Self.self)") { $0 == DataType.binaryType(Offset.self, Encoding.self) }
        self.init(unchecked: data)
    }

    init(unchecked data: ArrayData) {
        self.data = data
        let offsetsBuffer = data.buffers.count > 1 ? data.buffers[1] : Buffer.empty
        let count = offsetsBuffer.count == 0 ? 0 : data.length + 1
        offsets = UnsafeBufferPointer(
            start: offsetsBuffer.baseAddress.assumingMemoryBound(to: Offset.self) + (count == 0 ? 0 : data.offset),
            count: count)
        bytes = data.buffers.count > 2 ? data.buffers[2].baseAddress : Buffer.empty.baseAddress
        nulls = NullMask(data)
    }

    /// Whether slot `index` is null. O(1).
    @inlinable public func isNull(_ index: Int) -> Bool { nulls.isNull(index) }

    /// Calls `body` with the `length + 1` offsets of this slice into the data buffer,
    /// viewed in place; the pointer must not escape `body`.
    @inlinable
    public func withUnsafeOffsets<R, E: Error>(_ body: (UnsafeBufferPointer<Offset>) throws(E) -> R) throws(E) -> R {
        defer { withExtendedLifetime(data) {} }
        return try body(offsets)
    }

    /// The bytes of slot `index`, viewed in place (valid while the array lives).
    @inlinable
    package func bytes(at index: Int) -> UnsafeRawBufferPointer {
        let start = Int(offsets[index])
        return UnsafeRawBufferPointer(start: bytes + start, count: Int(offsets[index + 1]) - start)
    }

    /// Calls `body` with the bytes of slot `index`, viewed in place (no copy).
    @inlinable
    public func withUnsafeBytes<R, E: Error>(at index: Int, _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try withExtendedLifetime(data) { () throws(E) -> R in try body(bytes(at: index)) }
    }
}

/// utf8 strings with 32-bit offsets (`string`).
public typealias StringArray = VariableBinaryArray<Int32, UTF8Encoding>
/// utf8 strings with 64-bit offsets (`large_string`).
public typealias LargeStringArray = VariableBinaryArray<Int64, UTF8Encoding>
/// Bytes with 32-bit offsets (`binary`).
public typealias BinaryArray = VariableBinaryArray<Int32, BytesEncoding>
/// Bytes with 64-bit offsets (`large_binary`).
public typealias LargeBinaryArray = VariableBinaryArray<Int64, BytesEncoding>

/// One 16-byte view of a `binary_view`/`utf8_view` slot, as the spec lays it out: the length,
/// then either the value inline (≤ 12 bytes) or a 4-byte prefix, a data-buffer index and an
/// offset into that buffer.
@usableFromInline
struct BinaryViewLayout {
    /// Values up to this many bytes live inside the view.
    @usableFromInline static let inlineCapacity = 12
    @usableFromInline static let size = 16

    @inlinable static func length(_ view: UnsafeRawPointer) -> Int32 {
        view.loadUnaligned(as: Int32.self)
    }
    @inlinable static func bufferIndex(_ view: UnsafeRawPointer) -> Int32 {
        view.loadUnaligned(fromByteOffset: 8, as: Int32.self)
    }
    @inlinable static func offset(_ view: UnsafeRawPointer) -> Int32 {
        view.loadUnaligned(fromByteOffset: 12, as: Int32.self)
    }
}

/// Variable-length binary or utf8 values stored as 16-byte views (`binary_view`,
/// `utf8_view`): short values inline, longer ones in variadic data buffers.
public struct VariableBinaryViewArray<Encoding: BinaryEncoding>: ArrowBinaryArray, @unchecked Sendable {
    /// The array data viewed (shared, never copied).
    public let data: ArrayData
    @usableFromInline let views: UnsafeRawPointer
    @usableFromInline let nulls: NullMask

    /// Views `data` without copying. Throws `typeMismatch` if its type does not fit this
    /// array type and `invalidData` if its buffers are too small (O(1) per buffer).
    public init(_ data: ArrayData) throws {
        try checkArrayType(data, "\(Self.self)") { $0 == (Encoding.isUTF8 ? .utf8View : .binaryView) }
        self.init(unchecked: data)
    }

    init(unchecked data: ArrayData) {
        self.data = data
        let base = data.buffers.count > 1 ? data.buffers[1].baseAddress : Buffer.empty.baseAddress
        views = base + data.offset * BinaryViewLayout.size
        nulls = NullMask(data)
    }

    /// Whether slot `index` is null. O(1).
    @inlinable public func isNull(_ index: Int) -> Bool { nulls.isNull(index) }

    /// The bytes of slot `index`, viewed in place (inside the view or a data buffer).
    @inlinable
    package func bytes(at index: Int) -> UnsafeRawBufferPointer {
        let view = views + index * BinaryViewLayout.size
        let count = Int(BinaryViewLayout.length(view))
        if count <= BinaryViewLayout.inlineCapacity {
            return UnsafeRawBufferPointer(start: view + 4, count: count)
        }
        let buffer = data.buffers[2 + Int(BinaryViewLayout.bufferIndex(view))]
        return UnsafeRawBufferPointer(start: buffer.baseAddress + Int(BinaryViewLayout.offset(view)), count: count)
    }

    /// Calls `body` with the bytes of slot `index`, viewed in place (no copy).
    @inlinable
    public func withUnsafeBytes<R, E: Error>(at index: Int, _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try withExtendedLifetime(data) { () throws(E) -> R in try body(bytes(at: index)) }
    }
}

/// utf8 strings as views (`string_view`).
public typealias StringViewArray = VariableBinaryViewArray<UTF8Encoding>
/// Bytes as views (`binary_view`).
public typealias BinaryViewArray = VariableBinaryViewArray<BytesEncoding>

/// Binary values of one fixed width, packed back to back.
public struct FixedSizeBinaryArray: ArrowBinaryArray, @unchecked Sendable {
    /// Values read as byte arrays.
    public typealias Encoding = BytesEncoding
    /// The array data viewed (shared, never copied).
    public let data: ArrayData
    /// Bytes per value.
    public let byteWidth: Int
    @usableFromInline let values: UnsafeRawPointer
    @usableFromInline let nulls: NullMask

    /// Views `data` without copying. Throws `typeMismatch` if its type does not fit this
    /// array type and `invalidData` if its buffers are too small (O(1) per buffer).
    public init(_ data: ArrayData) throws {
        try checkArrayType(data, "FixedSizeBinaryArray") {
            if case .fixedSizeBinary = $0 { return true } else { return false }
        }
        self.init(unchecked: data)
    }

    init(unchecked data: ArrayData) {
        self.data = data
        byteWidth = data.type.fixedByteWidth ?? 0
        let base = data.buffers.count > 1 ? data.buffers[1].baseAddress : Buffer.empty.baseAddress
        values = base + data.offset * byteWidth
        nulls = NullMask(data)
    }

    /// Whether slot `index` is null. O(1).
    @inlinable public func isNull(_ index: Int) -> Bool { nulls.isNull(index) }

    /// The bytes of slot `index`, viewed in place.
    @inlinable
    package func bytes(at index: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: values + index * byteWidth, count: byteWidth)
    }

    /// Calls `body` with the bytes of slot `index`, viewed in place (no copy).
    @inlinable
    public func withUnsafeBytes<R, E: Error>(at index: Int, _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try withExtendedLifetime(data) { () throws(E) -> R in try body(bytes(at: index)) }
    }
}
