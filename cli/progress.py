"""A sign of life on stderr while a large file is published: offers and rejections so far.

Only on a terminal (never when stderr is piped or a log file, never in --format json) and only
once publishing has run past a second: a small file prints nothing extra. Called by publishing
once per chunk or batch written (catalog/publish.py), so it costs nothing per row.
"""
from __future__ import annotations

import sys
import threading
import time


class PublishProgress:
    """The `progress` callback of Project.publish, as a context manager that clears its line when
    done. A timer shows it after DELAY even before the first chunk is written (a feed's first
    batch is 50,000 items); each call then updates the counts."""

    DELAY = 1.0  # seconds before anything is shown

    def __init__(self, name: str, enabled: bool | None = None):
        self.name = name
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._progress = None
        self._task = None
        self._closed = False
        self._timer: threading.Timer | None = None

    def _show(self, description: str) -> None:
        """Start the progress line (under the lock)."""
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                                  console=Console(stderr=True, highlight=False, force_terminal=True),
                                  transient=True)  # (enabled only on a terminal)
        self._task = self._progress.add_task(description)
        for task in self._progress.tasks:  # the time since publishing began, not since the line appeared
            task.start_time = self.started
        self._progress.start()

    def _on_timer(self) -> None:
        with self._lock:
            if not self._closed and self._progress is None:
                self._show(f"reading {self.name} …")

    def __call__(self, result) -> None:
        if not self.enabled:
            return
        description = f"{self.name}: {result.offers:,} offers, {result.rejections:,} rejections so far"
        with self._lock:
            if self._progress is not None:
                self._progress.update(self._task, description=description)
            elif not self._closed and time.monotonic() - self.started >= self.DELAY:
                self._show(description)

    def __enter__(self) -> PublishProgress:
        if self.enabled:
            self._timer = threading.Timer(self.DELAY, self._on_timer)
            self._timer.daemon = True
            self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            self._closed = True
            if self._progress is not None:
                self._progress.stop()
