"""Markdown: the summary with every rule and its count, then one table row per finding."""
from __future__ import annotations

import html

from typing import TextIO

from unisono.domain.findings import Finding
from unisono.domain.words import run_title, visible
from unisono.reports.source import ReportRun, all_findings, local, status_of


def md_cell(text: str | None) -> str:
    """A table cell: Markdown's table syntax escaped, HTML (which Markdown passes through) as
    entities, control characters from channel files visible."""
    text = html.escape(visible((text or "").replace("\n", " ")), quote=False)
    return text.replace("\\", "\\\\").replace("|", "\\|")


def when(f: Finding, run: ReportRun) -> str:
    if not (f.valid_from and f.valid_to):
        return ""
    return f"{local(f.valid_from, run.tz):%d.%m.%Y %H:%M} – {local(f.valid_to, run.tz):%d.%m.%Y %H:%M}"


def write_markdown(run: ReportRun, out: TextIO) -> None:
    s = run.summary()
    out.write(f"# {run_title(run.kind, run.at, run.window_end, run.tz)}\n\n")
    undecided = f", {run.undecided} undecided"
    out.write(f"{s['findings']} findings, {s['waived']} waived{undecided}; failing at {s['fail_on']} and above: "
              f"{'yes' if s['failed'] else 'no'}\n\n")
    out.write("| rule | findings |\n| --- | ---: |\n")
    for rule, n in s["by_rule"].items():
        out.write(f"| {md_cell(rule)} | {n} |\n")
    out.write("\n")
    header = False
    for f in all_findings(run):  # the waived and the undecided too, each marked in its status column
        if not header:
            out.write("| severity | status | rule | sku | when | message |\n| --- | --- | --- | --- | --- | --- |\n")
            header = True
        out.write(f"| {f.severity.value} | {status_of(f)} | {md_cell(f.rule)} | {md_cell(f.sku)} "
                  f"| {when(f, run)} | {md_cell(f.message)} |\n")
