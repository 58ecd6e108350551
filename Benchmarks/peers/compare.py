#!/usr/bin/env python3
"""Runs the same workloads in Quiver and its peers (pyarrow, DuckDB, Polars), in one run on the
same files, each engine in a fresh process, and prints median/best/first times, the ratio of
Quiver's median to the fastest peer's, bytes allocated, peak RSS and whether the answers agree.

  python3 Benchmarks/peers/compare.py [--datasets DIR] [--dir DIR] [--iterations N]
                                      [--big-iterations N] [--only PREFIXES] [--smoke] [--large-gib G]
                                      [--clickbench-iterations N] [--clickbench-queries 1,2,…]
                                      [--scale-check [--scale-rows N] [--scale-rounds N]]

Workloads: the seed reads/writes (vs pyarrow); lineitem SF1 read_all uncompressed/LZ4/ZSTD via
mmap (Quiver validated and trusted); LZ4 decode on one thread (GB/s of output); TPC-H Q1 and Q6
over the plain and LZ4 files (vs DuckDB's native table, DuckDB over the Arrow table, Polars);
a 1% range predicate and count(*) WHERE k > c on one core over datasets' sorted.arrow.
Datasets come from `python3 datasets/generate.py --scale 1` (`make datasets`).

ClickBench (`--only clickbench` runs it alone): its 43 queries, unmodified
(datasets/queries/clickbench.sql), on the synthetic hits.arrow: Quiver over the file and over a
store table of it (made with `quiver store append`), DuckDB's native table, DuckDB over the
Arrow table and Polars, one process per engine. Answers are checked against DuckDB (ties of
ORDER BY … LIMIT allowed); a query Quiver answers wrong fails the run unless listed in
CLICKBENCH_KNOWN_GAPS. A full run writes the ClickBench section of BENCHMARKS.md and
peers/clickbench.png. `--only clickbench --scale-check` instead runs the queries in Quiver and
DuckDB's native table on the datasets' hits and at --scale-rows rows (20M by default, generated
into --dir) and records the time ratio per query in BENCHMARKS.md.

Quiver's side is `quiver-peer-workloads` from this Benchmarks package, built in release mode
by this script (only that product). A full run writes BENCHMARKS.md at the repository root and
peers/benchmarks.png (matplotlib, installed if missing). --smoke generates TPC-H SF0.01 and a
small seed in a temporary directory, runs two repeats and fails unless every answer equals
Quiver's (`make test-peers`); it also runs ClickBench on 50,000 generated hits rows. --large-gib G also scans a G GiB mapped file batch by batch and
reports peak RSS: Quiver's FileReader.scan (madvise ahead/behind), the loop without advice, pyarrow.
`--pressure` instead runs queries over files larger than memory (Benchmarks/peers/pressure.py):
each engine in its own cgroup-v1 memory group of --pressure-limit-mib (1024), page cache dropped,
one cold run and --pressure-warm warm runs, on SF5 lineitem and --pressure-hits; Quiver's CLI
against DuckDB over pyarrow.dataset and Polars streaming; needs root.
The `--child ENGINE WORKLOAD PATH N [THREADS]` form is internal: one peer's run, as JSON (and
`--pressure-child ENGINE PATH TABLE SQL`, one run under pressure).
"""
import argparse
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.dirname(HERE)
REPO = os.path.dirname(PACKAGE)
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


QUERIES_DIR = os.path.join(os.path.dirname(PACKAGE), "datasets", "queries")


def shared_query(name):
    """TPC-H queries live in datasets/queries/ (FROM lineitem), shared with Quiver's side and tests."""
    with open(os.path.join(QUERIES_DIR, name + ".sql")) as f:
        return f.read()


# Engines register the file under both `t` and `lineitem`.
QUERIES = {
    "q1": shared_query("tpch-q1"),
    "q6": shared_query("tpch-q6"),
    "range": "SELECT count(*), sum(v) FROM t WHERE k BETWEEN 5000000 AND 5099999",
    "count-gt": "SELECT count(*) FROM t WHERE k > 1000",
}


def read_checksum(batches):
    """Row count and the sum of the first float64 column (Quiver's readChecksum)."""
    rows, total = 0, 0.0
    for batch in batches:
        rows += batch.num_rows
        for i, field in enumerate(batch.schema):
            if field.type == pa.float64():
                total += pc.sum(batch.column(i)).as_py() or 0.0
                break
    return [rows, total]


def timed_runs(fn, iterations):
    """First run, then `iterations` warm repeats: figures (median/best of the repeats) and the
    last result."""
    start = time.perf_counter()
    result = fn()
    first = time.perf_counter() - start
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return {"median_s": times[len(times) // 2], "best_s": times[0], "first_s": first}, result


def plain_rows(rows):
    return [[v if isinstance(v, (int, float, str)) or v is None else str(v) for v in row] for row in rows]


def peak_rss():
    """This process's peak RSS (VmHWM): a child's ru_maxrss seen through wait4 starts at the
    parent's size, so each engine reports its own."""
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child(engine, name, path, iterations, threads):
    """One engine's workload, in this (fresh) process; prints its figures as JSON."""
    if name.startswith("clickbench:"):
        clickbench_child(engine, [int(n) for n in name.split(":")[1].split(",")], path, iterations)
        return
    if engine == "pyarrow" and name == "read-all":
        def run():
            with pa.memory_map(path, "rb") as f:
                return ipc.open_file(f).read_all()
        figures, table = timed(run, iterations)
        figures["checksum"] = read_checksum(table.to_batches())
    elif engine == "pyarrow" and name == "decode-1t":
        pa.set_cpu_count(1)
        reader = ipc.open_file(pa.memory_map(path, "rb"), options=ipc.IpcReadOptions(use_threads=False))
        figures, batches = timed(lambda: [reader.get_batch(i) for i in range(reader.num_record_batches)], iterations)
        size = sum(b.nbytes for b in batches)
        figures.update(checksum=read_checksum(batches), output_bytes=size, gb_per_s=size / figures["median_s"] / 1e9)
    elif engine == "pyarrow":
        figures = pyarrow_side(name, path, iterations)
    elif engine.startswith("duckdb"):
        import duckdb
        con = duckdb.connect()
        if threads:
            con.execute(f"SET threads TO {threads}")
        sql = QUERIES[name.split(":")[1]]
        if engine == "duckdb-native":
            # The query alone, on DuckDB's own table built from the Arrow file (load timed apart).
            start = time.perf_counter()
            arrow = ipc.open_file(pa.memory_map(path, "rb")).read_all()
            con.register("arrow_input", arrow)
            con.execute("CREATE TABLE t AS SELECT * FROM arrow_input")
            con.execute("CREATE VIEW lineitem AS SELECT * FROM t")
            con.unregister("arrow_input")
            del arrow
            load = time.perf_counter() - start
            figures, rows = timed_runs(lambda: con.execute(sql).fetchall(), iterations)
            figures["load_s"] = load
        else:
            # End to end over the Arrow table: map + read_all + query each time.
            def run():
                with pa.memory_map(path, "rb") as f:
                    table = ipc.open_file(f).read_all()
                    con.register("t", table)
                    con.register("lineitem", table)
                    rows = con.execute(sql).fetchall()
                    con.unregister("t")
                    con.unregister("lineitem")
                    return rows
            figures, rows = timed_runs(run, iterations)
        figures["answer"] = plain_rows(rows)
    elif engine == "polars":
        import polars as pl
        sql = QUERIES[name.split(":")[1]]
        # End to end: a lazy scan of the IPC file (Polars maps it) + the query.
        def run():
            frame = pl.scan_ipc(path)
            return pl.SQLContext(t=frame, lineitem=frame).execute(sql).collect()
        figures, frame = timed_runs(run, iterations)
        figures["answer"] = plain_rows(frame.rows())
    else:
        raise ValueError(f"{engine} {name}")
    figures["peak_rss_bytes"] = peak_rss()
    if name.startswith("query:") and name.split(":")[1] == "count-gt":
        rows = figures["answer"][0][0] + 1001 if figures.get("answer") else 0
        figures.update(rows_per_s=rows / figures["median_s"], per_core=True)
    print(json.dumps(figures))


def build_quiver():
    subprocess.run(["swift", "build", "-c", "release", "--product", "quiver-peer-workloads"],
                   cwd=PACKAGE, check=True, stdout=subprocess.DEVNULL)
    out = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=PACKAGE,
                         check=True, capture_output=True, text=True).stdout.strip()
    return os.path.join(out, "quiver-peer-workloads")


def run_child(command, env=None):
    """Runs one engine's workload in a fresh process: its JSON figures plus the process's peak
    RSS (ru_maxrss from wait4, the same measure for every engine)."""
    with tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, text=True,
                                   env=dict(os.environ, **(env or {})))
        out = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(command)}: {err.read().strip()}")
    figures = json.loads(out.strip().splitlines()[-1])
    figures.setdefault("peak_rss_bytes", usage.ru_maxrss * 1024)
    return figures


