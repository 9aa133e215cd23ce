"""Offer rows into the catalog's `offer` table, fast: offers are nearly all a publication writes.

Objects (offer_to_row's dicts) and column batches (OfferBatch) go in as many rows per INSERT through
the DBAPI, with the values Core's bind processors would store; on DuckDB as Arrow tables it scans
in place. publish.py decides what to write and in which transaction; this module only writes.
"""
from __future__ import annotations

from collections.abc import Iterator
from itertools import chain, islice

from sqlalchemy import insert
from sqlalchemy.exc import StatementError

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
    the transaction and SQLAlchemy's error wrapping. Values go through the bind processors Core
    would apply (sqlmodel's UTCDateTime: to UTC, and on SQLite the dialect's text form), so the
    stored bytes are the same; NULLs are left alone, as every processor of this table leaves them.
    """
    duckdb = conn.dialect.name == "duckdb"  # DuckDB: by the column, as Arrow (_insert_arrow)
    if not duckdb and _PLACEHOLDER.get(conn.dialect.paramstyle) is None:  # another paramstyle: the general path
        conn.execute(insert(OfferRow.__table__), rows)
        return
    table, dialect = OfferRow.__table__, conn.dialect
    names = list(rows[0])  # offer_to_row's keys, in its order: every row's values line up
    processors = [(i, process) for i, name in enumerate(names)
                  if (process := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))]
    # Sale windows repeat as the very same datetime objects (the adapters parse each text once):
    # processed once per object. Keyed by identity, not equality: equal instants may differ in fold.
    processed: dict[tuple[int, int], tuple] = {}  # (column, id(value)) -> (value, processed value)
    flat: list = []  # all rows' values, one row after the other
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
    except Exception as e:  # a value that cannot be stored (a date before year 1 in UTC): as Core reports it
        statement = _arrow_statement(conn, names) if duckdb else _values_statement(conn, names, 1)
        raise StatementError(str(e), statement, None, e) from e
    if duckdb:  # the processed values by the column, as one Arrow table
        import pyarrow as pa

        width = len(names)
        _insert_arrow(conn, pa.table({name: pa.array(flat[i::width], type=_arrow_type(name))
                                      for i, name in enumerate(names)}))
        return
    _insert_values(conn, names, flat, len(rows))


def _arrow_type(name: str):
    import pyarrow as pa

    return {"publication_id": pa.int64(), "channel": pa.string(), "source": pa.string()}.get(name) \
        or OFFER_COLUMNS[name]


def _insert_arrow(conn, table) -> None:
    """DuckDB: insert an Arrow table of offer columns as one INSERT ... SELECT that scans it in place
    (registered on the connection's DuckDB handle, in the publication's transaction); ids from the
    offer sequence, in the table's row order. Executed through SQLAlchemy, so errors are wrapped and
    mapped as every other statement's."""
    raw = conn.connection.dbapi_connection  # duckdb-engine's wrapper of the DuckDB connection
    raw.register(_ARROW_VIEW, table)  # replaces a view a failed insert left behind
    conn.exec_driver_sql(_arrow_statement(conn, table.column_names))
    raw.unregister(_ARROW_VIEW)  # (after a failure the transaction is aborted: the error is the news)


_ARROW_VIEW = "unisono_offer_batch"


def _arrow_statement(conn, names: list[str]) -> str:
    quote = conn.dialect.identifier_preparer.quote
    columns = ", ".join(quote(name) for name in names)
    return f"INSERT INTO offer ({columns}) SELECT {columns} FROM {_ARROW_VIEW}"


def insert_batch(conn, pub_id: int, batch: OfferBatch) -> None:
    """Insert an OfferBatch's rows, CHUNK at a time, as the same values insert_offers stores for
    the same offers: on SQLite instants as the dialect's text (formatted by the column, once),
    elsewhere datetimes; the source "file:line" built by the column."""
    import pyarrow as pa

    table, names = batch.table, ["publication_id", "channel", *OFFER_COLUMNS, "source"]
    text_instants = conn.dialect.name == "sqlite"
    if conn.dialect.name == "duckdb":  # the whole batch at once, by the column: DuckDB reads Arrow
        source = _sources(batch, table)
        n = table.num_rows
        columns = {"publication_id": pa.array([pub_id] * n, pa.int64()), "channel": pa.array([batch.channel] * n),
                   **{name: table[name] for name in OFFER_COLUMNS}, "source": source}
        _insert_arrow(conn, pa.table(columns))
        return
    if _PLACEHOLDER.get(conn.dialect.paramstyle) is None:  # the general path, as for offer objects
        offers = batch.offers()
        while chunk := [offer_to_row(o, pub_id) for o in islice(offers, CHUNK)]:
            conn.execute(insert(OfferRow.__table__), chunk)
        return
    for start in range(0, table.num_rows, CHUNK):
        part = table.slice(start, CHUNK)
        source = _sources(batch, part)
        # columns the batch leaves empty are left to their default (NULL): fewer values per row
        present = [name for name in names if name in ("publication_id", "channel", "source")
                   or part[name].null_count < part.num_rows]
        columns = []
        for name in present:
            if name == "publication_id":
                columns.append([pub_id] * part.num_rows)
            elif name == "channel":
                columns.append([batch.channel] * part.num_rows)
            elif name == "source":
                columns.append(source.to_pylist())
            elif text_instants and pa.types.is_timestamp(part[name].type):
                columns.append(_instant_texts(part[name]))
            else:
                columns.append(part[name].to_pylist())
        _insert_rows(conn, present, zip(*columns), part.num_rows)


def _instant_texts(column) -> list:
    """A timestamp column as SQLite's text form, each distinct instant formatted once (a file has
    few promotion windows; pyarrow's strftime costs as much per row as the insert itself)."""
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(column).combine_chunks()
    texts = pc.strftime(encoded.dictionary, format="%Y-%m-%d %H:%M:%S").to_pylist()
    return [None if i is None else texts[i] for i in encoded.indices.to_pylist()]


def _sources(batch: OfferBatch, part):
    """The offers' source column, "file:line" or "file (element path)", built by the column."""
    import pyarrow as pa
    import pyarrow.compute as pc

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
    _insert_rows(conn, names, (flat[i:i + width] for i in range(0, n_rows * width, width)), n_rows)


def _insert_rows(conn, names: list[str], rows: Iterator, n_rows: int) -> None:
    """Rows (sequences of processed values, in `names`' order), many rows per INSERT: each
    statement's parameters one tuple of its rows' values one after the other."""
    per = max(1, _MAX_PARAMETERS // len(names))  # rows per statement
    whole = n_rows // per  # statements filled; the rest of the rows go in one more
    if whole:
        conn.exec_driver_sql(_values_statement(conn, names, per),
                             [tuple(chain.from_iterable(islice(rows, per))) for _ in range(whole)])
    if whole * per < n_rows:
        conn.exec_driver_sql(_values_statement(conn, names, n_rows - whole * per), tuple(chain.from_iterable(rows)))
