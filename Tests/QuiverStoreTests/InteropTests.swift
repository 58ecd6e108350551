import Foundation
import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverTestSupport
import Testing
@testable import QuiverStore

@Suite("Interoperability")
struct InteropTests {
    static let hasPeers: Bool = (try? Python.run("import pyarrow, polars, duckdb")) != nil

    @Test(
        "pyarrow, Polars and DuckDB read a table file after appends; pyarrow sees the statistics",
        .enabled(if: hasPeers), arguments: [nil, CompressionCodec.lz4Frame, .zstd])
    func peersRead(codec: CompressionCodec?) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Store.create(at: directory.path, log: StoreLog.silent)
        try store.createTable("t", schema: Sample.schema, options: TableOptions(compression: codec))
        let writer = try store.writer(for: "t", options: fastWriter)
        for k in 0..<5 { try writer.append(Sample.batch(k, rows: 10)) }
        try writer.close()
        let file = try store.snapshot(of: "t").files[0].path
        let script = """
            import sys, base64, pyarrow as pa, polars as pl, duckdb
            path = sys.argv[1]
            reader = pa.ipc.open_file(path)
            t = reader.read_all()
            stats = pa.ipc.open_stream(base64.b64decode(reader.metadata[b'quiver:statistics'])).read_all()
            rows = stats.to_pylist()
            batch_rows = [dict(r['statistics'])['ARROW:row_count:exact'] for r in rows if r['column'] is None]
            id_max = max(dict(r['statistics'])['ARROW:max_value:exact'] for r in rows if r['column'] == 0)
            p = pl.read_ipc(path)
            d = duckdb.sql('select count(*), sum(id), count(name) from t').fetchall()[0]
            print(t.num_rows, reader.num_record_batches, sum(t.column('id').to_pylist()), t.column('name').null_count)
            print(batch_rows, id_max)
            print(p.height, p['id'].sum(), p['name'].null_count())
            print(d[0], d[1], d[2])
            """
        let lines = try Python.run(script, arguments: [file]).split(separator: "\n").map(String.init)
        let idSum = (0..<5).reduce(0) { total, k in total + (0..<10).reduce(0) { $0 + k * 1000 + $1 } }
        #expect(lines == [
            "50 5 \(idSum) 10",
            "[10, 10, 10, 10, 10] 4009",
            "50 \(idSum) 10",
            "50 \(idSum) 40",
        ])
    }
}