def load_store(binary, source, directory):
    """A Quiver store whose table `t` holds `source`'s batches (its footers carry per-batch
    statistics, which the zone maps read); rebuilt when the source is newer."""
    if os.path.isdir(directory) and os.path.getmtime(directory) >= os.path.getmtime(source):
        return directory
    shutil.rmtree(directory, ignore_errors=True)
    subprocess.run([binary, "store-load", source, directory], check=True, stdout=subprocess.DEVNULL)
    return directory


def quiver_side(binary, name, path, iterations):
    return run_child([binary, name, path, str(iterations)])


def peer_side(engine, name, path, iterations, threads=None):
    env = {"POLARS_MAX_THREADS": str(threads)} if threads else None
    command = [sys.executable, os.path.abspath(__file__), "--child", engine, name, path, str(iterations)]
    if threads:
        command.append(str(threads))
    return run_child(command, env)


def extra(figures):
    """The workload-specific figure, as text."""
    if "per_batch_us" in figures:
        return f"{figures['per_batch_us']:.2f} µs/batch"
    if "gb_per_s" in figures:
        return f"{figures['gb_per_s']:.2f} GB/s"
    if "pages_touched" in figures:
        return f"{figures['pages_touched']} pages"
    if "rows_per_s" in figures and figures.get("per_core"):
        return f"{figures['rows_per_s'] / 1e6:.0f} M rows/s/core"
    if "load_s" in figures:
        return f"load {figures['load_s']:.2f} s"
    if "batches_total" in figures and figures.get("batches_skipped") is not None:
        return f"skipped {figures['batches_skipped']}/{figures['batches_total']} batches"
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


