"""A large channel file read in a second process while this one stores what is read.

Publishing a store file of millions of rows is two kinds of work of about the same size: reading
(pyarrow and Python per block) and storing (the database). On a machine with two cores they
overlap: `python -m unisono.channels.ahead` reads the file with the channel's own adapter and
sends what it yields, in file order, through a pipe; the pipe's small buffer keeps the reader at
most a few batches ahead, so memory stays that of a batch. Everything the adapter says arrives as
it said it: entries, then the notes, or the InputError that stopped it.
"""
from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from unisono.domain.config import ProjectConfig
from unisono.domain.models import InputError

INTERRUPTED = 130  # a helper's exit code after a terminate or ^C (128 + SIGINT, as shells say)
AHEAD_FROM = 32 << 20  # bytes from which a file is read in a second process (~0.3 s to start one)


def worth_it(path: Path) -> bool:
    return len(os.sched_getaffinity(0)) >= 2 and path.stat().st_size >= AHEAD_FROM


class stream:
    """What channels.stream yields for the file, read by a second process started at once: it reads
    while this one hashes the file and opens the catalog. Iterate it, or close() it (a publish that
    finds the same bytes stored already reads nothing)."""

    def __init__(self, channel: str, path: Path, config: ProjectConfig, notes: list[str]) -> None:
        self.path, self.notes = path, notes
        self.err = _scratch()
        # -P: the installed unisono, never a folder of that name where the command runs
        self.child = subprocess.Popen([sys.executable, "-P", "-m", "unisono.channels.ahead", channel, str(path)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err)
        self.child.stdin.write(config.model_dump_json().encode())
        self.child.stdin.close()

    def __iter__(self) -> Iterator:
        child, name = self.child, self.path.name
        try:
            while True:
                try:
                    kind, value = pickle.load(child.stdout)  # written by our own child process
                except EOFError:
                    if child.wait() == INTERRUPTED:  # ^C reached the helper first: the user's interrupt
                        raise KeyboardInterrupt from None
                    self.err.seek(0)
                    last = (self.err.read().decode(errors="replace").strip().splitlines() or ["no message"])[-1]
                    raise RuntimeError(f"reading {name} in a second process failed: {last}") from None
                if kind == "entries":
                    yield from value
                elif kind == "notes":
                    self.notes.extend(value)
                    return
                elif kind == "error":
                    raise InputError(value)
                else:
                    raise RuntimeError(f"reading {name} in a second process: unexpected {kind!r} (a different unisono?)")
        finally:
            self.close()

    def close(self) -> None:
        self.child.stdout.close()
        stop(self.child)
        self.err.close()


def stop(child: subprocess.Popen) -> None:
    """End a helper process: asked first, so it removes what it made (its temporary files, its own
    helper), then killed if it does not within seconds."""
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
    child.wait()


def quits_cleanly() -> None:
    """In a helper process: a terminate (or ^C) ends it through its `finally` blocks."""
    def leave(*_):
        raise SystemExit(INTERRUPTED)

    signal.signal(signal.SIGTERM, leave)
    signal.signal(signal.SIGINT, leave)


def _scratch():
    """A temporary file for the second process's error output (nothing to show if none can be made)."""
    try:
        return tempfile.TemporaryFile()
    except OSError:
        return open(os.devnull, "w+b")


def _main(channel: str, path: Path) -> None:
    from unisono.channels import _module
    from unisono.domain.batch import OfferBatch

    quits_cleanly()
    config = ProjectConfig.model_validate_json(sys.stdin.buffer.read())
    out = os.fdopen(os.dup(1), "wb")  # the pipe, for our pickles only: whatever else writes to
    os.dup2(2, 1)  # standard output (a library's print) goes to standard error instead
    notes: list[str] = []
    pending: list = []  # sent together: one pickle per entry would cost as much as reading a row

    def send() -> None:
        pickle.dump(("entries", pending), out, protocol=pickle.HIGHEST_PROTOCOL)
        # all of it now: a tail left in the buffer until the next batch is read made the two processes
        # take turns instead of working at once
        out.flush()
        pending.clear()

    try:
        for entry in _module(channel).stream(path, config, notes):
            pending.append(entry)
            if len(pending) >= 1000 or isinstance(entry, OfferBatch):
                send()
        send()
        pickle.dump(("notes", notes), out)
    except InputError as e:
        pickle.dump(("error", str(e)), out)
    except BrokenPipeError:  # the publish ended (an error, ^C): nobody reads any more
        os._exit(1)
    out.flush()


if __name__ == "__main__":
    _main(sys.argv[1], Path(sys.argv[2]))
