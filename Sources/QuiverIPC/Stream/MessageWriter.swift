import QuiverArrow
import QuiverBytes

/// The part of `StreamWriter` and `FileWriter` that they share: message framing, dictionary
/// id assignment, and deciding per batch which dictionaries to (re)send.
final class MessageWriter {
    let output: any ByteOutput
    let options: IPCWriteOptions
    /// The schema as written: every dictionary field has an id.
    let schema: Schema
    /// Streams may replace dictionaries; files may not.
    let allowsReplacement: Bool
    private(set) var stats = IPCStats()
    private(set) var dictionaryBlocks: [FileBlock] = []
    private(set) var recordBatchBlocks: [FileBlock] = []
    private(set) var isFinished = false
    /// `output.position` when writing began; file blocks are relative to it.
    private let start: Int
    /// The schema's fields without dictionary ids or metadata, to check batches against.
    private let comparableFields: [Field]
    /// The dictionary values last sent per id.
    private(set) var sent: [Int64: ArrayData] = [:]
    /// Custom metadata for the message that carries a body (dictionary or record batch),
    /// computed from the encoded body before it is written (e.g. a checksum).
    var bodyMetadata: ((EncodedBody) throws -> Metadata)?

    /// What a writer resuming an existing file has already written.
    struct Resume {
        var dictionaryBlocks: [FileBlock]
        var recordBatchBlocks: [FileBlock]
        var dictionaries: [Int64: ArrayData]
    }

    /// Starts writing at `output.position`. Without `resume`, block offsets count from there;
    /// with it, `output.position` is an offset in the file whose earlier messages `resume`
    /// describes, and block offsets are file offsets.
    init(output: any ByteOutput, schema: Schema, options: IPCWriteOptions, allowsReplacement: Bool, resume: Resume? = nil) throws {
        try options.check()
        self.output = output
        self.options = options
        self.allowsReplacement = allowsReplacement
        self.schema = try DictionaryIds.assign(schema)
        comparableFields = schema.fields.map(DictionaryIds.comparable)
        start = resume == nil ? output.position : 0
        if let resume {
            dictionaryBlocks = resume.dictionaryBlocks
            recordBatchBlocks = resume.recordBatchBlocks
            sent = resume.dictionaries
        }
    }

    /// Writes raw bytes before the first message (the file magic).
    func writePreamble(_ bytes: [UInt8]) throws {
        try output.write(bytes)
    }

    /// Writes the schema message.
    func writeSchema() throws {
        try writeMessage(.schema(schema), body: nil)
    }

    /// Writes the dictionaries `batch` needs (new, delta or replacement), then the batch.
    func write(_ batch: RecordBatch) throws {
        guard !isFinished else { throw QuiverError(.invalidArgument, "the writer is finished") }
        let needed = try dictionaries(of: batch)
        var seen: [Int64: ArrayData] = [:]
        for (id, values) in needed {
            if let other = seen[id] {
                guard try other.hasSameContents(as: values, pool: options.pool) else {
                    throw QuiverError(.invalidArgument, "two columns share dictionary id \(id) with different values")
                }
                continue
            }
            seen[id] = values
            try sendDictionary(id, values)
        }
        let body = try ArrayEncoder.encode(batch.columns, length: batch.length, options: options)
        recordBatchBlocks.append(try writeMessage(.recordBatch(body.header), body: body))
        stats.numRecordBatches += 1
    }

    /// Checks the batch's schema; returns the dictionaries it needs, paired with their ids.
    private func dictionaries(of batch: RecordBatch) throws -> [(id: Int64, values: ArrayData)] {
        guard batch.schema.fields.map(DictionaryIds.comparable) == comparableFields else {
            let difference = batch.schema.firstDifference(from: schema) ?? "dictionary encoding"
            throw QuiverError(
                .schemaMismatch, "record batch schema differs from the writer's: \(difference)\n\(batch.schema)\nvs\n\(schema)")
        }
        var needed: [(id: Int64, values: ArrayData)] = []
        for (field, column) in zip(schema.fields, batch.columns) {
            try withErrorContext("column '\(field.name)'") { try collectDictionaries(field, column, into: &needed) }
        }
        return needed
    }

