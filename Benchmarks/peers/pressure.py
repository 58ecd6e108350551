"""Memory-pressure mode of compare.py (`--pressure`): queries over files larger than the memory
an engine may use, each engine in its own cgroup-v1 memory group.

For every (dataset, query, engine): make /sys/fs/cgroup/memory/quiver-pressure-N with
memory.limit_in_bytes below the file's size, drop the page cache (sync; echo 3 >
/proc/sys/vm/drop_caches: pages cached outside the group are not charged to it, so they would
make a "cold" run warm), run the query once cold and `warm` times again in the same group (its
cache, bounded by the limit, is what a warm run finds), then remove the group. Each run is a
fresh process started inside the group (`echo $$ > G/cgroup.procs && exec …`) that reports
its own figures, measured around the query (opening the file included, interpreter start-up
not): wall time, bytes read from storage (read_bytes of /proc/self/io: reads, faults and the
read-ahead they start), major faults (ru_majflt) and peak RSS (VmHWM); the group's
memory.max_usage_in_bytes (page cache included) is reported too.

Engines: Quiver (`quiver query --stats`, the release CLI), DuckDB over `pyarrow.dataset`
(projection pushed into pyarrow's reads) and Polars streaming (`scan_ipc` + SQL +
`collect(engine="streaming")`). Needs root and cgroup v1's memory controller.
"""
import json
import os
import re
import subprocess
import sys
import time

import pyarrow as pa
import pyarrow.ipc as ipc

CGROUP_ROOT = "/sys/fs/cgroup/memory"
ENGINES = ("quiver", "duckdb-dataset", "polars-streaming")


def tpch_queries(shared_query):
    """(name, SQL, columns touched) over lineitem."""
    return [
        ("count-sum", "SELECT count(*), sum(l_extendedprice) FROM lineitem", ["l_extendedprice"]),
        ("q6", shared_query("tpch-q6"), ["l_shipdate", "l_discount", "l_quantity", "l_extendedprice"]),
        ("q1", shared_query("tpch-q1"), ["l_returnflag", "l_linestatus", "l_quantity", "l_extendedprice",
                                         "l_discount", "l_tax", "l_shipdate"]),
    ]


def hits_queries(clickbench):
    """ClickBench queries 3, 8 and 21 (few columns of 105; numbers, then a string)."""
    sql = clickbench()
    return [
        ("cb-q3", sql[2], ["AdvEngineID", "ResolutionWidth"]),
        ("cb-q8", sql[7], ["AdvEngineID"]),
        ("cb-q21", sql[20], ["URL"]),
    ]


def column_bytes(path, columns):
    """Bytes of `columns`' buffers in the file (what a query touching them must read)."""
    with pa.memory_map(path, "rb") as source:
        reader = ipc.open_file(source)
        indices = [reader.schema.get_field_index(c) for c in columns]
        return sum(reader.get_batch(i).select(indices).nbytes for i in range(reader.num_record_batches))


def child(engine, path, table, sql):
    """One run, in this process (started inside the group): prints its figures as JSON."""
    import resource

    def io_read():
        for line in open("/proc/self/io"):
            if line.startswith("read_bytes:"):
                return int(line.split()[1])
        return 0

    if engine == "duckdb-dataset":
        import duckdb
        import pyarrow.dataset as ds
    elif engine == "polars-streaming":
        import polars as pl
    read0, faults0 = io_read(), resource.getrusage(resource.RUSAGE_SELF).ru_majflt
    start = time.perf_counter()
    if engine == "duckdb-dataset":
        con = duckdb.connect()
        con.register(table, ds.dataset(path, format="ipc"))
        rows = con.execute(sql).fetchall()
    elif engine == "polars-streaming":
        frame = pl.scan_ipc(path)
        rows = pl.SQLContext({table: frame}).execute(sql).collect(engine="streaming").rows()
    else:
        raise ValueError(engine)
    seconds = time.perf_counter() - start
    figures = {"time_s": seconds, "read_bytes": io_read() - read0,
               "major_faults": resource.getrusage(resource.RUSAGE_SELF).ru_majflt - faults0,
               "answer": [[v if isinstance(v, (int, float, str)) or v is None else str(v) for v in row]
                          for row in rows]}
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            figures["peak_rss_bytes"] = int(line.split()[1]) * 1024
    print(json.dumps(figures))


