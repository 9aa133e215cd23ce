"""The catalog: atomic publishing, re-publishing, the state of the channels at an instant."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select

from unisono.catalog.db import CatalogError
from unisono.catalog.live import live
from unisono.catalog.publish import publish
from unisono.catalog.state import build_live
from unisono.catalog.tables import OfferRow, Publication, RejectionRow, offer_to_row
from unisono.domain.models import ChannelRead, Offer, Rejection, SourceRef
UTC = timezone.utc
NOV20 = datetime(2026, 11, 20, tzinfo=UTC)


def offer(channel: str, location: str, price: str, **kw) -> Offer:
    return Offer(channel=channel, location=location, currency="EUR", price=Decimal(price),
                 source=SourceRef(file=f"{channel}.file", line=kw.pop("line", 2)), **kw)


def read(channel: str, *offers: Offer, rejections=()) -> ChannelRead:
    return ChannelRead(channel=channel, source=f"{channel}.file", offers=list(offers), rejections=list(rejections))


def counts(engine) -> dict:
    with engine.connect() as c:
        return {t.name: c.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (Publication.__table__, OfferRow.__table__, RejectionRow.__table__)}


def live_rows(engine, at: datetime) -> list[dict]:
    with engine.begin() as conn:
        build_live(conn, at)
        return [dict(r._mapping) for r in conn.execute(select(live).order_by(live.c.channel, live.c.location))]


def test_publish_stores_offers_and_rejections_with_their_sources(catalog):
    bad = Rejection(channel="store", source=SourceRef(file="store.file", line=7), reason="price 'abc' is not a number")
    result = publish(catalog, read("store", offer("store", "1001", "9.99", sku="1"), offer("store", "1002", "9.99", sku="1"),
                                   rejections=[bad]), source="store.file", sha256="a", published_at=NOV20)
    assert (result.offers, result.rejections, result.locations) == (2, 1, ["1001", "1002"])
    assert counts(catalog) == {"publication": 1, "offer": 2, "rejection": 1}
    with catalog.connect() as c:
        rej = RejectionRow.__table__.c
        assert c.execute(select(rej.line, rej.reason)).one() == (7, "price 'abc' is not a number")


def test_publishing_the_same_bytes_again_changes_nothing_and_says_so(catalog):
    first = publish(catalog, read("shop", offer("shop", "online", "9.99", sku="1")), source="f", sha256="same")
    again = publish(catalog, read("shop", offer("shop", "online", "9.99", sku="1")), source="f", sha256="same")
    assert again.duplicate and again.publication_id == first.publication_id
    assert counts(catalog) == {"publication": 1, "offer": 1, "rejection": 0}


def test_an_older_file_published_again_after_a_newer_one_becomes_current_again(catalog):
    publish(catalog, read("shop", offer("shop", "online", "9.99", sku="1")), source="a", sha256="A", published_at=NOV20)
    publish(catalog, read("shop", offer("shop", "online", "8.99", sku="1")), source="b", sha256="B",
            published_at=NOV20 + timedelta(hours=1))
    back = publish(catalog, read("shop", offer("shop", "online", "9.99", sku="1")), source="a", sha256="A",
                   published_at=NOV20 + timedelta(hours=2))
    assert not back.duplicate
    assert [r["price_cents"] for r in live_rows(catalog, NOV20 + timedelta(hours=3))] == [999]


def test_a_failed_publish_leaves_the_catalog_exactly_as_before(catalog):
    publish(catalog, read("shop", offer("shop", "online", "9.99", sku="1")), source="ok", sha256="ok")
    before = counts(catalog)
    broken = read("shop", *[offer("shop", "online", "1.00", sku=str(i)) for i in range(50)])
    broken.offers[40].currency = None  # violates NOT NULL after 40 rows were written
    with pytest.raises(CatalogError, match="catalog is unchanged"):
        publish(catalog, broken, source="broken", sha256="broken")
    assert counts(catalog) == before


def test_live_state_takes_the_latest_effective_publication_per_store(catalog):
    publish(catalog, read("store", offer("store", "1001", "99.99", sku="1"), offer("store", "1002", "99.99", sku="1")),
            source="all-stores", sha256="s1", published_at=NOV20)
    # a later file for store 1002 only, staged to go live on the 27th
    publish(catalog, read("store", offer("store", "1002", "79.99", sku="1")), source="bf-1002", sha256="s2",
            published_at=NOV20 + timedelta(days=1), effective_from=datetime(2026, 11, 27, tzinfo=UTC))
    before = {r["location"]: r["price_cents"] for r in live_rows(catalog, datetime(2026, 11, 26, tzinfo=UTC))}
    after = {r["location"]: r["price_cents"] for r in live_rows(catalog, datetime(2026, 11, 27, tzinfo=UTC))}
    assert before == {"1001": 9999, "1002": 9999}
    assert after == {"1001": 9999, "1002": 7999}


def test_effective_price_is_the_sale_price_inside_its_window_only(catalog):
    publish(catalog, read("shop", offer("shop", "online", "99.99", sku="1", sale_price=Decimal("79.99"),
                                        sale_start=datetime(2026, 11, 27, tzinfo=UTC),
                                        sale_end=datetime(2026, 11, 28, tzinfo=UTC))), source="f", sha256="f",
            published_at=NOV20)

    def price_at(day: int, hour: int = 0) -> int:
        return live_rows(catalog, datetime(2026, 11, day, hour, tzinfo=UTC))[0]["effective_cents"]
    assert (price_at(26, 23), price_at(27), price_at(27, 23), price_at(28)) == (9999, 7999, 7999, 9999)


def test_store_rows_with_only_an_ean_and_newsletter_links_take_the_shops_sku(catalog):
    publish(catalog, read("shop", offer("shop", "online", "9.99", sku="100203", gtin="04006381333931",
                                        url="https://bergwelt.de/p/schuh-100203", brand="Alpina", category="Schuhe")),
            source="feed", sha256="1", published_at=NOV20)
    publish(catalog, read("store", offer("store", "1001", "9.99", gtin="04006381333931")), source="s", sha256="2",
            published_at=NOV20)
    publish(catalog, read("newsletter", offer("newsletter", "bf", "9.99", url="https://bergwelt.de/p/schuh-100203"),
                          offer("newsletter", "bf", "5.00", url="https://bergwelt.de/p/unknown")), source="n", sha256="3",
            published_at=NOV20)
    rows = live_rows(catalog, NOV20 + timedelta(hours=1))
    keys = {(r["channel"], r["key"]) for r in rows}
    assert keys == {("shop", "100203"), ("store", "100203"), ("newsletter", "100203"),
                    ("newsletter", "https://bergwelt.de/p/unknown")}
    store = next(r for r in rows if r["channel"] == "store")
    assert (store["brand"], store["category"]) == ("Alpina", "Schuhe")  # the product's, from the shop


def test_a_products_brand_and_category_come_from_publications_that_name_them(catalog):
    """A publication keeps how many of its offers name a brand or category; one without any (a store
    file) is not searched for them, and every offer of the product still shows the shop's."""
    publish(catalog, read("shop", offer("shop", "online", "9.99", sku="A", brand="Alpina"),
                          offer("shop", "online", "5.00", sku="B")), source="feed", sha256="1", published_at=NOV20)
    publish(catalog, read("store", offer("store", "1001", "9.99", sku="A"), offer("store", "1001", "5.00", sku="B")),
            source="s", sha256="2", published_at=NOV20)
    publish(catalog, read("store", offer("store", "1002", "5.00", sku="B", category="Restposten")),
            source="t", sha256="3", published_at=NOV20)
    with catalog.connect() as c:
        pub = Publication.__table__.c
        assert c.execute(select(pub.source, pub.attributed).order_by(pub.id)).all() == [
            ("feed", 1), ("s", 0), ("t", 1)]
    attributes = {(r["location"], r["sku"]): (r["brand"], r["category"]) for r in live_rows(catalog, NOV20)}
    assert attributes == {("online", "A"): ("Alpina", None), ("1001", "A"): ("Alpina", None),
                          ("online", "B"): (None, "Restposten"), ("1001", "B"): (None, "Restposten"),
                          ("1002", "B"): (None, "Restposten")}


