import Foundation
import GRPCCore
import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverStore
import SwiftProtobuf
import Testing

@testable import QuiverFlight

/// Requests a client controls: the FlightData wire format, Flight SQL commands, tickets,
/// catalog filters. Malformed input is INVALID_ARGUMENT, never a crash.
@Suite struct RequestValidationTests {
    private func code(_ body: () async throws -> Void) async -> RPCError.Code? {
        do {
            try await body()
            return nil
        } catch let error as RPCError {
            return error.code
        } catch {
            return .unknown
        }
    }

    @Test func flightDataRoundTripsThroughTheWireFormat() throws {
        let header: [UInt8] = Array(0..<200).map { UInt8($0) }
        let body = [UInt8](repeating: 7, count: 70_000)  // a three-byte length varint
        let bytes: [UInt8] = FlightDataSerializer().serializeForTest(.encoded(flatbuffer: header, body: body))
        // SwiftProtobuf's own decoder agrees on the layout.
        let decoded = try Arrow_Flight_Protocol_FlightData(serializedBytes: bytes)
        #expect(Array(decoded.dataHeader) == header)
        #expect(Array(decoded.dataBody) == body)
        let ours = try bytes.withUnsafeBytes { try FlightDataDeserializer.parse($0) }
        #expect(ours.header.array == header)
        #expect(ours.body.array == body)
        #expect(ours.body.isAligned(to: 64))
    }

    @Test func framedPartsCopyOutAsTheirConcatenation() {
        let parts: [[UInt8]] = [[1, 2], [], [3, 4, 5], [6]]
        let expected = parts.flatMap { $0 }
        parts[0].withUnsafeBytes { a in
            parts[1].withUnsafeBytes { b in
                parts[2].withUnsafeBytes { c in
                    parts[3].withUnsafeBytes { d in
                        let framed = FramedParts(parts: [a, b, c, d])
                        #expect(Array(framed) == expected)  // element by element
                        for size in 0...expected.count + 2 {  // in bulk, into buffers of every size
                            var out = [UInt8](repeating: 0, count: size)
                            let (iterator, written) = out.withUnsafeMutableBufferPointer { framed._copyContents(initializing: $0) }
                            #expect(written == min(size, expected.count))
                            #expect(Array(out.prefix(written)) == Array(expected.prefix(written)))
                            var rest = iterator
                            var tail: [UInt8] = []
                            while let byte = rest.next() { tail.append(byte) }
                            #expect(tail == Array(expected.dropFirst(written)))
                        }
                    }
                }
            }
        }
    }

    @Test func incomingDescriptorAndUnknownFieldsAreRead() throws {
        var message = Arrow_Flight_Protocol_FlightData()
        message.flightDescriptor.type = .path
        message.flightDescriptor.path = ["trades"]
        message.dataHeader = Data([1, 2, 3])
        message.appMetadata = Data([9])
        var bytes: [UInt8] = try message.serializedBytes()
        bytes += [0x20, 0x05, 0x2D, 1, 2, 3, 4]  // unknown varint field 4, unknown fixed32 field 5
        let parsed = try bytes.withUnsafeBytes { try FlightDataDeserializer.parse($0) }
        #expect(parsed.descriptor?.path == ["trades"])
        #expect(parsed.header.array == [1, 2, 3])
        #expect(parsed.appMetadata == [9])
    }

    @Test func malformedFlightDataIsInvalidArgument() async {
        let cases: [[UInt8]] = [
            [0x12, 0x05, 1, 2],  // length past the end
            [0x12, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],  // 2^64-ish length
            [0x12],  // truncated length
            [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80],  // overlong varint
            [0x0B],  // group wire type
            [0x0A, 0x02, 0xFF, 0xFF],  // malformed descriptor
            [0x29, 1, 2],  // fixed64 cut short
        ]
        for bytes in cases {
            let result = await code { _ = try bytes.withUnsafeBytes { try FlightDataDeserializer.parse($0) } }
            #expect(result == .invalidArgument, "\(bytes)")
        }
    }

