"""The newsletter channel: the HTML of a promotional email.

Offers come from, in this order:
1. `newsletter.template` in unisono.yaml (CSS selectors), when set: the user knows the layout;
2. schema.org markup (JSON-LD or microdata) when the email carries product markup;
3. else a heuristic (newsletter_blocks): product links with one product's prices around them.

A newsletter offer's `price` is what the email says the customer pays, `reference_price` the
struck-through / "statt" price beside it, `discount_percent` a "-20 %" badge, and `valid_from` /
`valid_to` the email's validity window ("gültig bis 30.11.2026"). Text that is not a product
(shipping thresholds, "20 % auf alle Schuhe", validity) becomes claims. Every product block is an
offer or a rejection; an email without a single offer is an InputError, never silence.

The HTML is untrusted: it is parsed, never executed; JSON-LD is read with json.
"""
from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from collections.abc import Iterator
from pathlib import Path

import lxml.html
from lxml import etree
from lxml.html import HtmlElement
from selectolax.lexbor import LexborHTMLParser, SelectolaxError

from unisono.channels import newsletter_blocks as nb
from unisono.channels.claim_terms import block_claim, parse_terms
from unisono.channels.newsletter_schema import _schema_items, _schema_offer
from unisono.channels.newsletter_validity import parse_validity  # noqa: F401 (public: tests, callers)
from unisono.channels.newsletter_validity import ValidityProblem, is_relative, read_validity
from unisono.channels.parsing import (
    bounded_amount, normalize_gtin, parse_instant, parse_percent, parse_text_price,
)
from unisono.domain.config import NewsletterTemplate, ProjectConfig
from unisono.domain.models import TITLE_KEY, ChannelRead, Claim, InputError, Offer, Rejection, SourceRef

CHANNEL = "newsletter"
_Window = tuple[datetime | None, datetime | None]  # [valid_from, valid_to); None = open
MAX_BYTES = 5_000_000  # an email is rarely over 1 MB (Gmail clips at 102 KB); bounds the work on hostile input
_NO_OFFERS = ("no offers found (no schema.org product markup and no product blocks with a name and a price); "
              "describe the layout under newsletter.template in unisono.yaml")


@dataclass
class _Context:
    name: str  # the file name, for sources and messages
    location: str
    currency: str
    config: ProjectConfig
    doc: nb.Doc
    sent: date  # when the newsletter went out: dates without a year are read near it
    title_keys: dict = field(default_factory=dict)  # slug -> how many blocks were keyed by it
    problems: list = field(default_factory=list)  # validity statements that make no window, for the notes
    time_notes: list = field(default_factory=list)  # schema.org times in a daylight-saving change

    def source(self, el: HtmlElement, path: str | None = None) -> SourceRef:
        return SourceRef(file=self.name, line=el.sourceline, path=path or self.doc.path(el) or el.tag)


def read(path: Path, config: ProjectConfig, published_at: datetime | None = None) -> ChannelRead:
    """Read a newsletter's HTML into offers, claims and rejections. Raises InputError when the
    file cannot be read or holds no offer at all. published_at: when it was sent (default now):
    "nur bis 30.11." is the 30.11. nearest to that day."""
    root, style_text = _load(path)
    published_at = published_at or datetime.now(timezone.utc)
    sent = published_at.astimezone(config.tz).date()
    try:
        result = _read(path, root, style_text, config, sent)
    except RecursionError:  # a library recursing over a hostile document: one line, not a traceback
        raise InputError(f"{path.name}: the HTML is nested too deeply to read") from None
    return _default_validity(result, config, published_at)


def _default_validity(result: ChannelRead, config: ProjectConfig, published_at: datetime) -> ChannelRead:
    """An email that states no validity at all (_read noted so): its offers end newsletter.valid_days
    after it was sent. One whose statement names no real window keeps its note and open offers."""
    days = config.newsletter.valid_days
    if not days or not any(_OPEN_NOTE in note for note in result.notes):
        return result
    end = published_at + timedelta(days=days)
    result.offers = [o.model_copy(update={"valid_to": end}) for o in result.offers]
    result.notes = [note.replace(_OPEN_NOTE, f"its offers count as advertised for {days} days after it was sent, "
                                             f"until {end.astimezone(config.tz):%d.%m.%Y %H:%M} (newsletter.valid_days)")
                    for note in result.notes]
    return result


def stream(path: Path, config: ProjectConfig, notes: list[str],
           published_at: datetime | None = None) -> Iterator[Offer | Rejection | Claim]:
    """read() as the stream every adapter offers (a newsletter is small: it is read whole first)."""
    result = read(path, config, published_at)
    notes.extend(result.notes)
    yield from result.claims
    yield from result.offers
    yield from result.rejections


