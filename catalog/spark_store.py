"""A catalog kept as Parquet under a folder, read and written by Spark (`--db spark:///path`).

Each catalog table is a set of Parquet folders under <path>/<table>/; `<path>/_manifest.json` names
the folders that make up each table. A transaction's rows are written as new folders first and the
manifest is replaced (a rename) at commit: a publication is visible whole or not at all, and a
failed publish leaves the catalog as it was (its folders are unreferenced). Each table is a
temporary view of the Spark session under its own name, so the catalog's SQL (the live offers,
the rules, history, runs, waivers) runs unchanged; the dialect's DB-API (catalog/spark_dbapi.py) routes
writes here. One writer at a time: a transaction that writes holds an OS file lock on the lake from its
first write to its end (local folders; a second writer waits, see lock_writers), and numbers its ids
and extends the manifest as the writer before it left them.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import uuid
from functools import reduce
from pathlib import Path

from sqlalchemy import BigInteger, Boolean, Float, Integer, Table

MANIFEST = "_manifest.json"
WRITER_LOCK = "_writer.lock"  # held by the one command writing the lake (ParquetStore.lock_writers)
DEFAULT_MASTER = "local[2]"
# Every session of our making: instants in UTC, unisono's one-line output, the rules' plans kept small
DEFAULT_OPTIONS = {
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.showConsoleProgress": "false", "spark.log.structuredLogging.enabled": "false",
    # the rules' conditions (a zone's offset changes as CASE terms, many joins) make Spark's constraint
    # inference grow exponentially: the reference-price statement sat in it for minutes
    "spark.sql.constraintPropagation.enabled": "false",
    # instants as pyarrow writes them (microseconds, UTC), not INT96: a BI tool reads every folder of a table alike
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}
# Local mode only: it runs where the driver runs, bound to the loopback, no UI, a few shuffle partitions.
# On a cluster the executors must reach the driver by its address, and Spark's own partitioning stays.
LOCAL_OPTIONS = {
    "spark.driver.bindAddress": "127.0.0.1", "spark.driver.host": "127.0.0.1", "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "4",
    # unisono keeps no managed tables, yet Spark makes its (empty) warehouse folder on the first function
    # it looks up in the catalog: in the temporary folder, not as ./spark-warehouse wherever unisono runs
    "spark.sql.warehouse.dir": str(Path(tempfile.gettempdir()) / "unisono-spark-warehouse"),
}


def spark_session(master: str | None = None, options: dict[str, str] | None = None):
    """The process's SparkSession (an existing one is reused: spark-submit or a test fixture made it).
    `master`: default local[2], unless spark-submit (SPARK_HOME set) gives one; `options`: spark.* settings."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ImportError("pyspark is not installed (pip install 'unisono[spark]'; it needs Java 17 or later)") from None
    active = SparkSession.getActiveSession()
    if active is not None:
        active.conf.set("spark.sql.session.timeZone", "UTC")  # instants are compared and returned as UTC
        return active
    builder = SparkSession.builder.appName("unisono")
    if master or not os.environ.get("SPARK_HOME"):  # under spark-submit the master comes from it
        master = master or DEFAULT_MASTER
        builder = builder.master(master)
    local = master is not None and master.startswith("local")
    if local:  # (else Spark warns that the host name is the loopback)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        # the executors' Python is this one, which has unisono (pyspark's default is `python3` on the PATH)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    settings = {**DEFAULT_OPTIONS, **(LOCAL_OPTIONS if local else {}), **(options or {})}
    quiet = f"-Dlog4j2.configurationFile={Path(__file__).with_name('spark_log4j2.properties').as_uri()}"
    settings["spark.driver.extraJavaOptions"] = f"{quiet} {settings.get('spark.driver.extraJavaOptions', '')}".strip()
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("FATAL")  # the user reads unisono's one-line errors, not Spark's logs
    return spark


def spark_type(sa_type):
    from pyspark.sql import types as T

    if isinstance(sa_type, Boolean):
        return T.BooleanType()
    if isinstance(sa_type, (Integer, BigInteger)):  # Integer includes BigInteger; ids may pass 2**31
        return T.LongType()
    if isinstance(sa_type, Float):
        return T.DoubleType()
    python = getattr(sa_type, "impl", sa_type)
    if python.__class__.__name__ in ("DateTime", "UTCDateTime") or python.__class__.__name__.endswith("DateTime"):
        return T.TimestampType()
    return T.StringType()


