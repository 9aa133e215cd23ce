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
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from unisono.domain.config import ProjectConfig
from unisono.domain.models import InputError

AHEAD_FROM = 32 << 20  # bytes from which a file is read in a second process (~0.3 s to start one)


def worth_it(path: Path) -> bool:
    return len(os.sched_getaffinity(0)) >= 2 and path.stat().st_size >= AHEAD_FROM


def stream(channel: str, path: Path, config: ProjectConfig, notes: list[str]) -> Iterator:
    """What channels.stream yields for the file, read by a second process."""
    with tempfile.TemporaryFile() as err:
        child = subprocess.Popen([sys.executable, "-m", "unisono.channels.ahead", channel, str(path)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
        try:
            child.stdin.write(config.model_dump_json().encode())
            child.stdin.close()
            while True:
                try:
                    kind, value = pickle.load(child.stdout)  # written by our own child process
                except EOFError:
                    err.seek(0)
                    last = (err.read().decode(errors="replace").strip().splitlines() or ["no message"])[-1]
                    raise RuntimeError(f"reading {path.name} in a second process failed: {last}") from None
                if kind == "entry":
                    yield value
                elif kind == "notes":
                    notes.extend(value)
                    return
                else:
                    raise InputError(value)
        finally:
            child.stdout.close()
            if child.poll() is None:
                child.kill()
            child.wait()


def _main(channel: str, path: Path) -> None:
    from unisono.channels import _module

    config = ProjectConfig.model_validate_json(sys.stdin.buffer.read())
    out = os.fdopen(os.dup(1), "wb")  # the pipe, for our pickles only: whatever else writes to
    os.dup2(2, 1)  # standard output (a library's print) goes to standard error instead
    notes: list[str] = []
    try:
        for entry in _module(channel).stream(path, config, notes):
            pickle.dump(("entry", entry), out, protocol=pickle.HIGHEST_PROTOCOL)
        pickle.dump(("notes", notes), out)
    except InputError as e:
        pickle.dump(("error", str(e)), out)
    except BrokenPipeError:  # the publish ended (an error, ^C): nobody reads any more
        os._exit(1)
    out.flush()


if __name__ == "__main__":
    _main(sys.argv[1], Path(sys.argv[2]))
