"""The catalog's tables. Money in minor units (cents), instants timezone-aware, stored as UTC.

The domain Offer is what adapters return; OfferRow is how the catalog stores it: cents make
equality and tolerance exact in SQL on every backend. `offer_to_row` is the one mapping.
"""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from sqlalchemy import BigInteger, Column, Index, Sequence, Text, event
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateColumn
from sqlmodel import Field, SQLModel

from unisono.domain.models import Offer, cents  # noqa: F401 (cents: used by the rules through here)


def _id(table: str):
    """An integer id the database numbers. SQLite (INTEGER PRIMARY KEY) and PostgreSQL (SERIAL,
    whose implicit sequence has this very name) ignore the optional Sequence; DuckDB has neither
    and numbers ids from it: see `_duckdb_id` below."""
    return Field(default=None, primary_key=True, sa_column_args=[Sequence(f"{table}_id_seq", optional=True)])


class Publication(SQLModel, table=True):
    id: int | None = _id("publication")
    channel: str = Field(index=True)
    source: str  # the file as it was given
    sha256: str = Field(index=True)
    published_at: datetime  # when the channel published it
    effective_from: datetime  # when it goes live (later than published_at for a staged file)
    loaded_at: datetime
    offers: int = 0
    claims: int = 0
    rejections: int = 0
    # offers naming a brand or category (stores rarely do): a product's attributes are looked up only in
    # publications that have some (catalog/state.py); NULL: published before unisono counted them
    attributed: int | None = None


class PublicationLocation(SQLModel, table=True):
    """Which locations a publication covers: the state of a channel at t is, per location, its
    latest publication effective at t (a store file may cover several stores)."""

    __tablename__ = "publication_location"
    publication_id: int = Field(foreign_key="publication.id", primary_key=True)
    channel: str = Field(primary_key=True)
    location: str = Field(primary_key=True)
    offers: int = 0


class OfferRow(SQLModel, table=True):
    __tablename__ = "offer"
    __table_args__ = (Index("ix_offer_pub_loc", "publication_id", "location"),)
    id: int | None = _id("offer")
    publication_id: int = Field(foreign_key="publication.id")
    channel: str
    location: str
    sku: str | None = None
    gtin: str | None = None
    url: str | None = None
    image_url: str | None = Field(default=None, sa_column=Column(Text))
    match: str | None = Field(default=None, sa_column=Column(Text))  # how a newsletter offer found its shop sku
    title: str | None = None
    brand: str | None = None
    category: str | None = None
    currency: str
    price_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    sale_price_cents: int | None = Field(default=None, sa_column=Column(BigInteger))
    sale_start: datetime | None = None
    sale_end: datetime | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    reference_cents: int | None = Field(default=None, sa_column=Column(BigInteger))
    list_price_cents: int | None = Field(default=None, sa_column=Column(BigInteger))
    discount_percent: float | None = None
    lowest_30d_cents: int | None = Field(default=None, sa_column=Column(BigInteger))
    availability: str | None = None
    source: str  # "file:line" or "file (element path)"


class ClaimRow(SQLModel, table=True):
    __tablename__ = "claim"
    id: int | None = _id("claim")
    publication_id: int = Field(foreign_key="publication.id", index=True)
    channel: str
    location: str
    kind: str
    text: str = Field(sa_column=Column(Text, nullable=False))
    source: str
    terms: str | None = Field(default=None, sa_column=Column(Text))  # ClaimTerms as JSON, where the words were read
    valid_from: datetime | None = None  # the claim's window [from, to); None = open
    valid_to: datetime | None = None


class RejectionRow(SQLModel, table=True):
    __tablename__ = "rejection"
    id: int | None = _id("rejection")
    publication_id: int = Field(foreign_key="publication.id", index=True)
    source: str
    line: int | None = None
    reason: str
    raw: str | None = Field(default=None, sa_column=Column(Text))


class Run(SQLModel, table=True):
    id: int | None = _id("run")
    kind: str  # check, reconcile
    at: datetime
    started_at: datetime
    engine: str = "sql"
    ruleset_hash: str
    window_end: datetime | None = None  # a window check covers [at, window_end)
    findings: int = 0
    new: int = 0
    resolved: int = 0
    waived: int = 0


