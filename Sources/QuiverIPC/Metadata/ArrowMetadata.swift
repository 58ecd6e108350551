import QuiverArrow
import QuiverBytes

/// Translates between the Arrow FlatBuffers metadata (format/Schema.fbs, Message.fbs,
/// File.fbs) and the plain Swift headers of MessageHeaders.swift.
///
/// Decoding verifies as it goes (see `FlatBufferTable`): malformed input throws
/// `invalidFlatBuffer` / `invalidMessage` / `unsupported`, never traps. Field ids below are
/// the declaration order of each table in the .fbs files; a union field takes two ids
/// (its `_type` byte, then the value).
public enum ArrowMetadata {
    // MARK: Field ids (declaration order in the .fbs files)
    enum MessageField { static let version = 0, headerType = 1, header = 2, bodyLength = 3, customMetadata = 4 }
    enum SchemaField { static let endianness = 0, fields = 1, customMetadata = 2, features = 3 }
    enum FieldField {
        static let name = 0, nullable = 1, typeType = 2, type = 3, dictionary = 4, children = 5, customMetadata = 6
    }
    enum RecordBatchField { static let length = 0, nodes = 1, buffers = 2, compression = 3, variadicCounts = 4 }
    enum FooterField { static let version = 0, schema = 1, dictionaries = 2, recordBatches = 3, customMetadata = 4 }

    /// `MessageHeader` union tags.
    enum HeaderTag: UInt8 { case schema = 1, dictionaryBatch = 2, recordBatch = 3, tensor = 4, sparseTensor = 5 }

    /// `Type` union tags.
    enum TypeTag: UInt8 {
        case null = 1, int, floatingPoint, binary, utf8, bool, decimal, date, time, timestamp, interval
        case list, struct_, union, fixedSizeBinary, fixedSizeList, map, duration, largeBinary, largeUtf8
        case largeList, runEndEncoded, binaryView, utf8View, listView, largeListView
    }

    package static let extensionNameKey = "ARROW:extension:name"
    package static let extensionMetadataKey = "ARROW:extension:metadata"

    // MARK: - Decoding

    /// Decodes and verifies one `Message` flatbuffer (without the framing prefix).
    /// O(flatbuffer size).
    public static func decodeMessage(_ bytes: Buffer) throws -> MessageMetadata {
        var budget = FlatBufferBudget()
        let envelope = try decodeEnvelope(bytes, budget: &budget)
        let header = envelope.header
        let decoded: MessageHeader
        switch HeaderTag(rawValue: envelope.tag) {
        case .schema: decoded = .schema(try decodeSchema(header, budget: &budget))
        case .recordBatch: decoded = .recordBatch(try decodeRecordBatch(header, budget: &budget))
        case .dictionaryBatch:
            let id = try header.scalar(0, default: Int64(0))
            guard let data = try header.table(1, budget: &budget) else {
                throw QuiverError(.invalidMessage, "dictionary batch \(id) has no data")
            }
            decoded = .dictionaryBatch(
                DictionaryBatchHeader(
                    id: id, data: try decodeRecordBatch(data, budget: &budget), isDelta: try header.bool(2)))
        case .tensor, .sparseTensor:
            throw QuiverError(.unsupported, "tensor messages are not supported")
        case nil:
            throw QuiverError(.invalidMessage, "unknown message header type \(envelope.tag)")
        }
        return MessageMetadata(
            version: envelope.version, header: decoded, bodyLength: envelope.bodyLength,
            customMetadata: try decodeMetadata(envelope.message, MessageField.customMetadata, budget: &budget))
    }

    /// Decodes and verifies a `Message` flatbuffer that must hold a record batch (what a file
    /// footer's record batch blocks point to): the checks and errors of `decodeMessage`, then
    /// `invalidMessage` for any other kind — without building the general message.
    static func decodeRecordBatchMessage(_ bytes: Buffer) throws -> RecordBatchMessage {
        var budget = FlatBufferBudget()
        let envelope = try decodeEnvelope(bytes, budget: &budget)
        guard envelope.tag == HeaderTag.recordBatch.rawValue else {
            _ = try decodeMessage(bytes)  // its errors first, as for any message
            throw QuiverError(.invalidMessage, "the block does not hold a record batch")
        }
        let header = try decodeRecordBatch(envelope.header, budget: &budget)
        _ = try decodeMetadata(envelope.message, MessageField.customMetadata, budget: &budget)  // verified, unused
        return RecordBatchMessage(version: envelope.version, bodyLength: envelope.bodyLength, header: header)
    }

