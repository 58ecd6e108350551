import QuiverBytes

/// Wraps any builder so builders chosen at run time (`makeBuilder(for:)`) can be the child of
/// a generic nested builder.
public final class AnyArrayBuilder: ArrayBuilder {
    /// The wrapped builder.
    public let base: any ArrayBuilder
    /// Wraps `base`.
    public init(_ base: any ArrayBuilder) { self.base = base }
    /// The type of the arrays produced.
    public var type: DataType { base.type }
    /// Slots appended so far.
    public var length: Int { base.length }
    /// Null slots appended so far.
    public var nullCount: Int { base.nullCount }
    /// Appends a null slot (amortised O(1)).
    public func appendNull() { base.appendNull() }
    /// Appends a dynamic value, converting it to this builder's type; throws `typeMismatch`
    /// when it does not fit.
    public func append(value: ArrowValue) throws { try base.append(value: value) }
    /// The array built so far, handing over the buffers without copying; the builder is
    /// empty afterwards.
    public func finish() -> ArrayData { base.finish() }
}

/// The offsets of a list-like builder: the start of each slot in the child, plus the end
/// added by `finish`.
private struct OffsetsBuilder<Offset: ArrowOffset> {
    let buffer: MutableBuffer

    init(capacity: Int, pool: MemoryPool) {
        buffer = MutableBuffer(capacity: (capacity + 1) * MemoryLayout<Offset>.stride, pool: pool)
    }

    /// Records that the next slot starts at child slot `start`. Traps past the offset type's
    /// range (use the large type).
    func appendStart(_ start: Int) {
        precondition(start <= Int(Offset.max), "list child exceeds \(Offset.max) slots; use the large type")
        buffer.appendValue(Offset(start))
    }

    /// The offsets with the final end appended; empty afterwards.
    func finish(end: Int) -> Buffer {
        appendStart(end)
        return buffer.finish()
    }
}

/// Builds `list` / `large_list` arrays over a child builder, in the Arrow C++ style:
/// `append()` starts a list, then the elements go into `child`; `appendNull()` adds a null
/// (empty) list.
public final class VariableListBuilder<Offset: ArrowOffset, Child: ArrayBuilder>: ArrayBuilder {
    /// Receives the elements of the current list.
    public let child: Child
    /// The type of the arrays produced.
    public let type: DataType
    private let offsets: OffsetsBuilder<Offset>
    private var validity: ValidityBitmap

    /// A list builder over `child`; the element field defaults to a nullable "item" of the
    /// child's type. `type` overrides the whole type (e.g. an extension over a list).
    public init(child: Child, field: Field? = nil, type: DataType? = nil, capacity: Int = 0, pool: MemoryPool = .default) {
        let field = field ?? Field("item", child.type)
        let listType = type ?? (Offset.self == Int64.self ? .largeList(field) : .list(field))
        precondition(listType.storageType == (Offset.self == Int64.self ? .largeList(field) : .list(field))
            && field.type == child.type, "\(Self.self) cannot build \(listType) from a \(child.type) child")
        self.child = child
        self.type = listType
        offsets = OffsetsBuilder(capacity: capacity, pool: pool)
        validity = ValidityBitmap(pool: pool)
    }

    /// Slots appended so far.
    public var length: Int { validity.length }
    /// Null slots appended so far.
    public var nullCount: Int { validity.nullCount }

    /// Starts a valid list; elements appended to `child` until the next start belong to it.
    public func append() {
        offsets.appendStart(child.length)
        validity.appendValid()
    }

    /// Appends a null slot (amortised O(1)).
    public func appendNull() {
        offsets.appendStart(child.length)
        validity.appendNull()
    }

    /// Appends a dynamic value, converting it to this builder's type; throws `typeMismatch`
    /// when it does not fit.
    public func append(value: ArrowValue) throws {
        switch value {
        case .null: appendNull()
        case .list(let elements):
            append()
            for element in elements { try child.append(value: element) }
        default: throw typeMismatch(value, type)
        }
    }

    /// The array built so far, handing over the buffers without copying; the builder is
    /// empty afterwards.
    public func finish() -> ArrayData {
        let (length, nulls) = (validity.length, validity.nullCount)
        let offsetsBuffer = offsets.finish(end: child.length)
        return ArrayData(
            uncheckedType: type, length: length, nullCount: nulls, buffers: [validity.finish(), offsetsBuffer],
            children: [child.finish()])
    }
}

