"""A DB-API for Spark SQL over the Parquet catalog (catalog/spark_store.py), which the Spark dialect
(catalog/spark_dialect.py) drives: statements compiled to Spark SQL run with spark.sql(), values passed
as Spark's named parameters (`:name`), never pasted into the text. Writes are carried out on
DataFrames: an INSERT appends rows (ids numbered after the largest), an UPDATE or DELETE rewrites
the table as a query (rows kept EXCEPT ALL rows matched, UNION ALL the matched rows with their new
values), a CREATE/DROP of a temporary table is a temporary view; the store commits at COMMIT.
"""
from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from sqlalchemy import Integer, Table, select
from sqlalchemy.schema import CreateIndex, CreateTable, DropIndex, DropTable
from sqlalchemy.sql.ddl import CreateTableAs
from sqlalchemy.sql.dml import Delete, Insert, Update

from unisono.catalog.db import object_store
from unisono.catalog.spark_store import ParquetStore, arrow_type, spark_session
from unisono.catalog.tables import metadata
from unisono.domain.batch import ExecutorRead, Written

if find_spec("pyspark") is None:  # the driver missing, as for any catalog: `init --db spark:...` refuses it too
    raise ImportError("pyspark is not installed; Spark needs Java 17 or later too")  # (the caller names the extra)

_STORES: dict[str, ParquetStore] = {}  # one store per catalog folder and process: the views are the session's


class Error(Exception):
    pass


class DatabaseError(Error):
    pass


class OperationalError(DatabaseError):
    pass


class ProgrammingError(DatabaseError):
    pass


class IntegrityError(DatabaseError):
    pass


class InterfaceError(Error):
    pass


class NotSupportedError(DatabaseError):
    pass


class _DBAPI:
    """The module SQLAlchemy takes for a DBAPI driver."""

    paramstyle = "named"
    apilevel = "2.0"
    threadsafety = 1
    Error, DatabaseError, OperationalError, ProgrammingError = Error, DatabaseError, OperationalError, ProgrammingError
    IntegrityError, InterfaceError, NotSupportedError = IntegrityError, InterfaceError, NotSupportedError
    Warning = Warning

    @staticmethod
    def connect(path: str, master: str | None = None, options: dict | None = None):
        if object_store(path):  # Path() would make s3a://bucket/lake a local folder s3a:/bucket/lake
            raise OperationalError(f"the lake {path} is on an object store: not supported yet (unisono replaces "
                                   "the manifest and writes the offers' Parquet with local file operations); use a "
                                   "folder the driver and every executor see at the same path (a shared mount)")
        key = str(Path(path).resolve())
        store = _STORES.get(key)
        if store is None or store.spark._jsc is None or store.spark._jsc.sc().isStopped():
            try:
                session = spark_session(master, options)
            except ImportError as e:
                raise OperationalError(str(e)) from None
            except Exception as e:  # no Java, a master that cannot be reached: one line for the user
                raise OperationalError(f"Spark did not start ({_first_line(e)}); it needs Java 17 or later "
                                       "(JAVA_HOME or java on PATH) and a reachable master") from None
            store = _STORES[key] = ParquetStore(session, Path(key))
        elif not store.appended and not store.replaced and not store.rows:
            store.committed = store._read_manifest()  # another process may have committed meanwhile
        for table in metadata.sorted_tables:
            if table.name in store.committed:
                store.register(table)
        return _Connection(store)


class _Connection:
    def __init__(self, store: ParquetStore):
        self.store, self.dirty, self.locked = store, False, False

    def cursor(self):
        return _Cursor(self)

    def writing(self) -> None:
        """This transaction writes the catalog: it takes the lake's writer lock first (waiting for
        another command's publish), then reads the catalog as the writer before it left it."""
        self.dirty = True
        if self.store.lock_writers():
            self.locked = True
            self.store.committed = self.store._read_manifest()
            for table in metadata.sorted_tables:
                if table.name in self.store.committed:
                    self.store.register(table)

    def commit(self):
        try:
            if self.dirty:
                self.store.commit()
                self.dirty = False
        finally:
            self._unlock()

    def rollback(self):
        try:
            if self.dirty:  # a reader's rollback leaves another connection's transaction alone
                self.store.rollback()
                self.dirty = False
        finally:
            self._unlock()

    def _unlock(self) -> None:
        if self.locked:
            self.store.unlock_writers()
            self.locked = False

    def close(self):
        self.rollback()


