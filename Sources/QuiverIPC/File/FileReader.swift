import Synchronization
import QuiverArrow
import QuiverBytes

/// Reads an Arrow IPC file (pyarrow's `ipc.open_file`): random access to its record batches
/// through the footer.
///
/// Opening checks both magics and the footer length, decodes the footer, and reads every
/// dictionary the footer lists (deltas applied in footer order; a second non-delta
/// dictionary for an id is an error, as the format requires). Batches are then read on
/// demand: each block is checked against the file before its bytes are read, its framing
/// against the block, and its arrays are validated unless `options.trusted`. Buffers are
/// views of the input where the input allows (in-memory, memory-mapped). Immutable after
/// opening, so one reader can serve batches to several threads.
public final class FileReader: Sendable {
    /// The schema from the footer.
    public let schema: Schema
    /// The footer's custom metadata (pyarrow's `metadata`).
    public let footerMetadata: Metadata
    /// The footer's metadata version.
    public let metadataVersion: MetadataVersion
    /// Every dictionary, as of the end of the file.
    public let dictionaries: DictionaryMemo
    /// The options the reader was opened with.
    public let options: IPCReadOptions
    /// The bytes read: a `MappedFile`, a `ReadFileInput`, a `BufferInput`, or the caller's own.
    /// Framing and metadata come through `readMetadata` (a `pread` for a mapped file, so only
    /// bodies are viewed in the mapping), bodies through `read`.
    let input: any RandomAccessInput
    let recordBatchBlocks: [FileBlock]
    let dictionaryBlocks: [FileBlock]
    /// Messages must end before the footer starts.
    let messageLimit: Int
    /// How to decode the schema's batches, worked out once.
    private let plan: SchemaPlan
    /// Batches whose columns have been fully validated through this input (shared by every
    /// reader of a cached mapping), so a repeated read of the same bytes decodes trusted.
    private let validated: ValidatedColumns

    /// The number of record batches (pyarrow's `num_record_batches`).
    public var numRecordBatches: Int { recordBatchBlocks.count }
    /// The number of dictionary batches the footer lists.
    public var numDictionaries: Int { dictionaryBlocks.count }

    /// Opens a file. Throws `invalidMessage` when the magics, footer length or footer are
    /// wrong, and any dictionary's decoding or validation error.
    /// Reads and verifies the footer (O(footer size)), then reads every dictionary (O(dictionary bytes)).
    /// Through a memory map the footer is read and decoded once per mapping: with
    /// `MappingCache`, a query over a file it has seen opens it without reading its footer.
    public convenience init(input: any RandomAccessInput, options: IPCReadOptions = .init()) throws {
        let (footer, offset) = try FileReader.mapping(of: input).map { mapping in
            try mapping.fact("quiver.footer") { DecodedFooter(Result { try FileReader.readFooter(input) }) }.footer.get()
        } ?? FileReader.readFooter(input)
        try self.init(input: input, footer: footer, footerOffset: offset, options: options)
    }

    /// The mapping `input` reads, if it is one.
    private static func mapping(of input: any RandomAccessInput) -> MappedFile? {
        (input as? MappedFile) ?? (input as? MappedFileInput)?.mapping
    }

    /// Opens a file whose footer the caller has already read and verified (e.g. a snapshot
    /// of a file that is being appended to, whose bytes from `footerOffset` on may change).
    /// Messages must lie before `footerOffset`; the footer's dictionaries are read now.
    /// O(dictionary bytes): every dictionary is read, decoded and (unless trusted) validated.
    public init(input: any RandomAccessInput, footer: Footer, footerOffset: Int, options: IPCReadOptions = .init()) throws {
        self.input = input
        self.options = options
        let limit = footerOffset
        guard limit >= 8, limit <= input.size else {
            throw QuiverError(.invalidArgument, "footer offset \(limit) is outside a file of \(input.size) bytes")
        }
        messageLimit = limit
        schema = footer.schema
        plan = SchemaPlan(footer.schema, maxDepth: options.maxNestingDepth)
        validated = FileReader.mapping(of: input)?.fact("quiver.validatedColumns") { ValidatedColumns() } ?? ValidatedColumns()
        footerMetadata = footer.customMetadata
        metadataVersion = footer.version
        recordBatchBlocks = footer.recordBatches
        dictionaryBlocks = footer.dictionaries
        var memo = try DictionaryMemo(schema: footer.schema)
        for (index, block) in footer.dictionaries.enumerated() {
            try withErrorContext("dictionary block \(index)") {
                let message = try FileReader.readMessage(block, from: input, limit: limit, options: options)
                guard case .dictionaryBatch(let batch) = message.metadata.header else {
                    throw QuiverError(.invalidMessage, "the block does not hold a dictionary batch")
                }
                try memo.apply(
                    batch, body: message.body, version: message.metadata.version, options: options,
                    allowReplacement: false)
            }
        }
        dictionaries = memo
    }

