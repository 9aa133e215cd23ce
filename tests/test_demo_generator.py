"""The synthetic retailer: real formats, deterministic bytes, and an answer key that is right.

The answer key is checked against an oracle written here from scratch: it reads the three files
with the standard library only (ElementTree, csv, html.parser), so a formatting slip in the
generator (a price written wrong, a promo date off by a day) shows up as a disagreement.
"""
from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from unisono.demo.generator import DEMO_DIR, DEMO_PARAMS, FILES, AnswerKey, brand_gtin, ean13, generate

G = "{http://base.google.com/ns/1.0}"
BERLIN = ZoneInfo("Europe/Berlin")
HEADER = "Filiale;Artikelnummer;EAN;Bezeichnung;VK-Preis;Aktionspreis;Aktion von;Aktion bis"


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    generate(out, **DEMO_PARAMS)
    return out


def key_of(folder: Path) -> AnswerKey:
    return AnswerKey.load(folder / "answer_key.json")


# --- an independent reading of the files ------------------------------------------------------


def valid_ean13(code: str) -> bool:
    digits = [int(c) for c in code]
    return len(digits) == 13 and sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10 == 0


def cents(text: str) -> int:
    """ "129.99", "129,99", "1.049,99" -> cents."""
    text = text.strip()
    if "," in text:
        text = text.replace(".", "").replace(",", ".")
    return int(Decimal(text) * 100)


def berlin_days(first: date, last: date) -> tuple[datetime, datetime]:
    return (datetime.combine(first, time(0), tzinfo=BERLIN),
            datetime.combine(last + timedelta(days=1), time(0), tzinfo=BERLIN))


def normalize(link: str) -> str:
    return link.split("?")[0].rstrip("/").replace("https://www.", "https://")


def read_feed(path: Path) -> dict[str, dict]:
    items = {}
    for item in ET.parse(path).getroot().iter("item"):
        def g(name: str) -> str | None:
            el = item.find(G + name)
            return el.text if el is not None else None

        sale, window = None, None
        if g("sale_price"):
            sale = cents(g("sale_price").removesuffix(" EUR"))
            first, last = (date.fromisoformat(d) for d in g("sale_price_effective_date").split("/"))
            window = berlin_days(first, last)
        items[g("id")] = {"price": cents(g("price").removesuffix(" EUR")), "sale": sale, "window": window,
                          "availability": g("availability"), "link": normalize(g("link")), "gtin": g("gtin"),
                          "title": g("title"), "brand": g("brand"), "type": g("product_type")}
    return items


def read_stores(path: Path) -> dict[tuple[str, str], dict]:
    text = path.read_bytes().decode("cp1252")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert ";".join(rows[0]) == HEADER
    out = {}
    for store, sku, ean, label, price, promo, start, end in rows[1:]:
        window = None
        if promo:
            window = berlin_days(datetime.strptime(start, "%d.%m.%Y").date(), datetime.strptime(end, "%d.%m.%Y").date())
        assert (store, sku) not in out, f"store {store} lists {sku} twice"
        out[(store, sku)] = {"price": cents(price), "sale": cents(promo) if promo else None, "window": window, "ean": ean}
    return out


