import GRPCCore
import NIOCore
import NIOEmbedded
import NIOHTTP2
import QuiverArrow
import QuiverBytes
import QuiverIPC
import Testing

@testable import QuiverFlight

/// DoGet's stored messages around gRPC's framer: placeholders through gRPC, the messages
/// written in their place by the stream's `StoredMessageWriter`.
/// Serialized: `MappedBodyBuffers` counts views process-wide.
@Suite(.serialized) struct StoredMessageHandoffTests {
    /// A stored record batch message of a small file held in memory.
    private func storedMessage() throws -> StoredMessage {
        let schema = Schema([Field("x", .int64)])
        let output = CapturedOutput()
        let writer = try FileWriter(output: output, schema: schema)
        try writer.write(try RecordBatch(schema: schema, columns: [ArrayData.build(from: [1, 2, nil, 4] as [Int64?])]))
        try writer.finish()
        return try FileReader(bytes: output.bytes).storedRecordBatchMessage(at: 0)
    }

    /// gRPC messages as the framer writes them: flag, big-endian length, payload.
    private func framed(_ messages: [[UInt8]]) -> ByteBuffer {
        var buffer = ByteBuffer()
        for message in messages {
            buffer.writeInteger(UInt8(0))
            buffer.writeInteger(UInt32(message.count), endianness: .big)
            buffer.writeBytes(message)
        }
        return buffer
    }

    private func data(_ buffer: ByteBuffer) -> HTTP2Frame.FramePayload {
        .data(.init(data: .byteBuffer(buffer)))
    }

    /// Every DATA byte the handler passed on.
    private func written(_ channel: EmbeddedChannel) throws -> [UInt8] {
        var bytes: [UInt8] = []
        while let payload = try channel.readOutbound(as: HTTP2Frame.FramePayload.self) {
            guard case .data(let frame) = payload, case .byteBuffer(let buffer) = frame.data else {
                Issue.record("the handler passed on \(payload)")
                continue
            }
            bytes += Array(buffer.readableBytesView)
        }
        return bytes
    }

    @Test(arguments: [true, false])
    func placeholdersBecomeTheirMessagesAndTheRestPassesThrough(viewsMappedBodies: Bool) async throws {
        let message = try storedMessage()
        let queue = StoredMessageQueue.register()
        defer { queue.unregister() }
        queue.push(message)
        queue.push(message)
        let channel = EmbeddedChannel(handler: StoredMessageWriter(viewsMappedBodies: viewsMappedBodies))
        defer { _ = try? channel.finish() }
        let other: [UInt8] = [0x0A, 0x01, 0x41]
        try channel.writeOutbound(data(framed([other, queue.placeholder, other, queue.placeholder])))
        let serialized: [UInt8] = FlightDataSerializer().serializeForTest(.stored(message))
        #expect(try written(channel) == Array(framed([other, serialized, other, serialized]).readableBytesView))
        // Every view handed to NIO was released with its buffer, and the queue heard that
        // both messages were written.
        #expect(MappedBodyBuffers.viewedCount == 0)
        try await queue.waitUntilUnsent(atMost: 0)
    }

    @Test func dataWithoutPlaceholdersPassesThroughUntouched() throws {
        let channel = EmbeddedChannel(handler: StoredMessageWriter(viewsMappedBodies: true))
        defer { _ = try? channel.finish() }
        let looksClose: [UInt8] = [0x00] + Array("QVRSTRD".utf8) + [1, 2, 3]  // 11 bytes: not a placeholder
        let buffer = framed([[1, 2, 3], looksClose])
        try channel.writeOutbound(data(buffer))
        #expect(try written(channel) == Array(buffer.readableBytesView))
    }

    @Test func aPlaceholderWithoutItsMessageFailsTheStream() throws {
        let queue = StoredMessageQueue.register()
        let placeholder = queue.placeholder
        queue.unregister()
        let channel = EmbeddedChannel(handler: StoredMessageWriter(viewsMappedBodies: true))
        let write = channel.writeAndFlush(data(framed([placeholder])))
        #expect(throws: RPCError.self) { try write.wait() }
        #expect(try written(channel).isEmpty)
        #expect(!channel.isActive)
    }

    @Test func aDoGetWaitsUntilItsBytesAreSentOrItsStreamCloses() async throws {
        let message = try storedMessage()
        let cost = StoredMessageQueue.cost(message)
        let queue = StoredMessageQueue.register()
        defer { queue.unregister() }
        try await queue.waitUntilUnsent(atMost: 0)  // nothing pushed: returns at once
        queue.push(message)
        queue.push(message)
        #expect(queue.take() != nil)
        #expect(queue.take() != nil)
        #expect(queue.take() == nil)
        async let oneSent: Void = queue.waitUntilUnsent(atMost: cost)
        queue.sent(cost)
        try await oneSent
        async let allSent: Void = queue.waitUntilUnsent(atMost: 0)
        queue.sent(cost)
        try await allSent
        queue.push(message)
        let closed = Task { try await queue.waitUntilUnsent(atMost: 0) }
        queue.abandon()
        await #expect(throws: RPCError.self) { try await closed.value }
        #expect(queue.take() == nil)
    }
}
