"""The shop channel: a Google Merchant Center product feed, as every shop system exports it.

Two forms, told apart by content (not by file extension):
- XML: RSS 2.0 `<rss><channel><item>` or Atom `<feed><entry>`, fields in the g: namespace
  (http://base.google.com/ns/1.0) or plain (`<title>`, `<link>`);
- tabular: a header row of GMC attribute names, tab-, comma- or semicolon-separated.

Both stream: `stream` turns items into offers by the column (OfferBatch, up to BATCH items at a
time), so a feed of a million items never becomes a tree, nor a million objects, in memory. Every
item becomes one offer (a row of a batch, with its line) or one rejection.

Per item the work is small: a plain item (`<g:x>text</g:x>` children only) is matched as a whole
by a pattern of its layout, every other one is read by lxml in its context (shop_plain.py,
shop_items.py: the same items, lines and errors); repeated texts (prices, sale windows,
availability words, brands, categories) are parsed once per feed (caches), and the offer is one
tuple of column values, not an Offer object; texts that differ per item (GTINs, links, titles) are checked and normalised by the
column, PART rows at a time (shop_columns.py).
"""
from __future__ import annotations

import html
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import pyarrow as pa
from lxml import etree

from unisono.channels.shop_columns import gtin_column, title_column, url_column
from unisono.channels.shop_currency import bare_price_currency
from unisono.channels.shop_items import tabular_items
from unisono.channels.shop_plain import items as xml_items
from unisono.channels.shop_promotions import PromotionLinks
from unisono.channels.shop_shipping import ShippingTally
from unisono.channels.parsing import parse_feed_money, parse_interval
from unisono.domain.batch import SCHEMA, OfferBatch, cents
from unisono.domain.config import ProjectConfig
from unisono.domain.models import Availability, ChannelRead, Claim, InputError, Offer, Rejection, SourceRef

CHANNEL = "shop"
BATCH = 50_000  # items per span of the stream: a span's offers are one OfferBatch
PART = 5_000  # offers held as Python values at most: then made columns (memory: a part, not a span)
SPLIT_FROM = 32 << 20  # bytes of XML from which two processes read a feed (each ~0.3 s to start)
_SPAN_END = object()  # in _entries: the rows of a span are complete (its rejections follow)

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
    shipping: ShippingTally = field(default_factory=ShippingTally)
    promotions: PromotionLinks = field(default_factory=PromotionLinks)
    bad_gtins: int = 0
    sale_above_price: int = 0

    def add_later(self, later: _Tally) -> None:
        """What a later part of the feed counted (a split read's second half); rows are the reader's."""
        self.no_currency += later.no_currency
        self.bad_gtins += later.bad_gtins
        self.sale_above_price += later.sale_above_price
        self.unknown_availability.update(later.unknown_availability)
        self.shipping.add_later(later.shipping)
        self.promotions.add_later(later.promotions)



# One offer as a tuple of column values (_row): the catalog's form (cents, UTC microseconds,
# availability value) for the batch, then the exact values (Decimal, aware datetime) for read();
# gtin, link and title as the feed wrote them until Reader.part normalises them by the column.
_SKU, _GTIN, _URL, _TITLE, _BRAND, _CATEGORY, _CURRENCY, _PRICE_CENTS, _SALE_CENTS, _START_US, _END_US, \
    _AVAILABILITY_VALUE, _LINE, _PRICE, _SALE_PRICE, _SALE_START, _SALE_END, _IMAGE = range(18)


def read(path: Path, config: ProjectConfig) -> ChannelRead:
    """Read a shop feed into offers and rejections. Raises InputError when the file as a whole
    cannot be read: never a partial read."""
    result = ChannelRead(channel=CHANNEL, source=path.name)
    location = config.shop.location
    for entry in _entries(path, config, result.notes):
        if isinstance(entry, Rejection):
            result.rejections.append(entry)
        elif isinstance(entry, Claim):
            result.claims.append(entry)
        elif entry is not _SPAN_END:  # the same rows stream() makes batches of, with the exact prices and instants
            entry[_GTIN], entry[_URL], entry[_TITLE] = (entry[i].to_pylist() for i in (_GTIN, _URL, _TITLE))
            result.offers.extend(_offer(row, location, path.name) for row in zip(*entry))
    return result