def test_newsletter_offers_are_live_only_inside_their_validity(catalog):
    publish(catalog, read("newsletter", offer("newsletter", "bf", "9.99", sku="1",
                                              valid_from=datetime(2026, 11, 20, tzinfo=UTC),
                                              valid_to=datetime(2026, 12, 1, tzinfo=UTC))), source="n", sha256="n",
            published_at=datetime(2026, 11, 19, tzinfo=UTC))
    assert len(live_rows(catalog, datetime(2026, 11, 19, 12, tzinfo=UTC))) == 0
    assert len(live_rows(catalog, datetime(2026, 11, 30, 23, tzinfo=UTC))) == 1
    assert len(live_rows(catalog, datetime(2026, 12, 1, tzinfo=UTC))) == 0


def test_a_publication_is_not_live_before_it_was_published(catalog):
    publish(catalog, read("shop", offer("shop", "online", "9.99", sku="1")), source="f", sha256="f", published_at=NOV20)
    assert live_rows(catalog, NOV20 - timedelta(seconds=1)) == []


@pytest.mark.parametrize("driver_sql", [True, False], ids=["driver-sql", "core-fallback"])
def test_many_offers_are_stored_in_file_order_across_chunks_and_statements(catalog, monkeypatch, driver_sql):
    monkeypatch.setattr("unisono.catalog.publish.CHUNK", 120)  # chunks of several statements and a remainder
    if not driver_sql:  # a driver whose paramstyle the fast path does not write
        monkeypatch.setattr("unisono.catalog.offer_insert._PLACEHOLDER", {})
    offers = [offer("store", f"{1001 + i % 3}", f"{i}.995", sku=str(i), line=i + 2) for i in range(300)]
    result = publish(catalog, read("store", *offers), source="f", sha256="many")
    assert (result.offers, result.locations) == (300, ["1001", "1002", "1003"])
    with catalog.connect() as c:
        o = OfferRow.__table__.c
        rows = c.execute(select(o.sku, o.location, o.price_cents, o.source).order_by(o.id)).all()
    assert rows == [(str(i), f"{1001 + i % 3}", i * 100 + 100, f"store.file:{i + 2}") for i in range(300)]


