"""Publishing what an adapter read into the catalog: one transaction, all or nothing."""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import SQLAlchemyError

from unisono.catalog.db import CatalogError
from unisono.catalog.tables import (
    ClaimRow, OfferRow, Publication, PublicationLocation, RejectionRow, offer_to_row,
)
from unisono.domain.models import ChannelRead, Rejection

CHUNK = 20_000  # rows per executemany: large enough to be fast, small enough to bound memory


@dataclass
class PublishResult:
    publication_id: int
    channel: str
    source: str
    sha256: str
    published_at: datetime
    effective_from: datetime
    offers: int
    claims: int
    rejections: int
    locations: list[str]
    duplicate: bool = False  # the same bytes are already the channel's latest publication
    first_rejections: list[Rejection] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "publication": {
                "id": self.publication_id, "channel": self.channel, "source": self.source,
                "sha256": self.sha256, "published_at": self.published_at.isoformat(),
                "effective_from": self.effective_from.isoformat(), "locations": self.locations,
                "duplicate": self.duplicate,
            },
            "offers": self.offers,
            "claims": self.claims,
            "rejections": self.rejections,
            "first_rejections": [{"source": str(r.source), "reason": r.reason} for r in self.first_rejections],
            "notes": self.notes,
        }


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _latest(conn, channel: str):
    pub = Publication.__table__
    return conn.execute(
        select(pub).where(pub.c.channel == channel)
        .order_by(pub.c.effective_from.desc(), pub.c.published_at.desc(), pub.c.id.desc()).limit(1)
    ).first()


def publish(engine: Engine, read: ChannelRead, *, source: str, sha256: str,
            published_at: datetime | None = None, effective_from: datetime | None = None) -> PublishResult:
    """Store a channel read as one publication. A failure leaves the catalog exactly as before."""
    staged = effective_from  # only an explicit --effective-from makes the same bytes a new publication
    published_at = published_at or datetime.now(timezone.utc)
    effective_from = effective_from or published_at
    per_location = Counter(o.location for o in read.offers)
    result = PublishResult(
        publication_id=0, channel=read.channel, source=source, sha256=sha256,
        published_at=published_at, effective_from=effective_from,
        offers=len(read.offers), claims=len(read.claims), rejections=len(read.rejections),
        locations=sorted(per_location), first_rejections=read.rejections[:5], notes=list(read.notes),
    )
    try:
        with engine.begin() as conn:
            latest = _latest(conn, read.channel)
            if latest is not None and latest.sha256 == sha256 and (
                staged is None or latest.effective_from == staged
            ):
                result.publication_id, result.duplicate = latest.id, True
                result.published_at, result.effective_from = latest.published_at, latest.effective_from
                return result
            pub_id = conn.execute(insert(Publication.__table__).values(
                channel=read.channel, source=source, sha256=sha256,
                published_at=published_at, effective_from=effective_from,
                loaded_at=datetime.now(timezone.utc),
                offers=result.offers, claims=result.claims, rejections=result.rejections,
            )).inserted_primary_key[0]
            result.publication_id = pub_id
            if per_location:
                conn.execute(insert(PublicationLocation.__table__), [
                    {"publication_id": pub_id, "channel": read.channel, "location": loc, "offers": n}
                    for loc, n in per_location.items()
                ])
            for start in range(0, len(read.offers), CHUNK):
                conn.execute(insert(OfferRow.__table__), [offer_to_row(o, pub_id) for o in read.offers[start:start + CHUNK]])
            if read.claims:
                conn.execute(insert(ClaimRow.__table__), [
                    {"publication_id": pub_id, "channel": c.channel, "location": c.location, "kind": c.kind,
                     "text": c.text, "source": str(c.source)} for c in read.claims
                ])
            for start in range(0, len(read.rejections), CHUNK):
                conn.execute(insert(RejectionRow.__table__), [
                    {"publication_id": pub_id, "source": r.source.file, "line": r.source.line,
                     "reason": r.reason, "raw": r.raw} for r in read.rejections[start:start + CHUNK]
                ])
    except SQLAlchemyError as e:
        raise CatalogError(f"publishing {source} failed, the catalog is unchanged: {getattr(e, 'orig', e)}") from None
    return result
