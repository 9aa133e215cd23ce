"""`explain`: why a product is or is not flagged, rule by rule.

    explanation = explain(project, "100203", at=datetime(2026, 11, 24, 12, tzinfo=tz))
    for r in explanation.rules: r.verdict, r.offers, r.lines, r.findings

The verdict of each rule is what `check` reports for the product (the same Project.check, not
recorded), so the two cannot disagree; the reasons (offers seen, effective prices, scopes, waivers,
each comparison with its tolerance) come from rules/explain.py. Parity and presence are told
comparison by comparison, expressions by the values they read and whether the condition holds, the
reference price by which offers announce a reduction; window, promotion and claim rules by the
offers they saw and the findings' own messages.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import or_, select

from unisono.api.project import Project
from unisono.catalog.live import live
from unisono.catalog.state import build_live
from unisono.catalog.tables import OfferRow
from unisono.catalog.waivers import list_waivers
from unisono.domain.findings import Finding
from unisono.domain.models import InputError
from unisono.rules.messages import did_you_mean


@dataclass
class RuleExplanation:
    id: str
    kind: str
    severity: str
    title: str | None
    verdict: str  # "finding", "no finding", "waived", "undecided"
    offers: list = field(default_factory=list)  # rules.explain.SeenOffer
    lines: list[str] = field(default_factory=list)  # scopes, comparisons, waivers: the reasons
    findings: list[Finding] = field(default_factory=list)  # what check reports (waived and undecided too)

    def as_json(self) -> dict:
        return {"rule": self.id, "kind": self.kind, "severity": self.severity, "title": self.title,
                "verdict": self.verdict, "offers": [o.as_json() for o in self.offers], "reasons": self.lines,
                "findings": [{"locations": f.locations, "values": f.values, "message": f.message,
                              "status": "waived" if "waiver" in f.extra else "undecided" if not f.judged else "finding",
                              **({"from": f.valid_from.isoformat()} if f.valid_from else {}),
                              **({"to": f.valid_to.isoformat()} if f.valid_to else {})} for f in self.findings]}


@dataclass
class Explanation:
    sku: str
    title: str | None
    at: datetime
    window_end: datetime | None
    offered: bool  # any live offer of the product at the instant (window: its start)
    ever_published: bool
    rules: list[RuleExplanation]

    def as_json(self) -> dict:
        return {"sku": self.sku, "title": self.title, "at": self.at.isoformat(),
                "window_end": self.window_end.isoformat() if self.window_end else None,
                "offered": self.offered, "ever_published": self.ever_published,
                "rules": [r.as_json() for r in self.rules]}


def explain(project: Project, sku: str, *, at: datetime | None = None,
            window: tuple[datetime, datetime] | None = None, rule_ids: list[str] | None = None,
            rule_files=None) -> Explanation:
    from unisono.rules import load_rules
    from unisono.rules import explain as why

    rules = load_rules(rule_files or project.rule_paths())
    for rid in rule_ids or []:
        if rid not in {r.id for r in rules}:
            raise InputError(f"no rule {rid!r} in the project's rules{did_you_mean(rid, [r.id for r in rules])}")
    rules = [r for r in rules if not rule_ids or r.id in rule_ids]
    at = (window[0] if window else at) or datetime.now(timezone.utc)
    if sku.startswith("claim:"):  # a claim's finding: its own message says what was judged
        return _claim(project, sku, at, window, [r for r in rules if r.kind == "claim"])
    tz = project.config.tz
    with project.engine.begin() as conn:
        build_live(conn, at)
        key = _key_of(conn, sku)
        offers = why.offers_of(conn, key)
        ever = offers != [] or conn.execute(select(OfferRow.__table__.c.id).where(or_(
            OfferRow.__table__.c.sku == sku, OfferRow.__table__.c.gtin == sku)).limit(1)).first() is not None
        detail = {r.id: (why.offers_of(conn, key, why.channels_of(r)), why.scope_notes(conn, r, key)) for r in rules}
        kind_reasons = {r.id: why.presence_checks(conn, r, detail[r.id][0]) if r.kind == "presence" else
                        why.expression_checks(conn, r, key) if r.kind == "expression" else
                        why.reductions(r, detail[r.id][0]) for r in rules
                        if r.kind in ("presence", "expression", "reference_price")}
    title = next((o.title for o in offers if o.channel == "shop" and o.title), None) or \
        next((o.title for o in offers if o.title), None)
    result = Explanation(key, title, at, window[1] if window else None, bool(offers), ever, [])
    if not offers and not window:
        return result  # nothing live: no rule has anything of the product to judge
    checked = project.check(at, window=window, rules=rules, record=False)
    waivers = [w for w in list_waivers(project.engine) if w.sku == key]
    places = {o.label for o in offers}
    for rule in rules:
        mine = [f for f in [*checked.findings, *checked.waived, *checked.undecided]
                if f.rule == rule.id and key in f.products]
        # what a rule could not judge is summed up per location ("Cannot judge 59 announced reductions in the shop")
        mine += [f for f in checked.undecided if f.rule == rule.id and f.sku == "*" and set(f.locations) & places]
        failing = [f for f in mine if f.judged and "waiver" not in f.extra]
        verdict = "finding" if failing else "waived" if any("waiver" in f.extra for f in mine) else \
            "undecided" if mine else "no finding"
        seen_offers, lines = detail[rule.id]
        lines = list(lines)
        if rule.kind == "parity":
            flagged = {frozenset(f.locations) for f in failing}
            waived = {frozenset(f.locations) for f in mine if "waiver" in f.extra}
            lines += why.parity_comparisons(rule, seen_offers, flagged, waived)
        else:
            lines += kind_reasons.get(rule.id, [])
        for w in waivers:
            if w.rule == rule.id:
                state = "expired" if w.until and w.until.replace(tzinfo=w.until.tzinfo or timezone.utc) <= at else "in force"
                lines.append(f"waiver #{w.id} ({state}) for {w.location or 'every location'}: {w.reason}")
        result.rules.append(RuleExplanation(
            rule.id, rule.kind, rule.severity.value, rule.title, verdict,
            [why.seen(o, at, tz) for o in seen_offers], lines, mine))
    return result


def _claim(project: Project, claim: str, at: datetime, window: tuple[datetime, datetime] | None,
           rules: list) -> Explanation:
    """explain claim:ID (the id check gives a claim naming no product): what each claim rule found for it."""
    checked = project.check(at, window=window, rules=rules, record=False) if rules else None
    result = Explanation(claim, None, at, window[1] if window else None, False, False, [])
    for rule in rules:
        mine = [f for f in [*checked.findings, *checked.waived, *checked.undecided] if f.rule == rule.id and f.sku == claim]
        failing = [f for f in mine if f.judged and "waiver" not in f.extra]
        verdict = "finding" if failing else "waived" if any("waiver" in f.extra for f in mine) else \
            "undecided" if mine else "no finding"
        lines = [f"said in {', '.join(f.sources)}" for f in mine]
        result.rules.append(RuleExplanation(rule.id, rule.kind, rule.severity.value, rule.title, verdict, [], lines, mine))
    if not any(r.findings for r in result.rules):
        raise InputError(f"{claim}: no claim rule reports this claim at {at:%d.%m.%Y %H:%M} (claim ids come from "
                         "the findings of `unisono check`; `unisono explain SKU` explains a product)")
    result.offered = result.ever_published = True
    return result


def _key_of(conn, sku: str) -> str:
    """The product key the catalog uses for what the user typed: a sku, or a GTIN or link of an offer."""
    if conn.execute(select(live.c.key).where(live.c.key == sku).limit(1)).first():
        return sku
    row = conn.execute(select(live.c.key).where(or_(live.c.sku == sku, live.c.gtin == sku, live.c.url == sku))
                       .limit(1)).first()
    return row[0] if row else sku
