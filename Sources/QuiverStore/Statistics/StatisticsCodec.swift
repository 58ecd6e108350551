import QuiverArrow
import QuiverBytes
import QuiverIPC
import Synchronization

// Statistics in the footer: the Arrow *statistics schema*, as a small IPC stream.
//
// A store file's footer custom_metadata holds, under the key `quiver:statistics`, the
// base64 text (metadata values must be UTF-8) of an Arrow IPC **stream** with this schema
// (docs/source/format/StatisticsSchema.rst in apache/arrow):
//
//     column:     int32                                  -- null: the record batch itself
//     statistics: map<key:   dictionary<int32, utf8>,    -- statistic name
//                     value: dense_union<int64=0, uint64=1, double=2, bool=3, utf8=4, binary=5>>
//                                                         -- only the members the file needs
//
// and one record batch that describes every record batch of the file, in footer order.
// Its rows come in groups, one group per data batch:
//
//     column = null   { ARROW:row_count:exact → int64 }                   starts a group
//     column = c      { ARROW:null_count:exact → int64,
//                       ARROW:min_value:exact|approximate → value,
//                       ARROW:max_value:exact|approximate → value }     one row per column
//
// `c` is the column's index in the record batch's depth-first field node order (the rule
// of the statistics schema; equal to the field index for flat schemas). Values use the
// kinds of Arrow C++'s ArrayStatistics: int64 for signed integers, dates, times,
// timestamps and durations; uint64; double for floats; bool; utf8 for string columns and
// binary for binary columns — cut to a prefix and keyed `…:approximate` when longer than
// the store's prefix length (see StatisticsCollector). The union has int64 plus the
// members the file's column types need, each with its fixed type code; the key dictionary
// always holds the six names below.
//
// Readers get every batch's row count and min/max from the footer alone: no data page is
// touched. pyarrow: `base64.b64decode(pa.ipc.open_file(f).metadata[b"quiver:statistics"])`
// then `pa.ipc.open_stream(...).read_all()`.