def stream(path: Path, config: ProjectConfig, notes: list[str] | None = None, *,
           split_from: int | None = None) -> Iterator[OfferBatch | Rejection]:
    """The feed as OfferBatches (the offers, `line` column: where each item starts) and Rejections,
    in file order by spans: the items are taken BATCH at a time; of each span, first its offers
    (one batch, in file order), then its rejections (in file order). Every item is exactly one row
    or one rejection. When the iteration is complete, what a user should know about the whole
    file is appended to `notes`. An XML feed of `split_from` bytes or more (default: SPLIT_FROM on a
    machine with two cores) is read by two processes, each half (channels/shop_split.py)."""
    if split_from is None:  # by default on two cores or more (one core would read both halves in turn)
        split_from = SPLIT_FROM if len(os.sched_getaffinity(0)) >= 2 else None
    yield from tables(_entries(path, config, notes, split_from), config.shop.location, path.name)


def tables(entries: Iterable, location: str, name: str) -> Iterator[OfferBatch | Rejection]:
    """_entries' spans as OfferBatches and Rejections."""
    parts: list[pa.Table] = []
    for entry in entries:
        # (a batch: made by the second process of a split read; claims: the feed's shipping terms)
        if isinstance(entry, (Rejection, OfferBatch, Claim)):
            yield entry
        elif entry is _SPAN_END:
            if parts:
                yield OfferBatch(CHANNEL, name, _combine(parts, location))
                parts.clear()
        else:
            parts.append(_table(entry, location))


def _entries(path: Path, config: ProjectConfig, notes: list[str] | None,
             split_from: int | None = None) -> Iterator[list[tuple] | object | Rejection | OfferBatch | Claim]:
    """The spans of the feed: parts of offer rows (Reader.part: at most PART rows by the column), _SPAN_END,
    then the span's rejections; an XML feed of split_from bytes or more (None: never) is read in
    two halves, the second's spans as OfferBatches; at the end, the feed's shipping claims
    (shop_shipping.py)."""
    raw = _head(path)
    encoding = unicode_encoding(raw)  # UTF-16 or UTF-32 by its byte order mark (or an XML declaration)
    head = raw.decode(encoding, errors="ignore") if encoding else raw.decode("utf-8", errors="ignore")
    head = head.lstrip("\ufeff \t\r\n").lower()
    if not head:
        raise InputError(f"{path.name}: the file is empty")
    if head.startswith(("<!doctype html", "<html")):
        raise InputError(f"{path.name}: this is an HTML page, not a product feed")
    currency, why = bare_price_currency(path, encoding, head.startswith("<"), config)
    # the reader (and a split read's second process) takes it as shop.currency
    config = config.model_copy(update={"shop": config.shop.model_copy(update={"currency": currency})})
    reader = Reader(path.name, config)
    # XML: libxml2 reads UTF-16 itself (byte order mark or declaration), UTF-32 as a UTF-8 copy; a table
    # is decoded here
    if not head.startswith("<"):
        yield from reader.spans(tabular_items(path, encoding or "utf-8-sig"))
    elif encoding is None and split_from is not None and path.stat().st_size >= split_from:
        from unisono.channels import shop_split  # only for large feeds

        yield from shop_split.entries(path, config, reader)
    else:
        yield from reader.spans(xml_items(_utf8_copy(path, encoding) if encoding == "utf-32" else path))
    yield from reader.tally.shipping.claims(config.shop.location, path.name)  # after every item: a feed-wide summary
    yield from reader.tally.promotions.claims(config.shop.location, path.name)
    if notes is not None:
        notes.extend(_notes(path.name, reader.currency, why, reader.tally))


