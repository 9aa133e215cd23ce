"""Rendering results for people (terminal report, Markdown) and machines (JSON, CSV)."""
from __future__ import annotations

import csv
import html
import io
import json
from datetime import tzinfo
from itertools import groupby

from rich.console import Console
from rich.text import Text

from unisono.api.results import CheckResult
from unisono.cli.terminal import json_visible, visible
from unisono.domain.findings import Finding

SEVERITY_STYLE = {"blocker": "bold white on red", "error": "bold red", "warning": "yellow", "info": "cyan"}
STATUS_STYLE = {"new": "bold magenta", "open": "yellow", "resolved": "green"}


def finding_json(f: Finding) -> dict:
    d = {
        "rule": f.rule, "kind": f.kind, "severity": f.severity.value, "sku": f.sku, "title": f.title,
        "channels": f.channels, "locations": f.locations, "values": f.values, "message": f.message,
        "sources": f.sources, "fingerprint": f.fingerprint,
    }
    if f.valid_from or f.valid_to:
        d["from"] = f.valid_from.isoformat() if f.valid_from else None
        d["to"] = f.valid_to.isoformat() if f.valid_to else None
    if f.status:
        d["status"] = f.status
    if "waiver" in f.extra:
        d["waiver"] = f.extra["waiver"]
    return d


def to_json(result: CheckResult, summary: dict) -> str:
    return json_visible(json.dumps({
        "findings": [finding_json(f) for f in result.findings],
        "waived": [finding_json(f) for f in result.waived],
        "undecided": [finding_json(f) for f in result.undecided],
        "summary": summary,
    }, ensure_ascii=False, indent=2))


def spreadsheet_safe(value: str) -> str:
    """Cells starting with = + - @ (or a tab/CR) are formulas in Excel: neutralise them (OWASP)."""
    return "'" + value if value and value[0] in "=+-@\t\r" else value


CSV_COLUMNS = ["severity", "rule", "kind", "sku", "title", "locations", "values", "message", "from", "to",
               "status", "waiver", "sources", "fingerprint"]


def to_csv(findings: list[Finding]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    for f in findings:
        row = [f.severity.value, f.rule, f.kind, f.sku, f.title or "", " | ".join(f.locations),
               " | ".join(f"{k}: {v}" for k, v in f.values.items()), f.message,
               f.valid_from.isoformat() if f.valid_from else "", f.valid_to.isoformat() if f.valid_to else "",
               f.status or "", f.extra.get("waiver", ""), " | ".join(f.sources), f.fingerprint]
        w.writerow([spreadsheet_safe(visible(c, lines=False)) for c in row])
    return buf.getvalue()


def interval(f: Finding, tz: tzinfo) -> str:
    """ "27.11. 00:00 – 28.11. 00:00" for a finding of a window check; "" otherwise."""
    if not (f.valid_from and f.valid_to):
        return ""
    a, b = f.valid_from.astimezone(tz), f.valid_to.astimezone(tz)
    return f"{a:%d.%m.%Y %H:%M} – {b:%d.%m.%Y %H:%M}"


def _md_cell(text: str) -> str:
    """A table cell: Markdown's table syntax escaped, HTML (which Markdown passes through) as entities."""
    text = html.escape(visible(text.replace("\n", " ")), quote=False)
    return text.replace("\\", "\\\\").replace("|", "\\|")


def to_markdown(result: CheckResult, summary: dict, tz: tzinfo) -> str:
    lines = [f"# unisono {result.kind} as of {summary['at']}", "",
             f"{summary['findings']} findings, {summary['waived']} waived, {summary['undecided']} undecided; "
             f"failing at {summary['fail_on']} and above: {'yes' if summary['failed'] else 'no'}", ""]
    rows = result.findings + result.waived
    if rows:
        lines += ["| severity | status | rule | sku | when | message |", "| --- | --- | --- | --- | --- | --- |"]
        lines += [f"| {f.severity.value} | {f.status or ('waived' if 'waiver' in f.extra else '')} | {_md_cell(f.rule)} "
                  f"| {_md_cell(f.sku)} | {interval(f, tz)} | {_md_cell(f.message)} |" for f in rows]
    return "\n".join(lines) + "\n"


def _print_finding(console: Console, f: Finding, tz: tzinfo) -> None:
    parts = ["  • "]
    if f.status:
        parts.append((f"[{f.status}] ", STATUS_STYLE[f.status]))
    if when := interval(f, tz):
        parts.append((f"{when}: ", "bold"))
    parts.append(visible(f.message, lines=False))
    console.print(Text.assemble(*parts))
    evidence = " · ".join(f.sources) + (f" · waiver {f.extra['waiver']}" if "waiver" in f.extra else "")
    console.print(Text("    " + visible(evidence, lines=False), style="dim"))


def print_report(console: Console, result: CheckResult, summary: dict, tz: tzinfo) -> None:
    """The terminal report: findings grouped by rule, each with its message and its evidence.
    A list, not a table, so long messages stay readable in any terminal width."""
    when = (f"{result.at.astimezone(tz):%d.%m.%Y %H:%M} – {result.window_end.astimezone(tz):%d.%m.%Y %H:%M %Z}"
            f" ({result.pieces} pieces)" if result.window_end else f"as of {result.at.astimezone(tz):%d.%m.%Y %H:%M %Z}")
    live = ", ".join(f"{n} {c}" for c, n in sorted(result.live_offers.items()))
    current = [f for f in result.findings if f.status != "resolved"]
    head = f"[bold]{len(current)} inconsistencies[/bold]" if current else "[green]No inconsistencies[/green]"
    console.print(f"{head} {when} ({live} offers live)")
    for rule, group in groupby([f for f in result.findings if f.status != "resolved"], key=lambda f: f.rule):
        group = list(group)
        sev = group[0].severity.value
        title = result.rule_titles.get(rule, "")
        console.print()
        console.print(Text.assemble((f" {sev.upper()} ", SEVERITY_STYLE[sev]), " ", (visible(rule), "bold"),
                                    f" · {visible(title)}" if title and title != rule else "", f" ({len(group)})"))
        for f in group:
            _print_finding(console, f, tz)
    resolved = [f for f in result.findings if f.status == "resolved"]
    if resolved:
        console.print(f"\n[green]Resolved since the last run ({len(resolved)}):[/green]")
        for f in resolved:
            _print_finding(console, f, tz)
    if result.waived:
        console.print(f"\n[dim]Waived ({len(result.waived)}), not failing the run:[/dim]")
        for f in result.waived:
            _print_finding(console, f, tz)
    if result.undecided:
        by_rule = ", ".join(f"{r} {len(list(g))}" for r, g in groupby(result.undecided, key=lambda f: f.rule))
        console.print(f"\n[cyan]Could not judge {len(result.undecided)}[/cyan] ({by_rule}): "
                      f"see `--format json` → undecided (\"was\" prices need 30 days of price history: "
                      f"publish older files with --published-at).")
    if result.rejected_rows:
        console.print(f"\n[yellow]{result.rejected_rows} input rows were rejected at publish and are not checked[/yellow] "
                      f"(`unisono publish` listed the first ones with file, line and reason).")
    counts = ", ".join(f"{n} {s}" for s, n in summary["by_severity"].items() if n) or "no findings"
    status = summary.get("status")
    if status:
        counts += f" ({status['new']} new, {status['open']} still open; {status['resolved']} resolved since the last run)"
    verdict = "[red]FAIL[/red]" if summary["failed"] else "[green]PASS[/green]"
    console.print()
    console.print(f"{verdict}: {counts} (failing at {summary['fail_on']} and above)")
