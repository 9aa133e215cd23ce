"""The store price file by the column: pyarrow reads it in blocks, each cell text is parsed once.

store.py learns the layout (encoding, delimiter, header, decimal mark) from the first rows; this
module reads the rest with pyarrow's CSV reader and turns each block into an OfferBatch without an
object per row. A price list repeats few distinct prices, dates, currencies and words: each distinct
text is parsed once, by the very functions the row path uses, and the results are spread back over
the rows (dictionary encoding). A row that any of them refuses, and a row pyarrow cannot split
(another field count), goes through the row path (store._offer): it becomes the same offer or
rejection, with the same reason, as when the whole file is read row by row.

Line numbers: pyarrow reports none for good rows, so the file is read this way only when every
record is one physical line (no quoted line breaks: `one_line_records`). Then the k-th record is
line (header lines + k), skipping the lines pyarrow handed to the invalid-row handler, which names
them. Blank lines and rows of bare delimiters are read as rows of empty cells and are no rows.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from unisono.channels.store_cells import amounts, gtins, hashes, lengths, spaced, stripped
from unisono.domain.batch import SCHEMA, UTC_INSTANT, OfferBatch
from unisono.domain.models import InputError, Offer, Rejection, SourceRef, cents

if TYPE_CHECKING:
    from unisono.channels.store_parts import Part

BLOCK = 8 << 20  # bytes pyarrow reads per block: ~100,000 rows, bounded memory
_WHITESPACE = r"[\s\x{0b}\x{1c}-\x{1f}\x{85}\p{Z}]+"
_hash_keys = hashes  # of the duplicate keys (64 bits; equal hashes are compared by their text)
_FAILED = object()


LONG_LINE = 1 << 20  # bytes: a longer line would straddle pyarrow's blocks; the row path rejects it alone


def one_line_records(path: Path) -> bool:
    """Whether no quoted field spans lines: every line ends outside quotes (an even number of '"'
    before each line break; "" inside a quoted field counts two), and no line is LONG_LINE or
    longer. One pass over the bytes."""
    quotes = 0  # '"' seen so far
    with path.open("rb") as f:
        while block := f.read(16 << 20):
            if _has_long_line(block):
                return False
            if b'"' not in block:  # the common case: no quotes at all
                if quotes % 2 and b"\n" in block:
                    return False
                continue
            data = np.frombuffer(block, dtype=np.uint8)
            before = np.cumsum(data == 0x22) + quotes
            if np.any(before[data == 0x0A] % 2):
                return False
            quotes = int(before[-1])
    return True


def _has_long_line(block: bytes) -> bool:
    """Whether a stretch of LONG_LINE / 2 bytes, aligned across the file (blocks are multiples of
    it), has no line break: every line of LONG_LINE bytes or more covers one such stretch. A few
    memchr calls per block, no copy."""
    step = LONG_LINE // 2
    return any(block.find(b"\n", i, i + step) < 0 for i in range(0, len(block) - step + 1, step))


def _per_text(column: pa.Array, parse: Callable[[str], object]) -> tuple[list, np.ndarray]:
    """parse() of each distinct text of the column, spread over the rows: (results per distinct
    text, index of each row's text). A text parse() refuses (ValueError) gives _FAILED."""
    encoded = column.dictionary_encode()
    results = []
    for text in encoded.dictionary.to_pylist():
        try:
            results.append(parse(text))
        except ValueError:
            results.append(_FAILED)
    return results, encoded.indices.to_numpy(zero_copy_only=False)


def _failed(results: list, index: np.ndarray) -> np.ndarray:
    bad = np.fromiter((r is _FAILED for r in results), dtype=bool, count=len(results))
    return bad[index] if len(results) else np.zeros(len(index), dtype=bool)


def _spread(results: list, index: np.ndarray, type_: pa.DataType, pick=lambda r: r) -> pa.Array:
    values = pa.array([None if r is _FAILED else pick(r) for r in results], type=type_)
    return values.take(pa.array(index)) if len(index) else pa.array([], type=type_)


class ColumnReader:
    """Reads the rows of a store file after its header lines as OfferBatches and, for rows the
    columns cannot take, the row path's offers and rejections."""

    def __init__(self, layout, delimiter: str, width: int, encoding: str, first_line: int,
                 row_path: Callable[[int, list[str], str], Offer | Rejection | None], *, duplicates: bool = True):
        self.layout, self.delimiter, self.width, self.encoding = layout, delimiter, width, encoding
        self.first_line = first_line  # the line of the first record after the header
        self.duplicates = duplicates  # False: the caller finds duplicate rows (a part of the file: across parts)
        self.line_offset = 0  # what to add to pyarrow's row numbers to make them the file's lines
        self.row_path = row_path  # (line, fields, raw) -> Offer, Rejection, or None for no row
        self.invalid: list[tuple[int, str]] = []  # (line, text) of rows pyarrow could not split
        self.keys: list[pa.Array] = []  # "store \x1f sku|EAN \x1f key" of each offer, in file order
        self.hashes: list[np.ndarray] = []  # _hash_keys() of each key
        self.key_lines: list[np.ndarray] = []

    def batches(self, path: Path, part: Part | None = None) -> Iterator[OfferBatch | Rejection]:
        """The records after the header; or those of one part of the file (whole lines, from the
        part's first line: the reader of a part knows nothing of the others)."""
        self.path = path
        names = [f"c{i}" for i in range(self.width)]
        source, skip = path, self.first_line - 1
        if part is not None:
            with pa.memory_map(str(path)) as mapped:
                source = pa.BufferReader(mapped.read_at(part.end - part.start, part.start))
            skip, self.line_offset = 0, part.first_line - 1
        reader = pcsv.open_csv(
            source,
            read_options=pcsv.ReadOptions(use_threads=False, block_size=BLOCK, skip_rows=skip,
                                          column_names=names, encoding=_arrow_encoding(self.encoding)),
            parse_options=pcsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=False,
                                            ignore_empty_lines=False, invalid_row_handler=self._invalid),
            convert_options=pcsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()),
                                                strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
        next_line = self.first_line
        for block in _blocks(reader, self.layout.name, lambda: next_line):
            lines = self._lines(next_line, block.num_rows)
            next_line = int(lines[-1]) + 1 if len(lines) else next_line
            yield from self._block(block, lines, next_line)
        # invalid rows after the last good one
        yield from self._block(pa.record_batch([pa.array([], pa.string())] * self.width, names=names),
                               np.zeros(0, dtype=np.int64), None)
        if self.duplicates:
            yield from self._duplicates()

    def _duplicates(self) -> Iterator[Rejection]:
        """A second offer for the same store and sku (or EAN, without a sku) is a duplicate row: the
        first stays. Found once the whole file is read, from a 64-bit hash per offer (sorted: equal
        hashes are neighbours), the candidates compared by their text, and withdrawn from the batches
        already yielded. Memory: the keys and 8 bytes per offer, not a set or a hash table of millions
        of strings."""
        if not self.hashes:
            return
        hashed, lines = np.concatenate(self.hashes), np.concatenate(self.key_lines)
        ordered = np.sort(hashed)
        repeated = ordered[1:][ordered[1:] == ordered[:-1]]
        if not len(repeated):
            return
        rows = np.flatnonzero(np.isin(hashed, repeated))  # every candidate
        keys = pa.chunked_array(self.keys, pa.string())
        candidates = sorted(zip(lines[rows].tolist(), keys.take(pa.array(rows)).to_pylist()))
        first: dict[str, int] = {}  # key -> line of its first offer
        found = []
        for line, text in candidates:
            seen = first.setdefault(text, line)
            if seen != line:
                found.append((line, seen, text))
        found.sort()
        raw = self._raw_lines({line for line, _, _ in found})
        for line, seen, text in found:
            location, kind, key = text.split("\x1f")
            yield Rejection(channel="store", source=SourceRef(file=self.layout.name, line=line), withdraws_offer=True,
                            reason=duplicate_reason(location, kind, key, seen), raw=raw.get(line))

    def key_hashes(self) -> tuple[np.ndarray, np.ndarray]:
        """(hash of the key, line) of each offer read: what finding duplicates across parts needs."""
        if not self.hashes:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(self.hashes), np.concatenate(self.key_lines)

    def _raw_lines(self, wanted: set[int]) -> dict[int, str]:
        return raw_lines(self.path, self.encoding, wanted)

    def _invalid(self, row) -> str:
        self.invalid.append((row.number + self.line_offset, row.text))
        return "skip"

    def _lines(self, start: int, n: int) -> np.ndarray:
        """The physical lines of the next n records: from `start` on, less the invalid rows' lines."""
        skipped = np.array([line for line, _ in self.invalid if line >= start], dtype=np.int64)
        candidates = np.arange(start, start + n + len(skipped), dtype=np.int64)
        return candidates[~np.isin(candidates, skipped)][:n]

    def _block(self, block: pa.RecordBatch, lines: np.ndarray, upto: int | None) -> Iterator[OfferBatch | Rejection]:
        """One block's offers (a batch) and rejections; with the invalid rows before line `upto`
        (None: all that are left) put through the row path in their place."""
        cells = [stripped(column) for column in block.columns]
        blank = sum((lengths(column) for column in cells), np.zeros(block.num_rows, dtype=np.int64)) == 0
        table, slow = self._columns(block, cells, lines)
        keep = ~(blank | slow)
        batch = table if keep.all() else table.filter(pa.array(keep))

        # the rows the columns could not take, in line order, through the row path: its offers stay
        # Offer objects (an amount in tenths of a cent keeps its Decimal), its rejections come first
        extra: list[Offer] = []
        rejections: list[Rejection] = []
        pending = [(line, text) for line, text in self.invalid if upto is None or line < upto]
        self.invalid = [(line, text) for line, text in self.invalid if upto is not None and line >= upto]
        rows = [(int(lines[i]), [c[i].as_py() for c in block.columns], None) for i in np.flatnonzero(slow & ~blank)]
        rows += [(line, next(csv.reader([text], delimiter=self.delimiter), []), text) for line, text in pending]
        for line, fields, raw in sorted(rows, key=lambda r: r[0]):
            if raw is None:
                raw = _joined(fields, self.delimiter)
            item = self.row_path(line, fields, raw)
            if isinstance(item, Offer):
                extra.append(item)
            elif item is not None:
                rejections.append(item)
        yield from rejections
        keyed = pa.concat_tables([batch, OfferBatch.from_offers("store", self.layout.name, extra).table])
        if keyed.num_rows:
            keys = offer_keys(keyed)
            if self.duplicates:
                self.keys.append(keys)
            self.hashes.append(_hash_keys(keys))
            self.key_lines.append(keyed["line"].to_numpy())
        yield from extra
        if batch.num_rows:
            yield OfferBatch("store", self.layout.name, batch)

    def _money(self, column: pa.Array, what: str, parse: Callable) -> tuple[pa.Array, pa.Array, np.ndarray]:
        """An amount column in cents (null where empty), the currency its sign names, and which rows
        it cannot take: each distinct text once, the common shapes by the column (store_cells.amounts),
        the rest by the row path's parse (store._money). An empty price is the row path's to word."""
        dc = self.layout.decimal_comma
        encoded = column.dictionary_encode()
        texts = encoded.dictionary
        in_cents, euro, known = amounts(texts, dc)
        valid, failed = known.copy(), np.zeros(len(texts), dtype=bool)
        currency = np.where(euro, "EUR", None).astype(object)
        for i in np.flatnonzero(~known):
            text = texts[i].as_py()
            if not text and what != "price":
                continue  # no promotion, no stated lowest price
            try:
                amount, currency[i] = _in_cents(parse(text, dc, what))
            except ValueError:
                failed[i] = True
                continue
            in_cents[i], valid[i] = cents(amount), True
        index = encoded.indices
        return (pa.array(in_cents, mask=~valid).take(index), pa.array(currency, pa.string()).take(index),
                failed[index.to_numpy(zero_copy_only=False)])

    def _columns(self, block: pa.RecordBatch, cells: list[pa.Array], lines: np.ndarray) -> tuple[pa.Table, np.ndarray]:
        """The block as offer columns, and which rows must take the row path instead."""
        from unisono.channels import store as row  # the row path's cell parsers (imported late: store imports us)

        layout, n = self.layout, block.num_rows
        empty = pa.array([""] * n, pa.string())
        cell = {field: cells[i] for field, i in layout.columns.items()}
        for field in row.NOT_GIVEN_AS_DASH:
            if field in cell:
                cell[field] = pc.if_else(pc.is_in(cell[field], pa.array(row.DASHES)), "", cell[field])
        get = lambda field: cell.get(field, empty)  # noqa: E731 (a column the file lacks reads as empty)
        slow = np.zeros(n, dtype=bool)

        def parsed(field: str, parse: Callable[[str], object]) -> tuple[list, np.ndarray]:
            nonlocal slow
            results, index = _per_text(get(field), parse)
            slow |= _failed(results, index)
            return results, index

        is_empty = {f: lengths(get(f)) == 0 for f in ("store", "sku", "gtin", "promo_price", "promo_from", "promo_to")}
        for extra in cells[layout.width:]:  # cells past the header's: only a trailing delimiter may leave some
            slow |= lengths(extra) > 0
        location = pa.array([layout.location] * n, pa.string()) if layout.location else get("store")
        if not layout.location:
            slow |= is_empty["store"]
        gtin_column = gtins(get("gtin"), row.normalize_gtin)
        bad_gtin = ~is_empty["gtin"] & pc.is_null(gtin_column).to_numpy(zero_copy_only=False)
        slow |= (is_empty["sku"] & is_empty["gtin"]) | (bad_gtin & is_empty["sku"])

        dc = layout.decimal_comma
        price_cents, symbol, failed = self._money(get("price"), "price", row._money)
        promo_cents, _, promo_failed = self._money(get("promo_price"), "promo price", row._money)
        lowest_cents, _, lowest_failed = self._money(get("lowest_30d"), "lowest price", row._money)
        slow |= failed | promo_failed | lowest_failed
        on_promo = pc.fill_null(pc.not_equal(promo_cents, 0), False).to_numpy(zero_copy_only=False)
        zero_promo = ~is_empty["promo_price"] & ~on_promo
        # dates count only beside a promo price: a bad date without one is ignored, as on the row path
        starts, start_index = _per_text(get("promo_from"), lambda t: row.promo_instant(layout, t, what="promo from")
                                        if t else None)
        ends, end_index = _per_text(get("promo_to"), lambda t: row.promo_instant(layout, t, end_of_day=True,
                                                                                 what="promo to") if t else None)
        slow |= (_failed(starts, start_index) | _failed(ends, end_index)) & on_promo
        currencies, currency_index = parsed("currency", row._currency)
        availabilities, availability_index = parsed("availability", lambda t: row._availability(t, dc))

        sale_start = _spread(starts, start_index, UTC_INSTANT)
        sale_end = _spread(ends, end_index, UTC_INSTANT)
        promo_mask = pa.array(on_promo)
        sale_start = pc.if_else(promo_mask, sale_start, pa.scalar(None, UTC_INSTANT))
        sale_end = pc.if_else(promo_mask, sale_end, pa.scalar(None, UTC_INSTANT))
        # promo to before promo from: the row path words it
        slow |= pc.fill_null(pc.less_equal(sale_end, sale_start), False).to_numpy(zero_copy_only=False)

        currency = pc.coalesce(_spread(currencies, currency_index, pa.string()), symbol,
                               pa.scalar(layout.currency, pa.string()))
        # " ".join(title.split()): Python's whitespace is RE2's \s, \v, the separators \x1c-\x1f, NEL and \p{Z}
        title = stripped(spaced(get("title"), _WHITESPACE))
        null_if_empty = lambda a: pc.if_else(pc.equal(a, ""), pa.scalar(None, pa.string()), a)  # noqa: E731
        table = pa.table({
            "location": location,
            "sku": null_if_empty(get("sku")),
            "gtin": gtin_column,
            "url": pa.nulls(n, pa.string()),
            "image_url": pa.nulls(n, pa.string()),
            "title": null_if_empty(title),
            "brand": null_if_empty(stripped(spaced(get("brand"), _WHITESPACE))),
            "category": pa.nulls(n, pa.string()),
            "currency": currency,
            "price_cents": price_cents,
            "sale_price_cents": pc.if_else(promo_mask, promo_cents, pa.scalar(None, pa.int64())),
            "sale_start": sale_start,
            "sale_end": sale_end,
            "valid_from": pa.nulls(n, UTC_INSTANT),
            "valid_to": pa.nulls(n, UTC_INSTANT),
            "reference_cents": pa.nulls(n, pa.int64()),
            "list_price_cents": pa.nulls(n, pa.int64()),
            "discount_percent": pa.nulls(n, pa.float64()),
            "lowest_30d_cents": pc.if_else(pc.equal(lowest_cents, 0), pa.scalar(None, pa.int64()), lowest_cents),
            "availability": _spread(availabilities, availability_index, pa.string(), lambda r: r.value if r else None),
            "line": pa.array(lines, pa.int64()),
            "path": pa.nulls(n, pa.string()),
        }, schema=SCHEMA)
        # the notes' counts, for the rows that become offers here
        fast = ~slow
        layout.bad_gtins += int(np.sum(fast & bad_gtin & ~is_empty["sku"]))
        layout.zero_promos += int(np.sum(fast & zero_promo))
        layout.ignored_promo_dates += int(np.sum(fast & ~on_promo & ~(is_empty["promo_from"] & is_empty["promo_to"])))
        return table, slow


