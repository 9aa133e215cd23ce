"""reference_price: an announced reduction states the lowest price of the 30 days before it
(EU Omnibus Directive art. 6a, in Germany PAngV §11; CJEU C-330/23 for percentages).

    - id: reference-price-30-days
      kind: reference_price
      channels: [shop, store, newsletter]   # whose offers are checked (default: all)
      history_channel: {newsletter: shop}   # whose price history judges a channel (default: its own;
                                            #   the newsletter has none, so the shop's)
      days: 30
      tolerance: 0.00                       # money units the shown reference may exceed the lowest price
      percent_tolerance: 1                  # percentage points a "-20 %" badge may be off (rounding)
      gradual_reductions: true              # PAngV §11(2): steps without interruption keep the first step's reference
      unless: {category: Lebensmittel}      # perishable goods, etc.

An offer announces a reduction when, at the instant, it is on sale (its regular price is the "was"
price it shows), shows a reference ("statt", strike-through) price above its price, or shows a
discount badge. The reduction took effect at S: the start of its current sale segment (sale start,
else when its publication took effect) or, for an offer without a sale (a newsletter), when it
became valid; S moves back while the judging channel was already reduced at that price right
before S (with gradual_reductions: at that price or a higher reduced one). The reference must not
exceed the lowest price the judging channel charged at that location in [S - days, S), and a
badge must match (lowest - price) / lowest. Days are calendar days in the project's zone (30 days
before 20.11. 00:00 is 21.10. 00:00, across the end of summer time). A product the judging channel
did not offer in that window has no former price: a shown one is flagged. Where that channel's
history at that location starts after S - days, the rule does not guess: an info finding with
judged=False says so (reported apart from violations, never failing a run).

One finding per offer (and, when another channel's history judges it, per location of that
channel showing the product in the same currency). Except where a judging location's whole
history is too short: S is never after the check's instant, so a history starting after `days`
before it cannot judge any reduction live there. That is decided per location from the
publication tables alone (catalog/history.py `history_start`, `latest_window_start`); those
offers never reach the price segments, and each (offer location, judging location) gets ONE
judged=False finding: sku "*", how many reductions, the first 20 skus in extra["skus"] (a first
catalog of 100,000 products would otherwise report one "cannot judge" per reduced offer). Its
fingerprint (rule, "*", locations) stays as the count changes.

Set-based: catalog/history.py's price segments of the judged products, up to the instant, joined
with the live offers; price_runs' window functions only for the few products that need them (a
reduction already running into S; the lowest price's stretch in a finding). Python only words the
findings.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import PurePath
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator
from sqlalchemy import (
    Column, CompoundSelect, Connection, Float, MetaData, Select, Table, and_, case, cast, exists, func, insert, literal,
    null, or_, select, union_all,
)
from sqlalchemy.sql import ColumnElement, FromClause
from sqlalchemy.sql.sqltypes import NullType

from unisono.catalog.history import (
    epoch_seconds, history_start, latest_window_start, later, materialized, of_products, price_runs,
    price_segments, seconds_days_before, unindexed,
)
from unisono.catalog.live import compared, drop_temporary, live_narrow
from unisono.catalog.tables import OfferRow, Publication, cents
from unisono.domain.findings import Finding, Severity, location_label
from unisono.domain.models import CHANNELS, as_utc
from unisono.rules.base import Channel, OfferView, RuleBase, offer_columns, shop_title
from unisono.rules.messages import offer_name, possessive, sentence, short_instant

if TYPE_CHECKING:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from sqlalchemy import Row

    from unisono.rules.evaluate import EvalContext

class ReferencePriceRule(RuleBase):
    """An announced reduction shows the lowest price of the 30 days before it took effect."""

    kind: Literal["reference_price"]
    channels: list[Channel] = Field(default_factory=lambda: list(CHANNELS), min_length=1)
    """Whose offers are checked (default: every channel)."""
    history_channel: dict[Channel, Channel] = Field(default_factory=lambda: {"newsletter": "shop"})
    """Whose price history judges a channel's offers; a channel not named here is judged by its own history."""
    days: int = Field(30, ge=1, le=366)
    """How far back the lowest price is looked for (the law: 30 days)."""
    tolerance: Decimal = Field(Decimal(0), ge=0, le=10**9, allow_inf_nan=False)  # (cents beyond 64 bits match nothing)
    """Money units the shown reference may exceed the lowest price (default 0: exact to the cent)."""
    percent_tolerance: Decimal = Field(Decimal(1), ge=0, allow_inf_nan=False)
    """Percentage points a stated discount may differ from the one measured from the lowest price (rounding)."""
    gradual_reductions: bool = True
    """Steps down without a return to the regular price keep the reference from before the first step (PAngV §11(2))."""

    @model_validator(mode="after")
    def _newsletter_needs_a_history(self) -> ReferencePriceRule:
        if "newsletter" in self.channels and self.history_channel.get("newsletter", "newsletter") == "newsletter":
            raise ValueError("the newsletter has no price history of its own: "
                             "judge it by the shop's (history_channel: {newsletter: shop})")
        return self

    def template_channels(self) -> list[str]:
        return list(self.channels)

    def judged_by(self, channel: str) -> str:
        return self.history_channel.get(channel, channel)

    # -- compilation -----------------------------------------------------------------------

    def query(self, live: Table, ctx: EvalContext | None = None) -> Select | CompoundSelect:
        tz, at = (ctx.tz, ctx.at) if ctx is not None else (None, None)
        # S <= at: a judging location whose history starts after this bound cannot judge anything live
        # at `at`. Decided per location from the publication tables, before any price segment is built
        history = self._history_known(latest_window_start(at, self.days, tz) if at is not None else None)
        judgeable = self._announced(live, history, enough=True).cte("judgeable")
        if ctx is not None and ctx.conn is not None and ctx.conn.dialect.name == "spark":
            # Spark's optimizer re-optimises each subquery of each inlined copy of this CTE (the
            # price history names it a few dozen times): minutes for one offer. A temporary view first
            judgeable = _temporary(ctx.conn, judgeable, "reference_price_judgeable")
        judged = self._judge(live, judgeable, tz, at)
        if at is None:  # no instant, so no bound: every location goes through its history
            return judged
        per_location = self._lacking_locations(self._announced(live, history, enough=False).cte("lacking"))
        # one result: the per-offer rows, then one row per location lacking the history (the other
        # branch's columns NULL, typed, so PostgreSQL unites them; `reductions` tells them apart)
        judged_cols = {c.name: c for c in judged.selected_columns}
        extra_cols = [c for c in per_location.c if c.name not in judged_cols]

        def typed_null(c):
            return (null() if isinstance(c.type, NullType) else cast(null(), c.type)).label(c.name)

        heavy = judged.add_columns(*[typed_null(c) for c in extra_cols])
        light = select(*[per_location.c[name] if name in per_location.c else typed_null(c)
                         for name, c in judged_cols.items()], *extra_cols)
        # nothing to judge (e.g. no location has 30 days of history yet): the databases would still
        # build the price history for the per-offer branch's plan (SQLite: seconds for 5,000 products)
        if ctx.conn is not None and not (self._some_history(ctx.conn, history)
                                         and ctx.conn.execute(select(exists(select(judgeable.c.offer_id)))).scalar()):
            return light
        if ctx.conn is not None and ctx.conn.dialect.name in ("sqlite", "spark"):
            # SQLite spends seconds preparing the whole statement with the price history in it (its
            # planner, not the data: ~2 s for 5,000 products), Spark's analyser minutes and gigabytes:
            # the history in a temporary table first
            heavy = self._judge(live, judgeable, tz, at, conn=ctx.conn).add_columns(*[typed_null(c) for c in extra_cols])
        return union_all(heavy, light)

    def _judging(self) -> list[str]:
        return sorted({self.judged_by(ch) for ch in self.channels})

    def _some_history(self, conn: Connection, history) -> bool:
        """Whether a judging location has history enough: the publication tables only, where asking
        for a judgeable offer scans every live one (1M x 5, a nightly job's first month: 1.3 CPU s)."""
        enough = select(history.c.channel).where(history.c.enough == 1, history.c.channel.in_(self._judging()))
        return bool(conn.execute(select(exists(enough))).scalar())

    @staticmethod
    def _history_known(cut: int | None):
        """Per (channel, location): since (when its history starts) and enough: 1 if that is not after
        `cut` (epoch seconds; always without one), else 0. The publication tables only: a few rows."""
        starts = history_start()
        enough = literal(1) if cut is None else case((epoch_seconds(starts.c.since) <= cut, 1), else_=0)
        return select(starts, enough.label("enough")).cte("history_known")

    def _judge(self, live: Table, a, tz: ZoneInfo | None, at: datetime | None, conn: Connection | None = None) -> Select:
        """The per-offer rows: an offer with its judging location's lowest price of the `days` before
        its reduction, where it violates the rule or its history does not reach back far enough.
        conn: the price segments are put in a temporary table on it first."""
        # the history of the announced products only (every channel's offers for them: GTINs and links
        # too), at the locations judging them, up to the instant (S <= at)
        p = compared({"url"}).alias("product")
        products = select(p.c.key, p.c.gtin, p.c.url).where(p.c.key.in_(select(a.c.o__key))).cte("products")
        if conn is not None and conn.dialect.name == "spark":  # named by a few dozen subqueries (see query)
            products = _temporary(conn, products, "reference_price_products")
        segs = price_segments(
            products=products,
            locations=select(a.c.hist_channel.label("channel"), a.c.hist_location.label("location"))
            .distinct().subquery("judging_locations"),
            before=at,
        )
        if conn is not None:
            segs = _temporary(conn, segs, "reference_price_segments")

        # S: the reduction's start, moved back while the judging channel was already reduced right before
        # it. Only where a reduced segment runs into s0 does S need the runs (window functions), so they
        # are computed for those products alone
        c = segs.alias("candidate")
        reduced_into = select(c.c.channel, c.c.location, c.c.key).select_from(
            a.join(c, self._reduced_into(c, a))).distinct().subquery("reduced_into")
        runs = price_runs(gradual=self.gradual_reductions, segments=of_products(segs, reduced_into, "reduced_segments"),
                          name="reduction_runs")
        h = runs.alias("before")
        steps = select(
            a.c.offer_id, a.c.hist_location, h.c.run_start, h.c.cents,
            # one per offer and judging location (segments never overlap, but a feed may list a product twice)
            func.row_number().over(partition_by=(a.c.offer_id, a.c.hist_location), order_by=h.c.run_start).label("rn"),
        ).select_from(a.join(h, self._reduced_into(h, a))).subquery("steps")
        first = select(steps).where(steps.c.rn == 1).subquery("first_step")
        since = func.coalesce(first.c.run_start, a.c.s0)
        r0 = materialized(select(
            a, since.label("since"), epoch_seconds(since).label("since_seconds"), first.c.cents.label("step_cents"),
        ).select_from(
            a.outerjoin(first, and_(first.c.offer_id == a.c.offer_id, first.c.hist_location == a.c.hist_location))
        ).cte("reduction_since"))
        # S - days, once per offer (not per segment compared with it): materialised, as SQL would
        # otherwise repeat the expression (one term per offset change of the zone) wherever it is used
        r = materialized(select(
            r0, seconds_days_before(r0.c.since_seconds, self.days, tz, at).label("window_start"),
        ).cte("reduction_window"))

        # the lowest price in [S - days, S): the cheapest segment overlapping it (the latest one on a tie),
        # found on narrow rows (sorting the offers' every column would cost more than the search)
        w = segs.alias("lowest")
        in_window = and_(*self._same_history(w, r, unindexed), w.c.seg_start < r.c.since,
                         or_(w.c.seg_end.is_(None), epoch_seconds(w.c.seg_end) > r.c.window_start))
        ranked = select(
            r.c.offer_id, r.c.hist_location, w.c.cents, w.c.seg_start, w.c.offer_id.label("segment_offer_id"),
            w.c.seg_end, func.row_number().over(partition_by=(r.c.offer_id, r.c.hist_location),
                                                order_by=(w.c.cents, w.c.seg_start.desc())).label("rn"),
        ).select_from(r.join(w, in_window)).subquery("ranked_lowest")
        lowest = select(ranked).where(ranked.c.rn == 1).subquery("lowest_in_window")
        measured = (
            select(
                r, lowest.c.cents.label("lowest_cents"), lowest.c.seg_start.label("lowest_segment"),
                lowest.c.segment_offer_id.label("lowest_offer_id"), lowest.c.seg_end.label("lowest_to"),
            )
            .select_from(r.outerjoin(lowest, and_(lowest.c.offer_id == r.c.offer_id,
                                                  lowest.c.hist_location == r.c.hist_location)))
            .cte("measured")
        )
        m = measured.c
        known = and_(m.history_since.is_not(None), epoch_seconds(m.history_since) <= m.window_start)
        reference_too_high = and_(
            m.shown_cents.is_not(None),
            or_(m.lowest_cents.is_(None), m.shown_cents - m.lowest_cents > cents(self.tolerance)),
        )
        measured_percent = (cast(m.lowest_cents - m.o__effective_cents, Float) * 100.0) / cast(m.lowest_cents, Float)
        percent_wrong = and_(
            m.o__discount_percent > 0,
            or_(m.lowest_cents.is_(None), m.lowest_cents <= 0,
                func.abs(m.o__discount_percent - measured_percent) > float(self.percent_tolerance)),
        )
        # a stated 30-day lowest price must be the lowest price (within the tolerance, either way)
        lowest_misstated = and_(
            m.stated_lowest_cents.is_not(None),
            or_(m.lowest_cents.is_(None), func.abs(m.stated_lowest_cents - m.lowest_cents) > cents(self.tolerance)),
        )
        found = select(
            measured, case((known, 1), else_=0).label("known"),
            case((reference_too_high, 1), else_=0).label("reference_too_high"),
            case((percent_wrong, 1), else_=0).label("percent_wrong"),
            case((lowest_misstated, 1), else_=0).label("lowest_misstated"),
        ).where(or_(~known, reference_too_high, percent_wrong, lowest_misstated)).cte("found")

        # for the findings only: the offer's columns, since when the lowest price was charged (its
        # segment's price run), its source, the shop's title
        f = found.c
        lowest_products = select(f.hist_channel.label("channel"), f.hist_location.label("location"),
                                 f.o__key.label("key")).where(f.lowest_cents.is_not(None)).distinct().subquery()
        lowest_runs = price_runs(gradual=self.gradual_reductions, name="lowest_runs",
                                 segments=of_products(segs, lowest_products, "lowest_segments"))
        lr, lowest_row = lowest_runs.alias("lowest_run"), OfferRow.__table__.alias("lowest_offer")
        same_segment = and_(lr.c.channel == f.hist_channel, lr.c.location == f.hist_location, lr.c.key == f.o__key,
                            lr.c.offer_id == f.lowest_offer_id, lr.c.seg_start == f.lowest_segment)
        o = live.alias("o")
        return select(
            *offer_columns(o, "o"), *[c for c in found.c if not c.name.startswith("o__")],
            lr.c.price_run_start.label("lowest_from"), lowest_row.c.source.label("lowest_source"),
            shop_title(f.o__key),
        ).select_from(
            found.join(o, and_(o.c.key == f.o__key, o.c.offer_id == f.offer_id))  # by the key's index
            .outerjoin(lr, same_segment).outerjoin(lowest_row, lowest_row.c.id == f.lowest_offer_id)
        )

    def _reduced_into(self, h, a) -> ColumnElement:
        """Segment h of the judging channel was reduced right before offer a's s0 and ran into it, at its
        price (or, gradual_reductions, a higher reduced one): the same reduction."""
        price_now = a.c.o__effective_cents
        same_reduction = h.c.cents >= price_now if self.gradual_reductions else h.c.cents == price_now
        return and_(
            *self._same_history(h, a), h.c.seg_start < a.c.s0, or_(h.c.seg_end.is_(None), h.c.seg_end >= a.c.s0),
            h.c.cents < h.c.regular_cents, same_reduction,
        )

    @staticmethod
    def _lacking_locations(lacking) -> FromClause:
        """One row per offer location and judging location whose history is too short: how many
        reductions (and of which kind: 'was', 'statt', badge), the first skus, the history's start."""
        group = (lacking.c.o__channel, lacking.c.o__location, lacking.c.hist_channel, lacking.c.hist_location)
        counts = select(
            *group, func.count().label("reductions"), func.sum(lacking.c.was).label("was_prices"),
            func.sum(lacking.c.statt).label("statt_prices"), func.sum(lacking.c.badge).label("badges"),
            func.min(lacking.c.history_since).label("history_since"),
            func.min(lacking.c.publication_id).label("publication_id"),
        ).group_by(*group).subquery("lacking_counts")
        ranked = select(  # narrow rows: the sort is the cost
            *group, lacking.c.o__key, func.row_number().over(partition_by=group, order_by=lacking.c.o__key).label("rn"),
        ).subquery("lacking_ranked")
        k = ranked.c
        first = select(
            k.o__channel, k.o__location, k.hist_channel, k.hist_location,
            func.aggregate_strings(k.o__key, _SEP).label("first_skus"),
        ).where(k.rn <= FIRST_SKUS).group_by(k.o__channel, k.o__location, k.hist_channel, k.hist_location) \
            .subquery("lacking_first")
        pub = Publication.__table__.alias("lacking_pub")
        same_group = and_(*[first.c[c.name] == counts.c[c.name] for c in group])
        return select(
            counts.c.o__channel, counts.c.o__location, counts.c.hist_channel, counts.c.hist_location,
            counts.c.history_since, counts.c.reductions, counts.c.was_prices, counts.c.statt_prices, counts.c.badges,
            first.c.first_skus, pub.c.source.label("publication_source"),
        ).select_from(
            counts.join(first, same_group).join(pub, pub.c.id == counts.c.publication_id)
        ).subquery("lacking_locations")

    def _announced(self, live: Table, history, *, enough: bool) -> Select:
        """The live offers announcing a reduction, each with the location whose history judges it
        (hist_channel, hist_location) and when that history starts (history_since): those whose
        judging location has enough history (`history`.enough), or, enough=False, those whose has not.

        Enough: with the reference it shows (shown_cents) and s0, when its current reduced offer took
        effect, for _judge. Not enough: narrow, for counting (was, statt, badge: 1 or 0)."""
        # the narrow relation (catalog/live.py `compared`): the wide rows are joined for the findings only
        o = compared(self.scope_columns() | ({"valid_from", "sale_start"} if enough else set())).alias("o")
        pub = Publication.__table__.alias("offer_pub")
        mapped = {ch: h for ch, h in self.history_channel.items() if ch != h and ch in self.channels}
        on_sale = o.c.effective_cents < o.c.price_cents
        statt = and_(o.c.reference_cents.is_not(None), o.c.reference_cents > o.c.effective_cents)
        shown = case((statt, o.c.reference_cents), (on_sale, o.c.price_cents))
        badge = and_(o.c.discount_percent.is_not(None), o.c.discount_percent > 0)
        stated_lowest = o.c.lowest_30d_cents.is_not(None)
        flag = int(enough)
        if enough:  # what judging needs (the offer's other columns are fetched for the findings only)
            s0 = later(later(pub.c.effective_from, o.c.valid_from), case((on_sale, o.c.sale_start)))
            columns = [o.c.channel.label("o__channel"), o.c.key.label("o__key"), o.c.currency.label("o__currency"),
                       o.c.location.label("o__location"), o.c.effective_cents.label("o__effective_cents"),
                       o.c.discount_percent.label("o__discount_percent"), o.c.offer_id,
                       shown.label("shown_cents"), o.c.lowest_30d_cents.label("stated_lowest_cents"), s0.label("s0")]
            offers = o.join(pub, pub.c.id == o.c.publication_id)
        else:
            columns = [o.c.channel.label("o__channel"), o.c.key.label("o__key"), o.c.currency.label("o__currency"),
                       o.c.location.label("o__location"), o.c.offer_id, o.c.publication_id,
                       case((statt, 0), (on_sale, 1), else_=0).label("was"),
                       case((statt, 1), else_=0).label("statt"), case((badge, 1), else_=0).label("badge")]
            offers = o
        # one scan of the live offers, and none when no location is on this side (a constant, tested once)
        judging = self._judging()
        any_location = exists(select(history.c.channel).where(history.c.enough == flag, history.c.channel.in_(judging)))
        red = (
            select(*columns).select_from(offers)
            .where(any_location, o.c.channel.in_(self.channels), or_(shown.is_not(None), badge, stated_lowest),
                   *self.scope_clauses(o, [o]))
            .cte("reducing" if enough else "reducing_unjudged")
        )

        def judged_at(hist_channel: ColumnElement, hist_location: ColumnElement, offers, channels: list[str]):
            return (
                select(red, hist_channel.label("hist_channel"), hist_location.label("hist_location"),
                       history.c.since.label("history_since"))
                .select_from(offers.join(history, and_(history.c.channel == hist_channel,
                                                       history.c.location == hist_location,
                                                       history.c.enough == flag)))
                .where(red.c.o__channel.in_(channels))
            )

        parts = []
        if own := [ch for ch in self.channels if ch not in mapped]:  # its own history: the offer's location
            parts.append(judged_at(red.c.o__channel, red.c.o__location, red, own))
        for channel, judge in mapped.items():  # another channel's: each location showing the product
            hist = live_narrow.alias(f"hist_{channel}")
            shows_it = and_(hist.c.channel == judge, hist.c.key == red.c.o__key, hist.c.currency == red.c.o__currency)
            # (once per location, though a feed may list a product twice there)
            parts.append(judged_at(hist.c.channel, hist.c.location, red.join(hist, shows_it), [channel]).distinct())
        return union_all(*parts) if len(parts) > 1 else parts[0]

    @staticmethod
    def _same_history(seg, a, segment_column=lambda c: c) -> list[ColumnElement]:
        s = seg.c
        return [segment_column(s.channel) == a.c.hist_channel, segment_column(s.location) == a.c.hist_location,
                segment_column(s.key) == a.c.o__key, segment_column(s.currency) == a.c.o__currency]

    # -- findings --------------------------------------------------------------------------

    def to_finding(self, row: Row, ctx: EvalContext) -> Finding:
        if row._mapping.get("reductions") is not None:  # a whole location lacking the history
            return self._lacking_finding(row._mapping, ctx)
        o, m, tz = OfferView.from_row(row, "o"), row._mapping, ctx.tz
        judge = _Judge(m["hist_channel"], m["hist_location"], cross=m["hist_channel"] != o.channel)
        since, item = m["since"], self.item(row, o)
        shown = _money(m["shown_cents"], o.currency)
        stated = f"-{_percent(o.discount_percent)} %" if o.discount_percent and o.discount_percent > 0 else None
        stated_lowest = _money(m["stated_lowest_cents"], o.currency)
        lowest_key = f"lowest {self.days} days"
        extra = {"reduction_since": since.isoformat(), "judged_by": location_label(judge.channel, judge.location)}
        if m["history_since"] is not None:
            extra["history_since"] = m["history_since"].isoformat()

        if not m["known"]:  # no guess: say what is missing, at severity info, judged=False
            what = _listed([x for x in (shown and f"the {_reference_word(o)} price {shown}", stated and f"the {stated}",
                                        stated_lowest and f"the stated {self.days}-day lowest price {stated_lowest}")
                            if x])
            if m["history_since"] is None:
                history = f"{judge.name} has no price history" if judge.cross else "there is no price history"
            else:
                history = f"{judge.whose('price history')} starts {short_instant(m['history_since'], tz)}"
            message = (f"Cannot judge {what} of {item} in {o.name}: {history}, the {self.days} days before "
                       f"the reduction on {short_instant(since, tz)} are not all known.")
            finding = self._finding(row, o, judge, {o.label: shown or stated or stated_lowest, lowest_key: "unknown"},
                                    message, extra, sources=[o.source])
            return finding.model_copy(update={"severity": Severity.info, "judged": False, "message": message})

        lowest = _money(m["lowest_cents"], o.currency)
        days = f"{self.days} days"
        not_offered = f"{judge.name} did not offer it" if judge.cross else "it was not offered there"
        parts = []
        if m["reference_too_high"]:
            head = f"{o.name} shows {shown} as the former price of {item} ({_reduction(o, since, m['step_cents'], tz)})"
            if lowest is None:
                parts.append(sentence(f"{head}, but {not_offered} in the {days} before"))
            else:
                parts.append(sentence(f"{head}, but {judge.whose('lowest price', own='its')} in the {days} before "
                                      f"was {lowest} ({_stretch(m, since, self.days, tz)})"))
        if m["percent_wrong"]:
            extra["discount_stated"] = stated
            if lowest is None:
                before = f"in the {days} before {short_instant(since, tz)}"
                parts.append(f"It also states {stated}." if parts else
                             sentence(f"{o.name} states {stated} for {item}, but {not_offered} {before}"))
            else:
                actual = (Decimal(m["lowest_cents"]) - Decimal(o.effective_cents)) / Decimal(m["lowest_cents"]) * 100
                extra["discount_measured"] = f"{_percent(actual)} %"
                result = f"the reduction is {_percent(actual)} %" if actual > 0 else "it is no reduction at all"
                if parts:
                    parts.append(f"It also states {stated}; measured from that lowest price {result}.")
                else:
                    base = judge.whose(f"{self.days}-day lowest price", own="the")
                    parts.append(sentence(f"{o.name} states {stated} for {item}; "
                                          f"measured from {base} {lowest} {result}"))
        if m["lowest_misstated"]:
            extra["lowest_stated"] = stated_lowest
            actual = (f"{judge.whose('lowest price', own='its')} was {lowest} ({_stretch(m, since, self.days, tz)})"
                      if lowest is not None else f"{not_offered} in the {days} before")
            if parts:
                parts.append(f"It also states {stated_lowest} as the lowest price of the {days} before.")
            else:
                parts.append(sentence(f"{o.name} states {stated_lowest} as the lowest price of {item} in the {days} "
                                      f"before ({_reduction(o, since, m['step_cents'], tz)}), but {actual}"))
        values = {o.label: shown or stated or stated_lowest, lowest_key: lowest or "none"}
        if stated_lowest is not None:
            values[f"stated lowest {self.days} days"] = stated_lowest
        sources = [o.source] + [src for src in [m["lowest_source"]] if src and src != o.source]
        return self._finding(row, o, judge, values, " ".join(parts), extra, sources)

    def _lacking_finding(self, m, ctx: EvalContext) -> Finding:
        """ONE judged=False finding for all reductions at a location whose history is too short
        (sku "*": its fingerprint is the rule and the locations, whatever the count)."""
        channel, location, tz = m["o__channel"], m["o__location"], ctx.tz
        judge = _Judge(m["hist_channel"], m["hist_location"], cross=m["hist_channel"] != channel)
        n, since = m["reductions"], m["history_since"]
        kinds = [(m["was_prices"], "'was' price"), (m["statt_prices"], "'statt' price"), (m["badges"], "badge")]
        shown = _listed([f"a {word}" if count == 1 else f"{word}s" for count, word in kinds if count])
        message = (f"Cannot judge {n:,} announced reduction{'s' if n != 1 else ''} in {offer_name(channel, location)}"
                   f"{f' ({shown})' if shown else ''}: {judge.whose('price history', own='its')} starts "
                   f"{_date(since, tz)}, the {self.days} days before {_date(ctx.at, tz)} are not all known. "
                   "Publish older price files with --published-at to judge them.")
        skus = sorted(set(m["first_skus"].split(_SEP)) - {""})[:FIRST_SKUS]
        extra = {"skus": ", ".join(skus), "judged_by": location_label(judge.channel, judge.location),
                 "history_since": since.isoformat()}
        channels, locations = [channel], [location_label(channel, location)]
        if judge.cross:  # the newsletter and the shop location whose history would judge it
            channels.append(judge.channel)
            locations.append(location_label(judge.channel, judge.location))
        return Finding(
            rule=self.id, kind=self.kind, severity=Severity.info, sku="*", title=None, channels=channels,
            locations=locations, values={"reductions": str(n), "history since": _date(since, tz)}, message=message,
            sources=[PurePath(m["publication_source"]).name], extra=extra, judged=False,
        )

    def _finding(self, row: Row, o: OfferView, judge: _Judge, values: dict[str, str], message: str,
                 extra: dict[str, str], sources: list[str]) -> Finding:
        channels, locations = [o.channel], [o.label]
        if judge.cross:  # the newsletter and the shop location whose history judged it
            channels.append(judge.channel)
            locations.append(location_label(judge.channel, judge.location))
        return self.finding(row, [o], values=values, message=message, channels=channels, locations=locations,
                            sources=sources, extra=extra)


