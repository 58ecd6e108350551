"""pyarrow side of Quiver's interoperability tests.

  write DIR          write every Arrow type as DIR/types.arrow (file) and DIR/types.stream,
                     several batches (with nulls, an empty batch, a sliced batch, deep nesting)
                     plus compressed variants: lz4, zstd at levels 1, 9 and 19, lz4 with deltas
  compare A B        read A and B (file or stream format, detected) and require equal tables,
                     including schema and field metadata; prints "equal" or exits 1
  describe F         print one line per batch: num_rows and per-column null counts
"""
import datetime
import decimal
import sys

import pyarrow as pa
import pyarrow.ipc as ipc


def uuid_type():
    class UuidType(pa.ExtensionType):
        def __init__(self):
            super().__init__(pa.binary(16), "quiver.test.uuid")

        def __arrow_ext_serialize__(self):
            return b"v1"

        @classmethod
        def __arrow_ext_deserialize__(cls, storage_type, serialized):
            return cls()

    return UuidType()


def build_table():
    n = 7
    nulls = [i % 3 == 1 for i in range(n)]

    def with_nulls(values):
        return [None if nulls[i] else v for i, v in enumerate(values)]

    ints = list(range(-3, n - 3))
    strings = with_nulls(["", "a", "héllo", "a much longer string than twelve bytes", "x" * 13, "z", "日本"])
    cols = {}
    cols["null"] = pa.nulls(n)
    cols["bool"] = pa.array(with_nulls([i % 2 == 0 for i in range(n)]), pa.bool_())
    for t in [pa.int8(), pa.int16(), pa.int32(), pa.int64()]:
        cols[str(t)] = pa.array(with_nulls(ints), t)
    for t in [pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64()]:
        cols[str(t)] = pa.array(with_nulls([abs(i) for i in ints]), t)
    import numpy as np
    cols["float16"] = pa.array(np.array([1.5, -2.0, 0.0, 65504.0, 0.25, 3.0, -1.0], dtype=np.float16), pa.float16())
    cols["float32"] = pa.array(with_nulls([i * 0.5 for i in ints]), pa.float32())
    cols["float64"] = pa.array(with_nulls([i * 1e100 for i in ints]), pa.float64())
    cols["decimal32"] = pa.array(with_nulls([decimal.Decimal(i) / 100 for i in ints]), pa.decimal32(7, 2))
    cols["decimal64"] = pa.array(with_nulls([decimal.Decimal(i) / 1000 for i in ints]), pa.decimal64(15, 3))
    cols["decimal128"] = pa.array(with_nulls([decimal.Decimal("12345678901234567890.12") * i for i in ints]), pa.decimal128(38, 2))
    cols["decimal256"] = pa.array(with_nulls([decimal.Decimal("1" + "0" * 60) * i for i in ints]), pa.decimal256(76, 0))
    cols["date32"] = pa.array(with_nulls([datetime.date(2020, 1, 1 + i + 3) for i in ints]), pa.date32())
    cols["date64"] = pa.array(with_nulls([datetime.date(1999, 12, 1 + i + 3) for i in ints]), pa.date64())
    cols["time32s"] = pa.array(with_nulls([i + 10 for i in ints]), pa.time32("s"))
    cols["time32ms"] = pa.array(with_nulls([i + 10 for i in ints]), pa.time32("ms"))
    cols["time64us"] = pa.array(with_nulls([i + 10 for i in ints]), pa.time64("us"))
    cols["time64ns"] = pa.array(with_nulls([i + 10 for i in ints]), pa.time64("ns"))
    for unit in ["s", "ms", "us", "ns"]:
        cols["ts_" + unit] = pa.array(with_nulls([i * 1000 for i in ints]), pa.timestamp(unit))
        cols["ts_" + unit + "_tz"] = pa.array(with_nulls([i * 1000 for i in ints]), pa.timestamp(unit, tz="Europe/Paris"))
        cols["dur_" + unit] = pa.array(with_nulls(ints), pa.duration(unit))
    cols["interval_ym"] = pa.array(with_nulls(ints), pa.int32()).view(pa.month_interval()) if hasattr(pa, "month_interval") else None
    cols["interval_mdn"] = pa.array(with_nulls([(i, -i, i * 1000) for i in ints]), pa.month_day_nano_interval())
    cols["binary"] = pa.array(with_nulls([bytes([i & 0xFF]) * abs(i) for i in ints]), pa.binary())
    cols["large_binary"] = pa.array(with_nulls([b"\x00\xff" * abs(i) for i in ints]), pa.large_binary())
    cols["binary_view"] = pa.array(with_nulls([b"v" * (abs(i) * 5) for i in ints]), pa.binary_view())
    cols["utf8"] = pa.array(strings, pa.string())
    cols["large_utf8"] = pa.array(strings, pa.large_string())
    cols["utf8_view"] = pa.array(strings, pa.string_view())
    cols["fixed_binary"] = pa.array(with_nulls([bytes([i & 0xFF] * 3) for i in ints]), pa.binary(3))
    list_values = with_nulls([[j for j in range(abs(i))] for i in ints])
    cols["list"] = pa.array(list_values, pa.list_(pa.int32()))
    cols["large_list"] = pa.array(list_values, pa.large_list(pa.int16()))
    cols["list_view"] = pa.array(list_values, pa.list_view(pa.int64()))
    cols["large_list_view"] = pa.array(list_values, pa.large_list_view(pa.int8()))
    cols["fixed_list"] = pa.array(with_nulls([[i, i + 1] for i in ints]), pa.list_(pa.float64(), 2))
    cols["struct"] = pa.array(
        with_nulls([{"x": i, "y": str(i), "z": [i] * abs(i)} for i in ints]),
        pa.struct([("x", pa.int32()), ("y", pa.string()), ("z", pa.list_(pa.int64()))]),
    )
    cols["map"] = pa.array(with_nulls([[("k%d" % j, j) for j in range(abs(i))] for i in ints]), pa.map_(pa.string(), pa.int32()))
    cols["sparse_union"] = pa.UnionArray.from_sparse(
        pa.array([0, 1, 0, 1, 0, 1, 0], pa.int8()),
        [pa.array(with_nulls(ints), pa.int32()), pa.array(strings, pa.string())],
    )
    cols["dense_union"] = pa.UnionArray.from_dense(
        pa.array([0, 1, 1, 0, 0, 1, 0], pa.int8()),
        pa.array([0, 0, 1, 1, 2, 2, 3], pa.int32()),
        [pa.array([1.5, None, 2.5, 3.5], pa.float64()), pa.array(["p", None, "q"], pa.string())],
    )
    cols["dict_utf8"] = pa.array(with_nulls(["red", "green", "red", "blue", "green", "red", "blue"])).dictionary_encode()
    cols["dict_int_uint8_idx"] = pa.DictionaryArray.from_arrays(
        pa.array(with_nulls([0, 1, 2, 1, 0, 2, 1]), pa.uint8()), pa.array([10, 20, 30], pa.int64()), ordered=True)
    cols["dict_list"] = pa.DictionaryArray.from_arrays(
        pa.array([0, 1, 0, 1, 1, 0, 0], pa.int16()), pa.array([[1, 2], None], pa.list_(pa.int32())))
    cols["ree"] = pa.RunEndEncodedArray.from_arrays(
        pa.array([2, 3, 7], pa.int32()), pa.array(["aa", None, "cc"], pa.string()))
    cols["ree64"] = pa.RunEndEncodedArray.from_arrays(
        pa.array([1, 7], pa.int64()), pa.array([1.0, 2.0], pa.float32()))
    cols["extension"] = pa.ExtensionArray.from_storage(
        uuid_type(), pa.array(with_nulls([bytes([i & 0xFF]) * 16 for i in ints]), pa.binary(16)))
    # Four levels of nesting: list<struct<a: list<map<string, list<int32>>>, b: dict>>
    deep_type = pa.list_(pa.struct([
        ("a", pa.list_(pa.map_(pa.string(), pa.list_(pa.int32())))),
        ("b", pa.string()),
    ]))
    cols["deep"] = pa.array(with_nulls([
        [{"a": [[("k", [i, None])], None], "b": "s%d" % i}, None] for i in ints
    ]), deep_type)
    cols = {k: v for k, v in cols.items() if v is not None}
    fields = []
    for name, arr in cols.items():
        md = {"field-key": "value of " + name} if name in ("int32", "struct", "utf8") else None
        fields.append(pa.field(name, arr.type, nullable=(name not in ("float16", "sparse_union", "dense_union", "ree", "ree64", "dict_list")), metadata=md))
    schema = pa.schema(fields, metadata={"origin": "pyarrow", "unicode": "ünïcödé"})
    batch = pa.record_batch(list(cols.values()), schema=schema)
    return schema, batch


