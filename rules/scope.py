"""Scopes: `where` (what a rule checks) and `unless` (what it exempts), compiled to WHERE clauses.

Within one field a list means "any of"; several fields must all match. sku, brand and category
describe the product; store (a location id), channel and availability describe an offer, and
match when any offer the rule compares matches them all (parity: the compared offer; presence:
the advertising offer; expression: any offer the condition names).
"""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, WithJsonSchema, field_validator, model_validator
from sqlalchemy import and_, func, literal, or_
from sqlalchemy.sql import ColumnElement, FromClause

from unisono.domain.models import CHANNELS, Availability


def _as_str_list(value: Any) -> Any:
    # YAML reads `store: 1042` as a number; store ids and skus are names, not numbers
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        value = [value]
    if isinstance(value, list):
        return [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
    return value


_NAME = {"type": ["string", "integer"]}
Names = Annotated[
    list[str],
    BeforeValidator(_as_str_list),
    WithJsonSchema({"anyOf": [_NAME, {"type": "array", "items": _NAME}]}),
]


class Scope(BaseModel):
    """Which products and offers a rule looks at. Each field: one value or a list."""

    model_config = ConfigDict(extra="forbid")  # field docs: from their docstrings, in the schema (ruleset.described)

    sku: Names | None = None
    """The product key, exact."""
    brand: Names | None = None
    """The brand, any case."""
    category: Names | None = None
    """A category path prefix, any case: "Schuhe" covers "Schuhe > Wanderschuhe"."""
    store: Names | None = None
    """A location id: store id, newsletter issue, shop country."""
    channel: Names | None = None
    """shop, store or newsletter."""
    availability: Names | None = None
    """in_stock, out_of_stock, preorder or backorder."""

    @field_validator("channel")
    @classmethod
    def _known_channels(cls, v: list[str] | None) -> list[str] | None:
        return _only(v, list(CHANNELS), "channel")

    @field_validator("availability")
    @classmethod
    def _known_availability(cls, v: list[str] | None) -> list[str] | None:
        return _only(v, [a.value for a in Availability], "availability")

    @model_validator(mode="after")
    def _not_empty(self) -> Scope:
        if not any(getattr(self, f) for f in type(self).model_fields):
            raise ValueError(f"a scope needs at least one of: {', '.join(type(self).model_fields)}")
        return self


def _only(values: list[str] | None, valid: list[str], what: str) -> list[str] | None:
    for v in values or []:
        if v not in valid:
            raise ValueError(f"unknown {what} {v!r} (valid: {', '.join(valid)})")
    return values


def _same_text(column: ColumnElement, values: list[str]) -> ColumnElement:
    # lower() on both sides, so the database folds case the same way for column and value
    return and_(column.isnot(None), or_(*[func.lower(column) == func.lower(literal(v)) for v in values]))


def _category_prefix(column: ColumnElement, values: list[str]) -> ColumnElement:
    matches = []
    for v in values:
        escaped = v.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        lowered = func.lower(column)
        matches.append(lowered == func.lower(literal(v.strip())))
        matches += [lowered.like(func.lower(literal(escaped + sep)), escape="\\") for sep in (" >%", ">%")]
    return and_(column.isnot(None), or_(*matches))


def scope_clause(scope: Scope, product: FromClause, offers: list[FromClause]) -> ColumnElement:
    """True where the scope matches. Never NULL, so `~scope_clause(...)` exempts exactly the matches."""
    parts: list[ColumnElement] = []
    if scope.sku:
        parts.append(product.c.key.in_(scope.sku))
    if scope.brand:
        parts.append(_same_text(product.c.brand, scope.brand))
    if scope.category:
        parts.append(_category_prefix(product.c.category, scope.category))
    per_offer = []
    for o in offers:
        conds = []
        if scope.store:
            conds.append(o.c.location.in_(scope.store))
        if scope.channel:
            conds.append(o.c.channel.in_(scope.channel))
        if scope.availability:
            conds.append(and_(o.c.availability.isnot(None), o.c.availability.in_(scope.availability)))
        if conds:
            per_offer.append(and_(*conds))
    if per_offer:
        parts.append(or_(*per_offer))
    return and_(*parts)
