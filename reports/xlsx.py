"""XLSX for Excel: a summary sheet, then one sheet per rule with real columns (values as numbers with
a currency format, intervals as Excel dates). XlsxWriter in constant_memory mode: each row goes to a
temporary file as it is written, so 100,000 findings take the memory of one row.

No text from a channel file becomes a formula: every string is written with write_string (a text
cell, never parsed), and one starting with = + - @ gets Excel's quote prefix, so editing the cell
keeps it text as well.
"""
from __future__ import annotations

import re
from pathlib import Path

import xlsxwriter

from unisono.domain.findings import Finding, money
from unisono.reports.cells import FORMULA_START, difference
from unisono.reports.source import ReportRun, all_findings, local, status_of

DATE_FORMAT = "dd.mm.yyyy hh:mm"
FIXED = ["sku", "title", "severity", "status"]
TAIL = ["difference", "from", "to", "message", "sources", "waiver", "fingerprint"]
WIDTHS = {"sku": 14, "title": 36, "severity": 9, "status": 9, "location": 16, "value": 14, "difference": 12,
          "from": 16, "to": 16, "message": 80, "sources": 40, "waiver": 30, "fingerprint": 18}


class _Book:
    def __init__(self, path: Path):
        self.wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                                  "strings_to_numbers": False, "strings_to_urls": False})
        self.bold = self.wb.add_format({"bold": True, "bg_color": "#E8EEF4", "bottom": 1})
        self.title = self.wb.add_format({"bold": True, "font_size": 14})
        self.date = self.wb.add_format({"num_format": DATE_FORMAT})
        self.quoted = self.wb.add_format({"quote_prefix": True})
        self._money: dict[str, object] = {}

    def money_format(self, currency: str):
        if currency not in self._money:  # '#,##0.00 "EUR"': a number, shown with its currency
            self._money[currency] = self.wb.add_format({"num_format": f'#,##0.00 "{currency}"'})
        return self._money[currency]

    def text(self, ws, row: int, col: int, value: str | None) -> None:
        value = value or ""
        ws.write_string(row, col, value, self.quoted if value[:1] and value[0] in FORMULA_START else None)


def sheet_name(rule: str, taken: set[str]) -> str:
    """Excel's limits: 31 characters, none of []:*?/\\, unique regardless of case."""
    base = re.sub(r"[\[\]:*?/\\]", "-", rule)[:31] or "rule"
    name, n = base, 2
    while name.lower() in taken:
        suffix = f"~{n}"
        name, n = base[:31 - len(suffix)] + suffix, n + 1
    taken.add(name.lower())
    return name


def write_xlsx(run: ReportRun, path: Path) -> None:
    book = _Book(path)
    stats = run.stats
    summary = book.wb.add_worksheet("Summary")  # first in the workbook, written last (its counts are known then)
    taken = {"summary"}
    sheets: dict[str, tuple] = {}
    for rule in run.rule_ids():
        ws = book.wb.add_worksheet(sheet_name(rule, taken))
        pairs = max(stats.values_per_rule.get(rule, 0), 1)
        columns = FIXED + [c for i in range(1, pairs + 1) for c in (f"location {i}", f"value {i}")] + _tail(run)
        for col, name in enumerate(columns):
            ws.write_string(0, col, name, book.bold)
            ws.set_column(col, col, WIDTHS.get(name.split()[0], 14))
        ws.freeze_panes(1, 0)
        sheets[rule] = [ws, 1, pairs, len(columns)]
    for f in all_findings(run):  # the waived and the undecided too, each marked in its status column
        entry = sheets[f.rule]
        _finding_row(book, run, entry[0], entry[1], f, entry[2])
        entry[1] += 1
    for ws, rows, _, ncols in sheets.values():
        ws.autofilter(0, 0, max(rows - 1, 1), ncols - 1)
    _summary(book, run, summary)
    try:
        book.wb.close()
    except xlsxwriter.exceptions.FileCreateError as e:  # XlsxWriter's wrapper of the OSError
        raise e.args[0] if e.args and isinstance(e.args[0], OSError) else OSError(str(e)) from None