def arrow_type(sa_type):
    import pyarrow as pa
    from pyspark.sql import types as T

    st = spark_type(sa_type)
    return {T.BooleanType: pa.bool_(), T.LongType: pa.int64(), T.DoubleType: pa.float64(),
            T.TimestampType: pa.timestamp("us", tz="UTC")}.get(type(st), pa.string())


def arrow_schema(table: Table):
    import pyarrow as pa

    return pa.schema([pa.field(c.name, arrow_type(c.type)) for c in table.columns])


def schema_of(table: Table):
    from pyspark.sql import types as T

    return T.StructType([T.StructField(c.name, spark_type(c.type), True) for c in table.columns])


class ParquetStore:
    """The committed tables of one catalog folder, and one transaction's changes to them."""

    def __init__(self, spark, path: Path):
        self.spark, self.path = spark, path
        self.tables: dict[str, Table] = {}  # the catalog's tables known to this store
        self.committed: dict[str, list[str]] = self._read_manifest()
        self.appended: dict[str, list] = {}  # table -> DataFrames added in this transaction
        self.replaced: dict[str, object] = {}  # table -> its whole new content (an UPDATE or DELETE)
        self.temporary: dict[str, Table] = {}  # the session's temporary tables (the live offers, ...)
        self.empty: set[str] = set()  # temporary tables created and not yet written (nothing to union with)
        self.next_ids: dict[str, int] = {}
        self.first_ids: dict[str, int] = {}  # the first id this transaction numbered, per table
        self.txn: str | None = None  # this transaction's name: the folders it writes
        self.rows: dict[str, _RowFiles] = {}  # table -> Parquet files of rows this transaction inserted
        self.stale: set[str] = set()  # tables whose view does not show the files written since
        self.lock = None  # the lake's writer lock, held from this transaction's first write to its end

    def _read_manifest(self) -> dict[str, list[str]]:
        file = self.path / MANIFEST
        return json.loads(file.read_text(encoding="utf-8"))["tables"] if file.is_file() else {}

    # -- reading -------------------------------------------------------------------------------
    def has(self, name: str) -> bool:
        return name in self.committed or name in self.temporary or name in self.replaced

    def changed(self, name: str) -> bool:
        """Whether this transaction added rows to the table (it may update only those)."""
        return name in self.appended or name in self.rows

    def committed_frame(self, table: Table):
        return self._read(table, self.committed.get(table.name) or [])

    def _read(self, table: Table, folders: list[str]):
        if not folders:
            return self.spark.createDataFrame([], schema_of(table))
        return self.spark.read.schema(schema_of(table)).parquet(*[self._local(f) for f in folders])

    def _local(self, folder: str) -> str:
        """A folder of the lake as Spark names it: a local path, whatever the cluster's default file system
        (on YARN a path without a scheme would be read from HDFS)."""
        return f"file://{self.path / folder}"

    def frame(self, table: Table):
        """The table as this transaction sees it."""
        if table.name in self.temporary:
            return self.spark.table(f"`{table.name}`")
        files = self.rows.get(table.name)
        written = [files.close()] if files is not None and files.files else []  # this transaction's rows
        if table.name in self.replaced:
            base = self.replaced[table.name]
            if written:
                base = base.unionByName(self._read(table, written))
        else:
            base = self._read(table, [*(self.committed.get(table.name) or []), *written])
        return reduce(lambda a, b: a.unionByName(b), self.appended.get(table.name, []), base)

    def sync(self) -> None:
        """The views of the tables rows were written to since they were made (before a statement reads them)."""
        for name in self.stale:
            self.publish_view(self.tables[name])
        self.stale.clear()

    def publish_view(self, table: Table) -> None:
        self.frame(table).createOrReplaceTempView(table.name)

    def register(self, table: Table) -> None:
        """A catalog table, as a view of the session (empty until rows are committed)."""
        self.tables[table.name] = table
        self.committed.setdefault(table.name, [])
        self.publish_view(table)

    # -- temporary tables ----------------------------------------------------------------------
    def create_temporary(self, table: Table) -> None:
        self.temporary[table.name] = table
        self.empty.add(table.name)
        self.spark.createDataFrame([], schema_of(table)).createOrReplaceTempView(table.name)

    def create_temporary_as(self, table: Table, frame) -> None:
        """A temporary table holding a query's rows, computed once (read by the queries after it)."""
        self.temporary[table.name] = table
        self.empty.discard(table.name)
        frame.localCheckpoint().createOrReplaceTempView(table.name)

    def drop_temporary(self, name: str) -> None:
        self.temporary.pop(name, None)
        self.spark.catalog.dropTempView(name)

    # -- writing -------------------------------------------------------------------------------
    def lock_writers(self) -> bool:
        """Wait for the lake's writer lock (an OS file lock on <lake>/_writer.lock, released when the
        transaction ends or the process dies), as SQLite's writers wait for each other: up to the busy
        timeout, with a progress line, then a one-line CatalogError. Returns whether it was taken now
        (the caller then reads the manifest again: another writer may have committed since)."""
        if self.lock is not None:
            return False
        import fcntl
        import time

        from unisono.catalog.db import CatalogError, busy_timeout, waiting

        self.path.mkdir(parents=True, exist_ok=True)
        handle = open(self.path / WRITER_LOCK, "a+b")  # noqa: SIM115 (held until the transaction ends)
        deadline = None
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is None:
                    timeout = busy_timeout()
                    deadline = time.monotonic() + timeout
                    if timeout > 0:
                        waiting.warning("waiting for another unisono command to finish writing the Spark catalog %s "
                                        "(up to %g s) …", self.path, timeout)
                if time.monotonic() >= deadline:
                    handle.close()
                    raise CatalogError(f"the Spark catalog {self.path} is busy: another unisono command kept writing "
                                       f"it for {busy_timeout():g} s; run this command again when it is done, or wait "
                                       "longer with UNISONO_BUSY_TIMEOUT=SECONDS") from None
                time.sleep(0.1)
        self.lock = handle
        return True

    def unlock_writers(self) -> None:
        if self.lock is not None:
            self.lock.close()  # (closing the file releases its lock)
            self.lock = None

    def next_id(self, table: Table, n: int) -> int:
        """The first of n new ids of `table` (numbered after the largest it has)."""
        if table.name not in self.next_ids:
            from pyspark.sql import functions as F

            top = self.frame(table).agg(F.max("id")).first()[0]
            self.next_ids[table.name] = self.first_ids[table.name] = (top or 0) + 1
        first = self.next_ids[table.name]
        self.next_ids[table.name] += n
        return first

    def append_arrow(self, table: Table, rows) -> None:
        """Rows (a pyarrow table of the table's columns) added to a catalog table: written straight
        to this transaction's Parquet files by pyarrow, no Spark job and no copy held in memory; the
        folder joins the manifest at commit."""
        self._row_files(table).write(rows)
        self.rows_written(table, 0)

    def rows_folder(self, table: Table) -> Path:
        """The folder of this transaction's rows of `table`, for Parquet files of its columns written
        by others (Spark's executors; rows_written counts them): it joins the manifest at commit."""
        folder = self.path / self._row_files(table).folder
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def rows_written(self, table: Table, files: int) -> None:
        """`files` more in the table's folder of rows; its view is made again before the next read."""
        self.rows[table.name].files += files
        self.tables.setdefault(table.name, table)
        self.stale.add(table.name)

    def _row_files(self, table: Table) -> _RowFiles:
        if table.name not in self.rows:
            self.rows[table.name] = _RowFiles(self.path, f"{table.name}/{self._txn()}-rows", arrow_schema(table))
        return self.rows[table.name]

    def _txn(self) -> str:
        if self.txn is None:
            self.txn = uuid.uuid4().hex[:12]
        return self.txn

    def append(self, table: Table, frame, computed: bool = False) -> None:
        """Rows added to `table`; `computed`: the frame is checkpointed already (computed once)."""
        frame = frame.select(*[frame[c.name].cast(spark_type(c.type)).alias(c.name) for c in table.columns])
        if table.name in self.temporary:
            if table.name not in self.empty:
                frame = self.spark.table(f"`{table.name}`").unionByName(frame)
                computed = False
            self.empty.discard(table.name)
            # computed once, then read by many queries
            (frame if computed else frame.localCheckpoint()).createOrReplaceTempView(table.name)
            return
        self.appended.setdefault(table.name, []).append(frame if computed else frame.localCheckpoint())
        self.publish_view(table)

    def replace(self, table: Table, frame, touches_committed: bool) -> None:
        """The table's new content. When no committed row changes, only this transaction's rows are
        replaced (an UPDATE of the publication being written rewrites none of the catalog's files)."""
        frame = frame.localCheckpoint()
        if table.name in self.temporary:
            self.empty.discard(table.name)
            frame.createOrReplaceTempView(table.name)
        elif touches_committed or table.name in self.replaced:
            self.replaced[table.name] = frame
            self.appended.pop(table.name, None)
            self._drop_rows(table.name)
            self.publish_view(table)
        else:
            self.appended[table.name] = [frame]
            self._drop_rows(table.name)
            self.publish_view(table)

    def _drop_rows(self, name: str) -> None:
        """The files of rows this transaction wrote, superseded by a computed content (checkpointed)."""
        files = self.rows.pop(name, None)
        self.stale.discard(name)
        if files is not None:
            files.discard()

    def commit(self) -> None:
        if not self.appended and not self.replaced and not self.rows and (self.path / MANIFEST).is_file():
            return
        txn = self._txn()
        tables = {name: list(folders) for name, folders in self.committed.items()}
        for name, frame in self.replaced.items():
            tables[name] = [self._write(name, frame, txn)]
        for name, frames in self.appended.items():
            frame = reduce(lambda a, b: a.unionByName(b), frames)
            tables.setdefault(name, []).append(self._write(name, frame, txn))
        for name, files in self.rows.items():
            if files.files:
                tables.setdefault(name, []).append(files.close())
        self.path.mkdir(parents=True, exist_ok=True)
        temp = self.path / f".{MANIFEST}.{txn}"
        temp.write_text(json.dumps({"tables": tables}, indent=1), encoding="utf-8")
        os.replace(temp, self.path / MANIFEST)  # the commit: readers see the old or the new folders
        self.committed = tables
        self._forget()

    def _write(self, name: str, frame, txn: str) -> str:
        folder = f"{name}/{txn}"
        frame.coalesce(4).write.mode("error").parquet(self._local(folder))  # a few files per write, not one per chunk
        return folder

    def rollback(self) -> None:
        for files in self.rows.values():
            files.discard()  # never named by the manifest: nobody reads them
        self._forget()

    def _forget(self) -> None:
        changed = set(self.appended) | set(self.replaced) | set(self.rows)
        self.appended, self.replaced, self.next_ids, self.first_ids = {}, {}, {}, {}
        self.rows, self.stale, self.txn = {}, set(), None
        for name in changed:
            if name in self.tables:
                self.publish_view(self.tables[name])


