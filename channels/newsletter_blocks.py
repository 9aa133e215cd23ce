"""Reading a newsletter's HTML without markup to go by: its text, prices, links and product blocks.

An email is a tree of nested tables. The visible text is indexed once (`Doc`): every element
knows its span of the text, every price mention knows the element it stands in. A product block
is then the smallest element (td, div, ...) around a product link that shows one product's
prices; links to the same product inside it (image, title, button) are one block.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

from lxml import etree
from lxml.html import HtmlElement

from unisono.channels.parsing import normalize_url, parse_percent, parse_text_price

# Elements that start a new line of text (an email's layout is made of them).
_BLOCK_TAGS = {"td", "th", "div", "li", "table", "tr", "p", "article", "section", "center", "body"}
_LINE_TAGS = _BLOCK_TAGS | {"br", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "tbody", "thead",
                            "tfoot", "blockquote", "hr", "dd", "dt", "header", "footer", "html"}
_STRUCK_TAGS = {"s", "del", "strike"}


# ---- the document's text ------------------------------------------------------------------------

@dataclass
class Doc:
    """The visible text of a document, one layout block per line, and where each element is in it."""

    root: HtmlElement
    text: str
    spans: dict[HtmlElement, tuple[int, int]]
    seg_starts: list[int]  # text runs in order: where each starts and which element it belongs to
    seg_owners: list[HtmlElement]
    struck_classes: set[str]

    positions: dict = field(default_factory=dict)  # element -> its number among same-tag siblings

    def path(self, el: HtmlElement) -> str:
        return element_path(el, _positions=self.positions)

    def span(self, el: HtmlElement) -> tuple[int, int]:
        return self.spans.get(el, (0, 0))

    def text_of(self, el: HtmlElement) -> str:
        start, end = self.span(el)
        return self.text[start:end]

    def owner(self, offset: int) -> HtmlElement:
        """The element whose own text holds the character at `offset`."""
        i = bisect.bisect_right(self.seg_starts, offset) - 1
        return self.seg_owners[max(i, 0)] if self.seg_owners else self.root

    def lines(self, start: int = 0, end: int | None = None) -> list[tuple[int, str]]:
        """Non-blank lines in [start, end) with the offset of their first character."""
        end = len(self.text) if end is None else end
        out, pos = [], start
        for raw in self.text[start:end].split("\n"):
            stripped = raw.strip()
            if stripped:
                out.append((pos + raw.index(stripped[0]), stripped))
            pos += len(raw) + 1
        return out


_SUP_CENTS = re.compile(r"\s*\d{2}\s*")


def index(root: HtmlElement, style_text: str) -> Doc:
    """Index the visible text of `root` (scripts, styles and comments already removed)."""
    parts: list[str] = []
    pos = 0
    starts: dict[HtmlElement, int] = {}
    spans: dict[HtmlElement, tuple[int, int]] = {}
    seg_starts: list[int] = []
    seg_owners: list[HtmlElement] = []

    def add(s: str | None, owner: HtmlElement) -> None:
        nonlocal pos
        if s:
            if s != "\n":
                s = re.sub(r"\s+", " ", s)  # the source's line breaks are layout, not text
            seg_starts.append(pos)
            seg_owners.append(owner)
            parts.append(s)
            pos += len(s)

    # iterwalk, not recursion: a hostile document may nest deeply
    for event, el in etree.iterwalk(root, events=("start", "end")):
        if not isinstance(el.tag, str):
            continue
        if event == "start":
            if el.tag in _LINE_TAGS:
                add("\n", el)
            if el.tag == "sup" and _SUP_CENTS.fullmatch(el.text or "") and parts and parts[-1][-1:].isdigit():
                add(",", el)  # "79<sup>99</sup> €" is 79,99 €: cents set as a superscript, not 7999
            starts[el] = pos
            add(el.text, el)
        else:
            spans[el] = (starts.pop(el), pos)
            if el.tag in _LINE_TAGS:
                add("\n", el)
            parent = el.getparent()
            if parent is not None:
                add(el.tail, parent)
    return Doc(root, "".join(parts), spans, seg_starts, seg_owners, struck_classes(style_text))


def struck_classes(style_text: str) -> set[str]:
    """CSS classes that a <style> block strikes through (`.was { text-decoration: line-through }`):
    newsletters often mark the old price by class, not inline."""
    classes: set[str] = set()
    for rule in style_text.split("}"):  # split, not a regex: linear on a hostile stylesheet
        selectors, _, body = rule.rpartition("{")
        selectors = selectors.rpartition("{")[2]  # "@media ... { .was" -> ".was"
        if "line-through" in body.lower() and re.search(r"text-decoration(?:-line)?\s*:[^;]*line-through", body, re.I):
            for sel in selectors.split(","):
                m = re.fullmatch(r"\s*[\w-]*\.([\w-]+)\s*", sel)
                if m:
                    classes.add(m.group(1))
    return classes


class Spans:
    """A set of text spans, merged, for "is this offset inside a product block?" in log time."""

    def __init__(self, spans: list[tuple[int, int]]):
        merged: list[list[int]] = []
        for s, e in sorted(spans):
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        self._starts = [m[0] for m in merged]
        self._ends = [m[1] for m in merged]

    def __contains__(self, offset: int) -> bool:
        i = bisect.bisect_right(self._starts, offset) - 1
        return i >= 0 and offset < self._ends[i]


def element_path(el: HtmlElement, depth: int = 4, _positions: dict | None = None) -> str:
    """A short path to an element for messages, e.g. "table[2]/tr[3]/td[1]" (tbody left out)."""
    positions = {} if _positions is None else _positions
    steps: list[str] = []
    while el is not None and isinstance(el.tag, str) and el.tag not in ("body", "html") and len(steps) < depth:
        if el.tag not in ("tbody", "thead", "tfoot"):
            if el not in positions:  # number all children of the parent at once: rows can be long
                counts: dict[str, int] = {}
                for sib in (el.getparent() if el.getparent() is not None else [el]):
                    counts[sib.tag] = counts.get(sib.tag, 0) + 1
                    positions[sib] = counts[sib.tag]
            steps.append(f"{el.tag}[{positions.get(el, 1)}]")
        el = el.getparent()
    return "/".join(reversed(steps))


# ---- prices -------------------------------------------------------------------------------------

_NUM = r"\d{1,3}(?:[.,'’]\d{3})+(?:[.,](?:\d{1,2}|[-–]{1,2}))?|\d+(?:[.,](?:\d{1,2}|[-–]{1,2}))?"
_MONEY = re.compile(
    # "€79.99", "EUR 79.99", "CHF 1'299.00" ("Fr. 24.11." is a Friday, not a price)
    rf"(?:(?<![A-Za-z])(?:EUR|USD|GBP|CHF|SFr\.?|Fr\.)|[€$£])\s?(?!\d{{1,2}}\.\d{{1,2}}\.)(?:{_NUM})(?!\d)"
    # "79,99 €", "74.99 Fr.", "99,90 EUR" (the number may follow "Fr." of a previous price directly)
    rf"|(?<!\d)(?<!\d[.,])(?:{_NUM})\s?(?:[€$£]|(?:EUR|Euro|CHF|SFr\.?|Fr\.|USD|GBP)(?![A-Za-z]))"
)
# What stands before a price tells what it is ("statt 99,99 €", "Versandkostenfrei ab 50 €").
_REF_BEFORE = re.compile(
    r"\b(?:statt|anstatt|uvp|vorher|bisher|zuvor|ursprünglich|regulär|normalpreis|originalpreis|"
    r"streichpreis|alter preis|was|instead of|rrp|msrp|reg\.|regular(?: price)?|list price|"
    r"compare at|original(?:ly)?)\W*$", re.I)
# A manufacturer's recommended price is shown like a former price but is none (PAngV §11).
_LIST_PRICE_BEFORE = re.compile(r"\b(?:uvp|unverbindliche preisempfehlung|rrp|msrp|list price)\W*$", re.I)
_OTHER_MONEY_BEFORE = re.compile(  # thresholds, savings, vouchers: money, but no product's price
    r"\b(?:versand\w*|\w*versand|liefer\w*|shipping|delivery|porto|\w*bestellwert|mindest\w*|einkauf\w*|"
    r"orders?|über|over|spare|sparen|sparst|spar|save|you save|gutschein\w*|voucher|coupon|rabatt|"
    r"gift card|guthaben|bonus|geschenk\w*)\b", re.I)
_OTHER_MONEY_AFTER = re.compile(
    r"^\s*(?:rabatt|off|gutschein|sparen|ersparnis|discount|mindestbestellwert|bestellwert|"
    r"einkaufswert|geschenkt|bonus)\b", re.I)
_UNIT_BEFORE = re.compile(r"(?:=|\bje|\bpro|\bper|grundpreis:?)\s*$", re.I)
_UNIT_AFTER = re.compile(
    r"^\s*(?:/|pro\b|je\b|per\b)\s*\d*[.,]?\d*\s*(?:kg|g|l|ml|cl|m|m²|m2|qm|stk\.?|stück|st\.|piece|unit)\b", re.I)


@dataclass
class Price:
    start: int
    end: int
    text: str
    amount: Decimal
    currency: str
    role: str  # "price", "reference" (struck / "statt"), "other" (threshold, saving, unit price)
    list_price: bool = False  # a reference labelled "UVP"/RRP: the manufacturer's price, not a former one


def find_prices(doc: Doc, currency: str) -> list[Price]:
    prices: list[Price] = []
    text = doc.text
    prev_end = 0
    matches = list(_MONEY.finditer(text))
    for i, m in enumerate(matches):
        parsed = parse_text_price(m.group(0), currency)
        if parsed is None:
            continue
        line_start = text.rfind("\n", 0, m.start()) + 1
        line_end = text.find("\n", m.end())
        line_end = len(text) if line_end < 0 else line_end
        next_start = matches[i + 1].start() if i + 1 < len(matches) else line_end
        before = text[max(line_start, prev_end, m.start() - 60):m.start()]
        after = text[m.end():min(line_end, next_start, m.end() + 40)]
        prev_end = m.end()
        if _UNIT_BEFORE.search(before) or _UNIT_AFTER.match(after):
            role = "other"
        elif _is_struck(doc, m.start()) or _REF_BEFORE.search(before):
            role = "reference"
        elif _OTHER_MONEY_BEFORE.search(before) or _OTHER_MONEY_AFTER.match(after):
            role = "other"
        else:
            role = "price"
        prices.append(Price(m.start(), m.end(), m.group(0), parsed[0], parsed[1], role,
                            list_price=role == "reference" and bool(_LIST_PRICE_BEFORE.search(before))))
    return prices


def _is_struck(doc: Doc, offset: int) -> bool:
    el = doc.owner(offset)
    while el is not None and el.tag not in ("body", "html"):
        if el.tag in _STRUCK_TAGS:
            return True
        if "line-through" in (el.get("style") or "").lower():
            return True
        if doc.struck_classes and doc.struck_classes.intersection((el.get("class") or "").split()):
            return True
        el = el.getparent()
    return False


_BADGE = re.compile(
    r"[-–−]\s?\d{1,2}(?:[.,]\d+)?\s?%"  # "-20 %"
    r"|\d{1,2}(?:[.,]\d+)?\s?%\s*(?:rabatt|off|reduziert|günstiger|sparen|weniger)", re.I)


def discount_badge(text: str) -> Decimal | None:
    """A "-20 %" / "20 % Rabatt" badge in a block's text (not "95 % Baumwolle")."""
    m = _BADGE.search(text)
    return parse_percent(m.group(0)) if m else None


