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
import unicodedata
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field as dataclass_field, replace
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
from unisono.channels.store_columns import ColumnReader, Part, duplicate_reason, one_line_records
from unisono.channels.store_text import MIXED, Lines, Unreadable, delimiter_of, encoding_of, lookahead, records
from unisono.domain.batch import OfferBatch
from unisono.domain.config import ProjectConfig
from unisono.domain.models import Availability, ChannelRead, InputError, Offer, Rejection, SourceRef

CHANNEL = "store"

# Header names known without configuration, best first: when two columns name one field, the better
# name wins ("Artikelnummer" over "ID"). Compared ignoring case, spaces, punctuation, accents, "(EUR)".
HEADERS: dict[str, tuple[str, ...]] = {
    "store": ("Filiale", "Filial-Nr", "Filialnummer", "Filial-ID", "Markt", "Markt-Nr", "Marktnummer",
              "Store", "Store ID", "Store No", "Store Number", "Shop", "Shop ID", "Location",
              "Location ID", "Branch", "Standort"),
    "sku": ("Artikelnummer", "Artikel-Nr", "Art.-Nr.", "ArtNr", "SKU", "Item", "Item ID", "Item No",
            "Item Number", "Article Number", "Product ID", "Product Code", "Materialnummer", "ID"),
    "gtin": ("EAN", "GTIN", "Barcode", "EAN-Code", "EAN13", "EAN-Nr", "EAN-Nummer", "GTIN13", "GTIN14",
             "UPC", "Strichcode"),
    "title": ("Bezeichnung", "Artikelbezeichnung", "Artikelname", "Kurzbezeichnung", "Name", "Title",
              "Produkt", "Produktname", "Product Name", "Item Name", "Description", "Beschreibung"),
    "brand": ("Marke", "Hersteller", "Fabrikat", "Brand", "Manufacturer"),
    "price": ("VK-Preis", "VK", "Verkaufspreis", "VK brutto", "Preis", "Regulärer Preis", "Normalpreis",
              "Price", "Regular Price", "Retail Price", "Selling Price", "Sales Price"),
    "promo_price": ("Aktionspreis", "Angebotspreis", "Sonderpreis", "Aktions-VK", "Promo Price",
                    "Promotion Price", "Sale Price", "Offer Price"),
    "promo_from": ("Aktion von", "Aktion ab", "Aktionsbeginn", "Aktionsstart", "Gültig von", "Gültig ab",
                   "Promo From", "Promo Start", "Sale Start", "Valid From"),
    "promo_to": ("Aktion bis", "Aktionsende", "Gültig bis", "Promo To", "Promo End", "Sale End",
                 "Valid To", "Valid Until"),
    "currency": ("Währung", "Waehrung", "Currency", "Curr"),
    "availability": ("Verfügbarkeit", "Verfuegbarkeit", "Availability", "Bestand", "Lagerbestand",
                     "Stock", "On Hand"),
    # the lowest price of the last 30 days a shelf label states beside a reduction (EU Omnibus)
    "lowest_30d": ("Tiefstpreis 30 Tage", "Niedrigster Preis 30 Tage", "30-Tage-Tiefstpreis", "Tiefstpreis",
                   "Niedrigster Preis", "Omnibus-Preis", "Referenzpreis 30 Tage", "Lowest Price 30 Days",
                   "Lowest 30 Days", "Lowest Price", "Omnibus Price"),
}
FIELDS = tuple(HEADERS)

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


def _norm(name: str) -> str:
    """'VK-Preis (EUR)' -> 'vkpreis', 'Währung' -> 'wahrung': exports vary all of these."""
    name = re.sub(r"\(.*?\)|\[.*?\]", "", name)
    name = unicodedata.normalize("NFKD", name.casefold())
    return "".join(ch for ch in name if ch.isalnum())  # also drops the accents NFKD split off


_KNOWN = {}
for _field, _names in HEADERS.items():
    for _rank, _name in enumerate(_names):
        _KNOWN.setdefault(_norm(_name), (_field, _rank))
_AVAILABILITY_WORDS = {_norm(w): a for a, words in _AVAILABILITY.items() for w in words}


def _known(header: str) -> tuple[str, int] | None:
    key = _norm(header)
    # "Preis EUR", "VK in Euro": a currency after a known name
    return _KNOWN.get(key) or _KNOWN.get(re.sub(r"(in)?(eur|euro|chf|usd|gbp)$", "", key))


def store_column(header: list[str]) -> str | None:
    """The header's column naming stores ("Filiale", "Store ID"), if it has one."""
    return next((h for h in header if (_known(h) or ("",))[0] == "store"), None)


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
    with _opened(path, notes) as (lines, encoding):
        yield from _rows(lines, path, config, notes, encoding, columnar)


@dataclass
class ColumnPlan:
    """What reading a store file by the column, in parts (store_columns.parts), needs besides the
    file: its layout as the header and first rows told it. Picklable: sent to Spark's executors."""

    layout: _Layout
    delimiter: str
    width: int
    encoding: str
    first_line: int  # the first record's line


