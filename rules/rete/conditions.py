"""A small condition language for durable_rules patterns, rendered with durable.lang.

Why not write durable.lang expressions directly: the compiler needs to negate conditions (the
complement rules of `verify`), to simplify constant parts away, and to write arithmetic that
durable.lang's operators cannot (a literal or the matched fact on the left of `-` or `/`).

    Cmp("<", "zf", Arith("-", Attr("x_price_cents", "shop"), Attr("x_effective_cents")))
        ->  m.zf < (c.shop.x_price_cents - m.x_effective_cents)

A comparison always has an attribute of the fact being matched (durable's `m`) on its left; an
Attr with an alias is an attribute of a fact matched earlier in the same rule (`c.<alias>`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from durable.lang import avalue, m

Scalar = Union[int, float, str]


@dataclass(frozen=True)
class Attr:
    name: str
    alias: str | None = None  # None: the fact being matched


@dataclass(frozen=True)
class Arith:
    op: str  # + - * /
    left: Operand
    right: Operand


Operand = Union[Attr, Arith, int, float, str]


@dataclass(frozen=True)
class Cmp:
    op: str  # == != < <= > >=
    attr: str  # of the fact being matched
    right: Operand


@dataclass(frozen=True)
class All:
    items: tuple[Cond, ...]


@dataclass(frozen=True)
class Any_:
    items: tuple[Cond, ...]


@dataclass(frozen=True)
class Const:
    value: bool


Cond = Union[Cmp, All, Any_, Const]
TRUE, FALSE = Const(True), Const(False)

_NEGATED = {"==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}


def equality_safe(c: Cmp) -> Cond:
    """durable_rules 2.0.28 segfaults on `==` against arithmetic or the fact's own attribute
    (it takes every == for a join key): x == y is written x <= y AND x >= y."""
    if c.op == "==" and (isinstance(c.right, Arith) or (isinstance(c.right, Attr) and c.right.alias is None)):
        return All((Cmp("<=", c.attr, c.right), Cmp(">=", c.attr, c.right)))
    return c


def conj(*items: Cond) -> Cond:
    out: list[Cond] = []
    for c in items:
        if c == FALSE:
            return FALSE
        if c == TRUE:
            continue
        out.extend(c.items if isinstance(c, All) else [c])
    return TRUE if not out else out[0] if len(out) == 1 else All(tuple(dict.fromkeys(out)))


def disj(*items: Cond) -> Cond:
    out: list[Cond] = []
    for c in items:
        if c == TRUE:
            return TRUE
        if c == FALSE:
            continue
        out.extend(c.items if isinstance(c, Any_) else [c])
    return FALSE if not out else out[0] if len(out) == 1 else Any_(tuple(dict.fromkeys(out)))


def negate(c: Cond) -> Cond:
    """Exact when every attribute is present and no value is NaN, as with FactBuilder's facts."""
    if isinstance(c, Const):
        return Const(not c.value)
    if isinstance(c, Cmp):
        return equality_safe(Cmp(_NEGATED[c.op], c.attr, c.right))
    if isinstance(c, All):
        return disj(*map(negate, c.items))
    return conj(*map(negate, c.items))


class TooManyCases(Exception):
    pass


def dnf(c: Cond, limit: int) -> list[tuple[Cmp, ...]]:
    """The condition as a disjunction of conjunctions of comparisons (at most `limit` of them).

    durable_rules 2.0.28 evaluates OR wrongly in conditions across facts: an OR followed by
    anything else makes the whole AND true as soon as it is true; an OR holding an AND, or mixing
    the matched fact's attributes with another fact's, misses matches (tests/test_engine_rete.py
    shows each shape). So no durable rule gets an OR: each conjunction becomes a rule of its own,
    as the limits file's "two_tolerance_rules" (reliable) against "or_tolerance" (suspicious).
    """
    if isinstance(c, Const):
        return [()] if c.value else []
    if isinstance(c, Cmp):
        return [(c,)]
    if isinstance(c, Any_):
        out: list[tuple[Cmp, ...]] = []
        for item in c.items:
            out += dnf(item, limit)
    else:
        out = [()]
        for item in c.items:
            out = [a + b for a in out for b in dnf(item, limit)]
            if len(out) > limit:
                raise TooManyCases(len(out))
    out = list(dict.fromkeys(tuple(dict.fromkeys(conj_)) for conj_ in out))
    if len(out) > limit:
        raise TooManyCases(len(out))
    return out


# -- rendering with durable.lang ----------------------------------------------------------------

class _Literal(avalue):
    """A literal as the left operand of durable arithmetic (durable.lang has no reflected operators)."""

    def __init__(self, v: Scalar):
        super().__init__(None)
        self._v = v

    def define(self, parent_name=None):
        return self._v


_ARITH = {"+": "$add", "-": "$sub", "*": "$mul", "/": "$div"}


def _operand(o: Operand):
    if isinstance(o, Attr):
        return avalue("$m" if o.alias is None else o.alias, o.name)
    if isinstance(o, Arith):
        left = _operand(o.left)
        if not isinstance(left, avalue):
            left = _Literal(left)
        right = _operand(o.right)
        return avalue(None, left, None, _ARITH[o.op], right)
    if isinstance(o, bool):
        raise TypeError("booleans are not durable_rules operands")
    return o


def render(c: Cond):
    """The durable.lang value for a condition (never a constant: the caller drops those)."""
    if isinstance(c, Cmp):
        if equality_safe(c) is not c:
            raise ValueError(f"{c}: write it with equality_safe()")
        left, right = getattr(m, c.attr), _operand(c.right)
        if c.op == "==":
            return left == right
        if c.op == "!=":
            return left != right
        if c.op == "<":
            return left < right
        if c.op == "<=":
            return left <= right
        if c.op == ">":
            return left > right
        return left >= right
    if isinstance(c, (All, Any_)):
        parts = [render(i) for i in c.items]
        out = parts[0]
        for p in parts[1:]:
            out = (out & p) if isinstance(c, All) else (out | p)
        return out
    raise ValueError(f"cannot render the constant {c.value}")
