"""Impact preview: what a rule file would report on the current catalog, against the rules in force.

    preview = preview_rules(project, Path("new-rules.yaml"), at=...)
    for r in preview.rules: r.id, r.count, r.added, r.removed, r.before

Both evaluations are Project.check with record=False: nothing is stored (no run, no finding).
A rule is compared with the rule of the same id in force (by finding fingerprint: rule, product,
locations); a rule the project does not have is new, every finding of it added.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from unisono.api.project import Project
from unisono.domain.findings import Finding


@dataclass
class RulePreview:
    id: str
    kind: str
    severity: str
    findings: list[Finding]
    waived: int
    undecided: int
    before: int | None  # findings of the rule in force with this id; None: the project has no such rule
    added: list[Finding] = field(default_factory=list)  # found now, not by the rule in force
    removed: list[Finding] = field(default_factory=list)  # found by the rule in force, not now

    def as_json(self, sample: int) -> dict:
        def short(f: Finding) -> dict:
            return {"sku": f.sku, "locations": f.locations, "severity": f.severity.value, "message": f.message}

        return {"rule": self.id, "kind": self.kind, "severity": self.severity, "findings": len(self.findings),
                "waived": self.waived, "undecided": self.undecided, "in_force": self.before,
                "added": len(self.added), "removed": len(self.removed),
                "sample": [short(f) for f in (self.added or self.findings)[:sample]],
                "removed_sample": [short(f) for f in self.removed[:sample]]}


@dataclass
class Preview:
    file: Path
    at: datetime
    window_end: datetime | None
    rules: list[RulePreview]
    same_file: bool  # the file is one of the project's rule files: what it says now is in force

    @property
    def added(self) -> int:
        return sum(len(r.added) for r in self.rules)

    @property
    def removed(self) -> int:
        return sum(len(r.removed) for r in self.rules)


def preview_rules(project: Project, file: Path, *, at: datetime | None = None,
                  window: tuple[datetime, datetime] | None = None) -> Preview:
    from unisono.rules import load_rules

    proposed = load_rules([file])
    in_force_paths = project.rule_paths()
    in_force = [r for r in load_rules(in_force_paths) if r.id in {p.id for p in proposed}]
    after = project.check(at, window=window, rules=proposed, record=False)
    before = project.check(at, window=window, rules=in_force, record=False) if in_force else None
    by_rule_before: dict[str, list[Finding]] = {}
    for f in before.findings if before else []:
        by_rule_before.setdefault(f.rule, []).append(f)
    ids_in_force = {r.id for r in in_force}
    out = []
    for rule in proposed:
        mine = [f for f in after.findings if f.rule == rule.id]
        old = by_rule_before.get(rule.id, [])
        old_prints = {f.fingerprint for f in old}
        new_prints = {f.fingerprint for f in mine}
        out.append(RulePreview(
            rule.id, rule.kind, rule.severity.value, mine,
            waived=sum(f.rule == rule.id for f in after.waived), undecided=sum(f.rule == rule.id for f in after.undecided),
            before=len(old) if rule.id in ids_in_force else None,
            added=[f for f in mine if f.fingerprint not in old_prints],
            removed=[f for f in old if f.fingerprint not in new_prints]))
    same = file.resolve() in {p.resolve() for p in in_force_paths}
    return Preview(file, after.at, after.window_end, out, same)
