#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif
import GRPCCore
// For `ByteBuffer(takingOwnershipOf:allocator:)`: a buffer over memory NIO did not allocate.
@_spi(CustomByteBufferAllocator) import NIOCore
import NIOHTTP2
import QuiverIPC
import Synchronization

// Stored messages of a DoGet go around gRPC's message framing, not through it.
//
// grpc-swift's NIO transport takes a message only as bytes it owns (its public initialisers
// copy) and then copies it again into its frame buffer: two copies of every stored body on
// the server, a quarter of its CPU in a DoGet. So `FlightService` sends each stored message
// as a 16-byte placeholder through gRPC and hands the message itself to `StoredMessageWriter`,
// a handler in the stream's channel below gRPC's, through a `StoredMessageQueue`. The
// handler writes, in the placeholder's place, the gRPC length prefix and the FlightData
// fields, then the body as a `ByteBuffer` that views the memory map (`MappedBodyBuffers`):
// the socket's `writev` reads it where it lies, no copy by the server. Under TLS the body is
// copied once into the frame's buffer instead (the TLS handler is not trusted never to
// write into a buffer it is handed, and the mapping is read-only). Sending the body as a
// file region (`sendfile(2)`) measured slower: more CPU on both ends over loopback.
//
//   placeholder (a gRPC message of 16 bytes):
//   0x00 | "QVRSTRD" (7 bytes) | queue id (UInt64, little-endian)
//
// A protobuf message never starts with 0x00 (a tag of field 0), so no real message is
// mistaken for a placeholder. Messages of one stream reach the handler in the order they
// were written, so a queue is first in, first out.

/// The stored messages one DoGet has written as placeholders, until its stream's handler
/// takes them, and the bytes not yet written to the socket, which the DoGet waits on as it
/// would on flow control. Registered by id while the DoGet runs.
final class StoredMessageQueue: Sendable {
    let id: UInt64

    /// Bytes a DoGet may have pushed but not yet sent: a slow client holds the DoGet (and its
    /// stream slot) rather than the server buffering the rest of its messages. Placeholders
    /// are too small for gRPC's own backpressure to see.
    static let unsentLimit = 16 << 20

    private struct State {
        var messages: [StoredMessage] = []
        var next = 0
        /// Bytes pushed and not yet written to the socket (taken or not).
        var unsentBytes = 0
        /// Set when the RPC is cancelled or its stream closes: nothing more will be taken.
        var abandoned = false
        /// The DoGet waiting for `unsentBytes` to fall to `limit`.
        var waiter: (limit: Int, continuation: CheckedContinuation<Bool, Never>)?
    }

    private let state = Mutex(State())

    private static let registry = Mutex<[UInt64: StoredMessageQueue]>([:])
    private static let nextID = Atomic<UInt64>(1)

    private init(id: UInt64) { self.id = id }

    /// A new queue, findable by `StoredMessageWriter` until `unregister()`.
    static func register() -> StoredMessageQueue {
        let queue = StoredMessageQueue(id: nextID.wrappingAdd(1, ordering: .relaxed).oldValue)
        registry.withLock { $0[queue.id] = queue }
        return queue
    }

    static func find(_ id: UInt64) -> StoredMessageQueue? { registry.withLock { $0[id] } }

    /// Drops the queue from the registry (and with it any message not taken).
    func unregister() {
        _ = StoredMessageQueue.registry.withLock { $0.removeValue(forKey: id) }
        abandon()
    }

    /// What a message counts against `unsentLimit`.
    static func cost(_ message: StoredMessage) -> Int { message.flatbufferCount + message.bodyCount }

    /// Queues `message`; write its placeholder next.
    func push(_ message: StoredMessage) {
        state.withLock { state in
            guard !state.abandoned else { return }
            state.messages.append(message)
            state.unsentBytes += StoredMessageQueue.cost(message)
        }
    }

    /// The oldest message not yet taken; nil if there is none (a placeholder without its
    /// message: the stream cannot go on).
    func take() -> StoredMessage? {
        state.withLock { state in
            guard !state.abandoned, state.next < state.messages.count else { return nil }
            let message = state.messages[state.next]
            state.next += 1
            if state.next == state.messages.count {
                state.messages.removeAll(keepingCapacity: true)
                state.next = 0
            }
            return message
        }
    }

