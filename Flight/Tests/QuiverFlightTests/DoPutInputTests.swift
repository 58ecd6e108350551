import Foundation
import GRPCCore
import QuiverArrow
import QuiverBytes
import QuiverIPC
import Testing

@testable import QuiverFlight

/// `FlightDataInput`: DoPut's FlightData re-framed into the IPC stream `StreamReader`
/// decodes, with a client's malformed messages refused before the reader sees them.
@Suite struct DoPutInputTests {
    private func incoming(_ message: OutgoingFlightData) -> IncomingFlightData {
        guard case .encoded(let flatbuffer, let body) = message else { return IncomingFlightData() }
        return IncomingFlightData(header: Buffer(copying: flatbuffer), body: Buffer(copying: body))
    }

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

    @Test func messagesReadBackAsTheBatchesSent() async throws {
        let schema = Schema([Field("x", .int64), Field("s", .utf8)])
        let batches = try (0..<5).map { index in
            try RecordBatch(schema: schema, columns: [
                ArrayData.build(from: (0..<100).map { Int64(index * 100 + $0) } as [Int64?]),
                ArrayData.build(from: (0..<100).map { $0 % 3 == 0 ? nil : "row \($0)" } as [String?]),
            ])
        }
        let encoder = try FlightBatchEncoder(schema: schema)
        var messages = [encoder.schemaMessage]
        for batch in batches { messages += try encoder.encode(batch) }
        let input = FlightDataInput(capacity: 2, pool: MemoryPool())
        // A reader on its own thread, as DoPut runs it; the queue holds two messages at most.
        let read = Task.detached { try StreamReader(input: input).readBatches() }
        for message in messages { try await input.push(incoming(message)) }
        input.finish()
        let got = try await read.value
        #expect(got.count == batches.count)
        #expect(zip(got, batches).allSatisfy { $0.logicallyEquals($1) })
    }

    @Test func malformedMessagesAreInvalidArguments() async throws {
        let schema = Schema([Field("x", .int64)])
        let encoder = try FlightBatchEncoder(schema: schema)
        let batch = try RecordBatch(schema: schema, columns: [ArrayData.build(from: [1, 2] as [Int64?])])
        guard case .encoded(let flatbuffer, let body) = try encoder.encode(batch)[0] else {
            Issue.record("an encoded batch")
            return
        }
        let input = FlightDataInput(pool: MemoryPool())
        let garbage = IncomingFlightData(header: Buffer(copying: [1, 2, 3, 4, 5, 6, 7, 8]))
        #expect(await code { try await input.push(garbage) } == .invalidArgument)
        let longBody = IncomingFlightData(header: Buffer(copying: flatbuffer), body: Buffer(copying: body + [0, 0, 0, 0, 0, 0, 0, 0]))
        #expect(await code { try await input.push(longBody) } == .invalidArgument)
    }

    @Test func aFailedReaderReleasesAWaitingProducer() async throws {
        let schema = Schema([Field("x", .int64)])
        let encoder = try FlightBatchEncoder(schema: schema)
        let input = FlightDataInput(capacity: 1, pool: MemoryPool())
        try await input.push(incoming(encoder.schemaMessage))  // fills the queue
        let blocked = Task { try await input.push(incoming(encoder.schemaMessage)) }
        try await Task.sleep(for: .milliseconds(50))  // usually waiting for room by now (either way it must throw)
        input.fail(RPCError(code: .cancelled, message: "the client went away"))
        #expect(await code { try await blocked.value } == .cancelled)
    }
}
