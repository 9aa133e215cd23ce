"""A synthetic retailer, "Bergwelt Outdoor", in the real channel formats, with planted inconsistencies.

`generate(out_dir, skus=..., stores=..., seed=...)` writes

  shop_feed.xml       Google Merchant Center RSS 2.0 feed (g: namespace)
  store_prices.csv    one POS price export for all stores: cp1252, ';', decimal comma
  newsletter.html     a Black Friday email newsletter, table layout, inline styles
  answer_key.json     what was planted, and the findings the default rules must report

and returns the answer key. The expected findings are not written by hand: an oracle in plain
Python evaluates the rules' semantics on the very values written to the files (effective price at
the check instant = sale price inside its whole-day window, else the regular price), and the
generator cross-checks them against what each plant is meant to cause.

Everything is deterministic for a seed (own `random.Random` streams, no global state, no clock).
Files are streamed: a million products take seconds and little memory.
"""
from __future__ import annotations

import html
import json
import math
import re
import shutil
from array import array
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from itertools import chain
from pathlib import Path
from random import Random
from typing import Any, NamedTuple
from xml.sax.saxutils import escape as xml_escape
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

# --------------------------------------------------------------------------------------------
# The retailer and its word lists
# --------------------------------------------------------------------------------------------

RETAILER = "Bergwelt Outdoor"
SHOP = "https://www.bergwelt-outdoor.de"
MEDIA = "https://media.bergwelt-outdoor.de"
TRACKING = "utm_source=newsletter&utm_medium=email&utm_campaign={campaign}"
TZ = ZoneInfo("Europe/Berlin")

# (brand, GS1 company prefix): each brand numbers its own EANs, as real suppliers do.
# "Berg & Tal" and "Gipfelstürmer" keep escaping and cp1252 honest.
BRANDS = [
    ("Bergwelt", "426012"), ("Alpenfuchs", "400512"), ("Nordkamm", "401733"),
    ("Gipfelstürmer", "402208"), ("Trailhawk", "403916"), ("Fjellro", "404471"),
    ("Hochgrat", "405380"), ("Wolkenstein", "406625"), ("Berg & Tal", "407754"),
    ("Steinbock Gear", "408849"), ("Föhnwind", "409960"), ("Latschen & Co.", "421337"),
]

MODELS = [
    "Alpin", "Summit", "Ridge", "Tauern", "Karwendel", "Dolomit", "Eiger", "Watzmann",
    "Zugspitz", "Wetterstein", "Rätikon", "Ortler", "Brenta", "Silvretta", "Rofan",
    "Nebelhorn", "Hochkönig", "Grat", "Trail", "Nordwand", "Talweg", "Fels", "Firn",
    "Kaiser", "Arber", "Feldberg", "Säntis", "Pilatus", "Grödner", "Vinschgau",
]
VARIANTS = ["GTX", "Mid", "Low", "WP", "Pro", "Light", "Tour", "Lite", "XT", "Plus", "2.0", "II", "III"]
COLOURS = ["schwarz", "anthrazit", "grau", "blau", "navy", "petrol", "grün", "oliv", "rot", "orange", "gelb", "beige"]
GENDERS = ["Herren", "Damen", "Unisex", "Kinder"]


@dataclass(frozen=True)
class Category:
    path: str  # g:product_type
    nouns: tuple[str, ...]
    suffixes: tuple[str, ...]  # gender, size, volume ...: what tells siblings apart
    euros: tuple[int, int]  # regular price range; >= 12, so even a 10 % sale takes more than a euro off
    coloured: bool  # shoes and clothes come in colours
    blurb: str  # one sentence for g:description


CATEGORIES = [
    Category("Schuhe > Wanderschuhe", ("Wanderschuh", "Trekkingschuh", "Bergstiefel"), tuple(GENDERS), (79, 279), True,
             "Wasserdichter Schuh mit griffiger Profilsohle für lange Touren."),
    Category("Schuhe > Trailrunningschuhe", ("Trailrunningschuh",), tuple(GENDERS[:3]), (89, 199), True,
             "Leichter Laufschuh mit Steinschutzplatte für technische Trails."),
    Category("Schuhe > Sandalen", ("Trekkingsandale", "Outdoorsandale"), tuple(GENDERS), (39, 109), True,
             "Bequeme Sandale mit verstellbaren Riemen für Sommer und Reise."),
    Category("Schuhe > Hüttenschuhe", ("Hüttenschuh", "Hüttenstiefel"), tuple(GENDERS), (24, 69), True,
             "Warmer, leichter Schuh für Hütte, Zelt und Zuhause."),
    Category("Bekleidung > Jacken", ("Daunenjacke", "Hardshelljacke", "Softshelljacke", "Regenjacke", "Isolationsjacke", "Fleecejacke"),
             tuple(GENDERS[:3]), (59, 449), True, "Atmungsaktive Jacke für wechselhaftes Bergwetter."),
    Category("Bekleidung > Hosen", ("Wanderhose", "Trekkinghose", "Zip-Off-Hose", "Softshellhose", "Kletterhose"),
             tuple(GENDERS[:3]), (49, 189), True, "Robuste, elastische Hose mit Bewegungsfreiheit."),
    Category("Bekleidung > Shirts", ("Funktionsshirt", "Merino-Shirt", "Langarmshirt", "Polo"), tuple(GENDERS), (19, 99), True,
             "Schnell trocknendes Shirt, angenehm auf der Haut."),
    Category("Bekleidung > Mützen & Handschuhe", ("Strickmütze", "Beanie", "Fleecehandschuhe", "Stirnband"),
             ("Einheitsgröße", "S/M", "L/XL"), (14, 59), True, "Hält warm, wenn der Wind am Grat pfeift."),
    Category("Ausrüstung > Rucksäcke", ("Trekkingrucksack", "Wanderrucksack", "Tagesrucksack", "Kletterrucksack"),
             ("18 L", "22 L", "28 L", "35 L", "45 L", "55+10 L", "65 L"), (49, 299), False,
             "Rucksack mit belüftetem Rücken und Regenhülle."),
    Category("Ausrüstung > Zelte", ("Kuppelzelt", "Tunnelzelt", "Trekkingzelt", "Ultraleichtzelt"),
             ("1 Person", "2 Personen", "3 Personen", "4 Personen"), (129, 799), False,
             "Sturmstabiles Zelt mit schnellem Aufbau."),
    Category("Ausrüstung > Schlafsäcke", ("Daunenschlafsack", "Kunstfaserschlafsack", "Hüttenschlafsack"),
             ("+5 °C", "0 °C", "-5 °C", "-10 °C", "-18 °C"), (39, 549), False,
             "Schlafsack mit Komforttemperatur nach EN ISO 23537."),
    Category("Ausrüstung > Isomatten", ("Isomatte", "Luftmatratze", "Thermomatte"), ("Regular", "Long", "Wide"), (29, 199), False,
             "Leichte Matte mit hohem R-Wert."),
    Category("Ausrüstung > Stöcke", ("Trekkingstöcke", "Wanderstöcke"), ("Alu", "Carbon", "Faltbar"), (39, 179), False,
             "Verstellbare Stöcke mit Schnellverschluss."),
    Category("Ausrüstung > Lampen", ("Stirnlampe",), ("200 Lumen", "350 Lumen", "500 Lumen", "900 Lumen"), (19, 129), False,
             "Wiederaufladbare Lampe mit Rotlicht-Modus."),
    Category("Ausrüstung > Trinken", ("Trinkflasche", "Thermosflasche", "Trinksystem"), ("0,5 L", "0,75 L", "1 L", "1,5 L"), (12, 49), False,
             "Auslaufsicher und frei von BPA."),
    Category("Ausrüstung > Kochen", ("Gaskocher", "Topfset", "Campingbesteck", "Kaffeebereiter"), ("Solo", "Duo", "Family"), (14, 149), False,
             "Kompakt verstaubar für Hütte und Biwak."),
    Category("Klettern > Seile", ("Kletterseil", "Einfachseil", "Halbseil"), ("9,8 mm 50 m", "9,5 mm 60 m", "8,9 mm 70 m"), (99, 299), False,
             "Dynamisches Seil nach EN 892."),
    Category("Klettern > Gurte & Schuhe", ("Klettergurt", "Kletterschuh"), tuple(GENDERS[:3]), (49, 179), False,
             "Bequeme Passform für lange Tage am Fels."),
]

