"""window: promotions that should run together start and end together across channels.

    - id: promotion-windows-aligned
      kind: window
      channels: [shop, store]   # the first is the reference
      tolerance: 0h             # a difference up to this is no finding: 30m, 2h, 1d, 1d12h or ISO 8601 (PT2H)
      compare: [start, end]     # or only one of them

A promotion's window is an offer's sale window [sale_start, sale_end); a newsletter offer has no
sale window, so its window is its own validity [valid_from, valid_to) ("gültig bis 30.11."): a
newsletter is live, and compared, only while it is valid, and one that states no validity says
nothing about when the promotion runs. An open side
(NULL) means "always started" / "never ends"; an open side against a date is a difference.

At the instant of evaluation, every reference offer whose window has not ended yet (running or
upcoming) is compared with each offer of the other channels for the same key whose window has
not ended either; one finding per (key, reference location, other location) when a compared side
differs beyond the tolerance. An offer without a sale is not this rule's business: parity says
whether it charges the sale price.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError, WithJsonSchema, field_validator
from sqlalchemy import Select, Table, and_, case, func, or_, select
from sqlalchemy.sql import ColumnElement, FromClause

from unisono.catalog.history import epoch_seconds
from unisono.domain.findings import Finding
from unisono.rules.base import Channel, OfferView, RuleBase, accept_single_item, offer_columns, one_or_many, shop_title
from unisono.rules.messages import possessive, sentence
from unisono.domain.models import as_utc

if TYPE_CHECKING:
    from sqlalchemy import Row

    from unisono.rules.evaluate import EvalContext

_DURATION = re.compile(r"(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?")
_DURATION_HELP = "a duration such as 0h, 30m, 2h, 1d or 1d12h (m = minutes), or ISO 8601 such as PT2H"


def _duration(value: Any) -> Any:
    """"1d", "2h", "30m", "1d12h", 0, or ISO 8601 ("PT2H", "P1D") -> timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value == 0:
        return timedelta(0)
    if isinstance(value, str):
        text = value.strip().lower()
        m = _DURATION.fullmatch(text)
        if text and m and any(m.groups()):
            days, hours, minutes = (int(g or 0) for g in m.groups())
            return timedelta(days=days, hours=hours, minutes=minutes)
        if text == "0":
            return timedelta(0)
        if text.startswith("p"):
            try:
                return TypeAdapter(timedelta).validate_python(value.strip())
            except ValidationError:
                pass
    raise ValueError(f"{value!r} is not {_DURATION_HELP}")


Duration = Annotated[
    timedelta,
    BeforeValidator(_duration),
    WithJsonSchema({"type": "string", "examples": ["0h", "30m", "2h", "1d"], "description": _DURATION_HELP}),
]


class WindowRule(RuleBase):
    """Promotions start and end together across channels: the first channel is the reference."""

    model_config = ConfigDict(json_schema_extra=lambda schema: accept_single_item(schema, "compare"))

    kind: Literal["window"]
    channels: list[Channel] = Field(min_length=2)
    """The reference channel first, then the channels compared with it."""
    tolerance: Duration = timedelta(0)
    """A difference up to this is no finding: 30m, 2h, 1d, 1d12h (m = minutes) or ISO 8601 (PT2H). Default 0."""
    compare: Annotated[list[Literal["start", "end"]], BeforeValidator(one_or_many)] = Field(
        default_factory=lambda: ["start", "end"], min_length=1)
    """Which sides of the window must agree (default both)."""

    @field_validator("tolerance")
    @classmethod
    def _not_negative(cls, v: timedelta) -> timedelta:
        if v < timedelta(0):
            raise ValueError("the tolerance cannot be negative")
        return v

    @field_validator("compare")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        return [side for side in ("start", "end") if side in v]

    @property
    def reference(self) -> str:
        return self.channels[0]

    @property
    def others(self) -> list[str]:
        return list(dict.fromkeys(self.channels[1:]))

    def template_channels(self) -> list[str]:
        return list(self.channels)

    # -- compilation -----------------------------------------------------------------------

    def query(self, live: Table, ctx: EvalContext) -> Select:
        ref, other = live.alias("ref"), live.alias("other")  # the live table itself: its index on key serves the join
        (ref_has, ref_start, ref_end), (other_has, other_start, other_end) = _window(ref), _window(other)
        pairs = and_(other.c.key == ref.c.key, other.c.channel.in_(self.others))
        if self.reference in self.others:  # channels: [store, store]: each pair of locations once
            pairs = and_(pairs, or_(other.c.channel != ref.c.channel, other.c.location > ref.c.location))
        differs = {"start": self._differs(ref_start, other_start), "end": self._differs(ref_end, other_end)}
        # both have a promotion that is running or still to come (the instant is a bound parameter),
        # as one expression over both offers: pushed down into the scans, these conditions make a
        # planner without statistics of the temp table (PostgreSQL) expect a handful of rows and
        # choose a nested loop over all pairs; joined by key first, the pairs stay few
        promoting = and_(ref_has, other_has, or_(ref_end.is_(None), ref_end > ctx.at),
                         or_(other_end.is_(None), other_end > ctx.at))
        both_promoting = case((promoting, 1), else_=0) == 1
        return (
            select(
                *offer_columns(ref, "ref"), *offer_columns(other, "other"), shop_title(ref.c.key),
                ref_start.label("ref_start"), ref_end.label("ref_end"),
                other_start.label("other_start"), other_end.label("other_end"),
                *[case((d, 1), else_=0).label(f"differs_{side}") for side, d in differs.items()],
            )
            .select_from(ref.join(other, pairs))
            .where(ref.c.channel == self.reference, both_promoting, or_(*[differs[side] for side in self.compare]),
                   *self.scope_clauses(ref, [other]))
        )

    def _differs(self, a: ColumnElement, b: ColumnElement) -> ColumnElement:
        open_vs_date = or_(and_(a.is_(None), b.is_not(None)), and_(a.is_not(None), b.is_(None)))
        if not self.tolerance:
            return or_(open_vs_date, and_(a.is_not(None), b.is_not(None), a != b))
        seconds = func.abs(epoch_seconds(a) - epoch_seconds(b))  # the catalog's one instant-to-number
        return or_(open_vs_date, and_(a.is_not(None), b.is_not(None), seconds > self.tolerance.total_seconds()))

    # -- findings --------------------------------------------------------------------------

    def to_finding(self, row: Row, ctx: EvalContext) -> Finding:
        ref, other = OfferView.from_row(row, "ref"), OfferView.from_row(row, "other")
        m = row._mapping
        windows = {"ref": (as_utc(m["ref_start"]), as_utc(m["ref_end"])), "other": (as_utc(m["other_start"]), as_utc(m["other_end"]))}
        differing = [side for side in self.compare if m[f"differs_{side}"]]
        words = _Words(ctx.tz, ctx.at, possessive(ref.name))
        told = [words.differ(side, windows["other"][i], windows["ref"][i])
                for i, side in enumerate(("start", "end")) if side in differing]
        same = [words.same(side, windows["other"][i])
                for i, side in enumerate(("start", "end")) if not m[f"differs_{side}"]]
        message = f"{possessive(other.name)} promotion for {self.item(row, other)} {', and '.join(told)}"
        if same:
            message += "; " + " and ".join(same)
        return self.finding(
            row, [ref, other], message=sentence(message),
            values={ref.label: words.window(*windows["ref"]), other.label: words.window(*windows["other"])},
            extra={"differs": ", ".join(differing)},
        )


