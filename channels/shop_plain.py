"""A feed's plain items read by precompiled patterns, every other item by lxml (shop_items.xml_items).

lxml builds a Python object per element: ~50 µs an item, most of a feed's reading. Nearly every item
of a large feed is plain: `<item>`, then elements `<g:x>text</g:x>` (text without markup, without
entities but the five of XML, without characters XML forbids), whitespace between them. Such an
item is matched as a whole by one pattern made of the feed's own child tags in their order, each
optional (a "layout", learned from the items): the match proves it well-formed and gives its texts.

The document is cut before every `<item>` (the tag the feed's first item is written with): a piece
is one item and what follows it up to the next. A piece that is not one plain item — CDATA, a
comment, attributes, nested elements, character references, an item cut by a `<item>` inside a
CDATA — is read by lxml as a document of its own: the feed's head (everything before the first
item: no DOCTYPE, UTF-8), the piece, the end tags that close the head. Content that is well-formed
in its context is well-formed put together, so the feed is read as lxml reads it whole. Whenever a
piece does not parse, or the head is not one this reads (DOCTYPE, other encodings, items that are not
the feed's), lxml reads the feed from the start, past the items taken: the same items, the same
error, only slower. Lines are those shop_items counts in the bytes (files of 64 KB and more).
"""
from __future__ import annotations

import io
import itertools
from itertools import compress
import re
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import BinaryIO

from lxml import etree

from unisono.channels.shop_items import check_prolog, put, xml_items, xml_key
from unisono.domain.models import InputError

BLOCK = 1 << 22  # bytes read at a time; the items before the last `<item>` in them are matched
_FROM = 65_536  # smaller files keep libxml2's own lines (shop_items.xml_items)
_CARRY = 32 << 20  # bytes without a `<item>` after which lxml reads on (a tail that is not items)
_LAYOUTS = 8  # orders of child tags kept; items of other orders are tokenised one by one

_ITEM = re.compile(rb"<((?:[A-Za-z_][\w.-]*:)?(?:item|entry))[\s>/]")  # (channels/shop_split.py's)
_WS = "[ \t\r\n]*+"
_NAME = "[A-Za-z_][A-Za-z0-9._-]*(?::[A-Za-z_][A-Za-z0-9._-]*)?"
_CHAR = "[^<&\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"  # (surrogates: refused by the UTF-8 decoding)
_TEXT = f"{_CHAR}*+(?:&(?:amp|lt|gt|quot|apos);{_CHAR}*+)*+"
_CHILD = re.compile(f"<({_NAME})>({_TEXT})</")
_ENCODING = re.compile(rb"""^(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding\s*=\s*["']([^"']*)["']""")
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&"))


class _Feed:
    """What every piece of one document shares: its head, the end tags closing it, the namespaces
    in scope at its items, the item's tag, and the learned layouts."""

    def __init__(self, head: bytes, closers: bytes, nsmap: dict, tag: str) -> None:
        self.head, self.closers, self.nsmap, self.tag = head, closers, nsmap, tag
        self.opener = f"<{tag}>"
        self.head_lines = head.count(b"\n")
        # a plain item, whatever its children: to learn their order
        tag = re.escape(tag)  # ("rss:item": a prefix may hold "." or "-")
        self.plain = re.compile(f"<{tag}>(?:{_WS}<({_NAME})>{_TEXT}</\\1>)*{_WS}</{tag}>{_WS}(?=<{tag}>|\\Z)")
        self.layouts: list[tuple[list[str], re.Pattern, tuple, bool]] = []
        self.keys: dict[str, tuple[str, int] | None | bool] = {}

    def key(self, name: str) -> tuple[str, int] | None | bool:
        """The GMC field and rank of a child tag as written ("g:price"); False: a prefix not declared."""
        known = self.keys.get(name)
        if known is None and name not in self.keys:
            prefix, _, local = name.rpartition(":")
            ns = self.nsmap.get(prefix or None, False)
            if ns is False and prefix:
                known = False
            else:
                known = xml_key(f"{{{ns}}}{local}" if ns else local)
            self.keys[name] = known
        return known

    def learn(self, names: list[str]) -> bool:
        """Take the child tags of a plain item into a layout (merged into one whose order agrees);
        False when none can hold them (a tag twice, an undeclared prefix, too many layouts)."""
        if len(set(names)) < len(names) or any(self.key(n) is False for n in names):
            return False
        for i, (order, *_) in enumerate(self.layouts):
            merged = _merge(order, names)
            if merged is not None:
                self.layouts[i] = self._layout(merged)
                return True
        if len(self.layouts) >= _LAYOUTS:
            return False
        self.layouts.append(self._layout(names))
        return True

    def _layout(self, order: list[str]) -> tuple[list[str], re.Pattern, tuple, bool]:
        """The pattern of the items whose children are some of `order`, in that order; the fields
        its groups hold; whether each field is held once (else the texts are ranked and joined)."""
        parts, keys = [], []
        for name in order:
            known = self.key(name)
            text = f"({_TEXT})" if known else _TEXT  # other elements: matched, not kept
            parts.append(f"(?:{_WS}<{re.escape(name)}>{text}</{re.escape(name)}>)?")
            if known:
                keys.append(known)
        tag = re.escape(self.tag)
        pattern = re.compile(f"<{tag}>{''.join(parts)}{_WS}</{tag}>{_WS}(?=<{tag}>|\\Z)")
        once = len({k for k, _ in keys}) == len(keys)
        return order, pattern, tuple(k for k, _ in keys) if once else tuple(keys), once