    /// Whether writing `batch` would replace a dictionary already sent (which the file
    /// format forbids): its values neither equal nor (with deltas enabled) extend the sent ones.
    func needsDictionaryReplacement(_ batch: RecordBatch) throws -> Bool {
        try dictionaries(of: batch).contains { try dictionaryUpdate($0.id, $0.values) == .replacement }
    }

    /// How dictionary `id` must change to hold `values`: nil when the reader already has them.
    private func dictionaryUpdate(_ id: Int64, _ values: ArrayData) throws -> DictionaryMemo.Update? {
        guard let previous = sent[id] else { return .new }
        if try previous.hasSameContents(as: values, pool: options.pool) { return nil }
        if options.emitDictionaryDeltas, values.length > previous.length,
            try previous.hasSameContents(as: values.slice(from: 0, length: previous.length), pool: options.pool)
        {
            return .delta
        }
        return .replacement
    }

    /// Writes the end-of-stream marker and marks the writer finished.
    func writeEndOfStream() throws {
        guard !isFinished else { throw QuiverError(.invalidArgument, "the writer is already finished") }
        try output.write([0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0])
        isFinished = true
    }

    /// Frames and writes one message (see `MessageFraming.write`), with the body's custom
    /// metadata, positioned relative to where writing began.
    @discardableResult
    private func writeMessage(_ header: MessageHeader, body: EncodedBody?) throws -> FileBlock {
        let customMetadata = try body.flatMap { try bodyMetadata?($0) } ?? [:]
        let block = try MessageFraming.write(
            header, body: body, customMetadata: customMetadata, alignment: options.alignment, to: output, start: start)
        stats.numMessages += 1
        return block
    }

    /// Dictionaries inside `data` (nested ones first, so a reader can decode the outer
    /// values), paired with the ids the writer's schema assigns.
    private func collectDictionaries(_ field: Field, _ data: ArrayData, into needed: inout [(id: Int64, values: ArrayData)]) throws {
        func children(of type: DataType, _ data: ArrayData) throws {
            let fields = type.storageType.children
            guard fields.count == data.children.count else {
                throw QuiverError(.invalidData, "\(type) array has \(data.children.count) children, its type \(fields.count)")
            }
            for (child, childData) in zip(fields, data.children) { try collectDictionaries(child, childData, into: &needed) }
        }
        guard case .dictionary(_, let valueType, _) = field.type.storageType else {
            return try children(of: field.type, data)
        }
        guard let id = field.dictionaryId, let values = data.dictionary else {
            throw QuiverError(.invalidData, "dictionary-encoded field '\(field.name)' has no dictionary values")
        }
        try children(of: valueType, values)
        needed.append((id, values))
    }

    /// Sends dictionary `id` unless the reader already has these values: whole when new,
    /// as a delta when it extends what was sent (and deltas are enabled), otherwise as a
    /// replacement, which only streams allow.
    private func sendDictionary(_ id: Int64, _ values: ArrayData) throws {
        func send(_ data: ArrayData, isDelta: Bool) throws {
            let body = try ArrayEncoder.encode([data], length: data.length, options: options)
            let header = DictionaryBatchHeader(id: id, data: body.header, isDelta: isDelta)
            dictionaryBlocks.append(try writeMessage(.dictionaryBatch(header), body: body))
        }
        guard let update = try dictionaryUpdate(id, values) else { return }
        switch update {
        case .new:
            try send(values, isDelta: false)
        case .delta:
            let previousLength = sent[id]?.length ?? 0
            try send(values.slice(from: previousLength, length: values.length - previousLength), isDelta: true)
        case .replacement:
            guard allowsReplacement else {
                throw QuiverError(
                    .invalidArgument,
                    "dictionary \(id) changed between batches, but the IPC file format allows no dictionary replacement"
                        + (options.emitDictionaryDeltas ? "" : " (set emitDictionaryDeltas if dictionaries only grow)"))
            }
            try send(values, isDelta: false)
        }
        stats.record(update)
        sent[id] = values
    }
}

