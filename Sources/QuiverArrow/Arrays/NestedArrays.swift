import QuiverBytes

/// Lists addressed by an offsets buffer into one child array (`list`, `large_list`).
///
/// `value(at:)` is the child slice of one slot: a zero-copy `ArrayData`.
public struct VariableListArray<Offset: ArrowOffset>: ArrowArray, @unchecked Sendable {
    /// The array data viewed (shared, never copied).
    public let data: ArrayData
    /// The `length + 1` offsets of this slice into `values` (empty for an empty array
    /// without offsets).
    @usableFromInline package let offsets: UnsafeBufferPointer<Offset>
    @usableFromInline let nulls: NullMask

    /// Views `data` without copying. Throws `typeMismatch` if its type does not fit this
    /// array type and `invalidData` if its buffers are too small (O(1) per buffer).
    public init(_ data: ArrayData) throws {
        try checkArrayType(data, "\(Self.self)") {
            switch $0 {
            case .list: return Offset.self == Int32.self
            case .largeList: return Offset.self == Int64.self
            default: return false
            }
        }
        self.init(unchecked: data)
    }

    init(unchecked data: ArrayData) {
        self.data = data
        offsets = offsetsView(data, Offset.self)
        nulls = NullMask(data)
    }

    /// The child array holding every list's elements (not sliced to this array's range).
    public var values: ArrayData { data.children[0] }
    /// Whether slot `index` is null. O(1).
    @inlinable public func isNull(_ index: Int) -> Bool { nulls.isNull(index) }

    /// Calls `body` with the `length + 1` offsets of this slice into `values`, viewed in
    /// place; the pointer must not escape `body`.
    @inlinable
    public func withUnsafeOffsets<R, E: Error>(_ body: (UnsafeBufferPointer<Offset>) throws(E) -> R) throws(E) -> R {
        defer { withExtendedLifetime(data) {} }
        return try body(offsets)
    }

    /// The elements of slot `index` (zero-copy child slice).
    public func value(at index: Int) -> ArrayData {
        let start = Int(offsets[index])
        return values.slice(from: start, length: Int(offsets[index + 1]) - start)
    }
}

/// Lists with 32-bit offsets.
public typealias ListArray = VariableListArray<Int32>
/// Lists with 64-bit offsets.
public typealias LargeListArray = VariableListArray<Int64>

/// The `length + 1` offsets of a binary or list slice, viewed in place.
func offsetsView<O: ArrowOffset>(_ data: ArrayData, _: O.Type) -> UnsafeBufferPointer<O> {
    let buffer = data.buffers.count > 1 ? data.buffers[1] : Buffer.empty
    guard buffer.count > 0 else { return UnsafeBufferPointer(start: nil, count: 0) }
    return UnsafeBufferPointer(
        start: buffer.baseAddress.assumingMemoryBound(to: O.self) + data.offset, count: data.length + 1)
}

/// Lists given by an offset and a size per slot (`list_view`, `large_list_view`); views may
/// overlap and come in any order.
public struct VariableListViewArray<Offset: ArrowOffset>: ArrowArray, @unchecked Sendable {
    /// The array data viewed (shared, never copied).
    public let data: ArrayData
    /// Per-slot start in `values`.
    @usableFromInline package let offsets: UnsafeBufferPointer<Offset>
    /// Per-slot element count.
    @usableFromInline package let sizes: UnsafeBufferPointer<Offset>
    @usableFromInline let nulls: NullMask

    /// Views `data` without copying. Throws `typeMismatch` if its type does not fit this
    /// array type and `invalidData` if its buffers are too small (O(1) per buffer).
    public init(_ data: ArrayData) throws {
        try checkArrayType(data, "\(Self.self)") {
            switch $0 {
            case .listView: return Offset.self == Int32.self
            case .largeListView: return Offset.self == Int64.self
            default: return false
            }
        }
        self.init(unchecked: data)
    }