def agree(a, b):
    """Answers agree: same shape, equal ints/strings, floats within 1e-9 relative."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(agree(x, y) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        try:
            x, y = float(a), float(b)
        except (TypeError, ValueError):
            return False
        return abs(x - y) <= 1e-9 * max(abs(x), abs(y))
    return a == b


def answer(figures):
    return figures.get("answer", figures.get("checksum"))


def plan(args, data):
    """(workload, label, [(engine, workload name, path, threads)]) in run order. The first
    engine of each is Quiver's reference; the others' answers must equal it."""
    seed_file, seed_stream, many_file, lineitem, sorted_file, sorted_store = data
    seed = [
        ("seed-read-memory", "seed: open + read_all, file in memory", seed_file),
        ("seed-read-mmap", "seed: open + read_all, memory map", seed_file),
        ("seed-read-file", "seed: open + read_all, plain file reads", seed_file),
        ("seed-read-stream", "seed: stream read_all, in memory", seed_stream),
        ("seed-read-stream-mmap", "seed: stream read_all, memory map", seed_stream),
        ("seed-batch", "seed: each batch of an open mapped file", seed_file),
        ("seed-write", "seed: write the file to memory", seed_file),
        ("seed-write-file", "seed: write the file to disk", seed_file),
        ("open-footer", "open a many-batch file (mmap)", many_file),
        ("scan-sum", "sum a resident mapped int32 column", many_file),
    ]
    out = [(name, label, [("quiver", name, path, None), ("pyarrow", name, path, None)]) for name, label, path in seed]
    files = [("", "lineitem.arrow"), ("-lz4", "lineitem-lz4.arrow"), ("-zstd", "lineitem-zstd.arrow")]
    for suffix, file in files:
        path = os.path.join(lineitem, file)
        out.append((f"lineitem{suffix}-read", f"SF1 {file}: mmap open + read_all",
                    [("quiver", "read-all", path, None), ("quiver-trusted", "read-all-trusted", path, None),
                     ("quiver-shared-map", "read-all-shared", path, None),
                     ("pyarrow", "read-all", path, None)]))
    lz4 = os.path.join(lineitem, "lineitem-lz4.arrow")
    out.append(("lz4-decode-1t", "LZ4 lineitem: decode every batch on one thread",
                [("quiver", "decode-1t", lz4, None), ("pyarrow", "decode-1t", lz4, None)]))
    for query in ("q1", "q6"):
        for suffix, file in files[:2]:
            path = os.path.join(lineitem, file)
            name = f"query:{query}"
            out.append((f"tpch-{query}{suffix}", f"TPC-H {query.upper()} on {file}",
                        [("quiver", name, path, None), ("duckdb-native", name, path, None),
                         ("duckdb-arrow", name, path, None), ("polars", name, path, None)]))
    out.append(("range-1pct", "sorted.arrow: k BETWEEN 5000000 AND 5099999 (1%)",
                [("quiver", "query:range", sorted_file, None), ("duckdb-native", "query:range", sorted_file, None),
                 ("duckdb-arrow", "query:range", sorted_file, None), ("polars", "query:range", sorted_file, None)]))
    out.append(("range-1pct-store", "store table of sorted.arrow's batches: the same 1% range",
                [("quiver", "query:range", sorted_store, None), ("duckdb-native", "query:range", sorted_file, None),
                 ("duckdb-arrow", "query:range", sorted_file, None), ("polars", "query:range", sorted_file, None)]))
    out.append(("count-gt-1core", "sorted.arrow: count(*) WHERE k > 1000, one thread",
                [("quiver", "query:count-gt:1", sorted_file, 1), ("duckdb-native", "query:count-gt", sorted_file, 1),
                 ("polars", "query:count-gt", sorted_file, 1)]))
    return out


def mib(figures, key):
    return f"{figures[key] / 2**20:.1f}" if key in figures else "n/a"


def ms(figures, key):
    return f"{figures[key] * 1e3:.2f}" if key in figures else ""


def settle_page_cache(paths):
    """Drops each file (every file under a directory) from the page cache and reads it back
    sequentially, as after a reboot and a `cat`: every engine then finds it cached the same way.

    Linux caches a file in folios sized by how the pages came in, and each fault of a memory map
    maps one folio (or a window of small ones). A file just written in small pieces (pyarrow's IPC
    writer writes buffer by buffer) sits in 4 KiB folios until evicted, and mapping it costs
    ~20x the page faults of the same file read back (411 MB: 32 ms against 1.5 ms). Left as the
    writer left it, the read benchmarks would measure the generator's write sizes."""
    for root in paths:
        files = [root] if os.path.isfile(root) else [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]
        for path in files:
            with open(path, "rb", buffering=0) as file:
                os.fsync(file.fileno())
                os.posix_fadvise(file.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
                chunk = bytearray(8 << 20)
                while file.readinto(chunk):
                    pass


def machine():
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        memory = next(int(l.split()[1]) * 1024 for l in open("/proc/meminfo") if l.startswith("MemTotal"))
    except OSError:
        memory = 0
    import duckdb
    import polars
    swift = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.strip().splitlines()
    return {"cpu": cpu, "nproc": os.cpu_count(), "memory": f"{memory / 2**30:.1f} GiB",
            "swift": swift[0] if swift else "?", "pyarrow": pa.__version__, "polars": polars.__version__,
            "duckdb": duckdb.__version__, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "load": "%.1f" % os.getloadavg()[1]}


NOTES = """\
- Every engine runs each workload in its own fresh process, on the same files, in the same run; the
  files are in the page cache (warm), each dropped from it and read back sequentially before the row
  (so they are cached in the large folios a sequential read leaves, not in the 4 KiB pieces a
  small-write writer like pyarrow's leaves: a fresh mapping of the latter faults ~20x as often). Times are the median and best of the repeats in that process;
  "first" is the first run in the fresh process (for queries: open + execute). Quiver opens the file
  inside every timed query run; its query sources map files through `MappingCache.shared`, so a
  repeat over the unchanged file reuses the first run's mapping (and its page-table entries)
  instead of faulting every page in again — "first" includes that one-time cost.
- duckdb-native: DuckDB's own table, created from the Arrow file before timing ("load" is that
  time); its times are query-only. duckdb-arrow: map + `read_all` + query over the Arrow table, each
  repeat. polars: `pl.scan_ipc(file)` + SQL + `collect()` each repeat (Polars 2 maps the file itself;
  `read_ipc(memory_map=True)` no longer exists).
- ratio = Quiver's median / the fastest peer's median (< 1: Quiver is faster). Peak RSS is the
  process's `ru_maxrss` (Python processes include the interpreter and the imported engine, ~100 MiB).
  Allocated is bytes held by Quiver's pool / pyarrow's pool for the result (peak during a query);
  DuckDB and Polars do not report it.
- Quiver's zone maps skip batches using min/max statistics; plain Arrow files carry none (store
  files do), so the 1% range predicate scans every batch of sorted.arrow in Quiver (`range-1pct`).
  `range-1pct-store` runs it on a Quiver store table holding the same batches (loaded once with
  `quiver-peer-workloads store-load`; each timed run opens the store and snapshots the table),
  against the peers on sorted.arrow; DuckDB's native table has its own zone maps built at load.
- Lineitem reads: "quiver" maps the file afresh on every read (`FileSource.memoryMap`, as pyarrow's
  `memory_map` does), "quiver-shared-map" reads through `FileSource.sharedMemoryMap` (the mapping of
  the unchanged file is reused from the previous read: no page faults on the compressed input),
  both fully validated; "quiver-trusted" skips the O(data) checks.
- pyarrow's `read_all` runs only the cheap structural validation; Quiver's default read also
  validates offsets and UTF-8 of every string column (lineitem has six), which is the difference
  between the two Quiver read rows. ZSTD reads are bound by the decompressor (the same libzstd).
- DuckDB's native table is compressed and carries zone maps, so its count(*) WHERE k > c on a
  sorted key is close to free; Quiver compares every row (on one core here).
- The machine is shared (other processes run during the benchmark): differences under ~10% are
  noise; repeated runs move single rows by that much.
- Answers: read workloads compare row count + sum of the first float64 column; queries compare
  every result row (group keys and counts exactly, sums and averages to 1e-9 relative).
"""


def run(args):
    if args.smoke:
        data_dir = tempfile.mkdtemp(prefix="quiver-peers-")
        subprocess.run([sys.executable, os.path.join(REPO, "datasets", "generate.py"), "--scale", "0.01",
                        "--only", "lineitem,sorted,hits", "--hits-rows", str(SMOKE_HITS_ROWS), "--out", data_dir],
                       check=True, stdout=subprocess.DEVNULL)
        datasets, work = data_dir, data_dir
    else:
        datasets, work = args.datasets, args.dir
    os.makedirs(work, exist_ok=True)
    only = [o for o in args.only.split(",") if o]
    clickbench_only = bool(only) and all(o.startswith("clickbench") for o in only)
    binary = build_quiver()
    results, failed = ([], False) if clickbench_only else classic(args, datasets, work, binary)
    if args.large_gib > 0:
        failed |= not large_scan(binary, work, args.large_gib)
    if not args.smoke and results:
        if only:
            # The summary is one table over every workload: a partial run's rows alone would
            # replace it (the table above is its whole output).
            print("a partial run (--only): BENCHMARKS.md keeps the last full run's summary")
        else:
            write_report(results, args.iterations, args.big_iterations)
    if not only or any(o.startswith("clickbench") or "clickbench".startswith(o) for o in only):
        failed |= clickbench(args, binary, datasets, work)
    if args.smoke:
        shutil.rmtree(work, ignore_errors=True)
    print("answers: " + ("some DIFFER or failed" if failed else "all agree"))
    return failed


def classic(args, datasets, work, binary):
    """The seed, lineitem, TPC-H and sorted workloads: (rows for the report, failed)."""
    lineitem = next((os.path.join(datasets, d) for d in sorted(os.listdir(datasets)) if d.startswith("lineitem-sf")),
                    None)
    sorted_file = os.path.join(datasets, "sorted", "sorted.arrow")
    if lineitem is None or not os.path.exists(sorted_file):
        sys.exit(f"no datasets in {datasets}: run `make datasets` (python3 datasets/generate.py --scale 1) "
                 "or pass --datasets DIR")
    batches, rows = (10, 1000) if args.smoke else (1000, 10000)
    many = (100, 1024) if args.smoke else (16000, 16384)  # 16,000 batches of 64 KiB: 1 GiB
    iterations = 2 if args.smoke else args.iterations
    seed_file = write_batches(os.path.join(work, f"seed-{batches}.arrow"), batches, rows)
    seed_stream = write_batches(os.path.join(work, f"seed-{batches}.stream"), batches, rows, stream=True)
    many_file = write_batches(os.path.join(work, f"many-{many[0]}.arrow"), *many)
    sorted_store = load_store(binary, sorted_file, os.path.join(work, "sorted-store"))

    results, failed = [], False
    header = (f"{'workload':<21} {'engine':<15} {'median ms':>10} {'best ms':>10} {'first ms':>10} {'ratio':>6} "
              f"{'alloc MiB':>10} {'RSS MiB':>8} {'':>22}  answer")
    print(header)
    for key, label, engines in plan(args, (seed_file, seed_stream, many_file, lineitem, sorted_file, sorted_store)):
        if args.only and not any(key.startswith(o) for o in args.only.split(",")):
            continue
        rows_out, reference = [], None
        # Each row starts from the same page-cache state (other I/O since, such as writing big
        # files, breaks the large folios up again).
        settle_page_cache(sorted({path for _, _, path, _ in engines}))
        for engine, name, path, threads in engines:
            runs = iterations if not (name.startswith("query") or name.startswith("read-all") or name == "decode-1t") \
                else (2 if args.smoke else args.big_iterations)
            try:
                if engine.startswith("quiver"):
                    figures = quiver_side(binary, name, path, runs)
                else:
                    figures = peer_side(engine, name, path, runs, threads)
            except Exception as error:  # a peer failing is reported, not fatal to the others
                print(f"{key:<21} {engine:<15} FAILED: {error}")
                failed = True
                continue
            if key.startswith("count-gt") and engine == "quiver":
                figures["per_core"] = True
            if reference is None:
                reference = answer(figures)
                figures["agree"] = True
            else:
                figures["agree"] = agree(reference, answer(figures))
            failed |= not figures["agree"]
            rows_out.append((engine, figures))
        peers = [f for e, f in rows_out if not e.startswith("quiver")]
        best_peer = min(peers, key=lambda f: f["median_s"]) if peers else None
        for engine, figures in rows_out:
            ratio = ""
            if engine.startswith("quiver") and best_peer:
                figures["ratio"] = figures["median_s"] / best_peer["median_s"]
                ratio = f"{figures['ratio']:.2f}"
            print(f"{key:<21} {engine:<15} {ms(figures, 'median_s'):>10} {ms(figures, 'best_s'):>10} "
                  f"{ms(figures, 'first_s'):>10} {ratio:>6} {mib(figures, 'allocated_bytes'):>10} "
                  f"{mib(figures, 'peak_rss_bytes'):>8} {extra(figures):>22}  "
                  f"{'agree' if figures['agree'] else 'DIFFER: ' + json.dumps(answer(figures))}")
        results.append((key, label, rows_out))
        sys.stdout.flush()
    return results, failed


def clickbench(args, binary, datasets, work):
    """The ClickBench section of a run (and --scale-check); returns whether it failed."""
    path = os.path.join(datasets, "hits", "hits.arrow")
    if not os.path.exists(path):
        print(f"clickbench: no {path}: run `python3 datasets/generate.py --only hits`")
        return True
    count = len(clickbench_queries())
    numbers = [int(n) for n in args.clickbench_queries.split(",")] if args.clickbench_queries \
        else list(range(1, count + 1))
    iterations = 1 if args.smoke else args.clickbench_iterations
    if args.scale_check:
        large_dir = os.path.join(work, f"hits-{args.scale_rows}")
        subprocess.run([sys.executable, os.path.join(REPO, "datasets", "generate.py"), "--only", "hits",
                        "--hits-rows", str(args.scale_rows), "--out", large_dir], check=True)
        scale_check(binary, path, os.path.join(large_dir, "hits", "hits.arrow"), numbers, min(iterations, 3),
                    args.scale_rounds)
        return False
    cli = build_quiver_cli()
    print(f"\nClickBench: {len(numbers)} queries on {row_count(path):,} rows of hits", flush=True)
    results, extras, failed = run_clickbench(binary, cli, path, work, numbers, iterations, self_test=args.smoke)
    if not args.smoke and len(numbers) == count:
        clickbench_report(results, extras, path, iterations)
    return failed


def write_report(results, iterations, big_iterations):
    info = machine()
    lines = ["# Quiver benchmarks", "",
             f"Generated by `python3 Benchmarks/peers/compare.py` (`make datasets && make bench`) on {info['date']}.", "",
             f"- Machine: {info['cpu']}, {info['nproc']} cores (nproc), {info['memory']} memory",
             f"- {info['swift']}; pyarrow {info['pyarrow']}, Polars {info['polars']}, DuckDB {info['duckdb']}",
             f"- Repeats: {iterations} (seed workloads), {big_iterations} (lineitem SF1 and queries), "
             "after one first run",
             f"- Load average (5 min) at the end of the run: {info['load']} on {info['nproc']} cores "
             "(other processes shared the machine)", "",
             "## Summary: Quiver vs the fastest peer", "",
             "Ratio = Quiver's median / the peer's median (< 1: Quiver is faster). The last two columns "
             "compare with the fastest peer that, like Quiver, reads the Arrow file on every run "
             "(i.e. without DuckDB's native table, whose load is not timed).", "",
             "| workload | Quiver ms | fastest peer | peer ms | ratio | | fastest file-reading peer | ratio |",
             "|---|---:|---|---:|---:|---|---|---:|"]
    for key, label, rows_out in results:
        peers = [(e, f) for e, f in rows_out if not e.startswith("quiver")]
        if not peers:
            continue
        engine, best = min(peers, key=lambda p: p[1]["median_s"])
        readers = [(e, f) for e, f in peers if e != "duckdb-native"]
        for q, f in rows_out:
            if q.startswith("quiver") and "ratio" in f:
                verdict = "faster" if f["ratio"] < 0.95 else ("slower" if f["ratio"] > 1.05 else "par")
                reader = ""
                if readers and engine == "duckdb-native":
                    name, other = min(readers, key=lambda p: p[1]["median_s"])
                    reader = f"{name} {other['median_s']*1e3:.2f} ms | {f['median_s'] / other['median_s']:.2f}"
                else:
                    reader = "= fastest peer | "
                variant = {"quiver-trusted": " (trusted)", "quiver-shared-map": " (reused mapping)"}.get(q, "")
                lines.append(f"| {label}{variant} | {f['median_s']*1e3:.2f} | "
                             f"{engine} | {best['median_s']*1e3:.2f} | {f['ratio']:.2f} | {verdict} | {reader} |")
    lines += ["", "## Every engine", "",
              "| workload | engine | median ms | best ms | first ms | ratio | alloc MiB | peak RSS MiB | | answer |",
              "|---|---|---:|---:|---:|---:|---:|---:|---|---|"]
    for key, label, rows_out in results:
        for engine, f in rows_out:
            ratio = f"{f['ratio']:.2f}" if "ratio" in f else ""
            lines.append(f"| {key} | {engine} | {ms(f, 'median_s')} | {ms(f, 'best_s')} | {ms(f, 'first_s')} | {ratio} | "
                         f"{mib(f, 'allocated_bytes')} | {mib(f, 'peak_rss_bytes')} | {extra(f)} | "
                         f"{'agree' if f['agree'] else 'DIFFER'} |")
    lines += ["", "Workloads:", ""] + [f"- `{key}`: {label}" for key, label, _ in results]
    lines += [""] + preserved_blocks()
    lines += ["", "## Notes", "", NOTES, "![Quiver vs peers](Benchmarks/peers/benchmarks.png)", ""]
    with open(os.path.join(REPO, "BENCHMARKS.md"), "w") as out:
        out.write("\n".join(lines))
    chart(results, os.path.join(HERE, "benchmarks.png"), info)
    print(f"wrote {os.path.join(REPO, 'BENCHMARKS.md')} and {os.path.join(HERE, 'benchmarks.png')}")


def chart(results, path, info):
    """Horizontal bars: each engine's median relative to the fastest engine of the workload
    (log scale), Quiver highlighted."""
    try:
        import matplotlib
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "matplotlib"], check=True)
        import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    colors = {"quiver": "#d62728", "quiver-trusted": "#ff9896", "quiver-shared-map": "#e377c2", "pyarrow": "#1f77b4", "duckdb-native": "#2ca02c",
              "duckdb-arrow": "#98df8a", "polars": "#9467bd"}
    labels, bars = [], []
    for key, label, rows_out in results:
        fastest = min(f["median_s"] for _, f in rows_out)
        for engine, f in rows_out:
            bars.append((f"{key}  {engine}", f["median_s"] / fastest, colors.get(engine, "gray"), f["median_s"]))
        bars.append(("", 0, "white", 0))
    bars = bars[:-1][::-1]
    fig, ax = plt.subplots(figsize=(11, max(6, 0.22 * len(bars))))
    y = range(len(bars))
    ax.barh(y, [max(b[1], 1e-3) if b[0] else 0 for b in bars], color=[b[2] for b in bars])
    ax.set_yticks(list(y), [b[0] for b in bars], fontsize=7)
    ax.set_xscale("log")
    ax.axvline(1, color="black", linewidth=0.8)
    for i, b in enumerate(bars):
        if b[0]:
            ax.text(max(b[1], 1e-3) * 1.05, i, f"{b[3]*1e3:.3g} ms", va="center", fontsize=6)
    ax.set_xlabel("median time / fastest engine's median (log scale; 1 = fastest)")
    ax.set_title(f"Quiver vs pyarrow, DuckDB, Polars — same files, same run ({info['nproc']} cores, {info['date']})",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)



