"""Hostile rows: one row with an edge value among good ones. The row is an offer (an end in year
9999 means "open") or a rejection with a one-line reason; the file is never refused for it, and
rows = offers + rejections. Store files are read both by the column and row by row."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from unisono.channels import newsletter, shop, store
from unisono.channels.parsing import FIRST_INSTANT, LAST_INSTANT
from unisono.domain.config import ProjectConfig

CONFIG = ProjectConfig()
SENT = datetime(2026, 11, 19, 6, tzinfo=timezone.utc)
HEADER = "Filiale;Artikelnummer;EAN;Bezeichnung;VK-Preis;Aktionspreis;Aktion von;Aktion bis\n"
GOOD = "1001;100001;;Zelt;129,00;;;\n1001;100002;;Topf;9,99;7,99;20.11.2026;30.11.2026\n"

# (the row's cells after "1001;100003;;Hostile;", what it becomes: "offer" or a reason's words)
STORE_ROWS = [
    ("100000000000000000;;;", "price '100000000000000000' is out of range"),
    ("12345678901234567890123456789;;;", "price '12345678901234567890123456789' is out of range"),
    ("1.000.000.000.000,00;;;", "is out of range"),
    ("999999999999,99;;;", "offer"),
    ("-5,00;;;", "is negative"),
    ("NaN;;;", "is not a number"),
    ("Infinity;;;", "is not a number"),
    ("1e17;;;", "is not a number"),
    ("9,99;100000000000000000;20.11.2026;30.11.2026", "promo price '100000000000000000' is out of range"),
    ("9,99;7,99;20.11.2026;31.12.9999", "offer"),
    ("9,99;7,99;01.01.0001;30.11.2026", "offer"),
    ("9,99;7,99;2026-11-20;9999-12-31", "offer"),
    ("9,99;7,99;0001-01-01;9999-12-31", "offer"),
    ("9,99;7,99;31.12.9999;31.12.9999", "is before promo from"),
    ("9,99;7,99;30.11.2026;20.11.2026", "promo to '20.11.2026' is before promo from '30.11.2026'"),
    ("9,99;7,99;20.11.2026;30.02.2026", "promo to '30.02.2026' is not a date"),
    ("9,99;7,99;00.00.0000;30.11.2026", "promo from '00.00.0000' is not a date"),
    ("9,99;7,99;20.11.2026;31.12.10000", "is not a date"),
]


def outcome(read, rows: int):
    assert len(read.offers) + len(read.rejections) == rows
    for r in read.rejections:
        assert "\n" not in r.reason
    return read


@pytest.mark.parametrize("columnar", [True, False], ids=["columns", "rows"])
@pytest.mark.parametrize("cells, becomes", STORE_ROWS, ids=[c for c, _ in STORE_ROWS])
def test_a_hostile_store_row_is_an_offer_or_a_rejection_of_that_row_only(tmp_path, cells, becomes, columnar):
    path = tmp_path / "prices.csv"
    path.write_text(HEADER + GOOD + f"1001;100003;;Hostile;{cells}\n", encoding="utf-8")
    read = outcome(store.read(path, CONFIG, columnar=columnar), 3)
    hostile = [o for o in read.offers if o.sku == "100003"]
    if becomes == "offer":
        assert len(read.offers) == 3 and not read.rejections
        o = hostile[0]
        for when in (o.sale_start, o.sale_end):
            assert when is None or FIRST_INSTANT <= when <= LAST_INSTANT
        if "31.12.9999" in cells or "9999-12-31" in cells:
            assert o.sale_end == LAST_INSTANT  # "bis 31.12.9999": open, as far as the catalog goes
        if "0001-01-01" in cells or "01.01.0001" in cells:
            assert o.sale_start == FIRST_INSTANT
    else:
        assert len(read.offers) == 2 and not hostile
        assert [r.source.line for r in read.rejections] == [4]
        assert becomes in read.rejections[0].reason


FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel>
<item><g:id>good-1</g:id><g:price>10 EUR</g:price></item>
<item><g:id>good-2</g:id><g:price>20 EUR</g:price><g:sale_price>15 EUR</g:sale_price>
  <g:sale_price_effective_date>2026-11-24/2026-11-30</g:sale_price_effective_date></item>
<item><g:id>hostile</g:id>{fields}</item>
</channel></rss>
"""
SHOP_ITEMS = [
    ("<g:price>100000000000000000 EUR</g:price>", "price '100000000000000000' is out of range"),
    ("<g:price>12345678901234567890123456789 EUR</g:price>", "is out of range"),
    ("<g:price>NaN EUR</g:price>", "is not an amount"),
    ("<g:price>Infinity EUR</g:price>", "is not an amount"),
    ("<g:price>-1.00 EUR</g:price>", "is negative"),
    ("<g:price>10 EUR</g:price><g:sale_price>100000000000000000 EUR</g:sale_price>", "is out of range"),
    ("<g:price>10 EUR</g:price><g:sale_price>8 EUR</g:sale_price>"
     "<g:sale_price_effective_date>2026-11-24/9999-12-31</g:sale_price_effective_date>", "offer"),
    ("<g:price>10 EUR</g:price><g:sale_price>8 EUR</g:sale_price>"
     "<g:sale_price_effective_date>0001-01-01/2026-11-30</g:sale_price_effective_date>", "offer"),
    ("<g:price>10 EUR</g:price><g:sale_price>8 EUR</g:sale_price>"
     "<g:sale_price_effective_date>0001-01-01T00:00-0500/9999-12-31T23:59:59-0500</g:sale_price_effective_date>",
     "offer"),
    ("<g:price>10 EUR</g:price><g:sale_price>8 EUR</g:sale_price>"
     "<g:sale_price_effective_date>9999-12-31T23:59:59Z/9999-12-31T23:59:59Z</g:sale_price_effective_date>",
     "ends before it starts"),
    ("<g:price>10 EUR</g:price><g:sale_price>8 EUR</g:sale_price>"
     "<g:sale_price_effective_date>2026-02-30/2026-03-10</g:sale_price_effective_date>", "is not a date"),
    ("<g:price>10 EUR</g:price><g:sale_price>8 EUR</g:sale_price>"
     "<g:sale_price_effective_date>2026-11-30/2026-11-20</g:sale_price_effective_date>", "ends before it starts"),
]


