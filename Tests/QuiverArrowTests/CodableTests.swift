import Foundation
import QuiverArrow
import QuiverBytes
import QuiverTestSupport
import Testing

struct Trade: Codable, Equatable {
    var id: Int64
    var symbol: String
    var price: Double
    var quantity: Int32
    var note: String?
    var tags: [String]
    var when: Date
    var venue: Venue?
    var raw: [UInt8]
    var blob: Data
    var amount: Decimal
    var flag: Bool
    var small: UInt8
    var ratio: Float
}

struct Venue: Codable, Equatable {
    var name: String
    var code: Int?
}

func expectError<R>(
    _ code: QuiverError.Code, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> R
) {
    do {
        _ = try body()
        Issue.record("no error (expected '\(fragment)')", sourceLocation: sourceLocation)
    } catch let error as QuiverError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        #expect(error.description.contains(fragment), "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
    }
}

@Suite struct CodableTests {
    static let trades = [
        Trade(
            id: 1, symbol: "AAPL", price: 189.5, quantity: 100, note: nil, tags: ["tech", "us"],
            when: Date(timeIntervalSince1970: 1_700_000_000.123456), venue: Venue(name: "NASDAQ", code: 7),
            raw: [1, 2], blob: Data([3]), amount: Decimal(string: "12.5")!, flag: true, small: 255, ratio: 0.25),
        Trade(
            id: 2, symbol: "MSFT", price: 1e-3, quantity: -5, note: "odd lot", tags: [],
            when: Date(timeIntervalSince1970: -86_400), venue: nil,
            raw: [], blob: Data(), amount: Decimal(string: "-0.125")!, flag: false, small: 0, ratio: -1),
    ]