    init(unchecked data: ArrayData) {
        self.data = data
        func view(_ i: Int) -> UnsafeBufferPointer<Offset> {
            let base = data.buffers.count > i ? data.buffers[i].baseAddress : Buffer.empty.baseAddress
            return UnsafeBufferPointer(start: base.assumingMemoryBound(to: Offset.self) + data.offset, count: data.length)
        }
        offsets = view(1)
        sizes = view(2)
        nulls = NullMask(data)
    }

    /// The child array holding the elements.
    public var values: ArrayData { data.children[0] }
    /// Whether slot `index` is null. O(1).
    @inlinable public func isNull(_ index: Int) -> Bool { nulls.isNull(index) }

    /// The elements of slot `index` (zero-copy child slice).
    public func value(at index: Int) -> ArrayData {
        values.slice(from: Int(offsets[index]), length: Int(sizes[index]))
    }
}

/// List views with 32-bit offsets and sizes.
public typealias ListViewArray = VariableListViewArray<Int32>
/// List views with 64-bit offsets and sizes.
public typealias LargeListViewArray = VariableListViewArray<Int64>

/// Lists of exactly `listSize` elements each: slot `i` is child rows
/// `[(offset + i) × listSize, +listSize)`.
public struct FixedSizeListArray: ArrowArray {
    /// The array data viewed (shared, never copied).
    public let data: ArrayData
    /// Elements per list.
    public let listSize: Int

    /// Views `data` without copying. Throws `typeMismatch` if its type does not fit this
    /// array type and `invalidData` if its buffers are too small (O(1) per buffer).
    public init(_ data: ArrayData) throws {
        try checkArrayType(data, "FixedSizeListArray") {
            if case .fixedSizeList = $0 { return true } else { return false }
        }
        self.init(unchecked: data)
    }

    init(unchecked data: ArrayData) {
        self.data = data
        if case .fixedSizeList(_, let size) = data.type.storageType { listSize = size } else { listSize = 0 }
    }

    /// The child array holding the elements (not sliced to this array's range).
    public var values: ArrayData { data.children[0] }

    /// The elements of slot `index` (zero-copy child slice).
    public func value(at index: Int) -> ArrayData {
        values.slice(from: (data.offset + index) * listSize, length: listSize)
    }
}

/// Rows of named fields, one child array per field, sliced through this array's offset.
public struct StructArray: ArrowArray {
    /// The array data viewed (shared, never copied).
    public let data: ArrayData

    /// Views `data` without copying. Throws `typeMismatch` if its type does not fit this
    /// array type and `invalidData` if its buffers are too small (O(1) per buffer).
    public init(_ data: ArrayData) throws {
        try checkArrayType(data, "StructArray") {
            if case .struct = $0 { return true } else { return false }
        }
        self.init(unchecked: data)
    }

    init(unchecked data: ArrayData) { self.data = data }

    /// The fields, in child order.
    public var fields: [Field] { data.type.storageType.children }

    /// Field `index` aligned with this array's slots (zero-copy slice of the child). Its own
    /// validity applies on top of the struct's: a slot is null if either is.
    public func field(at index: Int) -> ArrayData {
        data.children[index].slice(from: data.offset, length: data.length)
    }

    /// The first field called `name`, aligned with this array's slots.
    /// O(fields), plus `field(at:)`'s null count (O(length / 64)).
    public func field(named name: String) -> ArrayData? {
        fields.firstIndex { $0.name == name }.map(field(at:))
    }
}

/// Maps: a list of (key, value) entry structs per slot.
public struct MapArray: ArrowArray, @unchecked Sendable {
    /// The array data viewed (shared, never copied).
    public let data: ArrayData
    @usableFromInline let list: ListArray

    /// Views `data` without copying. Throws `typeMismatch` if its type does not fit this
    /// array type and `invalidData` if its buffers are too small (O(1) per buffer).
    public init(_ data: ArrayData) throws {
        try checkArrayType(data, "MapArray") {
            if case .map = $0 { return true } else { return false }
        }
        self.init(unchecked: data)
    }

