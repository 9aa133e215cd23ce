"""content (title and brand drift) on the rete engine.

durable_rules matches every pair of offers of one key, one in the reference channel and one in a
channel compared with it (compile.py, _content): which pairs a rule looks at is the rete's part,
as for parity. Whether a pair's titles name different things is a similarity score (rapidfuzz),
which no durable_rules condition expresses; so each matched pair is scored by the kind's own
judgement (ContentRule._judge), the function the SQL engine applies to the pairs its query picks.
The SQL query only narrows the pairs to those whose titles or brands differ as text, which the
judgement checks again; so both engines give the same findings.

Brands are each channel's own (the offer's, a store file's Marke column), not the product's
merged brand the live table holds: own_brands() reads them once per run.
"""
from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import Connection, and_, select

from unisono.catalog.live import live
from unisono.catalog.tables import OfferRow
from unisono.domain.findings import Finding
from unisono.rules.rete.scope import Fold, in_scope

Brands = dict[tuple[str, str, str], str]  # (channel, location, key) -> the offer's own brand


def own_brands(conn: Connection) -> Brands:
    """Every live offer's own brand, where it has one."""
    o = OfferRow.__table__
    q = select(live.c.channel, live.c.location, live.c.key, o.c.brand).join(
        o, and_(o.c.id == live.c.offer_id, o.c.brand.is_not(None)))
    return {(r.channel, r.location, r.key): r.brand for r in conn.execute(q)}


def findings(rule, pairs, offers: list[dict], fold: Fold, brands: Brands) -> list[Finding]:
    """The findings of the pairs (ref, other) durable_rules matched for one key."""
    out = []
    for ref, other in sorted(pairs):
        a, b = offers[ref], offers[other]
        if not in_scope(rule, a, [b], fold):
            continue
        row = SimpleNamespace(key=a["key"], **_side("ref", a, brands), **_side("other", b, brands))
        if (f := rule._judge(row)) is not None:
            out.append(f)
    return out


def _side(prefix: str, offer: dict, brands: Brands) -> dict:
    return {f"{prefix}_channel": offer["channel"], f"{prefix}_location": offer["location"],
            f"{prefix}_title": offer["title"], f"{prefix}_source": offer["source"],
            f"{prefix}_brand": brands.get((offer["channel"], offer["location"], offer["key"]))}