# ---- links ---------------------------------------------------------------------------------------

_SOCIAL_HOSTS = re.compile(
    r"(?:^|\.)(?:facebook|fb|instagram|twitter|x|youtube|youtu|pinterest|tiktok|linkedin|xing|"
    r"whatsapp|snapchat|vimeo|threads|t|flickr|tumblr)\.(?:com|be|me|net)$|^(?:apps\.apple|play\.google)\.com$")
_BOILERPLATE = re.compile(  # in a link's text
    r"\b(?:unsubscribe|abmelden|abbestellen|austragen|opt-?out|impressum|imprint|datenschutz\w*|privacy|"
    r"im browser|browser ?ansehen|online-?version|web-?version|view (?:this email |it )?(?:in|online)|"
    r"view online|whitelist|weissen liste|weißen liste|preferences|einstellungen|agb|terms|kontakt|"
    r"contact|forward to a friend|weiterempfehlen)\b", re.I)
_BOILERPLATE_PATH_WORDS = {  # whole words of a link's path ("/content/whitelist-emails-de/")
    "unsubscribe", "abmelden", "abbestellen", "austragen", "optout", "impressum", "imprint",
    "datenschutz", "datenschutzerklaerung", "privacy", "agb", "terms", "kontakt", "contact",
    "whitelist", "preferences"}
