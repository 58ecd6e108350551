import QuiverBytes

/// The physical data of one Arrow array: its type, length, null count, buffers and children.
///
/// Every typed array and every IPC decode/encode goes through this one representation.
/// Buffers follow `type.layout` (for view types, followed by the variadic data buffers):
/// - a validity buffer of `count == 0` means "no validity bitmap: every slot is valid"
///   (allowed only when `nullCount == 0`);
/// - `offset` is the logical start inside the buffers (slicing changes it, never the bytes);
///   children of struct/union/fixed-size-list are sliced through the parent's offset as the
///   spec says, list children are addressed through the offsets.
/// Value semantics; buffers are shared views, so copying an `ArrayData` copies no bytes.
public struct ArrayData: Sendable {
    /// The logical type (an extension type stays an extension type; `type.storageType` gives the layout).
    public var type: DataType
    /// Slots in this array (of the view, not of the buffers).
    public var length: Int
    /// Null slots among them; 0 allows an empty validity buffer.
    public var nullCount: Int
    /// The first slot inside the buffers: slicing moves it, the bytes stay.
    public var offset: Int
    /// The buffers in `type.layout` order (view types: then the variadic data buffers).
    public var buffers: [Buffer]
    /// Child arrays of nested types, in the order of the type's children.
    public var children: [ArrayData]
    private var dictionaryStorage: [ArrayData]

    /// The dictionary values of a `.dictionary` array (nil for other types).
    public var dictionary: ArrayData? {
        get { dictionaryStorage.first }
        set { dictionaryStorage = newValue.map { [$0] } ?? [] }
    }

    /// Assembles array data and validates it fully (`validate(full: true)`), as arrow-rs's
    /// `ArrayData::try_new`: throws `invalidData` unless every accessor of the typed arrays
    /// would read in bounds and the values obey the format. Cost: O(data) — offsets, utf8,
    /// dictionary indices, union ids and run ends are all read. For data that is valid by
    /// construction, `init(uncheckedType:…)` skips the walk.
    public init(
        type: DataType, length: Int, nullCount: Int = 0, offset: Int = 0, buffers: [Buffer],
        children: [ArrayData] = [], dictionary: ArrayData? = nil
    ) throws {
        self.init(
            uncheckedType: type, length: length, nullCount: nullCount, offset: offset, buffers: buffers,
            children: children, dictionary: dictionary)
        try validate(full: true)
    }

    /// Assembles array data without validating it (arrow-rs's `ArrayData::new_unchecked`):
    /// O(1), no copy. The caller guarantees the data is valid; typed arrays read it without
    /// bounds checks, so invalid data read through them is undefined behaviour. Use
    /// `init(type:…)` or `validate(full:)` for data from outside.
    public init(
        uncheckedType type: DataType, length: Int, nullCount: Int = 0, offset: Int = 0, buffers: [Buffer],
        children: [ArrayData] = [], dictionary: ArrayData? = nil
    ) {
        self.type = type
        self.length = length
        self.nullCount = nullCount
        self.offset = offset
        self.buffers = buffers
        self.children = children
        self.dictionaryStorage = dictionary.map { [$0] } ?? []
    }

    /// The validity bitmap, or nil when the layout has none or every slot is valid.
    @inlinable
    public var validity: Buffer? {
        guard let first = buffers.first, type.hasValidityBitmap, first.count > 0 else { return nil }
        return first
    }

    /// Whether slot `index` (0-based, relative to `offset`) is null. Unions and run-end
    /// encoded arrays have no validity of their own (nulls live in their children) and
    /// null arrays are all null.
    @inlinable
    public func isNull(_ index: Int) -> Bool {
        if case .null = type.storageType { return true }
        guard nullCount > 0, let validity else { return false }
        return !BitUtil.get(validity.baseAddress, offset + index)
    }

    /// Whether slot `index` holds a value.
    @inlinable
    public func isValid(_ index: Int) -> Bool { !isNull(index) }

    /// A zero-copy view of `length` slots starting at `start`. The null count is recomputed
    /// from the bitmap (O(length / 64)).
    public func slice(from start: Int, length sliceLength: Int) -> ArrayData {
        precondition(start >= 0 && sliceLength >= 0 && start + sliceLength <= length, "slice out of range")
        var result = self
        result.offset = offset + start
        result.length = sliceLength
        if case .null = type.storageType {
            result.nullCount = sliceLength
        } else if nullCount == 0 {
            result.nullCount = 0
        } else if let validity {
            result.nullCount = sliceLength - BitUtil.countSetBits(validity.baseAddress, from: offset + start, count: sliceLength)
        }
        return result
    }
}

extension ArrayData {
    /// The memory mapping the first mapped buffer of this array (its children and dictionary
    /// included) views, or nil when no buffer is memory-mapped. Walks the nesting, reads no
    /// data.
    /// O(buffers) over the nesting.
    public var memoryMapping: MemoryMapping? {
        for buffer in buffers { if let mapping = buffer.owner as? MemoryMapping { return mapping } }
        for child in children { if let mapping = child.memoryMapping { return mapping } }
        return dictionary?.memoryMapping
    }

    /// Bytes of every buffer this array references, its children's and its dictionary's
    /// included (pyarrow's `get_total_buffer_size()`): what holding the array keeps alive.
    /// A slice counts its buffers whole; a buffer referenced twice counts twice. Walks the
    /// nesting, reads no data.
    /// O(buffers) over the nesting.
    public var totalBufferSize: Int {
        buffers.reduce(0) { $0 + $1.count } + children.reduce(0) { $0 + $1.totalBufferSize }
            + (dictionary?.totalBufferSize ?? 0)
    }
}
