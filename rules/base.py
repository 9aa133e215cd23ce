"""What every rule kind shares: the vocabulary of channels and fields, the common model fields,
one offer's columns in a query row, and the Finding every kind builds.

A rule kind (parity.py, presence.py, expression.py, window.py, promotion.py ...) is a subclass of
RuleBase with its own `kind` literal, `query(live, ctx) -> Select` (violating rows only; ctx is the
EvalContext, for kinds that depend on the instant) and `to_finding(row, ctx)`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, WithJsonSchema, model_validator
from sqlalchemy import Select, Table, and_, select
from sqlalchemy.sql import ColumnElement, FromClause

from unisono.catalog.live import EVIDENCE, PRODUCT, live_narrow, live_product
from unisono.catalog.tables import OfferRow
from unisono.domain.findings import Finding, Severity, location_label
from unisono.domain.models import CHANNELS, TITLE_KEY
from unisono.rules.messages import check_template, did_you_mean, fill_template, offer_name
from unisono.rules.scope import Scope, scope_clause

if TYPE_CHECKING:
    from sqlalchemy import Row

    from unisono.rules.evaluate import EvalContext

# field a rule speaks of -> column of the `live` relation (catalog/live.py)
FIELD_COLUMNS = {
    "price": "price_cents",
    "sale_price": "sale_price_cents",
    "effective_price": "effective_cents",
    "reference_price": "reference_cents",
    "discount_percent": "discount_percent",
    "lowest_30d": "lowest_30d_cents",
    "currency": "currency",
    "availability": "availability",
    "title": "title",
    "brand": "brand",
    "category": "category",
    "sku": "sku",
    "gtin": "gtin",
}
MONEY_FIELDS = frozenset({"price", "sale_price", "effective_price", "reference_price", "lowest_30d"})
NUMBER_FIELDS = MONEY_FIELDS | {"discount_percent"}



def _known_channel(value: str) -> str:
    if value not in CHANNELS:
        raise ValueError(f"unknown channel {value!r}{did_you_mean(value, CHANNELS)} (valid channels: {', '.join(CHANNELS)})")
    return value


Channel = Annotated[str, AfterValidator(_known_channel), WithJsonSchema({"type": "string", "enum": list(CHANNELS)})]

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def _slug(value: str) -> str:
    if not _SLUG.fullmatch(value):
        raise ValueError(f"rule id {value!r} is not a slug: use lower-case letters, digits and hyphens, e.g. price-parity")
    return value


Slug = Annotated[str, AfterValidator(_slug), WithJsonSchema({"type": "string", "pattern": "^" + _SLUG.pattern + "$"})]


@dataclass
class OfferView:
    """One offer's columns in a result row (selected with `offer_columns(alias, prefix)`)."""

    channel: str
    location: str
    key: str
    sku: str | None
    gtin: str | None
    url: str | None
    title: str | None
    brand: str | None
    category: str | None
    currency: str
    price_cents: int
    sale_price_cents: int | None
    sale_start: datetime | None
    sale_end: datetime | None
    effective_cents: int
    reference_cents: int | None
    discount_percent: float | None
    lowest_30d_cents: int | None
    availability: str | None
    source: str

    @classmethod
    def from_row(cls, row: Row, prefix: str) -> OfferView:
        m = row._mapping
        return cls(**{c: m[f"{prefix}__{c}"] for c in OFFER_COLUMNS})

    @property
    def label(self) -> str:
        return location_label(self.channel, self.location)

    @property
    def name(self) -> str:
        return offer_name(self.channel, self.location)

    @property
    def keyed_by_link(self) -> bool:
        """No sku could be resolved: the catalog keyed the offer by its product link."""
        return not self.sku and bool(self.url) and self.key == self.url

    def value(self, field: str) -> Any:
        raw = getattr(self, FIELD_COLUMNS[field])
        if field in MONEY_FIELDS and raw is not None:
            return Decimal(raw) / 100
        return raw

    def text(self, field: str) -> str:
        """The value as a merchandiser reads it: "79.99 EUR", "out_of_stock", "none"."""
        v = self.value(field)
        if v is None:
            return "none"
        if field in MONEY_FIELDS:
            return f"{v:.2f} {self.currency}"
        if field == "discount_percent":
            return f"{v:g} %"
        return str(v)

    def template_values(self) -> dict[str, str]:
        values = {f"{self.channel}.{f}": self.text(f) for f in FIELD_COLUMNS}
        values[f"{self.channel}.location"] = str(self.location)
        return values