    init(unchecked data: ArrayData) {
        self.data = data
        list = ListArray(unchecked: data)
    }

    /// Whether slot `index` is null. O(1).
    @inlinable public func isNull(_ index: Int) -> Bool { list.isNull(index) }
    /// The entries struct array (keys, values), not sliced to this array's range.
    public var entries: ArrayData { data.children[0] }
    /// The `length + 1` offsets of this slice into `entries`.
    package var offsets: UnsafeBufferPointer<Int32> { list.offsets }

    /// The keys and values of slot `index` (zero-copy slices of the entry children).
    public func value(at index: Int) -> (keys: ArrayData, items: ArrayData) {
        let slots = list.value(at: index)
        let entries = StructArray(unchecked: slots)
        return (entries.field(at: 0), entries.field(at: 1))
    }
}

/// Unions: each slot takes its value from the child its type id selects. Sparse unions
/// index every child at the slot's position; dense ones through a per-slot offset.
public struct UnionArray: ArrowArray, @unchecked Sendable {
    /// The array data viewed (shared, never copied).
    public let data: ArrayData
    /// Sparse or dense.
    public let mode: UnionMode
    /// The declared type id of each child.
    public let typeIds: [Int8]
    @usableFromInline let ids: UnsafePointer<Int8>
    @usableFromInline let denseOffsets: UnsafePointer<Int32>?
    /// Child index for each type id (0...127), -1 where none.
    @usableFromInline let childForTypeId: [Int8]

    /// Views `data` without copying. Throws `typeMismatch` if its type does not fit this
    /// array type and `invalidData` if its buffers are too small (O(1) per buffer).
    public init(_ data: ArrayData) throws {
        try checkArrayType(data, "UnionArray") {
            if case .union = $0 { return true } else { return false }
        }
        self.init(unchecked: data)
    }

    init(unchecked data: ArrayData) {
        self.data = data
        guard case .union(let mode, _, let typeIds) = data.type.storageType else {
            preconditionFailure("UnionArray over \(data.type)")
        }
        self.mode = mode
        self.typeIds = typeIds
        childForTypeId = unionChildTable(typeIds)
        let base = data.buffers.first?.baseAddress ?? Buffer.empty.baseAddress
        ids = base.assumingMemoryBound(to: Int8.self) + data.offset
        denseOffsets = mode == .dense && data.buffers.count > 1
            ? data.buffers[1].baseAddress.assumingMemoryBound(to: Int32.self) + data.offset : nil
    }

    /// Unions have no validity of their own: a slot is null when its child value is.
    public func isNull(_ index: Int) -> Bool {
        let (child, position) = location(at: index)
        return data.children[child].isNull(position)
    }

    /// The type id of slot `index`.
    @inlinable public func typeId(at index: Int) -> Int8 { ids[index] }

    /// The child index and the position inside that child of slot `index`.
    @inlinable
    public func location(at index: Int) -> (child: Int, position: Int) {
        let child = Int(childForTypeId[Int(ids[index])])
        if let denseOffsets { return (child, Int(denseOffsets[index])) }
        return (child, data.offset + index)
    }

    /// Child `index`, unsliced (positions from `location(at:)` index it directly).
    public func child(at index: Int) -> ArrayData { data.children[index] }
}

/// The child index of each union type id (0...127), -1 where no child has that id.
func unionChildTable(_ typeIds: [Int8]) -> [Int8] {
    var table = [Int8](repeating: -1, count: 128)
    for (child, id) in typeIds.enumerated() where id >= 0 && child < 128 { table[Int(id)] = Int8(child) }
    return table
}

/// Dictionary-encoded values: integer indices into a dictionary array.
public struct DictionaryArray: ArrowArray, @unchecked Sendable {
    /// The array data viewed (shared, never copied).
    public let data: ArrayData
    @usableFromInline let nulls: NullMask

