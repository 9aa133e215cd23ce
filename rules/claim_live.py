"""The claims in force at an instant, and the products a claim reserves to one side (shop or stores).

live_claims() is what the `claim` rule judges. exclusive_keys() is what `parity` honours: a product a
live claim calls "nur online" is not expected to be reduced in the stores, so price-parity does not
tell the stores to match the shop's sale price for it (and "nur im Markt" the other way round); the
claim rule reports a store that reduces it anyway.
"""
from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import Column, Connection, MetaData, String, Table, and_, insert, or_, select

from unisono.catalog.live import drop_temporary
from unisono.catalog.state import _current_publications
from unisono.catalog.tables import ClaimRow
from unisono.domain.claims import ClaimTerms
from unisono.domain.config import ProjectConfig
from unisono.domain.findings import location_label
from unisono.rules.claim_scope import match_scope

# exclusivity -> the channel whose sale is not compared for the product
EXCLUDED_CHANNEL = {"online_only": "store", "store_only": "shop"}


class Claim:
    """One claim with terms, as stored by the adapter that read it."""

    def __init__(self, channel: str, location: str, text: str, source: str, terms: ClaimTerms,
                 valid_from: datetime | None, valid_to: datetime | None):
        self.channel, self.location, self.text, self.source, self.terms = channel, location, text, source, terms
        self.valid_from, self.valid_to = valid_from, valid_to

    @property
    def label(self) -> str:
        return location_label(self.channel, self.location)

    @property
    def key(self) -> str:
        """The finding's product key: the product it names, else the claim's own (stable across runs)."""
        return self.terms.product or "claim:" + hashlib.sha256(self.text.encode()).hexdigest()[:10]


def live_claims(conn: Connection, at: datetime, channels: list[str] | None = None) -> list[Claim]:
    """The claims with terms of the current publications whose window covers the instant."""
    cl = ClaimRow.__table__
    cur = _current_publications(at)
    q = (select(cl.c.channel, cl.c.location, cl.c.text, cl.c.source, cl.c.terms, cl.c.valid_from, cl.c.valid_to)
         .join(cur, and_(cl.c.publication_id == cur.c.publication_id, cl.c.location == cur.c.location))
         .where(cl.c.terms.is_not(None), or_(cl.c.valid_from.is_(None), cl.c.valid_from <= at),
                or_(cl.c.valid_to.is_(None), cl.c.valid_to > at))
         .order_by(cl.c.id))
    if channels is not None:
        q = q.where(cl.c.channel.in_(channels))
    return [Claim(r.channel, r.location, r.text, r.source, ClaimTerms.model_validate_json(r.terms),
                  r.valid_from, r.valid_to) for r in conn.execute(q)]


def product_keys(live: Table, claim: Claim):
    """A SELECT of the live keys of the product a claim names (its sku, gtin or link, as the claiming
    channel's offer gave it)."""
    own, p = live.alias("claimed"), claim.terms.product
    return select(own.c.key).where(own.c.channel == claim.channel, own.c.location == claim.location,
                                   or_(own.c.key == p, own.c.sku == p, own.c.gtin == p, own.c.url == p))


def exclusive_keys(conn: Connection, live: Table, at: datetime, config: ProjectConfig | None) -> dict[str, str]:
    """Product key -> "online_only" / "store_only" for each product a live claim reserves to one side:
    "nur online" beside a product, or a discount said to be online only ("Nur online: 20 % auf alle
    Winterjacken") over the products its scope words match. A scope that matches nothing reserves
    nothing (the claim rule reports it as undecided). Two claims reserving one product to opposite
    sides cancel out: parity then compares it as usual."""
    out: dict[str, str] = {}
    scopes = config.claims.scopes if config is not None else {}
    for claim in live_claims(conn, at):
        t = claim.terms
        if t.exclusivity not in EXCLUDED_CHANNEL or t.type not in ("exclusivity", "discount"):
            continue
        if t.product:
            keys = set(conn.execute(select(live.c.key).where(live.c.key.in_(product_keys(live, claim)))).scalars())
            keys.add(t.product)
        elif t.type == "discount" and t.everything:
            keys = set(conn.execute(select(live.c.key).distinct()).scalars())
        elif t.type == "discount" and t.scope:
            rows = conn.execute(select(live.c.category, live.c.brand).distinct()).all()
            m = match_scope(t.scope, sorted({r.category for r in rows if r.category}),
                            sorted({r.brand for r in rows if r.brand}), scopes)
            if not m.categories and not m.brands:
                continue
            keys = set(conn.execute(select(live.c.key).where(
                or_(live.c.category.in_(m.categories), live.c.brand.in_(m.brands))).distinct()).scalars())
        else:
            continue  # "nur online" said of nothing in particular
        for k in keys:
            out[k] = t.exclusivity if out.get(k, t.exclusivity) == t.exclusivity else "both"
    return {k: v for k, v in out.items() if v != "both"}


SALE_FIELDS = frozenset({"effective_price", "sale_price"})  # what an exclusive claim exempts from parity
_EXCLUSIVE = Table("exclusive_keys", MetaData(), Column("key", String), Column("excluded", String),
                   prefixes=["TEMPORARY"])


def exclusive_table(conn: Connection, keys: dict[str, str]) -> Table:
    """exclusive_keys() as a temporary table (key, excluded channel), for a set-based query to join."""
    drop_temporary(conn, _EXCLUSIVE)
    _EXCLUSIVE.create(conn)
    conn.execute(insert(_EXCLUSIVE), [{"key": k, "excluded": EXCLUDED_CHANNEL[v]} for k, v in keys.items()])
    return _EXCLUSIVE


def sale_exempt(keys: dict[str, str], key: str, channels: tuple[str, ...]) -> bool:
    """The Python twin of the parity query's exemption: a pair of offers of `key` in `channels`
    whose sale is not compared, because a live claim excludes one of these channels."""
    return key in keys and EXCLUDED_CHANNEL[keys[key]] in channels
