import Foundation
import QuiverArrow
import QuiverBytes
@testable import QuiverIPC
import QuiverTestSupport
import Testing

/// The footer flatbuffer of an Arrow file: `… | footer | int32 length | "ARROW1"`.
private func footerBytes(_ file: Buffer) throws -> Buffer {
    let length = Int(try file.readLittleEndian(Int32.self, at: file.count - 10))
    return try file.slice(offset: file.count - 10 - length, count: length)
}

private func goldenFiles(_ suffix: String) throws -> [URL] {
    let dir = TestPaths.golden.appendingPathComponent("integration/cpp-21.0.0")
    return try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
        .filter { $0.lastPathComponent.hasSuffix(suffix) }.sorted { $0.path < $1.path }
}

@Suite struct MetadataTests {
    @Test func everyGoldenFooterDecodesAndRoundTrips() throws {
        let files = try goldenFiles(".arrow_file")
        #expect(files.count >= 30)
        for url in files {
            let file = Buffer(copying: [UInt8](try Data(contentsOf: url)))
            let footer = try ArrowMetadata.decodeFooter(try footerBytes(file))
            #expect(footer.version == .v5)
            let again = try ArrowMetadata.decodeFooter(Buffer(copying: ArrowMetadata.encodeFooter(footer)))
            #expect(again.schema == footer.schema, "\(url.lastPathComponent)")
            #expect(again.recordBatches == footer.recordBatches)
            #expect(again.dictionaries == footer.dictionaries)
        }
    }

