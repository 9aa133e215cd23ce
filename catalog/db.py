"""Opening the catalog: SQLite in the project folder by default, any SQLAlchemy URL otherwise
(PostgreSQL: postgresql+psycopg://…; DuckDB: duckdb:///path/catalog.duckdb, through duckdb-engine)."""
from __future__ import annotations

import os
import re
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
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


# DuckDB's settings unless the URL's query gives them (duckdb:///c.duckdb?memory_limit=4GB&threads=4):
# DuckDB would take 80 % of the machine's memory; beyond the limit it spills to <file>.tmp.
DUCKDB_DEFAULTS = {"memory_limit": "1GB"}

# Words DuckDB's parser will not take as a column name unquoted (e.g. run.at), which duckdb-engine
# (as of 0.17) does not quote: it adds only DuckDB's "reserved" keywords to PostgreSQL's.
_DUCKDB_UNQUOTABLE = {"at", "by", "anti", "asof", "semi", "glob", "map", "struct", "tuple", "columns",
                      "collation", "concurrently", "generated", "positional", "tablesample", "try_cast", "unpack"}


def create_catalog_engine(url: str) -> Engine:
    """The SQLAlchemy engine for a catalog URL, with each backend's settings (no tables made)."""
    try:
        if url.startswith("duckdb"):
            engine = create_engine(url, connect_args={"config": dict(DUCKDB_DEFAULTS)})
        else:
            engine = create_engine(url)
    except (ArgumentError, ImportError, ValueError) as e:  # NoSuchModuleError (no driver) is an ArgumentError
        hint = " (pip install 'unisono[duckdb]')" if url.startswith("duckdb") and isinstance(
            e, (ImportError, NoSuchModuleError)) else ""
        raise CatalogError(f"cannot use database {url!r}: {e}{hint}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    elif engine.dialect.name == "duckdb":
        preparer = engine.dialect.identifier_preparer
        preparer.reserved_words = set(preparer.reserved_words) | _DUCKDB_UNQUOTABLE  # its own copy
        event.listen(engine, "handle_error", _duckdb_limits)
    return engine


def _duckdb_limits(context) -> None:
    """DuckDB's own limits as the catalog's one-line error: one process at a time may open a catalog
    file (the second gets "Could not set lock on file"), and a query may exceed the memory limit."""
    error = context.original_exception
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    where = context.engine.url.database if context.engine is not None else "the DuckDB catalog"
    if "Could not set lock on file" in text:
        pid = re.search(r"\(PID (\d+)\)", text)
        raise CatalogError(f"the DuckDB catalog {where} is in use by another process"
                           f"{f' (PID {pid.group(1)})' if pid else ''}: DuckDB lets one process at a time open a "
                           "catalog file; run the commands one after the other, or use PostgreSQL for concurrent "
                           "access") from None
    if type(error).__name__ == "OutOfMemoryException":
        raise CatalogError(f"the DuckDB catalog {where} ran out of memory ({text}); raise the limit in the URL, "
                           "e.g. duckdb:///catalog.duckdb?memory_limit=4GB") from None


def open_catalog(url: str) -> Engine:
    """An engine with the catalog's tables created. Raises CatalogError on a bad URL or server."""
    engine = create_catalog_engine(url)
    where = engine.url.render_as_string(hide_password=True)
    try:
        SQLModel.metadata.create_all(engine)
        missing = _missing_columns(engine)
    except (OperationalError, DBAPIError) as e:
        if not isinstance(e, OperationalError) and engine.dialect.name != "duckdb":
            raise
        raise CatalogError(f"cannot open database {where}: {str(e.orig).splitlines()[0]}") from None
    if missing:  # no migrations yet: say so instead of failing in the middle of a query
        raise CatalogError(f"the catalog {where} was created by an older unisono (it lacks {', '.join(missing[:3])}); "
                           "publish the channel files into a new one (--db, or move unisono.db aside)")
    return engine


def _missing_columns(engine: Engine) -> list[str]:
    if engine.dialect.name == "duckdb":  # duckdb-engine's inspector reads pg_catalog tables DuckDB lacks
        with engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT table_name, column_name FROM information_schema.columns "
                                        "WHERE table_schema = current_schema()").all()
        have: dict[str, set[str]] = {}
        for table_name, column_name in rows:
            have.setdefault(table_name, set()).add(column_name)
        columns = lambda name: have.get(name, set())  # noqa: E731
    else:
        found = inspect(engine)
        columns = lambda name: {c["name"] for c in found.get_columns(name)}  # noqa: E731
    return [f"{table.name}.{column.name}" for table in SQLModel.metadata.sorted_tables
            for column in table.columns if column.name not in columns(table.name)]
