"""claim: what a channel says in words holds against what the channels charge and the project's
references (`claims:` in unisono.yaml).

    - id: newsletter-claims-hold
      kind: claim
      claims: [discount, shipping, exclusivity]   # default: every class
      tolerance: 0.5                              # percentage points

At the instant checked, the claims of each channel's current publications (the newsletter's) whose
window covers it, read into terms by the adapter (domain/claims.py), are judged:

- discount ("20 % auf alle Winterjacken"): every live offer in its scope, in each channel it names
  (default: shop and stores), is reduced by at least the percent (or amount) from its regular price;
  "bis zu 30 %": at least one offer reaches 30 % and none exceeds it; "ausgewählte": at least one
  reaches it. One finding per claim and location that breaks it, with counts and examples. Scope
  words are matched to category paths and brands (rules/claim_scope.py); words that match nothing
  are reported as undecided (info, judged=False), never guessed;
- shipping ("Versandkostenfrei ab 49 €"): the threshold is claims.free_shipping_threshold;
- payment, service ("Kauf auf Rechnung", "Click & Collect"): named in claims.payment_methods / services;
- exclusivity: "nur online" (a product, or a discount's scope): no store reduces it; "nur im Markt":
  the shop does not; "in allen Filialen" (a product): every store lists it, reduced.
A reference the config does not give makes its claims undecided.

The claims are few: query() reads them and judges each with a grouped query over the live offers;
its rows carry the findings (as JSON) that to_finding() returns.
"""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from pydantic import Field
from sqlalchemy import Float, Select, Table, and_, case, cast, distinct, false, func, literal, or_, select
from sqlalchemy.sql import ColumnElement

from unisono.domain.claims import ClaimType
from unisono.domain.config import ClaimReferences
from unisono.domain.findings import Finding, Severity, location_label
from unisono.rules import claim_shipping
from unisono.rules.base import Channel, RuleBase
from unisono.rules.claim_live import Claim, live_claims, product_keys
from unisono.rules.claim_promotions import applies, live_promotions, mentions, price_after
from unisono.rules.claim_scope import match_scope
from unisono.rules.claim_stores import last_day, product_gaps, sale_gaps, store_locations, words
from unisono.rules.found_rows import found_rows, from_row, none_found
from unisono.rules.messages import fill_template, offer_name, sentence, short_instant

if TYPE_CHECKING:
    from sqlalchemy import Row

    from unisono.rules.evaluate import EvalContext

CLASSES: tuple[ClaimType, ...] = ("discount", "shipping", "exclusivity", "payment", "service")
CONFIG = "unisono.yaml"


class ClaimRule(RuleBase):
    """What a channel says in words holds: discounts over their scope, shipping, payment, service, exclusivity."""

    kind: Literal["claim"]
    claims: list[ClaimType] = Field(default_factory=lambda: list(CLASSES), min_length=1)
    """The classes of claims this rule judges: discount, shipping, exclusivity, payment, service."""
    channels: list[Channel] = Field(default_factory=lambda: ["newsletter"], min_length=1)
    """Whose claims are judged (the channels that state them)."""
    tolerance: float = Field(default=0.5, ge=0, allow_inf_nan=False)
    """Percentage points a reduction may fall short of the stated percent (rounding to the cent)."""
    examples: int = Field(default=5, ge=1, le=50)
    """How many products a finding names."""

    def template_channels(self) -> list[str]:
        return []  # a finding is about a claim, not one product's offers: {sku}, {title}, {rule}

    # -- evaluation -------------------------------------------------------------------------

    def query(self, live: Table, ctx: EvalContext) -> Select:
        if ctx.conn is None:
            return none_found()
        refs = ctx.config.claims if ctx.config is not None else ClaimReferences()
        found: list[Finding] = []
        for claim in self._live_claims(ctx):
            found += _Judge(self, live, ctx, refs, claim).findings()
        return found_rows(ctx.conn, "claim_findings", found)

    def to_finding(self, row: Row, ctx: EvalContext) -> Finding:
        return from_row(row)

    def _live_claims(self, ctx: EvalContext) -> list[Claim]:
        return [c for c in live_claims(ctx.conn, ctx.at, self.channels) if c.terms.type in self.claims]


