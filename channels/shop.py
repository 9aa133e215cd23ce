"""The shop channel: a Google Merchant Center product feed, as every shop system exports it.

Two forms, told apart by content (not by file extension):
- XML: RSS 2.0 `<rss><channel><item>` or Atom `<feed><entry>`, fields in the g: namespace
  (http://base.google.com/ns/1.0) or plain (`<title>`, `<link>`);
- tabular: a header row of GMC attribute names, tab-, comma- or semicolon-separated.

Both stream: `stream` turns items into offers one at a time, so a feed of a million items
never becomes a tree in memory. Every item becomes one offer or one rejection.
"""
from __future__ import annotations

import csv
import html
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache, partial
from pathlib import Path
from typing import IO, BinaryIO

from lxml import etree

from unisono.channels.parsing import normalize_gtin, normalize_url, parse_feed_money, parse_interval
from unisono.domain.config import ProjectConfig
from unisono.domain.models import Availability, ChannelRead, InputError, Offer, Rejection, SourceRef

CHANNEL = "shop"
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
                     "brand", "gtin", "product_type", "google_product_category"})

_AVAILABILITY = {
    "in stock": Availability.in_stock, "instock": Availability.in_stock,
    "available for order": Availability.in_stock, "available": Availability.in_stock,
    "limited availability": Availability.in_stock, "limitedavailability": Availability.in_stock,
    "out of stock": Availability.out_of_stock, "outofstock": Availability.out_of_stock,
    "sold out": Availability.out_of_stock, "soldout": Availability.out_of_stock,
    "discontinued": Availability.out_of_stock,
    "preorder": Availability.preorder, "pre order": Availability.preorder,
    "backorder": Availability.backorder, "back order": Availability.backorder,
}

@dataclass
class _Tally:
    """What is worth one note per file rather than one per item."""

    rows: int = 0
    no_currency: int = 0
    unknown_availability: Counter = field(default_factory=Counter)


# One item as read: its fields by GMC name (or the reason it cannot have any), its first line,
# and a way to get its raw text (only called for rejections).
_Item = tuple[dict[str, str] | str, int, Callable[[], str]]


def read(path: Path, config: ProjectConfig) -> ChannelRead:
    """Read a shop feed into offers and rejections. Raises InputError when the file as a whole
    cannot be read: never a partial read."""
    result = ChannelRead(channel=CHANNEL, source=path.name)
    for entry in stream(path, config, notes=result.notes):
        (result.offers if isinstance(entry, Offer) else result.rejections).append(entry)
    return result


def stream(path: Path, config: ProjectConfig, notes: list[str] | None = None) -> Iterator[Offer | Rejection]:
    """Each item of the feed as an Offer or a Rejection, in file order. When the iteration is
    complete, what a user should know about the whole file is appended to `notes`."""
    head = _head(path).lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if not head:
        raise InputError(f"{path.name}: the file is empty")
    if head.startswith((b"<!doctype html", b"<html")):
        raise InputError(f"{path.name}: this is an HTML page, not a product feed")
    items = _xml_items(path) if head.startswith(b"<") else _tabular_items(path)
    currency = config.shop.currency or config.currency
    seen: dict[str, int] = {}  # id -> line of its first item, for duplicate messages
    tally = _Tally()
    name = path.name
    for fields, line, raw in items:
        tally.rows += 1
        source = SourceRef(file=name, line=line)
        try:
            if isinstance(fields, str):
                raise ValueError(fields)
            sku = fields.get("id")
            if sku in seen:
                raise ValueError(f"duplicate id {sku} (first at line {seen[sku]})")
            if sku:
                seen[sku] = line
            offer = _offer(fields, source, config, currency, tally)
        except ValueError as e:
            yield Rejection(channel=CHANNEL, source=source, reason=str(e), raw=raw())
        else:
            yield offer
    if notes is not None:
        notes.extend(_notes(path.name, currency, tally))


def _head(path: Path) -> bytes:
    """The first bytes, to tell XML from tabular by content."""
    try:
        with path.open("rb") as fh:
            return fh.read(4096)
    except OSError as e:
        raise InputError(f"{path.name}: cannot open the file ({e.strerror})") from None