_CTA = re.compile(
    r"^(?:jetzt\b.*|.*\bshoppen\b.*|zum (?:produkt|artikel|angebot|shop)|mehr(?: erfahren| infos?| details)?|"
    r"details|ansehen|entdecken|kaufen|bestellen|in den warenkorb|hier|shop now|buy now|buy|shop|"
    r"view(?: product| more| details)?|learn more|see more|read more|order now|get it|discover|more|"
    r"[>»→›]+)\W*$", re.I)
# Redirect links of mail tools that carry their target in a parameter: the product page counts.
_REDIRECT_PARAMS = ("url", "u", "redirect", "redirect_url", "redirecturl", "target", "dest",
                    "destination", "to", "link", "goto", "r", "l")


@dataclass
class Link:
    element: HtmlElement
    url: str  # normalised target (a redirect's target when it carries one)
    text: str
    has_image: bool


def is_boilerplate(text: str) -> bool:
    """Footer text: unsubscribe, imprint, privacy, "view in browser"."""
    return _BOILERPLATE.search(text) is not None


def has_money(text: str) -> bool:
    return _MONEY.search(text) is not None


def product_link(el: HtmlElement) -> Link | None:
    """A link that may lead to a product page; None for mailto/tel/"#", unsubscribe, imprint,
    browser view, social networks and the shop's home page."""
    href = (el.get("href") or "").strip()
    target = _unwrap(href)
    if not target.lower().startswith(("http://", "https://")):
        return None  # mailto:, tel:, "#", "[[unsubscribe]]" placeholders, relative links
    try:
        parts = urlsplit(target)
        url = normalize_url(target)
    except ValueError:  # "https://[broken": no link anyone can follow
        return None
    host = (parts.hostname or "").lower().removeprefix("www.")
    if not host or _SOCIAL_HOSTS.search(host):
        return None
    text = " ".join(el.text_content().split())
    path_words = set(re.split(r"[/\-_.]+", parts.path.lower()))
    if _BOILERPLATE.search(text) or path_words & _BOILERPLATE_PATH_WORDS:
        return None
    if url is None or not urlsplit(url).path.strip("/") and not urlsplit(url).query:
        return None  # the shop's home page (a logo)
    has_image = next(el.iter("img"), None) is not None
    return Link(el, url, text, has_image)