def _read(path: Path, root: HtmlElement, style_text: str, config: ProjectConfig, sent: date) -> ChannelRead:
    opts = config.newsletter
    result = ChannelRead(channel=CHANNEL, source=path.name)
    # JSON-LD and microdata first: reading the text drops scripts
    schema_items = _schema_items(root, path.name, result.notes)
    _strip_invisible(root)
    doc = nb.index(root, style_text)
    ctx = _Context(path.name, opts.location or path.stem, opts.currency or config.currency, config, doc, sent)
    prices = nb.find_prices(doc, ctx.currency)
    loose = ""  # product prices next to no product link, for the message when nothing was found

    blocks: list[nb.Block] = []
    if opts.template is not None:  # the user's description of the layout beats any guess
        if schema_items:
            result.notes.append(f"{path.name}: newsletter.template is set, so the schema.org markup is not read")
            schema_items = []
        blocks = _template_blocks(ctx, opts.template, prices)
        source_of_offers = "newsletter.template"
    elif schema_items:
        source_of_offers = "schema.org markup"
    else:
        found = nb.find_blocks(doc, prices)
        blocks = found.blocks
        source_of_offers = "product blocks"
        if found.loose_prices:
            shown = ", ".join(f"{p.text!r} at line {doc.owner(p.start).sourceline}" for p in found.loose_prices[:3])
            loose = f"{len(found.loose_prices)} prices belong to no product block (no name, link or image beside them), e.g. {shown}"
            result.notes.append(f"{path.name}: {loose}; they were not read as offers")

    wide, claims = _claims(ctx, outside=nb.Spans([doc.span(b.element) for b in blocks]))
    result.claims.extend(claims)

    for item in schema_items:
        _add(result, _schema_offer(ctx, item, wide))
    for block in blocks:
        _add(result, _block_offer(ctx, block, wide, result.claims))

    if not result.offers:
        detail = ""
        if result.rejections:
            r = result.rejections[0]
            detail = f"; {len(result.rejections)} product blocks were rejected, e.g. {r.source}: {r.reason}"
        elif loose:
            detail = f"; {loose}"
        if opts.template is not None:
            raise InputError(f"{path.name}: no offers found with newsletter.template "
                             f"(block {opts.template.block!r}){detail}")
        raise InputError(f"{path.name}: {_NO_OFFERS}{detail}")
    result.notes.append(f"{path.name}: {len(result.offers)} offers read from {source_of_offers}")
    result.notes.extend(ctx.problems + ctx.time_notes)
    if not any(o.valid_to for o in result.offers) and not ctx.problems:
        result.notes.append(f"{path.name}: no validity statement found (\"gültig bis …\", \"valid until …\"): {_OPEN_NOTE}")
    return result


_OPEN_NOTE = "its offers stay live until this location's next newsletter"


def _add(result: ChannelRead, entry: Offer | Rejection) -> None:
    (result.offers if isinstance(entry, Offer) else result.rejections).append(entry)


# ---- the file -----------------------------------------------------------------------------------

def _load(path: Path) -> tuple[HtmlElement, str]:
    """The parsed document and the text of its <style> blocks."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InputError(f"{path.name}: {size / 1e6:.0f} MB is too large for a newsletter "
                             f"(limit {MAX_BYTES // 1_000_000} MB)")
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"{path.name}: cannot open the file ({e.strerror})") from None
    text = _decode(data)
    if not text.strip():
        raise InputError(f"{path.name}: the file is empty")
    if "\x00" in text:
        raise InputError(f"{path.name}: this is not an HTML file (it contains NUL bytes)")
    if re.search(r"<html[\s>]", text, re.I) and not re.search(r"</(?:body|html)\s*>", text, re.I):
        # a cut-off copy would replace the complete issue and drop the products after the cut from every check
        raise InputError(f"{path.name}: the email ends before </body> and </html>: a cut-off download or export? "
                         "Publish the complete email")
    text = re.sub(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]", " ", text)  # stray control characters: lxml refuses them
    # lxml refuses str input that declares an encoding; the text is decoded already
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)
    parser = lxml.html.HTMLParser(no_network=True, remove_pis=True)
    try:
        root = lxml.html.document_fromstring(text, parser=parser)
    except (etree.ParserError, ValueError) as e:
        raise InputError(f"{path.name}: not readable as HTML ({' '.join(str(e).split())})") from None
    if any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log):
        # libxml2 drops what lies deeper than 256 levels: say so rather than read half a newsletter
        raise InputError(f"{path.name}: the HTML is nested too deeply to read (over 256 levels)")
    style_text = "\n".join(s.text_content() for s in root.iter("style"))
    return root, style_text


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):  # before UTF-16, whose mark begins it
        return data.decode("utf-32", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    m = re.search(rb"""charset=["']?([\w-]+)""", data[:4096], re.I)
    try:  # not UTF-8 whatever it declares (a template's <meta charset="utf-8"> saved as Windows-1252): cp1252
        declared = codecs.lookup(m.group(1).decode("ascii")).name if m else "cp1252"
    except LookupError:  # an unknown charset name
        declared = "cp1252"
    return data.decode("cp1252" if declared == "utf-8" else declared, errors="replace")


