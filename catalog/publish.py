"""Publishing what an adapter read into the catalog: one transaction, all or nothing."""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from sqlalchemy import (
    Column, Connection, Engine, MetaData, Table, Text, and_, delete, func, insert, literal, literal_column, select, text,
    update,
)
from sqlalchemy.exc import SQLAlchemyError

from unisono.catalog.db import WRITE, CatalogError, lock_writers
from unisono.catalog.live import drop_temporary
from unisono.catalog.offer_insert import CHUNK, STAGED_LINE, insert_batch, insert_offers
from unisono.catalog.offer_stream import insert_rows, insert_streamed
from unisono.catalog.tables import (
    ClaimRow, OfferRow, Publication, PublicationLocation, RejectionRow, offer_to_row,
)
from unisono.domain.batch import ExecutorRead, OfferBatch
from unisono.domain.models import ChannelRead, Claim, Offer, Rejection



@dataclass
class PublishResult:
    publication_id: int
    channel: str
    source: str
    sha256: str
    published_at: datetime
    effective_from: datetime
    offers: int
    claims: int
    rejections: int
    locations: list[str]
    duplicate: bool = False  # the same bytes are already the channel's latest publication
    attributed: int = 0  # offers naming a brand or a category (not reported; kept with the publication)
    first_rejections: list[Rejection] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "publication": {
                "id": self.publication_id, "channel": self.channel, "source": self.source,
                "sha256": self.sha256, "published_at": self.published_at.isoformat(),
                "effective_from": self.effective_from.isoformat(), "locations": self.locations,
                "duplicate": self.duplicate,
            },
            "offers": self.offers,
            "claims": self.claims,
            "rejections": self.rejections,
            "first_rejections": [{"source": str(r.source), "reason": r.reason} for r in self.first_rejections],
            "notes": self.notes,
        }


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _in_force(conn, channel: str, at: datetime, other_than: int | None = None):
    """The channel's publication in force at an instant: the one a new file taking effect then follows."""
    pub = Publication.__table__
    query = select(pub).where(pub.c.channel == channel, pub.c.effective_from <= at)
    if other_than is not None:
        query = query.where(pub.c.id != other_than)
    return conn.execute(
        query.order_by(pub.c.effective_from.desc(), pub.c.published_at.desc(), pub.c.id.desc()).limit(1)
    ).first()


def _same_bytes(conn, result: PublishResult, staged: datetime | None, other_than: int | None = None,
                since: datetime | None = None, location: str | None = None) -> bool:
    """Whether the same bytes as the publication already in force then change nothing, whatever the
    order files are loaded in (history may be published after newer files); if so, `result` says which.
    `since` (a publish dated "now", judged under the write lock): the same bytes stored meanwhile by
    another publish, dated its own "now" a moment after ours, are also the same publication. `location`
    (what --location says the file is for: a single-store file shared by two stores): the same bytes
    for another location are another publication."""
    latest = _in_force(conn, result.channel, result.effective_from, other_than)
    if latest is None or latest.sha256 != result.sha256 or (staged is not None and latest.effective_from != staged):
        latest = _stored_meanwhile(conn, result, since, other_than) if since is not None else None
    if latest is None or (location is not None and not _covers(conn, latest.id, location)):
        return False
    result.publication_id, result.duplicate = latest.id, True
    result.published_at, result.effective_from = latest.published_at, latest.effective_from
    return True


def _covers(conn, publication_id: int, location: str) -> bool:
    cov = PublicationLocation.__table__
    return conn.execute(select(cov.c.location).where(cov.c.publication_id == publication_id,
                                                     cov.c.location == location).limit(1)).first() is not None


def _stored_meanwhile(conn, result: PublishResult, since: datetime, other_than: int | None):
    """The channel's publication of the same bytes loaded since `since` and taking effect after ours
    (two publishes of one file at once, each dated when it started): the first to commit."""
    pub = Publication.__table__
    query = select(pub).where(pub.c.channel == result.channel, pub.c.sha256 == result.sha256,
                              pub.c.loaded_at >= since, pub.c.effective_from > result.effective_from)
    if other_than is not None:
        query = query.where(pub.c.id != other_than)
    return conn.execute(query.order_by(pub.c.id).limit(1)).first()


def publish(engine: Engine, read: ChannelRead, *, source: str, sha256: str,
            published_at: datetime | None = None, effective_from: datetime | None = None) -> PublishResult:
    """Store a channel read as one publication. A failure leaves the catalog exactly as before."""
    return publish_stream(engine, read.channel, [*read.claims, *read.offers, *read.rejections], notes=read.notes,
                          source=source, sha256=sha256, published_at=published_at, effective_from=effective_from)