def _unwrap(href: str) -> str:
    for _ in range(3):  # redirects inside redirects
        try:
            query = parse_qsl(urlsplit(href).query)
        except ValueError:
            return href
        inner = next((v for k, v in query if k.lower() in _REDIRECT_PARAMS
                      and v.lower().startswith(("http://", "https://"))), None)
        if inner is None:
            return href
        href = inner
    return href


# ---- product blocks ------------------------------------------------------------------------------

@dataclass
class Block:
    """A product block found by the heuristic: an offer when `problem` is None, else a rejection."""

    element: HtmlElement
    links: list[Link]
    price: Price | None = None
    reference: Price | None = None
    problem: str | None = None
    parts: dict[str, str] = field(default_factory=dict)  # texts picked by newsletter.template selectors

    @property
    def url(self) -> str | None:
        """The product link: the one on the image or the name before a "Jetzt shoppen" button."""
        if not self.links:
            return None
        ranked = sorted(self.links, key=lambda k: (not (k.has_image or (k.text and not _CTA.match(k.text)))))
        return ranked[0].url


@dataclass
class Heuristic:
    blocks: list[Block]
    loose_prices: list[Price] = field(default_factory=list)  # product prices next to no product link


def find_blocks(doc: Doc, prices: list[Price]) -> Heuristic:
    product_prices = [p for p in prices if p.role in ("price", "reference")]
    starts = [p.start for p in product_prices]

    def bounds(el: HtmlElement) -> tuple[int, int]:
        s, e = doc.span(el)
        return bisect.bisect_left(starts, s), bisect.bisect_left(starts, e)

    def prices_in(el: HtmlElement) -> list[Price]:
        i, j = bounds(el)
        return product_prices[i:j]

    def has_prices(el: HtmlElement) -> bool:
        i, j = bounds(el)
        return j > i

    links = [k for k in (product_link(a) for a in doc.root.iter("a")) if k is not None]
    # each link's block: its smallest enclosing layout element that shows a price
    by_block: dict[HtmlElement, list[Link]] = {}
    for link in links:
        for anc in link.element.iterancestors():
            if anc.tag in _BLOCK_TAGS and has_prices(anc):
                by_block.setdefault(anc, []).append(link)
                break
    # a block around another block is a section (a logo, a "see all" link), not a product
    for el in {a for el in by_block for a in el.iterancestors() if a in by_block}:
        del by_block[el]

    blocks = [_classify(el, by_block[el], prices_in(el), doc.text_of(el))
              for el in sorted(by_block, key=lambda e: doc.span(e))]
    blocks = [b for b in blocks if b is not None]
    blocks += _priceless_siblings(doc, blocks, links, has_prices)
    blocks.sort(key=lambda b: doc.span(b.element))
    covered = Spans([doc.span(b.element) for b in blocks])
    loose = [p for p in product_prices if p.start not in covered]
    return Heuristic(blocks, loose)