# ---------------------------------------------------------------------------------------------
# ClickBench: its 43 queries, unmodified (datasets/queries/clickbench.sql), over a synthetic
# `hits` table (datasets/generate.py --only hits): Quiver over the Arrow file and over a store
# table of it, DuckDB (native table and over the Arrow table) and Polars.

CLICKBENCH_FILE = os.path.join(QUERIES_DIR, "clickbench.sql")
CLICKBENCH_ENGINES = ("quiver", "quiver-store", "duckdb-native", "duckdb-arrow", "polars")
# Queries Quiver's engine may fail on (none now): `--smoke` lets a listed query fail; every
# other query must equal DuckDB's answer or the smoke run fails.
CLICKBENCH_KNOWN_GAPS = set()
# A query's runs stop repeating once they have taken this long (the first run and one repeat
# always happen), so a slow engine cannot stall the comparison. Children (Quiver's
# quiver-peer-workloads too) read it from the environment variable of that name: the scale
# check multiplies it by the size factor for the large table, so both sizes get the median of
# as many repeats rather than the large one a single repeat.
CLICKBENCH_BUDGET_S = float(os.environ.get("CLICKBENCH_BUDGET_S", "5.0"))
SMOKE_HITS_ROWS = 50_000


def clickbench_queries():
    sys.path.insert(0, os.path.join(REPO, "datasets"))
    from generate import clickbench_queries as queries
    return queries()