class Reader:
    """Items into spans of offer rows and rejections, remembering what the next item needs: the
    ids seen (a repeated id is a duplicate) and what the notes count. `items`: items taken so far."""

    def __init__(self, name: str, config: ProjectConfig) -> None:
        self.name = name
        self.currency = config.shop.currency or config.currency
        self.tally = _Tally()
        self.seen: dict[str, int] = {}  # id -> line of its first item
        self.rows: list[tuple] = []
        self.add = _adder(self.rows, config, self.currency, self.tally, self.seen)
        self.items = 0

    def spans(self, items: Iterable) -> Iterator[list[tuple] | object | Rejection]:
        rows, rejections = self.rows, []
        in_span = 0
        for fields, line, raw in items:
            self.items += 1
            reason = fields if isinstance(fields, str) else self.add(fields, line)
            if reason is not None:
                raw_text = raw() if callable(raw) else etree.tostring(raw, encoding="unicode", with_tail=False)
                rejections.append(Rejection(channel=CHANNEL, source=SourceRef(file=self.name, line=line),
                                            reason=reason, raw=raw_text))
            in_span += 1
            if in_span == BATCH:
                yield from self._span_end(rejections)
                in_span = 0
            elif len(rows) >= PART:
                yield self.part()
        yield from self._span_end(rejections)
        self.tally.rows = self.items

    def part(self) -> list:
        """The rows taken so far by the column (a list per _row place), their gtins checked together
        (a wrong length or check digit: dropped, the id still keys the offer; counted for the notes),
        links and titles normalised together."""
        columns = list(zip(*self.rows))
        self.rows.clear()
        columns[_GTIN], bad = gtin_column(columns[_GTIN])
        columns[_URL], columns[_TITLE] = url_column(columns[_URL]), title_column(columns[_TITLE], _human)
        self.tally.bad_gtins += bad
        return columns

    def _span_end(self, rejections: list[Rejection]) -> Iterator[list[tuple] | object | Rejection]:
        if self.rows:
            yield self.part()
        yield _SPAN_END
        yield from rejections
        rejections.clear()


def unicode_encoding(head: bytes) -> str | None:
    """"utf-32"/"utf-16" when the bytes start with that encoding's byte order mark, or (no mark)
    with an XML declaration in UTF-16; None for everything else (UTF-8 and the 8-bit ones)."""
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "utf-32"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if head.startswith(b"<\x00?\x00"):
        return "utf-16-le"
    if head.startswith(b"\x00<\x00?"):
        return "utf-16-be"
    return None


def _utf8_copy(path: Path, encoding: str) -> Path:
    """A UTF-32 XML feed as UTF-8, line for line, under the same file name (messages name it) in a
    temporary folder that goes when the process ends; its declaration then says UTF-8."""
    import atexit
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="unisono-utf8-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    copy = folder / path.name
    try:
        with path.open("r", encoding=encoding, newline="") as src, copy.open("w", encoding="utf-8", newline="") as out:
            first = src.readline()
            out.write(re.sub(r"""(<\?xml[^>]*encoding\s*=\s*["'])[^"']*""", r"\1UTF-8", first.lstrip("\ufeff"), count=1))
            shutil.copyfileobj(src, out, 1 << 20)
    except UnicodeDecodeError as e:
        raise InputError(f"{path.name}: not UTF-32 text after its byte order mark (byte {e.start} does not decode)") from None
    return copy


def _head(path: Path) -> bytes:
    """The first bytes, to tell XML from tabular by content."""
    try:
        with path.open("rb") as fh:
            return fh.read(4096)
    except OSError as e:
        raise InputError(f"{path.name}: cannot open the file ({e.strerror})") from None


