"""Offers by the column: what adapters yield for large files instead of one Offer object per row.

An OfferBatch is a pyarrow table in the form the catalog stores an offer (money in cents, instants
in UTC, availability as its value), one row per offer, with the input `line` (and, for documents,
the element `path`) it came from. The columns are the Offer model's fields in that form, in
OFFER_COLUMNS; `from_offers` and `offers` convert between the two, so a row-wise adapter path and a
columnar one give the same catalog rows.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

import pyarrow as pa

from unisono.domain.models import Availability, Offer, SourceRef, cents

UTC_INSTANT = pa.timestamp("us", tz="UTC")

# Offer field -> (column, arrow type). Money fields become cents.
_FIELDS: dict[str, tuple[str, pa.DataType]] = {
    "location": ("location", pa.string()),
    "sku": ("sku", pa.string()),
    "gtin": ("gtin", pa.string()),
    "url": ("url", pa.string()),
    "image_url": ("image_url", pa.string()),
    "title": ("title", pa.string()),
    "brand": ("brand", pa.string()),
    "category": ("category", pa.string()),
    "currency": ("currency", pa.string()),
    "price": ("price_cents", pa.int64()),
    "sale_price": ("sale_price_cents", pa.int64()),
    "sale_start": ("sale_start", UTC_INSTANT),
    "sale_end": ("sale_end", UTC_INSTANT),
    "valid_from": ("valid_from", UTC_INSTANT),
    "valid_to": ("valid_to", UTC_INSTANT),
    "reference_price": ("reference_cents", pa.int64()),
    "list_price": ("list_price_cents", pa.int64()),
    "discount_percent": ("discount_percent", pa.float64()),
    "lowest_30d": ("lowest_30d_cents", pa.int64()),
    "availability": ("availability", pa.string()),
}
OFFER_COLUMNS: dict[str, pa.DataType] = dict(_FIELDS.values())
_MONEY = {"price", "sale_price", "reference_price", "list_price", "lowest_30d"}
SCHEMA = pa.schema([*OFFER_COLUMNS.items(), ("line", pa.int64()), ("path", pa.string())])


@dataclass
class OfferBatch:
    """Offers of one channel file, by the column (SCHEMA)."""

    channel: str
    file: str
    table: pa.Table

    def __len__(self) -> int:
        return self.table.num_rows

    @classmethod
    def from_offers(cls, channel: str, file: str, offers: Iterable[Offer]) -> OfferBatch:
        offers = list(offers)
        columns: dict[str, list] = {name: [] for name in SCHEMA.names}
        for o in offers:
            for field, (column, _) in _FIELDS.items():
                value = getattr(o, field)
                if field in _MONEY:
                    value = cents(value)
                elif field == "discount_percent" and value is not None:
                    value = float(value)
                elif field == "availability" and value is not None:
                    value = value.value
                columns[column].append(value)
            columns["line"].append(o.source.line)
            columns["path"].append(o.source.path)
        return cls(channel, file, pa.table(columns, schema=SCHEMA))

    def offers(self) -> Iterator[Offer]:
        """The batch as Offer objects (for callers that want a ChannelRead; slow for millions)."""
        for row in self.table.to_pylist():
            values = {field: row[column] for field, (column, _) in _FIELDS.items()}
            for field in _MONEY:
                if values[field] is not None:
                    values[field] = Decimal(values[field]).scaleb(-2)
            if values["discount_percent"] is not None:
                values["discount_percent"] = Decimal(str(values["discount_percent"]))
            if values["availability"] is not None:
                values["availability"] = Availability(values["availability"])
            yield Offer(channel=self.channel, source=SourceRef(file=self.file, line=row["line"], path=row["path"]),
                        **values)


@dataclass
class Written:
    """What an ExecutorRead wrote: its offers (counted), and what the catalog stores as usual (the
    offers its columns could not hold and the rejections, in file order)."""

    files: int  # Parquet files written into the folder
    offers: int
    attributed: int  # offers naming a brand or a category
    per_location: dict[str, int]
    rest: list  # Offer and Rejection objects


@dataclass
class ExecutorRead:
    """A channel file read where the catalog's engine runs (Spark's executors), its offers written
    there straight into the catalog's own files. `run(folder, publication_id, first_id)` writes them
    into `folder` as the offer table's Parquet, numbered from first_id by their line (at most one
    offer per line: `lines` ids are set aside), and returns what it wrote."""

    lines: int
    run: Callable[[str, int, int], Written]