# --------------------------------------------------------------------------------------------
# The rules the answer key speaks of (ids of the default ruleset) and the generator's knobs
# --------------------------------------------------------------------------------------------

PRICE_PARITY = "price-parity"
NEWSLETTER_HONOURED = "newsletter-price-honoured"
ADVERTISED_IN_SHOP = "advertised-in-shop"
TOLERANCE_CENTS = 1  # rules compare with tolerance 0.01: a difference must exceed a cent

SHOP_LOCATION = "shop:online"
NEWSLETTER_LOCATION = "newsletter:newsletter"  # the newsletter issue is the file stem

SALE_SHARE = 0.20  # share of products with a g:sale_price
OUT_OF_STOCK_SHARE = 0.03
MISSING_IN_STORE_SHARE = 0.003  # a store that does not carry a product: no finding, parity needs both
DISCOUNTS = (10, 15, 20, 25, 30)  # nominal campaign discounts, percent
DEMO_PARAMS = {"skus": 300, "stores": 3, "seed": 2026}
DEMO_DIR = Path(__file__).parent / "data"
FILES = ("shop_feed.xml", "store_prices.csv", "newsletter.html", "answer_key.json")
STORE_HEADER = ["Filiale", "Artikelnummer", "EAN", "Bezeichnung", "VK-Preis", "Aktionspreis", "Aktion von", "Aktion bis"]
MAX_SKUS = 5_000_000  # each brand's 6-digit item reference must not run out

# Plant kinds. The first eight are planted in this order (the shipped demo has exactly these);
# larger catalogs cycle through the store-side kinds.
STORE_REGULAR = "store-regular-price-differs"
STORE_NO_SALE = "store-missing-sale"
STORE_PROMO = "store-promo-price-differs"
STORE_NO_UPCOMING = "store-missing-upcoming-sale"  # a real inconsistency, but not yet at check_at
NL_PRICE = "newsletter-price-not-charged"
NL_UNKNOWN = "newsletter-product-not-in-shop"
NL_OUT_OF_STOCK = "newsletter-product-out-of-stock"
NL_STORE_NO_SALE = "store-missing-sale-advertised"  # a store plant on a newsletter product
FIRST_PLANTS = [STORE_REGULAR, NL_PRICE, NL_UNKNOWN, NL_OUT_OF_STOCK, STORE_NO_SALE, STORE_PROMO,
                NL_STORE_NO_SALE, STORE_NO_UPCOMING]
MORE_PLANTS = [STORE_REGULAR, STORE_NO_SALE, STORE_PROMO, STORE_REGULAR, STORE_NO_SALE, STORE_PROMO, STORE_NO_UPCOMING]
NEWSLETTER_KINDS = {NL_PRICE, NL_UNKNOWN, NL_OUT_OF_STOCK, NL_STORE_NO_SALE}
MIN_NEWSLETTER_FOR_PLANTS = 6  # below this the newsletter stays honest: too few blocks to spare

# --------------------------------------------------------------------------------------------
# The answer key
# --------------------------------------------------------------------------------------------


class ExpectedFinding(BaseModel):
    model_config = ConfigDict(frozen=True)

    rule: str
    sku: str  # the product key: sku, or the normalised product link when the shop does not know it
    location: str  # the non-reference side: "store:1002", "shop:online", "newsletter:newsletter"

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.rule, self.sku, self.location)


class Plant(BaseModel):
    kind: str
    sku: str
    location: str
    description: str
    findings: list[ExpectedFinding]  # what this plant is meant to cause at check_at (may be none)


class AnswerKey(BaseModel):
    published_at: datetime  # when the channels published the files: publish them as of then
    check_at: datetime  # the instant the expected findings hold at
    params: dict[str, Any]
    planted: list[Plant]
    expected_findings: list[ExpectedFinding]

    def finding_keys(self) -> set[tuple[str, str, str]]:
        return {f.key for f in self.expected_findings}

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def load(cls, path: Path) -> AnswerKey:
        return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))


# --------------------------------------------------------------------------------------------
# Small formatting helpers
# --------------------------------------------------------------------------------------------

_TRANSLIT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "°": ""})
_NON_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    return _NON_SLUG.sub("-", text.lower().translate(_TRANSLIT)).strip("-")