def _notes(name: str, currency: str, why: str, tally: _Tally) -> list[str]:
    notes = []
    if not tally.rows:
        notes.append(f"{name}: the feed has no items")
    if tally.no_currency:
        notes.append(f"{name}: {tally.no_currency} prices carry no currency and were read as {currency}{why}")
    if tally.sale_above_price:
        notes.append(f"{name}: {tally.sale_above_price} items have a sale price above their price: kept at their "
                     "price, the sale price ignored (as Merchant Center does)")
    if tally.bad_gtins:
        notes.append(f"{name}: {tally.bad_gtins} items have a gtin that is not a GTIN (its length or check digit): "
                     "kept without it, keyed by id")
    for value, n in tally.unknown_availability.most_common():
        notes.append(f"{name}: availability {value!r} is not understood ({n} items; left empty)")
    return notes


# ---- one item's fields -> a row of columns -----------------------------------------------------

_NOT_A_DIGIT = re.compile(r"[^\d\s.,+-]")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
_NO_SALE = (None, None, None, False)
_NO_WINDOW = (None, None, None, None)


# Prices and sale windows repeat across a feed: parsed once each (the parsers are pure; a
# ValueError is not cached, so a bad value is re-parsed and rejected every time).
@lru_cache(maxsize=8192)
def _money(text: str, default_currency: str, what: str) -> tuple[Decimal, str, int, bool]:
    """(amount, currency, cents, whether the text names no currency)."""
    amount, currency = parse_feed_money(text, default_currency, what=what)
    return amount, currency, cents(amount), not _NOT_A_DIGIT.search(text)


@lru_cache(maxsize=4096)
def _sale_window(text: str, tz: tzinfo) -> tuple[datetime, datetime, int, int]:
    """(start, end, start and end in microseconds since the epoch, UTC)."""
    start, end = parse_interval(text, tz, naive_tz=timezone.utc)  # GMC: no zone means UTC
    end = _round_end_of_day(end)
    return start, end, (start - _EPOCH) // _MICROSECOND, (end - _EPOCH) // _MICROSECOND


def _adder(rows: list[tuple], config: ProjectConfig, currency: str, tally: _Tally,
           seen: dict[str, int]) -> Callable[[dict[str, str], int], str | None]:
    """add(fields, line): append the item's offer row to `rows` and return None, or return the
    reason a merchandiser reads why it is no offer. Ids are remembered in `seen` (id -> line of
    its first item) for duplicate messages."""
    tz = config.tz
    unknown = tally.unknown_availability
    append = rows.append

    def add(f: dict[str, str], line: int) -> str | None:
        get = f.get
        sku = get("id")
        if sku in seen:
            return f"duplicate id {sku} (first at line {seen[sku]})"
        if not sku:
            return "item has no id"
        seen[sku] = line
        text = get("price")
        if not text:
            return "item has no price"
        try:
            price = _money(text, currency, "price")
            cur = price[1]
            text = get("sale_price")
            if text:  # an empty <g:sale_price/> means no sale
                sale = _money(text, cur, "sale price")
                if sale[1] != cur:
                    return f"sale price is in {sale[1]} but the price is in {cur}"
                text = get("sale_price_effective_date")  # no window: the sale is always on
                window = _sale_window(text, tz) if text else _NO_WINDOW
                if sale[0] > price[0]:  # Merchant Center ignores such a sale price: the item sells at its price
                    tally.sale_above_price += 1
                    sale, window = _NO_SALE, _NO_WINDOW
            else:
                sale, window = _NO_SALE, _NO_WINDOW
        except ValueError as e:
            return str(e)
        if price[3]:  # digits only: the default currency was used
            tally.no_currency += 1
        text = get("availability")
        availability = None
        if text:
            availability = _availability_value(text)
            if availability is None:
                unknown[text.strip()] += 1  # not worth a rejection: reported once per file in the notes
        if "shipping" in f or "free_shipping_threshold" in f:
            order = price[0] if sale[0] is None else min(price[0], sale[0])  # the least it can be ordered at
            tally.shipping.add(get("shipping"), get("free_shipping_threshold"), order, cur, sku, line)
        if text := get("promotion_id"):
            tally.promotions.add(text, sku, line)
        append((sku, get("gtin"), get("link"), get("title"),  # (the texts: by the column, Reader.part)
                _label(get("brand")),
                _label(get("product_type") or get("google_product_category")),
                cur, price[2], sale[2], window[2], window[3], availability, line,
                price[0], sale[0], window[0], window[1], (get("image_link") or "").strip() or None))
        return None

    return add


