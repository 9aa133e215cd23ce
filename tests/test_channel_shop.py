"""The shop channel adapter: Google Merchant Center feeds (RSS/Atom XML and tabular) -> offers."""
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unisono.channels.parsing import normalize_gtin, normalize_url
from unisono.channels import shop as shop_module
from unisono.channels.shop import read, stream
from unisono.channels import shop_columns
from unisono.channels.shop_columns import gtin_column, title_column, url_column
from unisono.domain.batch import SCHEMA, OfferBatch
from unisono.domain.config import ProjectConfig, ShopOptions
from unisono.domain.models import Availability, InputError, Rejection

FIXTURES = Path(__file__).parent / "fixtures" / "shop"
BERLIN = ZoneInfo("Europe/Berlin")
CONFIG = ProjectConfig()


def shop(name: str, config: ProjectConfig = CONFIG):
    return read(FIXTURES / name, config)


def by_sku(result):
    return {o.sku: o for o in result.offers}


def reasons(result):
    return {(r.source.line, r.reason) for r in result.rejections}


# ---- XML --------------------------------------------------------------------------------------

def test_gmc_rss_feed_with_g_title_and_in_stock_becomes_offers():
    result = shop("gmc_rss.xml")
    assert result.channel == "shop" and result.source == "gmc_rss.xml"
    assert not result.rejections
    shoe = by_sku(result)["100203"]
    assert shoe.title == "Wanderschuh Alpin GTX Herren"
    assert shoe.location == "online"
    assert (shoe.price, shoe.sale_price, shoe.currency) == (Decimal("99.99"), Decimal("79.99"), "EUR")
    assert shoe.availability is Availability.in_stock
    assert shoe.url == "https://bergsport-huber.de/p/100203"  # tracking dropped, host normalised
    assert shoe.gtin == "04006381333931"
    assert shoe.brand == "Alpin"
    assert shoe.category == "Schuhe > Wanderschuhe"  # product_type is preferred over the google category
    assert shoe.sale_start is None and shoe.sale_end is None  # a sale without a window is always on
    assert (shoe.source.file, shoe.source.line) == ("gmc_rss.xml", 6)


def test_nested_shipping_price_is_not_the_item_price():
    assert by_sku(shop("gmc_rss.xml"))["100203"].price == Decimal("99.99")  # not 4.95 from g:shipping


def test_empty_sale_price_invalid_gtin_and_double_escaped_title():
    bottle = by_sku(shop("gmc_rss.xml"))["100204"]
    assert bottle.sale_price is None  # <g:sale_price></g:sale_price> means no sale
    assert bottle.gtin is None  # "12345" is no GTIN: dropped, the offer stays
    assert bottle.title == "Gipfel's Trinkflasche"  # "&amp;#039;" unescaped once
    assert (bottle.price, bottle.currency) == (Decimal("12.50"), "EUR")  # "EUR 12.50"
    assert bottle.availability is Availability.out_of_stock
    assert bottle.category == "Sporting Goods > Outdoor Recreation"


def test_plain_title_and_link_and_price_without_currency_take_the_default_currency():
    result = shop("plain_rss.xml")
    juicer = by_sku(result)["H100"]
    assert juicer.title == "Entsafter H 100"
    assert juicer.url == "https://entsafter.example/h-100"
    assert (juicer.price, juicer.currency) == (Decimal("19.99"), "EUR")
    assert juicer.availability is Availability.in_stock  # "available for order"
    assert any("1 prices carry no currency and were read as EUR" in n for n in result.notes)


def test_shop_currency_and_location_from_the_config():
    config = ProjectConfig(shop=ShopOptions(currency="CZK", location="cz"))
    juicer = by_sku(shop("plain_rss.xml", config))["H100"]
    assert (juicer.currency, juicer.location) == ("CZK", "cz")


def test_g_namespace_field_wins_over_the_plain_one(tmp_path):
    feed = tmp_path / "feed.xml"
    feed.write_text('<rss xmlns:g="http://base.google.com/ns/1.0"><channel><item><g:id>1</g:id>'
                    "<title>Channel-style title</title><g:title>Product title</g:title>"
                    "<g:price>5 EUR</g:price></item></channel></rss>")
    assert read(feed, CONFIG).offers[0].title == "Product title"


def test_atom_feed_entries_with_link_href():
    lamp = by_sku(shop("atom.xml"))["A1"]
    assert lamp.title == "Stirnlampe 300"
    assert lamp.url == "https://shop.example/stirnlampe-300"
    assert lamp.availability is Availability.preorder
    assert lamp.source.line == 4


# ---- sale windows -----------------------------------------------------------------------------

def window(sku):
    offer = by_sku(shop("sale_windows.xml"))[sku]
    return offer.sale_start, offer.sale_end


def test_date_only_sale_window_covers_whole_days_in_the_project_timezone():
    assert window("date-only") == (datetime(2026, 11, 24, tzinfo=BERLIN), datetime(2026, 12, 1, tzinfo=BERLIN))