def _notes(name: str, currency: str, tally: _Tally) -> list[str]:
    notes = []
    if not tally.rows:
        notes.append(f"{name}: the feed has no items")
    if tally.no_currency:
        notes.append(f"{name}: {tally.no_currency} prices carry no currency and were read as {currency} "
                     "(set shop.currency in unisono.yaml if that is wrong)")
    for value, n in tally.unknown_availability.most_common():
        notes.append(f"{name}: availability {value!r} is not understood ({n} items; left empty)")
    return notes


# ---- one item's fields -> an Offer -------------------------------------------------------------

# Prices and sale windows repeat across a feed: parsed once each (the parsers are pure; a
# ValueError is not cached, so a bad value is re-parsed and rejected every time, as before).
_money = lru_cache(maxsize=8192)(parse_feed_money)
_NOT_A_DIGIT = re.compile(r"[^\d\s.,+-]")


@lru_cache(maxsize=4096)
def _sale_window(text: str, tz: tzinfo) -> tuple[datetime, datetime]:
    start, end = parse_interval(text, tz, naive_tz=timezone.utc)  # GMC: no zone means UTC
    return start, _round_end_of_day(end)


def _offer(f: dict[str, str], source: SourceRef, config: ProjectConfig, currency: str, tally: _Tally) -> Offer:
    """Build the offer, or raise ValueError with the reason a merchandiser reads."""
    if not f.get("id"):
        raise ValueError("item has no id")
    if not f.get("price"):
        raise ValueError("item has no price")
    price, cur = _money(f["price"], currency, what="price")
    sale_price = sale_start = sale_end = None
    if f.get("sale_price"):  # an empty <g:sale_price/> means no sale
        sale_price, sale_cur = _money(f["sale_price"], cur, what="sale price")
        if sale_cur != cur:
            raise ValueError(f"sale price is in {sale_cur} but the price is in {cur}")
        if f.get("sale_price_effective_date"):  # no window: the sale is always on
            sale_start, sale_end = _sale_window(f["sale_price_effective_date"], config.tz)
    if not _NOT_A_DIGIT.search(f["price"]):  # digits only: the default currency was used
        tally.no_currency += 1
    return Offer(
        channel=CHANNEL, location=config.shop.location, sku=f["id"],
        gtin=normalize_gtin(f.get("gtin")),  # an invalid gtin is dropped: the id still keys the offer
        url=normalize_url(f.get("link")),
        title=_human(f.get("title")), brand=_human(f.get("brand")),
        category=_human(f.get("product_type") or f.get("google_product_category")),
        currency=cur, price=price, sale_price=sale_price, sale_start=sale_start, sale_end=sale_end,
        availability=_availability(f.get("availability"), tally.unknown_availability), source=source,
    )


def _round_end_of_day(end: datetime) -> datetime:
    # an end at 23:59 or 23:59:59 means "to the end of that day": the next 00:00 in the same
    # offset, so the window lines up with the stores' whole-day promotions
    if (end.hour, end.minute) == (23, 59):
        return end.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return end


def _human(text: str | None) -> str | None:
    # feeds double-escape entities ("&amp;#039;"): unescape once; fold line breaks and runs of spaces
    if not text:
        return None
    return " ".join(html.unescape(text).split()) or None


def _availability(text: str | None, unknown: Counter) -> Availability | None:
    if not text:
        return None
    value = _availability_word(text)
    if value is None:
        unknown[text.strip()] += 1  # not worth a rejection: reported once per file in the notes
    return value


@lru_cache(maxsize=1024)  # a feed writes few distinct values
def _availability_word(text: str) -> Availability | None:
    key = text.strip().lower().rsplit("/", 1)[-1]  # schema.org URLs too: ".../InStock"
    return _AVAILABILITY.get(" ".join(re.sub(r"[_\-]", " ", key).split()))


@lru_cache(maxsize=1024)
def _name(raw: str) -> str:
    # "Sale Price", "g:sale_price", "SALE-PRICE" -> "sale_price"
    return re.sub(r"[\s\-]+", "_", raw.strip().lower().removeprefix("g:"))


# ---- XML ---------------------------------------------------------------------------------------

def _iterparse(fh: BinaryIO, **kw) -> etree.iterparse:
    # Untrusted input. lxml (for streaming and line numbers) with no entity expansion, no DTD
    # loading, no network, no huge text nodes; _check_prolog refuses DOCTYPEs that declare entities.
    return etree.iterparse(fh, resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, **kw)


