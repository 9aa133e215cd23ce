"""schema.org product markup in a newsletter (JSON-LD or microdata): the offers it states.

JSON-LD is read with json, never evaluated; a walk with a stack bounds hostile nesting.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree
from lxml.html import HtmlElement

from unisono.channels import newsletter_blocks as nb
from unisono.channels.parsing import (
    bounded_amount, local_time_note, normalize_gtin, normalize_url, parse_decimal, parse_instant, parse_text_price,
)
from unisono.domain.models import Offer, Rejection, SourceRef

CHANNEL = "newsletter"

@dataclass
class _SchemaItem:
    product: dict
    offer: dict
    line: int | None  # of the <script> or the microdata element
    where: str  # its element path and the path inside the JSON: "head[1]/script[2] $.itemListElement[0].item"


_MAX_JSON_NODES = 100_000


def _schema_items(root: HtmlElement, name: str, notes: list[str]) -> list[_SchemaItem]:
    items: list[_SchemaItem] = []
    for script in root.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        try:
            data = json.loads(script.text_content(), strict=False)  # json, never eval
        except (ValueError, RecursionError) as e:
            notes.append(f"{name} line {script.sourceline}: JSON-LD is not valid JSON and was skipped "
                         f"({' '.join(str(e).split())[:120]})")
            continue
        items += _products(data, script, f"{nb.element_path(script)} $")
    if root.find(".//*[@itemscope]") is not None:
        from extruct.w3cmicrodata import LxmlMicrodataExtractor  # only for emails with microdata

        try:
            md = LxmlMicrodataExtractor(add_html_node=True).extract_items(root, base_url=None)
        except (ValueError, RecursionError, etree.LxmlError) as e:
            notes.append(f"{name}: microdata could not be read ({e})")
            md = []
        for item in md:
            node = item.get("htmlNode", root)
            items += _products(_from_microdata(item), node, f"{nb.element_path(node)} microdata")
    return items


def _from_microdata(item):
    """extruct's microdata item ({"type", "properties"}) in JSON-LD's shape ({"@type", ...})."""
    if isinstance(item, list):
        return [_from_microdata(v) for v in item]
    if not isinstance(item, dict):
        return item
    out = {"@type": item.get("type")}
    for k, v in (item.get("properties") or {}).items():
        out[k] = _from_microdata(v)
    return out


def _types(node: dict) -> set[str]:
    t = node.get("@type")
    values = t if isinstance(t, list) else [t]
    return {str(v).rsplit("/", 1)[-1].rsplit(":", 1)[-1] for v in values if v}


def _products(data, element: HtmlElement, where: str) -> list[_SchemaItem]:
    """Every (product, offer) pair in a JSON-LD document: Product, ItemList, @graph, Offer with
    itemOffered. A walk with a stack (a hostile document may nest deeply), at most _MAX_JSON_NODES."""
    out: list[_SchemaItem] = []
    stack = [(data, where)]
    seen = 0
    while stack and seen < _MAX_JSON_NODES:
        node, at = stack.pop()
        seen += 1
        if isinstance(node, list):
            stack.extend((v, f"{at}[{i}]") for i, v in reversed(list(enumerate(node))))
            continue
        if not isinstance(node, dict):
            continue
        types = _types(node)
        if types & {"Product", "IndividualProduct", "ProductModel"}:
            offers = node.get("offers")
            offers = offers if isinstance(offers, list) else [offers] if isinstance(offers, dict) else [{}]
            out += [_SchemaItem(node, o if isinstance(o, dict) else {}, element.sourceline, at) for o in offers]
        elif types & {"Offer", "AggregateOffer"} and isinstance(node.get("itemOffered"), dict):
            out.append(_SchemaItem(node["itemOffered"], node, element.sourceline, at))
        else:
            stack.extend((v, f"{at}.{k}") for k, v in reversed(list(node.items())) if isinstance(v, (dict, list)))
    return out


_REFERENCE_TYPES = {"StrikethroughPrice"}  # a former price
_LIST_PRICE_TYPES = {"ListPrice", "SRP", "MSRP"}  # the manufacturer's: not a former price (PAngV §11)


def _schema_offer(ctx: Any, item: _SchemaItem, wide: tuple) -> Offer | Rejection:
    p, o = item.product, item.offer
    source = SourceRef(file=ctx.name, line=item.line, path=item.where)
    name = _str(p.get("name"))
    try:
        specs = o.get("priceSpecification")
        specs = [s for s in (specs if isinstance(specs, list) else [specs]) if isinstance(s, dict)]
        currency = _str(o.get("priceCurrency")) or ctx.currency
        price = _schema_money(o.get("price", o.get("lowPrice")), currency)
        reference = list_price = None
        for spec in specs:
            kind = _types({"@type": spec.get("priceType")})  # "https://schema.org/StrikethroughPrice"
            value = _schema_money(spec.get("price"), _str(spec.get("priceCurrency")) or currency)
            if kind & _REFERENCE_TYPES:
                reference = reference or value
            elif kind & _LIST_PRICE_TYPES:
                list_price = list_price or value
            elif price is None:
                price = value
        if price is None:
            raise ValueError(f"schema.org product {name!r} has no offers.price" if name
                             else "schema.org product has no offers.price")
        valid_from, valid_to = wide
        since = _str(o.get("validFrom"))
        if since:
            valid_from = _instant(ctx, since, "validFrom")
        until = _str(o.get("priceValidUntil")) or _str(o.get("validThrough"))
        if until:
            valid_to = _instant(ctx, until, "priceValidUntil", end_of_day=True)
        if valid_from and valid_to and valid_to <= valid_from:  # stored reversed, it would never hold
            raise ValueError(f"schema.org offer ends ({until}) before it starts ({since})" if since and until else
                             f"schema.org priceValidUntil {until!r} is before the newsletter's validity starts"
                             if until else f"schema.org validFrom {since!r} is after the newsletter's validity ends")
        gtin = next((normalize_gtin(_str(x.get(k))) for x in (p, o)
                     for k in ("gtin13", "gtin", "gtin14", "gtin12", "gtin8") if _str(x.get(k))), None)
        brand = p.get("brand")
        return Offer(
            channel=CHANNEL, location=ctx.location, sku=_str(p.get("sku")) or _str(o.get("sku")), gtin=gtin,
            url=_url(_str(p.get("url")) or _str(o.get("url"))), title=name,
            brand=_str(brand.get("name")) if isinstance(brand, dict) else _str(brand),
            currency=price[1], price=price[0], reference_price=reference[0] if reference else None,
            list_price=list_price[0] if list_price else None, valid_from=valid_from, valid_to=valid_to, source=source)
    except ValueError as e:
        return Rejection(channel=CHANNEL, source=source, reason=str(e), raw=json.dumps(p, default=str)[:500])


def _instant(ctx: Any, text: str, what: str, *, end_of_day: bool = False):
    """A validity instant of the offer; a local time in a daylight-saving change is read by the
    stated rule (parse_instant) and said in a note, as the store file's promo times are."""
    when = parse_instant(text, ctx.config.tz, end_of_day=end_of_day, what=what)
    note = local_time_note(text, when, f"{ctx.name}: schema.org {what}")
    if note and note not in ctx.time_notes:
        ctx.time_notes.append(note)
    return when


