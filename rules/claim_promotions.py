"""The shop's promotions as the `claim` rule sees them: what each grants, on which live offers.

A promotion (channels/shop_promotions.py, published with `unisono publish shop promotions.xml`)
lowers the price of the offers it applies to, in the channels it is redeemed in (online: the shop;
in_store: the stores, or those of its store_code), on top of their sale price: 20 % off a jacket
the shop sells at 99.99 EUR is 79.99 EUR, though the feed's price says 99.99 EUR. A discount claim
counts it as the shop's reduction when it runs over the claim's whole window and asks no minimum
purchase (the claim promises the reduction on every product, not on a basket). Which offers a
promotion applies to is SQL over the live table: all_products, or its filters (item_id, brand,
product_type and what is under it: several values of one filter are alternatives, several filters
must all match), or the feed items naming its promotion_id; exclusions win.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Float, Table, and_, cast, distinct, false, func, or_, select, true
from sqlalchemy.sql import ColumnElement

from unisono.domain.claims import ClaimTerms
from unisono.rules.claim_live import live_claims
from unisono.domain.models import as_utc


@dataclass
class Promotion:
    id: str
    text: str  # "WINTER20: 20 % auf Winterjacken" (its id and long_title)
    source: str
    terms: ClaimTerms
    valid_from: datetime | None
    valid_to: datetime | None
    linked: list[str] = field(default_factory=list)  # feed items naming its promotion_id

    def grants(self) -> str:
        t = self.terms
        return f"{t.percent:g} %" if t.percent is not None else \
            f"{t.amount:.2f} {t.currency}" if t.amount is not None else "no price reduction"

    def covers(self, start: datetime | None, end: datetime | None) -> bool:
        """Whether it runs over the whole window [start, end) (None: open)."""
        return (self.valid_from is None or (start is not None and as_utc(self.valid_from) <= as_utc(start))) and \
            (self.valid_to is None or (end is not None and as_utc(self.valid_to) >= as_utc(end)))


def live_promotions(conn: Connection, at: datetime) -> list[Promotion]:
    """The shop's promotions in effect at the instant, with the feed items that name them."""
    claims = [c for c in live_claims(conn, at, ["shop"]) if c.terms.type == "promotion" and c.terms.promotion_id]
    links: dict[str, list[str]] = {}
    for c in claims:
        if not c.terms.channels:  # the product feed's promotion_id: a link, not a promotion
            links.setdefault(c.terms.promotion_id, []).extend(c.terms.items)
    return [Promotion(c.terms.promotion_id, c.text, c.source, c.terms, c.valid_from, c.valid_to,
                      links.get(c.terms.promotion_id, [])) for c in claims if c.terms.channels]


def applies(p: Promotion, o: Table) -> ColumnElement:
    """SQL: the promotion lowers this live offer's price (never NULL: nullable columns tested first)."""
    t = p.terms
    where = [o.c.channel.in_(t.channels)]
    if t.stores:
        where.append(or_(o.c.channel != "store", o.c.location.in_(t.stores)))
    if t.amount is not None:
        where.append(o.c.currency == t.currency)
    filters = []
    if t.items:
        filters.append(_item(o, t.items))
    if t.brands:
        filters.append(_brand(o, t.brands))
    if t.product_types:
        filters.append(_under(o, t.product_types))
    match = true() if t.everything else and_(*filters) if filters else false()
    if p.linked:
        match = or_(match, _item(o, p.linked))
    excluded = [e for e in (_item(o, t.not_items) if t.not_items else None, _brand(o, t.not_brands) if t.not_brands
                            else None, _under(o, t.not_product_types) if t.not_product_types else None) if e is not None]
    return and_(*where, match, *[~e for e in excluded])


def price_after(p: Promotion, o: Table, price: ColumnElement) -> ColumnElement:
    """SQL: `price` (cents) with the promotion taken off."""
    t = p.terms
    if t.percent is not None:
        return cast(price, Float) * (100.0 - float(t.percent)) / 100.0
    return price - int(t.amount * 100)


def _item(o: Table, items: list[str]) -> ColumnElement:
    return or_(o.c.key.in_(items), and_(o.c.sku.is_not(None), o.c.sku.in_(items)))


def _brand(o: Table, brands: list[str]) -> ColumnElement:
    return and_(o.c.brand.is_not(None), func.lower(o.c.brand).in_([b.lower() for b in brands]))


def _under(o: Table, paths: list[str]) -> ColumnElement:
    """The category is one of the paths or under one ("Bekleidung > Jacken" covers its Winterjacken)."""
    cat = func.lower(o.c.category)
    return and_(o.c.category.is_not(None), or_(*[or_(cat == p.lower(), cat.startswith(p.lower() + " > ", autoescape=True))
                                                 for p in paths]))



def mentions(conn: Connection, o: Table, where: ColumnElement, promotions: list[Promotion],
             start: datetime | None, end: datetime | None, tz) -> tuple[str, list[str]]:
    """What the promotions applying to the offers of `where` (one location's, in a claim's scope)
    grant, for a finding: "promotion WINTER15 (promotions.xml:4) grants 15 % on 3 of them, only
    from 28.11.", and their sources."""
    from unisono.rules.claim_stores import last_day
    from unisono.rules.messages import short_instant

    parts, sources = [], []
    for p in promotions:
        n = conn.execute(select(func.count(distinct(o.c.key))).where(where, applies(p, o))).scalar_one()
        if not n:
            continue
        text = f"promotion {p.id} ({p.source}) grants {p.grants()} on {n} of them"
        if p.terms.threshold:
            text += f" from a purchase of {p.terms.threshold:.2f} {p.terms.currency or ''}".rstrip()
        if not p.covers(start, end):
            late = p.valid_from is not None and start is not None and as_utc(p.valid_from) > as_utc(start)
            text += f", only from {short_instant(p.valid_from, tz)}" if late else \
                f", only until {last_day(p.valid_to, tz)}" if p.valid_to is not None else ""
        parts.append(text)
        sources.append(p.source)
    return "; ".join(parts), sources
