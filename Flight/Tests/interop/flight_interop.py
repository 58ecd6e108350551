#!/usr/bin/env python3
"""quiver-flight against real clients on 127.0.0.1: pyarrow.flight and the ADBC Flight SQL
driver. Starts the server on a fresh store, fills it through DoPut, and checks what the
clients read against pyarrow reading the store's files and DuckDB answering the same SQL.
Exits non-zero on the first failure.

    python3 Flight/Tests/interop/flight_interop.py --binary Flight/.build/debug/quiver-flight
"""
import argparse
import base64
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import duckdb
import pyarrow as pa
import pyarrow.flight as fl
import pyarrow.ipc as ipc

FAILURES = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        FAILURES.append(what)


def start(binary, store, *extra):
    proc = subprocess.Popen(
        [binary, "serve", store, "--host", "127.0.0.1", "--port", "0", *extra],
        stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if "serving" not in line:
        proc.kill()
        sys.exit(f"quiver-flight did not start: {line!r}")
    return proc, int(line.rsplit(":", 1)[1])


def batches(seed, count, rows):
    rng = random.Random(seed)
    out = []
    for b in range(count):
        ids = [seed * 1_000_000 + b * rows + i for i in range(rows)]
        out.append(pa.record_batch({
            "id": pa.array(ids, pa.int64()),
            "sym": pa.array([rng.choice(["AAPL", "MSFT", "GOOG", None, "IBM"]) for _ in ids], pa.utf8()),
            "px": pa.array([round(rng.uniform(1, 500), 2) for _ in ids], pa.float64()),
            "qty": pa.array([rng.randint(1, 1000) if rng.random() > 0.1 else None for _ in ids], pa.int32()),
        }))
    return out


def create_table(client, name, schema, **options):
    body = {"table": name, "schema": base64.b64encode(schema.serialize().to_pybytes()).decode(), **options}
    results = list(client.do_action(fl.Action("create-table", json.dumps(body).encode())))
    return json.loads(results[0].body.to_pybytes())


def put(client, name, schema, items):
    """DoPut, reading the PutResult of each batch before sending the next."""
    writer, reader = client.do_put(fl.FlightDescriptor.for_path(name), schema)
    acks = []
    for batch in items:
        writer.write_batch(batch)
        acks.append(json.loads(reader.read().to_pybytes()))
    writer.done_writing()
    writer.close()
    return acks


def file_batches(store, table, file, first, end):
    with ipc.open_file(os.path.join(store, "tables", table, file)) as f:
        return [f.get_batch(i) for i in range(first, end)]


def read_endpoint(client, endpoint, options=None):
    return client.do_get(endpoint.ticket, options).read_all()


def expect_error(call, what, *codes):
    try:
        call()
    except (fl.FlightError, pa.ArrowException) as error:
        text = str(error)
        check(not codes or any(code in text or code in type(error).__name__ for code in codes),
              f"{what}: error status ({type(error).__name__}: {text.splitlines()[0][:100]})")
        return
    check(False, f"{what}: an error")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="quiver-flight-")
    try:
        checks(args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if FAILURES:
        sys.exit(f"{len(FAILURES)} failure(s): {FAILURES}")
    print("all Flight interoperability checks passed")


def checks(args, scratch):
    store = os.path.join(scratch, "store")
    proc, port = start(args.binary, store, "--batches-per-endpoint", "2")
    try:
        run(store, port)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    secured = os.path.join(scratch, "auth")
    proc, port = start(args.binary, secured, "--token", "s3cret")
    try:
        auth(port)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    tls(args.binary, os.path.join(scratch, "tls"))
    limited = os.path.join(scratch, "limits")
    proc, port = start(args.binary, limited, "--max-streams", "1", "--memory-limit", "100000")
    try:
        limits(port)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def run(store, port):
    location = f"grpc://127.0.0.1:{port}"
    client = fl.connect(location)
    trades = batches(1, 7, 500)
    schema = trades[0].schema

    # --- Tables through DoAction and DoPut; a PutResult per commit.
    check(create_table(client, "trades", schema, max_batches_per_file=3)["created"], "create-table trades")
    check(create_table(client, "trades_lz4", schema, compression="lz4")["created"], "create-table trades_lz4 (LZ4)")
    acks = put(client, "trades", schema, trades)
    check([a["batches"] for a in acks] == list(range(1, 8)) and acks[-1]["rows"] == 3500,
          f"DoPut: a PutResult per committed batch ({acks[-1]})")
    put(client, "trades_lz4", schema, trades)

    # --- ListFlights: one per table, from the footers.
    flights = {f.descriptor.path[0].decode(): f for f in client.list_flights()}
    check(sorted(flights) == ["trades", "trades_lz4"], f"list_flights names {sorted(flights)}")
    check(flights["trades"].total_records == 3500 and flights["trades"].schema.equals(schema),
          "list_flights: rows and schema")
    check(flights["trades"].total_bytes > 0, "list_flights: bytes")

    # --- GetFlightInfo / GetSchema / DoGet of every endpoint, equal to pyarrow reading the files.
    for table in ["trades", "trades_lz4"]:
        info = client.get_flight_info(fl.FlightDescriptor.for_path(table))
        check(len(info.endpoints) >= 3, f"{table}: split into {len(info.endpoints)} endpoints")
        check(client.get_schema(fl.FlightDescriptor.for_path(table)).schema.equals(schema), f"{table}: get_schema")
        equal = True
        total = 0
        for endpoint in info.endpoints:
            ticket = json.loads(endpoint.ticket.ticket)
            got = read_endpoint(client, endpoint)
            want = pa.Table.from_batches(file_batches(store, table, ticket["file"], ticket["first"], ticket["end"]), schema)
            equal = equal and got.equals(want)
            total += got.num_rows
        check(equal and total == 3500, f"{table}: do_get of every endpoint equals pyarrow reading the files")
    with ipc.open_file(os.path.join(store, "tables", "trades_lz4", sorted(os.listdir(os.path.join(store, "tables", "trades_lz4")))[0])) as f:
        check(f.get_batch(0).num_rows == 500, "trades_lz4: stored files read by pyarrow")

    # --- DoPut of a stream into a new table (created from the stream's schema), read back.
    fresh = batches(2, 3, 100)
    put(client, "fresh", fresh[0].schema, fresh)
    info = client.get_flight_info(fl.FlightDescriptor.for_path("fresh"))
    got = pa.concat_tables([read_endpoint(client, e) for e in info.endpoints])
    check(got.equals(pa.Table.from_batches(fresh)), "do_put then do_get: the same rows")

    # --- Malformed requests: an error status, and the server goes on.
    expect_error(lambda: client.do_get(fl.Ticket(b"{not json")).read_all(), "malformed ticket", "INVALID_ARGUMENT", "ArrowInvalid")
    expect_error(lambda: client.do_get(fl.Ticket(b"\x0a\x03abc\xff")).read_all(), "binary garbage ticket")
    bad = json.dumps({"table": "trades", "file": "../../etc/passwd", "first": 0, "end": 1}).encode()
    expect_error(lambda: client.do_get(fl.Ticket(bad)).read_all(), "ticket naming a file outside the table", "NOT_FOUND", "not found", "FlightUnavailable")
    first = json.loads(client.get_flight_info(fl.FlightDescriptor.for_path("trades")).endpoints[0].ticket.ticket)
    over = json.dumps({**first, "end": 10_000}).encode()
    expect_error(lambda: client.do_get(fl.Ticket(over)).read_all(), "ticket past the file's batches", "INVALID_ARGUMENT", "ArrowInvalid")
    expect_error(lambda: client.get_flight_info(fl.FlightDescriptor.for_path("missing")), "unknown table")
    expect_error(lambda: list(client.do_action(fl.Action("no-such-action", b""))), "unknown action")
    expect_error(lambda: client.get_flight_info(fl.FlightDescriptor.for_command(b"SELEKT nonsense")), "SQL error in a command")
    check(len(list(client.list_flights())) == 3, "server still answers after malformed requests")

    # --- SQL as a plain command descriptor (pyarrow's for_command).
    info = client.get_flight_info(fl.FlightDescriptor.for_command(b"SELECT count(*) AS n FROM trades"))
    check(read_endpoint(client, info.endpoints[0]).column("n").to_pylist() == [3500], "for_command SQL through DoGet")

    adbc(store, port, trades)
    parallel(store, location, schema)

    # --- DoAction check and compact (last: compaction replaces the files tickets name).
    reports = [json.loads(r.body.to_pybytes()) for r in client.do_action(fl.Action("check", b""))]
    check(reports and all(r["healthy"] for r in reports), f"check: {len(reports)} healthy files")
    report = json.loads(list(client.do_action(fl.Action("compact", b"trades")))[0].body.to_pybytes())
    check(report["files_after"] <= report["files_before"] and report["rows"] >= 3500, f"compact: {report}")
    expect_error(lambda: client.do_get(fl.Ticket(json.dumps(first).encode())).read_all(),
                 "a ticket of a compacted-away file", "NOT_FOUND", "not found", "compacted")


def sql_rows(table):
    return [tuple(round(v, 6) if isinstance(v, float) else v for v in row.values()) for row in table.to_pylist()]


def adbc(store, port, trades):
    import adbc_driver_flightsql.dbapi as flightsql
    data = pa.Table.from_batches(trades)
    duck = duckdb.connect()
    duck.register("trades", data)
    queries = [
        "SELECT id, sym, px, qty FROM trades WHERE qty > 500 AND sym = 'MSFT' ORDER BY id",
        "SELECT sym, count(*) AS n, sum(qty) AS q, min(px) AS lo, max(px) AS hi FROM trades GROUP BY sym ORDER BY sym",
        "SELECT id, px * 2 AS double_px FROM trades ORDER BY px DESC, id LIMIT 10",
    ]
    with flightsql.connect(f"grpc://127.0.0.1:{port}", autocommit=True) as conn:
        with conn.cursor() as cur:
            for sql in queries:
                cur.execute(sql)
                ours = cur.fetch_arrow_table()
                theirs = duck.sql(sql).to_arrow_table()
                check(sql_rows(ours) == sql_rows(theirs) and ours.num_rows > 0,
                      f"ADBC execute + fetch_arrow_table equals DuckDB: {sql[:60]}")
            try:
                cur.execute("SELECT nope FROM trades")
                cur.fetch_arrow_table()
                check(False, "ADBC: a SQL error is an error")
            except Exception as error:  # the DB-API's ProgrammingError / OperationalError
                check("nope" in str(error) or "INVALID_ARGUMENT" in str(error), f"ADBC: a SQL error comes back ({type(error).__name__})")
            cur.execute("SELECT count(*) AS n FROM trades")
            check(cur.fetch_arrow_table().column("n").to_pylist() == [3500], "ADBC: connection works after the error")
            parameters = cur.adbc_prepare("SELECT sym, max(px) AS hi FROM trades GROUP BY sym ORDER BY sym")
            check(parameters is not None and len(parameters) == 0, f"ADBC adbc_prepare: no parameters ({parameters})")
            schema = cur.adbc_execute_schema("SELECT sym, max(px) AS hi FROM trades GROUP BY sym ORDER BY sym")
            check(schema.names == ["sym", "hi"], f"ADBC adbc_execute_schema (GetSchema of a statement): {schema.names}")
            cur.execute("SELECT sym, max(px) AS hi FROM trades GROUP BY sym ORDER BY sym")
            theirs = duck.sql("SELECT sym, max(px) AS hi FROM trades GROUP BY sym ORDER BY sym").to_arrow_table()
            check(sql_rows(cur.fetch_arrow_table()) == sql_rows(theirs), "ADBC: the prepared statement runs, equal to DuckDB")
        objects = conn.adbc_get_objects().read_all().to_pylist()
        names = sorted(t["table_name"] for c in objects for s in (c["catalog_db_schemas"] or []) for t in (s["db_schema_tables"] or []))
        check({"trades", "trades_lz4", "fresh"} <= set(names), f"ADBC adbc_get_objects lists the tables {names}")
        check(conn.adbc_get_table_schema("trades").equals(trades[0].schema), "ADBC adbc_get_table_schema")
        info = conn.adbc_get_info()
        check(info.get("vendor_name") == "Quiver", f"ADBC adbc_get_info vendor {info.get('vendor_name')}")


def parallel(store, location, schema):
    """Readers fetch every endpoint from several threads while a writer appends: each
    endpoint's rows must equal its file's batches as committed (they never change)."""
    stop = threading.Event()
    appended = []

    def writer():
        seed = 100
        while not stop.is_set():
            more = batches(seed, 2, 250)
            put(own_writer, "trades", schema, more)
            appended.extend(more)
            seed += 1

    client = fl.connect(location)
    own_writer = fl.connect(location)
    thread = threading.Thread(target=writer)
    thread.start()
    results = []
    lock = threading.Lock()

    def reader(endpoints):
        own = fl.connect(location)
        for endpoint in endpoints:
            table = read_endpoint(own, endpoint)
            with lock:
                results.append((json.loads(endpoint.ticket.ticket), table))

    try:
        for _ in range(4):
            endpoints = client.get_flight_info(fl.FlightDescriptor.for_path("trades")).endpoints
            threads = [threading.Thread(target=reader, args=(endpoints[i::4],)) for i in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    finally:
        stop.set()
        thread.join()
    consistent = all(
        table.equals(pa.Table.from_batches(file_batches(store, "trades", t["file"], t["first"], t["end"]), schema))
        for t, table in results)
    check(consistent and len(results) > 4 and appended,
          f"parallel do_get of {len(results)} endpoints during {len(appended)} appended batches: consistent snapshots")


def auth(port):
    location = f"grpc://127.0.0.1:{port}"
    client = fl.connect(location)
    expect_error(lambda: list(client.list_flights()), "no token: unauthenticated", "Unauthenticated", "UNAUTHENTICATED")
    expect_error(lambda: client.authenticate_basic_token(b"user", b"wrong"), "wrong password: unauthenticated")
    header = client.authenticate_basic_token(b"user", b"s3cret")
    options = fl.FlightCallOptions(headers=[header])
    check(list(client.list_flights(options=options)) == [], "basic-auth handshake hands out a working bearer token")
    direct = fl.FlightCallOptions(headers=[(b"authorization", b"Bearer s3cret")])
    check(list(client.list_flights(options=direct)) == [], "bearer token header")


def limits(port):
    """--max-streams 1 and --memory-limit: a client that stops reading holds its stream (the
    server waits on flow control, no buffering), a second stream is refused at once, and
    cancelling the first frees its slot. A query over the memory limit fails cleanly."""
    location = f"grpc://127.0.0.1:{port}"
    client = fl.connect(location)
    big = [pa.record_batch({"x": pa.array(range(i * 500_000, (i + 1) * 500_000), pa.int64())}) for i in range(16)]
    put(client, "big", big[0].schema, big)  # 64 MB in one endpoint: more than any flow-control window
    endpoint = client.get_flight_info(fl.FlightDescriptor.for_path("big")).endpoints[0]
    slow = client.do_get(endpoint.ticket)
    check(slow.read_chunk().data.num_rows == 500_000, "a slow reader gets its first batch")
    other = fl.connect(location)
    expect_error(lambda: other.do_get(endpoint.ticket).read_all(), "a second stream over the cap", "RESOURCE_EXHAUSTED", "resource exhausted", "streams are being served")
    slow.cancel()
    freed = False
    for _ in range(100):
        try:
            freed = other.do_get(endpoint.ticket).read_all().num_rows == 8_000_000
            break
        except (fl.FlightError, pa.ArrowException):
            time.sleep(0.1)
    check(freed, "cancelling the slow reader frees its stream")
    expect_error(lambda: other.do_get(other.get_flight_info(
        fl.FlightDescriptor.for_command(b"SELECT x % 1000000 AS k, count(*) AS n FROM big GROUP BY k")).endpoints[0].ticket).read_all(),
        "a query over the memory limit", "RESOURCE_EXHAUSTED", "resource exhausted", "over the limit")
    check(other.do_get(other.get_flight_info(fl.FlightDescriptor.for_command(b"SELECT x FROM big LIMIT 3")).endpoints[0].ticket)
          .read_all().num_rows == 3, "a small query under the memory limit runs")


def tls(binary, directory):
    """--tls-cert/--tls-key: a grpc+tls:// client that trusts the certificate reads."""
    os.makedirs(directory)
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True)
    proc, port = start(binary, os.path.join(directory, "store"), "--tls-cert", cert, "--tls-key", key)
    try:
        with open(cert, "rb") as f:
            client = fl.connect(f"grpc+tls://127.0.0.1:{port}", tls_root_certs=f.read())
        items = batches(3, 2, 50)
        put(client, "secure", items[0].schema, items)
        info = client.get_flight_info(fl.FlightDescriptor.for_path("secure"))
        got = pa.concat_tables([read_endpoint(client, e) for e in info.endpoints])
        check(got.equals(pa.Table.from_batches(items)), "TLS: do_put and do_get over grpc+tls")
        plain = fl.connect(f"grpc://127.0.0.1:{port}")
        expect_error(lambda: list(plain.list_flights()), "TLS: a plain-text client is refused")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