    /// Views `data` without copying. Throws `typeMismatch` if its type does not fit this
    /// array type and `invalidData` if its buffers are too small (O(1) per buffer).
    public init(_ data: ArrayData) throws {
        try checkArrayType(data, "DictionaryArray") {
            if case .dictionary = $0 { return true } else { return false }
        }
        self.init(unchecked: data)
    }

    init(unchecked data: ArrayData) {
        self.data = data
        nulls = NullMask(data)
        if case .dictionary(let index, _, _) = data.type.storageType { indexType = index } else { indexType = .int32 }
    }

    /// The integer type of the indices.
    public let indexType: DataType

    /// Whether slot `index` is null. O(1).
    @inlinable public func isNull(_ index: Int) -> Bool { nulls.isNull(index) }

    /// The index array, typed with the index type (zero-copy).
    public var indices: ArrayData {
        var indices = data
        indices.type = indexType
        indices.dictionary = nil
        return indices
    }

    /// The dictionary values.
    public var dictionary: ArrayData { data.dictionary ?? ArrayData(uncheckedType: .null, length: 0, buffers: []) }

    /// The dictionary index of slot `index`, or nil when the slot is null.
    public func key(at index: Int) -> Int? {
        isNull(index) ? nil : integerValue(data, at: index, as: indexType)
    }
}

/// Reads slot `index` of an integer array of any integer storage type as `Int` (`type`
/// overrides the data's own type, for dictionary indices). uint64 values above `Int.max`
/// wrap; validated dictionary indices and run ends never are.
func integerValue(_ data: ArrayData, at index: Int, as type: DataType? = nil) -> Int {
    let base = data.buffers[1].baseAddress
    let position = data.offset + index
    switch (type ?? data.type).storageType {
    case .int8: return Int(base.load(fromByteOffset: position, as: Int8.self))
    case .uint8: return Int(base.load(fromByteOffset: position, as: UInt8.self))
    case .int16: return Int(base.load(fromByteOffset: position * 2, as: Int16.self))
    case .uint16: return Int(base.load(fromByteOffset: position * 2, as: UInt16.self))
    case .int32: return Int(base.load(fromByteOffset: position * 4, as: Int32.self))
    case .uint32: return Int(base.load(fromByteOffset: position * 4, as: UInt32.self))
    case .uint64: return Int(truncatingIfNeeded: base.load(fromByteOffset: position * 8, as: UInt64.self))
    default: return Int(base.load(fromByteOffset: position * 8, as: Int64.self))
    }
}

/// Run-end encoded values: `runEnds[i]` is the logical end of run `i`, whose value is
/// `values[i]`. Logical slot lookup is a binary search (O(log runs)).
public struct RunEndEncodedArray: ArrowArray {
    /// The array data viewed (shared, never copied).
    public let data: ArrayData

    /// Views `data` without copying. Throws `typeMismatch` if its type does not fit this
    /// array type and `invalidData` if its buffers are too small (O(1) per buffer).
    public init(_ data: ArrayData) throws {
        try checkArrayType(data, "RunEndEncodedArray") {
            if case .runEndEncoded = $0 { return true } else { return false }
        }
        self.init(unchecked: data)
    }

    init(unchecked data: ArrayData) { self.data = data }

    /// The run ends (int16, int32 or int64), unsliced: they count from the parent's slot 0.
    public var runEnds: ArrayData { data.children[0] }
    /// One value per run.
    public var values: ArrayData { data.children[1] }

    /// The run (index into `values`) holding logical slot `index` of this (sliced) array:
    /// the first run whose end exceeds `offset + index`.
    /// O(log runs): a binary search of the run ends.
    public func physicalIndex(at index: Int) -> Int {
        let target = data.offset + index
        var low = 0
        var high = runEnds.length
        while low < high {
            let middle = (low + high) / 2
            if integerValue(runEnds, at: middle) > target { high = middle } else { low = middle + 1 }
        }
        return low
    }

    /// Null when the run's value is null.
    /// O(log runs).
    public func isNull(_ index: Int) -> Bool { values.isNull(physicalIndex(at: index)) }
}