@dataclass
class _Judge:
    """The channel and location whose price history judges an offer (cross: not the offer's own)."""

    channel: str
    location: str
    cross: bool

    @property
    def name(self) -> str:
        return offer_name(self.channel, self.location)

    def whose(self, thing: str, own: str = "") -> str:
        """"the shop's lowest price" for another channel's history; "its lowest price" for the own."""
        if self.cross:
            return f"{possessive(self.name)} {thing}"
        return f"{own} {thing}" if own else thing


def _temporary(conn: Connection, query: FromClause, name: str) -> Table:
    """The rows of `query` in a fresh temporary table of that name (its columns and types)."""
    table = Table(name, MetaData(), *[Column(c.name, c.type) for c in query.c], prefixes=["TEMPORARY"])
    drop_temporary(conn, table)
    table.create(conn)
    conn.execute(insert(table).from_select([c.name for c in query.c], select(query)))
    return table


FIRST_SKUS = 20  # how many skus a finding for a whole location names
_SEP = "\x1f"  # between the skus SQL aggregates (a character no sku contains)


def _date(instant: datetime, tz: ZoneInfo) -> str:
    """"19.11.2026" in the project's zone."""
    return f"{as_utc(instant).astimezone(tz):%d.%m.%Y}"


def _listed(items: list[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    return " and ".join([", ".join(items[:-1]), items[-1]] if len(items) > 2 else items)


def _money(amount_cents: int | None, currency: str) -> str | None:
    return None if amount_cents is None else f"{Decimal(amount_cents) / 100:.2f} {currency}"


def _percent(value: float | Decimal) -> str:
    """20, 19.6, 33.3: one decimal at most, no trailing zeros."""
    rounded = Decimal(str(value)).quantize(Decimal("0.1"))
    return f"{rounded.normalize():f}"


def _reference_word(o: OfferView) -> str:
    return "'was'" if o.effective_cents < o.price_cents and o.reference_cents is None else "'statt'"


def _reduction(o: OfferView, since: datetime, step_cents: int | None, tz: ZoneInfo) -> str:
    """"sale 79.99 EUR since 27.11.": the reduced price and when the reduction took effect."""
    price, when = o.text("effective_price"), short_instant(since, tz)
    sale = o.effective_cents < o.price_cents
    if step_cents is not None and step_cents != o.effective_cents:
        return f"{'sale ' if sale else ''}{price}, reduced in steps since {when}"
    if sale:
        return f"sale {price} since {when}"
    if o.channel == "newsletter":
        return f"advertised at {price} from {when}"
    return f"{price} since {when}"


def _stretch(m, since: datetime, days: int, tz: ZoneInfo) -> str:
    """When the lowest price was charged: "from 12.11.", or "from 28.10. until 20.11." when it ended before S."""
    start = max(m["lowest_from"], since.astimezone(tz) - timedelta(days=days))  # wall-clock days, like the SQL
    text = f"from {short_instant(start, tz)}"
    if m["lowest_to"] is not None and m["lowest_to"] < since:
        text += f" until {short_instant(m['lowest_to'], tz)}"
    return text

