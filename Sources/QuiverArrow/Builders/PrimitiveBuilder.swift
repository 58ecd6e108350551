import QuiverBytes

/// Builds fixed-width arrays of `T` (numbers, dates, times, timestamps, durations,
/// intervals). Appends are amortised O(1) with no per-element allocation; `append(contentsOf:)`
/// of non-optional values is one memcpy.
public final class PrimitiveBuilder<T: ArrowPrimitive>: TypedArrayBuilder {
    /// The type of the arrays produced.
    public let type: DataType
    private let values: MutableBuffer
    private var validity: ValidityBitmap

    /// A builder for `type` (default: `T`'s own type); `T` must be its storage type.
    public init(type: DataType = T.arrowType, capacity: Int = 0, pool: MemoryPool = .default) {
        precondition(T.canView(type.storageType), "PrimitiveBuilder<\(T.self)> cannot build \(type)")
        self.type = type
        values = MutableBuffer(capacity: capacity * MemoryLayout<T>.stride, pool: pool)
        validity = ValidityBitmap(pool: pool)
    }

    /// Slots appended so far.
    public var length: Int { validity.length }
    /// Null slots appended so far.
    public var nullCount: Int { validity.nullCount }

    /// Appends a valid value (amortised O(1)).
    @inlinable
    public func append(_ value: T) {
        appendStorage(value)
    }

    /// Appends many valid values at once (one copy, no per-element work).
    /// O(values), amortised.
    public func append(contentsOf newValues: [T]) {
        newValues.withUnsafeBytes { values.append($0) }
        validity.appendValid(count: newValues.count)
    }

    /// Appends a null slot (amortised O(1)).
    public func appendNull() {
        values.appendZeros(MemoryLayout<T>.stride)
        validity.appendNull()
    }

    /// Appends a dynamic value, converting it to this builder's type; throws `typeMismatch`
    /// when it does not fit.
    public func append(value: ArrowValue) throws {
        if value.isNull { return appendNull() }
        guard let converted = T(arrowValue: value) else { throw typeMismatch(value, type) }
        append(converted)
    }

    /// The array built so far, handing over the buffers without copying; the builder is
    /// empty afterwards.
    public func finish() -> ArrayData {
        let nulls = validity.nullCount
        let length = validity.length
        return ArrayData(
            uncheckedType: type, length: length, nullCount: nulls, buffers: [validity.finish(), values.finish()])
    }

    @usableFromInline
    func appendStorage(_ value: T) {
        values.appendValue(value)
        validity.appendValid()
    }
}

/// Builds boolean arrays (bit-packed values).
public final class BooleanBuilder: TypedArrayBuilder {
    /// The type of the arrays produced.
    public let type: DataType
    private let bits: MutableBuffer
    private var validity: ValidityBitmap

    /// A builder for `type` (whose storage type must be boolean).
    public init(type: DataType = .boolean, capacity: Int = 0, pool: MemoryPool = .default) {
        precondition(type.storageType == .boolean, "BooleanBuilder for \(type)")
        self.type = type
        bits = MutableBuffer(capacity: BitUtil.byteCount(forBits: capacity), pool: pool)
        validity = ValidityBitmap(pool: pool)
    }

    /// Slots appended so far.
    public var length: Int { validity.length }
    /// Null slots appended so far.
    public var nullCount: Int { validity.nullCount }

    /// Appends a valid value.
    public func append(_ value: Bool) {
        setNext(value)
        validity.appendValid()
    }

    /// Appends a null slot (amortised O(1)).
    public func appendNull() {
        setNext(false)
        validity.appendNull()
    }

    /// Appends a dynamic value, converting it to this builder's type; throws `typeMismatch`
    /// when it does not fit.
    public func append(value: ArrowValue) throws {
        switch value {
        case .null: appendNull()
        case .bool(let flag): append(flag)
        default: throw typeMismatch(value, type)
        }
    }

    /// The array built so far, handing over the buffers without copying; the builder is
    /// empty afterwards.
    public func finish() -> ArrayData {
        let (length, nulls) = (validity.length, validity.nullCount)
        return ArrayData(uncheckedType: type, length: length, nullCount: nulls, buffers: [validity.finish(), bits.finish()])
    }

