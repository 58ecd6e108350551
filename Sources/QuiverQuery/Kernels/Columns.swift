import QuiverArrow
import QuiverBytes

/// Typed, unchecked read access to the buffers of an `ArrayData` that `ColumnCheck.prepare`
/// has validated: the kernels' view of their inputs. Every accessor applies `offset`.
enum Columns {
    /// The values of a fixed-width array, starting at its logical offset.
    @inline(__always)
    static func values<T: BitwiseCopyable>(_ data: ArrayData, as type: T.Type) -> UnsafePointer<T> {
        data.buffers[1].baseAddress.assumingMemoryBound(to: T.self) + data.offset
    }

    /// The value bits of a boolean array.
    @inline(__always)
    static func bits(_ data: ArrayData) -> BitView {
        BitView(data.buffers[1].baseAddress, offset: data.offset, count: data.length)
    }

    /// The strings (or binaries) of an offsets + data array.
    @inline(__always)
    static func strings<O: FixedWidthInteger>(_ data: ArrayData, offsets: O.Type) -> StringsView<O> {
        StringsView(
            offsets: data.buffers[1].baseAddress.assumingMemoryBound(to: O.self) + data.offset,
            bytes: data.buffers[2].baseAddress)
    }

    /// Whether a string array uses 64-bit offsets.
    static func hasLargeOffsets(_ type: DataType) -> Bool {
        switch type.storageType {
        case .largeUtf8, .largeBinary: return true
        default: return false
        }
    }
}

/// Bytes compared as unsigned bytes (UTF-8 byte order is code-point order).
struct ByteString: Comparable, Hashable {
    let start: UnsafeRawPointer
    let count: Int

    @inline(__always)
    static func < (a: ByteString, b: ByteString) -> Bool { compare(a, b) < 0 }
    @inline(__always)
    static func == (a: ByteString, b: ByteString) -> Bool {
        a.count == b.count && (a.count == 0 || system_memcmp(a.start, b.start, a.count) == 0)
    }
    func hash(into hasher: inout Hasher) {
        hasher.combine(bytes: UnsafeRawBufferPointer(start: start, count: count))
    }

    @inline(__always)
    static func compare(_ a: ByteString, _ b: ByteString) -> Int {
        let common = Swift.min(a.count, b.count)
        if common > 0 {
            let c = system_memcmp(a.start, b.start, common)
            if c != 0 { return Int(c) }
        }
        return a.count - b.count
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: start, count: count) }
}

/// The strings of an array with `O`-sized offsets (already shifted by the array offset).
struct StringsView<O: FixedWidthInteger> {
    let offsets: UnsafePointer<O>
    let bytes: UnsafeRawPointer

    @inline(__always)
    subscript(index: Int) -> ByteString {
        let start = Int(truncatingIfNeeded: offsets[index])
        return ByteString(start: bytes + start, count: Int(truncatingIfNeeded: offsets[index + 1]) - start)
    }
}

/// Row-indexed input of a kernel: a column or one value repeated. Kernels are generic over
/// their operands, so array⊕array, array⊕scalar and scalar⊕array share one body.
protocol Operand {
    associatedtype Element
    subscript(index: Int) -> Element { get }
}

struct ValuesOperand<T: BitwiseCopyable>: Operand {
    let base: UnsafePointer<T>
    @inline(__always) subscript(index: Int) -> T { base[index] }
}

struct ConstantOperand<T>: Operand {
    let value: T
    @inline(__always) subscript(index: Int) -> T { value }
}

struct StringsOperand<O: FixedWidthInteger>: Operand {
    let view: StringsView<O>
    @inline(__always) subscript(index: Int) -> ByteString { view[index] }
}

/// Booleans as 0/1 bytes, so they are `Comparable`.
struct BitsOperand: Operand {
    let view: BitView
    @inline(__always) subscript(index: Int) -> UInt8 { view[index] ? 1 : 0 }
}

