import Foundation
import GRPCCore
import QuiverArrow
import QuiverBytes
import QuiverQuery
import QuiverStore
import SwiftProtobuf

/// Flight SQL on top of the Flight service: commands arrive packed in a
/// `google.protobuf.Any` (in a descriptor's `cmd`, a ticket, or an action body).
///
/// Statements are stateless: a statement's ticket and a prepared statement's handle are the
/// query text itself, so any server of the same store answers them and nothing leaks when a
/// client never closes what it prepared. The query is planned at `GetFlightInfo` (its errors
/// answer that call) and run at `DoGet`, streaming batches as the engine yields them.
struct FlightSQL {
    let service: FlightService

    static let typePrefix = "type.googleapis.com/arrow.flight.protocol.sql."

    enum Command {
        case statement(String)
        case catalogs
        case dbSchemas(Arrow_Flight_Protocol_Sql_CommandGetDbSchemas)
        case tables(Arrow_Flight_Protocol_Sql_CommandGetTables)
        case tableTypes
        case sqlInfo(Arrow_Flight_Protocol_Sql_CommandGetSqlInfo)
    }

    /// Unpacks a command. Plain UTF-8 that is no Flight SQL `Any` is taken as SQL text (as a
    /// pyarrow user writes `FlightDescriptor.for_command("SELECT …")`).
    static func command(_ bytes: Data) throws -> Command {
        guard let any = try? Google_Protobuf_Any(serializedBytes: bytes), any.typeURL.hasPrefix(typePrefix) else {
            guard let text = String(data: bytes, encoding: .utf8), !text.isEmpty else {
                throw RPCError(code: .invalidArgument, message: "a command that is neither Flight SQL nor UTF-8 SQL text")
            }
            return .statement(text)
        }
        let name = String(any.typeURL.dropFirst(typePrefix.count))
        do {
            switch name {
            case "CommandStatementQuery":
                return .statement(try Arrow_Flight_Protocol_Sql_CommandStatementQuery(unpackingAny: any).query)
            case "TicketStatementQuery":
                return .statement(try handle(Arrow_Flight_Protocol_Sql_TicketStatementQuery(unpackingAny: any).statementHandle))
            case "CommandPreparedStatementQuery":
                return .statement(
                    try handle(Arrow_Flight_Protocol_Sql_CommandPreparedStatementQuery(unpackingAny: any).preparedStatementHandle))
            case "CommandGetCatalogs": return .catalogs
            case "CommandGetDbSchemas": return .dbSchemas(try .init(unpackingAny: any))
            case "CommandGetTables": return .tables(try .init(unpackingAny: any))
            case "CommandGetTableTypes": return .tableTypes
            case "CommandGetSqlInfo": return .sqlInfo(try .init(unpackingAny: any))
            default: break
            }
        } catch let error as RPCError {
            throw error
        } catch {
            throw RPCError(code: .invalidArgument, message: "malformed Flight SQL \(name): \(error)")
        }
        if name.hasPrefix("CommandStatementUpdate") || name.hasPrefix("CommandPreparedStatementUpdate")
            || name.hasPrefix("CommandStatementIngest")
        {
            throw RPCError(code: .unimplemented, message: "Flight SQL \(name): SQL is read-only here; append with Flight DoPut")
        }
        throw RPCError(code: .unimplemented, message: "Flight SQL \(name) is not supported")
    }

    private static func handle(_ bytes: Data) throws -> String {
        guard let text = String(data: bytes, encoding: .utf8) else {
            throw RPCError(code: .invalidArgument, message: "a statement handle that is not a query")
        }
        return text
    }

    static func unpack<M: SwiftProtobuf.Message>(_ type: M.Type, _ bytes: Data) throws -> M {
        do {
            return try M(unpackingAny: try Google_Protobuf_Any(serializedBytes: bytes))
        } catch {
            throw RPCError(code: .invalidArgument, message: "expected a packed \(M.protoMessageName): \(error)")
        }
    }

