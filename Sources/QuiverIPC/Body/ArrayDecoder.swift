import QuiverArrow
import QuiverBytes

/// Decodes IPC record batch bodies into `ArrayData`: the inverse of `ArrayEncoder`.
///
/// Fields are walked depth-first; each consumes one field node and the buffers its layout
/// names (view types: plus their variadic data buffers; null and run-end encoded: none;
/// unions: no validity). Buffers are zero-copy slices of the body, except that a buffer the
/// input left misaligned for its element type is copied once, and compressed buffers are
/// decompressed. Every node, buffer index and region is checked; nothing is allocated from a
/// length the body cannot back.
public enum ArrayDecoder {
    /// Decodes the arrays of `fields` from a record batch body, without validating their
    /// contents (see `decodeRecordBatch`). Dictionary-encoded fields take their values from
    /// `dictionaries`. `version` matters for V4 unions, which carried a validity buffer.
    /// O(nodes + buffers) — zero-copy: buffers are slices of `body` — plus O(bytes) when decompressing.
    public static func decode(
        fields: [Field], header: RecordBatchHeader, body: Buffer, dictionaries: DictionaryMemo,
        version: MetadataVersion = .v5, options: IPCReadOptions = .init()
    ) throws -> [ArrayData] {
        var reader = BodyReader(
            header: header, body: body, dictionaries: dictionaries, version: version, options: options,
            missingDictionaries: .error)
        let plan = SchemaPlan(Schema(fields), maxDepth: options.maxNestingDepth)
        return try plan.fields.map { field in try reader.column(field) }
    }

    /// Decodes a record batch of `schema` and validates every column (O(data) unless
    /// `options.trusted`). Throws `invalidMessage` when the header disagrees with the schema.
    public static func decodeRecordBatch(
        schema: Schema, header: RecordBatchHeader, body: Buffer, dictionaries: DictionaryMemo,
        version: MetadataVersion = .v5, options: IPCReadOptions = .init()
    ) throws -> RecordBatch {
        try decodeRecordBatch(
            schema: schema, header: header, body: body, dictionaries: dictionaries, version: version, options: options,
            missingDictionaries: .error)
    }

    /// What to do with a dictionary-encoded column whose dictionary has not been read.
    enum MissingDictionaries {
        /// Reject the batch (file format: every dictionary is in the footer).
        case error
        /// Accept columns that are entirely null, with an empty dictionary (the stream format
        /// allows a dictionary to follow the first batch that only has nulls for it).
        case emptyIfAllNull
    }

    /// Decodes a record batch of `schema`; with `columns`, only those top-level columns (in
    /// that order) — the other columns' buffers are neither sliced, decompressed nor
    /// validated, so a projection over a mapped file touches only the pages it needs.
    ///
    /// Errors are reported as a serial decode would find them: the first column that fails
    /// to decode, else the first whose length or contents are invalid.
    ///
    /// Large batches with work per byte (compressed, or validated columns of variable
    /// length) are decoded a column per task across cores, largest first: each task
    /// decompresses, decodes and validates its column while the bytes are still in cache.
    static func decodeRecordBatch(
        schema: Schema, header: RecordBatchHeader, body: Buffer, dictionaries: DictionaryMemo,
        version: MetadataVersion, options: IPCReadOptions, missingDictionaries: MissingDictionaries,
        columns selected: [Int]? = nil, plan: SchemaPlan? = nil
    ) throws -> RecordBatch {
        let length = try checkedCount(header.length, "record batch length")
        let plan = plan ?? SchemaPlan(schema, maxDepth: options.maxNestingDepth)
        let plans = plan.fields
        assert(plans.count == schema.fields.count && plan.maxDepth == options.maxNestingDepth)
        var reader = BodyReader(
            header: header, body: body, dictionaries: dictionaries, version: version, options: options,
            missingDictionaries: missingDictionaries)
        let mayRunInParallel =
            options.useThreads && (selected?.count ?? plans.count) > 1 && BatchDecoder.mayHaveWork(header, body, options)
        guard selected != nil || mayRunInParallel else {
            // The common case: every column in order, one cursor, no spans.
            var firstInvalid: QuiverError?
            var columns: [ArrayData] = []
            columns.reserveCapacity(plans.count)
            for plan in plans {
                let column = try reader.column(plan)
                if firstInvalid == nil { firstInvalid = check(column, of: plan.field, length: length, options: options) }
                columns.append(column)
            }
            if let firstInvalid { throw firstInvalid }
            return RecordBatch(uncheckedSchema: schema, columns: columns, length: length)
        }
        let batch = try BatchDecoder(schema: schema, plan: plan, reader: reader, length: length, columns: selected)
        guard mayRunInParallel, batch.runsInParallel else {
            return try batch.finish((0..<batch.taskCount).map(batch.decodeColumn(at:)))
        }
        return try batch.finish(concurrentMap(count: batch.taskCount, startingWith: batch.heaviestFirst) { batch.decodeColumn(at: $0) })
    }

