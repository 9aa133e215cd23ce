""""auch in allen Filialen" / "in all stores": which store locations do not carry a promotion.

Every store location the catalog has in effect at the instant counts (a store whose current price
file has no live offer too), not only the stores that list the product. A store carries the
promotion of one product when it lists it, reduced at the instant, with a sale window that covers
the claim's whole window ("reduces it only from 29.11." otherwise).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Table, and_, false, select
from sqlalchemy.sql import ColumnElement

from unisono.catalog.state import _current_publications
from unisono.catalog.tables import PublicationLocation
from unisono.rules.messages import short_instant
from unisono.domain.models import as_utc


def store_locations(conn: Connection, live: Table, at: datetime) -> list[str]:
    """Every store location in effect at `at`: covered by a current store publication or with live offers."""
    pl, cur = PublicationLocation.__table__, _current_publications(at)
    published = select(pl.c.location).join(
        cur, and_(pl.c.publication_id == cur.c.publication_id, pl.c.location == cur.c.location)
    ).where(pl.c.channel == "store")
    listed = select(live.c.location).where(live.c.channel == "store")
    return sorted(set(conn.execute(published).scalars()) | set(conn.execute(listed).scalars()))


@dataclass
class StoreGaps:
    """The stores that do not carry a promotion, by why; values and sources for the finding."""

    stores: int = 0  # store locations in effect
    unlisted: list[str] = field(default_factory=list)
    unreduced: list[str] = field(default_factory=list)
    partly: dict[str, str] = field(default_factory=dict)  # store -> "only from 29.11." / "only until 28.11."
    values: dict[str, str] = field(default_factory=dict)  # store -> what it shows
    sources: list[str] = field(default_factory=list)

    @property
    def bad(self) -> list[str]:
        return [*self.unlisted, *self.unreduced, *self.partly]


def product_gaps(conn: Connection, live: Table, at: datetime, tz: ZoneInfo, product: ColumnElement,
                 valid_from: datetime | None, valid_to: datetime | None) -> StoreGaps:
    """Which stores do not carry one product's promotion over the claim's window [valid_from, valid_to)."""
    o = live
    gaps = StoreGaps()
    stores = store_locations(conn, live, at)
    gaps.stores = len(stores)
    late, early = sale_gaps(o, valid_from, valid_to)
    rows = {r.location: r for r in conn.execute(
        select(o.c.location, o.c.on_sale, o.c.effective_cents, o.c.currency, o.c.sale_start, o.c.sale_end,
               o.c.source, late.label("late"), early.label("early"))
        .where(o.c.channel == "store", product).order_by(o.c.location, o.c.effective_cents))}
    for s in stores:
        r = rows.get(s)
        if r is None:
            gaps.unlisted.append(s)
            gaps.values[s] = "not listed"
            continue
        price = f"{Decimal(r.effective_cents) / 100:.2f} {r.currency}"
        if not r.on_sale:
            gaps.unreduced.append(s)
        elif r.late:
            gaps.partly[s] = f"only from {short_instant(r.sale_start, tz)}"
        elif r.early:
            gaps.partly[s] = f"only until {last_day(r.sale_end, tz)}"
        else:
            continue
        gaps.values[s] = price
        gaps.sources.append(r.source)
    return gaps


def sale_gaps(o: Table, valid_from: datetime | None, valid_to: datetime | None) -> tuple[ColumnElement, ColumnElement]:
    """SQL, per live offer: its sale starts inside the claim's window [valid_from, valid_to) (it is
    reduced only from then), and its sale ends inside it (only until then). Never NULL: every
    nullable column is tested first, so the two can be negated and counted."""
    late = and_(o.c.sale_price_cents.is_not(None), o.c.sale_start.is_not(None), o.c.sale_start > valid_from,
                *([o.c.sale_start < valid_to] if valid_to is not None else [])) if valid_from is not None else false()
    early = and_(o.c.sale_price_cents.is_not(None), o.c.sale_end.is_not(None), o.c.sale_end < valid_to,
                 *([o.c.sale_end > valid_from] if valid_from is not None else [])) if valid_to is not None else false()
    return late, early


def last_day(end: datetime, tz: ZoneInfo) -> str:
    """A sale's end as its last day: an end at midnight is exclusive, the day before is the last."""
    return short_instant(as_utc(end) - timedelta(microseconds=1), tz)[:6] if _midnight(end, tz) else short_instant(end, tz)


def words(gaps: StoreGaps, place) -> str:
    """"store 1003 does not list it; store 1002 does not reduce it; store 1004 reduces it only from 29.11."."""
    def stores(ids: list[str]) -> str:
        names = [place(s) for s in ids]
        return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 2 else names)

    def does(ids: list[str]) -> str:
        return "does" if len(ids) == 1 else "do"

    parts = []
    if gaps.unlisted:
        parts.append(f"{stores(gaps.unlisted)} {does(gaps.unlisted)} not list it")
    if gaps.unreduced:
        parts.append(f"{stores(gaps.unreduced)} {does(gaps.unreduced)} not reduce it")
    parts += [f"{place(s)} reduces it {when}" for s, when in gaps.partly.items()]
    return "; ".join(parts)



def _midnight(t: datetime, tz: ZoneInfo) -> bool:
    local = as_utc(t).astimezone(tz)
    return (local.hour, local.minute) == (0, 0)