def clickbench_child(engine, numbers, path, iterations):
    """One peer's run of the numbered queries in this process: figures per query, or its error."""
    queries = clickbench_queries()
    figures = {}
    if engine == "duckdb-native":
        import duckdb
        con = duckdb.connect()
        start = time.perf_counter()
        arrow = ipc.open_file(pa.memory_map(path, "rb")).read_all()
        con.register("arrow_input", arrow)
        con.execute("CREATE TABLE hits AS SELECT * FROM arrow_input")
        con.unregister("arrow_input")
        del arrow
        figures["load_s"] = time.perf_counter() - start
        run = lambda sql: con.execute(sql).fetchall()
    elif engine == "duckdb-arrow":
        import duckdb
        con = duckdb.connect()

        def run(sql):
            with pa.memory_map(path, "rb") as f:
                con.register("hits", ipc.open_file(f).read_all())
                rows = con.execute(sql).fetchall()
                con.unregister("hits")
                return rows
    elif engine == "polars":
        import polars as pl
        run = lambda sql: pl.SQLContext(hits=pl.scan_ipc(path)).execute(sql).collect().rows()
    else:
        raise ValueError(engine)
    reports = []
    for number in numbers:
        sql = queries[number - 1]
        times, rows = [], None
        try:
            while len(times) < iterations + 1 and (len(times) < 2 or sum(times) < CLICKBENCH_BUDGET_S):
                start = time.perf_counter()
                rows = run(sql)
                times.append(time.perf_counter() - start)
        except Exception as error:  # reported per query: "n/a" in the table
            reports.append({"number": number, "error": f"{type(error).__name__}: {str(error).splitlines()[0]}"})
            continue
        warm = sorted(times[1:] or times)
        answer = [[v if v is None or isinstance(v, (int, float, str)) else str(v) for v in row]
                  for row in canonical_rows(rows)]
        reports.append({"number": number, "median_s": warm[len(warm) // 2], "best_s": warm[0],
                        "first_s": times[0], "repeats": len(times) - 1, "answer": answer})
    figures["queries"] = reports
    figures["peak_rss_bytes"] = peak_rss()
    print(json.dumps(figures))


TIMESTAMP_TEXT = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d+)?Z?$")


def canonical(value):
    """One spelling per value across engines: instants as 'YYYY-MM-DD HH:MM:SS[.ffffff]' (no
    zero fraction), dates ISO, decimals as ints or floats."""
    import datetime
    import decimal
    if isinstance(value, datetime.datetime):
        value = value.isoformat(sep=" ")
    elif isinstance(value, datetime.date):
        return value.isoformat()
    elif isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, str):
        match = TIMESTAMP_TEXT.match(value)
        if match:
            fraction = (match.group(3) or "").rstrip("0")
            return f"{match.group(1)} {match.group(2)}{fraction if fraction != '.' else ''}"
    return value


def canonical_rows(rows):
    return [tuple(canonical(v) for v in row) for row in rows]


def row_hash(row):
    """A hashable form of a row in which floats within ~1e-10 relative usually coincide (a row
    that misses is then compared value by value)."""
    return tuple(float(f"{v:.10g}") if isinstance(v, float) else v for v in row)


def top_level(sql):
    """The indices of `sql`'s characters outside parentheses and string literals."""
    depth, quote = 0, False
    for i, char in enumerate(sql):
        if char == "'":
            quote = not quote
        elif not quote and char in "()":
            depth += 1 if char == "(" else -1
        elif not quote and depth == 0:
            yield i


def split_top_level(text, separator=","):
    """`text` split at `separator` outside parentheses and quotes."""
    cuts = [i for i in top_level(text) if text[i] == separator]
    bounds = zip([-1] + cuts, cuts + [len(text)])
    return [text[start + 1:end].strip() for start, end in bounds]


def top_level_keyword(sql, keyword):
    """Index of `keyword` (e.g. ' FROM ') in `sql` outside parentheses and quotes, or -1."""
    upper = sql.upper()
    return next((i for i in top_level(sql) if upper.startswith(keyword, i)), -1)


class ClickBenchChecker:
    """Checks an engine's answer to a ClickBench query against DuckDB over the same Arrow file.

    Without ORDER BY the rows are compared as multisets (and with a LIMIT, every returned row
    must be a row of the query's whole result). With ORDER BY … [LIMIT n [OFFSET m]] ties make
    several answers right: DuckDB computes the whole ordered result with the ORDER BY
    expressions appended as columns; position i of a right answer has the i-th order key of
    that result's [m, m+n) slice, and the rows at the positions of one key are a sub-multiset
    of the whole result's rows with that key. Floats agree within 1e-9 relative."""

    def __init__(self, path):
        import duckdb
        self.con = duckdb.connect()
        self.table = ipc.open_file(pa.memory_map(path, "rb")).read_all()
        self.con.register("hits", self.table)
        self.cache = {}

    def expected(self, sql):
        """(whole result's rows restricted to the slice's keys, by key; the slice's key
        sequence; visible column count; whether ordered), cached per query."""
        if sql in self.cache:
            return self.cache[sql]
        body = sql.strip().rstrip(";")
        limit = re.search(r"\s+LIMIT\s+(\d+)(?:\s+OFFSET\s+(\d+))?\s*$", body, re.IGNORECASE)
        count = int(limit.group(1)) if limit else None
        offset = int(limit.group(2) or 0) if limit else 0
        whole = body[:limit.start()] if limit else body
        order_at = top_level_keyword(whole, " ORDER BY ")
        if order_at < 0:
            self.cache[sql] = (self.con.sql(whole).to_arrow_table(), None, None, count)
            return self.cache[sql]
        keys = [re.sub(r"\s+(ASC|DESC)$", "", k, flags=re.IGNORECASE) for k in split_top_level(whole[order_at + 10:])]
        from_at = top_level_keyword(whole, " FROM ")
        keyed = whole[:from_at] + "".join(", " + k for k in keys) + whole[from_at:]
        table = self.con.sql(keyed).to_arrow_table()
        width = table.num_columns - len(keys)
        end = table.num_rows if count is None else min(table.num_rows, offset + count)
        window = table.slice(offset, max(0, end - offset))
        key_columns = [window.column(width + j).to_pylist() for j in range(len(keys))]
        sequence = canonical_rows(zip(*key_columns))
        # Only the whole result's rows whose key occurs in the slice matter.
        mask = None
        for j, values in enumerate(key_columns):
            column = table.column(width + j)
            part = pc.is_in(column, value_set=pa.array(values, type=column.type))
            mask = part if mask is None else pc.and_(mask, part)
        self.cache[sql] = (table.filter(mask), sequence, width, count)
        return self.cache[sql]

    def check(self, sql, answer):
        """'ok' or a short reason the answer is wrong."""
        rows = canonical_rows(answer)
        table, sequence, width, count = self.expected(sql)
        expected = narrowed(table, rows)
        if sequence is None:
            if count is None:
                if len(rows) != table.num_rows:
                    return f"{len(rows)} rows, expected {table.num_rows}"
                return "ok" if contained(rows, expected) else "rows differ"
            if len(rows) != min(count, table.num_rows):
                return f"{len(rows)} rows, expected {min(count, table.num_rows)}"
            return "ok" if contained(rows, expected) else "a row not in the whole result"
        if len(rows) != len(sequence):
            return f"{len(rows)} rows, expected {len(sequence)}"
        if any(len(r) != width for r in rows):
            return f"rows of {len(rows[0])} columns, expected {width}"
        by_key = {}
        for row in expected:
            by_key.setdefault(row[width:], []).append(row[:width])
        expected, positions = by_key, {}
        for row, key in zip(rows, sequence):
            positions.setdefault(key, []).append(row)
        for key, group in positions.items():
            if not contained(group, expected.get(key, [])):
                return f"rows at order key {list(key)} are not the whole result's"
        return "ok"


