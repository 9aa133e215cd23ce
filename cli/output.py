"""Rendering findings for people (terminal table, Markdown) and machines (JSON, CSV)."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from itertools import groupby

from rich.console import Console
from rich.text import Text

from unisono.domain.findings import Finding

SEVERITY_STYLE = {"blocker": "bold white on red", "error": "bold red", "warning": "yellow", "info": "cyan"}


def finding_json(f: Finding) -> dict:
    d = {
        "rule": f.rule, "kind": f.kind, "severity": f.severity.value, "sku": f.sku, "title": f.title,
        "channels": f.channels, "locations": f.locations, "values": f.values, "message": f.message,
        "sources": f.sources, "fingerprint": f.fingerprint,
    }
    if f.valid_from or f.valid_to:
        d["from"] = f.valid_from.isoformat() if f.valid_from else None
        d["to"] = f.valid_to.isoformat() if f.valid_to else None
    return d


def to_json(findings: list[Finding], summary: dict) -> str:
    return json.dumps({"findings": [finding_json(f) for f in findings], "summary": summary}, ensure_ascii=False, indent=2)


def spreadsheet_safe(value: str) -> str:
    """Cells starting with = + - @ (or a tab/CR) are formulas in Excel: neutralise them (OWASP)."""
    return "'" + value if value and value[0] in "=+-@\t\r" else value


CSV_COLUMNS = ["severity", "rule", "kind", "sku", "title", "locations", "values", "message", "sources", "fingerprint"]


def to_csv(findings: list[Finding]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    for f in findings:
        row = [f.severity.value, f.rule, f.kind, f.sku, f.title or "", " | ".join(f.locations),
               " | ".join(f"{k}: {v}" for k, v in f.values.items()), f.message, " | ".join(f.sources), f.fingerprint]
        w.writerow([spreadsheet_safe(c) for c in row])
    return buf.getvalue()


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def to_markdown(findings: list[Finding], summary: dict) -> str:
    lines = [f"# unisono check as of {summary['at']}", "",
             f"{summary['findings']} findings; failing at {summary['fail_on']} and above: "
             f"{'yes' if summary['failed'] else 'no'}", ""]
    if findings:
        lines += ["| severity | rule | sku | where | message |", "| --- | --- | --- | --- | --- |"]
        lines += [f"| {f.severity.value} | {_md_cell(f.rule)} | {_md_cell(f.sku)} | {_md_cell(', '.join(f.locations))} "
                  f"| {_md_cell(f.message)} |" for f in findings]
    return "\n".join(lines) + "\n"


def print_report(console: Console, findings: list[Finding], summary: dict, at: datetime,
                 rule_titles: dict[str, str] | None = None) -> None:
    """The terminal report: findings grouped by rule, each with its message and its evidence.
    A list, not a table, so long messages stay readable in any terminal width."""
    when = at.strftime("%d.%m.%Y %H:%M %Z")
    live = ", ".join(f"{n} {c}" for c, n in sorted(summary["live_offers"].items()))
    if not findings:
        console.print(f"[green]No inconsistencies[/green] as of {when} ({live} offers live).")
    else:
        console.print(f"[bold]{len(findings)} inconsistencies[/bold] as of {when} ({live} offers live)")
    for rule, group in groupby(findings, key=lambda f: f.rule):
        group = list(group)
        sev = group[0].severity.value
        title = (rule_titles or {}).get(rule, "")
        console.print()
        console.print(Text.assemble((f" {sev.upper()} ", SEVERITY_STYLE[sev]), " ", (rule, "bold"),
                                    f" · {title}" if title and title != rule else "", f" ({len(group)})"))
        for f in group:
            console.print(Text.assemble("  • ", f.message))
            console.print(Text("    " + " · ".join(f.sources), style="dim"))
    counts = ", ".join(f"{n} {s}" for s, n in summary["by_severity"].items() if n)
    verdict = "[red]FAIL[/red]" if summary["failed"] else "[green]PASS[/green]"
    console.print()
    console.print(f"{verdict}: {counts or 'no findings'} (failing at {summary['fail_on']} and above)")
