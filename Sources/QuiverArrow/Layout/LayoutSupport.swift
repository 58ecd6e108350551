import QuiverBytes

// Small facts about physical layouts and integer/byte helpers shared by re-basing,
// concatenation, the IPC decoder/encoder and comparison, so each layout rule lives in one
// place. The bit helpers are in Bits/.

extension DataType {
    /// Bytes per slot of the `.values` buffer: the value width, or the index width of a
    /// dictionary array. Nil for layouts without a fixed-width values buffer.
    package var valuesByteWidth: Int? {
        if case .dictionary(let index, _, _) = storageType { return index.fixedByteWidth }
        return fixedByteWidth
    }

    /// Whether the layout carries variadic data buffers after its views buffer.
    package var hasVariadicBuffers: Bool {
        switch storageType {
        case .binaryView, .utf8View: return true
        default: return false
        }
    }

}

/// The integer width of an offsets, sizes or run-ends buffer, so generic code can be
/// dispatched once per buffer instead of per element.
enum IntegerWidth {
    case int16, int32, int64

    init(_ kind: BufferKind) {
        switch kind {
        case .offsets64, .sizes64: self = .int64
        default: self = .int32
        }
    }

    /// The width of a run-ends type (int16, int32 or int64).
    init(runEnds type: DataType) throws {
        switch type.storageType {
        case .int16: self = .int16
        case .int32: self = .int32
        case .int64: self = .int64
        default: throw QuiverError(.invalidArgument, "run ends must be int16, int32 or int64, not \(type)")
        }
    }

    /// Runs `visitor` specialised for the matching Swift integer type.
    func visit<V: IntegerWidthVisitor>(_ visitor: V) throws -> V.Output {
        switch self {
        case .int16: return try visitor.visit(Int16.self)
        case .int32: return try visitor.visit(Int32.self)
        case .int64: return try visitor.visit(Int64.self)
        }
    }
}

/// An operation generic over the integer type of an offsets, sizes or run-ends buffer
/// (Swift closures cannot be generic; a visitor gets specialised per type).
protocol IntegerWidthVisitor {
    associatedtype Output
    func visit<T: SignedIntegerWidth>(_ type: T.Type) throws -> Output
}

/// Int16, Int32 and Int64: the integer types of offsets, sizes and run ends.
protocol SignedIntegerWidth: FixedWidthInteger, SignedInteger, BitwiseCopyable {}
extension Int16: SignedIntegerWidth {}
extension Int32: SignedIntegerWidth {}
extension Int64: SignedIntegerWidth {}

/// Element access to little-endian integers inside a buffer whose size was checked once.
/// Loads are unaligned-safe, so caller-built buffers at any address are fine.
struct IntegerReader<T: FixedWidthInteger> {
    let base: UnsafeRawPointer
    let count: Int

    /// Views elements `[start, start + count)` of `buffer`; throws unless they all lie inside.
    init(_ buffer: Buffer, start: Int, count: Int, _ what: @autoclosure () -> String) throws {
        let size = MemoryLayout<T>.size
        let byteOffset = try checkedProduct(start, size)
        let byteCount = try checkedProduct(count, size)
        guard byteOffset <= buffer.count, byteCount <= buffer.count - byteOffset else {
            throw QuiverError(
                .invalidData, "\(what()) buffer of \(buffer.count) bytes cannot hold elements [\(start), \(start + count))")
        }
        self.base = buffer.baseAddress + byteOffset
        self.count = count
    }

    @inline(__always)
    subscript(index: Int) -> T {
        T(littleEndian: base.loadUnaligned(fromByteOffset: index &* MemoryLayout<T>.size, as: T.self))
    }

    /// The element as an `Int` (sign-extended; `UInt64` beyond `Int.max` throws).
    @inline(__always)
    func int(_ index: Int) throws -> Int {
        guard let value = Int(exactly: self[index]) else {
            throw QuiverError(.invalidData, "integer \(self[index]) does not fit in Int")
        }
        return value
    }
}

extension ArrayData {
    /// A zero-copy view of slots `[start, start + count)` that throws (instead of trapping as
    /// `slice(from:length:)` does) when the range is outside this array.
    func checkedSlice(from start: Int, length count: Int, _ what: @autoclosure () -> String) throws -> ArrayData {
        guard start >= 0, count >= 0, start <= length, count <= length - start else {
            throw QuiverError(.invalidData, "\(what()) of length \(length) cannot hold slots [\(start), +\(count))")
        }
        if start == 0 && count == length { return self }
        if let validity, nullCount > 0 {
            // `slice` recounts nulls from the bitmap; make sure the bitmap covers the range.
            let end = offset + start + count
            guard offset >= 0, BitUtil.byteCount(forBits: end) <= validity.count else {
                throw QuiverError(.invalidData, "\(what()) validity bitmap is shorter than its slots")
            }
        }
        return slice(from: start, length: count)
    }
}

/// Concatenates byte buffers into one pool allocation (one copy), or returns the only
/// non-empty one as is.
func concatenateBytes(_ buffers: [Buffer], pool: MemoryPool) throws -> Buffer {
    let nonEmpty = buffers.filter { $0.count > 0 }
    if nonEmpty.isEmpty { return .empty }
    if nonEmpty.count == 1 { return nonEmpty[0] }
    let total = try nonEmpty.reduce(0) { try checkedSum($0, $1.count) }
    let allocation = pool.allocate(byteCount: total)
    var position = 0
    for buffer in nonEmpty {
        (allocation.pointer + position).copyMemory(from: buffer.baseAddress, byteCount: buffer.count)
        position += buffer.count
    }
    return allocation.buffer(count: total)
}
