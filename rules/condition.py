"""The `when` condition of an expression rule (rules/expression.py): parsed with sqlglot and walked
node by node; only a whitelist of constructs and `<channel>.<field>` columns pass, and the walk builds
the SQLAlchemy expression with literals as bound parameters. A module of its own so that sqlglot is
loaded only when a ruleset has an expression rule.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import sqlglot
from sqlalchemy import Float, String, and_, func, literal, not_, or_
from sqlalchemy.sql import ColumnElement, FromClause
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError

from unisono.catalog.live import live as live_table
from unisono.domain.models import CHANNELS
from unisono.rules.base import FIELD_COLUMNS, MONEY_FIELDS, NUMBER_FIELDS
from unisono.rules.messages import did_you_mean

ALLOWED = "comparisons, AND/OR/NOT, + - * /, parentheses, numbers, 'quoted text', IS [NOT] NULL, BETWEEN, IN (...), ABS(...)"
_COMPARE = {exp.EQ: "__eq__", exp.NEQ: "__ne__", exp.GT: "__gt__", exp.GTE: "__ge__", exp.LT: "__lt__", exp.LTE: "__le__"}
_ARITHMETIC = {exp.Add: "__add__", exp.Sub: "__sub__", exp.Mul: "__mul__"}


class ConditionError(ValueError):
    pass


@dataclass
class Condition:
    """A parsed, checked `when` condition and the channel fields it names, in order of mention."""

    text: str
    tree: exp.Expression
    mentions: list[tuple[str, str]] = field(default_factory=list)

    @property
    def channels(self) -> list[str]:
        return list(dict.fromkeys(ch for ch, _ in self.mentions))

    @classmethod
    def parse(cls, text: str) -> Condition:
        """The checked condition (cached: validation and compilation ask for it more than once)."""
        return _parse(text)

    def compile(self, aliases: dict[str, FromClause]) -> ColumnElement:
        return _Compiler(aliases, []).condition(self.tree)


@lru_cache(maxsize=512)
def _parse(text: str) -> Condition:
    try:
        return _parse_checked(text)
    except RecursionError:
        raise ConditionError("the condition is nested too deeply") from None


def _parse_checked(text: str) -> Condition:
    try:
        statements = [s for s in sqlglot.parse(text) if s is not None]
    except ParseError as e:
        err = e.errors[0] if e.errors else {}
        where = f" near column {err['col']}" if err.get("col") else ""
        what = str(err.get("description", e))
        if what.startswith("Required keyword"):  # sqlglot's words for "a > " or "a AND"
            what = "a value is missing after an operator"
        raise ConditionError(f"cannot read the condition{where}: {what}") from None
    except SqlglotError as e:
        raise ConditionError(f"cannot read the condition: {e}") from None
    if not statements:
        raise ConditionError("the condition is empty")
    if len(statements) > 1:
        raise ConditionError("a condition is one expression: ';' and anything after it are not allowed")
    cond = Condition(text, statements[0])
    probe = {ch: live_table.alias(ch) for ch in CHANNELS}
    errors: list[str] = []  # every mistake of the condition, not only the first
    _Compiler(probe, cond.mentions, errors, text).condition(cond.tree)
    if errors:
        raise ConditionError("\n".join(dict.fromkeys(errors)))  # one line each (rule files: one problem each)
    if not cond.mentions:
        raise ConditionError("the condition names no <channel>.<field>, e.g. shop.price")
    return cond


Kind = Literal["number", "text", "bool", "null", "error"]  # error: a part already reported


class _Compiler:
    """Walks the sqlglot tree; returns (SQLAlchemy expression, its kind) or raises ConditionError."""

    def __init__(self, aliases: dict[str, FromClause], mentions: list[tuple[str, str]], errors: list[str] | None = None,
                 text: str = ""):
        self.aliases = aliases
        self.mentions = mentions
        self.errors = errors  # a list: collect every mistake and go on; None: raise the first
        self.text = text  # the condition as written, to quote it in messages

    def as_written(self, node: exp.Expression) -> str:
        """The node quoted as the rule file writes it: sqlglot renders "a < < b" as "a << b"."""
        def spans(n: exp.Expression) -> list[tuple[int, int]]:
            return [(m.meta["start"], m.meta["end"]) for m in n.walk() if "start" in m.meta]

        every = spans(node)
        if not self.text or not every:
            return repr(node.sql())
        whole = self.text[min(a for a, _ in every):max(b for _, b in every) + 1]
        if isinstance(node, exp.Binary) and (left := spans(node.this)) and (right := spans(node.expression)):
            operator = self.text[max(b for _, b in left) + 1:min(a for a, _ in right)].strip(" ()")
            return f"{operator!r} in {whole!r}"
        return repr(whole)

    def condition(self, tree: exp.Expression) -> ColumnElement:
        sql, kind = self.walk(tree)
        if kind not in ("bool", "error"):
            self.fail(f"{tree.sql()!r} is a value, not a condition: compare it, e.g. shop.price > 10")
        return sql

    def fail(self, message: str) -> tuple[ColumnElement, Kind]:
        if self.errors is None:
            raise ConditionError(message)
        self.errors.append(message)
        return literal(None), "error"  # fits wherever it is used, so one mistake is told once

    def walk(self, node: exp.Expression) -> tuple[ColumnElement, Kind]:
        try:
            return self._walk(node)
        except ConditionError as e:
            return self.fail(str(e))

    def _walk(self, node: exp.Expression) -> tuple[ColumnElement, Kind]:
        t = type(node)
        if t is exp.Paren:
            return self.walk(node.this)
        if t in (exp.And, exp.Or):
            a, b = self.expect(node.this, "bool"), self.expect(node.expression, "bool")
            return (and_ if t is exp.And else or_)(a, b), "bool"
        if t is exp.Not:
            return not_(self.expect(node.this, "bool")), "bool"
        if t in _COMPARE:
            (a, ka), (b, kb) = self.walk(node.this), self.walk(node.expression)
            if "null" in (ka, kb):
                raise ConditionError(f"{node.sql()!r}: nothing equals NULL; write IS NULL or IS NOT NULL")
            self.same_kind(node, ka, kb)
            return getattr(a, _COMPARE[t])(b), "bool"
        if t in _ARITHMETIC or t is exp.Div:
            a, b = self.expect(node.this, "number"), self.expect(node.expression, "number")
            if t is exp.Div:
                return a / func.nullif(b, 0), "number"  # x / 0 is NULL (no match) on every database
            return getattr(a, _ARITHMETIC[t])(b), "number"
        if t is exp.Neg:
            return -self.expect(node.this, "number"), "number"
        if t is exp.Abs:
            return func.abs(self.expect(node.this, "number")), "number"
        if t is exp.Is:
            if not isinstance(node.expression, exp.Null):
                raise ConditionError(f"{node.sql()!r}: IS is only allowed as IS NULL / IS NOT NULL")
            return self.walk(node.this)[0].is_(None), "bool"
        if t is exp.Between:
            (a, ka), (lo, klo), (hi, khi) = self.walk(node.this), self.walk(node.args["low"]), self.walk(node.args["high"])
            self.same_kind(node, ka, klo)
            self.same_kind(node, ka, khi)
            return a.between(lo, hi), "bool"
        if t is exp.In:
            return self.in_list(node)
        if t is exp.Column:
            return self.column(node)
        if t is exp.Literal:
            return self.literal(node)
        if t is exp.Null:
            return literal(None), "null"
        if isinstance(node, (exp.Subquery, exp.Query)):
            raise ConditionError("subqueries are not allowed in a condition")
        if isinstance(node, exp.Func):
            name = node.name.upper() if isinstance(node, exp.Anonymous) else node.sql_name()
            raise ConditionError(f"function {name}() is not allowed; the only function is ABS()")
        raise ConditionError(f"{self.as_written(node)} is not allowed; a condition may use {ALLOWED}")

    def expect(self, node: exp.Expression, kind: Kind) -> ColumnElement:
        sql, got = self.walk(node)
        if got not in (kind, "error"):
            raise ConditionError(f"{node.sql()!r} is {_KIND_WORDS[got]}, but {_KIND_WORDS[kind]} is needed here")
        return sql

    @staticmethod
    def same_kind(node: exp.Expression, a: Kind, b: Kind) -> None:
        if a != b and "error" not in (a, b):
            hint = " (quote text: '100203')" if "text" in (a, b) else ""
            raise ConditionError(f"{node.sql()!r} compares {_KIND_WORDS[a]} with {_KIND_WORDS[b]}{hint}")

    def in_list(self, node: exp.In) -> tuple[ColumnElement, Kind]:
        if any(node.args.get(k) for k in ("query", "unnest", "field")) or not node.expressions:
            raise ConditionError(f"{node.sql()!r}: IN takes a list of values, e.g. IN ('in_stock', 'preorder')")
        a, ka = self.walk(node.this)
        values = []
        for item in node.expressions:
            if not isinstance(item, exp.Literal) and not (isinstance(item, exp.Neg) and isinstance(item.this, exp.Literal)):
                raise ConditionError(f"{node.sql()!r}: IN (...) may only list numbers or 'quoted text'")
            sql, kind = self.walk(item)
            self.same_kind(node, ka, kind)
            values.append(sql)
        return a.in_(values), "bool"

    def column(self, node: exp.Column) -> tuple[ColumnElement, Kind]:
        channel, name = node.table, node.name
        if not channel or node.args.get("db") or node.args.get("catalog"):
            raise ConditionError(f"{node.sql()!r}: name a field as <channel>.<field>, e.g. shop.{name or 'price'}")
        if channel not in self.aliases:
            valid = ", ".join(self.aliases)
            raise ConditionError(f"unknown channel {channel!r}{did_you_mean(channel, self.aliases)} in {node.sql()!r} "
                                 f"(valid channels: {valid})")
        if name not in FIELD_COLUMNS:
            raise ConditionError(f"unknown field {name!r}{did_you_mean(name, FIELD_COLUMNS)} in {node.sql()!r} "
                                 f"(valid fields: {', '.join(FIELD_COLUMNS)})")
        self.mentions.append((channel, name))
        col = self.aliases[channel].c[FIELD_COLUMNS[name]]
        if name in MONEY_FIELDS:
            return col / literal(100.0, Float), "number"  # the catalog keeps cents; rules speak in 79.99
        return col, "number" if name in NUMBER_FIELDS else "text"

    @staticmethod
    def literal(node: exp.Literal) -> tuple[ColumnElement, Kind]:
        if node.is_string:
            return literal(node.this, String), "text"  # a bound parameter, whatever it contains
        value = float(node.this)
        if not math.isfinite(value):
            raise ConditionError(f"{node.this} is not a usable number")
        return literal(value, Float), "number"


_KIND_WORDS = {"number": "a number", "text": "text", "bool": "a condition", "null": "NULL"}
