"""Rendering results for people (terminal report, Markdown) and machines (JSON, CSV)."""
from __future__ import annotations

import io
import json
from datetime import tzinfo
from itertools import groupby

from rich.console import Console
from rich.text import Text

from unisono.api.results import CheckResult
from unisono.domain.findings import Finding
from unisono.reports.csvfile import write_plain
from unisono.reports.jsonfile import finding_json
from unisono.reports.markdown import md_cell

SEVERITY_STYLE = {"blocker": "bold white on red", "error": "bold red", "warning": "yellow", "info": "cyan"}
STATUS_STYLE = {"new": "bold magenta", "open": "yellow", "resolved": "green"}


def to_json(result: CheckResult, summary: dict) -> str:
    return json.dumps({
        "findings": [finding_json(f) for f in result.findings],
        "waived": [finding_json(f) for f in result.waived],
        "undecided": [finding_json(f) for f in result.undecided],
        "summary": summary,
    }, ensure_ascii=False, indent=2)


def to_csv(findings: list[Finding]) -> str:
    buf = io.StringIO()
    write_plain(findings, buf)
    return buf.getvalue()


def interval(f: Finding, tz: tzinfo) -> str:
    """ "27.11. 00:00 – 28.11. 00:00" for a finding of a window check; "" otherwise."""
    if not (f.valid_from and f.valid_to):
        return ""
    a, b = f.valid_from.astimezone(tz), f.valid_to.astimezone(tz)
    return f"{a:%d.%m.%Y %H:%M} – {b:%d.%m.%Y %H:%M}"


def to_markdown(result: CheckResult, summary: dict, tz: tzinfo) -> str:
    lines = [f"# unisono {result.kind} as of {summary['at']}", "",
             f"{summary['findings']} findings, {summary['waived']} waived, {summary['undecided']} undecided; "
             f"failing at {summary['fail_on']} and above: {'yes' if summary['failed'] else 'no'}", ""]
    rows = result.findings + result.waived
    if rows:
        lines += ["| severity | status | rule | sku | when | message |", "| --- | --- | --- | --- | --- | --- |"]
        lines += [f"| {f.severity.value} | {f.status or ('waived' if 'waiver' in f.extra else '')} | {md_cell(f.rule)} "
                  f"| {md_cell(f.sku)} | {interval(f, tz)} | {md_cell(f.message)} |" for f in rows]
    return "\n".join(lines) + "\n"


def _print_finding(console: Console, f: Finding, tz: tzinfo) -> None:
    parts = ["  • "]
    if f.status:
        parts.append((f"[{f.status}] ", STATUS_STYLE[f.status]))
    if when := interval(f, tz):
        parts.append((f"{when}: ", "bold"))
    parts.append(f.message)
    console.print(Text.assemble(*parts))
    evidence = " · ".join(f.sources) + (f" · waiver {f.extra['waiver']}" if "waiver" in f.extra else "")
    console.print(Text("    " + evidence, style="dim"))


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
        console.print(Text.assemble((f" {sev.upper()} ", SEVERITY_STYLE[sev]), " ", (rule, "bold"),
                                    f" · {title}" if title and title != rule else "", f" ({len(group)})"))
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
        history = (' ("was" prices need 30 days of price history: publish older files with --published-at)'
                   if any(f.kind == "reference_price" for f in result.undecided) else "")
        console.print(f"\n[cyan]Could not judge {len(result.undecided)}[/cyan] ({by_rule}): "
                      f"see `--format json` → undecided{history}.")
    if result.rejected_rows:
        console.print(f"\n[yellow]{result.rejected_rows} input rows were rejected at publish and are not checked[/yellow] "
                      f"(`unisono publish` listed the first ones with file, line and reason).")
    counts = ", ".join(f"{n} {s}" for s, n in summary["by_severity"].items() if n) or "no findings"
    status = summary.get("status")
    if status:
        counts += f" ({status['new']} new, {status['open']} still open; {status['resolved']} resolved since the last run)"
    verdict = "[red]FAIL[/red]" if summary["failed"] else "[green]PASS[/green]"
    console.print()  # every rule with its count, those that found nothing too
    console.print("Rules: " + ", ".join(f"{rule} {n}" for rule, n in summary["by_rule"].items()), soft_wrap=True)
    console.print(f"{verdict}: {counts} (failing at {summary['fail_on']} and above)")
