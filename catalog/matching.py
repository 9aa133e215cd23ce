"""Newsletter offers matched to shop products when their link does not say which one.

A newsletter block keys its offer by its product link; a click-tracked link whose destination is
not in the URL (Klaviyo `upn=`, Mailchimp `track/click?u=&id=`, Salesforce `?qs=`) or a block
without any link says nothing the shop feed knows. At publish, such an offer is matched against
the shop publications in force when the newsletter takes effect:

- by image: the block's image is the shop's `image_link` (the same file, whatever size a CDN
  serves: `_600x600`, `-300x300`, Magento's `/cache/<size>/`, query strings dropped);
- by title: every word of the newsletter's title is a word of the shop's title (accents, case
  and punctuation aside; words of 6+ letters may differ by a typo), at least two words.

A match sets the offer's sku and records how it was made (`offer.match`: "image 100: …",
"title 87: …"); the offer then takes part in parity and presence like a linked one. A match that
is not unique (two shop products fit about equally, or image and title disagree) is never
guessed: the offer keeps its key and `match` lists the candidates ("ambiguous: …").
"""
from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from rapidfuzz import fuzz, process
from sqlalchemy import Connection, and_, or_, select, update

from unisono.catalog.tables import OfferRow, Publication, PublicationLocation

MIN_WORDS = 2  # "Tafel" alone names no product
TYPO_LEN, TYPO_SCORE = 6, 88  # words this long may differ this little ("Pralinen"/"Praline" do not)
MARGIN = 10  # the best title must beat the next product by this many points, else it is ambiguous
_SIZE = re.compile(r"[_-](?:\d+x\d*|\d*x\d+|small|medium|large|grande|compact|thumb|master)(?:@\dx)?(?=\.\w+$)")


@dataclass
class _Product:
    sku: str
    title: str | None
    image: str | None


def words(title: str | None) -> list[str]:
    """A title as comparable words: no accents, no case, digits apart from letters ("250g" -> 250 g)."""
    folded = unicodedata.normalize("NFKD", (title or "").casefold())
    plain = "".join(c for c in folded if not unicodedata.combining(c)).replace("ß", "ss")
    plain = re.sub(r"(?<=\d)(?=[^\W\d_])|(?<=[^\W\d_])(?=\d)", " ", plain)
    return re.findall(r"[^\W_]+", plain)


def image_keys(url: str | None) -> tuple[str, str] | None:
    """(host and path, file name) of an image URL, without size variants and query."""
    if not url:
        return None
    m = re.match(r"(?i)^(?:https?:)?//(?:www\.)?([^/?#]+)([^?#]*)", url.strip())
    if not m:
        return None
    path = _SIZE.sub("", re.sub(r"/cache/[^/]+", "", m.group(2).lower()))
    return m.group(1).lower() + path, path.rsplit("/", 1)[-1]


def _shop_products(conn: Connection, at: datetime) -> list[_Product]:
    """The shop's products in the publications in force at `at` (per location, the latest)."""
    pub, cov, o = Publication.__table__, PublicationLocation.__table__, OfferRow.__table__
    rows = conn.execute(
        select(cov.c.publication_id, cov.c.location).join(pub, pub.c.id == cov.c.publication_id)
        .where(cov.c.channel == "shop", pub.c.effective_from <= at)
        .order_by(pub.c.effective_from.desc(), pub.c.published_at.desc(), pub.c.id.desc())
    ).all()
    current: dict[str, int] = {}
    for pub_id, location in rows:
        current.setdefault(location, pub_id)
    if not current:
        return []
    found = conn.execute(select(o.c.sku, o.c.title, o.c.image_url).where(
        or_(*(and_(o.c.publication_id == p, o.c.location == loc) for loc, p in current.items())),
        o.c.sku.is_not(None))).all()
    return list({sku: _Product(sku, title, image) for sku, title, image in found}.values())


