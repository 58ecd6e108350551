import QuiverArrow
import QuiverBytes

/// Which text format's cell rules apply: JSON values, or CSV fields (null: empty).
enum CellFormat: Sendable {
    case json
    case csv
}

/// The text of one column's cells over a range of rows, laid end to end: cell `i` of the
/// range is `bytes[ends[i - 1]..<ends[i]]` (from 0 for the first).
struct CellRun {
    var bytes: [UInt8]
    var ends: [Int]
}

/// One column of a batch, encoded a range of rows at a time. The closure is made where the
/// column's type is known, so its per-cell loop is specialised to that type: no dynamic call
/// or generic metadata per cell.
struct ColumnText: Sendable {
    let encode: @Sendable (Range<Int>) -> CellRun
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
    /// The encoder of `column`'s cells in `format`.
    static func make(_ column: ArrayData, format: CellFormat) -> ColumnText {
        (try? fast(column, format)) ?? generic(GenericCells(column: column), format)
    }

    /// A fast path's encoder, or nil; throws where the array does not view as its storage type.
    private static func fast(_ column: ArrayData, _ format: CellFormat) throws -> ColumnText? {
        // JSON goes by the storage type, as `value(at:)` does; CSV only takes the fast path
        // where `formatValue(at:)` would print the plain value.
        guard format == .json || column.type == column.type.storageType else { return nil }
        switch column.type.storageType {
        case .int8: return integers(try Int8Array(column), format)
        case .int16: return integers(try Int16Array(column), format)
        case .int32: return integers(try Int32Array(column), format)
        case .int64: return integers(try Int64Array(column), format)
        case .uint8: return integers(try UInt8Array(column), format)
        case .uint16: return integers(try UInt16Array(column), format)
        case .uint32: return integers(try UInt32Array(column), format)
        case .uint64: return integers(try UInt64Array(column), format)
        case .float32: return floats(try PrimitiveArray<Float>(column), format)
        case .float64: return floats(try PrimitiveArray<Double>(column), format)
        case .boolean: return booleans(try BooleanArray(column), format)
        case .utf8: return strings(try StringArray(column), format)
        case .largeUtf8: return strings(try LargeStringArray(column), format)
        case .utf8View: return strings(try StringViewArray(column), format)
        default: return nil
        }
    }

    private static func integers<T: FixedWidthInteger & ArrowPrimitive>(_ array: PrimitiveArray<T>, _ format: CellFormat) -> ColumnText {
        ColumnText { rows in
            CellRun.write(rows: rows, capacity: rows.count * ByteCursor.maxIntegerDigits) { row, cursor in
                if array.isNull(row) {
                    if format == .json { cursor.writeNull() }
                } else {
                    cursor.writeInteger(array.values[row])
                }
            }
        }
    }

    /// JSON prints a value as the `Double` it converts to (as `value(at:)` does); CSV in
    /// the column's own precision (a float32 0.1 prints as 0.1).
    private static func floats<T: BinaryFloatingPoint & ArrowPrimitive & LosslessStringConvertible>(
        _ array: PrimitiveArray<T>, _ format: CellFormat
    ) -> ColumnText {
        ColumnText { rows in
            let printer = FloatText.printer
            return CellRun.write(rows: rows, capacity: rows.count * FloatText.maxBytes) { row, cursor in
                if array.isNull(row) {
                    if format == .json { cursor.writeNull() }
                } else if format == .json {
                    cursor.writeJSONNumber(Double(array.values[row]), printer: printer)
                } else {
                    cursor.writeFloat(array.values[row], printer: printer)
                }
            }
        }
    }

    private static func booleans(_ array: BooleanArray, _ format: CellFormat) -> ColumnText {
        ColumnText { rows in
            CellRun.write(rows: rows, capacity: rows.count * 5) { row, cursor in
                if array.isNull(row) {
                    if format == .json { cursor.writeNull() }
                } else {
                    cursor.write(array.value(at: row) ? "true" : "false")
                }
            }
        }
    }