class _Duplicate(Exception):
    """Another publish of the same bytes committed first: this one rolls back."""


def publish_stream(engine: Engine, channel: str, entries: Iterable[Offer | Rejection | Claim], *, notes: list[str],
                   source: str, sha256: str, published_at: datetime | None = None,
                   effective_from: datetime | None = None,
                   progress: Callable[[PublishResult], None] | None = None,
                   after: Callable[[Connection, int, datetime], list[str]] | None = None,
                   location: str | None = None) -> PublishResult:
    """Store what an adapter yields as one publication, in chunks, never holding the whole file:
    one transaction, so an error anywhere (an InputError at the end of a truncated feed, a
    database error) leaves the catalog exactly as before. `notes` may grow while `entries` is read.
    `progress` is called with the counts so far after each chunk or batch written (never per row).
    `after(conn, publication_id, effective_from)` completes the stored rows in the same transaction
    (the newsletter's matching to shop products) and returns notes. `location`: what --location said
    the file is for (see _same_bytes).

    Other commands keep working meanwhile: on SQLite the file is read into temporary tables first
    and copied into the catalog in one short write transaction (SQLite has one writer at a time);
    on PostgreSQL rows are written as they come (writers do not block each other there). Either way
    "same bytes" is judged again while writers of the channel wait, so two publishes of one file at
    once land once."""
    staged = effective_from  # only an explicit --effective-from makes the same bytes a new publication
    since = None if published_at or effective_from else datetime.now(timezone.utc)  # dated "now": see _same_bytes
    published_at = published_at or since
    effective_from = effective_from or published_at
    result = PublishResult(publication_id=0, channel=channel, source=source, sha256=sha256,
                           published_at=published_at, effective_from=effective_from,
                           offers=0, claims=0, rejections=0, locations=[])
    lock = f"publish {channel}"
    later_notes: list[str] = []  # what `after` says
    try:
        with engine.connect() as conn:  # published already: nothing to read
            if _same_bytes(conn, result, staged, location=location):
                return result
        if engine.dialect.name == "sqlite":
            per_location = _publish_staged(engine, entries, result, staged, lock, progress, after, later_notes, since,
                                           location)
        else:
            with engine.begin() as conn:
                pub_id = _insert_publication(conn, result)
                per_location = _write_entries(conn, pub_id, entries, result, progress)
                lock_writers(conn, lock)
                if _same_bytes(conn, result, staged, other_than=pub_id, since=since, location=location):
                    raise _Duplicate
                _finish_publication(conn, pub_id, per_location, result)
                if after is not None:
                    later_notes += after(conn, pub_id, result.effective_from)
    except _Duplicate:
        return result
    except SQLAlchemyError as e:
        raise CatalogError(f"publishing {source} failed, the catalog is unchanged: {_first_line(e)}") from None
    except CatalogError as e:
        raise CatalogError(f"publishing {source} failed, the catalog is unchanged: {e}") from None
    if result.duplicate:
        return result
    result.locations, result.notes = sorted(per_location), [*notes, *later_notes]
    return result


def _first_line(e: SQLAlchemyError) -> str:
    text = str(getattr(e, "orig", None) or e)
    return text.splitlines()[0] if text else type(e).__name__


def _insert_publication(conn, result: PublishResult) -> int:
    return conn.execute(insert(Publication.__table__).values(
        channel=result.channel, source=result.source, sha256=result.sha256, published_at=result.published_at,
        effective_from=result.effective_from, loaded_at=datetime.now(timezone.utc),
    )).inserted_primary_key[0]


def _finish_publication(conn, pub_id: int, per_location: Counter, result: PublishResult) -> None:
    if per_location:
        conn.execute(insert(PublicationLocation.__table__), [
            {"publication_id": pub_id, "channel": result.channel, "location": loc, "offers": n}
            for loc, n in per_location.items()
        ])
    conn.execute(update(Publication.__table__).where(Publication.__table__.c.id == pub_id).values(
        offers=result.offers, claims=result.claims, rejections=result.rejections, attributed=result.attributed))
    result.publication_id = pub_id


_STAGED = (OfferRow.__table__, RejectionRow.__table__, ClaimRow.__table__)