def _strip_invisible(root: HtmlElement) -> None:
    """Remove what a reader does not see as text: head, scripts, styles, comments (Outlook's
    conditional comments carry duplicate layout)."""
    for el in list(root.iter("head", "script", "style", "noscript", "template", etree.Comment)):
        if el.getparent() is not None:
            el.drop_tree()  # keeps the tail text


# ---- validity and claims, template selectors

# ---- template selectors -------------------------------------------------------------------------

_ID = "data-unisono-i"


def _template_blocks(ctx: _Context, tpl: NewsletterTemplate, prices: list[nb.Price]) -> list[nb.Block]:
    """Blocks and their parts from the user's CSS selectors. selectolax matches the selectors;
    the tree is numbered first so that each match maps back to its lxml element (and line)."""
    elements = [el for el in ctx.doc.root.iter() if isinstance(el.tag, str)]
    for i, el in enumerate(elements):
        el.set(_ID, str(i))
    tree = LexborHTMLParser(lxml.html.tostring(ctx.doc.root, encoding="unicode"))
    for el in elements:
        del el.attrib[_ID]

    def select(node, selector: str, what: str) -> list:
        try:
            return [n for n in node.css(selector) if (n.attributes.get(_ID) or "").isdigit()]
        except (SelectolaxError, ValueError):
            raise InputError(f"{ctx.name}: unisono.yaml newsletter.template.{what} {selector!r} "
                             "is not a CSS selector") from None

    def text(nodes: list) -> str:
        return " ".join(" ".join(ctx.doc.text_of(elements[int(n.attributes[_ID])]).split()) for n in nodes)

    blocks: list[nb.Block] = []
    for node in select(tree, tpl.block, "block"):
        anchors = [elements[int(n.attributes[_ID])] for n in select(node, tpl.link, "link")] if tpl.link else []
        block = nb.Block(elements[int(node.attributes[_ID])],
                         [k for k in map(nb.product_link, anchors) if k is not None])
        block.parts = {what: text(select(node, sel, what)) for what, sel in (
            ("title", tpl.title), ("price", tpl.price), ("reference_price", tpl.reference_price),
            ("discount", tpl.discount), ("sku", tpl.sku)) if sel}
        _template_prices(ctx, block, prices)
        blocks.append(block)
    return blocks


def _template_prices(ctx: _Context, block: nb.Block, prices: list[nb.Price]) -> None:
    """The block's price and reference price: from their selectors, else as the heuristic reads them."""
    parts = block.parts
    s, e = ctx.doc.span(block.element)
    inside = [p for p in prices if s <= p.start < e and p.role in ("price", "reference")]

    def money(text: str | None) -> nb.Price | None:
        parsed = parse_text_price(text, ctx.currency) if text else None
        return nb.Price(0, 0, text.strip(), parsed[0], parsed[1], "price") if parsed else None

    if "price" in parts:
        block.price = money(parts["price"])
    else:
        block.price = next((p for p in inside if p.role == "price"), None)
    if "reference_price" in parts:
        block.reference = money(parts["reference_price"])
    elif "price" not in parts:
        block.reference = next((p for p in inside if p.role == "reference"), None)
    if block.price is None:
        links_to = f" links to {block.url} but" if block.url else ""
        shown = f" ({parts['price']!r} is not a price)" if parts.get("price") else ""
        block.problem = f"product block{links_to} shows no price{shown}"


_SENTENCE = re.compile(r"(?<=[^\W\d_][.!?])\s+(?=[A-ZÄÖÜ„\"*])")
_ABBREVIATION = re.compile(r"\b(?:inkl|zzgl|ggf|bzw|evtl|ca|nr|str|usw|etc|vgl|max|min|mind|incl|approx|no)\.$", re.I)


# what banners put between promises on one line: "Versandkostenfrei ab 50 € · Kauf auf Rechnung"
_SEPARATOR = re.compile(r"(?:^|\s+)(?:[·•|✓✔★◆▪]|\+{2,})(?:\s+|$)")


