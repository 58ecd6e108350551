import QuiverArrow
import QuiverBytes
import QuiverIPC

// Schemas, fields and types in the integration JSON format (Integration.rst, "JSON test
// data format"). A dictionary-encoded field is written as its value type plus a
// "dictionary" member; an extension type as its storage type plus the
// `ARROW:extension:name` / `ARROW:extension:metadata` field metadata.

// MARK: - Reading

extension IntegrationJSON {
    static func readSchema(_ json: JSONValue) throws -> Schema {
        let fields = try json.member("fields").arrayValue("schema fields")
        return Schema(
            try fields.enumerated().map { index, field in
                try withErrorContext("schema field \(index)") { try readField(field) }
            },
            metadata: try readMetadata(json["metadata"]))
    }

    static func readField(_ json: JSONValue) throws -> Field {
        let name = try json.member("name").stringValue("field name")
        return try withErrorContext("field '\(name)'") {
            let nullable = try json["nullable"].map { try $0.boolValue("nullable") } ?? true
            let children = try (json["children"] ?? .array([])).arrayValue("children").map(readField)
            var type = try readType(try json.member("type"), children: children)
            var dictionaryId: Int64?
            if let dictionary = json["dictionary"], dictionary != .null {
                dictionaryId = try dictionary.member("id").integerValue("dictionary id")
                let index = try readType(try dictionary.member("indexType"), children: [])
                guard index.isInteger else { throw QuiverError(.invalidData, "dictionary index type \(index) is not an integer") }
                let ordered = try dictionary["isOrdered"].map { try $0.boolValue("isOrdered") } ?? false
                type = .dictionary(index: index, value: type, ordered: ordered)
            }
            var metadata = try readMetadata(json["metadata"])
            if let extensionName = metadata[ArrowMetadata.extensionNameKey] {
                type = .extension(name: extensionName, metadata: metadata[ArrowMetadata.extensionMetadataKey] ?? "", storage: type)
                metadata[ArrowMetadata.extensionNameKey] = nil
                metadata[ArrowMetadata.extensionMetadataKey] = nil
            }
            return Field(name, type, nullable: nullable, metadata: metadata, dictionaryId: dictionaryId)
        }
    }

    static func readMetadata(_ json: JSONValue?) throws -> Metadata {
        guard let json, json != .null else { return Metadata() }
        return Metadata(
            try json.arrayValue("metadata").map {
                (key: try $0.member("key").stringValue("metadata key"), value: try $0.member("value").stringValue("metadata value"))
            })
    }

