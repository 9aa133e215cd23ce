"""Reading a product feed's items, before any field is interpreted: the XML form streamed with
lxml (untrusted input: no entities, no DTDs, no network) and the tabular form with csv."""
from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import IO, BinaryIO

from lxml import etree

from unisono.channels.shop_shipping import NESTED
from unisono.channels.xml_lines import ascii_based, start_tag_lines
from unisono.domain.models import InputError

_ATOM = "http://www.w3.org/2005/Atom"

# Names real feeds use beside the GMC ones: Magento's g:date_price, idealo/Prisjakt-style columns.
_ALIASES = {
    "date_price": "sale_price_effective_date",
    "sku": "id", "offer_id": "id",
    "url": "link",
    "ean": "gtin", "eans": "gtin",
    "categorypath": "product_type",
}

# The GMC attributes an offer is made of; everything else in a feed is ignored.
_FIELDS = frozenset({"id", "title", "link", "price", "sale_price", "sale_price_effective_date", "availability",
                     "brand", "gtin", "product_type", "google_product_category", "image_link",
                     "shipping", "free_shipping_threshold", "promotion_id"})

# One item as read: its fields by GMC name (or the reason it cannot have any), its first line,
# and where its raw text comes from (only asked for rejections): the XML element, or a function.
_Item = tuple[dict[str, str] | str, int, "etree._Element | Callable[[], str]"]


@lru_cache(maxsize=1024)
def _name(raw: str) -> str:
    # "Sale Price", "g:sale_price", "SALE-PRICE" -> "sale_price"
    return re.sub(r"[\s\-]+", "_", raw.strip().lower().removeprefix("g:"))


# ---- XML ---------------------------------------------------------------------------------------

def _iterparse(fh: BinaryIO, **kw) -> etree.iterparse:
    # Untrusted input. lxml (for streaming and line numbers) with no entity expansion, no DTD
    # loading, no network, no huge text nodes; check_prolog refuses DOCTYPEs that declare entities.
    return etree.iterparse(fh, resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, **kw)


def _xml_error(path: Path, e: etree.XMLSyntaxError) -> InputError:
    msg = re.sub(r", line \d+, column \d+$", "", (e.msg or str(e)).strip())
    where = f" line {e.lineno}" if e.lineno else ""
    return InputError(f"{path.name}{where}: the XML ends early or is malformed ({' '.join(msg.split())})")


def check_prolog(path: Path) -> None:
    """Parse up to the root element: refuse entity declarations and documents that are not feeds."""
    try:
        with path.open("rb") as fh:
            _, root = next(_iterparse(fh, events=("start",)))
    except StopIteration:
        raise InputError(f"{path.name}: no XML element in the file") from None
    except etree.XMLSyntaxError as e:
        raise _xml_error(path, e) from None
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and next(dtd.iterentities(), None) is not None:
        raise InputError(f"{path.name}: refused: the XML declares entities in a DOCTYPE "
                         "(product feeds never do; it is how XML bombs and file-stealing documents work)")
    name = etree.QName(root).localname
    if name not in ("rss", "feed"):
        raise InputError(f"{path.name} line {root.sourceline}: not a product feed "
                         f"(the document is <{name}>, expected <rss> or <feed>)")


_UNKNOWN = object()


def xml_items(path: Path, piece: Callable[[], BinaryIO] | None = None, line_shift: int = 0) -> Iterator[_Item]:
    """The feed's items. `piece`: opens a part of the feed made a document of its own (two
    processes read a large feed, channels/shop_split.py); its lines + line_shift are the file's."""
    if piece is None:
        check_prolog(path)
    open_document = piece or (lambda: path.open("rb"))
    keys: dict = {}  # child tag -> (GMC field, rank) or None: the few tags of a feed, looked up once
    plans: dict = {}  # the child tags of an item, in order -> how to read its fields (_plan)
    feed_parent: dict[str, bool] = {}  # parent tag -> whether its <item>s are products
    lines = _start_tag_lines(open_document) if piece or path.stat().st_size > 65_535 else None
    opened: list[int] = []  # the start tags' numbers (document order) of the items open now
    started = 0
    try:
        with open_document() as fh:
            for event, item in _iterparse(fh, events=("start", "end"), tag=("{*}item", "{*}entry")):
                if event == "start":
                    opened.append(started)
                    started += 1
                    continue
                number = opened.pop()
                parent = item.getparent()
                if parent is None:
                    continue
                product = feed_parent.get(parent.tag)
                if product is None:
                    product = feed_parent[parent.tag] = etree.QName(parent).localname in ("channel", "feed", "rss")
                if not product:
                    continue  # an <item> inside something else is not a product
                line = item.sourceline
                # (libxml2's line is that of the tag's ">", the bytes' that of its "<")
                if lines is not None and (number >= len(lines) or (line < 65_535 and not lines[number] <= line)):
                    lines = None  # the bytes and the parser disagree: libxml2's lines from here on
                if lines is not None:
                    line = lines[number]
                elif line >= 65_535:
                    line = _line(item)
                yield _xml_fields(item, keys, plans), line + line_shift, item  # whole until resumed
                # streaming: drop this item and everything before it; the tree stays one item big
                item.clear(keep_tail=False)
                while item.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as e:
        raise _xml_error(path, e) from None