def test_offers_are_stored_exactly_as_a_core_insert_stores_them(catalog):
    # queries compare stored instants with bound parameters: the bytes must be SQLAlchemy's own
    berlin = ZoneInfo("Europe/Berlin")
    full = offer("newsletter", "bf", "99.99", sku="1", gtin="04006381333931", url="https://bergwelt.de/p/1",
                 title="Jacke", brand="Alpina", category="Jacken", sale_price=Decimal("79.99"),
                 sale_start=datetime(2026, 11, 20, tzinfo=berlin), sale_end=datetime(2026, 11, 30, 23, 59, 30, 5, tzinfo=berlin),
                 valid_from=datetime(2026, 11, 20, 6, tzinfo=UTC), valid_to=datetime(2026, 12, 1, tzinfo=berlin),
                 reference_price=Decimal("109.99"), list_price=Decimal("129.95"), discount_percent=Decimal("20"))
    result = publish(catalog, read("newsletter", full), source="n", sha256="n")
    with catalog.begin() as c:
        c.execute(insert(OfferRow.__table__), [offer_to_row(full, result.publication_id)])
        published, core = c.exec_driver_sql("SELECT * FROM offer ORDER BY id").all()
    assert published[1:] == core[1:]
    if catalog.dialect.name == "sqlite":
        assert published.sale_start == "2026-11-19 23:00:00.000000"


def test_an_instant_that_cannot_be_stored_fails_the_publication(catalog):
    before = counts(catalog)
    ancient = offer("shop", "online", "9.99", sku="1", sale_price=Decimal("5"),
                    sale_start=datetime(1, 1, 1, tzinfo=ZoneInfo("Europe/Berlin")))  # before year 1 in UTC
    with pytest.raises(CatalogError, match="catalog is unchanged: date value out of range"):
        publish(catalog, read("shop", offer("shop", "online", "9.99", sku="0"), ancient), source="f", sha256="f")
    assert counts(catalog) == before


