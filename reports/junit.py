"""JUnit XML for CI (GitLab, Jenkins, Azure DevOps): a testsuite per rule, a testcase per finding.

A finding at or above --fail-on is a failure; one below it a passing testcase that says what it is
(CI lists it, the pipeline stays green); a waived one is skipped; a rule with no finding is one
passing testcase, so CI shows every rule. Resolved findings are no test at all.
Each rule's testcases go to a temporary file first, so memory does not grow with the findings.
"""
from __future__ import annotations

import re
import tempfile
from datetime import timezone
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from unisono.domain.findings import Finding
from unisono.reports.source import ReportRun

# characters XML 1.0 forbids (control characters other than tab, LF, CR; surrogates; U+FFFE/FFFF)
_FORBIDDEN = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean(text: str | None) -> str:
    return _FORBIDDEN.sub("\ufffd", text or "")


def _attr(text: str | None) -> str:
    return quoteattr(clean(text), {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def _text(text: str | None) -> str:
    return escape(clean(text))


def _evidence(f: Finding) -> str:
    lines = [f.message, ""] + [f"{where}: {value}" for where, value in f.values.items()]
    if f.valid_from or f.valid_to:
        lines.append(f"from {f.valid_from.isoformat() if f.valid_from else '…'} "
                     f"to {f.valid_to.isoformat() if f.valid_to else '…'}")
    lines += [f"source: {s}" for s in f.sources] + [f"fingerprint: {f.fingerprint}"]
    return "\n".join(lines)


def _case(f: Finding, fail_rank: int) -> tuple[str, str]:
    """(outcome, the testcase's XML); outcome is failure, skipped or passed."""
    name = _attr(f"{f.sku} {f.title or ''} @ {', '.join(f.locations)}".replace("  ", " "))
    head = f'    <testcase classname={_attr("unisono." + f.rule)} name={name} time="0">'
    if "waiver" in f.extra:
        return "skipped", f'{head}\n      <skipped message={_attr("waived " + f.extra["waiver"])}/>\n    </testcase>\n'
    if f.severity.rank >= fail_rank:
        return "failure", (f'{head}\n      <failure message={_attr(f.message)} type={_attr(f.severity.value)}>'
                           f'{_text(_evidence(f))}</failure>\n    </testcase>\n')
    return "passed", (f'{head}\n      <system-out>{_text(f.severity.value + " below --fail-on: " + _evidence(f))}'
                      f'</system-out>\n    </testcase>\n')


def write_junit(run: ReportRun, path: Path) -> None:
    fail_rank = run.fail_on.rank
    parts: dict[str, list] = {}  # rule -> [temporary file, tests, failures, skipped]
    try:
        for f in _cases(run):
            part = parts.get(f.rule)
            if part is None:
                part = parts[f.rule] = [tempfile.TemporaryFile("w+", encoding="utf-8"), 0, 0, 0]
            outcome, xml = _case(f, fail_rank)
            part[0].write(xml)
            part[1] += 1
            part[2] += outcome == "failure"
            part[3] += outcome == "skipped"
        rules = run.rule_ids() + [r for r in parts if r not in run.stats.by_rule]
        totals = [sum(parts[r][i] if r in parts else (1 if i == 1 else 0) for r in rules) for i in (1, 2, 3)]
        stamp = run.at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")  # the schema's form: UTC, no offset
        with path.open("w", encoding="utf-8") as out:
            out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
            out.write(f'<testsuites name={_attr("unisono " + run.kind)} tests="{totals[0]}" failures="{totals[1]}" '
                      f'errors="0" skipped="{totals[2]}" time="0">\n')
            for rule in rules:
                info = run.rule(rule)
                tmp, tests, failures, skipped = parts.get(rule) or (None, 1, 0, 0)
                out.write(f'  <testsuite name={_attr(rule)} tests="{tests}" failures="{failures}" errors="0" '
                          f'skipped="{skipped}" time="0" timestamp={_attr(stamp)}>\n')
                if info is not None:
                    out.write(f'    <properties>\n      <property name="title" value={_attr(info.title)}/>\n'
                              f'      <property name="severity" value={_attr(info.severity.value)}/>\n'
                              f'    </properties>\n')
                if tmp is None:
                    out.write(f'    <testcase classname={_attr("unisono." + rule)} name="no findings" time="0"/>\n')
                else:
                    tmp.seek(0)
                    while chunk := tmp.read(1 << 16):
                        out.write(chunk)
                out.write("  </testsuite>\n")
            out.write("</testsuites>\n")
    finally:
        for part in parts.values():
            part[0].close()


def _standing(run: ReportRun):
    return (f for f in run.findings() if f.status != "resolved")


def _cases(run: ReportRun):
    yield from _standing(run)
    yield from run.waived_findings()
