import QuiverArrow
import QuiverBytes
@testable import QuiverIPC
import Testing

/// Large batches decode a column per task across cores (`IPCReadOptions.useThreads`): the
/// result, and the error a bad batch reports, must be exactly what the one-thread decode gives.
@Suite struct ParallelDecodeTests {
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
}