@pytest.mark.parametrize("fields, becomes", SHOP_ITEMS, ids=range(len(SHOP_ITEMS)))
def test_a_hostile_feed_item_is_an_offer_or_a_rejection_of_that_item_only(tmp_path, fields, becomes):
    path = tmp_path / "feed.xml"
    path.write_text(FEED.format(fields=fields), encoding="utf-8")
    read = outcome(shop.read(path, CONFIG), 3)
    hostile = [o for o in read.offers if o.sku == "hostile"]
    if becomes == "offer":
        assert len(read.offers) == 3 and not read.rejections
        o = hostile[0]
        assert FIRST_INSTANT <= o.sale_start < o.sale_end <= LAST_INSTANT
    else:
        assert len(read.offers) == 2 and not hostile and len(read.rejections) == 1
        assert becomes in read.rejections[0].reason


TSV_ROWS = [
    ("100000000000000000 EUR\t\t", "is out of range"),
    ("10 EUR\t8 EUR\t2026-11-24/9999-12-31", "offer"),
    ("10 EUR\t8 EUR\t0001-01-01/2026-11-30", "offer"),
    ("10 EUR\t8 EUR\t2026-11-31/2026-12-01", "is not a date"),
]


@pytest.mark.parametrize("cells, becomes", TSV_ROWS, ids=range(len(TSV_ROWS)))
def test_a_hostile_tsv_feed_row_is_an_offer_or_a_rejection_of_that_row_only(tmp_path, cells, becomes):
    path = tmp_path / "feed.tsv"
    path.write_text("id\tprice\tsale_price\tsale_price_effective_date\n"
                    "good-1\t10 EUR\t\t\ngood-2\t20 EUR\t\t\n" + f"hostile\t{cells}\n", encoding="utf-8")
    read = outcome(shop.read(path, CONFIG), 3)
    assert len(read.offers) == (3 if becomes == "offer" else 2)
    if becomes != "offer":
        assert becomes in read.rejections[0].reason


PAGE = """<html><body><h1>Black Friday</h1><p>{validity}</p>
<script type="application/ld+json">{items}</script></body></html>"""


def product(sku: str, **offer) -> dict:
    return {"@context": "https://schema.org", "@type": "Product", "name": f"Produkt {sku}", "sku": sku,
            "offers": {"@type": "Offer", "priceCurrency": "EUR", **offer}}