def _start_tag_lines(open_document: Callable[[], BinaryIO]) -> list[int] | None:
    """The items' start tag lines from the bytes (channels/xml_lines.py), if markup is ASCII there."""
    with open_document() as fh:
        head = fh.read(4)
        return start_tag_lines(fh, first=head) if ascii_based(head) else None


def _line(item: etree._Element) -> int:
    """Where the bytes could not say (UTF-16): libxml2 gives, from line 65,535 on, the line where the
    element's first text ends (the pretty-printing's "\n   " before the first child, on the next
    line): the line less the line breaks in that text (exact for that layout only)."""
    line = item.sourceline
    node = item
    while node.text is None and len(node) and isinstance(node[0].tag, str):
        node = node[0]
    return line - (node.text or "").count("\n")


_TAG, _TEXT = attrgetter("tag"), attrgetter("text")


def _xml_fields(item: etree._Element, keys: dict, plans: dict) -> dict[str, str]:
    """The item's direct children by GMC name; nested ones (g:shipping/g:price) are not the item's.
    g: elements win over plain ones, GMC names over aliases; empty elements count as absent.
    A feed's items have few layouts (the same children in the same order): per layout, which
    children are fields is worked out once, and an item whose fields are plain texts, each once,
    is read by C-level maps, not a Python step per child (measured: most of an item's reading)."""
    children = item[:]
    shape = tuple(map(_TAG, children))
    plan = plans.get(shape, _UNKNOWN)
    if plan is _UNKNOWN:
        plan = _plan(shape)
        if len(plans) < 1024:
            plans[shape] = plan
    if plan is not None:
        pick, names = plan
        picked = pick(children)
        texts = list(map(_TEXT, picked))
        if None not in texts and not any(map(len, picked)):  # no empty element, no markup inside a field
            values = list(map(str.strip, texts))
            if "" not in values:
                return dict(zip(names, values))
    return _each_field(item, keys)


def _plan(shape: tuple) -> tuple[itemgetter, tuple[str, ...]] | None:
    """For items with these child tags: a getter of the children that are fields, and their GMC
    names; None when a field is named twice (g: and plain, an alias, several promotions: ranks
    and joins decide, _each_field) or fewer than two children are fields."""
    picked = [(i, known[0]) for i, tag in enumerate(shape)
              if isinstance(tag, str) and (known := xml_key(tag)) is not None]
    names = tuple(name for _, name in picked)
    if len(names) < 2 or len(set(names)) < len(names):
        return None
    return itemgetter(*(i for i, _ in picked)), names


def _each_field(item: etree._Element, keys: dict) -> dict[str, str]:
    """_xml_fields child by child: every layout."""
    fields: dict[str, str] = {}
    rank: dict[str, int] = {}
    for child in item:
        tag = child.tag
        known = keys.get(tag, _UNKNOWN)
        if known is _UNKNOWN:
            known = xml_key(tag) if isinstance(tag, str) else None  # skips comments, PIs
            if len(keys) < 1024:
                keys[tag] = known
        if known is None:
            continue
        key, r = known
        if key in NESTED and len(child):  # <g:shipping><g:country>DE</g:country>…: the tabular form
            value = ":".join((child.findtext(f"{{*}}{sub}") or "").strip() for sub in NESTED[key])
            fields[key] = f"{fields[key]},{value}" if key in fields else value  # an item may have several
            continue
        text = child.text if len(child) == 0 else "".join(child.itertext())  # fast path: no children
        value = text.strip() if text else ""
        if not value and key == "link":
            value = (child.get("href") or "").strip()  # Atom: <link href="..."/>
        put(fields, rank, key, r, value)
    return fields


def put(fields: dict[str, str], rank: dict[str, int], key: str, r: int, value: str) -> None:
    """One child's value into an item's fields: repeated fields joined or ranked (_each_field)."""
    if value and key in fields and (key == "promotion_id" or key not in rank):
        # up to 10 promotions: repeated elements; a g:shipping text after a nested one (no rank): both
        fields[key] += "," + value
    elif value and (key not in fields or r < rank[key]):
        fields[key], rank[key] = value, r


