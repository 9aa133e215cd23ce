"""The catalog's publications as a list, and withdrawing one that should never have been published.

A publication published by mistake (the wrong file, the wrong channel) stays in the history the
rules read (the 30-day reference price, reconcile's comparisons) until it is withdrawn: withdrawing
deletes it with its offers, rejections, claims and locations in one write transaction, so the
channel's state at every instant is again what the other publications make it. Stored runs keep
what they found then: they are the record of what was reported.
"""
from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Engine, Row, delete, func, select

from unisono.catalog.db import write_transaction
from unisono.catalog.tables import ClaimRow, OfferRow, Publication, PublicationLocation, RejectionRow

_ROWS = (OfferRow, RejectionRow, ClaimRow, PublicationLocation)  # what refers to a publication


def list_publications(engine: Engine, limit: int = 20, channel: str | None = None) -> list[tuple[Row, int]]:
    """The latest publications (of one channel), newest first, each with its number of locations."""
    pub, loc = Publication.__table__, PublicationLocation.__table__
    locations = select(func.count()).where(loc.c.publication_id == pub.c.id).scalar_subquery()
    query = select(pub, locations.label("locations")).order_by(pub.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        rows = conn.execute(query.where(pub.c.channel == channel) if channel else query)
        return [(r, r.locations) for r in rows]


def publication(engine: Engine, publication_id: int) -> Row | None:
    with engine.connect() as conn:
        return conn.execute(select(Publication.__table__).where(Publication.__table__.c.id == publication_id)).first()


def rejections_of(engine: Engine, publication_id: int) -> Iterator[tuple[str, int | None, str, str | None]]:
    """Every rejection of the publication in file order: (file, line, reason, raw), read a page at a time."""
    rej = RejectionRow.__table__
    with engine.connect() as conn:
        rows = conn.execute(
            select(rej.c.source, rej.c.line, rej.c.reason, rej.c.raw)
            .where(rej.c.publication_id == publication_id).order_by(rej.c.line, rej.c.id),
            execution_options={"yield_per": 10_000})
        yield from (tuple(r) for r in rows)


def withdraw_publication(engine: Engine, publication_id: int) -> Row | None:
    """Delete the publication and everything it brought; the publication as it was, None if none has the id."""
    pub = Publication.__table__
    with write_transaction(engine, lock="withdraw") as conn:
        row = conn.execute(select(pub).where(pub.c.id == publication_id)).first()
        if row is None:
            return None
        for table in _ROWS:
            conn.execute(delete(table.__table__).where(table.__table__.c.publication_id == publication_id))
        if conn.dialect.name != "duckdb":
            conn.execute(delete(pub).where(pub.c.id == publication_id))
    if conn.dialect.name == "duckdb":
        # DuckDB refuses to delete a row whose referencing rows were deleted in the same transaction
        # (duckdb/duckdb#13819): the publication row goes in a second one. The first already made it
        # count nowhere (no locations, no offers); if this one fails, withdrawing again removes it.
        with write_transaction(engine, lock="withdraw") as conn:
            conn.execute(delete(pub).where(pub.c.id == publication_id))
    return row
