#!/usr/bin/env python3
"""The store-append comparison: Quiver appending record batches to a store table (one commit
per batch: the batch, then a new sealed footer with statistics; buffered, no fsync) against
pyarrow writing the same batches to a new Arrow file (`ipc.new_file` on an `OSFile`, no
fsync), in one run, alternating so both see the same machine. Prints each side's time per
batch and GB/s over the batches' buffer bytes, and Quiver's time as a ratio of pyarrow's.

The batches are either the StoreBenchmarks batch (65,536 rows: id int64, ts timestamp[us,
UTC], value float64, category int32, tag utf8), appended `--batches` times, or every batch
of an Arrow file (`--file`, e.g. TPC-H lineitem SF1: 92 batches of 65,536 rows), `--rounds`
times. Both sides read the batches into memory first.

  python3 Benchmarks/peers/store_append.py [--batches N] [--file PATH [--rounds R]]
      [--repeat K] [--quiver BIN] [--dir DIR] [--no-minmax]

BIN is quiver-peer-workloads (default: Benchmarks/.build/release/quiver-peer-workloads);
without it only pyarrow's side runs.
"""
import argparse
import json
import os
import subprocess
import tempfile
import time

import pyarrow as pa
import pyarrow.ipc as ipc

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_QUIVER = os.path.join(HERE, "..", ".build", "release", "quiver-peer-workloads")


def synthetic_batch(rows=65_536):
    ids = pa.array(range(rows), pa.int64())
    ts = pa.array([1_700_000_000_000_000 + i * 1000 for i in range(rows)], pa.timestamp("us", tz="UTC"))
    values = pa.array([((i * 7919) % 10_007) / 3 for i in range(rows)], pa.float64())
    categories = pa.array([i % 17 for i in range(rows)], pa.int32())
    tags = pa.array([f"tag-{(i * 31) % 1000}" for i in range(rows)], pa.utf8())
    return pa.record_batch([ids, ts, values, categories, tags], names=["id", "ts", "value", "category", "tag"])


def buffer_bytes(batches):
    return sum(buf.size for b in batches for column in b.columns for buf in column.buffers() if buf is not None)


def pyarrow_append(schema, batches, rounds, directory):
    """Wall and CPU seconds to write `rounds` × `batches` to a new file (deleted afterwards,
    untimed)."""
    path = os.path.join(directory, "pyarrow-store-append.arrow")
    cpu = time.process_time()
    start = time.perf_counter()
    with pa.OSFile(path, "wb") as sink, ipc.new_file(sink, schema) as writer:
        for _ in range(rounds):
            for b in batches:
                writer.write_batch(b)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    os.remove(path)
    return elapsed, cpu


def quiver_append(binary, path, rounds, minmax=True):
    """Wall and CPU seconds of one Quiver run (the binary times its own open, appends and
    close; the best of two, as the first run in a fresh process also pays for warming up),
    and its appends' p50/p90/max in µs."""
    workload = f"store-append:{rounds}" + ("" if minmax else ":no-minmax")
    out = subprocess.run([binary, workload, path, "2"], check=True, capture_output=True, text=True)
    figures = json.loads(out.stdout)
    return figures["best_s"], figures["best_cpu_s"], figures["append_us_p50_p90_max"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=400, help="appends of the synthetic batch")
    parser.add_argument("--file", help="append every batch of this Arrow file instead")
    parser.add_argument("--rounds", type=int, default=1, help="times the --file batches are appended")
    parser.add_argument("--dir", default=tempfile.gettempdir())
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quiver", default=DEFAULT_QUIVER)
    parser.add_argument("--no-minmax", action="store_true", help="Quiver records row and null counts only")
    args = parser.parse_args()

    temporary = None
    if args.file:
        with pa.OSFile(args.file, "rb") as source:
            table = ipc.open_file(source).read_all()
        batches, rounds, path, label = table.to_batches(), args.rounds, args.file, os.path.basename(args.file)
    else:
        b = synthetic_batch()
        batches, rounds, label = [b], args.batches, "synthetic 64K-row batch"
        temporary = os.path.join(args.dir, "store-append-batch.arrow")
        with pa.OSFile(temporary, "wb") as sink, ipc.new_file(sink, b.schema) as writer:
            writer.write_batch(b)
        path = temporary
    schema = batches[0].schema
    count = rounds * len(batches)
    size = rounds * buffer_bytes(batches)
    quiver = args.quiver if os.path.exists(args.quiver) else None

    times = {"pyarrow": [], "quiver": []}
    cpu = {"pyarrow": [], "quiver": []}
    quantiles = []
    try:
        for _ in range(args.repeat):
            wall, used = pyarrow_append(schema, batches, rounds, args.dir)
            times["pyarrow"].append(wall)
            cpu["pyarrow"].append(used)
            if quiver:
                wall, used, spread = quiver_append(quiver, path, rounds, not args.no_minmax)
                times["quiver"].append(wall)
                cpu["quiver"].append(used)
                quantiles.append(spread)
    finally:
        if temporary:
            os.remove(temporary)

    print(f"{label}: {count} appends, {size / count / 1e6:.2f} MB of buffers each, best of {args.repeat}")
    for name, label in (("pyarrow", "pyarrow new_file"), ("quiver", "Quiver store append")):
        if not times[name]:
            continue
        best = min(times[name])
        print(f"  {label:20} {best / count * 1e6:8.0f} us/batch  {size / best / 1e9:6.2f} GB/s  "
              f"(CPU {min(cpu[name]) / count * 1e6:.0f} us/batch)")
    if times["quiver"]:
        spread = min(quantiles, key=lambda q: q[1])
        print(f"  Quiver appends (run with the lowest p90): p50 {spread[0]:.0f} us, p90 {spread[1]:.0f} us, "
              f"max {spread[2]:.0f} us")
        ratios = [q / p for q, p in zip(times["quiver"], times["pyarrow"])]
        print(f"  Quiver time / pyarrow time: best {min(times['quiver']) / min(times['pyarrow']):.2f}, "
              f"per pair {', '.join(f'{r:.2f}' for r in ratios)}")


if __name__ == "__main__":
    main()
