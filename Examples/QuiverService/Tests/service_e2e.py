#!/usr/bin/env python3
"""End-to-end test of the reference service (Examples/QuiverService) with real clients on
127.0.0.1: pyarrow posts Arrow IPC streams and reads Arrow responses back, curl posts SQL,
several client threads query while appends go on, counts are exact, malformed bodies and SQL
get 4xx. With --load it also measures query latency (p50/p99) and ingest rows/s under
concurrent appends, for BENCHMARKS.md.

Usage: service_e2e.py BINARY [--load]   (BINARY: the built quiver-service)
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pyarrow as pa
import pyarrow.ipc as ipc

ARROW = "application/vnd.apache.arrow.stream"
passed = failed = 0


def check(name, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name} {detail}", flush=True)


def request(base, method, path, body=None, headers=None):
    req = urllib.request.Request(base + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


def stream_bytes(batches):
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, batches[0].schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


def batch(start, count):
    ids = pa.array(range(start, start + count), pa.int64())
    return pa.record_batch([ids, pa.array([f"name{i % 97}" for i in range(start, start + count)]),
                            pa.array([i * 0.5 for i in range(start, start + count)])],
                           names=["id", "name", "score"])


def chunked(data, size):
    for i in range(0, len(data), size):
        yield data[i:i + size]


def query_json(base, sql):
    status, _, body = request(base, "GET", "/query?sql=" + urllib.parse.quote(sql))
    return status, json.loads(body) if status == 200 else body


def main():
    binary = sys.argv[1]
    load = "--load" in sys.argv
    directory = tempfile.mkdtemp(prefix="quiver-service-")
    process = subprocess.Popen([binary, "--store", os.path.join(directory, "store"), "--host", "127.0.0.1", "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = ""
        deadline = time.time() + 60
        while "listening on" not in line and time.time() < deadline:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                raise SystemExit("the service exited before listening")
        port = re.search(r":(\d+)\s*$", line.strip()).group(1)
        base = f"http://127.0.0.1:{port}"
        threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
        run_checks(base)
        if load:
            measure(base)
        # Graceful shutdown: SIGTERM, the process exits 0 and the store reopens with every row.
        process.send_signal(signal.SIGTERM)
        check("graceful exit", process.wait(timeout=30) == 0)
    finally:
        if process.poll() is None:
            process.kill()
        shutil.rmtree(directory, ignore_errors=True)
    print(f"service-e2e: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


def run_checks(base):
    # pyarrow posts a stream (chunked transfer, so it is decoded as it arrives); the table is created.
    data = stream_bytes([batch(0, 1000), batch(1000, 1000)])
    status, _, body = request(base, "POST", "/tables/events", body=chunked(data, 4096),
                              headers={"Content-Type": ARROW, "Transfer-Encoding": "chunked"})
    check("ingest status", status == 200, body)
    check("rows committed", json.loads(body)["rows"] == 2000, body)

    # Arrow back: pyarrow reads the response stream.
    sql = "SELECT id, name, score FROM events WHERE id % 10 = 3 ORDER BY id"
    status, content_type, body = request(base, "GET", "/query?sql=" + urllib.parse.quote(sql), headers={"Accept": ARROW})
    check("arrow status", status == 200 and content_type == ARROW, (status, content_type, body[:200]))
    table = ipc.open_stream(body).read_all()
    check("arrow rows", table.num_rows == 200 and table.column("id").to_pylist()[:3] == [3, 13, 23], table.num_rows)
    check("arrow schema", table.schema.names == ["id", "name", "score"] and table.schema.field("id").type == pa.int64())

    # curl posts SQL; JSON rows come back.
    out = subprocess.run(["curl", "-sS", "-X", "POST", "--data-binary", "SELECT count(*) AS n, sum(id) AS s FROM events",
                          base + "/query"], capture_output=True, text=True, check=True).stdout
    rows = json.loads(out)
    # A sum of int64 is a 128-bit decimal: JSON carries it as a string, exactly.
    check("curl json", len(rows) == 1 and rows[0]["n"] == 2000 and int(rows[0]["s"]) == sum(range(2000)), out)

    # Malformed bodies and SQL get 4xx with Quiver's message.
    status, _, body = request(base, "POST", "/tables/events", body=b"this is not an arrow stream")
    check("garbage body 400", status == 400 and b"invalidMessage" in body, (status, body))
    status, _, body = request(base, "POST", "/tables/events", body=data[:len(data) - 100])
    check("truncated body 400", status == 400 and b"endOfStream" in body, (status, body))
    other = stream_bytes([pa.record_batch([pa.array([1.5])], names=["id"])])
    status, _, body = request(base, "POST", "/tables/events", body=other)
    check("wrong schema 400", status == 400 and b"schemaMismatch" in body, (status, body))
    status, body = query_json(base, "SELEC id FROM events")
    check("bad SQL 400", status == 400 and b"query" in body, (status, body))
    status, body = query_json(base, "SELECT nope FROM events")
    check("unknown column 400", status == 400, (status, body))
    status, body = query_json(base, "SELECT * FROM missing_table")
    check("unknown table 4xx", 400 <= status < 500, (status, body))
    status, _, body = request(base, "POST", "/tables/bad%20name", body=data)
    check("bad table name 4xx", 400 <= status < 500, (status, body))
    status, body = query_json(base, "SELECT count(*) AS n FROM events")
    check("nothing committed by failures", status == 200 and body == [{"n": 2000}], body)

    # Several client threads query while appends go on: every count is a whole number of
    # appended batches (a snapshot never sees half an append) and never goes backwards.
    errors = []
    appends = 20

    def appender():
        for k in range(appends):
            payload = stream_bytes([batch(10_000 + k * 500, 500)])
            status, _, body = request(base, "POST", "/tables/events", body=payload, headers={"Content-Type": ARROW})
            if status != 200 or json.loads(body)["rows"] != 500:
                errors.append(("append", status, body))

    def reader():
        last = 0
        for _ in range(15):
            status, body = query_json(base, "SELECT count(*) AS n FROM events")
            if status != 200:
                errors.append(("query", status, body))
                continue
            n = body[0]["n"]
            if n < last or (n - 2000) % 500 != 0:
                errors.append(("count", n, last))
            last = n
            status, _, arrow = request(base, "GET", "/query?sql=" + urllib.parse.quote("SELECT id FROM events WHERE id < 100"),
                                       headers={"Accept": ARROW})
            if status != 200 or ipc.open_stream(arrow).read_all().num_rows != 100:
                errors.append(("arrow", status))

    threads = [threading.Thread(target=appender)] + [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    check("concurrent clients", not errors, errors[:5])
    status, body = query_json(base, "SELECT count(*) AS n, count(DISTINCT id) AS d FROM events")
    check("exact count after appends", body == [{"n": 2000 + appends * 500, "d": 2000 + appends * 500}], body)

    # Metrics: Prometheus text with the memory figures and the query counter.
    status, content_type, body = request(base, "GET", "/metrics")
    text = body.decode()
    check("metrics", status == 200 and "quiver_allocated_bytes" in text and "quiver_mapped_resident_bytes" in text
          and "quiver_resident_set_bytes" in text and "quiver_query_duration_seconds_bucket" in text, text[:300])
    served = re.search(r"^quiver_queries_total (\d+)", text, re.M)
    check("queries counted", served is not None and int(served.group(1)) >= 60, served and served.group(0))


def measure(base):
    """Query latency under concurrent appends, and ingest rows/s (figures for BENCHMARKS.md)."""
    rows_per_append = 50_000
    appends = 40
    payloads = [stream_bytes([batch(1_000_000 + k * rows_per_append, rows_per_append)]) for k in range(appends)]
    latencies = []
    done = threading.Event()
    ingest = {}

    def appender():
        start = time.perf_counter()
        for payload in payloads:
            request(base, "POST", "/tables/load", body=payload, headers={"Content-Type": ARROW})
        ingest["seconds"] = time.perf_counter() - start
        done.set()

    def client():
        sql = urllib.parse.quote("SELECT name, count(*) AS n, avg(score) AS s FROM events GROUP BY name ORDER BY n DESC LIMIT 5")
        while not done.is_set() or len(latencies) < 300:
            start = time.perf_counter()
            status, _, _ = request(base, "GET", "/query?sql=" + sql)
            latencies.append(time.perf_counter() - start)
            if len(latencies) >= 600:
                break

    threads = [threading.Thread(target=appender)] + [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    rate = rows_per_append * appends / ingest["seconds"]
    print(f"load: {len(latencies)} queries (4 clients, 22,000-row table) during {appends} appends of "
          f"{rows_per_append} rows: query p50 {p50:.2f} ms, p99 {p99:.2f} ms; ingest {rate:,.0f} rows/s")


if __name__ == "__main__":
    main()
