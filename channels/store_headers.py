"""The store file's header: which column holds which field (German and English names, the project's
mapping), where the header line is, and the store a file names in its name."""
from __future__ import annotations

import csv
import re
import unicodedata
from pathlib import Path

from unisono.channels.store_text import Lines, delimiter_of, encoding_of
from unisono.domain.config import ProjectConfig
from unisono.domain.models import InputError

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

def norm(name: str) -> str:
    """'VK-Preis (EUR)' -> 'vkpreis', 'Währung' -> 'wahrung': exports vary all of these."""
    name = re.sub(r"\(.*?\)|\[.*?\]", "", name)
    name = unicodedata.normalize("NFKD", name.casefold())
    return "".join(ch for ch in name if ch.isalnum())  # also drops the accents NFKD split off


_KNOWN = {}
for _field, _names in HEADERS.items():
    for _rank, _name in enumerate(_names):
        _KNOWN.setdefault(norm(_name), (_field, _rank))
def known(header: str) -> tuple[str, int] | None:
    key = norm(header)
    # "Preis EUR", "VK in Euro": a currency after a known name
    return _KNOWN.get(key) or _KNOWN.get(re.sub(r"(in)?(eur|euro|chf|usd|gbp)$", "", key))


def store_column(header: list[str]) -> str | None:
    """The header's column naming stores ("Filiale", "Store ID"), if it has one."""
    return next((h for h in header if (known(h) or ("",))[0] == "store"), None)


def find_header(lines: Lines, name: str, config: ProjectConfig, notes: list[str]) -> tuple[str, list[str], dict[str, int]]:
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
            _, header, columns = find_header(Lines(f), path.name, config, [])
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
                [i for i, h in enumerate(header) if norm(h) == norm(wanted)]
        if not found:
            raise InputError(f"{name}: unisono.yaml maps store.columns.{field} to {wanted!r}, but the file"
                             f" has no such column (it has: {shorten(', '.join(header))})")
        columns[field] = found[0]
    best: dict[str, tuple[int, int]] = {}  # field -> (rank of the name, column)
    for i, h in enumerate(header):
        hit = known(h)
        if hit and hit[0] not in columns and i not in columns.values() and hit[1] < best.get(hit[0], (99, 0))[0]:
            best[hit[0]] = (hit[1], i)
    columns.update({field: i for field, (_, i) in best.items()})

    if not columns and sum(bool(re.fullmatch(r"[\d.,\s€-]+", h)) for h in header) > len(header) / 2:
        raise InputError(f"{name}: the first line looks like data, not a header"
                         f" ({shorten(', '.join(header))}); the file needs a header line")
    has = shorten(", ".join(h.strip() for h in header))
    if "price" not in columns:
        raise InputError(f"{name}: no price column found (looked for {_looked_for('price')}; the file has:"
                         f" {has}); map yours in unisono.yaml under store.columns")
    if "sku" not in columns and "gtin" not in columns:
        raise InputError(f"{name}: no sku or EAN column found (looked for {_looked_for('sku', 'gtin')};"
                         f" the file has: {has}); map yours in unisono.yaml under store.columns")
    return columns


def _looked_for(*fields: str) -> str:
    return ", ".join(n for f in fields for n in HEADERS[f][:3]) + ", …"


def shorten(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
