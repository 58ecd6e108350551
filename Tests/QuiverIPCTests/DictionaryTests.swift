import Foundation
import QuiverArrow
import QuiverBytes
@testable import QuiverIPC
import QuiverTestSupport
import Testing

@Suite struct DictionaryTests {
    @Test func unchangedDictionariesAreSentOnceAndChangesReplace() throws {
        let batches = [
            try dictionaryBatch([0, 1, nil], ["a", "b"]),
            try dictionaryBatch([1, 1], ["a", "b"]),  // same values, other buffers
            try dictionaryBatch([2, 0], ["x", "y", "z"]),
        ]
        let output = BufferOutputStream()
        let writer = try StreamWriter(output: output, schema: batches[0].schema)
        for batch in batches { try writer.write(batch) }
        try writer.finish()
        #expect(writer.stats.numDictionaryBatches == 2)
        #expect(writer.stats.numReplacedDictionaries == 1)
        #expect(writer.schema.fields[0].dictionaryId == 0)
        let reader = try StreamReader(buffer: output.getvalue())
        let read = try reader.readBatches()
        #expect(reader.stats.numReplacedDictionaries == 1)
        #expect(read.map { Render.slots($0.columns[0]) } == batches.map { Render.slots($0.columns[0]) })
    }

    @Test func growingDictionariesBecomeDeltas() throws {
        let batches = [
            try dictionaryBatch([0, 1], ["a", "b"]),
            try dictionaryBatch([2, 0, nil], ["a", "b", "c"]),
            try dictionaryBatch([3], ["a", "b", "c", "d"]),
        ]
        let options = IPCWriteOptions(emitDictionaryDeltas: true)
        for format in ["stream", "file"] {
            let bytes = format == "stream"
                ? try writeStream(batches[0].schema, batches, options: options)
                : try writeFile(batches[0].schema, batches, options: options)
            let read: [RecordBatch]
            if format == "stream" {
                let reader = try StreamReader(buffer: bytes)
                read = try reader.readBatches()
                #expect(reader.stats.numDictionaryDeltas == 2)
            } else {
                let reader = try FileReader(buffer: bytes)
                #expect(reader.numDictionaries == 3)
                read = try reader.readBatches()
                #expect(reader.dictionaries[0].map(Render.slots) == Render.slots(batches[2].columns[0].dictionary!))
            }
            #expect(read.map { Render.slots($0.columns[0]) } == batches.map { Render.slots($0.columns[0]) })
            let script = """
                import sys, pyarrow as pa, pyarrow.ipc as ipc
                data = pa.py_buffer(sys.stdin.buffer.read())
                if sys.argv[1] == "stream":
                    r = ipc.open_stream(data); bs = list(r); print(r.stats.num_dictionary_deltas)
                else:
                    r = ipc.open_file(data); bs = [r.get_batch(i) for i in range(r.num_record_batches)]; print(r.stats.num_dictionary_deltas)
                print([b.column(0).to_pylist() for b in bs])
                """
            let output = try Python.run(script, input: bytes.array, arguments: [format])
            #expect(output == "2\n[['a', 'b'], ['c', 'a', None], ['d']]\n", "\(format): \(output)")
        }
    }

    @Test func fileFormatRejectsReplacement() throws {
        let output = BufferOutputStream()
        let writer = try FileWriter(output: output, schema: try dictionaryBatch([], []).schema)
        try writer.write(try dictionaryBatch([0], ["a"]))
        do {
            try writer.write(try dictionaryBatch([0], ["b"]))
            Issue.record("a replacement dictionary was written into a file")
        } catch let error as QuiverError {
            #expect(error.code == .invalidArgument)
        }
        // Deltas would not help either: the values changed, they did not grow.
        let deltas = try FileWriter(
            output: BufferOutputStream(), schema: try dictionaryBatch([], []).schema,
            options: IPCWriteOptions(emitDictionaryDeltas: true))
        try deltas.write(try dictionaryBatch([0], ["a"]))
        #expect(throws: QuiverError.self) { try deltas.write(try dictionaryBatch([0, 1], ["b", "c"])) }
    }