    /// A taken message of `cost` bytes is written (or failed): counts no more.
    func sent(_ cost: Int) {
        let waiter: CheckedContinuation<Bool, Never>? = state.withLock { state in
            state.unsentBytes -= cost
            guard let waiter = state.waiter, state.unsentBytes <= waiter.limit else { return nil }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume(returning: true)
    }

    /// Nothing more will be taken: the RPC was cancelled or its stream closed.
    func abandon() {
        let waiter: CheckedContinuation<Bool, Never>? = state.withLock { state in
            state.abandoned = true
            state.messages.removeAll()
            defer { state.waiter = nil }
            return state.waiter?.continuation
        }
        waiter?.resume(returning: false)
    }

    /// Returns once at most `limit` bytes pushed are unsent; throws `CANCELLED` if the RPC
    /// is cancelled or its stream closes first. A DoGet waits with `unsentLimit` before each
    /// push, and with 0 before it returns (its queue must outlive its placeholders).
    func waitUntilUnsent(atMost limit: Int) async throws {
        let open = await withRPCCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let ready: Bool? = state.withLock { state in
                    if state.abandoned { return false }
                    if state.unsentBytes <= limit { return true }
                    state.waiter = (limit, continuation)
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancelRPC: {
            self.abandon()
        }
        guard open else { throw RPCError(code: .cancelled, message: "the DoGet's stream closed") }
    }

    static let placeholderCount = 16
    private static let placeholderMagic: [UInt8] = [0x00] + Array("QVRSTRD".utf8)

    /// The gRPC message that stands for the next message of this queue.
    var placeholder: [UInt8] {
        var bytes = StoredMessageQueue.placeholderMagic
        withUnsafeBytes(of: id.littleEndian) { bytes += $0 }
        return bytes
    }

    /// The queue id of the placeholder at `index` of `buffer`, if the 16 bytes there are one.
    static func placeholderID(in buffer: ByteBuffer, at index: Int) -> UInt64? {
        guard let magic = buffer.getBytes(at: index, length: placeholderMagic.count), magic == placeholderMagic,
            let id = buffer.getInteger(at: index + placeholderMagic.count, endianness: .little, as: UInt64.self)
        else { return nil }
        return id
    }
}

/// In each HTTP/2 stream's channel, below gRPC's handler: replaces every placeholder in the
/// DATA that gRPC writes with the stored message it stands for (see the top of this file).
/// DATA without placeholders, and every other frame, passes through untouched.
final class StoredMessageWriter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    /// Whether bodies go as views of their memory map (plain text) or copied (TLS).
    let viewsMappedBodies: Bool
    /// The queues this stream took from, abandoned when the stream closes.
    private var queues: [StoredMessageQueue] = []

    init(viewsMappedBodies: Bool) {
        self.viewsMappedBodies = viewsMappedBodies
    }

    /// A gRPC message's prefix: compression flag and big-endian length.
    private static let grpcPrefixCount = 5

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .data(let frame) = unwrapOutboundIn(data), case .byteBuffer(let buffer) = frame.data,
            let placeholders = StoredMessageWriter.placeholders(in: buffer), !placeholders.isEmpty
        else {
            context.write(data, promise: promise)
            return
        }
        // Everything between placeholders goes as it is; each placeholder becomes its message,
        // whose queue hears when its last piece is written.
        var pieces: [(buffer: ByteBuffer, sent: (queue: StoredMessageQueue, cost: Int)?)] = []
        var start = buffer.readerIndex
        for (index, id) in placeholders {
            guard let queue = StoredMessageQueue.find(id), let message = queue.take() else {
                let error = RPCError(code: .internalError, message: "a stored message went missing on its way out")
                promise?.fail(error)
                context.fireErrorCaught(error)
                context.close(promise: nil)
                return
            }
            if !queues.contains(where: { $0 === queue }) { queues.append(queue) }
            if index > start { pieces.append((buffer.getSlice(at: start, length: index - start)!, nil)) }
            let parts = gRPCMessage(message, allocator: context.channel.allocator)
            for (part, buffer) in parts.enumerated() {
                pieces.append((buffer, part == parts.count - 1 ? (queue, StoredMessageQueue.cost(message)) : nil))
            }
            start = index + StoredMessageWriter.grpcPrefixCount + StoredMessageQueue.placeholderCount
        }
        if start < buffer.writerIndex { pieces.append((buffer.getSlice(at: start, length: buffer.writerIndex - start)!, nil)) }
        for (index, piece) in pieces.enumerated() {
            let last = index == pieces.count - 1
            let payload = HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(piece.buffer), endStream: last && frame.endStream))
            var written = last ? promise : nil
            if let sent = piece.sent {
                let counted = context.eventLoop.makePromise(of: Void.self)
                counted.futureResult.whenComplete { _ in sent.queue.sent(sent.cost) }
                if let written { counted.futureResult.cascade(to: written) }
                written = counted
            }
            context.write(wrapOutboundOut(payload), promise: written)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        for queue in queues { queue.abandon() }
        queues.removeAll()
    }

    /// Where the placeholders of `buffer` start (at their gRPC prefix), with their queue ids;
    /// nil unless `buffer` is whole gRPC messages (then it is passed on as it is).
    static func placeholders(in buffer: ByteBuffer) -> [(index: Int, id: UInt64)]? {
        var found: [(index: Int, id: UInt64)] = []
        var index = buffer.readerIndex
        while index < buffer.writerIndex {
            guard let flag = buffer.getInteger(at: index, as: UInt8.self),
                let length = buffer.getInteger(at: index + 1, endianness: .big, as: UInt32.self),
                Int(length) <= buffer.writerIndex - index - grpcPrefixCount
            else { return nil }
            if flag == 0, length == StoredMessageQueue.placeholderCount,
                let id = StoredMessageQueue.placeholderID(in: buffer, at: index + grpcPrefixCount)
            {
                found.append((index, id))
            }
            index += grpcPrefixCount + Int(length)
        }
        return found
    }

    /// One stored message as a gRPC message: prefix and FlightData fields, then the body,
    /// a view of the mapping or copied in (see `viewsMappedBodies`).
    func gRPCMessage(_ message: StoredMessage, allocator: ByteBufferAllocator) -> [ByteBuffer] {
        message.withUnsafeBytes { flatbuffer, body in
            let prefixes = FlightDataSerializer.fieldPrefixes(headerCount: flatbuffer.count, bodyCount: body.count)
            let flightDataCount = prefixes.header.count + flatbuffer.count + prefixes.body.count + body.count
            let viewed = viewsMappedBodies && body.count > 0
            var buffer = allocator.buffer(capacity: StoredMessageWriter.grpcPrefixCount + flightDataCount - (viewed ? body.count : 0))
            buffer.writeInteger(UInt8(0))
            buffer.writeInteger(UInt32(flightDataCount), endianness: .big)
            buffer.writeBytes(prefixes.header)
            buffer.writeBytes(flatbuffer)
            buffer.writeBytes(prefixes.body)
            guard viewed else {
                buffer.writeBytes(body)
                return [buffer]
            }
            return [buffer, MappedBodyBuffers.view(body, keepingAlive: message)]
        }
    }
}