def ean13(body: str) -> str:
    """Twelve digits plus the EAN-13 check digit (weights 1, 3, 1, 3 ... from the left)."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str(-total % 10)


# The same sum for a 6-digit brand prefix and a 6-digit item number, from tables: ean13() is the
# slowest line of a million-product run otherwise.
_PREFIX_SUMS = [sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(prefix)) for _, prefix in BRANDS]
_ITEM_HIGH = [(n // 100) + 3 * (n // 10 % 10) + (n % 10) for n in range(1000)]  # positions 7-9: 1, 3, 1
_ITEM_LOW = [3 * (n // 100) + (n // 10 % 10) + 3 * (n % 10) for n in range(1000)]  # positions 10-12: 3, 1, 3


def brand_gtin(brand_index: int, item: int) -> str:
    total = _PREFIX_SUMS[brand_index] + _ITEM_HIGH[item // 1000] + _ITEM_LOW[item % 1000]
    return f"{BRANDS[brand_index][1]}{item:06d}{-total % 10}"


def feed_money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d} EUR"


def pos_money(cents: int) -> str:
    return f"{cents // 100},{cents % 100:02d}"


def newsletter_money(cents: int) -> str:
    euros = f"{cents // 100:,}".replace(",", ".")  # German thousands mark, should a tent cost 1.049,00
    return f"{euros},{cents % 100:02d} €"


def campaign_price(regular: int, percent: int) -> int:
    """The regular price less `percent`, rounded down to a price ending in 9 cents (79,99, 48,89):
    never less discount than planned, and less than one point more, so "-20 %" stays "-20 %"."""
    exact = regular * (100 - percent) // 100
    price = exact // 10 * 10 + 9
    return price if price <= exact else price - 10


def discount_badge(regular: int, price: int) -> int:
    return (regular - price) * 100 // regular  # rounded down: "-20 %" never overstates


def typo_price(cents: int) -> int:
    """A slip in the campaign plan: ten euros too low (one euro for cheap items)."""
    return cents - (1000 if cents > 2000 else 100)


def shop_link(slug: str, sku: str) -> str:
    return f"{SHOP}/p/{slug}-{sku}"


def normalized_link(link: str) -> str:
    """How the rules key an unknown newsletter product: https, no "www.", no tracking, no trailing slash."""
    return link.split("?", 1)[0].rstrip("/").replace("://www.", "://", 1).replace("http://", "https://", 1)


@dataclass(frozen=True)
class Calendar:
    """The campaign dates, all derived from `today` (the newsletter's first day)."""

    today: date

    @property
    def campaign(self) -> tuple[date, date]:  # Black Friday week: today .. today + 10, whole days
        return (self.today, self.today + timedelta(days=10))

    @property
    def past(self) -> tuple[date, date]:  # an earlier sale, over before the campaign
        return (self.today - timedelta(days=14), self.today - timedelta(days=6))

    @property
    def upcoming(self) -> tuple[date, date]:  # Black Friday weekend deals, starting after check_at
        return (self.today + timedelta(days=7), self.today + timedelta(days=10))

    @property
    def published_at(self) -> datetime:  # the files came out the morning before the campaign
        return datetime.combine(self.today - timedelta(days=1), time(6), tzinfo=TZ)

    @property
    def check_at(self) -> datetime:  # mid-campaign, days away from every window edge
        return datetime.combine(self.today + timedelta(days=4), time(12), tzinfo=TZ)

    @property
    def campaign_code(self) -> str:
        return f"bf{self.today.year}"


# --------------------------------------------------------------------------------------------
# Products
# --------------------------------------------------------------------------------------------


class PriceOffer(NamedTuple):  # a tuple: built millions of times, compared by value
    """What one channel charges for one product: regular price, optional sale in whole days."""

    price: int  # cents
    sale: int | None = None  # cents
    window: tuple[date, date] | None = None  # the sale's first and last day, both whole


@dataclass(slots=True)
class Product:
    sku: str
    gtin: str
    title: str
    slug: str
    brand: str
    category: Category
    link: str
    offer: PriceOffer  # the shop's prices
    in_stock: bool


@dataclass(slots=True)
class Force:
    """What a plan needs of a product, applied after the random draws so the stream stays aligned."""

    sale: str | None = None  # "campaign", "upcoming", "none"
    in_stock: bool | None = None
    min_discount: int = 0


def sku_numbers(rng: Random, n: int) -> array:
    """Article numbers ascending from 100001 with the gaps a delisting leaves behind."""
    out = array("q", bytes(8 * n))
    number = 100_000
    for i in range(n):
        number += 1 if rng.random() < 0.85 else 2 + int(rng.random() * 3)
        out[i] = number
    return out


# Every word's slug, once: the title's slug is their join (no word slugs to nothing).
_SLUGS = {w: slugify(w) for c in CATEGORIES for w in (*c.nouns, *c.suffixes)} \
    | {w: slugify(w) for w in (*MODELS, *VARIANTS, *COLOURS)}


_N_CATEGORIES, _N_BRANDS, _N_DISCOUNTS = len(CATEGORIES), len(BRANDS), len(DISCOUNTS)


class ProductMaker:
    def __init__(self, rng: Random, cal: Calendar) -> None:
        self.rng = rng
        self.windows = {"none": None, "campaign": cal.campaign, "past": cal.past, "upcoming": cal.upcoming}
        self.next_item = [0] * len(BRANDS)  # per brand: the next EAN item reference

    def title(self, category: Category) -> tuple[str, str]:
        """A title from the word lists, and its slug for the product link."""
        r = self.rng.random
        words = [category.nouns[int(r() * len(category.nouns))], MODELS[int(r() * len(MODELS))]]
        if r() < 0.6:
            words.append(VARIANTS[int(r() * len(VARIANTS))])
        words.append(category.suffixes[int(r() * len(category.suffixes))])
        title, slug = " ".join(words), "-".join([_SLUGS[w] for w in words])
        if category.coloured and r() < 0.5:
            colour = COLOURS[int(r() * len(COLOURS))]
            return f"{title} – {colour}", f"{slug}-{_SLUGS[colour]}"
        return title, slug

    def make(self, sku: str, force: Force | None = None) -> Product:
        r = self.rng.random
        category = CATEGORIES[int(r() * _N_CATEGORIES)]
        brand_index = int(r() * _N_BRANDS)
        next_item = self.next_item
        item = next_item[brand_index]
        next_item[brand_index] = item + 1
        title, slug = self.title(category)
        lo, hi = category.euros
        euros = lo + int(r() * (hi - lo + 1))
        if euros >= 50:
            euros = euros // 10 * 10 + 9  # 129, 139, ...: shelf prices, not random numbers
        price = euros * 100 + (99, 99, 99, 99, 99, 99, 95, 95, 90, 0)[int(r() * 10)]
        # Draw everything, always: forcing must not shift the random stream of later products.
        sale_roll, window_roll, discount, stock_roll = r(), r(), DISCOUNTS[int(r() * _N_DISCOUNTS)], r()
        kind = "none"
        if sale_roll < SALE_SHARE:
            kind = "campaign" if window_roll < 0.8 else ("past" if window_roll < 0.9 else "upcoming")
        in_stock = stock_roll >= OUT_OF_STOCK_SHARE
        if force is not None:
            kind = force.sale or kind
            in_stock = in_stock if force.in_stock is None else force.in_stock
            discount = max(discount, force.min_discount)
        window = self.windows[kind]
        offer = PriceOffer(price, campaign_price(price, discount), window) if window else PriceOffer(price)
        # Positional: keywords cost a microsecond, a second per million products.
        return Product(sku, brand_gtin(brand_index, item), title, slug, BRANDS[brand_index][0],
                       category, shop_link(slug, sku), offer, in_stock)


# --------------------------------------------------------------------------------------------
# The oracle: the rules' semantics in plain Python, on the values as written
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=256)  # a catalog has a handful of distinct windows, and millions of offers
def in_window(window: tuple[date, date], at: datetime) -> bool:
    """Whole days in Europe/Berlin: [first day 00:00, the day after the last 00:00)."""
    start = datetime.combine(window[0], time(0), tzinfo=TZ)
    end = datetime.combine(window[1] + timedelta(days=1), time(0), tzinfo=TZ)
    return start <= at < end


