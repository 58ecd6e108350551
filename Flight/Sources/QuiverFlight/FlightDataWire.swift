import GRPCCore
import QuiverBytes
import QuiverIPC

// `FlightData` on the wire, written and read by hand rather than through SwiftProtobuf's
// generated message: the generated type holds `data_body` as a `Data`, which would cost a
// copy of every body on each side. Here a stored body goes from the memory map straight into
// gRPC's frame buffer, and an incoming body straight into an aligned pool buffer.
//
// Layout (protobuf wire format, Flight.proto's field numbers):
//   field 1 flight_descriptor  tag 0x0A, varint length, FlightDescriptor message
//   field 2 data_header        tag 0x12, varint length, flatbuffer Message
//   field 3 app_metadata       tag 0x1A, varint length, bytes
//   field 1000 data_body       tag 0xC2 0x3E (varint of 1000 << 3 | 2), varint length, body

/// One outgoing `FlightData`: an IPC message's flatbuffer and body.
enum OutgoingFlightData: Sendable {
    /// A message as it lies in a store file: sent from the mapping.
    case stored(StoredMessage)
    /// A message encoded for this response (schemas, query results, re-encoded batches).
    case encoded(flatbuffer: [UInt8], body: [UInt8])
    /// Stands for the next message of a `StoredMessageQueue`, which the stream's
    /// `StoredMessageWriter` writes in its place (see StoredMessageHandoff.swift).
    case placeholder(StoredMessageQueue)
}

/// Writes `OutgoingFlightData` in the protobuf wire format, bodies copied once from where
/// they lie into gRPC's buffer.
struct FlightDataSerializer: MessageSerializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: OutgoingFlightData) throws -> Bytes {
        switch message {
        case .stored(let stored):
            return stored.withUnsafeBytes { flatbuffer, body in FlightDataSerializer.frame(flatbuffer, body) }
        case .encoded(let flatbuffer, let body):
            return flatbuffer.withUnsafeBytes { flatbuffer in
                body.withUnsafeBytes { body in FlightDataSerializer.frame(flatbuffer, body) }
            }
        case .placeholder(let queue):
            return Bytes(queue.placeholder)
        }
    }

    /// The field tags and lengths that go before the header and before the body.
    static func fieldPrefixes(headerCount: Int, bodyCount: Int) -> (header: [UInt8], body: [UInt8]) {
        var header: [UInt8] = []
        if headerCount > 0 {
            header.append(0x12)
            Varint.append(UInt64(headerCount), to: &header)
        }
        var body: [UInt8] = []
        if bodyCount > 0 {
            body += [0xC2, 0x3E]
            Varint.append(UInt64(bodyCount), to: &body)
        }
        return (header, body)
    }

    /// The wire form of one FlightData: field tags and lengths around the two parts.
    /// Built through `Bytes(sequence)` rather than `Bytes(repeating:count:)` plus a write:
    /// the transport's buffer then takes the bytes in one `memcpy` per part (through
    /// `FramedParts._copyContents`) instead of being zero-filled first.
    static func frame<Bytes: GRPCContiguousBytes>(_ header: UnsafeRawBufferPointer, _ body: UnsafeRawBufferPointer) -> Bytes {
        let prefixes = fieldPrefixes(headerCount: header.count, bodyCount: body.count)
        return prefixes.header.withUnsafeBytes { headerPrefix in
            prefixes.body.withUnsafeBytes { bodyPrefix in
                Bytes(FramedParts(parts: [headerPrefix, header, bodyPrefix, body]))
            }
        }
    }
}

/// Byte ranges read as one sequence, copied out a range at a time. Valid only while the
/// ranges are (inside the closures that lend them).
struct FramedParts: Sequence {
    let parts: [UnsafeRawBufferPointer]

    var underestimatedCount: Int { parts.reduce(0) { $0 + $1.count } }

    struct Iterator: IteratorProtocol {
        let parts: [UnsafeRawBufferPointer]
        var part = 0
        var offset = 0

