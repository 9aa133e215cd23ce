"""Rendering results for people (terminal report, Markdown) and machines (JSON, CSV)."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import tzinfo
from typing import TYPE_CHECKING, TextIO
from collections import Counter
from itertools import chain, groupby, islice

from unisono.api.results import CheckResult
from unisono.cli import text
from unisono.cli.terminal import json_visible, visible
from unisono.domain.findings import Finding
from unisono.reports.csvfile import write_plain
from unisono.reports.jsonfile import write_sections
from unisono.reports.markdown import md_cell

if TYPE_CHECKING:  # rich is loaded for the terminal report only: --format json|csv|md never draws
    from rich.console import Console
    from rich.text import Text

SEVERITY_STYLE = {"blocker": "bold white on red", "error": "bold red", "warning": "yellow", "info": "cyan"}
STATUS_STYLE = {"new": "bold magenta", "open": "yellow", "resolved": "green"}


def write_json(result: CheckResult, summary: dict, out: TextIO) -> None:
    """The result as JSON on `out`, a finding at a time: memory does not grow with the findings."""
    write_sections(_Visible(out, json_visible), [("findings", result.findings), ("waived", result.waived),
                                                 ("undecided", result.undecided)], summary)


def write_csv(findings: Iterable[Finding], out: TextIO) -> None:
    # the csv module ends rows with \r\n; on stdout a line is a line (a lone \r in a cell stays visible)
    write_plain(findings, _Visible(out, lambda text: visible(text.replace("\r\n", "\n"))))


class _Visible:
    """A text stream that passes what is written through `show` first (control characters as escapes)."""

    def __init__(self, out: TextIO, show: Callable[[str], str]):
        self.out, self.show = out, show

    def write(self, text: str) -> int:
        return self.out.write(self.show(text))


def interval(f: Finding, tz: tzinfo) -> str:
    """ "27.11.–30.11.2026" for a finding of a window check (ends as people say them); "" otherwise."""
    if not (f.valid_from and f.valid_to):
        return ""
    return text.span(f.valid_from, f.valid_to, tz)


def write_markdown(result: CheckResult, summary: dict, tz: tzinfo, out: TextIO) -> None:
    """The result as Markdown on `out`, a row at a time."""
    out.write(f"# {text.run_title(result.kind, result.at, result.window_end, tz)}\n\n"
              f"{summary['findings']} findings, {summary['waived']} waived, {summary['undecided']} undecided; "
              f"failing at {summary['fail_on']} and above: {'yes' if summary['failed'] else 'no'}\n\n")
    for n, f in enumerate(chain(result.findings, result.waived)):
        if not n:
            out.write("| severity | status | rule | sku | when | message |\n| --- | --- | --- | --- | --- | --- |\n")
        out.write(f"| {f.severity.value} | {f.status or ('waived' if 'waiver' in f.extra else '')} | {md_cell(f.rule)} "
                  f"| {md_cell(f.sku)} | {interval(f, tz)} | {md_cell(f.message)} |\n")


def hanging(console: Console, prefix: str | Text, body: Text) -> None:
    """`prefix` then `body`, wrapped lines indented under the body's start (a hanging indent), at
    words; unwrapped when the console does not wrap (piped output stays one line per item)."""
    from rich.text import Text

    indent = len(prefix) or 2  # a paragraph of its own: continued two columns in
    if console.soft_wrap:
        console.print(Text.assemble(prefix, body))
        return
    width = max(20, console.width - indent)
    for i, line in enumerate(_at_words(body, width)):
        line.rstrip()
        console.print(Text.assemble(prefix if i == 0 else " " * indent, line), soft_wrap=True)


def _at_words(body: Text, width: int) -> list[Text]:
    """Lines of at most `width` at spaces; a word longer than that (a link) on a line of its own, whole,
    so it can still be clicked or copied (the terminal wraps it, without breaking it)."""
    breaks, column = [], 0
    for word in re.finditer(r"\S+\s*", body.plain):
        if column and column + len(word.group().rstrip()) > width:
            breaks.append(word.start())
            column = 0
        column += len(word.group())
    return list(body.divide(breaks))


def _findings_grid(console: Console, findings: Iterable[Finding], tz: tzinfo) -> int:
    """Each finding behind its bullet, its evidence under it; wrapped lines stay under the text. How many."""
    from rich.text import Text

    n = 0
    for n, f in enumerate(findings, 1):
        parts = []
        if f.status:
            parts.append((f"[{f.status}] ", STATUS_STYLE[f.status]))
        if when := interval(f, tz):
            parts.append((f"{when}: ", "bold"))
        parts.append(visible(f.message, lines=False))  # channel text: no control character reaches the terminal
        hanging(console, "  • ", Text.assemble(*parts))
        evidence = " · ".join(f.sources) + (f" · waiver {f.extra['waiver']}" if "waiver" in f.extra else "")
        hanging(console, "    ", Text(visible(evidence, lines=False), style="dim"))
    return n


def print_report(console: Console, result: CheckResult, summary: dict, tz: tzinfo, *, limit: int | None = None,
                 narrowed: str = "") -> None:
    """The terminal report: findings grouped by rule, each with its message and its evidence.
    A list, not a table, so long messages stay readable in any terminal width. `limit`: list at
    most that many current findings (the counts still cover all); `narrowed`: the filter applied.
    The findings are read as they are printed (and once before, for the counts): never held."""
    from rich.text import Text

    live = ", ".join(f"{n:,} {c}" for c, n in sorted(result.live_offers.items())) + " offers live"
    when = (f"over {text.span(result.at, result.window_end, tz)} ({text.plural(result.pieces, 'piece')}; {live})"
            if result.window_end else f"as of {text.instant(result.at, tz)} {result.at.astimezone(tz):%Z} ({live})")
    current = lambda: (f for f in result.findings if f.status != "resolved")  # noqa: E731
    n_current = summary["findings"]
    head = (Text(text.plural(n_current, "inconsistency", "inconsistencies"), style="bold") if n_current
            else Text("No inconsistencies", style="green"))
    hanging(console, "", Text.assemble(head, f" {when}", narrowed and f"; {narrowed}"))
    if n_current > 1:  # where they are, before the list: per rule and per location
        per_rule, per_location = Counter(), Counter()
        for f in current():
            per_rule[f.rule] += 1
            per_location.update(f.concerned)
        hanging(console, Text("By rule: ", style="dim"), Text(", ".join(f"{r} {n:,}" for r, n in per_rule.most_common())))
        hanging(console, Text("By location: ", style="dim"),
                Text(", ".join(f"{visible(loc, lines=False)} {n:,}" for loc, n in per_location.most_common(12))
                     + (f", … {len(per_location) - 12:,} more" if len(per_location) > 12 else "")))
    shown = 0
    for rule, group in groupby(islice(current(), limit), key=lambda f: f.rule):
        first = next(group)
        sev = first.severity.value
        title = result.rule_titles.get(rule, "")
        total = summary["by_rule"].get(rule, 1)
        console.print()
        hanging(console, Text.assemble((f" {sev.upper()} ", SEVERITY_STYLE[sev]), " "),
                Text.assemble((visible(rule), "bold"), f" · {visible(title)}" if title and title != rule else "",
                              f" ({total:,})"))
        shown += _findings_grid(console, chain([first], group), tz)
    if shown < n_current:
        console.print(Text(f"\n… and {text.plural(n_current - shown, 'more finding')} not listed "
                           f"(--limit {limit}; --format json or csv lists all)", style="dim"))
    if resolved := summary.get("status", {}).get("resolved", 0):
        console.print(Text(f"\nResolved since the last run ({resolved:,}):", style="green"))
        _findings_grid(console, islice((f for f in result.findings if f.status == "resolved"), limit), tz)
    if waived := len(result.waived):
        console.print(Text(f"\nWaived ({waived:,}), not failing the run:", style="dim"))
        _findings_grid(console, islice(result.waived, limit), tz)
    undecided: Counter = Counter()  # reductions the rules could not judge: one finding may stand for a location's
    kinds: dict[str, str] = {}
    for f in result.undecided:
        undecided[f.rule] += int(f.values.get("reductions", 1))
        kinds[f.rule] = f.kind
    if undecided:
        per_rule = sorted(sorted(undecided.items()), key=lambda item: -item[1])
        what = [f"{text.plural(n, UNDECIDED_NOUN.get(kinds[r], 'finding'))} ({r}: {n:,})" for r, n in per_rule]
        history = (' ("was" prices need 30 days of price history: publish older files with --published-at)'
                   if "reference_price" in kinds.values() else "")
        console.print(Text.assemble(("\nCould not judge ", "cyan"), text.listing(what),
                                    f": see `--format json` → undecided{history}."))
    if result.rejected_rows:
        rows = text.plural(result.rejected_rows, "input row")
        console.print(Text.assemble((f"\n{rows} {'was' if result.rejected_rows == 1 else 'were'} rejected at publish "
                                     "and not checked", "yellow"),
                                    " (`unisono rejections ID` lists them with file, line and reason; "
                                    "`unisono publications` the IDs)."))
    counts = ", ".join(text.plural(n, s, SEVERITY_PLURAL.get(s)) for s, n in summary["by_severity"].items() if n) \
        or "no findings"
    status = summary.get("status")
    if status:
        counts += f"; {status['new']:,} new, {status['open']:,} still open, {status['resolved']:,} resolved since the last run"
    verdict = Text("FAIL", style="red") if summary["failed"] else Text("PASS", style="green")
    console.print()  # every rule with its count, those that found nothing too
    hanging(console, Text("Rules: "), Text(", ".join(f"{rule} {n:,}" for rule, n in summary["by_rule"].items())))
    console.print(Text.assemble(verdict, f": {counts} (failing at {summary['fail_on']} and above)"))


UNDECIDED_NOUN = {"reference_price": "announced reduction", "claim": "claim"}  # what a rule could not judge
SEVERITY_PLURAL = {"info": "info"}  # "3 info", as "3 errors", "3 warnings", "3 blockers"