@lru_cache(maxsize=512)
def xml_key(tag: str) -> tuple[str, int] | None:
    """"{ns}local" -> (GMC field, rank), None for elements we do not read."""
    ns, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    if ns and ns != _ATOM and "base.google.com" not in ns:
        return None  # other vocabularies: media:, content:, ...
    name = _name(local)
    key = _ALIASES.get(name, name)
    if key not in _FIELDS:
        return None
    return key, 2 * (key != name) + ("base.google.com" not in ns)  # lower ranks win: GMC names, then g:


# ---- tabular -----------------------------------------------------------------------------------

def tabular_items(path: Path, encoding: str = "utf-8-sig") -> Iterator[_Item]:
    """The rows of a tab-, comma- or semicolon-separated feed: UTF-8 (or the UTF-16/32 its byte
    order mark names)."""
    try:
        with path.open("r", encoding=encoding, newline="") as fh:
            yield from _rows(path, fh)
    except UnicodeDecodeError as e:
        name = "UTF-8" if encoding == "utf-8-sig" else encoding.upper()
        raise InputError(f"{path.name}: not {name} text (byte 0x{e.object[e.start]:02x} at {e.start} does not "
                         "decode); export the feed as UTF-8") from None


class _QuotedLines:
    """The feed's lines for csv.reader, with the quotes of the record being read counted: a quoted
    value too long to keep is skipped to its closing quote (csv.reader would resume inside it)."""

    def __init__(self, fh: IO[str]):
        self.fh, self.quotes, self.skipped = fh, 0, 0

    def __iter__(self) -> _QuotedLines:
        return self

    def __next__(self) -> str:
        line = next(self.fh)
        self.quotes += line.count('"')
        return line

    def skip_quoted(self) -> int:
        """After an oversized value: when a quote is open, the lines up to the one closing it (not
        kept); the count of lines skipped so far, which csv.reader's line_num does not hold."""
        if self.quotes % 2:
            for line in self.fh:
                self.skipped += 1
                if line.count('"') % 2:
                    break
        self.quotes = 0
        return self.skipped


def _rows(path: Path, fh: IO[str]) -> Iterator[_Item]:
    header_line = fh.readline()
    # the delimiter is the one the header uses most: GMC attribute names contain none of them
    delimiter = max("\t;,", key=header_line.count)
    header = [_name(h) for h in next(csv.reader([header_line], delimiter=delimiter), [])]
    columns: dict[str, int] = {}
    for i, name in enumerate(header):  # GMC names first, aliases only for what is still missing
        if name in _FIELDS:
            columns.setdefault(name, i)
    for i, name in enumerate(header):
        if _ALIASES.get(name) in _FIELDS:
            columns.setdefault(_ALIASES[name], i)
    from unisono.channels.store_headers import store_column

    stores = store_column(next(csv.reader([header_line], delimiter=delimiter), []))
    if stores is not None and _name(stores) not in ("shop", "shop_id", "location", "location_id"):  # (words a feed may use)
        # a store price file's rows would become shop offers (its sku as id), replacing the shop's feed
        raise InputError(f"{path.name} line 1: a column {stores.strip()!r} names stores, as a store price file's "
                         "does; a shop feed has one row per product")
    missing = [c for c in ("id", "price") if c not in columns]
    if missing:
        have = ", ".join(h for h in header[:12] if h) or "nothing"
        raise InputError(f"{path.name} line 1: no {' and no '.join(repr(m) for m in missing)} column "
                         f"(the header has: {have}); is this a product feed?")
    width = len(header)
    picks = list(columns.items())
    lines = _QuotedLines(fh)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)  # strict: an unclosed quote is an error
    consumed = 0  # lines the reader has used up; a row starts on the next one (after the header)
    try:
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                if "field limit" not in str(e):
                    raise
                # one oversized cell: a rejection of its row; the reader starts afresh on the next line,
                # or, when the cell is quoted and goes on over lines, after the line that closes it
                line, consumed = consumed + 2, reader.line_num + lines.skip_quoted()
                yield f"a value is longer than {csv.field_size_limit():,} characters", line, lambda: ""
                continue
            lines.quotes = 0
            line, consumed = consumed + 2, reader.line_num + lines.skipped
            if not any(cell.strip() for cell in row):
                continue  # blank lines are no items
            raw = lambda r=row: delimiter.join(r)  # noqa: E731
            n = len(row)
            if n > width:
                yield (f"the row has {n} values but the header has {width} columns "
                       "(a delimiter inside an unquoted value?)"), line, raw
            else:
                fields = {}
                for k, i in picks:
                    if i < n and (value := row[i].strip()):
                        fields[k] = value
                yield fields, line, raw
    except csv.Error as e:
        raise InputError(f"{path.name} line {consumed + 2}: the rows cannot be split ({e}; "
                         "a quote that is never closed?)") from None
