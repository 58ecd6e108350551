import Foundation
import QuiverArrow
import QuiverBytes
import QuiverIPC
import Testing

/// The README's Swift example, kept compiling and correct.
@Suite struct ReadmeExampleTests {
    @Test func readmeExample() throws {
        // --- README: begin ---
        let schema = Schema([Field("id", .int64, nullable: false), Field("name", .utf8)],
                            metadata: ["origin": "readme"])
        let batch = try RecordBatch(schema: schema, columns: [
            ArrayData.build(from: [1, 2, 3] as [Int64?]),
            ArrayData.build(from: ["ada", nil, "grace"] as [String?]),
        ])

        // Write a stream into memory (pyarrow's BufferOutputStream + new_stream)…
        let sink = BufferOutputStream()
        let writer = try StreamWriter(output: sink, schema: schema)
        for _ in 0..<5 { try writer.write(batch) }
        try writer.finish()
        let buffer = sink.getvalue()

        // …and read it back: zero-copy, every buffer is a view of `buffer`.
        let table = try StreamReader(buffer: buffer).readAll()
        let names = try StringArray(table.batches[0].columns[1])
        print(table.numRows, names[0] ?? "null")          // 15 ada

        // Rows as Swift values.
        struct Person: Decodable { var id: Int64; var name: String? }
        let people = try table.decode([Person].self)
        // --- README: end ---
        #expect(table.numRows == 15)
        #expect(names[0] == "ada" && names[1] == nil)
        #expect(people.count == 15 && people[2].name == "grace")
    }
}
