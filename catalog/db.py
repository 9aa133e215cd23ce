"""Opening the catalog: SQLite in the project folder by default, any SQLAlchemy URL otherwise
(PostgreSQL: postgresql+psycopg://…; DuckDB: duckdb:///path/catalog.duckdb, through duckdb-engine)."""
from __future__ import annotations

import logging
import os
import re
import weakref
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.dialects import registry
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError

from unisono.catalog.tables import metadata

if TYPE_CHECKING:
    from unisono.domain.config import SparkOptions

DEFAULT_DB_FILE = "unisono.db"
BUSY_TIMEOUT = 30.0  # seconds a writer waits for another one (UNISONO_BUSY_TIMEOUT, or ?timeout= in a SQLite URL)
log = logging.getLogger("unisono.catalog")  # a run not recorded (Python prints warnings to stderr)
waiting = logging.getLogger("unisono.waiting")  # the "waiting for …" progress line: talk, which -q silences


class CatalogError(Exception):
    """The catalog cannot be opened or used. One line, for the user."""


class ReadOnlyCatalog(CatalogError):
    """The catalog can be read but not written (a read-only file, folder or mount)."""


def database_url(project: Path, configured: str | None = None, override: str | None = None) -> str:
    """--db beats UNISONO_DB beats the config file beats the SQLite file in the project folder.
    A file URL in the config file with a relative path is read from the project folder (the
    command line's and UNISONO_DB's from where the command runs, as any path given there)."""
    url = override or os.environ.get("UNISONO_DB")
    if url:
        return url
    if configured:
        return in_folder(configured, project)
    return f"sqlite:///{(project / DEFAULT_DB_FILE).resolve()}"


def in_folder(url: str, folder: Path) -> str:
    """A SQLite or DuckDB file URL, or a Spark lake's, whose path is relative, made absolute from `folder`."""
    match = re.fullmatch(r"((?:sqlite|duckdb|spark)[+\w]*:///)([^/?][^?]*)(\?.*)?", url)
    if not match or match.group(2) == ":memory:" or object_store(match.group(2)):
        return url
    scheme, path, query = match.groups()
    return f"{scheme}{(folder / path).resolve()}{query or ''}"


def object_store(path: str) -> bool:
    """A lake's path with a scheme of its own (s3a://bucket/lake, abfss://…, gs://…, hdfs://…): not a local folder."""
    return re.match(r"[A-Za-z][A-Za-z0-9+.-]+://", path) is not None


def busy_timeout() -> float:
    text = os.environ.get("UNISONO_BUSY_TIMEOUT")
    try:
        value = float(text) if text else BUSY_TIMEOUT
    except ValueError:
        raise CatalogError(f"UNISONO_BUSY_TIMEOUT={text!r} is not a number of seconds") from None
    if not 0 <= value < 1e6:
        raise CatalogError(f"UNISONO_BUSY_TIMEOUT={text!r} is not a number of seconds between 0 and 1000000")
    return value


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # SQLAlchemy, not the sqlite3 module, begins transactions (see _sqlite_begin): the module's
    # own BEGIN would come only before the first write, after reads it already made on a snapshot
    dbapi_conn.isolation_level = None
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


def shown_url(url: str) -> str:
    """A database URL fit for a message: never the password, neither in user:password@ (up to the
    last @: a password may hold @ and :) nor as ?password= (libpq also takes it there)."""
    url = re.sub(r"(://[^:/@]*):.*@", r"\1:***@", url)
    return re.sub(r"(?i)([?&](?:password|passwd|pwd|pass)=)[^&#]*", r"\1***", url)


# `spark:` URLs name the Spark dialect, registered by its module's name (imported when a URL names it)
registry.register("spark", "unisono.catalog.spark_dialect", "SparkDialect")
# duckdb-engine by name, as its entry point declares it: finding it through the installed packages'
# entry points costs a small check a tenth of a second
registry.register("duckdb", "duckdb_engine", "Dialect")