class _Cursor:
    def __init__(self, conn: _Connection):
        self.conn, self.store = conn, conn.store
        self.description, self.rowcount, self.lastrowid, self._rows = None, -1, None, []
        self.arraysize = 1

    # -- DBAPI -------------------------------------------------------------------------------
    def execute(self, statement, parameters=None, context=None):
        self.description, self.rowcount, self._rows = None, -1, []
        try:
            self.store.sync()
            self._execute(statement, parameters, context)
        except Error:
            raise
        except Exception as e:
            from py4j.protocol import Py4JError
            from pyspark.errors import PySparkException

            if isinstance(e, (PySparkException, Py4JError)):  # SQLAlchemy wraps it; the CLI says one line
                raise DatabaseError(_first_line(e)) from e
            raise

    def _execute(self, statement, parameters, context):
        # the statement as invoked, with its own values: the compiled one is SQLAlchemy's cached
        # compilation of the first statement of that shape (its values are an earlier call's)
        construct = getattr(context, "invoked_statement", None)
        if construct is None:
            construct = getattr(getattr(context, "compiled", None), "statement", None)
        if isinstance(construct, CreateTable):
            table = construct.element
            if "TEMPORARY" in [p.upper() for p in table._prefixes]:
                self.store.create_temporary(table)
            else:
                self.conn.writing()
                self.store.register(table)
        elif isinstance(construct, CreateTableAs):  # what a rule found (found_rows.py): computed once, kept
            if not construct.temporary:
                raise NotSupportedError(f"CREATE TABLE {construct.table_name} AS: only temporary tables")
            frame = self._frame(construct.selectable, context.dialect)
            self.store.create_temporary_as(construct.table, frame.toDF(*construct.table.c.keys()))
        elif isinstance(construct, DropTable):
            self.store.drop_temporary(construct.element.name)
        elif isinstance(construct, (CreateIndex, DropIndex)):
            pass  # Spark scans and hashes: no indexes
        elif isinstance(construct, Insert):
            self._insert(construct, parameters if isinstance(parameters, list) else [parameters or {}], context)
        elif isinstance(construct, (Update, Delete)):
            self._rewrite(construct, context)
        else:
            self._result(self._sql(statement, parameters))

    def executemany(self, statement, seq, context=None):
        self.execute(statement, list(seq), context)

    def fetchone(self):
        return self._rows.pop(0) if self._rows else None

    def fetchmany(self, size=None):
        size = size or self.arraysize
        rows, self._rows = self._rows[:size], self._rows[size:]
        return rows

    def fetchall(self):
        rows, self._rows = self._rows, []
        return rows

    def close(self):
        self._rows = []

    # -- statements ----------------------------------------------------------------------------
    def _sql(self, text: str, parameters):
        args = dict(parameters) if isinstance(parameters, dict) and parameters else None
        return self.store.spark.sql(text, args=args)

    def _frame(self, query, dialect):
        """A Core SELECT as a DataFrame (its own values as parameters)."""
        compiled = query.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        return self._sql(str(compiled), compiled.params)

    def _result(self, frame) -> None:
        table = frame.toArrow()  # instants as UTC-aware datetimes, whatever the driver's zone
        self.description = [(name, None, None, None, None, None, None) for name in table.column_names]
        columns = [column.to_pylist() for column in table.columns]
        self._rows = list(zip(*columns)) if columns else []
        self.rowcount = len(self._rows)

    def _insert(self, stmt: Insert, rows: list[dict], context) -> None:
        table, dialect = stmt.table, context.dialect
        if table.name in self.store.temporary:
            self.conn.dirty = True
        else:
            self.conn.writing()
        numbered = _numbered(table)
        if stmt.select is not None:
            frame = self._frame(stmt.select, dialect).toDF(*stmt._select_names).localCheckpoint()
            self.rowcount = frame.count()  # build_live and its steps ask how many rows went in
            if numbered and "id" not in stmt._select_names:
                from pyspark.sql import Window, functions as F

                first = self.store.next_id(table, self.rowcount)
                order = Window.orderBy(F.monotonically_increasing_id())
                frame = frame.withColumn("id", F.row_number().over(order) + (first - 1)).localCheckpoint()
        else:
            import pyarrow as pa

            unknown = {k for row in rows for k in row} - set(table.c.keys())
            if unknown:
                raise NotSupportedError(f"INSERT into {table.name}: values other than columns ({sorted(unknown)})")
            if numbered and any(row.get("id") is None for row in rows):
                first = self.store.next_id(table, len(rows))
                rows = [{**row, "id": first + i} for i, row in enumerate(rows)]
                self.lastrowid = first + len(rows) - 1
            arrow = pa.table({c.name: pa.array([row.get(c.key) for row in rows], type=arrow_type(c.type))
                              for c in table.columns})
            self.rowcount = len(rows)
            returning = getattr(context.compiled, "effective_returning", None)
            if returning:  # INSERT ... RETURNING: what was inserted (the ids numbered here)
                self.description = [(c.name, None, None, None, None, None, None) for c in returning]
                self._rows = [tuple(row.get(c.key) for c in returning) for row in rows]
            if table.name not in self.store.temporary:  # a catalog table: Parquet written by pyarrow
                self.store.append_arrow(table, arrow)
                return
            frame = self.store.spark.createDataFrame(arrow)
        for c in table.columns:
            if c.name not in frame.columns:
                from pyspark.sql import functions as F

                frame = frame.withColumn(c.name, F.lit(None))
        self.store.append(table, frame, computed=stmt.select is not None)

    def _rewrite(self, stmt, context) -> None:
        """UPDATE or DELETE as a new content of the table: rows kept, then rows changed."""
        table: Table = stmt.table
        dialect, where = context.dialect, stmt.whereclause
        if table.name not in self.store.temporary:
            self.conn.writing()
        scope = []  # only this transaction's rows when no committed row matches (see ParquetStore.replace)
        touches = True
        if table.name not in self.store.temporary and self.store.changed(table.name) and _numbered(table):
            first = self.store.first_ids.get(table.name)
            if first is not None:
                probe = select(table.c.id).where(table.c.id < first)
                if where is not None:
                    probe = probe.where(where)
                touches = bool(self._frame(probe.limit(1), dialect).take(1))
                if not touches:
                    scope = [table.c.id >= first]
        everything = self._frame(select(table).where(*scope), dialect)
        matched = select(table).where(*scope, *([where] if where is not None else []))
        kept = everything.exceptAll(self._frame(matched, dialect))
        if isinstance(stmt, Update):
            values = {getattr(k, "key", k): v for k, v in stmt._values.items()}
            changed = select(*[(values[c.key] if c.key in values else c).label(c.name) for c in table.columns]) \
                .select_from(table).where(*scope, *([where] if where is not None else []))
            kept = kept.unionByName(self._frame(changed, dialect).select(*everything.columns), allowMissingColumns=False)
        self.store.replace(table, kept.select(*[kept[c.name].cast(everything.schema[c.name].dataType)
                                                for c in table.columns]), touches)


