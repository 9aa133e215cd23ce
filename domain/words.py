"""Words for people, shared by the CLI and the reports: instants and windows as a person says them
("27.11.–30.11.2026"), and text from channel files with its control characters made visible.

Instants are stored as half-open intervals [start, end): a date-only end (a window's last day,
a waiver's --until) is kept as the next midnight. People said "until 30.11.", so that is what
they are shown: an end at local midnight is the end of the day before.

A store id or a title can carry escape sequences ("\\x1b[2J\\x1b]0;pwned": clear the screen, set
the window title) or bidi overrides that reorder what a reader sees: everything printed or put in a
report passes through `visible` (text) or `json_visible` (JSON). Kept free of heavy imports: the CLI
imports it at start.
"""
from __future__ import annotations

import re
from datetime import datetime, time, timedelta, tzinfo


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


# C0 but tab and newline, DEL, C1, and the bidi and line controls of Unicode
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTROL_OR_LINE = re.compile(_CONTROL.pattern[:-1] + "\n\t]")


def _escape(m: re.Match) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str, *, lines: bool = True) -> str:
    """`text` with every control character shown as an escape (\\x1b, \\u202e); with lines=False
    also newlines and tabs (one field on one line)."""
    return (_CONTROL if lines else _CONTROL_OR_LINE).sub(_escape, text)


def json_visible(text: str) -> str:
    """A JSON document with the control characters json.dumps leaves raw (C1, bidi; ensure_ascii=False)
    written as \\u escapes: the same JSON value, nothing a terminal acts on."""
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