def _url(s: str | None) -> str | None:
    try:
        return normalize_url(s)
    except ValueError:  # "https://[broken": the offer is still keyed by its sku
        return None


def _str(v) -> str | None:
    if isinstance(v, list):
        v = v[0] if v else None
    if isinstance(v, dict):
        v = v.get("@id") or v.get("@value") or v.get("url")
    if v is None or isinstance(v, (dict, list, bool)):
        return None
    return str(v).strip() or None


def _schema_money(value, currency: str) -> tuple[Decimal, str] | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):  # JSON numbers, NaN and Infinity among them (Python's json reads them)
        return bounded_amount(Decimal(str(value)), str(value), "schema.org price"), currency
    s = _str(value)
    if not s:
        return None
    if re.fullmatch(r"[-+]?\d+(?:\.\d+)?[eE][-+]?\d+", s):  # "1e17": a JSON number written as text
        return bounded_amount(Decimal(s), s, "schema.org price"), currency
    try:  # schema.org writes "79.99"; emails in the wild also write "79,99 €"
        amount = parse_decimal(s, decimal_comma=False if re.fullmatch(r"\d+\.\d+", s) else None,
                               what="schema.org price")
    except (ValueError, InvalidOperation):
        parsed = parse_text_price(s, currency)
        if parsed is None:
            raise ValueError(f"schema.org price {s!r} is not a number") from None
        return parsed
    return bounded_amount(amount, s, "schema.org price"), currency  # a number, but negative or out of range