    static func readType(_ json: JSONValue, children: [Field]) throws -> DataType {
        let name = try json.member("name").stringValue("type name")
        func child(_ count: Int) throws -> [Field] {
            guard children.count == count else {
                throw QuiverError(.invalidData, "type '\(name)' needs \(count) children, has \(children.count)")
            }
            return children
        }
        func unit() throws -> TimeUnit {
            let unit = try json.member("unit").stringValue("unit")
            guard let value = timeUnits.first(where: { $0.1 == unit })?.0 else {
                throw QuiverError(.invalidData, "unknown time unit '\(unit)'")
            }
            return value
        }
        func int(_ key: String) throws -> Int {
            let value = try json.member(key).integerValue(key)
            guard let int = Int(exactly: value), int >= Int(Int32.min), int <= Int(Int32.max) else {
                throw QuiverError(.invalidData, "\(key) \(value) out of range")
            }
            return int
        }
        switch name {
        case "null": _ = try child(0); return .null
        case "bool": _ = try child(0); return .boolean
        case "int":
            let signed = try json.member("isSigned").boolValue("isSigned")
            switch try int("bitWidth") {
            case 8: return signed ? .int8 : .uint8
            case 16: return signed ? .int16 : .uint16
            case 32: return signed ? .int32 : .uint32
            case 64: return signed ? .int64 : .uint64
            case let width: throw QuiverError(.invalidData, "integer bit width \(width)")
            }
        case "floatingpoint":
            switch try json.member("precision").stringValue("precision") {
            case "HALF": return .float16
            case "SINGLE": return .float32
            case "DOUBLE": return .float64
            case let other: throw QuiverError(.invalidData, "floating point precision '\(other)'")
            }
        case "decimal", "decimal32", "decimal64", "decimal256":
            let defaultWidth = ["decimal32": 32, "decimal64": 64, "decimal256": 256][name] ?? 128
            let bitWidth = json["bitWidth"] == nil ? defaultWidth : try int("bitWidth")
            guard let precisions = DataType.decimalPrecisions(bitWidth: bitWidth) else {
                throw QuiverError(.invalidData, "decimal bit width \(bitWidth)")
            }
            let precision = try int("precision")
            guard precisions.contains(precision) else {
                throw QuiverError(.invalidData, "decimal\(bitWidth) precision \(precision) is outside \(precisions)")
            }
            let scale = try int("scale")
            guard Int32(exactly: scale) != nil else { throw QuiverError(.invalidData, "decimal scale \(scale) is not an int32") }
            return .decimal(bitWidth: bitWidth, precision: precision, scale: scale)
        case "date":
            switch try json.member("unit").stringValue("unit") {
            case "DAY": return .date32
            case "MILLISECOND": return .date64
            case let other: throw QuiverError(.invalidData, "date unit '\(other)'")
            }
        case "time":
            let unit = try unit()
            let bitWidth = try int("bitWidth")
            switch (unit, bitWidth) {
            case (.second, 32), (.millisecond, 32): return .time32(unit)
            case (.microsecond, 64), (.nanosecond, 64): return .time64(unit)
            default: throw QuiverError(.invalidData, "time of \(bitWidth) bits in \(unit)")
            }
        case "timestamp":
            let timezone = try json["timezone"].flatMap { $0 == .null ? nil : try $0.stringValue("timezone") }
            return .timestamp(try unit(), timezone: timezone)
        case "duration": return .duration(try unit())
        case "interval":
            switch try json.member("unit").stringValue("unit") {
            case "YEAR_MONTH": return .interval(.yearMonth)
            case "DAY_TIME": return .interval(.dayTime)
            case "MONTH_DAY_NANO": return .interval(.monthDayNano)
            case let other: throw QuiverError(.invalidData, "interval unit '\(other)'")
            }
        case "utf8": return .utf8
        case "largeutf8": return .largeUtf8
        case "utf8view": return .utf8View
        case "binary": return .binary
        case "largebinary": return .largeBinary
        case "binaryview": return .binaryView
        case "fixedsizebinary":
            let width = try int("byteWidth")
            guard width >= 0 else { throw QuiverError(.invalidData, "byte width \(width)") }
            return .fixedSizeBinary(byteWidth: width)
        case "list": return .list(try child(1)[0])
        case "largelist": return .largeList(try child(1)[0])
        case "listview": return .listView(try child(1)[0])
        case "largelistview": return .largeListView(try child(1)[0])
        case "fixedsizelist":
            let size = try int("listSize")
            guard size >= 0 else { throw QuiverError(.invalidData, "list size \(size)") }
            return .fixedSizeList(try child(1)[0], listSize: size)
        case "struct": return .struct(children)
        case "map":
            let entries = try child(1)[0]
            guard case .struct(let kv) = entries.type, kv.count == 2 else {
                throw QuiverError(.invalidData, "map entries must be a struct of key and value")
            }
            let sorted = try json["keysSorted"].map { try $0.boolValue("keysSorted") } ?? false
            return .map(entries: entries, keysSorted: sorted)
        case "union":
            let mode: UnionMode
            switch try json.member("mode").stringValue("mode") {
            case "SPARSE": mode = .sparse
            case "DENSE": mode = .dense
            case let other: throw QuiverError(.invalidData, "union mode '\(other)'")
            }
            let ids = try (json["typeIds"] ?? .array((0..<children.count).map { .number(String($0)) }))
                .arrayValue("typeIds").map { id -> Int8 in
                    let value = try id.integerValue("type id")
                    guard let id = Int8(exactly: value), id >= 0 else { throw QuiverError(.invalidData, "type id \(value)") }
                    return id
                }
            guard ids.count == children.count, Set(ids).count == ids.count else {
                throw QuiverError(.invalidData, "union has \(children.count) children and type ids \(ids)")
            }
            return .union(mode, fields: children, typeIds: ids)
        case "runendencoded":
            let fields = try child(2)
            guard [DataType.int16, .int32, .int64].contains(fields[0].type) else {
                throw QuiverError(.invalidData, "run ends must be int16, int32 or int64, not \(fields[0].type)")
            }
            return .runEndEncoded(runEnds: fields[0], values: fields[1])
        default:
            throw QuiverError(.unsupported, "unknown type '\(name)'")
        }
    }
}

let timeUnits: [(TimeUnit, String)] = [
    (.second, "SECOND"), (.millisecond, "MILLISECOND"), (.microsecond, "MICROSECOND"), (.nanosecond, "NANOSECOND"),
]

// MARK: - Writing

