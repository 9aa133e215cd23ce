"""The store channel: a POS/ERP price export in CSV, one offer per row.

Reads what retailers actually export: UTF-8 (with or without BOM) or a Windows code page; ';', ',',
TAB or '|' separated; decimal commas or points; German or English headers, or the project's mapping
(unisono.yaml `store.columns`). A row that cannot become an offer becomes a rejection with its line;
a file that cannot be read at all raises InputError. The text is streamed: memory grows with the
offers, not with the file.
"""
from __future__ import annotations

import csv
import gc
import re
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field as dataclass_field
from datetime import datetime, tzinfo
from decimal import Decimal
from functools import lru_cache
from itertools import chain
from pathlib import Path
from typing import Callable, Iterable, Iterator

from unisono.channels.parsing import (
    CURRENCY_SYMBOLS, bounded_amount, gtin_problem, is_currency_code, local_time_note, normalize_gtin, parse_decimal,
    parse_instant,
)
from unisono.channels.store_columns import ColumnReader, duplicate_reason, one_line_records
from unisono.channels.store_headers import FIELDS, find_header, norm, shorten, undated
from unisono.channels.store_text import MIXED, Lines, Unreadable, encoding_of, lookahead, records
from unisono.domain.batch import OfferBatch
from unisono.domain.config import ProjectConfig
from unisono.domain.models import Availability, ChannelRead, InputError, Offer, Rejection, SourceRef

CHANNEL = "store"

_AVAILABILITY = {
    Availability.in_stock: ("in stock", "available", "verfügbar", "lieferbar", "auf Lager", "vorrätig",
                            "ja", "yes", "true"),
    Availability.out_of_stock: ("out of stock", "sold out", "unavailable", "nicht verfügbar",
                                "nicht lieferbar", "ausverkauft", "nein", "no", "false",
                                "discontinued", "delisted", "ausgelistet", "auslaufartikel", "ausgelaufen"),
    Availability.preorder: ("preorder", "vorbestellbar"),
    Availability.backorder: ("backorder", "nachbestellt", "wird nachgeliefert"),
}
# pyarrow's work is per column and block: a file wider than this is read row by row
_COLUMNAR_WIDTH = 500


_AVAILABILITY_WORDS = {norm(w): a for a, words in _AVAILABILITY.items() for w in words}


def read(path: Path, config: ProjectConfig, *, columnar: bool = True) -> ChannelRead:
    """Read one store price file into offers and rejections (rows == offers + rejections)."""
    out = ChannelRead(channel=CHANNEL, source=path.name)
    withdrawn: set[int] = set()
    with _gc_paused():
        for item in stream(path, config, out.notes, columnar=columnar):
            if isinstance(item, OfferBatch):
                out.offers.extend(item.offers())
            elif isinstance(item, Offer):
                out.offers.append(item)
            else:
                out.rejections.append(item)
                if item.withdraws_offer:
                    withdrawn.add(item.source.line)
    if withdrawn:
        out.offers = [o for o in out.offers if o.source.line not in withdrawn]
    return out


def stream(path: Path, config: ProjectConfig, notes: list[str], *,
           columnar: bool = True) -> Iterator[OfferBatch | Offer | Rejection]:
    """read() for files of any size: offers in batches of columns (OfferBatch) and rejections, in
    file order; a rejection that `withdraws_offer` takes back an offer of an earlier batch (a
    duplicate, known once the file is read). `notes` is complete once the iterator is exhausted.
    columnar=False reads row by row, one Offer at a time (as files with quoted line breaks are)."""
    with opened(path, notes) as (lines, encoding):
        yield from _rows(lines, path, config, notes, encoding, columnar)