    @Test func roundTripsRows() throws {
        let batch = try RecordBatch(encoding: Self.trades)
        for column in batch.columns { try column.validate() }
        #expect(batch.numRows == 2)
        #expect(batch.schema.fields.map(\.name) == [
            "id", "symbol", "price", "quantity", "note", "tags", "when", "venue", "raw", "blob", "amount", "flag", "small", "ratio",
        ])
        let field = { (name: String) in batch.schema.field(named: name)! }
        #expect(field("id").type == .int64 && !field("id").nullable)
        #expect(field("quantity").type == .int32)
        #expect(field("note").type == .utf8 && field("note").nullable)
        #expect(field("tags").type == .list(Field("item", .utf8, nullable: false)))
        #expect(field("when").type == .timestamp(.microsecond, timezone: "UTC"))
        #expect(field("venue").type == .struct([Field("name", .utf8, nullable: false), Field("code", .int64)]))
        #expect(field("venue").nullable)
        #expect(field("raw").type == .binary && field("blob").type == .binary)
        #expect(field("amount").type == .decimal(bitWidth: 128, precision: 38, scale: 3))
        #expect(field("small").type == .uint8 && field("ratio").type == .float32 && field("flag").type == .boolean)
        #expect(batch.column(named: "amount")?.formatValue(at: 0) == "12.500")

        let decoded = try batch.decode([Trade].self)
        #expect(decoded.count == 2)
        for (got, want) in zip(decoded, Self.trades) {
            var want = want
            // Microsecond timestamps keep the instant to the microsecond.
            #expect(abs(got.when.timeIntervalSince(want.when)) < 1e-6)
            want.when = got.when
            #expect(got == want)
        }
        #expect(try batch.decode(Trade.self) == decoded)
        #expect(try RecordBatch.encode(Self.trades).schema == batch.schema)
    }

    @Test func decodesAcrossTableBatches() throws {
        let batch = try RecordBatch(encoding: Self.trades)
        let table = try Table(batches: [batch, batch.slice(from: 1, length: 1)])
        let rows = try table.decode([Trade].self)
        #expect(rows.map(\.id) == [1, 2, 2])
    }

    @Test func reportsTypeMismatch() throws {
        struct Priced: Decodable { var price: Double }
        let batch = try RecordBatch(
            schema: Schema([Field("price", .utf8)]), columns: [StringArray(["1.5"]).data])
        expectError(.typeMismatch, "column 'price' is string, Priced.price is Double") { try batch.decode(Priced.self) }

        struct Nested: Decodable { var venue: Venue }
        let venues = try RecordBatch(
            schema: Schema([Field("venue", .struct([Field("name", .int32)]))]),
            columns: [try ArrayData.build([.struct([("name", .int(5))])], type: .struct([Field("name", .int32)]))])
        expectError(.typeMismatch, "column 'venue.name' is int32, Nested.venue.name is String") { try venues.decode(Nested.self) }
        let scalarVenue = try RecordBatch(schema: Schema([Field("venue", .int32)]), columns: [Int32Array([1]).data])
        expectError(.typeMismatch, "column 'venue' is int32") { try scalarVenue.decode(Nested.self) }
    }

    @Test func reportsNullsAndRange() throws {
        struct Row: Decodable { var value: Int8 }
        let batch = try RecordBatch(schema: Schema([Field("value", .int64)]), columns: [Int64Array([1, nil, 300]).data])
        expectError(.typeMismatch, "column 'value' is null at row 1, Row.value is not optional") {
            try batch.decode(Row.self)
        }
        let big = batch.slice(from: 2, length: 1)
        expectError(.typeMismatch, "value 300 of column 'value' at row 0 does not fit Row.value (Int8)") {
            try big.decode(Row.self)
        }
        struct Lenient: Decodable { var value: Int? }
        #expect(try batch.decode(Lenient.self).map(\.value) == [1, nil, 300])
    }

    @Test func missingColumns() throws {
        struct Row: Decodable {
            var id: Int32
            var extra: String?
        }
        let batch = try RecordBatch(schema: Schema([Field("id", .int32)]), columns: [Int32Array([4]).data])
        #expect(try batch.decode(Row.self).first?.extra == nil)
        struct Strict: Decodable { var name: String }
        expectError(.notFound, "no column 'name' for Strict.name (columns: id)") { try batch.decode(Strict.self) }
    }

    @Test func decodesOtherArrowTypes() throws {
        struct Row: Decodable {
            var day: Date
            var ms: Date
            var stamp: Date
            var label: String
            var cost: Decimal
            var costText: String
            var counts: [Int?]
            var attributes: [String: Int]
            var widened: Int
            var asDouble: Double
        }
        let mapBuilder = try MapBuilder(keyType: .utf8, valueType: .int32)
        try mapBuilder.append(value: .map([(.string("a"), .int(1)), (.string("b"), .int(2))]))
        let decimal = try ArrayData.build([.decimal("-3.25")], type: .decimal(bitWidth: 64, precision: 6, scale: 2))
        let counts = try ArrayData.build([.list([.int(1), .null])], type: .largeList(Field("item", .int16)))
        let batch = try RecordBatch(
            schema: Schema([
                Field("day", .date32), Field("ms", .date64), Field("stamp", .timestamp(.second, timezone: nil)),
                Field("label", .dictionary(index: .int8, value: .utf8, ordered: false)),
                Field("cost", decimal.type), Field("costText", decimal.type), Field("counts", counts.type),
                Field("attributes", mapBuilder.type), Field("widened", .uint16), Field("asDouble", .int32),
            ]),
            columns: [
                Date32Array([1], type: .date32).data, Date64Array([1_500], type: .date64).data,
                TimestampArray([60], type: .timestamp(.second, timezone: nil)).data,
                Make.dictionary(indices: Int8Array([1]).data, dictionary: StringArray(["x", "y"]).data),
                decimal, decimal, counts, mapBuilder.finish(), UInt16Array([65_535]).data, Int32Array([-2]).data,
            ])
        let row = try #require(try batch.decode(Row.self).first)
        #expect(row.day == Date(timeIntervalSince1970: 86_400))
        #expect(row.ms == Date(timeIntervalSince1970: 1.5))
        #expect(row.stamp == Date(timeIntervalSince1970: 60))
        #expect(row.label == "y")
        #expect(row.cost == Decimal(string: "-3.25"))
        #expect(row.costText == "-3.25")
        #expect(row.counts == [1, nil])
        #expect(row.attributes == ["a": 1, "b": 2])
        #expect(row.widened == 65_535 && row.asDouble == -2)
    }

    @Test func encodingInfersNullsAndOptionals() throws {
        struct Row: Encodable {
            var a: Int?
            var b: String?
            var c: [Double?]
            var d: Venue?
        }
        let batch = try RecordBatch(encoding: [
            Row(a: nil, b: "x", c: [1, nil], d: nil),
            Row(a: nil, b: nil, c: [], d: nil),
        ])
        #expect(batch.schema.fields == [
            Field("a", .int64), Field("b", .utf8), Field("c", .list(Field("item", .float64)), nullable: false), Field("d", .null),
        ])
        #expect(batch.columns[0].nullCount == 2)
        #expect(batch.columns[2].toList() == [.list([.float(1), .null]), .list([])])
        for column in batch.columns { try column.validate() }
    }

    @Test func encodingRejectsDisagreeingRows() throws {
        enum Either: Encodable {
            case number(Int), text(String)
            func encode(to encoder: any Encoder) throws {
                var container = encoder.singleValueContainer()
                switch self {
                case .number(let value): try container.encode(value)
                case .text(let value): try container.encode(value)
                }
            }
        }
        struct Row: Encodable { var value: Either }
        expectError(.typeMismatch, "Row.value is int64 in one row and string in another") {
            try RecordBatch(encoding: [Row(value: .number(1)), Row(value: .text("x"))])
        }
        expectError(.invalidArgument, "no rows") { try RecordBatch(encoding: [Row]()) }
        expectError(.invalidArgument, "keyed container") { try RecordBatch(encoding: [1, 2]) }
    }
}