    /// A record batch split into column tasks (see `BatchDecoder`); `plan` must be `schema`'s.
    static func batchDecoder(
        schema: Schema, plan: SchemaPlan, header: RecordBatchHeader, body: Buffer, dictionaries: DictionaryMemo,
        version: MetadataVersion, options: IPCReadOptions, missingDictionaries: MissingDictionaries, columns: [Int]?
    ) throws -> BatchDecoder {
        let reader = BodyReader(
            header: header, body: body, dictionaries: dictionaries, version: version, options: options,
            missingDictionaries: missingDictionaries)
        return try BatchDecoder(
            schema: schema, plan: plan, reader: reader, length: try checkedCount(header.length, "record batch length"),
            columns: columns)
    }

    /// The column's length against the batch's, then its contents (O(data) unless trusted).
    fileprivate static func check(_ column: ArrayData, of field: Field, length: Int, options: IPCReadOptions)
        -> QuiverError?
    {
        guard column.length == length else {
            return QuiverError(.invalidMessage, "column '\(field.name)' has \(column.length) rows, the record batch \(length)")
        }
        do {
            try column.validate(full: !options.trusted)
            return nil
        } catch let error as QuiverError {
            return error.adding(context: "column '\(field.name)'")
        } catch {
            return QuiverError(.invalidData, "\(error)", context: ["column '\(field.name)'"])
        }
    }
}

/// One record batch split into independent column tasks, so that columns — of one batch, or
/// of every batch of a file (`FileReader.readBatches`) — can be decoded across cores: each
/// task decompresses, decodes and validates one top-level column from where its span starts.
///
/// `finish` reports errors as a serial decode would find them: the first column that failed
/// to decode, else the first whose length or contents are invalid.
struct BatchDecoder: Sendable {
    /// What one task produced: the column or its decode error, and its validation error.
    struct Outcome: Sendable {
        let column: Result<ArrayData, any Error>
        let invalid: QuiverError?
    }

    private let schema: Schema
    private let plans: [FieldPlan]
    private let reader: BodyReader
    private let length: Int
    private let spans: [FieldSpan]
    /// The top-level columns decoded, in output order.
    private let indices: [Int]
    private let selected: [Int]?
    /// Per task, how much work it is (see `BodyReader.weight`).
    let weights: [Int]

    /// Whether a batch can have enough work per byte to spread: compressed, or validated
    /// (the columns' weights decide), and at least `BodyCompression.parallelThreshold` bytes.
    static func mayHaveWork(_ header: RecordBatchHeader, _ body: Buffer, _ options: IPCReadOptions) -> Bool {
        body.count >= BodyCompression.parallelThreshold && (header.compression != nil || !options.trusted)
    }

    fileprivate init(schema: Schema, plan: SchemaPlan, reader: BodyReader, length: Int, columns selected: [Int]?) throws {
        let plans = plan.fields
        let fields = schema.fields
        if let selected {
            for index in selected where !fields.indices.contains(index) {
                throw QuiverError(.invalidArgument, "column \(index) of a schema with \(fields.count) fields")
            }
        }
        self.schema = schema
        self.plans = plans
        self.reader = reader
        self.length = length
        self.selected = selected
        spans = try FieldSpan.spans(of: plan, header: reader.header, version: reader.version)
        indices = selected ?? Array(fields.indices)
        weights = indices.map { [spans, plans, reader] in reader.weight(of: plans[$0], spans[$0]) }
    }

