"""Offer rows into the catalog's `offer` table, fast: offers are nearly all a publication writes.

Objects (offer_to_row's dicts) and column batches (OfferBatch) go in as many rows per INSERT through
the DBAPI, with the values Core's bind processors would store (DuckDB reads them as Arrow instead:
offer_stream.py). publish.py decides what to write and in which transaction; this module only writes.
"""
from __future__ import annotations

from collections.abc import Callable
from itertools import islice

from sqlalchemy import Connection, insert
from sqlalchemy.exc import DBAPIError, StatementError

from unisono.catalog.tables import OfferRow, offer_to_row
from unisono.domain.batch import OFFER_COLUMNS, OfferBatch

CHUNK = 20_000  # rows per executemany: large enough to be fast, small enough to bound memory

# The DBAPI's placeholder, for the paramstyles of the drivers the catalog runs on (sqlite3, psycopg).
_PLACEHOLDER = {"qmark": "?", "format": "%s", "pyformat": "%s"}
_MAX_PARAMETERS = 999  # per statement: the lowest limit of the databases (SQLite before 3.32)


def insert_offers(conn, rows: list[dict]) -> None:
    """Insert offer rows (offer_to_row's dicts) with the DBAPI: many rows per INSERT, as tuples.

    Offers are nearly all a publication writes, and a Core insert of dicts spent as long on each
    row's parameters (compiled-parameter dicts, type processing) as SQLite spent storing it
    (measured: a third of publishing 500,000 store rows); SQLite also stores a VALUES list of 47
    rows about 30 % faster than 47 single-row statements. exec_driver_sql keeps the connection,
    the transaction and SQLAlchemy's error wrapping. (DuckDB: offer_stream.py.)
    """
    if _PLACEHOLDER.get(conn.dialect.paramstyle) is None:  # another paramstyle: the general path
        conn.execute(insert(OfferRow.__table__), rows)
        return
    names, flat = processed_values(conn, OfferRow.__table__, rows,
                                   lambda conn, names: _values_statement(conn, names, 1))
    _insert_values(conn, names, flat, len(rows))


def processed_values(conn, table, rows: list[dict], statement: Callable[[Connection, list[str]], str]
                     ) -> tuple[list, list]:
    """(column names, all rows' values one row after the other) of rows of `table` (the offer table
    or another) with the values Core's bind
    processors would store (the catalog's UTCDateTime: to UTC, and on SQLite the dialect's text
    form), so the stored bytes are the same; NULLs are left alone, as every processor of this
    table leaves them. A value that cannot be stored fails as Core reports it, with `statement`."""
    dialect = conn.dialect
    names = list(rows[0])  # the rows' keys (offer_to_row's), in one order: every row's values line up
    processors = [(i, process) for i, name in enumerate(names)
                  if (process := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))]
    # Sale windows repeat as the very same datetime objects (the adapters parse each text once):
    # processed once per object. Keyed by identity, not equality: equal instants may differ in fold.
    processed: dict[tuple[int, int], tuple] = {}  # (column, id(value)) -> (value, processed value)
    flat: list = []
    try:
        for row in rows:
            start = len(flat)
            flat.extend(row.values())
            for i, process in processors:
                value = flat[start + i]
                if value is not None:
                    key = (i, id(value))
                    if key not in processed:  # the value is kept in the dict, so its id stays its own
                        processed[key] = (value, process(value))
                    flat[start + i] = processed[key][1]
    except Exception as e:  # a value that cannot be stored (a date before year 1 in UTC)
        raise StatementError(str(e), statement(conn, names), None, e) from e
    return names, flat


STAGED_LINE = "staged_line"  # a staging table's offer line; its source is built when copied (publish.py)