class RunRule(SQLModel, table=True):
    """The rules a run evaluated, so a report of a stored run lists the rules without findings too.
    A table of its own, not a column of run: catalogs made before it gain it without a migration."""

    __tablename__ = "run_rule"
    run_id: int = Field(foreign_key="run.id", primary_key=True)
    rule: str = Field(primary_key=True)
    title: str | None = None
    kind: str
    severity: str
    position: int = 0  # the order of the rule files


class Waiver(SQLModel, table=True):
    """An accepted exception: this rule may flag this product (at this location) until `until`."""

    # SQLite would give a removed waiver's id to the next one: runs and reports that name "#3" must
    # keep meaning the same waiver (AUTOINCREMENT; PostgreSQL and DuckDB sequences never reuse)
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = _id("waiver")
    rule: str = Field(index=True)
    sku: str
    location: str | None = None  # "store:1002" or just "1002"; None = every location
    reason: str = Field(sa_column=Column(Text, nullable=False))
    until: datetime | None = None  # None = until revoked
    created_at: datetime


class FindingRow(SQLModel, table=True):
    __tablename__ = "finding"
    id: int | None = _id("finding")
    run_id: int = Field(foreign_key="run.id", index=True)
    fingerprint: str = Field(index=True)
    rule: str
    kind: str
    severity: str
    sku: str
    message: str = Field(sa_column=Column(Text, nullable=False))
    data: str = Field(sa_column=Column(Text, nullable=False))  # the whole finding as JSON
    aside: str | None = None  # "waived" or "undecided": reported apart, never compared; NULL: it stands


# Publishing converts every offer's prices, and a file repeats few distinct ones: each is
# converted once (the Decimal arithmetic was 5 % of publishing a store file, measured).
_cents = lru_cache(maxsize=65536)(cents)


def offer_to_row(offer: Offer, publication_id: int) -> dict:
    """The insert parameters for one offer (dicts, so publishing can insert in bulk)."""
    return {
        "publication_id": publication_id,
        "channel": offer.channel,
        "location": offer.location,
        "sku": offer.sku,
        "gtin": offer.gtin,
        "url": offer.url,
        "image_url": offer.image_url,
        "title": offer.title,
        "brand": offer.brand,
        "category": offer.category,
        "currency": offer.currency,
        "price_cents": _cents(offer.price),
        "sale_price_cents": _cents(offer.sale_price),
        "sale_start": offer.sale_start,
        "sale_end": offer.sale_end,
        "valid_from": offer.valid_from,
        "valid_to": offer.valid_to,
        "reference_cents": _cents(offer.reference_price),
        "list_price_cents": _cents(offer.list_price),
        "discount_percent": float(offer.discount_percent) if offer.discount_percent is not None else None,
        "lowest_30d_cents": _cents(offer.lowest_30d),
        "availability": offer.availability.value if offer.availability else None,
        "source": str(offer.source),
    }


# DuckDB: no SERIAL. Its dialect (duckdb-engine, PostgreSQL's compiler) would write SERIAL for an
# id whose Sequence is optional; there the id is numbered by its sequence, as a server default, so
# inserts that leave the id out (Core's, with RETURNING, and the bulk ones) get one. A BIGINT (offers,
# findings: billions over the years), but INTEGER where another table refers to it (publication, run:
# one per command), since DuckDB's foreign keys need the same type on both sides.
def _sequence(column) -> Sequence | None:
    default = column.default
    return default if isinstance(default, Sequence) else None


@compiles(CreateColumn, "duckdb")
def _duckdb_id(element, compiler, **kw):
    column = element.element
    seq = _sequence(column)
    if seq is None or not column.primary_key:
        return compiler.visit_create_column(element, **kw)
    quote = compiler.preparer.quote
    referred = any(fk.references(column.table) for t in column.table.metadata.tables.values() for fk in t.foreign_keys)
    return f"{quote(column.name)} {'INTEGER' if referred else 'BIGINT'} DEFAULT nextval('{seq.name}') NOT NULL"


def _duckdb_sequences(table, connection, **_kw) -> None:
    if connection.dialect.name == "duckdb":
        for column in table.columns:
            if (seq := _sequence(column)) is not None:
                connection.exec_driver_sql(f"CREATE SEQUENCE IF NOT EXISTS {seq.name}")


for _table in SQLModel.metadata.tables.values():
    event.listen(_table, "before_create", _duckdb_sequences)
