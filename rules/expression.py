"""expression: a boolean condition over channel-qualified fields; every match is a finding.

    - id: newsletter-typo-guard
      kind: expression
      when: newsletter.effective_price < shop.price * 0.5
      message: "Newsletter {newsletter.location} shows {sku} at {newsletter.effective_price}: typo?"

The condition is parsed with sqlglot and walked node by node: only a whitelist of constructs
(comparisons, AND/OR/NOT, + - * /, parentheses, numbers, 'text', IS [NOT] NULL, BETWEEN,
IN (literals), ABS) and only `<channel>.<field>` columns pass; the walk itself builds the
SQLAlchemy expression, with literals as bound parameters (rules/condition.py, loaded with sqlglot only
when a ruleset has an expression rule). The rule text never reaches SQL as text. Money fields are in
currency units (79.99), not the catalog's cents.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import field_validator
from sqlalchemy import Select, Table, and_, select

from unisono.domain.findings import Finding
from unisono.rules.base import OfferView, RuleBase, offer_columns, shop_title
from unisono.rules.messages import field_label, sentence

if TYPE_CHECKING:
    from sqlalchemy import Row

    from unisono.rules.condition import Condition
    from unisono.rules.evaluate import EvalContext


class ExpressionRule(RuleBase):
    """Every product (and combination of locations) for which a condition holds is a finding."""

    kind: Literal["expression"]
    when: str
    """A condition over <channel>.<field>, e.g. newsletter.effective_price < shop.price * 0.5."""

    @field_validator("when")
    @classmethod
    def _valid_condition(cls, v: str) -> str:
        from unisono.rules.condition import Condition

        Condition.parse(v)
        return v

    @property
    def condition(self) -> Condition:
        from unisono.rules.condition import Condition

        return Condition.parse(self.when)  # validated already; parsing is cached

    def template_channels(self) -> list[str]:
        return self.condition.channels

    def query(self, live: Table, ctx: EvalContext | None = None) -> Select:
        channels = self.condition.channels
        aliases = {ch: live.alias(ch) for ch in channels}
        first = aliases[channels[0]]
        joined = first
        for ch in channels[1:]:
            a = aliases[ch]
            joined = joined.join(a, and_(a.c.channel == ch, a.c.key == first.c.key))
        columns = [c for ch in channels for c in offer_columns(aliases[ch], ch)]
        return (
            select(*columns, shop_title(first.c.key))
            .select_from(joined)
            .where(first.c.channel == channels[0], self.condition.compile(aliases),
                   *self.scope_clauses(first, list(aliases.values())))
        )

    def to_finding(self, row: Row, ctx: EvalContext) -> Finding:
        cond = self.condition
        offers = {ch: OfferView.from_row(row, ch) for ch in cond.channels}
        mentions = list(dict.fromkeys(cond.mentions))
        first_field = {}
        for ch, f in mentions:
            first_field.setdefault(ch, f)
        shown = "; ".join(f"{offers[ch].name} shows {field_label(f)} {offers[ch].text(f)}" for ch, f in mentions)
        first = next(iter(offers.values()))
        message = sentence(f"{self.item(row, first)} meets \"{self.title or self.when}\": {shown}")
        return self.finding(
            row, list(offers.values()), message=message,
            values={offers[ch].label: offers[ch].text(f) for ch, f in first_field.items()},
            extra={f"{ch}.{f}": offers[ch].text(f) for ch, f in mentions},
        )