def column_plan(path: Path, config: ProjectConfig, notes: list[str]) -> ColumnPlan | None:
    """The plan for reading the file in parts, or None when it must be read whole (stream): quoted
    line breaks, UTF-16, a very wide file."""
    with _opened(path, notes) as (lines, encoding):
        layout, delimiter, header_lines, head, _ = _learn(lines, path, config, notes)
        width = _column_width(head, layout, encoding, path)
    return None if width is None else ColumnPlan(layout, delimiter, width, encoding, header_lines + 1)


def part_reader(plan: ColumnPlan, part: Part) -> ColumnReader:
    return ColumnReader(plan.layout, plan.delimiter, plan.width, plan.encoding, part.first_line,
                        _row_path(plan.layout), duplicates=False)


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


@contextmanager
def _opened(path: Path, notes: list[str]) -> Iterator[tuple[Lines, str]]:
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
class _Layout:
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


def _learn(lines: Lines, path: Path, config: ProjectConfig, notes: list[str]) -> tuple:
    """(layout, delimiter, header lines, the first records read ahead, the records after them):
    what the header and the first rows tell of the file, `lines` read up to the first record."""
    name = path.name
    delimiter, header, columns = _find_header(lines, name, config, notes)
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
    layout = _Layout(name, columns, len(header), decimal_comma, config.store.currency or config.currency,
                     location, config.tz)
    return layout, delimiter, header_lines, head, records_


def _row_path(layout: _Layout) -> Callable[[int, list[str], str], Offer | Rejection | None]:
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
            return Rejection(channel=CHANNEL, source=source, reason=_shorten(str(e).replace("\n", " "), 200), raw=raw)
    return row_path


def _column_width(head: list, layout: _Layout, encoding: str, path: Path) -> int | None:
    """The field count to read the file by the column with (the rows' common one: a trailing
    delimiter on every row is no reason to read them one by one), or None: row by row."""
    if encoding in ("utf-16", "utf-32") or layout.width > _COLUMNAR_WIDTH or not one_line_records(path):
        return None
    widths = Counter(len(fields) for _, fields, _ in head if len(fields) >= layout.width)
    return widths.most_common(1)[0][0] if widths else layout.width


def _rows(lines: Lines, path: Path, config: ProjectConfig, notes: list[str], encoding: str,
          columnar: bool) -> Iterator[OfferBatch | Offer | Rejection]:
    layout, delimiter, header_lines, head, records_ = _learn(lines, path, config, notes)
    row_path = _row_path(layout)
    rows = 0
    if columnar and (width := _column_width(head, layout, encoding, path)) is not None:
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


def _find_header(lines: Lines, name: str, config: ProjectConfig, notes: list[str]) -> tuple[str, list[str], dict[str, int]]:
    """(delimiter, header, field -> column index) of the file's header line, `lines` read up to it."""
    first = next((line for line in lines if line.strip()), None)
    sep = re.fullmatch(r"sep=(.)", first.strip("\r\n")) if first else None
    if sep:  # Excel's "sep=;" line before the header
        first = next((line for line in lines if line.strip()), None)
    if first is None:
        raise InputError(f"{name}: the file is empty (no header line)")
    if first.lstrip("\ufeff \t").startswith("<"):  # a header of columns never starts with a tag
        raise InputError(f"{name}: this is XML or HTML, not CSV")
    delimiter = sep.group(1) if sep else delimiter_of(first)
    header = _header(first, delimiter)
    try:
        return delimiter, header, _columns(header, config.store.columns, name)
    except InputError:  # a title above the header ("Preisliste Filiale 1001, Stand 19.11.2026")?
        found = None if sep else _header_below(lines, config, name)
        if found is None:
            raise
        notes.append(f"{name}: the header is line {lines.count}; the {lines.count - 1} line(s) above it were skipped")
        return found


def own_store_column(path: Path, config: ProjectConfig) -> str | None:
    """The header of the file's store column, when its rows name their stores (then --location does not
    apply: the file says which stores it is for); None otherwise, or when its header cannot be read."""
    try:
        with path.open(encoding=encoding_of(path), newline="") as f:
            _, header, columns = _find_header(Lines(f), path.name, config, [])
    except (InputError, UnicodeDecodeError, csv.Error, OSError):
        return None
    return header[columns["store"]].strip() if "store" in columns else None


def _header(line: str, delimiter: str) -> list[str]:
    header = next(csv.reader([line], delimiter=delimiter))
    while header and not header[-1].strip():  # a trailing delimiter
        header.pop()
    return header


HEADER_WITHIN = 10  # lines an export may put above its header (a title, the store, the date, blanks)