JSONLD = [
    ('"price": -9.99', "schema.org price '-9.99' is negative"),
    ('"price": NaN', "schema.org price 'nan' is not a number"),
    ('"price": Infinity', "is not a number"),
    ('"price": 1e17', "is out of range"),
    ('"price": "1e17"', "schema.org price '1e17' is out of range"),
    ('"price": "100000000000000000"', "is out of range"),
    ('"price": "-9,99"', "is negative"),
    ('"price": "9.99", "priceValidUntil": "9999-12-31"', "offer"),
    ('"price": "9.99", "validFrom": "0001-01-01"', "offer"),
    ('"price": "9.99", "priceValidUntil": "2026-02-30"', "is not a date"),
    ('"price": "9.99", "validFrom": "2026-11-25", "priceValidUntil": "2026-11-20"',
     "schema.org offer ends (2026-11-20) before it starts (2026-11-25)"),
    ('"price": "9.99", "validFrom": "2026-12-05"', "schema.org validFrom '2026-12-05' is after the newsletter's validity ends"),
]


@pytest.mark.parametrize("hostile, becomes", JSONLD, ids=[h for h, _ in JSONLD])
def test_a_hostile_schema_org_offer_is_an_offer_or_a_rejection_with_one_line(tmp_path, hostile, becomes):
    items = [json.dumps(product("1", price="19.99")), json.dumps(product("2", price="29.99")),
             json.dumps(product("3")).replace('"priceCurrency": "EUR"', f'"priceCurrency": "EUR", {hostile}')]
    path = tmp_path / "nl.html"
    path.write_text(PAGE.format(validity="Angebote gültig bis 30.11.2026", items="[" + ",".join(items) + "]"),
                    encoding="utf-8")
    read = outcome(newsletter.read(path, CONFIG, published_at=SENT), 3)
    hostile_offers = [o for o in read.offers if o.sku == "3"]
    if becomes == "offer":
        o = hostile_offers[0]
        assert o.valid_to in (LAST_INSTANT, None) or o.valid_to.year == 2026
        assert o.valid_from in (FIRST_INSTANT, None)
    else:
        assert not hostile_offers and len(read.rejections) == 1
        assert becomes in read.rejections[0].reason


def test_schema_org_times_in_a_daylight_saving_change_are_read_by_the_stated_rule_with_a_note(tmp_path):
    items = [product("1", price="9.99", validFrom="2026-03-29T02:30:00", priceValidUntil="2026-04-05"),
             product("2", price="9.99", validFrom="2026-10-25T02:30:00", priceValidUntil="2026-10-31")]
    path = tmp_path / "nl.html"
    path.write_text(PAGE.format(validity="", items=json.dumps(items)), encoding="utf-8")
    read = outcome(newsletter.read(path, CONFIG, published_at=SENT), 2)
    starts = {o.sku: o.valid_from.astimezone(timezone.utc) for o in read.offers}
    assert starts == {"1": datetime(2026, 3, 29, 1, 30, tzinfo=timezone.utc),  # 03:30 summer time
                      "2": datetime(2026, 10, 25, 0, 30, tzinfo=timezone.utc)}  # the first 02:30 (summer time)
    assert any("validFrom '2026-03-29T02:30:00' does not exist in Europe/Berlin" in n for n in read.notes), read.notes
    assert any("validFrom '2026-10-25T02:30:00' occurs twice" in n for n in read.notes), read.notes


@pytest.mark.parametrize("price, reason", [
    ("100000000000000000,00 €", "price '100000000000000000,00 €' is out of range"),
    ("99999999999999999999999999999,00 €", "is out of range"),
    ("19,99 € statt 100000000000000000,00 €", "reference price '100000000000000000,00 €' is out of range"),
])
def test_a_price_beyond_the_bound_in_a_product_block_is_a_rejection_of_that_block(tmp_path, price, reason):
    block = "<td><a href='https://shop.example/p/{n}'><h3>Artikel {n}</h3></a><span>{price}</span></td>"
    path = tmp_path / "nl.html"
    path.write_text("<html><body><p>gültig bis 30.11.2026</p><table><tr>"
                    + block.format(n=1, price=price) + block.format(n=2, price="5,00 €")
                    + block.format(n=3, price="7,00 €") + "</tr></table></body></html>", encoding="utf-8")
    read = outcome(newsletter.read(path, CONFIG, published_at=SENT), 3)
    assert [o.price for o in read.offers] == [5, 7]
    assert reason in read.rejections[0].reason


