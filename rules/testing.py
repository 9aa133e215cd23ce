"""Test helpers: a connection with an empty `live` relation, and readable live rows.

    with live_connection("sqlite://") as conn:
        add_offers(conn, offer("shop", "online", "100203", "79.99"), offer("store", "1042", "100203", "99.99"))
        findings = run_rules(conn, rules, context())

`live_conn_fixture()` makes the pytest fixture the rule tests use (SQLite, DuckDB in memory, and
PostgreSQL when UNISONO_TEST_POSTGRES names a server).
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from decimal import Decimal
from uuid import uuid4
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, insert, select, text

from unisono.catalog.live import EVIDENCE, create_live, live, live_narrow
from unisono.catalog.state import product_attributes
from unisono.catalog.tables import OfferRow, Publication, metadata
from unisono.rules.evaluate import EvalContext

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


@contextmanager
def live_connection(url: str) -> Iterator[Connection]:
    """One connection (the live relation is TEMPORARY: it lives as long as the connection), beside an
    empty catalog (rules reading the price history find none: the offers add_offers stores belong to
    a publication that takes effect in the year 9000). On PostgreSQL the catalog tables are
    made in a schema of this connection's own, inside its transaction, and vanish with its rollback:
    a catalog the server holds is neither seen nor touched."""
    from unisono.catalog.db import create_catalog_engine

    engine = create_catalog_engine(url)  # each backend's settings, as the catalog has them
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                schema = f"unisono_test_{uuid4().hex[:12]}"
                conn.execute(text(f"CREATE SCHEMA {schema}"))
                conn.execute(text(f"SET search_path TO {schema}"))
            metadata.create_all(conn)
            create_live(conn)
            yield conn
            conn.rollback()
    finally:
        engine.dispose()


def _cents(amount: str | Decimal | None) -> int | None:
    return None if amount is None else int(Decimal(str(amount)) * 100)


def offer(channel: str, location: str, key: str, price: str, sale: str | None = None, *,
          effective: str | None = None, reference: str | None = None, **columns: object) -> dict:
    """A live row in currency units: offer("store", "1042", "100203", "99.99", "79.99").
    The sale is running (effective price) unless `effective` says otherwise; other columns by name."""
    row: dict = {c.name: None for c in live.c}
    eff = _cents(effective if effective is not None else sale or price)
    row.update(
        channel=channel, location=location, key=key, sku=key, currency="EUR", price_cents=_cents(price),
        sale_price_cents=_cents(sale), effective_cents=eff, on_sale=eff < _cents(price),
        reference_cents=_cents(reference), source=f"{channel}-{location}.csv:1",
    )
    row.update(columns)
    return row


_NEVER = datetime(9000, 1, 1, tzinfo=timezone.utc)


def clear_offers(conn: Connection) -> None:
    """Empty the live relation (and the offer rows add_offers stored for it)."""
    conn.execute(live_narrow.delete())
    conn.execute(OfferRow.__table__.delete())
    product_attributes(conn)


def add_offers(conn: Connection, *rows: dict) -> None:
    """Live rows as build_live leaves them: each an offer row of the catalog (what a finding shows is
    read from there) and a row of the narrow live table pointing at it; brand and category are the
    product's, as build_live works them out over all rows of a key (the shop's first)."""
    pub, o = Publication.__table__, OfferRow.__table__
    pub_id = conn.execute(select(pub.c.id).where(pub.c.source == "add_offers")).scalar()
    if pub_id is None:
        pub_id = conn.execute(insert(pub).values(
            channel="test", source="add_offers", sha256="-", published_at=_NEVER, effective_from=_NEVER, loaded_at=_NEVER,
        ).returning(pub.c.id)).scalar_one()
    for row in rows:
        row = {**row, "publication_id": row.get("publication_id") or pub_id}
        stored = {c: row[c] for c in (*EVIDENCE, "publication_id", "channel", "location", "sku", "gtin", "brand",
                                      "category", "currency", "price_cents", "sale_price_cents", "reference_cents",
                                      "discount_percent", "lowest_30d_cents", "availability")}
        offer_id = conn.execute(insert(o).values(**stored).returning(o.c.id)).scalar_one()
        conn.execute(insert(live_narrow).values({**{c.name: row[c.name] for c in live_narrow.columns},
                                                 "offer_id": offer_id}))
    product_attributes(conn)


def context(at: datetime = NOW, tz: str = "Europe/Berlin") -> EvalContext:
    return EvalContext(at=at, tz=ZoneInfo(tz))


def live_conn_fixture():
    """A pytest fixture over SQLite, DuckDB (in memory) and, when UNISONO_TEST_POSTGRES names a
    server, PostgreSQL. In a test module: `live_conn = live_conn_fixture()`, then take `live_conn`."""
    import pytest  # only tests need it

    @pytest.fixture(params=["sqlite", "duckdb", "postgresql"], name="live_conn")
    def fixture(request):
        url = {"sqlite": "sqlite://", "duckdb": "duckdb:///:memory:"}.get(request.param, "")
        if request.param == "duckdb":
            try:
                import duckdb_engine  # noqa: F401
            except ImportError:
                if os.environ.get("CI"):
                    pytest.fail("CI must install duckdb and duckdb-engine (the test extra has them)")
                pytest.skip("duckdb-engine is not installed: pip install -e '.[test]'")
        if request.param == "postgresql":
            url = os.environ.get("UNISONO_TEST_POSTGRES", "")
            if not url:
                if os.environ.get("CI"):
                    pytest.fail("CI must provide a PostgreSQL server in UNISONO_TEST_POSTGRES (.ci/run starts one)")
                pytest.skip("no PostgreSQL server: set UNISONO_TEST_POSTGRES (bash .ci/run starts one)")
        with live_connection(url) as conn:
            yield conn

    return fixture