class _Index:
    """The shop's titles by word and images by file, to find candidates without scanning every title."""

    def __init__(self, products: list[_Product]):
        self.by_word: dict[str, set[int]] = defaultdict(set)
        self.by_image: dict[str, set[int]] = defaultdict(set)
        self.by_file: dict[str, set[int]] = defaultdict(set)
        self.products = products
        for i, p in enumerate(products):
            for w in words(p.title):
                self.by_word[w].add(i)
            if keys := image_keys(p.image):
                self.by_image[keys[0]].add(i)
                self.by_file[keys[1]].add(i)
        self.vocabulary = list(self.by_word)

    def _holding(self, word: str) -> set[int]:
        found = set(self.by_word.get(word, ()))
        if len(word) >= TYPO_LEN:
            for other, _, _ in process.extract(word, self.vocabulary, scorer=fuzz.ratio, score_cutoff=TYPO_SCORE,
                                               limit=20):
                found |= self.by_word[other]
        return found

    def by_title(self, title: str | None) -> list[tuple[int, int]]:
        """(product, score) of every shop product whose title holds all of the words, best first."""
        ws = words(title)
        if len(ws) < MIN_WORDS:
            return []
        cands: set[int] | None = None
        for w in dict.fromkeys(ws):
            cands = self._holding(w) if cands is None else cands & self._holding(w)
            if not cands:
                return []
        query = " ".join(ws)
        scored = [(i, round(fuzz.token_sort_ratio(query, " ".join(words(self.products[i].title))))) for i in cands]
        return sorted(scored, key=lambda s: -s[1])

    def by_picture(self, url: str | None) -> tuple[set[int], str]:
        keys = image_keys(url)
        if keys is None:
            return set(), ""
        if keys[0] in self.by_image:
            return self.by_image[keys[0]], "image"
        if len(keys[1].rsplit(".", 1)[0]) >= 6 and keys[1] in self.by_file:  # "1.jpg" names nothing
            return self.by_file[keys[1]], "image file"
        return set(), ""


def _decide(index: _Index, title: str | None, image: str | None) -> tuple[str | None, str | None]:
    """(sku, how) for a match, (None, candidates) when ambiguous, (None, None) when nothing fits."""
    name = lambda i: f"{index.products[i].sku} {index.products[i].title!r}"  # noqa: E731
    pictured, method = index.by_picture(image)
    titled = index.by_title(title)
    if len(pictured) > 1:
        return None, f"ambiguous: the {method} is that of " + ", ".join(name(i) for i in sorted(pictured)[:5])
    if len(titled) > 1 and titled[0][1] - titled[1][1] < MARGIN:
        close = [f"{name(i)} ({s})" for i, s in titled[:5] if titled[0][1] - s < MARGIN]
        if not pictured:
            return None, "ambiguous: the title fits " + ", ".join(close)
        titled = []  # the image decides between titles that fit alike
    best = titled[0][0] if titled else None
    if pictured:
        (i,) = pictured
        if best is not None and best != i:
            return None, f"ambiguous: the {method} is that of {name(i)}, the title that of {name(best)}"
        return index.products[i].sku, f"{method} 100: {index.products[i].image}"
    if best is not None:
        return index.products[best].sku, f"title {titled[0][1]}: {index.products[best].title}"
    return None, None


def match_newsletter(conn: Connection, publication_id: int, at: datetime) -> list[str]:
    """Match the publication's offers that no sku, GTIN or link ties to the shop (see the module);
    returns notes for the user: what was matched, how, and what was not."""
    o = OfferRow.__table__
    offers = conn.execute(select(o.c.id, o.c.title, o.c.image_url, o.c.url, o.c.gtin, o.c.source).where(
        o.c.publication_id == publication_id, o.c.sku.is_(None))).all()
    if not offers:
        return []
    products = _shop_products(conn, at)
    if not products:
        return [f"no shop feed is in force at {at.isoformat()}: {len(offers)} newsletter offers without a product "
                "number were not matched to shop products by title or image"]
    shop = OfferRow.__table__.alias("shop")
    linked = set(conn.execute(select(o.c.id).where(o.c.id.in_([r.id for r in offers])).where(
        select(shop.c.id).where(shop.c.channel == "shop", shop.c.sku.is_not(None),
                                or_(shop.c.url == o.c.url, shop.c.gtin == o.c.gtin)).exists())).scalars())
    index = _Index(products)
    notes: list[str] = []
    for r in offers:
        if r.id in linked:  # its link or GTIN is the shop's: the catalog resolves it at every check
            continue
        sku, how = _decide(index, r.title, r.image_url)
        if how is None:
            continue
        conn.execute(update(o).where(o.c.id == r.id).values(sku=sku, match=how))
        if sku:
            notes.append(f"{r.source}: {r.title!r} is shop product {sku}, matched by {how}")
        else:
            notes.append(f"{r.source}: {r.title!r} not matched to a shop product, {how}")
    return notes