def _publish_staged(engine: Engine, entries: Iterable, result: PublishResult, staged: datetime | None,
                    lock: str, progress: Callable[[PublishResult], None] | None = None,
                    after: Callable[[Connection, int, datetime], list[str]] | None = None,
                    later_notes: list[str] | None = None, since: datetime | None = None,
                    location: str | None = None) -> Counter:
    # later_notes: the list `after`'s notes are added to
    """SQLite: read the whole file into TEMPORARY tables of the same names (which SQLite resolves
    before the catalog's, so the writers below fill them unchanged), without the write lock; then
    take it and copy them into the catalog in one short transaction. The temporary tables go with
    the connection, discarded afterwards."""
    with engine.connect() as conn:
        try:
            for table in _STAGED:  # the offers' staging table has the line their source is built from
                line = f", CAST(NULL AS INTEGER) AS {STAGED_LINE}" if table is OfferRow.__table__ else ""
                conn.exec_driver_sql(f"CREATE TEMP TABLE {table.name} AS SELECT *{line} FROM main.{table.name} WHERE 0")
            staging: dict[str, str] = {}  # the file the staged offers' lines are lines of
            per_location = _write_entries(conn, 0, entries, result, progress, staging)  # numbered when copied
            conn.commit()  # only temporary tables were written: no lock on the catalog
            conn.execution_options(**{WRITE: True})  # BEGIN IMMEDIATE: writers take turns
            with conn.begin():
                lock_writers(conn, lock)
                if _same_bytes(conn, result, staged, since=since, location=location):
                    return per_location
                pub_id = _insert_publication(conn, result)
                for table in _STAGED:
                    names = [c.name for c in table.columns if c.name != "id"]
                    values = [_STAGED_VALUES.get((table.name, name), name) for name in names]
                    conn.execute(text(f"INSERT INTO main.{table.name} ({', '.join(names)}) "
                                      f"SELECT {', '.join(values)} FROM temp.{table.name} ORDER BY rowid"),
                                 {"pub_id": pub_id, "channel": result.channel, "file": staging.get("file")})
                _finish_publication(conn, pub_id, per_location, result)
                if after is not None:  # on the catalog's tables: the staged ones (same names) go first
                    for table in _STAGED:
                        conn.exec_driver_sql(f"DROP TABLE temp.{table.name}")
                    later_notes += after(conn, pub_id, result.effective_from)
            return per_location
        finally:
            conn.invalidate()  # the temporary tables (and any failed transaction) go with the connection


# What a staged row gets when copied: its publication's number; staged offer batches leave out their
# channel and source, which are the publication's channel and "file:line" (offer_insert.insert_batch)
_STAGED_VALUES = {
    **{(table.name, "publication_id"): ":pub_id" for table in _STAGED},
    ("offer", "channel"): "coalesce(channel, :channel)",
    ("offer", "source"): f"coalesce(source, :file || ':' || {STAGED_LINE})",
}