    static func pack(_ message: some SwiftProtobuf.Message) throws -> Data {
        try Google_Protobuf_Any(message: message).serializedData()
    }

    /// The query over every table of the store. Cost: a snapshot (footers) of each table.
    func query(_ sql: String) throws -> Query {
        var sources: [String: any BatchSource] = [:]
        for name in try service.store.tableNames() {
            sources[name] = try StoreTableSource(store: service.store, table: name)
        }
        return try Query(sql: sql, tables: sources)
    }

    func schema(of command: Command) throws -> Schema {
        switch command {
        case .statement(let sql): return try query(sql).outputSchema()
        case .catalogs: return SqlCatalog.catalogsSchema
        case .dbSchemas: return SqlCatalog.dbSchemasSchema
        case .tables(let command): return SqlCatalog.tablesSchema(includeSchema: command.includeSchema)
        case .tableTypes: return SqlCatalog.tableTypesSchema
        case .sqlInfo: return SqlCatalog.sqlInfoSchema
        }
    }

    func schema(of bytes: Data) throws -> Schema { try schema(of: try FlightSQL.command(bytes)) }

    func flightInfo(_ descriptor: Arrow_Flight_Protocol_FlightDescriptor) throws -> Arrow_Flight_Protocol_FlightInfo {
        let command = try FlightSQL.command(descriptor.cmd)
        var info = Arrow_Flight_Protocol_FlightInfo()
        info.schema = Data(try FlightBatchEncoder.encapsulatedSchema(try schema(of: command)))
        info.flightDescriptor = descriptor
        info.totalRecords = -1
        info.totalBytes = -1
        var endpoint = Arrow_Flight_Protocol_FlightEndpoint()
        if case .statement(let sql) = command {
            var ticket = Arrow_Flight_Protocol_Sql_TicketStatementQuery()
            ticket.statementHandle = Data(sql.utf8)
            endpoint.ticket.ticket = try FlightSQL.pack(ticket)
            info.ordered = true
        } else {
            endpoint.ticket.ticket = descriptor.cmd  // catalog commands are their own tickets
        }
        info.endpoint = [endpoint]
        return info
    }

    func doGet(_ ticket: Data, _ writer: RPCWriter<OutgoingFlightData>) async throws {
        let command = try FlightSQL.command(ticket)
        let batch: RecordBatch
        switch command {
        case .statement(let sql):
            let pool = MemoryPool()
            let query = try query(sql)
            let schema = try query.outputSchema()
            try await service.stream(query.stream(ExecutionOptions(pool: pool)), schema: schema, pool: pool, writer)
            return
        case .catalogs: batch = try SqlCatalog.catalogs()
        case .dbSchemas(let command): batch = try SqlCatalog.dbSchemas(command)
        case .tables(let command): batch = try SqlCatalog.tables(command, store: service.store)
        case .tableTypes: batch = try SqlCatalog.tableTypes()
        case .sqlInfo(let command): batch = try SqlCatalog.sqlInfo(command)
        }
        let encoder = try FlightBatchEncoder(schema: batch.schema)
        try await writer.write(encoder.schemaMessage)
        for message in try encoder.encode(batch) { try await writer.write(message) }
    }

    /// `CreatePreparedStatement`: plans the query (errors answer the action) and returns its
    /// handle (the query text) with the result's schema and an empty parameter schema.
    func prepare(_ sql: String) throws -> Data {
        var result = Arrow_Flight_Protocol_Sql_ActionCreatePreparedStatementResult()
        result.preparedStatementHandle = Data(sql.utf8)
        result.datasetSchema = Data(try FlightBatchEncoder.encapsulatedSchema(try query(sql).outputSchema()))
        result.parameterSchema = Data(try FlightBatchEncoder.encapsulatedSchema(Schema([])))
        return try FlightSQL.pack(result)
    }
}