def _tail(run: ReportRun) -> list[str]:
    """The columns after the values: from and to (a finding's interval) only for a run over a window."""
    return TAIL if run.window_end else [c for c in TAIL if c not in ("from", "to")]



def _finding_row(book: _Book, run: ReportRun, ws, row: int, f: Finding, pairs: int) -> None:
    for col, value in enumerate([f.sku, f.title, f.severity.value, status_of(f)]):
        book.text(ws, row, col, value)
    col = len(FIXED)
    for label, value in list(f.values.items())[:pairs]:
        book.text(ws, row, col, label)
        amount = money(value)
        if amount is not None:
            ws.write_number(row, col + 1, float(amount[0]), book.money_format(amount[1]))
        else:
            book.text(ws, row, col + 1, value)
        col += 2
    tail = _tail(run)
    col = len(FIXED) + 2 * pairs
    if (diff := difference(f)) is not None:
        ws.write_number(row, col, float(diff[0]), book.money_format(diff[1]))
    if "from" in tail:
        for i, t in enumerate((f.valid_from, f.valid_to), 1):
            if t is not None:
                ws.write_datetime(row, col + i, local(t, run.tz), book.date)
    texts = [f.message, " | ".join(f.sources), f.extra.get("waiver", ""), f.fingerprint]
    for i, value in enumerate(texts, len(tail) - len(texts)):
        book.text(ws, row, col + i, value)


def _summary(book: _Book, run: ReportRun, ws) -> None:
    stats = run.stats
    ws.set_column(0, 0, 34)
    ws.set_column(1, 1, 42)
    ws.set_column(2, 8, 11)
    ws.write_string(0, 0, f"unisono {run.kind}", book.title)
    rows: list[tuple[str, object]] = [
        ("run", f"#{run.run_id}" if run.run_id is not None else "not stored"),
        ("from" if run.window_end else "as of", local(run.at, run.tz)),
    ]
    if run.window_end:
        rows.append(("to", local(run.window_end, run.tz)))
    rows += [("ruleset", run.ruleset), ("engine", run.engine),
             ("result", f"{'FAIL' if run.failed else 'PASS'} (failing at {run.fail_on.value} and above)"),
             ("findings", stats.findings)]
    rows += [(f"  {sev}", n) for sev, n in stats.by_severity.items()]
    rows += [(f"  {st}", stats.by_status.get(st, 0)) for st in ("new", "open", "resolved") if run.kind == "reconcile"]
    rows += [("waived", run.waived), ("undecided", run.undecided)]
    r = 2
    for label, value in rows:
        ws.write_string(r, 0, label)
        if isinstance(value, str):
            book.text(ws, r, 1, value)
        elif isinstance(value, int):
            ws.write_number(r, 1, value)
        else:
            ws.write_datetime(r, 1, value, book.date)
        r += 1
    r += 1
    head = ["rule", "title", "kind", "severity", "findings", "failing", "new", "open", "resolved"]
    for col, name in enumerate(head):
        ws.write_string(r, col, name, book.bold)
    for rule_id in run.rule_ids():
        r += 1
        info = run.rule(rule_id)
        status = stats.status_by_rule.get(rule_id, {})
        for col, value in enumerate([rule_id, info.title if info else "", info.kind if info else "",
                                     info.severity.value if info else ""]):
            book.text(ws, r, col, value)
        for col, n in enumerate([stats.by_rule.get(rule_id, 0), stats.failing_by_rule.get(rule_id, 0),
                                 status.get("new", 0), status.get("open", 0), status.get("resolved", 0)], 4):
            ws.write_number(r, col, n)
    r += 2
    ws.write_string(r, 0, "location (where to act)", book.bold)
    ws.write_string(r, 1, "findings", book.bold)
    for loc, n in sorted(stats.by_location.items(), key=lambda kv: (-kv[1], kv[0])):
        r += 1
        book.text(ws, r, 0, loc)
        ws.write_number(r, 1, n)