    @Test func flightSqlCommandsAndPlainSqlAreRecognised() throws {
        var statement = Arrow_Flight_Protocol_Sql_CommandStatementQuery()
        statement.query = "SELECT 1"
        guard case .statement(let sql) = try FlightSQL.command(try FlightSQL.pack(statement)) else {
            Issue.record("a CommandStatementQuery is a statement")
            return
        }
        #expect(sql == "SELECT 1")
        guard case .statement(let text) = try FlightSQL.command(Data("SELECT 2".utf8)) else {
            Issue.record("plain UTF-8 is SQL")
            return
        }
        #expect(text == "SELECT 2")
        var tables = Arrow_Flight_Protocol_Sql_CommandGetTables()
        tables.includeSchema = true
        guard case .tables(let command) = try FlightSQL.command(try FlightSQL.pack(tables)) else {
            Issue.record("a CommandGetTables")
            return
        }
        #expect(command.includeSchema)
    }

    @Test func unsupportedAndMalformedCommandsGetTheirStatus() async throws {
        var any = Google_Protobuf_Any()
        any.typeURL = FlightSQL.typePrefix + "CommandGetPrimaryKeys"
        let unsupported = try any.serializedData()
        #expect(await code { _ = try FlightSQL.command(unsupported) } == .unimplemented)
        any.typeURL = FlightSQL.typePrefix + "CommandStatementUpdate"
        let update = try any.serializedData()
        #expect(await code { _ = try FlightSQL.command(update) } == .unimplemented)
        any.typeURL = FlightSQL.typePrefix + "CommandGetTables"
        any.value = Data([0x0A, 0x09, 0x41])  // catalog string running past the end
        let malformed = try any.serializedData()
        #expect(await code { _ = try FlightSQL.command(malformed) } == .invalidArgument)
        #expect(await code { _ = try FlightSQL.command(Data([0xFF, 0xFE, 0x00])) } == .invalidArgument)
    }

    @Test func likePatterns() {
        #expect(Like.matches("trades", pattern: "%"))
        #expect(Like.matches("trades", pattern: "tr_des"))
        #expect(Like.matches("trades", pattern: "%des"))
        #expect(Like.matches("trades", pattern: "t%s"))
        #expect(Like.matches("", pattern: "%%"))
        #expect(!Like.matches("trades", pattern: "trade"))
        #expect(!Like.matches("trades", pattern: "_"))
        #expect(!Like.matches("", pattern: "_"))
        // Linear, not exponential, in hostile patterns.
        #expect(!Like.matches(String(repeating: "a", count: 2_000), pattern: String(repeating: "%a", count: 200) + "b"))
    }

    @Test func sqlInfoIsAValidDenseUnion() throws {
        let all = try SqlCatalog.sqlInfo(Arrow_Flight_Protocol_Sql_CommandGetSqlInfo())
        #expect(all.length == SqlCatalog.infos.count)
        var some = Arrow_Flight_Protocol_Sql_CommandGetSqlInfo()
        some.info = [0, 8, 12_345]
        let picked = try SqlCatalog.sqlInfo(some)
        #expect(picked.length == 2)
        for column in picked.columns { try column.validate(full: true) }
    }

    @Test func streamsOverTheCapAreRefused() async throws {
        let limiter = StreamLimiter(limit: 1)
        let inner: RPCError.Code? = try await limiter.withSlot {
            await code { try await limiter.withSlot {} }
        }
        #expect(inner == .resourceExhausted)
        // The slot is free again afterwards.
        try await limiter.withSlot {}
    }

    @Test func tableFlightInfoComesFromTheFootersAndMissingTablesAreNotFound() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-flight-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try Store.create(at: directory)
        let schema = Schema([Field("x", .int64)])
        try store.createTable("t", schema: schema)
        let service = FlightService(store: store)
        defer { try? service.close() }
        let writer = try service.writer(for: "t", schema: schema)
        try writer.append(try RecordBatch(schema: schema, columns: [ArrayData.build(from: [1, 2, 3] as [Int64?])]))
        let info = try service.flightInfo(table: "t")
        #expect(info.totalRecords == 3)
        #expect(info.endpoint.count == 1)
        let ticket = try JSONDecoder().decode(FlightService.TableTicket.self, from: info.endpoint[0].ticket.ticket)
        #expect(ticket.first == 0 && ticket.end == 1)
        do {
            _ = try service.flightInfo(table: "missing")
            Issue.record("a missing table has flight info")
        } catch let error as QuiverError {
            #expect(FlightService.rpcError(error).code == .notFound)
        }
    }
}

extension FlightDataSerializer {
    func serializeForTest(_ message: OutgoingFlightData) -> [UInt8] {
        (try? serialize(message)) ?? []
    }
}