# the columns every query selects for each offer it involves, so messages and templates can use them
OFFER_COLUMNS = tuple(f.name for f in fields(OfferView))


def one_or_many(value: Any) -> Any:
    """`require_in: shop` means `require_in: [shop]` (a BeforeValidator for list fields)."""
    return [value] if isinstance(value, str) else value


def accept_single_item(schema: dict, prop: str) -> None:
    """JSON Schema: an array property also accepts one bare item (`require_in: shop`)."""
    array = schema["properties"][prop]
    description = array.pop("description", None)  # (filled from the docstring later, rules_json_schema)
    schema["properties"][prop] = {"anyOf": [array["items"], array], **({"description": description} if description else {})}


def offer_columns(alias: FromClause, prefix: str) -> list[ColumnElement]:
    return [alias.c[c].label(f"{prefix}__{c}") for c in OFFER_COLUMNS]


def carried(rel: FromClause, prefix: str) -> ColumnElement:
    """What a rule's found rows keep of one offer: its offer id (`<prefix>_id`); beside it, they keep
    the product `key` (all offers of a found row share it). Nothing wider: the join that finds them
    carries no more than it compares (widened() adds the rest to the few rows found)."""
    return rel.c.offer_id.label(f"{prefix}_id")


def widened(found: FromClause, *prefixes: str) -> tuple[list[ColumnElement], FromClause]:
    """The rows a rule found on the narrow live relation (`found`: `key` and a carried() id per offer
    involved) widened to what a finding shows, offer_columns() of each: from its narrow row (by key and
    id: the live key index), its offer row (by primary key) and its product (by key). Only the found
    rows are widened, never every live offer: (the columns, the join)."""
    columns, joined = [], found
    offer = OfferRow.__table__
    for p in prefixes:
        narrow, product = live_narrow.alias(f"{p}_narrow"), live_product.alias(f"{p}_product")
        # the found ids picked out of the offer rows first: DuckDB, which has no index to look them up
        # in, otherwise joins every offer row with all its columns
        row = select(offer).where(offer.c.id.in_(select(found.c[f"{p}_id"]))).subquery(f"{p}_row")
        joined = joined.join(narrow, and_(narrow.c.key == found.c.key, narrow.c.offer_id == found.c[f"{p}_id"])) \
            .join(row, row.c.id == found.c[f"{p}_id"]).outerjoin(product, product.c.key == found.c.key)
        columns += [(row.c[c] if c in EVIDENCE else product.c[c] if c in PRODUCT else narrow.c[c])
                    .label(f"{p}__{c}") for c in OFFER_COLUMNS]
    return columns, joined


def shop_title(key: ColumnElement, among: Select | None = None) -> ColumnElement:
    """The shop's title for a key (findings prefer it: stores and newsletters abbreviate). among: the
    keys it is asked for (a rule's found rows), so that a database that works the subquery out for
    every key at once (DuckDB) reads only the shop titles of those. From the narrow relation, which
    has the titles: the wide view would join every shop offer's row (1M x 5 on DuckDB: +125 MB)."""
    s = live_narrow.alias("shop_title")
    q = select(s.c.title).where(s.c.channel == "shop", s.c.key == key, s.c.title.isnot(None),
                                *([s.c.key.in_(among)] if among is not None else []))
    return q.order_by(s.c.location).limit(1).scalar_subquery().label("shop_title")


def product_title(row: Row, offers: list[OfferView]) -> str | None:
    """The shop's title where the shop has the product, else the first title an offer shows."""
    return row._mapping["shop_title"] or next((o.title for o in offers if o.title), None)