    /// Finds and decodes the footer of an Arrow file: checks both magics and the footer
    /// length, and returns the footer with the offset where it starts (where messages end).
    /// Two small reads plus the footer: O(footer size) to read and verify it.
    public static func readFooter(_ input: any RandomAccessInput) throws -> (footer: Footer, offset: Int) {
        let size = input.size
        let magic = ArrowFormat.fileMagic
        // The leading magic is copied out of a mapped file, like message metadata, so its page
        // is not mapped in.
        // Leading magic + padding, footer length, trailing magic.
        guard size >= 8 + 4 + magic.count else {
            throw QuiverError(.invalidMessage, "\(size) bytes are too few for an Arrow file")
        }
        guard try input.readMetadata(at: 0, count: magic.count).array == magic else {
            throw QuiverError(.invalidMessage, "not an Arrow file: no leading ARROW1 magic")
        }
        let tail = try input.readMetadata(at: size - 4 - magic.count, count: 4 + magic.count)
        guard Array(tail.array[4...]) == magic else {
            throw QuiverError(.invalidMessage, "not an Arrow file (or truncated): no trailing ARROW1 magic")
        }
        let footerLength = Int(tail.uncheckedReadLittleEndian(Int32.self, at: 0))
        guard footerLength > 0, footerLength <= size - 8 - 4 - magic.count else {
            throw QuiverError(.invalidMessage, "footer length \(footerLength) does not fit a file of \(size) bytes")
        }
        let limit = size - 4 - magic.count - footerLength
        // A footer up to 1 MiB is copied out too: a first touch of its page through a mapping
        // reads around it (megabytes of the last batches' bodies) unless advised otherwise.
        let footerBytes =
            footerLength <= 1 << 20
            ? try input.readMetadata(at: limit, count: footerLength) : try input.read(at: limit, count: footerLength)
        let footer = try withErrorContext("file footer") { try ArrowMetadata.decodeFooter(footerBytes) }
        return (footer, limit)
    }

    /// Opens a file held in memory (zero-copy: batches view `buffer`).
    public convenience init(buffer: Buffer, options: IPCReadOptions = .init()) throws {
        try self.init(input: BufferInput(buffer), options: options)
    }

    /// Opens a file from bytes (copied once into a pool buffer, which batches then view).
    /// O(bytes) for the copy, plus what opening costs.
    public convenience init(bytes: [UInt8], options: IPCReadOptions = .init()) throws {
        try self.init(buffer: Buffer(copying: bytes, pool: options.pool), options: options)
    }

    /// Record batch `index` (pyarrow's `get_batch`). Throws `invalidArgument` for an index
    /// outside `0..<numRecordBatches`, and decoding or validation errors.
    /// O(columns) when trusted — zero-copy: buffers are slices of the body; O(rows) for offsets
    /// validation, O(bytes) when decompressing.
    public func recordBatch(at index: Int) throws -> RecordBatch {
        try recordBatch(at: index, columns: nil)
    }

    /// Record batch `index` with only the top-level `columns` (indices into `schema.fields`,
    /// in the order given; nil: all). The other columns' buffers are not decompressed,
    /// validated or — through a memory map — even paged in.
    /// O(selected columns), zero-copy, plus O(rows) validation and O(bytes) decompression of
    /// those columns only. Columns already validated through this mapping are not validated again.
    public func recordBatch(at index: Int, columns: [Int]?) throws -> RecordBatch {
        try recordBatch(at: index, columns: columns, body: nil)
    }

