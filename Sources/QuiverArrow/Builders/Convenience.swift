import QuiverBytes

/// A Swift type with a builder for its Arrow array: how `ArrayData.build(from:)` and the
/// array initialisers from Swift arrays find their builder.
public protocol ArrowBuildable {
    associatedtype Builder: TypedArrayBuilder where Builder.Value == Self
    /// A builder for this type's default Arrow type.
    static func makeArrayBuilder(capacity: Int, pool: MemoryPool) -> Builder
}

extension ArrowBuildable where Self: ArrowPrimitive {
    /// A `PrimitiveBuilder` of this type, with room for `capacity` values.
    public static func makeArrayBuilder(capacity: Int, pool: MemoryPool) -> PrimitiveBuilder<Self> {
        PrimitiveBuilder(capacity: capacity, pool: pool)
    }
}

extension Int8: ArrowBuildable {}
extension Int16: ArrowBuildable {}
extension Int32: ArrowBuildable {}
extension Int64: ArrowBuildable {}
extension UInt8: ArrowBuildable {}
extension UInt16: ArrowBuildable {}
extension UInt32: ArrowBuildable {}
extension UInt64: ArrowBuildable {}
extension Float: ArrowBuildable {}
extension Double: ArrowBuildable {}
extension DayTimeInterval: ArrowBuildable {}
extension MonthDayNanoInterval: ArrowBuildable {}
#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
extension Float16: ArrowBuildable {}
#endif

extension Bool: ArrowBuildable {
    /// Booleans build `boolean` arrays.
    public static func makeArrayBuilder(capacity: Int, pool: MemoryPool) -> BooleanBuilder {
        BooleanBuilder(capacity: capacity, pool: pool)
    }
}

extension String: ArrowBuildable {
    /// Strings build `utf8` arrays.
    public static func makeArrayBuilder(capacity: Int, pool: MemoryPool) -> StringBuilder {
        StringBuilder(capacity: capacity, pool: pool)
    }
}

extension Array: ArrowBuildable where Element == UInt8 {
    /// Byte arrays build `binary` arrays.
    public static func makeArrayBuilder(capacity: Int, pool: MemoryPool) -> BinaryBuilder {
        BinaryBuilder(capacity: capacity, pool: pool)
    }
}

extension ArrayData {
    /// Builds an array from optional Swift values (nil as null), e.g.
    /// `ArrayData.build(from: [1, nil, 3] as [Int32?])`.
    /// O(values): one append each.
    public static func build<T: ArrowBuildable>(from values: [T?], pool: MemoryPool = .default) -> ArrayData {
        let builder = T.makeArrayBuilder(capacity: values.count, pool: pool)
        builder.append(contentsOf: values)
        return builder.finish()
    }

    /// Builds a fixed-width array without nulls in one copy (no per-element work).
    public static func build<T: ArrowPrimitive>(
        from values: [T], type: DataType = T.arrowType, pool: MemoryPool = .default
    ) -> ArrayData {
        precondition(T.canView(type.storageType), "\(T.self) values cannot build \(type)")
        return ArrayData(uncheckedType: type, length: values.count, buffers: [.empty, Buffer(copyingValues: values, pool: pool)])
    }
}

extension PrimitiveArray {
    /// An array of `values` (nil as null), e.g. `Int32Array([1, nil, 3])` or
    /// `Date32Array([18_000], type: .date32)`.
    /// O(values): one append each.
    public init(_ values: [T?], type: DataType = T.arrowType, pool: MemoryPool = .default) {
        let builder = PrimitiveBuilder<T>(type: type, capacity: values.count, pool: pool)
        builder.append(contentsOf: values)
        self.init(unchecked: builder.finish())
    }

    /// An array without nulls, copied in one `memcpy`: the fast path for bulk data.
    public init(values: [T], type: DataType = T.arrowType, pool: MemoryPool = .default) {
        self.init(unchecked: ArrayData.build(from: values, type: type, pool: pool))
    }
}

extension BooleanArray {
    /// An array of `values` (nil as null).
    /// O(values).
    public init(_ values: [Bool?], pool: MemoryPool = .default) {
        self.init(unchecked: ArrayData.build(from: values, pool: pool))
    }
}

extension VariableBinaryArray {
    /// An array of `values` (nil as null), e.g. `StringArray(["a", nil])`.
    /// O(values + bytes).
    public init(_ values: [Encoding.Value?], pool: MemoryPool = .default) {
        let builder = VariableBinaryBuilder<Offset, Encoding>(capacity: values.count, pool: pool)
        builder.append(contentsOf: values)
        self.init(unchecked: builder.finish())
    }
}
