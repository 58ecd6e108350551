import Foundation
import GRPCCore
import QuiverArrow
import QuiverBytes
import QuiverIPC

/// Collects what a `StreamWriter` writes, so that it can be cut into messages.
final class CapturedOutput: ByteOutput {
    var bytes: [UInt8] = []
    var position: Int { bytes.count }
    func write(_ bytes: UnsafeRawBufferPointer) throws { self.bytes.append(contentsOf: bytes) }
    func flush() throws {}
}

/// Encodes record batches into `FlightData` messages through Quiver's own `StreamWriter`
/// (dictionary ids, deltas and replacements as in a file stream), cutting its output into
/// one `(flatbuffer, body)` pair per IPC message.
final class FlightBatchEncoder {
    private let output = CapturedOutput()
    private let writer: StreamWriter
    /// The schema message (already encoded on creation).
    private(set) var schemaMessage: OutgoingFlightData

    /// Cost: the schema message is encoded at once.
    init(schema: Schema, options: IPCWriteOptions = .init()) throws {
        writer = try StreamWriter(output: output, schema: schema, options: options)
        let messages = try FlightBatchEncoder.split(output.bytes)
        output.bytes.removeAll(keepingCapacity: true)
        guard messages.count == 1 else { throw QuiverError(.invalidMessage, "a schema encoded into \(messages.count) messages") }
        schemaMessage = messages[0]
    }

    /// The batch and any dictionary messages it needs first. Cost: one encode and one copy
    /// of the batch's buffers.
    func encode(_ batch: RecordBatch) throws -> [OutgoingFlightData] {
        try writer.write(batch)
        defer { output.bytes.removeAll(keepingCapacity: true) }
        return try FlightBatchEncoder.split(output.bytes)
    }

    /// Cuts an IPC stream into messages: continuation marker, flatbuffer length, flatbuffer
    /// (padded), body of the length the flatbuffer declares. Stops at end of stream.
    static func split(_ stream: [UInt8]) throws -> [OutgoingFlightData] {
        var messages: [OutgoingFlightData] = []
        var position = 0
        while position + 8 <= stream.count {
            let marker = stream.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: position, as: Int32.self) }
            guard marker == -1 else { throw QuiverError(.invalidMessage, "no continuation marker at \(position)") }
            let length = Int(stream.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: position + 4, as: Int32.self) })
            if length == 0 { break }
            guard length > 0, position + 8 + length <= stream.count else {
                throw QuiverError(.invalidMessage, "message length \(length) at \(position) runs past the stream")
            }
            let flatbuffer = Array(stream[(position + 8)..<(position + 8 + length)])
            let metadata = try ArrowMetadata.decodeMessage(Buffer(copying: flatbuffer))
            let bodyStart = position + 8 + length
            let bodyLength = try checkedCount(metadata.bodyLength, limit: stream.count - bodyStart, "body length")
            messages.append(.encoded(flatbuffer: flatbuffer, body: Array(stream[bodyStart..<(bodyStart + bodyLength)])))
            position = bodyStart + bodyLength
        }
        return messages
    }

    /// An encapsulated IPC Schema message (continuation marker, length, flatbuffer, padding)
    /// — what `FlightInfo.schema`, `SchemaResult.schema` and Flight SQL's `table_schema`
    /// and `dataset_schema` carry.
    static func encapsulatedSchema(_ schema: Schema) throws -> [UInt8] {
        let output = CapturedOutput()
        _ = try StreamWriter(output: output, schema: schema)
        return output.bytes
    }

    /// Reads a schema a client sent as an encapsulated IPC Schema message (pyarrow's
    /// `Schema.serialize()`). Malformed bytes are `INVALID_ARGUMENT`.
    static func decodeSchema(_ bytes: [UInt8]) throws -> Schema {
        try StreamReader(bytes: bytes + [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]).schema
    }
}

/// The input of the `StreamReader` that decodes a `DoPut` stream: `FlightData` messages,
/// re-framed as the IPC stream they stand for, handed from the gRPC task to the decoding
/// thread. The reader thread blocks in `read(upTo:)` until a message arrives; the gRPC task
/// waits (without blocking a thread) while `capacity` messages are queued, which is the
/// backpressure a fast client gets from a slow disk.
final class FlightDataInput: SequentialInput, @unchecked Sendable {
    private let condition = NSCondition()
    private var chunks: [Buffer] = []
    private var current: Buffer = .empty
    private var currentOffset = 0
    private var finished = false
    private var failure: (any Error)?
    private var waitingProducer: CheckedContinuation<Void, Never>?
    private let capacity: Int
    private let pool: MemoryPool

