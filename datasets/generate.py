#!/usr/bin/env python3
"""Generates Quiver's benchmark datasets into datasets/generated/ (git-ignored).

  python3 datasets/generate.py [--scale 1] [--out DIR] [--only seed,lineitem,wide,sorted,hits] [--force]
                               [--hits-rows N] [--hits-seed S] [--check-hits]

Idempotent: a dataset whose files exist (with a matching .done marker recording the
parameters) is skipped. Progress goes to stdout. What it writes:

  seed/bigfile.arrow, seed/bigfile.stream
      pyarrow's IPC page example: 10M int32 in 1000 batches of 10,000 (range(10000) each).
  lineitem-sf{S}/lineitem.arrow, lineitem-lz4.arrow, lineitem-zstd.arrow
      TPC-H lineitem at scale factor S from `tpchgen-cli` (PyPI), 65,536-row batches.
      Decimal columns (quantity, extendedprice, discount, tax) are stored as float64 and the
      string columns as utf8 (not string_view), so every engine reads the same plain types;
      query answers are therefore compared with a 1e-9 relative tolerance on sums.
  wide/wide.arrow
      128 columns (64 int64, 64 float64) × 262,144 rows in 16 batches: projection tests.
  sorted/sorted.arrow
      10,000,000 rows, int64 key 0..N-1 ascending + float64 value, 65,536-row batches:
      statistics (zone-map) skipping.
  hits/hits.arrow
      A synthetic ClickBench `hits` table (default 2,000,000 rows; seeded, made in 262,144-row
      chunks so memory stays bounded at any size): ClickBench's 105 columns in order and types,
      65,536-row batches, uncompressed, with distributions under which each of ClickBench's 43
      queries (queries/clickbench.sql) returns rows at 2M rows. --check-hits runs them in
      DuckDB and prints each one's row count.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH_ROWS = 65536


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def done(directory, params):
    marker = os.path.join(directory, ".done")
    if not os.path.exists(marker):
        return False
    with open(marker) as f:
        return json.load(f) == params


def mark(directory, params):
    with open(os.path.join(directory, ".done"), "w") as f:
        json.dump(params, f)


def write_file(path, table, batch_rows, compression=None):
    options = ipc.IpcWriteOptions(compression=compression) if compression else None
    tmp = path + ".tmp"
    with pa.OSFile(tmp, "wb") as sink, ipc.new_file(sink, table.schema, options=options) as writer:
        for batch in table.to_batches(max_chunksize=batch_rows):
            writer.write_batch(batch)
    os.replace(tmp, path)
    log(f"  wrote {os.path.relpath(path)} ({os.path.getsize(path) / 2**20:.1f} MiB)")


def seed(out, force):
    directory = os.path.join(out, "seed")
    params = {"batches": 1000, "rows": 10000}
    if not force and done(directory, params):
        log("seed: up to date")
        return
    os.makedirs(directory, exist_ok=True)
    log("seed: 10M int32 in 1000 batches of 10,000")
    schema = pa.schema([pa.field("nums", pa.int32())])
    batch = pa.record_batch([pa.array(range(10000), type=pa.int32())], schema=schema)
    for name, opener in [("bigfile.arrow", ipc.new_file), ("bigfile.stream", ipc.new_stream)]:
        with pa.OSFile(os.path.join(directory, name), "wb") as sink, opener(sink, schema) as writer:
            for _ in range(1000):
                writer.write_batch(batch)
        log(f"  wrote {name}")
    mark(directory, params)


def lineitem(out, scale, force):
    directory = os.path.join(out, f"lineitem-sf{scale:g}")
    params = {"scale": scale, "batch_rows": BATCH_ROWS, "version": 1}
    if not force and done(directory, params):
        log(f"lineitem sf{scale:g}: up to date")
        return
    if shutil.which("tpchgen-cli") is None:
        log("lineitem: installing tpchgen-cli from PyPI")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "tpchgen-cli"], check=True)
    os.makedirs(directory, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        log(f"lineitem sf{scale:g}: generating with tpchgen-cli")
        subprocess.run(["tpchgen-cli", "parquet", "-s", str(scale), "--tables=lineitem", f"--output-dir={tmp}"],
                       check=True, stdout=subprocess.DEVNULL)
        import pyarrow.parquet as pq
        table = pq.read_table(os.path.join(tmp, "lineitem.parquet"))
    columns, fields = [], []
    for field, column in zip(table.schema, table.columns):
        if pa.types.is_decimal(field.type):
            field, column = pa.field(field.name, pa.float64(), nullable=False), pc.cast(column, pa.float64())
        elif pa.types.is_string_view(field.type) or pa.types.is_large_string(field.type):
            field, column = pa.field(field.name, pa.string(), nullable=False), pc.cast(column, pa.string())
        else:
            field = pa.field(field.name, field.type, nullable=field.nullable)
        fields.append(field)
        columns.append(column)
    table = pa.table(columns, schema=pa.schema(fields)).combine_chunks()
    log(f"lineitem sf{scale:g}: {table.num_rows:,} rows")
    write_file(os.path.join(directory, "lineitem.arrow"), table, BATCH_ROWS)
    write_file(os.path.join(directory, "lineitem-lz4.arrow"), table, BATCH_ROWS, "lz4")
    write_file(os.path.join(directory, "lineitem-zstd.arrow"), table, BATCH_ROWS, "zstd")
    mark(directory, params)


def wide(out, force):
    directory = os.path.join(out, "wide")
    params = {"columns": 128, "rows": 262144, "version": 1}
    if not force and done(directory, params):
        log("wide: up to date")
        return
    os.makedirs(directory, exist_ok=True)
    import numpy as np
    rng = np.random.default_rng(42)
    rows = params["rows"]
    arrays, names = [], []
    for i in range(64):
        arrays.append(pa.array(rng.integers(0, 1_000_000, rows)))
        names.append(f"i{i}")
        arrays.append(pa.array(rng.random(rows)))
        names.append(f"f{i}")
    log("wide: 128 columns × 262,144 rows")
    write_file(os.path.join(directory, "wide.arrow"), pa.table(arrays, names=names), rows // 16)
    mark(directory, params)


def sorted_keys(out, force):
    directory = os.path.join(out, "sorted")
    params = {"rows": 10_000_000, "batch_rows": BATCH_ROWS, "version": 1}
    if not force and done(directory, params):
        log("sorted: up to date")
        return
    os.makedirs(directory, exist_ok=True)
    import numpy as np
    rows = params["rows"]
    keys = np.arange(rows, dtype=np.int64)
    values = np.random.default_rng(7).random(rows)
    log("sorted: 10M rows, ascending int64 key")
    table = pa.table({"k": pa.array(keys), "v": pa.array(values)})
    write_file(os.path.join(directory, "sorted.arrow"), table, BATCH_ROWS)
    mark(directory, params)



# ---------------------------------------------------------------------------------------------
# hits: a synthetic ClickBench table

# ClickBench's `hits` schema (duckdb/create.sql), column for column: BIGINT → int64, INTEGER →
# int32, SMALLINT → int16, TEXT/VARCHAR/CHAR → utf8, TIMESTAMP → timestamp[us] (no time zone:
# DuckDB reads it as TIMESTAMP), Date → date32. Columns that are NOT NULL there are non-nullable.
HITS_COLUMNS = [
    ("WatchID", "i64"), ("JavaEnable", "i16"), ("Title", "text?"), ("GoodEvent", "i16"),
    ("EventTime", "ts"), ("EventDate", "date"), ("CounterID", "i32"), ("ClientIP", "i32"),
    ("RegionID", "i32"), ("UserID", "i64"), ("CounterClass", "i16"), ("OS", "i16"),
    ("UserAgent", "i16"), ("URL", "text?"), ("Referer", "text?"), ("IsRefresh", "i16"),
    ("RefererCategoryID", "i16"), ("RefererRegionID", "i32"), ("URLCategoryID", "i16"),
    ("URLRegionID", "i32"), ("ResolutionWidth", "i16"), ("ResolutionHeight", "i16"),
    ("ResolutionDepth", "i16"), ("FlashMajor", "i16"), ("FlashMinor", "i16"), ("FlashMinor2", "text?"),
    ("NetMajor", "i16"), ("NetMinor", "i16"), ("UserAgentMajor", "i16"), ("UserAgentMinor", "text"),
    ("CookieEnable", "i16"), ("JavascriptEnable", "i16"), ("IsMobile", "i16"), ("MobilePhone", "i16"),
    ("MobilePhoneModel", "text?"), ("Params", "text?"), ("IPNetworkID", "i32"), ("TraficSourceID", "i16"),
    ("SearchEngineID", "i16"), ("SearchPhrase", "text?"), ("AdvEngineID", "i16"), ("IsArtifical", "i16"),
    ("WindowClientWidth", "i16"), ("WindowClientHeight", "i16"), ("ClientTimeZone", "i16"),
    ("ClientEventTime", "ts"), ("SilverlightVersion1", "i16"), ("SilverlightVersion2", "i16"),
    ("SilverlightVersion3", "i32"), ("SilverlightVersion4", "i16"), ("PageCharset", "text?"),
    ("CodeVersion", "i32"), ("IsLink", "i16"), ("IsDownload", "i16"), ("IsNotBounce", "i16"),
    ("FUniqID", "i64"), ("OriginalURL", "text?"), ("HID", "i32"), ("IsOldCounter", "i16"),
    ("IsEvent", "i16"), ("IsParameter", "i16"), ("DontCountHits", "i16"), ("WithHash", "i16"),
    ("HitColor", "text"), ("LocalEventTime", "ts"), ("Age", "i16"), ("Sex", "i16"), ("Income", "i16"),
    ("Interests", "i16"), ("Robotness", "i16"), ("RemoteIP", "i32"), ("WindowName", "i32"),
    ("OpenerName", "i32"), ("HistoryLength", "i16"), ("BrowserLanguage", "text?"),
    ("BrowserCountry", "text?"), ("SocialNetwork", "text?"), ("SocialAction", "text?"), ("HTTPError", "i16"),
    ("SendTiming", "i32"), ("DNSTiming", "i32"), ("ConnectTiming", "i32"), ("ResponseStartTiming", "i32"),
    ("ResponseEndTiming", "i32"), ("FetchTiming", "i32"), ("SocialSourceNetworkID", "i16"),
    ("SocialSourcePage", "text?"), ("ParamPrice", "i64"), ("ParamOrderID", "text?"),
    ("ParamCurrency", "text?"), ("ParamCurrencyID", "i16"), ("OpenstatServiceName", "text?"),
    ("OpenstatCampaignID", "text?"), ("OpenstatAdID", "text?"), ("OpenstatSourceID", "text?"),
    ("UTMSource", "text?"), ("UTMMedium", "text?"), ("UTMCampaign", "text?"), ("UTMContent", "text?"),
    ("UTMTerm", "text?"), ("FromTag", "text?"), ("HasGCLID", "i16"), ("RefererHash", "i64"),
    ("URLHash", "i64"), ("CLID", "i32"),
]
HITS_ROWS = 2_000_000
HITS_SEED = 20130701
HITS_CHUNK = 4 * BATCH_ROWS
# The constants ClickBench's queries filter on (Q20, Q41, Q42) and the dominant counter (Q37–Q43).
HITS_USER = 435090932899640449
HITS_REFERER_HASH = 3594120000172545465
HITS_URL_HASH = 2868770270353813622
HITS_COUNTER = 62


def hits_schema():
    types = {"i64": pa.int64(), "i32": pa.int32(), "i16": pa.int16(), "ts": pa.timestamp("us"),
             "date": pa.date32(), "text": pa.string(), "text?": pa.string()}
    return pa.schema([pa.field(name, types[kind], nullable=kind == "text?") for name, kind in HITS_COLUMNS])


def mix64(values):
    """splitmix64's finaliser: a bijection of uint64, so distinct inputs give distinct hashes."""
    import numpy as np
    z = values.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