@pytest.mark.parametrize("validity, start, end", [
    ("Angebote gültig vom 20.03.2026 bis 31.03.2026", datetime(2026, 3, 19, 23), datetime(2026, 3, 31, 22)),  # spring
    ("Angebote gültig vom 24.10.2026 bis 25.10.2026", datetime(2026, 10, 23, 22), datetime(2026, 10, 25, 23)),  # autumn
])
def test_a_newsletter_validity_over_a_daylight_saving_change_is_whole_local_days(tmp_path, validity, start, end):
    path = tmp_path / "nl.html"
    path.write_text(PAGE.format(validity=validity, items=json.dumps([product("1", price="19.99")])),
                    encoding="utf-8")
    [offer] = outcome(newsletter.read(path, CONFIG, published_at=SENT), 1).offers
    assert offer.valid_from.astimezone(timezone.utc) == start.replace(tzinfo=timezone.utc)
    assert offer.valid_to.astimezone(timezone.utc) == end.replace(tzinfo=timezone.utc)  # midnight after the last day


@pytest.mark.parametrize("validity, note", [
    ("Angebote gültig vom 30.11.2026 bis 20.11.2026", "ends (20.11.2026) before it starts (30.11.2026)"),
    ("Angebote gültig bis 30.02.2026", "names no such day"),
    ("Angebote gültig bis 31.12.9999", None),
])
def test_a_newsletter_validity_that_makes_no_window_is_said_in_a_note(tmp_path, validity, note):
    path = tmp_path / "nl.html"
    path.write_text(PAGE.format(validity=validity, items=json.dumps([product("1", price="19.99")])),
                    encoding="utf-8")
    read = outcome(newsletter.read(path, CONFIG, published_at=SENT), 1)
    if note is None:  # "bis 31.12.9999": open, as far as the catalog goes
        assert read.offers[0].valid_to == LAST_INSTANT
        return
    assert any(note in n and validity in n for n in read.notes), read.notes
    assert read.offers[0].valid_to is None and read.offers[0].valid_from is None


@pytest.mark.parametrize("columnar", [True, False], ids=["columns", "rows"])
def test_one_huge_cell_is_a_rejection_of_its_row_and_the_rows_around_it_are_kept(tmp_path, columnar):
    path = tmp_path / "prices.csv"
    huge = "x" * (50 << 20)  # 50 MB: no reader should take the file down for one cell
    path.write_text(HEADER + GOOD + f"1001;100003;;{huge};9,99;;;\n1001;100004;;Becher;3,99;;;\n", encoding="utf-8")
    read = outcome(store.read(path, CONFIG, columnar=columnar), 4)
    assert sorted(o.sku for o in read.offers) == ["100001", "100002", "100004"]
    [rejected] = read.rejections
    assert rejected.source.line == 4
    assert "longer than" in rejected.reason and len(rejected.reason) < 200
    assert len(rejected.raw) < 1000  # the rejection keeps a shortened row, not 50 MB


@pytest.mark.parametrize("columnar", [True, False], ids=["columns", "rows"])
def test_a_huge_quoted_cell_over_many_lines_is_one_rejection_and_the_rows_after_it_are_kept(tmp_path, columnar):
    path = tmp_path / "prices.csv"
    cell = ("y" * 999 + "\n") * 300  # 300 KB over 300 lines, quoted: the reader must not resume inside it
    path.write_text(HEADER + GOOD + f'1001;100003;;"{cell}";9,99;;;\n1001;100004;;Becher;3,99;;;\n', encoding="utf-8")
    read = outcome(store.read(path, CONFIG, columnar=columnar), 4)
    assert sorted(o.sku for o in read.offers) == ["100001", "100002", "100004"]
    assert read.offers[-1].source.line == 305
    [rejected] = read.rejections
    assert rejected.source.line == 4 and "longer than 131,072 characters (lines 4-304)" in rejected.reason