/// Allocation helpers for kernel outputs (all through the pool, so results are counted).
enum Output {
    /// A fixed-width array of `count` values, written by `fill`.
    static func fixed<T: BitwiseCopyable>(
        _ type: T.Type, count: Int, pool: MemoryPool, _ fill: (UnsafeMutablePointer<T>) throws -> Void
    ) rethrows -> Buffer {
        let allocation = pool.allocate(byteCount: count * MemoryLayout<T>.stride)
        try fill(allocation.pointer.bindMemory(to: T.self, capacity: Swift.max(count, 1)))
        return allocation.buffer(count: count * MemoryLayout<T>.stride)
    }

    /// Assembles an array from a validity (nil = all valid) and its other buffers.
    static func array(
        _ type: DataType, length: Int, validity: (Buffer, nullCount: Int)?, _ buffers: [Buffer]
    ) -> ArrayData {
        ArrayData(
            uncheckedType: type, length: length, nullCount: validity?.nullCount ?? 0,
            buffers: [validity?.0 ?? .empty] + buffers)
    }

    /// An array of `length` nulls of `type` (buffers zero-filled, so readers stay in bounds).
    static func nulls(_ type: DataType, length: Int, pool: MemoryPool) -> ArrayData {
        let bitmap = pool.allocateZeroed(byteCount: BitUtil.byteCount(forBits: length))
            .buffer(count: BitUtil.byteCount(forBits: length))
        switch type.storageType {
        case .null:
            return ArrayData(uncheckedType: type, length: length, nullCount: length, buffers: [])
        case .boolean:
            return ArrayData(uncheckedType: type, length: length, nullCount: length, buffers: [bitmap, bitmap])
        case .dictionary(let index, let value, _):
            var indices = nulls(index, length: length, pool: pool)
            indices.type = type
            indices.dictionary = nulls(value, length: 0, pool: pool)
            return indices
        case .utf8, .binary, .largeUtf8, .largeBinary:
            let width = Columns.hasLargeOffsets(type) ? 8 : 4
            let offsets = pool.allocateZeroed(byteCount: (length + 1) * width).buffer(count: (length + 1) * width)
            return ArrayData(uncheckedType: type, length: length, nullCount: length, buffers: [bitmap, offsets, .empty])
        default:
            let width = type.fixedByteWidth ?? 0
            let values = pool.allocateZeroed(byteCount: length * width).buffer(count: length * width)
            return ArrayData(uncheckedType: type, length: length, nullCount: length, buffers: [bitmap, values])
        }
    }
}

/// Builds a utf8/binary array (32- or 64-bit offsets) one value at a time.
struct StringBuilder {
    private let offsets: MutableBuffer
    private let data: MutableBuffer
    private let validity: MutableBuffer
    private let large: Bool
    private(set) var count = 0
    private(set) var nullCount = 0
    let type: DataType

    init(type: DataType, capacity: Int, pool: MemoryPool) {
        self.type = type
        large = Columns.hasLargeOffsets(type)
        offsets = MutableBuffer(capacity: (capacity + 1) * (large ? 8 : 4), pool: pool)
        data = MutableBuffer(capacity: capacity * 8, pool: pool)
        validity = MutableBuffer(capacity: BitUtil.byteCount(forBits: capacity), pool: pool)
        appendOffset()
    }

    private func appendOffset() {
        if large { offsets.appendValue(Int64(data.count)) } else { offsets.appendValue(Int32(truncatingIfNeeded: data.count)) }
    }

    private mutating func appendValidity(_ valid: Bool) {
        if count & 7 == 0 { validity.appendZeros(1) }
        if valid { BitUtil.set(validity.pointer, count, true) } else { nullCount += 1 }
        count += 1
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) throws {
        data.append(bytes)
        guard large || data.count <= Int32.max else {
            throw QuiverError(.capacityExceeded, "string result exceeds 2 GiB; use large_string")
        }
        appendOffset()
        appendValidity(true)
    }

    mutating func append(_ string: String) throws {
        var copy = string
        try copy.withUTF8 { try append(UnsafeRawBufferPointer($0)) }
    }

    mutating func appendNull() {
        appendOffset()
        appendValidity(false)
    }

    func finish() -> ArrayData {
        let validityBuffer = nullCount > 0 ? validity.finish() : Buffer.empty
        return ArrayData(
            uncheckedType: type, length: count, nullCount: nullCount,
            buffers: [validityBuffer, offsets.finish(), data.finish()])
    }
}
