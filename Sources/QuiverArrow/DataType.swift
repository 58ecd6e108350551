/// Units of time for time, timestamp and duration types.
public enum TimeUnit: Int16, Sendable, Hashable, CaseIterable {
    case second = 0, millisecond = 1, microsecond = 2, nanosecond = 3
}

/// Units of calendar intervals.
public enum IntervalUnit: Int16, Sendable, Hashable, CaseIterable {
    /// int32 months.
    case yearMonth = 0
    /// int32 days, int32 milliseconds.
    case dayTime = 1
    /// int32 months, int32 days, int64 nanoseconds (16 bytes).
    case monthDayNano = 2
}

/// Sparse unions have one child slot per row; dense unions an offset into the chosen child.
public enum UnionMode: Int16, Sendable, Hashable {
    case sparse = 0, dense = 1
}

/// An Arrow logical type, with the physical layout it implies (see the Arrow columnar spec).
///
/// Nested types carry their child `Field`s. Dictionary encoding is a type here
/// (`.dictionary(index:value:ordered:)`) — in IPC metadata it is a property of the field,
/// which the IPC layer translates. Extension types keep their name, serialized metadata and
/// storage type; in IPC they travel as `ARROW:extension:*` field metadata.
public indirect enum DataType: Sendable, Hashable {
    case null
    case boolean
    case int8, int16, int32, int64
    case uint8, uint16, uint32, uint64
    case float16, float32, float64
    /// Decimal with `bitWidth` 32, 64, 128 or 256.
    case decimal(bitWidth: Int, precision: Int, scale: Int)
    /// Days since the UNIX epoch (int32).
    case date32
    /// Milliseconds since the UNIX epoch (int64).
    case date64
    /// Time of day in seconds or milliseconds (int32).
    case time32(TimeUnit)
    /// Time of day in microseconds or nanoseconds (int64).
    case time64(TimeUnit)
    /// Instant (int64) in `unit` since the epoch; `timezone` nil means naive wall-clock time.
    case timestamp(TimeUnit, timezone: String?)
    case duration(TimeUnit)
    case interval(IntervalUnit)
    case binary, largeBinary, binaryView
    case utf8, largeUtf8, utf8View
    case fixedSizeBinary(byteWidth: Int)
    case list(Field)
    case largeList(Field)
    case listView(Field)
    case largeListView(Field)
    case fixedSizeList(Field, listSize: Int)
    case `struct`([Field])
    /// `entries` is a non-nullable struct field with a key and a value child.
    case map(entries: Field, keysSorted: Bool)
    /// `typeIds[i]` is the type id that selects `fields[i]`.
    case union(UnionMode, fields: [Field], typeIds: [Int8])
    /// Indices of an integer type (`index`) into a dictionary of `value`s.
    case dictionary(index: DataType, value: DataType, ordered: Bool)
    /// `runEnds` is an int16/32/64 field; `values` holds one value per run.
    case runEndEncoded(runEnds: Field, values: Field)
    /// A user-defined type stored as `storage`.
    case `extension`(name: String, metadata: String, storage: DataType)

    /// The child fields of a nested type (empty for others). For `.map` the single entries
    /// field; for `.runEndEncoded` run ends then values; for `.dictionary` and `.extension` none.
    /// Builds the array on each call (O(children)).
    public var children: [Field] {
        switch self {
        case .list(let f), .largeList(let f), .listView(let f), .largeListView(let f),
             .fixedSizeList(let f, _):
            return [f]
        case .struct(let fields): return fields
        case .map(let entries, _): return [entries]
        case .union(_, let fields, _): return fields
        case .runEndEncoded(let runEnds, let values): return [runEnds, values]
        default: return []
        }
    }

    /// For extension types the storage type, otherwise the type itself.
    public var storageType: DataType {
        if case .extension(_, _, let storage) = self { return storage.storageType }
        return self
    }

    /// The byte width of one value for fixed-width types (booleans: nil, they are bits).
    public var fixedByteWidth: Int? {
        switch storageType {
        case .int8, .uint8: return 1
        case .int16, .uint16, .float16: return 2
        case .int32, .uint32, .float32, .date32, .time32: return 4
        case .int64, .uint64, .float64, .date64, .time64, .timestamp, .duration: return 8
        case .decimal(let bits, _, _): return bits / 8
        case .interval(.yearMonth): return 4
        case .interval(.dayTime): return 8
        case .interval(.monthDayNano): return 16
        case .fixedSizeBinary(let width): return width
        default: return nil
        }
    }

    /// Whether values are integers usable as dictionary indices or run ends.
    public var isInteger: Bool {
        switch storageType {
        case .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64: return true
        default: return false
        }
    }

    /// Whether the layout starts with a validity bitmap (`layout.first == .validity`), without
    /// building the layout array: per-slot lookups must not allocate.
    @inlinable
    public var hasValidityBitmap: Bool {
        switch storageType {
        case .null, .union, .runEndEncoded: return false
        default: return true
        }
    }

    /// The buffers an array of this type has in the Arrow IPC format, in order, not counting
    /// the variadic data buffers of view types. Builds (allocates) the array on each call: per-slot
    /// code uses `hasValidityBitmap` and friends instead.
    public var layout: [BufferKind] {
        switch storageType {
        case .null: return []
        case .boolean: return [.validity, .bits]
        case .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64,
             .float16, .float32, .float64, .decimal, .date32, .date64, .time32, .time64,
             .timestamp, .duration, .interval, .fixedSizeBinary:
            return [.validity, .values]
        case .binary, .utf8: return [.validity, .offsets32, .data]
        case .largeBinary, .largeUtf8: return [.validity, .offsets64, .data]
        case .binaryView, .utf8View: return [.validity, .views]
        case .list, .map: return [.validity, .offsets32]
        case .largeList: return [.validity, .offsets64]
        case .listView: return [.validity, .offsets32, .sizes32]
        case .largeListView: return [.validity, .offsets64, .sizes64]
        case .fixedSizeList, .struct: return [.validity]
        case .union(.sparse, _, _): return [.typeIds]
        case .union(.dense, _, _): return [.typeIds, .offsets32]
        case .dictionary: return [.validity, .values]
        case .runEndEncoded: return []
        case .extension: fatalError("unreachable: storageType is never .extension")
        }
    }
}