def _xml_error(path: Path, e: etree.XMLSyntaxError) -> InputError:
    msg = re.sub(r", line \d+, column \d+$", "", (e.msg or str(e)).strip())
    where = f" line {e.lineno}" if e.lineno else ""
    return InputError(f"{path.name}{where}: the XML ends early or is malformed ({' '.join(msg.split())})")


def _check_prolog(path: Path) -> None:
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


def _xml_items(path: Path) -> Iterator[_Item]:
    _check_prolog(path)
    try:
        with path.open("rb") as fh:
            for _, item in _iterparse(fh, events=("end",), tag=("{*}item", "{*}entry")):
                parent = item.getparent()
                if parent is None or etree.QName(parent).localname not in ("channel", "feed", "rss"):
                    continue  # an <item> inside something else is not a product
                raw = partial(etree.tostring, item, encoding="unicode", with_tail=False)
                yield _xml_fields(item), item.sourceline, raw
                # streaming: drop this item and everything before it; the tree stays one item big
                item.clear(keep_tail=False)
                while item.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as e:
        raise _xml_error(path, e) from None


def _xml_fields(item: etree._Element) -> dict[str, str]:
    """The item's direct children by GMC name; nested ones (g:shipping/g:price) are not the item's.
    g: elements win over plain ones, GMC names over aliases; empty elements count as absent."""
    fields: dict[str, str] = {}
    rank: dict[str, tuple[bool, bool]] = {}
    for child in item:
        known = _xml_key(child.tag) if isinstance(child.tag, str) else None  # skips comments, PIs
        if known is None:
            continue
        key, r = known
        text = child.text if len(child) == 0 else "".join(child.itertext())  # fast path: no children
        value = (text or "").strip()
        if not value and key == "link":
            value = (child.get("href") or "").strip()  # Atom: <link href="..."/>
        if value and (key not in fields or r < rank[key]):
            fields[key], rank[key] = value, r
    return fields


@lru_cache(maxsize=512)
def _xml_key(tag: str) -> tuple[str, tuple[bool, bool]] | None:
    """"{ns}local" -> (GMC field, rank), None for elements we do not read. Cached: a feed has few tags."""
    ns, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    if ns and ns != _ATOM and "base.google.com" not in ns:
        return None  # other vocabularies: media:, content:, ...
    name = _name(local)
    key = _ALIASES.get(name, name)
    if key not in _FIELDS:
        return None
    return key, (key != name, "base.google.com" not in ns)  # lower ranks win: g: names, then plain


# ---- tabular -----------------------------------------------------------------------------------

def _tabular_items(path: Path) -> Iterator[_Item]:
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as fh:
            yield from _rows(path, fh)
    except UnicodeDecodeError as e:
        raise InputError(f"{path.name}: not UTF-8 text (byte 0x{e.object[e.start]:02x} is no UTF-8 character); "
                         "export the feed as UTF-8") from None


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
    missing = [c for c in ("id", "price") if c not in columns]
    if missing:
        have = ", ".join(h for h in header[:12] if h) or "nothing"
        raise InputError(f"{path.name} line 1: no {' and no '.join(repr(m) for m in missing)} column "
                         f"(the header has: {have}); is this a product feed?")
    reader = csv.reader(fh, delimiter=delimiter, strict=True)  # strict: an unclosed quote is an error
    consumed = 0  # lines the reader has used up; a row starts on the next one (after the header)
    try:
        for row in reader:
            line, consumed = consumed + 2, reader.line_num
            if not any(cell.strip() for cell in row):
                continue  # blank lines are no items
            raw = lambda r=row: delimiter.join(r)  # noqa: E731
            if len(row) > len(header):
                yield (f"the row has {len(row)} values but the header has {len(header)} columns "
                       "(a delimiter inside an unquoted value?)"), line, raw
            else:
                yield {k: row[i].strip() for k, i in columns.items() if i < len(row) and row[i].strip()}, line, raw
    except csv.Error as e:
        raise InputError(f"{path.name} line {consumed + 2}: the rows cannot be split ({e}; "
                         "a quote that is never closed?)") from None
