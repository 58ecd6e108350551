import Foundation
import GRPCCore
import QuiverArrow
import QuiverIPC
import QuiverStore
import SwiftProtobuf

/// `DoAction`: store administration, and Flight SQL's prepared statements. Results are
/// JSON objects (UTF-8) for the store's actions, packed protobuf for Flight SQL's.
struct Actions {
    let service: FlightService

    static let list: [(String, String)] = [
        ("create-table", #"Creates a table. Body: {"table": name, "schema": base64 of an IPC schema message (pyarrow: schema.serialize()), optional "compression": "lz4"|"zstd", "max_batches_per_file": n}."#),
        ("compact", #"Rewrites a table's files into batches of ~65,536 rows. Body: the table name, or {"table": name, "rows_per_batch": n}."#),
        ("check", "Checks every file of the store (or of the table named in the body); one JSON report per file."),
        ("CreatePreparedStatement", "Flight SQL: prepares a query (ActionCreatePreparedStatementRequest)."),
        ("ClosePreparedStatement", "Flight SQL: closes a prepared statement (ActionClosePreparedStatementRequest)."),
    ]

    private struct CreateTable: Decodable {
        var table: String
        var schema: String
        var compression: String?
        var max_batches_per_file: Int?
    }

    private struct Compact: Decodable {
        var table: String
        var rows_per_batch: Int?
    }

    func run(_ action: Arrow_Flight_Protocol_Action) throws -> [Data] {
        switch action.type {
        case "create-table":
            let request = try decode(CreateTable.self, action.body)
            guard let bytes = Data(base64Encoded: request.schema) else {
                throw RPCError(code: .invalidArgument, message: "create-table: schema is not base64")
            }
            let schema = try FlightBatchEncoder.decodeSchema(Array(bytes))
            var options = TableOptions()
            switch request.compression {
            case nil, "none": options.compression = nil
            case "lz4": options.compression = .lz4Frame
            case "zstd": options.compression = .zstd
            case let other?: throw RPCError(code: .invalidArgument, message: "create-table: no compression \(other) (lz4, zstd, none)")
            }
            if let batches = request.max_batches_per_file {
                guard batches > 0 else { throw RPCError(code: .invalidArgument, message: "create-table: max_batches_per_file must be positive") }
                options.maxBatchesPerFile = batches
            }
            try service.store.createTable(request.table, schema: schema, options: options)
            return [json(["table": request.table, "created": true])]
        case "compact":
            let request: Compact
            if action.body.first == UInt8(ascii: "{") {
                request = try decode(Compact.self, action.body)
            } else {
                request = Compact(table: String(decoding: action.body, as: UTF8.self))
            }
            let rows = request.rows_per_batch ?? 65_536
            guard rows > 0, rows <= 1 << 30 else {
                throw RPCError(code: .invalidArgument, message: "compact: rows_per_batch \(rows) is out of range")
            }
            let report = try service.withWriter(for: request.table) { try $0.compact(targetRowsPerBatch: rows) }
            return [json([
                "table": report.table, "files_before": report.filesBefore, "files_after": report.filesAfter,
                "batches_before": report.batchesBefore, "batches_after": report.batchesAfter, "rows": report.rows,
                "bytes_before": report.bytesBefore, "bytes_after": report.bytesAfter,
            ])]
        case "check":
            var reports = try service.store.check()
            if !action.body.isEmpty {
                let directory = service.store.tableDirectory(String(decoding: action.body, as: UTF8.self))
                guard try service.store.hasTable(String(decoding: action.body, as: UTF8.self)) else {
                    throw RPCError(code: .notFound, message: "no table \(String(decoding: action.body, as: UTF8.self))")
                }
                reports = reports.filter { $0.path.hasPrefix(directory + "/") }
            }
            return reports.map { report in
                json([
                    "path": report.path, "healthy": report.isHealthy, "problems": report.problems,
                    "batches": report.batches, "rows": report.rows, "sealed": report.sealed,
                    "needs_repair": report.needsRepair,
                ])
            }
        case "CreatePreparedStatement":
            let request = try FlightSQL.unpack(Arrow_Flight_Protocol_Sql_ActionCreatePreparedStatementRequest.self, action.body)
            return [try FlightSQL(service: service).prepare(request.query)]
        case "ClosePreparedStatement":
            // Prepared statements hold no server state (the handle is the query).
            _ = try FlightSQL.unpack(Arrow_Flight_Protocol_Sql_ActionClosePreparedStatementRequest.self, action.body)
            return []
        default:
            throw RPCError(code: .unimplemented, message: "no action \(action.type): ListActions lists them")
        }
    }

    private func decode<T: Decodable>(_ type: T.Type, _ body: Data) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: body)
        } catch {
            throw RPCError(code: .invalidArgument, message: "malformed action body: \(error)")
        }
    }

    private func json(_ object: [String: Any]) -> Data {
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    }
}
