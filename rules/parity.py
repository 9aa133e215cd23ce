"""parity: a field is the same in every channel, e.g. the stores charge what the shop charges.

    - id: price-parity
      kind: parity
      channels: [shop, store]          # the first is the reference
      fields: [price, effective_price] # or `field: effective_price`
      tolerance: 0.01                  # money units; a difference up to this is no finding
      relative_tolerance: 0            # a fraction of the reference value, e.g. 0.02 = 2 %
      direction: both                  # or not_above / not_below (money fields only)

Each location of the other channels is compared with each location of the reference channel
for the same key; one finding per pair when any listed field differs. A channel without an
offer for the key is not parity's business (presence rules cover that).
"""
from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AliasChoices, BeforeValidator, ConfigDict, Field, field_validator
from sqlalchemy import Select, Table, and_, case, exists, func, or_, select
from sqlalchemy.sql import ColumnElement, FromClause

from unisono.catalog.live import compared
from unisono.domain.findings import Finding
from unisono.rules.base import (
    FIELD_COLUMNS, MONEY_FIELDS, Channel, OfferView, RuleBase, accept_single_item, one_or_many, shop_title,
    carried, widened,
)
from unisono.rules.claim_live import SALE_FIELDS, exclusive_keys, exclusive_table
from unisono.rules.found_rows import materialise
from unisono.rules.messages import field_label, possessive, sentence, short_instant

if TYPE_CHECKING:
    from sqlalchemy import Row

    from unisono.rules.evaluate import EvalContext

ParityField = Literal["price", "sale_price", "effective_price", "currency", "availability", "title"]


def _schema(schema: dict) -> None:
    accept_single_item(schema, "fields")
    one_field = schema["properties"]["fields"]["anyOf"][0]
    schema["properties"]["field"] = {**one_field, "description": "One field: the same as fields: [...]."}
    schema["required"].remove("fields")
    schema["oneOf"] = [{"required": ["fields"]}, {"required": ["field"]}]


class ParityRule(RuleBase):
    """A field is the same in every channel: the first channel is the reference."""

    model_config = ConfigDict(json_schema_extra=_schema)

    kind: Literal["parity"]
    fields: Annotated[list[ParityField], BeforeValidator(one_or_many)] = Field(
        validation_alias=AliasChoices("fields", "field"), min_length=1
    )
    """The fields compared; one finding per pair of offers when any differs."""
    channels: list[Channel] = Field(min_length=2)
    """The reference channel first, then the channels compared with it."""
    tolerance: Decimal = Field(Decimal(0), ge=0, le=10**9, allow_inf_nan=False)  # (cents beyond 64 bits match nothing)
    """Money units: a difference up to this is no finding (default 0: exact to the cent)."""
    relative_tolerance: Decimal = Field(Decimal(0), ge=0, lt=1, allow_inf_nan=False)
    """A fraction of the reference value (0.02 = 2 %); the larger of both tolerances counts."""
    direction: Literal["both", "not_above", "not_below"] = "both"
    """Money fields: not_above = the others may not charge more than the reference; not_below = not less."""
    exclusive_claims: bool = True
    """Honour claims that reserve a product's reduction to one side: for a product a live claim calls
    "nur online" the stores' sale (effective_price, sale_price) is not compared, nor the shop's for "nur
    im Markt"; regular prices still are. The claim rule reports a store that reduces it anyway."""

    @field_validator("fields")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        return list(dict.fromkeys(v))

    @property
    def reference(self) -> str:
        return self.channels[0]

    @property
    def others(self) -> list[str]:
        return list(dict.fromkeys(self.channels[1:]))

    def template_channels(self) -> list[str]:
        return list(self.channels)

    # -- compilation -----------------------------------------------------------------------

    def query(self, live: Table, ctx: EvalContext | None = None) -> Select:
        """The pairs that differ, found on the compared columns only (catalog/live.py `compared`), then
        widened to their offers' evidence: the join never carries titles, links and sources."""
        rel = compared({FIELD_COLUMNS[f] for f in self.fields} | {"currency"} | self.scope_columns())
        ref, other = rel.alias("ref"), rel.alias("other")
        pairs = and_(other.c.key == ref.c.key, other.c.channel.in_(self.others))
        if self.reference in self.others:
            # within one channel (channels: [store, store]) compare each pair of locations once
            pairs = and_(pairs, or_(other.c.channel != ref.c.channel, other.c.location > ref.c.location))
        differs = {f: self._differs(f, ref, other) for f in self.fields}
        if (exempt := self._exempt(live, ctx, ref, other)) is not None:
            differs = {f: and_(d, ~exempt) if f in SALE_FIELDS else d for f, d in differs.items()}
        found = (
            select(
                ref.c.key, carried(ref, "ref"), carried(other, "other"),
                *[case((d, 1), else_=0).label(f"differs_{f}") for f, d in differs.items()],
            )
            .select_from(ref.join(other, pairs))
            .where(ref.c.channel == self.reference, or_(*differs.values()), *self.scope_clauses(ref, [other]))
        )
        found = materialise(ctx.conn, "parity_found", found) if ctx is not None and ctx.conn is not None \
            else found.subquery("found")
        columns, joined = widened(found, "ref", "other")
        return select(
            *columns, shop_title(found.c.key, among=select(found.c.key)),
            *[found.c[f"differs_{f}"] for f in differs],
        ).select_from(joined)

    def _exempt(self, live: Table, ctx: EvalContext | None, ref: FromClause,
                other: FromClause) -> ColumnElement | None:
        """True for a pair whose sale a live exclusive claim keeps out of comparison (claim_live.py)."""
        if not self.exclusive_claims or ctx is None or ctx.conn is None or not SALE_FIELDS & set(self.fields):
            return None
        keys = exclusive_keys(ctx.conn, live, ctx.at, ctx.config)
        if not keys:
            return None
        ex = exclusive_table(ctx.conn, keys)
        return exists().where(ex.c.key == ref.c.key, ex.c.excluded.in_([ref.c.channel, other.c.channel]))

    def _differs(self, field: str, ref: FromClause, other: FromClause) -> ColumnElement:
        col = FIELD_COLUMNS[field]
        a, b = ref.c[col], other.c[col]
        if field == "currency":
            return a != b
        if field not in MONEY_FIELDS:
            # availability and title: unknown (NULL) on either side is not a difference
            norm = (lambda c: func.lower(func.trim(c))) if field == "title" else (lambda c: c)
            return and_(a.isnot(None), b.isnot(None), norm(a) != norm(b))
        both = and_(a.isnot(None), b.isnot(None))
        changes = [and_(both, ref.c.currency != other.c.currency), and_(both, self._beyond_tolerance(a, b))]
        if field == "sale_price":  # a sale in one channel only is a difference
            changes.append(or_(and_(a.is_(None), b.isnot(None)), and_(a.isnot(None), b.is_(None))))
        return or_(*changes)

    def _beyond_tolerance(self, ref_cents: ColumnElement, other_cents: ColumnElement) -> ColumnElement:
        # violated when the difference exceeds max(tolerance, relative_tolerance * |reference|);
        # written as two comparisons because GREATEST is not portable (SQLite spells it max)
        diff = {
            "both": func.abs(other_cents - ref_cents),
            "not_above": other_cents - ref_cents,  # the others may not charge more
            "not_below": ref_cents - other_cents,  # the others may not charge less
        }[self.direction]
        # in whole cents: an integer difference exceeds x exactly when it exceeds floor(x), and an
        # integer comparison is cheaper than one the database casts to a decimal for every pair
        beyond = [diff > int((self.tolerance * 100).to_integral_value(rounding=ROUND_FLOOR))]
        if self.relative_tolerance:
            beyond.append(diff > float(self.relative_tolerance) * func.abs(ref_cents))
        return and_(*beyond)

    # -- findings --------------------------------------------------------------------------

    def to_finding(self, row: Row, ctx: EvalContext) -> Finding:
        ref, other = OfferView.from_row(row, "ref"), OfferView.from_row(row, "other")
        differing = [f for f in self.fields if row._mapping[f"differs_{f}"]]
        first = differing[0]

        def same_values(f: str, g: str) -> bool:
            return (ref.text(f), other.text(f)) == (ref.text(g), other.text(g))

        if "effective_price" in differing and same_values("effective_price", first):
            first = "effective_price"  # no sale on either side: "charges" says it best
        also = [f for f in differing if f != first and not same_values(f, first)]
        # the newsletter advertises, so it leads the sentence; else the compared offer leads
        lead, follow = (ref, other) if ref.channel == "newsletter" else (other, ref)
        message = sentence(f"{_lead(lead, first, self.item(row, lead))}; {_follow(follow, first, ctx)}")
        for f in also:
            message += f" Its {field_label(f)} differs too ({lead.name} {lead.text(f)}, {follow.name} {follow.text(f)})."
        return self.finding(
            row, [ref, other], values={ref.label: ref.text(first), other.label: other.text(first)},
            message=message, extra={"fields": ", ".join(differing)},
        )