QUIVER_STATS = re.compile(r"time ([0-9.e+-]+) seconds.*peak RSS (\d+) B\s+read from disk (\d+) B\s+major faults (\d+)")


def quiver_command(cli, path, sql):
    return [cli, "query", path, sql, "--stats", "--format", "csv"]


def parse_quiver(out, err):
    match = QUIVER_STATS.search(err)
    if not match:
        raise RuntimeError(f"no --stats line in: {err.strip()}")
    lines = out.strip().splitlines()[1:]
    answer = []
    for line in lines:
        row = []
        for field in line.split(","):
            try:
                row.append(int(field))
            except ValueError:
                try:
                    row.append(float(field))
                except ValueError:
                    row.append(field if field else None)
        answer.append(row)
    return {"time_s": float(match.group(1)), "peak_rss_bytes": int(match.group(2)),
            "read_bytes": int(match.group(3)), "major_faults": int(match.group(4)), "answer": answer}


class Group:
    """A cgroup-v1 memory group with a limit, removed on exit."""

    def __init__(self, name, limit):
        self.path = os.path.join(CGROUP_ROOT, name)

        def write(file, value):
            with open(os.path.join(self.path, file), "w") as f:
                f.write(str(value))
        if os.path.isdir(self.path):
            os.rmdir(self.path)
        os.mkdir(self.path)
        write("memory.limit_in_bytes", limit)
        self.write = write

    def run(self, command):
        """Runs `command` as a process inside the group: (stdout, stderr)."""
        shell = f'echo $$ > {self.path}/cgroup.procs && exec "$@"'
        done = subprocess.run(["sh", "-c", shell, "sh", *command], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command[:2])} exited {done.returncode}: {done.stderr.strip()[-400:]}")
        return done.stdout, done.stderr

    def max_usage(self):
        with open(os.path.join(self.path, "memory.max_usage_in_bytes")) as f:
            return int(f.read())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for _ in range(50):
            try:
                os.rmdir(self.path)
                return
            except OSError:
                time.sleep(0.1)


def drop_caches():
    subprocess.run(["sync"], check=True)
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3")


def run_engine(engine, cli, compare_path, path, table, sql, limit, warm, number):
    """Cold run then `warm` runs of one engine in one fresh group: [figures per run]."""
    if engine == "quiver":
        command = quiver_command(cli, path, sql)
    else:
        command = [sys.executable, compare_path, "--pressure-child", engine, path, table, sql]
    runs = []
    with Group(f"quiver-pressure-{os.getpid()}-{number}", limit) as group:
        drop_caches()
        for _ in range(1 + warm):
            out, err = group.run(command)
            figures = parse_quiver(out, err) if engine == "quiver" else json.loads(out.strip().splitlines()[-1])
            runs.append(figures)
        runs[0]["group_max_bytes"] = group.max_usage()
    return runs