class Blocks(HTMLParser):
    """The newsletter's product blocks: <td class="product-col">, their links and text."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[dict] = []
        self.depth = 0  # td nesting inside the current block

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "td":
            if self.depth:
                self.depth += 1
            elif "product-col" in (attrs.get("class") or "").split():
                self.depth = 1
                self.blocks.append({"links": [], "text": ""})
        elif tag == "a" and self.depth:
            self.blocks[-1]["links"].append(attrs["href"])

    def handle_endtag(self, tag):
        if tag == "td" and self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.blocks[-1]["text"] += data


def read_newsletter(path: Path) -> list[dict]:
    parser = Blocks()
    parser.feed(path.read_text(encoding="utf-8"))
    out = []
    for b in parser.blocks:
        text = " ".join(b["text"].split())
        prices = re.findall(r"(statt )?(\d{1,3}(?:\.\d{3})*,\d{2}) €", text)
        sku = re.search(r"Art\.-Nr\. (\d+)", text)
        out.append({"link": normalize(b["links"][0]), "sku": sku.group(1) if sku else None, "text": text,
                    "price": next(cents(p) for statt, p in prices if not statt),
                    "statt": next((cents(p) for statt, p in prices if statt), None)})
    return out


def oracle(folder: Path, at: datetime) -> set[tuple[str, str, str]]:
    """The three rules of the default ruleset, evaluated on the files."""
    shop, stores, newsletter = read_feed(folder / "shop_feed.xml"), read_stores(folder / "store_prices.csv"), \
        read_newsletter(folder / "newsletter.html")

    def now(offer: dict) -> int:
        inside = offer["sale"] is not None and offer["window"][0] <= at < offer["window"][1]
        return offer["sale"] if inside else offer["price"]

    found = set()
    for (store, sku), offer in stores.items():
        if sku in shop and (abs(offer["price"] - shop[sku]["price"]) > 1 or abs(now(offer) - now(shop[sku])) > 1):
            found.add(("price-parity", sku, f"store:{store}"))
    by_link = {item["link"]: sku for sku, item in shop.items()}
    for block in newsletter:
        sku = block["sku"] if block["sku"] in shop else by_link.get(block["link"])
        if sku is None:
            found.add(("advertised-in-shop", block["link"], "newsletter:newsletter"))
            continue
        if shop[sku]["availability"] != "in_stock":
            found.add(("advertised-in-shop", sku, "newsletter:newsletter"))
        if abs(now(shop[sku]) - block["price"]) > 1:  # the stores are held to it through price-parity
            found.add(("newsletter-price-honoured", sku, "shop:online"))
    return found


# --- determinism ------------------------------------------------------------------------------


def test_the_same_seed_writes_identical_bytes(tmp_path):
    generate(tmp_path / "a", skus=500, stores=2, seed=5)
    generate(tmp_path / "b", skus=500, stores=2, seed=5)
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_different_seeds_make_different_retailers(tmp_path):
    generate(tmp_path / "a", skus=500, stores=2, seed=5)
    generate(tmp_path / "b", skus=500, stores=2, seed=6)
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "b" / name).read_bytes(), name


def test_the_shipped_demo_is_exactly_what_the_generator_writes(demo):
    # Nobody edits demo/data by hand: regenerate with unisono.demo.generator.write_demo().
    for name in FILES:
        assert (DEMO_DIR / name).read_bytes() == (demo / name).read_bytes(), f"demo/data/{name} is stale"
    assert (DEMO_DIR / "README.md").exists()
    assert sum((DEMO_DIR / name).stat().st_size for name in FILES) < 400_000  # commit-sized


# --- the formats ------------------------------------------------------------------------------


def test_shop_feed_is_a_merchant_center_rss_feed(demo):
    raw = (demo / "shop_feed.xml").read_text(encoding="utf-8")
    assert raw.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0">')
    items = read_feed(demo / "shop_feed.xml")
    assert len(items) == 300
    for sku, item in items.items():
        assert re.fullmatch(r"1\d{5}", sku)
        assert item["link"] == f"https://bergwelt-outdoor.de/p/{item['link'].rsplit('/', 1)[1]}"
        assert item["link"].endswith(f"-{sku}") and re.fullmatch(r"[a-z0-9-]+", item["link"].rsplit("/", 1)[1])
        assert valid_ean13(item["gtin"]), item["gtin"]
        assert " > " in item["type"] and item["title"] and item["brand"]
        assert item["availability"] in ("in_stock", "out_of_stock")
        if item["sale"] is not None:
            assert item["sale"] < item["price"]
    assert len({i["gtin"] for i in items.values()}) == 300
    assert 0.12 < sum(i["sale"] is not None for i in items.values()) / 300 < 0.3  # ~20 % on sale
    assert 1 <= sum(i["availability"] == "out_of_stock" for i in items.values()) < 20
    assert re.search(r"<g:price>\d+\.\d\d EUR</g:price>", raw)
    assert re.search(r"<g:sale_price_effective_date>2026-11-20/2026-11-30</g:sale_price_effective_date>", raw)
    assert "Berg &amp; Tal" in raw and "Berg & Tal" in {i["brand"] for i in items.values()}  # escaped, read back


def test_titles_read_like_an_outdoor_shop_and_are_mostly_distinct(tmp_path):
    generate(tmp_path, skus=5000, stores=1, seed=1, inconsistency_rate=0)
    titles = [i["title"] for i in read_feed(tmp_path / "shop_feed.xml").values()]
    assert len(set(titles)) > 0.9 * len(titles)
    assert any(t.startswith("Wanderschuh ") and t.split(" – ")[0].endswith(("Herren", "Damen")) for t in titles)
    assert any(re.fullmatch(r"Trekkingrucksack \S+( \S+)? \d+(\+10)? L", t) for t in titles)


def test_store_file_is_a_german_pos_export_in_cp1252(demo):
    raw = (demo / "store_prices.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # umlauts as single cp1252 bytes, as Windows POS exports write them
    text = raw.decode("cp1252")
    lines = text.split("\r\n")
    assert lines[0] == HEADER and lines[-1] == ""
    rows = [line.split(";") for line in lines[1:-1]]
    assert {r[0] for r in rows} == {"1001", "1002", "1003"}
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)  # exported store by store
    for store, sku, ean, label, price, promo, start, end in rows:
        assert re.fullmatch(r"\d+,\d\d", price)
        assert valid_ean13(ean)
        assert label == label.upper() and len(label) <= 40
        if promo:
            assert re.fullmatch(r"\d+,\d\d", promo)
            assert re.fullmatch(r"\d\d\.\d\d\.2026", start) and re.fullmatch(r"\d\d\.\d\d\.2026", end)
        else:
            assert start == end == ""
    # every store carries (nearly) every product
    assert 3 * 300 - 10 <= len(rows) <= 3 * 300


def test_store_promotions_run_day_for_day_with_the_shop_sales(demo):
    shop, stores = read_feed(demo / "shop_feed.xml"), read_stores(demo / "store_prices.csv")
    planted = {(p.sku, p.location) for p in key_of(demo).planted}
    for (store, sku), offer in stores.items():
        if (sku, f"store:{store}") not in planted:
            assert (offer["price"], offer["sale"], offer["window"]) == \
                   (shop[sku]["price"], shop[sku]["sale"], shop[sku]["window"]), (store, sku)


def test_newsletter_is_a_real_looking_email(demo):
    html = (demo / "newsletter.html").read_text(encoding="utf-8")
    for text in ("Im Browser ansehen", "Black Friday Woche: bis zu ", "Angebote gültig vom 20.11. bis 30.11.2026",
                 "Versandkostenfrei ab 50 €", "Impressum", "Datenschutz", "Abmelden", "facebook.com", "instagram.com",
                 '<span style="text-decoration:line-through;', "statt ", "Art.-Nr. "):
        assert text in html, text
    assert "?utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=bf2026" in html
    blocks = read_newsletter(demo / "newsletter.html")
    assert len(blocks) == 12
    assert sum(b["sku"] is None for b in blocks) == 1  # the product the shop does not know
    for b in blocks:
        assert b["link"].startswith("https://bergwelt-outdoor.de/p/")
        if b["statt"] is not None:
            percent = (b["statt"] - b["price"]) * 100 // b["statt"]
            assert f"-{percent} %" in b["text"]
    hero = re.search(r"bis zu (\d+) % Rabatt", html).group(1)
    assert int(hero) == max((b["statt"] - b["price"]) * 100 // b["statt"] for b in blocks if b["statt"])


def test_newsletter_advertises_what_the_shop_charges_in_the_campaign(demo):
    shop = read_feed(demo / "shop_feed.xml")
    planted = {p.sku for p in key_of(demo).planted if p.kind == "newsletter-price-not-charged"}
    for b in read_newsletter(demo / "newsletter.html"):
        if b["sku"] and b["sku"] not in planted:
            item = shop[b["sku"]]
            assert b["price"] == (item["sale"] if item["sale"] is not None else item["price"])
            assert b["statt"] == (item["price"] if item["sale"] is not None else None)


# --- the answer key ---------------------------------------------------------------------------


def test_answer_key_expected_findings_follow_from_the_plants(demo):
    key = key_of(demo)
    meant = {f.key for p in key.planted for f in p.findings}
    assert key.finding_keys() == meant
    raw = json.loads((demo / "answer_key.json").read_text(encoding="utf-8"))
    assert raw["check_at"] == "2026-11-24T12:00:00+01:00"
    assert set(raw) >= {"check_at", "planted", "expected_findings"}
    assert all(set(f) == {"rule", "sku", "location"} for f in raw["expected_findings"])


def test_the_demo_plants_a_handful_covering_all_three_rules(demo):
    key = key_of(demo)
    assert 6 <= len(key.planted) <= 9
    assert {f.rule for f in key.expected_findings} == {"price-parity", "newsletter-price-honoured", "advertised-in-shop"}
    kinds = {p.kind for p in key.planted}
    assert {"store-regular-price-differs", "store-missing-sale", "store-promo-price-differs",
            "newsletter-price-not-charged", "newsletter-product-not-in-shop", "newsletter-product-out-of-stock"} <= kinds
    # a wrong newsletter price is one finding, against the shop (stores follow the shop by price-parity)
    wrong = next(p for p in key.planted if p.kind == "newsletter-price-not-charged")
    assert [f.location for f in wrong.findings] == ["shop:online"]
    # the unknown product is keyed by its normalised link
    unknown = next(p for p in key.planted if p.kind == "newsletter-product-not-in-shop")
    assert re.fullmatch(r"https://bergwelt-outdoor\.de/p/[a-z0-9-]+", unknown.sku)


def test_the_answer_key_agrees_with_an_oracle_reading_the_files(demo):
    key = key_of(demo)
    assert oracle(demo, key.check_at) == key.finding_keys()


@pytest.mark.parametrize("params", [
    dict(skus=2000, stores=4, seed=11, inconsistency_rate=0.03),
    dict(skus=800, stores=1, seed=3, newsletter_items=7),
    dict(skus=50, stores=2, seed=9, today=date(2027, 3, 1)),
])
def test_the_answer_key_agrees_with_the_files_for_other_retailers(tmp_path, params):
    key = generate(tmp_path, **params)
    assert oracle(tmp_path, key.check_at) == key.finding_keys()
    assert key.finding_keys() == {f.key for p in key.planted for f in p.findings}


def test_a_clean_retailer_has_no_findings(tmp_path):
    key = generate(tmp_path, skus=1500, stores=3, seed=4, inconsistency_rate=0)
    assert key.planted == [] and key.expected_findings == []
    assert oracle(tmp_path, key.check_at) == set()


def test_plant_count_follows_the_inconsistency_rate(tmp_path):
    key = generate(tmp_path, skus=3000, stores=2, seed=8, inconsistency_rate=0.01)
    assert len(key.planted) == 30


def test_tiny_catalogs_still_work(tmp_path):
    key = generate(tmp_path / "one", skus=1, stores=0, seed=1)
    assert key.planted == []
    assert (tmp_path / "one" / "store_prices.csv").read_bytes() == (HEADER + "\r\n").encode()
    key = generate(tmp_path / "five", skus=5, stores=2, seed=1)
    assert oracle(tmp_path / "five", key.check_at) == key.finding_keys()


@pytest.mark.parametrize("bad", [dict(skus=0), dict(stores=-1), dict(inconsistency_rate=1.5), dict(newsletter_items=-2)])
def test_nonsense_parameters_are_refused(tmp_path, bad):
    with pytest.raises(ValueError):
        generate(tmp_path, **({"skus": 10, "stores": 1, "seed": 1} | bad))


def test_gtins_carry_a_valid_check_digit():
    assert ean13("400638133393") == "4006381333931"  # a real EAN-13
    assert all(brand_gtin(b, item) == ean13(brand_gtin(b, item)[:12]) for b in range(12) for item in (0, 7, 999, 123456, 999999))


def test_keys_and_values_read_back_with_the_projects_own_parsers(demo):
    # The adapters use these helpers: the key of the unknown product must be what they make of its link.
    from unisono.channels.parsing import normalize_url, parse_decimal, parse_interval, parse_text_price

    key = key_of(demo)
    unknown = next(p for p in key.planted if p.kind == "newsletter-product-not-in-shop")
    html = (demo / "newsletter.html").read_text(encoding="utf-8")
    href = re.search(r'href="([^"]*' + re.escape(unknown.sku.rsplit("/", 1)[1]) + r'[^"]*)"', html).group(1)
    assert normalize_url(href.replace("&amp;", "&")) == unknown.sku
    start, end = parse_interval("2026-11-20/2026-11-30", BERLIN)
    assert start <= key.check_at < end
    assert parse_decimal("129,99") == Decimal("129.99")
    assert parse_text_price("statt 99,99 €", "EUR") == (Decimal("99.99"), "EUR")