extension IntegrationJSON {
    static func schemaJSON(_ schema: Schema) throws -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [("fields", .array(try schema.fields.map(fieldJSON)))]
        if !schema.metadata.isEmpty { members.append(("metadata", metadataJSON(schema.metadata))) }
        return .object(members)
    }

    static func fieldJSON(_ field: Field) throws -> JSONValue {
        var type = field.type
        var metadata = Metadata()
        if case .extension(let name, let serialized, let storage) = type {
            metadata[ArrowMetadata.extensionNameKey] = name
            metadata[ArrowMetadata.extensionMetadataKey] = serialized
            type = storage
        }
        for (key, value) in field.metadata { metadata.pairs.append((key, value)) }
        var dictionary: JSONValue?
        if case .dictionary(let index, let value, let ordered) = type {
            guard let id = field.dictionaryId else {
                throw QuiverError(.invalidArgument, "dictionary field '\(field.name)' has no dictionary id")
            }
            dictionary = .object([("id", .number(String(id))), ("indexType", try typeJSON(index)), ("isOrdered", .bool(ordered))])
            type = value
        }
        guard !type.isExtensionOrDictionary else {
            throw QuiverError(.unsupported, "field '\(field.name)': \(field.type) cannot be written as integration JSON")
        }
        var members: [(key: String, value: JSONValue)] = [
            ("name", .string(field.name)), ("nullable", .bool(field.nullable)), ("type", try typeJSON(type)),
            ("children", .array(try type.children.map(fieldJSON))),
        ]
        if let dictionary { members.append(("dictionary", dictionary)) }
        if !metadata.isEmpty { members.append(("metadata", metadataJSON(metadata))) }
        return .object(members)
    }

    static func metadataJSON(_ metadata: Metadata) -> JSONValue {
        .array(metadata.pairs.map { .object([("key", .string($0.key)), ("value", .string($0.value))]) })
    }

    /// The "type" object of a type whose extension/dictionary wrapping is already removed.
    static func typeJSON(_ type: DataType) throws -> JSONValue {
        func named(_ name: String, _ rest: (String, JSONValue)...) -> JSONValue {
            .object([("name", .string(name))] + rest.map { (key: $0.0, value: $0.1) })
        }
        func number(_ value: Int) -> JSONValue { .number(String(value)) }
        func unit(_ unit: TimeUnit) -> JSONValue { .string(timeUnits.first { $0.0 == unit }?.1 ?? "") }
        switch type {
        case .null: return named("null")
        case .boolean: return named("bool")
        case .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64:
            let signed = [DataType.int8, .int16, .int32, .int64].contains(type)
            return named("int", ("isSigned", .bool(signed)), ("bitWidth", number(8 * (type.fixedByteWidth ?? 0))))
        case .float16: return named("floatingpoint", ("precision", .string("HALF")))
        case .float32: return named("floatingpoint", ("precision", .string("SINGLE")))
        case .float64: return named("floatingpoint", ("precision", .string("DOUBLE")))
        case .decimal(let bits, let precision, let scale):
            return named("decimal", ("precision", number(precision)), ("scale", number(scale)), ("bitWidth", number(bits)))
        case .date32: return named("date", ("unit", .string("DAY")))
        case .date64: return named("date", ("unit", .string("MILLISECOND")))
        case .time32(let u): return named("time", ("unit", unit(u)), ("bitWidth", number(32)))
        case .time64(let u): return named("time", ("unit", unit(u)), ("bitWidth", number(64)))
        case .timestamp(let u, let timezone):
            return timezone.map { named("timestamp", ("unit", unit(u)), ("timezone", .string($0))) }
                ?? named("timestamp", ("unit", unit(u)))
        case .duration(let u): return named("duration", ("unit", unit(u)))
        case .interval(let u):
            let names: [IntervalUnit: String] = [.yearMonth: "YEAR_MONTH", .dayTime: "DAY_TIME", .monthDayNano: "MONTH_DAY_NANO"]
            return named("interval", ("unit", .string(names[u] ?? "")))
        case .utf8: return named("utf8")
        case .largeUtf8: return named("largeutf8")
        case .utf8View: return named("utf8view")
        case .binary: return named("binary")
        case .largeBinary: return named("largebinary")
        case .binaryView: return named("binaryview")
        case .fixedSizeBinary(let width): return named("fixedsizebinary", ("byteWidth", number(width)))
        case .list: return named("list")
        case .largeList: return named("largelist")
        case .listView: return named("listview")
        case .largeListView: return named("largelistview")
        case .fixedSizeList(_, let size): return named("fixedsizelist", ("listSize", number(size)))
        case .struct: return named("struct")
        case .map(_, let sorted): return named("map", ("keysSorted", .bool(sorted)))
        case .union(let mode, _, let ids):
            return named(
                "union", ("mode", .string(mode == .sparse ? "SPARSE" : "DENSE")),
                ("typeIds", .array(ids.map { number(Int($0)) })))
        case .runEndEncoded: return named("runendencoded")
        case .dictionary, .extension:
            throw QuiverError(.unsupported, "\(type) nested directly in another dictionary or extension type")
        }
    }
}

extension DataType {
    fileprivate var isExtensionOrDictionary: Bool {
        switch self {
        case .dictionary, .extension: return true
        default: return false
        }
    }
}