def _window(o: FromClause) -> tuple[ColumnElement, ColumnElement, ColumnElement]:
    """Whether offer `o` has a promotion window, and its start and end: the sale window, or a
    newsletter's validity (when it states one)."""
    newsletter = o.c.channel == "newsletter"
    has = or_(
        and_(newsletter, or_(o.c.valid_from.is_not(None), o.c.valid_to.is_not(None))),
        and_(o.c.channel != "newsletter", o.c.sale_price_cents.is_not(None)),
    )
    start = case((newsletter, o.c.valid_from), else_=o.c.sale_start)
    end = case((newsletter, o.c.valid_to), else_=o.c.sale_end)
    return has, start, end



class _Words:
    """Starts, ends and the distance between two instants, in the project's time zone.

    A start reads "27.11. 00:00". An end is exclusive in the catalog; a whole-day end (midnight)
    reads as the last day it covers ("ends 30.11." for an end at 01.12. 00:00), any other as its
    instant ("ends 30.11. 18:00"). The year is shown only when it is not the evaluation's year.
    """

    def __init__(self, tz: ZoneInfo, at: datetime, ref_whose: str):
        self.tz = tz
        self.year = at.astimezone(tz).year
        self.ref_whose = ref_whose  # "the shop's"

    def _date(self, local: datetime) -> str:
        return local.strftime("%d.%m.") + (str(local.year) if local.year != self.year else "")

    def start(self, instant: datetime) -> str:
        local = instant.astimezone(self.tz)
        return f"{self._date(local)} {local:%H:%M}"

    def end(self, instant: datetime) -> str:
        local = instant.astimezone(self.tz)
        if (local.hour, local.minute, local.second) == (0, 0, 0):
            return self._date(local - timedelta(days=1))
        return f"{self._date(local)} {local:%H:%M}"

    def window(self, start: datetime | None, end: datetime | None) -> str:
        return f"{self.start(start) if start else 'open'} – {self.end(end) if end else 'open'}"

    def differ(self, side: str, mine: datetime | None, theirs: datetime | None) -> str:
        show = self.start if side == "start" else self.end
        verb = "starts" if side == "start" else "ends"
        if mine is None:
            return f"has no {side} date, while {self.ref_whose} {verb} {show(theirs)}"
        if theirs is None:
            return f"{verb} {show(mine)}, while {self.ref_whose} has no {side} date"
        return f"{verb} {show(mine)}, {distance(mine, theirs, self.tz)} {self.ref_whose} ({show(theirs)})"

    def same(self, side: str, instant: datetime | None) -> str:
        if instant is None:
            return f"neither has {'a start' if side == 'start' else 'an end'} date"
        return f"both {side} {self.start(instant) if side == 'start' else self.end(instant)}"


def distance(a: datetime, b: datetime, tz: ZoneInfo) -> str:
    """"a day after", "2 hours before", "a day and 6 hours after": a against b, on the local clock
    (so 00:00 to 00:00 of the next day is a day, also across a daylight saving change)."""
    delta = a.astimezone(tz).replace(tzinfo=None) - b.astimezone(tz).replace(tzinfo=None)
    direction = "after" if delta > timedelta(0) else "before"
    minutes = int(abs(delta).total_seconds() // 60)
    if minutes == 0:
        return f"less than a minute {direction}"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [_count(n, unit) for n, unit in ((days, "day"), (hours, "hour"), (minutes, "minute")) if n]
    said = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{said} {direction}"


def _count(n: int, unit: str) -> str:
    if n == 1:
        return ("an " if unit == "hour" else "a ") + unit
    return f"{n} {unit}s"