extension VariableListBuilder: TypedArrayBuilder where Child: TypedArrayBuilder {
    /// One list slot: the child values, nil for null children.
    public typealias Value = [Child.Value?]

    /// Appends one list of elements (nil elements as nulls).
    /// O(elements).
    public func append(_ elements: [Child.Value?]) {
        append()
        child.append(contentsOf: elements)
    }
}

/// Builds `list` arrays.
public typealias ListBuilder<Child: ArrayBuilder> = VariableListBuilder<Int32, Child>
/// Builds `large_list` arrays.
public typealias LargeListBuilder<Child: ArrayBuilder> = VariableListBuilder<Int64, Child>

/// Builds `fixed_size_list` arrays: each valid slot takes exactly `listSize` elements from
/// `child`; a null slot appends `listSize` null elements.
public final class FixedSizeListBuilder<Child: ArrayBuilder>: ArrayBuilder {
    /// Receives the elements, `listSize` per slot.
    public let child: Child
    /// The type of the arrays produced.
    public let type: DataType
    /// Elements per list.
    public let listSize: Int
    private var validity: ValidityBitmap

    /// Throws `invalidArgument` for a negative size or a type that does not match.
    public init(child: Child, field: Field? = nil, listSize: Int, type: DataType? = nil, pool: MemoryPool = .default) throws {
        let field = field ?? Field("item", child.type)
        let listType = type ?? .fixedSizeList(field, listSize: listSize)
        guard listSize >= 0, listType.storageType == .fixedSizeList(field, listSize: listSize), field.type == child.type else {
            throw QuiverError(.invalidArgument, "cannot build \(listType) from a \(child.type) child")
        }
        self.child = child
        self.type = listType
        self.listSize = listSize
        validity = ValidityBitmap(pool: pool)
    }

    /// Slots appended so far.
    public var length: Int { validity.length }
    /// Null slots appended so far.
    public var nullCount: Int { validity.nullCount }

    /// Marks a valid slot; the caller appends its `listSize` elements to `child`.
    public func append() { validity.appendValid() }

    /// Appends a null slot (amortised O(1)).
    public func appendNull() {
        child.appendNulls(listSize)
        validity.appendNull()
    }

    /// Appends a dynamic value, converting it to this builder's type; throws `typeMismatch`
    /// when it does not fit.
    public func append(value: ArrowValue) throws {
        switch value {
        case .null: appendNull()
        case .list(let elements) where elements.count == listSize:
            for element in elements { try child.append(value: element) }
            append()
        default: throw typeMismatch(value, type)
        }
    }

    /// The array built so far, handing over the buffers without copying; the builder is
    /// empty afterwards.
    public func finish() -> ArrayData {
        precondition(child.length == validity.length * listSize, "fixed-size list child has \(child.length) elements")
        let (length, nulls) = (validity.length, validity.nullCount)
        return ArrayData(
            uncheckedType: type, length: length, nullCount: nulls, buffers: [validity.finish()], children: [child.finish()])
    }
}

/// Builds struct arrays over one child builder per field: `append()` marks a valid row (the
/// caller appends one value to every field), `appendNull()` a null row (fields get nulls).
public final class StructBuilder: ArrayBuilder {
    /// The type of the arrays produced.
    public let type: DataType
    /// One builder per field, in field order.
    public let children: [any ArrayBuilder]
    private let fields: [Field]
    private var validity: ValidityBitmap

    /// A struct builder whose fields take the children's types.
    public convenience init(_ children: [(String, any ArrayBuilder)], pool: MemoryPool = .default) {
        let fields = children.map { Field($0.0, $0.1.type) }
        self.init(fields: fields, children: children.map(\.1), type: .struct(fields), pool: pool)
    }

    init(fields: [Field], children: [any ArrayBuilder], type: DataType, pool: MemoryPool) {
        precondition(fields.count == children.count && zip(fields, children).allSatisfy { $0.type == $1.type })
        self.type = type
        self.fields = fields
        self.children = children
        validity = ValidityBitmap(pool: pool)
    }

    /// Slots appended so far.
    public var length: Int { validity.length }
    /// Null slots appended so far.
    public var nullCount: Int { validity.nullCount }

    /// Field `index`'s builder as its concrete type.
    public func field<B: ArrayBuilder>(at index: Int, as _: B.Type = B.self) -> B {
        guard let builder = children[index] as? B else {
            preconditionFailure("field \(index) is built by \(Swift.type(of: children[index])), not \(B.self)")
        }
        return builder
    }

    /// Marks a valid row; the caller appends one value to each field builder.
    public func append() { validity.appendValid() }

