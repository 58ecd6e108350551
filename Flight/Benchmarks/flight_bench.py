#!/usr/bin/env python3
"""DoGet throughput of quiver-flight against a pyarrow.flight server, same files, same run.

Both serve TPC-H SF1 lineitem (datasets/generated/lineitem-sf1, from `make datasets`) over
loopback; one pyarrow.flight client reads each whole table, repeatedly, and the best time
counts. GB/s is the table's in-memory (decoded) size over the time, for both servers.

  - quiver-flight serves a store made with `quiver store append` (uncompressed, and LZ4
    with `--compression lz4`): stored messages go out as they lie in the memory map.
  - The peer is a pyarrow.flight server in Python serving the same Arrow file from a memory
    map: uncompressed batches zero-copy; for LZ4, pyarrow cannot forward compressed bodies,
    so it either decodes them (sending uncompressed) or decodes and re-compresses (sending
    LZ4); both are measured.

Also: the latency of the first batch of `SELECT * FROM lineitem LIMIT 10` through Flight
SQL-style `for_command` (GetFlightInfo, then DoGet to the first batch).

  python3 Flight/Benchmarks/flight_bench.py --binary Flight/.build/release/quiver-flight
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import pyarrow as pa
import pyarrow.flight as fl
import pyarrow.ipc as ipc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "Benchmarks", "peers"))
from compare import machine, replace_block  # noqa: E402  (BENCHMARKS.md's one writer)


def peer_server(port, files):
    """The peer: a pyarrow.flight server over memory-mapped files (runs in a subprocess)."""

    class Peer(fl.FlightServerBase):
        def do_get(self, context, ticket):
            name = ticket.ticket.decode()
            path, mode = files[name]
            reader = ipc.open_file(pa.memory_map(path))
            options = ipc.IpcWriteOptions(compression="lz4" if mode == "recompress" else None)
            batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
            return fl.GeneratorStream(reader.schema, batches, options=options)

    server = Peer(f"grpc://127.0.0.1:{port}")
    print("serving", flush=True)
    server.serve()


def start_quiver(binary, store, *extra):
    proc = subprocess.Popen([binary, "serve", store, "--port", "0", *extra], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert "serving" in line, line
    return proc, int(line.rsplit(":", 1)[1])


def start_peer(files):
    port = free_port()
    spec = ";".join(f"{k}={v[0]}={v[1]}" for k, v in files.items())
    proc = subprocess.Popen([sys.executable, __file__, "--peer", str(port), spec], stdout=subprocess.PIPE, text=True)
    assert "serving" in proc.stdout.readline()
    return proc, port


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alternated(reads, repeats):
    """Times each of `reads` `repeats` times, in alternating rounds (a, b, a, b, …), so a slow
    stretch of the shared machine falls on both; returns per read its times and last table."""
    times, tables = [[] for _ in reads], [None for _ in reads]
    for _ in range(repeats):
        for index, read in enumerate(reads):
            start = time.perf_counter()
            tables[index] = read()
            times[index].append(time.perf_counter() - start)
    return times, tables


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=os.path.join(ROOT, "Flight/.build/release/quiver-flight"))
    parser.add_argument("--quiver", default=os.path.join(ROOT, ".build/release/quiver"))
    parser.add_argument("--data", default=os.path.join(ROOT, "datasets/generated/lineitem-sf1"))
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-write", action="store_true", help="print only; do not update BENCHMARKS.md")
    parser.add_argument("--peer", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer:
        files = {k: (p, m) for k, p, m in (item.split("=") for item in args.peer[1].split(";"))}
        return peer_server(int(args.peer[0]), files)

    plain, lz4 = os.path.join(args.data, "lineitem.arrow"), os.path.join(args.data, "lineitem-lz4.arrow")
    if not os.path.exists(args.quiver):
        subprocess.run(["swift", "build", "-c", "release", "--product", "quiver"], cwd=ROOT, check=True)
    store = tempfile.mkdtemp(prefix="quiver-flight-bench-")
    try:
        subprocess.run([args.quiver, "store", "append", store, "lineitem", plain, "-q", "--no-sync"], check=True)
        subprocess.run([args.quiver, "store", "append", store, "lineitem_lz4", plain, "-q", "--no-sync",
                        "--compression", "lz4"], check=True)
        run(args, store, plain, lz4)
    finally:
        shutil.rmtree(store, ignore_errors=True)


def run(args, store, plain, lz4):
    quiver, quiver_port = start_quiver(args.binary, store)
    peer, peer_port = start_peer({"plain": (plain, "plain"), "lz4-decode": (lz4, "plain"), "lz4-recompress": (lz4, "recompress")})
    try:
        q = fl.connect(f"grpc://127.0.0.1:{quiver_port}")
        p = fl.connect(f"grpc://127.0.0.1:{peer_port}")

        def read_quiver(table):
            info = q.get_flight_info(fl.FlightDescriptor.for_path(table))
            return pa.concat_tables([q.do_get(e.ticket).read_all() for e in info.endpoints])

        # One untimed read of everything first: the client process's allocator adapts over
        # its first large reads, so without this whichever server is read first pays for it
        # (see BENCHMARKS.md's Flight section).
        read_quiver("lineitem")
        read_quiver("lineitem_lz4")
        for ticket in ["plain", "lz4-decode", "lz4-recompress"]:
            p.do_get(fl.Ticket(ticket.encode())).read_all()
        rows = []
        for label, ours, theirs in [
            ("uncompressed", "lineitem", ["plain"]),
            ("LZ4", "lineitem_lz4", ["lz4-decode", "lz4-recompress"]),
        ]:
            for peer_ticket in theirs:
                (ours_times, peer_times), (table, peer_table) = alternated(
                    [lambda: read_quiver(ours), lambda: p.do_get(fl.Ticket(peer_ticket.encode())).read_all()], args.repeats)
                assert peer_table.num_rows == table.num_rows, (peer_table.num_rows, table.num_rows)
                size = table.nbytes
                seconds, peer_seconds = min(ours_times), min(peer_times)
                median_ratio = statistics.median(t / o for o, t in zip(ours_times, peer_times))
                rows.append((label, peer_ticket, size / seconds / 1e9, size / peer_seconds / 1e9, peer_seconds / seconds,
                             median_ratio))
        latencies, totals = [], []
        for _ in range(50):
            start = time.perf_counter()
            info = q.get_flight_info(fl.FlightDescriptor.for_command(b"SELECT * FROM lineitem LIMIT 10"))
            middle = time.perf_counter()
            reader = q.do_get(info.endpoints[0].ticket)
            chunk = reader.read_chunk()
            end = time.perf_counter()
            assert chunk.data.num_rows == 10
            latencies.append(end - middle)
            totals.append(end - start)
        latencies.sort()
        totals.sort()
        info = machine()
        lines = [
            "## Arrow Flight: DoGet over loopback", "",
            f"Generated by `python3 Flight/Benchmarks/flight_bench.py` (`make bench-flight`) on {info['date']}: one "
            f"pyarrow.flight client reads TPC-H SF1 lineitem ({table.num_rows:,} rows, {size / 1e9:.2f} GB decoded) "
            "over 127.0.0.1 from quiver-flight (a store made by `quiver store append`, plain and `--compression lz4`; "
            "every endpoint read in turn) and from a pyarrow.flight server in Python serving the same Arrow file "
            f"from a memory map (`GeneratorStream` over its batches), in the same run, the two read in alternating "
            f"rounds; GB/s from the best of {args.repeats} rounds, and the median over the rounds of each round's "
            "time ratio, after "
            "one untimed read of every table from both servers (the client's allocator warms up over its first "
            "large reads, which otherwise handicaps whichever server is read first). "
            "GB/s = decoded bytes / time. pyarrow's server cannot forward compressed bodies: for LZ4 it either "
            "decodes them and sends plain batches (lz4-decode) or decodes and re-compresses (lz4-recompress).", "",
            f"- Machine: {info['cpu']}, {info['nproc']} cores, {info['memory']}; {info['swift']}; pyarrow {info['pyarrow']}",
            f"- Load average (5 min) at the end of the run: {info['load']} on {info['nproc']} cores (shared machine)", "",
            "| table | peer server | quiver-flight GB/s | pyarrow.flight GB/s | peer time / quiver time, best | same, median of rounds |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for label, peer_ticket, ours, theirs, ratio, median_ratio in rows:
            lines.append(f"| {label} | {peer_ticket} | {ours:.2f} | {theirs:.2f} | {ratio:.2f}x | {median_ratio:.2f}x |")
        lines += ["", f"`SELECT * FROM lineitem LIMIT 10` through `for_command`: first batch {latencies[25] * 1e3:.2f} ms "
                  f"after DoGet (median of 50), {totals[25] * 1e3:.2f} ms including GetFlightInfo (p90 "
                  f"{totals[45] * 1e3:.2f} ms).", ""]
        print("\n".join(lines))
        if not args.no_write:
            replace_block("flight", lines)
    finally:
        quiver.terminate()
        peer.terminate()
        quiver.wait()
        peer.wait()


if __name__ == "__main__":
    main()