class Skewed:
    """Draws indices 0..n-1 with Zipf weights 1/(i+1)^a (truncated, so any exponent works)."""

    def __init__(self, n, a):
        import numpy as np
        weights = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** a
        self.cdf = np.cumsum(weights / weights.sum())
        self.cdf[-1] = 1.0

    def draw(self, rng, size):
        import numpy as np
        return np.searchsorted(self.cdf, rng.random(size), side="right").astype(np.int64)


def choice(rng, size, values, weights):
    """`values` drawn with relative `weights` (a small categorical column)."""
    import numpy as np
    cdf = np.cumsum(np.asarray(weights, dtype=np.float64))
    cdf /= cdf[-1]
    return np.asarray(values)[np.minimum(np.searchsorted(cdf, rng.random(size), side="right"), len(values) - 1)]


class HitsVocabulary:
    """The strings and ids rows draw from, built once from the seed: domains, URLs, referers,
    titles, search phrases, users, phone models. Index 0 of the URLs and referers carries
    ClickBench's filtered hashes; users[3] is Q20's UserID."""

    WORDS = ("купить", "скачать", "бесплатно", "погода", "новости", "фильм", "онлайн", "цена", "отзывы",
             "москва", "карта", "музыка", "игры", "авто", "работа", "квартира", "рецепт", "билеты",
             "download", "free", "online", "weather", "news", "movie", "music", "games", "cars", "jobs",
             "hotel", "flight", "review", "price", "map", "video", "photo", "book", "phone", "laptop",
             "google", "yandex", "mail", "translate", "football", "hockey", "tv", "series", "anime",
             "windows", "android", "iphone", "samsung", "nokia", "lada", "bmw", "audi", "kia", "sale")
    MODELS = ("iPad", "iPhone", "GT-I9300", "GT-I9100", "GT-N7100", "GT-S5830", "HTC Desire", "Nexus 7",
              "Lenovo A820", "LG-P880", "Sony C6603", "Nokia Lumia", "MI 2", "ZTE V970", "Fly IQ4404")

    def __init__(self, seed):
        import numpy as np
        rng = np.random.default_rng([seed, 0])
        heads = ["yandex.ru", "mail.ru", "vk.com", "google.com", "avito.ru", "odnoklassniki.ru",
                 "google.ru", "rambler.ru", "livejournal.com", "youtube.com", "images.google.com", "kinopoisk.ru"]
        tlds = ["ru", "com", "net", "org", "ua", "su", "info"]
        domains = heads + [f"site{i}.{tlds[i % len(tlds)]}" for i in range(len(heads), 2000)]
        self.domains = domains
        words = self.WORDS

        def phrase(count):
            picks = rng.integers(0, len(words), size=(count, 3))
            lengths = rng.integers(1, 4, size=count)
            return [" ".join(words[w] for w in picks[i, :lengths[i]]) for i in range(count)]

        # URLs: a domain (skewed) and a path; URL 0 is the one Q42 filters on by its hash.
        url_count = 200_000
        url_domains = Skewed(len(domains), 1.1).draw(rng, url_count)
        url_words = phrase(url_count)
        self.urls = pa.array([
            f"http{'s' if i % 3 else ''}://{domains[d]}/{w.replace(' ', '/')}/{i}.html" if i % 11
            else f"https://{domains[d]}/search?q={w.replace(' ', '+')}&p={i}"
            for i, (d, w) in enumerate(zip(url_domains, url_words))], type=pa.string())
        self.url_hashes = mix64(np.arange(1, url_count + 1)).view(np.int64)
        self.url_hashes[0] = HITS_URL_HASH
        # Referers: (domain, path) pairs, both skewed, so that a few domains pass Q29's
        # HAVING COUNT(*) > 100000 at 2M rows; referer 0 carries Q41's hash.
        self.referer_paths = 50
        referer_count = len(domains) * self.referer_paths
        paths = phrase(referer_count)
        self.referers = pa.array([
            f"http{'s' if i % 2 else ''}://{'www.' if i % 5 < 2 else ''}{domains[i // self.referer_paths]}/"
            f"{paths[i].replace(' ', '/')}" + ("/" if i % 7 == 0 else f"?id={i}")
            for i in range(referer_count)], type=pa.string())
        self.referer_hashes = mix64(np.arange(1, referer_count + 1) + (1 << 40)).view(np.int64)
        self.referer_hashes[0] = HITS_REFERER_HASH
        # Titles: every 23rd names Google (Q23), a tenth of the rest Cyrillic via the words.
        title_count = 50_000
        title_words = phrase(title_count)
        self.titles = pa.array([
            (f"{w.capitalize()} — Google Search" if i % 23 == 0 else f"{w.capitalize()} | {domains[i % 300]}")
            for i, w in enumerate(title_words)], type=pa.string())
        self.phrases = pa.array(sorted(set(phrase(40_000))), type=pa.string())
        self.models = pa.array(list(self.MODELS), type=pa.string())
        user_count = 300_000
        self.users = (mix64(np.arange(user_count) + (2 << 40)) >> np.uint64(1)).astype(np.int64)
        self.users[3] = HITS_USER
        self.user_ips = rng.integers(-(1 << 31) + 16, (1 << 31) - 16, size=user_count, dtype=np.int64).astype(np.int32)
        self.user_regions = Skewed(8000, 1.05).draw(rng, user_count).astype(np.int32) + 1
        self.user_models = rng.integers(0, len(self.MODELS), size=user_count)
        self.url_draw = Skewed(url_count - 1, 1.0)
        self.domain_draw = Skewed(len(domains), 1.3)
        self.path_draw = Skewed(self.referer_paths, 1.0)
        self.title_draw = Skewed(title_count, 1.0)
        self.phrase_draw = Skewed(len(self.phrases), 1.05)
        self.user_draw = Skewed(user_count, 1.05)
        self.counter_draw = Skewed(20_000, 1.0)
        self.os_draw = Skewed(100, 1.5)
        self.agent_draw = Skewed(60, 1.3)


