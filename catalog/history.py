"""Each channel's price history: what it charged for a product at a location, and since when.

The catalog keeps every publication. A publication of a (channel, location) is live from its
`effective_from` until the next publication of that (channel, location) takes effect, in the
order catalog/state.py uses (effective_from, published_at, id). Inside that interval an offer
exists during its own validity [valid_from, valid_to) and charges its sale price inside its
sale window [sale_start, sale_end), else its regular price. So the history is a set of
**price segments**, per (channel, location, key):

    seg_start, seg_end   [start, end); seg_end NULL = still open (the latest publication)
    cents                what was charged (money in cents)
    regular_cents        the regular price of the offer at the time
    reduced              cents < regular_cents (a sale was running)
    currency, offer_id

`price_runs(gradual)` adds, per segment, where its uninterrupted stretches began:

    price_run_start      the start of the stretch at this very price (contiguous segments, same cents)
    run_start            the start of the uninterrupted reduction the segment belongs to: contiguous
                         reduced segments at the same price, or (gradual=True, PAngV §11(2)) each step
                         at most the price of the one before, without a return to the regular price

Its window functions sort every segment they are given, so a query that needs them for a few
products only passes those products' segments (`of_products`) out of one price_segments().

`history_start()` is, per (channel, location), the instant its first publication took effect:
before it the catalog knows nothing of that channel's prices there. It reads only the small
publication tables, so a rule can tell from it, before any segment is built, which locations
cannot have `days` of history before anything live at an instant (`latest_window_start`).

Keys are resolved as in the live state (catalog/state.py `with_keys`), over the offers of the
history (all, or those of the `products` asked about: a rule passes the live offers it judges, so
only their history is segmented; then only the `locations` asked about, after the keys are
resolved, and only the segments starting `before` an instant: whole partitions, or their ends,
are left out and what stays is as it was). Everything here is SQLAlchemy Core, portable between
SQLite (instants stored as text in one format, so they compare correctly), PostgreSQL and DuckDB;
`epoch_seconds` / `epoch_days_before` are the one place where instants become numbers, for "30
calendar days before S in the project's zone" arithmetic.
"""
from __future__ import annotations

import math
import sqlite3
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache

