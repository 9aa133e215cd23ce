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
channel showing the product in the same currency). Set-based: catalog/history.py's price
segments joined with the live offers; Python only words the findings.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator
from sqlalchemy import Float, Select, Table, and_, case, cast, func, or_, select
from sqlalchemy.sql import ColumnElement

from unisono.catalog.history import epoch_days_before, epoch_seconds, history_start, later, price_runs
from unisono.catalog.tables import OfferRow, Publication, cents
from unisono.domain.findings import Finding, Severity, location_label
from unisono.domain.models import CHANNELS
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
    tolerance: Decimal = Field(Decimal(0), ge=0)
    """Money units the shown reference may exceed the lowest price (default 0: exact to the cent)."""
    percent_tolerance: Decimal = Field(Decimal(1), ge=0)
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

    def query(self, live: Table, ctx: EvalContext | None = None) -> Select:
        tz, at = (ctx.tz, ctx.at) if ctx is not None else (None, None)
        a = self._announced(live)
        # the history of the announced products only (every channel's offers for them: GTINs and links too)
        products = live.alias("product")
        runs = price_runs(gradual=self.gradual_reductions,
                          products=select(products).where(products.c.key.in_(select(a.c.o__key))).subquery("products"))
        starts = history_start()

        # S: the reduction's start, moved back while the judging channel was already reduced right before it
        h = runs.alias("before")
        price_now = a.c.o__effective_cents
        same_reduction = h.c.cents >= price_now if self.gradual_reductions else h.c.cents == price_now
        already_reduced = and_(
            *self._same_history(h, a), h.c.seg_start < a.c.s0, or_(h.c.seg_end.is_(None), h.c.seg_end >= a.c.s0),
            h.c.cents < h.c.regular_cents, same_reduction,
        )
        anchored = select(
            a, func.coalesce(h.c.run_start, a.c.s0).label("since"), h.c.cents.label("step_cents"),
            # one row per offer and judging location (segments never overlap, but a feed may list a product twice)
            func.row_number().over(partition_by=(a.c.offer_id, a.c.hist_location), order_by=h.c.run_start).label("rn"),
        ).select_from(a.outerjoin(h, already_reduced)).subquery("anchored")
        r = select(*[c for c in anchored.c if c.name != "rn"]).where(anchored.c.rn == 1).cte("reduction_since")

        # the lowest price in [S - days, S): the cheapest segment overlapping it (the latest one on a tie)
        w = runs.alias("lowest")
        lowest_row = OfferRow.__table__.alias("lowest_offer")
        window_start = epoch_days_before(r.c.since, self.days, tz, at)
        in_window = and_(*self._same_history(w, r), w.c.seg_start < r.c.since,
                         or_(w.c.seg_end.is_(None), epoch_seconds(w.c.seg_end) > window_start))
        measured = (
            select(
                r, w.c.cents.label("lowest_cents"), w.c.price_run_start.label("lowest_from"),
                w.c.seg_end.label("lowest_to"), lowest_row.c.source.label("lowest_source"),
                starts.c.since.label("history_since"),
                func.row_number().over(partition_by=(r.c.offer_id, r.c.hist_location),
                                       order_by=(w.c.cents, w.c.seg_start.desc())).label("rn"),
            )
            .select_from(
                r.outerjoin(w, in_window)
                .outerjoin(lowest_row, lowest_row.c.id == w.c.offer_id)
                .outerjoin(starts, and_(starts.c.channel == r.c.hist_channel, starts.c.location == r.c.hist_location))
            )
            .cte("measured")
        )
        m = measured.c
        known = and_(m.history_since.is_not(None),
                     epoch_seconds(m.history_since) <= epoch_days_before(m.since, self.days, tz, at))
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
        return select(
            measured, case((known, 1), else_=0).label("known"),
            case((reference_too_high, 1), else_=0).label("reference_too_high"),
            case((percent_wrong, 1), else_=0).label("percent_wrong"),
        ).where(m.rn == 1, or_(~known, reference_too_high, percent_wrong))

    def _announced(self, live: Table):
        """The live offers announcing a reduction, each with the location whose history judges it,
        the reference it shows (shown_cents) and s0: when its current reduced offer took effect."""
        o, hist = live.alias("o"), live.alias("hist")
        row, pub = OfferRow.__table__.alias("offer_row"), Publication.__table__.alias("offer_pub")
        mapped = {ch: h for ch, h in self.history_channel.items() if ch != h}
        hist_channel = o.c.channel
        if mapped:
            hist_channel = case(*[(o.c.channel == ch, h) for ch, h in mapped.items()], else_=o.c.channel)
        on_sale = o.c.effective_cents < o.c.price_cents
        shown = case(
            (and_(o.c.reference_cents.is_not(None), o.c.reference_cents > o.c.effective_cents), o.c.reference_cents),
            (on_sale, o.c.price_cents),
        )
        badge = and_(o.c.discount_percent.is_not(None), o.c.discount_percent > 0)
        s0 = later(later(pub.c.effective_from, row.c.valid_from), case((on_sale, o.c.sale_start)))
        judging = and_(
            hist.c.channel == hist_channel, hist.c.key == o.c.key, hist.c.currency == o.c.currency,
            # its own channel: the offer itself; another channel: each location showing the product
            or_(hist.c.channel != o.c.channel, hist.c.offer_id == o.c.offer_id),
        )
        return (
            select(
                *offer_columns(o, "o"), o.c.offer_id.label("offer_id"), shop_title(live, o.c.key),
                hist_channel.label("hist_channel"), hist.c.location.label("hist_location"),
                shown.label("shown_cents"), s0.label("s0"),
            )
            .select_from(
                o.join(row, row.c.id == o.c.offer_id).join(pub, pub.c.id == o.c.publication_id).join(hist, judging)
            )
            .where(o.c.channel.in_(self.channels), or_(shown.is_not(None), badge), *self.scope_clauses(o, [o]))
            .cte("announced")
        )

    @staticmethod
    def _same_history(seg, a) -> list[ColumnElement]:
        return [seg.c.channel == a.c.hist_channel, seg.c.location == a.c.hist_location,
                seg.c.key == a.c.o__key, seg.c.currency == a.c.o__currency]

    # -- findings --------------------------------------------------------------------------

    def to_finding(self, row: Row, ctx: EvalContext) -> Finding:
        o, m, tz = OfferView.from_row(row, "o"), row._mapping, ctx.tz
        judge = _Judge(m["hist_channel"], m["hist_location"], cross=m["hist_channel"] != o.channel)
        since, item = m["since"], self.item(row, o)
        shown = _money(m["shown_cents"], o.currency)
        stated = f"-{_percent(o.discount_percent)} %" if o.discount_percent and o.discount_percent > 0 else None
        lowest_key = f"lowest {self.days} days"
        extra = {"reduction_since": since.isoformat(), "judged_by": location_label(judge.channel, judge.location)}
        if m["history_since"] is not None:
            extra["history_since"] = m["history_since"].isoformat()

        if not m["known"]:  # no guess: say what is missing, at severity info, judged=False
            what = " and ".join(x for x in (shown and f"the {_reference_word(o)} price {shown}",
                                            stated and f"the {stated}") if x)
            if m["history_since"] is None:
                history = f"{judge.name} has no price history" if judge.cross else "there is no price history"
            else:
                history = f"{judge.whose('price history')} starts {short_instant(m['history_since'], tz)}"
            message = (f"Cannot judge {what} of {item} in {o.name}: {history}, the {self.days} days before "
                       f"the reduction on {short_instant(since, tz)} are not all known.")
            finding = self._finding(row, o, judge, {o.label: shown or stated, lowest_key: "unknown"}, message, extra,
                                    sources=[o.source])
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
        values = {o.label: shown or stated, lowest_key: lowest or "none"}
        sources = [o.source] + [src for src in [m["lowest_source"]] if src and src != o.source]
        return self._finding(row, o, judge, values, " ".join(parts), extra, sources)

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

