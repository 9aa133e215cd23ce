"""promotion: a planned campaign, checked against what each channel shows while it runs.

A promotion file (`unisono check --promotion FILE`) lists campaigns; the same entry, with
`kind: promotion`, can stand in a rule file.

    promotions:
      - id: black-friday-2026
        title: Black Friday 2026
        window: 2026-11-27/2026-11-30     # dates are whole days in the project timezone, the end day included
        scope: {category: Schuhe}         # sku / brand / category; default: every product
        discount: {percent: 20}           # or {price: 79.99} or {amount_off: 10}
        channels: [shop, store, newsletter]
        stores: ["1001", "1002"]          # optional: these stores must list every product in scope
        exclusive_to: [shop, newsletter]  # optional: no other channel may grant the promotion price
        rounding: 0.01                    # money units: the charged price may differ this much
        severity: error

The promotion price of an offer is computed from that offer's own regular price: a shop or store
offer's regular price; a newsletter offer's struck-through "statt" price, else the shop's regular
price (the newsletter shows only what the customer pays). Percentages are rounded half up to the
cent. At an instant inside the window, for every product in scope:

- each offer of a channel in `channels` (with `stores`: of those stores) must charge the
  promotion price, within `rounding`; the newsletter must advertise it;
- the shop must list the product when `channels` names it, and each store of `stores` must; without
  `stores`, the stores (and always the newsletter) are checked where they list the product, since
  neither carries the whole assortment;
- with `exclusive_to`, an offer of any other channel that charges the promotion price (below its
  own regular price) grants what it must not.

A newsletter offer whose regular price is unknown (no "statt" price, the shop does not list the
product) is not judged against a percent or amount_off discount.

Outside the window the rule says nothing. Findings carry the promotion's id as their rule.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import (
    CTE, BigInteger, Select, String, Table, and_, case, cast, false, func, literal, null, select, true, union_all, values,
)
from sqlalchemy.sql import ColumnElement, FromClause
from sqlalchemy.sql.expression import column

from unisono.domain.findings import Finding, location_label
from unisono.rules.base import (
    OFFER_COLUMNS, Channel, OfferView, RuleBase, accept_single_item, offer_columns, one_or_many, shop_title,
)
from unisono.rules.messages import offer_name, sentence, short_instant
from unisono.rules.scope import Names, Scope, scope_clause
from unisono.domain.models import as_utc

if TYPE_CHECKING:
    from sqlalchemy import Row

    from unisono.rules.evaluate import EvalContext

_WINDOW_HELP = ("write START/END, e.g. 2026-11-27/2026-11-30 (dates are whole days in the project timezone, "
                "the end day included) or 2026-11-27T18:00/2026-11-30T12:00 (with times the end is exclusive)")


def _window_text(value: Any) -> Any:
    # YAML reads `window: 2026-11-27` as a date: one whole day
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _instant(text: str, tz: ZoneInfo, *, end: bool) -> datetime:
    """A window side: a date is a whole day in `tz` (an end date is included: its end is the next
    day's 00:00); a date-time without an offset is in `tz`."""
    text = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        day = date.fromisoformat(text)
        return datetime.combine(day + timedelta(days=1) if end else day, time(0), tz)
    instant = datetime.fromisoformat(text)
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=tz)


