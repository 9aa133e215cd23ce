"""A large XML feed read by two processes: this one reads the first half, a second one the rest.

Reading a feed is Python per item (a million items: over a minute of one core), so on a machine
with two cores a feed of SPLIT_FROM bytes or more is cut in two at an item's start tag near the
middle, and each half is made a document of its own:

- the first half: the file up to the cut, then the end tags that close what is open there;
- the second half: the file's head (declaration, root and channel start tags, up to the first
  item), then the file from the cut; its lines are shifted back to the file's.

A second process (`python -m unisono.channels.shop_split`) reads the second half into a file of
batches while this one reads the first. The halves say exactly what one reader says: the cut is
used only when both halves are well-formed documents, which they are only if the cut is an item's
start tag at the level of the first item (a cut inside a comment or CDATA leaves the first half
unclosed), and only when no id is in both halves (duplicate ids across the cut are worded from the
whole file). Otherwise, as on any error of the second half, this process goes on reading the
file itself after the items it has read: the same offers, rejections and errors, just slower.
"""
from __future__ import annotations

import itertools
import pickle
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from unisono.channels.ahead import quits_cleanly, stop
from unisono.channels.shop import Reader, tables
from unisono.channels.shop_items import check_prolog, xml_items
from unisono.channels.shop_plain import context, items
from unisono.domain.config import ProjectConfig
from unisono.domain.models import InputError

# an item's start tag: <item>, <entry>, with a namespace prefix or attributes
_ITEM = re.compile(rb"<((?:[A-Za-z_][\w.-]*:)?(?:item|entry))[\s>/]")
_LOOK = 1 << 20  # bytes searched for the first item and for a cut


@dataclass(frozen=True)
class Cut:
    head: bytes  # the file up to its first item
    closers: bytes  # the end tags of the elements open at the first item
    at: int  # where the second half starts: an item's start tag
    size: int


def cut(path: Path) -> Cut | None:
    """Where to cut the feed, or None (one process reads it): no item start tag found near the start
    or the middle, or a head that is not open elements only."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        start = fh.read(_LOOK)
        first = _ITEM.search(start)
        if first is None:
            return None
        fh.seek(size // 2)
        middle = re.compile(rb"<" + re.escape(first[1]) + rb"[\s>]").search(fh.read(_LOOK))
    head = start[:first.start()]
    closers = _closers(head, first[1])
    if middle is None or closers is None or size // 2 + middle.start() <= first.start():
        return None
    return Cut(head, closers, size // 2 + middle.start(), size)


def _closers(head: bytes, tag: bytes) -> bytes | None:
    """The end tags that close the elements open where `head` ends, if it ends between elements."""
    found = context(head, tag)
    return None if found is None else found[0]


class _Piece:
    """Bytes [start, end) of a file between a prefix and a suffix, as a file lxml reads."""

    def __init__(self, path: Path, start: int, end: int, prefix: bytes = b"", suffix: bytes = b"") -> None:
        self.fh = path.open("rb")
        self.fh.seek(start)
        self.left, self.parts = end - start, [prefix]
        self.suffix = suffix

    def read(self, n: int = -1) -> bytes:
        if self.parts and self.parts[0]:
            return self.parts.pop(0)
        if self.left > 0:
            data = self.fh.read(self.left if n < 0 else min(n, self.left))
            self.left = self.left - len(data) if data else 0  # (a file cut short ends here)
            if data:
                return data
        data, self.suffix = self.suffix, b""
        return data

    def __enter__(self) -> _Piece:
        return self

    def __exit__(self, *exc) -> None:
        self.fh.close()


def _first_half(path: Path, c: Cut, failed: list[Exception]) -> Iterator:
    """The first half's items; an error ends them and is kept in `failed`."""
    try:
        yield from items(path, piece=lambda: _Piece(path, 0, c.at, suffix=c.closers))
    except InputError as e:
        failed.append(e)


def entries(path: Path, config: ProjectConfig, reader: Reader) -> Iterator:
    """The feed's spans as shop._entries makes them, read by this process and a second one."""
    check_prolog(path)  # refusals of the whole file first, as one reader's
    c = cut(path)
    try:
        folder = tempfile.TemporaryDirectory(prefix="unisono-feed-") if c is not None else None
    except OSError:  # no temporary folder to write the second half to
        folder = None
    if folder is None:
        yield from reader.spans(items(path))
        return
    with folder as tmp:
        out = Path(tmp)
        (out / "config.json").write_text(config.model_dump_json())
        (out / "head").write_bytes(c.head)
        with (out / "stderr").open("wb") as err:
            child = subprocess.Popen([sys.executable, "-P", "-m", "unisono.channels.shop_split", str(path), str(c.at), tmp],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        try:
            failed: list[Exception] = []
            yield from reader.spans(_first_half(path, c, failed))
            second = None if failed or child.wait() != 0 else _second_half(out, reader)
        finally:
            stop(child)
        if second is None:  # read on from the first item not taken, as one reader would
            yield from reader.spans(itertools.islice(xml_items(path), reader.items, None))
        else:
            yield from second


def _second_half(out: Path, reader: Reader) -> Iterator | None:
    """The second process's spans, or None if an id of them is also in the first half."""
    with (out / "summary").open("rb") as fh:
        ids, items, tally = pickle.load(fh)
    if pc.any(pc.is_in(ids, value_set=pa.array(list(reader.seen), pa.string()))).as_py():
        return None
    reader.items += items
    reader.tally.rows = reader.items
    reader.tally.add_later(tally)
    return _replayed(out / "spans")


def _replayed(path: Path) -> Iterator:
    with path.open("rb") as fh:
        while True:
            try:
                entry = pickle.load(fh)  # our own file, written by the second process
            except EOFError:
                return
            yield entry


def _child(path: Path, at: int, out: Path) -> None:
    """The second process: the feed from `at` on, as spans of OfferBatches and Rejections."""
    config = ProjectConfig.model_validate_json((out / "config.json").read_text())
    head = (out / "head").read_bytes()
    size = path.stat().st_size
    with path.open("rb") as fh:  # the cut's line in the file, less its line in the half's document
        before = sum(block.count(b"\n") for block in iter(lambda: fh.read(min(1 << 20, at - fh.tell())), b""))
    shift = before - head.count(b"\n")
    reader = Reader(path.name, config)
    read = items(path, piece=lambda: _Piece(path, at, size, prefix=head), line_shift=shift)
    with (out / "spans").open("wb") as fh:
        for entry in tables(reader.spans(read), config.shop.location, path.name):
            pickle.dump(entry, fh, protocol=pickle.HIGHEST_PROTOCOL)
    with (out / "summary").open("wb") as fh:
        pickle.dump((pa.array(list(reader.seen), pa.string()), reader.items, reader.tally), fh)


if __name__ == "__main__":
    quits_cleanly()
    _child(Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]))
