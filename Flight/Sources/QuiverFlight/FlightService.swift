import Foundation
import GRPCCore
import GRPCProtobuf
import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverQuery
import QuiverStore
import SwiftProtobuf
import Synchronization

/// Arrow Flight and Flight SQL over a Quiver store, as a gRPC service to register with a
/// `GRPCServer` (`FlightServer` does that for a TCP address).
///
/// - Tables are flights: `ListFlights`, and `GetFlightInfo`/`GetSchema` with a path
///   descriptor (`[table]`), answer from the footers alone. A table's endpoints are ranges of
///   at most `batchesPerEndpoint` batches of one file; each ticket names its file and batch
///   range, so it reads the same rows however much the table grows meanwhile.
/// - `DoGet` of a table ticket sends each stored message as it lies in the memory map
///   (compressed bodies stay compressed); only files written before a column was added are
///   re-encoded, padded to the table's schema.
/// - `DoPut` with a path descriptor appends the stream to the table (created from the
///   stream's schema if missing) through the table's single writer: one commit and one
///   `PutResult` (`{"rows":…,"batches":…}` as JSON app metadata) per batch.
/// - `DoAction`: `create-table`, `compact`, `check`, and Flight SQL's prepared statements.
/// - Flight SQL: statements (run by Quiver's SQL engine, streamed) and the catalog
///   commands; a command descriptor holding plain UTF-8 text is run as SQL too.
public final class FlightService: RegistrableRPCService, Sendable {
    /// The store served.
    public let store: Store
    /// The service's options.
    public let options: FlightOptions
    private let writers = Mutex<[String: TableWriter]>([:])
    let streams: StreamLimiter
    /// Whether each stream's channel has a `StoredMessageWriter`, so that `DoGet` may send
    /// stored messages as placeholders (see StoredMessageHandoff.swift).
    let streamsWriteStoredMessages: Bool

    /// Serves `store`.
    public convenience init(store: Store, options: FlightOptions = .init()) {
        self.init(store: store, options: options, streamsWriteStoredMessages: false)
    }

    init(store: Store, options: FlightOptions, streamsWriteStoredMessages: Bool) {
        self.store = store
        self.options = options
        self.streamsWriteStoredMessages = streamsWriteStoredMessages
        streams = StreamLimiter(limit: options.maxConcurrentStreams)
    }

    /// Closes the table writers the service opened.
    public func close() throws {
        let open = writers.withLock { writers in
            defer { writers.removeAll() }
            return Array(writers.values)
        }
        for writer in open { try writer.close() }
    }

