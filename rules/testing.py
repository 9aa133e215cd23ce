"""Test helpers: a connection with an empty `live` table, and readable live rows.

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

from sqlalchemy import Connection, insert, text

from unisono.catalog.tables import metadata
from unisono.catalog.live import live, live_metadata
from unisono.rules.evaluate import EvalContext

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


@contextmanager
def live_connection(url: str) -> Iterator[Connection]:
    """One connection (the live table is TEMPORARY: it lives as long as the connection), beside an
    empty catalog (rules reading the price history find none). On PostgreSQL the catalog tables are
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
            live_metadata.create_all(conn)
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


def add_offers(conn: Connection, *rows: dict) -> None:
    conn.execute(insert(live), list(rows))


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
