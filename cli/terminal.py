"""Text from channel files on its way to a terminal: control characters made visible.

Everything the CLI prints passes through `visible` (text) or `json_visible` (JSON: domain/words.py
says why), so none of it reaches a terminal raw.
Kept free of heavy imports: the CLI imports it at start.
"""
from __future__ import annotations

from unisono.domain.words import json_visible, visible  # noqa: F401 (the CLI's imports)


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