    /// What `decodeRecordBatchMessage` returns.
    struct RecordBatchMessage {
        let version: MetadataVersion
        let bodyLength: Int64
        let header: RecordBatchHeader
    }

    /// What every `Message` has: version, body length, header type and header table.
    private struct Envelope {
        let message: FlatBufferTable
        let version: MetadataVersion
        let bodyLength: Int64
        let tag: UInt8
        let header: FlatBufferTable
    }

    private static func decodeEnvelope(_ bytes: Buffer, budget: inout FlatBufferBudget) throws -> Envelope {
        let message = try FlatBufferTable.root(of: bytes)
        let version = try decodeVersion(message.scalar(MessageField.version, default: Int16(0)))
        let bodyLength = try message.scalar(MessageField.bodyLength, default: Int64(0))
        guard bodyLength >= 0 else { throw QuiverError(.invalidMessage, "negative body length \(bodyLength)") }
        let tag = try message.scalar(MessageField.headerType, default: UInt8(0))
        guard let header = try message.table(MessageField.header, budget: &budget) else {
            throw QuiverError(.invalidMessage, "message has no header")
        }
        return Envelope(message: message, version: version, bodyLength: bodyLength, tag: tag, header: header)
    }

    /// Decodes and verifies a `Footer` flatbuffer.
    /// O(footer size).
    public static func decodeFooter(_ bytes: Buffer) throws -> Footer {
        var budget = FlatBufferBudget()
        let footer = try FlatBufferTable.root(of: bytes)
        let version = try decodeVersion(footer.scalar(FooterField.version, default: Int16(0)))
        guard let schemaTable = try footer.table(FooterField.schema, budget: &budget) else {
            throw QuiverError(.invalidMessage, "file footer has no schema")
        }
        return Footer(
            version: version, schema: try decodeSchema(schemaTable, budget: &budget),
            dictionaries: try decodeBlocks(footer, FooterField.dictionaries),
            recordBatches: try decodeBlocks(footer, FooterField.recordBatches),
            customMetadata: try decodeMetadata(footer, FooterField.customMetadata, budget: &budget))
    }

    /// Decodes a `Schema` table.
    static func decodeSchema(_ table: FlatBufferTable, budget: inout FlatBufferBudget) throws -> Schema {
        let endianness = try table.scalar(SchemaField.endianness, default: Int16(0))
        guard endianness == 0 else {
            throw QuiverError(.unsupported, "big-endian Arrow data is not supported (byte order is rejected, not guessed)")
        }
        var fields: [Field] = []
        if let vector = try table.vector(SchemaField.fields, elementSize: 4) {
            fields.reserveCapacity(vector.count)
            for index in 0..<vector.count {
                let field = try vector.table(at: index, budget: &budget)
                fields.append(try withErrorContext("field \(index)") { try decodeField(field, budget: &budget) })
            }
        }
        _ = try table.vector(SchemaField.features, elementSize: 8)  // verified (as Arrow C++ does), unused
        return Schema(fields, metadata: try decodeMetadata(table, SchemaField.customMetadata, budget: &budget))
    }