    /// Strings: one pass finds whether any cell needs escaping (JSON) or quoting (CSV) and
    /// bounds the size; cells are then copied whole unless one does.
    private static func strings<Source: StringCellSource>(_ array: Source, _ format: CellFormat) -> ColumnText {
        ColumnText { rows in
            var total = 0
            var special = false
            if let bytes = array.contiguousBytes(rows: rows) {
                total = bytes.count
                special = format == .json ? TextEncoding.jsonNeedsEscape(bytes) : TextEncoding.csvNeedsQuotes(bytes)
            } else {
                for row in rows where !array.isNull(row) {
                    let bytes = array.bytes(at: row)
                    total += bytes.count
                    special = special || (format == .json ? TextEncoding.jsonNeedsEscape(bytes) : TextEncoding.csvNeedsQuotes(bytes))
                }
            }
            // Escapes take at most 6 bytes per byte (`\u00XX`), doubled quotes 2; each cell
            // adds 2 quotes or `null`.
            let capacity = total * (special ? (format == .json ? 6 : 2) : 1) + rows.count * 4
            return CellRun.write(rows: rows, capacity: capacity) { row, cursor in
                if array.isNull(row) {
                    if format == .json { cursor.writeNull() }
                } else if format == .json {
                    cursor.writeJSONString(array.bytes(at: row), escaping: special)
                } else if special {
                    cursor.writeCSVField(array.bytes(at: row))
                } else {
                    cursor.write(array.bytes(at: row))
                }
            }
        }
    }

    /// Any other type, a cell at a time through `ArrowValue`.
    private static func generic(_ cells: GenericCells, _ format: CellFormat) -> ColumnText {
        ColumnText { rows in
            var run = CellRun(bytes: [], ends: [])
            run.ends.reserveCapacity(rows.count)
            for row in rows {
                if format == .json { cells.appendJSON(row: row, to: &run.bytes) } else { cells.appendCSV(row: row, to: &run.bytes) }
                run.ends.append(run.bytes.count)
            }
            return run
        }
    }
}

extension CellRun {
    /// The cells of `rows`, each written by `cell` into `capacity` bytes in all (an upper
    /// bound the caller computes from the column's type).
    @inline(__always)
    static func write(rows: Range<Int>, capacity: Int, _ cell: (Int, inout ByteCursor) -> Void) -> CellRun {
        var ends: [Int] = []
        let bytes = [UInt8](unsafeUninitializedCapacity: Swift.max(capacity, 1)) { buffer, written in
            ends = [Int](unsafeUninitializedCapacity: Swift.max(rows.count, 1)) { endBuffer, endCount in
                var cursor = ByteCursor(buffer)
                var index = 0
                for row in rows {
                    cell(row, &cursor)
                    endBuffer[index] = cursor.position
                    index += 1
                }
                endCount = rows.count
                written = cursor.position
            }
        }
        return CellRun(bytes: bytes, ends: ends)
    }
}

/// Any type: JSON numbers, booleans, strings, lists and structs as such, everything else
/// (dates, times, decimals, binary, maps) as the string `formatValue(at:)` prints. This is
/// the rule the fast paths must match, a cell at a time.
struct GenericCells: Sendable {
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

    /// A finite number as Swift prints a `Double` (shortest round-trip digits); NaN and
    /// infinities, which JSON lacks, as the strings "nan", "inf", "-inf".
    static func appendJSON(_ number: Double, to out: inout [UInt8]) {
        if number.isFinite { Literal.append(number.description, to: &out) } else { TextEncoding.appendJSONString(number.description, to: &out) }
    }

    static func appendNested(_ value: ArrowValue, to out: inout [UInt8]) {
        switch value {
        case .null: out += Literal.null
        case .bool(let flag): out += flag ? Literal.true : Literal.false
        case .int(let integer): TextEncoding.appendInteger(integer, to: &out)
        case .uint(let integer): TextEncoding.appendInteger(integer, to: &out)
        case .float(let number): appendJSON(number, to: &out)
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

/// The string arrays' common surface.
protocol StringCellSource: Sendable {
    func isNull(_ index: Int) -> Bool
    func bytes(at index: Int) -> UnsafeRawBufferPointer
    /// The bytes of `rows`' values where they lie back to back in one buffer (null slots'
    /// bytes, if any, included), else nil.
    func contiguousBytes(rows: Range<Int>) -> UnsafeRawBufferPointer?
}

extension VariableBinaryArray: StringCellSource {
    func contiguousBytes(rows: Range<Int>) -> UnsafeRawBufferPointer? {
        guard !rows.isEmpty else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        let start = bytes(at: rows.lowerBound).baseAddress!
        let end = bytes(at: rows.upperBound - 1)
        return UnsafeRawBufferPointer(start: start, count: end.baseAddress! + end.count - start)
    }
}

extension VariableBinaryViewArray: StringCellSource {
    func contiguousBytes(rows: Range<Int>) -> UnsafeRawBufferPointer? { nil }
}
