import QuiverArrow
import QuiverBytes
@testable import QuiverIPC
import Testing

/// Encodes one array into a record batch body and decodes it back (no framing, no flatbuffers).
func bodyRoundTrip(
    _ field: Field, _ data: ArrayData, write: IPCWriteOptions = .init(), read: IPCReadOptions = .init()
) throws -> (data: ArrayData, encoded: EncodedBody) {
    var memo = try DictionaryMemo(schema: Schema([field]))
    if let dictionary = data.dictionary, let id = field.dictionaryId {
        let encoded = try ArrayEncoder.encode([dictionary], length: dictionary.length)
        try memo.apply(DictionaryBatchHeader(id: id, data: encoded.header, isDelta: false), body: try encoded.makeBody())
    }
    let encoded = try ArrayEncoder.encode([data], length: data.length, options: write)
    let body = try encoded.makeBody()
    let batch = try ArrayDecoder.decodeRecordBatch(
        schema: Schema([field]), header: encoded.header, body: body, dictionaries: memo, options: read)
    return (batch.columns[0], encoded)
}

private func fixture(_ name: String) -> (name: String, field: Field, data: ArrayData) {
    Fixtures.all.first { $0.name == name }!
}

@Suite struct BodyRoundTripTests {
    static let names = Fixtures.all.map(\.name)

    @Test(arguments: names) func wholeArray(_ name: String) throws {
        let (_, field, data) = fixture(name)
        let (decoded, encoded) = try bodyRoundTrip(field, data)
        #expect(Render.slots(decoded) == Render.slots(data))
        #expect(decoded.nullCount == data.nullCount)
        #expect(decoded.type == data.type)
        #expect(encoded.bodyLength % 8 == 0)
        #expect(encoded.header.buffers.allSatisfy { $0.offset % 8 == 0 })
        #expect(try decoded.hasSameContents(as: data, includingDictionaries: true))
    }

    @Test(arguments: names) func slicedArrays(_ name: String) throws {
        let (_, field, data) = fixture(name)
        for (start, length) in [(1, 20), (3, 7), (8, 15), (9, 0), (5, 18), (22, 1), (0, 23)] {
            let slice = data.slice(from: start, length: length)
            let (decoded, encoded) = try bodyRoundTrip(field, slice)
            #expect(Render.slots(decoded) == Render.slots(slice), "\(name) [\(start), +\(length))")
            #expect(decoded.nullCount == slice.nullCount, "\(name) [\(start), +\(length))")
            #expect(decoded.length == length)
            // Re-based output is self-contained: its size does not grow with the parent's.
            if start > 0 && length < 8 && name != "utf8_view" && name != "binary_view" {
                let whole = try ArrayEncoder.encode([data], length: data.length).bodyLength
                #expect(encoded.bodyLength <= whole)
            }
        }
    }

    @Test(arguments: names) func concatenationRestoresTheWhole(_ name: String) throws {
        let (_, _, data) = fixture(name)
        let parts = [data.slice(from: 0, length: 5), data.slice(from: 5, length: 8), data.slice(from: 13, length: 0),
                     data.slice(from: 13, length: 10)]
        let joined = try ArrayData.concatenate(parts, pool: MemoryPool())
        #expect(joined.length == data.length)
        #expect(joined.nullCount == data.nullCount)
        #expect(Render.slots(joined) == Render.slots(data))
        let twice = try ArrayData.concatenate([data, data.slice(from: 2, length: 9)])
        #expect(Render.slots(twice) == Render.slots(data) + Render.slots(data.slice(from: 2, length: 9)))
    }