    /// `recordBatch(at:columns:)`, with `body` (when given) choosing the buffer the batch's
    /// body is viewed through — e.g. one whose owner releases pages when the batch goes.
    func recordBatch(at index: Int, columns: [Int]?, body wrap: ((Buffer) -> Buffer)?) throws -> RecordBatch {
        guard index >= 0, index < recordBatchBlocks.count else {
            throw QuiverError(.invalidArgument, "record batch \(index) of a file with \(recordBatchBlocks.count)")
        }
        return try withErrorContext("record batch \(index)") {
            var message = try readRecordBatchMessage(at: index)
            if let wrap { message = BatchMessage(header: message.header, body: wrap(message.body), version: message.version) }
            // Columns this mapping's bytes have already passed full validation for are decoded
            // trusted: the bytes cannot have changed under the mapping of an unchanged file.
            let block = recordBatchBlocks[index]
            let requested = columns ?? Array(schema.fields.indices)
            let alreadyValid = !options.trusted && validated.contains(offset: block.offset, columns: requested)
            var decodeOptions = options
            if alreadyValid { decodeOptions.trusted = true }
            let batch = try ArrayDecoder.decodeRecordBatch(
                schema: schema, header: message.header, body: message.body, dictionaries: dictionaries,
                version: message.version, options: decodeOptions, missingDictionaries: .error, columns: columns, plan: plan)
            if !options.trusted && !alreadyValid { validated.insert(offset: block.offset, columns: requested) }
            return batch
        }
    }

