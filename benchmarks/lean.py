"""The lean pipeline: what a data engineer would write for the default rules' parity and presence
checks on these files, without unisono's generality. The anchor unisono's nightly job is measured
against (benchmarks/run.py runs it in a fresh process, beside unisono's phases).

    python benchmarks/lean.py duckdb DATA --at 2026-11-24T12:00:00+01:00 --published-at 2026-11-19T06:00:00+01:00
    python benchmarks/lean.py sqlite DATA --at ... --published-at ...

duckdb: parse (lxml iterparse, pyarrow.csv), load into in-process DuckDB, run the checks.
sqlite: the same parse and load, then the same checks as plain SQL on flat SQLite tables loaded
from DuckDB's tables: times only the SQLite load and the SQLite query.
Prints one JSON line: timings, the findings count and the findings as [rule, sku, location].
Known layout only (the generator's): no header sniffing, no encoding detection, no rejections.
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
from lxml import etree

TZ = ZoneInfo("Europe/Berlin")  # the project's timezone (unisono init's default)
CURRENCY = "EUR"  # for prices that carry none: every store row
SHOP_LOCATION, NEWSLETTER_ISSUE = "online", "newsletter"
G = "{http://base.google.com/ns/1.0}"
SHOP_FIELDS = ["id", "price", "sale_price", "sale_price_effective_date", "availability", "gtin", "link"]
TAGS = {G + f: f for f in SHOP_FIELDS} | {f: f for f in ("id", "link")}  # g:id, or plain RSS link/id


# --- time: a handful of distinct dates and intervals per file, so parse each once -------------

def _day_start(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=TZ).timestamp())


def _pos_date(text: str) -> date:
    return datetime.strptime(text, "%d.%m.%Y").date() if "." in text else date.fromisoformat(text)


def _instant(text: str, end: bool) -> int:
    """One side of an ISO 8601 interval: a date is that whole day in TZ, a time without zone is UTC,
    an end at 23:59 runs to midnight (as unisono reads feeds)."""
    if len(text) == 10:
        return _day_start(date.fromisoformat(text) + timedelta(days=end))
    t = datetime.fromisoformat(text)
    t = t if t.tzinfo else t.replace(tzinfo=timezone.utc)
    if end and (t.hour, t.minute) == (23, 59):
        t = t.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return int(t.timestamp())


@lru_cache(maxsize=None)
def feed_window(text: str | None) -> tuple[int | None, int | None]:
    if not text or "/" not in text:
        return None, None
    start, end = (s.strip() for s in text.split("/", 1))
    return (_instant(start, False) if start else None, _instant(end, True) if end else None)


def _mapped(column: pa.ChunkedArray, fn) -> pa.Array:
    """fn over a column of few distinct strings: once per distinct value, then a take."""
    uniq = pc.unique(column)
    values = pa.array([fn(v) for v in uniq.to_pylist()], pa.int64())
    return values.take(pc.index_in(column, value_set=uniq))


# --- the three channels ------------------------------------------------------------------------

def parse_shop(path: Path) -> pa.Table:
    """The Merchant Center RSS feed as raw strings, streamed: memory for the columns only."""
    cols = {f: [] for f in SHOP_FIELDS}
    appends = [(f, cols[f].append) for f in SHOP_FIELDS]
    parser = etree.iterparse(str(path), events=("end",), tag="item", resolve_entities=False, no_network=True,
                             load_dtd=False, huge_tree=True)
    for _, item in parser:
        row = {}
        for child in item:
            name = TAGS.get(child.tag)
            if name:
                row[name] = child.text
        for f, append in appends:
            append(row.get(f))
        item.clear()  # keep the tree at one item
        while item.getprevious() is not None:
            del item.getparent()[0]
    t = pa.table(cols)
    windows = [feed_window(w) for w in t["sale_price_effective_date"].to_pylist()] if t.num_rows else []
    return t.append_column("sale_start", pa.array([w[0] for w in windows], pa.int64())) \
            .append_column("sale_end", pa.array([w[1] for w in windows], pa.int64()))


# Prices as float64, rounded to cents on load: pyarrow 26.0.1's decimal128 conversion with
# decimal_point="," races between its threads (aborts in decimal.cc or "invalid value '41,99'").
STORE_COLUMNS = {"Filiale": pa.string(), "Artikelnummer": pa.string(), "EAN": pa.string(),
                 "VK-Preis": pa.float64(), "Aktionspreis": pa.float64(),
                 "Aktion von": pa.string(), "Aktion bis": pa.string()}


def parse_store(path: Path) -> pa.Table:
    """The POS export: cp1252, ';', decimal comma, dates dd.mm.yyyy; a promotion runs from the
    start of its first day to the end of its last, in TZ."""
    t = pcsv.read_csv(path, read_options=pcsv.ReadOptions(encoding="cp1252"),
                      parse_options=pcsv.ParseOptions(delimiter=";"),
                      convert_options=pcsv.ConvertOptions(column_types=STORE_COLUMNS, include_columns=list(STORE_COLUMNS),
                                                          decimal_point=",", strings_can_be_null=True))
    start = _mapped(t["Aktion von"], lambda s: _day_start(_pos_date(s)) if s else None)
    end = _mapped(t["Aktion bis"], lambda s: _day_start(_pos_date(s) + timedelta(days=1)) if s else None)
    return t.append_column("sale_start", start).append_column("sale_end", end)


def parse_newsletter(path: Path, published_at: datetime) -> pa.Table:
    """Tiny and not the point: unisono's own adapter (blocks, Art.-Nr., validity, normalised links)."""
    from unisono.channels.newsletter import read
    from unisono.domain.config import ProjectConfig

    def epoch(t):
        return int(t.timestamp()) if t else None

    offers = read(path, ProjectConfig(), published_at).offers
    return pa.table({
        "sku": pa.array([o.sku for o in offers], pa.string()),
        "url": pa.array([o.url for o in offers], pa.string()),
        "price": pa.array([o.price for o in offers], pa.decimal128(14, 2)),
        "sale_price": pa.array([o.sale_price for o in offers], pa.decimal128(14, 2)),
        "sale_start": pa.array([epoch(o.sale_start) for o in offers], pa.int64()),
        "sale_end": pa.array([epoch(o.sale_end) for o in offers], pa.int64()),
        "valid_from": pa.array([epoch(o.valid_from) for o in offers], pa.int64()),
        "valid_to": pa.array([epoch(o.valid_to) for o in offers], pa.int64()),
        "currency": pa.array([o.currency for o in offers], pa.string()),
    })


