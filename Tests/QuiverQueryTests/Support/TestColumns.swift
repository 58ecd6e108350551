import QuiverTestSupport
import QuiverArrow
import QuiverBytes

/// A value in the tests' own row-at-a-time world (independent of the engine's code).
enum V: Hashable, CustomStringConvertible {
    case null
    case int(Int64)
    case double(Double)
    case string(String)
    case bool(Bool)

    var description: String {
        switch self {
        case .null: return "NULL"
        case .int(let v): return "\(v)"
        case .double(let v): return "\(v)"
        case .string(let s): return "'\(s)'"
        case .bool(let b): return "\(b)"
        }
    }

    var isNull: Bool { self == .null }

    var asDouble: Double? {
        switch self {
        case .int(let v): return Double(v)
        case .double(let v): return v
        default: return nil
        }
    }
}

/// The tests' own values as columns and batches (the builders are QuiverTestSupport's).
extension Make {
    /// A column of `V`s of `type` (int64, float64, utf8, bool, date32, int32).
    static func column(_ values: [V], type: DataType) -> ArrayData {
        switch type {
        case .int64: return int64(values.map { if case .int(let v) = $0 { return v } else { return nil } })
        case .int32: return int32(values.map { if case .int(let v) = $0 { return Int32(v) } else { return nil } })
        case .date32: return date32(values.map { if case .int(let v) = $0 { return Int32(v) } else { return nil } })
        case .float64: return float64(values.map { if case .double(let v) = $0 { return v } else { return nil } })
        case .boolean: return bool(values.map { if case .bool(let v) = $0 { return v } else { return nil } })
        default: return utf8(values.map { if case .string(let v) = $0 { return v } else { return nil } })
        }
    }

    /// A batch from named columns.
    static func batch(_ columns: [(String, ArrayData)]) throws -> RecordBatch {
        try RecordBatch(schema: Schema(columns.map { Field($0.0, $0.1.type) }), columns: columns.map(\.1))
    }
}

/// Reads arrays back into `V`s by hand.
enum Read {
    static func isValid(_ data: ArrayData, _ i: Int) -> Bool {
        guard data.nullCount > 0, data.buffers.first.map({ $0.count > 0 }) == true else { return true }
        return BitUtil.get(data.buffers[0].baseAddress, data.offset + i)
    }

    static func values(_ data: ArrayData) -> [V] {
        (0..<data.length).map { value(data, $0) }
    }

    static func value(_ data: ArrayData, _ i: Int) -> V {
        guard isValid(data, i) else { return .null }
        let at = data.offset + i
        func load<T: BitwiseCopyable>(_: T.Type) -> T { data.buffers[1].baseAddress.loadUnaligned(fromByteOffset: at * MemoryLayout<T>.stride, as: T.self) }
        switch data.type {
        case .int8: return .int(Int64(load(Int8.self)))
        case .int16: return .int(Int64(load(Int16.self)))
        case .int32, .date32: return .int(Int64(load(Int32.self)))
        case .int64, .date64, .timestamp: return .int(load(Int64.self))
        case .uint8: return .int(Int64(load(UInt8.self)))
        case .uint32: return .int(Int64(load(UInt32.self)))
        case .float32: return .double(Double(load(Float.self)))
        case .float64: return .double(load(Double.self))
        case .decimal(128, _, 0):
            // Integer sums (decimal128(38, 0), as DuckDB's HUGEINT) read as integers when they fit.
            let value = load(Int128.self)
            return Int64(exactly: value).map { .int($0) } ?? .double(Double(value))
        case .decimal(128, _, let scale):
            return .double(Double(load(Int128.self)) / pow10(scale))
        case .boolean: return .bool(BitUtil.get(data.buffers[1].baseAddress, at))
        case .utf8:
            let offsets = data.buffers[1].baseAddress.assumingMemoryBound(to: Int32.self)
            let start = Int(offsets[at])
            let end = Int(offsets[at + 1])
            return .string(String(decoding: UnsafeRawBufferPointer(start: data.buffers[2].baseAddress + start, count: end - start), as: UTF8.self))
        case .dictionary:
            guard let dictionary = data.dictionary else { return .null }
            let index = Int(data.buffers[1].baseAddress.load(fromByteOffset: at * 4, as: Int32.self))
            return value(dictionary, index)
        default:
            return .string("<\(data.type)>")
        }
    }

    static func pow10(_ n: Int) -> Double { (0..<n).reduce(1.0) { r, _ in r * 10 } }

    /// All rows of a result as arrays of values.
    static func rows(_ batches: [RecordBatch]) -> [[V]] {
        batches.flatMap { batch in
            (0..<batch.length).map { row in batch.columns.map { value($0, row) } }
        }
    }
}

/// Whether two values agree, doubles within a relative tolerance (sums add up in a different
/// order than the reference's).
func close(_ a: V, _ b: V, tolerance: Double = 1e-9) -> Bool {
    switch (a, b) {
    case (.double(let x), .double(let y)):
        if (x.isNaN && y.isNaN) || x == y { return true }
        return abs(x - y) <= tolerance * max(1, abs(x), abs(y))
    case (.int(let x), .double(let y)), (.double(let y), .int(let x)):
        return abs(Double(x) - y) <= tolerance * max(1, abs(y))
    default:
        return a == b
    }
}

func close(_ a: [[V]], _ b: [[V]], tolerance: Double = 1e-9) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { x, y in x.count == y.count && zip(x, y).allSatisfy { close($0, $1, tolerance: tolerance) } }
}

