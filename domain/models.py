"""The domain: what channel adapters return and what the catalog and the rules speak about.

Plain pydantic models. Nothing here knows of files, SQL or click.
Money is Decimal; instants are timezone-aware datetimes (the catalog stores them in UTC).
"""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from functools import lru_cache

from pydantic import BaseModel, Field, field_validator

from unisono.domain.claims import ClaimTerms
CHANNELS = ("shop", "store", "newsletter")
# The key of a newsletter block with neither link nor product number: its title, made a URN
# ("urn:unisono:title:young-woman-dress"), held where a link would be.
TITLE_KEY = "urn:unisono:title:"


def cents(value: Decimal | None) -> int | None:
    """Money in minor units, half up: how the catalog stores and compares every price."""
    return None if value is None else int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


class Availability(str, Enum):
    in_stock = "in_stock"
    out_of_stock = "out_of_stock"
    preorder = "preorder"
    backorder = "backorder"


class SourceRef(BaseModel):
    """Where a fact came from: a file and a line, or an element path inside the file."""

    file: str
    line: int | None = None
    path: str | None = None  # e.g. an HTML element path "table[2]/tr[3]/td[1]"

    def __str__(self) -> str:
        where = f":{self.line}" if self.line is not None else ""
        if self.path:
            where += f" ({self.path})"
        return f"{self.file}{where}"


class Offer(BaseModel):
    """What one channel tells customers about one product at one location."""

    channel: str
    location: str  # store id, newsletter issue, shop country ("online" when the feed says nothing)
    sku: str | None = None
    gtin: str | None = None  # digits only, zero-padded to 14
    url: str | None = None  # normalised: no tracking parameters, lower-case host, no trailing slash
    image_url: str | None = None  # the product image (a feed's image_link, a newsletter block's image)
    title: str | None = None
    brand: str | None = None
    category: str | None = None
    currency: str
    price: Decimal  # the regular price the channel shows
    sale_price: Decimal | None = None
    sale_start: datetime | None = None  # sale window [start, end); None = open
    sale_end: datetime | None = None
    valid_from: datetime | None = None  # the offer itself is only shown in [valid_from, valid_to)
    valid_to: datetime | None = None  #   (a newsletter's "gültig bis"); None = open
    reference_price: Decimal | None = None  # a former price shown beside a price ("statt", struck through)
    list_price: Decimal | None = None  # a manufacturer's recommended price ("UVP", RRP): not a former price,
    #                                    so the 30-day reference-price rule does not apply to it (PAngV §11)
    discount_percent: Decimal | None = None  # a "-20 %" badge shown with the offer
    lowest_30d: Decimal | None = None  # the lowest price of the last 30 days the channel states beside a
    #                                    reduction (EU Omnibus: "Niedrigster Preis der letzten 30 Tage")
    availability: Availability | None = None
    source: SourceRef

    @field_validator("sale_start", "sale_end", "valid_from", "valid_to")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("instants must be timezone-aware")
        return v

    @property
    def key(self) -> str:
        """The product key before cross-channel resolution (the catalog maps gtin and url to skus)."""
        return self.sku or self.gtin or self.url or ""


class Claim(BaseModel):
    """A statement that is not one product's offer: "20 % auf alle Schuhe", "gültig bis 30.11."."""

    channel: str
    location: str
    kind: str  # validity, discount, shipping, payment, exclusivity, service, lowest_price, other
    text: str
    source: SourceRef
    terms: ClaimTerms | None = None  # what it promises, where the words could be read (domain/claims.py)
    valid_from: datetime | None = None  # when it is said to hold [from, to) (the newsletter's validity); None = open
    valid_to: datetime | None = None


class Rejection(BaseModel):
    """An input row or block that could not become an offer, and why."""

    channel: str
    source: SourceRef
    reason: str
    raw: str | None = None  # the row as read, shortened
    withdraws_offer: bool = False  # the row was yielded as an offer before (in an OfferBatch): that
    #                                offer is withdrawn (e.g. a duplicate found once the file is read)

    @field_validator("raw")
    @classmethod
    def _short(cls, v: str | None) -> str | None:
        return v[:500] if v else v

    @field_validator("reason")
    @classmethod
    def _one_line(cls, v: str) -> str:
        """A reason is one line: a multi-line text (a validation error's) without its links."""
        if "\n" not in v:
            return v
        lines = [x.strip() for x in v.splitlines() if x.strip() and "errors.pydantic.dev" not in x]
        return "; ".join(lines)


class ChannelRead(BaseModel):
    """Everything an adapter made of one file. rows == len(offers) + len(rejections), always."""

    channel: str
    source: str  # the file name
    offers: list[Offer] = Field(default_factory=list)
    claims: list[Claim] = Field(default_factory=list)
    rejections: list[Rejection] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)  # what a user should know (e.g. "no offers found")

    @property
    def rows(self) -> int:
        return len(self.offers) + len(self.rejections)


class InputError(Exception):
    """The input cannot be read at all (not one bad row: the whole file). One line, for the user."""


def effective_price(offer: Offer, at: datetime) -> Decimal:
    """The price an offer charges at an instant: the sale price inside its sale window."""
    if offer.sale_price is not None:
        if (offer.sale_start is None or offer.sale_start <= at) and (offer.sale_end is None or at < offer.sale_end):
            return offer.sale_price
    return offer.price


def as_utc(instant: datetime | None) -> datetime | None:
    """An instant as read back from the catalog: a database without time zones (SQLite) hands back
    UTC without an offset."""
    return instant.replace(tzinfo=timezone.utc) if instant is not None and instant.tzinfo is None else instant


@lru_cache(maxsize=1)
def _iso_codes() -> frozenset[str]:
    from babel.numbers import list_currencies  # (CLDR's data: loaded only when a text names a code)

    return frozenset(list_currencies())


def is_currency_code(text: str) -> bool:
    """Whether text is an ISO 4217 code ("EUR", "chf"): three letters are not enough ("abc0")."""
    return len(text) == 3 and text.upper() in _iso_codes()
