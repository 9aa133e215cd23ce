"""Words and times as a person reads them: "1 finding", "498,542 offers", "27.11.–30.11.2026".

Instants are stored as half-open intervals [start, end): a date-only end (a window's last day,
a waiver's --until) is kept as the next midnight. People said "until 30.11.", so that is what
they are shown: an end at local midnight is the end of the day before.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta, tzinfo


def plural(n: int, word: str, words: str | None = None) -> str:
    """ "1 finding", "2 findings", "1,000 findings" (words: an irregular plural)."""
    return f"{n:,} {word if n == 1 else words or word + 's'}"


def listing(parts: list[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    return " and ".join(parts) if len(parts) < 3 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _local(t: datetime, tz: tzinfo) -> datetime:
    return t.astimezone(tz)


def _midnight(t: datetime) -> bool:
    return t.time() == time(0)


def instant(t: datetime, tz: tzinfo) -> str:
    """ "24.11.2026 12:00": an instant checked, published, gone live (always with its time)."""
    return f"{_local(t, tz):%d.%m.%Y %H:%M}"


def until(t: datetime, tz: tzinfo) -> str:
    """An exclusive end as the user gave it: midnight of 02.12. is "01.12.2026" (that day
    included), any other instant with its time."""
    local = _local(t, tz)
    if _midnight(local):
        return f"{local.date() - timedelta(days=1):%d.%m.%Y}"
    return f"{local:%d.%m.%Y %H:%M}"


def span(start: datetime, end: datetime, tz: tzinfo) -> str:
    """[start, end) as a person says it: whole days "27.11.–30.11.2026" or "27.11.2026",
    "27.11.2026 00:00–06:00" within a day, else "27.11.2026 06:00 – 30.11.2026" (an end at
    midnight: through the day before)."""
    a, b = _local(start, tz), _local(end, tz)
    if _midnight(a) and _midnight(b):
        last = b.date() - timedelta(days=1)
        if last <= a.date():
            return f"{a:%d.%m.%Y}"
        first = f"{a:%d.%m.}" if a.year == last.year else f"{a:%d.%m.%Y}"
        return f"{first}–{last:%d.%m.%Y}"
    if a.date() == b.date():
        return f"{a:%d.%m.%Y %H:%M}–{b:%H:%M}"
    return f"{a:%d.%m.%Y %H:%M} – {until(b, tz)}"


def run_title(kind: str, at: datetime, end: datetime | None, tz: tzinfo) -> str:
    """ "unisono check as of 24.11.2026 12:00 CET", or over a window "unisono check over 26.11.–30.11.2026"."""
    if end is not None:
        return f"unisono {kind} over {span(at, end, tz)}"
    return f"unisono {kind} as of {at.astimezone(tz):%d.%m.%Y %H:%M %Z}"


def console(stderr: bool = False):
    """A rich console for people: no automatic highlighting (it coloured pieces of dates and
    numbers), lines wrapped at words on a terminal or when COLUMNS is set, one line per line
    when piped (for grep and logs)."""
    import os
    import sys

    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    wrap = stream.isatty() or bool(os.environ.get("COLUMNS"))
    # piped: tables as wide as their cells (at rich's 80 columns, ids and file names were cut with "…")
    return Console(stderr=stderr, highlight=False, soft_wrap=not wrap, width=None if wrap else 1000)
