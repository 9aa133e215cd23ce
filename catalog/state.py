"""The state of every channel at an instant, materialised as the temp tables behind the `live` view rules query.

A channel's state at t is, per location, its latest publication effective at t (the one that
took effect last; ties by publication time), restricted to offers whose own validity covers t.
Product keys are resolved across channels here, once, so every rule matches the same way: a
store row with only an EAN and a newsletter block with only a link take the sku of an offer
that shares their GTIN or normalised link.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    CTE, BigInteger, Column, Connection, MetaData, String, Table, and_, case, cast, delete, func, insert, literal, null, or_,
    select, update,
)

from unisono.catalog.live import create_live, drop_temporary, live_key_index, live_narrow, live_product
from unisono.catalog.tables import OfferRow, Publication, PublicationLocation, UTCDateTime


def _current_publications(at):
    pub, cov = Publication.__table__, PublicationLocation.__table__
    ranked = (
        select(
            cov.c.publication_id, cov.c.location,
            func.row_number().over(
                partition_by=(cov.c.channel, cov.c.location),
                order_by=(pub.c.effective_from.desc(), pub.c.published_at.desc(), pub.c.id.desc()),
            ).label("rn"),
        )
        .join(pub, pub.c.id == cov.c.publication_id)
        .where(pub.c.effective_from <= at)
        .subquery("ranked")
    )
    return select(ranked.c.publication_id, ranked.c.location).where(ranked.c.rn == 1).subquery("current")


def with_keys(base: CTE, name: str) -> CTE:
    """`base` (offer rows) with a `key` column: the sku; else the sku of an offer in `base` with the
    same GTIN, else with the same normalised link; else the GTIN, the link, "offer:<id>". The one
    key resolution: the live state and the price history (catalog/history.py) both use it."""
    by_gtin = (
        select(base.c.gtin, func.min(base.c.sku).label("sku"))
        .where(base.c.gtin.is_not(None), base.c.sku.is_not(None)).group_by(base.c.gtin).cte(f"{name}_by_gtin")
    )
    by_url = (
        select(base.c.url, func.min(base.c.sku).label("sku"))
        .where(base.c.url.is_not(None), base.c.sku.is_not(None)).group_by(base.c.url).cte(f"{name}_by_url")
    )
    key = func.coalesce(base.c.sku, by_gtin.c.sku, by_url.c.sku, base.c.gtin, base.c.url,
                        literal("offer:") + cast(base.c.id, String))
    return (
        select(base, key.label("key"))
        .outerjoin(by_gtin, by_gtin.c.gtin == base.c.gtin)
        .outerjoin(by_url, by_url.c.url == base.c.url)
        .cte(name)
    )


def _current_offers(at: datetime, *columns, attributed: bool = False):
    """SELECT columns FROM the current publications' offers valid at `at`; attributed: only from
    publications with offers that name a brand or a category."""
    o, pub = OfferRow.__table__, Publication.__table__
    cur = _current_publications(at)
    joined = and_(o.c.publication_id == cur.c.publication_id, o.c.location == cur.c.location)
    if attributed:  # decided per publication, before any of its offers is read
        joined = and_(cur.c.publication_id.not_in(select(pub.c.id).where(pub.c.attributed == 0)), joined)
    return (
        select(*columns)
        .join(cur, joined)
        .where(or_(o.c.valid_from.is_(None), o.c.valid_from <= at), or_(o.c.valid_to.is_(None), o.c.valid_to > at))
    )


def _shop_first(channel, col):
    """A product's attribute: the shop's where it has one, else any channel's (the largest)."""
    return func.coalesce(func.max(case((channel == "shop", col))), func.max(col))


def _fresh(conn: Connection, table: Table) -> Table:
    drop_temporary(conn, table)
    table.create(conn)
    return table