    init(capacity: Int = 4, pool: MemoryPool) {
        self.capacity = capacity
        self.pool = pool
    }

    /// Queues one message, framed: continuation marker, padded flatbuffer length,
    /// flatbuffer, padding, body (zero-padded to the length the flatbuffer declares). A
    /// body longer than declared is `INVALID_ARGUMENT`. Waits while the queue is full.
    func push(_ data: IncomingFlightData) async throws {
        let header = data.header
        guard header.count > 0 else { return }  // metadata-only FlightData (app_metadata) carries no IPC message
        let metadata: MessageMetadata
        do {
            metadata = try ArrowMetadata.decodeMessage(header)
        } catch let error as QuiverError {
            throw RPCError(code: .invalidArgument, message: "DoPut: malformed data_header: \(error)")
        }
        let declared = try checkedCount(metadata.bodyLength, "body length")
        guard data.body.count <= declared else {
            throw RPCError(
                code: .invalidArgument, message: "DoPut: data_body has \(data.body.count) bytes, its header declares \(declared)")
        }
        let padded = alignUp(header.count, to: 8)
        let prefix = pool.allocateZeroed(byteCount: 8 + padded)
        prefix.withUnsafeMutableBytes { out in
            out.storeBytes(of: Int32(-1).littleEndian, as: Int32.self)
            out.storeBytes(of: Int32(padded).littleEndian, toByteOffset: 4, as: Int32.self)
            header.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: out[8...]).copyMemory(from: $0) }
        }
        var parts = [prefix.buffer(count: 8 + padded)]
        if declared > 0 {
            if data.body.count == declared {
                parts.append(data.body)
            } else {
                let body = pool.allocateZeroed(byteCount: declared)
                data.body.withUnsafeBytes { source in body.withUnsafeMutableBytes { $0.copyMemory(from: source) } }
                parts.append(body.buffer(count: declared))
            }
        }
        while true {
            let full: Bool = condition.withLock {
                chunks.count >= capacity && failure == nil
            }
            if !full { break }
            await withCheckedContinuation { continuation in
                let resume: Bool = condition.withLock {
                    if chunks.count >= capacity && failure == nil {
                        waitingProducer = continuation
                        return false
                    }
                    return true
                }
                if resume { continuation.resume() }
            }
        }
        try condition.withLock {
            if let failure { throw failure }
            chunks.append(contentsOf: parts)
            condition.broadcast()
        }
    }

    /// No more messages: the reader sees the end of the stream.
    func finish() {
        condition.withLock {
            finished = true
            condition.broadcast()
        }
    }

    /// Stops the reader (its next read throws `error`) and releases a waiting producer.
    func fail(_ error: any Error) {
        let producer: CheckedContinuation<Void, Never>? = condition.withLock {
            if failure == nil { failure = error }
            condition.broadcast()
            defer { waitingProducer = nil }
            return waitingProducer
        }
        producer?.resume()
    }

    func read(upTo count: Int) throws -> Buffer {
        guard count > 0 else { return .empty }
        var gathered: [Buffer] = []
        var remaining = count
        while remaining > 0 {
            let piece: Buffer? = try condition.withLock {
                while currentOffset == current.count {
                    if let failure { throw failure }
                    if !chunks.isEmpty {
                        current = chunks.removeFirst()
                        currentOffset = 0
                        if let producer = waitingProducer, chunks.count < capacity {
                            waitingProducer = nil
                            producer.resume()
                        }
                        continue
                    }
                    if finished { return nil }
                    condition.wait()
                }
                let take = min(remaining, current.count - currentOffset)
                defer { currentOffset += take }
                return current.uncheckedSlice(offset: currentOffset, count: take)
            }
            guard let piece else { break }
            gathered.append(piece)
            remaining -= piece.count
        }
        if gathered.count == 1 { return gathered[0] }
        if gathered.isEmpty { return .empty }
        let joined = pool.allocate(byteCount: count - remaining)
        var offset = 0
        for piece in gathered {
            piece.withUnsafeBytes { source in
                joined.withUnsafeMutableBytes { UnsafeMutableRawBufferPointer(rebasing: $0[offset...]).copyMemory(from: source) }
            }
            offset += piece.count
        }
        return joined.buffer(count: offset)
    }
}