/// The role of one buffer in an array's physical layout.
public enum BufferKind: Sendable, Hashable {
    case validity, bits, values, offsets32, offsets64, data, views, sizes32, sizes64, typeIds
}

extension DataType {
    /// Bytes buffer `kind` of this storage type's layout must hold for `slots` slots (an
    /// array's offset + length): the one rule of buffer sizes, for `validate` and
    /// `checkOwnBufferSizes`. A bitmap holds a bit per slot; values `valueWidth` bytes each
    /// (the caller's: the index width for dictionaries); views 16, sizes 4 or 8, type ids 1.
    /// Offsets are one per slot for unions and list views, else one more (start/end pairs).
    /// `.data` needs nothing of its own: its offsets bound it. Nil when the count overflows.
    package func bufferBytesNeeded(_ kind: BufferKind, slots: Int, valueWidth: Int) -> Int? {
        func bytes(_ count: Int, _ width: Int) -> Int? {
            let (product, overflow) = count.multipliedReportingOverflow(by: width)
            return overflow ? nil : product
        }
        switch kind {
        case .validity, .bits: return BitUtil.byteCount(forBits: slots)
        case .values: return bytes(slots, valueWidth)
        case .views: return bytes(slots, BinaryViewLayout.size)
        case .sizes32: return bytes(slots, 4)
        case .sizes64: return bytes(slots, 8)
        case .typeIds: return slots
        case .data: return 0
        case .offsets32, .offsets64:
            let (entries, overflow) = hasOffsetPerSlot ? (slots, false) : slots.addingReportingOverflow(1)
            return overflow ? nil : bytes(entries, kind == .offsets32 ? 4 : 8)
        }
    }

    /// Whether the offsets buffer holds one offset per slot (dense unions, list views)
    /// rather than start/end pairs, one more than the slots.
    package var hasOffsetPerSlot: Bool {
        switch storageType {
        case .union, .listView, .largeListView: return true
        default: return false
        }
    }
}

