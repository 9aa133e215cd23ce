"""The line of every item's start tag in an XML feed, found in the bytes.

libxml2 keeps an element's line only up to 65,534; beyond it lxml answers with the line of some
text inside the element (where it ends), which no arithmetic turns back into the start tag's line
in every layout (a character reference `&#10;`, an empty first child, a comment). A feed of a
million items has millions of lines, and a rejection must name its item's line. So the start
tags are found a first time in the bytes — outside comments, CDATA sections and processing
instructions, where markup is not markup — and counted: the k-th <item>/<entry> start tag of the
document is the k-th one the parser opens. For ASCII-based encodings (UTF-8, ISO-8859-x,
windows-125x), which is every feed we have seen; others keep lxml's lines.
"""
from __future__ import annotations

import re
from typing import BinaryIO

# (the alternatives after one "<", the unprefixed tags first: measured 1.6x faster than "<!--|<!\[CDATA\[|…")
_TOKENS = re.compile(rb"<(?:!--|!\[CDATA\[|\?|(?:item|entry)[\s/>]|[A-Za-z_][\w.\-]*:(?:item|entry)[\s/>])")
_ENDS = {b"<!--": b"-->", b"<![CDATA[": b"]]>", b"<?": b"?>"}
_MARGIN = 256  # bytes kept for the next block: a token (with its prefix) may straddle blocks


def start_tag_lines(fh: BinaryIO, block: int = 1 << 22, first: bytes = b"") -> list[int]:
    """The lines (1-based) of the document's <item> and <entry> start tags, in document order;
    `first`: the document's first bytes, already read from `fh`."""
    found: list[int] = []
    line, buf, inside = 1, first, None  # inside: the end of the comment/CDATA/PI being skipped
    while True:
        data = fh.read(block)
        buf += data
        last = not data
        limit = len(buf) if last else len(buf) - _MARGIN
        pos = 0
        while True:
            if inside is not None:
                end = buf.find(inside, pos)
                if end < 0:
                    stop = len(buf) if last else max(pos, len(buf) - len(inside))
                    line += buf.count(b"\n", pos, stop)
                    pos = stop
                    break
                line += buf.count(b"\n", pos, end + len(inside))
                pos, inside = end + len(inside), None
                continue
            m = _TOKENS.search(buf, pos, max(pos, limit))
            if m is None:
                stop = max(pos, limit)
                line += buf.count(b"\n", pos, stop)
                pos = stop
                break
            line += buf.count(b"\n", pos, m.start())
            token = m.group()
            if token in _ENDS:
                inside = _ENDS[token]
            else:
                found.append(line)
                line += token.count(b"\n")  # the whitespace that ends the tag's name
            pos = m.end()
        buf = buf[pos:]
        if last:
            return found


def ascii_based(head: bytes) -> bool:
    """Whether markup is ASCII bytes in this document (no UTF-16 or UTF-32 byte order or declaration)."""
    return not head.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff", b"<\x00", b"\x00<"))