def _live_rows(at, rekey: Table | None = None):
    """The SELECT that fills the narrow live table: one pass over the current publications' offers valid at
    `at`. The key is the sku (or, provisionally, the GTIN, link or "offer:<id>": rows without a sku are
    re-keyed afterwards, _resolve_keys)."""
    o = OfferRow.__table__
    on_sale = and_(
        o.c.sale_price_cents.is_not(None),
        or_(o.c.sale_start.is_(None), o.c.sale_start <= at),
        or_(o.c.sale_end.is_(None), o.c.sale_end > at),
    )
    effective = case((on_sale, o.c.sale_price_cents), else_=o.c.price_cents)
    key = func.coalesce(o.c.sku, o.c.gtin, o.c.url, literal("offer:") + cast(o.c.id, String))
    if rekey is not None:  # (streamed: the rows without sku take their keys from live_rekey as they are read)
        key = func.coalesce(rekey.c.key, key)
    computed = {"offer_id": o.c.id, "key": key, "effective_cents": effective, "on_sale": effective < o.c.price_cents}
    rows = _current_offers(at, *[(computed[c.name] if c.name in computed else o.c[c.name]).label(c.name)
                                 for c in live_narrow.columns])
    return rows if rekey is None else rows.outerjoin(rekey, rekey.c.offer_id == o.c.id)


# DuckDB's streamed narrow relation (a view, _stream_narrow) also shows each offer's own brand and category:
# a view's column costs nothing until read, and product_attributes then needs no join with the offer rows
_streamed_narrow = Table(live_narrow.name, MetaData(), *[Column(c.name, c.type) for c in live_narrow.columns],
                         Column("offer_brand", String), Column("offer_category", String))


def product_attributes(conn: Connection, streamed: bool = False) -> None:
    """(Re)fill live_product: per key, the brand and category of the product (_shop_first over its live
    offers' own; stores rarely name them). Only offers of publications that name some are read, and only
    those with either count (a NULL adds nothing to a max), so a key missing there has neither."""
    pub = Publication.__table__
    if streamed:
        ln = _streamed_narrow
        brand, category, rows = ln.c.offer_brand, ln.c.offer_category, ln
    else:
        ln, o = live_narrow, OfferRow.__table__
        brand, category, rows = o.c.brand, o.c.category, ln.join(o, o.c.id == ln.c.offer_id)
    conn.execute(delete(live_product))
    conn.execute(insert(live_product).from_select(["key", "brand", "category"], (
        select(ln.c.key, _shop_first(ln.c.channel, brand), _shop_first(ln.c.channel, category)).select_from(rows)
        .where(ln.c.publication_id.not_in(select(pub.c.id).where(pub.c.attributed == 0)),
               or_(brand.is_not(None), category.is_not(None)))
        .group_by(ln.c.key)
    )))


def _rekey_table() -> Table:
    return Table("live_rekey", MetaData(), Column("offer_id", BigInteger), Column("key", String), prefixes=["TEMPORARY"])