    static func decodeField(_ table: FlatBufferTable, budget: inout FlatBufferBudget) throws -> Field {
        try budget.enter()
        defer { budget.leave() }
        let name = try table.string(FieldField.name) ?? ""
        var children: [Field] = []
        if let vector = try table.vector(FieldField.children, elementSize: 4) {
            children.reserveCapacity(vector.count)
            for index in 0..<vector.count {
                let child = try vector.table(at: index, budget: &budget)
                children.append(try withErrorContext("child \(index) of '\(name)'") {
                    try decodeField(child, budget: &budget)
                })
            }
        }
        let tag = try table.scalar(FieldField.typeType, default: UInt8(0))
        guard let typeTable = try table.table(FieldField.type, budget: &budget) else {
            throw QuiverError(.invalidFlatBuffer, "field '\(name)' has no type")
        }
        var type = try decodeType(tag: tag, typeTable, children: children, fieldName: name)
        var metadata = try decodeMetadata(table, FieldField.customMetadata, budget: &budget)
        // Order as Arrow C++: children → concrete type → dictionary encoding → extension
        // (an extension type may have a dictionary-encoded storage type).
        var dictionaryId: Int64?
        if let encoding = try table.table(FieldField.dictionary, budget: &budget) {
            dictionaryId = try encoding.scalar(0, default: Int64(0))
            var indexType = DataType.int32
            if let indexTable = try encoding.table(1, budget: &budget) {
                indexType = try decodeInt(indexTable)
            }
            _ = try encoding.scalar(3, default: Int16(0))  // dictionaryKind: verified (as Arrow C++ does), unused
            type = .dictionary(index: indexType, value: type, ordered: try encoding.bool(2))
        }
        if let extensionName = metadata[extensionNameKey] {
            type = .extension(name: extensionName, metadata: metadata[extensionMetadataKey] ?? "", storage: type)
            metadata[extensionNameKey] = nil
            metadata[extensionMetadataKey] = nil
        }
        return Field(
            name, type, nullable: try table.bool(FieldField.nullable), metadata: metadata,
            dictionaryId: dictionaryId)
    }

    static func decodeInt(_ table: FlatBufferTable) throws -> DataType {
        let bitWidth = try table.scalar(0, default: Int32(0))
        let signed = try table.bool(1)
        switch (bitWidth, signed) {
        case (8, true): return .int8
        case (16, true): return .int16
        case (32, true): return .int32
        case (64, true): return .int64
        case (8, false): return .uint8
        case (16, false): return .uint16
        case (32, false): return .uint32
        case (64, false): return .uint64
        default: throw QuiverError(.invalidMessage, "integer bit width \(bitWidth) is not 8, 16, 32 or 64")
        }
    }

    static func decodeTimeUnit(_ raw: Int16) throws -> TimeUnit {
        guard let unit = TimeUnit(rawValue: raw) else { throw QuiverError(.invalidMessage, "unknown time unit \(raw)") }
        return unit
    }

