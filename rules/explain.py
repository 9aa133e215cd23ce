"""Why a rule does or does not flag one product: the offers it sees and, for parity and presence,
each comparison it makes, in a merchandiser's words.

The verdict itself is never decided here: api/explain.py takes it from the findings the check
reports for the product, so `explain` cannot disagree with `check`. This module tells the reasons:

    store 1002: 99.99 EUR against the shop's 79.99 EUR, difference 20.00 > tolerance 0.01 -> finding
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from unisono.catalog.live import live
from unisono.domain.models import CHANNELS, as_utc
from unisono.rules.base import MONEY_FIELDS, OFFER_COLUMNS, OfferView
from unisono.rules.messages import capitalized, field_label, possessive
from unisono.rules.scope import scope_clause

if TYPE_CHECKING:
    from unisono.rules.ruleset import Rule


@dataclass
class SeenOffer:
    channel: str
    location: str
    title: str | None
    price: str
    sale: str  # "79.99 EUR 20.11.–30.11." or "none"
    charges: str  # the effective price
    why: str  # "inside its sale window", "its sale starts 27.11.", "no sale"
    availability: str | None
    source: str

    def as_json(self) -> dict:
        return asdict(self)


def channels_of(rule: Rule) -> list[str]:
    """The channels whose offers a rule looks at."""
    if rule.kind == "presence":
        return list(dict.fromkeys([rule.when_in, *rule.require_in]))
    if rule.kind == "claim":
        return list(CHANNELS)
    return list(dict.fromkeys([*rule.template_channels(), *(getattr(rule, "exclusive_to", None) or [])]))


def offers_of(conn: Connection, key: str, channels: list[str] | None = None) -> list[OfferView]:
    """The live offers of a product (the live table built for the instant), by channel and location."""
    q = select(*[live.c[c] for c in OFFER_COLUMNS]).where(live.c.key == key)
    if channels is not None:
        q = q.where(live.c.channel.in_(channels))
    rows = conn.execute(q.order_by(live.c.channel, live.c.location)).all()
    return [OfferView(**dict(r._mapping)) for r in rows]


def _day(t: datetime | None, tz: ZoneInfo, *, end: bool = False) -> str:
    if t is None:
        return "…"
    t = as_utc(t).astimezone(tz)
    if end and (t.hour, t.minute) == (0, 0):  # [start, end): a midnight end is the day before's last
        t = t - timedelta(days=1)
        return t.strftime("%d.%m.%Y")
    return t.strftime("%d.%m.%Y") + (t.strftime(" %H:%M") if (t.hour, t.minute) != (0, 0) else "")


def seen(offer: OfferView, at: datetime, tz: ZoneInfo) -> SeenOffer:
    """One offer as the rule sees it, with the price it charges at `at` and why."""
    start, end = offer.sale_start, offer.sale_end
    start, end = as_utc(start), as_utc(end)
    if offer.sale_price_cents is None:
        why = "advertised price" if offer.channel == "newsletter" else "regular price, no sale"
        sale = "none"
    else:
        sale = f"{offer.text('sale_price')} {_day(start, tz)}–{_day(end, tz, end=True)}"
        if offer.effective_cents == offer.sale_price_cents and offer.effective_cents != offer.price_cents:
            why = "sale price: inside its sale window"
        elif start is not None and at < start:
            why = f"regular price: its sale starts only {_day(start, tz)}"
        elif end is not None and at >= end:
            why = f"regular price: its sale ended {_day(end, tz)}"
        else:
            why = "regular price (the sale price is not lower)"
    return SeenOffer(offer.channel, offer.location, offer.title, offer.text("price"), sale,
                     offer.text("effective_price"), why, offer.availability, offer.source)


def scope_notes(conn: Connection, rule: Rule, key: str) -> list[str]:
    """Which of the product's offers `where` selects and `unless` exempts (each offer judged alone)."""
    notes = []
    for name, scope, verb in (("where", rule.where, "checks"), ("unless", rule.unless, "exempts")):
        if scope is None:
            continue
        said = ", ".join(f"{k} {', '.join(v)}" for k, v in scope.model_dump(exclude_none=True).items())
        hit = conn.execute(select(live.c.channel, live.c.location).where(
            live.c.key == key, scope_clause(scope, live, [live])).order_by(live.c.channel, live.c.location)).all()
        places = ", ".join(f"{c}:{loc}" for c, loc in hit) or "none of its offers"
        notes.append(f"{name} ({said}) {verb} {places}")
    return notes


def parity_comparisons(rule: Rule, offers: list[OfferView], flagged: set[frozenset[str]],
                       waived: set[frozenset[str]] = frozenset()) -> list[str]:
    """Each offer of the other channels against each of the reference, field by field, with the
    tolerance the rule allows. `flagged`: the location pairs the check reports (the verdict);
    `waived`: those it reports as waived."""
    refs = [o for o in offers if o.channel == rule.reference]
    lines = []
    for ref in refs:
        for other in offers:
            if other.channel not in rule.others or other is ref:
                continue
            if other.channel == ref.channel and other.location <= ref.location:
                continue  # within one channel each pair once, as the rule compares them
            found = frozenset({ref.label, other.label}) in flagged
            compared = [_compare(rule, field, ref, other) for field in rule.fields]
            for text, differs in compared:
                verdict = ""
                if differs:
                    pair = frozenset({ref.label, other.label})
                    verdict = " → finding" if found else " → finding, waived (see the waivers below)" \
                        if pair in waived else " → differs, yet the check reports nothing for this pair (see the scope above)"
                lines.append(f"{capitalized(other.name)}: {text}{verdict}")
            if found and not any(differs for _, differs in compared):
                lines.append(f"{capitalized(other.name)}: → finding (as the check reports it)")
    if not refs:
        lines.append(f"no offer in {rule.reference} (the reference) to compare with: parity has nothing to judge")
    elif len(lines) == 0:
        lines.append(f"no offer in {', '.join(rule.others)} to compare with {rule.reference}")
    return lines


