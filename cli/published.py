"""What `unisono publish` tells a person: what it read, what it refused, what a re-check found.

Through rich, so lines wrap at words with their continuation indented (80 columns), and counts
read as words: "1 offer", "498,542 offers".
"""
from __future__ import annotations

from rich.text import Text

from unisono.cli import text
from unisono.cli.output import hanging
from unisono.cli.terminal import visible


def _text(line: str) -> Text:
    """A line that quotes the file (locations, rejected values, notes): no control character raw."""
    return Text(visible(line))


def print_published(result, file_name: str, tz, *, findings=None, waived=(), checked_at=None, failing=(),
                    fail_on: str = "error") -> None:
    console = text.console()
    if result.duplicate:
        hanging(console, "", _text(f"{file_name}: unchanged, already published as #{result.publication_id} "
                                  f"({text.instant(result.published_at, tz)}); nothing changed. To read it again "
                                  f"with changed settings (unisono.yaml), withdraw it first: unisono withdraw "
                                  f"{result.publication_id}"))
    else:
        _published(console, result, file_name, tz)
    if findings is None:
        return
    hanging(console, "", _text(f"Re-checked the products it touched as of {text.instant(checked_at, tz)}: "
                              f"{text.plural(len(findings), 'finding')}" + (f", {len(waived):,} waived" if waived else "") + "."))
    for f in findings:
        hanging(console, f"  {f.severity.value:8} ", _text(f"{f.rule}: {f.message}"))
    for f in waived:
        hanging(console, "  waived   ", _text(f"{f.rule}: {f.message} ({f.extra['waiver']})"))
    if failing:
        console.print(f"FAIL: {text.plural(len(failing), 'finding')} at or above {fail_on}")


def _published(console, result, file_name: str, tz) -> None:
    where = ", ".join(result.locations[:8]) + (" …" if len(result.locations) > 8 else "")
    hanging(console, "", _text(
        f"Published {file_name} as {result.channel} #{result.publication_id}: {text.plural(result.offers, 'offer')}, "
        f"{text.plural(result.claims, 'claim')}, {text.plural(result.rejections, 'rejection')} "
        f"({where or 'no locations'})."))
    if result.effective_from != result.published_at:
        hanging(console, "  ", _text(f"goes live {text.instant(result.effective_from, tz)} "
                                    f"{result.effective_from.astimezone(tz):%Z}"))
    for r in result.first_rejections:
        hanging(console, "  rejected ", _text(f"{r.source}: {r.reason}"))
    if result.rejections > len(result.first_rejections):
        hanging(console, "  ", _text(f"… and {text.plural(result.rejections - len(result.first_rejections), 'more rejection')}"
                                    f" (all of them: unisono rejections {result.publication_id})"))
    for note in result.notes:
        hanging(console, "  note: ", _text(note))
