"""CSV in two dialects.

plain (for machines; what `--format csv` has always printed): comma, UTF-8, one row per finding, the
values packed as "location: value | …", instants in ISO 8601.

excel-de (for German Excel, which opens a file by double-click with `;` and a decimal comma and reads
UTF-8 only after a BOM): one row per finding and location, with the value, its currency and the
difference to the reference in columns of their own (numbers with a decimal comma), instants as
"24.11.2026 12:00" in the project's timezone.

Both neutralise formulas: a cell starting with = + - @ gets a leading apostrophe.
"""
from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import TextIO

from unisono.domain.findings import Finding, money
from unisono.reports.cells import difference, spreadsheet_safe
from unisono.reports.source import ReportRun, all_findings, local, status_of

DIALECTS = ("plain", "excel-de")
CSV_COLUMNS = ["severity", "rule", "kind", "sku", "title", "locations", "values", "message", "from", "to",
                 "status", "waiver", "sources", "fingerprint"]
EXCEL_COLUMNS = ["severity", "rule", "sku", "title", "status", "location", "value", "currency", "difference",
                 "from", "to", "message", "sources", "fingerprint"]


def write_plain(findings: Iterable[Finding], out: TextIO) -> None:
    w = csv.writer(out)
    w.writerow(CSV_COLUMNS)
    for f in findings:
        row = [f.severity.value, f.rule, f.kind, f.sku, f.title or "", " | ".join(f.locations),
               " | ".join(f"{k}: {v}" for k, v in f.values.items()), f.message,
               f.valid_from.isoformat() if f.valid_from else "", f.valid_to.isoformat() if f.valid_to else "",
               f.status or ("" if f.judged else "undecided"), f.extra.get("waiver", ""), " | ".join(f.sources),
               f.fingerprint]
        w.writerow([spreadsheet_safe(c) for c in row])


def _decimal_comma(amount) -> str:
    return f"{amount:.2f}".replace(".", ",")


def write_excel_de(run: ReportRun, findings: Iterable[Finding], out: TextIO) -> None:
    """`out` opened with encoding="utf-8-sig" (the BOM)."""
    w = csv.writer(out, delimiter=";")
    w.writerow(EXCEL_COLUMNS)
    for f in findings:
        diff = difference(f)
        when = [local(t, run.tz).strftime("%d.%m.%Y %H:%M") if t else "" for t in (f.valid_from, f.valid_to)]
        for i, (location, value) in enumerate(f.values.items() or [("", "")]):
            amount = money(value)  # numbers we write ("-5,00") stay numbers; text from a file is neutralised
            cells = [spreadsheet_safe(value), ""] if amount is None else [_decimal_comma(amount[0]), amount[1]]
            # the difference on the row of the location that differs from the reference (the first)
            d = _decimal_comma(diff[0]) if diff is not None and i == 1 else ""
            text = [spreadsheet_safe(c) for c in (f.severity.value, f.rule, f.sku, f.title or "", status_of(f), location)]
            w.writerow([*text, *cells, d, *when,
                        *(spreadsheet_safe(c) for c in (f.message, " | ".join(f.sources), f.fingerprint))])


def write_csv(run: ReportRun, out: TextIO, dialect: str = "plain") -> None:
    findings = all_findings(run)  # the waived and the undecided too, each marked in its status column
    if dialect == "excel-de":
        write_excel_de(run, findings, out)
    else:
        write_plain(findings, out)

