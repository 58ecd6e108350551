import CZstd
import Foundation
import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverTestSupport
import Testing
@testable import QuiverStore

@Suite("Checksums and base64")
struct EncodingTests {
    @Test("xxh64 matches published test vectors")
    func vectors() {
        #expect(XXHash64.hash(Array("".utf8)) == 0xEF46_DB37_51D8_E999)
        #expect(XXHash64.hash(Array("a".utf8)) == 0xD24E_C4F1_A98C_6E5B)
        #expect(XXHash64.hash(Array("abc".utf8)) == 0x44BC_2CF5_AD77_0999)
        #expect(XXHash64.hash(Array("Nobody inspects the spammish repetition".utf8)) == 0xFBCE_A83C_8A37_8BF1)
    }

    /// zstd frames end with the low 32 bits of the content's xxh64: an independent
    /// implementation to compare against, over every length class.
    @Test("xxh64 agrees with libzstd's frame checksums", arguments: [0, 1, 3, 4, 7, 8, 31, 32, 33, 63, 64, 100, 1000, 4097])
    func agreesWithZstd(length: Int) throws {
        var generator = SeededRandom(seed: 107)
        let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let context = try #require(ZSTD_createCCtx())
        defer { ZSTD_freeCCtx(context) }
        ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1)
        var frame = [UInt8](repeating: 0, count: ZSTD_compressBound(length))
        let written = frame.withUnsafeMutableBytes { out in
            bytes.withUnsafeBytes { input in
                ZSTD_compress2(context, out.baseAddress, out.count, input.baseAddress, input.count)
            }
        }
        #expect(ZSTD_isError(written) == 0)
        let checksum = frame[written - 4..<written].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        #expect(UInt32(truncatingIfNeeded: XXHash64.hash(bytes)) == checksum)
    }

    @Test("streaming in any pieces gives the one-shot hash")
    func streaming() {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        let expected = XXHash64.hash(bytes, seed: 42)
        for piece in [1, 3, 8, 31, 32, 33, 500] {
            var hasher = XXHash64(seed: 42)
            bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let end = min(raw.count, offset + piece)
                    hasher.update(UnsafeRawBufferPointer(rebasing: raw[offset..<end]))
                    offset = end
                }
            }
            #expect(hasher.finalize() == expected, "pieces of \(piece)")
        }
        var zeros = XXHash64()
        zeros.updateZeros(100)
        #expect(zeros.finalize() == XXHash64.hash([UInt8](repeating: 0, count: 100)))
    }

    @Test("base64 round-trips every length and matches the RFC 4648 examples")
    func base64() throws {
        let examples = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in examples {
            #expect(Array(plain.utf8).withUnsafeBytes { Base64.encode($0) } == encoded)
            #expect(try Base64.decode(encoded).array == Array(plain.utf8))
        }
        for length in 0..<70 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let text = bytes.withUnsafeBytes { Base64.encode($0) }
            #expect(text == Data(bytes).base64EncodedString())
            #expect(try Base64.decode(text).array == bytes)
        }
    }

    @Test("malformed base64 is an error, not a crash", arguments: ["Zg=", "Z===", "Zm9v!A==", "Zm=v", "====", "Zg==Zg=="])
    func badBase64(text: String) {
        #expect(throws: QuiverError.self) { try Base64.decode(text) }
    }
}

@Suite("Footer encoding")
struct FooterEncodingTests {
    @Test("the footer from kept parts decodes to the footer given, across commits")
    func footerFromParts() throws {
        var schema = Schema([
            Field("id", .int64), Field("d", .dictionary(index: .int32, value: .utf8, ordered: false), dictionaryId: 0),
        ])
        schema.metadata = ["schema key": "v"]
        var encoder = try FooterEncoder(schema: schema)
        var blocks: [FileBlock] = []
        let dictionaries = [FileBlock(offset: 8, metadataLength: 200, bodyLength: 64)]
        for round in 0..<40 {
            blocks.append(FileBlock(offset: Int64(1_000 + round * 100), metadataLength: Int32(8 + round % 3 * 8), bodyLength: Int64(round * 7)))
            var metadata: Metadata = ["quiver:statistics": String(repeating: "x", count: round * 13), "": "", "clé": "välue"]
            if round % 2 == 0 { metadata["extra"] = "\(round)" }
            var bytes = StoreFileFormat.endOfStream
            try encoder.encode(into: &bytes, dictionaries: round % 4 == 0 ? dictionaries : [], recordBatches: blocks, metadata: metadata)
            let decoded = try ArrowMetadata.decodeFooter(Buffer(copying: Array(bytes.dropFirst(8))))
            #expect(decoded.schema == schema)
            #expect(decoded.recordBatches == blocks && decoded.dictionaries == (round % 4 == 0 ? dictionaries : []))
            #expect(decoded.customMetadata == metadata)
            // Only some commits succeed; a later footer must not reuse what was not kept.
            if round % 3 != 2 { encoder.keep(blocks) } else { blocks[blocks.count - 1].bodyLength += 1 }
        }
    }
    @Test("pyarrow reads a footer with several metadata pairs (one shared vtable)", .enabled(if: Python.hasPyArrow))
    func pyarrowReadsMetadata() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("m.arrow")
        let file = try AppendableFile.create(
            path: path, schema: Sample.schema, metadata: ["a": "1", "empty": "", "clé": "välue"], options: fastAppend)
        try file.append(Sample.batch(0))
        try file.append(Sample.batch(1))
        try file.close()
        let output = try Python.run(
            """
            import sys, pyarrow as pa
            reader = pa.ipc.open_file(sys.argv[1])
            m = reader.metadata
            print(reader.num_record_batches, reader.read_all().num_rows, m[b'a'].decode(), repr(m[b'empty'].decode()),
                  m['clé'.encode()].decode(), b'quiver:statistics' in m)
            """, arguments: [path])
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == "2 6 1 '' välue True")
    }
}

