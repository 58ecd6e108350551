import QuiverArrow
import QuiverBytes

/// One column of one batch, as the text of each of its cells. Common types read their
/// buffers directly; every other type goes through `ArrowValue` and `formatValue(at:)`,
/// which define what the fast paths must produce.
protocol CellText {
    /// Cell `row` as a JSON value.
    func appendJSON(row: Int, to out: inout [UInt8])
    /// Cell `row` as a CSV field (null: empty).
    func appendCSV(row: Int, to out: inout [UInt8])
}

/// The bytes of JSON's literals, and a `String`'s UTF-8 appended in one copy (appending a
/// `String.UTF8View` goes element by element).
enum Literal {
    static let null = Array("null".utf8)
    static let `true` = Array("true".utf8)
    static let `false` = Array("false".utf8)

    static func append(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { out.append(contentsOf: $0) }
    }
}

enum Cells {
    /// The cell encoder for `column`.
    static func make(_ column: ArrayData) -> any CellText {
        (try? fast(column)) ?? GenericCells(column: column)
    }

    /// A fast path's encoder, or nil; throws where the array does not view as its storage type.
    private static func fast(_ column: ArrayData) throws -> (any CellText)? {
        // JSON goes by the storage type, as `value(at:)` does; CSV only takes the fast path
        // where `formatValue(at:)` would print the plain value.
        let plain = column.type == column.type.storageType
        switch column.type.storageType {
        case .int8: return try IntegerCells<Int8>(column, plain: plain)
        case .int16: return try IntegerCells<Int16>(column, plain: plain)
        case .int32: return try IntegerCells<Int32>(column, plain: plain)
        case .int64: return try IntegerCells<Int64>(column, plain: plain)
        case .uint8: return try IntegerCells<UInt8>(column, plain: plain)
        case .uint16: return try IntegerCells<UInt16>(column, plain: plain)
        case .uint32: return try IntegerCells<UInt32>(column, plain: plain)
        case .uint64: return try IntegerCells<UInt64>(column, plain: plain)
        case .float32: return try FloatCells<Float>(column, plain: plain)
        case .float64: return try FloatCells<Double>(column, plain: plain)
        case .boolean: return try BooleanCells(column, plain: plain)
        case .utf8: return StringCells(array: try StringArray(column), column, plain: plain)
        case .largeUtf8: return StringCells(array: try LargeStringArray(column), column, plain: plain)
        case .utf8View: return StringCells(array: try StringViewArray(column), column, plain: plain)
        default: return nil
        }
    }
}

/// Any type: JSON numbers, booleans, strings, lists and structs as such, everything else
/// (dates, times, decimals, binary, maps) as the string `formatValue(at:)` prints.
struct GenericCells: CellText {
    let column: ArrayData

    func appendJSON(row: Int, to out: inout [UInt8]) {
        let value = column.value(at: row)
        switch value {
        case .null, .bool, .int, .uint, .float, .string, .list, .struct: Self.appendNested(value, to: &out)
        default: TextEncoding.appendJSONString(column.formatValue(at: row), to: &out)
        }
    }

    func appendCSV(row: Int, to out: inout [UInt8]) {
        guard !column.isNull(row) else { return }
        TextEncoding.appendCSVField(column.formatValue(at: row), to: &out)
    }