def _merge(order: list[str], names: list[str]) -> list[str] | None:
    """One order holding both, if the tags they share come in the same order in both."""
    at = {name: i for i, name in enumerate(order)}
    shared = [at[n] for n in names if n in at]
    if shared != sorted(shared):
        return None
    merged, i = [], 0
    for name in names:
        if name in at:
            merged.extend(order[i:at[name] + 1])
            i = at[name] + 1
        else:
            merged.append(name)
    return merged + order[i:]


def _unescaped(text: str) -> str:
    """A stripped text as lxml reads it: line breaks as "\n", the five entities as characters (neither
    is or makes whitespace: stripped before or after, the same)."""
    if "\r" in text:  # (XML reads every line break as "\n")
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "&" in text:
        for entity, char in _ENTITIES:
            text = text.replace(entity, char)
    return text


def _fields(keys: tuple, texts: tuple) -> dict[str, str]:
    """The item's fields (shop_items._xml_fields) from its children's texts ("": no such child), in
    document order, when a field may be given more than once (keys: (field, rank))."""
    fields: dict[str, str] = {}
    rank: dict[str, int] = {}
    for (key, r), text in zip(keys, texts):
        put(fields, rank, key, r, text.strip())
    return fields


def _raw(feed: _Feed, text: str, start: int, end: int) -> str:
    """The item as lxml writes it (a rejection's raw text): its piece parsed in the head's context."""
    piece = text[start:end].encode()
    _, item = next(etree.iterparse(io.BytesIO(feed.head + piece + feed.closers), events=("end",),
                                   tag=("{*}item", "{*}entry"), resolve_entities=False, no_network=True,
                                   load_dtd=False))
    return etree.tostring(item, encoding="unicode", with_tail=False)


def items(path: Path, piece: Callable[[], BinaryIO] | None = None, line_shift: int = 0) -> Iterator:
    """The feed's items, exactly as shop_items.xml_items gives them (same arguments)."""
    if piece is None:
        if path.stat().st_size < _FROM:
            yield from xml_items(path)
            return
        check_prolog(path)  # refusals of the whole file first
    open_document = piece or (lambda: path.open("rb"))
    with open_document() as fh:
        buf = _read(fh, BLOCK)
        feed = _feed(buf)
        taken = 0 if feed is None else (yield from _pieces(feed, fh, buf[len(feed.head):], path, line_shift))
    if taken is not None:  # lxml reads on, after the items taken
        yield from itertools.islice(xml_items(path, piece, line_shift), taken, None)


def _read(fh: BinaryIO, n: int) -> bytes:
    """n bytes, or all that are left (a split read's piece gives its head in a read of its own)."""
    data = fh.read(n)
    while 0 < len(data) < n and (more := fh.read(n - len(data))):
        data += more
    return data


def _feed(start: bytes) -> _Feed | None:
    """The document's head and its items' context, when this module can read its items."""
    first = _ITEM.search(start)
    if first is None or b"<!DOCTYPE" in start[:first.start()]:
        return None
    encoding = _ENCODING.match(start)
    if encoding is not None and encoding[1].lower() not in (b"utf-8", b"utf8"):
        return None
    if start.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00", b"<\x00")):
        return None
    head, tag = start[:first.start()], first[1]
    found = context(head, tag)
    if found is None or not found[2]:
        return None
    return _Feed(head, found[0], found[1], tag.decode("ascii"))


def context(head: bytes, tag: bytes) -> tuple[bytes, dict, bool] | None:
    """Where `head` ends (between elements): the end tags closing what is open there, the namespaces
    in scope and whether an item there is a product (its parent: channel, feed, rss); None if the
    head is not elements left open."""
    parser = etree.XMLPullParser(events=("start", "end"), resolve_entities=False, no_network=True, load_dtd=False)
    open_tags: list[bytes] = []
    try:
        parser.feed(head + b"<" + tag + b"/>")
        for event, element in parser.read_events():
            if event == "start":
                open_tags.append(_qualified(element).encode("ascii"))
                placeholder = element
            else:
                open_tags.pop()
        closers = b"".join(b"</" + name + b">" for name in reversed(open_tags))
        parser.feed(closers)
        parser.close()
    except (etree.XMLSyntaxError, UnicodeEncodeError, IndexError):
        return None
    if not open_tags:
        return None
    parent = placeholder.getparent()
    product = parent is not None and etree.QName(parent).localname in ("channel", "feed", "rss")
    return closers, dict(placeholder.nsmap), product