def effective_cents(offer: PriceOffer, at: datetime) -> int:
    """The sale price inside its window, else the regular price."""
    if offer.sale is None or offer.window is None:
        return offer.price
    return offer.sale if in_window(offer.window, at) else offer.price


def differs(a: int, b: int) -> bool:
    return abs(a - b) > TOLERANCE_CENTS


class Oracle:
    """Collects the findings the default rules must report at `at`."""

    def __init__(self, at: datetime) -> None:
        self.at = at
        self.found: set[tuple[str, str, str]] = set()

    def price_parity(self, sku: str, shop: PriceOffer, stores: dict[str, PriceOffer]) -> None:
        """price-parity: per (sku, store), regular or effective price differs from the shop's."""
        shop_now = effective_cents(shop, self.at)
        for store, offer in stores.items():
            if offer is shop:  # the shop's own offer object: equal by construction
                continue
            if differs(offer.price, shop.price) or differs(effective_cents(offer, self.at), shop_now):
                self.found.add((PRICE_PARITY, sku, f"store:{store}"))

    def newsletter_honoured(self, sku: str, advertised: int, shop: PriceOffer | None) -> None:
        """newsletter-price-honoured: the shop charges the advertised price. (Stores are held to it
        through price-parity: a store that does not honour it differs from the shop, or the shop
        does not honour it either; comparing them again would report one mistake many times.)"""
        if shop and differs(effective_cents(shop, self.at), advertised):
            self.found.add((NEWSLETTER_HONOURED, sku, SHOP_LOCATION))

    def advertised_in_shop(self, key: str, in_shop: bool, in_stock: bool) -> None:
        """advertised-in-shop (require_available): the shop lists it and has it in stock."""
        if not (in_shop and in_stock):
            self.found.add((ADVERTISED_IN_SHOP, key, NEWSLETTER_LOCATION))


# --------------------------------------------------------------------------------------------
# The plan: which products carry plants and which go into the newsletter
# --------------------------------------------------------------------------------------------


@dataclass
class PlannedPlant:
    kind: str
    index: int | None  # product index; None for the product the shop does not know
    store: str | None = None


@dataclass
class Plan:
    newsletter: list[int]  # product indices, in display order
    unknown_position: int | None  # where the not-in-shop block goes, if planted
    plants: list[PlannedPlant]
    forces: dict[int, Force] = field(default_factory=dict)
    store_plants: dict[int, PlannedPlant] = field(default_factory=dict)  # index -> its store plant

    def newsletter_plant(self, kind: str) -> PlannedPlant | None:
        return next((p for p in self.plants if p.kind == kind), None)


def plant_count(skus: int, rate: float | None) -> int:
    if rate is None:
        return max(len(FIRST_PLANTS), round(0.01 * skus))  # a handful for a demo, ~1 % for a big catalog
    return round(rate * skus)


def make_plan(rng: Random, *, skus: int, store_ids: list[str], plants: int, newsletter_items: int) -> Plan:
    kinds = [FIRST_PLANTS[i] if i < len(FIRST_PLANTS) else MORE_PLANTS[(i - len(FIRST_PLANTS)) % len(MORE_PLANTS)]
             for i in range(plants)]
    if min(newsletter_items, skus) < MIN_NEWSLETTER_FOR_PLANTS:
        kinds = [k for k in kinds if k not in NEWSLETTER_KINDS]
    if not store_ids:
        kinds = [k for k in kinds if k in NEWSLETTER_KINDS and k != NL_STORE_NO_SALE]
    unknown = NL_UNKNOWN in kinds
    catalog_blocks = min(newsletter_items - unknown, skus)
    # One product per store plant (two plants never share a product); newsletter plants use
    # newsletter products. A small catalog gets as many plants as it has products to spare.
    room, capped = skus - catalog_blocks, []
    for kind in kinds:
        if kind in NEWSLETTER_KINDS or room > 0:
            room -= kind not in NEWSLETTER_KINDS
            capped.append(kind)
    kinds = capped
    chosen = rng.sample(range(skus), catalog_blocks + sum(1 for k in kinds if k not in NEWSLETTER_KINDS))
    newsletter, store_side = chosen[:catalog_blocks], iter(chosen[catalog_blocks:])
    plan = Plan(newsletter=newsletter, unknown_position=int(rng.random() * (catalog_blocks + 1)) if unknown else None, plants=[])
    for index in newsletter:
        plan.forces[index] = Force(sale="campaign" if rng.random() < 0.75 else "none", in_stock=True)
    spare_newsletter = iter(newsletter)
    for kind in kinds:
        if kind == NL_UNKNOWN:
            plant = PlannedPlant(kind, None)
        elif kind in NEWSLETTER_KINDS:
            plant = PlannedPlant(kind, next(spare_newsletter))
        else:
            plant = PlannedPlant(kind, next(store_side))
        if kind in (STORE_REGULAR, STORE_NO_SALE, STORE_PROMO, STORE_NO_UPCOMING, NL_STORE_NO_SALE):
            plant.store = store_ids[int(rng.random() * len(store_ids))]
            plan.store_plants[plant.index] = plant
        force = plan.forces.setdefault(plant.index, Force()) if plant.index is not None else None
        if kind in (STORE_NO_SALE, STORE_PROMO, NL_STORE_NO_SALE):
            force.sale = "campaign"  # these plants need a sale running at check_at
        elif kind == STORE_NO_UPCOMING:
            force.sale = "upcoming"
        elif kind == NL_OUT_OF_STOCK:
            force.in_stock = False
        elif kind == NL_PRICE:
            force.sale = "campaign"
        plan.plants.append(plant)
    return plan


# --------------------------------------------------------------------------------------------
# Writers: feed items, store rows
# --------------------------------------------------------------------------------------------

FEED_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0">
  <channel>
    <title>{retailer}</title>
    <link>{shop}</link>
    <description>{retailer}: Produktdaten für Google Shopping</description>
    <lastBuildDate>{built}</lastBuildDate>
