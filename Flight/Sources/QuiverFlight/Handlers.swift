import Foundation
import GRPCCore
import GRPCProtobuf
import QuiverStore
import SwiftProtobuf

/// The Flight methods whose messages are plain protobuf. PollFlightInfo and DoExchange are
/// not registered: gRPC answers them with UNIMPLEMENTED.
struct Handlers: Sendable {
    let service: FlightService
    typealias Method = Arrow_Flight_Protocol_FlightService.Method

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        let service = self.service
        register(&router, Method.ListFlights.descriptor) { (_: Arrow_Flight_Protocol_Criteria, write) in
            for name in try service.store.tableNames().sorted() {
                try await write(try service.flightInfo(table: name))
            }
        }
        register(&router, Method.GetFlightInfo.descriptor) {
            (descriptor: Arrow_Flight_Protocol_FlightDescriptor, write: (Arrow_Flight_Protocol_FlightInfo) async throws -> Void) in
            switch descriptor.type {
            case .path: try await write(try service.flightInfo(table: try service.tableName(descriptor)))
            case .cmd: try await write(try FlightSQL(service: service).flightInfo(descriptor))
            default: throw RPCError(code: .invalidArgument, message: "a descriptor of unknown type")
            }
        }
        register(&router, Method.GetSchema.descriptor) {
            (descriptor: Arrow_Flight_Protocol_FlightDescriptor, write: (Arrow_Flight_Protocol_SchemaResult) async throws -> Void) in
            try await write(try service.schemaResult(descriptor))
        }
        register(&router, Method.DoAction.descriptor) {
            (action: Arrow_Flight_Protocol_Action, write: (Arrow_Flight_Protocol_Result) async throws -> Void) in
            for body in try Actions(service: service).run(action) {
                var result = Arrow_Flight_Protocol_Result()
                result.body = body
                try await write(result)
            }
        }
        register(&router, Method.ListActions.descriptor) {
            (_: Arrow_Flight_Protocol_Empty, write: (Arrow_Flight_Protocol_ActionType) async throws -> Void) in
            for (type, description) in Actions.list {
                var action = Arrow_Flight_Protocol_ActionType()
                action.type = type
                action.description_p = description
                try await write(action)
            }
        }
    }

    /// Registers a method taking one request message and answering with a stream of
    /// messages (a unary answer is a stream of one on the wire).
    private func register<Input: SwiftProtobuf.Message & Sendable, Output: SwiftProtobuf.Message & Sendable, Transport>(
        _ router: inout RPCRouter<Transport>, _ descriptor: MethodDescriptor,
        _ body: @escaping @Sendable (Input, (Output) async throws -> Void) async throws -> Void
    ) {
        router.registerHandler(
            forMethod: descriptor, deserializer: ProtobufDeserializer<Input>(), serializer: ProtobufSerializer<Output>(),
            handler: { request, context in
                let message = try await FlightService.single(request.messages)
                return StreamingServerResponse { writer in
                    try await FlightService.mappingErrors { try await body(message) { try await writer.write($0) } }
                    return [:]
                }
            })
    }
}
