"""A SQLAlchemy dialect for Spark SQL over the Parquet catalog (catalog/spark_store.py).

The catalog's statements (publishing, the live offers, every rule kind, history, runs, waivers) are
the same SQLAlchemy constructs as on SQLite: this dialect compiles queries to Spark SQL text, and its
DB-API (catalog/spark_dbapi.py) runs them with spark.sql() and carries out the writes on DataFrames.
"""
from __future__ import annotations

from sqlalchemy.engine import default
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import compiler

from unisono.catalog.history import epoch_seconds
from unisono.catalog.sku_shapes import without_leading_zeros
from unisono.catalog.spark_dbapi import _DBAPI
from unisono.catalog.tables import metadata


@compiles(epoch_seconds, "spark")
def _epoch_spark(element, compiler, **kw):
    # whole seconds, cut as SQLite's strftime('%s') cuts them
    return f"unix_seconds({compiler.process(element.clauses, **kw)})"


@compiles(without_leading_zeros, "spark")
def _ltrim_spark(element, compiler, **kw):
    return f"TRIM(LEADING '0' FROM {compiler.process(element.clauses, **kw)})"


class SparkPreparer(compiler.IdentifierPreparer):
    def __init__(self, dialect):
        super().__init__(dialect, initial_quote="`", escape_quote="`")

    def _requires_quotes(self, value: str) -> bool:
        return True  # every name quoted: Spark's keywords (at, key, ...) never clash


class SparkTypeCompiler(compiler.GenericTypeCompiler):
    def visit_VARCHAR(self, type_, **kw):
        return "STRING"

    visit_CHAR = visit_NVARCHAR = visit_NCHAR = visit_TEXT = visit_CLOB = visit_VARCHAR

    def visit_INTEGER(self, type_, **kw):
        return "BIGINT"

    visit_SMALLINT = visit_BIGINT = visit_INTEGER

    def visit_FLOAT(self, type_, **kw):
        return "DOUBLE"

    visit_REAL = visit_DOUBLE = visit_DOUBLE_PRECISION = visit_FLOAT

    def visit_NUMERIC(self, type_, **kw):
        return "DOUBLE" if type_.precision is None else f"DECIMAL({type_.precision}, {type_.scale or 0})"

    visit_DECIMAL = visit_NUMERIC

    def visit_DATETIME(self, type_, **kw):
        return "TIMESTAMP"

    visit_TIMESTAMP = visit_DATETIME


class SparkCompiler(compiler.SQLCompiler):
    def render_literal_value(self, value, type_):
        # the literals the compiler itself writes (a LIKE's ESCAPE character): Spark reads a backslash
        # in a string literal as an escape, so it is escaped too. Values from rules are parameters.
        if isinstance(value, str):
            return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
        return super().render_literal_value(value, type_)

    def visit_aggregate_strings_func(self, fn, **kw):
        return super().visit_aggregate_strings_func(fn, use_function_name="string_agg", **kw)

    def update_from_clause(self, update_stmt, from_table, extra_froms, from_hints, **kw):
        # an UPDATE naming another table (build_live re-keys by live_rekey): the text only names it in
        # errors; the cursor rewrites the table with the statement's own construct (_Cursor._rewrite)
        return "FROM " + ", ".join(t._compiler_dispatch(self, asfrom=True, **kw) for t in extra_froms)

    def limit_clause(self, select, **kw):
        kw = {**kw, "literal_binds": True}  # Spark takes no parameter in LIMIT; these are integers
        text = ""
        if select._limit_clause is not None:
            text += "\n LIMIT " + self.process(select._limit_clause, **kw)
        if select._offset_clause is not None:
            text += "\n OFFSET " + self.process(select._offset_clause, **kw)
        return text


class SparkDialect(default.DefaultDialect):
    name = "spark"
    driver = "pyspark"
    paramstyle = "named"
    positional = False
    supports_statement_cache = True
    supports_native_boolean = True
    div_is_floordiv = False  # Spark's `/` divides exactly, as SQLAlchemy's truediv means
    supports_multivalues_insert = False
    insert_returning = True  # the ids the cursor numbered (_Cursor._insert)
    update_returning = delete_returning = False
    postfetch_lastrowid = True
    supports_sequences = False
    supports_default_values = supports_empty_insert = False
    statement_compiler = SparkCompiler
    type_compiler_cls = SparkTypeCompiler
    preparer = SparkPreparer

    def __init__(self, spark_master: str | None = None, spark_options: dict[str, str] | None = None, **kw):
        super().__init__(**kw)
        # unisono.yaml's `spark:` section (create_catalog_engine); the URL's own query wins over it
        self.spark_master, self.spark_options = spark_master, dict(spark_options or {})

    @classmethod
    def import_dbapi(cls):
        return _DBAPI

    def create_connect_args(self, url):
        query = dict(url.query)
        master = query.pop("master", None) or self.spark_master
        return [], {"path": url.database or ".", "master": master, "options": {**self.spark_options, **query}}

    def do_execute(self, cursor, statement, parameters, context=None):
        cursor.execute(statement, parameters, context)

    def do_executemany(self, cursor, statement, parameters, context=None):
        cursor.executemany(statement, parameters, context)

    def do_execute_no_params(self, cursor, statement, context=None):
        cursor.execute(statement, None, context)

    def get_default_isolation_level(self, dbapi_conn):
        return None

    def _get_server_version_info(self, connection):
        return None

    def _get_default_schema_name(self, connection):
        return None

    def do_ping(self, dbapi_connection):
        return True

    def has_table(self, connection, table_name, schema=None, **kw):
        return connection.connection.dbapi_connection.store.has(table_name)

    def get_table_names(self, connection, schema=None, **kw):
        return sorted(connection.connection.dbapi_connection.store.committed)

    def get_columns(self, connection, table_name, schema=None, **kw):
        # Parquet read with the catalog's schema: a column an older writer lacked reads as NULL
        table = metadata.tables[table_name]
        return [{"name": c.name, "type": c.type, "nullable": True, "default": None} for c in table.columns]