    /// The byte ranges of the file that hold the buffers of `columns` (top-level indices) in
    /// record batch `index`, in file order, ranges less than a page apart merged: what a
    /// projected read of the batch touches besides its metadata. For a compressed body these
    /// are the compressed bytes. Reads and decodes the batch's metadata (one `pread` for a
    /// mapped file), none of its body. Buffers whose regions lie outside the body are left
    /// out (reading the batch reports them); throws like `recordBatch(at:columns:)` for a bad
    /// index, column or message.
    /// O(buffers of `columns`) after the metadata read.
    public func bodyRanges(ofBatch index: Int, columns: [Int]) throws -> [Range<Int>] {
        guard index >= 0, index < recordBatchBlocks.count else {
            throw QuiverError(.invalidArgument, "record batch \(index) of a file with \(recordBatchBlocks.count)")
        }
        return try withErrorContext("record batch \(index)") {
            let block = try FileReader.readFraming(recordBatchBlocks[index], from: input, limit: messageLimit, options: options)
            let message = try ArrowMetadata.decodeRecordBatchMessage(block.flatbuffer)
            let header = message.header
            let spans = try FieldSpan.spans(of: plan, header: header, version: message.version)
            let bodyStart = block.offset + block.metadataLength
            var ranges: [Range<Int>] = []
            for column in Set(columns).sorted() {
                guard spans.indices.contains(column) else {
                    throw QuiverError(.invalidArgument, "column \(column) of a schema with \(spans.count) fields")
                }
                for buffer in spans[column].buffers {
                    let region = header.bufferRegion(at: buffer)
                    guard region.offset >= 0, region.length > 0, region.offset <= Int64(block.bodyLength),
                        region.length <= Int64(block.bodyLength) - region.offset
                    else { continue }
                    let start = bodyStart + Int(region.offset)
                    ranges.append(start..<(start + Int(region.length)))
                }
            }
            ranges.sort { $0.lowerBound < $1.lowerBound }
            var merged: [Range<Int>] = []
            for range in ranges {
                if let last = merged.last, range.lowerBound <= last.upperBound + MemoryUsage.pageSize {
                    merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, range.upperBound)
                } else {
                    merged.append(range)
                }
            }
            return merged
        }
    }

    /// The mapping this reader's bodies are views of, if the input is a memory-mapped file.
    var mappedFile: MappedFile? { (input as? MappedFile) ?? (input as? MappedFileInput)?.mapping }

    /// Every record batch as a `Table` of chunked columns — pyarrow's `read_all()`.
    /// Zero-copy: the table's columns are the batches' buffers (views of the input).
    public func readAll() throws -> Table {
        try Table(schema: schema, batches: try readBatches())
    }

    /// Every record batch with only the named columns (a projection; see
    /// `recordBatch(at:columns:)`). Throws `notFound` for an unknown name.
    /// O(batches × columns) plus each batch's decoding cost (see `recordBatch(at:columns:)`).
    public func readAll(columns names: [String]) throws -> Table {
        let indices = try names.map { name in
            guard let index = schema.index(of: name) else {
                throw QuiverError(.notFound, "no column '\(name)' in \(schema.fields.map(\.name))")
            }
            return index
        }
        let batches = try readBatches(columns: indices)
        return try Table(schema: Schema(indices.map { schema.fields[$0] }, metadata: schema.metadata), batches: batches)
    }

    /// Every record batch, in footer order.
    /// O(batches) metadata reads plus each batch's decoding cost (see `recordBatch(at:)`).
    public func readBatches() throws -> [RecordBatch] {
        try readBatches(columns: nil)
    }

    /// Every record batch with only `columns` (nil: all), in footer order, as
    /// `recordBatch(at:columns:)` gives them and with the error it would throw first.
    ///
    /// When the batches have work per byte (compressed, or validated columns beyond plain
    /// numbers) and `options.useThreads`, the columns of *all* batches are decoded as one set
    /// of tasks across cores — no core waits at the end of each batch for the other's last
    /// column. The messages are read first, one after the other (framing and metadata only).
    func readBatches(columns: [Int]?) throws -> [RecordBatch] {
        // Work per byte: full validation of more than plain numbers, or decompression.
        let validatesValues = !(options.trusted || plan.isPlain)
        // Plain columns, uncompressed (as the first batch tells) or trusted: nothing to spread.
        let isCompressed = { [self] in (try? readRecordBatchMessage(at: 0))?.header.compression != nil }
        guard options.useThreads, numRecordBatches > 1, validatesValues || isCompressed() else {
            return try (0..<numRecordBatches).map { try recordBatch(at: $0, columns: columns) }
        }
        var messages: [BatchMessage] = []
        messages.reserveCapacity(numRecordBatches)
        var stoppedBy: (any Error)?  // thrown once the batches before it are decoded
        var heavyBytes = 0
        for index in 0..<numRecordBatches {
            do {
                let message = try withErrorContext("record batch \(index)") { try readRecordBatchMessage(at: index) }
                messages.append(message)
                if validatesValues || message.header.compression != nil { heavyBytes += message.body.count }
            } catch {
                stoppedBy = error
                break
            }
        }
        var batches: [RecordBatch] = []
        batches.reserveCapacity(messages.count)
        if heavyBytes < BodyCompression.parallelThreshold {
            let serial = IPCReadOptions(copying: options, useThreads: false)
            for (index, message) in messages.enumerated() {
                batches.append(
                    try withErrorContext("record batch \(index)") {
                        try ArrayDecoder.decodeRecordBatch(
                            schema: schema, header: message.header, body: message.body, dictionaries: dictionaries,
                            version: message.version, options: serial, missingDictionaries: .error, columns: columns,
                            plan: plan)
                    })
            }
        } else {
            batches = try decodeConcurrently(messages, columns: columns)
        }
        if let stoppedBy { throw stoppedBy }
        return batches
    }

    /// Decodes batches' columns as one set of tasks across cores: within each batch heaviest
    /// first, batches in order (so memory is touched roughly in file order).
    private func decodeConcurrently(_ messages: [BatchMessage], columns: [Int]?) throws -> [RecordBatch] {
        var decoders: [BatchDecoder] = []
        var stoppedBy: (any Error)?
        for (index, message) in messages.enumerated() {
            do {
                decoders.append(
                    try withErrorContext("record batch \(index)") {
                        try ArrayDecoder.batchDecoder(
                            schema: schema, plan: plan, header: message.header, body: message.body,
                            dictionaries: dictionaries, version: message.version, options: options,
                            missingDictionaries: .error, columns: columns)
                    })
            } catch {
                stoppedBy = error
                break
            }
        }
        let prepared = decoders
        let firstTask = prepared.reduce(into: [0]) { starts, decoder in starts.append(starts[starts.count - 1] + decoder.taskCount) }
        // Tasks numbered batch by batch, column by column; started in that batch order, each
        // batch's heaviest column first.
        let columns = prepared.indices.flatMap { batch in (0..<prepared[batch].taskCount).map { (batch: batch, column: $0) } }
        let order = prepared.indices.flatMap { batch in prepared[batch].heaviestFirst.map { firstTask[batch] + $0 } }
        let decoded = concurrentMap(count: columns.count, startingWith: order) { task in
            prepared[columns[task].batch].decodeColumn(at: columns[task].column)
        }
        var batches: [RecordBatch] = []
        batches.reserveCapacity(decoders.count)
        for (index, decoder) in decoders.enumerated() {
            let range = firstTask[index]..<firstTask[index + 1]
            batches.append(try withErrorContext("record batch \(index)") { try decoder.finish(Array(decoded[range])) })
        }
        if let stoppedBy { throw stoppedBy }
        return batches
    }

    /// A record batch message: its header, body and metadata version.
    private struct BatchMessage {
        let header: RecordBatchHeader
        let body: Buffer
        let version: MetadataVersion
    }

    /// Batch `index`'s header and body, read and checked against its footer block.
    private func readRecordBatchMessage(at index: Int) throws -> BatchMessage {
        let block = try FileReader.readFraming(recordBatchBlocks[index], from: input, limit: messageLimit, options: options)
        let message = try ArrowMetadata.decodeRecordBatchMessage(block.flatbuffer)
        let body = try FileReader.readBody(of: block, bodyLength: message.bodyLength, from: input)
        return BatchMessage(header: message.header, body: body, version: message.version)
    }

    /// Reads the message a footer block points to. The block must lie before the footer;
    /// the message's own framing must fit the block's metadata length and its body length
    /// must equal the block's. The framing and metadata come in one read (`readMetadata`: a
    /// `pread` from a mapped file, so only the body is viewed in the mapping), the body in another.
    static func readMessage(
        _ block: FileBlock, from input: any RandomAccessInput, limit: Int, options: IPCReadOptions
    ) throws -> Message {
        let framing = try readFraming(block, from: input, limit: limit, options: options)
        let metadata = try ArrowMetadata.decodeMessage(framing.flatbuffer)
        let body = try readBody(of: framing, bodyLength: metadata.bodyLength, from: input)
        return Message(metadata: metadata, body: body, offset: framing.offset)
    }

    /// A block checked against the file, and its message's flatbuffer (framing removed).
    struct BlockFraming {
        let offset: Int
        let metadataLength: Int
        let bodyLength: Int
        let flatbuffer: Buffer
    }

    /// Checks `block` against the messages region and reads its framing: the continuation
    /// marker (legacy files have none), the flatbuffer length, which must fit the block.
    static func readFraming(
        _ block: FileBlock, from input: any RandomAccessInput, limit: Int, options: IPCReadOptions
    ) throws -> BlockFraming {
        let offset = try checkedCount(block.offset, limit: limit, "block offset")
        let metadataLength = Int(block.metadataLength)
        guard metadataLength >= 8 else {
            throw QuiverError(.invalidMessage, "block metadata length \(metadataLength) is too small")
        }
        guard metadataLength - 8 <= options.maxMetadataLength else {
            throw QuiverError(
                .capacityExceeded, "block metadata length \(metadataLength) exceeds the cap of \(options.maxMetadataLength)")
        }
        let bodyLength = try checkedCount(block.bodyLength, limit: limit, "block body length")
        try checkRange(offset: offset, count: try checkedSum(metadataLength, bodyLength), within: limit)
        let framed = try input.readMetadata(at: offset, count: metadataLength)
        var prefixLength = 4
        var flatbufferLength = framed.uncheckedReadLittleEndian(Int32.self, at: 0)
        if flatbufferLength == -1 {  // continuation marker (legacy files have none)
            prefixLength = 8
            flatbufferLength = framed.uncheckedReadLittleEndian(Int32.self, at: 4)
        }
        guard flatbufferLength > 0, prefixLength + Int(flatbufferLength) <= metadataLength else {
            throw QuiverError(
                .invalidMessage, "message metadata of \(flatbufferLength) bytes does not fit its block's \(metadataLength)")
        }
        return BlockFraming(
            offset: offset, metadataLength: metadataLength, bodyLength: bodyLength,
            flatbuffer: framed.uncheckedSlice(offset: prefixLength, count: Int(flatbufferLength)))
    }

    /// The body after a block's framing, once the message's own body length (`bodyLength`)
    /// is found to equal the block's.
    static func readBody(of block: BlockFraming, bodyLength: Int64, from input: any RandomAccessInput) throws -> Buffer {
        guard bodyLength == Int64(block.bodyLength) else {
            throw QuiverError(
                .invalidMessage, "message body length \(bodyLength) differs from its block's \(block.bodyLength)")
        }
        return try input.read(at: block.offset + block.metadataLength, count: block.bodyLength)
    }
}

/// Which (batch, column) pairs of one mapped file have passed full validation; batches are
/// named by their message offset, so readers with different footers of one growing file
/// agree.
final class ValidatedColumns: Sendable {
    private let pairs = Mutex<Set<PairKey>>([])

    private struct PairKey: Hashable {
        let offset: Int64
        let column: Int
    }

    func contains(offset: Int64, columns: [Int]) -> Bool {
        pairs.withLock { pairs in columns.allSatisfy { pairs.contains(PairKey(offset: offset, column: $0)) } }
    }

    func insert(offset: Int64, columns: [Int]) {
        pairs.withLock { pairs in for column in columns { pairs.insert(PairKey(offset: offset, column: column)) } }
    }
}

/// A mapped file's footer as `FileReader.readFooter` found it (or the error it threw): the
/// mapped bytes do not change while the mapping lives (see `MappingCache`).
private final class DecodedFooter: Sendable {
    let footer: Result<(footer: Footer, offset: Int), any Error>
    init(_ footer: Result<(footer: Footer, offset: Int), any Error>) { self.footer = footer }
}
