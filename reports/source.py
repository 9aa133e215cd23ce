"""What every report renders: one run (just evaluated, or stored in the catalog), its rules, its
findings as a stream that can be read again, and the counts a summary needs.

A stored run is read back from the catalog, never evaluated again. The findings are never all in
memory: each renderer reads them once for the counts (`stats`) and once to write them.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from functools import cached_property

from sqlalchemy import Engine

from unisono.domain.findings import Finding, RuleInfo, Severity


@dataclass
class TrendPoint:
    run: int
    at: datetime
    new: int
    open: int
    resolved: int


@dataclass
class Stats:
    """Counts over the findings that stand (not resolved, not waived, judged)."""

    findings: int = 0
    failing: int = 0  # at or above fail_on
    by_rule: dict[str, int] = field(default_factory=dict)
    failing_by_rule: Counter = field(default_factory=Counter)
    by_severity: dict[str, int] = field(default_factory=lambda: {s.value: 0 for s in Severity})
    by_status: Counter = field(default_factory=Counter)  # new, open, resolved (reconcile)
    status_by_rule: dict[str, Counter] = field(default_factory=dict)
    by_location: Counter = field(default_factory=Counter)
    values_per_rule: Counter = field(default_factory=Counter)  # the most values one finding of the rule shows


def standing(f: Finding) -> bool:
    return f.status != "resolved"


@dataclass
class ReportRun:
    kind: str  # check, reconcile
    at: datetime
    tz: tzinfo
    fail_on: Severity
    ruleset: str
    rules: list[RuleInfo]  # empty for a run stored before runs kept their rules
    read_findings: Callable[[], Iterable[Finding]]  # standing ones, then resolved (reconcile)
    read_waived: Callable[[], Iterable[Finding]] = lambda: ()
    read_undecided: Callable[[], Iterable[Finding]] = lambda: ()
    window_end: datetime | None = None
    run_id: int | None = None
    engine: str = "sql"
    waived: int = 0
    undecided: int = 0
    live_offers: dict[str, int] | None = None
    trend: list[TrendPoint] = field(default_factory=list)
    summary_extra: dict = field(default_factory=dict)  # what only a run just evaluated knows (rejected rows)

    def findings(self) -> Iterable[Finding]:
        return self.read_findings()

    def waived_findings(self) -> Iterable[Finding]:
        return self.read_waived()

    def undecided_findings(self) -> Iterable[Finding]:
        return self.read_undecided()

    def rule(self, rule_id: str) -> RuleInfo | None:
        return self._rules_by_id.get(rule_id)

    @cached_property
    def _rules_by_id(self) -> dict[str, RuleInfo]:
        return {r.id: r for r in self.rules}

    @cached_property
    def stats(self) -> Stats:
        """One pass over the findings (and the waived ones, for the value columns)."""
        s = Stats(by_rule={r.id: 0 for r in self.rules})
        for f in self.findings():
            s.values_per_rule[f.rule] = max(s.values_per_rule[f.rule], len(f.values))
            s.by_rule.setdefault(f.rule, 0)
            if f.status:
                s.by_status[f.status] += 1
                s.status_by_rule.setdefault(f.rule, Counter())[f.status] += 1
            if not standing(f):
                continue
            s.findings += 1
            s.by_rule[f.rule] += 1
            s.by_severity[f.severity.value] += 1
            if f.severity.rank >= self.fail_on.rank:
                s.failing += 1
                s.failing_by_rule[f.rule] += 1
            for loc in f.concerned:  # as the terminal's "By location": where to act
                s.by_location[loc] += 1
        for f in self.waived_findings():
            s.values_per_rule[f.rule] = max(s.values_per_rule[f.rule], len(f.values))
            s.by_rule.setdefault(f.rule, 0)
        return s

    @property
    def failed(self) -> bool:
        return self.stats.failing > 0

    def rule_ids(self) -> list[str]:
        """Every rule: the run's, in file order, then any only its findings name (older runs)."""
        return list(self.stats.by_rule)

    def summary(self) -> dict:
        """The summary in the shape `check --format json` prints."""
        s = self.stats
        summary = {
            "at": self.at.isoformat(), "findings": s.findings, "by_severity": s.by_severity, "by_rule": s.by_rule,
            "waived": self.waived, "undecided": self.undecided, "fail_on": self.fail_on.value, "failed": self.failed,
            "live_offers": self.live_offers, "rules": len(self.rules) or len(s.by_rule), "ruleset": self.ruleset,
            "run": self.run_id,
        }
        if self.window_end is not None:
            summary |= {"from": self.at.isoformat(), "to": self.window_end.isoformat()}
        if self.kind == "reconcile":
            summary["status"] = {st: s.by_status.get(st, 0) for st in ("new", "open", "resolved")}
        return summary | self.summary_extra


