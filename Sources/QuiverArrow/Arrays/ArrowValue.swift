import QuiverBytes

/// One slot of any array as a self-describing Swift value: the dynamic counterpart of the
/// typed arrays, for printers, Codable and tests.
///
/// Building one allocates (strings, nested arrays), so hot loops use typed arrays instead.
/// Unions yield their selected child's value, dictionaries their dictionary value, run-end
/// encoded arrays their run's value, extension types their storage value.
public indirect enum ArrowValue: Sendable {
    case null
    case bool(Bool)
    /// Any signed integer type.
    case int(Int64)
    /// Any unsigned integer type.
    case uint(UInt64)
    /// float16, float32 or float64.
    case float(Double)
    /// A decimal, formatted with its scale ("-12.50").
    case decimal(String)
    case string(String)
    /// binary, large binary, binary view and fixed-size binary.
    case binary([UInt8])
    /// Days since the UNIX epoch.
    case date32(Int32)
    /// Milliseconds since the UNIX epoch.
    case date64(Int64)
    /// Time of day in `unit` since midnight.
    case time(Int64, TimeUnit)
    /// An instant in `unit` since the epoch; timezone nil means naive wall-clock time.
    case timestamp(Int64, TimeUnit, timezone: String?)
    case duration(Int64, TimeUnit)
    /// A year-month interval in months.
    case yearMonthInterval(Int32)
    case dayTimeInterval(DayTimeInterval)
    case monthDayNanoInterval(MonthDayNanoInterval)
    /// The elements of a list, large list, list view or fixed-size list.
    case list([ArrowValue])
    /// The fields of a struct, in order.
    case `struct`([(String, ArrowValue)])
    /// The entries of a map, in order.
    case map([(ArrowValue, ArrowValue)])

    /// Whether this is `.null`.
    public var isNull: Bool {
        if case .null = self { return true } else { return false }
    }
}

