"""The live offers: what customers see at one instant, one row per channel, location and product.

Rules compile to queries over this relation. `build_live` fills it for an instant from the
catalog (the latest effective publication per channel and location, offers whose own validity
covers the instant, product keys resolved across channels); see catalog/state.py.

Columns (money in minor units, cents; instants timezone-aware, stored as UTC):
  offer_id, publication_id  the catalog rows behind the line
  channel, location         "store", "1042"
  key                       the product key shared across channels: the sku; a store row with only an
                            EAN and a newsletter link resolve to the shop's sku through gtin and url
  sku, gtin, url            as the channel gave them (url normalised)
  title, brand, category    title as this channel shows it; brand and category of the product
                            (the shop's where it has them, since stores and newsletters rarely do)
  currency, price_cents, sale_price_cents, sale_start, sale_end
  effective_cents           the price charged at the instant: sale price inside its window, else price
  on_sale                   effective_cents < price_cents
  reference_cents           a "statt"/strike-through price the channel shows beside the price
  discount_percent          a "-20 %" badge the channel shows
  lowest_30d_cents          the lowest price of the last 30 days the channel states (EU Omnibus line)
  availability              in_stock, out_of_stock, preorder, backorder or NULL
  source                    "file:line" (or "file (element path)") of the offer
  valid_from, valid_to      the offer's own validity [from, to) (a newsletter's "gültig bis"), NULL = open;
                            only offers valid at the instant are live

Stored narrow: `live_narrow` holds one row per live offer with what rules compare and filter on (the key,
channel, location, prices at the instant, availability, the title ...); on DuckDB it is a view over the offer
rows (a columnar scan of those columns costs less than a copy holding the memory limit). `live_product` has
one row per key with the product's brand and category; what a finding only shows (EVIDENCE: link, source,
windows) stays in the catalog's offer rows. `live_offers`, the wide relation, is a temporary view joining them.
Rules find their rows on `compared(columns)`, the narrow table joined to no more than they name, and widen only
the rows found (rules/base.py `widened`); a kind that needs every column still reads the view, same result.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Float, Index, Integer, MetaData, String, Table, select
from sqlalchemy.schema import CreateTable
from sqlalchemy.sql import FromClause

from unisono.catalog.tables import OfferRow, UTCDateTime

live_metadata = MetaData()

LIVE_COLUMNS = [
    Column("offer_id", BigInteger),  # a BIGINT in DuckDB catalogs
    Column("publication_id", Integer),
    Column("channel", String, nullable=False),
    Column("location", String, nullable=False),
    Column("key", String, nullable=False),
    Column("sku", String),
    Column("gtin", String),
    Column("url", String),
    Column("title", String),
    Column("brand", String),
    Column("category", String),
    Column("currency", String, nullable=False),
    Column("price_cents", BigInteger, nullable=False),
    Column("sale_price_cents", BigInteger),
    Column("sale_start", UTCDateTime()),
    Column("sale_end", UTCDateTime()),
    Column("effective_cents", BigInteger, nullable=False),
    Column("on_sale", Boolean, nullable=False),
    Column("reference_cents", BigInteger),
    Column("discount_percent", Float),
    Column("lowest_30d_cents", BigInteger),
    Column("availability", String),
    Column("source", String, nullable=False),
    Column("valid_from", UTCDateTime()),
    Column("valid_to", UTCDateTime()),
]
# what a finding shows but no rule of the default set compares: read from the offer rows, not copied
# (the title stays in the narrow table: title-and-brand-drift compares it for every offer)
EVIDENCE = ("url", "sale_start", "sale_end", "source", "valid_from", "valid_to")
# the product's, the same on each of its offers: one row per key in live_product
PRODUCT = ("brand", "category")

# the relation rules query (a view: never created from this metadata, see create_live)
live = Table("live_offers", MetaData(), *LIVE_COLUMNS)
# what build_live fills: one row per live offer, the compared columns only
live_narrow = Table("live_narrow", live_metadata, *[Column(c.name, c.type, nullable=c.nullable) for c in LIVE_COLUMNS
                                                    if c.name not in EVIDENCE + PRODUCT], prefixes=["TEMPORARY"])
# per key: the product's brand and category (catalog/state.py, product_attributes)
live_product = Table("live_product", live_metadata, Column("key", String, primary_key=True), Column("brand", String),
                     Column("category", String), prefixes=["TEMPORARY"])
# built by build_live after the table is filled (an index maintained row by row while filling costs more)
live_key_index = Index("ix_live_narrow_key", live_narrow.c.key, live_narrow.c.offer_id)  # (offer id: rows found, widened)


def compared(columns) -> FromClause:
    """The narrowest relation rules can find their rows in when they compare and filter on `columns`
    (names of the live columns): the narrow table, joined to the offer rows for the evidence columns
    named (a title) and to the products for brand and category when named: never wider than asked.
    Each has offer_id to join the wide view back on for the rows found (`with_offers`, rules/base.py)."""
    columns = set(columns)
    evidence, product = [c for c in EVIDENCE if c in columns], [c for c in PRODUCT if c in columns]
    if not evidence and not product:
        return live_narrow
    n, o, p = live_narrow, OfferRow.__table__, live_product
    joined = n.join(o, o.c.id == n.c.offer_id) if evidence else n
    joined = joined.outerjoin(p, p.c.key == n.c.key) if product else joined
    return select(n, *[o.c[c] for c in evidence], *[p.c[c] for c in product]).select_from(joined) \
        .subquery("live_compared")


def _view_sql(conn) -> str:
    o, n, p = OfferRow.__table__, live_narrow, live_product
    source = {**{c: o for c in EVIDENCE}, **{c: p for c in PRODUCT}}
    wide = select(*[source.get(c.name, n).c[c.name].label(c.name) for c in LIVE_COLUMNS])
    wide = wide.select_from(n.join(o, o.c.id == n.c.offer_id).outerjoin(p, p.c.key == n.c.key))
    return str(wide.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))


def create_live(conn) -> None:
    """(Re)create the empty narrow and product tables and the `live_offers` view over them on this connection."""
    conn.exec_driver_sql(f"DROP VIEW IF EXISTS {_quoted(conn, live)}")
    if conn.dialect.name == "duckdb":  # (build_live makes it a view there)
        conn.exec_driver_sql(f"DROP VIEW IF EXISTS {_quoted(conn, live_narrow)}")
    drop_temporary(conn, live_narrow)
    conn.execute(CreateTable(live_narrow))  # without its index (build_live makes it once the rows are in)
    drop_temporary(conn, live_product)
    live_product.create(conn)
    conn.exec_driver_sql(f"CREATE TEMPORARY VIEW {_quoted(conn, live)} AS {_view_sql(conn)}")


def _quoted(conn, table: Table) -> str:
    return conn.dialect.identifier_preparer.quote(table.name)


def drop_temporary(conn, table: Table) -> None:
    """Drop a TEMPORARY table of this connection if it exists. DuckDB's dialect (duckdb-engine)
    does not see temporary tables when SQLAlchemy asks whether a table exists: there, IF EXISTS."""
    if conn.dialect.name == "duckdb":
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{_quoted(conn, table)}")
    else:
        table.drop(conn, checkfirst=True)