def hits_chunk(vocab, seed, index, rows):
    """Rows [index * HITS_CHUNK, + rows) of the table as a RecordBatch; every chunk has its own
    generator seeded from (seed, index), so any chunk can be made alone."""
    import numpy as np
    rng = np.random.default_rng([seed, 1, index])
    first = index * HITS_CHUNK
    cols = {}

    def small(values, weights, dtype=np.int16):
        return choice(rng, rows, values, weights).astype(dtype)

    def text(vocabulary, indices, empty=None):
        column = vocabulary.take(pa.array(indices))
        if empty is not None:
            column = pc.if_else(pa.array(empty), "", column)
        return column

    # Unique WatchIDs: an odd multiplier is a bijection modulo 2^63.
    row_ids = np.arange(first, first + rows, dtype=np.uint64)
    cols["WatchID"] = ((row_ids * np.uint64(0x5DEECE66D2545F49)) & np.uint64((1 << 63) - 1)).astype(np.int64)
    # One month: EventDate uniform over July 2013, EventTime a second on that day.
    july = (np.datetime64("2013-07-01") - np.datetime64("1970-01-01")).astype(np.int64)
    day = rng.integers(0, 31, size=rows)
    second = rng.integers(0, 86_400, size=rows)
    event = ((july + day) * 86_400 + second) * 1_000_000
    cols["EventDate"] = (july + day).astype(np.int32)
    cols["EventTime"] = event
    cols["ClientEventTime"] = event + rng.integers(-600, 600, size=rows) * 1_000_000
    zone = small([-1, 0, 3, 4, 6], [5, 10, 60, 15, 10])
    cols["ClientTimeZone"] = zone
    cols["LocalEventTime"] = event + zone.astype(np.int64) * 3_600_000_000
    # Counters: 62 dominates, three more pass Q28's HAVING COUNT(*) > 100000 at 2M rows.
    counter = vocab.counter_draw.draw(rng, rows).astype(np.int32) + 1000
    head = rng.random(rows)
    counter = np.where(head < 0.40, HITS_COUNTER, counter)
    counter = np.where((head >= 0.40) & (head < 0.50), 1143050, counter)
    counter = np.where((head >= 0.50) & (head < 0.57), 842, counter)
    counter = np.where((head >= 0.57) & (head < 0.63), 3, counter)
    cols["CounterID"] = counter.astype(np.int32)
    user = vocab.user_draw.draw(rng, rows)
    cols["UserID"] = vocab.users[user]
    cols["ClientIP"] = np.where(rng.random(rows) < 0.8, vocab.user_ips[user],
                                rng.integers(-(1 << 31) + 16, (1 << 31) - 16, size=rows, dtype=np.int64)).astype(np.int32)
    cols["RegionID"] = np.where(rng.random(rows) < 0.9, vocab.user_regions[user],
                                rng.integers(1, 8000, size=rows)).astype(np.int32)
    # URL 0 (Q42's URLHash) takes 5% of rows, 3% have none, the rest skewed.
    url = vocab.url_draw.draw(rng, rows) + 1
    pick = rng.random(rows)
    url = np.where(pick < 0.05, 0, url)
    no_url = pick > 0.97
    cols["URL"] = text(vocab.urls, url, no_url)
    cols["URLHash"] = np.where(no_url, 0, vocab.url_hashes[url])
    # Referers: 30% none; the domain and the path skewed.
    referer = vocab.domain_draw.draw(rng, rows) * vocab.referer_paths + vocab.path_draw.draw(rng, rows)
    no_referer = rng.random(rows) < 0.30
    cols["Referer"] = text(vocab.referers, referer, no_referer)
    cols["RefererHash"] = np.where(no_referer, 0, vocab.referer_hashes[referer])
    cols["Title"] = text(vocab.titles, vocab.title_draw.draw(rng, rows), rng.random(rows) < 0.05)
    # Search phrases: 85% empty; the others skewed; the engine follows the phrase.
    no_phrase = rng.random(rows) < 0.85
    cols["SearchPhrase"] = text(vocab.phrases, vocab.phrase_draw.draw(rng, rows), no_phrase)
    engine = small([2, 3, 1, 4, 5, 6, 8, 13, 27], [50, 25, 6, 5, 4, 3, 3, 2, 2])
    cols["SearchEngineID"] = np.where(no_phrase, np.where(rng.random(rows) < 0.97, 0, engine), engine).astype(np.int16)
    cols["AdvEngineID"] = small([0, 2, 3, 4, 12, 13, 17, 27, 30], [965, 10, 8, 5, 4, 3, 2, 2, 1])
    cols["TraficSourceID"] = small([0, 1, 2, -1, 6, 3, 4, 5, 7, 8, 9, 10], [35, 15, 15, 8, 8, 5, 4, 3, 2, 2, 2, 1])
    cols["IsRefresh"] = small([0, 1], [90, 10])
    cols["DontCountHits"] = small([0, 1], [95, 5])
    cols["IsLink"] = small([0, 1], [92, 8])
    cols["IsDownload"] = small([0, 1], [98, 2])
    cols["IsNotBounce"] = small([0, 1], [70, 30])
    # Screens: common resolutions; the window is either a common size or any size (Q42 needs
    # more than 10,010 distinct width × height pairs among URL 0's rows of counter 62).
    resolution = choice(rng, rows, np.arange(10), [25, 20, 12, 10, 8, 7, 6, 5, 4, 3])
    widths = np.array([1920, 1366, 1280, 1440, 1600, 1024, 1680, 360, 320, 2560], dtype=np.int16)
    heights = np.array([1080, 768, 1024, 900, 900, 768, 1050, 640, 480, 1440], dtype=np.int16)
    cols["ResolutionWidth"] = widths[resolution]
    cols["ResolutionHeight"] = heights[resolution]
    cols["ResolutionDepth"] = small([24, 32, 16], [60, 35, 5])
    common = rng.random(rows) < 0.5
    cols["WindowClientWidth"] = np.where(common, widths[resolution] - 17, rng.integers(300, 2000, size=rows)).astype(np.int16)
    cols["WindowClientHeight"] = np.where(common, heights[resolution] - 150, rng.integers(200, 1200, size=rows)).astype(np.int16)
    # Phones: 92% of rows have no model.
    mobile = rng.random(rows) < 0.08
    model = np.where(rng.random(rows) < 0.9, vocab.user_models[user], rng.integers(0, len(vocab.MODELS), size=rows))
    cols["MobilePhoneModel"] = text(vocab.models, model, ~mobile)
    cols["MobilePhone"] = np.where(mobile, model % 7 + 1, 0).astype(np.int16)
    cols["IsMobile"] = mobile.astype(np.int16)
    cols["OS"] = vocab.os_draw.draw(rng, rows).astype(np.int16)
    cols["UserAgent"] = vocab.agent_draw.draw(rng, rows).astype(np.int16)
    cols["UserAgentMajor"] = rng.integers(0, 40, size=rows).astype(np.int16)
    cols["UserAgentMinor"] = text(pa.array([str(i) for i in range(10)] + ["", "a", "b"]), rng.integers(0, 13, size=rows))
    cols["JavaEnable"] = small([0, 1], [40, 60])
    cols["GoodEvent"] = np.ones(rows, dtype=np.int16)
    cols["CounterClass"] = small([0, 1, 2], [80, 15, 5])
    cols["RefererCategoryID"] = small([0, 1, 2, 3], [70, 15, 10, 5])
    cols["URLCategoryID"] = small([0, 1, 2, 3], [70, 15, 10, 5])
    cols["RefererRegionID"] = rng.integers(0, 300, size=rows).astype(np.int32)
    cols["URLRegionID"] = rng.integers(0, 300, size=rows).astype(np.int32)
    cols["FlashMajor"] = small([0, 11, 10], [40, 50, 10])
    cols["FlashMinor"] = small([0, 1, 5, 7], [50, 20, 20, 10])
    cols["FlashMinor2"] = text(pa.array(["", "0", "1", "3", "4"]), choice(rng, rows, np.arange(5), [60, 10, 10, 10, 10]))
    cols["NetMajor"] = small([0, 3, 4], [80, 10, 10])
    cols["NetMinor"] = small([0, 5, 6], [80, 10, 10])
    cols["CookieEnable"] = small([1, 0], [97, 3])
    cols["JavascriptEnable"] = small([1, 0], [98, 2])
    cols["Params"] = text(pa.array(["", "ref=main", "utm=1"]), choice(rng, rows, np.arange(3), [96, 2, 2]))
    cols["IPNetworkID"] = rng.integers(0, 200_000, size=rows).astype(np.int32)
    cols["IsArtifical"] = small([0, 1], [99, 1])
    cols["SilverlightVersion1"] = small([0, 5], [70, 30])
    cols["SilverlightVersion2"] = small([0, 1], [70, 30])
    cols["SilverlightVersion3"] = small([0, 20416, 60129], [70, 20, 10], np.int32)
    cols["SilverlightVersion4"] = small([0, 1], [70, 30])
    cols["PageCharset"] = text(pa.array(["utf-8", "windows-1251", ""]), choice(rng, rows, np.arange(3), [60, 30, 10]))
    cols["CodeVersion"] = small([0, 521, 554], [20, 40, 40], np.int32)
    cols["FUniqID"] = np.where(rng.random(rows) < 0.5, 0, rng.integers(1, 1 << 62, size=rows))
    cols["OriginalURL"] = text(vocab.urls, url, rng.random(rows) < 0.97)
    cols["HID"] = rng.integers(0, 1 << 31, size=rows, dtype=np.int64).astype(np.int32)
    cols["IsOldCounter"] = np.zeros(rows, dtype=np.int16)
    cols["IsEvent"] = small([0, 1], [95, 5])
    cols["IsParameter"] = small([0, 1], [97, 3])
    cols["WithHash"] = small([0, 1], [98, 2])
    cols["HitColor"] = text(pa.array(["E", "F", "D"]), choice(rng, rows, np.arange(3), [60, 30, 10]))
    cols["Age"] = small([0, 17, 18, 25, 35, 45, 55], [40, 5, 15, 15, 10, 10, 5])
    cols["Sex"] = small([0, 1, 2], [40, 30, 30])
    cols["Income"] = small([0, 1, 2, 3, 4], [40, 15, 20, 15, 10])
    cols["Interests"] = rng.integers(0, 1000, size=rows).astype(np.int16)
    cols["Robotness"] = small([0, 1], [95, 5])
    cols["RemoteIP"] = rng.integers(-(1 << 31), (1 << 31) - 1, size=rows, dtype=np.int64).astype(np.int32)
    cols["WindowName"] = small([-1, 0, 1], [10, 80, 10], np.int32)
    cols["OpenerName"] = small([-1, 0, 1], [10, 80, 10], np.int32)
    cols["HistoryLength"] = small([0, 1, 2, 3, 10], [30, 30, 20, 10, 10])
    cols["BrowserLanguage"] = text(pa.array(["ru", "en", "uk", "de", ""]), choice(rng, rows, np.arange(5), [70, 15, 5, 5, 5]))
    cols["BrowserCountry"] = text(pa.array(["ru", "ua", "by", "kz", "us", ""]), choice(rng, rows, np.arange(6), [70, 10, 5, 5, 5, 5]))
    empty = pa.array([""])
    zeros = np.zeros(rows, dtype=np.int64)
    for name in ("SocialNetwork", "SocialAction", "SocialSourcePage", "ParamOrderID", "OpenstatServiceName",
                 "OpenstatCampaignID", "OpenstatAdID", "OpenstatSourceID", "UTMContent", "UTMTerm", "FromTag"):
        cols[name] = text(empty, zeros)
    cols["ParamCurrency"] = text(pa.array(["", "RUB", "USD"]), choice(rng, rows, np.arange(3), [90, 7, 3]))
    utm = choice(rng, rows, np.arange(4), [94, 2, 2, 2])
    cols["UTMSource"] = text(pa.array(["", "yandex", "google", "vk"]), utm)
    cols["UTMMedium"] = text(pa.array(["", "cpc", "cpc", "social"]), utm)
    cols["UTMCampaign"] = text(pa.array(["", "summer", "brand", "promo"]), utm)
    cols["HTTPError"] = small([0, 404, 500], [98, 1.5, 0.5])
    for name in ("SendTiming", "DNSTiming", "ConnectTiming", "ResponseStartTiming", "ResponseEndTiming", "FetchTiming"):
        cols[name] = np.where(rng.random(rows) < 0.7, 0, rng.integers(0, 5000, size=rows)).astype(np.int32)
    cols["SocialSourceNetworkID"] = np.zeros(rows, dtype=np.int16)
    cols["ParamPrice"] = np.where(rng.random(rows) < 0.98, 0, rng.integers(1, 100_000, size=rows))
    cols["ParamCurrencyID"] = small([0, 643, 840], [90, 7, 3])
    cols["HasGCLID"] = small([0, 1], [99, 1])
    cols["CLID"] = small([0, 1, 2], [90, 5, 5], np.int32)
    schema = hits_schema()
    arrays = [pa.array(cols[f.name], type=f.type) if not isinstance(cols[f.name], pa.Array)
              else cols[f.name] for f in schema]
    return pa.record_batch(arrays, schema=schema)