    /// The column tasks.
    var taskCount: Int { indices.count }
    /// Whether more than one column has real work, adding up to at least the threshold.
    var runsInParallel: Bool {
        weights.count(where: { $0 > 0 }) > 1 && weights.reduce(0, &+) >= BodyCompression.parallelThreshold
    }
    /// Task numbers, heaviest first (the longest tasks start first, so cores finish together).
    var heaviestFirst: [Int] { weights.indices.sorted { weights[$0] > weights[$1] } }

    /// Task `task`: decodes one column and checks it.
    func decodeColumn(at task: Int) -> Outcome {
        let index = indices[task]
        var cursor = reader
        cursor.move(to: spans[index])
        let column = Result { try cursor.column(plans[index]) }
        let invalid = (try? column.get()).flatMap {
            ArrayDecoder.check($0, of: plans[index].field, length: length, options: reader.options)
        }
        return Outcome(column: column, invalid: invalid)
    }

    /// The batch from every task's outcome (in task order), or the error a serial decode
    /// would have thrown.
    func finish(_ outcomes: [Outcome]) throws -> RecordBatch {
        let columns = try outcomes.map { try $0.column.get() }
        if let invalid = outcomes.lazy.compactMap(\.invalid).first { throw invalid }
        let projected = selected.map { Schema($0.map { schema.fields[$0] }, metadata: schema.metadata) } ?? schema
        return RecordBatch(uncheckedSchema: projected, columns: columns, length: length)
    }
}

/// Which field nodes, buffers and variadic buffer counts one top-level field occupies in a
/// record batch body: found by walking the types without touching the body.
struct FieldSpan {
    var nodes: Range<Int>
    var buffers: Range<Int>
    var variadicCounts: Range<Int>

    static func spans(of fields: [Field], header: RecordBatchHeader, version: MetadataVersion, maxDepth: Int) throws
        -> [FieldSpan]
    {
        let bufferCount = header.bufferCount
        return try walk(
            fields, version: version, maxDepth: maxDepth, limits: (header.nodeCount, bufferCount)
        ) { variadic in
            guard variadic < header.variadicBufferCounts.count else {
                throw QuiverError(.invalidMessage, "record batch lacks a variadic buffer count for a view field")
            }
            return try checkedCount(header.variadicBufferCounts[variadic], limit: bufferCount, "variadic buffer count")
        }
    }

    /// The spans of `plan`'s fields in a batch with `header`: the plan's spans worked out once
    /// when its schema has no view types (they then depend on the version alone), checked
    /// against the header's counts; else walked for this header. Throws as `spans(of:…)`.
    static func spans(of plan: SchemaPlan, header: RecordBatchHeader, version: MetadataVersion) throws -> [FieldSpan] {
        guard let fixed = version < .v5 ? plan.spansBeforeV5 : plan.spans else {
            return try spans(of: plan.fields.map(\.field), header: header, version: version, maxDepth: plan.maxDepth)
        }
        // Spans only grow, so the last one exceeds the header's counts if any does.
        if let last = fixed.last, last.nodes.upperBound > header.nodeCount || last.buffers.upperBound > header.bufferCount {
            throw fewerNodesOrBuffers
        }
        return fixed
    }

    /// The spans of a schema without view types, whose spans do not depend on a header: nil
    /// for a schema with view types or nested deeper than `maxDepth` (walked per batch, where
    /// the latter throws).
    static func headerIndependentSpans(of fields: [Field], version: MetadataVersion, maxDepth: Int) -> [FieldSpan]? {
        try? walk(fields, version: version, maxDepth: maxDepth, limits: nil) { _ in throw viewTypeFound }
    }

    private static let fewerNodesOrBuffers = QuiverError(
        .invalidMessage, "record batch has fewer nodes or buffers than its schema needs")
    private static let viewTypeFound = QuiverError(.invalidMessage, "view type")