ROW_GROUP = 1 << 20  # rows per Parquet row group


def shaped(rows, schema):
    """A pyarrow table of some of a catalog table's columns as all of them (the others null), in order."""
    import pyarrow as pa

    n = rows.num_rows
    return pa.Table.from_arrays([rows[f.name].cast(f.type) if f.name in rows.column_names else pa.nulls(n, f.type)
                                 for f in schema], schema=schema)


class _RowFiles:
    """One table's inserted rows in one transaction: Parquet files in a folder of their own, written
    by pyarrow as they come (a file is closed when a statement reads the table; later rows go into
    the next one)."""

    def __init__(self, root: Path, folder: str, schema):
        self.root, self.folder, self.schema = root, folder, schema
        self.files, self.writer = 0, None

    def write(self, rows) -> None:
        import pyarrow.parquet as pq

        if self.writer is None:
            (self.root / self.folder).mkdir(parents=True, exist_ok=True)
            self.writer = pq.ParquetWriter(str(self.root / self.folder / f"part-{self.files:05d}.parquet"),
                                           self.schema)
            self.files += 1
        self.writer.write_table(shaped(rows, self.schema), row_group_size=ROW_GROUP)

    def close(self) -> str:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        return self.folder

    def discard(self) -> None:
        self.close()
        shutil.rmtree(self.root / self.folder, ignore_errors=True)
