#!/usr/bin/env python3
"""Runs the same workloads in pyarrow and in Quiver, in one run on the same files, and prints
times, ratios (Quiver / pyarrow), bytes allocated and whether the answers agree.

  python3 Benchmarks/peers/compare.py [--dir DIR] [--iterations N] [--smoke] [--large-gib G]

Quiver's side is `quiver-peer-workloads` from this Benchmarks package, built in release mode
by this script. Each side times only the work named (open + read, or write); checksums are
computed afterwards. --smoke uses tiny data and two iterations, only checking that answers
agree. --large-gib G also scans a G GiB mapped file batch by batch and reports peak RSS:
Quiver's FileReader.scan (madvise ahead/behind), the same loop without advice, and pyarrow.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.dirname(HERE)
SCHEMA = pa.schema([pa.field("nums", pa.int32())])


def write_batches(path, batches, rows, stream=False):
    """`batches` copies of range(rows) as an Arrow file (or stream); skipped if already there."""
    batch = pa.record_batch([pa.array(range(rows), type=pa.int32())], schema=SCHEMA)
    opener = ipc.new_stream if stream else ipc.new_file
    if os.path.exists(path):
        try:
            reader = ipc.open_stream(path) if stream else ipc.open_file(path)
            count = sum(1 for _ in reader) if stream else reader.num_record_batches
            if count == batches and (stream or reader.get_batch(0).num_rows == rows):
                return path
        except pa.ArrowInvalid:
            pass
    with pa.OSFile(path, "wb") as sink, opener(sink, SCHEMA) as writer:
        for _ in range(batches):
            writer.write_batch(batch)
    return path


def above_5000(table):
    col = table.column(0)
    return pc.sum(pc.filter(col, pc.greater(col, 5000))).as_py() or 0


def timed(fn, iterations):
    """Median and best time of `fn`; its last result; pyarrow's allocation while it is held."""
    times, result, allocated = [], None, 0
    for _ in range(iterations):
        result = None
        before = pa.total_allocated_bytes()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
        allocated = pa.total_allocated_bytes() - before
    times.sort()
    return {"median_s": times[len(times) // 2], "best_s": times[0], "allocated_bytes": allocated}, result


def pyarrow_side(name, path, iterations):
    """Times workload `name` in pyarrow; returns figures shaped like Quiver's JSON."""
    if name in ("seed-read-memory", "seed-read-stream"):
        buf = pa.py_buffer(open(path, "rb").read())
        opener = ipc.open_stream if name == "seed-read-stream" else ipc.open_file
        figures, table = timed(lambda: opener(buf).read_all(), iterations)
        figures["checksum"] = above_5000(table)
    elif name in ("seed-read-mmap", "seed-read-file", "seed-read-stream-mmap"):
        source = pa.OSFile if name == "seed-read-file" else pa.memory_map
        opener = ipc.open_stream if name == "seed-read-stream-mmap" else ipc.open_file

        def run():
            with source(path, "rb") as f:
                return opener(f).read_all()
        figures, table = timed(run, iterations)
        figures["checksum"] = above_5000(table)
    elif name == "seed-batch":
        reader = ipc.open_file(pa.memory_map(path, "rb"))
        n = reader.num_record_batches
        figures, batches = timed(lambda: [reader.get_batch(i) for i in range(n)], iterations)
        figures["per_batch_us"] = figures["median_s"] / n * 1e6
        figures["checksum"] = above_5000(pa.Table.from_batches(batches))
        figures["allocated_bytes"] = 0
    elif name in ("seed-write", "seed-write-file"):
        batches = ipc.open_file(path).read_all().to_batches()
        target = path + ".pyarrow-out"

        def run():
            sink = pa.BufferOutputStream() if name == "seed-write" else pa.OSFile(target, "wb")
            with ipc.new_file(sink, SCHEMA) as writer:
                for batch in batches:
                    writer.write_batch(batch)
            if name == "seed-write":
                return sink.getvalue().size
            size = sink.tell()
            sink.close()
            return size
        figures, size = timed(run, iterations)
        if os.path.exists(target):
            os.remove(target)
        figures.update(checksum=size, allocated_bytes=size if name == "seed-write" else 0,
                       gb_per_s=size / figures["median_s"] / 1e9)
    elif name == "open-footer":
        figures, reader = timed(lambda: ipc.open_file(pa.memory_map(path, "rb")), iterations)
        figures.update(checksum=reader.num_record_batches, allocated_bytes=0)
    elif name == "scan-sum":
        table = ipc.open_file(pa.memory_map(path, "rb")).read_all()
        column = table.column(0)
        pc.sum(column)  # make it resident
        figures, total = timed(lambda: pc.sum(column).as_py(), iterations)
        figures.update(checksum=total, allocated_bytes=0, gb_per_s=column.nbytes / figures["median_s"] / 1e9)
    else:
        raise ValueError(name)
    return figures


def build_quiver():
    subprocess.run(["swift", "build", "-c", "release", "--product", "quiver-peer-workloads"],
                   cwd=PACKAGE, check=True, stdout=subprocess.DEVNULL)
    out = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=PACKAGE,
                         check=True, capture_output=True, text=True).stdout.strip()
    return os.path.join(out, "quiver-peer-workloads")


def quiver_side(binary, name, path, iterations):
    out = subprocess.run([binary, name, path, str(iterations)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def extra(figures):
    """The workload-specific figure, as text."""
    if "per_batch_us" in figures:
        return f"{figures['per_batch_us']:.2f} µs/batch"
    if "gb_per_s" in figures:
        return f"{figures['gb_per_s']:.1f} GB/s"
    if "pages_touched" in figures:
        return f"{figures['pages_touched']} pages"
    return ""


PYARROW_LARGE_SCAN = """
import resource, sys, time, pyarrow as pa, pyarrow.compute as pc, pyarrow.ipc as ipc
start = time.perf_counter()
reader = ipc.open_file(pa.memory_map(sys.argv[1], "rb"))
total = 0
for i in range(reader.num_record_batches):
    total += pc.sum(reader.get_batch(i).column(0)).as_py() or 0
elapsed = time.perf_counter() - start
print(total, elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


def evict(path):
    """Writes the file's dirty pages and drops it from the page cache: the next read is cold."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def large_scan(binary, directory, gib):
    """Peak RSS of scanning a `gib` GiB mapped file from a cold page cache: Quiver with and
    without scan's advice, and pyarrow."""
    rows = 1 << 20  # 4 MiB per batch
    batches = gib * 256
    path = write_batches(os.path.join(directory, f"large-{gib}g.arrow"), batches, rows)
    size = os.path.getsize(path)
    print(f"\nlarger than the memory budget: scanning {size / 2**30:.2f} GiB ({batches} batches of 4 MiB) "
          "from a cold page cache, summing the column")
    print(f"{'reader':<42} {'time s':>8} {'GB/s':>6} {'peak RSS MiB':>13}  answer")
    rows_out = []
    for label, workload in [("quiver FileReader.scan (madvise ahead/behind)", "scan-bounded"),
                            ("quiver loop over recordBatch(at:)", "scan-unbounded")]:
        evict(path)
        figures = quiver_side(binary, workload, path, 8)
        rows_out.append((label, figures["median_s"], figures["peak_rss_bytes"], figures["checksum"]))
    evict(path)
    out = subprocess.run([sys.executable, "-c", PYARROW_LARGE_SCAN, path], check=True, capture_output=True,
                         text=True).stdout.split()
    rows_out.append(("pyarrow get_batch loop (memory_map)", float(out[1]), int(out[2]), int(out[0])))
    answers = {row[3] for row in rows_out}
    for label, seconds, peak, answer in rows_out:
        print(f"{label:<42} {seconds:>8.2f} {size / seconds / 1e9:>6.2f} {peak / 2**20:>13.1f}  "
              f"{'agree' if len(answers) == 1 else answer}")
    return len(answers) == 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", default=os.path.join(PACKAGE, ".peer-data"))
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--large-gib", type=int, default=0)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    batches, rows = (10, 1000) if args.smoke else (1000, 10000)
    many = (100, 1024) if args.smoke else (16000, 16384)  # 16,000 batches of 64 KiB: 1 GiB
    iterations = 2 if args.smoke else args.iterations
    seed_file = write_batches(os.path.join(args.dir, f"seed-{batches}.arrow"), batches, rows)
    seed_stream = write_batches(os.path.join(args.dir, f"seed-{batches}.stream"), batches, rows, stream=True)
    many_file = write_batches(os.path.join(args.dir, f"many-{many[0]}.arrow"), *many)
    binary = build_quiver()

    workloads = [
        ("seed-read-memory", seed_file, "open + read_all, file in memory"),
        ("seed-read-mmap", seed_file, "open + read_all, memory map"),
        ("seed-read-file", seed_file, "open + read_all, plain file reads"),
        ("seed-read-stream", seed_stream, "stream open + read_all, in memory"),
        ("seed-read-stream-mmap", seed_stream, "stream open + read_all, memory map"),
        ("seed-batch", seed_file, "each batch of an open mapped file"),
        ("seed-write", seed_file, "write the seed file to memory"),
        ("seed-write-file", seed_file, "write the seed file to disk (page cache)"),
        ("open-footer", many_file, f"open a {many[0]:,}-batch file (mmap)"),
        ("scan-sum", many_file, "sum a resident mapped int32 column"),
    ]
    failed = False
    print(f"{'workload':<22} {'quiver ms':>10} {'pyarrow ms':>11} {'ratio':>6} {'best ratio':>10} {'q alloc MiB':>12} "
          f"{'pa alloc MiB':>13} {'quiver':>15} {'pyarrow':>15}  answers")
    for name, path, _ in workloads:
        ours = quiver_side(binary, name, path, iterations)
        peer = pyarrow_side(name, path, iterations)
        agree = ours["checksum"] == peer["checksum"]
        failed |= not agree
        ratio = ours["median_s"] / peer["median_s"] if peer["median_s"] else float("nan")
        best = ours["best_s"] / peer["best_s"] if peer["best_s"] else float("nan")
        print(f"{name:<22} {ours['median_s']*1e3:>10.3f} {peer['median_s']*1e3:>11.3f} {ratio:>6.2f} {best:>10.2f} "
              f"{ours['allocated_bytes']/2**20:>12.1f} {peer['allocated_bytes']/2**20:>13.1f} "
              f"{extra(ours):>15} {extra(peer):>15}  {'agree' if agree else 'DIFFER'}")
    print(f"pyarrow {pa.__version__}; times are medians of {iterations} runs (best ratio: best vs best); "
          "ratio < 1 means Quiver is faster")
    for name, _, what in workloads:
        print(f"  {name:<22} {what}")
    if args.large_gib > 0:
        failed |= not large_scan(binary, args.dir, args.large_gib)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
