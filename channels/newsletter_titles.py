"""What a newsletter's product block says besides its prices: the product's name, its number, its GTIN."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from lxml.html import HtmlElement

from unisono.channels.newsletter_links import CTA, is_boilerplate
from unisono.channels.newsletter_prices import BADGE, MONEY

if TYPE_CHECKING:
    from unisono.channels.newsletter_blocks import Block, Doc

_SKU = re.compile(r"\b(?:Art(?:ikel)?\.?\s*-?\s*Nr\.?|Artikel-?\s*nummer|Art\.-?Nr|SKU|Item\s*(?:no\.?|#)|"
                  r"Best(?:ell)?\.?\s*-?\s*Nr\.?)\s*[:#]?\s*([A-Za-z0-9][A-Za-z0-9._/-]{0,39})", re.I)
_GTIN = re.compile(r"\b(?:EAN|GTIN)\s*:?\s*(\d{8,14})\b", re.I)


def find_sku(text: str) -> str | None:
    m = _SKU.search(text)
    return m.group(1).rstrip(".") if m else None


def find_gtin(text: str) -> str | None:
    m = _GTIN.search(text)
    return m.group(1) if m else None


# A badge or a section word above the name ("Enfant", "Promo", "15% EXTRA*"), or a price's label.
_BADGE_LINE = re.compile(
    r"^(?:enfants?|homme|femme|kids?|kinder|damen|herren|women|men|baby|neu|new|new in|nouveau|nouveauté|"
    r"nuevo|novità|nieuw|nowość|promo|sale|soldes|rebajas|saldi|bestseller|best seller|top|top seller|"
    r"exklusiv|exclusive|online only|nur online|online exklusiv|tipp|hot|deal|deal of the day|angebot|"
    r"aktion|limited|limitiert|limited edition|pre-?order|vorbestellung|sold out|ausverkauft|"
    r"prix de référence|à l'origine|dernier prix le plus bas|niedrigster preis.*|lowest price.*|uvp|statt|"
    r"starting at|ab|from|à partir de|only|nur)\W*$", re.I)
_PERCENT_LINE = re.compile(r"\d\s?%")
_NEW_BADGE = re.compile(r"^(?:NEW|NEU|NOUVEAU|NUEVO)(?: [A-Z]+){0,2}\W*$")


def _name_lines(text: str) -> str:
    """An element's lines as one name, without a badge line set above it ("NEW LENS KIT<br>Canon …")."""
    lines = [" ".join(ln.split()) for ln in text.split("\n") if ln.strip()]
    while len(lines) > 1 and (_BADGE_LINE.match(lines[0]) or _NEW_BADGE.match(lines[0])):
        lines = lines[1:]
    return " ".join(lines)


def block_title(doc: Doc, block: Block) -> str | None:
    """The product's name: a link's text, else a heading/name-styled element, else the first
    line that is neither a price, a badge, a button nor a product number."""
    def plausible(s: str) -> bool:
        s = s.strip()
        return (1 < len(s) <= 200 and re.search(r"[^\W\d_]{2}", s) is not None and not CTA.match(s)
                and not MONEY.search(s) and not BADGE.search(s) and not _SKU.search(s)
                and not _GTIN.search(s) and not _BADGE_LINE.match(s) and not _PERCENT_LINE.search(s))

    def flat(el: HtmlElement) -> str:
        return _name_lines(doc.text_of(el))  # "<br>" is a space, not nothing

    def named(root: HtmlElement) -> str | None:
        for el in root.iter():
            if not isinstance(el.tag, str):
                continue
            named = re.search(r"title|name|headline|product-?name", el.get("class") or "", re.I)
            if el.tag in ("h1", "h2", "h3", "h4", "h5", "h6", "strong", "b") or named:
                text = flat(el)
                if plausible(text):
                    return text
        return None

    for link in block.links:
        if plausible(flat(link.element)):
            return flat(link.element)
    if title := named(block.element):
        return title
    if block.unit is not None and block.unit is not block.element:  # the name beside the block
        for a in block.unit.iter("a"):
            if plausible(flat(a)) and not is_boilerplate(flat(a)):
                return flat(a)
        if title := named(block.unit):
            return title
    start, end = doc.span(block.element)
    for _, line in doc.lines(start, end):
        if plausible(line):
            return line
    for link in block.links:
        for img in link.element.iter("img"):
            alt = (img.get("alt") or "").strip()
            if plausible(alt):
                return alt
    return None