def product_label(sku: str, title: str | None, *, by_link: bool = False) -> str:
    """How a message names the product: "100203 'Wanderschuh Alpin GTX Herren'"."""
    if by_link and sku.startswith(TITLE_KEY):
        return f"'{title or sku.removeprefix(TITLE_KEY)}' (the newsletter gives it no link and no SKU)"
    if by_link:
        named = f"'{title}' " if title else "the product "
        return f"{named}(link {sku}; no SKU could be resolved from it)"
    return f"{sku} '{title}'" if title else sku


class RuleBase(BaseModel):
    """The fields every rule has. `where` limits what is checked; `unless` exempts from it."""

    # the docstring under each field becomes its description in the JSON Schema editors show: read when
    # a schema is asked for (ruleset.described), not by pydantic at every import
    model_config = ConfigDict(extra="forbid")

    id: Slug
    """Unique across all rule files: lower-case letters, digits, hyphens (price-parity)."""
    kind: str
    """parity, presence or expression (each kind narrows this to its name)."""
    title: str | None = None
    """What must hold, in a merchandiser's words."""
    severity: Severity = Severity.error
    """info, warning, error (default) or blocker."""
    description: str | None = None
    """Why the rule exists, for whoever reads the findings."""
    message: str | None = None
    """Replaces the generated message. Placeholders: {sku}, {title}, {rule}, {<channel>.<field>}, {<channel>.location}."""
    where: Scope | None = None
    """Check only these products / locations."""
    unless: Scope | None = None
    """Exempt these products / locations."""

    def template_channels(self) -> list[str]:
        raise NotImplementedError

    def query(self, live: Table, ctx: EvalContext) -> Select:
        raise NotImplementedError

    def to_finding(self, row: Row, ctx: EvalContext) -> Finding:
        raise NotImplementedError

    @model_validator(mode="after")
    def _template_fields_known(self) -> RuleBase:
        if self.message is not None:
            check_template(self.message, self.template_channels(), list(FIELD_COLUMNS))
        return self

    # -- helpers for the kinds ------------------------------------------------------------

    def scope_columns(self) -> set[str]:
        """The live columns `where` and `unless` filter on (catalog/live.py `compared`)."""
        product = {f for s in (self.where, self.unless) if s is not None for f in ("brand", "category") if getattr(s, f)}
        return {"key", "channel", "location", "availability", *product}

    def scope_clauses(self, product: FromClause, offers: list[FromClause]) -> list[ColumnElement]:
        """WHERE clauses for `where` and `unless`. product: the alias whose key/brand/category
        count; offers: the aliases whose location/channel/availability count (any of them)."""
        clauses = []
        if self.where is not None:
            clauses.append(scope_clause(self.where, product, offers))
        if self.unless is not None:
            clauses.append(~scope_clause(self.unless, product, offers))
        return clauses

    def finding(
        self, row: Row, offers: list[OfferView], *, values: dict[str, str], message: str,
        channels: list[str] | None = None, locations: list[str] | None = None,
        sources: list[str] | None = None, extra: dict[str, str] | None = None,
    ) -> Finding:
        """Build the Finding; a rule's own `message` template replaces the generated message."""
        title = product_title(row, offers)
        sku = offers[0].key
        if self.message is not None:
            ctx = {"sku": sku, "title": title or "", "rule": self.title or self.id}
            for o in offers:
                ctx.update(o.template_values())
            message = fill_template(self.message, ctx)
        return Finding(
            rule=self.id, kind=self.kind, severity=self.severity, sku=sku, title=title,
            channels=channels or [o.channel for o in offers],
            locations=locations or [o.label for o in offers],
            values=values, message=message,
            sources=sources or [o.source for o in offers],
            extra=extra or {},
        )

    def item(self, row: Row, offer: OfferView) -> str:
        return product_label(offer.key, product_title(row, [offer]), by_link=offer.keyed_by_link)
