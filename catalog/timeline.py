"""Change points: the instants inside a window at which what customers see can change.

Between two consecutive change points nothing changes (no publication takes effect, no sale or
validity starts or ends), so evaluating each piece at its start is exact.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, and_, select, union

from unisono.catalog.tables import OfferRow, Publication, PublicationLocation
from unisono.domain.models import as_utc


def change_points(conn: Connection, start: datetime, end: datetime) -> list[datetime]:
    """Sorted instants strictly inside (start, end) where a publication goes live or an offer's
    sale window or validity begins or ends."""
    pub, cov, o = Publication.__table__, PublicationLocation.__table__, OfferRow.__table__
    # only publications that can be live inside the window: effective before its end
    relevant = select(pub.c.id).where(pub.c.effective_from < end).subquery()
    inside = lambda col: and_(col > start, col < end)  # noqa: E731
    offers = o.join(relevant, relevant.c.id == o.c.publication_id)
    queries = [select(pub.c.effective_from.label("t")).join(cov, cov.c.publication_id == pub.c.id)
               .where(inside(pub.c.effective_from))]
    for col in (o.c.sale_start, o.c.sale_end, o.c.valid_from, o.c.valid_to):
        queries.append(select(col.label("t")).select_from(offers).where(inside(col)))
    rows = conn.execute(union(*queries)).scalars().all()
    return sorted({as_utc(t) for t in rows})


