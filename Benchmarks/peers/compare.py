#!/usr/bin/env python3
"""Runs the same workloads in pyarrow and in Quiver, in one run on the same files, and prints
times, ratios (Quiver / peer), allocated bytes and checksums.

  python3 Benchmarks/peers/compare.py [--dir DIR] [--iterations N] [--smoke]

Quiver's side is `quiver-peer-workloads` from this Benchmarks package (built in release mode
by this script). --smoke uses tiny data and few iterations, only checking that answers agree.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import pyarrow as pa
import pyarrow.ipc as ipc

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.dirname(HERE)


def timed(fn, iterations):
    times, result = [], None
    for _ in range(iterations):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return {"median_s": times[len(times) // 2], "best_s": times[0], "result": result}


def write_seed(directory, batches, rows):
    path_file = os.path.join(directory, "bigfile.arrow")
    path_stream = os.path.join(directory, "bigfile.stream")
    arr = pa.array(range(rows), type=pa.int32())
    schema = pa.schema([pa.field("nums", pa.int32())])
    batch = pa.record_batch([arr], schema=schema)
    for path, opener in [(path_file, ipc.new_file), (path_stream, ipc.new_stream)]:
        with pa.OSFile(path, "wb") as sink, opener(sink, schema) as writer:
            for _ in range(batches):
                writer.write_batch(batch)
    return path_file, path_stream


def checksum(table):
    import pyarrow.compute as pc
    col = table.column(0)
    return pc.sum(pc.filter(col, pc.greater(col, 5000))).as_py() or 0


def pyarrow_workloads(path_file, path_stream, iterations):
    def read_memory():
        buf = pa.py_buffer(open(path_file, "rb").read())
        def run():
            before = pa.total_allocated_bytes()
            t = ipc.open_file(buf).read_all()
            return pa.total_allocated_bytes() - before, checksum(t)
        return run

    def read_source(open_source):
        def run():
            before = pa.total_allocated_bytes()
            with open_source() as source:
                t = ipc.open_file(source).read_all()
                return pa.total_allocated_bytes() - before, checksum(t)
        return run

    def read_stream():
        buf = pa.py_buffer(open(path_stream, "rb").read())
        def run():
            t = ipc.open_stream(buf).read_all()
            return 0, checksum(t)
        return run

    def write():
        schema = pa.schema([pa.field("nums", pa.int32())])
        reader = ipc.open_file(path_file)
        batch = reader.get_batch(0)
        n = reader.num_record_batches
        def run():
            sink = pa.BufferOutputStream()
            with ipc.new_file(sink, schema) as writer:
                for _ in range(n):
                    writer.write_batch(batch)
            return sink.getvalue().size, 0
        return run

    # Time only open + read_all (checksums are computed outside the timed region below).
    def time_only(fn_factory):
        fn = fn_factory()
        return fn

    return {
        "seed-read-memory": read_memory(),
        "seed-read-mmap": read_source(lambda: pa.memory_map(path_file, "rb")),
        "seed-read-file": read_source(lambda: pa.OSFile(path_file, "rb")),
        "seed-read-stream": read_stream(),
        "seed-write": write(),
    }


def pyarrow_timed(name, fn, iterations, path_file, path_stream):
    # Time the read itself, excluding the checksum, as Quiver's side does.
    if name == "seed-read-memory":
        buf = pa.py_buffer(open(path_file, "rb").read())
        stats = timed(lambda: ipc.open_file(buf).read_all(), iterations)
    elif name == "seed-read-mmap":
        def run():
            with pa.memory_map(path_file, "rb") as source:
                return ipc.open_file(source).read_all()
        stats = timed(run, iterations)
    elif name == "seed-read-file":
        def run():
            with pa.OSFile(path_file, "rb") as source:
                return ipc.open_file(source).read_all()
        stats = timed(run, iterations)
    elif name == "seed-read-stream":
        buf = pa.py_buffer(open(path_stream, "rb").read())
        stats = timed(lambda: ipc.open_stream(buf).read_all(), iterations)
    else:
        stats = timed(fn, iterations)
    allocated, check = fn()
    return {"median_s": stats["median_s"], "best_s": stats["best_s"], "allocated_bytes": allocated, "checksum": check}


def build_quiver():
    subprocess.run(["swift", "build", "-c", "release", "--product", "quiver-peer-workloads"],
                   cwd=PACKAGE, check=True, stdout=subprocess.DEVNULL)
    out = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=PACKAGE,
                         check=True, capture_output=True, text=True).stdout.strip()
    return os.path.join(out, "quiver-peer-workloads")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", default=os.path.join(PACKAGE, ".peer-data"))
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    batches, rows = (10, 1000) if args.smoke else (1000, 10000)
    iterations = 2 if args.smoke else args.iterations
    path_file, path_stream = write_seed(args.dir, batches, rows)
    binary = build_quiver()
    workloads = pyarrow_workloads(path_file, path_stream, iterations)
    rows_out = []
    failed = False
    for name, fn in workloads.items():
        peer = pyarrow_timed(name, fn, iterations, path_file, path_stream)
        target = path_stream if name == "seed-read-stream" else path_file
        ours = json.loads(subprocess.run([binary, name, target, str(iterations)], check=True,
                                         capture_output=True, text=True).stdout)
        agree = name == "seed-write" or ours["checksum"] == peer["checksum"]
        failed |= not agree
        rows_out.append((name, ours, peer, agree))
    print(f"{'workload':<20} {'quiver ms':>10} {'pyarrow ms':>11} {'ratio':>7} {'q alloc MB':>11} {'pa alloc MB':>12}  answers")
    for name, ours, peer, agree in rows_out:
        ratio = ours["median_s"] / peer["median_s"] if peer["median_s"] else float("nan")
        print(f"{name:<20} {ours['median_s']*1e3:>10.2f} {peer['median_s']*1e3:>11.2f} {ratio:>7.2f} "
              f"{ours['allocated_bytes']/2**20:>11.1f} {peer['allocated_bytes']/2**20:>12.1f}  {'agree' if agree else 'DIFFER'}")
    print(f"pyarrow {pa.__version__}; median of {iterations} runs; ratio < 1 means Quiver is faster")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