extension ArrowValue: Equatable {
    /// Structural equality (floats by `==`, so NaN differs from itself).
    /// O(size of the values): nested values are compared element by element.
    public static func == (lhs: ArrowValue, rhs: ArrowValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.int(let a), .int(let b)): return a == b
        case (.uint(let a), .uint(let b)): return a == b
        case (.float(let a), .float(let b)): return a == b
        case (.decimal(let a), .decimal(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.binary(let a), .binary(let b)): return a == b
        case (.date32(let a), .date32(let b)): return a == b
        case (.date64(let a), .date64(let b)): return a == b
        case (.time(let a, let u), .time(let b, let v)): return a == b && u == v
        case (.timestamp(let a, let u, let z), .timestamp(let b, let v, let y)): return a == b && u == v && z == y
        case (.duration(let a, let u), .duration(let b, let v)): return a == b && u == v
        case (.yearMonthInterval(let a), .yearMonthInterval(let b)): return a == b
        case (.dayTimeInterval(let a), .dayTimeInterval(let b)): return a == b
        case (.monthDayNanoInterval(let a), .monthDayNanoInterval(let b)): return a == b
        case (.list(let a), .list(let b)): return a == b
        case (.struct(let a), .struct(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case (.map(let a), .map(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }
}

extension ArrayData {
    /// The value of slot `index` as an `ArrowValue` (allocates for strings and nested values).
    /// The data must be valid (see `validate(full:)`).
    public func value(at index: Int) -> ArrowValue {
        precondition(index >= 0 && index < length, "index \(index) outside 0..<\(length)")
        if NullMask(self).isNull(index) { return .null }
        switch type.storageType {
        case .null: return .null
        case .boolean: return .bool(BooleanArray(unchecked: self).value(at: index))
        case .int8: return .int(Int64(primitive(Int8.self, index)))
        case .int16: return .int(Int64(primitive(Int16.self, index)))
        case .int32: return .int(Int64(primitive(Int32.self, index)))
        case .int64: return .int(primitive(Int64.self, index))
        case .uint8: return .uint(UInt64(primitive(UInt8.self, index)))
        case .uint16: return .uint(UInt64(primitive(UInt16.self, index)))
        case .uint32: return .uint(UInt64(primitive(UInt32.self, index)))
        case .uint64: return .uint(primitive(UInt64.self, index))
        case .float16: return .float(halfToDouble(primitive(UInt16.self, index)))
        case .float32: return .float(Double(primitive(Float.self, index)))
        case .float64: return .float(primitive(Double.self, index))
        case .decimal: return .decimal(DecimalArray(unchecked: self).value(at: index))
        case .date32: return .date32(primitive(Int32.self, index))
        case .date64: return .date64(primitive(Int64.self, index))
        case .time32(let unit): return .time(Int64(primitive(Int32.self, index)), unit)
        case .time64(let unit): return .time(primitive(Int64.self, index), unit)
        case .timestamp(let unit, let zone): return .timestamp(primitive(Int64.self, index), unit, timezone: zone)
        case .duration(let unit): return .duration(primitive(Int64.self, index), unit)
        case .interval(.yearMonth): return .yearMonthInterval(primitive(Int32.self, index))
        case .interval(.dayTime): return .dayTimeInterval(primitive(DayTimeInterval.self, index))
        case .interval(.monthDayNano): return .monthDayNanoInterval(primitive(MonthDayNanoInterval.self, index))
        case .binary: return .binary(BinaryArray(unchecked: self).value(at: index))
        case .largeBinary: return .binary(LargeBinaryArray(unchecked: self).value(at: index))
        case .binaryView: return .binary(BinaryViewArray(unchecked: self).value(at: index))
        case .fixedSizeBinary: return .binary(FixedSizeBinaryArray(unchecked: self).value(at: index))
        case .utf8: return .string(StringArray(unchecked: self).value(at: index))
        case .largeUtf8: return .string(LargeStringArray(unchecked: self).value(at: index))
        case .utf8View: return .string(StringViewArray(unchecked: self).value(at: index))
        case .list, .largeList, .listView, .largeListView, .fixedSizeList:
            return .list(children[0].values(in: elementRange(at: index)))
        case .struct(let fields):
            // Children line up with this array through its offset: no slicing needed.
            return .struct(zip(fields, children).map { ($0.name, $1.value(at: offset + index)) })
        case .map:
            let entries = children[0]
            return .map(elementRange(at: index).map {
                (entries.children[0].value(at: entries.offset + $0), entries.children[1].value(at: entries.offset + $0))
            })
        case .union:
            let (child, position) = UnionArray(unchecked: self).location(at: index)
            return children[child].value(at: position)
        case .dictionary:
            guard let dictionary, let key = DictionaryArray(unchecked: self).key(at: index) else { return .null }
            return dictionary.value(at: key)
        case .runEndEncoded:
            return children[1].value(at: RunEndEncodedArray(unchecked: self).physicalIndex(at: index))
        case .extension: return .null  // unreachable: storageType is never .extension
        }
    }

    /// The child slots that slot `index` of a list-like array spans: list, large list, list
    /// view, fixed-size list (slots of `children[0]`) or map (entries of `children[0]`, before
    /// their offset). Empty for any other type. The data must be valid.
    func elementRange(at index: Int) -> Range<Int> {
        switch type.storageType {
        case .list:
            let offsets = ListArray(unchecked: self).offsets
            return Int(offsets[index])..<Int(offsets[index + 1])
        case .largeList:
            let offsets = LargeListArray(unchecked: self).offsets
            return Int(offsets[index])..<Int(offsets[index + 1])
        case .listView:
            let list = ListViewArray(unchecked: self)
            let start = Int(list.offsets[index])
            return start..<start + Int(list.sizes[index])
        case .largeListView:
            let list = LargeListViewArray(unchecked: self)
            let start = Int(list.offsets[index])
            return start..<start + Int(list.sizes[index])
        case .fixedSizeList(_, let size):
            let start = (offset + index) * size
            return start..<start + size
        case .map:
            let offsets = MapArray(unchecked: self).offsets
            return Int(offsets[index])..<Int(offsets[index + 1])
        default: return 0..<0
        }
    }

    /// Every slot as an `ArrowValue` (pyarrow's `to_pylist`).
    /// Allocates every value: O(length), plus the bytes of strings and nested values.
    public func toList() -> [ArrowValue] { values(in: 0..<length) }

    /// The values of slots `range`.
    func values(in range: Range<Int>) -> [ArrowValue] { range.map { value(at: $0) } }

    /// Slot `index` of a fixed-width buffer read as `T` (validated data is aligned for `T`).
    @inline(__always)
    private func primitive<T: BitwiseCopyable>(_: T.Type, _ index: Int) -> T {
        buffers[1].baseAddress.load(fromByteOffset: (offset + index) * MemoryLayout<T>.stride, as: T.self)
    }
}

/// Converts IEEE 754 half-precision bits to a `Double` (portable: no `Float16` needed).
func halfToDouble(_ bits: UInt16) -> Double {
    let sign: FloatingPointSign = bits & 0x8000 != 0 ? .minus : .plus
    let exponent = Int(bits >> 10) & 0x1F
    let fraction = Double(bits & 0x3FF)
    switch exponent {
    case 0: return Double(sign: sign, exponent: -24, significand: fraction)  // subnormal or zero
    case 0x1F: return fraction == 0 ? (sign == .minus ? -.infinity : .infinity) : .nan
    default: return Double(sign: sign, exponent: exponent - 15, significand: 1 + fraction / 1024)
    }
}
