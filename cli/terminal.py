"""Text from channel files on its way to a terminal: control characters made visible.

A store id or a title can carry escape sequences ("\\x1b[2J\\x1b]0;pwned": clear the screen, set
the window title) or bidi overrides that reorder what a reader sees. Everything the CLI prints
passes through `visible` (text) or `json_visible` (JSON), so none of it reaches a terminal raw.
Kept free of heavy imports: the CLI imports it at start.
"""
from __future__ import annotations

import re

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


class VisibleWriter:
    """A text stream that writes through `show` (visible or json_visible): a report streamed to stdout."""

    def __init__(self, out, show) -> None:
        self.out, self.show = out, show

    def write(self, text: str) -> int:
        return self.out.write(self.show(text))

    def flush(self) -> None:
        self.out.flush()


def echo(message: str = "", **kw) -> None:
    """click.echo of text that may quote channel files."""
    import click

    click.echo(visible(message), **kw)



def show_log_lines() -> None:
    """unisono's log records (a writer waiting for the lock, a run not recorded) as lines on stderr,
    wherever stderr is at the time (click's test runner swaps it). Once per process."""
    import logging

    logger = logging.getLogger("unisono")
    if any(getattr(h, "unisono_echo", False) for h in logger.handlers):
        return
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: echo(record.getMessage(), err=True)  # type: ignore[method-assign]
    handler.unisono_echo = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