@pytest.mark.parametrize("backend", ["sqlite", "duckdb"])
def test_a_catalog_from_an_older_unisono_gets_the_new_columns_and_keeps_what_it_holds(tmp_path, backend,
                                                                                       monkeypatch):
    from sqlalchemy import text

    from unisono.catalog.db import open_catalog

    if backend == "duckdb":
        monkeypatch.setattr("unisono.catalog.tables.OFFER_KEYS_ON_DUCKDB", True)  # as older versions made it
    url = f"{backend}:///{tmp_path / 'old.db'}"
    old = open_catalog(url)
    publish(old, read("shop", offer("shop", "online", "9.99", sku="100203")), source="f", sha256="f")
    with old.begin() as conn:  # as an older version created it: no stated 30-day lowest, no list price
        conn.execute(text("DROP INDEX ix_offer_pub_loc"))  # (DuckDB alters no table an index depends on)
        conn.execute(text("ALTER TABLE offer DROP COLUMN lowest_30d_cents"))
        conn.execute(text("ALTER TABLE offer DROP COLUMN list_price_cents"))
        conn.execute(text("CREATE INDEX ix_offer_pub_loc ON offer (publication_id, location)"))
    old.dispose()
    upgraded = open_catalog(url)
    with upgraded.connect() as conn:
        rows = conn.execute(text("SELECT sku, price_cents, lowest_30d_cents, list_price_cents FROM offer")).all()
    assert [tuple(r) for r in rows] == [("100203", 999, None, None)]
    upgraded.dispose()


def test_a_catalog_lacking_a_column_that_cannot_be_added_is_refused_with_a_clear_message(tmp_path):
    import sqlite3

    from unisono.catalog.db import open_catalog

    open_catalog(f"sqlite:///{tmp_path / 'old.db'}").dispose()
    with sqlite3.connect(tmp_path / "old.db") as con:  # a required column an older version did not have
        con.execute("ALTER TABLE publication DROP COLUMN rejections")
    with pytest.raises(CatalogError, match="older unisono.*publication.rejections"):
        open_catalog(f"sqlite:///{tmp_path / 'old.db'}")


def test_a_duckdb_catalog_another_process_holds_is_refused_in_one_line(tmp_path, monkeypatch):
    import subprocess
    import sys

    from unisono.catalog.db import open_catalog

    pytest.importorskip("duckdb_engine")
    path = tmp_path / "busy.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, sys; c = duckdb.connect({str(path)!r}); "
                               "print('open', flush=True); sys.stdin.read()"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"  # DuckDB: one process at a time per file
        monkeypatch.setenv("UNISONO_BUSY_TIMEOUT", "0")  # no wait (tests/test_concurrency.py: the wait)
        with pytest.raises(CatalogError, match=rf"was in use by another process \(PID {holder.pid}\): DuckDB lets one") as e:
            open_catalog(f"duckdb:///{path}")
        assert "\n" not in str(e.value)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    open_catalog(f"duckdb:///{path}").dispose()  # free again


def test_duckdb_runs_with_a_memory_limit_the_url_may_change(tmp_path):
    from unisono.catalog.db import open_catalog

    pytest.importorskip("duckdb_engine")
    for url, expected in ((f"duckdb:///{tmp_path / 'a.duckdb'}", "732.4 MiB"),  # DUCKDB_DEFAULTS: 768MB
                          (f"duckdb:///{tmp_path / 'b.duckdb'}?memory_limit=2GB", "1.8 GiB")):
        engine = open_catalog(url)
        with engine.connect() as c:
            assert c.exec_driver_sql("SELECT current_setting('memory_limit')").scalar() == expected
        engine.dispose()


def test_a_duckdb_publish_that_runs_out_of_memory_names_the_fix_and_leaves_the_catalog_unchanged(tmp_path):
    from unisono.catalog.db import open_catalog
    from unisono.catalog.publish import publish_stream
    from unisono.channels import store
    from unisono.domain.config import ProjectConfig

    path, db = tmp_path / "prices.csv", tmp_path / "c.duckdb"
    path.write_text("Filiale;Artikelnummer;VK-Preis\n" + "".join(f"1001;A{i};{i},99\n" for i in range(100_000)))
    tiny = open_catalog(f"duckdb:///{db}?memory_limit=12MB")  # opens; 100,000 offers do not fit
    notes: list[str] = []
    with pytest.raises(CatalogError, match=r"catalog is unchanged: the DuckDB catalog .* ran out of memory .*"
                                           r"raise the limit in the URL, e.g. duckdb:///catalog.duckdb\?memory_limit=") as e:
        publish_stream(tiny, "store", store.stream(path, ProjectConfig(), notes), notes=notes, source=str(path),
                       sha256="big")
    assert "\n" not in str(e.value)
    tiny.dispose()
    again = open_catalog(f"duckdb:///{db}")
    assert counts(again) == {"publication": 0, "offer": 0, "rejection": 0}
    again.dispose()