def _resolve_keys(conn: Connection, streamed: bool = False) -> bool:
    """Rows without a sku take the sku of a live row with the same GTIN, else the same link (the
    smallest, as with_keys): looked up among the rows sharing a GTIN or link with such a row, taken
    in one pass. False when every row has a sku (nothing to do). Reads the links from the offer rows
    (the narrow table has none), re-keys the narrow rows."""
    ln, o = live_narrow, OfferRow.__table__
    skuless = _fresh(conn, Table("live_skuless", MetaData(), Column("gtin", String), Column("url", String),
                                 prefixes=["TEMPORARY"]))
    n = conn.execute(insert(skuless).from_select(["gtin", "url"], (
        select(o.c.gtin, o.c.url).select_from(ln.join(o, o.c.id == ln.c.offer_id)).where(ln.c.sku.is_(None)).distinct()
    ))).rowcount
    if n == 0:
        skuless.drop(conn)
        return False
    shares = Table("live_sku_sharing", MetaData(), Column("gtin", String, index=True), Column("url", String, index=True),
                   Column("sku", String), prefixes=["TEMPORARY"])
    _fresh(conn, shares)
    # the rows with a sku sharing a GTIN (the narrow table has it) or a link (the offer rows have it) with
    # a row without: two semi-joins, each a filter on one scan (one OR of both would test every row)
    conn.execute(insert(shares).from_select(["gtin", "url", "sku"], select(ln.c.gtin, null(), ln.c.sku).where(
        ln.c.sku.is_not(None), ln.c.gtin.in_(select(skuless.c.gtin).where(skuless.c.gtin.is_not(None))))))
    conn.execute(insert(shares).from_select(["gtin", "url", "sku"], (
        select(null(), o.c.url, ln.c.sku).select_from(ln.join(o, o.c.id == ln.c.offer_id))
        .where(ln.c.sku.is_not(None), o.c.url.in_(select(skuless.c.url).where(skuless.c.url.is_not(None))))
    )))
    by_gtin = select(func.min(shares.c.sku)).where(shares.c.gtin == ln.c.gtin).scalar_subquery()
    rows = ln
    if conn.dialect.name == "spark":  # Spark resolves no outer column two subqueries deep: the link joined
        url, rows = o.c.url, ln.join(o, o.c.id == ln.c.offer_id)
    else:
        url = select(o.c.url).where(o.c.id == ln.c.offer_id).correlate(ln).scalar_subquery()
    by_url = select(func.min(shares.c.sku)).where(shares.c.url == url).scalar_subquery()
    # the new keys of the rows without sku first (a few), then those rows updated by offer id: an UPDATE
    # with the lookups in it had DuckDB work them out for every live row
    rekey = _rekey_table()
    keys = select(ln.c.offer_id, func.coalesce(by_gtin, by_url, ln.c.key)).select_from(rows).where(ln.c.sku.is_(None))
    if streamed:  # the view reads them from there (it has the table already, empty until now)
        conn.execute(insert(rekey).from_select(["offer_id", "key"], keys))
    else:
        _fresh(conn, rekey)
        conn.execute(insert(rekey).from_select(["offer_id", "key"], keys))
        conn.execute(update(ln).where(ln.c.offer_id == rekey.c.offer_id).values(key=rekey.c.key))
        rekey.drop(conn)
    shares.drop(conn)
    skuless.drop(conn)
    return True


def _stream_narrow(conn: Connection, at: datetime) -> None:
    """DuckDB: the narrow live relation as a view over the offer rows, not a copy: a columnar scan of the
    compared columns is cheaper than writing them to a temporary table that then holds its share of the
    memory limit. The instant is in a one-row table (the view holds no parameters); the keys of rows
    without sku in live_rekey, filled by _resolve_keys."""
    instant = _fresh(conn, Table("live_at", MetaData(), Column("at", UTCDateTime()), prefixes=["TEMPORARY"]))
    conn.execute(insert(instant).values(at=at))
    rekey = _fresh(conn, _rekey_table())
    o = OfferRow.__table__
    rows = _live_rows(select(instant.c.at).scalar_subquery(), rekey) \
        .add_columns(o.c.brand.label("offer_brand"), o.c.category.label("offer_category"))
    sql = rows.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})  # constants of ours only
    drop_temporary(conn, live_narrow)
    conn.exec_driver_sql(f"CREATE TEMPORARY VIEW {live_narrow.name} AS {sql}")


def build_live(conn: Connection, at: datetime) -> int:
    """(Re)fill the live relation for instant `at` on this connection; returns its row count.

    One pass copies the compared columns of the live offers (catalog/live.py); rows without a sku are then
    re-keyed in place, each key's brand and category are worked out once (live_product), and the key
    index is built on the filled table."""
    at = at.astimezone(timezone.utc)
    create_live(conn)
    streamed = conn.dialect.name == "duckdb"
    if streamed:
        _stream_narrow(conn, at)
        n = None
    else:
        n = conn.execute(insert(live_narrow).from_select([c.name for c in live_narrow.columns], _live_rows(at))).rowcount
    _resolve_keys(conn, streamed)
    product_attributes(conn, streamed)  # before the key index: grouping the rows by sorting them is cheaper than in index order
    if conn.dialect.name != "duckdb":  # DuckDB joins by hashing: an index would only cost its build
        live_key_index.create(conn)
    if conn.dialect.name == "postgresql":  # fresh temp tables have no statistics: without them the
        conn.exec_driver_sql("ANALYZE live_narrow")  # planner picks quadratic nested loops
        conn.exec_driver_sql("ANALYZE live_product")
    if n is None or n < 0:
        n = conn.execute(select(func.count()).select_from(live_narrow)).scalar_one()
    return n