# How each field is told: the leading clause names the product, the following one says "it".
_LEAD = {
    "effective_price": "{name} charges {v} for {item}",
    "price": "{name_s} regular price for {item} is {v}",
    "sale_price": "{name_s} sale price for {item} is {v}",
    "currency": "{name} prices {item} in {v}",
    "availability": "{name} shows {item} as {v}",
    "title": "{name} calls {item} '{v}'",
}
_FOLLOW = {
    "effective_price": "{name} charges {v}",
    "price": "{name_s} regular price is {v}",
    "sale_price": "{name_s} sale price is {v}",
    "currency": "{name} prices it in {v}",
    "availability": "{name} shows it as {v}",
    "title": "{name} calls it '{v}'",
}
_NEWSLETTER_LEAD = {
    "effective_price": "{name} advertises {item} at {v}",
    "price": "{name} advertises {item} with a regular price of {v}",
    "sale_price": "{name} advertises {item} with a sale price of {v}",
}
_NEWSLETTER_FOLLOW = {
    "effective_price": "{name} advertises {v}",
    "price": "{name} advertises a regular price of {v}",
    "sale_price": "{name} advertises a sale price of {v}",
}


def _words(offer: OfferView, field: str) -> dict[str, str]:
    v = offer.text(field)
    if field == "availability":
        v = v.replace("_", " ")  # "out of stock"
    return {"name": offer.name, "name_s": possessive(offer.name), "v": v}


def _lead(offer: OfferView, field: str, item: str) -> str:
    if field == "title":
        item = offer.key  # the titles themselves are the point
    table = _NEWSLETTER_LEAD if offer.channel == "newsletter" and field in _NEWSLETTER_LEAD else _LEAD
    return table[field].format(item=item, **_words(offer, field))


def _follow(offer: OfferView, field: str, ctx: EvalContext) -> str:
    if field == "effective_price" and offer.channel != "newsletter" and offer.effective_cents != offer.price_cents:
        since = f" since {short_instant(offer.sale_start, ctx.tz)}" if offer.sale_start else ""
        return f"{possessive(offer.name)} sale price is {offer.text(field)}{since}"
    table = _NEWSLETTER_FOLLOW if offer.channel == "newsletter" and field in _NEWSLETTER_FOLLOW else _FOLLOW
    return table[field].format(**_words(offer, field))
