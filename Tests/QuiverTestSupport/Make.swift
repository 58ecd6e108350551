import QuiverArrow
import QuiverBytes

/// Array data built by hand, bytes exactly as given (bypassing the builders and their
/// validation), so tests can put garbage under nulls, share ranges or corrupt layouts on
/// purpose.
public enum Make {
    public static func bitmap(_ valid: [Bool]) -> Buffer {
        var bytes = [UInt8](repeating: 0, count: (valid.count + 7) / 8)
        for (index, bit) in valid.enumerated() where bit { bytes[index / 8] |= 1 << UInt8(index % 8) }
        return Buffer(copying: bytes)
    }

    /// A fixed-width array; nil slots are null and hold `filler`. `bitmapWhenNoNulls`
    /// writes an all-ones bitmap instead of none when nothing is null.
    public static func fixed<T: BitwiseCopyable>(
        _ type: DataType, _ values: [T?], filler: T, bitmapWhenNoNulls: Bool = false
    ) -> ArrayData {
        let nulls = values.filter { $0 == nil }.count
        let validity = nulls > 0 || bitmapWhenNoNulls ? bitmap(values.map { $0 != nil }) : .empty
        return ArrayData(
            uncheckedType: type, length: values.count, nullCount: nulls,
            buffers: [validity, Buffer(copyingValues: values.map { $0 ?? filler })])
    }

    public static func int32(_ values: [Int32?], filler: Int32 = 0, bitmapWhenNoNulls: Bool = false) -> ArrayData {
        fixed(.int32, values, filler: filler, bitmapWhenNoNulls: bitmapWhenNoNulls)
    }

    public static func int64(_ values: [Int64?]) -> ArrayData { fixed(.int64, values, filler: 0) }
    public static func int16(_ values: [Int16?]) -> ArrayData { fixed(.int16, values, filler: 0) }
    public static func uint8(_ values: [UInt8?]) -> ArrayData { fixed(.uint8, values, filler: 0) }
    public static func float64(_ values: [Double?]) -> ArrayData { fixed(.float64, values, filler: 0) }
    public static func float32(_ values: [Float?]) -> ArrayData { fixed(.float32, values, filler: 0) }
    public static func date32(_ values: [Int32?]) -> ArrayData { fixed(.date32, values, filler: 0) }
    public static func decimal128(_ values: [Int128?], precision: Int, scale: Int) -> ArrayData {
        fixed(.decimal(bitWidth: 128, precision: precision, scale: scale), values, filler: 0)
    }

    /// Booleans; nil slots are null (and false).
    public static func bool(_ values: [Bool?]) -> ArrayData {
        let nulls = values.filter { $0 == nil }.count
        return ArrayData(
            uncheckedType: .boolean, length: values.count, nullCount: nulls,
            buffers: [nulls > 0 ? bitmap(values.map { $0 != nil }) : .empty, bitmap(values.map { $0 == true })])
    }

    /// An int32 array from raw parts: validity bytes as given, any null count, offset and
    /// length, so that tests can build arrays whose parts disagree.
    public static func int32(
        _ values: [Int32], validity: [UInt8]? = nil, nullCount: Int = 0, offset: Int = 0, length: Int? = nil
    ) -> ArrayData {
        ArrayData(
            uncheckedType: .int32, length: length ?? values.count - offset, nullCount: nullCount, offset: offset,
            buffers: [validity.map { Buffer(copying: $0) } ?? .empty, buffer(values)])
    }

    public static func buffer<T: BitwiseCopyable>(_ values: [T]) -> Buffer { Buffer(copyingValues: values) }
    public static func bytes(_ text: String) -> Buffer { Buffer(copying: Array(text.utf8)) }

    public static func utf8(_ values: [String?], nullText: String = "") -> ArrayData {
        var offsets: [Int32] = [0]
        var data: [UInt8] = []
        for value in values {
            data += Array((value ?? nullText).utf8)
            offsets.append(Int32(data.count))
        }
        let nulls = values.filter { $0 == nil }.count
        return ArrayData(
            uncheckedType: .utf8, length: values.count, nullCount: nulls,
            buffers: [nulls > 0 ? bitmap(values.map { $0 != nil }) : .empty, Buffer(copyingValues: offsets), Buffer(copying: data)])
    }

    /// A utf8 view array whose long strings live in one variadic buffer at `padding` bytes in.
    public static func utf8View(_ values: [String?], padding: Int = 0) -> ArrayData {
        var views: [UInt8] = []
        var data = [UInt8](repeating: 0xEE, count: padding)
        for value in values {
            let bytes = Array((value ?? "").utf8)
            var view = withUnsafeBytes(of: Int32(bytes.count).littleEndian, Array.init)
            if bytes.count <= 12 {
                view += bytes + [UInt8](repeating: 0, count: 12 - bytes.count)
            } else {
                view += bytes.prefix(4)
                view += withUnsafeBytes(of: Int32(0).littleEndian, Array.init)
                view += withUnsafeBytes(of: Int32(data.count).littleEndian, Array.init)
                data += bytes
            }
            views += view
        }
        let nulls = values.filter { $0 == nil }.count
        return ArrayData(
            uncheckedType: .utf8View, length: values.count, nullCount: nulls,
            buffers: [nulls > 0 ? bitmap(values.map { $0 != nil }) : .empty, Buffer(copying: views), Buffer(copying: data)])
    }