def _write_entries(conn, pub_id: int, entries: Iterable[OfferBatch | Offer | Rejection | Claim],
                   result: PublishResult, progress: Callable[[PublishResult], None] | None = None,
                   staging: dict[str, str] | None = None) -> Counter:
    """Insert offers (objects and column batches), rejections and claims in chunks; count them into
    `result`. Offers withdrawn by a later rejection (a duplicate found at the end) are deleted.
    `staging`: the rows go into SQLite's staging tables; "file" is set to the file whose batches
    are staged by their line (the first batch's). On DuckDB the offers go in as one streamed
    insert (offer_stream.py) while the entries are read: everything here but the writing runs
    inside that statement."""
    per_location: Counter = Counter()
    rejections, claims, withdrawn = [], [], []
    claimed: set[str] = set()  # locations with claims

    def expanded() -> Iterator[OfferBatch | Offer | Rejection | Claim]:
        """The entries; a file read by Spark's executors (ExecutorRead) is written here, in its
        place, and what they left for the catalog to store as usual follows."""
        for entry in entries:
            if not isinstance(entry, ExecutorRead):
                yield entry
                continue
            from unisono.catalog.spark_dbapi import insert_written

            written = insert_written(conn, pub_id, entry)
            per_location.update(written.per_location)
            result.offers += written.offers
            result.attributed += written.attributed
            yield from written.rest

    def steps() -> Iterator[tuple[str, object]]:
        """What to write, in file order: ("batch", OfferBatch), ("rows", offer rows), and ("full",
        None) when the rejections and claims gathered should be written (never per row)."""
        offers: list[dict] = []
        for entry in expanded():
            if isinstance(entry, OfferBatch):
                if offers:  # offers keep their file order
                    yield "rows", offers
                    offers = []
                if staging is not None:
                    staging.setdefault("file", entry.file)
                per_location.update(dict(zip(*pc_value_counts(entry.table["location"]))))
                result.offers += len(entry)
                result.attributed += attributed(entry.table)
                yield "batch", entry
                if progress:
                    progress(result)
            elif isinstance(entry, Offer):
                per_location[entry.location] += 1
                result.attributed += bool(entry.brand or entry.category)
                offers.append(offer_to_row(entry, pub_id))
                result.offers += 1
            elif isinstance(entry, Rejection):
                if len(result.first_rejections) < 5:
                    result.first_rejections.append(entry)
                rejections.append({"publication_id": pub_id, "source": entry.source.file,
                                   "line": entry.source.line, "reason": entry.reason, "raw": entry.raw})
                result.rejections += 1
                if entry.withdraws_offer:
                    withdrawn.append(str(entry.source))
            else:
                claimed.add(entry.location)
                claims.append({"publication_id": pub_id, "channel": entry.channel, "location": entry.location,
                               "kind": entry.kind, "text": entry.text, "source": str(entry.source),
                               "terms": entry.terms.model_dump_json(exclude_defaults=True) if entry.terms else None,
                               "valid_from": entry.valid_from, "valid_to": entry.valid_to})
                result.claims += 1
            if len(offers) + len(rejections) + len(claims) >= CHUNK:
                if offers:
                    yield "rows", offers
                    offers = []
                if rejections or claims:
                    yield "full", None
                if progress:
                    progress(result)
        if offers:
            yield "rows", offers

    def write_others() -> None:
        for table, rows in ((RejectionRow.__table__, rejections), (ClaimRow.__table__, claims)):
            if rows:
                insert_rows(conn, table, rows) if conn.dialect.name == "duckdb" else conn.execute(insert(table), rows)
                rows.clear()

    if conn.dialect.name == "duckdb":
        insert_streamed(conn, pub_id, steps(), write_others)
    elif conn.dialect.name == "spark":  # by the column, as Parquet files pyarrow writes (spark_dbapi)
        from unisono.catalog.spark_dbapi import insert_steps

        insert_steps(conn, pub_id, steps(), write_others)
    else:
        for kind, value in steps():
            if kind == "batch":
                insert_batch(conn, pub_id, value, staging.get("file") if staging is not None else None)
            elif kind == "rows":
                insert_offers(conn, value)
            else:
                write_others()
    write_others()
    if withdrawn:
        for location, n in _withdraw(conn, pub_id, withdrawn, staging):
            per_location[location] -= n
            result.offers -= n
    covered = +per_location  # locations left without offers are not covered
    if not result.offers:  # a file of statements only (a promotions feed): its claims' locations are covered
        covered.update({loc: 0 for loc in claimed if loc not in covered})
    return covered


def attributed(table) -> int:
    """How many offers of a batch name a brand or a category."""
    import pyarrow.compute as pc

    return pc.sum(pc.or_(pc.is_valid(table["brand"]), pc.is_valid(table["category"])), min_count=0).as_py()


def pc_value_counts(column) -> tuple[list, list]:
    """(values, counts) of a column: the offers per location of a batch."""
    import pyarrow.compute as pc

    counts = pc.value_counts(column)
    return counts.field("values").to_pylist(), counts.field("counts").to_pylist()


_withdrawn = Table("withdrawn_offers", MetaData(), Column("source", Text, primary_key=True), prefixes=["TEMPORARY"])


def _withdraw(conn, pub_id: int, sources: list[str], staging: dict[str, str] | None = None) -> list[tuple[str, int]]:
    """Delete the publication's offers from these sources; (location, offers deleted) per location.
    Through a temporary table, so the publication's offers are scanned twice, not once per source.
    Staged (`staging`), the table holds this publication's offers only, some by their line."""
    drop_temporary(conn, _withdrawn)
    _withdrawn.create(conn)
    conn.execute(insert(_withdrawn), [{"source": s} for s in sources])
    o = OfferRow.__table__
    if staging is None:
        mine = and_(o.c.publication_id == pub_id, o.c.source.in_(select(_withdrawn.c.source)))
    else:
        source = func.coalesce(o.c.source, literal(staging.get("file"), Text).concat(":").concat(
            literal_column(STAGED_LINE)))
        mine = source.in_(select(_withdrawn.c.source))
    counts = conn.execute(select(o.c.location, func.count()).where(mine).group_by(o.c.location)).all()
    conn.execute(delete(o).where(mine))
    _withdrawn.drop(conn)
    return [(location, n) for location, n in counts]