    @Test func idsAreAssignedDepthFirstAroundExistingOnes() throws {
        let inner = DataType.dictionary(index: .int8, value: .utf8, ordered: false)
        let schema = Schema([
            Field("a", .dictionary(index: .int32, value: .list(Field("item", inner)), ordered: false)),
            Field("b", .dictionary(index: .int32, value: .utf8, ordered: false), dictionaryId: 1),
            Field("c", .struct([Field("s", inner)])),
        ])
        let assigned = try DictionaryIds.assign(schema)
        #expect(assigned.fields[0].dictionaryId == 0)
        guard case .dictionary(_, .list(let item), _) = assigned.fields[0].type else {
            Issue.record("type changed shape")
            return
        }
        #expect(item.dictionaryId == 2)
        #expect(assigned.fields[1].dictionaryId == 1)
        #expect(assigned.fields[2].type.children[0].dictionaryId == 3)
        let clash = Schema([
            Field("a", .dictionary(index: .int32, value: .utf8, ordered: false), dictionaryId: 5),
            Field("b", .dictionary(index: .int32, value: .int64, ordered: false), dictionaryId: 5),
        ])
        #expect(throws: QuiverError.self) { try DictionaryIds.assign(clash) }
    }

    @Test func nestedDictionariesRoundTrip() throws {
        let name = "generated_nested_dictionary"
        let reader = try FileReader(buffer: try Golden.bytes(name, ".arrow_file"))
        let batches = try reader.readBatches()
        // Drop the ids: the writer assigns its own, inner dictionaries are sent first.
        var schema = reader.schema
        schema.fields = schema.fields.map(DictionaryIds.comparable)
        let rebuilt = try batches.map { try RecordBatch(schema: schema, columns: $0.columns.map { column in
            var column = column
            column.type = DictionaryIds.comparable(Field("", column.type)).type
            return column
        }) }
        for bytes in [try writeStream(schema, rebuilt), try writeFile(schema, rebuilt)] {
            let again = bytes.array.starts(with: Array("ARROW1".utf8))
                ? try FileReader(buffer: bytes).readBatches() : try StreamReader(buffer: bytes).readBatches()
            #expect(try sameBatches(again, batches))
        }
    }

    @Test func streamAcceptsAllNullBatchBeforeItsDictionary() throws {
        let batches = [try dictionaryBatch([nil, nil], ["a"]), try dictionaryBatch([0, nil], ["a"])]
        let messages = try splitMessages(try writeStream(batches[0].schema, batches))
        #expect(messages.count == 4)  // schema, dictionary, batch, batch
        let reordered = messages[0] + messages[2] + messages[1] + messages[3]
        let read = try StreamReader(bytes: reordered).readBatches()
        #expect(read.map { Render.slots($0.columns[0]) } == [["null", "null"], ["#'61'", "null"]])
        // A batch that uses a dictionary before it arrives is rejected.
        let early = try splitMessages(try writeStream(batches[1].schema, [batches[1]]))
        #expect(throws: QuiverError.self) { try StreamReader(bytes: early[0] + early[2] + early[1]).readBatches() }
    }

    @Test func fileRejectsBatchWhoseDictionaryIsMissing() throws {
        let file = try writeFile(try dictionaryBatch([], []).schema, [try dictionaryBatch([0, nil], ["a"])])
        let edited = try editingFooter(file) { $0.dictionaries = [] }
        let reader = try FileReader(buffer: edited)
        #expect(reader.numDictionaries == 0)
        #expect(throws: QuiverError.self) { try reader.recordBatch(at: 0) }
        // The same dictionary block listed twice is a replacement: an error, not a crash.
        let doubled = try editingFooter(file) { $0.dictionaries += $0.dictionaries }
        #expect(throws: QuiverError.self) { try FileReader(buffer: doubled) }
    }
}