def _classify(el: HtmlElement, links: list[Link], prices: list[Price], text: str) -> Block | None:
    """One product's prices make a block; several products' prices make a section (None)."""
    # the same price twice (desktop and mobile versions of a block) is one price
    seen, unique = set(), []
    for p in prices:
        if (p.role, p.amount, p.currency) not in seen:
            seen.add((p.role, p.amount, p.currency))
            unique.append(p)
    current = [p for p in unique if p.role == "price"]
    refs = [p for p in unique if p.role == "reference"]
    targets = {k.url for k in links}
    block = Block(el, links)
    if len(current) == 1 and len(refs) <= 1:
        block.price, block.reference = current[0], (refs[0] if refs else None)
    elif len(current) == 2 and not refs and len(targets) == 1 and current[0].currency == current[1].currency:
        # "74.99 Fr. 84.99 Fr." with nothing to tell them apart: a now/was pair, the lower is paid
        low, high = sorted(current, key=lambda p: p.amount)
        if low.amount == high.amount:
            return None
        block.price, block.reference = low, high
    elif not current and len(refs) == 1:
        free = re.search(r"(?<![^\W\d_])(?:gratis|kostenlos|geschenkt|free)(?![^\W\d_])", text, re.I)
        block.problem = (f"product block links to {block.url} but shows only the struck-through "
                         f"price {refs[0].text}" + (f" and {free.group(0)!r} (a gift, not a price)" if free
                                                   else ", no price the customer pays"))
    elif len(targets) > 1:
        return None  # several products' links and prices: a section around blocks we cannot split
    else:
        shown = ", ".join(p.text for p in unique[:4])
        block.problem = (f"product block links to {block.url} but shows {len(unique)} prices ({shown}); "
                         "cannot tell which one the customer pays")
    return block