@contextmanager
def opened(path: Path, notes: list[str]) -> Iterator[tuple[Lines, str]]:
    """The file as text lines in its encoding (said in a note when not UTF-8); its undecodable bytes
    and unreadable CSV said in one line."""
    name = path.name
    encoding = encoding_of(path)
    if encoding == MIXED:
        notes.append(f"{name} mixes UTF-8 and cp1252 (lines from two systems): read as UTF-8, every byte that is "
                     "no UTF-8 as cp1252")
    elif encoding not in ("utf-8-sig", "utf-16", "utf-32"):
        notes.append(f"{name} is not UTF-8; read it as {encoding}")
    with path.open(encoding=encoding, newline="") as f:
        lines = Lines(f)
        try:
            yield lines, encoding
        except UnicodeDecodeError:
            raise InputError(f"{name}: bytes near line {lines.count + 1} are not {encoding} text;"
                             " save the file as UTF-8") from None
        except csv.Error as e:
            raise InputError(f"{name}: line {lines.count} is not readable as CSV ({e})") from None


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Offers hold no reference cycles, yet allocating 100,000 of them set off cyclic-GC passes
    that took 40 % of the time (measured); pause the collector while the list grows."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass
class Layout:
    """What the header and the first rows told us about the file."""

    name: str
    columns: dict[str, int]
    width: int
    decimal_comma: bool
    currency: str
    location: str | None  # every row's store when the file has no store column
    tz: tzinfo
    zero_promos: int = 0
    ignored_promo_dates: int = 0
    promo_only: int = 0  # rows whose promo price is their price (no regular price)
    time_notes: dict[str, None] = dataclass_field(default_factory=dict)  # promo times in a daylight-saving change, in order
    bad_gtins: int = 0
    sub_cent: int = 0  # rows with an amount in fractions of a cent ("1,299"): the catalog keeps whole cents


def learn(lines: Lines, path: Path, config: ProjectConfig, notes: list[str]) -> tuple:
    """(layout, delimiter, header lines, the first records read ahead, the records after them):
    what the header and the first rows tell of the file, `lines` read up to the first record."""
    name = path.name
    delimiter, header, columns = find_header(lines, name, config, notes)
    header_lines = lines.count  # the header's line: records start after it
    lines.take()

    records_ = _unswallowed(records(lines, delimiter), delimiter)
    head = lookahead(records_)
    prices = (fields[i] for _, fields, _ in head for f, i in columns.items()
              if f in ("price", "promo_price") and i < len(fields))
    decimal_comma = _decimal_comma(prices, delimiter, notes)
    location = None
    if "store" not in columns:
        location = config.store.location or undated(Path(name).stem)
        why = "--location or store.location in unisono.yaml" if config.store.location else \
            "the file name" + (", without its date" if location != Path(name).stem else "")
        notes.append(f"{name} has no store column: all its offers are for store {location!r} (from {why})")
    layout = Layout(name, columns, len(header), decimal_comma, config.store.currency or config.currency,
                     location, config.tz)
    return layout, delimiter, header_lines, head, records_


def row_reader(layout: Layout) -> Callable[[int, list[str], str], Offer | Rejection | None]:
    """A row's offer or rejection, read field by field; None for a blank row."""
    def row_path(line: int, fields: list[str], raw: str) -> Offer | Rejection | None:
        source = SourceRef(file=layout.name, line=line)
        if isinstance(fields, Unreadable):
            return Rejection(channel=CHANNEL, source=source, reason=fields.reason, raw=raw)
        if not "".join(fields).strip():  # blank lines and rows of bare delimiters are not rows
            return None
        try:
            return _offer(layout, _fit(fields, layout.width), source)
        except ValueError as e:
            return Rejection(channel=CHANNEL, source=source, reason=shorten(str(e).replace("\n", " "), 200), raw=raw)
    return row_path


def column_width(head: list, layout: Layout, encoding: str, path: Path) -> int | None:
    """The field count to read the file by the column with (the rows' common one: a trailing
    delimiter on every row is no reason to read them one by one), or None: row by row."""
    if encoding in ("utf-16", "utf-32") or layout.width > _COLUMNAR_WIDTH or not one_line_records(path):
        return None
    widths = Counter(len(fields) for _, fields, _ in head if len(fields) >= layout.width)
    return widths.most_common(1)[0][0] if widths else layout.width