@pytest.mark.parametrize("sku", ["offset-2359", "colon-offset-235959"])
def test_sale_ending_at_2359_runs_to_the_next_midnight_in_its_offset(sku):
    plus1 = timezone(timedelta(hours=1))
    start, end = window(sku)
    assert start == datetime(2026, 11, 24, tzinfo=plus1)
    assert end == datetime(2026, 12, 1, tzinfo=plus1)
    assert end.utcoffset() == timedelta(hours=1)


def test_zulu_and_zoneless_times_are_utc():
    utc_window = (datetime(2026, 11, 24, 8, tzinfo=timezone.utc), datetime(2026, 11, 25, 8, tzinfo=timezone.utc))
    assert window("zulu") == utc_window
    assert window("no-zone-is-utc") == utc_window


def test_magento_date_price_is_read_as_the_sale_window():
    plus2 = timezone(timedelta(hours=2))
    assert window("magento-date-price") == (datetime(2026, 10, 5, tzinfo=plus2), datetime(3000, 12, 31, tzinfo=plus2))


def test_sale_price_without_effective_date_is_always_on():
    assert window("no-window") == (None, None)


def test_sale_window_ending_before_it_starts_is_rejected():
    result = shop("sale_windows.xml")
    [rejection] = result.rejections
    assert rejection.source.line == 17
    assert "ends before it starts" in rejection.reason and "2026-11-30/2026-11-24" in rejection.reason
    assert result.rows == 8


# ---- rejections -------------------------------------------------------------------------------

def test_bad_items_are_rejected_with_their_line_and_a_readable_reason():
    result = shop("rejections.xml")
    assert [o.sku for o in result.offers] == ["100203"]
    assert reasons(result) == {
        (8, "item has no id"),
        (12, "price 'abc' is not an amount with a currency"),
        (16, "duplicate id 100203 (first at line 4)"),
    }
    assert all(r.source.file == "rejections.xml" and r.channel == "shop" for r in result.rejections)
    assert "<g:price>abc</g:price>" in next(r.raw for r in result.rejections if r.source.line == 12)


@pytest.mark.parametrize("name", ["gmc_rss.xml", "plain_rss.xml", "atom.xml", "sale_windows.xml", "rejections.xml",
                                  "feed.tsv", "feed_semicolon.csv", "comma_with_rejections.csv"])
def test_every_item_is_one_offer_or_one_rejection(name):
    text = (FIXTURES / name).read_text(encoding="utf-8-sig")
    items = text.count("<item>") + text.count("<entry>") if text.lstrip().startswith("<") else None
    result = shop(name)
    if items is None:  # tabular: the ids column, counted by the row starts we know
        items = {"feed.tsv": 3, "feed_semicolon.csv": 3, "comma_with_rejections.csv": 4}[name]
    assert result.rows == len(result.offers) + len(result.rejections) == items


# ---- tabular ----------------------------------------------------------------------------------

def test_tsv_with_bom_gmc_headers_and_a_multiline_quoted_title():
    result = shop("feed.tsv")
    offers = by_sku(result)
    assert not result.rejections
    assert offers["100203"].sale_price == Decimal("79.99")  # "Sale Price" header
    assert offers["100203"].sale_end == datetime(2026, 12, 1, tzinfo=BERLIN)
    assert offers["100204"].title == 'Trinkflasche 1 Liter, mit "Karabiner"'
    assert [o.source.line for o in result.offers] == [2, 3, 5]  # the row after the 2-line title starts at 5
    assert offers["100205"].availability is Availability.backorder
    assert offers["100205"].currency == "EUR"


def test_semicolon_file_rejects_a_bad_price_and_a_row_with_too_many_values():
    result = shop("feed_semicolon.csv")
    assert [o.sku for o in result.offers] == ["200001"]
    assert reasons(result) == {
        (3, "price 'abc' is not an amount with a currency"),
        (4, "the row has 5 values but the header has 4 columns (a delimiter inside an unquoted value?)"),
    }


def test_comma_file_rejections_carry_the_line_where_the_row_starts():
    result = shop("comma_with_rejections.csv")
    assert by_sku(result)["300001"].title == 'Zelt "Basislager" für 2 Personen'
    assert reasons(result) == {
        (4, "item has no id"),
        (5, "price 'abc' is not an amount with a currency"),
        (6, "duplicate id 300001 (first at line 2)"),
    }


