"""Opening the catalog: SQLite in the project folder by default, any SQLAlchemy URL otherwise."""
from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlmodel import SQLModel

from unisono.catalog import tables  # noqa: F401  (registers the tables on SQLModel.metadata)

DEFAULT_DB_FILE = "unisono.db"


class CatalogError(Exception):
    """The catalog cannot be opened or used. One line, for the user."""


def database_url(project: Path, configured: str | None = None, override: str | None = None) -> str:
    """--db beats UNISONO_DB beats the config file beats the SQLite file in the project folder."""
    url = override or os.environ.get("UNISONO_DB") or configured
    if url:
        return url
    return f"sqlite:///{(project / DEFAULT_DB_FILE).resolve()}"


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")  # readers (a report) never block a publish
    cur.execute("PRAGMA synchronous=NORMAL")
    # temporary tables (the live offers: ~125 MB per 100,000 products in five stores) in a file the
    # operating system caches, with a page cache of their own, not in the process's memory
    cur.execute("PRAGMA temp_store=FILE")
    cur.execute("PRAGMA temp.cache_size=-65536")
    cur.execute("PRAGMA cache_size=-200000")  # 200 MB page cache: the live table is built in one pass
    cur.close()


def open_catalog(url: str) -> Engine:
    """An engine with the catalog's tables created. Raises CatalogError on a bad URL or server."""
    try:
        engine = create_engine(url)
    except (ArgumentError, ImportError, ValueError) as e:
        raise CatalogError(f"cannot use database {url!r}: {e}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    where = engine.url.render_as_string(hide_password=True)
    try:
        SQLModel.metadata.create_all(engine)
        missing = _missing_columns(engine)
    except OperationalError as e:
        raise CatalogError(f"cannot open database {where}: {e.orig}") from None
    if missing:  # no migrations yet: say so instead of failing in the middle of a query
        raise CatalogError(f"the catalog {where} was created by an older unisono (it lacks {', '.join(missing[:3])}); "
                           "publish the channel files into a new one (--db, or move unisono.db aside)")
    return engine


def _missing_columns(engine: Engine) -> list[str]:
    found = inspect(engine)
    return [f"{table.name}.{column.name}" for table in SQLModel.metadata.sorted_tables
            for column in table.columns
            if column.name not in {c["name"] for c in found.get_columns(table.name)}]