def _sentences(line: str) -> list[str]:
    """A line's sentences ("zzgl. Versandkosten" is not two), and the promises a banner separates."""
    out: list[str] = []
    for piece in (p for part in _SEPARATOR.split(line) if part for p in _SENTENCE.split(part)):
        if out and _ABBREVIATION.search(out[-1]):
            out[-1] += " " + piece
        else:
            out.append(piece)
    return out


_SHIPPING = re.compile(r"versand|lieferung|liefern|rückversand|shipping|delivery|porto|free returns", re.I)
_PAYMENT = re.compile(r"rechnung|ratenzahlung|paypal|klarna|invoice|pay later|bezahlung|zahlung", re.I)
_DISCOUNT_WORDS = re.compile(r"\b(?:rabatt|gutschein|aktionscode|code|coupon|voucher|sale|reduziert|spar\w*|save|"
                             r"off|auf alle|auf das|on all|gratis|geschenk|free gift|minus|bis zu|up to)\b", re.I)


def _claims(ctx: _Context, outside: nb.Spans) -> tuple[_Window, list[Claim]]:
    """Claims from the text outside product blocks, and the newsletter-wide validity window: the
    first the text states with both ends, else its first start and its first end ("nur bis 30.11.!"
    in the headline does not hide the small print's "gültig vom 20.11. bis 30.11."); statements
    without a date ("nur bis Sonntag") only where no statement has one."""
    around = ctx.sent
    claims: list[Claim] = []
    windows: list[_Window] = []
    relative: list[_Window] = []
    seen: set[tuple[str, str]] = set()
    promised: dict[tuple[str, str], Claim] = {}  # one promise said twice (preheader and banner) is one claim
    for offset, line in ctx.doc.lines():
        if offset in outside:
            continue
        small_print = nb.is_boilerplate(line)  # beside "Abmelden" and the imprint: only the validity counts
        for sentence in _sentences(line):
            kind, window = _claim_kind(ctx, sentence, around)
            if small_print and kind != "validity":
                continue
            # what it promises ("20 % auf alle Schuhe", "nur online"), also where it states a validity
            terms = parse_terms(sentence, ctx.currency) if kind != "validity" or "%" in sentence else None
            kind = terms.type if terms else kind
            if kind is None or (kind, sentence) in seen:
                continue
            seen.add((kind, sentence))
            if window is not None:
                (relative if is_relative(sentence) else windows).append(window)
            promise = (kind, terms.model_dump_json()) if terms is not None else None
            if promise in promised and window in (None, (promised[promise].valid_from, promised[promise].valid_to)):
                continue
            text = sentence if len(sentence) <= 300 else sentence[:299] + "…"
            own = window or (None, None)  # a claim holds in its own window, else in the newsletter's
            claims.append(Claim(channel=CHANNEL, location=ctx.location, kind=kind, text=text,
                                source=ctx.source(ctx.doc.owner(offset)), terms=terms,
                                valid_from=own[0], valid_to=own[1]))
            if promise is not None:
                promised.setdefault(promise, claims[-1])
    windows = windows or relative
    wide = next((w for w in windows if None not in w), None) or (
        next((w[0] for w in windows if w[0]), None), next((w[1] for w in windows if w[1]), None))
    for claim in claims:
        if claim.terms is not None and claim.valid_from is None and claim.valid_to is None:
            claim.valid_from, claim.valid_to = wide
    return wide, claims


def _claim_kind(ctx: _Context, sentence: str, around: date) -> tuple[str | None, _Window | None]:
    window = _window(ctx, sentence, around)
    if window is not None:
        return "validity", window
    if _SHIPPING.search(sentence):
        return "shipping", None
    if _PAYMENT.search(sentence):
        return "payment", None
    has_amount = re.search(r"\d\s?%", sentence) or nb.has_money(sentence)
    if has_amount and _DISCOUNT_WORDS.search(sentence):
        return "discount", None
    return None, None


def _window(ctx: _Context, text: str, around: date) -> _Window | None:
    try:
        days = read_validity(text, around)
    except ValidityProblem as e:  # said, not guessed: the offers keep the window they had without it
        shown = " ".join(text.split())
        note = (f"{ctx.name}: the validity {(shown[:80] + '…') if len(shown) > 80 else shown!r} {e}: "
                "not read as a validity window")
        if note not in ctx.problems:
            ctx.problems.append(note)
        return None
    if days is None:
        return None
    first, last = days
    tz = ctx.config.tz
    return (parse_instant(first.isoformat(), tz) if first else None,
            parse_instant(last.isoformat(), tz, end_of_day=True) if last else None)


