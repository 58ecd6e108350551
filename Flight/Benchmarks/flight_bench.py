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
import subprocess
import sys
import tempfile
import time

import pyarrow as pa
import pyarrow.flight as fl
import pyarrow.ipc as ipc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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


def start_quiver(binary, store):
    proc = subprocess.Popen([binary, "serve", store, "--port", "0"], stdout=subprocess.PIPE, text=True)
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


def timed(read, repeats):
    best, table = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        table = read()
        best = min(best, time.perf_counter() - start)
    return best, table


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=os.path.join(ROOT, "Flight/.build/release/quiver-flight"))
    parser.add_argument("--quiver", default=os.path.join(ROOT, ".build/release/quiver"))
    parser.add_argument("--data", default=os.path.join(ROOT, "datasets/generated/lineitem-sf1"))
    parser.add_argument("--repeats", type=int, default=5)
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

        rows = []
        for label, ours, theirs in [
            ("uncompressed", "lineitem", ["plain"]),
            ("LZ4", "lineitem_lz4", ["lz4-decode", "lz4-recompress"]),
        ]:
            seconds, table = timed(lambda: read_quiver(ours), args.repeats)
            size = table.nbytes
            for peer_ticket in theirs:
                peer_seconds, peer_table = timed(lambda: p.do_get(fl.Ticket(peer_ticket.encode())).read_all(), args.repeats)
                assert peer_table.num_rows == table.num_rows, (peer_table.num_rows, table.num_rows)
                rows.append((label, peer_ticket, size / seconds / 1e9, size / peer_seconds / 1e9, peer_seconds / seconds))
        print(f"DoGet of TPC-H SF1 lineitem ({table.num_rows:,} rows, {size / 1e9:.2f} GB decoded), best of {args.repeats}:")
        print(f"{'table':14} {'peer (pyarrow.flight)':24} {'quiver GB/s':>11} {'peer GB/s':>10} {'ratio':>7}")
        for label, peer_ticket, ours, theirs, ratio in rows:
            print(f"{label:14} {peer_ticket:24} {ours:11.2f} {theirs:10.2f} {ratio:6.2f}x")

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
        print(f"SELECT * FROM lineitem LIMIT 10, first batch: DoGet median {latencies[25] * 1e3:.2f} ms, "
              f"GetFlightInfo + DoGet median {totals[25] * 1e3:.2f} ms (p90 {totals[45] * 1e3:.2f} ms)")
    finally:
        quiver.terminate()
        peer.terminate()
        quiver.wait()
        peer.wait()


if __name__ == "__main__":
    main()