/// Dictionary ids in schemas: assigning them for writing, ignoring them for comparison.
enum DictionaryIds {
    /// `schema` with an id on every dictionary field that lacks one: 0, 1, 2, … in depth-first
    /// order (a dictionary before those nested in its values), skipping ids already used.
    static func assign(_ schema: Schema) throws -> Schema {
        var used = Set<Int64>()
        func collect(_ field: Field) {
            if let id = field.dictionaryId { used.insert(id) }
            _ = mapChildFields(field.type) { collect($0); return $0 }
        }
        schema.fields.forEach(collect)
        var next: Int64 = 0
        func assign(_ field: Field) -> Field {
            var field = field
            if case .dictionary = field.type.storageType, field.dictionaryId == nil {
                while used.contains(next) { next += 1 }
                field.dictionaryId = next
                used.insert(next)
            }
            field.type = mapChildFields(field.type, assign)
            return field
        }
        var result = schema
        result.fields = schema.fields.map(assign)
        _ = try DictionaryMemo(schema: result)  // rejects one id used with two value types
        return result
    }

    /// The field as batches are compared: no dictionary ids and no metadata, at any depth.
    static func comparable(_ field: Field) -> Field {
        var field = field
        field.dictionaryId = nil
        field.metadata = [:]
        field.type = mapChildFields(field.type, comparable)
        return field
    }

    /// `type` with `transform` applied to each child field (looking through dictionary
    /// values and extension storage).
    static func mapChildFields(_ type: DataType, _ transform: (Field) -> Field) -> DataType {
        switch type {
        case .list(let field): return .list(transform(field))
        case .largeList(let field): return .largeList(transform(field))
        case .listView(let field): return .listView(transform(field))
        case .largeListView(let field): return .largeListView(transform(field))
        case .fixedSizeList(let field, let size): return .fixedSizeList(transform(field), listSize: size)
        case .struct(let fields): return .struct(fields.map(transform))
        case .map(let entries, let sorted): return .map(entries: transform(entries), keysSorted: sorted)
        case .union(let mode, let fields, let typeIds): return .union(mode, fields: fields.map(transform), typeIds: typeIds)
        case .runEndEncoded(let runEnds, let values): return .runEndEncoded(runEnds: transform(runEnds), values: transform(values))
        case .dictionary(let index, let value, let ordered):
            return .dictionary(index: index, value: mapChildFields(value, transform), ordered: ordered)
        case .extension(let name, let metadata, let storage):
            return .extension(name: name, metadata: metadata, storage: mapChildFields(storage, transform))
        default: return type
        }
    }
}

/// The framing of one encapsulated IPC message, shared by every writer:
/// ```
/// 0xFFFFFFFF | int32 metadata length | Message flatbuffer | zero padding | body
/// ```
/// with the padding chosen so the body starts on the alignment (relative to `start`).
public enum MessageFraming {
    /// Writes one message to `output` and returns its block, with offsets relative to
    /// `start` (an output position). The body's buffers are written straight from memory.
    /// Throws `capacityExceeded` for metadata beyond 2 GiB.
    /// O(metadata size + body bytes): the body is written, not copied.
    @discardableResult
    public static func write(
        _ header: MessageHeader, body: EncodedBody?, customMetadata: Metadata = [:], alignment: Int = 8,
        to output: any ByteOutput, start: Int = 0
    ) throws -> FileBlock {
        let bodyLength = body?.bodyLength ?? 0
        let metadata = ArrowMetadata.encodeMessage(
            MessageMetadata(version: .v5, header: header, bodyLength: Int64(bodyLength), customMetadata: customMetadata))
        let messageStart = output.position - start
        let bodyStart = alignUp(messageStart + 8 + metadata.count, to: alignment)
        guard let metadataLength = Int32(exactly: bodyStart - messageStart - 8) else {
            throw QuiverError(.capacityExceeded, "message metadata of \(metadata.count) bytes is too large")
        }
        var prefix: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF]
        withUnsafeBytes(of: metadataLength.littleEndian) { prefix += $0 }
        try output.write(prefix)
        try output.write(metadata)
        try output.writeZeros(bodyStart - messageStart - 8 - metadata.count)
        try body?.write(to: output)
        return FileBlock(
            offset: Int64(messageStart), metadataLength: Int32(bodyStart - messageStart), bodyLength: Int64(bodyLength))
    }
}