    /// Walks the types of `fields` depth-first; `variadicCount(k)` gives the k-th view field's
    /// count of variadic buffers. With `limits`, each field's end is checked against the
    /// node and buffer counts.
    private static func walk(
        _ fields: [Field], version: MetadataVersion, maxDepth: Int, limits: (nodes: Int, buffers: Int)?,
        variadicCount: (Int) throws -> Int
    ) throws -> [FieldSpan] {
        var node = 0, buffer = 0, variadic = 0
        func walk(_ type: DataType, depth: Int) throws {
            guard depth <= maxDepth else {
                throw QuiverError(.invalidMessage, "fields nest deeper than \(maxDepth) levels")
            }
            let storage = type.storageType
            node += 1
            if case .union = storage, version < .v5 { buffer += 1 }
            buffer += storage.layout.count
            if storage.hasVariadicBuffers {
                buffer += try variadicCount(variadic)
                variadic += 1
            }
            for child in storage.children { try walk(child.type, depth: depth + 1) }
        }
        return try fields.map { field in
            let start = (node, buffer, variadic)
            try walk(field.type, depth: 0)
            if let limits, node > limits.nodes || buffer > limits.buffers { throw fewerNodesOrBuffers }
            return FieldSpan(nodes: start.0..<node, buffers: start.1..<buffer, variadicCounts: start.2..<variadic)
        }
    }
}

/// Walks one record batch body: its header, bytes and reading options, and a cursor over
/// the header's nodes, buffers and variadic counts. Each buffer is checked against the body,
/// sliced (zero-copy) and, for compressed bodies, decompressed only when a column asks for
/// it, so a projection touches nothing else. Concurrent decoding gives each task a copy.
private struct BodyReader: Sendable {
    let header: RecordBatchHeader
    let body: Buffer
    let dictionaries: DictionaryMemo
    let version: MetadataVersion
    let options: IPCReadOptions
    let missingDictionaries: ArrayDecoder.MissingDictionaries
    private var nodeIndex = 0
    private var bufferIndex = 0
    private var variadicIndex = 0

    init(
        header: RecordBatchHeader, body: Buffer, dictionaries: DictionaryMemo, version: MetadataVersion,
        options: IPCReadOptions, missingDictionaries: ArrayDecoder.MissingDictionaries
    ) {
        self.header = header
        self.body = body
        self.dictionaries = dictionaries
        self.version = version
        self.options = options
        self.missingDictionaries = missingDictionaries
    }

    /// Moves to the start of one top-level field's nodes and buffers.
    mutating func move(to span: FieldSpan) {
        nodeIndex = span.nodes.lowerBound
        bufferIndex = span.buffers.lowerBound
        variadicIndex = span.variadicCounts.lowerBound
    }

    /// How much work decoding a column costs beyond O(1): the stored bytes of its buffers
    /// when they are decompressed, else the bytes full validation reads — a plain
    /// fixed-width column only has its validity bitmap counted, anything with offsets,
    /// indices, views or children everything.
    func weight(of plan: FieldPlan, _ span: FieldSpan) -> Int {
        func bytes(_ indices: Range<Int>) -> Int {
            indices.reduce(0) { total, index in total &+ max(0, Int(clamping: header.bufferRegion(at: index).length)) }
        }
        if header.compression == nil && plan.isPlain {
            return plan.storage.hasValidityBitmap ? bytes(span.buffers.prefix(1)) : 0
        }
        return bytes(span.buffers)
    }

    /// The next top-level column; errors name the field.
    mutating func column(_ plan: FieldPlan) throws -> ArrayData {
        try withErrorContext("field '\(plan.field.name)'") { try array(plan) }
    }

