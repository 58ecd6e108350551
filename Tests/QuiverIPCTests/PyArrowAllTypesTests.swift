import Foundation
import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverTestSupport
import Testing

/// Files of every Arrow type written by pyarrow (Tests/Fixtures/pyarrow_interop.py: nulls,
/// an empty batch, a sliced batch, four levels of nesting, extension types, lz4 and zstd
/// bodies) are read by Quiver, and Quiver's rewrites of them are read back by pyarrow and
/// compared there for equality.
@Suite(.serialized) struct PyArrowAllTypesTests {
    static let fixtureScript = TestPaths.repositoryRoot.appendingPathComponent("Tests/Fixtures/pyarrow_interop.py").path

    /// pyarrow writes the fixtures once per test run.
    static let fixtures: URL? = {
        guard let directory = try? TestPaths.temporaryDirectory("pyarrow-fixtures") else { return nil }
        guard (try? Python.run("import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')",
                               arguments: [fixtureScript, "write", directory.path])) != nil else { return nil }
        return directory
    }()

    static let fixtureNames = ["types", "types_lz4", "types_zstd", "types_zstd1", "types_zstd19", "types_lz4_delta"]

    static func read(_ url: URL) throws -> (Schema, [RecordBatch]) {
        let mapped = try MappedFile(path: url.path)
        if url.pathExtension == "arrow" {
            let reader = try FileReader(input: mapped)
            return (reader.schema, try reader.readBatches())
        }
        let reader = try StreamReader(input: RandomAccessCursor(mapped))
        return (reader.schema, try reader.readBatches())
    }