def agree(a, b):
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(agree(x, y) for x, y in zip(a, b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(a - b) <= 1e-6 * max(abs(a), abs(b), 1)
    if isinstance(a, str) and isinstance(b, str):
        try:
            return agree(float(a), float(b))
        except ValueError:
            return a == b
    if isinstance(a, str) or isinstance(b, str):
        try:
            return agree(float(a), float(b))
        except (TypeError, ValueError):
            return False
    return a == b


def sorted_answer(rows):
    return sorted(rows, key=lambda row: json.dumps(row, default=str))


def run(cli, compare_path, datasets, limit_mib, warm, hits_path, shared_query, clickbench, engines=ENGINES):
    """The whole pressure comparison; returns (markdown lines, failed)."""
    if not os.path.isdir(CGROUP_ROOT):
        sys.exit(f"--pressure needs cgroup v1's memory controller at {CGROUP_ROOT} (and root)")
    limit = limit_mib << 20
    sets = []
    lineitem = os.path.join(datasets, "lineitem-sf5", "lineitem.arrow")
    if os.path.exists(lineitem):
        sets.append(("SF5 lineitem", lineitem, "lineitem", tpch_queries(shared_query)))
    else:
        print(f"pressure: no {lineitem}: run `python3 datasets/generate.py --scale 5 --only lineitem`")
    if hits_path and os.path.exists(hits_path):
        sets.append((f"hits, {row_count(hits_path):,} rows", hits_path, "hits", hits_queries(clickbench)))
    elif hits_path:
        print(f"pressure: no {hits_path}")
    header = (f"{'data':<22} {'query':<10} {'engine':<17} {'cold s':>7} {'warm s':>7} {'read MiB':>9} "
              f"{'/touched':>8} {'maj flt':>8} {'RSS MiB':>8} {'group MiB':>9}  answer")
    print(f"\nMemory pressure: each engine in a cgroup-v1 memory group of {limit_mib} MiB, page cache dropped "
          f"before the cold run, then {warm} warm run(s) in the same group")
    print(header)
    lines = [f"Each engine in its own cgroup-v1 memory group limited to **{limit_mib} MiB**, page cache dropped "
             f"first (`sync; echo 3 > /proc/sys/vm/drop_caches`), one cold run then {warm} warm run(s) in the same "
             "group, each a fresh process. Time, bytes read from storage (`read_bytes` of /proc/self/io), major "
             "faults and peak RSS are measured by each process around its query (open included); *touched* is "
             "the bytes of the columns the query reads (Arrow buffers); *group* is the group's "
             "`memory.max_usage_in_bytes` (page cache included). Warm: the median of the warm runs.", "",
             "| data | query | engine | cold s | warm s | read MiB (cold) | read / touched | major faults | "
             "peak RSS MiB | group max MiB | answer |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    failed = False
    number = 0
    for label, path, table, queries in sets:
        size = os.path.getsize(path)
        for name, sql, columns in queries:
            touched = column_bytes(path, columns)
            reference = None
            for engine in engines:
                number += 1
                try:
                    runs = run_engine(engine, cli, compare_path, path, table, sql, limit, warm, number)
                except Exception as error:
                    print(f"{label:<22} {name:<10} {engine:<17} FAILED: {error}")
                    lines.append(f"| {label} | {name} | {engine} | failed | | | | | | | {str(error)[:80]} |")
                    failed = True
                    continue
                cold = runs[0]
                warm_times = sorted(r["time_s"] for r in runs[1:])
                warm_s = warm_times[len(warm_times) // 2] if warm_times else float("nan")
                answer = sorted_answer(cold["answer"])
                if reference is None:
                    reference, verdict = answer, "agree"
                else:
                    verdict = "agree" if agree(reference, answer) else "DIFFER"
                failed |= verdict != "agree"
                ratio = cold["read_bytes"] / touched if touched else float("nan")
                print(f"{label:<22} {name:<10} {engine:<17} {cold['time_s']:>7.2f} {warm_s:>7.2f} "
                      f"{cold['read_bytes'] / 2**20:>9.0f} {ratio:>8.2f} {cold['major_faults']:>8} "
                      f"{cold.get('peak_rss_bytes', 0) / 2**20:>8.0f} {cold['group_max_bytes'] / 2**20:>9.0f}  "
                      f"{verdict}", flush=True)
                lines.append(f"| {label} ({size / 2**30:.2f} GiB) | {name} | {engine} | {cold['time_s']:.2f} | "
                             f"{warm_s:.2f} | {cold['read_bytes'] / 2**20:,.0f} | {ratio:.2f} | "
                             f"{cold['major_faults']:,} | {cold.get('peak_rss_bytes', 0) / 2**20:,.0f} | "
                             f"{cold['group_max_bytes'] / 2**20:,.0f} | {verdict} |")
            lines.append(f"| | | *touched* | | | {touched / 2**20:,.0f} | 1.00 | | | | |")
    return lines, failed


def row_count(path):
    with pa.memory_map(path, "rb") as source:
        reader = ipc.open_file(source)
        return sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