    /// Appends a null slot (amortised O(1)).
    public func appendNull() {
        for child in children { child.appendNull() }
        validity.appendNull()
    }

    /// Appends `.struct` values by field name (absent fields become null).
    public func append(value: ArrowValue) throws {
        switch value {
        case .null: appendNull()
        case .struct(let members):
            for (name, _) in members where !fields.contains(where: { $0.name == name }) {
                throw QuiverError(.typeMismatch, "\(type) has no field '\(name)'")
            }
            for (field, child) in zip(fields, children) {
                try child.append(value: members.first { $0.0 == field.name }?.1 ?? .null)
            }
            append()
        default: throw typeMismatch(value, type)
        }
    }

    /// The array built so far, handing over the buffers without copying; the builder is
    /// empty afterwards.
    public func finish() -> ArrayData {
        precondition(children.allSatisfy { $0.length == validity.length }, "struct fields have unequal lengths")
        let (length, nulls) = (validity.length, validity.nullCount)
        return ArrayData(
            uncheckedType: type, length: length, nullCount: nulls, buffers: [validity.finish()],
            children: children.map { $0.finish() })
    }
}

/// Builds map arrays: `append()` starts a map, then each entry is one key appended to `keys`
/// and one value to `items` (keys must not be null).
public final class MapBuilder: ArrayBuilder {
    /// The type of the arrays produced.
    public let type: DataType
    /// Receives the keys of the current map.
    public let keys: any ArrayBuilder
    /// Receives the values of the current map.
    public let items: any ArrayBuilder
    private let entries: Field
    private let offsets: OffsetsBuilder<Int32>
    private var validity: ValidityBitmap

    /// A builder for a `.map` type. Throws `unsupported` when its key or value type has no builder.
    public init(entries: Field, keysSorted: Bool, type: DataType? = nil, pool: MemoryPool = .default) throws {
        let kv = entries.type.storageType.children
        guard kv.count == 2 else { throw QuiverError(.invalidArgument, "map entries \(entries.type) need a key and a value") }
        self.type = type ?? .map(entries: entries, keysSorted: keysSorted)
        self.entries = entries
        keys = try makeBuilder(for: kv[0].type, pool: pool)
        items = try makeBuilder(for: kv[1].type, pool: pool)
        offsets = OffsetsBuilder(capacity: 0, pool: pool)
        validity = ValidityBitmap(pool: pool)
    }

    /// A builder for maps from `keyType` to `valueType`, with Arrow's usual field names.
    public convenience init(keyType: DataType, valueType: DataType, keysSorted: Bool = false, pool: MemoryPool = .default) throws {
        let entries = Field(
            "entries", .struct([Field("key", keyType, nullable: false), Field("value", valueType)]), nullable: false)
        try self.init(entries: entries, keysSorted: keysSorted, pool: pool)
    }

    /// Slots appended so far.
    public var length: Int { validity.length }
    /// Null slots appended so far.
    public var nullCount: Int { validity.nullCount }

    /// Starts a valid map; entries appended to `keys` and `items` until the next start belong to it.
    public func append() {
        offsets.appendStart(keys.length)
        validity.appendValid()
    }

    /// Appends a null slot (amortised O(1)).
    public func appendNull() {
        offsets.appendStart(keys.length)
        validity.appendNull()
    }

    /// Appends a dynamic value, converting it to this builder's type; throws `typeMismatch`
    /// when it does not fit.
    public func append(value: ArrowValue) throws {
        switch value {
        case .null: appendNull()
        case .map(let pairs):
            append()
            for (key, item) in pairs {
                guard !key.isNull else { throw QuiverError(.typeMismatch, "map keys cannot be null") }
                try keys.append(value: key)
                try items.append(value: item)
            }
        default: throw typeMismatch(value, type)
        }
    }

    /// The array built so far, handing over the buffers without copying; the builder is
    /// empty afterwards.
    public func finish() -> ArrayData {
        precondition(keys.length == items.length, "map has \(keys.length) keys but \(items.length) values")
        let (length, nulls) = (validity.length, validity.nullCount)
        let offsetsBuffer = offsets.finish(end: keys.length)
        let count = keys.length
        let entriesData = ArrayData(
            uncheckedType: entries.type, length: count, buffers: [.empty], children: [keys.finish(), items.finish()])
        return ArrayData(
            uncheckedType: type, length: length, nullCount: nulls, buffers: [validity.finish(), offsetsBuffer],
            children: [entriesData])
    }
}
