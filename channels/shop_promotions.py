"""A Google Merchant Center promotions feed: what the shop grants beyond its prices, as claims of
the shop (the reference the `claim` rule holds a newsletter's "20 % auf alle Winterjacken" against).

`unisono publish shop promotions.xml` recognises the file by its content: XML whose root is
<promotions> (one <promotion> per promotion, attributes as child elements, repeated for several
values), or a tab- (or comma-) separated table whose header has promotion_id and
product_applicability (several values in one cell separated by commas). Attributes read:

    promotion_id, long_title, product_applicability (all_products / specific_products),
    offer_type (no_code / generic_code), redemption_channel (online / in_store),
    promotion_effective_dates ("start/end", ISO 8601; or promotion_effective_time_period, also
    as <start_time>/<end_time>), percent_off, money_off_amount ("10 EUR"), coupon_value_type,
    minimum_purchase_amount, filters item_id, brand, product_type (a path and what is under it),
    their _exclusion forms, store_code.

A specific_products promotion without filters applies to the feed items naming its promotion_id
(the product feed's `promotion_id`). A promotion that cannot be read is a rejection with its line
and reason; it is never guessed (no redemption channel: rejected, not assumed online).
"""
from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from unisono.channels.parsing import parse_feed_money, parse_interval
from unisono.domain.claims import ClaimTerms
from unisono.domain.config import ProjectConfig
from unisono.domain.models import Claim, InputError, Rejection, SourceRef

CHANNEL = "shop"
_LISTS = ("item_id", "brand", "product_type", "item_id_exclusion", "brand_exclusion", "product_type_exclusion",
          "store_code", "redemption_channel")
_CHANNELS = {"online": "shop", "in_store": "store"}
_PRICE_OFF = {"percent_off", "money_off", "percent_off_on_sale_price"}  # coupon_value_types that lower a price


def location(config: ProjectConfig) -> str:
    """Where a promotions feed is kept in the catalog: beside the product feed, never replacing it."""
    shop = config.shop.location
    return "promotions" if shop in ("online", "") else f"{shop} promotions"


def looks_like(path: Path) -> bool:
    """Whether the file is a promotions feed (not a product feed): by its root element or header."""
    with path.open("rb") as f:
        head = f.read(4096).decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n")
    if head.startswith("<"):
        m = re.match(r"(?:\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>))*\s*<(?:[\w.-]+:)?([\w.-]+)", head, re.S)
        return bool(m) and m.group(1).lower() == "promotions"
    header = {_name(h) for h in re.split(r"[\t,;]", head.split("\n", 1)[0])}
    return {"promotion_id", "product_applicability"} <= header


def stream(path: Path, config: ProjectConfig, notes: list[str] | None = None) -> Iterator[Claim | Rejection]:
    where = location(config)
    n = 0
    for fields, line in _xml(path) if _is_xml(path) else _table(path):
        n += 1
        try:
            yield _claim(fields, config, where, SourceRef(file=path.name, line=line))
        except ValueError as e:
            yield Rejection(channel=CHANNEL, source=SourceRef(file=path.name, line=line), reason=str(e),
                            raw="; ".join(f"{k}={', '.join(v)}" for k, v in fields.items()))
    if not n:
        raise InputError(f"{path.name}: no promotion in the file (a promotions feed has one <promotion> or row each)")


def _name(raw: str) -> str:
    return re.sub(r"[\s\-]+", "_", raw.strip().strip('"').lower().removeprefix("g:"))


