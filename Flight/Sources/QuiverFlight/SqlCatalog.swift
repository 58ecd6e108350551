import Foundation
import QuiverArrow
import QuiverBytes
import QuiverStore

/// The answers to Flight SQL's catalog commands. Quiver has one catalog and one database
/// schema holding every table of the store; the names are what clients display.
enum SqlCatalog {
    static let catalogName = "quiver"
    static let schemaName = "main"
    static let tableType = "TABLE"

    static let catalogsSchema = Schema([Field("catalog_name", .utf8, nullable: false)])
    static let dbSchemasSchema = Schema([Field("catalog_name", .utf8), Field("db_schema_name", .utf8, nullable: false)])
    static let tableTypesSchema = Schema([Field("table_type", .utf8, nullable: false)])

    static func tablesSchema(includeSchema: Bool) -> Schema {
        var fields = [
            Field("catalog_name", .utf8), Field("db_schema_name", .utf8),
            Field("table_name", .utf8, nullable: false), Field("table_type", .utf8, nullable: false),
        ]
        if includeSchema { fields.append(Field("table_schema", .binary, nullable: false)) }
        return Schema(fields)
    }

    static func catalogs() throws -> RecordBatch {
        try RecordBatch(schema: catalogsSchema, columns: [ArrayData.build(from: [catalogName] as [String?])])
    }

    static func dbSchemas(_ command: Arrow_Flight_Protocol_Sql_CommandGetDbSchemas) throws -> RecordBatch {
        let matches = matchesCatalog(command.hasCatalog ? command.catalog : nil)
            && (!command.hasDbSchemaFilterPattern || Like.matches(schemaName, pattern: command.dbSchemaFilterPattern))
        let rows = matches ? 1 : 0
        return try RecordBatch(schema: dbSchemasSchema, columns: [
            ArrayData.build(from: [String?](repeating: catalogName, count: rows)),
            ArrayData.build(from: [String?](repeating: schemaName, count: rows)),
        ])
    }

    static func tableTypes() throws -> RecordBatch {
        try RecordBatch(schema: tableTypesSchema, columns: [ArrayData.build(from: [tableType] as [String?])])
    }

    /// Cost: one snapshot (footers only) per listed table when the schemas are asked for.
    static func tables(_ command: Arrow_Flight_Protocol_Sql_CommandGetTables, store: Store) throws -> RecordBatch {
        var names: [String] = []
        let schemaMatches = !command.hasDbSchemaFilterPattern || Like.matches(schemaName, pattern: command.dbSchemaFilterPattern)
        let typeMatches = command.tableTypes.isEmpty || command.tableTypes.contains(tableType)
        if matchesCatalog(command.hasCatalog ? command.catalog : nil), schemaMatches, typeMatches {
            names = try store.tableNames().sorted().filter {
                !command.hasTableNameFilterPattern || Like.matches($0, pattern: command.tableNameFilterPattern)
            }
        }
        var columns = [
            ArrayData.build(from: [String?](repeating: catalogName, count: names.count)),
            ArrayData.build(from: [String?](repeating: schemaName, count: names.count)),
            ArrayData.build(from: names.map { Optional($0) }),
            ArrayData.build(from: [String?](repeating: tableType, count: names.count)),
        ]
        if command.includeSchema {
            let schemas = try names.map { name -> [UInt8]? in
                try FlightBatchEncoder.encapsulatedSchema(try store.table(name).schema)
            }
            columns.append(ArrayData.build(from: schemas))
        }
        return try RecordBatch(schema: tablesSchema(includeSchema: command.includeSchema), columns: columns)
    }

    private static func matchesCatalog(_ catalog: String?) -> Bool {
        catalog == nil || catalog == catalogName
    }

    // MARK: GetSqlInfo

    /// The value union of GetSqlInfo's result, as the specification lays it out (every
    /// member declared, though Quiver answers only with strings, booleans and int32s).
    static let sqlInfoValueType: DataType = .union(
        .dense,
        fields: [
            Field("string_value", .utf8), Field("bool_value", .boolean), Field("bigint_value", .int64),
            Field("int32_bitmask", .int32), Field("string_list", .list(Field("item", .utf8))),
            Field(
                "int32_to_int32_list_map",
                .map(
                    entries: Field(
                        "entries",
                        .struct([Field("key", .int32, nullable: false), Field("value", .list(Field("item", .int32)))]),
                        nullable: false),
                    keysSorted: false)),
        ],
        typeIds: [0, 1, 2, 3, 4, 5])