def _qualified(element) -> str:
    local = etree.QName(element).localname
    return f"{element.prefix}:{local}" if element.prefix else local


def _pieces(feed: _Feed, fh: BinaryIO, buf: bytes, path: Path, line_shift: int) -> Iterator:
    """The items of the document after its head (buf: its first bytes read). Returns None when all
    are read, else the number of items given before one lxml must read on from."""
    opener = feed.opener.encode("ascii")
    line = feed.head_lines + 1 + line_shift  # the file's line where `buf` starts
    taken = parsed = 0
    eof = False
    while True:
        data = b"" if eof else _read(fh, BLOCK)
        eof = eof or not data
        buf += data
        cut = buf.rfind(opener, 1)
        if cut < 0 and not eof:
            if len(buf) > _CARRY:
                return taken
            continue
        if cut > 0:
            try:
                text = buf[:cut].decode("utf-8")
            except UnicodeDecodeError:
                return taken  # (lxml's message names where)
            for found in _region(feed, text, line):
                if type(found) is tuple:
                    taken += 1
                    yield found
                    continue
                if found is None or (parsed > 100 and parsed > taken // 2):
                    return taken  # a piece that does not parse; or most items need lxml: lxml alone is faster
                parsed += 1
                for item in _parsed(feed, found[0], feed.closers, found[1], path):
                    if item is None:
                        return taken
                    taken += 1
                    yield item
            line += text.count("\n")
            buf = buf[cut:]
        if eof:  # the last item and the end of the document
            for item in _parsed(feed, buf, None, line, path):
                if item is None:
                    return taken
                taken += 1
                yield item
            return None


def _region(feed: _Feed, text: str, line: int) -> Iterator:
    """The items of whole pieces, as tuples; a list [bytes, line]: a piece for lxml."""
    amp, cr, cdata_end = "&" in text, "\r" in text, "]]>" in text
    opener, pos, counted, end, learned = feed.opener, 0, 0, len(text), -1
    strip, find = str.strip, text.find
    while pos < end:
        line += text.count("\n", counted, pos)
        counted = pos
        for _, pattern, keys, once in feed.layouts:
            m = pattern.match(text, pos)
            if m is None:
                continue
            after = m.end()
            if cdata_end and find("]]>", pos, after) >= 0:
                continue
            texts = m.groups("")
            if amp and find("&", pos, after) >= 0 or cr and find("\r", pos, after) >= 0:
                texts = [_unescaped(t) if "&" in t or "\r" in t else t for t in texts]
            if once:
                texts = list(map(strip, texts))
                fields = dict(compress(zip(keys, texts), texts))  # the children given and not empty
            else:
                fields = _fields(keys, texts)
            yield fields, line, partial(_raw, feed, text, pos, after)
            pos = after
            break
        else:
            after = text.find(opener, pos + 1)
            after = end if after < 0 else after
            whole = feed.plain.match(text, pos)
            if whole is not None and whole.end() == after and not (cdata_end and text.find("]]>", pos, after) >= 0):
                pairs = _CHILD.findall(text, pos, after)
                names = [name for name, _ in pairs]
                if learned != pos and feed.learn(names):
                    learned = pos
                    continue  # matched by its layout now (once: else as below)
                if not any(feed.key(n) is False for n in names):  # (too many layouts, a tag twice)
                    known = [(feed.key(n), _unescaped(t)) for n, t in pairs if feed.key(n)]
                    yield _fields(tuple(k for k, _ in known), tuple(t for _, t in known)), line, \
                        partial(_raw, feed, text, pos, after)
                    pos = after
                    continue
            yield [text[pos:after].encode(), line]
            pos = after


def _parsed(feed: _Feed, piece: bytes, closers: bytes | None, line: int, path: Path) -> Iterator:
    """A piece's items read by lxml in the head's context (closers None: the piece ends the document);
    None last if it does not parse."""
    document = feed.head + piece + (closers or b"")
    try:
        for fields, at, item in xml_items(path, piece=lambda: io.BytesIO(document),
                                          line_shift=line - 1 - feed.head_lines):
            raw = etree.tostring(item, encoding="unicode", with_tail=False)  # (the item is cleared next)
            yield fields, at, partial(str, raw)
    except InputError:
        yield None