def _rows(lines: Lines, path: Path, config: ProjectConfig, notes: list[str], encoding: str,
          columnar: bool) -> Iterator[OfferBatch | Offer | Rejection]:
    layout, delimiter, header_lines, head, records_ = learn(lines, path, config, notes)
    row_path = row_reader(layout)
    rows = 0
    if columnar and (width := column_width(head, layout, encoding, path)) is not None:
        for item in ColumnReader(layout, delimiter, width, encoding, header_lines + 1, row_path).batches(path):
            rows += len(item) if isinstance(item, OfferBatch) else not getattr(item, "withdraws_offer", False)
            yield item
        notes.extend(counts_notes(layout, rows))
        return

    # (store, "sku"/"EAN") -> key -> line of its offer; nested rather than keyed by triples, which
    # held a tuple and a store string per row: half the memory for a file of millions of rows
    first_line: dict[tuple[str, str], dict[str, int]] = {}
    for line, fields, raw in chain(head, records_):
        item = row_path(line, fields, raw)
        if item is None:
            continue
        rows += 1
        if isinstance(item, Offer):
            kind, key = ("sku", item.sku) if item.sku else ("EAN", item.gtin)
            seen = first_line.setdefault((item.location, kind), {})
            if key in seen:
                item = Rejection(channel=CHANNEL, source=item.source, reason=duplicate_reason(item.location, kind, key,
                                                                                              seen[key]), raw=raw)
            else:
                seen[key] = line
        yield item
    notes.extend(counts_notes(layout, rows))


def _decimal_comma(values: Iterable[str], delimiter: str, notes: list[str]) -> bool:
    """Whether the file writes decimal commas, by the first rows' prices: "7,99", ",69", "1.299,00"
    say yes; "7.99", "1,299.00" say no; "1.299" says nothing. Decided once for the file, so that
    "1.299" in a decimal-comma file is 1299. No evidence: commas, unless the file is comma-separated."""
    votes = {True: 0, False: 0}
    ambiguous = 0
    for v in values:
        s = re.sub(r"[^\d.,]", "", v)
        if "," in s and "." in s:
            votes[s.rfind(",") > s.rfind(".")] += 1
        elif s.count(",") + s.count(".") == 1:
            mark = "," if "," in s else "."
            if len(s) - s.index(mark) - 1 != 3:  # not followed by exactly three digits: a decimal mark
                votes[mark == ","] += 1
            else:
                ambiguous += 1
        elif s.count(",") > 1 or s.count(".") > 1:
            votes[s.count(".") > 1] += 1  # "1.299.000": dots group thousands
    if votes[True] == votes[False] == 0:
        guess = delimiter != ","
        if ambiguous:
            notes.append(f"no price in the first rows shows its decimal mark; read '1.299' as"
                         f" {'1299 (decimal commas)' if guess else '1.299 (decimal points)'}")
        return guess
    return votes[True] > votes[False]


def _fit(fields: list[str], width: int) -> list[str]:
    if len(fields) > width and not any(x.strip() for x in fields[width:]):
        return fields[:width]  # a trailing delimiter
    if len(fields) != width:
        raise ValueError(f"row has {len(fields)} fields, the header has {width}")
    return fields


def _unswallowed(records_: Iterable[tuple[int, list[str], str]], delimiter: str) -> Iterator[tuple[int, list[str], str]]:
    """The records, but one whose quote took in the lines of further rows is its first line's
    rejection, and those lines are read again as the rows they are: a stray '"' before a name makes
    the lines up to the next quote, or the file's end, one field. Told apart from a cell of several
    lines by where its quote closes: not before a delimiter or a line's end, or never."""
    for line, fields, raw in records_:
        if not any("\n" in x for x in fields) or _well_quoted(raw, delimiter):
            yield line, fields, raw
            continue
        first, *rest = raw.split("\n")
        yield line, Unreadable(f"a quote opened on this line is never closed (it would make lines {line + 1}-"
                               f"{line + len(rest)} part of this row; they are read as rows of their own)"), first
        again = records(Lines([part + "\n" for part in rest]), delimiter)
        yield from ((line + n, f, r) for n, f, r in _unswallowed(again, delimiter))


def _well_quoted(raw: str, delimiter: str) -> bool:
    try:
        for _ in csv.reader(raw.split("\n"), delimiter=delimiter, strict=True):
            pass
        return True
    except csv.Error:
        return False


