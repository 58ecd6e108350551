#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import QuiverBytes

extension RecordBatch {
    /// Decodes every row into a `T`, matching struct properties to columns by name.
    ///
    /// Supported properties: integers (any width, range-checked), `Float`/`Double`, `Bool`,
    /// `String` (also from decimals), `Data`/`[UInt8]` (binary), `Date` (timestamps, date32,
    /// date64), `Decimal` (decimals), optionals (null or missing column → nil), arrays (list
    /// columns), nested `Decodable` structs (struct columns) and `[String: V]` (maps with
    /// string keys). Throws `typeMismatch` naming the column and the property
    /// ("column 'price' is string, Trade.price is Double") and `notFound` for a missing
    /// column of a non-optional property.
    /// O(rows × columns), plus the bytes of strings and nested values.
    public func decode<T: Decodable>(_ type: T.Type) throws -> [T] {
        let rows = RowSource(schema: schema, columns: columns)
        return try (0..<length).map { try rows.decode(T.self, row: $0) }
    }

    /// Decodes every row: `try batch.decode([Trade].self)`.
    public func decode<T: Decodable>(_ type: [T].Type) throws -> [T] { try decode(T.self) }

    /// A batch of `rows`, one column per stored property, the schema inferred from the values:
    /// Swift integers, floats, `Bool`, `String`, `Data`/`[UInt8]` (binary), `Date`
    /// (timestamp[us, UTC]), `Decimal` (decimal128 with the largest scale seen), arrays
    /// (lists), nested structs (structs). Optional properties and columns with nulls are
    /// nullable; a column that is only ever nil gets its static type when known, else `null`.
    /// Throws `typeMismatch` when rows disagree on a column's type; `invalidArgument` for no
    /// rows when the schema cannot be inferred.
    /// O(rows × properties), plus the bytes of strings and nested values.
    public init<T: Encodable>(encoding rows: [T], pool: MemoryPool = .default) throws {
        self = try RowEncoding.encode(rows, pool: pool)
    }

    /// `try RecordBatch.encode(rows)`: the same as `RecordBatch(encoding:)`.
    public static func encode<T: Encodable>(_ rows: [T], pool: MemoryPool = .default) throws -> RecordBatch {
        try RowEncoding.encode(rows, pool: pool)
    }
}

extension Table {
    /// Decodes every row of every batch into a `T` (see `RecordBatch.decode(_:)`).
    /// O(rows × columns), plus the bytes of strings and nested values.
    public func decode<T: Decodable>(_ type: T.Type) throws -> [T] {
        var result: [T] = []
        result.reserveCapacity(numRows)
        for (index, batch) in batches.enumerated() {
            try withErrorContext("record batch \(index)") { result += try batch.decode(T.self) }
        }
        return result
    }

    /// Decodes every row: `try table.decode([Trade].self)`.
    public func decode<T: Decodable>(_ type: [T].Type) throws -> [T] { try decode(T.self) }
}

/// The Swift types Codable treats as leaves rather than as containers: their own
/// `Codable` implementations (Date as a Double, Data as base64, …) are bypassed so they map to
/// the natural Arrow types.
enum SpecialValue {
    /// Microseconds per second: `Date` encodes as timestamp[us, UTC], pyarrow's `datetime` default.
    static let dateType = DataType.timestamp(.microsecond, timezone: "UTC")

    /// The Arrow type and value of a special Swift value, or nil for an ordinary one.
    /// Throws `typeMismatch` for a date outside the timestamp range (or not finite).
    static func encode(_ value: Any) throws -> (ArrowValue, DataType)? {
        switch value {
        case let date as Date:
            guard let micros = Int64(exactly: (date.timeIntervalSince1970 * 1e6).rounded()) else {
                throw QuiverError(.typeMismatch, "date \(date.timeIntervalSince1970) s is outside the timestamp[us] range")
            }
            return (.timestamp(micros, .microsecond, timezone: "UTC"), dateType)
        case let data as Data: return (.binary(Array(data)), .binary)
        // Checked by type: an empty array of any element type casts to [UInt8].
        case let bytes as [UInt8] where type(of: value) == [UInt8].self: return (.binary(bytes), .binary)
        case let decimal as Decimal:
            let text = decimal.description
            let scale = text.firstIndex(of: ".").map { text.distance(from: $0, to: text.endIndex) - 1 } ?? 0
            return (.decimal(text), .decimal(bitWidth: 128, precision: 38, scale: scale))
        default: return nil
        }
    }

    /// The Arrow type of values of a Swift type known statically (for nil optionals).
    static func arrowType(of type: Any.Type) -> DataType? {
        switch type {
        case is Bool.Type: return .boolean
        case is String.Type: return .utf8
        case is Int.Type, is Int64.Type: return .int64
        case is Int8.Type: return .int8
        case is Int16.Type: return .int16
        case is Int32.Type: return .int32
        case is UInt.Type, is UInt64.Type: return .uint64
        case is UInt8.Type: return .uint8
        case is UInt16.Type: return .uint16
        case is UInt32.Type: return .uint32
        case is Float.Type: return .float32
        case is Double.Type: return .float64
        case is Date.Type: return dateType
        case is Data.Type, is [UInt8].Type: return .binary
        case is Decimal.Type: return .decimal(bitWidth: 128, precision: 38, scale: 0)
        default: return nil
        }
    }

    /// Decodes a special Swift type from a value, or nil when `T` is not special.
    /// Throws when `T` is special but the value has another kind.
    static func decode<T>(_: T.Type, from value: ArrowValue, mismatch: () -> QuiverError) throws -> T? {
        switch T.self {
        case is Date.Type:
            let seconds: Double
            switch value {
            case .timestamp(let v, let unit, _): seconds = Double(v) / Double(unitsPerSecond(unit))
            case .date32(let days): seconds = Double(days) * 86_400
            case .date64(let milliseconds): seconds = Double(milliseconds) / 1_000
            default: throw mismatch()
            }
            return Date(timeIntervalSince1970: seconds) as? T
        case is Data.Type:
            guard case .binary(let bytes) = value else { throw mismatch() }
            return Data(bytes) as? T
        case is [UInt8].Type:
            guard case .binary(let bytes) = value else { throw mismatch() }
            return bytes as? T
        case is Decimal.Type:
            switch value {
            case .decimal(let text):
                guard let decimal = Decimal(string: text) else { throw mismatch() }
                return decimal as? T
            case .int(let integer): return Decimal(integer) as? T
            case .uint(let integer): return Decimal(integer) as? T
            default: throw mismatch()
            }
        default: return nil
        }
    }

    static func unitsPerSecond(_ unit: TimeUnit) -> Int64 {
        switch unit {
        case .second: return 1
        case .millisecond: return 1_000
        case .microsecond: return 1_000_000
        case .nanosecond: return 1_000_000_000
        }
    }
}

/// A coding key for positions and dynamic names.
struct AnyCodingKey: CodingKey {
    let stringValue: String
    let intValue: Int?
    init(stringValue: String) { (self.stringValue, intValue) = (stringValue, nil) }
    init(intValue: Int) { (stringValue, self.intValue) = ("\(intValue)", intValue) }
}

extension Array where Element == any CodingKey {
    /// `a.b[2].c`: a path for error messages.
    var dottedPath: String {
        var text = ""
        for key in self {
            if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
        }
        return text
    }
}
