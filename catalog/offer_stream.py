"""DuckDB: a publication's offers as ONE streamed insert, fed by the adapter's batches as DuckDB asks.

Inserting batch by batch (one statement per ~110,000 rows) runs single-threaded; one INSERT that
reads a pyarrow RecordBatchReader is scanned in parallel (measured on the 4,985,183 rows of a
1M x 5 store file: 7.9 s against 17.3 s, indexes aside). The reader's generator pulls the
publication's entries (publish.py) while DuckDB runs the statement, so it must never use the
connection; rejections and claims wait beside it and go in between segments of the stream, when
enough have gathered to bound memory (as Arrow too: insert_rows). Everything stays in the publication's transaction.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np
import pyarrow as pa
from sqlalchemy import BigInteger, Integer, String, Table, Text
from sqlalchemy.exc import DBAPIError

from unisono.catalog.duckdb_catalog import duckdb_out_of_memory
from unisono.catalog.offer_insert import processed_values, sources
from unisono.catalog.tables import OfferRow, UTCDateTime
from unisono.domain.batch import OFFER_COLUMNS, OfferBatch

# The stream's columns: the offer table's, but the id (numbered by the sequence) and the newsletter's
# match (set after publishing)
SCHEMA = pa.schema([("publication_id", pa.int64()), ("channel", pa.string()), *OFFER_COLUMNS.items(),
                    ("source", pa.string())])
_NUMBERED = pa.schema([("id", pa.int64()), *SCHEMA])  # as inserted: with the ids (insert_tables)


def insert_streamed(conn, pub_id: int, steps: Iterable[tuple[str, object]], between: Callable[[], None]) -> None:
    """Insert the offers of `steps` (publish.py: ("batch", OfferBatch), ("rows", offer rows) in
    file order, ("full", None) when the rejections and claims gathered meanwhile should be written)
    with as few statements as memory allows: one per segment between two "full" steps, after each
    of which `between()` writes the others on the connection."""
    steps = iter(steps)
    more = True
    while more:
        more = False

        def tables() -> Iterator[pa.Table]:
            nonlocal more
            for kind, value in steps:
                if kind == "full":
                    more = True
                    return
                yield batch_table(pub_id, value) if kind == "batch" else rows_table(conn, value)

        insert_tables(conn, tables())
        if more:
            between()


def batch_table(pub_id: int, batch: OfferBatch) -> pa.Table:
    """An OfferBatch as the stream's columns: its publication, channel and "file:line" added."""
    table, n = batch.table, batch.table.num_rows
    columns = {"publication_id": pa.repeat(pa.scalar(pub_id, pa.int64()), n),
               "channel": pa.repeat(pa.scalar(batch.channel, pa.string()), n),
               **{name: table[name] for name in OFFER_COLUMNS}, "source": sources(batch, table)}
    return pa.table(columns, schema=SCHEMA)


def rows_table(conn, rows: list[dict]) -> pa.Table:
    """Offer rows (offer_to_row's dicts) as the stream's columns, with the values Core would bind."""
    names, flat = processed_values(conn, OfferRow.__table__, rows, statement=_statement)
    width = len(names)
    return pa.table({name: pa.array(flat[i::width], type=SCHEMA.field(name).type) for i, name in enumerate(names)},
                    schema=SCHEMA)


def insert_rows(conn, table: Table, rows: list[dict]) -> None:
    """Rows of another table (rejections, claims: dicts of its columns) as one Arrow insert: DuckDB
    runs an executemany row by row (measured: 20,000 rejections took 2.2 CPU s)."""
    names, flat = processed_values(conn, table, rows, statement=_statement)
    width = len(names)
    _insert(conn, table, pa.table({name: pa.array(flat[i::width], type=_ARROW[type(table.c[name].type)])
                                   for i, name in enumerate(names)}))


_ARROW = {Integer: pa.int64(), BigInteger: pa.int64(), String: pa.string(), Text: pa.string(),
          UTCDateTime: pa.timestamp("us", tz="UTC")}


def insert_tables(conn, tables: Iterator[pa.Table]) -> None:
    """One INSERT of offers reading the tables as they come, ids from the offer sequence in the
    stream's order. An error of whatever feeds the stream (a file that ends too early, ^C) comes
    back as itself, not as DuckDB's "reading the Arrow source failed".

    The ids come with the stream, not from nextval() in the INSERT: DuckDB runs an insert that calls
    nextval on one thread (measured, 4,985,183 store offers: 8.3 s, against 5.9 s on two). The first
    is the sequence's next value; the sequence then moves past the last (one process per file: no
    other command takes numbers meanwhile)."""
    failed: list[BaseException] = []
    raw = conn.connection.dbapi_connection
    first = raw.execute("SELECT nextval('offer_id_seq')").fetchall()[0][0]
    count = 0

    def batches() -> Iterator[pa.RecordBatch]:
        nonlocal count
        try:
            for table in tables:
                for batch in table.to_batches():
                    ids = pa.array(np.arange(first + count, first + count + batch.num_rows, dtype=np.int64))
                    count += batch.num_rows
                    yield pa.RecordBatch.from_arrays([ids, *batch.columns], schema=_NUMBERED)
        except GeneratorExit:  # DuckDB stopped reading: nothing of ours failed
            raise
        except BaseException as e:
            failed.append(e)
            raise

    _insert(conn, OfferRow.__table__, pa.RecordBatchReader.from_batches(_NUMBERED, batches()), failed)
    if count > 1:
        raw.execute(f"SELECT max(nextval('offer_id_seq')) FROM range({count - 1})").fetchall()


def _insert(conn, table: Table, data, failed: list[BaseException] = ()) -> None:
    """Insert an Arrow table or stream of some of the table's columns; ids from the table's
    sequence, other columns NULL. Not through a registered view: DuckDB keeps a dropped view, and
    what it scanned, until the transaction ends. DuckDB's errors are wrapped as SQLAlchemy's, as
    every other statement's; out of memory is said here as db.py says it (its handle_error is not
    called for this one)."""
    raw = conn.connection.dbapi_connection  # duckdb-engine's wrapper of the DuckDB connection
    quote = conn.dialect.identifier_preparer.quote
    have = set(data.schema.names)
    try:
        order = raw.table(table.name).columns  # the catalog's own order (an older one had columns added)
        values = [quote(name) if name in have else f"nextval('{table.name}_id_seq') AS id" if name == "id"
                  else f"NULL AS {quote(name)}" for name in order]
        raw.from_arrow(data).project(", ".join(values)).insert_into(table.name)
    except Exception as e:  # duckdb.Error
        if failed:
            raise failed[0] from None
        if (out_of_memory := duckdb_out_of_memory(e, conn.engine.url.database)) is not None:
            raise out_of_memory from None
        raise DBAPIError.instance(_statement(conn, data.schema.names, table.name), None, e, Exception) from e
    if failed:  # (an interrupt DuckDB did not turn into an error of its own)
        raise failed[0]


def _statement(conn, names: list[str], table: str = "offer") -> str:
    """What the Arrow insert does, as SQL, for error messages."""
    quote = conn.dialect.identifier_preparer.quote
    columns = ", ".join(quote(name) for name in names)
    return f"INSERT INTO {table} ({columns}) SELECT {columns} FROM <arrow>"