def _compare(rule: Rule, field: str, ref: OfferView, other: OfferView) -> tuple[str, bool]:
    """One field of two offers as the rule compares it, and whether it counts as a difference."""
    label = "charges" if field == "effective_price" else field_label(field)
    a, b = ref.value(field), other.value(field)
    said = f"{label} {other.text(field)} against {possessive(ref.name)} {ref.text(field)}"
    if field not in MONEY_FIELDS:
        if a is None or b is None:
            return f"{said}: unknown on one side, not compared", False
        same = (str(a).strip().lower() == str(b).strip().lower()) if field == "title" else a == b
        return f"{said}: {'the same' if same else 'different'}", not same
    if a is None or b is None:
        if field == "sale_price" and (a is None) != (b is None):
            return f"{said}: a sale on one side only", True
        return f"{said}: missing on one side, not compared", False
    if ref.currency != other.currency:
        return f"{said}: different currencies", True
    diff = {"both": abs(b - a), "not_above": b - a, "not_below": a - b}[rule.direction]
    allowed = max(rule.tolerance, rule.relative_tolerance * abs(a))
    how = {"both": "difference", "not_above": "above it by", "not_below": "below it by"}[rule.direction]
    allowed_text = f"tolerance {rule.tolerance}"
    if rule.relative_tolerance:
        allowed_text = f"tolerance {allowed:.2f} (the larger of {rule.tolerance} and {rule.relative_tolerance:%} of {a:.2f})"
    beyond = diff > allowed
    return f"{said}, {how} {diff:.2f} {'>' if beyond else '≤'} {allowed_text}", beyond


def presence_checks(conn: Connection, rule: Rule, offers: list[OfferView]) -> list[str]:
    """For each offer of when_in: is the product listed (and available) in each required channel?"""
    lines = []
    advertised = [o for o in offers if o.channel == rule.when_in]
    if not advertised:
        return [f"no offer in {rule.when_in}: nothing to require elsewhere"]
    for channel in dict.fromkeys(rule.require_in):
        there = [o for o in offers if o.channel == channel]
        counted = [o for o in there if not rule.require_available or o.availability != "out_of_stock"]
        listed = ", ".join(f"{o.label} ({o.availability or 'availability not stated'})" for o in there)
        if counted:
            verdict = f"listed in {listed} → present"
        elif there:
            verdict = f"listed in {listed}, but out of stock everywhere and require_available is set → missing"
        else:
            verdict = f"not listed in any {channel} → missing"
        lines.append(f"{', '.join(o.label for o in advertised)} requires {channel}: {verdict}")
    return lines


def expression_checks(conn: Connection, rule: Rule, key: str) -> list[str]:
    """Each combination of the product's offers in the channels the condition names, with the values
    it reads and whether the condition holds for them (evaluated by the database, as the rule is)."""
    from sqlalchemy import and_, case

    from unisono.rules.base import offer_columns

    cond = rule.condition
    channels = cond.channels
    aliases = {ch: live.alias(ch) for ch in channels}
    first = joined = aliases[channels[0]]
    for ch in channels[1:]:
        joined = joined.join(aliases[ch], and_(aliases[ch].c.channel == ch, aliases[ch].c.key == first.c.key))
    holds = case((cond.compile(aliases), 1), else_=0).label("holds")
    rows = conn.execute(select(*[c for ch in channels for c in offer_columns(aliases[ch], ch)], holds)
                        .select_from(joined).where(first.c.channel == channels[0], first.c.key == key)).all()
    if not rows:
        return [f"the condition needs an offer in each of {', '.join(channels)}: the product lacks one, nothing to evaluate"]
    lines = []
    for row in rows:
        offers = {ch: OfferView.from_row(row, ch) for ch in channels}
        said = ", ".join(f"{ch}.{f} {offers[ch].text(f)}" for ch, f in dict.fromkeys(cond.mentions))
        where = " × ".join(o.label for o in offers.values())
        lines.append(f"{where}: {said} → {'the condition holds' if row.holds else 'the condition does not hold'}")
    return lines


def reductions(rule: Rule, offers: list[OfferView]) -> list[str]:
    """Which offers announce a reduction (what the reference-price rule judges) and which do not."""
    lines = []
    for o in offers:
        if rule.channels and o.channel not in rule.channels:
            continue
        shown = o.reference_cents if o.reference_cents and o.reference_cents > o.effective_cents else \
            o.price_cents if o.effective_cents < o.price_cents else None
        if shown is not None:
            lines.append(f"{o.label} announces a reduction: {o.text('effective_price')} instead of "
                         f"{shown / 100:.2f} {o.currency}; that former price is judged against its price history")
        elif o.discount_percent or o.lowest_30d_cents is not None:
            lines.append(f"{o.label} states a discount or a 30-day lowest price: judged against its price history")
        else:
            lines.append(f"{o.label} announces no reduction (no sale, no former price, no badge): nothing to judge")
    return lines