def driver_hint(url: str) -> str:
    """What to install when the driver of a catalog URL is missing."""
    return " (pip install 'unisono[spark]')" if url.startswith("spark") else ""


def create_catalog_engine(url: str, spark: SparkOptions | None = None, *, read_only: bool = False) -> Engine:
    """The SQLAlchemy engine for a catalog URL, with each backend's settings (no tables made).
    `spark`: unisono.yaml's master and options, for a spark: URL (its own ?master=… and spark.*=… win).
    `read_only`: a DuckDB file opened to be read only (open_catalog)."""
    try:
        if url.startswith("duckdb"):
            busy_timeout()  # a bad UNISONO_BUSY_TIMEOUT is said at once, not when another process has the file
            from unisono.catalog.duckdb_catalog import DUCKDB_DEFAULTS

            engine = create_engine(url, connect_args={"config": dict(DUCKDB_DEFAULTS),
                                                      **({"read_only": True} if read_only else {})})
        elif url.startswith("spark:"):  # Parquet under a folder, through Spark (catalog/spark_dialect.py)
            from sqlalchemy.pool import NullPool

            engine = create_engine(url, poolclass=NullPool, spark_master=spark.master if spark else None,
                                   spark_options=dict(spark.options) if spark else None)
        elif url.startswith("sqlite") and "timeout=" not in url:  # the sqlite3 module's busy timeout
            engine = create_engine(url, connect_args={"timeout": busy_timeout()})
        else:
            engine = create_engine(url)
    except (ArgumentError, ImportError, ValueError) as e:  # NoSuchModuleError (no driver) is an ArgumentError
        hint = driver_hint(url) if isinstance(e, (ImportError, NoSuchModuleError)) else ""
        shown = shown_url(url)
        if url in ("duckdb", "sqlite"):  # as `init --db` takes them
            file = "catalog.duckdb" if url == "duckdb" else "unisono.db"
            detail = f"a URL is needed here, e.g. {url}:///{file} (only init's --db takes the name alone)"
        elif isinstance(e, (ImportError, NoSuchModuleError)) or "Could not parse" in str(e) or "@" not in url:
            detail = str(e).replace(url, shown)
        else:  # "invalid literal for int(): 'et@localhost'" quotes what follows an @ of the password
            detail = "not a URL it can read (in a password, write @ as %40, : as %3A and / as %2F)"
        raise CatalogError(f"cannot use database {shown!r}: {detail}{hint}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        event.listen(engine, "handle_error", _sqlite_errors)
    elif engine.dialect.name == "spark":  # a write transaction takes the lake's writer lock at once
        event.listen(engine, "begin", _spark_begin)
    elif engine.dialect.name == "duckdb":
        from unisono.catalog.duckdb_catalog import configure

        configure(engine)
    return engine


WRITE = "unisono_write"  # execution option: this transaction writes the catalog (write_transaction)


@contextmanager
def write_transaction(engine: Engine, lock: str | None = None) -> Iterator[Connection]:
    """A short transaction that writes the catalog. Writers take turns: on SQLite it begins
    IMMEDIATE (the write lock first, waiting up to the busy timeout with a progress line, never a
    snapshot that is stale by the time it writes); on PostgreSQL `lock` names an advisory lock held
    until commit (publishes of one channel judge "same bytes" one after the other). DuckDB has one
    process per file; on Spark it holds the lake's writer lock (catalog/spark_store.py)."""
    with engine.execution_options(**{WRITE: True}).begin() as conn:
        if lock is not None:
            lock_writers(conn, lock)
        yield conn


def lock_writers(conn: Connection, lock: str) -> None:
    """PostgreSQL: wait for the advisory lock `lock` and hold it until the transaction ends (other
    backends: their write transaction is the lock)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (zlib.crc32(lock.encode()),))


def _sqlite_begin(conn: Connection) -> None:
    if not conn.get_execution_options().get(WRITE):
        conn.exec_driver_sql("BEGIN")
        return
    import sqlite3

    raw = conn.connection.dbapi_connection
    timeout_ms = int(raw.execute("PRAGMA busy_timeout").fetchone()[0])
    try:
        raw.execute("PRAGMA busy_timeout = 0")  # try at once, to say why it waits if it must
        try:
            raw.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) and "busy" not in str(e):
                raise
        waiting.warning("waiting for another unisono command to finish writing the catalog %s (up to %g s) …",
                    conn.engine.url.database, timeout_ms / 1000)
        raw.execute(f"PRAGMA busy_timeout = {timeout_ms}")
        try:
            raw.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            _raise_sqlite(e, conn.engine.url.database, timeout_ms)
    finally:
        raw.execute(f"PRAGMA busy_timeout = {timeout_ms}")


def _spark_begin(conn: Connection) -> None:
    # as SQLite's BEGIN IMMEDIATE: what a write transaction reads is what it writes over
    if conn.get_execution_options().get(WRITE):
        conn.connection.dbapi_connection.writing()


def _raise_sqlite(error: Exception, where: str | None, timeout_ms: int | None = None) -> None:
    """The SQLite errors a user can act on, as one line (the SQL and its parameters are no news)."""
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    if "locked" in text or "busy" in text:
        waited = f" for {timeout_ms / 1000:g} s" if timeout_ms is not None else ""
        raise CatalogError(f"the catalog {where} is busy: another unisono command kept writing it{waited}; "
                           "run this command again when it is done, or wait longer with UNISONO_BUSY_TIMEOUT=SECONDS") \
            from None
    if "readonly" in text or "read-only" in text:
        raise ReadOnlyCatalog(f"the catalog {where} is read-only ({text}): this command writes to it; give this user "
                           "write access to the file and its folder, or use another catalog (--db)") from None
    if "not a database" in text or "malformed" in text or "encrypted" in text:
        raise CatalogError(f"{where} is not a usable unisono catalog ({text}); move it aside and publish the "
                           "channel files again, or name another catalog with --db") from None
    if "unable to open" in text or "disk I/O" in text or "full" in text:
        raise CatalogError(f"cannot use the catalog {where} ({text}); check that its folder exists, is writable "
                           "and has free space") from None


def database_error(error: Exception) -> str:
    """Any other database error, as the one line a user reads (never the SQL or its parameters)."""
    orig = getattr(error, "orig", None) or error
    text = str(orig).splitlines()[0] if str(orig) else type(orig).__name__
    return (f"the catalog database failed: {text}; if it persists, check the database (--db) or publish into a "
            "new catalog (set UNISONO_DEBUG=1 for details)")


def _sqlite_errors(context) -> None:
    if isinstance(context.original_exception, Exception) and type(context.original_exception).__module__ == "sqlite3":
        _raise_sqlite(context.original_exception, context.engine.url.database if context.engine else None)


_OPENED: weakref.WeakSet[Engine] = weakref.WeakSet()  # the catalogs this process opened (close_catalogs)


def close_catalogs() -> None:
    """Close every catalog this process opened. DuckDB lets one process hold a file in one mode: a
    command that read it read-only must have closed it before the next one in the same process (a
    test, a notebook) opens it to write."""
    for engine in list(_OPENED):
        engine.dispose()


def open_catalog(url: str, spark: SparkOptions | None = None, *, read_only: bool = False) -> Engine:
    """An engine with the catalog's tables created. Raises CatalogError on a bad URL or server.
    `spark`: where a spark: catalog runs (unisono.yaml's `spark:`). `read_only`: the command only
    reads: a DuckDB catalog is then opened read-only, so that any number of such commands run at
    once (DuckDB gives a writer its file to itself; SQLite's readers never wait anyway)."""
    if read_only and url.startswith("duckdb"):
        from unisono.catalog.duckdb_catalog import read_only_engine

        if (engine := read_only_engine(url)) is not None:
            _OPENED.add(engine)
            return engine
    engine = create_catalog_engine(url, spark)
    _OPENED.add(engine)
    where = shown_url(engine.url.render_as_string(hide_password=True))
    if engine.dialect.name in ("sqlite", "duckdb", "spark") and engine.url.database in (None, "", ":memory:"):
        # a catalog that vanishes when the command ends: "Published" would be a lie
        raise CatalogError(f"cannot use database {where!r}: an in-memory catalog keeps nothing; "
                           f"name a file, e.g. {engine.dialect.name}:///catalog.db")
    try:
        missing = missing_columns(_create_schema(engine))
        if missing:
            missing = _add_columns(engine, missing)
    except (OperationalError, DBAPIError) as e:
        if not isinstance(e, OperationalError) and engine.dialect.name != "duckdb":
            raise
        text = str(e.orig).splitlines()[0]
        if engine.dialect.name == "duckdb":
            from unisono.catalog.duckdb_catalog import open_error

            raise open_error(engine.url.database, text) from None
        raise CatalogError(f"cannot open database {where}: {text}") from None
    if missing:  # what cannot simply be added: say so instead of failing in the middle of a query
        raise CatalogError(f"the catalog {where} was created by an older unisono (it lacks {', '.join(missing[:3])}); "
                           "publish the channel files into a new one (--db, or move the catalog file aside)")
    return engine


def _create_schema(engine: Engine) -> dict[str, set[str]]:
    """The tables, once: looked for without a lock (every command opens the catalog, most only read);
    created inside a write transaction, so two commands starting on a new project do not both try.
    Returns the columns each table has."""
    with engine.connect() as conn:
        have = catalog_columns(conn)
    if have.keys() >= set(metadata.tables):
        return have
    with write_transaction(engine, lock="unisono schema") as conn:
        metadata.create_all(conn)  # checks again, inside the lock
        return catalog_columns(conn)


def _add_columns(engine: Engine, missing: list[str]) -> list[str]:
    """A catalog of an older unisono gets the columns added since (nullable, no default: rows it
    already holds simply have none, as a file without that column would give); returns what
    cannot be added that way. Under the write lock, so two commands do not both add them."""
    columns = [metadata.tables[name.split(".")[0]].c[name.split(".")[1]] for name in missing]
    addable = [c for c in columns if c.nullable and c.server_default is None and not c.primary_key]
    if addable:
        with write_transaction(engine, lock="unisono schema") as conn:
            preparer = conn.dialect.identifier_preparer
            still = set(missing_columns(catalog_columns(conn)))  # another command may have added them while this one waited
            for column in addable:
                if f"{column.table.name}.{column.name}" not in still:
                    continue
                kind = column.type.compile(dialect=conn.dialect)
                conn.exec_driver_sql(f"ALTER TABLE {preparer.format_table(column.table)} "
                                     f"ADD COLUMN {preparer.format_column(column)} {kind}")
    added = {id(c) for c in addable}
    return [f"{c.table.name}.{c.name}" for c in columns if id(c) not in added]


def catalog_columns(conn: Connection) -> dict[str, set[str]]:
    """The catalog database's tables and their columns."""
    if conn.dialect.name == "duckdb":  # one query: duckdb-engine's inspector reads pg_catalog tables DuckDB lacks
        have: dict[str, set[str]] = {}
        for table_name, column_name in conn.exec_driver_sql(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()"):
            have.setdefault(table_name, set()).add(column_name)
        return have
    found = inspect(conn)
    return {name: {c["name"] for c in found.get_columns(name)} for name in found.get_table_names()
            if name in metadata.tables}


def missing_columns(have: dict[str, set[str]]) -> list[str]:
    """The catalog's columns the database lacks, "table.column"."""
    return [f"{table.name}.{column.name}" for table in metadata.sorted_tables
            for column in table.columns if column.name not in have.get(table.name, set())]