def test_tabular_feed_without_id_or_price_column_is_refused(tmp_path):
    feed = tmp_path / "products.txt"
    feed.write_text("sku_number\ttitle\tcost\nA1\tZelt\t9.99\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"^products.txt line 1: no 'id' and no 'price' column"):
        read(feed, CONFIG)


@pytest.mark.parametrize("header", ["store,sku,ean,title,price,promo_price", "Filiale;Artikelnummer;VK-Preis",
                                    "Store ID\tid\tprice"])
def test_a_store_price_file_is_refused_as_the_shop_feed(tmp_path, header):
    """Its rows would become the shop's offers (sku as id, one per store: "duplicates"), replacing the feed."""
    feed = tmp_path / "prices.csv"
    sep = max("\t;,", key=header.count)
    feed.write_text(header + "\n" + sep.join(["1001", "J1", "199.99"] + [""] * (header.count(sep) - 2)) + "\n")
    with pytest.raises(InputError, match="names stores, as a store price file's does"):
        read(feed, ProjectConfig())


def test_a_feed_naming_its_shop_is_a_feed(tmp_path):
    feed = tmp_path / "feed.tsv"
    feed.write_text("id\ttitle\tprice\tshop\nA1\tBoot\t5.00 EUR\tmain\n")
    assert [o.sku for o in read(feed, ProjectConfig()).offers] == ["A1"]


def test_unclosed_quote_in_a_tabular_feed_is_refused_with_the_line_where_the_row_starts(tmp_path):
    feed = tmp_path / "feed.csv"
    feed.write_text('id,title,price\n1,Zelt,9.99 EUR\n2,"Isomatte,19.99 EUR\n3,Kocher,29.99 EUR\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"^feed.csv line 3: the rows cannot be split \(unexpected end of data"):
        read(feed, CONFIG)


def test_tabular_feed_that_is_not_utf8_is_refused(tmp_path):
    feed = tmp_path / "feed.tsv"
    feed.write_bytes("id\ttitle\tprice\n1\tKinderschuh Größe 30\t9.99 EUR\n".encode("cp1252"))
    with pytest.raises(InputError, match=r"^feed.tsv: not UTF-8 text"):
        read(feed, CONFIG)


def test_unknown_availability_leaves_it_empty_with_one_note_per_value(tmp_path):
    feed = tmp_path / "feed.tsv"
    feed.write_text("id\tprice\tavailability\n1\t1 EUR\tauf Anfrage\n2\t1 EUR\tauf Anfrage\n", encoding="utf-8")
    result = read(feed, CONFIG)
    assert [o.availability for o in result.offers] == [None, None]
    assert result.notes == ["feed.tsv: availability 'auf Anfrage' is not understood (2 items; left empty)"]


def test_form_is_detected_by_content_not_by_extension(tmp_path):
    feed = tmp_path / "export.csv"
    feed.write_bytes((FIXTURES / "plain_rss.xml").read_bytes())
    assert [o.sku for o in read(feed, CONFIG).offers] == ["H100"]


# ---- whole-file errors ------------------------------------------------------------------------

def test_truncated_xml_is_an_input_error_never_a_partial_read():
    with pytest.raises(InputError) as e:
        shop("truncated.xml")
    message = str(e.value)
    # the file stops inside "<g:pri" on line 10; the parser notices at the end of the file, line 11
    assert message.startswith("truncated.xml line 11: the XML ends early or is malformed (")
    assert "\n" not in message


def test_billion_laughs_is_refused():
    with pytest.raises(InputError, match=r"^billion_laughs.xml: refused: the XML declares entities"):
        shop("billion_laughs.xml")


def test_external_entity_is_refused_and_nothing_is_read():
    with pytest.raises(InputError, match=r"^xxe.xml: refused") as e:
        shop("xxe.xml")
    assert "root:" not in str(e.value)


def test_xml_that_is_not_a_feed_is_refused(tmp_path):
    other = tmp_path / "sitemap.xml"
    other.write_text('<?xml version="1.0"?>\n<urlset><url><loc>https://x.example</loc></url></urlset>\n')
    with pytest.raises(InputError, match=r"^sitemap.xml line 2: not a product feed \(the document is <urlset>"):
        read(other, CONFIG)


def test_html_page_is_refused(tmp_path):
    page = tmp_path / "feed.xml"
    page.write_text("<!DOCTYPE html>\n<html><body>Not found</body></html>\n")
    with pytest.raises(InputError, match="HTML page, not a product feed"):
        read(page, CONFIG)


def test_empty_file_is_refused(tmp_path):
    empty = tmp_path / "shop_feed.xml"
    empty.write_bytes(b"\xef\xbb\xbf \n")
    with pytest.raises(InputError, match=r"^shop_feed.xml: the file is empty$"):
        read(empty, CONFIG)


def test_feed_without_items_reads_as_empty_with_a_note(tmp_path):
    feed = tmp_path / "empty_channel.xml"
    feed.write_text('<rss version="2.0"><channel><title>x</title></channel></rss>')
    result = read(feed, CONFIG)
    assert result.rows == 0 and result.notes == ["empty_channel.xml: the feed has no items"]


# ---- streaming --------------------------------------------------------------------------------

def test_stream_yields_a_batch_of_offers_and_the_rejections_in_file_order():
    entries = list(stream(FIXTURES / "rejections.xml", CONFIG))
    batch, *rejections = entries
    assert isinstance(batch, OfferBatch) and (batch.channel, batch.file) == ("shop", "rejections.xml")
    assert batch.table.schema == SCHEMA
    assert batch.table.select(["sku", "line"]).to_pylist() == [{"sku": "100203", "line": 4}]
    assert all(isinstance(r, Rejection) for r in rejections)
    assert [r.source.line for r in rejections] == [8, 12, 16]


EDGE_CASES = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0">
<channel>
<item><g:id>1</g:id><g:title>Jacke  Grat
 Damen</g:title><g:price>319.99 EUR</g:price><g:sale_price>223.99 EUR</g:sale_price>
<g:sale_price_effective_date>2026-11-20/2026-11-30</g:sale_price_effective_date><g:availability>in_stock</g:availability>
<g:brand>Steinbock</g:brand><g:gtin>4088490000003</g:gtin><g:link>https://www.Shop.de/p/1/?utm_source=x</g:link>
<g:product_type>Bekleidung &amp;gt; Jacken</g:product_type></item>
<item><g:id>2</g:id><g:price>19.995</g:price><g:sale_price>9.5 EUR</g:sale_price>
<g:sale_price_effective_date>2026-11-24T00:00+01:00/2026-11-30T23:59+01:00</g:sale_price_effective_date>
<g:availability>auf Anfrage</g:availability></item>
<item><g:id>3</g:id><g:price>abc</g:price></item>
<item><g:id>3</g:id><g:price>5 EUR</g:price></item>
<item><g:id>1</g:id><g:price>5 EUR</g:price></item>
<item><g:id>4</g:id><g:price>10 EUR</g:price><g:sale_price>8 USD</g:sale_price></item>
<item><g:id>5</g:id><g:price>10 EUR</g:price><g:sale_price>8 EUR</g:sale_price>
<g:sale_price_effective_date>2026-11-30/2026-11-24</g:sale_price_effective_date></item>
<item><g:id>6</g:id><g:price>1.299,00 EUR</g:price><g:sale_price></g:sale_price>
<g:sale_price_effective_date>2026-11-24T08:00Z/2026-11-25T08:00</g:sale_price_effective_date>
<g:availability>https://schema.org/PreOrder</g:availability><g:gtin>12345</g:gtin></item>
<item><g:title>no id</g:title><g:price>5 EUR</g:price></item>
<item><g:id>7</g:id></item>
<item><g:id>8</g:id><g:price>0.005 EUR</g:price></item>
<item><g:id>9</g:id><g:price>EUR 7</g:price><g:sale_price>6.99 EUR</g:sale_price>
<g:sale_price_effective_date>2026-10-05T00:00:00+0200/3000-12-31T00:00:00+0200</g:sale_price_effective_date>
<g:availability>backorder</g:availability></item>
</channel>
</rss>
"""


def stream_parts(path, config=CONFIG):
    """stream()'s entries: the batches, all their rows (in order), the rejections and the notes."""
    notes = []
    entries = list(stream(path, config, notes))
    batches = [e for e in entries if isinstance(e, OfferBatch)]
    rows = [row for b in batches for row in b.table.to_pylist()]
    return entries, batches, rows, [e for e in entries if isinstance(e, Rejection)], notes


@pytest.mark.parametrize("config", [CONFIG, ProjectConfig(shop=ShopOptions(currency="CHF", location="ch"))])
def test_stream_batches_hold_exactly_the_offers_read_returns(tmp_path, config):
    feed = tmp_path / "edge.xml"
    feed.write_text(EDGE_CASES, encoding="utf-8")
    result = read(feed, config)
    entries, batches, rows, rejections, notes = stream_parts(feed, config)
    assert rows == OfferBatch.from_offers("shop", "edge.xml", result.offers).table.to_pylist()
    assert [(r.source, r.reason, r.raw) for r in rejections] == [(r.source, r.reason, r.raw) for r in result.rejections]
    assert notes == result.notes
    assert len(rows) + len(rejections) == result.rows == EDGE_CASES.count("<item>")
    assert all(b.channel == "shop" and b.file == "edge.xml" for b in batches)


def test_stream_rows_are_in_the_catalogs_form(tmp_path):
    feed = tmp_path / "edge.xml"
    feed.write_text(EDGE_CASES, encoding="utf-8")
    _, _, rows, rejections, notes = stream_parts(feed)
    by_id = {row["sku"]: row for row in rows}
    assert list(by_id) == ["1", "2", "6", "8", "9"]
    jacket = by_id["1"]
    assert (jacket["price_cents"], jacket["sale_price_cents"], jacket["currency"]) == (31999, 22399, "EUR")
    assert (jacket["sale_start"], jacket["sale_end"]) == (datetime(2026, 11, 20, tzinfo=BERLIN), datetime(2026, 12, 1, tzinfo=BERLIN))
    assert jacket["sale_start"].utcoffset() == timedelta(0)  # instants in UTC
    assert (jacket["title"], jacket["brand"], jacket["category"]) == ("Jacke Grat Damen", "Steinbock", "Bekleidung > Jacken")
    assert (jacket["gtin"], jacket["url"], jacket["availability"]) == ("04088490000003", "https://shop.de/p/1", "in_stock")
    assert (jacket["location"], jacket["line"], jacket["path"], jacket["valid_from"], jacket["list_price_cents"]) == \
        ("online", 4, None, None, None)
    two = by_id["2"]
    assert (two["price_cents"], two["sale_price_cents"]) == (2000, 950)  # half up: 19.995 -> 20.00
    assert two["sale_end"] == datetime(2026, 11, 30, 23, tzinfo=timezone.utc)  # 23:59+01:00 runs to midnight
    assert two["availability"] is None
    assert by_id["6"]["price_cents"] == 129900 and by_id["6"]["sale_price_cents"] is None
    assert by_id["6"]["sale_start"] is None and by_id["6"]["availability"] == "preorder" and by_id["6"]["gtin"] is None
    assert by_id["8"]["price_cents"] == 1  # 0.005 half up
    assert by_id["9"]["sale_end"] == datetime(3000, 12, 30, 22, tzinfo=timezone.utc)
    assert [(r.source.file, r.source.line, r.reason) for r in rejections] == [
        ("edge.xml", 12, "price 'abc' is not an amount with a currency"),
        ("edge.xml", 13, "duplicate id 3 (first at line 12)"),  # an id counts once seen, even on a rejected item
        ("edge.xml", 14, "duplicate id 1 (first at line 4)"),
        ("edge.xml", 15, "sale price is in USD but the price is in EUR"),
        ("edge.xml", 16, "sale_price_effective_date '2026-11-30/2026-11-24' ends before it starts"),
        ("edge.xml", 21, "item has no id"),
        ("edge.xml", 22, "item has no price"),
    ]
    assert "<g:price>abc</g:price>" in rejections[0].raw
    assert notes == ["edge.xml: 1 prices carry no currency and were read as EUR (set shop.currency in unisono.yaml if that is wrong)",
                     "edge.xml: 1 items have a gtin that is not a GTIN (its length or check digit): kept without it, "
                     "keyed by id",
                     "edge.xml: availability 'auf Anfrage' is not understood (1 items; left empty)"]


def test_read_keeps_exact_prices_and_the_feeds_offsets(tmp_path):
    feed = tmp_path / "edge.xml"
    feed.write_text(EDGE_CASES, encoding="utf-8")
    two = by_sku(read(feed, CONFIG))["2"]
    assert str(two.price) == "19.995" and two.sale_price == Decimal("9.5")
    assert two.sale_end == datetime(2026, 12, 1, tzinfo=timezone(timedelta(hours=1)))
    assert two.sale_end.utcoffset() == timedelta(hours=1)


def test_items_beyond_one_batch_are_each_one_row_or_one_rejection_in_order(tmp_path, monkeypatch):
    monkeypatch.setattr(shop_module, "BATCH", 3)
    feed = tmp_path / "edge.xml"
    feed.write_text(EDGE_CASES, encoding="utf-8")
    result = read(feed, CONFIG)
    entries, batches, rows, rejections, notes = stream_parts(feed)
    assert all(1 <= len(b) <= 3 for b in batches) and len(batches) == 3
    assert rows == OfferBatch.from_offers("shop", "edge.xml", result.offers).table.to_pylist()
    assert [r.reason for r in rejections] == [r.reason for r in result.rejections]
    # spans of 3 items in file order: a span's offers (one batch), then its rejections
    lines = [line for e in entries for line in (e.table["line"].to_pylist() if isinstance(e, OfferBatch) else [e.source.line])]
    assert lines == [4, 9, 12, 13, 14, 15, 18, 16, 21, 23, 24, 22]
    assert notes == result.notes


def test_a_batch_made_of_several_parts_is_one_table_of_all_its_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(shop_module, "BATCH", 8)
    monkeypatch.setattr(shop_module, "PART", 2)  # rows become columns two at a time
    feed = tmp_path / "edge.xml"
    feed.write_text(EDGE_CASES, encoding="utf-8")
    result = read(feed, CONFIG)
    entries, batches, rows, rejections, notes = stream_parts(feed)
    assert [len(b) for b in batches] == [3, 2]  # 8 items a span: 3 offers in the first, 2 in the rest
    assert all(b.table.schema == SCHEMA and all(c.num_chunks == 1 for c in b.table.columns) for b in batches)
    assert rows == OfferBatch.from_offers("shop", "edge.xml", result.offers).table.to_pylist()
    assert [(r.source, r.reason) for r in rejections] == [(r.source, r.reason) for r in result.rejections]


@pytest.mark.parametrize("name", ["feed.tsv", "feed_semicolon.csv", "comma_with_rejections.csv", "gmc_rss.xml", "atom.xml",
                                  "sale_windows.xml", "plain_rss.xml"])
def test_every_fixture_streams_as_batches_equal_to_read(name):
    result = shop(name)
    _, batches, rows, rejections, notes = stream_parts(FIXTURES / name)
    assert rows == OfferBatch.from_offers("shop", name, result.offers).table.to_pylist()
    assert [(r.source, r.reason, r.raw) for r in rejections] == [(r.source, r.reason, r.raw) for r in result.rejections]
    assert notes == result.notes


# ---- links and GTINs: the fast paths normalise as the general ones ----------------------------

_HOSTS = st.from_regex(r"(www\.|WWW\.)?[A-Za-z0-9-]{1,12}(\.[A-Za-z0-9-]{1,8}){0,2}", fullmatch=True)
_PATHS = st.lists(st.text(st.characters(blacklist_characters="?#/", blacklist_categories=["Cc", "Zs", "Zl", "Zp"]),
                          max_size=8), max_size=4).map(lambda parts: "".join("/" + p for p in parts))


@settings(max_examples=400, deadline=None)
@given(scheme=st.sampled_from(["https", "http", "HTTPS", "Http"]), host=_HOSTS, path=_PATHS,
       slashes=st.sampled_from(["", "/", "//"]))
def test_a_plain_link_normalises_as_the_same_link_with_tracking_parameters(scheme, host, path, slashes):
    link = f"{scheme}://{host}{path}{slashes}"
    # a query or a fragment takes the general path (urlsplit, parse_qsl): the result must not differ
    assert normalize_url(link) == normalize_url(link + "?utm_source=feed") == normalize_url(link + "#top")


def test_links_the_plain_path_leaves_to_the_general_one():
    assert normalize_url("https://www.Shop.de/p/jacke-1/") == "https://shop.de/p/jacke-1"
    assert normalize_url("https://www./p/1") == normalize_url("https://www./p/1?gclid=x")  # no host left
    assert normalize_url("httpſ://shop.de/p/1") is None  # not a scheme ("ſ" folds to "s" only in Unicode)
    assert normalize_url("https://shop.de:8443/p/1/") == "https://shop.de:8443/p/1"
    assert normalize_url("https://shop.de/p\t/1") == "https://shop.de/p/1"  # urlsplit drops tabs
    # a Shopify Email or Klaviyo click carries its position and profile, not another product
    assert normalize_url("https://shop.de/products/kerze?_pos=1&_sid=9f2c&_ss=r&_kx=AbC.xyz&variant=42") == \
        "https://shop.de/products/kerze?variant=42"


@pytest.mark.parametrize("text, gtin", [
    ("4088490000003", "04088490000003"), ("4088 4900 0000 3", "04088490000003"), ("4088490000003.0", "04088490000003"),
    ("12345670", "00000012345670"), ("12345", None), ("", None), (None, None),
    ("12345678", None), ("4088490000004", None),  # a check digit that does not add up: a typo, not a GTIN
    ("2801954000000", "02801954000000"),  # a store's own weighed-article code: its check digit is not judged
    ("80432400432", "00080432400432"),  # a UPC whose leading zero a spreadsheet dropped
    ("80432400433", None), ("1234567", None), ("123456789012345", None),
])
def test_gtins_are_digits_padded_to_14(text, gtin):
    assert normalize_gtin(text) == gtin


@given(st.lists(st.one_of(st.none(), st.text(alphabet="0123456789 .x\u0664", max_size=16),
                          st.from_regex(r"[0-9]{6,15}", fullmatch=True)), max_size=60))
@settings(max_examples=200, deadline=None)
def test_gtins_checked_by_the_column_are_those_normalize_gtin_gives(texts):
    column, bad = gtin_column(texts)
    expected = [normalize_gtin(t) for t in texts]
    assert column.to_pylist() == expected
    assert bad == sum(1 for t, g in zip(texts, expected) if t and g is None)


def test_the_spaces_titles_are_checked_for_are_every_one_str_split_splits_at():
    spaces = {c for c in map(chr, range(0x110000)) if c.isspace()} - {" "}
    assert {c for c in spaces if re.fullmatch(f"[{shop_columns.SPACES}]", c)} == spaces
    assert not re.search(f"[{shop_columns.SPACES}]", "".join(chr(c) for c in range(0x3100) if not chr(c).isspace()))


@given(st.lists(st.one_of(st.none(), st.text(alphabet=" &;#x3a9amp\t\n\xa0\u2003\u00e9ABC", max_size=20)), max_size=40))
@settings(max_examples=200, deadline=None)
def test_titles_normalised_by_the_column_are_those_of_one_title(texts):
    texts = [t.strip() if t is not None else None for t in texts]  # (as the fields hold them)
    assert title_column(texts, shop_module._human).to_pylist() == [shop_module._human(t) for t in texts]


@given(st.lists(st.one_of(st.none(), st.text(alphabet="hHtTpPsS:/wW.-ab?#&=_ü%", max_size=30),
                          st.from_regex(r"[Hh][Tt][Tt][Pp][Ss]?://(www\.)?[A-Za-z0-9.-]{0,8}(/[a-zA-Z0-9/._~%!$'()*+,;=:@-]*)?",
                                        fullmatch=True)), max_size=40))
@settings(max_examples=300, deadline=None)
def test_links_normalised_by_the_column_are_those_of_one_link(texts):
    texts = [t.strip() if t is not None else None for t in texts]
    assert url_column(texts).to_pylist() == [normalize_url(t) for t in texts]


def test_items_of_one_layout_read_alike_whatever_a_field_holds(tmp_path):
    # items with the same children in the same order are read by the layout; a field that is empty,
    # holds markup or a comment, or is named twice, is read as every item's field is
    layout = ("<item><g:id>{id}</g:id><g:title>{title}</g:title><g:link>{link}</g:link><g:price>{price}</g:price>"
              "<g:gtin>4088490000003</g:gtin><g:brand>{brand}</g:brand></item>")
    items = [layout.format(id=1, title="Jacke  rot", link="https://www.Shop.example/p/1/", price="19.99 EUR", brand="Acme"),
             layout.format(id=2, title="Jacke <b>blau</b> <i>neu</i>", link="https://shop.example/p/2", price="9.90",
                           brand="<!-- none -->"),
             layout.format(id=3, title="", link="https://shop.example/p/3", price="5,00 EUR", brand="   "),
             layout.format(id=4, title="Jacke &amp;amp; Hose", link="", price="1.005 EUR", brand="B&amp;B"),
             layout.format(id=5, title="<![CDATA[Jacke <gelb>]]>", link="https://shop.example/p/5", price="",
                           brand="Acme"),
             "<item><g:id>6</g:id><title>plain</title><g:title>Jacke g</g:title><g:price>3 EUR</g:price>"
             "<g:promotion_id>A</g:promotion_id><g:promotion_id>B</g:promotion_id></item>"]
    feed = tmp_path / "layouts.xml"
    feed.write_text('<rss xmlns:g="http://base.google.com/ns/1.0"><channel>\n' + "\n".join(items) + "\n</channel></rss>")
    result = read(feed, CONFIG)
    offers = {o.sku: (o.title, o.url, o.price, o.currency, o.brand, o.gtin, o.source.line) for o in result.offers}
    assert offers == {
        "1": ("Jacke rot", "https://shop.example/p/1", Decimal("19.99"), "EUR", "Acme", "04088490000003", 2),
        "2": ("Jacke blau neu", "https://shop.example/p/2", Decimal("9.90"), "EUR", None, "04088490000003", 3),
        "3": (None, "https://shop.example/p/3", Decimal("5.00"), "EUR", None, "04088490000003", 4),
        "4": ("Jacke & Hose", None, Decimal("1.005"), "EUR", "B&B", "04088490000003", 5),
        "6": ("Jacke g", None, Decimal("3"), "EUR", None, None, 7),
    }
    assert reasons(result) == {(6, "item has no price")}
    assert stream_rows(feed)["title"] == ["Jacke rot", "Jacke blau neu", None, "Jacke & Hose", "Jacke g"]


def stream_rows(feed):
    return pa.concat_tables(e.table for e in stream(feed, CONFIG) if isinstance(e, OfferBatch)).to_pydict()


def test_a_nested_shipping_and_a_text_one_in_one_item_are_both_read(tmp_path):
    # (this raised a KeyError: the nested one had no rank)
    feed = tmp_path / "shipping.xml"
    feed.write_text('<rss xmlns:g="http://base.google.com/ns/1.0"><channel><item><g:id>1</g:id><g:price>9 EUR</g:price>'
                    "<g:shipping><g:country>DE</g:country><g:price>4.95 EUR</g:price></g:shipping>"
                    "<g:shipping>AT:::6.95 EUR</g:shipping></item></channel></rss>")
    result = read(feed, CONFIG)
    assert [o.sku for o in result.offers] == ["1"] and not result.rejections


def test_repeated_prices_and_sale_windows_read_alike_in_every_item(tmp_path):
    # prices and windows are parsed once per distinct text: every item still gets its own reading
    item = ("<item><g:id>{i}</g:id><g:price>{price}</g:price><g:sale_price>5.00 EUR</g:sale_price>"
            "<g:sale_price_effective_date>2026-11-20T00:00+01:00/2026-11-30T23:59+01:00</g:sale_price_effective_date>"
            "<g:availability>In Stock</g:availability></item>")
    feed = tmp_path / "repeats.xml"
    feed.write_text('<rss xmlns:g="http://base.google.com/ns/1.0"><channel>'
                    + "".join(item.format(i=i, price=p) for i, p in enumerate(["9.99 EUR", "9.99", "9.99 EUR", "x", "9.99"]))
                    + "</channel></rss>")
    result = read(feed, CONFIG)
    assert [(o.sku, o.price, o.currency) for o in result.offers] == [(str(i), Decimal("9.99"), "EUR") for i in (0, 1, 2, 4)]
    assert reasons(result) == {(1, "price 'x' is not an amount with a currency")}
    windows = {(o.sale_start, o.sale_end) for o in result.offers}
    assert windows == {(datetime(2026, 11, 20, tzinfo=timezone(timedelta(hours=1))),
                        datetime(2026, 12, 1, tzinfo=timezone(timedelta(hours=1))))}
    assert {o.availability for o in result.offers} == {Availability.in_stock}
    assert any("2 prices carry no currency" in note for note in result.notes)


# ---- UTF-16 and UTF-32 (byte order mark or XML declaration) ---------------------------------------

@pytest.mark.parametrize("fixture, encoding", [
    (fixture, encoding) for fixture in ("gmc_rss.xml", "rejections.xml", "feed.tsv", "comma_with_rejections.csv")
    for encoding in ("utf-16", "utf-32", "utf-16-le")
    if encoding != "utf-16-le" or fixture.endswith(".xml")  # no byte order mark: only an XML declaration says it
])
def test_a_feed_in_utf_16_or_32_reads_as_the_same_feed_in_utf_8(tmp_path, fixture, encoding):
    text = (FIXTURES / fixture).read_text(encoding="utf-8-sig")
    if encoding == "utf-16-le":
        assert text.startswith("<?xml")
        body = text.replace('encoding="UTF-8"', 'encoding="UTF-16"', 1).encode("utf-16-le")
    else:
        body = text.replace('encoding="UTF-8"', f'encoding="{encoding.upper()}"', 1).encode(encoding)
    (tmp_path / fixture).write_bytes(body)
    wide, plain = read(tmp_path / fixture, CONFIG), shop(fixture)
    assert [(o.sku, o.title, o.price, o.source.line) for o in wide.offers] == \
        [(o.sku, o.title, o.price, o.source.line) for o in plain.offers]
    assert reasons(wide) == reasons(plain)
    assert wide.offers or wide.rejections


def test_a_utf_32_feed_that_does_not_decode_is_one_line(tmp_path):
    bad = tmp_path / "feed.xml"
    bad.write_bytes('<?xml version="1.0" encoding="UTF-32"?><rss>'.encode("utf-32") + b"\xff\xff\xff\xff")
    with pytest.raises(InputError, match="not UTF-32 text"):
        read(bad, CONFIG)


# ---- prices without a currency: the project's, unless the feed says otherwise -------------------

def _czech_feed(tmp_path, prices: list[str], link: str = "https://hurom.cz") -> Path:
    item = "<item><g:id>{i}</g:id><title>Odšťavňovač {i}</title><g:price>{price}</g:price></item>\n"
    path = tmp_path / "feed.xml"
    path.write_text(f'<?xml version="1.0" encoding="utf-8"?>\n<rss xmlns:g="http://base.google.com/ns/1.0" '
                    f'version="2.0"><channel><title>Hurom</title><link>{link}</link>\n'
                    + "".join(item.format(i=i, price=p) for i, p in enumerate(prices)) + "</channel></rss>\n",
                    encoding="utf-8")
    return path


def test_bare_prices_take_the_one_currency_the_feeds_other_prices_name(tmp_path):
    result = read(_czech_feed(tmp_path, ["12490 CZK", "9990", "15490 CZK"]), CONFIG)
    assert [(o.price, o.currency) for o in result.offers] == [
        (Decimal("12490"), "CZK"), (Decimal("9990"), "CZK"), (Decimal("15490"), "CZK")]
    assert "feed.xml: 1 prices carry no currency and were read as CZK, the currency the feed's other prices name" \
        in result.notes


def test_bare_prices_of_a_feed_that_names_no_currency_are_the_projects_and_the_note_says_what_the_site_suggests(
        tmp_path):
    result = read(_czech_feed(tmp_path, ["12490", "9990"]), CONFIG)
    assert {o.currency for o in result.offers} == {"EUR"}  # the project's currency, as configured
    [note] = [n for n in result.notes if "carry no currency" in n]
    assert "read as EUR" in note and "hurom.cz" in note and "shop.currency: CZK" in note


def test_a_configured_shop_currency_is_taken_whatever_the_feed_names(tmp_path):
    config = ProjectConfig(shop=ShopOptions(currency="CZK"))
    result = read(_czech_feed(tmp_path, ["12490", "9990"]), config)
    assert {o.currency for o in result.offers} == {"CZK"}


def test_a_sale_price_above_the_price_is_ignored_with_a_note(tmp_path):
    feed = tmp_path / "feed.xml"
    feed.write_text('<rss xmlns:g="http://base.google.com/ns/1.0"><channel>'
                    "<item><g:id>A1</g:id><g:price>50.00 EUR</g:price><g:sale_price>60.00 EUR</g:sale_price>"
                    "<g:sale_price_effective_date>2026-11-20/2026-11-30</g:sale_price_effective_date></item>"
                    "<item><g:id>A2</g:id><g:price>50.00 EUR</g:price><g:sale_price>40.00 EUR</g:sale_price></item>"
                    "</channel></rss>")
    result = read(feed, CONFIG)
    assert [(o.sku, o.price, o.sale_price, o.sale_start) for o in result.offers] == [
        ("A1", Decimal("50.00"), None, None), ("A2", Decimal("50.00"), Decimal("40.00"), None)]
    assert "feed.xml: 1 items have a sale price above their price: kept at their price, the sale price ignored " \
           "(as Merchant Center does)" in result.notes


@pytest.mark.parametrize("text", ["²²²²²²²²", "٤٠٠٦٣٨١٣٣٣٩٣١", "4006381333931²"])
def test_digits_of_other_scripts_are_no_gtin_and_the_item_keeps_its_price(tmp_path, text):
    """str.isdigit() takes superscripts and Arabic-Indic digits; a GTIN is ASCII digits only."""
    assert normalize_gtin(text) is None
    feed = tmp_path / "feed.xml"
    feed.write_text('<rss xmlns:g="http://base.google.com/ns/1.0"><channel><item><g:id>A1</g:id><g:title>Jacke</g:title>'
                    f'<g:gtin>{text}</g:gtin><g:price>9.99 EUR</g:price></item></channel></rss>', encoding="utf-8")
    [offer] = shop_module.read(feed, ProjectConfig()).offers
    assert (offer.sku, offer.gtin, offer.price) == ("A1", None, Decimal("9.99"))