class _Judge:
    """One claim judged at the instant: its findings."""

    def __init__(self, rule: ClaimRule, live: Table, ctx: EvalContext, refs: ClaimReferences, claim: Claim):
        self.rule, self.live, self.ctx, self.refs, self.claim = rule, live, ctx, refs, claim
        self.currency = refs.currency or (ctx.config.currency if ctx.config else "EUR")
        self.shop = ctx.config.shop.location if ctx.config else "online"

    def findings(self) -> list[Finding]:
        t = self.claim.terms
        if t.type == "discount":
            return self._discount()
        if t.type == "shipping":
            return self._shipping()
        if t.type in ("payment", "service"):
            return self._methods()
        if t.product:
            return self._product_exclusivity()
        return []  # "nur online" said of nothing in particular: nothing to check it against

    # -- wording ----------------------------------------------------------------------------

    def head(self, capital: bool = True) -> str:
        """"Newsletter bf-2026: '20 % auf alle Winterjacken' (valid 27.11.–30.11.)"."""
        c, tz = self.claim, self.ctx.tz
        name = offer_name(c.channel, c.location)
        name = name[:1].upper() + name[1:] if capital else name
        window = ""
        if c.valid_to is not None:
            last = short_instant(c.valid_to - timedelta(microseconds=1), tz)[:6]
            window = f" (valid {short_instant(c.valid_from, tz)[:6]}–{last})" if c.valid_from else f" (valid until {last})"
        return f"{name}: '{c.text}'{window}"

    def finding(self, message: str, *, values: dict[str, str], channels: list[str] | None = None,
                locations: list[str] | None = None, sources: list[str] | None = None,
                extra: dict[str, str] | None = None, judged: bool = True, sku: str | None = None) -> Finding:
        c, rule = self.claim, self.rule
        if rule.message is not None and judged:
            message = fill_template(rule.message, {"sku": c.key, "title": c.text, "rule": rule.title or rule.id})
        return Finding(
            rule=rule.id, kind=rule.kind, severity=rule.severity if judged else Severity.info, sku=sku or c.key,
            title=c.text, channels=[c.channel, *(channels or [])], locations=[c.label, *(locations or [])],
            values=values, message=message, sources=[c.source, *(sources or [])],
            extra={"claim": c.text, "claim_type": c.terms.type, **(extra or {})}, judged=judged,
        )

    def undecided(self, why: str) -> list[Finding]:
        return [self.finding(f"Cannot judge {self.head(capital=False)}: {why}.", values={self.claim.label: self.claim.text},
                             judged=False)]

    # -- discounts --------------------------------------------------------------------------

    def _discount(self) -> list[Finding]:
        t, o = self.claim.terms, self.live
        if t.percent is None and t.amount is None:
            return []
        channels = ["shop"] if t.exclusivity == "online_only" else \
            ["store"] if t.exclusivity == "store_only" else (t.channels or ["shop", "store"])
        scope, what, out = self._scope(channels)
        if scope is None:
            return out
        base = and_(o.c.channel.in_(channels), o.c.price_cents > 0, scope, *self.rule.scope_clauses(o, [o]))
        reached, exceeded = self._measures(t)
        eff = o.c.effective_cents
        promotions = live_promotions(self.ctx.conn, self.ctx.at)
        counted = [p for p in promotions if (p.terms.percent is not None or p.terms.amount is not None)
                   and not p.terms.threshold and p.covers(self.claim.valid_from, self.claim.valid_to)]
        # the shop's promotions lower prices on top of the sale price; over the whole window when they run over it
        granted = [and_(applies(p, o), reached(price_after(p, o, eff))) for p in counted]
        reaches = or_(reached(eff), *granted)
        exceeds = or_(exceeded(eff), *[and_(applies(p, o), exceeded(price_after(p, o, eff))) for p in counted])
        if t.amount is not None:
            base = and_(base, o.c.currency == (t.currency or self.currency))
        conditions = {"short": ~reaches, "reaches": reaches, "exceeds": exceeds}
        every = not t.up_to and not t.selected
        if every:  # "auf alle": every offer reduced over the claim's whole window, not only at the instant
            late, early = sale_gaps(o, self.claim.valid_from, self.claim.valid_to)
            throughout = or_(false(), *[and_(applies(p, o), reached(price_after(p, o, o.c.price_cents)))
                                        for p in counted])
            reaches_sale = and_(o.c.sale_price_cents.is_not(None), reached(o.c.sale_price_cents))
            conditions["late"] = and_(reaches_sale, late, ~throughout)
            conditions["early"] = and_(reaches_sale, early, ~late, ~throughout)
            conditions["short"] = and_(~reaches, ~conditions["late"], ~conditions["early"])
        counts = self._counts(base, conditions)
        stated = f"{t.percent:g} %" if t.percent is not None else f"{t.amount:.2f} {t.currency or self.currency}"
        for (channel, location), n in sorted(counts.items()):
            parts: list[tuple[str, str, int]] = []  # (condition, wording, count)
            if t.up_to and n["exceeds"]:
                parts.append(("exceeds", f"{n['exceeds']} of {n['all']} {what} {_are(n['exceeds'])} reduced by more "
                                         f"than {stated}", n["exceeds"]))
            elif not every and not n["reaches"]:
                parts.append(("short", f"none of {n['all']} {what} is reduced by {stated}", 0))
            elif every and n["short"]:
                parts.append(("short", f"{n['short']} of {n['all']} {what} {_are(n['short'])} not reduced by {stated}",
                              n["short"]))
            if not parts and not (every and (n["late"] or n["early"])):
                continue
            place = _place(channel, location)
            text, value, shown_skus = "", [], []
            if parts:
                cond, words_, count = parts[0]
                skus = self._examples(base, conditions[cond], channel, location) if count else []
                text, value, shown_skus = f"{words_} in {place}{_shown(skus, count)}", [words_], skus
            for cond in ("late", "early") if every else ():
                if n[cond]:
                    when = self._when(base, conditions[cond], channel, location, cond)
                    skus = self._examples(base, conditions[cond], channel, location)
                    said = f"reduces {n[cond]} of {n['all']}{'' if parts else ' ' + what} only {when}"
                    text += f"{'; ' if text else ''}{place} {said}{_shown(skus, n[cond])}"
                    value.append(said)
                    shown_skus += skus
            failing = sum(p[2] for p in parts) + (n["late"] + n["early"] if every else 0)
            granted_by, sources = mentions(self.ctx.conn, o, and_(base, o.c.channel == channel, o.c.location == location),
                                           promotions, self.claim.valid_from, self.claim.valid_to, self.ctx.tz)
            text += f"; {granted_by}" if granted_by else ""
            out.append(self.finding(
                sentence(f"{self.head()}: {text}"), values={self.claim.label: stated,
                                                   location_label(channel, location): "; ".join(value)},
                channels=[channel], locations=[location_label(channel, location)], sources=sources,
                extra={"in_scope": str(n["all"]), "failing": str(failing), "examples": ", ".join(shown_skus)}))
        if t.exclusivity == "online_only":
            out += self._granted_in_stores(scope, what)
        if t.exclusivity == "all_stores":  # a store that lists nothing in scope carries none of it
            stores = store_locations(self.ctx.conn, o, self.ctx.at)
            for s in [s for s in stores if ("store", s) not in counts]:
                out.append(self.finding(
                    f"{self.head()}: {_place('store', s)} lists none of the {what} ({len(stores)} stores).",
                    values={self.claim.label: f"{stated} in all stores", location_label("store", s): "not listed"},
                    channels=["store"], locations=[location_label("store", s)]))
        return out

    def _scope(self, channels: list[str]) -> tuple[ColumnElement | None, str, list[Finding]]:
        """The WHERE clause of the claim's scope, how messages name it, and the undecided finding for
        words that match nothing (None: no word matched, nothing to judge)."""
        t, o = self.claim.terms, self.live
        if t.everything:
            return literal(True), "products", []
        if not t.scope:
            return None, "", self.undecided("it names no products or categories")
        present = select(o.c.category, o.c.brand).where(o.c.channel.in_(channels)).distinct()
        rows = self.ctx.conn.execute(present).all()
        categories = sorted({r.category for r in rows if r.category})
        brands = sorted({r.brand for r in rows if r.brand})
        m = match_scope(t.scope, categories, brands, self.refs.scopes)
        out = []
        if m.unmatched:
            words = ", ".join(repr(w) for w in m.unmatched)
            out = self.undecided(f"{words} matches no category or brand of the live offers; map it under "
                                 f"claims.scopes in {CONFIG}")
        if not m.categories and not m.brands:
            return None, "", out
        parts = []
        if m.categories:
            parts.append(o.c.category.in_(m.categories))
        if m.brands:
            parts.append(o.c.brand.in_(m.brands))
        what = " and ".join(w for w in t.scope if w not in m.unmatched)
        return or_(*parts), what, out

    def _counts(self, where: ColumnElement, conditions: dict[str, ColumnElement]) -> dict:
        """Per (channel, location): how many products are in scope, and how many meet each condition."""
        o = self.live
        q = select(o.c.channel, o.c.location, func.count(distinct(o.c.key)).label("all"),
                   *[func.count(distinct(case((c, o.c.key)))).label(n) for n, c in conditions.items()]) \
            .where(where).group_by(o.c.channel, o.c.location)
        return {(r.channel, r.location): dict(r._mapping) for r in self.ctx.conn.execute(q)}

    def _examples(self, where: ColumnElement, condition: ColumnElement, channel: str, location: str) -> list[str]:
        o = self.live
        q = select(o.c.key).where(where, condition, o.c.channel == channel, o.c.location == location) \
            .distinct().order_by(o.c.key).limit(self.rule.examples)
        return list(self.ctx.conn.execute(q).scalars())

    def _measures(self, t):
        """SQL functions of a price (cents): it reaches the stated reduction from the regular price;
        it exceeds it (beyond the tolerance, or a cent for amounts)."""
        o = self.live
        if t.amount is not None:
            stated = int(t.amount * 100)
            return (lambda price: o.c.price_cents - price >= stated - 1,  # noqa: E731
                    lambda price: o.c.price_cents - price > stated + 1)
        pct = lambda price: cast(o.c.price_cents - price, Float) * 100.0 / o.c.price_cents  # noqa: E731
        least, most = float(t.percent) - self.rule.tolerance, float(t.percent) + self.rule.tolerance
        return lambda price: pct(price) >= least, lambda price: pct(price) > most

    def _when(self, base, condition, channel: str, location: str, which: str) -> str:
        """"from 28.11." (late sales; "from 28.11. to 29.11." when they start on several days) or
        "until 29.11." (sales ending early)."""
        o = self.live
        col = o.c.sale_start if which == "late" else o.c.sale_end
        lo, hi = self.ctx.conn.execute(select(func.min(col), func.max(col)).where(
            base, condition, o.c.channel == channel, o.c.location == location)).one()
        tz = self.ctx.tz
        day = (lambda t: short_instant(t, tz)) if which == "late" else (lambda t: last_day(t, tz))
        first, last = day(lo), day(hi)
        word = "from" if which == "late" else "until"
        return f"{word} {first}" if first == last else f"{word} {first}–{last}"

    def _granted_in_stores(self, scope: ColumnElement, what: str) -> list[Finding]:
        """A discount said to be online only that stores grant as well: one finding per store."""
        o = self.live
        where = and_(o.c.channel == "store", o.c.on_sale, scope, *self.rule.scope_clauses(o, [o]))
        out = []
        for (channel, location), n in sorted(self._counts(where, {}).items()):
            skus = self._examples(where, literal(True), channel, location)
            out.append(self.finding(
                f"{self.head()}: the offer is online only, but {_place(channel, location)} also reduces "
                f"{n['all'] if n['all'] > 1 else 'one of the'} {what} ({', '.join(skus)}"
                f"{', …' if n['all'] > len(skus) else ''}).",
                values={self.claim.label: "online only", location_label(channel, location): f"{n['all']} reduced"},
                channels=[channel], locations=[location_label(channel, location)], extra={"examples": ", ".join(skus)}))
        return out

    # -- exclusivity of one product ---------------------------------------------------------

    def _product_exclusivity(self) -> list[Finding]:
        t, o, c = self.claim.terms, self.live, self.claim
        product = or_(o.c.key == t.product, o.c.key.in_(product_keys(o, c)))
        if t.exclusivity in ("online_only", "store_only"):
            other = "store" if t.exclusivity == "online_only" else "shop"
            rows = self.ctx.conn.execute(
                select(o.c.location, o.c.key, o.c.currency, o.c.price_cents, o.c.effective_cents, o.c.source)
                .where(o.c.channel == other, product, o.c.on_sale).order_by(o.c.location)).all()
            if not rows:
                return []
            said = "online only" if other == "store" else "in stores only"
            granted = _listed([f"{_place(other, r.location)} ({_money(r.effective_cents, r.currency)} instead of "
                               f"{_money(r.price_cents, r.currency)})" for r in rows])
            return [self.finding(
                f"{self.head()}: the reduction is {said}, but {granted} also reduce{'s' if len(rows) == 1 else ''} it.",
                values={c.label: said, **{location_label(other, r.location): _money(r.effective_cents, r.currency)
                                          for r in rows}},
                channels=[other] * len(rows), locations=[location_label(other, r.location) for r in rows],
                sku=rows[0].key,
                sources=[r.source for r in rows])]
        # in allen Filialen: every store in effect lists it, reduced over the claim's whole window
        gaps = product_gaps(self.ctx.conn, o, self.ctx.at, self.ctx.tz, product, c.valid_from, c.valid_to)
        if not gaps.stores:
            return self.undecided("no store's prices are live")
        if not gaps.bad:
            return []
        return [self.finding(
            f"{self.head()}: {words(gaps, lambda s: _place('store', s))} ({len(gaps.bad)} of {gaps.stores} stores).",
            values={c.label: "in all stores", **{location_label("store", s): gaps.values[s] for s in gaps.bad}},
            channels=["store"] * len(gaps.bad), locations=[location_label("store", s) for s in gaps.bad],
            sources=gaps.sources)]

    # -- references in the config -----------------------------------------------------------

    def _shipping(self) -> list[Finding]:
        t = self.claim.terms
        if t.threshold is None:
            return []  # a feed's record of a charge is evidence, not a promise
        claimed = (t.threshold, t.currency or self.currency)
        feed = [c for c in live_claims(self.ctx.conn, self.ctx.at, ["shop"]) if c.terms.type == "shipping"]
        verdict = claim_shipping.judge(claimed, feed, self.refs.free_shipping_threshold, self.currency)
        if verdict is None:
            return []
        if isinstance(verdict, str):
            return self.undecided(verdict)
        shop = location_label("shop", self.shop)
        said = f"{claimed[0]:.2f} {claimed[1]}" if claimed[0] else "no minimum"
        return [self.finding(f"{self.head()}; {verdict.words}.", values={self.claim.label: said, shop: verdict.shop_value},
                             channels=["shop"], locations=[shop], sources=verdict.sources,
                             extra={"reference": verdict.reference})]

    def _methods(self) -> list[Finding]:
        t = self.claim.terms
        key = "payment_methods" if t.type == "payment" else "services"
        offered = getattr(self.refs, key)
        if offered is None:
            return self.undecided(f"no claims.{key} in {CONFIG} says what the shop offers")
        missing = [m for m in t.methods if m not in offered]
        if not missing:
            return []
        shop = location_label("shop", self.shop)
        what = "payment method" if t.type == "payment" else "service"
        return [self.finding(
            f"{self.head()}: the shop does not offer {_listed(missing)} (claims.{key}: "
            f"{', '.join(offered) or 'none'}).",
            values={self.claim.label: ", ".join(t.methods), shop: ", ".join(offered) or "none"},
            channels=["shop"], locations=[shop], extra={f"missing_{what.replace(' ', '_')}": ", ".join(missing)})]


def _place(channel: str, location: str) -> str:
    """"store 1002", "the shop"."""
    name = offer_name(channel, location)
    return name[:1].lower() + name[1:] if channel == "store" else name


def _shown(skus: list[str], count: int) -> str:
    """" (100202, 100203, …)": the first products of `count`."""
    return f" ({', '.join(skus)}{', …' if count > len(skus) else ''})" if skus else ""


def _are(n: int) -> str:
    return "is" if n == 1 else "are"


def _listed(items: list[str]) -> str:
    return " and ".join([", ".join(items[:-1]), items[-1]] if len(items) > 2 else items)


def _money(cents_: int, currency: str) -> str:
    return f"{Decimal(cents_) / 100:.2f} {currency}"