"""
FEED_TAIL = "  </channel>\n</rss>\n"


_ESCAPED = {c.path: xml_escape(c.path) for c in CATEGORIES} | {b: xml_escape(b) for b, _ in BRANDS} \
    | {c.blurb: xml_escape(c.blurb) for c in CATEGORIES}


def xml_text(text: str) -> str:
    """xml_escape, skipped for the many texts that need none (a million items: it shows)."""
    return xml_escape(text) if "&" in text or "<" in text or ">" in text else text


@lru_cache(maxsize=64)
def iso_interval(window: tuple[date, date]) -> str:
    """Date-only, as shop systems write it: the first and the last day of the sale."""
    return f"{window[0].isoformat()}/{window[1].isoformat()}"


def feed_item(p: Product) -> str:
    o = p.offer
    sale = ""
    if o.sale is not None:
        sale = (f"      <g:sale_price>{feed_money(o.sale)}</g:sale_price>\n"
                f"      <g:sale_price_effective_date>{iso_interval(o.window)}</g:sale_price_effective_date>\n")
    title, brand = xml_text(p.title), _ESCAPED[p.brand]
    return (
        "    <item>\n"
        f"      <g:id>{p.sku}</g:id>\n"
        f"      <g:title>{title}</g:title>\n"
        f"      <g:description>{title} von {brand}. {_ESCAPED[p.category.blurb]}</g:description>\n"
        f"      <g:link>{p.link}</g:link>\n"  # slug and digits only: nothing to escape
        f"      <g:image_link>{MEDIA}/catalog/{p.sku}.jpg</g:image_link>\n"
        f"      <g:price>{feed_money(o.price)}</g:price>\n"
        f"{sale}"
        f"      <g:availability>{'in_stock' if p.in_stock else 'out_of_stock'}</g:availability>\n"
        "      <g:condition>new</g:condition>\n"
        f"      <g:brand>{brand}</g:brand>\n"
        f"      <g:gtin>{p.gtin}</g:gtin>\n"
        f"      <g:product_type>{_ESCAPED[p.category.path]}</g:product_type>\n"
        "    </item>\n"
    )


def csv_field(text: str) -> str:
    """Quote as Excel and the csv module do, should a label ever hold the separator or a quote."""
    if ";" in text or '"' in text or "\n" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def pos_label(title: str) -> str:
    """POS systems keep a short upper-case label (40 characters)."""
    return csv_field(title.upper()[:40].rstrip())


@lru_cache(maxsize=64)
def pos_dates(window: tuple[date, date]) -> str:
    return f"{window[0]:%d.%m.%Y};{window[1]:%d.%m.%Y}"


def pos_promo(sale: int | None, window: tuple[date, date] | None) -> str:
    return f"{pos_money(sale)};{pos_dates(window)}" if sale is not None else ";;"


def store_line(p: Product, offer: PriceOffer) -> str:
    """A store row without its leading store id: the same for every store that has the shop's prices."""
    return f"{p.sku};{p.gtin};{pos_label(p.title)};{pos_money(offer.price)};{pos_promo(offer.sale, offer.window)}\r\n"