def test_a_very_wide_file_is_read_row_by_row_in_bounded_memory(tmp_path):
    import tracemalloc

    from unisono.domain.batch import OfferBatch

    columns = 20_000  # 20,000 columns x 200 rows: the first rows once took hundreds of MB as look-ahead
    path = tmp_path / "wide.csv"
    filler = ";".join(["7,5"] * (columns - 3))
    with path.open("w", encoding="utf-8") as f:
        f.write("Filiale;Artikelnummer;VK-Preis;" + ";".join(f"c{i}" for i in range(3, columns)) + "\n")
        for r in range(200):
            f.write(f"1001;{100000 + r};9,99;{filler}\n")
    tracemalloc.start()
    try:
        items = list(store.stream(path, CONFIG, []))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sum(len(i) if isinstance(i, OfferBatch) else 1 for i in items) == 200
    assert not any(isinstance(i, OfferBatch) for i in items)  # pyarrow's cost is per column and block
    assert peak < 60 << 20, f"{peak >> 20} MB"


@pytest.mark.parametrize("columnar", [True, False], ids=["columns", "rows"])
def test_promo_times_in_a_daylight_saving_change_are_read_by_the_stated_rule_with_a_note(tmp_path, columnar):
    path = tmp_path / "prices.csv"
    path.write_text(HEADER + "1001;100001;;Zelt;129,00;99,00;29.03.2026 02:30;25.10.2026 02:30\n", encoding="utf-8")
    read = outcome(store.read(path, CONFIG, columnar=columnar), 1)
    [offer] = read.offers
    assert offer.sale_start.astimezone(timezone.utc) == datetime(2026, 3, 29, 1, 30, tzinfo=timezone.utc)  # 03:30 CEST
    assert offer.sale_end.astimezone(timezone.utc) == datetime(2026, 10, 25, 0, 30, tzinfo=timezone.utc)  # the first 02:30
    notes = " ".join(read.notes)
    assert "'29.03.2026 02:30' does not exist in Europe/Berlin" in notes and "03:30" in notes
    assert "'25.10.2026 02:30' occurs twice in Europe/Berlin" in notes and "the first" in notes


def test_one_huge_value_in_a_tsv_feed_is_a_rejection_of_its_item_and_the_others_are_kept(tmp_path):
    path = tmp_path / "feed.tsv"
    path.write_text("id\ttitle\tprice\na\tA\t1.00 EUR\nb\t" + "x" * (50 << 20) + "\t2.00 EUR\nc\tC\t3.00 EUR\n",
                    encoding="utf-8")
    read = outcome(shop.read(path, CONFIG), 3)
    assert [o.sku for o in read.offers] == ["a", "c"]
    assert [(r.source.line, r.reason) for r in read.rejections] == [(3, "a value is longer than 131,072 characters")]


def test_a_huge_quoted_value_over_many_lines_in_a_tsv_feed_is_one_rejection_and_the_feed_is_read_on(tmp_path):
    path = tmp_path / "feed.tsv"
    value = ("y" * 999 + "\n") * 300  # quoted over 300 lines: the reader must not resume inside it
    path.write_text(f'id\ttitle\tprice\na\tA\t1.00 EUR\nb\t"{value}"\t2.00 EUR\nc\tC\t3.00 EUR\nd\tD\t4.00 EUR\n',
                    encoding="utf-8")
    read = outcome(shop.read(path, CONFIG), 4)
    assert [(o.sku, o.source.line) for o in read.offers] == [("a", 2), ("c", 304), ("d", 305)]
    assert [(r.source.line, r.reason) for r in read.rejections] == [(3, "a value is longer than 131,072 characters")]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-32-be"])
def test_a_store_file_or_newsletter_in_utf_16_or_32_with_its_mark_is_read_as_in_utf_8(tmp_path, encoding):
    def encoded(text: str) -> bytes:  # Python writes the mark for utf-16/utf-32, not for the -be form
        return (b"\x00\x00\xfe\xff" if encoding == "utf-32-be" else b"") + text.encode(encoding)

    prices = tmp_path / "prices.csv"
    prices.write_bytes(encoded(HEADER + GOOD + "1001;100003;;Größe XL;-5,00;;;\n"))
    read = outcome(store.read(prices, CONFIG), 3)
    assert [o.sku for o in read.offers] == ["100001", "100002"] and read.offers[1].sale_price == Decimal("7.99")
    assert "is negative" in read.rejections[0].reason
    mail = tmp_path / "nl.html"
    mail.write_bytes(encoded(PAGE.format(validity="Angebote gültig bis 30.11.2026",
                                         items=json.dumps([product("1", price="19.99")]))))
    sent = outcome(newsletter.read(mail, CONFIG, published_at=SENT), 1)
    assert sent.offers[0].price == Decimal("19.99") and sent.offers[0].valid_to.year == 2026
