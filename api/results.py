"""What a check or a reconcile returns: violations, waived and undecided findings, a summary."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from unisono.domain.findings import Finding, RuleInfo, Severity


def finding_filter(*, rules: set[str] = frozenset(), skus: set[str] = frozenset(), locations: set[str] = frozenset(),
                   min_severity: Severity | None = None) -> Callable[[Finding], bool]:
    """Whether a finding is of these rules, products and locations (a location "store:1002" or just
    "1002"), at or above a severity; an empty set selects all."""
    def keep(f: Finding) -> bool:
        return ((not rules or f.rule in rules) and (not skus or not skus.isdisjoint(products_named(f)))
                and (not locations or any(loc in locations or loc.split(":", 1)[-1] in locations
                                          for loc in f.locations))
                and (min_severity is None or f.severity.rank >= min_severity.rank))

    return keep


def products_named(f: Finding) -> list[str]:
    """The products a finding is about: its key, and for a finding about many (a claim: "2 of 4 Jacken
    are not reduced … (J2, J4)") each product it names as an example."""
    return [f.sku, *filter(None, f.extra.get("examples", "").split(", "))]


@dataclass
class CheckResult:
    kind: str  # check, reconcile
    at: datetime  # the instant checked, or the start of the window
    findings: list[Finding]  # violations (for reconcile also the resolved ones, with status)
    live_offers: dict[str, int]  # channel -> offers live at `at`
    ruleset_hash: str
    rule_titles: dict[str, str]
    window_end: datetime | None = None
    waived: list[Finding] = field(default_factory=list)
    undecided: list[Finding] = field(default_factory=list)  # the rules could not judge (judged=False)
    pieces: int = 1  # how many pieces a window was cut into
    rejected_rows: int = 0  # input rows of the live publications that were rejected, so not checked
    run_id: int | None = None
    rules: list[RuleInfo] = field(default_factory=list)  # every rule evaluated, in file order

    def narrowed(self, *, rules: set[str] = frozenset(), skus: set[str] = frozenset(),
                 locations: set[str] = frozenset(), min_severity: Severity | None = None) -> CheckResult:
        """The same result with only the findings (waived, undecided too) of these rules, products
        and locations (a location "store:1002" or just "1002"), at or above a severity; an empty set
        selects all. Its summary and failing() cover only those: a narrowed gate gates what it shows."""
        keep = finding_filter(rules=rules, skus=skus, locations=locations, min_severity=min_severity)
        return replace(self, findings=[f for f in self.findings if keep(f)], waived=[f for f in self.waived if keep(f)],
                       undecided=[f for f in self.undecided if keep(f)])

    def failing(self, fail_on: Severity) -> list[Finding]:
        """Findings that fail the run: at or above the level, and not resolved."""
        return [f for f in self.findings if f.severity.rank >= fail_on.rank and f.status != "resolved"]

    def summary(self, fail_on: Severity) -> dict:
        current = [f for f in self.findings if f.status != "resolved"]
        by_sev = {s.value: 0 for s in Severity}
        by_rule: dict[str, int] = {rule: 0 for rule in self.rule_titles}  # rules without findings too
        for f in current:
            by_sev[f.severity.value] += 1
            by_rule[f.rule] = by_rule.get(f.rule, 0) + 1
        summary = {
            "at": self.at.isoformat(), "findings": len(current), "by_severity": by_sev, "by_rule": by_rule,
            "waived": len(self.waived), "undecided": len(self.undecided), "rejected_rows": self.rejected_rows,
            "fail_on": fail_on.value, "failed": bool(self.failing(fail_on)),
            "live_offers": self.live_offers, "rules": len(self.rule_titles), "ruleset": self.ruleset_hash,
            "run": self.run_id,
        }
        if self.window_end is not None:
            summary |= {"from": self.at.isoformat(), "to": self.window_end.isoformat(), "pieces": self.pieces}
        if self.kind == "reconcile":
            summary["status"] = {s: sum(f.status == s for f in self.findings) for s in ("new", "open", "resolved")}
        return summary


def merge_pieces(pieces: list[tuple[datetime, datetime, list[Finding]]]) -> list[Finding]:
    """Findings of consecutive pieces of a window, merged: the same rule, product and locations
    in adjacent pieces become one finding whose interval covers them all (the first piece's
    message and values stand for the interval)."""
    merged: list[Finding] = []
    open_: dict[str, Finding] = {}
    for start, end, findings in pieces:
        still: dict[str, Finding] = {}
        for f in findings:
            prev = open_.get(f.fingerprint)
            if prev is not None and prev.valid_to == start:
                prev.valid_to = end
                still[f.fingerprint] = prev
            else:
                f = f.model_copy(update={"valid_from": start, "valid_to": end})
                merged.append(f)
                still[f.fingerprint] = f
        open_ = still
    return merged


def sort_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (-f.severity.rank, f.rule, f.sku, f.locations,
                                           f.valid_from.timestamp() if f.valid_from else 0))
