#!/usr/bin/env python3
"""Generates Quiver's benchmark datasets into datasets/generated/ (git-ignored).

  python3 datasets/generate.py [--scale 1] [--out DIR] [--only seed,lineitem,wide,sorted] [--force]

Idempotent: a dataset whose files exist (with a matching .done marker recording the
parameters) is skipped. Progress goes to stdout. What it writes:

  seed/bigfile.arrow, seed/bigfile.stream
      pyarrow's IPC page example: 10M int32 in 1000 batches of 10,000 (range(10000) each).
  lineitem-sf{S}/lineitem.arrow, lineitem-lz4.arrow, lineitem-zstd.arrow
      TPC-H lineitem at scale factor S from `tpchgen-cli` (PyPI), 65,536-row batches.
      Decimal columns (quantity, extendedprice, discount, tax) are stored as float64 and the
      string columns as utf8 (not string_view), so every engine reads the same plain types;
      query answers are therefore compared with a 1e-9 relative tolerance on sums.
  wide/wide.arrow
      128 columns (64 int64, 64 float64) × 262,144 rows in 16 batches: projection tests.
  sorted/sorted.arrow
      10,000,000 rows, int64 key 0..N-1 ascending + float64 value, 65,536-row batches:
      statistics (zone-map) skipping.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH_ROWS = 65536


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def done(directory, params):
    marker = os.path.join(directory, ".done")
    if not os.path.exists(marker):
        return False
    with open(marker) as f:
        return json.load(f) == params


def mark(directory, params):
    with open(os.path.join(directory, ".done"), "w") as f:
        json.dump(params, f)


def write_file(path, table, batch_rows, compression=None):
    options = ipc.IpcWriteOptions(compression=compression) if compression else None
    tmp = path + ".tmp"
    with pa.OSFile(tmp, "wb") as sink, ipc.new_file(sink, table.schema, options=options) as writer:
        for batch in table.to_batches(max_chunksize=batch_rows):
            writer.write_batch(batch)
    os.replace(tmp, path)
    log(f"  wrote {os.path.relpath(path)} ({os.path.getsize(path) / 2**20:.1f} MiB)")


def seed(out, force):
    directory = os.path.join(out, "seed")
    params = {"batches": 1000, "rows": 10000}
    if not force and done(directory, params):
        log("seed: up to date")
        return
    os.makedirs(directory, exist_ok=True)
    log("seed: 10M int32 in 1000 batches of 10,000")
    schema = pa.schema([pa.field("nums", pa.int32())])
    batch = pa.record_batch([pa.array(range(10000), type=pa.int32())], schema=schema)
    for name, opener in [("bigfile.arrow", ipc.new_file), ("bigfile.stream", ipc.new_stream)]:
        with pa.OSFile(os.path.join(directory, name), "wb") as sink, opener(sink, schema) as writer:
            for _ in range(1000):
                writer.write_batch(batch)
        log(f"  wrote {name}")
    mark(directory, params)


def lineitem(out, scale, force):
    directory = os.path.join(out, f"lineitem-sf{scale:g}")
    params = {"scale": scale, "batch_rows": BATCH_ROWS, "version": 1}
    if not force and done(directory, params):
        log(f"lineitem sf{scale:g}: up to date")
        return
    if shutil.which("tpchgen-cli") is None:
        log("lineitem: installing tpchgen-cli from PyPI")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "tpchgen-cli"], check=True)
    os.makedirs(directory, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        log(f"lineitem sf{scale:g}: generating with tpchgen-cli")
        subprocess.run(["tpchgen-cli", "parquet", "-s", str(scale), "--tables=lineitem", f"--output-dir={tmp}"],
                       check=True, stdout=subprocess.DEVNULL)
        import pyarrow.parquet as pq
        table = pq.read_table(os.path.join(tmp, "lineitem.parquet"))
    columns, fields = [], []
    for field, column in zip(table.schema, table.columns):
        if pa.types.is_decimal(field.type):
            field, column = pa.field(field.name, pa.float64(), nullable=False), pc.cast(column, pa.float64())
        elif pa.types.is_string_view(field.type) or pa.types.is_large_string(field.type):
            field, column = pa.field(field.name, pa.string(), nullable=False), pc.cast(column, pa.string())
        else:
            field = pa.field(field.name, field.type, nullable=field.nullable)
        fields.append(field)
        columns.append(column)
    table = pa.table(columns, schema=pa.schema(fields)).combine_chunks()
    log(f"lineitem sf{scale:g}: {table.num_rows:,} rows")
    write_file(os.path.join(directory, "lineitem.arrow"), table, BATCH_ROWS)
    write_file(os.path.join(directory, "lineitem-lz4.arrow"), table, BATCH_ROWS, "lz4")
    write_file(os.path.join(directory, "lineitem-zstd.arrow"), table, BATCH_ROWS, "zstd")
    mark(directory, params)


def wide(out, force):
    directory = os.path.join(out, "wide")
    params = {"columns": 128, "rows": 262144, "version": 1}
    if not force and done(directory, params):
        log("wide: up to date")
        return
    os.makedirs(directory, exist_ok=True)
    import numpy as np
    rng = np.random.default_rng(42)
    rows = params["rows"]
    arrays, names = [], []
    for i in range(64):
        arrays.append(pa.array(rng.integers(0, 1_000_000, rows)))
        names.append(f"i{i}")
        arrays.append(pa.array(rng.random(rows)))
        names.append(f"f{i}")
    log("wide: 128 columns × 262,144 rows")
    write_file(os.path.join(directory, "wide.arrow"), pa.table(arrays, names=names), rows // 16)
    mark(directory, params)


def sorted_keys(out, force):
    directory = os.path.join(out, "sorted")
    params = {"rows": 10_000_000, "batch_rows": BATCH_ROWS, "version": 1}
    if not force and done(directory, params):
        log("sorted: up to date")
        return
    os.makedirs(directory, exist_ok=True)
    import numpy as np
    rows = params["rows"]
    keys = np.arange(rows, dtype=np.int64)
    values = np.random.default_rng(7).random(rows)
    log("sorted: 10M rows, ascending int64 key")
    table = pa.table({"k": pa.array(keys), "v": pa.array(values)})
    write_file(os.path.join(directory, "sorted.arrow"), table, BATCH_ROWS)
    mark(directory, params)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="TPC-H scale factor (default 1)")
    parser.add_argument("--out", default=os.path.join(HERE, "generated"))
    parser.add_argument("--only", default="seed,lineitem,wide,sorted")
    parser.add_argument("--force", action="store_true", help="regenerate even if up to date")
    args = parser.parse_args()
    wanted = set(args.only.split(","))
    start = time.time()
    if "seed" in wanted:
        seed(args.out, args.force)
    if "lineitem" in wanted:
        lineitem(args.out, args.scale, args.force)
    if "wide" in wanted:
        wide(args.out, args.force)
    if "sorted" in wanted:
        sorted_keys(args.out, args.force)
    log(f"done in {time.time() - start:.0f} s → {os.path.relpath(args.out)}")


if __name__ == "__main__":
    main()