def from_result(result, fail_on: Severity, tz: tzinfo, engine: Engine | None = None) -> ReportRun:
    """A run just evaluated (api.results.CheckResult), with its waived and undecided findings."""
    return ReportRun(
        kind=result.kind, at=result.at, tz=tz, fail_on=fail_on, ruleset=result.ruleset_hash, rules=result.rules,
        read_findings=lambda: result.findings, read_waived=lambda: result.waived,
        read_undecided=lambda: result.undecided, window_end=result.window_end, run_id=result.run_id,
        waived=len(result.waived), undecided=len(result.undecided), live_offers=result.live_offers,
        trend=_trend(engine, result.run_id) if engine is not None and result.kind == "reconcile" else [],
        summary_extra={"rejected_rows": result.rejected_rows} | ({"pieces": result.pieces} if result.window_end else {}),
    )


def from_catalog(engine: Engine, run_id: int | None, fail_on: Severity, tz: tzinfo) -> ReportRun:
    """A stored run, read back without evaluating anything. Raises LookupError when there is none."""
    from unisono.catalog.runs import (compared_runs, count_aside, find_run, iter_run_findings, resolved_findings,
                                      rules_of_run)

    run = find_run(engine, run_id)
    if run is None:
        raise LookupError(f"no run #{run_id} in the catalog (see `unisono runs`)" if run_id is not None else
                          "no run in the catalog yet: run `unisono reconcile` or `unisono check --save` first")

    def read_findings() -> Iterable[Finding]:
        yield from iter_run_findings(engine, run.id)
        if run.kind == "reconcile" and run.resolved:  # resolved findings are not stored again: from the runs compared
            for f in resolved_findings(engine, compared_runs(engine, run), run.id):
                f.status = "resolved"
                yield f

    return ReportRun(
        kind=run.kind, at=run.at, tz=tz, fail_on=fail_on, ruleset=run.ruleset_hash, rules=rules_of_run(engine, run.id),
        read_findings=read_findings, read_waived=lambda: iter_run_findings(engine, run.id, "waived"),
        read_undecided=lambda: iter_run_findings(engine, run.id, "undecided"), window_end=run.window_end,
        run_id=run.id, engine=run.engine, waived=run.waived, undecided=count_aside(engine, run.id, "undecided"),
        trend=_trend(engine, run.id) if run.kind == "reconcile" else [],
    )


def _trend(engine: Engine, run_id: int | None) -> list[TrendPoint]:
    from unisono.catalog.runs import reconcile_trend

    return [TrendPoint(run=r.id, at=r.at, new=r.new, open=r.findings - r.new, resolved=r.resolved)
            for r in reconcile_trend(engine, run_id)]


def local(t: datetime | None, tz: tzinfo) -> datetime | None:
    """An instant in the project's timezone, without zone (Excel and people read wall-clock time)."""
    return t.astimezone(tz).replace(tzinfo=None) if t is not None else None


def status_of(f: Finding) -> str:
    if "waiver" in f.extra:
        return "waived"
    if not f.judged:
        return "undecided"
    return f.status or ""


def all_findings(run: ReportRun) -> Iterable[Finding]:
    """Standing and resolved findings, then the waived and the undecided ones."""
    yield from run.findings()
    yield from run.waived_findings()
    yield from run.undecided_findings()