    static func decodeType(tag: UInt8, _ table: FlatBufferTable, children: [Field], fieldName: String) throws -> DataType {
        func requireChildren(_ count: Int) throws {
            guard children.count == count else {
                throw QuiverError(.invalidMessage, "field '\(fieldName)' has \(children.count) children, its type needs \(count)")
            }
        }
        guard let known = TypeTag(rawValue: tag) else {
            throw QuiverError(.invalidMessage, "unknown type tag \(tag) for field '\(fieldName)'")
        }
        if ![.list, .struct_, .union, .fixedSizeList, .map, .largeList, .runEndEncoded, .listView, .largeListView]
            .contains(known)
        {
            try requireChildren(0)
        }
        switch known {
        case .null: return .null
        case .int: return try decodeInt(table)
        case .floatingPoint:
            switch try table.scalar(0, default: Int16(0)) {
            case 0: return .float16
            case 1: return .float32
            case 2: return .float64
            case let other: throw QuiverError(.invalidMessage, "unknown floating point precision \(other)")
            }
        case .binary: return .binary
        case .utf8: return .utf8
        case .bool: return .boolean
        case .decimal:
            let precision = Int(try table.scalar(0, default: Int32(0)))
            let scale = Int(try table.scalar(1, default: Int32(0)))
            let bitWidth = Int(try table.scalar(2, default: Int32(128)))
            guard let precisions = DataType.decimalPrecisions(bitWidth: bitWidth) else {
                throw QuiverError(.invalidMessage, "decimal bit width \(bitWidth) is not 32, 64, 128 or 256")
            }
            guard precisions.contains(precision) else {
                throw QuiverError(.invalidMessage, "decimal\(bitWidth) precision \(precision) is outside \(precisions)")
            }
            return .decimal(bitWidth: bitWidth, precision: precision, scale: scale)
        case .date:
            switch try table.scalar(0, default: Int16(1)) {
            case 0: return .date32
            case 1: return .date64
            case let other: throw QuiverError(.invalidMessage, "unknown date unit \(other)")
            }
        case .time:
            let unit = try decodeTimeUnit(table.scalar(0, default: Int16(1)))
            let bitWidth = try table.scalar(1, default: Int32(32))
            switch (unit, bitWidth) {
            case (.second, 32), (.millisecond, 32): return .time32(unit)
            case (.microsecond, 64), (.nanosecond, 64): return .time64(unit)
            default: throw QuiverError(.invalidMessage, "time unit \(unit) with bit width \(bitWidth) is invalid")
            }
        case .timestamp:
            return .timestamp(try decodeTimeUnit(table.scalar(0, default: Int16(0))), timezone: try table.string(1))
        case .interval:
            let raw = try table.scalar(0, default: Int16(0))
            guard let unit = IntervalUnit(rawValue: raw) else {
                throw QuiverError(.invalidMessage, "unknown interval unit \(raw)")
            }
            return .interval(unit)
        case .list:
            try requireChildren(1)
            return .list(children[0])
        case .largeList:
            try requireChildren(1)
            return .largeList(children[0])
        case .listView:
            try requireChildren(1)
            return .listView(children[0])
        case .largeListView:
            try requireChildren(1)
            return .largeListView(children[0])
        case .struct_: return .struct(children)
        case .union:
            let rawMode = try table.scalar(0, default: Int16(0))
            guard let mode = UnionMode(rawValue: rawMode) else {
                throw QuiverError(.invalidMessage, "unknown union mode \(rawMode)")
            }
            var typeIds: [Int8] = children.indices.map { Int8(truncatingIfNeeded: $0) }
            if let vector = try table.vector(1, elementSize: 4) {
                guard vector.count == children.count else {
                    throw QuiverError(.invalidMessage, "union has \(vector.count) type ids for \(children.count) children")
                }
                typeIds = try (0..<vector.count).map { index in
                    let id = vector.scalar(at: index, as: Int32.self)
                    guard (0...127).contains(id) else { throw QuiverError(.invalidMessage, "union type id \(id) outside 0...127") }
                    return Int8(id)
                }
            }
            guard children.count <= 128, Set(typeIds).count == typeIds.count else {
                throw QuiverError(.invalidMessage, "union type ids are not unique")
            }
            return .union(mode, fields: children, typeIds: typeIds)
        case .fixedSizeBinary:
            let width = try table.scalar(0, default: Int32(0))
            guard width >= 0 else { throw QuiverError(.invalidMessage, "negative fixed-size binary width \(width)") }
            return .fixedSizeBinary(byteWidth: Int(width))
        case .fixedSizeList:
            try requireChildren(1)
            let size = try table.scalar(0, default: Int32(0))
            guard size >= 0 else { throw QuiverError(.invalidMessage, "negative fixed-size list size \(size)") }
            return .fixedSizeList(children[0], listSize: Int(size))
        case .map:
            try requireChildren(1)
            guard case .struct(let entries) = children[0].type, entries.count == 2 else {
                throw QuiverError(.invalidMessage, "map entries must be a struct of key and value")
            }
            return .map(entries: children[0], keysSorted: try table.bool(0))
        case .duration: return .duration(try decodeTimeUnit(table.scalar(0, default: Int16(1))))
        case .largeBinary: return .largeBinary
        case .largeUtf8: return .largeUtf8
        case .runEndEncoded:
            try requireChildren(2)
            guard [.int16, .int32, .int64].contains(children[0].type) else {
                throw QuiverError(.invalidMessage, "run ends must be int16, int32 or int64, not \(children[0].type)")
            }
            return .runEndEncoded(runEnds: children[0], values: children[1])
        case .binaryView: return .binaryView
        case .utf8View: return .utf8View
        }
    }

    static func decodeRecordBatch(_ table: FlatBufferTable, budget: inout FlatBufferBudget) throws -> RecordBatchHeader {
        let length = try table.scalar(RecordBatchField.length, default: Int64(0))
        guard length >= 0 else { throw QuiverError(.invalidMessage, "negative record batch length \(length)") }
        var compression: CompressionCodec?
        if let compressionTable = try table.table(RecordBatchField.compression, budget: &budget) {
            let codec = try compressionTable.scalar(0, default: Int8(0))
            guard let known = CompressionCodec(rawValue: codec) else {
                throw QuiverError(.unsupported, "unknown body compression codec \(codec)")
            }
            let method = try compressionTable.scalar(1, default: Int8(0))
            guard method == 0 else { throw QuiverError(.unsupported, "unknown body compression method \(method)") }
            compression = known
        }
        var variadic: [Int64] = []
        if let vector = try table.vector(RecordBatchField.variadicCounts, elementSize: 8) {
            variadic = (0..<vector.count).map { vector.scalar(at: $0, as: Int64.self) }
        }
        return RecordBatchHeader(
            length: length, nodes: try table.vector(RecordBatchField.nodes, elementSize: 16),
            buffers: try table.vector(RecordBatchField.buffers, elementSize: 16), compression: compression,
            variadicBufferCounts: variadic)
    }