    private func setNext(_ value: Bool) {
        let index = validity.length
        if bits.count < BitUtil.byteCount(forBits: index + 1) { bits.appendZeros(1) }
        if value { BitUtil.set(bits.pointer, index, true) }
    }
}

/// Builds arrays whose values are `byteWidth` raw bytes each: fixed-size binary and decimals
/// (for decimals, `append(value: .decimal("12.34"))` scales and encodes the number).
public final class FixedSizeBinaryBuilder: TypedArrayBuilder {
    /// The type of the arrays produced.
    public let type: DataType
    /// Bytes per value.
    public let byteWidth: Int
    private let values: MutableBuffer
    private var validity: ValidityBitmap

    /// A builder for a `.fixedSizeBinary` or `.decimal` type. Throws `invalidArgument` for a
    /// negative width or a decimal width other than 32, 64, 128 or 256 bits.
    public init(type: DataType, capacity: Int = 0, pool: MemoryPool = .default) throws {
        switch type.storageType {
        case .fixedSizeBinary(let width) where width >= 0: byteWidth = width
        case .decimal(let bits, _, _) where [32, 64, 128, 256].contains(bits): byteWidth = bits / 8
        default: throw QuiverError(.invalidArgument, "FixedSizeBinaryBuilder cannot build \(type)")
        }
        self.type = type
        values = MutableBuffer(capacity: capacity * byteWidth, pool: pool)
        validity = ValidityBitmap(pool: pool)
    }

    /// Slots appended so far.
    public var length: Int { validity.length }
    /// Null slots appended so far.
    public var nullCount: Int { validity.nullCount }

    /// Appends one value; `bytes.count` must equal `byteWidth`.
    public func append(bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count == byteWidth, "value of \(bytes.count) bytes for width \(byteWidth)")
        values.append(bytes)
        validity.appendValid()
    }

    /// Appends one value; `value.count` must equal `byteWidth`.
    public func append(_ value: [UInt8]) {
        value.withUnsafeBytes { append(bytes: $0) }
    }

    /// Appends a null slot (amortised O(1)).
    public func appendNull() {
        values.appendZeros(byteWidth)
        validity.appendNull()
    }

    /// Appends a dynamic value, converting it to this builder's type; throws `typeMismatch`
    /// when it does not fit.
    public func append(value: ArrowValue) throws {
        switch (value, type.storageType) {
        case (.null, _): appendNull()
        case (.binary(let bytes), .fixedSizeBinary) where bytes.count == byteWidth: append(bytes)
        case (.decimal(let text), .decimal(let bits, _, let scale)): try appendDecimal(text, bits: bits, scale: scale)
        case (.int(let integer), .decimal(let bits, _, let scale)): try appendDecimal(String(integer), bits: bits, scale: scale)
        case (.uint(let integer), .decimal(let bits, _, let scale)): try appendDecimal(String(integer), bits: bits, scale: scale)
        default: throw typeMismatch(value, type)
        }
    }

    /// The array built so far, handing over the buffers without copying; the builder is
    /// empty afterwards.
    public func finish() -> ArrayData {
        let (length, nulls) = (validity.length, validity.nullCount)
        return ArrayData(uncheckedType: type, length: length, nullCount: nulls, buffers: [validity.finish(), values.finish()])
    }

    /// Parses `text` at the type's scale into `bits`-wide two's complement (no rounding).
    private func appendDecimal(_ text: String, bits: Int, scale: Int) throws {
        let mismatch = QuiverError(.typeMismatch, "'\(text)' does not fit \(type) exactly")
        guard let words = DecimalFormat.parse(text, scale: scale, wordCount: max(1, bits / 64)) else { throw mismatch }
        if bits == 32 {
            guard let narrow = Int32(exactly: Int64(bitPattern: words[0])) else { throw mismatch }
            withUnsafeBytes(of: narrow.littleEndian) { append(bytes: $0) }
        } else {
            words.map(\.littleEndian).withUnsafeBytes { append(bytes: $0) }
        }
    }
}
