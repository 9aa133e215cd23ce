"""The state of every channel at an instant, materialised as the `live` temp table rules query.

A channel's state at t is, per location, its latest publication effective at t (the one that
took effect last; ties by publication time), restricted to offers whose own validity covers t.
Product keys are resolved across channels here, once, so every rule matches the same way: a
store row with only an EAN and a newsletter block with only a link take the sku of an offer
that shares their GTIN or normalised link.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import CTE, Connection, String, and_, case, cast, func, insert, literal, or_, select

from unisono.catalog.live import live
from unisono.catalog.tables import OfferRow, Publication, PublicationLocation


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


def live_select(at: datetime):
    """The SELECT behind the live table (exposed for tests and the benchmark)."""
    at = at.astimezone(timezone.utc)
    o = OfferRow.__table__
    cur = _current_publications(at)
    base = (
        select(o)
        .join(cur, and_(o.c.publication_id == cur.c.publication_id, o.c.location == cur.c.location))
        .where(or_(o.c.valid_from.is_(None), o.c.valid_from <= at), or_(o.c.valid_to.is_(None), o.c.valid_to > at))
        .cte("base")
    )
    keyed = with_keys(base, "keyed")
    # brand and category are the product's: the shop's where it has them, else any channel's
    shop_first = lambda col: func.coalesce(func.max(case((keyed.c.channel == "shop", col))), func.max(col))  # noqa: E731
    attrs = (
        select(keyed.c.key, shop_first(keyed.c.brand).label("brand"), shop_first(keyed.c.category).label("category"))
        .group_by(keyed.c.key).cte("attrs")
    )
    on_sale = and_(
        keyed.c.sale_price_cents.is_not(None),
        or_(keyed.c.sale_start.is_(None), keyed.c.sale_start <= at),
        or_(keyed.c.sale_end.is_(None), keyed.c.sale_end > at),
    )
    effective = case((on_sale, keyed.c.sale_price_cents), else_=keyed.c.price_cents)
    return (
        select(
            keyed.c.id, keyed.c.publication_id, keyed.c.channel, keyed.c.location, keyed.c.key,
            keyed.c.sku, keyed.c.gtin, keyed.c.url, keyed.c.title, attrs.c.brand, attrs.c.category,
            keyed.c.currency, keyed.c.price_cents, keyed.c.sale_price_cents, keyed.c.sale_start, keyed.c.sale_end,
            effective, effective < keyed.c.price_cents, keyed.c.reference_cents, keyed.c.discount_percent,
            keyed.c.availability, keyed.c.source, keyed.c.valid_from, keyed.c.valid_to,
        )
        .join(attrs, attrs.c.key == keyed.c.key)
    )


def build_live(conn: Connection, at: datetime) -> int:
    """(Re)fill the live temp table for instant `at` on this connection; returns its row count."""
    live.drop(conn, checkfirst=True)
    live.create(conn)
    conn.execute(insert(live).from_select([c.name for c in live.columns], live_select(at)))
    if conn.dialect.name == "postgresql":  # a fresh temp table has no statistics: without them the
        conn.exec_driver_sql("ANALYZE live_offers")  # planner picks quadratic nested loops
    return conn.execute(select(func.count()).select_from(live)).scalar_one()