def window_bounds(window: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of "START/END" (or one date: that whole day) in time zone `tz`. Raises ValueError."""
    parts = window.split("/")
    if len(parts) == 1 and re.fullmatch(r"\s*\d{4}-\d{2}-\d{2}\s*", parts[0]):
        parts = [parts[0], parts[0]]
    try:
        if len(parts) != 2:
            raise ValueError
        start, end = _instant(parts[0], tz, end=False), _instant(parts[1], tz, end=True)
    except ValueError:
        raise ValueError(f"{window!r} is not a window; {_WINDOW_HELP}") from None
    if end <= start:
        raise ValueError(f"{window!r} ends before it starts")
    return start, end


def _cents_only(value: Decimal | None, what: str) -> Decimal | None:
    if value is not None and value != value.quantize(Decimal("0.01")):
        raise ValueError(f"{what} {value} has more than two decimals")
    return value


class Discount(BaseModel):
    """What the promotion grants: exactly one of percent, price, amount_off."""

    model_config = ConfigDict(extra="forbid")  # field docs: from their docstrings, in the schema (ruleset.described)

    percent: Decimal | None = Field(None, gt=0, lt=100)
    """Off each channel's regular price, e.g. 20 (rounded half up to the cent)."""
    price: Decimal | None = Field(None, gt=0)
    """A fixed promotion price, e.g. 79.99."""
    amount_off: Decimal | None = Field(None, gt=0)
    """Money off each channel's regular price, e.g. 10."""

    @model_validator(mode="after")
    def _exactly_one(self) -> Discount:
        given = [k for k in ("percent", "price", "amount_off") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a discount is exactly one of percent, price or amount_off, e.g. {percent: 20}"
                             + (f" (got {', '.join(given)})" if given else ""))
        if self.percent is not None and self.percent != self.percent.quantize(Decimal("0.01")):
            raise ValueError(f"percent {self.percent} has more than two decimals")
        _cents_only(self.price, "price")
        _cents_only(self.amount_off, "amount_off")
        return self

    def promotion_cents(self, regular_cents: ColumnElement) -> ColumnElement:
        """The promotion price in cents for a regular price in cents (integer arithmetic in SQL)."""
        if self.percent is not None:
            keep = 10000 - int(self.percent * 100)  # basis points of the regular price the customer pays
            return (regular_cents * literal(keep) + literal(5000)) // literal(10000)  # half up
        if self.price is not None:
            return literal(int(self.price * 100), BigInteger)
        return regular_cents - literal(int(self.amount_off * 100))

    def words(self, item: str, promo: str, regular: str | None, currency: str) -> str:
        """"20 % off 100203 'X' (79.99 EUR instead of 99.99 EUR)"."""
        instead = f" instead of {regular}" if regular else ""
        if self.percent is not None:
            return f"{format(self.percent.normalize(), 'f')} % off {item} ({promo}{instead})"
        if self.price is not None:
            return f"{item} at {promo}" + (f" ({instead.strip()})" if instead else "")
        return f"{self.amount_off:.2f} {currency} off {item} ({promo}{instead})"


def _schema(schema: dict) -> None:
    accept_single_item(schema, "channels")  # `channels: shop` means [shop]; so does `exclusive_to: shop`
    exclusive = schema["properties"]["exclusive_to"]["anyOf"]
    exclusive.insert(0, next(s for s in exclusive if s.get("type") == "array")["items"])


class PromotionRule(RuleBase):
    """A planned campaign: in its window every channel named charges the promotion price."""

    model_config = ConfigDict(json_schema_extra=_schema)

    kind: Literal["promotion"] = "promotion"
    """promotion (may be left out in a promotion file)."""
    window: Annotated[str, BeforeValidator(_window_text)]
    """START/END: 2026-11-27/2026-11-30 (dates: whole days in the project timezone, end day included)."""
    scope: Scope | None = None
    """The products on promotion: sku, brand, category (default: every product)."""
    discount: Discount
    """{percent: 20}, {price: 79.99} or {amount_off: 10}."""
    channels: Annotated[list[Channel], BeforeValidator(one_or_many)] = Field(min_length=1)
    """The channels that must carry the promotion."""
    stores: Names | None = None
    """These stores must list every product in scope (default: the stores that list a product are checked)."""
    exclusive_to: Annotated[list[Channel], BeforeValidator(one_or_many)] | None = None
    """The only channels that may grant the promotion price; every other must not."""
    rounding: Decimal = Field(Decimal("0.01"), ge=0)
    """Money units: the charged price may differ from the computed one this much (0.05 for .x9 rounding)."""

    @field_validator("window")
    @classmethod
    def _valid_window(cls, v: str) -> str:
        window_bounds(v, ZoneInfo("UTC"))
        return v

    @field_validator("scope")
    @classmethod
    def _products_only(cls, v: Scope | None) -> Scope | None:
        if v is not None and (v.store or v.channel or v.availability):
            raise ValueError("a promotion's scope names products (sku, brand, category); "
                             "name the channels in channels: and the stores in stores:")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> PromotionRule:
        self.channels = list(dict.fromkeys(self.channels))
        if self.stores and "store" not in self.channels:
            raise ValueError("stores: names stores, but channels: does not include store")
        if self.exclusive_to is not None:
            self.exclusive_to = list(dict.fromkeys(self.exclusive_to))
            outside = [ch for ch in self.channels if ch not in self.exclusive_to]
            if outside:
                raise ValueError(f"channels: requires {', '.join(outside)} to carry the promotion, but exclusive_to: "
                                 f"allows only {', '.join(self.exclusive_to)}; add {', '.join(outside)} to exclusive_to")
        return self

    def window_bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) of the campaign: date-only values are whole days in `tz`, the end day included."""
        return window_bounds(self.window, tz)

    @property
    def name(self) -> str:
        return self.title or self.id

    def template_channels(self) -> list[str]:
        return list(dict.fromkeys([*self.channels, *(self.exclusive_to or []), "shop", "store", "newsletter"]))

    # -- compilation -----------------------------------------------------------------------

    def query(self, live: Table, ctx: EvalContext) -> Select:
        start, end = self.window_bounds(ctx.tz)
        if not start <= ctx.at < end:
            return select(literal(1)).where(false())  # outside its window a promotion says nothing
        offers = self._offers(live)
        parts = [self._wrong_price(live, offers)]
        if self.exclusive_to is not None:
            parts.append(self._granted_elsewhere(live, offers))
        if "shop" in self.channels:
            parts.append(self._not_in_shop(live, offers))
        if self.stores:
            parts.append(self._not_in_stores(live, offers))
        return select(union_all(*parts).subquery("promotion_findings"))

    def _offers(self, live: Table) -> CTE:
        """The live offers of the products in scope, each with what the rule needs of its product,
        computed by window functions in one pass (no self-joins, whose plan would depend on
        statistics a freshly filled temp table does not have):
          shop_regular  the shop's regular price (the lowest, if the shop has several locations)
          in_shop       1 when the shop lists the product
          rn            1 for the offer that names the product where it is missing (the shop's,
                        else a store's, else the newsletter's)"""
        product = {"partition_by": live.c.key}
        rank = case((live.c.channel == "shop", 0), (live.c.channel == "store", 1), else_=2)
        shop_price = case((live.c.channel == "shop", live.c.price_cents))
        return select(
            live,
            func.min(shop_price).over(**product).label("shop_regular"),
            func.max(case((live.c.channel == "shop", 1), else_=0)).over(**product).label("in_shop"),
            func.row_number().over(order_by=(rank, live.c.location, live.c.source), **product).label("rn"),
        ).where(*self._product_scope(live)).cte("promotion_offers")

    def _product_scope(self, o: FromClause) -> list[ColumnElement]:
        # sku, brand and category are the product's (every offer of a key has the same): filtering
        # offers by them keeps or drops whole products
        return [scope_clause(self.scope, o, [o])] if self.scope is not None else []

    def _priced(self, o: FromClause) -> tuple[ColumnElement, ColumnElement]:
        """The regular price the promotion applies to, and the promotion price, of offer `o` (cents)."""
        regular = case((o.c.channel == "newsletter", func.coalesce(o.c.reference_cents, o.c.shop_regular)),
                       else_=o.c.price_cents)
        return regular, self.discount.promotion_cents(regular)

    def _columns(self, live: Table, o: FromClause, problem: str, *, regular: ColumnElement | None = None,
                 promo: ColumnElement | None = None, missing: tuple[str, ColumnElement] | None = None) -> list:
        """The columns every part of the query selects, so they can be one UNION ALL."""
        return [
            *offer_columns(o, "o"), shop_title(o.c.key), literal(problem, String).label("problem"),
            (literal(missing[0], String) if missing else cast(null(), String)).label("missing_channel"),
            (missing[1] if missing else cast(null(), String)).label("missing_location"),
            cast(regular if regular is not None else null(), BigInteger).label("regular_cents"),
            cast(promo if promo is not None else null(), BigInteger).label("promotion_cents"),
        ]

    def _tolerance(self) -> float:
        return float(self.rounding * 100)

    def _wrong_price(self, live: Table, offers: CTE) -> Select:
        o = offers.alias("carrying")
        regular, promo = self._priced(o)
        carrying = o.c.channel.in_(self.channels)
        if self.stores:
            carrying = and_(carrying, (o.c.channel != "store") | o.c.location.in_(self.stores))
        return select(*self._columns(live, o, "price", regular=regular, promo=promo)).where(
            carrying, promo.is_not(None), func.abs(o.c.effective_cents - promo) > self._tolerance(),
            *self.scope_clauses(o, [o]),
        )

    def _granted_elsewhere(self, live: Table, offers: CTE) -> Select:
        o = offers.alias("elsewhere")
        regular, promo = self._priced(o)
        return select(*self._columns(live, o, "exclusive", regular=regular, promo=promo)).where(
            o.c.channel.not_in(self.exclusive_to), promo.is_not(None), o.c.effective_cents < regular,
            func.abs(o.c.effective_cents - promo) <= self._tolerance(), *self.scope_clauses(o, [o]),
        )

    def _not_in_shop(self, live: Table, offers: CTE) -> Select:
        w = offers.alias("witness_shop")
        return select(*self._columns(live, w, "missing", missing=("shop", literal("*", String)))).where(
            w.c.rn == 1, w.c.in_shop == 0, *self.scope_clauses(w, [w]),
        )

    def _not_in_stores(self, live: Table, offers: CTE) -> Select:
        """Each (product, required store) pair no store offer covers: every product paired with
        every required store (listed = 0) and the store offers themselves (listed = 1), grouped by
        a window over (product, store): a pair whose group holds no listing is missing."""
        required = values(column("location", String), name="required").data([(s,) for s in self.stores])
        required = required.cte("required_stores")
        w, listing = offers.alias("witness_store"), offers.alias("listing")
        pairs = union_all(
            select(*[w.c[c] for c in OFFER_COLUMNS], required.c.location.label("required"), literal(0).label("listed"))
            .select_from(w.join(required, true())).where(w.c.rn == 1, *self.scope_clauses(w, [w])),
            select(*[listing.c[c] for c in OFFER_COLUMNS], listing.c.location.label("required"), literal(1).label("listed"))
            .where(listing.c.channel == "store", listing.c.location.in_(self.stores)),
        ).subquery("store_pairs")
        grouped = select(
            pairs, func.max(pairs.c.listed).over(partition_by=(pairs.c.key, pairs.c.required)).label("any_listed"),
        ).subquery("store_coverage")
        return select(*self._columns(live, grouped, "missing", missing=("store", grouped.c.required))).where(
            grouped.c.listed == 0, grouped.c.any_listed == 0,
        )

    # -- findings --------------------------------------------------------------------------

    def to_finding(self, row: Row, ctx: EvalContext) -> Finding:
        o = OfferView.from_row(row, "o")
        m = row._mapping
        item = self.item(row, o)
        extra = {"promotion": self.id, "problem": m["problem"]}
        if m["problem"] == "missing":
            channel, location = m["missing_channel"], m["missing_location"]
            label = location_label(channel, location)
            name = "the shop" if channel == "shop" else offer_name(channel, location)
            message = f"{name} does not list {item}, which {self.name} promises {self._where(channel)}"
            return self.finding(row, [o], message=sentence(message), channels=[channel], locations=[label],
                                values={label: "not listed"}, sources=[o.source], extra=extra)
        promo, regular = _money(m["promotion_cents"], o.currency), _money(m["regular_cents"], o.currency)
        charged = o.text("effective_price")
        verb = "advertises" if o.channel == "newsletter" else "charges"
        granted = self.discount.words(item, promo, regular if m["regular_cents"] != m["promotion_cents"] else None, o.currency)
        extra |= {"promotion_price": promo, "regular_price": regular or "unknown"}
        if m["problem"] == "exclusive":
            message = f"{self.name}'s {granted} is {self._only()} only, but {o.name} {verb} {charged} too"
        else:
            message = f"{self.name} promises {granted} {self._where(o.channel)}; {o.name} {verb} {charged}"
            message += _sale_note(o, ctx)
        return self.finding(row, [o], message=sentence(message), values={o.label: charged}, extra=extra)

    def _where(self, channel: str) -> str:
        if channel == "store":
            if not self.stores:
                return "in every store"
            if len(self.stores) > 3:
                return f"in {len(self.stores)} stores"
            named = [offer_name("store", s) for s in self.stores]
            return "in " + (named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1])
        return f"in the {channel}"

    def _only(self) -> str:
        names = ["the stores" if ch == "store" else f"the {ch}" for ch in self.exclusive_to or []]
        return "for " + (names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1])


def _money(cents: int | None, currency: str) -> str | None:
    return None if cents is None else f"{Decimal(cents) / 100:.2f} {currency}"


def _sale_note(o: OfferView, ctx: EvalContext) -> str:
    """Why an offer with a sale price does not charge it now: its sale starts later or has ended."""
    if o.sale_price_cents is None or o.effective_cents == o.sale_price_cents:
        return ""
    sale = _money(o.sale_price_cents, o.currency)
    if o.sale_start is not None and as_utc(o.sale_start) > ctx.at:
        return f" (its sale price of {sale} starts only {short_instant(o.sale_start, ctx.tz)})"
    if o.sale_end is not None and as_utc(o.sale_end) <= ctx.at:
        return f" (its sale price of {sale} ended {short_instant(o.sale_end, ctx.tz)})"
    return ""



# -- promotion files ---------------------------------------------------------------------------

class PromotionFile(BaseModel):
    """A promotion file: `promotions:` and a list of campaigns (a bare list is accepted too)."""

    model_config = ConfigDict(extra="forbid", title="unisono promotions")
    promotions: list[PromotionRule] = Field(default_factory=list)


def promotions_json_schema() -> dict:
    """JSON Schema of a promotion file, for editors."""
    from unisono.rules.ruleset import described  # ruleset imports this module

    schema = PromotionFile.model_json_schema()
    described(schema.get("$defs", {}), [PromotionFile])
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def load_promotions(path: Path) -> list[PromotionRule]:
    """The campaigns of a promotion file. RuleError: every problem as "file:line: ...", like rule files."""
    from unisono.rules.ruleset import PROMOTION_FILE, RuleError, load_items  # ruleset imports this module

    promotions, problems = load_items([Path(path)], PROMOTION_FILE)
    if problems:
        raise RuleError(problems)
    return promotions