_NO_CELLS = dict.fromkeys(FIELDS, "")


# "-" in an optional column is "none" as exports write it (no promotion, no lowest price), no bad number
NOT_GIVEN_AS_DASH = ("promo_price", "promo_from", "promo_to", "lowest_30d")
DASHES = ("-", "--", "---", "–", "—", "−")


def _offer(layout: Layout, fields: list[str], source: SourceRef) -> Offer:
    """One row as an offer; ValueError with the reason a merchandiser reads when it cannot be one."""
    cell = _NO_CELLS.copy()  # a field the file has no column for reads as empty
    for field, i in layout.columns.items():
        cell[field] = fields[i].strip()
    for field in NOT_GIVEN_AS_DASH:
        if cell[field] in DASHES:
            cell[field] = ""

    location = layout.location or cell["store"]
    if not location:
        raise ValueError("no store id")
    sku, ean = cell["sku"] or None, cell["gtin"]
    gtin = normalize_gtin(ean)
    if not sku and not ean:
        raise ValueError("no sku and no EAN")
    if ean and gtin is None and not sku:
        raise ValueError(f"EAN {ean!r} is not a GTIN ({gtin_problem(ean)})")
    promo, promo_from, promo_to = cell["promo_price"], cell["promo_from"], cell["promo_to"]
    promo_only = not cell["price"] and promo
    if promo_only:  # lists that blank the regular price while a promotion runs: the shelf charges the promo price
        price, symbol = _money(promo, layout.decimal_comma, "promo price")
        if not price:  # 0,00 is "no promotion": no price at all
            raise ValueError("price is empty")
        promo = promo_from = promo_to = ""
    else:
        price, symbol = _money(cell["price"], layout.decimal_comma, "price")

    sale_price = start = end = None
    if promo:
        sale_price, _ = _money(promo, layout.decimal_comma, "promo price")
        sale_price = sale_price or None  # ERPs write 0,00 for "no promotion"
    if sale_price is not None:
        start = promo_instant(layout, promo_from, what="promo from") if promo_from else None
        end = promo_instant(layout, promo_to, end_of_day=True, what="promo to") if promo_to else None
        if start and end and end <= start:
            raise ValueError(f"promo to {promo_to!r} is before promo from {promo_from!r}")

    lowest = _money(cell["lowest_30d"], layout.decimal_comma, "lowest price")[0] if cell["lowest_30d"] else None
    offer = Offer(
        channel=CHANNEL, location=location, sku=sku, gtin=gtin, title=" ".join(cell["title"].split()) or None,
        brand=" ".join(cell["brand"].split()) or None,
        price=price, sale_price=sale_price, sale_start=start, sale_end=end, lowest_30d=lowest or None,
        currency=_currency(cell["currency"]) or symbol or layout.currency,
        availability=_availability(cell["availability"], layout.decimal_comma), source=source,
    )
    # counted for the notes only once the row is an offer
    layout.bad_gtins += bool(ean and gtin is None)
    layout.zero_promos += bool(promo and sale_price is None)
    layout.promo_only += bool(promo_only)
    layout.ignored_promo_dates += bool(sale_price is None and (promo_from or promo_to))
    layout.sub_cent += any(m is not None and m * 100 != int(m * 100) for m in (price, sale_price, lowest))
    return offer


_AMOUNT = re.compile(r"(?P<pre>[^\d\s.,+-][^\d\s,+-]*)?\s*(?P<num>[-+]?[\d\s.,']+?)\s*(?P<post>[^\d\s.,+-][^\d\s,+-]*)?")
_PLAIN = {True: re.compile(r"\d*,?\d+"), False: re.compile(r"\d*\.?\d+")}  # "7,99", ",69", "1299"
_WHOLE = re.compile(r"(?<=\d)[.,][-–]{1,2}(?=\s*[^\d\s.,+-]*$)")  # "120,-", "120,– €": whole euros


