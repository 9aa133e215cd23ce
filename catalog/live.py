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
"""
from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Float, Index, Integer, MetaData, String, Table

from unisono.catalog.tables import UTCDateTime

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

live = Table("live_offers", live_metadata, *LIVE_COLUMNS, prefixes=["TEMPORARY"])
# built by build_live after the table is filled (an index maintained row by row while filling costs more)
live_key_index = Index("ix_live_offers_key", live.c.key)


def drop_temporary(conn, table: Table) -> None:
    """Drop a TEMPORARY table of this connection if it exists. DuckDB's dialect (duckdb-engine)
    does not see temporary tables when SQLAlchemy asks whether a table exists: there, IF EXISTS."""
    if conn.dialect.name == "duckdb":
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{conn.dialect.identifier_preparer.quote(table.name)}")
    else:
        table.drop(conn, checkfirst=True)
