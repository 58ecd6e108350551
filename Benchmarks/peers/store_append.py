#!/usr/bin/env python3
"""pyarrow's side of the store-append benchmark: writes the StoreBenchmarks batch (65,536
rows: id int64, ts timestamp[us, UTC], value float64, category int32, tag utf8) N times to a
new Arrow file (no fsync, as the Quiver benchmark) and prints the time per batch and GB/s
over the batch's buffer bytes.

  python3 Benchmarks/peers/store_append.py [--batches N] [--dir DIR]
"""
import argparse
import os
import tempfile
import time

import pyarrow as pa
import pyarrow.ipc as ipc


def batch(rows=65_536):
    ids = pa.array(range(rows), pa.int64())
    ts = pa.array([1_700_000_000_000_000 + i * 1000 for i in range(rows)], pa.timestamp("us", tz="UTC"))
    values = pa.array([((i * 7919) % 10_007) / 3 for i in range(rows)], pa.float64())
    categories = pa.array([i % 17 for i in range(rows)], pa.int32())
    tags = pa.array([f"tag-{(i * 31) % 1000}" for i in range(rows)], pa.utf8())
    return pa.record_batch([ids, ts, values, categories, tags], names=["id", "ts", "value", "category", "tag"])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=400)
    parser.add_argument("--dir", default=tempfile.gettempdir())
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    b = batch()
    size = sum(buf.size for column in b.columns for buf in column.buffers() if buf is not None)
    best = None
    for _ in range(args.repeat):
        path = os.path.join(args.dir, "pyarrow-store-append.arrow")
        start = time.perf_counter()
        with pa.OSFile(path, "wb") as sink, ipc.new_file(sink, b.schema) as writer:
            for _ in range(args.batches):
                writer.write_batch(b)
        elapsed = time.perf_counter() - start
        os.remove(path)
        best = elapsed if best is None else min(best, elapsed)
    per_batch = best / args.batches
    print(f"pyarrow new_file: {args.batches} batches of {size} bytes: {per_batch * 1e6:.0f} us/batch, "
          f"{size / per_batch / 1e9:.2f} GB/s (best of {args.repeat})")


if __name__ == "__main__":
    main()