def insert_arrow(conn, table: Table, rows) -> None:
    """Rows given as a pyarrow table (the adapters' offer batches) into a catalog table, in the
    connection's transaction: written as Parquet by pyarrow in bulk, ids numbered after the largest."""
    import pyarrow as pa

    from sqlalchemy.exc import DBAPIError

    raw = conn.connection.dbapi_connection
    raw.writing()
    try:
        raw.store.sync()
        if _numbered(table) and "id" not in rows.column_names:
            first = raw.store.next_id(table, rows.num_rows)
            rows = rows.append_column("id", pa.array(range(first, first + rows.num_rows), pa.int64()))
        raw.store.append_arrow(table, rows)
    except Exception as e:  # as SQLAlchemy reports a failed statement: one line for the user
        raise DBAPIError.instance(f"INSERT INTO {table.name} <arrow batch>", None, e, Error) from e


def insert_steps(conn, pub_id: int, steps, between) -> None:
    """A publication's offers (publish.py's steps: adapter batches and offer rows, in file order) as
    the columns DuckDB's stream reads (offer_stream.py), each written as Parquet by insert_arrow;
    `between()` writes the rejections and claims gathered when a step says so."""
    from unisono.catalog.offer_stream import batch_table, rows_table
    from unisono.catalog.tables import OfferRow

    for kind, value in steps:
        if kind == "full":
            between()
        else:
            insert_arrow(conn, OfferRow.__table__, batch_table(pub_id, value) if kind == "batch"
                         else rows_table(conn, value))


def insert_written(conn, pub_id: int, read: ExecutorRead) -> Written:
    """A publication's offers read and written by Spark's executors (read.run) into this
    transaction's folder of offers, in the connection's transaction: their ids set aside first."""
    from unisono.catalog.tables import OfferRow

    raw = conn.connection.dbapi_connection
    raw.writing()
    raw.store.sync()
    first = raw.store.next_id(OfferRow.__table__, read.lines)
    folder = raw.store.rows_folder(OfferRow.__table__)
    written = read.run(str(folder), pub_id, first)
    raw.store.rows_written(OfferRow.__table__, written.files)
    return written


def _first_line(error: Exception) -> str:
    """What went wrong, in one line. A Java error's first line only names the call ("An error occurred
    while calling o953.localCheckpoint."): its cause is on the next, and running out of memory is
    said with what to set."""
    text = str(error).strip()
    if "java.lang.OutOfMemoryError" in text:
        return ("Spark ran out of memory (java.lang.OutOfMemoryError); give it more: spark.driver.memory in local "
                "mode, spark.executor.memory on a cluster, under spark: options: in unisono.yaml")
    lines = text.splitlines() or [type(error).__name__]
    cause = next((line.lstrip(": ") for line in lines[1:] if line.startswith(": ")), None)
    return f"{lines[0]} {cause[:300]}" if lines[0].startswith("An error occurred while calling") and cause else lines[0]


def _numbered(table: Table) -> bool:
    """Ids the database numbers: an integer primary key `id` of its own."""
    return "id" in table.c and table.c.id.primary_key and isinstance(table.c.id.type, Integer) \
        and len(table.primary_key.columns) == 1