def offer_keys(offers: pa.Table) -> pa.Array:
    """What makes two offers of a store file duplicates: "store \x1f sku|EAN \x1f sku or EAN"."""
    kind = pc.if_else(pc.is_null(offers["sku"]), "EAN", "sku")
    keys = pc.binary_join_element_wise(offers["location"], kind, pc.coalesce(offers["sku"], offers["gtin"]), "\x1f")
    return keys.combine_chunks() if isinstance(keys, pa.ChunkedArray) else keys


def duplicate_reason(location: str, kind: str, key: str, first: int) -> str:
    return f"duplicate row for store {location} and {kind} {key} (first at line {first})"


def raw_lines(path: Path, encoding: str, wanted: set[int]) -> dict[int, str]:
    """The text of some lines, read again from the file (a record is one line on this path): a
    duplicate's row, shown with its rejection, is known only once the whole file was read."""
    found: dict[int, str] = {}
    last = max(wanted)
    with path.open(encoding=encoding, errors="replace", newline="") as f:
        for number, text in enumerate(f, 1):
            if number in wanted:
                found[number] = text.rstrip("\r\n").lstrip("\ufeff")
            if number >= last:
                break
    return found


def _blocks(reader, name: str, line: Callable[[], int]) -> Iterator[pa.RecordBatch]:
    """The reader's blocks; what pyarrow cannot read (a single row larger than a block) is one line."""
    while True:
        try:
            yield reader.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowInvalid as e:
            raise InputError(f"{name}: the rows after line {line() - 1} cannot be read as CSV ({e})") from None


def _in_cents(money: tuple):
    """An amount the columns hold exactly: whole cents. "1.299" (a tenth of a cent) keeps its
    Decimal on the row path; the catalog rounds it the same either way."""
    if money[0] is not None and money[0] * 100 != int(money[0] * 100):
        raise ValueError("not whole cents")
    return money


def _joined(fields: list[str], delimiter: str) -> str:
    """A row's text again (for a rejection's raw), quoted where CSV needs it."""
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="").writerow(fields)
    return out.getvalue()


def _arrow_encoding(encoding: str) -> str:
    return "utf8" if encoding in ("utf-8", "utf-8-sig") else encoding
