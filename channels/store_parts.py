"""A store file read in parts, each part on its own (Spark's executors read one each: see
api/spark_publish.py). The driver learns the layout from the header and the first rows
(column_plan) and cuts the file at line breaks (parts); a part is read by the store adapter's own
column reader (read_part): the same offers and rejections, with the same lines and reasons, as the
whole file gives, but for duplicate rows, which the reader of all parts finds from each part's key
hashes (ColumnReader.key_hashes)."""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from unisono.channels import store
from unisono.channels.store_columns import LONG_LINE, ColumnReader
from unisono.domain.batch import OfferBatch
from unisono.domain.config import ProjectConfig
from unisono.domain.models import InputError, Offer, Rejection


@dataclass(frozen=True)
class Part:
    """Whole lines of a store file: bytes [start, end), the first of them the file's line first_line."""

    start: int
    end: int
    first_line: int
    lines: int  # line breaks in it (one more line when the file's last has none)


def parts(path: Path, first_line: int, size: int) -> list[Part]:
    """The file's records from line `first_line` on, cut into parts of about `size` bytes at line
    breaks, each with its first line's number: one pass over the bytes. Only for one_line_records
    files (a line break always ends a record). A bare CR (an old Mac line end, a line break to
    pyarrow and Python too) makes it one part: its lines are not counted by the LF."""
    with path.open("rb") as f:
        start = _line_start(f, first_line)
        f.seek(start)
        cuts = [(start, first_line)]
        position, line, target = start, first_line, start + size
        while block := f.read(16 << 20):
            if block.endswith(b"\r"):
                block += f.read(1)
            if block.count(b"\r") != block.count(b"\r\n"):
                return [Part(start, path.stat().st_size, first_line, _line_breaks(path, start))]
            done = 0  # the block's bytes counted
            while position + len(block) > target:
                found = block.find(b"\n", max(target - position, done))
                if found < 0:  # the line at the cut ends in the next block
                    break
                line += block.count(b"\n", done, found + 1)
                done = found + 1
                cuts.append((position + done, line))
                target = position + done + size
            line += block.count(b"\n", done)
            position += len(block)
    ends = [*cuts[1:], (position, line)]
    return [Part(a, b, first, last - first) for (a, first), (b, last) in zip(cuts, ends) if a < b]


def _line_start(f, line: int) -> int:
    """The byte offset where the file's line `line` begins (CR, LF and CRLF end a line, as for
    Python and pyarrow); the lines before it are the header's few."""
    if line == 1:
        return 0
    head = f.read(LONG_LINE * 4)
    ends = [m.end() for _, m in zip(range(line - 1), re.finditer(rb"\r\n|\n|\r", head))]
    if len(ends) < line - 1:
        raise InputError(f"{Path(f.name).name}: no line {line}")
    return ends[-1]


def _line_breaks(path: Path, start: int) -> int:
    """CR, LF and CRLF from byte `start` on, read by the block (a CRLF across two blocks counted once)."""
    count, last = 0, b""
    with path.open("rb") as f:
        f.seek(start)
        while block := f.read(16 << 20):
            count += block.count(b"\n") + block.count(b"\r") - block.count(b"\r\n") - (last == b"\r" and block[:1] == b"\n")
            last = block[-1:]
    return count


@dataclass
class ColumnPlan:
    """What reading a store file by the column, in parts (parts()), needs besides the
    file: its layout as the header and first rows told it. Picklable: sent to Spark's executors."""

    layout: store.Layout
    delimiter: str
    width: int
    encoding: str
    first_line: int  # the first record's line


def column_plan(path: Path, config: ProjectConfig, notes: list[str]) -> ColumnPlan | None:
    """The plan for reading the file in parts, or None when it must be read whole (stream): quoted
    line breaks, UTF-16, a very wide file."""
    with store.opened(path, notes) as (lines, encoding):
        layout, delimiter, header_lines, head, _ = store.learn(lines, path, config, notes)
        width = store.column_width(head, layout, encoding, path)
    return None if width is None else ColumnPlan(layout, delimiter, width, encoding, header_lines + 1)


def part_reader(plan: ColumnPlan, part: Part) -> ColumnReader:
    return ColumnReader(plan.layout, plan.delimiter, plan.width, plan.encoding, part.first_line,
                        store.row_reader(plan.layout), duplicates=False)


def read_part(plan: ColumnPlan, path: Path, part: Part,
              reader: ColumnReader | None = None) -> Iterator[OfferBatch | Offer | Rejection]:
    """One part's offers and rejections, as stream() yields them, but for duplicate rows: those
    are found across the parts by whoever reads them all, from each part_reader's key_hashes().
    The counts for the notes grow in plan.layout (part_notes)."""
    try:
        yield from (reader or part_reader(plan, part)).batches(path, part)
    except UnicodeDecodeError:
        raise InputError(f"{path.name}: bytes in lines {part.first_line} and after are not {plan.encoding} text;"
                         " save the file as UTF-8") from None


def part_notes(plan: ColumnPlan, layouts: list[store.Layout], rows: int) -> list[str]:
    """counts_notes for a file read in parts, each part counted in its own copy of the layout."""
    total = replace(plan.layout, time_notes={note: None for layout in layouts for note in layout.time_notes},
                    **{name: sum(getattr(layout, name) for layout in layouts)
                       for name in ("zero_promos", "ignored_promo_dates", "promo_only", "bad_gtins", "sub_cent")})
    return store.counts_notes(total, rows)