    private mutating func array(_ plan: FieldPlan) throws -> ArrayData {
        let (length, declaredNulls) = try node()
        var buffers: [Buffer] = []
        // Sized once: growing by appends reallocated per node (a measurable share per batch).
        buffers.reserveCapacity(plan.alignments.count + (plan.hasVariadicBuffers ? 2 : 0))
        if plan.isUnion, version < .v5 {
            // Before V5, unions had a validity bitmap; it carries nothing the children do not.
            _ = try buffer(alignment: 1)
        }
        for alignment in plan.alignments {
            buffers.append(try buffer(alignment: alignment))
        }
        if plan.hasVariadicBuffers {
            guard variadicIndex < header.variadicBufferCounts.count else {
                throw QuiverError(.invalidMessage, "record batch lacks a variadic buffer count for a view field")
            }
            let count = try checkedCount(
                header.variadicBufferCounts[variadicIndex], limit: header.bufferCount - bufferIndex,
                "variadic buffer count")
            variadicIndex += 1
            for _ in 0..<count { buffers.append(try buffer(alignment: 1)) }
        }
        guard let childPlans = plan.children else {
            throw QuiverError(.invalidMessage, "fields nest deeper than \(options.maxNestingDepth) levels")
                .adding(context: "child '\(plan.storage.children.first?.name ?? "")'")
        }
        var children: [ArrayData] = []
        if !childPlans.isEmpty {
            children.reserveCapacity(childPlans.count)
            for child in childPlans {
                children.append(try withErrorContext("child '\(child.field.name)'") { try array(child) })
            }
        }
        var dictionary: ArrayData?
        if let valueType = plan.dictionaryValueType {
            let field = plan.field
            guard let id = field.dictionaryId else {
                throw QuiverError(.invalidMessage, "dictionary-encoded field '\(field.name)' has no dictionary id")
            }
            if let values = dictionaries[id] {
                dictionary = values
            } else if missingDictionaries == .emptyIfAllNull && declaredNulls == length {
                dictionary = try ArrayData.empty(of: valueType, pool: options.pool)
            } else {
                throw QuiverError(.invalidMessage, "dictionary \(id) of field '\(field.name)' was never defined")
            }
        }
        let nullCount: Int
        switch plan.nullCount {
        case .declared: nullCount = declaredNulls
        case .length: nullCount = length
        case .zero: nullCount = 0
        }
        return ArrayData(
            uncheckedType: plan.field.type, length: length, nullCount: nullCount, buffers: buffers, children: children,
            dictionary: dictionary)
    }

    /// The next field node's length and null count, checked (`0 ≤ nullCount ≤ length`).
    private mutating func node() throws -> (length: Int, nullCount: Int) {
        guard nodeIndex < header.nodeCount else {
            throw QuiverError(.invalidMessage, "record batch has \(header.nodeCount) field nodes; the schema needs more")
        }
        let node = header.node(at: nodeIndex)
        nodeIndex += 1
        let length = try checkedCount(node.length, "field node length")
        let nullCount = try checkedCount(node.nullCount, limit: length, "field node null count")
        return (length, nullCount)
    }

    /// The next buffer, copied if misaligned for its element type.
    private mutating func buffer(alignment: Int) throws -> Buffer {
        guard bufferIndex < header.bufferCount else {
            throw QuiverError(.invalidMessage, "record batch has \(header.bufferCount) buffers; the schema needs more")
        }
        let index = bufferIndex
        bufferIndex += 1
        let buffer = try withErrorContext("buffer \(index)") {
            let region = header.bufferRegion(at: index)
            let slice = try body.slice(
                offset: try checkedCount(region.offset, limit: body.count, "buffer offset"),
                count: try checkedCount(region.length, limit: body.count, "buffer length"))
            guard let codec = header.compression else { return slice }
            return try BodyCompression.decompress(codec, slice, pool: options.pool)
        }
        if buffer.count == 0 { return .empty }
        return buffer.isAligned(to: alignment) ? buffer : buffer.copied(pool: options.pool)
    }
}

extension ArrayData {
    /// A zero-length array of `type` with the buffers the format expects (offsets hold a
    /// single zero; nested dictionaries are empty too).
    /// O(depth of `type`).
    public static func empty(of type: DataType, pool: MemoryPool = .default) throws -> ArrayData {
        let storage = type.storageType
        let buffers = storage.layout.map { kind -> Buffer in
            switch kind {
            case .offsets32: return pool.allocateZeroed(byteCount: 4).buffer(count: 4)
            case .offsets64: return pool.allocateZeroed(byteCount: 8).buffer(count: 8)
            default: return .empty
            }
        }
        var dictionary: ArrayData?
        if case .dictionary(_, let valueType, _) = storage { dictionary = try empty(of: valueType, pool: pool) }
        return ArrayData(
            uncheckedType: type, length: 0, buffers: buffers, children: try storage.children.map { try empty(of: $0.type, pool: pool) },
            dictionary: dictionary)
    }
}