def test_offer_ids_beyond_32_bits_are_stored_and_checked_in_a_new_duckdb_catalog(tmp_path):
    """A DuckDB catalog numbers offers (and findings, rejections, claims) as BIGINT: years of nightly
    store files pass 2^31 rows."""
    import duckdb

    from unisono.catalog.db import open_catalog

    db = tmp_path / "c.duckdb"
    with duckdb.connect(str(db)) as con:  # as if 3 billion offers had been stored before
        con.execute(f"CREATE SEQUENCE offer_id_seq START {3_000_000_000}")
    engine = open_catalog(f"duckdb:///{db}")
    publish(engine, read("shop", offer("shop", "online", "9.99", sku="100203")), source="f", sha256="f",
            published_at=NOV20)
    with engine.begin() as conn:
        assert conn.execute(select(OfferRow.__table__.c.id)).scalar_one() == 3_000_000_000
        build_live(conn, NOV20 + timedelta(days=1))
        assert conn.execute(select(live.c.offer_id, live.c.key)).one() == (3_000_000_000, "100203")
    engine.dispose()


def test_a_store_file_read_by_the_column_stores_each_offer_with_its_file_line_and_withdraws_duplicates(
        catalog, tmp_path, monkeypatch):
    """Batches staged by their line (SQLite) get the same channel and "file:line" as written whole,
    and a duplicate found at the end withdraws the offer of an earlier batch, not another one."""
    from unisono.catalog.publish import publish_stream
    from unisono.channels import store
    from unisono.domain.config import ProjectConfig

    monkeypatch.setattr("unisono.channels.store_columns.BLOCK", 64)  # several batches
    path = tmp_path / "prices.csv"
    path.write_text("Filiale;Artikelnummer;VK-Preis\n" + "".join(f"1001;A{i};{i},99\n" for i in range(12))
                    + "1001;A3;7,00\n1002;A3;8,00\n")
    notes: list[str] = []
    result = publish_stream(catalog, "store", store.stream(path, ProjectConfig(), notes), notes=notes,
                            source=str(path), sha256="by-column")
    assert (result.offers, result.rejections, result.locations) == (13, 1, ["1001", "1002"])
    with catalog.connect() as c:
        o, rej = OfferRow.__table__.c, RejectionRow.__table__.c
        rows = c.execute(select(o.publication_id, o.channel, o.sku, o.price_cents, o.source).order_by(o.id)).all()
        rejected = c.execute(select(rej.source, rej.line, rej.reason)).all()
    pub = result.publication_id
    assert rows == [(pub, "store", f"A{i}", i * 100 + 99, f"prices.csv:{i + 2}") for i in range(12)] + [
        (pub, "store", "A3", 800, "prices.csv:15")]
    assert rejected == [("prices.csv", 14, "duplicate row for store 1001 and sku A3 (first at line 5)")]


def test_a_duckdb_catalog_draws_no_progress_bar_of_its_own_into_the_commands_output(tmp_path):
    """DuckDB draws a bar on the terminal for a statement over 2 s (inserting a large batch):
    unisono's output (and -q) must stay unisono's."""
    from unisono.catalog.db import open_catalog

    engine = open_catalog(f"duckdb:///{tmp_path / 'c.duckdb'}")
    with engine.connect() as c:
        assert c.exec_driver_sql("SELECT current_setting('enable_progress_bar')").scalar() is False
    engine.dispose()


def batches_of(offers: list[Offer], size: int):
    """Offers as the column batches a large file's adapter yields."""
    from unisono.domain.batch import OfferBatch

    return [OfferBatch.from_offers("store", "store.file", offers[i:i + size]) for i in range(0, len(offers), size)]


def test_a_file_that_fails_after_batches_were_stored_leaves_the_catalog_exactly_as_before(catalog):
    """DuckDB stores the batches in one insert that reads them as the adapter yields them: the
    adapter's own error (a file cut short) still ends the publish with its message, nothing kept."""
    from unisono.catalog.publish import publish_stream
    from unisono.domain.models import InputError

    publish(catalog, read("shop", offer("shop", "online", "9.99", sku="1")), source="ok", sha256="ok")
    before = counts(catalog)

    def cut_short():
        yield from batches_of([offer("store", "1001", "1.00", sku=str(i), line=i + 2) for i in range(50)], 20)
        yield Rejection(channel="store", source=SourceRef(file="store.file", line=52), reason="price 'x' is not a number")
        raise InputError("store.file line 53: the file ends inside a quoted field")

    with pytest.raises(InputError, match="line 53: the file ends inside a quoted field"):
        publish_stream(catalog, "store", cut_short(), notes=[], source="store.file", sha256="cut")
    assert counts(catalog) == before
    again = publish_stream(catalog, "store", batches_of([offer("store", "1001", "1.00", sku="1")], 20), notes=[],
                           source="store.file", sha256="cut")  # and the catalog takes the next publish
    assert (again.offers, counts(catalog)["offer"]) == (1, before["offer"] + 1)


