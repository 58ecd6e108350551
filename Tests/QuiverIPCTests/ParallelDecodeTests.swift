import QuiverArrow
import QuiverBytes
@testable import QuiverIPC
import QuiverTestSupport
import Testing

/// Large batches decode a column per task across cores (`IPCReadOptions.useThreads`): the
/// result, and the error a bad batch reports, must be exactly what the one-thread decode gives.
@Suite(.tags(.untrustedInput)) struct ParallelDecodeTests {
    static let rows = 60_000

    /// About 2 MB of body: strings with nulls, a list, a dictionary column and plain integers.
    static func batch() throws -> RecordBatch {
        let schema = Schema([
            Field("id", .int64), Field("name", .utf8), Field("tags", .list(Field("item", .int32))),
            Field("color", .dictionary(index: .int16, value: .utf8, ordered: false), dictionaryId: 0),
            Field("comment", .largeUtf8),
        ])
        let names = try ArrayData.build(
            (0..<rows).map { $0 % 13 == 0 ? .null : ArrowValue.string("name-\($0 % 1009)-é") }, type: .utf8)
        let tags = try ArrayData.build(
            (0..<rows).map { ArrowValue.list((0..<($0 % 3)).map { .int(Int64($0)) }) }, type: .list(Field("item", .int32)))
        var colors = ArrayData.build(from: (0..<rows).map { Int16($0 % 3) })
        colors.type = .dictionary(index: .int16, value: .utf8, ordered: false)
        colors.dictionary = try ArrayData.build(["red", "green", "blue"].map { ArrowValue.string($0) }, type: .utf8)
        let comments = try ArrayData.build(
            (0..<rows).map { row in
                // Scrambled digits, so that compressed bodies stay large too.
                let noise = String(UInt64(row + 1) &* 0x9E37_79B9_7F4A_7C15, radix: 36)
                return ArrowValue.string(String(repeating: "quiver ", count: row % 4) + noise + noise.uppercased())
            },
            type: .largeUtf8)
        return try RecordBatch(schema: schema, columns: [
            ArrayData.build(from: (0..<rows).map { Int64($0) * 3 }), names, tags, colors, comments,
        ])
    }

    static func decode(_ encoded: EncodedBody, body: Buffer, _ schema: Schema, threads: Bool, trusted: Bool = false)
        throws -> RecordBatch
    {
        var memo = try DictionaryMemo(schema: schema)
        let dictionary = try RecordBatch(schema: Schema([Field("v", .utf8)]), columns: [#require(batch().columns[3].dictionary)])
        let values = try ArrayEncoder.encode(dictionary.columns, length: dictionary.length)
        try memo.apply(
            DictionaryBatchHeader(id: 0, data: values.header, isDelta: false), body: values.makeBody(), version: .v5,
            options: .init(), allowReplacement: false)
        return try ArrayDecoder.decodeRecordBatch(
            schema: schema, header: encoded.header, body: body, dictionaries: memo,
            options: IPCReadOptions(trusted: trusted, useThreads: threads))
    }

    @Test(arguments: [nil, CompressionCodec.lz4Frame, .zstd])
    func sameBatchOnOneThreadOrMany(codec: CompressionCodec?) throws {
        let batch = try Self.batch()
        let encoded = try ArrayEncoder.encode(batch.columns, length: batch.length, options: .init(compression: codec))
        let body = try encoded.makeBody()
        #expect(body.count >= BodyCompression.parallelThreshold)
        for trusted in [false, true] {
            let serial = try Self.decode(encoded, body: body, batch.schema, threads: false, trusted: trusted)
            let parallel = try Self.decode(encoded, body: body, batch.schema, threads: true, trusted: trusted)
            #expect(try sameBatches([serial], [parallel]))
            #expect(try sameBatches([serial], [batch]))
        }
    }

    @Test func theSameErrorWinsOnOneThreadOrMany() throws {
        let batch = try Self.batch()
        let encoded = try ArrayEncoder.encode(batch.columns, length: batch.length)
        let good = try encoded.makeBody()
        // Invalid UTF-8 in "name" (a validation error) and in "comment" too.
        var bytes = good.array
        for column in [1, 4] {
            let data = encoded.header.buffers[column == 1 ? 4 : encoded.header.buffers.count - 1]
            bytes[Int(data.offset) + Int(data.length) / 2] = 0xFF
        }
        let badValues = Buffer(copying: bytes)
        func errors(_ header: RecordBatchHeader, _ body: Buffer) -> [String] {
            [false, true].map { threads in
                do {
                    _ = try Self.decode(
                        EncodedBody(header: header, buffers: [], bodyLength: body.count), body: body, batch.schema,
                        threads: threads)
                    return "no error"
                } catch {
                    return "\(error)"
                }
            }
        }
        let invalid = errors(encoded.header, badValues)
        #expect(invalid[0] == invalid[1])
        #expect(invalid[0].contains("invalidData") && invalid[0].contains("column 'name'"))
        // A buffer outside the body in "tags" is a decode error: it wins over the earlier
        // column's validation error, as when columns are decoded one after the other.
        var outside = encoded.header
        outside.buffers[6].offset = Int64(good.count)
        let both = errors(outside, badValues)
        #expect(both[0] == both[1])
        #expect(both[0].contains("outOfBounds") && both[0].contains("field 'tags'"))
    }

    /// A file of three batches of a third of `batch()` each: under 1 MiB apiece, so only
    /// `readBatches` spreads them (a column per task across all batches).
    static func file(codec: CompressionCodec?) throws -> (bytes: Buffer, batch: RecordBatch) {
        let batch = try Self.batch()
        let third = rows / 3
        let parts = (0..<3).map { batch.slice(from: $0 * third, length: third) }
        return (try writeFile(batch.schema, parts, options: .init(compression: codec)), batch)
    }

    static func readAll(_ bytes: Buffer, threads: Bool) -> Result<[RecordBatch], QuiverError> {
        Result { try FileReader(buffer: bytes, options: IPCReadOptions(useThreads: threads)).readBatches() }
            .mapError { $0 as? QuiverError ?? QuiverError(.invalidData, "\($0)") }
    }

    @Test(arguments: [nil, CompressionCodec.lz4Frame, .zstd])
    func sameFileOnOneThreadOrMany(codec: CompressionCodec?) throws {
        let (bytes, batch) = try Self.file(codec: codec)
        let serial = try Self.readAll(bytes, threads: false).get()
        let parallel = try Self.readAll(bytes, threads: true).get()
        #expect(serial.count == 3)
        #expect(try sameBatches(serial, parallel))
        let third = Self.rows / 3
        #expect(try sameBatches(parallel, (0..<3).map { batch.slice(from: $0 * third, length: third) }))
        // A projection takes the same path.
        let reader = try FileReader(buffer: bytes)
        let projected = try reader.readAll(columns: ["comment", "name"])
        #expect(projected.numRows == 3 * third)
        #expect(projected.schema.fields.map(\.name) == ["comment", "name"])
    }

    @Test func theSameBatchErrorWinsOnOneThreadOrMany() throws {
        let (good, _) = try Self.file(codec: nil)
        // Invalid UTF-8 in one comment of batch 1 (rows from a third on).
        let row = Self.rows / 3 + 5
        let noise = Array(String(UInt64(row + 1) &* 0x9E37_79B9_7F4A_7C15, radix: 36).utf8)
        var bytes = good.array
        let at = try #require((0...(bytes.count - noise.count)).first { bytes[$0..<($0 + noise.count)].elementsEqual(noise) })
        bytes[at] = 0xFF
        let invalid = Buffer(copying: bytes)
        // And batch 2's block declares a body length its message does not have.
        let wrongBlock = try editingFooter(invalid) { $0.recordBatches[2].bodyLength += 8 }
        let onlyWrongBlock = try editingFooter(good) { $0.recordBatches[2].bodyLength += 8 }
        for (input, expected) in [(invalid, "record batch 1"), (wrongBlock, "record batch 1"), (onlyWrongBlock, "record batch 2")] {
            let serial = Self.readAll(input, threads: false)
            let parallel = Self.readAll(input, threads: true)
            guard case .failure(let one) = serial, case .failure(let many) = parallel else {
                Issue.record("accepted a bad file")
                continue
            }
            #expect(one == many)
            #expect(one.description.contains(expected), "\(one)")
        }
    }
}