def insert_batch(conn, pub_id: int, batch: OfferBatch, staged_file: str | None = None) -> None:
    """Insert an OfferBatch's rows, CHUNK at a time, as the same values insert_offers stores for
    the same offers: on SQLite instants as the dialect's text (formatted by the column, once),
    elsewhere datetimes; the source "file:line" built by the column.

    `staged_file`: the rows go into a SQLite staging table (publish.py) that numbers them and
    names their channel and source when it copies them into the catalog: for a batch of that file
    whose rows all have a line and no element path, only the line is written (measured: a third
    fewer values to bind, and no "file:line" text per row in Python)."""
    import pyarrow as pa

    table, names = batch.table, ["publication_id", "channel", *OFFER_COLUMNS, "source"]
    text_instants = conn.dialect.name == "sqlite"
    if _PLACEHOLDER.get(conn.dialect.paramstyle) is None:  # the general path, as for offer objects
        offers = batch.offers()
        while chunk := [offer_to_row(o, pub_id) for o in islice(offers, CHUNK)]:
            conn.execute(insert(OfferRow.__table__), chunk)
        return
    narrow = (staged_file is not None and batch.file == staged_file and table["line"].null_count == 0
              and table["path"].null_count == table.num_rows)
    if narrow:
        names = [*OFFER_COLUMNS, STAGED_LINE]
    for start in range(0, table.num_rows, CHUNK):
        part = table.slice(start, CHUNK)
        # columns the batch leaves empty are left to their default (NULL): fewer values per row
        present = [name for name in names if name in ("publication_id", "channel", "source", STAGED_LINE)
                   or part[name].null_count < part.num_rows]
        columns = []
        for name in present:
            if name == "publication_id":
                columns.append([pub_id] * part.num_rows)
            elif name == "channel":
                columns.append([batch.channel] * part.num_rows)
            elif name == "source":
                columns.append(sources(batch, part).to_pylist())
            elif name == STAGED_LINE:
                columns.append(part["line"].to_pylist())
            elif text_instants and pa.types.is_timestamp(part[name].type):
                columns.append(_instant_texts(part[name]))
            else:
                columns.append(part[name].to_pylist())
        _insert_columns(conn, present, columns, part.num_rows)


def _instant_texts(column) -> list:
    """A timestamp column as SQLite's text form, each distinct instant formatted once (a file has
    few promotion windows; pyarrow's strftime costs as much per row as the insert itself)."""
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(column).combine_chunks()
    texts = pc.strftime(encoded.dictionary, format="%Y-%m-%d %H:%M:%S").to_pylist()
    return [None if i is None else texts[i] for i in encoded.indices.to_pylist()]


def sources(batch: OfferBatch, part):
    """The offers' source column, "file:line" or "file (element path)", built by the column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if part["line"].null_count == 0 and part["path"].null_count == part.num_rows:  # a file of lines (a third
        # of the work below)
        return pc.binary_join_element_wise(pa.scalar(batch.file), pc.cast(part["line"], pa.string()), ":")
    source = pc.binary_join_element_wise(
        pa.scalar(batch.file), pc.cast(part["line"], pa.string()), ":", null_handling="replace",
        null_replacement="")
    source = pc.if_else(pc.is_null(part["line"]), pa.scalar(batch.file), source)
    with_path = pc.binary_join_element_wise(source, part["path"], " (", null_handling="skip")
    return pc.if_else(pc.is_null(part["path"]), source, pc.binary_join_element_wise(with_path, ")", ""))


def _values_statement(conn, names: list[str], n_rows: int) -> str:
    dialect = conn.dialect
    mark, quote = _PLACEHOLDER[dialect.paramstyle], dialect.identifier_preparer.quote
    head = (f"INSERT INTO {dialect.identifier_preparer.format_table(OfferRow.__table__)} "
            f"({', '.join(map(quote, names))}) VALUES ")
    return head + ", ".join([f"({', '.join([mark] * len(names))})"] * n_rows)


def _insert_values(conn, names: list[str], flat: list, n_rows: int) -> None:
    """Rows given as one flat list of processed values, many rows per INSERT."""
    width = len(names)
    per = max(1, _MAX_PARAMETERS // width)  # rows per statement
    whole = n_rows // per  # statements filled; the rest of the rows go in one more
    step = per * width
    if whole:
        conn.exec_driver_sql(_values_statement(conn, names, per),
                             [tuple(flat[i:i + step]) for i in range(0, whole * step, step)])
    if whole * per < n_rows:
        conn.exec_driver_sql(_values_statement(conn, names, n_rows - whole * per), tuple(flat[whole * step:]))


def _insert_columns(conn, names: list[str], columns: list[list], n_rows: int) -> None:
    """Rows given as columns (lists of processed values, in `names`' order): interleaved into one
    flat list by slice assignment, which copies in C, not a Python step per value."""
    width = len(names)
    flat: list = [None] * (n_rows * width)
    for i, column in enumerate(columns):
        flat[i::width] = column
    _insert_values(conn, names, flat, n_rows)