def narrowed(table, rows):
    """The rows of `table` (as canonical tuples) that may match one of `rows`: those whose value
    in the first integer or string column is one of the answer's there (an exact filter; a
    large result is not converted to Python whole)."""
    if table.num_rows > 1000 and rows:
        for j, column in enumerate(table.columns[:len(rows[0])]):
            integer = pa.types.is_integer(column.type)
            if not (integer or pa.types.is_string(column.type)):
                continue
            values = [row[j] for row in rows]
            if all(isinstance(v, int) and not isinstance(v, bool) if integer else isinstance(v, str) for v in values):
                table = table.filter(pc.is_in(column, value_set=pa.array(values, type=column.type)))
                break
    return canonical_rows(zip(*[c.to_pylist() for c in table.columns]))


def contained(rows, pool):
    """Whether `rows` is a sub-multiset of `pool` (floats within 1e-9 relative): exact matches
    first, then the rest value by value."""
    available = {}
    for row in pool:
        available.setdefault(row_hash(row), []).append(row)
    misses = []
    for row in rows:
        bucket = available.get(row_hash(row))
        if bucket:
            bucket.pop()
        else:
            misses.append(row)
    leftovers = [r for bucket in available.values() for r in bucket] if misses else []
    for row in misses:
        match = next((i for i, r in enumerate(leftovers) if agree(list(r), list(row))), None)
        if match is None:
            return False
        leftovers.pop(match)
    return True


def row_count(path):
    reader = ipc.open_file(pa.memory_map(path, "rb"))
    return sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))


def build_quiver_cli():
    """The `quiver` CLI in release mode, built from this package's dependency (the release
    modules quiver-peer-workloads already built are shared)."""
    subprocess.run(["swift", "build", "-c", "release", "--product", "quiver"], cwd=PACKAGE, check=True,
                   stdout=subprocess.DEVNULL)
    out = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=PACKAGE,
                         check=True, capture_output=True, text=True).stdout.strip()
    return os.path.join(out, "quiver")


def hits_store(cli, source, directory):
    """A Quiver store whose table `hits` holds `source`'s batches, made with the CLI
    (`quiver store append DIR hits FILE`); rebuilt when the source is newer."""
    if os.path.isdir(directory) and os.path.getmtime(directory) >= os.path.getmtime(source):
        return directory
    shutil.rmtree(directory, ignore_errors=True)
    subprocess.run([cli, "store", "append", directory, "hits", source, "--no-sync", "--quiet"], check=True)
    return directory


def clickbench_engine(engine, binary, path, store, numbers, iterations, budget=CLICKBENCH_BUDGET_S):
    """One engine's figures per query number, run in one fresh process (a Quiver process that
    dies is rerun query by query, so one crash costs one query); `budget`: see
    CLICKBENCH_BUDGET_S."""
    def command(subset):
        listed = ",".join(map(str, subset))
        if engine.startswith("quiver"):
            return [binary, "sql-file", store if engine == "quiver-store" else path, str(iterations),
                    CLICKBENCH_FILE, listed, "hits"]
        return [sys.executable, os.path.abspath(__file__), "--child", engine, "clickbench:" + listed, path,
                str(iterations)]
    try:
        figures = run_child(command(numbers), {"POLARS_MAX_THREADS": str(os.cpu_count()),
                                               "CLICKBENCH_BUDGET_S": str(budget)})
        reports = {q["number"]: q for q in figures["queries"]}
    except Exception as error:
        if len(numbers) == 1:
            return {numbers[0]: {"number": numbers[0], "error": f"crashed: {str(error)[-300:]}"}}, {}
        reports, figures = {}, {}
        for number in numbers:
            reports.update(clickbench_engine(engine, binary, path, store, [number], iterations, budget)[0])
    return reports, figures


def checker_self_test(checker, sqls, results):
    """The checker must reject wrong answers, or a green run means nothing: DuckDB's own answer
    with its last row dropped, and with an integer of its last row off by one."""
    import copy
    escaped = []
    for number, row in results:
        answer = row.get("duckdb-native", {}).get("answer")
        if not answer:
            continue
        dropped = copy.deepcopy(answer)[:-1]
        wrong = copy.deepcopy(answer)
        column = next((j for j in reversed(range(len(wrong[-1])))
                       if isinstance(wrong[-1][j], int) and not isinstance(wrong[-1][j], bool)), None)
        for label, mutated in (("a row dropped", dropped),) + ((("an integer off by one", wrong),) if column is not None else ()):
            if mutated is wrong:
                wrong[-1][column] += 1
            if checker.check(sqls[number - 1], mutated) == "ok":
                escaped.append(f"Q{number} ({label})")
    if escaped:
        print("clickbench: the answer check accepted wrong answers: " + ", ".join(escaped))
    return not escaped


def run_clickbench(binary, cli, path, work, numbers, iterations, engines=CLICKBENCH_ENGINES, self_test=False):
    """Runs and checks the queries in every engine; prints the table; returns (per-query
    results, per-engine figures, failed)."""
    store = hits_store(cli, path, os.path.join(work, "hits-store"))
    settle_page_cache([path, store])
    sqls = clickbench_queries()
    per_engine, extras = {}, {}
    for engine in engines:
        start = time.perf_counter()
        per_engine[engine], extras[engine] = clickbench_engine(engine, binary, path, store, numbers, iterations)
        print(f"clickbench: {engine} ran {len(numbers)} queries in {time.perf_counter() - start:.0f} s", flush=True)
    checker = ClickBenchChecker(path)
    results, failed = [], False
    for number in numbers:
        row = {}
        for engine in engines:
            report = dict(per_engine[engine].get(number, {"error": "no report"}))
            if "error" in report:
                report["error"] = (report["error"].strip().splitlines() or ["?"])[0]
                report["status"] = "n/a" if engine == "polars" else "error"
            else:
                verdict = checker.check(sqls[number - 1], report["answer"])
                report["status"] = "ok" if verdict == "ok" else "mismatch"
                report["why"] = verdict
            row[engine] = report
        results.append((number, row))
    print(f"\n{'query':<6} " + " ".join(f"{e + ' ms':>17}" for e in engines) + f" {'ratio':>6} {'store':>6}  answers")
    for number, row in results:
        native = row.get("duckdb-native", {}).get("median_s")
        cells, ratios = [], []
        for engine in engines:
            report = row[engine]
            cells.append(f"{report['median_s'] * 1e3:>17.2f}" if "median_s" in report else f"{report['status']:>17}")
        for engine in ("quiver", "quiver-store"):
            report = row.get(engine, {})
            ratios.append(f"{report['median_s'] / native:>6.2f}" if native and "median_s" in report else f"{'':>6}")
        notes = []
        for engine in engines:
            report = row[engine]
            if report["status"] != "ok":
                notes.append(f"{engine} {report['status']}: {report.get('why') or report.get('error', '')}"[:160])
        print(f"Q{number:<5} " + " ".join(cells) + " " + " ".join(ratios) + "  " + ("; ".join(notes) or "all equal"))
        for engine in ("quiver", "quiver-store"):
            if engine not in row:
                continue
            good = row[engine]["status"] == "ok"
            if not good and number not in CLICKBENCH_KNOWN_GAPS:
                failed = True
            if good and number in CLICKBENCH_KNOWN_GAPS and engine == "quiver":
                print(f"  Q{number} now equals DuckDB's answer: remove it from CLICKBENCH_KNOWN_GAPS")
    if self_test:
        failed |= not checker_self_test(checker, sqls, results)
    for engine in engines:
        if engine != "duckdb-native":
            mean, count = geometric_mean(results, engine)
            if mean:
                print(f"geometric mean of {engine} / duckdb-native over the {count} queries it answered "
                      f"right: {mean:.2f}")
    if failed:
        print("clickbench: Quiver's answer differs from DuckDB's (or Quiver failed) on a query outside "
              f"CLICKBENCH_KNOWN_GAPS {sorted(CLICKBENCH_KNOWN_GAPS)}")
    return results, extras, failed


