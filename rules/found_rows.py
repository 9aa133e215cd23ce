"""Findings a rule works out in Python (claims, title similarity), handed to the engine as the rows of
a temporary table: the engine runs each rule's query and turns each row into a finding."""
from __future__ import annotations

from sqlalchemy import Column, Connection, Integer, MetaData, Select, Table, Text, false, insert, literal, select
from sqlalchemy.sql.ddl import CreateTableAs

from unisono.catalog.live import drop_temporary
from unisono.domain.findings import Finding


def none_found() -> Select:
    return select(literal("", type_=Text).label("finding")).where(false())


def found_rows(conn: Connection, name: str, found: list[Finding]) -> Select:
    """A query returning `found` in order, one JSON finding per row (from_row() reads it back)."""
    if not found:
        return none_found()
    # a temporary table: SQLite has no VALUES with column names
    table = Table(name, MetaData(), Column("n", Integer), Column("finding", Text), prefixes=["TEMPORARY"])
    drop_temporary(conn, table)
    table.create(conn)
    conn.execute(insert(table), [{"n": i, "finding": f.model_dump_json()} for i, f in enumerate(found)])
    return select(table.c.finding).order_by(table.c.n)


def materialise(conn: Connection, name: str, query: Select) -> Table:
    """The rows of `query` in a temporary table of this connection (dropped first if there): what a
    rule found on the narrow live relation, small, widened afterwards without computing it twice."""
    table = Table(name, MetaData(), *[Column(c.name, c.type) for c in query.selected_columns])
    drop_temporary(conn, table)
    conn.execute(CreateTableAs(query, name, temporary=True))
    return table


def from_row(row) -> Finding:
    return Finding.model_validate_json(row._mapping["finding"])
