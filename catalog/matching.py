"""Newsletter offers matched to shop products when their link does not say which one.

A newsletter block keys its offer by its product link; a click-tracked link whose destination is
not in the URL (Klaviyo `upn=`, Mailchimp `track/click?u=&id=`, Salesforce `?qs=`) or a block
without any link says nothing the shop feed knows. At publish, such an offer is matched against
the shop publications in force when the newsletter takes effect, and again whenever the shop
publishes while it is still unmatched and valid (a product listed after the newsletter was sent):

- by image: the block's image is the shop's `image_link` (the same file, whatever size a CDN
  serves: `_600x600`, `-300x300`, Magento's `/cache/<size>/`, query strings dropped);
- by title: every word of the newsletter's title is a word of the shop's title (accents, case
  and punctuation aside; a word written with accents may differ a little: "Lübecker" is
  "Luebecker"), at least two words; the score is rapidfuzz's token_sort_ratio of the titles.

An offer that links to a page of the shop itself is not matched: its link names the product, and
a product the feed lacks is for the presence rule to report, not for a guess by title.

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
from urllib.parse import urlsplit

from rapidfuzz import fuzz, process
from sqlalchemy import Connection, and_, func, or_, select, update

from unisono.catalog.tables import OfferRow, Publication, PublicationLocation

MIN_WORDS = 2  # "Tafel" alone names no product
TYPO_LEN, TYPO_SCORE = 6, 88  # accented words this long may differ this little ("lubecker"/"luebecker")
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


def current_shop(conn: Connection, at: datetime) -> dict[str, int]:
    """location -> the shop publication in force there at `at`."""
    pub, cov = Publication.__table__, PublicationLocation.__table__
    rows = conn.execute(
        select(cov.c.publication_id, cov.c.location).join(pub, pub.c.id == cov.c.publication_id)
        .where(cov.c.channel == "shop", pub.c.effective_from <= at)
        .order_by(pub.c.effective_from.desc(), pub.c.published_at.desc(), pub.c.id.desc())
    ).all()
    current: dict[str, int] = {}
    for pub_id, location in rows:
        current.setdefault(location, pub_id)
    return current


def _host(url: str | None) -> str | None:
    try:
        host = urlsplit(url or "").hostname
    except ValueError:
        return None
    return host.removeprefix("www.") if host else None


def _shop_hosts(conn: Connection, current: dict[str, int]) -> set[str]:
    """The hosts of the shop's own product pages (a sample of its links)."""
    o = OfferRow.__table__
    links = conn.execute(select(o.c.url).where(
        or_(*(and_(o.c.publication_id == p, o.c.location == loc) for loc, p in current.items())),
        o.c.url.is_not(None)).limit(100)).scalars()
    return {h for u in links if (h := _host(u))}


def _key_words(title: str | None) -> list[str]:
    """The title's plain words as they are written (the database finds them with LIKE): a shop
    title that holds all of the title's words holds each of them."""
    plain = [w for w in dict.fromkeys(words(title)) if w.isascii() and len(w) >= 2 and w in (title or "").casefold()]
    return plain if len(words(title)) >= MIN_WORDS and any(len(w) >= 3 for w in plain) else []


def _candidates(conn: Connection, current: dict[str, int], offers) -> list[_Product]:
    """The shop products of `current` whose title holds all plain words of an offer's title or whose
    image holds one of their image file names: one pass over the shop, not a feed's worth of Python."""
    o = OfferRow.__table__
    titled = {tuple(ws) for r in offers if (ws := _key_words(r.title))}
    wanted = [and_(*(func.lower(o.c.title).contains(w, autoescape=True) for w in ws)) for ws in titled]
    files = {keys[1].rsplit(".", 1)[0] for r in offers if (keys := image_keys(r.image_url))}
    wanted += [func.lower(o.c.image_url).contains(f, autoescape=True) for f in files if f]
    if not wanted:
        return []
    found = conn.execute(select(o.c.sku, o.c.title, o.c.image_url).where(
        or_(*(and_(o.c.publication_id == p, o.c.location == loc) for loc, p in current.items())),
        o.c.sku.is_not(None), or_(*wanted))).all()
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
    """Match the publication's offers that no sku, GTIN or link to the shop's own pages ties to a
    product (see the module); returns notes for the user: what was matched, how, and what was not."""
    o = OfferRow.__table__
    offers = conn.execute(select(o.c.id, o.c.title, o.c.image_url, o.c.url, o.c.source).where(
        o.c.publication_id == publication_id, o.c.sku.is_(None), o.c.gtin.is_(None))).all()
    if not offers:
        return []
    current = current_shop(conn, at)
    if not current:
        return [f"no shop feed is in force at {at.isoformat()}: {len(offers)} newsletter offers without a product "
                "number were not matched to shop products by title or image"]
    # a link to a page of the shop itself names its product (the catalog resolves it by the link at
    # every check); one the feed lacks is for the presence rule, not for a guess by title
    own = _shop_hosts(conn, current)
    unnamed = [r for r in offers if _host(r.url) not in own]
    if not unnamed:
        return []
    index = _Index(_candidates(conn, current, unnamed))
    notes: list[str] = []
    for r in unnamed:
        sku, how = _decide(index, r.title, r.image_url)
        if how is None:
            continue
        conn.execute(update(o).where(o.c.id == r.id).values(sku=sku, match=how))
        if sku:
            notes.append(f"{r.source}: {r.title!r} is shop product {sku}, matched by {how}")
        else:
            notes.append(f"{r.source}: {r.title!r} not matched to a shop product, {how}")
    return notes


def rematch_newsletters(conn: Connection, publication_id: int, at: datetime) -> list[str]:
    """After shop publication `publication_id`: the newsletter offers still tied to no product (the shop
    did not list it yet when the newsletter was published, or two products fitted then) are matched
    again against the shop in force from `at` on; those no longer valid then are left as they were.
    Returns notes for the matches made."""
    o, pub = OfferRow.__table__, Publication.__table__
    newsletters = select(pub.c.id).where(pub.c.channel == "newsletter").scalar_subquery()
    pending = conn.execute(select(o.c.publication_id).where(
        o.c.publication_id.in_(newsletters), o.c.sku.is_(None), o.c.gtin.is_(None),
        or_(o.c.valid_to.is_(None), o.c.valid_to > at)).distinct().order_by(o.c.publication_id)).scalars().all()
    notes = []
    for newsletter in pending:
        notes += [f"newsletter #{newsletter}: {note}" for note in match_newsletter(conn, newsletter, at)
                  if " is shop product " in note]
    return notes