def hits(out, rows, force, seed=HITS_SEED):
    directory = os.path.join(out, "hits")
    params = {"rows": rows, "seed": seed, "batch_rows": BATCH_ROWS, "version": 1}
    if not force and done(directory, params):
        log(f"hits: {rows:,} rows up to date")
        return os.path.join(directory, "hits.arrow")
    os.makedirs(directory, exist_ok=True)
    log(f"hits: {rows:,} rows (ClickBench schema, seed {seed})")
    vocab = HitsVocabulary(seed)
    path = os.path.join(directory, "hits.arrow")
    tmp = path + ".tmp"
    schema = hits_schema()
    with pa.OSFile(tmp, "wb") as sink, ipc.new_file(sink, schema) as writer:
        for index in range((rows + HITS_CHUNK - 1) // HITS_CHUNK):
            batch = hits_chunk(vocab, seed, index, min(HITS_CHUNK, rows - index * HITS_CHUNK))
            for offset in range(0, batch.num_rows, BATCH_ROWS):
                writer.write_batch(batch.slice(offset, BATCH_ROWS))
    os.replace(tmp, path)
    log(f"  wrote {os.path.relpath(path)} ({os.path.getsize(path) / 2**20:.1f} MiB)")
    mark(directory, params)
    return path


def clickbench_queries():
    """ClickBench's 43 queries from queries/clickbench.sql: one per line, comments skipped."""
    with open(os.path.join(HERE, "queries", "clickbench.sql")) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("--")]