extension DataType {
    /// The precisions Arrow allows a decimal of `bitWidth` bits (Arrow C++'s
    /// `ValidateDecimalPrecision`): as many digits as the integer always holds. Nil for a width
    /// Arrow does not define. The scale has no bound in Arrow (negative is legal and Arrow C++
    /// checks none), so nothing may be sized by it.
    public static func decimalPrecisions(bitWidth: Int) -> ClosedRange<Int>? {
        switch bitWidth {
        case 32: return 1...9
        case 64: return 1...18
        case 128: return 1...38
        case 256: return 1...76
        default: return nil
        }
    }
}

extension DataType: CustomStringConvertible {
    /// Arrow's usual spelling, e.g. `timestamp[ms, tz=UTC]`, `list<item: int32>`.
    /// O(size of the type, children included).
    public var description: String {
        switch self {
        case .null: return "null"
        case .boolean: return "bool"
        case .int8: return "int8"
        case .int16: return "int16"
        case .int32: return "int32"
        case .int64: return "int64"
        case .uint8: return "uint8"
        case .uint16: return "uint16"
        case .uint32: return "uint32"
        case .uint64: return "uint64"
        case .float16: return "halffloat"
        case .float32: return "float"
        case .float64: return "double"
        case .decimal(let bits, let p, let s): return "decimal\(bits)(\(p), \(s))"
        case .date32: return "date32[day]"
        case .date64: return "date64[ms]"
        case .time32(let u): return "time32[\(u.abbreviation)]"
        case .time64(let u): return "time64[\(u.abbreviation)]"
        case .timestamp(let u, let tz):
            return tz.map { "timestamp[\(u.abbreviation), tz=\($0)]" } ?? "timestamp[\(u.abbreviation)]"
        case .duration(let u): return "duration[\(u.abbreviation)]"
        case .interval(.yearMonth): return "month_interval"
        case .interval(.dayTime): return "day_time_interval"
        case .interval(.monthDayNano): return "month_day_nano_interval"
        case .binary: return "binary"
        case .largeBinary: return "large_binary"
        case .binaryView: return "binary_view"
        case .utf8: return "string"
        case .largeUtf8: return "large_string"
        case .utf8View: return "string_view"
        case .fixedSizeBinary(let w): return "fixed_size_binary[\(w)]"
        case .list(let f): return "list<\(f.name): \(f.type)>"
        case .largeList(let f): return "large_list<\(f.name): \(f.type)>"
        case .listView(let f): return "list_view<\(f.name): \(f.type)>"
        case .largeListView(let f): return "large_list_view<\(f.name): \(f.type)>"
        case .fixedSizeList(let f, let n): return "fixed_size_list<\(f.name): \(f.type)>[\(n)]"
        case .struct(let fields):
            return "struct<" + fields.map { "\($0.name): \($0.type)" }.joined(separator: ", ") + ">"
        case .map(let entries, let sorted):
            let kv = entries.type.children
            let body = kv.count == 2 ? "\(kv[0].type), \(kv[1].type)" : "\(entries.type)"
            return "map<\(body)\(sorted ? ", keys_sorted" : "")>"
        case .union(let mode, let fields, let ids):
            let members = zip(fields, ids).map { "\($0.name): \($0.type)=\($1)" }.joined(separator: ", ")
            return "\(mode == .sparse ? "sparse" : "dense")_union<\(members)>"
        case .dictionary(let index, let value, let ordered):
            return "dictionary<values=\(value), indices=\(index), ordered=\(ordered ? 1 : 0)>"
        case .runEndEncoded(let r, let v): return "run_end_encoded<run_ends: \(r.type), values: \(v.type)>"
        case .extension(let name, _, let storage): return "extension<\(name), storage=\(storage)>"
        }
    }
}

extension TimeUnit {
    /// `s`, `ms`, `us` or `ns`.
    public var abbreviation: String {
        switch self {
        case .second: return "s"
        case .millisecond: return "ms"
        case .microsecond: return "us"
        case .nanosecond: return "ns"
        }
    }
}