# --- load: flat tables, money in cents, instants in epoch seconds -------------------------------

LOAD = [
    f"""CREATE TABLE shop AS SELECT trim(id) AS sku, lpad(trim(gtin), 14, '0') AS gtin,
        rtrim(regexp_replace(split_part(split_part(trim(link), '#', 1), '?', 1), '^https?://(www\\.)?', 'https://', 'i'), '/') AS link,
        CAST(round(CAST(split_part(trim(price), ' ', 1) AS DECIMAL(14, 2)) * 100) AS BIGINT) AS price_c,
        CAST(round(CAST(nullif(split_part(trim(sale_price), ' ', 1), '') AS DECIMAL(14, 2)) * 100) AS BIGINT) AS sale_c,
        sale_start, sale_end, coalesce(nullif(split_part(trim(price), ' ', 2), ''), '{CURRENCY}') AS currency,
        replace(lower(trim(availability)), ' ', '_') AS avail
      FROM shop_raw WHERE id IS NOT NULL""",
    f"""CREATE TABLE store AS SELECT "Filiale" AS store, "Artikelnummer" AS sku, lpad("EAN", 14, '0') AS gtin,
        CAST(round("VK-Preis" * 100) AS BIGINT) AS price_c, CAST(round("Aktionspreis" * 100) AS BIGINT) AS sale_c,
        sale_start, sale_end, '{CURRENCY}' AS currency FROM store_raw""",
    """CREATE TABLE newsletter AS SELECT sku, url, CAST(round(price * 100) AS BIGINT) AS price_c,
        CAST(round(sale_price * 100) AS BIGINT) AS sale_c, sale_start, sale_end, valid_from, valid_to, currency
      FROM newsletter_raw""",
]
TABLES = {  # the same flat tables in SQLite
    "shop": "sku TEXT, gtin TEXT, link TEXT, price_c INT, sale_c INT, sale_start INT, sale_end INT, currency TEXT, avail TEXT",
    "store": "store TEXT, sku TEXT, gtin TEXT, price_c INT, sale_c INT, sale_start INT, sale_end INT, currency TEXT",
    "newsletter": "sku TEXT, url TEXT, price_c INT, sale_c INT, sale_start INT, sale_end INT, valid_from INT, valid_to INT, currency TEXT",
}
SQLITE_INDEXES = ["CREATE INDEX shop_sku ON shop(sku)", "CREATE INDEX shop_gtin ON shop(gtin)",
                  "CREATE INDEX shop_link ON shop(link)", "CREATE INDEX store_sku ON store(sku)"]

