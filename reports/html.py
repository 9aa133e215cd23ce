"""One self-contained HTML file: CSS, script and SVG charts inline, nothing loaded from a network
(a Content-Security-Policy forbids it). jinja2 with autoescape on: every string from a channel file
is text, never markup. The findings travel as JSON in a <script type="application/json"> block with
< > & written as \\u003c \\u003e \\u0026, so no title can close the block; the page's script puts them
into the table with textContent only. The file is written as a stream (jinja2's generate), one
finding at a time.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from unisono.domain.findings import Finding
from unisono.domain.words import span  # a window as people say it: "26.11.–30.11.2026"
from unisono.reports.source import ReportRun, all_findings, local, status_of

_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def script_json(value) -> Markup:
    """JSON safe inside a <script> element."""
    return Markup(json.dumps(value, ensure_ascii=False, separators=(",", ":")).translate(_ESCAPES))


def _row(f: Finding, run: ReportRun) -> list:
    fmt = "%d.%m.%Y %H:%M"
    return [f.rule, f.severity.value, status_of(f), f.sku, f.title or "", f.message,
            local(f.valid_from, run.tz).strftime(fmt) if f.valid_from else "",
            local(f.valid_to, run.tz).strftime(fmt) if f.valid_to else "",
            [[k, v] for k, v in f.values.items()], f.sources, f.fingerprint, f.extra.get("waiver", ""),
            f.locations]


def _rows(run: ReportRun) -> Iterator[Markup]:
    for i, f in enumerate(all_findings(run)):
        yield Markup(",\n" if i else "\n") + script_json(_row(f, run))


def bars(counts: dict[str, int], limit: int = 25) -> list[dict]:
    """Horizontal bars, the largest first, as fractions of the largest."""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    top = max((n for _, n in items), default=0) or 1
    return [{"label": k, "n": n, "w": n / top} for k, n in items]


def trend(run: ReportRun) -> list[dict]:
    top = max((p.new + p.open + p.resolved for p in run.trend), default=0) or 1
    return [{"run": p.run, "at": local(p.at, run.tz).strftime("%d.%m. %H:%M"), "new": p.new, "open": p.open,
             "resolved": p.resolved, "scale": 1 / top} for p in run.trend]


def write_html(run: ReportRun, path: Path) -> None:

    env = Environment(loader=PackageLoader("unisono.reports", "templates"), autoescape=select_autoescape(default=True))
    template = env.get_template("report.html.j2")
    stats = run.stats
    stores = {k: n for k, n in stats.by_location.items() if k.startswith("store:")} or dict(stats.by_location)
    rules = [{"id": r, "title": (run.rule(r).title if run.rule(r) else "") or "",
              "severity": run.rule(r).severity.value if run.rule(r) else "", "n": stats.by_rule.get(r, 0),
              "failing": stats.failing_by_rule.get(r, 0), "status": dict(stats.status_by_rule.get(r, {}))}
             for r in run.rule_ids()]
    stream = template.generate(
        run=run, summary=run.summary(), stats=stats, rules=rules, rule_bars=bars(stats.by_rule),
        store_bars=bars(stores), trend=trend(run),
        at=local(run.at, run.tz).strftime("%d.%m.%Y %H:%M"),
        window=span(run.at, run.window_end, run.tz) if run.window_end else None,
        meta=script_json({"rules": {r["id"]: r["title"] for r in rules}}), rows=_rows(run),
    )
    with path.open("w", encoding="utf-8") as out:
        for chunk in stream:
            out.write(chunk)