    static let sqlInfoSchema = Schema([
        Field("info_name", .uint32, nullable: false), Field("value", sqlInfoValueType, nullable: false),
    ])

    enum InfoValue {
        case string(String)
        case bool(Bool)
        case int32(Int32)
    }

    /// What Quiver reports (codes from FlightSql.proto's SqlInfo).
    static let infos: [(UInt32, InfoValue)] = [
        (0, .string("Quiver")),  // FLIGHT_SQL_SERVER_NAME
        (1, .string("0.1")),  // FLIGHT_SQL_SERVER_VERSION
        (2, .string("1.0")),  // FLIGHT_SQL_SERVER_ARROW_VERSION (the columnar format's version)
        (3, .bool(true)),  // FLIGHT_SQL_SERVER_READ_ONLY: SQL cannot change data (DoPut can)
        (4, .bool(true)),  // FLIGHT_SQL_SERVER_SQL
        (5, .bool(false)),  // FLIGHT_SQL_SERVER_SUBSTRAIT
        (8, .int32(0)),  // FLIGHT_SQL_SERVER_TRANSACTION: none
        (9, .bool(false)),  // FLIGHT_SQL_SERVER_CANCEL
        (10, .bool(false)),  // FLIGHT_SQL_SERVER_BULK_INGESTION (through Flight DoPut instead)
        (504, .string("\"")),  // SQL_IDENTIFIER_QUOTE_CHAR
    ]

    static func sqlInfo(_ command: Arrow_Flight_Protocol_Sql_CommandGetSqlInfo) throws -> RecordBatch {
        let wanted = command.info.isEmpty ? infos : infos.filter { command.info.contains($0.0) }
        var typeIds: [Int8] = [], offsets: [Int32] = []
        var strings: [String?] = [], bools: [Bool?] = [], ints: [Int32?] = []
        for (_, value) in wanted {
            switch value {
            case .string(let text):
                typeIds.append(0)
                offsets.append(Int32(strings.count))
                strings.append(text)
            case .bool(let flag):
                typeIds.append(1)
                offsets.append(Int32(bools.count))
                bools.append(flag)
            case .int32(let number):
                typeIds.append(3)
                offsets.append(Int32(ints.count))
                ints.append(number)
            }
        }
        let fields = sqlInfoValueType.children
        let children = [
            ArrayData.build(from: strings), ArrayData.build(from: bools), ArrayData.build(from: [Int64?]()),
            ArrayData.build(from: ints), try makeBuilder(for: fields[4].type).finish(),
            try makeBuilder(for: fields[5].type).finish(),
        ]
        let union = ArrayData(
            uncheckedType: sqlInfoValueType, length: wanted.count,
            buffers: [Buffer(copyingValues: typeIds), Buffer(copyingValues: offsets)], children: children)
        try union.validate(full: true)
        return try RecordBatch(
            schema: sqlInfoSchema, columns: [ArrayData.build(from: wanted.map(\.0)), union])
    }
}

/// SQL `LIKE` patterns as Flight SQL's filters use them: `%` any run, `_` one character,
/// no escape. Linear in text × pattern (no backtracking blow-up on hostile patterns).
enum Like {
    static func matches(_ text: String, pattern: String) -> Bool {
        let text = Array(text), pattern = Array(pattern)
        // reachable[j]: the pattern's first j characters can match the text read so far.
        var reachable = [Bool](repeating: false, count: pattern.count + 1)
        reachable[0] = true
        for j in pattern.indices where pattern[j] == "%" {
            guard reachable[j] else { break }
            reachable[j + 1] = true
        }
        for character in text {
            var next = [Bool](repeating: false, count: pattern.count + 1)
            for j in pattern.indices {
                switch pattern[j] {
                case "%": if reachable[j + 1] || reachable[j] || next[j] { next[j + 1] = true }
                case "_": if reachable[j] { next[j + 1] = true }
                default: if reachable[j] && pattern[j] == character { next[j + 1] = true }
                }
            }
            reachable = next
            // A leading run of % also matches nothing more.
            for j in pattern.indices where pattern[j] == "%" && next[j] { reachable[j + 1] = true }
        }
        return reachable[pattern.count]
    }
}
