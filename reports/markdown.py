"""Markdown: the summary with every rule and its count, then one table row per finding."""
from __future__ import annotations

import html

from typing import TextIO

from unisono.domain.findings import Finding
from unisono.reports.source import ReportRun, local, status_of


def md_cell(text: str | None) -> str:
    """A table cell: Markdown's table syntax escaped, HTML (which Markdown passes through) as
    entities, control characters from channel files visible (cli/terminal.py)."""
    from unisono.cli.terminal import visible

    text = html.escape(visible((text or "").replace("\n", " ")), quote=False)
    return text.replace("\\", "\\\\").replace("|", "\\|")


def when(f: Finding, run: ReportRun) -> str:
    if not (f.valid_from and f.valid_to):
        return ""
    return f"{local(f.valid_from, run.tz):%d.%m.%Y %H:%M} – {local(f.valid_to, run.tz):%d.%m.%Y %H:%M}"


def write_markdown(run: ReportRun, out: TextIO) -> None:
    s = run.summary()
    out.write(f"# unisono {run.kind} as of {run.at.astimezone(run.tz):%d.%m.%Y %H:%M %Z}\n\n")
    undecided = f", {run.undecided} undecided"
    out.write(f"{s['findings']} findings, {s['waived']} waived{undecided}; failing at {s['fail_on']} and above: "
              f"{'yes' if s['failed'] else 'no'}\n\n")
    out.write("| rule | findings |\n| --- | ---: |\n")
    for rule, n in s["by_rule"].items():
        out.write(f"| {md_cell(rule)} | {n} |\n")
    out.write("\n")
    header = False
    for source in (run.findings(), run.waived_findings()):
        for f in source:
            if not header:
                out.write("| severity | status | rule | sku | when | message |\n| --- | --- | --- | --- | --- | --- |\n")
                header = True
            out.write(f"| {f.severity.value} | {status_of(f)} | {md_cell(f.rule)} | {md_cell(f.sku)} "
                      f"| {when(f, run)} | {md_cell(f.message)} |\n")
