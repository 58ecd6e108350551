import QuiverBytes

/// Builds offset-based binary or utf8 arrays (`binary`, `utf8`, and their large variants):
/// values are appended to one data buffer, their ends to the offsets buffer.
public final class VariableBinaryBuilder<Offset: ArrowOffset, Encoding: BinaryEncoding>: TypedArrayBuilder {
    /// The type of the arrays produced.
    public let type: DataType
    private let offsets: MutableBuffer
    private let bytes: MutableBuffer
    private var validity: ValidityBitmap

    /// A builder with room for `capacity` values and `byteCapacity` data bytes.
    public init(
        type: DataType = DataType.binaryType(Offset.self, Encoding.self), capacity: Int = 0,
        byteCapacity: Int = 0, pool: MemoryPool = .default
    ) {
        precondition(type.storageType == DataType.binaryType(Offset.self, Encoding.self), "\(Self.self) cannot build \(type)")
        self.type = type
        offsets = MutableBuffer(capacity: (capacity + 1) * MemoryLayout<Offset>.stride, pool: pool)
        offsets.appendValue(Offset.zero)
        bytes = MutableBuffer(capacity: byteCapacity, pool: pool)
        validity = ValidityBitmap(pool: pool)
    }

    /// Slots appended so far.
    public var length: Int { validity.length }
    /// Null slots appended so far.
    public var nullCount: Int { validity.nullCount }

    /// Appends a value (its UTF-8 or raw bytes).
    public func append(_ value: Encoding.Value) {
        Encoding.withBytes(of: value) { append(bytes: $0) }
    }

    /// Appends one value's bytes. For utf8 arrays the caller guarantees they are UTF-8.
    /// Traps if the data would outgrow the offset type (2 GiB for 32-bit offsets).
    /// Amortised O(value bytes).
    public func append(bytes value: UnsafeRawBufferPointer) {
        bytes.append(value)
        precondition(bytes.count <= Int(Offset.max), "\(type) data exceeds \(Offset.max) bytes; use the large type")
        offsets.appendValue(Offset(bytes.count))
        validity.appendValid()
    }

    /// Appends a null slot (amortised O(1)).
    public func appendNull() {
        offsets.appendValue(Offset(bytes.count))
        validity.appendNull()
    }

    /// Appends a dynamic value, converting it to this builder's type; throws `typeMismatch`
    /// when it does not fit.
    public func append(value: ArrowValue) throws {
        switch value {
        case .null: appendNull()
        case .string(var text): text.withUTF8 { append(bytes: UnsafeRawBufferPointer($0)) }
        case .binary(let data) where !Encoding.isUTF8: data.withUnsafeBytes { append(bytes: $0) }
        default: throw typeMismatch(value, type)
        }
    }

    /// The array built so far, handing over the buffers without copying; the builder is
    /// empty afterwards.
    public func finish() -> ArrayData {
        let (length, nulls) = (validity.length, validity.nullCount)
        let result = ArrayData(
            uncheckedType: type, length: length, nullCount: nulls,
            buffers: [validity.finish(), offsets.finish(), bytes.finish()])
        offsets.appendValue(Offset.zero)
        return result
    }
}

/// Builds `string` arrays.
public typealias StringBuilder = VariableBinaryBuilder<Int32, UTF8Encoding>
/// Builds `large_string` arrays.
public typealias LargeStringBuilder = VariableBinaryBuilder<Int64, UTF8Encoding>
/// Builds `binary` arrays.
public typealias BinaryBuilder = VariableBinaryBuilder<Int32, BytesEncoding>
/// Builds `large_binary` arrays.
public typealias LargeBinaryBuilder = VariableBinaryBuilder<Int64, BytesEncoding>