def _header_below(lines: Lines, config: ProjectConfig, name: str) -> tuple[str, list[str], dict[str, int]] | None:
    """(delimiter, header, columns) of the first of the next lines that names a price and a sku or EAN
    column, when the first line did not; None when none of them does (the first line's error stands)."""
    for _ in range(HEADER_WITHIN):
        line = next(lines, None)
        if line is None:
            return None
        if not line.strip():
            continue
        delimiter = delimiter_of(line)
        header = _header(line, delimiter)
        try:
            return delimiter, header, _columns(header, config.store.columns, name)
        except InputError:
            continue
    return None


# a date or time stamp at either end of a file name ("M02_2026-11-19", "20261119-0600_preise_1042")
_DAY = r"(?:19|20)\d\d-?(?:0[1-9]|1[0-2])-?(?:0[1-9]|[12]\d|3[01])|(?:0[1-9]|[12]\d|3[01])\.(?:0[1-9]|1[0-2])\.(?:19|20)\d\d"
_STAMP = rf"(?:{_DAY})(?:[T_\- ]?\d\d[-:.]?\d\d(?:[-:.]?\d\d)?)?"
_STAMPED = re.compile(rf"^(?:{_STAMP}[_\-. ]+)?(.+?)(?:[_\-. ]+{_STAMP})?$")


def undated(stem: str) -> str:
    """A file name without the date a nightly export puts in it: the store's files of every night
    are one store ("M02_2026-11-19.csv", "M02_2026-11-20.csv": store M02)."""
    match = _STAMPED.match(stem)
    return match.group(1) if match else stem


def _columns(header: list[str], mapping: dict[str, str], name: str) -> dict[str, int]:
    """Field -> column index: the project's mapping first, then the header names we know."""
    columns: dict[str, int] = {}
    for field, wanted in mapping.items():
        if field not in HEADERS:
            raise InputError(f"{name}: unisono.yaml store.columns has an unknown field {field!r}"
                             f" (fields: {', '.join(FIELDS)})")
        found = [i for i, h in enumerate(header) if h.strip() == wanted.strip()] or \
                [i for i, h in enumerate(header) if _norm(h) == _norm(wanted)]
        if not found:
            raise InputError(f"{name}: unisono.yaml maps store.columns.{field} to {wanted!r}, but the file"
                             f" has no such column (it has: {_shorten(', '.join(header))})")
        columns[field] = found[0]
    best: dict[str, tuple[int, int]] = {}  # field -> (rank of the name, column)
    for i, h in enumerate(header):
        hit = _known(h)
        if hit and hit[0] not in columns and i not in columns.values() and hit[1] < best.get(hit[0], (99, 0))[0]:
            best[hit[0]] = (hit[1], i)
    columns.update({field: i for field, (_, i) in best.items()})

    if not columns and sum(bool(re.fullmatch(r"[\d.,\s€-]+", h)) for h in header) > len(header) / 2:
        raise InputError(f"{name}: the first line looks like data, not a header"
                         f" ({_shorten(', '.join(header))}); the file needs a header line")
    has = _shorten(", ".join(h.strip() for h in header))
    if "price" not in columns:
        raise InputError(f"{name}: no price column found (looked for {_looked_for('price')}; the file has:"
                         f" {has}); map yours in unisono.yaml under store.columns")
    if "sku" not in columns and "gtin" not in columns:
        raise InputError(f"{name}: no sku or EAN column found (looked for {_looked_for('sku', 'gtin')};"
                         f" the file has: {has}); map yours in unisono.yaml under store.columns")
    return columns


def _looked_for(*fields: str) -> str:
    return ", ".join(n for f in fields for n in HEADERS[f][:3]) + ", …"


def _shorten(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


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


def _offer(layout: _Layout, fields: list[str], source: SourceRef) -> Offer:
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


def promo_instant(layout: _Layout, text: str, *, end_of_day: bool = False, what: str) -> datetime:
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
    found = _AVAILABILITY_WORDS.get(_norm(text))
    if found:
        return found
    try:
        count = parse_decimal(text.lstrip("-"), decimal_comma=decimal_comma, what="availability")
    except ValueError:
        raise ValueError(f"availability {text!r} is neither a stock count nor a word like"
                         " 'in stock', 'out of stock', 'lieferbar', 'ausverkauft'") from None
    return Availability.in_stock if count > 0 and not text.startswith("-") else Availability.out_of_stock


def part_notes(plan: ColumnPlan, layouts: list[_Layout], rows: int) -> list[str]:
    """counts_notes for a file read in parts, each part counted in its own copy of the layout."""
    total = replace(plan.layout, time_notes={note: None for layout in layouts for note in layout.time_notes},
                    **{name: sum(getattr(layout, name) for layout in layouts)
                       for name in ("zero_promos", "ignored_promo_dates", "promo_only", "bad_gtins")})
    return counts_notes(total, rows)


def counts_notes(layout: _Layout, rows: int) -> list[str]:
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
    if layout.bad_gtins:
        notes.append(f"{n_rows(layout.bad_gtins)} an EAN that is not a GTIN (its length or check digit): "
                     "offers with the sku only")
    return notes