@lru_cache(maxsize=8192)  # a price list repeats few distinct prices
def _money(text: str, decimal_comma: bool, what: str) -> tuple[Decimal, str | None]:
    """An amount in the file's decimal convention, a currency sign beside it tolerated: "7,99 €"."""
    if _PLAIN[decimal_comma].fullmatch(text):  # the common case, without parse_decimal's generality
        return bounded_amount(Decimal(text.replace(",", ".")), text, what), None
    if not text:
        raise ValueError(f"{what} is empty")
    m = _AMOUNT.fullmatch(_WHOLE.sub("", text))
    signs = [_currency(s, strict=False) for s in (m.group("pre"), m.group("post")) if s] if m else []
    if not m or None in signs or len(signs) > 1:
        raise ValueError(f"{what} {text!r} is not a number")
    try:
        amount = parse_decimal(m.group("num"), decimal_comma=decimal_comma, what=what)
    except ValueError as e:
        try:  # "7.99" in a decimal-comma file: say why it is no number here
            parse_decimal(m.group("num"), decimal_comma=not decimal_comma)
        except ValueError:
            raise e from None
        raise ValueError(f"{e} (this file writes decimal {'commas' if decimal_comma else 'points'})") from None
    if amount < 0:
        raise ValueError(f"{what} {text!r} is negative")
    return amount, signs[0] if signs else None


@lru_cache(maxsize=4096)  # promo dates repeat across a file
def _instant(text: str, tz: tzinfo, end_of_day: bool, what: str) -> tuple[datetime, str | None]:
    when = parse_instant(text, tz, end_of_day=end_of_day, what=what)
    return when, local_time_note(text, when, what)


def promo_instant(layout: Layout, text: str, *, end_of_day: bool = False, what: str) -> datetime:
    """A promo date or time in the project's timezone; a time in a daylight-saving change is read
    by parse_instant's rule and noted (a few examples)."""
    when, note = _instant(text, layout.tz, end_of_day, what)
    if note and len(layout.time_notes) < 3:
        layout.time_notes[note] = None
    return when


@lru_cache(maxsize=256)
def _currency(text: str, strict: bool = True) -> str | None:
    """ "EUR", "eur", "€" -> "EUR"; empty -> None. Unknown: a rejection, or None when not strict."""
    if not text:
        return None
    code = text.upper() if is_currency_code(text) else CURRENCY_SYMBOLS.get(text.lower())
    if code is None and strict:
        raise ValueError(f"currency {text!r} is not a currency code")
    return code


def _availability(text: str, decimal_comma: bool) -> Availability | None:
    """A word ("lieferbar", "out of stock") or a stock count (> 0: in stock)."""
    if not text:
        return None
    found = _AVAILABILITY_WORDS.get(norm(text))
    if found:
        return found
    try:
        count = parse_decimal(text.lstrip("-"), decimal_comma=decimal_comma, what="availability")
    except ValueError:
        raise ValueError(f"availability {text!r} is neither a stock count nor a word like"
                         " 'in stock', 'out of stock', 'lieferbar', 'ausverkauft'") from None
    return Availability.in_stock if count > 0 and not text.startswith("-") else Availability.out_of_stock


def counts_notes(layout: Layout, rows: int) -> list[str]:
    def n_rows(n: int) -> str:
        return f"{n} row has" if n == 1 else f"{n} rows have"

    notes = []
    if not rows:
        notes.append(f"{layout.name} has a header but no rows")
    if layout.zero_promos:
        notes.append(f"{n_rows(layout.zero_promos)} promo price 0: read as no promotion")
    if layout.promo_only:
        notes.append(f"{n_rows(layout.promo_only)} a promo price but no regular price: the promo price is read"
                     f" as {'its' if layout.promo_only == 1 else 'their'} price")
    if layout.ignored_promo_dates:
        notes.append(f"{n_rows(layout.ignored_promo_dates)} promo dates but no promo price: dates ignored")
    notes.extend(layout.time_notes)
    if layout.sub_cent:
        notes.append(f"{n_rows(layout.sub_cent)} an amount in fractions of a cent (like 1,299): stored rounded to "
                     "whole cents")
    if layout.bad_gtins:
        notes.append(f"{n_rows(layout.bad_gtins)} an EAN that is not a GTIN (its length or check digit): "
                     "offers with the sku only")
    return notes