# --- the checks: the default ruleset's parity and presence rules, at the instant $at ------------
# Plain SQL both DuckDB and SQLite run. Effective price: the sale price inside its window, else the
# regular price; a difference counts above one cent. Keys: sku; a store row with only an EAN takes
# the shop's sku for that gtin, a newsletter block with only a link the shop's sku for that link.

EFF = "CASE WHEN {t}.sale_c IS NOT NULL AND ({t}.sale_start IS NULL OR {t}.sale_start <= $at) " \
      "AND ({t}.sale_end IS NULL OR {t}.sale_end > $at) THEN {t}.sale_c ELSE {t}.price_c END"
CHECKS = f"""
WITH s AS (SELECT sku AS k, price_c, currency, avail, {EFF.format(t='shop')} AS eff FROM shop),
st AS (SELECT store.store, coalesce(store.sku, (SELECT min(g.sku) FROM shop g WHERE g.gtin = store.gtin), store.gtin) AS k,
              store.price_c, store.currency, {EFF.format(t='store')} AS eff FROM store),
n AS (SELECT coalesce(newsletter.sku, (SELECT min(g.sku) FROM shop g WHERE g.link = newsletter.url), newsletter.url) AS k,
             newsletter.currency, {EFF.format(t="newsletter")} AS eff FROM newsletter
      WHERE (valid_from IS NULL OR valid_from <= $at) AND (valid_to IS NULL OR valid_to > $at))
SELECT DISTINCT 'price-parity' AS rule, s.k AS sku, 'store:' || st.store AS location FROM s JOIN st ON st.k = s.k
  WHERE abs(st.price_c - s.price_c) > 1 OR abs(st.eff - s.eff) > 1 OR st.currency <> s.currency
UNION
SELECT DISTINCT 'newsletter-price-honoured', s.k, 'shop:{SHOP_LOCATION}' FROM n JOIN s ON s.k = n.k
  WHERE abs(s.eff - n.eff) > 1 OR s.currency <> n.currency
UNION
SELECT DISTINCT 'advertised-in-shop', n.k, 'newsletter:{NEWSLETTER_ISSUE}' FROM n
  WHERE NOT EXISTS (SELECT 1 FROM s WHERE s.k = n.k AND (s.avail IS NULL OR s.avail <> 'out_of_stock'))
"""


def lean(data: Path, at: datetime, published_at: datetime) -> tuple[duckdb.DuckDBPyConnection, dict]:
    """Parse and load; the timings of each step."""
    times = {}
    t0 = time.perf_counter()
    shop_raw = parse_shop(data / "shop_feed.xml")
    times["parse_shop_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    store_raw = parse_store(data / "store_prices.csv")
    times["parse_store_s"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    newsletter_raw = parse_newsletter(data / "newsletter.html", published_at)
    times["parse_newsletter_s"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    con = duckdb.connect()
    for name, table in [("shop_raw", shop_raw), ("store_raw", store_raw), ("newsletter_raw", newsletter_raw)]:
        con.register(name, table)
    for statement in LOAD:
        con.execute(statement)
    times["load_s"] = time.perf_counter() - t1
    times["rows"] = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    return con, times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["duckdb", "sqlite"])
    ap.add_argument("data", type=Path)
    ap.add_argument("--at", required=True, type=datetime.fromisoformat)
    ap.add_argument("--published-at", required=True, type=datetime.fromisoformat)
    args = ap.parse_args()
    at = int(args.at.timestamp())
    con, times = lean(args.data, args.at, args.published_at)
    if args.mode == "duckdb":
        t1 = time.perf_counter()
        rows = con.execute(CHECKS, {"at": at}).fetchall()
        times["query_s"] = time.perf_counter() - t1
    else:
        t1 = time.perf_counter()
        lite = sqlite3.connect(":memory:")
        for name, columns in TABLES.items():
            lite.execute(f"CREATE TABLE {name} ({columns})")
            rel = con.execute(f"SELECT * FROM {name}")
            while batch := rel.fetchmany(100_000):
                lite.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * len(batch[0]))})", batch)
        for statement in SQLITE_INDEXES:
            lite.execute(statement)
        lite.commit()
        times["sqlite_load_s"] = time.perf_counter() - t1
        t1 = time.perf_counter()
        rows = lite.execute(CHECKS, {"at": at}).fetchall()
        times["query_s"] = time.perf_counter() - t1
    out = {k: round(v, 3) if isinstance(v, float) else v for k, v in times.items()}
    out |= {"findings": len(rows), "keys": sorted(list(r) for r in rows)}
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
