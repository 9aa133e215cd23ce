"""The catalog's tables. Money in minor units (cents), instants timezone-aware, stored as UTC.

The domain Offer is what adapters return; OfferRow is how the catalog stores it: cents make
equality and tolerance exact in SQL on every backend. `offer_to_row` is the one mapping.

The tables are SQLAlchemy Core (no ORM, no pydantic model per table: building those was a third
of a small check's start-up). Each class names one table and holds it as `__table__`, the
spelling every query in the catalog and the rules uses; rows read back are SQLAlchemy Rows
(`row.id`, `row.channel`).
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

from sqlalchemy import (
    BigInteger, CheckConstraint, Column, Float, ForeignKey, Index, Integer, MetaData, Sequence, String, Table, Text, event, types,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateColumn

from unisono.domain.models import Offer, cents  # noqa: F401 (cents: used by the rules through here)

metadata = MetaData()  # the catalog's tables: open_catalog creates what a database lacks


class UTCDateTime(types.TypeDecorator):
    """An instant: written in UTC, read back timezone-aware in UTC (SQLite and DuckDB keep no zone).
    A naive datetime is refused: which zone it meant is unknown."""

    impl = types.DateTime
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def __repr__(self) -> str:
        return "UTCDateTime()"

    def coerce_compared_value(self, op, value):
        return types.Interval() if isinstance(value, timedelta) else self

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError(f"an instant without a timezone: {value!r}")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.utcoffset() is None else value.astimezone(UTC)


def _id(table: str) -> Column:
    """An integer id the database numbers. SQLite (INTEGER PRIMARY KEY) and PostgreSQL (SERIAL,
    whose implicit sequence has this very name) ignore the optional Sequence; DuckDB has neither
    and numbers ids from it: see `_duckdb_id` below."""
    return Column("id", Integer, Sequence(f"{table}_id_seq", optional=True), primary_key=True)


def _required(name: str, type_=String, *args, **kw) -> Column:
    return Column(name, type_, *args, nullable=False, **kw)


def _instant(name: str, *, required: bool = False) -> Column:
    return Column(name, UTCDateTime(), nullable=not required)


def _count(name: str) -> Column:
    return Column(name, Integer, nullable=False, default=0)


class Publication:
    __table__ = Table(
        "publication", metadata,
        _id("publication"),
        _required("channel", index=True),
        _required("source"),  # the file as it was given
        _required("sha256", index=True),
        _instant("published_at", required=True),  # when the channel published it
        _instant("effective_from", required=True),  # when it goes live (later than published_at for a staged file)
        _instant("loaded_at", required=True),
        _count("offers"),
        _count("claims"),
        _count("rejections"),
        # offers naming a brand or category (stores rarely do): a product's attributes are looked up only in
        # publications that have some (catalog/state.py); NULL: published before unisono counted them
        Column("attributed", Integer),
        sqlite_autoincrement=True,  # a withdrawn publication's number is never given again (PostgreSQL, DuckDB: sequences)
    )


class PublicationLocation:
    """Which locations a publication covers: the state of a channel at t is, per location, its
    latest publication effective at t (a store file may cover several stores)."""

    __table__ = Table(
        "publication_location", metadata,
        Column("publication_id", Integer, ForeignKey("publication.id"), primary_key=True),
        Column("channel", String, primary_key=True),
        Column("location", String, primary_key=True),
        _count("offers"),
    )


class OfferRow:
    __table__ = Table(
        "offer", metadata,
        _id("offer"),
        _required("publication_id", Integer, ForeignKey("publication.id")),
        _required("channel"),
        _required("location"),
        Column("sku", String),
        Column("gtin", String),
        Column("url", String),
        Column("image_url", Text),
        Column("match", Text),  # how a newsletter offer found its shop sku
        Column("title", String),
        Column("brand", String),
        Column("category", String),
        _required("currency"),
        _required("price_cents", BigInteger),
        Column("sale_price_cents", BigInteger),
        _instant("sale_start"),
        _instant("sale_end"),
        _instant("valid_from"),
        _instant("valid_to"),
        Column("reference_cents", BigInteger),
        Column("list_price_cents", BigInteger),
        Column("discount_percent", Float),
        Column("lowest_30d_cents", BigInteger),
        Column("availability", String),
        _required("source"),  # "file:line" or "file (element path)"
        Index("ix_offer_pub_loc", "publication_id", "location"),
    )


class ClaimRow:
    __table__ = Table(
        "claim", metadata,
        _id("claim"),
        _required("publication_id", Integer, ForeignKey("publication.id"), index=True),
        _required("channel"),
        _required("location"),
        _required("kind"),
        _required("text", Text),
        _required("source"),
        Column("terms", Text),  # ClaimTerms as JSON, where the words were read
        _instant("valid_from"),  # the claim's window [from, to); None = open
        _instant("valid_to"),
    )


class RejectionRow:
    __table__ = Table(
        "rejection", metadata,
        _id("rejection"),
        _required("publication_id", Integer, ForeignKey("publication.id"), index=True),
        _required("source"),
        Column("line", Integer),
        _required("reason"),
        Column("raw", Text),
    )


class Run:
    __table__ = Table(
        "run", metadata,
        _id("run"),
        _required("kind"),  # check, reconcile
        _instant("at", required=True),
        _instant("started_at", required=True),
        _required("engine", default="sql"),
        _required("ruleset_hash"),
        _instant("window_end"),  # a window check covers [at, window_end)
        _count("findings"),
        _count("new"),
        _count("resolved"),
        _count("waived"),
    )


class RunRule:
    """The rules a run evaluated, so a report of a stored run lists the rules without findings too.
    A table of its own, not a column of run: catalogs made before it gain it without a migration."""

    __table__ = Table(
        "run_rule", metadata,
        Column("run_id", Integer, ForeignKey("run.id"), primary_key=True),
        Column("rule", String, primary_key=True),
        Column("title", String),
        _required("kind"),
        _required("severity"),
        _count("position"),  # the order of the rule files
    )


class Waiver:
    """An accepted exception: this rule may flag this product (at this location) until `until`."""

    __table__ = Table(
        "waiver", metadata,
        _id("waiver"),
        _required("rule", index=True),
        _required("sku"),
        Column("location", String),  # "store:1002" or just "1002"; None = every location
        _required("reason", Text),
        _instant("until"),  # None = until revoked
        _instant("created_at", required=True),
        # SQLite would give a removed waiver's id to the next one: runs and reports that name "#3" must
        # keep meaning the same waiver (AUTOINCREMENT; PostgreSQL and DuckDB sequences never reuse)
        sqlite_autoincrement=True,
    )


class FindingRow:
    __table__ = Table(
        "finding", metadata,
        _id("finding"),
        _required("run_id", Integer, ForeignKey("run.id"), index=True),
        _required("fingerprint", index=True),
        _required("rule"),
        _required("kind"),
        _required("severity"),
        _required("sku"),
        _required("message", Text),
        _required("data", Text),  # the whole finding as JSON
        Column("aside", String),  # "waived" or "undecided": reported apart, never compared; NULL: it stands
    )


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


for _table in metadata.tables.values():
    event.listen(_table, "before_create", _duckdb_sequences)


OFFER_KEYS_ON_DUCKDB = False  # True: as unisono made DuckDB catalogs before (tests make such a catalog)


def _keyed_offers(_ddl, _target, _bind, dialect=None, **_kw) -> bool:
    return OFFER_KEYS_ON_DUCKDB or dialect is None or dialect.name != "duckdb"


# A new DuckDB catalog's offer table has no primary key, foreign key or index: DuckDB keeps each
# in an ART index it updates per row and writes at commit (measured, 4,985,183 offers of a 1M x 5
# store file: 7 CPU s of the insert and 3.7 s of the 4.2 s commit), and uses none of them for the
# catalog's queries, which scan by the column and skip row groups by their min/max (publication_id,
# id: both rising in insertion order). The ids stay unique: only the sequence numbers them. A
# catalog made before keeps its keys and works as it did.
for _item in (*OfferRow.__table__.constraints, *OfferRow.__table__.indexes):
    if not isinstance(_item, CheckConstraint):
        _item.ddl_if(callable_=_keyed_offers)
