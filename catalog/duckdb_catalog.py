"""The catalog on DuckDB (duckdb:///path/catalog.duckdb, the default): its settings, its one-process-
per-file rule as a wait and one line, its errors in the words a user acts on, and read-only opening
for the commands that only read (any number of them at once)."""
from __future__ import annotations

import re
import time
from pathlib import Path

from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError, OperationalError

from unisono.catalog.db import CatalogError, busy_timeout, catalog_columns, create_catalog_engine, missing_columns, waiting

# DuckDB's settings unless the URL's query gives them (duckdb:///c.duckdb?memory_limit=4GB&threads=4):
# DuckDB would take 80 % of the machine's memory; beyond the limit it spills to <file>.tmp. The limit
# covers DuckDB's buffers only: a process holds ~200 MB more (measured at 1M x 5: reconcile peaked at
# 947 MB with 768MB, ~50 MB less with 400MB; Python's own objects ~65 MB).
DUCKDB_DEFAULTS = {"memory_limit": "768MB",
                   # the catalog needs no extension: never one fetched from the network (a SQLite file named
                   # as a DuckDB catalog would have DuckDB download its SQLite reader)
                   "autoinstall_known_extensions": False, "autoload_known_extensions": False}

# Words DuckDB's parser will not take as a column name unquoted (e.g. run.at), which duckdb-engine
# (as of 0.17) does not quote: it adds only DuckDB's "reserved" keywords to PostgreSQL's.
_DUCKDB_UNQUOTABLE = {"at", "by", "anti", "asof", "semi", "glob", "map", "struct", "tuple", "columns",
                      "collation", "concurrently", "generated", "positional", "tablesample", "try_cast", "unpack"}


def configure(engine: Engine) -> None:
    """A DuckDB engine's quoting, waiting and errors (create_catalog_engine)."""
    preparer = engine.dialect.identifier_preparer
    preparer.reserved_words = set(preparer.reserved_words) | _DUCKDB_UNQUOTABLE  # its own copy
    event.listen(engine, "handle_error", _duckdb_limits)
    event.listen(engine, "do_connect", _duckdb_connect)
    event.listen(engine, "connect", _duckdb_quiet)


def _duckdb_quiet(dbapi_conn, _record) -> None:
    # DuckDB's own progress bar (drawn on the terminal for an insert of a large batch) is not our output
    dbapi_conn.execute("SET enable_progress_bar = false")


def _duckdb_connect(dialect, _record, cargs, cparams):
    """DuckDB lets one process at a time open a catalog file: the next one waits for it, as SQLite's
    writers wait for each other (the busy timeout, with a progress line), then gives up in one line."""
    deadline = None
    while True:
        try:
            return dialect.connect(*cargs, **cparams)
        except Exception as e:  # duckdb.IOException; anything else is not ours to retry
            if cparams.get("read_only") and "different configuration" in str(e):
                cparams = {**cparams, "read_only": False}  # this process has it open to write: read it so
                continue
            if "Could not set lock on file" not in str(e):
                raise
            if deadline is None:
                timeout = busy_timeout()
                deadline = time.monotonic() + timeout
                if timeout > 0:
                    waiting.warning("waiting for another unisono command to close the DuckDB catalog %s (up to %g s) …",
                                cparams.get("database") or (cargs[0] if cargs else ""), timeout)
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.1)


def _duckdb_limits(context) -> None:
    """DuckDB's own limits as the catalog's one-line error: one process at a time may open a catalog
    file (the second gets "Could not set lock on file"), and a query may exceed the memory limit."""
    error = context.original_exception
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    where = context.engine.url.database if context.engine is not None else "the DuckDB catalog"
    if "Could not set lock on file" in text:
        pid = re.search(r"\(PID (\d+)\)", text)
        waited = f" for {timeout:g} s" if (timeout := busy_timeout()) else ""
        raise CatalogError(f"the DuckDB catalog {where} was in use by another process"
                           f"{f' (PID {pid.group(1)})' if pid else ''}{waited}: DuckDB lets one process at a time open a "
                           "catalog file; run the commands one after the other, wait longer with "
                           "UNISONO_BUSY_TIMEOUT=SECONDS, or, for commands that read while another writes, use SQLite "
                           "(init --db sqlite) or PostgreSQL") from None
    if (out_of_memory := duckdb_out_of_memory(error, where)) is not None:
        raise out_of_memory from None


def duckdb_out_of_memory(error: BaseException, where: str | None) -> CatalogError | None:
    """DuckDB's "Out of Memory Error" as the one line that names the fix, or None for any other error
    (also for statements run outside SQLAlchemy: the offers' Arrow insert, catalog/offer_stream.py)."""
    if type(error).__name__ != "OutOfMemoryException":
        return None
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return CatalogError(f"the DuckDB catalog {where or ''} ran out of memory ({text}); raise the limit in the URL, "
                        "e.g. duckdb:///catalog.duckdb?memory_limit=4GB")


def read_only_engine(url: str) -> Engine | None:
    """A DuckDB catalog opened read-only, or None when it cannot be read as it is: no file yet, or
    tables or columns missing (then it is opened to be written, and they are made)."""
    engine = create_catalog_engine(url, read_only=True)
    path = engine.url.database
    if not path or not Path(path).is_file():
        return None
    try:
        with engine.connect() as conn:
            complete = not missing_columns(catalog_columns(conn))
    except (OperationalError, DBAPIError):  # (its error is said when it is opened to be written)
        complete = False
    if not complete:
        engine.dispose()
        return None
    return engine


def open_error(path: str, text: str) -> CatalogError:
    """Why DuckDB cannot open a catalog file, in the words SQLite's errors use (_raise_sqlite)."""
    try:
        with open(path, "rb") as f:
            sqlite = f.read(16) == b"SQLite format 3\x00"
    except OSError:
        sqlite = False
    if sqlite:
        return CatalogError(f"{path} is a SQLite catalog, not a DuckDB one: name it sqlite:///{path} "
                            "(in unisono.yaml's database:, or with --db)")
    if "not a valid DuckDB database" in text:
        return CatalogError(f"{path} is not a usable unisono catalog ({text.removeprefix('IO Error: ')}); move it "
                            "aside and publish the channel files again, or name another catalog with --db")
    if "Cannot open file" in text or "Read-only" in text:
        return CatalogError(f"cannot use the catalog {path} ({text.removeprefix('IO Error: ')}); check that its "
                            "folder exists, is writable and has free space")
    return CatalogError(f"cannot open the DuckDB catalog {path}: {text}")