def _is_xml(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(512).decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n").startswith("<")


def _xml(path: Path) -> Iterator[tuple[dict[str, list[str]], int]]:
    # untrusted input: no entities, no DTD, no network (as the product feed)
    try:
        for _, el in etree.iterparse(str(path), events=("end",), resolve_entities=False, no_network=True,
                                     load_dtd=False, huge_tree=False):
            if not isinstance(el.tag, str) or etree.QName(el).localname.lower() != "promotion":
                continue
            fields: dict[str, list[str]] = {}
            for child in el:
                if not isinstance(child.tag, str):
                    continue
                key = _name(etree.QName(child).localname)
                if len(child):  # <promotion_effective_time_period><start_time>…</start_time>…
                    parts = {_name(etree.QName(c).localname): (c.text or "").strip() for c in child
                             if isinstance(c.tag, str)}
                    value = "/".join(parts.get(k, "") for k in ("start_time", "end_time")) \
                        if "start_time" in parts else " ".join(p for p in parts.values() if p)
                else:
                    value = (child.text or "").strip()
                if value:
                    fields.setdefault(key, []).append(value)
            yield fields, el.sourceline or 0
            el.clear()
    except etree.XMLSyntaxError as e:
        raise InputError(f"{path.name} line {e.lineno}: the XML ends early or is malformed ({e.msg})") from None


def _table(path: Path) -> Iterator[tuple[dict[str, list[str]], int]]:
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as fh:
            header_line = fh.readline()
            delimiter = "\t" if "\t" in header_line else max(",;", key=header_line.count)
            header = [_name(h) for h in next(csv.reader([header_line], delimiter=delimiter), [])]
            for line, row in enumerate(csv.reader(fh, delimiter=delimiter), start=2):
                if not any(c.strip() for c in row):
                    continue
                fields: dict[str, list[str]] = {}
                for key, cell in zip(header, row):  # a repeated column adds values
                    values = [v.strip() for v in cell.split(",")] if key in _LISTS else [cell.strip()]
                    fields.setdefault(key, []).extend(v for v in values if v)
                yield {k: v for k, v in fields.items() if v}, line
    except UnicodeDecodeError:
        raise InputError(f"{path.name}: not UTF-8 text; export the promotions feed as UTF-8") from None
    except csv.Error as e:
        raise InputError(f"{path.name}: not a readable table ({e})") from None


def _one(fields: dict[str, list[str]], key: str) -> str | None:
    values = fields.get(key)
    return values[0] if values else None


def _claim(f: dict[str, list[str]], config: ProjectConfig, where: str, source: SourceRef) -> Claim:
    pid = _one(f, "promotion_id")
    if not pid:
        raise ValueError("promotion has no promotion_id")
    applicability = (_one(f, "product_applicability") or "").lower()
    if applicability not in ("all_products", "specific_products"):
        raise ValueError(f"promotion {pid}: product_applicability {applicability or 'missing'!r} is neither "
                         "all_products nor specific_products")
    channels = []
    for value in f.get("redemption_channel", []):
        if value.lower() not in _CHANNELS:
            raise ValueError(f"promotion {pid}: redemption_channel {value!r} is neither online nor in_store")
        channels.append(_CHANNELS[value.lower()])
    if not channels:
        raise ValueError(f"promotion {pid}: no redemption_channel (online, in_store)")
    dates = _one(f, "promotion_effective_dates") or _one(f, "promotion_effective_time_period")
    if not dates:
        raise ValueError(f"promotion {pid}: no promotion_effective_dates")
    start, end = parse_interval(dates, config.tz, what=f"promotion {pid}: promotion_effective_dates")
    currency = config.shop.currency or config.currency
    percent = amount = None
    value_type = (_one(f, "coupon_value_type") or "").lower()
    if (text := _one(f, "percent_off")) is not None:
        if not re.fullmatch(r"\d{1,2}(?:\.\d+)?|100", text):
            raise ValueError(f"promotion {pid}: percent_off {text!r} is not a percentage")
        percent = text
    if (text := _one(f, "money_off_amount")) is not None:
        amount, currency = parse_feed_money(text, currency, what=f"promotion {pid}: money_off_amount")
    if value_type and value_type not in _PRICE_OFF:
        percent = amount = None  # a free gift, free shipping, buy m get n: no lower price per product
    minimum = None
    if (text := _one(f, "minimum_purchase_amount")) is not None:
        minimum, _ = parse_feed_money(text, currency, what=f"promotion {pid}: minimum_purchase_amount")
    terms = ClaimTerms(
        type="promotion", promotion_id=pid, percent=percent, amount=amount,
        currency=currency if amount is not None else None, everything=applicability == "all_products",
        channels=list(dict.fromkeys(channels)), threshold=minimum or None,
        items=f.get("item_id", []), brands=f.get("brand", []), product_types=f.get("product_type", []),
        not_items=f.get("item_id_exclusion", []), not_brands=f.get("brand_exclusion", []),
        not_product_types=f.get("product_type_exclusion", []), stores=f.get("store_code", []))
    title = _one(f, "long_title") or pid
    return Claim(channel=CHANNEL, location=where, kind="promotion", text=f"{pid}: {title}", source=source,
                 terms=terms, valid_from=start, valid_to=end)


class PromotionLinks:
    """The product feed's `promotion_id` per item (several: comma-separated or repeated), as one
    claim per promotion naming its items: which products a specific_products promotion covers."""

    def __init__(self) -> None:
        self.items: dict[str, tuple[list[str], int]] = {}  # promotion_id -> (skus, line of the first)

    def add(self, text: str, sku: str, line: int) -> None:
        for pid in (p.strip() for p in text.split(",")):
            if pid:
                self.items.setdefault(pid, ([], line))[0].append(sku)

    def add_later(self, later: PromotionLinks) -> None:
        """What a later part of the same feed collected (a split read's second half)."""
        for pid, (skus, line) in later.items.items():
            self.items.setdefault(pid, ([], line))[0].extend(skus)

    def claims(self, location: str, file: str) -> list[Claim]:
        return [Claim(channel=CHANNEL, location=location, kind="promotion",
                      text=f"promotion_id {pid}: {len(skus)} item{'s' if len(skus) != 1 else ''}",
                      source=SourceRef(file=file, line=line),
                      terms=ClaimTerms(type="promotion", promotion_id=pid, items=skus))
                for pid, (skus, line) in sorted(self.items.items(), key=lambda kv: kv[1][1])]