    /// Asks pyarrow whether two files hold equal tables (schema and metadata included).
    static func pyarrowCompare(_ expected: URL, _ actual: URL) throws -> String {
        try Python.run(
            "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')",
            arguments: [fixtureScript, "compare", expected.path, actual.path]
        ).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func pyarrowFixturesExist() throws {
        let directory = try #require(Self.fixtures, "pyarrow could not write the fixtures")
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("types.arrow").path))
    }

    @Test(arguments: fixtureNames) func fileAndStreamDecodeEqual(_ name: String) throws {
        let directory = try #require(Self.fixtures)
        let (fileSchema, fileBatches) = try Self.read(directory.appendingPathComponent("\(name).arrow"))
        let (streamSchema, streamBatches) = try Self.read(directory.appendingPathComponent("\(name).stream"))
        #expect(fileSchema.logicallyEquals(streamSchema))
        #expect(fileBatches.map(\.length) == [7, 0, 4, 7])
        #expect(fileSchema.fields.count >= 55)
        #expect(fileSchema.metadata["unicode"] == "ünïcödé")
        for (a, b) in zip(fileBatches, streamBatches) {
            #expect(a.firstDifference(from: b) == nil)
        }
        // Spot values decoded through the typed API, to catch symmetric reader/writer bugs.
        let batch = fileBatches[0]
        let utf8 = try StringArray(try #require(batch.column(named: "utf8")))
        #expect(utf8[2] == "héllo")
        #expect(utf8[1] == nil)
        #expect(utf8[3] == "a much longer string than twelve bytes")
        let view = try #require(batch.column(named: "utf8_view"))
        #expect(view.value(at: 6) == .string("日本"))
        let int64 = try Int64Array(try #require(batch.column(named: "int64")))
        #expect(Array(int64) == [-3, nil, -1, 0, nil, 2, 3])
        let sliced = fileBatches[2]
        #expect(try Int64Array(try #require(sliced.column(named: "int64")))[0] == -1)
        #expect(try #require(batch.column(named: "decimal128")).formatValue(at: 0) == "-37037036703703703670.36")
    }

    @Test(arguments: fixtureNames) func pyarrowReadsOurRewrites(_ name: String) throws {
        let directory = try #require(Self.fixtures)
        let source = directory.appendingPathComponent("\(name).arrow")
        let (schema, batches) = try Self.read(source)
        let variants: [(String, IPCWriteOptions)] = [
            ("plain", IPCWriteOptions()),
            ("aligned64", IPCWriteOptions(alignment: 64)),
            ("lz4", IPCWriteOptions(compression: .lz4Frame)),
            ("zstd", IPCWriteOptions(compression: .zstd, compressionLevel: 3)),
        ]
        for (label, options) in variants {
            for format in ["arrow", "stream"] {
                let target = directory.appendingPathComponent("\(name)-quiver-\(label).\(format)")
                let output = try FileOutput(path: target.path)
                if format == "arrow" {
                    let writer = try FileWriter(output: output, schema: schema, options: options)
                    for batch in batches { try writer.write(batch) }
                    try writer.finish()
                } else {
                    let writer = try StreamWriter(output: output, schema: schema, options: options)
                    for batch in batches { try writer.write(batch) }
                    try writer.finish()
                }
                try output.close()
                #expect(try Self.pyarrowCompare(source, target) == "equal", "\(label) \(format)")
            }
        }
    }

    @Test func zeroBatchFileReads() throws {
        let directory = try #require(Self.fixtures)
        let reader = try FileReader(input: try MappedFile(path: directory.appendingPathComponent("empty.arrow").path))
        #expect(reader.numRecordBatches == 0)
        #expect(try reader.readBatches().isEmpty)
        #expect(reader.schema.fields.count >= 55)
    }

    @Test func ourSlicesReadEqualInPyArrow() throws {
        // Build with the typed builders, slice at odd offsets (bitmaps not byte aligned), write.
        let directory = try TestPaths.temporaryDirectory("quiver-slices")
        let ints = ArrayData.build(from: (0..<100).map { $0 % 7 == 3 ? nil : Int32($0) })
        let strings = try ArrayData.build(
            (0..<100).map { $0 % 5 == 0 ? ArrowValue.null : .string(String(repeating: "s", count: $0 % 9)) }, type: .utf8)
        let lists = try ArrayData.build(
            (0..<100).map { $0 % 4 == 1 ? ArrowValue.null : .list((0..<($0 % 3)).map { ArrowValue.int(Int64($0)) }) },
            type: .list(Field("item", .int64)))
        let schema = Schema([Field("i", .int32), Field("s", .utf8), Field("l", .list(Field("item", .int64)))])
        let whole = try RecordBatch(schema: schema, columns: [ints, strings, lists])
        for (offset, length) in [(0, 100), (3, 50), (13, 1), (99, 1), (50, 0)] {
            let file = directory.appendingPathComponent("slice-\(offset)-\(length).arrow")
            let output = try FileOutput(path: file.path)
            let writer = try FileWriter(output: output, schema: schema)
            try writer.write(whole.slice(from: offset, length: length))
            try writer.finish()
            try output.close()
            let wholeFile = directory.appendingPathComponent("whole.arrow")
            let wholeOutput = try FileOutput(path: wholeFile.path)
            let wholeWriter = try FileWriter(output: wholeOutput, schema: schema)
            try wholeWriter.write(whole)
            try wholeWriter.finish()
            try wholeOutput.close()
            let verdict = try Python.run(
                """
                import sys, pyarrow as pa
                whole = pa.ipc.open_file(sys.argv[1]).read_all()
                part = pa.ipc.open_file(sys.argv[2]).read_all()
                part.validate(full=True)
                print(part.equals(whole.slice(int(sys.argv[3]), int(sys.argv[4]))))
                """, arguments: [wholeFile.path, file.path, String(offset), String(length)])
            #expect(verdict.trimmingCharacters(in: .whitespacesAndNewlines) == "True", "slice \(offset)+\(length)")
        }
    }
}

/// The Swift-native face of reading: pyarrow writes trades, Quiver decodes them into structs
/// (the counterpart of pyarrow's `read_pandas`), and encodes structs back for pyarrow.
@Suite struct CodableInteropTests {
    struct Trade: Codable, Equatable {
        var symbol: String
        var price: Double
        var quantity: Int64
        var venue: String?
        var time: Date
    }

    @Test func pyarrowTradesDecodeIntoStructsAndBack() throws {
        let directory = try TestPaths.temporaryDirectory("codable")
        let path = directory.appendingPathComponent("trades.arrow").path
        _ = try Python.run(
            """
            import sys, datetime, pyarrow as pa
            t = pa.table({
                "symbol": ["AAPL", "MSFT", "GOOG"],
                "price": [189.5, 411.25, 140.0],
                "quantity": pa.array([100, 250, 7], pa.int64()),
                "venue": ["XNAS", None, "XNYS"],
                "time": pa.array([datetime.datetime(2024, 1, 2, 9, 30, s) for s in range(3)], pa.timestamp("us", tz="UTC")),
            })
            with pa.ipc.new_file(sys.argv[1], t.schema) as w:
                w.write_table(t, max_chunksize=2)
            """, arguments: [path])
        let table = try FileReader(input: try MappedFile(path: path)).readAll()
        #expect(table.numRows == 3)
        #expect(table.batches.count == 2)
        let trades = try table.decode([Trade].self)
        let base = try #require(ISO8601DateFormatter().date(from: "2024-01-02T09:30:00Z"))
        #expect(trades == [
            Trade(symbol: "AAPL", price: 189.5, quantity: 100, venue: "XNAS", time: base),
            Trade(symbol: "MSFT", price: 411.25, quantity: 250, venue: nil, time: base + 1),
            Trade(symbol: "GOOG", price: 140.0, quantity: 7, venue: "XNYS", time: base + 2),
        ])
        // A wrong Swift type is a clear error, not a crash.
        struct Wrong: Decodable { var symbol: Int }
        #expect(throws: QuiverError.self) { try table.decode([Wrong].self) }

        // Encode the structs back; pyarrow reads the same values.
        let batch = try RecordBatch.encode(trades)
        let out = directory.appendingPathComponent("ours.arrow").path
        let output = try FileOutput(path: out)
        let writer = try FileWriter(output: output, schema: batch.schema)
        try writer.write(batch)
        try writer.finish()
        try output.close()
        let echoed = try Python.run(
            """
            import sys, pyarrow as pa
            t = pa.ipc.open_file(sys.argv[1]).read_all()
            print(t.column("symbol").to_pylist(), t.column("quantity").to_pylist(), t.column("venue").to_pylist())
            """, arguments: [out])
        #expect(echoed.trimmingCharacters(in: .whitespacesAndNewlines)
            == "['AAPL', 'MSFT', 'GOOG'] [100, 250, 7] ['XNAS', None, 'XNYS']")
    }
}
