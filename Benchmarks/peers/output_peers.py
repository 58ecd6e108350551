#!/usr/bin/env python3
"""The peer side of the OutputBenchmarks suite: Polars (and pyarrow for Arrow and CSV) write
the same 1M rows (id int64, price float64 with every 11th null, name "customer#N", flag
bool; 16 batches of 65,536) into memory as an Arrow IPC stream, JSON rows, NDJSON and CSV.
Prints MB/s per writer (median of 9 runs after one warm-up), to set beside Quiver's
`output/*` benchmarks from the same session."""
import io
import statistics
import time

import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.ipc as ipc

ROWS = 1 << 20
ids = list(range(ROWS))
table = pa.table({
    "id": pa.array(ids, pa.int64()),
    "price": pa.array([None if i % 11 == 0 else (i % 100_000) / 8 for i in ids], pa.float64()),
    "name": pa.array([f"customer#{i % 50_000}" for i in ids]),
    "flag": pa.array([i % 3 == 0 for i in ids]),
}).combine_chunks()
batches = table.to_batches(max_chunksize=65_536)
frame = pl.from_arrow(table)


def arrow_stream(sink):
    with ipc.new_stream(sink, table.schema) as writer:
        for batch in batches:
            writer.write_batch(batch)


writers = {
    "arrow (pyarrow)": lambda sink: arrow_stream(sink),
    "arrow (polars)": lambda sink: frame.write_ipc_stream(sink),
    "json rows (polars)": lambda sink: frame.write_json(sink),
    "ndjson (polars)": lambda sink: frame.write_ndjson(sink),
    "csv (polars)": lambda sink: frame.write_csv(sink),
    "csv (pyarrow)": lambda sink: pacsv.write_csv(table, sink),
}
for name, write in writers.items():
    times = []
    for run in range(10):
        sink = io.BytesIO()
        start = time.perf_counter()
        write(sink)
        elapsed = time.perf_counter() - start
        if run:
            times.append(elapsed)
    size = len(sink.getvalue())
    median = statistics.median(times)
    print(f"{name}: {size / 1e6:.0f} MB in {median * 1e3:.1f} ms = {size / median / 1e6:,.0f} MB/s")