from sqlalchemy import (
    CTE, BigInteger, String, and_, case, cast, exists, func, or_, select, tuple_, type_coerce, union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement, FromClause
from sqlalchemy.sql.functions import FunctionElement

from unisono.catalog.state import with_keys
from unisono.catalog.tables import OfferRow, Publication, PublicationLocation, UTCDateTime

DAY_SECONDS = 86_400


class epoch_seconds(FunctionElement):  # noqa: N801 (an SQL function, named like one)
    """Seconds since 1970-01-01 UTC of an instant column, on every backend."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch_seconds)
def _epoch_default(element, compiler, **kw):
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) AS BIGINT)"


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element, compiler, **kw):
    # SQLite keeps instants as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC); strftime reads that format
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(epoch_seconds, "duckdb")
def _epoch_duckdb(element, compiler, **kw):
    # whole seconds, cut as SQLite's strftime('%s') cuts them: DuckDB's EXTRACT(EPOCH ...) is a DOUBLE
    # with the fraction, which CAST would round (xx:59:30.6 would become the next second)
    return f"(epoch_us({compiler.process(element.clauses, **kw)}) // 1000000)"


class unindexed(FunctionElement):  # noqa: N801 (an SQL construct, named like a function)
    """A column as it is, which SQLite's planner must not index for a join: a unary + there. Joining
    many rows (price segments) to fewer (offers), it then builds its automatic index on the fewer
    and scans the many once, instead of indexing the many. Other databases plan joins themselves."""

    inherit_cache = True

    def __init__(self, column: ColumnElement):
        super().__init__(column)
        self.type = column.type


@compiles(unindexed)
def _unindexed_default(element, compiler, **kw):
    return compiler.process(element.clauses, **kw)


@compiles(unindexed, "sqlite")
def _unindexed_sqlite(element, compiler, **kw):
    return f"+{compiler.process(element.clauses, **kw)}"


def materialized(cte: CTE) -> CTE:
    """The CTE computed once, into a temporary table, where SQLite (3.35 and later) would otherwise
    inline it into each use and repeat its expressions there (per joined row). Other databases and
    older SQLite: the CTE as it is (their planners decide; older SQLite cannot be told)."""
    if sqlite3.sqlite_version_info >= (3, 35, 0):
        return cte.prefix_with("MATERIALIZED", dialect="sqlite")
    return cte


def epoch_days_before(instant: ColumnElement, days: int, tz: tzinfo | None = None,
                      around: datetime | None = None) -> ColumnElement:
    """Epoch seconds of the same wall-clock time `days` calendar days before `instant` in `tz` (the
    project's zone): 30 days before 20.11. 00:00 CET is 21.10. 00:00 CEST, 721 hours earlier. The
    zone's offset changes (of the years around `around`, e.g. the check's instant) are known in
    Python, so SQL only adds one term per change. Without a zone: days of 24 hours."""
    return seconds_days_before(epoch_seconds(instant), days, tz, around)


def seconds_days_before(at: ColumnElement, days: int, tz: tzinfo | None = None,
                        around: datetime | None = None) -> ColumnElement:
    """epoch_days_before() of an instant given in epoch seconds (a column holding epoch_seconds(...),
    computed once per row: the expression names it once per offset change)."""
    bound = at - days * DAY_SECONDS
    if tz is None:
        return bound
    year = (around or datetime.now(timezone.utc)).year
    shifts = [case((and_(at >= when, at - days * DAY_SECONDS < when), delta), else_=0)
              for when, delta in _offset_changes(tz, year - 3, year + 1)]
    return bound + sum(shifts, start=0) if shifts else bound


def latest_window_start(at: datetime, days: int, tz: tzinfo | None = None) -> int:
    """The latest value `epoch_days_before(S, days, tz, around=at)` takes for any instant S <= at, in
    epoch seconds: a history starting (epoch_seconds) later than this cannot hold the `days` before
    anything live at `at`. Not simply the value at `at`: just after a change of the zone's offset the
    bound of an earlier S can be up to that change later, so the SQL arithmetic is replayed at `at`
    and right before every offset change up to it, and the latest result counts."""
    top = math.ceil(at.timestamp())
    if tz is None:
        return top - days * DAY_SECONDS
    changes = _offset_changes(tz, at.year - 3, at.year + 1)

    def bound(s: int) -> int:  # epoch_days_before(), in Python
        return s - days * DAY_SECONDS + sum(delta for when, delta in changes if s >= when > s - days * DAY_SECONDS)

    # the SQL bound only jumps where S or S - days crosses a change; between jumps it rises with S
    breaks = {when + shift for when, _ in changes for shift in (0, days * DAY_SECONDS)}
    return max(bound(s) for s in [top, *(b - 1 for b in breaks if b - 1 <= top)])


@lru_cache(maxsize=16)
def _offset_changes(tz: tzinfo, first_year: int, last_year: int) -> tuple[tuple[int, int], ...]:
    """(epoch second, change in seconds) of every UTC offset change of `tz` in those years (those
    Python's datetimes hold: instants the catalog stores lie inside years 1 to 9999)."""
    first_year, last_year = max(first_year, 1), min(last_year, 9998)
    t, end = datetime(first_year, 1, 1, tzinfo=timezone.utc), datetime(last_year + 1, 1, 1, tzinfo=timezone.utc)
    changes, before = [], t.astimezone(tz).utcoffset()
    while t < end:
        step = t + timedelta(days=1)
        after = step.astimezone(tz).utcoffset()
        if after != before:
            lo, hi = t, step  # bisect to the second at which the new offset starts
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                lo, hi = (mid, hi) if mid.astimezone(tz).utcoffset() == before else (lo, mid)
            changes.append((int(hi.timestamp()), int((after - before).total_seconds())))
            before = after
        t = step
    return tuple(changes)


def later(a: ColumnElement, b: ColumnElement) -> ColumnElement:
    """The later of two instants; `a` is never NULL, `b` NULL means "no bound" (a is kept)."""
    return type_coerce(case((or_(b.is_(None), b <= a), a), else_=b), UTCDateTime())


def earlier(a: ColumnElement, b: ColumnElement) -> ColumnElement:
    """The earlier of two open-ended instants: NULL means "no end", so the other one counts."""
    return type_coerce(case((a.is_(None), b), (b.is_(None), a), (a <= b, a), else_=b), UTCDateTime())


def publication_intervals() -> CTE:
    """Per publication and location it covers: [live_from, live_to) in which it was the state.
    A publication superseded at the same instant gets an empty interval (live_from = live_to)."""
    pub, cov = Publication.__table__, PublicationLocation.__table__
    return (
        select(
            cov.c.publication_id, cov.c.channel, cov.c.location, pub.c.effective_from.label("live_from"),
            func.lead(pub.c.effective_from, type_=UTCDateTime()).over(
                partition_by=(cov.c.channel, cov.c.location),
                order_by=(pub.c.effective_from, pub.c.published_at, pub.c.id),
            ).label("live_to"),
        )
        .join(pub, pub.c.id == cov.c.publication_id)
        .cte("publication_intervals")
    )


def history_start() -> CTE:
    """Per (channel, location): `since`, the instant its first publication took effect."""
    pub, cov = Publication.__table__, PublicationLocation.__table__
    return (
        select(cov.c.channel, cov.c.location, func.min(pub.c.effective_from).label("since"))
        .join(pub, pub.c.id == cov.c.publication_id)
        .group_by(cov.c.channel, cov.c.location)
        .cte("history_start")
    )


def price_segments(products: FromClause | None = None, locations: FromClause | None = None,
                   before: datetime | None = None) -> CTE:
    """The price segments of every channel, location and product (see the module docstring).

    products: only the history of these products, for speed: a relation with columns key, gtin, url
    (e.g. the live offers a rule asks about); an offer row belongs to them by sku, GTIN or link.
    locations: only the segments of these (channel, location) pairs (a relation with columns channel,
    location), for speed; keys are still resolved over every channel's rows, as without it.
    before: only the segments starting before this instant (those starting later come after all of
    them in `price_runs`' order, so the runs of the others stay as they were)."""
    o = OfferRow.__table__
    iv = publication_intervals()
    rows = (
        select(
            o.c.id, o.c.channel, o.c.location, o.c.sku, o.c.gtin, o.c.url, o.c.currency, o.c.price_cents,
            o.c.sale_price_cents, o.c.sale_start, o.c.sale_end, o.c.valid_from, o.c.valid_to,
            iv.c.live_from, iv.c.live_to,
        )
        .join(iv, and_(iv.c.publication_id == o.c.publication_id, iv.c.location == o.c.location))
    )
    if products is None:
        rows = rows.cte("history_rows")
        keyed = with_keys(rows, "history_keyed")
    else:
        # The products' rows: by sku, GTIN or link. Rows with a sku keep it as their key, so a row of
        # another sku found by GTIN or link matters only where it lends its sku to a row without one
        # (with_keys): only then is it taken, which spares most rows the GTIN and link look-ups.
        by_link = or_(o.c.gtin.in_(select(products.c.gtin)), o.c.url.in_(select(products.c.url)))
        skuless = select(o.c.gtin, o.c.url).where(o.c.sku.is_(None), by_link).cte("history_skuless")
        lends = or_(o.c.sku.is_(None), o.c.gtin.in_(select(skuless.c.gtin)), o.c.url.in_(select(skuless.c.url)))
        rows = rows.where(
            exists(select(products.c.key)),  # no products, no scan: a constant the databases test once
            or_(o.c.sku.in_(select(products.c.key)), and_(lends, by_link)),
        ).cte("history_rows")
        # with_keys over the rows without a sku and those sharing their GTIN or link: the same keys as
        # over all rows, and only as much work as there are rows without a sku
        r = rows.c
        resolving = select(rows).where(or_(r.sku.is_(None), r.gtin.in_(select(skuless.c.gtin)),
                                           r.url.in_(select(skuless.c.url)))).cte("history_resolving")
        resolved = with_keys(resolving, "history_resolved")
        keyed = union_all(
            select(rows, r.sku.label("key")).where(r.sku.is_not(None)),
            select(resolved).where(resolved.c.sku.is_(None)),
        ).cte("history_keyed")
    # the offer's own existence: its publication's live interval, cut to its validity
    spans = select(
        # CAST: a plain text column, so SQLite can index it when joining (an expression has no affinity)
        keyed.c.id.label("offer_id"), keyed.c.channel, keyed.c.location, cast(keyed.c.key, String).label("key"),
        keyed.c.currency,
        keyed.c.price_cents, keyed.c.sale_price_cents, keyed.c.sale_start, keyed.c.sale_end,
        later(keyed.c.live_from, keyed.c.valid_from).label("a"),
        earlier(keyed.c.live_to, keyed.c.valid_to).label("b"),
    )
    if locations is not None:
        spans = spans.where(tuple_(keyed.c.channel, keyed.c.location).in_(
            select(locations.c.channel, locations.c.location)))
    spans = spans.cte("history_spans")

    def piece(start: ColumnElement, end: ColumnElement, cents: ColumnElement, *where: ColumnElement):
        if before is not None:
            where = (*where, start < before)
        return select(
            spans.c.channel, spans.c.location, spans.c.key, spans.c.currency, spans.c.offer_id,
            start.label("seg_start"), end.label("seg_end"), cents.label("cents"),
            spans.c.price_cents.label("regular_cents"),
        ).where(*where, or_(end.is_(None), start < end))

    s = spans.c
    no_sale = piece(s.a, s.b, s.price_cents, s.sale_price_cents.is_(None))
    before_sale = piece(s.a, earlier(s.b, s.sale_start), s.price_cents,
                        s.sale_price_cents.is_not(None), s.sale_start.is_not(None))
    in_sale = piece(later(s.a, s.sale_start), earlier(s.b, s.sale_end), s.sale_price_cents,
                    s.sale_price_cents.is_not(None))
    after_sale = piece(later(s.a, s.sale_end), s.b, s.price_cents,
                       s.sale_price_cents.is_not(None), s.sale_end.is_not(None))
    return union_all(no_sale, before_sale, in_sale, after_sale).cte("price_segments")


def price_runs(*, gradual: bool, products: FromClause | None = None, locations: FromClause | None = None,
               segments: FromClause | None = None, name: str = "price_runs") -> CTE:
    """price_segments() with `reduced`, `price_run_start` and `run_start` (see the module docstring).

    segments: the segments to compute them for, instead of price_segments(products, locations): e.g.
    those of a few (channel, location, key) out of a price_segments() a query uses anyway. The windows
    sort each product's segments, so it must hold ALL of each product's segments it holds any of.
    name: of the CTE (and `<name>_lagged`): a query using price_runs twice names them apart."""
    seg = segments if segments is not None else price_segments(products, locations)
    per_product = dict(partition_by=(seg.c.channel, seg.c.location, seg.c.key),
                       order_by=(seg.c.seg_start, seg.c.cents, seg.c.offer_id))
    reduced = seg.c.cents < seg.c.regular_cents
    lagged = select(
        seg.c.channel, seg.c.location, seg.c.key, seg.c.currency, seg.c.offer_id, seg.c.seg_start, seg.c.seg_end,
        seg.c.cents, seg.c.regular_cents, reduced.label("reduced"),
        func.lag(seg.c.seg_end, type_=UTCDateTime()).over(**per_product).label("prev_end"),
        func.lag(seg.c.cents, type_=BigInteger()).over(**per_product).label("prev_cents"),
        func.lag(seg.c.regular_cents, type_=BigInteger()).over(**per_product).label("prev_regular"),
    ).cte(f"{name}_lagged")
    g = lagged.c
    contiguous = g.prev_end == g.seg_start  # NULL (the first segment, or an open one) is not
    same_price = and_(contiguous, g.prev_cents == g.cents)
    step = g.prev_cents >= g.cents if gradual else g.prev_cents == g.cents
    still_reduced = and_(contiguous, g.prev_cents < g.prev_regular, g.cents < g.regular_cents, step)
    since = dict(partition_by=(g.channel, g.location, g.key), order_by=(g.seg_start, g.cents, g.offer_id),
                 rows=(None, 0))

    def start_of(continues: ColumnElement) -> ColumnElement:
        # the latest segment start (so far) at which the stretch did NOT continue
        began = type_coerce(case((continues, None), else_=g.seg_start), UTCDateTime())
        return func.max(began, type_=UTCDateTime()).over(**since)

    return select(
        g.channel, g.location, g.key, g.currency, g.offer_id, g.seg_start, g.seg_end, g.cents, g.regular_cents,
        g.reduced, start_of(same_price).label("price_run_start"), start_of(still_reduced).label("run_start"),
    ).cte(name)


def of_products(segments: FromClause, products: FromClause, name: str) -> FromClause:
    """The segments of these (channel, location, key) (a relation with those columns): every segment of
    each, as price_runs(segments=...) needs."""
    s = segments.c
    return select(segments).where(tuple_(s.channel, s.location, s.key).in_(
        select(products.c.channel, products.c.location, products.c.key))).subquery(name)
