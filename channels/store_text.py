"""The text of a store price file, before any cell is interpreted: its encoding, its delimiter,
and its records with the line each starts on and its raw text (csv.reader reports neither). A record
csv.reader refuses (a cell beyond the field limit) is a rejection of that record alone."""
from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import charset_normalizer

from unisono.domain.models import InputError

_DELIMITERS = ";,\t|"  # also the preference on a tie
# rows read ahead to learn the file's decimal mark: at most this many, and no more text than this (one
# row of 100,000 columns is 100,000 strings: 1,000 such rows once took 7 GB)
_LOOKAHEAD_ROWS, _LOOKAHEAD_BYTES = 1000, 1 << 20


# A file whose lines come from two systems, some in UTF-8, some in cp1252 (an export appended to another):
# read as UTF-8, each byte that is no UTF-8 as cp1252 ("Käse" in both), never "KÃ¤se" for the UTF-8 lines
MIXED = "unisono_utf8_cp1252"
_UTF8_CHAR = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def _utf8_letters(data: bytes) -> int:
    """How many letters in `data` are UTF-8 ("ü" as C3 BC), counted up to 2."""
    n = 0
    for match in _UTF8_CHAR.finditer(data):
        if match.group().decode("utf-8").isalpha():
            n += 1
            if n == 2:
                break
    return n


def _cp1252_fallback(error: UnicodeDecodeError) -> tuple[str, int]:
    return error.object[error.start:error.end].decode("cp1252", errors="replace"), error.end


codecs.register_error(MIXED, _cp1252_fallback)


class _MixedDecoder(codecs.BufferedIncrementalDecoder):
    def _buffer_decode(self, data, errors, final):  # (whatever `errors` a caller asks for: the fallback)
        return codecs.utf_8_decode(data, MIXED, final)


def _mixed_codec(name: str) -> codecs.CodecInfo | None:
    if name != MIXED:
        return None
    utf8 = codecs.lookup("utf-8")
    return codecs.CodecInfo(name=MIXED, encode=utf8.encode, decode=lambda data, errors="strict": codecs.utf_8_decode(
        data, MIXED, True), incrementalencoder=utf8.incrementalencoder, incrementaldecoder=_MixedDecoder)


codecs.register(_mixed_codec)  # open(..., encoding=MIXED), and pyarrow's transcoding, find it by name


def encoding_of(path: Path) -> str:
    """Strict UTF-8 first (one streaming pass, BOM or not), then charset-normalizer over the first MB
    among single-byte code pages, then cp1252. Exports are UTF-8 or a Windows code page; guessing
    wider makes small German files come out as Turkish or Cyrillic."""
    name = path.name
    with path.open("rb") as f:
        head = f.read(1 << 20)
        if not head.strip():
            raise InputError(f"{name}: the file is empty")
        if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):  # before UTF-16: FF FE 00 00 starts like it
            return "utf-32"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"  # Excel's "Unicode text"
        if head.startswith(b"PK\x03\x04"):
            raise InputError(f"{name}: this is a spreadsheet or zip file, not CSV; export it as CSV")
        if b"\x00" in head:
            raise InputError(f"{name}: this is not a text file (it contains NUL bytes); export it as CSV")
        decoder, chunk = codecs.getincrementaldecoder("utf-8")(), head
        try:
            while chunk:
                decoder.decode(chunk)
                chunk = f.read(1 << 20)
            decoder.decode(b"", final=True)
            return "utf-8-sig"  # also reads files without a BOM
        except UnicodeDecodeError:
            pass
    if _utf8_letters(head) >= 2:  # UTF-8 letters, yet not UTF-8 throughout (one may be cp1252 by chance)
        return MIXED
    matches = charset_normalizer.from_bytes(
        head, cp_isolation=["cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1255", "cp1257", "latin_1"])
    best = matches.best()
    if best is None:
        return "cp1252"
    # a match stands for every code page that decodes the sample alike (could_be_from_charset)
    scores = {enc: (m.chaos, -m.coherence) for m in list(matches)[::-1] for enc in m.could_be_from_charset}
    if "cp1250" in scores and scores["cp1250"][0] <= best.chaos and _central_european(head):
        return "cp1250"  # a small sample fools the language model
    # German text reads alike in cp1252 and cp1250: on a tie, the commoner cp1252 ("Crème", not "Crčme")
    return "cp1252" if scores.get("cp1252", (1, 0)) <= scores[best.encoding] else best.encoding


def _central_european(data: bytes) -> bool:
    """š/ž (the same bytes in cp1250 and cp1252, rare in Western text) beside bytes that are č/ć/đ
    in cp1250 but è/æ/ð in cp1252."""
    return any(b in data for b in (b"\x8a", b"\x9a", b"\x8e", b"\x9e")) and \
        any(b in data for b in (b"\xc8", b"\xe8", b"\xc6", b"\xe6", b"\xd0", b"\xf0"))


class Lines:
    """The file's physical lines, counted and kept per record: csv.reader reports neither the
    line a record starts on nor its raw text, and a rejection needs both."""

    def __init__(self, f: TextIO):
        self._it = iter(f)
        self.count = 0
        self.taken: list[str] = []

    def __iter__(self) -> Lines:
        return self

    def __next__(self) -> str:
        line = next(self._it)
        self.count += 1
        self.taken.append(line)
        return line

    def take(self) -> tuple[int, str]:
        """(first line number, raw text) of what was read since the last take."""
        n = len(self.taken)
        raw = "".join(self.taken).rstrip("\r\n")
        self.taken.clear()
        return self.count - n + 1, raw

    def skip_quoted(self) -> int:
        """After a quoted cell too long to keep: the lines up to the one that closes its quote,
        counted but not kept (the record's rest is rejected with it); the last line number skipped."""
        for line in self._it:
            self.count += 1
            if line.count('"') % 2:
                break
        return self.count


class Unreadable(list):
    """The fields of a record csv.reader refused (no fields), with the reason: a rejection of that
    record. The reader starts afresh at the next line."""

    def __init__(self, reason: str):
        super().__init__()
        self.reason = reason


def records(lines: Lines, delimiter: str) -> Iterator[tuple[int, list[str], str]]:
    reader = csv.reader(lines, delimiter=delimiter)
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            line, raw = lines.take()
            if "field limit" in str(e):
                # a quoted cell may go on over many lines: the reader resumes after its closing quote,
                # not inside it (each of its lines a rejection, the rows after it taken for its rest)
                size = f"lines {line}-{lines.skip_quoted()}" if raw.count('"') % 2 else f"the row has {len(raw):,}"
                fields = Unreadable(f"a cell is longer than {csv.field_size_limit():,} characters ({size})")
            else:
                fields = Unreadable(f"the row is not readable as CSV ({e})")
            yield line, fields, raw
            continue
        line, raw = lines.take()
        yield line, fields, raw


def lookahead(records: Iterator[tuple[int, list[str], str]]) -> list[tuple[int, list[str], str]]:
    head, size = [], 0
    for record in records:
        head.append(record)
        size += len(record[2])
        if len(head) >= _LOOKAHEAD_ROWS or size >= _LOOKAHEAD_BYTES:
            break
    return head


def delimiter_of(line: str) -> str:
    """The candidate that splits the header line most often outside quotes (csv.Sniffer, given
    one line, happily picks a letter)."""
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    return max(counts, key=counts.__getitem__)