    static func appendNested(_ value: ArrowValue, to out: inout [UInt8]) {
        switch value {
        case .null: out += Literal.null
        case .bool(let flag): out += flag ? Literal.true : Literal.false
        case .int(let integer): TextEncoding.appendInteger(integer, to: &out)
        case .uint(let integer): TextEncoding.appendInteger(integer, to: &out)
        case .float(let number): FloatCells<Double>.appendJSON(number, to: &out)
        case .string(let text): TextEncoding.appendJSONString(text, to: &out)
        case .list(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                appendNested(item, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .struct(let members):
            out.append(UInt8(ascii: "{"))
            for (index, member) in members.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                TextEncoding.appendJSONString(member.0, to: &out)
                out.append(UInt8(ascii: ":"))
                appendNested(member.1, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        default: TextEncoding.appendJSONString("\(value)", to: &out)
        }
    }
}

struct IntegerCells<T: FixedWidthInteger & ArrowPrimitive>: CellText {
    let array: PrimitiveArray<T>
    let generic: GenericCells?

    init(_ column: ArrayData, plain: Bool) throws {
        array = try PrimitiveArray(column)
        generic = plain ? nil : GenericCells(column: column)
    }

    func appendJSON(row: Int, to out: inout [UInt8]) {
        if array.isNull(row) { out += Literal.null } else { TextEncoding.appendInteger(array.values[row], to: &out) }
    }

    func appendCSV(row: Int, to out: inout [UInt8]) {
        if let generic { return generic.appendCSV(row: row, to: &out) }
        if !array.isNull(row) { TextEncoding.appendInteger(array.values[row], to: &out) }
    }
}

struct FloatCells<T: BinaryFloatingPoint & ArrowPrimitive & LosslessStringConvertible>: CellText {
    let array: PrimitiveArray<T>
    let generic: GenericCells?

    init(_ column: ArrayData, plain: Bool) throws {
        array = try PrimitiveArray(column)
        generic = plain ? nil : GenericCells(column: column)
    }

    /// A finite number as Swift prints a `Double` (shortest round-trip digits); NaN and
    /// infinities, which JSON lacks, as the strings "nan", "inf", "-inf".
    static func appendJSON(_ number: Double, to out: inout [UInt8]) {
        if number.isFinite { Literal.append(number.description, to: &out) } else { TextEncoding.appendJSONString(number.description, to: &out) }
    }

    func appendJSON(row: Int, to out: inout [UInt8]) {
        if array.isNull(row) { out += Literal.null } else { Self.appendJSON(Double(array.values[row]), to: &out) }
    }

    func appendCSV(row: Int, to out: inout [UInt8]) {
        if let generic { return generic.appendCSV(row: row, to: &out) }
        // The column's own precision: a float32 0.1 prints as 0.1.
        if !array.isNull(row) { Literal.append(array.values[row].description, to: &out) }
    }
}

struct BooleanCells: CellText {
    let array: BooleanArray
    let generic: GenericCells?

    init(_ column: ArrayData, plain: Bool) throws {
        array = try BooleanArray(column)
        generic = plain ? nil : GenericCells(column: column)
    }

    func appendJSON(row: Int, to out: inout [UInt8]) {
        out += array.isNull(row) ? Literal.null : array.value(at: row) ? Literal.true : Literal.false
    }

    func appendCSV(row: Int, to out: inout [UInt8]) {
        if let generic { return generic.appendCSV(row: row, to: &out) }
        if !array.isNull(row) { out += array.value(at: row) ? Literal.true : Literal.false }
    }
}

/// The string arrays' common surface.
protocol StringCellSource {
    func isNull(_ index: Int) -> Bool
    func bytes(at index: Int) -> UnsafeRawBufferPointer
}
extension VariableBinaryArray: StringCellSource {}
extension VariableBinaryViewArray: StringCellSource {}

struct StringCells<Source: StringCellSource>: CellText {
    let array: Source
    let generic: GenericCells?

    init(array: Source, _ column: ArrayData, plain: Bool) {
        self.array = array
        generic = plain ? nil : GenericCells(column: column)
    }

    func appendJSON(row: Int, to out: inout [UInt8]) {
        if array.isNull(row) { out += Literal.null } else { TextEncoding.appendJSONString(array.bytes(at: row), to: &out) }
    }

    func appendCSV(row: Int, to out: inout [UInt8]) {
        if let generic { return generic.appendCSV(row: row, to: &out) }
        if !array.isNull(row) { TextEncoding.appendCSVField(array.bytes(at: row), to: &out) }
    }
}