        mutating func next() -> UInt8? {
            while part < parts.count {
                if offset < parts[part].count {
                    defer { offset += 1 }
                    return parts[part][offset]
                }
                part += 1
                offset = 0
            }
            return nil
        }
    }

    func makeIterator() -> Iterator { Iterator(parts: parts) }

    func _copyContents(initializing buffer: UnsafeMutableBufferPointer<UInt8>) -> (Iterator, Int) {
        var iterator = makeIterator()
        var written = 0
        while iterator.part < parts.count, written < buffer.count {
            let part = parts[iterator.part]
            let take = Swift.min(part.count - iterator.offset, buffer.count - written)
            if take > 0 {
                UnsafeMutableRawPointer(buffer.baseAddress! + written)
                    .copyMemory(from: part.baseAddress! + iterator.offset, byteCount: take)
            }
            written += take
            iterator.offset += take
            if iterator.offset == part.count {
                iterator.part += 1
                iterator.offset = 0
            }
        }
        return (iterator, written)
    }
}

/// One incoming `FlightData`, its parts copied once out of gRPC's buffer (the body into a
/// 64-byte-aligned pool buffer, so decoded arrays view it in place).
struct IncomingFlightData: Sendable {
    var descriptor: Arrow_Flight_Protocol_FlightDescriptor?
    var header: Buffer = .empty
    var body: Buffer = .empty
    var appMetadata: [UInt8] = []
}

/// Reads `IncomingFlightData`. Any malformed field (truncated varint, length past the end,
/// unknown wire type) is `INVALID_ARGUMENT`; unknown fields are skipped as protobuf requires.
struct FlightDataDeserializer: MessageDeserializer {
    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> IncomingFlightData {
        try serializedMessageBytes.withUnsafeBytes { try FlightDataDeserializer.parse($0) }
    }

    static func parse(_ bytes: UnsafeRawBufferPointer) throws -> IncomingFlightData {
        var message = IncomingFlightData()
        var position = 0
        while position < bytes.count {
            let key = try Varint.read(bytes, at: &position)
            let field = key >> 3
            switch key & 7 {
            case 0: _ = try Varint.read(bytes, at: &position)
            case 1: try skip(8, bytes, &position)
            case 5: try skip(4, bytes, &position)
            case 2:
                let length = try Varint.read(bytes, at: &position)
                guard length <= UInt64(bytes.count - position) else {
                    throw RPCError(code: .invalidArgument, message: "FlightData field \(field) runs past the message")
                }
                let part = UnsafeRawBufferPointer(rebasing: bytes[position..<(position + Int(length))])
                position += Int(length)
                switch field {
                case 1:
                    do {
                        message.descriptor = try Arrow_Flight_Protocol_FlightDescriptor(serializedBytes: Array(part))
                    } catch {
                        throw RPCError(code: .invalidArgument, message: "FlightData has a malformed flight_descriptor")
                    }
                case 2: message.header = Buffer(copying: part)
                case 3: message.appMetadata = Array(part)
                case 1000: message.body = Buffer(copying: part)
                default: break
                }
            default:
                throw RPCError(code: .invalidArgument, message: "FlightData has a field of unknown wire type \(key & 7)")
            }
        }
        return message
    }

    private static func skip(_ count: Int, _ bytes: UnsafeRawBufferPointer, _ position: inout Int) throws {
        guard count <= bytes.count - position else {
            throw RPCError(code: .invalidArgument, message: "FlightData ends inside a field")
        }
        position += count
    }
}

/// Protobuf base-128 varints.
enum Varint {
    static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    /// At most ten bytes; a longer or truncated varint is `INVALID_ARGUMENT`.
    static func read(_ bytes: UnsafeRawBufferPointer, at position: inout Int) throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while position < bytes.count, shift < 64 {
            let byte = bytes[position]
            position += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
        throw RPCError(code: .invalidArgument, message: "FlightData has a truncated or overlong varint")
    }
}