    static func decodeBlocks(_ table: FlatBufferTable, _ id: Int) throws -> [FileBlock] {
        guard let vector = try table.vector(id, elementSize: 24) else { return [] }
        return (0..<vector.count).map { index in
            FileBlock(
                offset: vector.structField(at: index, byteOffset: 0, as: Int64.self),
                metadataLength: vector.structField(at: index, byteOffset: 8, as: Int32.self),
                bodyLength: vector.structField(at: index, byteOffset: 16, as: Int64.self))
        }
    }

    static func decodeMetadata(_ table: FlatBufferTable, _ id: Int, budget: inout FlatBufferBudget) throws -> Metadata {
        guard let vector = try table.vector(id, elementSize: 4) else { return Metadata() }
        var pairs: [(key: String, value: String)] = []
        pairs.reserveCapacity(vector.count)
        for index in 0..<vector.count {
            let pair = try vector.table(at: index, budget: &budget)
            pairs.append((key: try pair.string(0) ?? "", value: try pair.string(1) ?? ""))
        }
        return Metadata(pairs)
    }

    static func decodeVersion(_ raw: Int16) throws -> MetadataVersion {
        guard let version = MetadataVersion(rawValue: raw) else {
            throw QuiverError(.unsupported, "unknown metadata version \(raw)")
        }
        guard version >= .v4 else {
            throw QuiverError(.unsupported, "metadata version V\(raw + 1) predates Arrow 0.8 and is not supported")
        }
        return version
    }

    // MARK: - Encoding

    /// Encodes a `Message` flatbuffer (without framing or padding).
    /// O(fields) for a schema, O(nodes + buffers) for a batch.
    public static func encodeMessage(_ message: MessageMetadata) -> [UInt8] {
        let builder = FlatBufferBuilder()
        let tag: HeaderTag
        let header: FlatBufferBuilder.Offset
        switch message.header {
        case .schema(let schema):
            tag = .schema
            header = encodeSchema(schema, builder)
        case .recordBatch(let batch):
            tag = .recordBatch
            header = encodeRecordBatch(batch, builder)
        case .dictionaryBatch(let dictionary):
            tag = .dictionaryBatch
            let data = encodeRecordBatch(dictionary.data, builder)
            builder.startTable()
            builder.add(0, dictionary.id, default: 0)
            builder.add(1, data)
            builder.add(2, dictionary.isDelta)
            header = builder.endTable()
        }
        let metadata = encodeMetadata(message.customMetadata, builder)
        builder.startTable()
        builder.add(MessageField.bodyLength, message.bodyLength, default: 0)
        builder.add(MessageField.header, header)
        if let metadata { builder.add(MessageField.customMetadata, metadata) }
        builder.add(MessageField.version, message.version.rawValue, default: -1)
        builder.add(MessageField.headerType, tag.rawValue, default: 0)
        return builder.finish(root: builder.endTable())
    }

    /// Encodes a `Footer` flatbuffer.
    /// O(fields + blocks).
    public static func encodeFooter(_ footer: Footer) -> [UInt8] {
        let builder = FlatBufferBuilder()
        let schema = encodeSchema(footer.schema, builder)
        let dictionaries = encodeBlocks(footer.dictionaries, builder)
        let batches = encodeBlocks(footer.recordBatches, builder)
        let metadata = encodeMetadata(footer.customMetadata, builder)
        builder.startTable()
        builder.add(FooterField.schema, schema)
        builder.add(FooterField.dictionaries, dictionaries)
        builder.add(FooterField.recordBatches, batches)
        if let metadata { builder.add(FooterField.customMetadata, metadata) }
        builder.add(FooterField.version, footer.version.rawValue, default: -1)
        return builder.finish(root: builder.endTable())
    }