    @Test func concatenateRejectsMixedTypes() {
        #expect(throws: QuiverError.self) {
            try ArrayData.concatenate([Fixtures.int32([1]), Fixtures.bool([true])])
        }
        #expect(throws: QuiverError.self) { try ArrayData.concatenate([]) }
    }

    @Test func alignment64PadsEveryBuffer() throws {
        let (_, field, data) = fixture("list_of_struct")
        let (decoded, encoded) = try bodyRoundTrip(field, data, write: IPCWriteOptions(alignment: 64))
        #expect(encoded.header.buffers.allSatisfy { $0.offset % 64 == 0 })
        #expect(encoded.bodyLength % 64 == 0)
        #expect(Render.slots(decoded) == Render.slots(data))
        #expect(throws: QuiverError.self) {
            try ArrayEncoder.encode([data], length: data.length, options: IPCWriteOptions(alignment: 16))
        }
    }

    @Test func alignedBodiesDecodeWithoutCopying() throws {
        let columns = ["int64", "utf8", "list", "bool", "dense_union", "struct"].map(fixture)
        let encoded = try ArrayEncoder.encode(columns.map(\.data), length: 23)
        let body = try encoded.makeBody()
        let pool = MemoryPool()
        let batch = try ArrayDecoder.decodeRecordBatch(
            schema: Schema(columns.map(\.field)), header: encoded.header, body: body, dictionaries: try DictionaryMemo(schema: Schema([])),
            options: IPCReadOptions(pool: pool))
        #expect(pool.allocationCount == 0)
        func inBody(_ data: ArrayData) -> Bool {
            data.buffers.allSatisfy {
                $0.count == 0 || ($0.baseAddress >= body.baseAddress && $0.baseAddress + $0.count <= body.baseAddress + body.count)
            } && data.children.allSatisfy(inBody)
        }
        #expect(batch.columns.allSatisfy(inBody))
        for (column, expected) in zip(batch.columns, columns) {
            #expect(Render.slots(column) == Render.slots(expected.data))
        }
    }

    @Test func misalignedBuffersAreCopiedOnce() throws {
        let (_, field, data) = fixture("decimal128")
        let encoded = try ArrayEncoder.encode([data], length: data.length)
        let aligned = try encoded.makeBody()
        // The same body 4 bytes past an aligned address.
        let shifted = Buffer(copying: [0, 0, 0, 0] + aligned.array)
        let body = try shifted.slice(from: 4)
        let pool = MemoryPool()
        let batch = try ArrayDecoder.decodeRecordBatch(
            schema: Schema([field]), header: encoded.header, body: body, dictionaries: try DictionaryMemo(schema: Schema([])),
            options: IPCReadOptions(pool: pool))
        let values = batch.columns[0].buffers[1]
        #expect(values.isAligned(to: 16))
        #expect(pool.allocationCount == 1)  // the values; the bitmap needs no alignment
        #expect(Render.slots(batch.columns[0]) == Render.slots(data))

        // 8-byte alignment — all any Arrow writer promises — is enough for 128-bit values:
        // no copy.
        let eightAligned = try Buffer(copying: [UInt8](repeating: 0, count: 8) + aligned.array).slice(from: 8)
        #expect(!eightAligned.isAligned(to: 16))
        let zeroCopyPool = MemoryPool()
        let zeroCopy = try ArrayDecoder.decodeRecordBatch(
            schema: Schema([field]), header: encoded.header, body: eightAligned,
            dictionaries: try DictionaryMemo(schema: Schema([])), options: IPCReadOptions(pool: zeroCopyPool))
        #expect(zeroCopyPool.allocationCount == 0)
        #expect(Render.slots(zeroCopy.columns[0]) == Render.slots(data))
    }

    @Test func legacyAndHeaderVariants() throws {
        // A validity buffer of length 0 with null count 0 (what pyarrow writes) reads as all valid.
        let header = RecordBatchHeader(
            length: 2, nodes: [FieldNode(length: 2, nullCount: 0)],
            buffers: [BufferRegion(offset: 0, length: 0), BufferRegion(offset: 0, length: 8)])
        let body = Buffer(copyingValues: [Int32(7), Int32(9)])
        let batch = try ArrayDecoder.decodeRecordBatch(
            schema: Schema([Field("x", .int32)]), header: header, body: body, dictionaries: try DictionaryMemo(schema: Schema([])))
        #expect(Render.slots(batch.columns[0]) == Render.slots(Fixtures.int32([7, 9])))
        // V4 unions carry a validity buffer before their type ids; it is skipped.
        let union = DataType.union(.sparse, fields: [Field("i", .int32)], typeIds: [0])
        let v4 = RecordBatchHeader(
            length: 2, nodes: [FieldNode(length: 2, nullCount: 0), FieldNode(length: 2, nullCount: 0)],
            buffers: [BufferRegion(offset: 0, length: 0), BufferRegion(offset: 8, length: 2),
                      BufferRegion(offset: 0, length: 0), BufferRegion(offset: 0, length: 8)])
        let unionBody = Buffer(copying: [7, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        let decoded = try ArrayDecoder.decodeRecordBatch(
            schema: Schema([Field("u", union)]), header: v4, body: unionBody, dictionaries: try DictionaryMemo(schema: Schema([])),
            version: .v4)
        #expect(Render.slots(decoded.columns[0]) == ["0:" + Render.bytes(unionBody, 0, 4), "0:" + Render.bytes(unionBody, 4, 4)])
    }

    /// A projected read finds each column through spans worked out once per schema (no view
    /// types) or per batch (view types): both must still reject a header that lacks the nodes
    /// or buffers the schema needs, and read the projected column right when it has them.
    @Test(arguments: ["list_of_struct", "utf8_view"])
    func projectedDecodeChecksSpans(_ name: String) throws {
        let (_, field, data) = fixture(name)
        let encoded = try ArrayEncoder.encode([data, data], length: data.length)
        let body = try encoded.makeBody()
        let schema = Schema([Field("a", field.type, nullable: true), Field("b", field.type, nullable: true)])
        let plan = SchemaPlan(schema, maxDepth: IPCReadOptions().maxNestingDepth)
        #expect((plan.spans == nil) == (name == "utf8_view"))
        func decode(_ header: RecordBatchHeader) throws -> RecordBatch {
            try ArrayDecoder.decodeRecordBatch(
                schema: schema, header: header, body: body, dictionaries: try DictionaryMemo(schema: Schema([])),
                version: .v5, options: IPCReadOptions(), missingDictionaries: .error, columns: [1], plan: plan)
        }
        #expect(Render.slots(try decode(encoded.header).columns[0]) == Render.slots(data))
        var short = encoded.header
        short.nodes.removeLast()
        #expect(throws: QuiverError.self) { try decode(short) }
        short = encoded.header
        short.buffers.removeLast()
        #expect(throws: QuiverError.self) { try decode(short) }
    }

    @Test func malformedHeadersThrow() throws {
        let (_, field, data) = fixture("list_of_struct")
        let encoded = try ArrayEncoder.encode([data], length: data.length)
        let body = try encoded.makeBody()
        let memo = try DictionaryMemo(schema: Schema([]))
        var variants: [RecordBatchHeader] = []
        var header = encoded.header
        header.nodes.removeLast()
        variants.append(header)
        header = encoded.header
        header.buffers.removeLast()
        variants.append(header)
        header = encoded.header
        header.buffers[3].offset = Int64(body.count)
        header.buffers[3].length = 8
        variants.append(header)
        header = encoded.header
        header.buffers[2].length = -1
        variants.append(header)
        header = encoded.header
        header.buffers[1].length = 1 << 60
        variants.append(header)
        header = encoded.header
        header.nodes[0].nullCount = header.nodes[0].length + 1
        variants.append(header)
        header = encoded.header
        header.nodes[1].length = -5
        variants.append(header)
        header = encoded.header
        header.length = 99
        variants.append(header)
        for (index, variant) in variants.enumerated() {
            #expect(throws: QuiverError.self, "variant \(index)") {
                try ArrayDecoder.decodeRecordBatch(
                    schema: Schema([field]), header: variant, body: body, dictionaries: memo)
            }
        }
        // A view column without its variadic count.
        let view = fixture("utf8_view")
        var viewHeader = try ArrayEncoder.encode([view.data], length: 23).header
        viewHeader.variadicBufferCounts = []
        #expect(throws: QuiverError.self) {
            try ArrayDecoder.decode(fields: [view.field], header: viewHeader, body: body, dictionaries: memo)
        }
        viewHeader.variadicBufferCounts = [1 << 40]
        #expect(throws: QuiverError.self) {
            try ArrayDecoder.decode(fields: [view.field], header: viewHeader, body: body, dictionaries: memo)
        }
        // A dictionary column whose dictionary was never read.
        let dictionary = fixture("dictionary")
        let indices = try ArrayEncoder.encode([dictionary.data], length: 23)
        #expect(throws: QuiverError.self) {
            try ArrayDecoder.decode(
                fields: [dictionary.field], header: indices.header, body: try indices.makeBody(),
                dictionaries: try DictionaryMemo(schema: Schema([dictionary.field])))
        }
    }

    @Test func nestingDepthIsBounded() throws {
        var type = DataType.int32
        for _ in 0..<10 { type = .list(Field("item", type)) }
        let header = RecordBatchHeader(
            length: 0, nodes: Array(repeating: FieldNode(length: 0, nullCount: 0), count: 11),
            buffers: Array(repeating: BufferRegion(offset: 0, length: 0), count: 22))
        let fields = [Field("deep", type)]
        let memo = try DictionaryMemo(schema: Schema([]))
        #expect(throws: QuiverError.self) {
            try ArrayDecoder.decode(
                fields: fields, header: header, body: .empty, dictionaries: memo, options: IPCReadOptions(maxNestingDepth: 5))
        }
        #expect(try ArrayDecoder.decode(fields: fields, header: header, body: .empty, dictionaries: memo).count == 1)
    }

    @Test func sameContentsComparison() throws {
        let (_, _, data) = fixture("utf8")
        #expect(try data.hasSameContents(as: data))
        let copy = try ArrayData.concatenate([data.slice(from: 0, length: 10), data.slice(from: 10, length: 13)])
        #expect(try copy.hasSameContents(as: data))
        #expect(try !copy.hasSameContents(as: data.slice(from: 1, length: 22)))
        let other = Fixtures.binary(.utf8, Fixtures.strings(23, nullEvery: 5))
        #expect(try !other.hasSameContents(as: data))
    }

    @Test func deltaDictionariesConcatenate() throws {
        let field = Field("d", .dictionary(index: .int8, value: .utf8, ordered: false), dictionaryId: 3)
        var memo = try DictionaryMemo(schema: Schema([field]))
        let first = Fixtures.binary(.utf8, ["a", "b"])
        let second = Fixtures.binary(.utf8, [nil, "c", "d"])
        let replacement = Fixtures.binary(.utf8, ["z"])
        func apply(_ values: ArrayData, delta: Bool, allowReplacement: Bool = true) throws -> DictionaryMemo.Update {
            let encoded = try ArrayEncoder.encode([values], length: values.length)
            return try memo.apply(
                DictionaryBatchHeader(id: 3, data: encoded.header, isDelta: delta), body: try encoded.makeBody(),
                allowReplacement: allowReplacement)
        }
        #expect(try apply(first, delta: false) == .new)
        #expect(try apply(second, delta: true) == .delta)
        #expect(Render.slots(memo[3]!) == Render.slots(first) + Render.slots(second))
        #expect(throws: QuiverError.self) { try apply(replacement, delta: false, allowReplacement: false) }
        #expect(try apply(replacement, delta: false) == .replacement)
        #expect(Render.slots(memo[3]!) == Render.slots(replacement))
        let unknown = try ArrayEncoder.encode([first], length: 2)
        #expect(throws: QuiverError.self) {
            try memo.apply(DictionaryBatchHeader(id: 4, data: unknown.header, isDelta: false), body: try unknown.makeBody())
        }
    }
}