/// `ByteBuffer`s that view a stored message's body where it lies instead of holding a copy.
/// Each keeps its message (and so the memory map) alive until NIO releases the buffer: the
/// buffer's allocator is told the body's address when NIO frees it, and drops the message
/// registered under that address. Nothing ever writes into such a buffer in place: outgoing
/// DATA is only sliced and written to the socket; if anything grew one, `reallocate` would
/// move it to the heap first.
enum MappedBodyBuffers {
    /// Messages whose bodies are viewed, by body address (two streams may send one body).
    private static let viewed = Mutex<[UInt: [StoredMessage]]>([:])

    static let allocator = ByteBufferAllocator(
        allocate: { malloc($0) },
        reallocate: { pointer, oldSize, newSize in
            guard let pointer, MappedBodyBuffers.isViewed(pointer) else { return realloc(pointer, newSize) }
            // A viewed body about to grow: move it to the heap, then let the mapping go.
            let moved = malloc(newSize)
            if let moved { moved.copyMemory(from: pointer, byteCount: min(oldSize, newSize)) }
            MappedBodyBuffers.release(pointer)
            return moved
        },
        deallocate: { pointer in
            if !MappedBodyBuffers.release(pointer) { free(pointer) }
        },
        copy: { destination, source, count in destination.copyMemory(from: source, byteCount: count) })

    /// A buffer over `body` (which `message` owns), readable in full. O(1), no copy.
    static func view(_ body: UnsafeRawBufferPointer, keepingAlive message: StoredMessage) -> ByteBuffer {
        let address = UInt(bitPattern: body.baseAddress)
        viewed.withLock { $0[address, default: []].append(message) }
        return ByteBuffer(takingOwnershipOf: UnsafeMutableRawBufferPointer(mutating: body), allocator: allocator)
    }

    /// Bodies viewed by buffers NIO has not released yet.
    static var viewedCount: Int { viewed.withLock { $0.values.reduce(0) { $0 + $1.count } } }

    private static func isViewed(_ pointer: UnsafeMutableRawPointer) -> Bool {
        viewed.withLock { $0[UInt(bitPattern: pointer)] != nil }
    }

    /// Drops one message registered under `pointer`; false if there is none (a heap block).
    @discardableResult
    private static func release(_ pointer: UnsafeMutableRawPointer) -> Bool {
        let released: StoredMessage? = viewed.withLock { viewed in
            let address = UInt(bitPattern: pointer)
            guard var messages = viewed[address], let message = messages.popLast() else { return nil }
            viewed[address] = messages.isEmpty ? nil : messages
            return message
        }
        // The message (and maybe the mapping) is released here, outside the lock.
        return released != nil
    }
}
