"""Waivers: accepted exceptions (a store-only promotion, a personalised birthday discount)."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Engine, Row, delete, func, insert, or_, select, update

from unisono.catalog.db import write_transaction
from unisono.catalog.tables import Publication, PublicationLocation, Waiver
from unisono.domain.findings import Finding
from unisono.domain.models import as_utc


def add_waiver(engine: Engine, *, rule: str, sku: str, location: str | None, reason: str,
               until: datetime | None) -> int:
    with write_transaction(engine) as conn:
        return conn.execute(insert(Waiver.__table__).values(
            rule=rule, sku=sku, location=location, reason=reason, until=until, created_at=datetime.now(timezone.utc),
        )).inserted_primary_key[0]


def get_waiver(engine: Engine, waiver_id: int) -> Row | None:
    w = Waiver.__table__
    with engine.connect() as conn:
        return conn.execute(select(w).where(w.c.id == waiver_id)).first()


def update_waiver(engine: Engine, waiver_id: int, **values) -> None:
    """Change a waiver's reason, until or location (the keys given)."""
    w = Waiver.__table__
    with write_transaction(engine) as conn:
        conn.execute(update(w).where(w.c.id == waiver_id).values(**values))


def remove_waivers(engine: Engine, waiver_ids: list[int]) -> None:
    w = Waiver.__table__
    with write_transaction(engine) as conn:
        conn.execute(delete(w).where(w.c.id.in_(waiver_ids)))


def published_locations(engine: Engine) -> set[str]:
    """Every location any publication covered, as "channel:location"."""
    pl = PublicationLocation.__table__
    with engine.connect() as conn:
        return {f"{c}:{loc}" for c, loc in conn.execute(select(pl.c.channel, pl.c.location).distinct())}


def latest_effective(engine: Engine) -> datetime | None:
    """When the newest publication goes live: the catalog holds no state later than that."""
    pub = Publication.__table__
    with engine.connect() as conn:
        latest = conn.execute(select(func.max(pub.c.effective_from))).scalar()
    return as_utc(latest)


def list_waivers(engine: Engine, *, active_at: datetime | None = None) -> list[Row]:
    """All waivers, or those still in force at an instant (an expired waiver stops applying by itself)."""
    w = Waiver.__table__
    query = select(w).order_by(w.c.id)
    if active_at is not None:
        query = query.where(or_(w.c.until.is_(None), w.c.until > active_at))
    with engine.connect() as conn:
        return list(conn.execute(query))


def waiver_for(finding: Finding, waivers: list[Row]) -> Row | None:
    """The waiver that covers a finding: same rule and product, and its location if it names one."""
    for w in waivers:
        if w.rule != finding.rule or w.sku != finding.sku:
            continue
        if w.location is None or any(w.location in (loc, loc.split(":", 1)[-1]) for loc in finding.locations):
            return w
    return None