def write(directory):
    pa.register_extension_type(uuid_type()) if False else None
    schema, batch = build_table()
    batches = [batch, batch.slice(0, 0), batch.slice(2, 4), batch]
    for name, opts in [("types", None), ("types_lz4", ipc.IpcWriteOptions(compression="lz4")),
                       ("types_zstd", ipc.IpcWriteOptions(compression=pa.Codec("zstd", compression_level=9))),
                       ("types_zstd1", ipc.IpcWriteOptions(compression=pa.Codec("zstd", compression_level=1))),
                       ("types_zstd19", ipc.IpcWriteOptions(compression=pa.Codec("zstd", compression_level=19))),
                       ("types_lz4_delta", ipc.IpcWriteOptions(compression="lz4", emit_dictionary_deltas=True))]:
        with ipc.new_file(f"{directory}/{name}.arrow", schema, options=opts) as w:
            for b in batches:
                w.write_batch(b)
        with ipc.new_stream(f"{directory}/{name}.stream", schema, options=opts) as w:
            for b in batches:
                w.write_batch(b)
    # Zero batches, and a seed-shaped small file.
    with ipc.new_file(f"{directory}/empty.arrow", schema) as w:
        pass
    print("ok")


def read_any(path):
    with open(path, "rb") as f:
        magic = f.read(6)
    if magic == b"ARROW1":
        reader = ipc.open_file(path)
        return reader.schema, [reader.get_batch(i) for i in range(reader.num_record_batches)]
    reader = ipc.open_stream(path)
    return reader.schema, list(reader)