# SCHEMA column -> its place in a row
_COLUMNS = {"sku": _SKU, "gtin": _GTIN, "url": _URL, "title": _TITLE, "brand": _BRAND, "category": _CATEGORY,
            "currency": _CURRENCY, "price_cents": _PRICE_CENTS, "sale_price_cents": _SALE_CENTS,
            "sale_start": _START_US, "sale_end": _END_US, "availability": _AVAILABILITY_VALUE, "line": _LINE,
            "image_url": _IMAGE}


def _table(columns: list, location: str) -> pa.Table:
    """A part's columns (Reader.part) as the catalog stores them (SCHEMA)."""
    n = len(columns[_SKU])
    arrays = []
    for f in SCHEMA:
        if f.name == "location":
            arrays.append(_constant(location, n))
        elif f.name in _COLUMNS:  # timestamps: from microseconds since the epoch, UTC
            column = columns[_COLUMNS[f.name]]
            arrays.append(column if isinstance(column, pa.Array) else pa.array(column, f.type))
        else:  # what a feed never says: valid_from, list price, path, ...
            arrays.append(_constant(None, n, f.type))
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def _combine(parts: list[pa.Table], location: str) -> pa.Table:
    """One table of the parts' rows: each column one array (the constant ones shared, as in _table)."""
    if len(parts) == 1:
        return parts[0]
    n = sum(t.num_rows for t in parts)
    arrays = []
    for i, f in enumerate(SCHEMA):
        if f.name == "location":
            arrays.append(_constant(location, n))
        elif f.name in _COLUMNS:
            arrays.append(pa.concat_arrays([chunk for t in parts for chunk in t.column(i).chunks]))
        else:
            arrays.append(_constant(None, n, f.type))
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


@lru_cache(maxsize=64)
def _constant(value: str | None, n: int, type_: pa.DataType = pa.string()) -> pa.Array:
    """A column of one value (or nulls): one array that every batch of the feed shares."""
    if n < BATCH:
        return _constant(value, BATCH, type_).slice(0, n)  # zero-copy
    return pa.nulls(n, type_) if value is None else pa.array([value] * n, type_)


def _offer(row: tuple, location: str, file: str) -> Offer:
    """A row as the Offer it is, with the exact prices and the instants in their own offsets."""
    availability = row[_AVAILABILITY_VALUE]
    return Offer(
        channel=CHANNEL, location=location, sku=row[_SKU], gtin=row[_GTIN], url=row[_URL], image_url=row[_IMAGE],
        title=row[_TITLE], brand=row[_BRAND], category=row[_CATEGORY], currency=row[_CURRENCY],
        price=row[_PRICE], sale_price=row[_SALE_PRICE], sale_start=row[_SALE_START], sale_end=row[_SALE_END],
        availability=None if availability is None else Availability(availability),
        source=SourceRef(file=file, line=row[_LINE]),
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


# brands and categories: few distinct values in a feed
_label = lru_cache(maxsize=4096)(_human)


@lru_cache(maxsize=1024)  # a feed writes few distinct values
def _availability_value(text: str) -> str | None:
    key = text.strip().lower().rsplit("/", 1)[-1]  # schema.org URLs too: ".../InStock"
    value = _AVAILABILITY.get(" ".join(re.sub(r"[_\-]", " ", key).split()))
    return None if value is None else value.value