# ---- a block -> an Offer or a Rejection ------------------------------------------------------------

def _block_offer(ctx: _Context, block: nb.Block, wide: _Window, claims: list[Claim]) -> Offer | Rejection:
    """The block's offer (its own validity text, if any, is added to `claims`), or its rejection."""
    doc = ctx.doc
    source = ctx.source(block.element)
    text = doc.text_of(block.element)
    raw = " | ".join(line for _, line in doc.lines(*doc.span(block.element)))
    if block.problem:
        return Rejection(channel=CHANNEL, source=source, reason=block.problem, raw=raw)
    try:  # a price the catalog cannot hold ("100000000000000000,00 €") is that block's rejection
        for price, what in ((block.price, "price"), (block.reference, "reference price"), (block.lowest, "lowest price")):
            if price is not None:
                bounded_amount(price.amount, price.text.strip(), what)
    except ValueError as e:
        return Rejection(channel=CHANNEL, source=source, reason=str(e), raw=raw)
    parts = block.parts
    if parts.get("sku"):  # a template's sku element: "Art.-Nr. 100203" or just "100203"
        sku = nb.find_sku(parts["sku"]) or parts["sku"].split()[-1]
    else:
        sku = nb.find_sku(text)
    title = parts.get("title") or nb.block_title(doc, block)
    gtin = normalize_gtin(nb.find_gtin(text))
    url = block.url
    if url is None and sku is None and gtin is None:
        if not title:
            return Rejection(channel=CHANNEL, source=source, raw=raw,
                             reason="product block has no link to a product page and no product number")
        url = _title_key(ctx, title)  # the catalog keys an offer by sku, else GTIN, else link
    valid_from, valid_to = wide
    # "nur bis 25.11." in a block is read near the newsletter's validity
    wide_day = valid_to or valid_from
    around = wide_day.astimezone(ctx.config.tz).date() if wide_day else ctx.sent
    for offset, line in doc.lines(*doc.span(block.element)):
        window = _window(ctx, line, around)
        if window is not None:  # the block's own validity overrides the newsletter's
            valid_from, valid_to = window
            claims.append(Claim(channel=CHANNEL, location=ctx.location, kind="validity", text=line[:300],
                                source=ctx.source(doc.owner(offset))))
            break
    if said := block_claim(text, sku or gtin or url):  # "nur online" beside a product: a claim about it
        claims.append(Claim(channel=CHANNEL, location=ctx.location, kind="exclusivity", source=source, terms=said[0],
                            text=f"{title}: {said[1]}" if title else said[1], valid_from=valid_from, valid_to=valid_to))
    badge = parse_percent(parts["discount"]) if parts.get("discount") else nb.discount_badge(text)
    ref = block.reference if block.reference and block.reference.currency == block.price.currency else None
    lowest = block.lowest.amount if block.lowest and block.lowest.currency == block.price.currency else None
    if block.lowest is not None:  # the statement itself, word for word, is kept as a claim too
        named = f"{title!r}: " if title else ""
        claims.append(Claim(channel=CHANNEL, location=ctx.location, kind="lowest_price",
                            text=f"{named}{block.lowest.label} {block.lowest.text}".strip()[:300], source=source))
    return Offer(
        channel=CHANNEL, location=ctx.location, sku=sku, gtin=gtin, url=url, image_url=_image(block), title=title,
        currency=block.price.currency, price=block.price.amount,
        reference_price=ref.amount if ref and not ref.list_price else None,
        list_price=ref.amount if ref and ref.list_price else None,
        discount_percent=badge, lowest_30d=lowest, valid_from=valid_from, valid_to=valid_to, source=source)


def _image(block: nb.Block) -> str | None:
    """The block's product image (the first one with a web address): matches it to the shop's image_link."""
    for el in (block.element, block.unit):
        for img in (el.iter("img") if el is not None else ()):
            src = (img.get("src") or "").strip()
            if src.lower().startswith(("http://", "https://")):
                return src
    return None


def _title_key(ctx: _Context, title: str) -> str:
    """The key of a block with neither link nor product number: its normalised title
    ("urn:unisono:title:young-woman-dress"), stable from one issue to the next, so that presence
    and history can follow it; a second block with the same title in the email gets ":2"."""
    folded = unicodedata.normalize("NFKD", title.casefold())
    slug = re.sub(r"[^\w]+", "-", "".join(c for c in folded if not unicodedata.combining(c))).strip("-_")[:120]
    n = ctx.title_keys[slug] = ctx.title_keys.get(slug, 0) + 1
    return f"{TITLE_KEY}{slug or 'product'}" + (f":{n}" if n > 1 else "")