    @Test func decodesTypesOfTheGoldenSchemas() throws {
        func schema(_ name: String) throws -> Schema {
            let url = TestPaths.golden.appendingPathComponent("integration/cpp-21.0.0/generated_\(name).arrow_file")
            let file = Buffer(copying: [UInt8](try Data(contentsOf: url)))
            return try ArrowMetadata.decodeFooter(try footerBytes(file)).schema
        }
        let primitive = try schema("primitive")
        #expect(primitive.fields[0] == Field("bool_nullable", .boolean, nullable: true))
        #expect(primitive.fields.count == 22)
        #expect(primitive.fields[21] == Field("float64_nonnullable", .float64, nullable: false))
        let extensionSchema = try schema("extension")
        #expect(extensionSchema.fields.contains {
            if case .extension = $0.type { return true } else { return false }
        })
        let dictionary = try schema("dictionary")
        #expect(dictionary.fields.allSatisfy { $0.dictionaryId != nil })
        let ree = try schema("run_end_encoded")
        #expect(ree.fields[0].type == .runEndEncoded(runEnds: Field("run_ends", .int16, nullable: false), values: Field("values", .int32)))
        #expect(ree.fields.filter { $0.name.hasPrefix("ree") }.allSatisfy { if case .runEndEncoded = $0.type { true } else { false } })
        let metadata = try schema("custom_metadata")
        #expect(!metadata.metadata.isEmpty)
    }

    @Test func messageRoundTripsEveryHeaderKind() throws {
        let schema = Schema(
            [
                Field("a", .timestamp(.microsecond, timezone: "UTC"), nullable: false, metadata: ["k": "v"]),
                Field("d", .dictionary(index: .int16, value: .utf8, ordered: true), dictionaryId: 7),
                Field("u", .union(.dense, fields: [Field("x", .int8), Field("y", .utf8View)], typeIds: [5, 9])),
                Field("e", .extension(name: "my.uuid", metadata: "{}", storage: .fixedSizeBinary(byteWidth: 16))),
                Field("m", .map(entries: Field("entries", .struct([Field("key", .utf8, nullable: false), Field("value", .decimal(bitWidth: 32, precision: 7, scale: 2))]), nullable: false), keysSorted: true)),
                Field("r", .runEndEncoded(runEnds: Field("run_ends", .int32, nullable: false), values: Field("values", .largeListView(Field("item", .float16))))),
            ], metadata: ["schema-key": "schema-value"])
        let schemaMessage = MessageMetadata(header: .schema(schema), bodyLength: 0, customMetadata: ["m": "1"])
        let decodedSchema = try ArrowMetadata.decodeMessage(Buffer(copying: ArrowMetadata.encodeMessage(schemaMessage)))
        guard case .schema(let again) = decodedSchema.header else { Issue.record("not a schema"); return }
        #expect(again == schema)
        #expect(decodedSchema.customMetadata["m"] == "1")

        let batch = RecordBatchHeader(
            length: 3, nodes: [FieldNode(length: 3, nullCount: 1)],
            buffers: [BufferRegion(offset: 0, length: 8), BufferRegion(offset: 8, length: 16)],
            compression: .zstd, variadicBufferCounts: [2, 0])
        let dictionaryMessage = MessageMetadata(
            header: .dictionaryBatch(DictionaryBatchHeader(id: 7, data: batch, isDelta: true)), bodyLength: 24)
        let decoded = try ArrowMetadata.decodeMessage(Buffer(copying: ArrowMetadata.encodeMessage(dictionaryMessage)))
        guard case .dictionaryBatch(let dictionary) = decoded.header else { Issue.record("not a dictionary"); return }
        #expect(dictionary == DictionaryBatchHeader(id: 7, data: batch, isDelta: true))
        #expect(decoded.bodyLength == 24)
    }

    @Test func pyarrowReadsOurSchemaMessage() throws {
        let schema = Schema([
            Field("id", .int64, nullable: false),
            Field("name", .dictionary(index: .int32, value: .utf8, ordered: false), dictionaryId: 0),
            Field("tags", .list(Field("item", .utf8))),
        ], metadata: ["origin": "quiver"])
        let flatbuffer = ArrowMetadata.encodeMessage(MessageMetadata(header: .schema(schema), bodyLength: 0))
        var framed: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF]
        let padded = alignUp(flatbuffer.count, to: 8)
        withUnsafeBytes(of: Int32(padded).littleEndian) { framed += $0 }
        framed += flatbuffer + [UInt8](repeating: 0, count: padded - flatbuffer.count)
        let output = try Python.run(
            """
            import sys, pyarrow as pa
            s = pa.ipc.read_schema(pa.py_buffer(sys.stdin.buffer.read()))
            print(s.field('id').type, s.field('id').nullable, s.field('name').type, s.field('tags').type, s.metadata[b'origin'].decode())
            """, input: framed)
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines)
            == "int64 False dictionary<values=string, indices=int32, ordered=0> list<item: string> quiver")
    }

    @Test func bigEndianSchemasAreRejectedNotMisread() throws {
        // A Schema table with endianness = Big (1) and one int32 field.
        let builder = FlatBufferBuilder()
        let name = builder.createString("x")
        builder.startTable()
        builder.add(0, Int32(32), default: 0)
        builder.add(1, true)
        let intType = builder.endTable()
        let children = builder.createOffsetVector([])
        builder.startTable()
        builder.add(ArrowMetadata.FieldField.name, name)
        builder.add(ArrowMetadata.FieldField.type, intType)
        builder.add(ArrowMetadata.FieldField.children, children)
        builder.add(ArrowMetadata.FieldField.typeType, UInt8(2), default: 0)
        let field = builder.endTable()
        let fields = builder.createOffsetVector([field])
        builder.startTable()
        builder.add(ArrowMetadata.SchemaField.endianness, Int16(1), default: 0)
        builder.add(ArrowMetadata.SchemaField.fields, fields)
        let schema = builder.endTable()
        builder.startTable()
        builder.add(ArrowMetadata.MessageField.header, schema)
        builder.add(ArrowMetadata.MessageField.version, Int16(4), default: -1)
        builder.add(ArrowMetadata.MessageField.headerType, UInt8(1), default: 0)
        let bytes = builder.finish(root: builder.endTable())
        do {
            _ = try ArrowMetadata.decodeMessage(Buffer(copying: bytes))
            Issue.record("a big-endian schema decoded")
        } catch let error as QuiverError {
            #expect(error.code == .unsupported)
            #expect(error.message.contains("big-endian"))
        }
    }

    /// Arrow C++'s precision bounds per decimal width, enforced when a schema is read (a
    /// precision of 1769238607 came from a fuzzer); the scale is free, as in Arrow.
    @Test(.tags(.untrustedInput), arguments: [(32, 9), (64, 18), (128, 38), (256, 76)])
    func decimalPrecisionIsBoundedByWidth(_ bitWidth: Int, _ maxPrecision: Int) throws {
        func decode(_ precision: Int, scale: Int = 2) throws -> MessageMetadata {
            let type = DataType.decimal(bitWidth: bitWidth, precision: precision, scale: scale)
            return try ArrowMetadata.decodeMessage(Buffer(copying: ArrowMetadata.encodeMessage(
                MessageMetadata(header: .schema(Schema([Field("d", type)])), bodyLength: 0))))
        }
        for (precision, scale) in [(maxPrecision, 2), (1, -2_000_000_000), (1, 2_000_000_000)] {
            guard case .schema(let schema) = try decode(precision, scale: scale).header else {
                Issue.record("not a schema")
                continue
            }
            #expect(schema.fields[0].type == .decimal(bitWidth: bitWidth, precision: precision, scale: scale))
        }
        for bad in [0, -1, maxPrecision + 1, 1_769_238_607] {
            #expect(throws: QuiverError.self, "precision \(bad)") { try decode(bad) }
        }
    }

    @Test(.tags(.untrustedInput)) func hostileFlatBuffersThrow() throws {
        let valid = ArrowMetadata.encodeMessage(
            MessageMetadata(header: .schema(Schema([Field("a", .list(Field("b", .int32)))])), bodyLength: 0))
        // Every truncation and every single-byte corruption must throw or decode, never trap.
        for cut in 0..<valid.count {
            _ = try? ArrowMetadata.decodeMessage(Buffer(copying: Array(valid[0..<cut])))
        }
        for index in valid.indices {
            for value: UInt8 in [0x00, 0x7F, 0x80, 0xFF] {
                var mutated = valid
                mutated[index] = value
                _ = try? ArrowMetadata.decodeMessage(Buffer(copying: mutated))
            }
        }
        #expect(throws: QuiverError.self) { try ArrowMetadata.decodeMessage(Buffer(copying: [1, 0, 0, 0])) }
    }
}