/// Encodes and decodes per-batch statistics with the Arrow statistics schema.
package enum StatisticsCodec {
    /// The footer metadata key (package: the query engine looks for it to enable zone maps).
    package static let metadataKey = "quiver:statistics"

    /// The statistic names Quiver writes, in key-dictionary order.
    enum Key: Int32, CaseIterable {
        case rowCount, nullCount, minExact, maxExact, minApproximate, maxApproximate

        var name: String {
            switch self {
            case .rowCount: return "ARROW:row_count:exact"
            case .nullCount: return "ARROW:null_count:exact"
            case .minExact: return "ARROW:min_value:exact"
            case .maxExact: return "ARROW:max_value:exact"
            case .minApproximate: return "ARROW:min_value:approximate"
            case .maxApproximate: return "ARROW:max_value:approximate"
            }
        }

        static let byName: [String: Key] = Dictionary(uniqueKeysWithValues: allCases.map { ($0.name, $0) })
    }

    /// Every possible union member; a member's type code is its index here, in every
    /// stream, so codes mean the same whichever members a stream has.
    static let valueFields = [
        Field("int64", .int64), Field("uint64", .uint64), Field("double", .float64), Field("bool", .boolean),
        Field("utf8", .utf8), Field("binary", .binary),
    ]
    static let keyType = DataType.dictionary(index: .int32, value: .utf8, ordered: false)

    /// The six key names as a utf8 array (the key dictionary).
    static let keyDictionary: ArrayData = ArrayData.build(from: Key.allCases.map { Optional($0.name) })

    /// The union member (type code) that stores `value`.
    static func code(of value: StatisticValue) -> Int {
        switch value {
        case .int: return 0
        case .uint: return 1
        case .double: return 2
        case .bool: return 3
        case .string: return 4
        case .binary: return 5
        }
    }

    /// The union members a file of `schema` needs, as a bit set over `valueFields`: int64
    /// (counts) always, plus the kind of each column's minimum and maximum.
    static func members(for schema: Schema) -> UInt8 {
        schema.fields.reduce(UInt8(1)) { set, field in
            switch field.type.storageType {
            case .uint8, .uint16, .uint32, .uint64: return set | 1 << 1
            case .float32, .float64: return set | 1 << 2
            case .boolean: return set | 1 << 3
            case .utf8, .largeUtf8, .utf8View: return set | 1 << 4
            case .binary, .largeBinary, .binaryView, .fixedSizeBinary: return set | 1 << 5
            default: return set
            }
        }
    }

    /// The statistics schema with the union members of `members`, the start of every stream
    /// with that schema (its schema message and the key dictionary, id 0: constant, so
    /// encoded once), and the dictionaries its record batches decode against.
    struct Layout: Sendable {
        let members: UInt8
        let schema: Schema
        let prefix: [UInt8]
        let dictionaries: DictionaryMemo

        init(members: UInt8) throws {
            self.members = members
            let codes = (0..<valueFields.count).filter { members & 1 << $0 != 0 }
            let valueType = DataType.union(.dense, fields: codes.map { valueFields[$0] }, typeIds: codes.map { Int8($0) })
            let entries = Field(
                "entries",
                .struct([Field("key", keyType, nullable: false, dictionaryId: 0), Field("value", valueType, nullable: false)]),
                nullable: false)
            schema = Schema([
                Field("column", .int32), Field("statistics", .map(entries: entries, keysSorted: false), nullable: false),
            ])
            let output = BufferOutputStream()
            try MessageFraming.write(.schema(schema), body: nil, to: output)
            let body = try ArrayEncoder.encode([keyDictionary], length: keyDictionary.length)
            try MessageFraming.write(
                .dictionaryBatch(DictionaryBatchHeader(id: 0, data: body.header, isDelta: false)), body: body, to: output)
            prefix = output.getvalue().array
            let reader = try StreamReader(bytes: prefix + [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0])
            _ = try reader.readNext()
            dictionaries = reader.dictionaries
        }

        /// The layout for `members`, built once per member set.
        static func of(_ members: UInt8) throws -> Layout {
            if let cached = cache.withLock({ $0[members] }) { return cached }
            let layout = try Layout(members: members)
            cache.withLock { $0[members] = layout }
            return layout
        }

        private static let cache = Mutex<[UInt8: Layout]>([:])
    }

    /// The node index of each top-level field of `schema` (depth-first over children).
    static func nodeIndices(_ schema: Schema) -> [Int] {
        func nodes(_ type: DataType) -> Int { 1 + type.storageType.children.reduce(0) { $0 + nodes($1.type) } }
        var next = 0
        return schema.fields.map { field in
            defer { next += nodes(field.type) }
            return next
        }
    }

    // MARK: Encoding

    /// The base64 text of a statistics stream describing `batches` of a file of `schema`.
    static func encode(_ batches: [BatchStatistics], schema dataSchema: Schema) throws -> String {
        let stream = try encodeStream(batches, schema: dataSchema)
        return Base64.encode(stream)
    }

    /// The statistics IPC stream itself.
    static func encodeStream(_ batches: [BatchStatistics], schema dataSchema: Schema) throws -> Buffer {
        var encoder = StatisticsEncoder(schema: dataSchema)
        for batch in batches { encoder.append(batch) }
        return try encoder.stream()
    }

    // MARK: Decoding

    /// Decodes the statistics of a file of `schema` from the footer metadata text. Accepts
    /// any stream with the statistics schema's shape (other key orders, other union members,
    /// several record batches); statistics it does not know are skipped. Throws
    /// `invalidData` for text or a stream that is not statistics.
    static func decode(_ text: String, schema dataSchema: Schema, pool: MemoryPool = .default) throws -> [BatchStatistics] {
        let stream = try Base64.decode(text, pool: pool)
        let columnOf = Dictionary(
            nodeIndices(dataSchema).enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { first, _ in first })
        var result: [BatchStatistics] = []
        for batch in try recordBatches(stream, expected: try Layout.of(members(for: dataSchema)), pool: pool) {
            try decodeBatch(batch, columns: dataSchema.fields.count, columnOf: columnOf, into: &result)
        }
        return result
    }

    /// The record batches of a statistics stream. Streams Quiver wrote for this schema
    /// start with the layout's constant prefix, whose schema and dictionary need no
    /// decoding; any other stream is read in full.
    private static func recordBatches(_ stream: Buffer, expected: Layout, pool: MemoryPool) throws -> [RecordBatch] {
        let options = IPCReadOptions(pool: pool)
        let prefixLength = expected.prefix.count
        guard stream.count > prefixLength,
            expected.prefix.withUnsafeBytes({ prefix in
                prefix.elementsEqual(UnsafeRawBufferPointer(start: stream.baseAddress, count: prefix.count))
            })
        else {
            return try StreamReader(buffer: stream, options: options).readBatches()
        }
        let messages = MessageReader(BufferInput(try stream.slice(from: prefixLength)), options: options)
        var batches: [RecordBatch] = []
        while let message = try messages.next() {
            guard case .recordBatch(let header) = message.metadata.header else {
                throw QuiverError(.invalidData, "statistics stream holds an unexpected message after its dictionary")
            }
            batches.append(
                try ArrayDecoder.decodeRecordBatch(
                    schema: expected.schema, header: header, body: message.body, dictionaries: expected.dictionaries,
                    version: message.metadata.version, options: options))
        }
        return batches
    }

    private static func decodeBatch(
        _ batch: RecordBatch, columns columnCount: Int, columnOf: [Int: Int], into result: inout [BatchStatistics]
    ) throws {
        guard batch.columns.count == 2, case .map = batch.columns[1].type.storageType,
            let column = try? Int32Array(batch.columns[0])
        else {
            throw QuiverError(.invalidData, "statistics stream does not have the statistics schema")
        }
        let map = batch.columns[1]
        let entries = map.children[0]
        guard entries.children.count == 2 else { throw QuiverError(.invalidData, "statistics map entries are not key/value") }
        let keys = try KeyColumn(entries.children[0], parentOffset: entries.offset)
        let values = try ValueColumn(entries.children[1], parentOffset: entries.offset)
        let offsets = map.buffers[1].typed(as: Int32.self)
        for row in 0..<batch.length {
            let range = Int(offsets[map.offset + row])..<Int(offsets[map.offset + row + 1])
            if column.isNull(row) {
                var rowCount: Int?
                for entry in range where keys.key(entry) == .rowCount {
                    if case .int(let count)? = values.value(entry) { rowCount = Int(count) }
                }
                guard let rowCount, rowCount >= 0 else {
                    throw QuiverError(.invalidData, "statistics row \(row) describes a batch without an exact row count")
                }
                result.append(BatchStatistics(rowCount: rowCount, columns: Array(repeating: nil, count: columnCount)))
                continue
            }
            guard !result.isEmpty else {
                throw QuiverError(.invalidData, "statistics row \(row) describes a column before any batch")
            }
            guard let index = columnOf[Int(column.value(at: row))] else { continue }  // a nested child: not recorded
            var stats = ColumnStatistics(nullCount: 0)
            for entry in range {
                guard let key = keys.key(entry), let value = values.value(entry) else { continue }
                switch key {
                case .rowCount: continue
                case .nullCount:
                    if case .int(let count) = value { stats.nullCount = Int(count) }
                case .minExact, .minApproximate: stats.min = StatisticBound(value, isExact: key == .minExact)
                case .maxExact, .maxApproximate: stats.max = StatisticBound(value, isExact: key == .maxExact)
                }
            }
            result[result.count - 1].columns[index] = stats
        }
    }

    /// The statistic names of the map keys (dictionary-encoded or plain utf8).
    private struct KeyColumn {
        let indices: ArrayData?
        let names: [Key?]
        let offset: Int

        init(_ data: ArrayData, parentOffset: Int) throws {
            offset = parentOffset
            switch data.type.storageType {
            case .dictionary(.int32, .utf8, _):
                guard let dictionary = data.dictionary else { throw QuiverError(.invalidData, "statistics keys have no dictionary") }
                let strings = try StringArray(dictionary)
                names = (0..<strings.length).map { strings.isNull($0) ? nil : Key.byName[strings.value(at: $0)] }
                indices = data
            case .utf8:
                let strings = try StringArray(data)
                names = (0..<strings.length).map { strings.isNull($0) ? nil : Key.byName[strings.value(at: $0)] }
                indices = nil
            default:
                throw QuiverError(.invalidData, "statistics keys are \(data.type), not dictionary<int32, utf8>")
            }
        }

        func key(_ entry: Int) -> Key? {
            let slot = offset + entry
            guard let indices else { return names[slot] }
            guard indices.isValid(slot) else { return nil }
            let index = Int(indices.buffers[1].typed(as: Int32.self)[indices.offset + slot])
            return index < names.count ? names[index] : nil
        }
    }

    /// The values of the dense union, read by member type.
    private struct ValueColumn {
        let union: ArrayData
        let offset: Int
        /// Per type code: the member's reader (slot → value), nil for members of other types.
        let readers: [Int8: (Int) -> StatisticValue?]

        init(_ data: ArrayData, parentOffset: Int) throws {
            guard case .union(.dense, _, let typeIds) = data.type.storageType, data.children.count == typeIds.count else {
                throw QuiverError(.invalidData, "statistics values are \(data.type), not a dense union")
            }
            union = data
            offset = parentOffset
            var readers: [Int8: (Int) -> StatisticValue?] = [:]
            for (code, child) in zip(typeIds, data.children) where readers[code] == nil {
                readers[code] = ValueColumn.reader(child)
            }
            self.readers = readers
        }

        /// Reads slot `index` of a member array (nil for a null or an unknown type).
        private static func reader(_ child: ArrayData) -> ((Int) -> StatisticValue?)? {
            func make<A: ArrowScalarArray>(_ array: A?, _ wrap: @escaping (A.Value) -> StatisticValue) -> ((Int) -> StatisticValue?)? {
                guard let array else { return nil }
                return { index in
                    guard index >= 0, index < array.length, array.isValid(index) else { return nil }
                    return wrap(array.value(at: index))
                }
            }
            switch child.type.storageType {
            case .int64: return make(try? Int64Array(child)) { .int($0) }
            case .uint64: return make(try? UInt64Array(child)) { .uint($0) }
            case .float64: return make(try? Float64Array(child)) { .double($0) }
            case .boolean: return make(try? BooleanArray(child)) { .bool($0) }
            case .utf8: return make(try? StringArray(child)) { .string($0) }
            case .largeUtf8: return make(try? LargeStringArray(child)) { .string($0) }
            case .binary: return make(try? BinaryArray(child)) { .binary($0) }
            case .largeBinary: return make(try? LargeBinaryArray(child)) { .binary($0) }
            default: return nil
            }
        }

        func value(_ entry: Int) -> StatisticValue? {
            let slot = union.offset + offset + entry
            let code = union.buffers[0].typed(as: Int8.self)[slot]
            return readers[code]?(Int(union.buffers[1].typed(as: Int32.self)[slot]))
        }
    }
}
