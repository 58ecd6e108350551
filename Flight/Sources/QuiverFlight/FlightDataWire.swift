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
        }
    }

    static func frame<Bytes: GRPCContiguousBytes>(_ header: UnsafeRawBufferPointer, _ body: UnsafeRawBufferPointer) -> Bytes {
        let headerField = header.count > 0 ? 1 + Varint.size(of: UInt64(header.count)) + header.count : 0
        let bodyField = body.count > 0 ? 2 + Varint.size(of: UInt64(body.count)) + body.count : 0
        var bytes = Bytes(repeating: 0, count: headerField + bodyField)
        bytes.withUnsafeMutableBytes { out in
            var position = 0
            if header.count > 0 {
                out[position] = 0x12
                position += 1
                position = Varint.write(UInt64(header.count), into: out, at: position)
                out.baseAddress!.advanced(by: position).copyMemory(from: header.baseAddress!, byteCount: header.count)
                position += header.count
            }
            if body.count > 0 {
                out[position] = 0xC2
                out[position + 1] = 0x3E
                position += 2
                position = Varint.write(UInt64(body.count), into: out, at: position)
                out.baseAddress!.advanced(by: position).copyMemory(from: body.baseAddress!, byteCount: body.count)
            }
        }
        return bytes
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
    static func size(of value: UInt64) -> Int {
        var value = value
        var size = 1
        while value >= 0x80 {
            value >>= 7
            size += 1
        }
        return size
    }

    static func write(_ value: UInt64, into out: UnsafeMutableRawBufferPointer, at position: Int) -> Int {
        var value = value
        var position = position
        while value >= 0x80 {
            out[position] = UInt8(truncatingIfNeeded: value) | 0x80
            value >>= 7
            position += 1
        }
        out[position] = UInt8(value)
        return position + 1
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
