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

from lxml import etree
from lxml.html import HtmlElement

from unisono.channels.newsletter_links import CTA, Link, is_boilerplate, product_link  # noqa: F401 (re-exported)
from unisono.channels.newsletter_prices import (  # noqa: F401 (re-exported)
    BADGE, MONEY, Price, discount_badge, find_prices, has_money,
)
from unisono.channels.newsletter_titles import block_title, find_gtin, find_sku  # noqa: F401 (re-exported)

# Elements that start a new line of text (an email's layout is made of them).
_BLOCK_TAGS = {"td", "th", "div", "li", "table", "tr", "p", "article", "section", "center", "body"}
_LINE_TAGS = _BLOCK_TAGS | {"br", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "tbody", "thead",
                            "tfoot", "blockquote", "hr", "dd", "dt", "header", "footer", "html"}


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
# Characters that show nothing: preheaders pad with them (U+034F, U+200C) so that mail clients show
# no body text after the preheader; soft hyphens and direction marks split words. None is text.
_INVISIBLE = re.compile("[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e"
                        "\u2060-\u2064\u2066-\u2069\u3164\ufeff\uffa0]")


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
                s = re.sub(r"\s+", " ", _INVISIBLE.sub("", s))  # the source's line breaks are layout, not text
            if not s:
                return
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
    lowest: Price | None = None  # the stated lowest price of the last 30 days (EU Omnibus line)
    unit: HtmlElement | None = None  # the largest element around it holding no other block (its grid cell)

    @property
    def url(self) -> str | None:
        """The product link: the one on the image or the name before a "Jetzt shoppen" button."""
        if not self.links:
            return None
        ranked = sorted(self.links, key=lambda k: (not (k.has_image or (k.text and not CTA.match(k.text)))))
        return ranked[0].url


@dataclass
class Heuristic:
    blocks: list[Block]
    loose_prices: list[Price] = field(default_factory=list)  # product prices next to no product link


# A block whose only link goes nowhere yet ("#", "", a merge tag such as "{{ product.url }}"): a
# template or an unsent campaign; its name and price still make a product block.
_DEAD_HREF = re.compile(r"^\s*(?:#.*|javascript:.*|\{\{.*\}\}|\*\|.*\|\*|\[\[.*\]\]|%%.*%%|\$\{.*\})?\s*$", re.I)
# A block with no link at all is read when it shows one product's name and price beside an image
# (a link is a bonus): prices that are no product's (vouchers, prizes, thresholds) have other roles.
READ_BLOCKS_WITHOUT_ANCHOR = True
# ... unless its words give the price a scope: "Alle Mützen nur 9,99 €" is a claim, not a product.
_SCOPE = re.compile(r"(?<![^\W\d_])(?:alle|alles|all|everything|sortiment|tout|tous|toutes|todo|todos|tutti|"
                    r"tutto|wszystko)(?![^\W\d_])", re.I)


def find_blocks(doc: Doc, prices: list[Price]) -> Heuristic:
    product_prices = [p for p in prices if p.role in ("price", "reference")]
    starts = [p.start for p in product_prices]
    with_lowest = [p for p in prices if p.role in ("price", "reference", "lowest")]
    lowest_starts = [p.start for p in with_lowest]

    def bounds(el: HtmlElement) -> tuple[int, int]:
        s, e = doc.span(el)
        return bisect.bisect_left(starts, s), bisect.bisect_left(starts, e)

    def prices_in(el: HtmlElement) -> list[Price]:
        s, e = doc.span(el)
        return with_lowest[bisect.bisect_left(lowest_starts, s):bisect.bisect_left(lowest_starts, e)]

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
    covered = Spans([doc.span(b.element) for b in blocks])
    blocks += _linkless_blocks(doc, blocks, [p for p in product_prices if p.start not in covered], prices_in)
    blocks.sort(key=lambda b: doc.span(b.element))
    _set_units(doc, blocks)
    covered = Spans([doc.span(b.element) for b in blocks])
    loose = [p for p in product_prices if p.start not in covered]
    return Heuristic(blocks, loose)


def _set_units(doc: Doc, blocks: list[Block]) -> None:
    """Each block's cell: where its name may stand outside it ("Canon EF70-300 Lens" above a
    description with "Starting at $549.00 | PRE-ORDER"). Not larger than a few times the block."""
    holding: dict[HtmlElement, int] = {}
    for b in blocks:
        for a in (b.element, *b.element.iterancestors()):
            holding[a] = holding.get(a, 0) + 1
    for b in blocks:
        size = len(doc.text_of(b.element).strip())
        unit = b.element
        while (parent := unit.getparent()) is not None and parent.tag not in ("body", "html") \
                and holding.get(parent, 0) == 1 and len(doc.text_of(parent).strip()) <= 3 * size + 300:
            unit = parent
        b.unit = unit


def _linkless_blocks(doc: Doc, blocks: list[Block], loose: list[Price], prices_in) -> list[Block]:
    """Product blocks without a product link: the smallest layout element around a loose price
    that shows one product's prices and a name, holds no other block and has a dead link
    ("#", a merge tag) — or, with READ_BLOCKS_WITHOUT_ANCHOR, no link at all beside an image."""
    taken = {b.element for b in blocks}
    inside_taken = {a for el in taken for a in (el, *el.iterancestors())}
    found: list[Block] = []
    for price in loose:
        if price.role != "price" or any(doc.span(b.element)[0] <= price.start < doc.span(b.element)[1]
                                        for b in found):
            continue
        owner = doc.owner(price.start)
        for anc in (owner, *owner.iterancestors()):
            if anc.tag in ("body", "html") or anc in inside_taken or any(d in taken for d in anc.iter()):
                break
            if anc.tag not in _BLOCK_TAGS:
                continue
            block = _classify(anc, [], prices_in(anc), doc.text_of(anc))
            if block is None or len(doc.text_of(anc)) > 600:
                break  # several products' prices, or a whole section
            if block.problem or block_title(doc, block) is None:
                continue
            anchors = list(anc.iter("a"))
            dead = anchors and all(_DEAD_HREF.match(a.get("href") or "") for a in anchors)
            if not anchors and READ_BLOCKS_WITHOUT_ANCHOR:
                if next(anc.iter("img"), None) is None:
                    continue  # the product's image may stand in a cell beside its text
                if not _SCOPE.search(doc.text_of(anc)):
                    found.append(block)
            elif dead:
                found.append(block)
            break
    return found


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
    block.lowest = next((p for p in unique if p.role == "lowest"), None)
    if block.lowest is not None and not current and not refs:
        return None
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