def geometric_mean(results, engine, reference="duckdb-native"):
    """Geometric mean of engine / reference medians over the queries the engine answered right."""
    logs = [math.log(row[engine]["median_s"] / row[reference]["median_s"]) for _, row in results
            if row.get(engine, {}).get("status") == "ok" and "median_s" in row.get(reference, {})]
    return (math.exp(sum(logs) / len(logs)), len(logs)) if logs else (None, 0)


def replace_block(name, lines):
    """Replaces (or adds before the Notes) the `<!-- name -->` block of BENCHMARKS.md: the
    ClickBench sections live alongside the ones write_report regenerates."""
    path = os.path.join(REPO, "BENCHMARKS.md")
    text = open(path).read() if os.path.exists(path) else "# Quiver benchmarks\n"
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = "\n".join([begin, *lines, end])
    if begin in text and end in text:
        text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
    elif "\n## Notes" in text:
        at = text.index("\n## Notes")
        text = text[:at] + "\n" + block + "\n" + text[at:]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w") as out:
        out.write(text)


def preserved_blocks():
    """The blocks other runs write into the current BENCHMARKS.md (ClickBench here, the Flight
    server's Flight/Benchmarks/flight_bench.py, the --pressure mode, `make bench-service`, the
    OutputBenchmarks suite), to carry over a rewrite."""
    path = os.path.join(REPO, "BENCHMARKS.md")
    text = open(path).read() if os.path.exists(path) else ""
    return [m.group(0) for m in re.finditer(r"<!-- ((?:clickbench|flight|pressure|service|output)[\w-]*):begin -->.*?<!-- \1:end -->", text, re.DOTALL)]


def clickbench_report(results, extras, path, iterations):
    info = machine()
    count = row_count(path)
    load = extras.get("duckdb-native", {}).get("load_s")
    lines = ["## ClickBench: the 43 queries on a synthetic hits table", "",
             f"Generated by `python3 Benchmarks/peers/compare.py --only clickbench` on {info['date']}: ClickBench's "
             f"queries as written in its DuckDB dialect (`datasets/queries/clickbench.sql`) on `hits.arrow` from "
             f"`python3 datasets/generate.py --only hits` ({count:,} rows, {os.path.getsize(path) / 2**20:.0f} MiB, "
             "105 columns, uncompressed, 65,536-row batches).", "",
             f"- Machine: {info['cpu']}, {info['nproc']} cores, {info['memory']}; {info['swift']}; "
             f"DuckDB {info['duckdb']}, Polars {info['polars']}, pyarrow {info['pyarrow']}",
             f"- Each engine in its own fresh process; per query a first run and up to {iterations} warm repeats "
             f"(fewer once its runs pass {CLICKBENCH_BUDGET_S:.0f} s); the times are the repeats' medians",
             f"- Load average (5 min) at the end of the run: {info['load']} on {info['nproc']} cores (shared machine)",
             "- quiver: `Query(sql:tables:)` over the Arrow file (opened in every run); quiver-store: over a store "
             "table holding the same batches (`quiver store append DIR hits hits.arrow`; every run opens the store); "
             "duckdb-native: DuckDB's own table, loaded from the Arrow file before timing"
             + (f" ({load:.1f} s)" if load else "") + "; duckdb-arrow: map + `read_all` + query each run; "
             "polars: `pl.scan_ipc` + `SQLContext` + `collect()` each run",
             "- ratio = the engine's median / duckdb-native's (< 1: faster). Answers are checked against DuckDB "
             "over the same file: without ORDER BY as multisets, with ORDER BY … LIMIT tie-insensitively (rows "
             "whose order key ties at the cut may differ), floats to 1e-9 relative. n/a: the engine cannot run "
             "the query (its error is listed below); mismatch: a different answer", ""]
    engines = [e for e in CLICKBENCH_ENGINES if any(e in row for _, row in results)]
    for engine in engines:
        if engine == "duckdb-native":
            continue
        mean, n = geometric_mean(results, engine)
        if mean:
            lines.append(f"- **Geometric mean, {engine} / duckdb-native: {mean:.2f}** over the {n} queries it "
                         "answered right")
    lines += ["", "| query | " + " | ".join(f"{e} ms" for e in engines) + " | quiver ratio | store ratio | answers |",
              "|---|" + "---:|" * (len(engines) + 2) + "---|"]
    errors = {}
    for number, row in results:
        native = row.get("duckdb-native", {}).get("median_s")
        cells = []
        for engine in engines:
            report = row[engine]
            cells.append(f"{report['median_s'] * 1e3:.1f}" if "median_s" in report else report["status"])
            if "error" in report:
                errors.setdefault(report["error"][:200], []).append(f"{engine} Q{number}")
        ratios = [f"{row[e]['median_s'] / native:.2f}" if native and "median_s" in row.get(e, {}) else ""
                  for e in ("quiver", "quiver-store")]
        verdicts = [f"{e} {row[e]['status']}" for e in engines if row[e]["status"] != "ok"]
        lines.append(f"| Q{number} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " | "
                     + (", ".join(verdicts) or "all equal") + " |")
    if errors:
        lines += ["", "Errors:", ""] + [f"- {', '.join(where)}: `{error}`" for error, where in errors.items()]
    lines += ["", "![ClickBench: each engine vs DuckDB's native table](Benchmarks/peers/clickbench.png)", ""]
    replace_block("clickbench", lines)
    clickbench_chart(results, engines, os.path.join(HERE, "clickbench.png"), info)
    print(f"wrote the ClickBench section of {os.path.join(REPO, 'BENCHMARKS.md')} and clickbench.png")