    public static func list(_ offsets: [Int32], valid: [Bool]? = nil, child: ArrayData, name: String = "item") -> ArrayData {
        let nulls = valid?.filter { !$0 }.count ?? 0
        return ArrayData(
            uncheckedType: .list(Field(name, child.type)), length: offsets.count - 1, nullCount: nulls,
            buffers: [valid.map(bitmap) ?? .empty, Buffer(copyingValues: offsets)], children: [child])
    }

    public static func listView(_ offsets: [Int32], _ sizes: [Int32], child: ArrayData) -> ArrayData {
        ArrayData(
            uncheckedType: .listView(Field("item", child.type)), length: offsets.count,
            buffers: [.empty, Buffer(copyingValues: offsets), Buffer(copyingValues: sizes)], children: [child])
    }

    public static func structure(_ children: [(String, ArrayData)], valid: [Bool]? = nil) -> ArrayData {
        let nulls = valid?.filter { !$0 }.count ?? 0
        return ArrayData(
            uncheckedType: .struct(children.map { Field($0.0, $0.1.type) }), length: children.first?.1.length ?? 0,
            nullCount: nulls, buffers: [valid.map(bitmap) ?? .empty], children: children.map(\.1))
    }

    /// A string array from raw parts: offsets and data as given.
    public static func utf8(
        offsets: [Int32], data: Buffer, type: DataType = .utf8, validity: [UInt8]? = nil, nullCount: Int = 0
    ) -> ArrayData {
        ArrayData(
            uncheckedType: type, length: offsets.count - 1, nullCount: nullCount,
            buffers: [validity.map { Buffer(copying: $0) } ?? .empty, buffer(offsets), data])
    }

    /// A 16-byte view: inline for ≤ 12 bytes, else prefix + buffer index + offset.
    public static func view(_ bytes: [UInt8], buffer: Int32 = 0, offset: Int32 = 0, prefix: [UInt8]? = nil) -> [UInt8] {
        var view = withUnsafeBytes(of: Int32(bytes.count).littleEndian) { Array($0) }
        if bytes.count <= 12 {
            view += bytes + [UInt8](repeating: 0, count: 12 - bytes.count)
        } else {
            view += (prefix ?? Array(bytes.prefix(4)))
            view += withUnsafeBytes(of: buffer.littleEndian) { Array($0) }
            view += withUnsafeBytes(of: offset.littleEndian) { Array($0) }
        }
        return view
    }

    public static func stringView(_ views: [[UInt8]], data: [Buffer], type: DataType = .utf8View) -> ArrayData {
        ArrayData(uncheckedType: type, length: views.count, buffers: [.empty, Buffer(copying: views.flatMap { $0 })] + data)
    }

    /// `indices` (any array) given `dictionary`.
    public static func dictionary(indices: ArrayData, dictionary: ArrayData) -> ArrayData {
        var data = indices
        data.type = .dictionary(index: indices.type, value: dictionary.type, ordered: false)
        data.dictionary = dictionary
        return data
    }

    /// A dictionary<int32, utf8> array: `indices` into `dictionary`.
    public static func dictionary(_ indices: [Int32?], _ dictionary: [String]) -> ArrayData {
        var data = fixed(.dictionary(index: .int32, value: .utf8, ordered: false), indices, filler: 0)
        data.dictionary = utf8(dictionary)
        return data
    }

    public static func dictionary(_ indices: [Int8?], _ values: ArrayData) -> ArrayData {
        var array = fixed(.int8, indices, filler: 99)
        array.type = .dictionary(index: .int8, value: values.type, ordered: false)
        array.dictionary = values
        return array
    }

    public static func runEndEncoded(_ runEnds: [Int32], _ values: ArrayData, length: Int? = nil) -> ArrayData {
        let ends = int32(runEnds.map { $0 })
        return ArrayData(
            uncheckedType: .runEndEncoded(runEnds: Field("run_ends", .int32, nullable: false), values: Field("values", values.type)),
            length: length ?? Int(runEnds.last ?? 0), buffers: [], children: [ends, values])
    }

    public static func ree(runEnds: ArrayData, values: ArrayData, length: Int, offset: Int = 0) -> ArrayData {
        ArrayData(
            uncheckedType: .runEndEncoded(runEnds: Field("run_ends", runEnds.type, nullable: false), values: Field("values", values.type)),
            length: length, offset: offset, buffers: [], children: [runEnds, values])
    }

    public static func union(
        _ mode: UnionMode, typeIds: [Int8], offsets: [Int32]? = nil, children: [ArrayData], declared: [Int8]
    ) -> ArrayData {
        let fields = children.enumerated().map { Field("f\($0.offset)", $0.element.type) }
        var buffers = [buffer(typeIds)]
        if let offsets { buffers.append(buffer(offsets)) }
        return ArrayData(
            uncheckedType: .union(mode, fields: fields, typeIds: declared), length: typeIds.count, buffers: buffers, children: children)
    }

    public static func sparseUnion(_ typeIds: [Int8], _ children: [ArrayData]) -> ArrayData {
        let fields = children.enumerated().map { Field("u\($0.offset)", $0.element.type) }
        return ArrayData(
            uncheckedType: .union(.sparse, fields: fields, typeIds: (0..<Int8(children.count)).map { $0 * 5 }),
            length: typeIds.count, buffers: [Buffer(copyingValues: typeIds)], children: children)
    }
}
