import Foundation
import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverTestSupport
import Testing

/// One rule tells the two IPC formats apart: a file begins with `ARROW1`.
@Suite struct ArrowFormatTests {
    @Test func leadingMagicMeansFile() {
        #expect(ArrowFormat(leadingBytes: Array("ARROW1\0\0".utf8)) == .file)
        #expect(ArrowFormat(leadingBytes: Array("ARROW1".utf8)) == .file)
        #expect(ArrowFormat(leadingBytes: Array("ARROW".utf8)) == .stream)
        #expect(ArrowFormat(leadingBytes: [0xFF, 0xFF, 0xFF, 0xFF, 0x10, 0, 0, 0]) == .stream)
        #expect(ArrowFormat(leadingBytes: []) == .stream)
    }

    @Test func tornFileHeadsCanBeginAFile() {
        #expect(ArrowFormat.canBeginFile([]))
        #expect(ArrowFormat.canBeginFile(Array("ARR".utf8)))
        #expect(ArrowFormat.canBeginFile(Array("ARROW1\0\0".utf8)))
        #expect(!ArrowFormat.canBeginFile(Array("ARROW2".utf8)))
    }

    @Test func openDetectsEitherFormatByPath() throws {
        let schema = Schema([Field("x", .int32)])
        let batch = try RecordBatch(schema: schema, columns: [Make.int32([1, 2, 3])])
        let directory = try TestPaths.temporaryDirectory("arrow-format")
        for (format, bytes) in [
            (ArrowFormat.file, try writeFile(schema, [batch])), (.stream, try writeStream(schema, [batch])),
        ] {
            let path = directory.appendingPathComponent("data.\(format.rawValue)").path
            try Data(bytes.array).write(to: URL(fileURLWithPath: path))
            #expect(try ArrowFormat(of: ReadFileInput(path: path)) == format)
            let input = try ArrowInput.open(path: path)
            #expect(input.format == format)
            #expect(input.schema == schema)
            #expect(try input.readBatches().map(\.length) == [3])
        }
    }

    @Test func writeConvertsAndKeepsFooterMetadata() throws {
        let schema = Schema([Field("x", .int32)])
        let batch = try RecordBatch(schema: schema, columns: [Make.int32([1, nil, 3])])
        let directory = try TestPaths.temporaryDirectory("arrow-convert")
        let path = directory.appendingPathComponent("in.arrow").path
        try Data(try writeFile(schema, [batch, batch], metadata: ["k": "v"]).array).write(to: URL(fileURLWithPath: path))
        let input = try ArrowInput.open(path: path)
        for format in ArrowFormat.allCases {
            let output = BufferOutputStream()
            try input.write(to: output, as: format)
            let bytes = output.getvalue()
            #expect(ArrowFormat(leadingBytes: bytes.array) == format)
            let batches =
                format == .file ? try FileReader(buffer: bytes).readBatches() : try StreamReader(buffer: bytes).readBatches()
            #expect(try sameBatches(batches, [batch, batch]))
            if format == .file { #expect(try FileReader(buffer: bytes).footerMetadata == ["k": "v"]) }
        }
    }
}
