"""Words as a person reads them: "1 finding", "498,542 offers", "27.11.–30.11.2026" (instants and
windows: domain/words.py, which the reports share), and the console they are printed on."""
from __future__ import annotations

from unisono.domain.words import instant, run_title, span, until  # noqa: F401 (the CLI says them too)


def plural(n: int, word: str, words: str | None = None) -> str:
    """ "1 finding", "2 findings", "1,000 findings" (words: an irregular plural)."""
    return f"{n:,} {word if n == 1 else words or word + 's'}"


def listing(parts: list[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    return " and ".join(parts) if len(parts) < 3 else ", ".join(parts[:-1]) + " and " + parts[-1]


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
