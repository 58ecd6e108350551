import QuiverBytes

/// A typed, read-only view of one `ArrayData`: the common surface of every array type.
///
/// Typed arrays never copy: they keep the `ArrayData` (and so its buffers) alive and read
/// through pointers cached at construction. They assume the data obeys the columnar format:
/// the throwing initialisers run `validate(full: false)`, readers of untrusted input run
/// `validate(full: true)` first (IPC does by default).
public protocol ArrowArray: Sendable {
    /// The physical data viewed.
    var data: ArrayData { get }
    /// Wraps `data`, throwing `typeMismatch` if its type does not fit this array type and
    /// `invalidData` if its buffers are too small for its length (O(1) per buffer).
    init(_ data: ArrayData) throws
    /// Whether slot `index` (0-based, relative to the data's offset) is null.
    func isNull(_ index: Int) -> Bool
}

extension ArrowArray {
    /// The number of slots.
    public var length: Int { data.length }
    /// The number of null slots.
    public var nullCount: Int { data.nullCount }
    /// The logical type (an extension type stays an extension type here).
    public var type: DataType { data.type }
    /// Whether slot `index` holds a value.
    public func isValid(_ index: Int) -> Bool { !isNull(index) }
    /// Default: the data's own validity lookup.
    public func isNull(_ index: Int) -> Bool { data.isNull(index) }
}

/// An array whose slots hold one scalar each (numbers, strings, bytes), readable as a Swift
/// collection of optionals: `Array(int32Array)` is `[Int32?]`.
public protocol ArrowScalarArray: ArrowArray, RandomAccessCollection
where Index == Int, Element == Value? {
    /// The Swift type of one value.
    associatedtype Value
    /// The value in slot `index`, ignoring validity (a null slot yields whatever bytes it holds).
    func value(at index: Int) -> Value
}

extension ArrowScalarArray {
    /// Always 0.
    public var startIndex: Int { 0 }
    /// The number of slots.
    public var endIndex: Int { data.length }
    /// The value in slot `index`, or nil when it is null.
    public subscript(index: Int) -> Value? { isNull(index) ? nil : value(at: index) }
}

/// The validity bitmap of an array, resolved once to a pointer so per-slot lookups do not
/// go back through the buffer list.
@usableFromInline
struct NullMask: @unchecked Sendable {
    /// nil when every slot is valid.
    @usableFromInline let bits: UnsafeRawPointer?
    @usableFromInline let offset: Int

    @usableFromInline
    init(_ data: ArrayData) {
        let hasBitmap = data.nullCount > 0 && data.type.hasValidityBitmap && (data.buffers.first?.count ?? 0) > 0
        bits = hasBitmap ? data.buffers[0].baseAddress : nil
        offset = data.offset
    }

    @inlinable
    func isNull(_ index: Int) -> Bool {
        guard let bits else { return false }
        return !BitUtil.get(bits, offset + index)
    }
}

/// Throws `typeMismatch` unless `accepted` holds for the data's storage type, then runs the
/// cheap validation: the shared entry check of every typed initialiser.
func checkArrayType(
    _ data: ArrayData, _ arrayName: @autoclosure () -> String, _ accepted: (DataType) -> Bool
) throws {
    guard accepted(data.type.storageType) else {
        throw QuiverError(.typeMismatch, "\(arrayName()) cannot view an array of type \(data.type)")
    }
    try data.validate(full: false)
}

/// Validates array data fully, then wraps it in the typed array that fits its (storage)
/// type. Cost: O(data) for the validation (see `ArrayData.validate(full:)`); no copy.
/// Throws `invalidData` for data that breaks the format.
public func makeArray(_ data: ArrayData) throws -> any ArrowArray {
    try data.validate(full: true)
    return makeArrayUnchecked(data)
}

/// Wraps array data in the typed array that fits its (storage) type. O(1), no copy, no
/// validation: the data must already be valid (see `ArrayData.validate(full:)`), or
/// reading it is undefined behaviour. `makeArray(_:)` is the validating version.
public func makeArrayUnchecked(_ data: ArrayData) -> any ArrowArray {
    switch data.type.storageType {
    case .null: return NullArray(unchecked: data)
    case .boolean: return BooleanArray(unchecked: data)
    case .int8: return Int8Array(unchecked: data)
    case .int16: return Int16Array(unchecked: data)
    case .int32, .date32, .time32, .interval(.yearMonth): return Int32Array(unchecked: data)
    case .int64, .date64, .time64, .timestamp, .duration: return Int64Array(unchecked: data)
    case .uint8: return UInt8Array(unchecked: data)
    case .uint16: return UInt16Array(unchecked: data)
    case .uint32: return UInt32Array(unchecked: data)
    case .uint64: return UInt64Array(unchecked: data)
    case .float16: return Float16Array(unchecked: data)
    case .float32: return Float32Array(unchecked: data)
    case .float64: return Float64Array(unchecked: data)
    case .interval(.dayTime): return DayTimeIntervalArray(unchecked: data)
    case .interval(.monthDayNano): return MonthDayNanoIntervalArray(unchecked: data)
    case .decimal: return DecimalArray(unchecked: data)
    case .fixedSizeBinary: return FixedSizeBinaryArray(unchecked: data)
    case .binary: return BinaryArray(unchecked: data)
    case .largeBinary: return LargeBinaryArray(unchecked: data)
    case .utf8: return StringArray(unchecked: data)
    case .largeUtf8: return LargeStringArray(unchecked: data)
    case .binaryView: return BinaryViewArray(unchecked: data)
    case .utf8View: return StringViewArray(unchecked: data)
    case .list: return ListArray(unchecked: data)
    case .largeList: return LargeListArray(unchecked: data)
    case .listView: return ListViewArray(unchecked: data)
    case .largeListView: return LargeListViewArray(unchecked: data)
    case .fixedSizeList: return FixedSizeListArray(unchecked: data)
    case .struct: return StructArray(unchecked: data)
    case .map: return MapArray(unchecked: data)
    case .union: return UnionArray(unchecked: data)
    case .dictionary: return DictionaryArray(unchecked: data)
    case .runEndEncoded: return RunEndEncodedArray(unchecked: data)
    case .extension: fatalError("unreachable: storageType is never .extension")
    }
}
