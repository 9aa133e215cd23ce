"""What a check or a reconcile returns: violations, waived and undecided findings, a summary."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from unisono.domain.findings import Finding, RuleInfo, Severity


def finding_filter(*, rules: set[str] = frozenset(), skus: set[str] = frozenset(), locations: set[str] = frozenset(),
                   min_severity: Severity | None = None) -> Callable[[Finding], bool]:
    """Whether a finding is of these rules, products and locations (a location "store:1002" or just
    "1002"), at or above a severity; an empty set selects all."""
    def keep(f: Finding) -> bool:
        return ((not rules or f.rule in rules) and (not skus or not skus.isdisjoint(f.products))
                and (not locations or any(loc in locations or loc.split(":", 1)[-1] in locations
                                          for loc in f.locations))
                and (min_severity is None or f.severity.rank >= min_severity.rank))

    return keep


def named(key: str, *findings: Iterable[Finding]) -> bool:
    """Whether any of these findings is about product `key` (read through, never collected)."""
    return any(key in f.products for fs in findings for f in fs)


@dataclass
class CheckResult:
    kind: str  # check, reconcile
    at: datetime  # the instant checked, or the start of the window
    # violations (for reconcile also the resolved ones, with status): a check's are read from its
    # spool (catalog/spool.py) on every pass, never held; a list does as well
    findings: Sequence[Finding]
    live_offers: dict[str, int]  # channel -> offers live at `at`
    ruleset_hash: str
    rule_titles: dict[str, str]
    window_end: datetime | None = None
    waived: Sequence[Finding] = field(default_factory=list)
    undecided: Sequence[Finding] = field(default_factory=list)  # the rules could not judge (judged=False)
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
        titles = {r: t for r, t in self.rule_titles.items() if r in rules} if rules else self.rule_titles
        return replace(self, findings=_kept(self.findings, keep), waived=_kept(self.waived, keep),
                       undecided=_kept(self.undecided, keep), rule_titles=titles)  # by_rule: those rules only

    def failing(self, fail_on: Severity) -> list[Finding]:
        """Findings that fail the run: at or above the level, and not resolved."""
        return [f for f in self.findings if f.severity.rank >= fail_on.rank and f.status != "resolved"]

    def summary(self, fail_on: Severity) -> dict:
        by_sev = {s.value: 0 for s in Severity}
        by_rule: dict[str, int] = {rule: 0 for rule in self.rule_titles}  # rules without findings too
        by_status = {"new": 0, "open": 0, "resolved": 0}
        failed = False
        for severity, rule, status, n in counts(self.findings):
            if status in by_status:
                by_status[status] += n
            if status == "resolved":
                continue
            by_sev[severity] += n
            by_rule[rule] = by_rule.get(rule, 0) + n
            failed = failed or Severity(severity).rank >= fail_on.rank
        summary = {
            "at": self.at.isoformat(), "findings": sum(by_sev.values()), "by_severity": by_sev, "by_rule": by_rule,
            "waived": len(self.waived), "undecided": len(self.undecided), "rejected_rows": self.rejected_rows,
            "fail_on": fail_on.value, "failed": failed,
            "live_offers": self.live_offers, "rules": len(self.rule_titles), "ruleset": self.ruleset_hash,
            "run": self.run_id,
        }
        if self.window_end is not None:
            summary |= {"from": self.at.isoformat(), "to": self.window_end.isoformat(), "pieces": self.pieces}
        if self.kind == "reconcile":
            summary["status"] = by_status
        return summary


def _kept(findings: Sequence[Finding], keep: Callable[[Finding], bool]) -> Sequence[Finding]:
    """Those `keep` selects: a spooled sequence filtered as it is read, a list as a list."""
    return findings.filter(keep) if hasattr(findings, "filter") else [f for f in findings if keep(f)]


def counts(findings: Sequence[Finding]) -> list[tuple[str, str, str | None, int]]:
    """(severity, rule, status, how many) over the findings: a spool counts without reading them."""
    if (spooled := getattr(findings, "counts", lambda: None)()) is not None:
        return spooled
    n: dict[tuple, int] = {}
    for f in findings:
        key = (f.severity.value, f.rule, f.status)
        n[key] = n.get(key, 0) + 1
    return [(*k, v) for k, v in n.items()]


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