    static func encodeSchema(_ schema: Schema, _ builder: FlatBufferBuilder) -> FlatBufferBuilder.Offset {
        let fields = builder.createOffsetVector(schema.fields.map { encodeField($0, builder) })
        let metadata = encodeMetadata(schema.metadata, builder)
        builder.startTable()
        builder.add(SchemaField.fields, fields)
        if let metadata { builder.add(SchemaField.customMetadata, metadata) }
        return builder.endTable()
    }

    static func encodeField(_ field: Field, _ builder: FlatBufferBuilder) -> FlatBufferBuilder.Offset {
        // Peel the extension, then dictionary encoding, leaving the concrete value type.
        var type = field.type
        var metadata = field.metadata
        if case .extension(let name, let extensionMetadata, let storage) = type {
            metadata[extensionNameKey] = name
            metadata[extensionMetadataKey] = extensionMetadata
            type = storage
        }
        var dictionary: (index: DataType, ordered: Bool)?
        if case .dictionary(let index, let value, let ordered) = type {
            dictionary = (index, ordered)
            type = value
        }
        let name = builder.createString(field.name)
        let children = builder.createOffsetVector(type.children.map { encodeField($0, builder) })
        let (tag, typeTable) = encodeType(type, builder)
        var encoding: FlatBufferBuilder.Offset?
        if let dictionary {
            let index = encodeType(dictionary.index, builder).table
            builder.startTable()
            builder.add(0, field.dictionaryId ?? 0, default: 0)
            builder.add(1, index)
            builder.add(2, dictionary.ordered)
            encoding = builder.endTable()
        }
        let customMetadata = encodeMetadata(metadata, builder)
        builder.startTable()
        builder.add(FieldField.name, name)
        builder.add(FieldField.type, typeTable)
        if let encoding { builder.add(FieldField.dictionary, encoding) }
        builder.add(FieldField.children, children)
        if let customMetadata { builder.add(FieldField.customMetadata, customMetadata) }
        builder.add(FieldField.nullable, field.nullable)
        builder.add(FieldField.typeType, tag.rawValue, default: 0)
        return builder.endTable()
    }

    /// Writes the type table of a concrete (non-dictionary, non-extension) type.
    static func encodeType(_ type: DataType, _ builder: FlatBufferBuilder) -> (tag: TypeTag, table: FlatBufferBuilder.Offset) {
        func table(_ tag: TypeTag, _ fields: () -> Void = {}) -> (tag: TypeTag, table: FlatBufferBuilder.Offset) {
            builder.startTable()
            fields()
            return (tag, builder.endTable())
        }
        func int(_ bits: Int32, _ signed: Bool) -> (tag: TypeTag, table: FlatBufferBuilder.Offset) {
            table(.int) {
                builder.add(0, bits, default: 0)
                builder.add(1, signed)
            }
        }
        switch type {
        case .null: return table(.null)
        case .boolean: return table(.bool)
        case .int8: return int(8, true)
        case .int16: return int(16, true)
        case .int32: return int(32, true)
        case .int64: return int(64, true)
        case .uint8: return int(8, false)
        case .uint16: return int(16, false)
        case .uint32: return int(32, false)
        case .uint64: return int(64, false)
        case .float16: return table(.floatingPoint) { builder.add(0, Int16(0), default: -1) }
        case .float32: return table(.floatingPoint) { builder.add(0, Int16(1), default: -1) }
        case .float64: return table(.floatingPoint) { builder.add(0, Int16(2), default: -1) }
        case .decimal(let bits, let precision, let scale):
            return table(.decimal) {
                builder.add(0, Int32(precision), default: -1)
                builder.add(1, Int32(scale), default: 0)
                builder.add(2, Int32(bits), default: -1)
            }
        case .date32: return table(.date) { builder.add(0, Int16(0), default: -1) }
        case .date64: return table(.date) { builder.add(0, Int16(1), default: -1) }
        case .time32(let unit):
            return table(.time) {
                builder.add(0, unit.rawValue, default: -1)
                builder.add(1, Int32(32), default: -1)
            }
        case .time64(let unit):
            return table(.time) {
                builder.add(0, unit.rawValue, default: -1)
                builder.add(1, Int32(64), default: -1)
            }
        case .timestamp(let unit, let timezone):
            let zone = timezone.map { builder.createString($0) }
            return table(.timestamp) {
                builder.add(0, unit.rawValue, default: -1)
                if let zone { builder.add(1, zone) }
            }
        case .duration(let unit): return table(.duration) { builder.add(0, unit.rawValue, default: -1) }
        case .interval(let unit): return table(.interval) { builder.add(0, unit.rawValue, default: -1) }
        case .binary: return table(.binary)
        case .largeBinary: return table(.largeBinary)
        case .binaryView: return table(.binaryView)
        case .utf8: return table(.utf8)
        case .largeUtf8: return table(.largeUtf8)
        case .utf8View: return table(.utf8View)
        case .fixedSizeBinary(let width): return table(.fixedSizeBinary) { builder.add(0, Int32(width), default: -1) }
        case .list: return table(.list)
        case .largeList: return table(.largeList)
        case .listView: return table(.listView)
        case .largeListView: return table(.largeListView)
        case .fixedSizeList(_, let size): return table(.fixedSizeList) { builder.add(0, Int32(size), default: -1) }
        case .struct: return table(.struct_)
        case .map(_, let sorted): return table(.map) { builder.add(0, sorted) }
        case .union(let mode, _, let typeIds):
            let ids = builder.createVector(typeIds.map { Int32($0) })
            return table(.union) {
                builder.add(0, mode.rawValue, default: -1)
                builder.add(1, ids)
            }
        case .runEndEncoded: return table(.runEndEncoded)
        case .dictionary(_, let value, _): return encodeType(value, builder)
        case .extension(_, _, let storage): return encodeType(storage, builder)
        }
    }