def compare(a, b):
    schema_a, batches_a = read_any(a)
    schema_b, batches_b = read_any(b)
    if not schema_a.equals(schema_b, check_metadata=True):
        print(f"schemas differ:\n{schema_a}\n---\n{schema_b}", file=sys.stderr)
        sys.exit(1)
    ta = pa.Table.from_batches(batches_a, schema=schema_a)
    tb = pa.Table.from_batches(batches_b, schema=schema_b)
    if ta.num_rows != tb.num_rows:
        print(f"row counts differ: {ta.num_rows} vs {tb.num_rows}", file=sys.stderr)
        sys.exit(1)
    for index, name in enumerate(schema_a.names):
        ca, cb = ta.column(index), tb.column(index)
        if not ca.equals(cb):
            print(f"column {index} ({name}) differs:\n{ca}\n---\n{cb}", file=sys.stderr)
            sys.exit(1)
    for x in batches_b:
        x.validate(full=True)
    print("equal")


def describe(path):
    schema, batches = read_any(path)
    for b in batches:
        b.validate(full=True)
        print(b.num_rows, " ".join(str(c.null_count) for c in b.columns))


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "write":
        write(sys.argv[2])
    elif command == "compare":
        compare(sys.argv[2], sys.argv[3])
    elif command == "describe":
        describe(sys.argv[2])
    else:
        sys.exit(f"unknown command {command}")