def test_a_batch_that_cannot_be_stored_at_its_last_row_fails_the_publication(catalog):
    from unisono.catalog.publish import publish_stream

    before = counts(catalog)
    offers = [offer("store", "1001", "1.00", sku=str(i), line=i + 2) for i in range(50)]
    offers[-1].currency = None  # violates NOT NULL in the last row of the last batch
    with pytest.raises(CatalogError, match="catalog is unchanged"):
        publish_stream(catalog, "store", batches_of(offers, 20), notes=[], source="store.file", sha256="bad")
    assert counts(catalog) == before


def test_rejections_between_batches_are_stored_with_every_offer_in_file_order(catalog, monkeypatch):
    """Rejections and claims are written between parts of the offers' stream once a chunk of them
    has gathered (memory stays bounded): every row lands, the offers numbered in file order."""
    from unisono.catalog.publish import publish_stream

    monkeypatch.setattr("unisono.catalog.publish.CHUNK", 3)

    def entries():
        for i in range(8):  # a batch of 5 offers, then 4 rejected rows: eight times
            yield from batches_of([offer("store", "1001", f"{i}.0{j}", sku=f"{i}-{j}", line=i * 9 + j + 2)
                                   for j in range(5)], 5)
            for j in range(5, 9):
                yield Rejection(channel="store", source=SourceRef(file="store.file", line=i * 9 + j + 2),
                                reason="no price")

    result = publish_stream(catalog, "store", entries(), notes=[], source="store.file", sha256="mixed")
    assert (result.offers, result.rejections) == (40, 32)
    with catalog.connect() as c:
        o, rej = OfferRow.__table__.c, RejectionRow.__table__.c
        stored = c.execute(select(o.sku, o.source).order_by(o.id)).all()
        rejected = sorted(c.execute(select(rej.line)).scalars())
    assert stored == [(f"{i}-{j}", f"store.file:{i * 9 + j + 2}") for i in range(8) for j in range(5)]
    assert rejected == [i * 9 + j + 2 for i in range(8) for j in range(5, 9)]


def test_claims_and_rejections_are_stored_exactly_as_a_core_insert_stores_them(catalog):
    """DuckDB writes them as Arrow (its executemany goes row by row): the same bytes as Core's."""
    from unisono.catalog.tables import ClaimRow
    from unisono.domain.claims import ClaimTerms
    from unisono.domain.models import Claim

    claim = Claim(channel="newsletter", location="bf", kind="discount", text="20 % auf alle Schuhe",
                  source=SourceRef(file="bf.html", path="/html/body/div[2]"),
                  terms=ClaimTerms(type="discount", percent=20, scope=["Schuhe"]),
                  valid_from=datetime(2026, 11, 20, 6, 30, 15, 7, tzinfo=ZoneInfo("Europe/Berlin")))
    bad = Rejection(channel="newsletter", source=SourceRef(file="bf.html", line=7), reason="no price", raw="<div>")
    read = ChannelRead(channel="newsletter", source="bf.html", claims=[claim], rejections=[bad])
    pub = publish(catalog, read, source="bf.html", sha256="bf").publication_id
    with catalog.begin() as c:
        c.execute(insert(ClaimRow.__table__), [{
            "publication_id": pub, "channel": "newsletter", "location": "bf", "kind": "discount",
            "text": "20 % auf alle Schuhe", "source": "bf.html (/html/body/div[2])",
            "terms": claim.terms.model_dump_json(exclude_defaults=True), "valid_from": claim.valid_from}])
        c.execute(insert(RejectionRow.__table__), [{"publication_id": pub, "source": "bf.html", "line": 7,
                                                    "reason": "no price", "raw": "<div>"}])
        for table in ("claim", "rejection"):
            published, core = c.exec_driver_sql(f"SELECT * FROM {table} ORDER BY id").all()
            assert published[1:] == core[1:]