def clickbench_chart(results, engines, path, info):
    """Per query, each engine's median / DuckDB native's (log scale)."""
    try:
        import matplotlib
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "matplotlib"], check=True)
        import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    colors = {"quiver": "#d62728", "quiver-store": "#ff9896", "duckdb-arrow": "#98df8a", "polars": "#9467bd"}
    shown = [e for e in engines if e != "duckdb-native"]
    fig, ax = plt.subplots(figsize=(14, 5))
    width = 0.8 / len(shown)
    for i, engine in enumerate(shown):
        xs, ys = [], []
        for j, (number, row) in enumerate(results):
            report, native = row[engine], row["duckdb-native"]
            if report.get("status") == "ok" and "median_s" in native:
                xs.append(j + (i - (len(shown) - 1) / 2) * width)
                ys.append(report["median_s"] / native["median_s"])
        ax.bar(xs, ys, width=width, color=colors.get(engine, "gray"), label=engine)
    ax.set_yscale("log")
    ax.axhline(1, color="black", linewidth=0.8)
    ax.set_xticks(range(len(results)), [f"Q{n}" for n, _ in results], fontsize=7, rotation=90)
    ax.set_ylabel("median / DuckDB native's (log; < 1 faster)")
    ax.set_title(f"ClickBench on a synthetic hits table vs DuckDB's native table ({info['nproc']} cores, "
                 f"{info['date']}); missing bars: no right answer", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def scale_check(binary, small, large, numbers, iterations, rounds):
    """The queries at two sizes in Quiver (file) and DuckDB's native table: time ratio per query.

    The sizes are measured in alternating rounds, each a fresh process per engine and size, and
    each query keeps its best round's median: on a shared machine a busy minute then slows both
    sizes' figures alike, where one pass of the small size, then of the large one, put all of a
    busy spell on one side of the ratio."""
    settle_page_cache([small, large])
    sizes = {"small": row_count(small), "large": row_count(large)}
    factor = sizes["large"] / sizes["small"]
    runs = {}
    for _ in range(rounds):
        for label, path in (("small", small), ("large", large)):
            budget = CLICKBENCH_BUDGET_S * (factor if label == "large" else 1)
            for engine in ("quiver", "duckdb-native"):
                figures = clickbench_engine(engine, binary, path, None, numbers, iterations, budget)[0]
                best = runs.setdefault((label, engine), {})
                for number, figure in figures.items():
                    if "median_s" in figure and figure["median_s"] < best.get(number, {}).get("median_s", float("inf")):
                        best[number] = figure
    info = machine()
    header = (f"| query | quiver {sizes['small']:,} ms | quiver {sizes['large']:,} ms | quiver × | "
              f"duckdb-native {sizes['small']:,} ms | duckdb-native {sizes['large']:,} ms | duckdb × |")
    lines = [f"### Scaling: {sizes['small']:,} → {sizes['large']:,} rows ({factor:.0f}× the rows)", "",
             f"Generated by `python3 Benchmarks/peers/compare.py --only clickbench --scale-check` on {info['date']} "
             f"(load average (5 min) at the end: {info['load']} on {info['nproc']} cores, shared machine). Same "
             f"queries, Quiver over the Arrow file and DuckDB's native table; each figure is the best of {rounds} "
             f"rounds (the sizes alternating, a fresh process each) of the median of up to {iterations} repeats "
             f"(a query stops repeating once its runs pass {CLICKBENCH_BUDGET_S:.0f} s at the small size, "
             f"{CLICKBENCH_BUDGET_S * factor:.0f} s at the large one); "
             f"× = the large time / the small time (linear scaling: {factor:.0f}).", "", header,
             "|---|---:|---:|---:|---:|---:|---:|"]
    print("\n" + header)
    for number in numbers:
        cells = []
        for engine in ("quiver", "duckdb-native"):
            a, b = runs[("small", engine)].get(number, {}), runs[("large", engine)].get(number, {})
            if "median_s" in a and "median_s" in b:
                cells += [f"{a['median_s'] * 1e3:.1f}", f"{b['median_s'] * 1e3:.1f}", f"{b['median_s'] / a['median_s']:.1f}"]
            else:
                cells += ["n/a", "n/a", ""]
        line = f"| Q{number} | " + " | ".join(cells) + " |"
        lines.append(line)
        print(line, flush=True)
    summary = []
    for engine, name in (("quiver", "Quiver"), ("duckdb-native", "DuckDB native")):
        growth = [runs[("large", engine)][n]["median_s"] / runs[("small", engine)][n]["median_s"] for n in numbers
                  if "median_s" in runs[("small", engine)].get(n, {}) and "median_s" in runs[("large", engine)].get(n, {})]
        if growth:
            within = sum(1 for g in growth if g <= factor * 1.05)
            mean = statistics.geometric_mean(growth)
            summary.append(f"{name}: {within} of {len(growth)} queries grew at most {factor * 1.05:.1f}× "
                           f"(linear, within 5%); geometric mean growth {mean:.1f}×.")
    for line in summary:
        print(line)
    replace_block("clickbench-scaling", lines + [""] + [f"- {line}" for line in summary] + [""])


def run_pressure(args):
    """The memory-pressure comparison (pressure.py); its table goes into BENCHMARKS.md."""
    import pressure
    cli = build_quiver_cli()
    lines, failed = pressure.run(cli, os.path.abspath(__file__), args.datasets, args.pressure_limit_mib,
                                 args.pressure_warm, args.pressure_hits, shared_query,
                                 lambda: [q.rstrip(";") for q in clickbench_queries()])
    info = machine()
    replace_block("pressure", ["## Larger than memory: queries under a memory limit", "",
                               f"Generated by `python3 Benchmarks/peers/compare.py --pressure` on {info['date']} "
                               f"({info['swift']}; Polars {info['polars']}, DuckDB {info['duckdb']}).", ""]
                  + lines + [""])
    return failed


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--pressure-child":
        import pressure
        pressure.child(*sys.argv[2:6])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        engine, name, path, iterations = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
        child(engine, name, path, iterations, int(sys.argv[6]) if len(sys.argv) > 6 else None)
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", default=os.path.join(PACKAGE, ".peer-data"), help="where seed files are written")
    parser.add_argument("--datasets", default=os.path.join(REPO, "datasets", "generated"),
                        help="datasets/generate.py output (lineitem-sf*, sorted)")
    parser.add_argument("--iterations", type=int, default=20, help="repeats of the seed workloads")
    parser.add_argument("--big-iterations", type=int, default=9, help="repeats of lineitem reads and queries")
    parser.add_argument("--only", default="", help="comma-separated workload prefixes")
    parser.add_argument("--smoke", action="store_true", help="tiny data, 2 repeats; checks answers agree")
    parser.add_argument("--large-gib", type=int, default=0)
    parser.add_argument("--clickbench-iterations", type=int, default=5,
                        help="warm repeats of each ClickBench query (fewer past a few seconds)")
    parser.add_argument("--clickbench-queries", default="", help="ClickBench query numbers, e.g. 1,19,43 (default all)")
    parser.add_argument("--scale-check", action="store_true",
                        help="instead of the comparison: ClickBench in Quiver and DuckDB's native table on "
                             "the datasets' hits and at --scale-rows rows (generated into --dir); the time "
                             "ratio per query goes into BENCHMARKS.md")
    parser.add_argument("--scale-rows", type=int, default=20_000_000)
    parser.add_argument("--scale-rounds", type=int, default=3, help="alternating rounds of the two sizes (best kept)")
    parser.add_argument("--pressure", action="store_true",
                        help="instead of the comparison: queries over files larger than a cgroup-v1 memory limit "
                             "(SF5 lineitem, --pressure-hits), cold and warm, Quiver vs DuckDB over "
                             "pyarrow.dataset vs Polars streaming; time, bytes read, major faults and RSS go "
                             "into BENCHMARKS.md (needs root)")
    parser.add_argument("--pressure-limit-mib", type=int, default=1024, help="the memory group's limit")
    parser.add_argument("--pressure-warm", type=int, default=2, help="warm runs after the cold one")
    parser.add_argument("--pressure-hits", default=os.path.join(REPO, "datasets", "generated", "big", "hits",
                                                                "hits.arrow"),
                        help="a hits table of several GB (python3 datasets/generate.py --only hits "
                             "--hits-rows 8000000 --out datasets/generated/big)")
    args = parser.parse_args()
    if args.pressure:
        sys.exit(1 if run_pressure(args) else 0)
    sys.exit(1 if run(args) else 0)


if __name__ == "__main__":
    main()
