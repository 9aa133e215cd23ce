"""Rules -> one durable_rules ruleset, evaluated over the facts of ONE product key at a time.

A session holds one key's live offers (one fact per offer, worker.FactBuilder), so no pattern
joins on the key. Each rule becomes durable rules (`when_all`, with `cap` so that all matches of
a session reach one action call); the action records which facts matched, and engine.py turns
that into the rows the SQL queries return, for the kind's own to_finding().

The shapes are chosen around durable_rules 2.0.28's bugs, each reproduced (and checked with
valgrind) while building this:

- a condition across facts is evaluated by a loop that, when a comparison is false, scans past
  the end of its expression array unless that comparison is the first of at least two: so
  every pattern here is `ch == X` (an alpha test), ONE comparison that may be false, and the
  always-true TAIL `z == 0`; the facts carry precomputed attributes (below) so that one
  comparison says what SQL says with several;
- OR inside a condition across facts is wrong (an OR followed by anything else makes the AND
  true; an OR holding an AND, or mixing the fact's own attributes with another's, loses
  matches): no OR at all; each disjunct is a durable rule of its own (conditions.dnf), as the
  limits file's "two_tolerance_rules" against the suspicious "or_tolerance";
- `==` against arithmetic over two facts segfaults: written as <= and >=;
- none() fires when its positive facts arrive and is not taken back when a blocking fact
  follows in the same batch: presence waits for the session's last fact, `go`.

  parity      per field and other channel:  c.ref << ch == reference
                                             c.other << ch == other & DIFFERS & TAIL
              money, per direction checked:  other.lo > ref.hi + ref.th   (other charges more)
                                             other.hi < ref.lo - ref.th   (other charges less)
              lo/hi: rank of the currency among the key's currencies * PACK + cents, or -/+HUGE
              when NULL (so NULL on either side is no difference, and a currency difference is
              always beyond the tolerance); th = max(floor(tolerance in cents),
              floor(relative_tolerance * |cents|)): the difference d is whole cents, d > x iff
              d > floor(x), and SQL's "d > t AND d > rel * |ref|" is d > max of both.
              Directional rules add currencies differing (both not NULL):
              0 < (cu - ref.cu)^2 * cu * ref.cu, cu the currency's rank or 0 when NULL.
              sale_price: also d != ref.d (a sale in one channel only). currency: != ;
              availability, title: 0 < (rk - ref.rk)^2 * rk * ref.rk over ranks of the key's
              values (title as lower(trim(title)), folded as the database folds).
              Within one channel (channels: [store, store]) durable_rules matches both
              orientations; engine.py keeps other.location > ref.location, as the SQL does.
              The fields a pair fires for are its differs_<field> columns.
  presence    per required channel:  c.go << go == 1,  c.seen << ch == when_in,
                                     none(ch == required & oos == 0 & TAIL)   (or without oos)
  expression  c.<ch1> << ch == ch1, ..., c.<chN> << ch == chN & <one DNF case of TRUE(cond)> & TAIL:
              the condition's SQL three-valued logic compiled to where it is TRUE (AND/OR/NOT
              over TRUE/FALSE sides; NULL columns and x / 0 make a comparison neither). Every
              comparison A op B is written 0 op (B - A) (same sign in IEEE doubles, so exact);
              ABS splits on the sign; text compares as ranks among the key's texts (equality
              and Python's order, which is SQLite's). Money in currency units as the SQL engine:
              cents / 100.0. A case with several comparisons across facts is the one shape left
              where durable_rules may read past its array (harmless unless it reaches unmapped
              memory; a crash is contained and retried like any other).

  content     per compared channel:  c.ref << ch == reference,  c.other << ch == other & TAIL:
              every pair; rete/content.py scores its titles and brands with the kind's own judgement.

Kinds not listed (reference_price reads the price history, not one key's live offers; window
and promotion are not compiled yet) and rules the compiler cannot write (see `Unsupported`) are
returned in Plan.delegated: engine.py evaluates them with the SQL engine and says so.

`verify=True` adds, per durable rule, its complement: the same candidates with the comparison
negated (presence: the required offer exists). engine.py then checks per key that the matches
and the complement's partition the candidates (pairs, offers, combinations): a match durable
rules lost shows up in neither. It costs an action per key and durable rule; tests use it.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

from durable import lang
from durable.lang import c, cap, m, none, ruleset, when_all
from sqlglot import exp

from unisono.rules.base import FIELD_COLUMNS, MONEY_FIELDS, NUMBER_FIELDS
from unisono.rules.expression import ExpressionRule
from unisono.rules.parity import ParityRule
from unisono.rules.presence import PresenceRule
from unisono.rules.rete.conditions import (
    FALSE, TRUE, Arith, Attr, Cmp, Cond, Const, Operand, TooManyCases, conj, disj, dnf, equality_safe, negate, render,
)
from unisono.rules.rete.worker import PACK, _representable

CAP = 1000  # matches per action call; a session has far fewer
MAX_ATTRIBUTES = 96  # per fact; durable_rules 2.0.28 crashes past ~200 properties
MAX_ALTERNATIVES = 64  # ABS() splits a comparison per sign; beyond this the rule goes to SQL
MAX_CASES = 64  # durable rules per rule (conditions.dnf); beyond this the rule goes to SQL
TAIL = Cmp("==", "z", 0)  # always true: the comparison before it is never the last

DELEGATED_KINDS = {
    "reference_price": "it judges each offer against the price history, not one key's live offers",
    "window": "per key, but not compiled for durable_rules yet",
    "promotion": "per key, but not compiled for durable_rules yet",
    "claim": "it judges a channel's statements over every product in their scope, not one key's live offers",
}


class Unsupported(Exception):
    """The compiler cannot write this rule for durable_rules exactly: the SQL engine evaluates it."""


@dataclass(frozen=True)
class Tag:
    """One durable rule: the rule it belongs to, the part (parity: the field; presence: the
    required channel), the case (one conjunction of the condition; its complements share it),
    the aliases its action reports."""

    rule_no: int
    part: str
    case: int
    aliases: tuple[str, ...]
    channels: tuple[str, ...]  # the channel each alias's pattern selects: the candidates
    complement: bool = False


@dataclass
class Needs:
    """What the facts must carry (worker.FactBuilder's spec)."""

    money: set[str] = field(default_factory=set)  # lo_/hi_/d_<col>
    thresholds: dict[tuple[str, int, float], str] = field(default_factory=dict)  # (col, t, rel) -> attribute
    currency_of: set[str] = field(default_factory=set)  # cu_<col>
    ranked: set[str] = field(default_factory=set)  # rk_<col> (title: folded)
    plain: set[str] = field(default_factory=set)  # s_<col>
    floats: set[str] = field(default_factory=set)  # x_/d_<col>, expressions
    texts: set[str] = field(default_factory=set)  # t_/d_<col>, expressions
    literals: dict[str, str] = field(default_factory=dict)  # text -> attribute holding its rank
    flags: set[str] = field(default_factory=set)  # d_<col>
    oos: bool = False

    def merge(self, other: Needs) -> None:
        for name in ("money", "currency_of", "ranked", "plain", "floats", "texts", "flags"):
            getattr(self, name).update(getattr(other, name))
        self.thresholds.update(other.thresholds)
        self.literals.update(other.literals)
        self.oos |= other.oos


@dataclass
class Compiled:
    """One rule's durable rules: (tag, [(alias, conjunction, is a none() pattern)])."""

    rules: list[tuple[Tag, list[tuple[str, tuple[Cmp, ...], bool]]]] = field(default_factory=list)
    needs: Needs = field(default_factory=Needs)

    def add(self, part: str, aliases: tuple[str, ...], fixed: list[tuple[str, str]], last: tuple[str, str],
            test: Cond, verify: bool) -> None:
        """Durable rules for `test` on the candidates: one offer of each channel (fixed..., last),
        one rule per conjunction of test (conditions.dnf), each followed by TAIL; with verify, the
        complement of each conjunction (one durable rule per negated comparison)."""
        try:
            cases = dnf(test, MAX_CASES)
        except TooManyCases:
            raise Unsupported(f"the condition splits into more than {MAX_CASES} cases") from None
        channels = tuple(ch for _, ch in [*fixed, last])
        alias, channel = last
        first_case = len({t.case for t, _ in self.rules if t.part == part})
        for n, case in enumerate(cases, start=first_case):
            self.rules.append((Tag(0, part, n, aliases, channels), _patterns(fixed, last, case)))
            if verify:  # an empty case is always true: it has no complement (durable_rules matched "z != 0")
                for cmp in case:
                    self.rules.append((Tag(0, part, n, aliases, channels, True),
                                       _patterns(fixed, last, _conjunction(negate(cmp)))))
        if len(self.rules) > MAX_CASES * 4:
            raise Unsupported("the rule needs too many durable rules")


def _patterns(fixed: list[tuple[str, str]], last: tuple[str, str], case: tuple[Cmp, ...]):
    """The patterns of one durable rule. A comparison that reads one earlier fact only (and the
    zero constants) moves to that fact's pattern, as a test of its own; the last pattern keeps
    the rest, its own tests first, then those across facts, then TAIL."""
    own: dict[str, list[Cmp]] = {alias: [] for alias, _ in fixed}
    here, across = [], []
    for cmp in case:
        others = _aliases(cmp.right)
        if len(others) == 1 and cmp.attr in ("z", "zf") and _reads_own(cmp.right) is False:
            (alias,) = others
            own[alias].append(Cmp(cmp.op, cmp.attr, _as_own(cmp.right)))
        elif others:
            across.append(cmp)
        else:
            here.append(cmp)
    out = [(alias, (Cmp("==", "ch", ch), *own[alias]), False) for alias, ch in fixed]
    alias, ch = last
    return out + [(alias, (Cmp("==", "ch", ch), *here, *across, TAIL), False)]


def _aliases(o) -> set[str]:
    if isinstance(o, Attr):
        return {o.alias} if o.alias else set()
    if isinstance(o, Arith):
        return _aliases(o.left) | _aliases(o.right)
    return set()


def _reads_own(o) -> bool:
    """Whether an operand reads the matched fact's own attributes."""
    if isinstance(o, Attr):
        return o.alias is None
    if isinstance(o, Arith):
        return _reads_own(o.left) or _reads_own(o.right)
    return False


def _as_own(o):
    if isinstance(o, Attr):
        return Attr(o.name)
    if isinstance(o, Arith):
        return Arith(o.op, _as_own(o.left), _as_own(o.right))
    return o


def _conjunction(cond: Cond) -> tuple[Cmp, ...]:
    cases = dnf(cond, 1) if cond != TRUE else [()]
    if len(cases) != 1:
        raise Unsupported("a pattern that is not a conjunction")
    return cases[0]


@dataclass
class Plan:
    name: str
    definition: dict  # durable_rules ruleset definition; "run" holds the tag index (-1: none)
    tags: list[Tag]
    rules: list  # the rules evaluated with durable_rules; Tag.rule_no indexes this list
    delegated: list[tuple[object, str]]  # (rule, why the SQL engine evaluates it)
    facts: dict  # worker.FactBuilder's spec
    verify: bool

    @property
    def wire(self) -> list[str]:
        return self.facts["wire"]

    def worker_spec(self, *, census: bool = True, fault: dict | None = None) -> dict:
        return {"name": self.name, "definition": self.definition, "aliases": [list(t.aliases) for t in self.tags],
                "facts": self.facts, "census": census, "fault": fault}


def compile_rules(rules: list, *, case: str = "ascii", verify: bool = False) -> Plan:
    """The durable_rules ruleset for the rules it can evaluate; the others in Plan.delegated.
    case: how the database's lower() folds, "ascii" or "unicode" (worker.fold_case)."""
    compiled: list[tuple[object, Compiled]] = []
    delegated: list[tuple[object, str]] = []
    needs = Needs()
    for rule in rules:
        compiler = COMPILERS.get(rule.kind)
        if compiler is None:
            why = DELEGATED_KINDS.get(rule.kind, f"kind {rule.kind} is not compiled for durable_rules")
            delegated.append((rule, why))
            continue
        try:
            one = Compiled()
            compiler(rule, one, verify)
            trial = Needs()
            trial.merge(needs)
            trial.merge(one.needs)
            if len(_fact_attributes(trial)) > MAX_ATTRIBUTES:
                raise Unsupported(f"the facts would need more than {MAX_ATTRIBUTES} attributes")
        except Unsupported as e:
            delegated.append((rule, str(e)))
            continue
        needs = trial
        compiled.append((rule, one))
    return _assemble(compiled, delegated, needs, case, verify)


def _assemble(compiled, delegated, needs: Needs, case: str, verify: bool) -> Plan:
    tags: list[Tag] = []
    digest = hashlib.sha256(repr([(r.model_dump_json(), verify) for r, _ in compiled]).encode()).hexdigest()[:12]
    name = f"unisono_{digest}"
    rs = ruleset(name)
    try:
        with rs:
            # Every fact must enter some pattern, else durable_rules refuses the whole batch
            # (MessageNotHandledException) before running any action: this rule takes every
            # fact and never completes.
            when_all(c.h0 << (m.z == 0), c.h1 << (m.z == 1))(_placeholder)
            # The worker's first session fires this once: durable_rules frees two pointers of a
            # session it only sets when an action ran (createStateNode leaves them unset), and
            # later sessions reuse that session's slot.
            when_all(c.w << (m.warmup == 1))(_placeholder)
            for rule_no, (_, one) in enumerate(compiled):
                for tag, patterns in one.rules:
                    args = []
                    for alias, conjunction, negated in patterns:
                        value = render(conj(*conjunction))
                        args.append(none(value) if negated else (getattr(c, alias) << value))
                    when_all(cap(CAP), *args)(_placeholder)
                    tags.append(Tag(rule_no, tag.part, tag.case, tag.aliases, tag.channels, tag.complement))
    finally:
        lang._rulesets.pop(name, None)  # built here, registered by the worker
    _, definition = rs.define()
    runs = iter([-1, -2, *range(len(tags))])
    for rule_def in definition.values():
        rule_def["run"] = next(runs)
    return Plan(name=name, definition=definition, tags=tags, rules=[r for r, _ in compiled], delegated=delegated,
                facts=_fact_spec(needs, case), verify=verify)


def _placeholder(c) -> None:  # replaced by the worker's action
    pass


def _fact_spec(needs: Needs, case: str) -> dict:
    used = (needs.money | needs.currency_of | needs.ranked | needs.plain | needs.floats | needs.texts | needs.flags
            | {col for col, _, _ in needs.thresholds})
    used |= {"currency"} if needs.money or needs.currency_of else set()
    used |= {"availability"} if needs.oos else set()
    wire = ["channel", "location", *sorted(used - {"channel", "location"})]
    return {
        "wire": wire, "money": sorted(needs.money), "currency_of": sorted(needs.currency_of),
        "thresholds": [(name, col, t, rel) for (col, t, rel), name in sorted(needs.thresholds.items())],
        "ranked": sorted(needs.ranked), "plain": sorted(needs.plain), "floats": sorted(needs.floats),
        "texts": sorted(needs.texts), "literals": sorted((name, text) for text, name in needs.literals.items()),
        "flags": sorted(needs.flags), "oos": needs.oos, "case": case,
    }


def _fact_attributes(needs: Needs) -> set[str]:
    out = {"sid", "id", "i", "z", "zf", "ch", "go", "oos", "warmup"}
    out |= {f"{p}_{c}" for c in needs.money for p in ("lo", "hi", "d")}
    out |= {f"cu_{c}" for c in needs.currency_of} | {f"rk_{c}" for c in needs.ranked} | set(needs.thresholds.values())
    out |= {f"s_{c}" for c in needs.plain} | {f"x_{c}" for c in needs.floats} | {f"t_{c}" for c in needs.texts}
    out |= {f"d_{c}" for c in needs.floats | needs.texts | needs.flags}
    return out | set(needs.literals.values())


def _name(prefix: str, value: object) -> str:
    """An attribute name for a value, the same in every rule (rules compile apart, then merge)."""
    return f"{prefix}_{hashlib.sha256(repr(value).encode()).hexdigest()[:10]}"


def literal_attribute(needs: Needs, text: str) -> str:
    """Text literals are ranked per key with the texts they are compared with: the fact
    attribute that holds this literal's rank."""
    return needs.literals.setdefault(text, _name("k", text))


# -- parity -------------------------------------------------------------------------------------

def _parity(rule: ParityRule, out: Compiled, verify: bool) -> None:
    ref = [("ref", rule.reference)]
    for other_channel in rule.others:
        other = ("other", other_channel)
        for f in rule.fields:
            for test in _differs(rule, f, out.needs):
                out.add(f, ("ref", "other"), ref, other, test, verify)


def _squared_difference(attr: str) -> Cond:
    """Both ranks set (not NULL) and different: 0 < (a - b)^2 * a * b, one comparison."""
    diff = Arith("-", Attr(attr), Attr(attr, "ref"))
    return Cmp("<", "z", Arith("*", Arith("*", Arith("*", diff, diff), Attr(attr)), Attr(attr, "ref")))


def _differs(rule: ParityRule, f: str, n: Needs) -> list[Cond]:
    """The comparisons (each its own durable rule) any of which makes field f differ."""
    col = FIELD_COLUMNS[f]
    if f == "currency":
        n.plain.add("currency")
        return [Cmp("!=", "s_currency", Attr("s_currency", "ref"))]
    if f not in MONEY_FIELDS:  # availability, title: NULL on either side is no difference
        n.ranked.add(col)
        return [_squared_difference(f"rk_{col}")]
    n.money.add(col)
    t = math.floor(float(rule.tolerance * 100))  # SQL: diff > float(tolerance * 100); diff is whole cents
    if t >= PACK // 10:
        raise Unsupported(f"a tolerance of {rule.tolerance} is beyond what the rete engine compares")
    rel = float(rule.relative_tolerance)
    th = Attr(n.thresholds.setdefault((col, t, rel), _name(f"th_{col}", (t, rel))), "ref") if rel else t
    above = Cmp(">", f"lo_{col}", Arith("+", Attr(f"hi_{col}", "ref"), th))
    below = Cmp("<", f"hi_{col}", Arith("-", Attr(f"lo_{col}", "ref"), th))
    tests = {"both": [above, below], "not_above": [above], "not_below": [below]}[rule.direction]
    if rule.direction != "both":  # a currency difference, whichever way the amounts go
        n.currency_of.add(col)
        tests.append(_squared_difference(f"cu_{col}"))
    if f == "sale_price":  # a sale in one channel only
        n.flags.add(col)
        tests.append(Cmp("!=", f"d_{col}", Attr(f"d_{col}", "ref")))
    return tests


# -- presence -----------------------------------------------------------------------------------

def _presence(rule: PresenceRule, out: Compiled, verify: bool) -> None:
    go = ("go", (Cmp("==", "go", 1),), False)
    seen = ("seen", (Cmp("==", "ch", rule.when_in),), False)
    for ch in dict.fromkeys(rule.require_in):
        counts: tuple[Cmp, ...] = (Cmp("==", "ch", ch),)
        if rule.require_available:  # availability IS NULL OR availability != 'out_of_stock'
            out.needs.oos = True  # oos: 1 where availability = 'out_of_stock'
            counts += (Cmp("==", "oos", 0),)
        out.rules.append((Tag(0, ch, 0, ("seen",), (rule.when_in,)), [go, seen, ("there", (*counts, TAIL), True)]))
        if verify:
            out.rules.append((Tag(0, ch, 0, ("seen", "there"), (rule.when_in, ch), True),
                              [seen, ("there", (*counts, TAIL), False)]))


# -- content ------------------------------------------------------------------------------------

def _content(rule, out: Compiled, verify: bool) -> None:
    """Every pair of one reference offer and one offer of a compared channel: durable_rules picks
    the pairs, the kind's own judgement scores their titles and brands (rete/content.py)."""
    for other_channel in dict.fromkeys(rule.channels[1:]):
        out.add(other_channel, ("ref", "other"), [("ref", rule.channels[0])], ("other", other_channel), TRUE, verify)


# -- expression ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class _TextLiteral:
    text: str


_NEG = {"==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}
_SQL_COMPARE = {exp.EQ: "==", exp.NEQ: "!=", exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<="}
_PY_COMPARE = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
               "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


def _expression(rule: ExpressionRule, out: Compiled, verify: bool) -> None:
    cond = rule.condition
    channels = cond.channels
    walker = _ExpressionCompiler(channels[-1], out.needs)
    true, _ = walker.condition(cond.tree)
    fixed = [(ch, ch) for ch in channels[:-1]]
    out.add("", tuple(channels), fixed, (channels[-1], channels[-1]), true, verify)


Alternatives = list[tuple[Cond, Operand | _TextLiteral]]


class _ExpressionCompiler:
    """The validated sqlglot tree (rules/expression.py) -> durable conditions.

    condition(node) -> (TRUE side, FALSE side); value(node) -> (kind, alternatives, defined):
    alternatives are (guard, operand) pairs whose guards partition the cases where the value is
    defined (ABS() splits on the sign); `defined` is where SQL's value is not NULL.
    """

    def __init__(self, current: str, needs: Needs):
        self.current = current
        self.needs = needs

    def condition(self, node: exp.Expression) -> tuple[Cond, Cond]:
        t = type(node)
        if t is exp.Paren:
            return self.condition(node.this)
        if t is exp.And:
            (t1, f1), (t2, f2) = self.condition(node.this), self.condition(node.expression)
            return conj(t1, t2), disj(f1, f2)
        if t is exp.Or:
            (t1, f1), (t2, f2) = self.condition(node.this), self.condition(node.expression)
            return disj(t1, t2), conj(f1, f2)
        if t is exp.Not:
            true, false = self.condition(node.this)
            return false, true
        if t in _SQL_COMPARE:
            return self.compare(_SQL_COMPARE[t], node.this, node.expression)
        if t is exp.Is:  # IS NULL (IS NOT NULL is NOT (... IS NULL))
            _, _, defined = self.value(node.this)
            return negate(defined), defined
        if t is exp.Between:
            lo = self.compare(">=", node.this, node.args["low"])
            hi = self.compare("<=", node.this, node.args["high"])
            return conj(lo[0], hi[0]), disj(lo[1], hi[1])
        if t is exp.In:
            sides = [self.compare("==", node.this, item) for item in node.expressions]
            return disj(*(s[0] for s in sides)), conj(*(s[1] for s in sides))
        raise Unsupported(f"{node.sql()!r} is not compiled for durable_rules")

    def compare(self, op: str, a: exp.Expression, b: exp.Expression) -> tuple[Cond, Cond]:
        kind, left, da = self.value(a)
        _, right, db = self.value(b)
        self._check_size(len(left) * len(right))
        true = [conj(ga, gb, self._cmp(op, ea, eb, kind)) for ga, ea in left for gb, eb in right]
        false = [conj(ga, gb, self._cmp(_NEG[op], ea, eb, kind)) for ga, ea in left for gb, eb in right]
        return conj(da, db, disj(*true)), conj(da, db, disj(*false))

    def _cmp(self, op: str, a, b, kind: str) -> Cond:
        if _is_constant(a) and _is_constant(b):
            unwrap = lambda v: v.text if isinstance(v, _TextLiteral) else v  # noqa: E731
            return Const(_PY_COMPARE[op](unwrap(a), unwrap(b)))
        a, b = self._operand(a), self._operand(b)
        # A op B  <=>  0 op (B - A): the sign of a difference of two finite doubles is exact
        return equality_safe(Cmp(op, "zf" if kind == "number" else "z", Arith("-", b, a)))

    def _operand(self, v):
        if isinstance(v, _TextLiteral):
            return Attr(literal_attribute(self.needs, v.text))
        return v

    def value(self, node: exp.Expression) -> tuple[str, Alternatives, Cond]:
        t = type(node)
        if t is exp.Paren:
            return self.value(node.this)
        if t is exp.Column:
            return self.column(node.table, node.name)
        if t is exp.Literal:
            if node.is_string:
                return "text", [(TRUE, _TextLiteral(node.this))], TRUE
            value = float(node.this)
            _check_number(value)
            return "number", [(TRUE, value)], TRUE
        if t is exp.Neg:
            kind, alts, defined = self.value(node.this)
            return kind, [(g, self.arith("*", e, -1.0)) for g, e in alts], defined
        if t in (exp.Add, exp.Sub, exp.Mul, exp.Div):
            op = {exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "/"}[t]
            _, left, da = self.value(node.this)
            _, right, db = self.value(node.expression)
            self._check_size(len(left) * len(right))
            alts = [(conj(ga, gb), self.arith(op, ea, eb)) for ga, ea in left for gb, eb in right]
            defined = conj(da, db)
            if op == "/":  # x / 0 is NULL (nullif)
                defined = conj(defined, disj(*(conj(g, _nonzero(e)) for g, e in right)))
            return "number", [(g, e) for g, e in alts if g != FALSE and e is not None], defined
        if t is exp.Abs:
            _, alts, defined = self.value(node.this)
            out: Alternatives = []
            for g, e in alts:
                if _is_constant(e):
                    out.append((g, abs(e)))
                else:
                    out += [(conj(g, Cmp("<=", "zf", e)), e), (conj(g, Cmp(">", "zf", e)), self.arith("*", e, -1.0))]
            self._check_size(len(out))
            return "number", out, defined
        raise Unsupported(f"{node.sql()!r} is not compiled for durable_rules")

    def column(self, channel: str, name: str) -> tuple[str, Alternatives, Cond]:
        col = FIELD_COLUMNS[name]
        alias = None if channel == self.current else channel
        defined = Cmp("==", f"d_{col}", 1) if alias is None else Cmp("<", "z", Attr(f"d_{col}", alias))
        if name in NUMBER_FIELDS:
            self.needs.floats.add(col)
            return "number", [(TRUE, Attr(f"x_{col}", alias))], defined
        self.needs.texts.add(col)
        return "text", [(TRUE, Attr(f"t_{col}", alias))], defined

    @staticmethod
    def arith(op: str, a, b):
        if _is_constant(a) and _is_constant(b):  # as the database would: in doubles
            if op == "/":
                return None if b == 0 else a / b  # NULL: `defined` is FALSE for it
            value = {"+": a + b, "-": a - b, "*": a * b}[op]
            _check_number(value)
            return value
        return Arith(op, a, b)

    @staticmethod
    def _check_size(n: int) -> None:
        if n > MAX_ALTERNATIVES:
            raise Unsupported(f"the condition splits into more than {MAX_ALTERNATIVES} cases (ABS)")


def _is_constant(v) -> bool:
    return isinstance(v, (int, float, _TextLiteral)) and not isinstance(v, bool)


def _nonzero(e) -> Cond:
    if e is None:
        return FALSE
    if _is_constant(e):
        return Const(e != 0)
    return Cmp("!=", "zf", e)


def _check_number(value: float) -> None:
    if not math.isfinite(value) or not _representable(value):
        raise Unsupported(f"the number {value!r} cannot be written in durable_rules' number format")


COMPILERS = {"parity": _parity, "presence": _presence, "expression": _expression, "content": _content}

__all__ = ["COMPILERS", "Plan", "Tag", "Unsupported", "compile_rules"]