    static func encodeRecordBatch(_ batch: RecordBatchHeader, _ builder: FlatBufferBuilder) -> FlatBufferBuilder.Offset {
        let nodes = createPairVector(batch.nodes.map { ($0.length, $0.nullCount) }, builder)
        let buffers = createPairVector(batch.buffers.map { ($0.offset, $0.length) }, builder)
        let variadic = batch.variadicBufferCounts.isEmpty ? nil : builder.createVector(batch.variadicBufferCounts)
        var compression: FlatBufferBuilder.Offset?
        if let codec = batch.compression {
            builder.startTable()
            builder.add(0, codec.rawValue, default: -1)
            builder.add(1, Int8(0), default: -1)
            compression = builder.endTable()
        }
        builder.startTable()
        builder.add(RecordBatchField.length, batch.length, default: -1)
        builder.add(RecordBatchField.nodes, nodes)
        builder.add(RecordBatchField.buffers, buffers)
        if let compression { builder.add(RecordBatchField.compression, compression) }
        if let variadic { builder.add(RecordBatchField.variadicCounts, variadic) }
        return builder.endTable()
    }

    static func encodeBlocks(_ blocks: [FileBlock], _ builder: FlatBufferBuilder) -> FlatBufferBuilder.Offset {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(blocks.count * 24)
        for block in blocks {
            withUnsafeBytes(of: block.offset.littleEndian) { bytes += $0 }
            withUnsafeBytes(of: block.metadataLength.littleEndian) { bytes += $0 }
            bytes += [0, 0, 0, 0]  // padding to align bodyLength
            withUnsafeBytes(of: block.bodyLength.littleEndian) { bytes += $0 }
        }
        return bytes.withUnsafeBytes { builder.createStructVector(bytes: $0, count: blocks.count, structSize: 24, alignment: 8) }
    }

    /// A vector of structs of two int64 fields (`FieldNode`, `Buffer`).
    static func createPairVector(_ pairs: [(Int64, Int64)], _ builder: FlatBufferBuilder) -> FlatBufferBuilder.Offset {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(pairs.count * 16)
        for (first, second) in pairs {
            withUnsafeBytes(of: first.littleEndian) { bytes += $0 }
            withUnsafeBytes(of: second.littleEndian) { bytes += $0 }
        }
        return bytes.withUnsafeBytes { builder.createStructVector(bytes: $0, count: pairs.count, structSize: 16, alignment: 8) }
    }

    static func encodeMetadata(_ metadata: Metadata, _ builder: FlatBufferBuilder) -> FlatBufferBuilder.Offset? {
        guard !metadata.isEmpty else { return nil }
        let pairs = metadata.map { pair -> FlatBufferBuilder.Offset in
            let key = builder.createString(pair.key)
            let value = builder.createString(pair.value)
            builder.startTable()
            builder.add(0, key)
            builder.add(1, value)
            return builder.endTable()
        }
        return builder.createOffsetVector(pairs)
    }
}