def store_offer(p: Product, plant: PlannedPlant) -> PriceOffer:
    """What the store a plant is on charges instead of the shop's prices."""
    o = p.offer
    if plant.kind == STORE_REGULAR:
        # The store still has the old shelf price: ten euros off, in whichever direction keeps it above the sale.
        old = o.price - 1000 if o.price - 1000 > (o.sale or 0) + 100 else o.price + 1000
        return PriceOffer(old, o.sale, o.window)
    if plant.kind in (STORE_NO_SALE, NL_STORE_NO_SALE, STORE_NO_UPCOMING):
        return PriceOffer(o.price)
    if plant.kind == STORE_PROMO:
        # The store got a smaller discount: whole euros, half the gap, at least one euro.
        gap = o.price - o.sale
        return PriceOffer(o.price, o.sale + max(100, gap // 2 // 100 * 100), o.window)
    raise AssertionError(plant.kind)


# --------------------------------------------------------------------------------------------
# The newsletter
# --------------------------------------------------------------------------------------------


@dataclass
class Block:
    """One product block of the newsletter."""

    title: str
    link: str
    image: str
    price: int  # the advertised price
    regular: int | None  # the "statt" price, when discounted
    sku: str | None  # printed as "Art.-Nr."; None for a product the shop does not know


NEWSLETTER_HEAD = """<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" lang="de">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
<meta name="viewport" content="width=device-width, initial-scale=1.0" />
<title>{subject}</title>
<style type="text/css">
  body {{ margin: 0; padding: 0; }}
  img {{ border: 0; outline: none; text-decoration: none; }}
  @media only screen and (max-width: 620px) {{
    .wrapper {{ width: 100% !important; }}
    .product-col {{ display: block !important; width: 100% !important; }}
  }}
</style>
</head>
<body style="margin:0;padding:0;background-color:#eeeeea;">
<div style="display:none;max-height:0;overflow:hidden;mso-hide:all;">{preheader}</div>
<table role="presentation" width="100%" border="0" cellpadding="0" cellspacing="0" style="background-color:#eeeeea;">
<tr><td align="center" style="padding:16px 8px;">
<table role="presentation" class="wrapper" width="600" border="0" cellpadding="0" cellspacing="0" style="background-color:#ffffff;font-family:Arial,Helvetica,sans-serif;color:#1d2b22;">
  <tr>
    <td style="padding:8px 24px;font-size:11px;color:#6b756e;" align="right"><a href="{browser}" style="color:#6b756e;">Im Browser ansehen</a></td>
  </tr>
  <tr>
    <td align="center" style="padding:16px 24px;border-bottom:3px solid #2f5d3a;"><a href="{home}"><img src="{media}/newsletter/logo-bergwelt.png" width="200" height="48" alt="{retailer}" style="display:block;" /></a></td>
  </tr>
  <tr>
    <td align="center" style="padding:10px 24px;font-size:13px;">
      <a href="{nav_shoes}" style="color:#1d2b22;text-decoration:none;">Schuhe</a> &nbsp;|&nbsp;
      <a href="{nav_clothes}" style="color:#1d2b22;text-decoration:none;">Bekleidung</a> &nbsp;|&nbsp;
      <a href="{nav_gear}" style="color:#1d2b22;text-decoration:none;">Ausrüstung</a> &nbsp;|&nbsp;
      <a href="{nav_sale}" style="color:#c8102e;text-decoration:none;font-weight:bold;">Sale</a>
    </td>
  </tr>
  <tr>
    <td align="center" style="padding:32px 24px;background-color:#2f5d3a;color:#ffffff;">
      <h1 style="margin:0 0 8px 0;font-size:28px;line-height:34px;">{hero}</h1>
      <p style="margin:0 0 20px 0;font-size:16px;">Jetzt ausrüsten für den Winter: Schuhe, Jacken und Ausrüstung stark reduziert.</p>
      <a href="{nav_sale}" style="display:inline-block;padding:12px 28px;background-color:#c8102e;color:#ffffff;text-decoration:none;font-weight:bold;border-radius:3px;">Jetzt entdecken</a>
    </td>
  </tr>
  <tr>
    <td align="center" style="padding:14px 24px;font-size:14px;font-weight:bold;">{validity}</td>
  </tr>
  <tr>
    <td style="padding:0 14px;">
      <table role="presentation" width="100%" border="0" cellpadding="0" cellspacing="0">
"""

PRODUCT_BLOCK = """          <td class="product-col" width="50%" valign="top" style="padding:10px;">
            <a href="{href}"><img src="{image}" width="262" alt="{title}" style="display:block;width:100%;max-width:262px;" /></a>
            {badge}<p style="margin:10px 0 2px 0;font-size:15px;line-height:20px;"><a href="{href}" style="color:#1d2b22;text-decoration:none;">{title}</a></p>
            {sku_line}<p style="margin:6px 0 0 0;"><span style="font-size:20px;font-weight:bold;color:{price_colour};">{price}</span>{was}</p>
          </td>
"""
BADGE = '<span style="display:inline-block;margin-top:8px;padding:2px 6px;background-color:#c8102e;color:#ffffff;font-size:13px;font-weight:bold;">-{percent} %</span>\n            '
WAS = ' <span style="text-decoration:line-through;font-size:14px;color:#6b756e;">statt {regular}</span>'
SKU_LINE = '<p style="margin:0;font-size:11px;color:#6b756e;">Art.-Nr. {sku}</p>\n            '
EMPTY_CELL = '          <td class="spacer" width="50%" style="font-size:0;line-height:0;">&nbsp;</td>\n'

NEWSLETTER_TAIL = """      </table>
    </td>
  </tr>
  <tr>
    <td align="center" style="padding:18px 24px;font-size:14px;background-color:#f4f1ea;">Versandkostenfrei ab 50 € &middot; 30 Tage Rückgaberecht &middot; Kauf auf Rechnung</td>
  </tr>
  <tr>
    <td style="padding:16px 24px;font-size:11px;line-height:16px;color:#6b756e;">Alle Preise inkl. MwSt., zzgl. Versandkosten. Solange der Vorrat reicht. Streichpreise: unser bisheriger Verkaufspreis im Onlineshop. Preise in den Filialen können abweichen.</td>
  </tr>
  <tr>
    <td align="center" style="padding:20px 24px;background-color:#1d2b22;color:#cfd8d1;font-size:12px;line-height:18px;">
      <a href="https://www.facebook.com/bergweltoutdoor"><img src="{media}/newsletter/icon-facebook.png" width="24" height="24" alt="Facebook" /></a>
      &nbsp;
      <a href="https://www.instagram.com/bergweltoutdoor"><img src="{media}/newsletter/icon-instagram.png" width="24" height="24" alt="Instagram" /></a>
      <p style="margin:12px 0;">{company}</p>
      <p style="margin:0;"><a href="{imprint}" style="color:#cfd8d1;">Impressum</a> &nbsp;|&nbsp; <a href="{privacy}" style="color:#cfd8d1;">Datenschutz</a> &nbsp;|&nbsp; <a href="{unsubscribe}" style="color:#cfd8d1;">Abmelden</a></p>
      <p style="margin:12px 0 0 0;">Sie erhalten diese E-Mail, weil Sie sich für den Newsletter von {retailer} angemeldet haben.</p>
    </td>
  </tr>
</table>
</td></tr>
</table>
</body>
</html>
"""


def tracked(url: str, campaign: str) -> str:
    return f"{url}?{TRACKING.format(campaign=campaign)}"


def render_block(b: Block, campaign: str) -> str:
    e = html.escape
    percent = discount_badge(b.regular, b.price) if b.regular else None
    return PRODUCT_BLOCK.format(
        href=e(tracked(b.link, campaign)), image=e(b.image), title=e(b.title),
        badge=BADGE.format(percent=percent) if percent else "",
        sku_line=SKU_LINE.format(sku=e(b.sku)) if b.sku else "",
        price=e(newsletter_money(b.price)), price_colour="#c8102e" if b.regular else "#1d2b22",
        was=WAS.format(regular=e(newsletter_money(b.regular))) if b.regular else "",
    )


def render_newsletter(blocks: list[Block], cal: Calendar) -> str:
    e = html.escape
    code = cal.campaign_code
    first, last = cal.campaign
    badges = [discount_badge(b.regular, b.price) for b in blocks if b.regular]
    hero = f"Black Friday Woche: bis zu {max(badges)} % Rabatt" if badges else "Black Friday Woche bei Bergwelt"
    head = NEWSLETTER_HEAD.format(
        subject=e(f"{hero} | {RETAILER}"), preheader=e("Wanderschuhe, Jacken, Rucksäcke: unsere besten Angebote des Jahres."),
        browser=e(tracked(f"https://news.bergwelt-outdoor.de/view/{code}", code)), home=e(tracked(f"{SHOP}/", code)),
        media=MEDIA, retailer=e(RETAILER), hero=e(hero),
        nav_shoes=e(tracked(f"{SHOP}/c/schuhe", code)), nav_clothes=e(tracked(f"{SHOP}/c/bekleidung", code)),
        nav_gear=e(tracked(f"{SHOP}/c/ausruestung", code)), nav_sale=e(tracked(f"{SHOP}/aktionen/black-friday", code)),
        validity=e(f"Angebote gültig vom {first:%d.%m.} bis {last:%d.%m.%Y}"),
    )
    rows = []
    for i in range(0, len(blocks), 2):
        cells = [render_block(b, code) for b in blocks[i:i + 2]]
        cells += [EMPTY_CELL] * (2 - len(cells))
        rows.append("        <tr>\n" + "".join(cells) + "        </tr>\n")
    tail = NEWSLETTER_TAIL.format(
        media=MEDIA, retailer=e(RETAILER),
        company=e("Bergwelt Outdoor GmbH · Talstraße 12 · 87435 Kempten (Allgäu) · Amtsgericht Kempten HRB 00000"),
        imprint=e(f"{SHOP}/impressum"), privacy=e(f"{SHOP}/datenschutz"),
        unsubscribe=e(f"https://news.bergwelt-outdoor.de/abmelden?list={code}&id=%%SUBSCRIBER_ID%%"),
    )
    return head + "".join(rows) + tail


# --------------------------------------------------------------------------------------------
# generate()
# --------------------------------------------------------------------------------------------


@dataclass
class _Seen:
    """What the catalog pass keeps: only the products that plants and the newsletter refer to."""

    products: dict[int, Product] = field(default_factory=dict)
    stores: dict[int, dict[str, PriceOffer]] = field(default_factory=dict)  # index -> store -> offer


def generate(
    out_dir: Path,
    *,
    skus: int,
    stores: int,
    seed: int,
    inconsistency_rate: float | None = None,
    newsletter_items: int | None = None,
    today: date = date(2026, 11, 20),
) -> AnswerKey:
    """Write the shop feed, the store price file, the newsletter and the answer key to `out_dir`.

    inconsistency_rate: plants per product (default: eight for a small catalog, 1 % for a large
    one), capped at what the catalog holds: one product per plant, apart from the newsletter's.
    newsletter_items: product blocks in the newsletter (default min(12, skus)); with fewer than
    six the newsletter carries no plants. today: the campaign's first day; check_at is four days on.
    Files in out_dir other than the four written are left alone.
    """
    if not 1 <= skus <= MAX_SKUS:
        raise ValueError(f"skus must be between 1 and {MAX_SKUS:,}, not {skus}")
    if stores < 0:
        raise ValueError(f"stores must not be negative, not {stores}")
    if inconsistency_rate is not None and not 0 <= inconsistency_rate <= 1:
        raise ValueError(f"inconsistency_rate is a share between 0 and 1, not {inconsistency_rate}")
    newsletter_items = min(12, skus) if newsletter_items is None else newsletter_items
    if newsletter_items < 0:
        raise ValueError(f"newsletter_items must not be negative, not {newsletter_items}")

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cal = Calendar(today)
    master = Random(seed)
    # Independent streams, so the plan never shifts the products and vice versa.
    number_rng, plan_rng, product_rng, store_rng, newsletter_rng = (Random(master.getrandbits(64)) for _ in range(5))
    store_ids = [str(1001 + i) for i in range(stores)]
    numbers = sku_numbers(number_rng, skus)
    plan = make_plan(plan_rng, skus=skus, store_ids=store_ids,
                     plants=plant_count(skus, inconsistency_rate), newsletter_items=newsletter_items)
    oracle = Oracle(cal.check_at)
    unknown = _unknown_product(newsletter_rng, cal, numbers) if plan.unknown_position is not None else None
    seen = _write_catalog(out_dir, plan, cal, numbers, store_ids, product_rng, store_rng, oracle,
                          watch={unknown.link} if unknown else set())
    blocks = _newsletter_blocks(plan, seen, unknown)
    (out_dir / "newsletter.html").write_text(render_newsletter(blocks, cal), encoding="utf-8", newline="\n")
    _newsletter_oracle(oracle, blocks, seen, plan)

    planted = [_describe(p, seen, unknown, store_ids) for p in plan.plants]
    expected = sorted(oracle.found)
    meant = sorted({f.key for p in planted for f in p.findings})
    if meant != expected:  # the oracle and the plants' intent disagree: a bug here, never ship it
        raise RuntimeError(f"generator bug: oracle found {set(expected) - set(meant)} unplanned, "
                           f"missed {set(meant) - set(expected)}")
    key = AnswerKey(
        published_at=cal.published_at,
        check_at=cal.check_at,
        params={"skus": skus, "stores": stores, "seed": seed, "inconsistency_rate": inconsistency_rate,
                "newsletter_items": newsletter_items, "today": today.isoformat()},
        planted=planted,
        expected_findings=[ExpectedFinding(rule=r, sku=s, location=loc) for r, s, loc in expected],
    )
    (out_dir / "answer_key.json").write_text(key.to_json(), encoding="utf-8", newline="\n")
    return key


CHUNK = 2_000  # products per write: few large writes, little memory


def missing_in_stores(rng: Random, n: int, store_ids: list[str], keep: set[int]) -> dict[str, set[int]]:
    """The products each store does not carry (a share of MISSING_IN_STORE_SHARE). Drawn as
    geometric gaps, one draw per missing row rather than per row; never a planted product."""
    step = math.log(1.0 - MISSING_IN_STORE_SHARE)
    missing = {}
    for store in store_ids:
        gone, i = set(), -1
        while (i := i + 1 + int(math.log(1.0 - rng.random()) / step)) < n:
            if i not in keep:
                gone.add(i)
        missing[store] = gone
    return missing


def _write_catalog(out_dir: Path, plan: Plan, cal: Calendar, numbers: array, store_ids: list[str],
                   product_rng: Random, store_rng: Random, oracle: Oracle, watch: set[str]) -> _Seen:
    """One pass over the products, in chunks: feed items, store rows, and the price-parity oracle.

    Most store rows are the shop's prices with the store id in front: one line per product serves
    every store, and only the exceptions (a missing product, a plant) are patched per store.
    Stores go to one temporary file each, joined at the end: the export is ordered by store as a
    real one is, without holding millions of rows in memory."""
    maker = ProductMaker(product_rng, cal)
    seen = _Seen()
    planted = {p.index for p in plan.plants if p.index is not None}
    keep = set(plan.newsletter) | planted
    missing = missing_in_stores(store_rng, len(numbers), store_ids, planted)
    exceptions = {s: sorted(missing[s] | {i for i, p in plan.store_plants.items() if p.store == s}) for s in store_ids}
    built = datetime.combine(cal.today, time(6), tzinfo=TZ).strftime("%a, %d %b %Y %H:%M:%S %z")
    parts = [out_dir / f".store_prices.{s}.part" for s in store_ids]
    store_files = [part.open("w", encoding="cp1252", newline="", buffering=1 << 20) for part in parts]
    try:
        with (out_dir / "shop_feed.xml").open("w", encoding="utf-8", newline="\n", buffering=1 << 20) as feed:
            feed.write(FEED_HEAD.format(retailer=xml_escape(RETAILER), shop=SHOP, built=built))
            for first in range(0, len(numbers), CHUNK):
                items, lines, products = [], [], []
                for i in range(first, min(first + CHUNK, len(numbers))):
                    p = maker.make(str(numbers[i]), plan.forces.get(i))
                    if p.link in watch:
                        raise RuntimeError(f"generator bug: {p.link} is in the feed but planted as unknown")
                    items.append(feed_item(p))
                    lines.append(store_line(p, p.offer))
                    products.append(p)
                    if i in keep:
                        # Every other product has the shop's own prices in every store that carries
                        # it: nothing for the oracle to compare.
                        plant = plan.store_plants.get(i)
                        offers = {s: store_offer(p, plant) if plant and plant.store == s else p.offer
                                  for s in store_ids if i not in missing[s]}
                        oracle.price_parity(p.sku, p.offer, offers)
                        seen.products[i], seen.stores[i] = p, offers
                feed.write("".join(items))
                for store, f in zip(store_ids, store_files):
                    rows = lines
                    exc = exceptions[store]
                    lo = bisect_left(exc, first)
                    hi = bisect_left(exc, first + len(lines))
                    if lo < hi:
                        rows = list(lines)
                        for i in exc[lo:hi]:
                            plant = plan.store_plants.get(i)
                            p = products[i - first]
                            rows[i - first] = "" if i in missing[store] else store_line(p, store_offer(p, plant))
                        rows = [r for r in rows if r]
                    prefix = f"{store};"
                    f.write(prefix + prefix.join(rows) if rows else "")
            feed.write(FEED_TAIL)
        for f in store_files:
            f.close()
        with (out_dir / "store_prices.csv").open("wb") as out:
            out.write((";".join(STORE_HEADER) + "\r\n").encode("cp1252"))
            for part in parts:
                with part.open("rb") as f:
                    shutil.copyfileobj(f, out, 1 << 20)
    finally:
        for f in store_files:
            f.close()
        for part in parts:
            part.unlink(missing_ok=True)
    return seen


def _unknown_product(rng: Random, cal: Calendar, numbers: array) -> Product:
    """A delisted product the newsletter still advertises: an article number from a gap in the range."""
    start = int(rng.random() * len(numbers))
    for i in chain(range(start, len(numbers)), range(1, start)):
        if i > 0 and numbers[i] - numbers[i - 1] > 1:
            number = numbers[i] - 1
            break
    else:
        number = numbers[-1] + 1
    return ProductMaker(rng, cal).make(str(number), Force(sale="campaign", min_discount=20))


def _newsletter_blocks(plan: Plan, seen: _Seen, unknown: Product | None) -> list[Block]:
    """Advertise the price the shop charges during the campaign, "statt" its regular price."""
    wrong = plan.newsletter_plant(NL_PRICE)
    blocks = []
    for index in plan.newsletter:
        p = seen.products[index]
        o = p.offer  # newsletter products have no sale or one over the whole campaign (see make_plan)
        price = o.sale if o.sale is not None else o.price
        if wrong is not None and wrong.index == index:
            price = typo_price(price)
        blocks.append(Block(p.title, p.link, f"{MEDIA}/catalog/{p.sku}.jpg", price,
                            o.price if price < o.price else None, p.sku))
    if unknown is not None:
        o = unknown.offer
        blocks.insert(plan.unknown_position, Block(unknown.title, unknown.link, f"{MEDIA}/catalog/{unknown.sku}.jpg",
                                                   o.sale, o.price, None))
    return blocks


def _newsletter_oracle(oracle: Oracle, blocks: list[Block], seen: _Seen, plan: Plan) -> None:
    """Resolve each block to the shop by Art.-Nr., else by link, as the rules do; then check it.
    (Only newsletter products can match: the catalog pass made sure no feed item has the link
    of the planted unknown product.)"""
    by_sku = {seen.products[i].sku: i for i in plan.newsletter}
    by_link = {seen.products[i].link: i for i in plan.newsletter}
    for b in blocks:
        index = by_sku.get(b.sku) if b.sku else by_link.get(b.link)
        if index is None:
            oracle.advertised_in_shop(normalized_link(b.link), in_shop=False, in_stock=False)
            continue
        p = seen.products[index]
        oracle.advertised_in_shop(p.sku, in_shop=True, in_stock=p.in_stock)
        oracle.newsletter_honoured(p.sku, b.price, p.offer)


def _describe(plant: PlannedPlant, seen: _Seen, unknown: Product | None, store_ids: list[str]) -> Plant:
    """The plant as a merchandiser would read it, and the findings it is meant to cause."""
    if plant.kind == NL_UNKNOWN:
        key = normalized_link(unknown.link)
        return Plant(kind=plant.kind, sku=key, location=NEWSLETTER_LOCATION,
                     description=f"the newsletter advertises '{unknown.title}' ({unknown.link}), a product the shop feed does not list",
                     findings=[ExpectedFinding(rule=ADVERTISED_IN_SHOP, sku=key, location=NEWSLETTER_LOCATION)])
    p = seen.products[plant.index]
    o, offers = p.offer, seen.stores[plant.index]
    sku, name = p.sku, f"{p.sku} '{p.title}'"

    def finding(rule: str, location: str) -> ExpectedFinding:
        return ExpectedFinding(rule=rule, sku=sku, location=location)

    if plant.kind == NL_PRICE:  # planted on a campaign sale: the shop charges o.sale at check_at
        advertised = typo_price(o.sale)
        return Plant(kind=plant.kind, sku=sku, location=NEWSLETTER_LOCATION,
                     description=f"the newsletter advertises {name} at {feed_money(advertised)}; shop and stores charge {feed_money(o.sale)}",
                     findings=[finding(NEWSLETTER_HONOURED, SHOP_LOCATION)])
    if plant.kind == NL_OUT_OF_STOCK:
        return Plant(kind=plant.kind, sku=sku, location=NEWSLETTER_LOCATION,
                     description=f"the newsletter advertises {name}, which the shop feed lists as out_of_stock",
                     findings=[finding(ADVERTISED_IN_SHOP, NEWSLETTER_LOCATION)])
    store = f"store:{plant.store}"
    offer = offers[plant.store]
    if plant.kind == STORE_REGULAR:
        text = f"store {plant.store} charges the regular price {feed_money(offer.price)} for {name}; the shop charges {feed_money(o.price)}"
        return Plant(kind=plant.kind, sku=sku, location=store, description=text, findings=[finding(PRICE_PARITY, store)])
    if plant.kind in (STORE_NO_SALE, NL_STORE_NO_SALE):
        text = (f"store {plant.store} lacks the campaign price {feed_money(o.sale)} for {name} "
                f"({o.window[0]:%d.%m.}–{o.window[1]:%d.%m.%Y}) and charges {feed_money(o.price)}")
        findings = [finding(PRICE_PARITY, store)]
        if plant.kind == NL_STORE_NO_SALE:
            text += "; the newsletter advertises the campaign price"
        return Plant(kind=plant.kind, sku=sku, location=store, description=text, findings=findings)
    if plant.kind == STORE_PROMO:
        text = f"store {plant.store} runs the promotion for {name} at {feed_money(offer.sale)}; the shop's sale price is {feed_money(o.sale)}"
        return Plant(kind=plant.kind, sku=sku, location=store, description=text, findings=[finding(PRICE_PARITY, store)])
    if plant.kind == STORE_NO_UPCOMING:
        text = (f"store {plant.store} lacks the shop's upcoming sale {feed_money(o.sale)} for {name} "
                f"({o.window[0]:%d.%m.}–{o.window[1]:%d.%m.%Y}): no finding at check_at, one from {o.window[0]:%d.%m.}")
        return Plant(kind=plant.kind, sku=sku, location=store, description=text, findings=[])
    raise AssertionError(plant.kind)


def write_demo(out_dir: Path = DEMO_DIR) -> AnswerKey:
    """Regenerate the shipped demo retailer (demo/data). Its README is kept by hand."""
    return generate(out_dir, **DEMO_PARAMS)