def _priceless_siblings(doc: Doc, blocks: list[Block], links: list[Link], has_prices) -> list[Block]:
    """Cells of the same product grid that link to a product but show no price: product blocks
    that cannot become offers (a heuristic that skipped them would hide them)."""
    block_els = {b.element for b in blocks}
    holding: dict[HtmlElement, int] = {}  # element -> how many blocks it holds (itself included)
    for el in block_els:
        for a in (el, *el.iterancestors()):
            holding[a] = holding.get(a, 0) + 1
    link_of = {k.element: k for k in links}
    found: list[Block] = []
    seen: set[HtmlElement] = set()
    grids_done: set[tuple] = set()
    for b in blocks:
        unit = b.element  # the grid cell: the largest element around the block holding no other block
        while (parent := unit.getparent()) is not None and parent.tag not in ("body", "html") \
                and holding.get(parent, 0) == 1:
            unit = parent
        grid = unit.getparent()
        if grid is None:
            continue
        if grid.tag == "tr":  # a table grid: the cells of every row
            grid = next(grid.iterancestors("table"), grid)
        depth, shape = _depth(unit, grid), _shape(unit)
        if (grid, unit.tag, depth) in grids_done:  # a grid's cells are looked at once, not once per cell
            continue
        grids_done.add((grid, unit.tag, depth))
        for cand in grid.iter(unit.tag):
            if cand in seen or holding.get(cand) or _depth(cand, grid) != depth or has_prices(cand):
                continue
            if any(a in block_els for a in cand.iterancestors()):
                continue
            inside = [link_of[a] for a in cand.iter("a") if a in link_of]
            if len({k.url for k in inside}) != 1 or _jaccard(_shape(cand), shape) < 0.5:
                continue
            seen.add(cand)
            block = Block(cand, inside)
            block.problem = f"product block links to {block.url} but shows no price"
            found.append(block)
    return found


def _depth(el: HtmlElement, top: HtmlElement) -> int:
    n = 0
    while el is not None and el is not top:
        el, n = el.getparent(), n + 1
    return n


def _shape(el: HtmlElement) -> set[str]:
    return {d.tag for d in el.iter() if isinstance(d.tag, str)}


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


# ---- what a block says besides its prices ---------------------------------------------------------

_SKU = re.compile(r"\b(?:Art(?:ikel)?\.?\s*-?\s*Nr\.?|Artikel-?\s*nummer|Art\.-?Nr|SKU|Item\s*(?:no\.?|#)|"
                  r"Best(?:ell)?\.?\s*-?\s*Nr\.?)\s*[:#]?\s*([A-Za-z0-9][A-Za-z0-9._/-]{0,39})", re.I)
_GTIN = re.compile(r"\b(?:EAN|GTIN)\s*:?\s*(\d{8,14})\b", re.I)


def find_sku(text: str) -> str | None:
    m = _SKU.search(text)
    return m.group(1).rstrip(".") if m else None


def find_gtin(text: str) -> str | None:
    m = _GTIN.search(text)
    return m.group(1) if m else None


def block_title(doc: Doc, block: Block) -> str | None:
    """The product's name: a link's text, else a heading/name-styled element, else the first
    line that is neither a price, a badge, a button nor a product number."""
    def plausible(s: str) -> bool:
        s = s.strip()
        return (1 < len(s) <= 200 and re.search(r"[^\W\d_]{2}", s) is not None and not _CTA.match(s)
                and not _MONEY.search(s) and not _BADGE.search(s) and not _SKU.search(s)
                and not _GTIN.search(s))

    for link in block.links:
        if plausible(link.text):
            return link.text
    for el in block.element.iter():
        if not isinstance(el.tag, str):
            continue
        named = re.search(r"title|name|headline|product-?name", el.get("class") or "", re.I)
        if el.tag in ("h1", "h2", "h3", "h4", "h5", "h6", "strong", "b") or named:
            text = " ".join(doc.text_of(el).split())
            if plausible(text):
                return text
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