    /// Registers the Flight methods with a gRPC router (`GRPCServer` calls this).
    public func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        let handlers = Handlers(service: self)
        handlers.registerMethods(with: &router)
        // DoGet and DoPut carry Arrow data: their FlightData goes through the hand-written
        // wire format (FlightDataWire.swift), bodies copied once, never through `Data`.
        router.registerHandler(
            forMethod: Arrow_Flight_Protocol_FlightService.Method.DoGet.descriptor,
            deserializer: ProtobufDeserializer<Arrow_Flight_Protocol_Ticket>(),
            serializer: FlightDataSerializer(),
            handler: { request, context in
                let ticket = try await FlightService.single(request.messages)
                return StreamingServerResponse { writer in
                    try await self.streams.withSlot {
                        try await FlightService.mappingErrors { try await self.doGet(ticket, writer) }
                    }
                    return [:]
                }
            })
        router.registerHandler(
            forMethod: Arrow_Flight_Protocol_FlightService.Method.DoPut.descriptor,
            deserializer: FlightDataDeserializer(),
            serializer: ProtobufSerializer<Arrow_Flight_Protocol_PutResult>(),
            handler: { request, context in
                StreamingServerResponse { writer in
                    try await self.streams.withSlot {
                        try await FlightService.mappingErrors { try await self.doPut(request.messages, writer) }
                    }
                    return [:]
                }
            })
        router.registerHandler(
            forMethod: Arrow_Flight_Protocol_FlightService.Method.Handshake.descriptor,
            deserializer: ProtobufDeserializer<Arrow_Flight_Protocol_HandshakeRequest>(),
            serializer: ProtobufSerializer<Arrow_Flight_Protocol_HandshakeResponse>(),
            handler: { request, context in
                // The interceptor has checked the credentials; hand out the bearer header.
                var metadata: GRPCCore.Metadata = [:]
                if let token = self.options.bearerToken { metadata.addString("Bearer \(token)", forKey: "authorization") }
                return StreamingServerResponse(metadata: metadata) { writer in
                    for try await message in request.messages {
                        var answer = Arrow_Flight_Protocol_HandshakeResponse()
                        answer.protocolVersion = message.protocolVersion
                        answer.payload = message.payload
                        try await writer.write(answer)
                    }
                    return [:]
                }
            })
    }

    /// The one message of a unary-style request stream.
    static func single<Message: Sendable>(_ messages: RPCAsyncSequence<Message, any Error>) async throws -> Message {
        var iterator = messages.makeAsyncIterator()
        guard let message = try await iterator.next() else {
            throw RPCError(code: .invalidArgument, message: "the request has no message")
        }
        return message
    }

    /// Runs `body`, turning Quiver's errors into gRPC statuses.
    static func mappingErrors<R>(_ body: () async throws -> R) async throws -> R {
        do {
            return try await body()
        } catch let error as QuiverError {
            throw rpcError(error)
        } catch let error as DecodingError {
            throw RPCError(code: .invalidArgument, message: "malformed request: \(error)")
        } catch let error as SwiftProtobuf.BinaryDecodingError {
            throw RPCError(code: .invalidArgument, message: "malformed protobuf in the request: \(error)")
        }
    }

    static func rpcError(_ error: QuiverError) -> RPCError {
        let code: RPCError.Code
        switch error.code {
        case .notFound: code = .notFound
        case .conflict: code = .alreadyExists
        case .capacityExceeded: code = .resourceExhausted
        case .unsupported: code = .unimplemented
        case .io: code = .internalError
        default: code = .invalidArgument
        }
        return RPCError(code: code, message: error.description)
    }

    // MARK: Tables as flights

    /// A table endpoint's ticket: one file of the table and a range of its batches.
    struct TableTicket: Codable {
        var table: String
        var file: String
        var first: Int
        var end: Int
    }

    static let maxTicketBytes = 64 << 10

    func flightInfo(table name: String) throws -> Arrow_Flight_Protocol_FlightInfo {
        let snapshot = try store.snapshot(of: name)
        var info = Arrow_Flight_Protocol_FlightInfo()
        info.schema = Data(try FlightBatchEncoder.encapsulatedSchema(snapshot.schema))
        info.flightDescriptor.type = .path
        info.flightDescriptor.path = [name]
        info.totalRecords = Int64(snapshot.numRows)
        info.ordered = true
        var bytes: Int64 = 0
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        for file in snapshot.files {
            for block in file.footer.recordBatches { bytes += Int64(block.metadataLength) + block.bodyLength }
            let fileName = (file.path as NSString).lastPathComponent
            for first in stride(from: 0, to: file.numRecordBatches, by: options.batchesPerEndpoint) {
                let end = min(first + options.batchesPerEndpoint, file.numRecordBatches)
                var endpoint = Arrow_Flight_Protocol_FlightEndpoint()
                endpoint.ticket.ticket = try encoder.encode(TableTicket(table: name, file: fileName, first: first, end: end))
                info.endpoint.append(endpoint)
            }
        }
        info.totalBytes = bytes
        return info
    }

    func schemaResult(_ descriptor: Arrow_Flight_Protocol_FlightDescriptor) throws -> Arrow_Flight_Protocol_SchemaResult {
        var result = Arrow_Flight_Protocol_SchemaResult()
        switch descriptor.type {
        case .path:
            result.schema = Data(try FlightBatchEncoder.encapsulatedSchema(try store.table(try tableName(descriptor)).schema))
        case .cmd:
            result.schema = Data(try FlightBatchEncoder.encapsulatedSchema(try FlightSQL(service: self).schema(of: descriptor.cmd)))
        default:
            throw RPCError(code: .invalidArgument, message: "a descriptor of unknown type")
        }
        return result
    }

    func tableName(_ descriptor: Arrow_Flight_Protocol_FlightDescriptor) throws -> String {
        guard descriptor.path.count == 1, !descriptor.path[0].isEmpty else {
            throw RPCError(
                code: .invalidArgument, message: "a path descriptor names one table, not \(descriptor.path)")
        }
        return descriptor.path[0]
    }

    // MARK: DoGet

    func doGet(_ ticket: Arrow_Flight_Protocol_Ticket, _ writer: RPCWriter<OutgoingFlightData>) async throws {
        let bytes = ticket.ticket
        guard !bytes.isEmpty, bytes.count <= FlightService.maxTicketBytes else {
            throw RPCError(code: .invalidArgument, message: "a ticket of \(bytes.count) bytes")
        }
        if bytes.first == UInt8(ascii: "{") {
            let parsed: TableTicket
            do {
                parsed = try JSONDecoder().decode(TableTicket.self, from: bytes)
            } catch {
                throw RPCError(code: .invalidArgument, message: "malformed table ticket")
            }
            try await streamTable(parsed, writer)
        } else {
            try await FlightSQL(service: self).doGet(bytes, writer)
        }
    }

    private func streamTable(_ ticket: TableTicket, _ writer: RPCWriter<OutgoingFlightData>) async throws {
        let snapshot = try store.snapshot(of: ticket.table)
        var start = 0
        var found: FileSnapshot?
        for file in snapshot.files {
            if (file.path as NSString).lastPathComponent == ticket.file {
                found = file
                break
            }
            start += file.numRecordBatches
        }
        guard let file = found else {
            throw RPCError(
                code: .notFound, message: "table \(ticket.table) has no file \(ticket.file) (compacted since?): ask for flight info again")
        }
        guard ticket.first >= 0, ticket.first <= ticket.end, ticket.end <= file.numRecordBatches else {
            throw RPCError(
                code: .invalidArgument,
                message: "batches \(ticket.first)..<\(ticket.end) of a file with \(file.numRecordBatches)")
        }
        if file.schema == snapshot.schema {
            // As stored: the schema, the file's dictionaries, then the batches' messages.
            let reader = try file.reader()
            let schema = ArrowMetadata.encodeMessage(MessageMetadata(header: .schema(file.schema), bodyLength: 0))
            try await writer.write(.encoded(flatbuffer: schema, body: []))
            let queue = streamsWriteStoredMessages ? StoredMessageQueue.register() : nil
            defer { queue?.unregister() }
            func send(_ message: StoredMessage) async throws {
                // gRPC's length prefix is 32 bits.
                guard message.flatbufferCount + message.bodyCount + 32 <= Int(UInt32.max) else {
                    throw RPCError(code: .resourceExhausted, message: "a stored message too large for one gRPC message")
                }
                guard let queue else { return try await writer.write(.stored(message)) }
                try await queue.waitUntilUnsent(atMost: StoredMessageQueue.unsentLimit)
                queue.push(message)
                try await writer.write(.placeholder(queue))
            }
            for index in 0..<reader.numDictionaries {
                try await send(try reader.storedDictionaryMessage(at: index))
            }
            for index in ticket.first..<ticket.end {
                try Task.checkCancellation()
                try file.verifyChecksum(ofBatch: index)
                try await send(try reader.storedRecordBatchMessage(at: index))
            }
            try await queue?.waitUntilUnsent(atMost: 0)
        } else {
            // Written before a column was added: padded with nulls to the table's schema.
            let encoder = try FlightBatchEncoder(schema: snapshot.schema)
            try await writer.write(encoder.schemaMessage)
            for index in ticket.first..<ticket.end {
                try Task.checkCancellation()
                for message in try encoder.encode(try snapshot.recordBatch(at: start + index)) {
                    try await writer.write(message)
                }
            }
        }
    }

    /// Streams `batches` (a query's result) with `schema`, holding the request to the memory
    /// limit through `pool`.
    func stream<Batches: AsyncSequence>(
        _ batches: Batches, schema: Schema, pool: MemoryPool, _ writer: RPCWriter<OutgoingFlightData>
    ) async throws where Batches.Element == RecordBatch {
        let encoder = try FlightBatchEncoder(schema: schema)
        try await writer.write(encoder.schemaMessage)
        for try await batch in batches {
            try Task.checkCancellation()
            try checkMemory(pool)
            for message in try encoder.encode(batch) { try await writer.write(message) }
        }
    }

    func checkMemory(_ pool: MemoryPool) throws {
        guard pool.peakAllocatedBytes <= options.requestMemoryLimit else {
            throw RPCError(
                code: .resourceExhausted,
                message: "the request held \(pool.peakAllocatedBytes) bytes, over the limit of \(options.requestMemoryLimit)")
        }
    }

    // MARK: DoPut

    func doPut(
        _ messages: RPCAsyncSequence<IncomingFlightData, any Error>, _ response: RPCWriter<Arrow_Flight_Protocol_PutResult>
    ) async throws {
        var iterator = messages.makeAsyncIterator()
        guard let first = try await iterator.next() else {
            throw RPCError(code: .invalidArgument, message: "DoPut: an empty stream")
        }
        guard let descriptor = first.descriptor, descriptor.type == .path else {
            throw RPCError(code: .invalidArgument, message: "DoPut: the first message needs a path descriptor naming the table")
        }
        let table = try tableName(descriptor)
        let pool = MemoryPool()
        let input = FlightDataInput(pool: pool)
        let (events, continuation) = AsyncThrowingStream<(rows: Int, batches: Int), any Error>.makeStream()
        // Decoding and appending are blocking work (validation, write, fsync): a thread of
        // their own, never a cooperative-pool thread.
        let thread = Thread { [self] in
            do {
                var readOptions = options.readOptions
                readOptions.pool = pool
                let reader = try StreamReader(input: input, options: readOptions)
                let writer = try self.writer(for: table, schema: reader.schema)
                var rows = 0, batches = 0
                while let batch = try reader.readNext() {
                    try writer.append(batch)
                    rows += batch.length
                    batches += 1
                    continuation.yield((rows, batches))
                }
                continuation.finish()
            } catch {
                input.fail(error)
                continuation.finish(throwing: error)
            }
        }
        thread.start()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for try await (rows, batches) in events {
                    var result = Arrow_Flight_Protocol_PutResult()
                    result.appMetadata = Data("{\"rows\":\(rows),\"batches\":\(batches)}".utf8)
                    try await response.write(result)
                }
            }
            do {
                try await input.push(first)
                while let message = try await iterator.next() { try await input.push(message) }
                input.finish()
            } catch {
                input.fail(error)  // the client went away or sent garbage: stop the reader
                throw error
            }
            try await group.waitForAll()
        }
    }

    /// The table's one writer, opened once and shared by every DoPut; the table is created
    /// from `schema` if missing.
    func writer(for table: String, schema: Schema) throws -> TableWriter {
        try writers.withLock { writers in
            if let writer = writers[table], writer.isOpen { return writer }
            if try !store.hasTable(table) { try store.createTable(table, schema: schema) }
            let writer = try store.writer(for: table)
            writers[table] = writer
            return writer
        }
    }

    /// Runs `body` with the table's shared writer (compaction goes through it too).
    func withWriter<R>(for table: String, _ body: (TableWriter) throws -> R) throws -> R {
        let writer = try writers.withLock { writers in
            if let writer = writers[table], writer.isOpen { return writer }
            let writer = try store.writer(for: table)
            writers[table] = writer
            return writer
        }
        return try body(writer)
    }
}

/// Caps the streams served at once; over the cap a call fails at once with
/// `RESOURCE_EXHAUSTED` (a client retries; a queue would hide overload).
final class StreamLimiter: Sendable {
    private let active = Atomic<Int>(0)
    let limit: Int

    init(limit: Int) { self.limit = limit }

    func withSlot<R>(_ body: () async throws -> R) async throws -> R {
        let now = active.wrappingAdd(1, ordering: .relaxed).newValue
        defer { active.wrappingSubtract(1, ordering: .relaxed) }
        guard now <= limit else {
            throw RPCError(code: .resourceExhausted, message: "\(limit) streams are being served: try again later")
        }
        return try await body()
    }
}