def check_hits(path):
    """Runs the 43 queries in DuckDB over `path` and prints each one's row count: every query
    should return rows (ClickBench's filters and OFFSETs presuppose its data's shape)."""
    import duckdb
    con = duckdb.connect()
    con.register("hits", ipc.open_file(pa.memory_map(path, "rb")).read_all())
    empty = []
    for number, sql in enumerate(clickbench_queries(), 1):
        start = time.perf_counter()
        count = len(con.execute(sql).fetchall())
        print(f"Q{number:<3} {count:>6} rows  {(time.perf_counter() - start) * 1e3:8.1f} ms")
        if count == 0:
            empty.append(number)
    print("every query returns rows" if not empty else f"no rows: {', '.join(f'Q{n}' for n in empty)}")
    return not empty


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="TPC-H scale factor (default 1)")
    parser.add_argument("--out", default=os.path.join(HERE, "generated"))
    parser.add_argument("--only", default="seed,lineitem,wide,sorted,hits")
    parser.add_argument("--force", action="store_true", help="regenerate even if up to date")
    parser.add_argument("--hits-rows", type=int, default=HITS_ROWS, help="rows of hits (default 2,000,000)")
    parser.add_argument("--hits-seed", type=int, default=HITS_SEED)
    parser.add_argument("--check-hits", action="store_true",
                        help="after generating hits, run ClickBench's 43 queries on it in DuckDB and print "
                             "their row counts (fails if any returns none)")
    args = parser.parse_args()
    wanted = set(args.only.split(","))
    start = time.time()
    if "seed" in wanted:
        seed(args.out, args.force)
    if "lineitem" in wanted:
        lineitem(args.out, args.scale, args.force)
    if "wide" in wanted:
        wide(args.out, args.force)
    if "sorted" in wanted:
        sorted_keys(args.out, args.force)
    if "hits" in wanted or args.check_hits:
        path = hits(args.out, args.hits_rows, args.force, args.hits_seed)
        if args.check_hits and not check_hits(path):
            sys.exit(1)
    log(f"done in {time.time() - start:.0f} s → {os.path.relpath(args.out)}")


if __name__ == "__main__":
    main()
