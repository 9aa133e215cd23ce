"""JSON: the shape `check --format json` has always printed, written as a stream (memory does not
grow with the findings): {"findings": [...], "waived": [...], "undecided": [...], "summary": {...}}."""
from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TextIO

from unisono.domain.findings import Finding
from unisono.reports.source import ReportRun


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


def finding_line(f: Finding) -> str:
    return json.dumps(finding_json(f), ensure_ascii=False)


def write_json(run: ReportRun, out: TextIO) -> None:
    write_sections(out, [("findings", run.findings()), ("waived", run.waived_findings()),
                         ("undecided", run.undecided_findings())], run.summary())


def write_sections(out: TextIO, sections: list[tuple[str, Iterable[Finding]]], summary: dict) -> None:
    """{"findings": [...], "waived": [...], "undecided": [...], "summary": {...}}, one finding a line,
    each written as it comes."""
    for i, (name, findings) in enumerate(sections):
        out.write("{\n" if i == 0 else ",\n")
        out.write(f'  "{name}": [')
        n = 0
        rendered = getattr(findings, "json_lines", lambda: None)()  # a spool's, rendered as they were found
        for n, line in enumerate(rendered if rendered is not None else map(finding_line, findings), 1):
            out.write(",\n    " if n > 1 else "\n    ")
            out.write(line)
        out.write("\n  ]" if n else "]")
    text = json.dumps(summary, ensure_ascii=False, indent=2).replace("\n", "\n  ")
    out.write(f',\n  "summary": {text}\n}}\n')
