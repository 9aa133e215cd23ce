"""The newsletter adapter: offers, claims and rejections from a promotional email's HTML."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from unisono.channels import newsletter
from unisono.channels.newsletter import parse_validity
from unisono.domain.config import ProjectConfig
from unisono.domain.models import InputError

FIXTURES = Path(__file__).parent / "fixtures" / "newsletter"
BERLIN = ZoneInfo("Europe/Berlin")


def berlin(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, tzinfo=BERLIN)


def read(name: str, **config) -> newsletter.ChannelRead:
    return newsletter.read(FIXTURES / name, ProjectConfig.model_validate(config))


def write(tmp_path: Path, html: str, name: str = "mail.html") -> Path:
    path = tmp_path / name
    path.write_text(html, encoding="utf-8")
    return path


def by_title(result) -> dict:
    return {o.title: o for o in result.offers}


def shown(offer) -> tuple:
    """What the customer reads: price, struck/"statt" price, badge."""
    return offer.price, offer.reference_price, offer.discount_percent


D = Decimal


# ---- a German table-layout newsletter -----------------------------------------------------------

@pytest.fixture(scope="module")
def herbst():
    return read("bergsport_herbst_de.html")


def test_german_newsletter_yields_exactly_the_product_offers(herbst):
    assert sorted(o.title for o in herbst.offers) == [
        "Daunenweste Leicht", "Trekkingjacke Fjell Damen", "Wanderschuh Alpin GTX Herren"]
    assert {o.channel for o in herbst.offers} == {"newsletter"}
    assert {o.location for o in herbst.offers} == {"bergsport_herbst_de"}  # the file name stem


def test_statt_price_is_the_reference_and_the_badge_the_discount(herbst):
    shoe = by_title(herbst)["Wanderschuh Alpin GTX Herren"]
    assert shown(shoe) == (D("79.99"), D("99.99"), D(20))
    assert shoe.currency == "EUR"
    assert shoe.sale_price is None and shoe.sale_start is None and shoe.sale_end is None


def test_struck_through_prices_are_references_whatever_marks_them(herbst):
    jacket, vest = by_title(herbst)["Trekkingjacke Fjell Damen"], by_title(herbst)["Daunenweste Leicht"]
    assert shown(jacket) == (D("129.00"), D("159.00"), D(19))  # <s>
    # "ab 89,99 €", "UVP 119,99 €" struck through: the manufacturer's price, not a former one (PAngV §11)
    assert shown(vest) == (D("89.99"), None, None) and vest.list_price == D("119.99")


def test_image_title_and_tracking_redirect_links_to_one_product_are_one_offer_keyed_by_the_clean_url(herbst):
    shoe = by_title(herbst)["Wanderschuh Alpin GTX Herren"]
    assert shoe.url == "https://bergsport-example.de/p/wanderschuh-alpin-gtx-herren"  # no utm_*, no www
    assert shoe.sku == "100203"  # "Art.-Nr. 100203"
    assert by_title(herbst)["Trekkingjacke Fjell Damen"].sku is None  # no number shown: the url keys it


def test_newsletter_validity_applies_to_every_offer_in_berlin_time(herbst):
    shoe = by_title(herbst)["Wanderschuh Alpin GTX Herren"]
    # "Gültig vom 20.11. bis 30.11.2026": from the start of 20.11. to the end of 30.11.
    assert (shoe.valid_from, shoe.valid_to) == (berlin(2026, 11, 20), berlin(2026, 12, 1))
    assert shoe.valid_to.utcoffset().total_seconds() == 3600


def test_a_blocks_own_validity_overrides_the_newsletters_and_takes_its_year(herbst):
    vest = by_title(herbst)["Daunenweste Leicht"]  # "Angebot nur bis 25.11."
    assert (vest.valid_from, vest.valid_to) == (None, berlin(2026, 11, 26))


def test_shipping_threshold_discount_and_validity_texts_are_claims_not_offers(herbst):
    claims = {(c.kind, c.text) for c in herbst.claims}
    assert ("shipping", "Versandkostenfrei ab 50 €") in claims
    assert ("discount", "Herbst-Sale: 20 % auf alle Schuhe") in claims
    assert ("payment", "Bequem auf Rechnung bezahlen") in claims
    validity = [c for c in herbst.claims if c.kind == "validity"]
    assert [c.text for c in validity] == ["Gültig vom 20.11. bis 30.11.2026 – online und in allen Filialen.",
                                          "Angebot nur bis 25.11."]
    assert validity[0].source.line == 35
    assert not any(o.price == 50 for o in herbst.offers)


def test_footer_social_unsubscribe_and_logo_links_are_not_offers(herbst):
    urls = {o.url for o in herbst.offers} | {r.reason for r in herbst.rejections}
    for word in ("facebook", "instagram", "youtube", "unsubscribe", "impressum", "datenschutz", "mailto", "view"):
        assert not any(word in u for u in urls), word
    assert "https://bergsport-example.de" not in urls  # the logo


def test_a_product_block_without_a_price_is_rejected_with_its_place(herbst):
    [rej] = herbst.rejections
    assert rej.reason == ("product block links to https://bergsport-example.de/p/kletterseil-dynamic-9-8 "
                          "but shows no price")
    assert rej.source.file == "bergsport_herbst_de.html"
    assert rej.source.line == 135
    assert rej.source.path.endswith("tr[2]/td[2]")
    assert rej.raw.startswith("Kletterseil Dynamic 9.8")


def test_offers_and_rejections_add_up_to_the_product_blocks(herbst):
    assert herbst.rows == 4  # 2 x 2 product grid
    assert all(o.source.line and o.source.path for o in herbst.offers)


def test_location_and_currency_come_from_the_config():
    result = read("bergsport_herbst_de.html", currency="CHF", newsletter={"location": "kw47", "currency": "EUR"})
    assert {o.location for o in result.offers} == {"kw47"}
    assert {o.currency for o in result.offers} == {"EUR"}  # "€" says so, whatever the default


# ---- an English newsletter ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def black_friday():
    return read("trailhouse_black_friday_en.html")


def test_english_prices_with_was_and_regular_price(black_friday):
    offers = by_title(black_friday)
    runner, merino = offers["Alpine Trail Runner"], offers["Merino Base Layer"]
    assert shown(runner) == (D("79.99"), D("99.99"), D(20))
    assert (merino.price, merino.reference_price) == (Decimal("49.99"), Decimal("59.99"))  # "EUR 49.99"
    assert (runner.sku, merino.sku) == ("TR-100", "ML-2020")  # "SKU: TR-100", "Item #: ML-2020"
    assert len(black_friday.offers) == 3 and not black_friday.rejections


def test_english_valid_until_sets_the_end_of_that_day(black_friday):
    runner = by_title(black_friday)["Alpine Trail Runner"]
    assert (runner.valid_from, runner.valid_to) == (None, berlin(2026, 12, 1))
    poles = by_title(black_friday)["Trekking Poles Carbon (pair)"]  # "Deal valid 24–27 Nov 2026"
    assert (poles.valid_from, poles.valid_to) == (berlin(2026, 11, 24), berlin(2026, 11, 28))
    assert poles.reference_price == Decimal("44.95")  # struck through by a <style> class


def test_opaque_tracking_redirects_still_key_the_offer_and_mailchimp_ids_are_dropped(black_friday):
    offers = by_title(black_friday)
    assert offers["Alpine Trail Runner"].url == "https://links.mail-example.com/ls/click?upn=u001.Xy7aBc9dEf"
    assert offers["Merino Base Layer"].url == "https://trailhouse-example.com/products/merino-base-layer?variant=4411"


def test_english_shipping_and_discount_claims(black_friday):
    kinds = {(c.kind, c.text) for c in black_friday.claims}
    assert ("shipping", "Free shipping on orders over €50") in kinds
    assert ("discount", "Black Friday: up to 30% off outdoor gear") in kinds


# ---- schema.org markup --------------------------------------------------------------------------

def test_json_ld_products_are_the_offers_and_the_visible_blocks_are_not_read_twice():
    result = read("bergsport_jsonld_de.html")
    # a StrikethroughPrice is a former price; a ListPrice is the manufacturer's (not one, PAngV §11)
    assert [(o.sku, o.price, o.reference_price, o.list_price) for o in result.offers] == [
        ("100203", Decimal("79.99"), Decimal("99.99"), None), ("200417", Decimal("129"), None, Decimal("159.00"))]
    shoe, jacket = result.offers
    assert shoe.gtin == "04006381333931" and shoe.brand == "Alpin"
    assert shoe.url == "https://bergsport-example.de/p/wanderschuh-alpin-gtx-herren"
    assert (shoe.valid_from, shoe.valid_to) == (berlin(2026, 11, 20), berlin(2026, 12, 1))  # validFrom, priceValidUntil
    assert (jacket.valid_from, jacket.valid_to) == (None, berlin(2026, 12, 1))  # the text "gültig bis 30.11.2026"
    assert shoe.source.line == 10 and "itemListElement[0]" in shoe.source.path


def test_json_ld_product_without_price_is_rejected():
    [rej] = read("bergsport_jsonld_de.html").rejections
    assert rej.reason == "schema.org product 'Kletterseil Dynamic 9.8' has no offers.price"


def test_microdata_products_are_read(tmp_path):
    path = write(tmp_path, """<html><body><table><tr><td>
      <div itemscope itemtype="https://schema.org/Product">
        <a itemprop="url" href="https://shop.example/p/1?utm_source=nl">
          <span itemprop="name">Thermoskanne 1 l</span></a>
        <meta itemprop="sku" content="5501">
        <div itemprop="offers" itemscope itemtype="https://schema.org/Offer">
          <span itemprop="price" content="24.90">24,90 €</span><meta itemprop="priceCurrency" content="EUR">
        </div>
      </div></td></tr></table></body></html>""")
    [offer] = newsletter.read(path, ProjectConfig()).offers
    assert (offer.sku, offer.title, offer.price, offer.url) == ("5501", "Thermoskanne 1 l", Decimal("24.90"),
                                                                 "https://shop.example/p/1")


def test_invalid_json_ld_is_a_note_and_the_heuristic_reads_the_blocks(tmp_path):
    path = write(tmp_path, """<html><head><script type="application/ld+json">{"@type": "Product", name: oops}</script>
      </head><body><div><a href="https://shop.example/p/2">Becher</a> 9,99 €</div></body></html>""")
    result = newsletter.read(path, ProjectConfig())
    assert [(o.title, o.price) for o in result.offers] == [("Becher", Decimal("9.99"))]
    assert any("JSON-LD is not valid JSON" in n for n in result.notes)


# ---- template selectors -------------------------------------------------------------------------

PROSPEKT_TEMPLATE = {"block": "td.angebot", "title": ".name", "price": ".preis",
                     "reference_price": ".preis-alt", "discount": ".stoerer", "sku": ".artnr"}


def test_a_layout_without_product_links_reads_its_name_and_price_blocks_as_the_template_does():
    heuristic = read("markt_prospekt_de.html")
    assert [(o.sku, o.title, o.price, o.reference_price, o.discount_percent, o.url) for o in heuristic.offers] == [
        ("771201", "Kaffeevollautomat Barista One", Decimal("299.00"), Decimal("399.00"), Decimal(25), None),
        ("552310", "Akku-Bohrschrauber 18 V", Decimal("89.99"), None, None, None),
        ("118004", "Bettwäsche Satin 135 x 200 cm", Decimal("27.99"), Decimal("39.99"), Decimal(30), None),
    ]


def test_template_selectors_read_a_layout_the_heuristic_cannot():
    result = read("markt_prospekt_de.html", newsletter={"template": PROSPEKT_TEMPLATE})
    assert [(o.sku, o.title, o.price, o.reference_price, o.discount_percent) for o in result.offers] == [
        ("771201", "Kaffeevollautomat Barista One", Decimal("299.00"), Decimal("399.00"), Decimal(25)),
        ("552310", "Akku-Bohrschrauber 18 V", Decimal("89.99"), None, None),
        ("118004", "Bettwäsche Satin 135 x 200 cm", Decimal("27.99"), Decimal("39.99"), Decimal(30)),
    ]
    assert all(o.url is None for o in result.offers)  # keyed by the sku
    assert {(o.valid_from, o.valid_to) for o in result.offers} == {(berlin(2026, 11, 16), berlin(2026, 11, 22))}
    [rej] = result.rejections
    assert rej.reason == "product block shows no price ('Preis siehe Markt' is not a price)"
    assert rej.source.line == 47 and result.rows == 4


def test_a_template_selector_that_is_not_css_is_a_one_line_error():
    with pytest.raises(InputError, match=r"newsletter.template.block 'td\[\[' is not a CSS selector"):
        read("markt_prospekt_de.html", newsletter={"template": {"block": "td[["}})


# ---- what is not an offer -----------------------------------------------------------------------

def test_a_newsletter_without_offers_is_an_error_not_silence(tmp_path):
    path = write(tmp_path, """<html><body><table><tr><td>
      <h1>Neues aus dem Blog</h1><p>20 % auf alle Schuhe! Versandkostenfrei ab 50 €.</p>
      <a href="https://shop.example/blog/herbst">Weiterlesen</a>
      <a href="https://shop.example/newsletter/abmelden">Abmelden</a></td></tr></table></body></html>""",
                 name="newsletter.html")
    with pytest.raises(InputError) as e:
        newsletter.read(path, ProjectConfig())
    assert str(e.value) == (
        "newsletter.html: no offers found (no schema.org product markup and no product blocks with a name and "
        "a price); describe the layout under newsletter.template in unisono.yaml")


def test_a_gift_shown_only_with_its_struck_price_is_rejected(tmp_path):
    path = write(tmp_path, """<html><body><table><tr>
      <td><a href="https://shop.example/p/hocker"><img src="h.jpg"></a><b>HOCKER</b> GRATIS <s>79,99 €</s></td>
      <td><a href="https://shop.example/p/tisch"><img src="t.jpg"></a><b>TISCH</b> 199,99 € <s>249,99 €</s></td>
      </tr></table></body></html>""")
    result = newsletter.read(path, ProjectConfig())
    assert [(o.title, o.price) for o in result.offers] == [("TISCH", Decimal("199.99"))]
    [rej] = result.rejections
    assert "only the struck-through price 79,99 €" in rej.reason and "GRATIS" in rej.reason


def test_an_unmarked_now_was_pair_reads_the_lower_as_the_price(tmp_path):
    path = write(tmp_path, """<html><body><div>
      <a href="https://shop.ch/teppich-tutut.html"><img src="t.png"></a>
      <span class="name">TUTUT</span><span>74.99 Fr.</span><span>84.99 Fr.</span></div></body></html>""")
    [offer] = newsletter.read(path, ProjectConfig()).offers
    assert (offer.price, offer.reference_price, offer.currency) == (Decimal("74.99"), Decimal("84.99"), "CHF")


def test_an_amount_taken_off_is_no_price_but_a_spaced_dash_before_a_price_is_a_separator(tmp_path):
    path = write(tmp_path, """<html><body><table><tr>
      <td><a href="https://shop.example/p/jacke"><img src="j.jpg"></a><b>Jacke</b> 89,99 € <i>-10 €</i></td>
      <td><a href="https://shop.example/p/hose"><img src="h.jpg"></a><b>Hose</b> − 59,99 €</td>
      <td><a href="https://shop.example/p/schal"><img src="s.jpg"></a><b>Schal</b> −9,99 € 19,99 €</td>
      </tr></table></body></html>""")
    offers = newsletter.read(path, ProjectConfig()).offers
    assert [(o.title, o.price) for o in offers] == [
        ("Jacke", Decimal("89.99")), ("Hose", Decimal("59.99")), ("Schal", Decimal("19.99"))]


# ---- files that cannot be read ------------------------------------------------------------------

@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty"),
    (b"  \n\t ", "the file is empty"),
    (b"\x00\x01\x02PK\x03\x04", "not an HTML file"),
])
def test_empty_or_binary_files_are_one_line_errors(tmp_path, content, message):
    path = tmp_path / "mail.html"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as e:
        newsletter.read(path, ProjectConfig())
    assert "\n" not in str(e.value)


def test_a_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot open the file"):
        newsletter.read(tmp_path / "nope.html", ProjectConfig())


def test_a_too_large_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(newsletter, "MAX_BYTES", 1000)
    path = write(tmp_path, "<html>" + "x" * 2000 + "</html>")
    with pytest.raises(InputError, match="too large"):
        newsletter.read(path, ProjectConfig())


def test_html_nested_too_deeply_is_a_one_line_error(tmp_path):
    deep_json = "[" * 100_000 + "]" * 100_000
    html = ('<html><head><script type="application/ld+json">' + deep_json + "</script></head><body>"
            + "<div>" * 50_000 + '<a href="https://shop.example/p/x">X</a> 1,00 €' + "</div>" * 50_000
            + "</body></html>")
    path = write(tmp_path, html)
    with pytest.raises(InputError, match=r"^mail.html: the HTML is nested too deeply to read \(over 256 levels\)$"):
        newsletter.read(path, ProjectConfig())


def test_json_ld_nested_too_deeply_is_skipped_with_a_note(tmp_path):
    path = write(tmp_path, '<html><head><script type="application/ld+json">' + "[" * 100_000 + "]" * 100_000
                 + '</script></head><body><div><a href="https://shop.example/p/x">X</a> 1,00 €</div></body></html>')
    result = newsletter.read(path, ProjectConfig())
    assert len(result.offers) == 1
    assert any("line 1: JSON-LD is not valid JSON" in n for n in result.notes)


def test_json_ld_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    path = write(tmp_path, f"""<html><head><script type="application/ld+json">
      __import__('pathlib').Path({str(marker)!r}).touch()</script><script>alert(1)</script></head>
      <body><div><a href="https://shop.example/p/3">Tasse</a> 4,99 €</div></body></html>""")
    result = newsletter.read(path, ProjectConfig())
    assert not marker.exists() and len(result.offers) == 1


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
    | st.sampled_from(["Product", "Offer", "ItemList", "79.99", "2026-11-30", "https://[x", "StrikethroughPrice"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["@type", "@graph", "offers", "price", "priceCurrency", "priceValidUntil", "validFrom",
                         "name", "sku", "url", "gtin13", "itemListElement", "item", "itemOffered",
                         "priceSpecification", "priceType", "brand"]), children, max_size=5),
    max_leaves=25)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=_json, body=st.text(max_size=200))
def test_any_json_ld_and_any_text_give_offers_or_a_one_line_error(tmp_path, data, body):
    path = write(tmp_path, f'''<html><head><script type="application/ld+json">{json.dumps(data)}</script></head>
      <body><div><a href="https://shop.example/p/1">X</a> 9,99 €</div><p>{body}</p></body></html>''')
    try:
        result = newsletter.read(path, ProjectConfig())
    except InputError as e:
        assert "\n" not in str(e)
    else:
        assert result.offers


def test_windows_1252_newsletter_is_decoded_by_its_meta_charset(tmp_path):
    path = tmp_path / "alt.html"
    path.write_bytes('<html><head><meta charset="windows-1252"></head><body><div>'
                     '<a href="https://shop.example/p/4">Schläger</a> 19,99 €</div></body></html>'.encode("cp1252"))
    [offer] = newsletter.read(path, ProjectConfig()).offers
    assert (offer.title, offer.price) == ("Schläger", Decimal("19.99"))


# ---- validity texts -----------------------------------------------------------------------------

SENT = date(2026, 11, 20)  # the day the newsletter went out, for dates without a year


@pytest.mark.parametrize("text, expected", [
    ("gültig vom 20.11. bis 30.11.2026", (date(2026, 11, 20), date(2026, 11, 30))),
    ("Gültig bis 30.11.2026", (None, date(2026, 11, 30))),
    ("Nur bis 30.11.!", (None, date(2026, 11, 30))),  # no year: the one nearest to the day it was sent
    ("Das Angebot gilt nur bis zum 10. September 2023", (None, date(2023, 9, 10))),
    ("gültig bis zum 10.09.2023 oder solange der Vorrat reicht", (None, date(2023, 9, 10))),
    ("Aktion gültig 20.–24.11.2026", (date(2026, 11, 20), date(2026, 11, 24))),
    ("gültig vom 28.12. bis 3.1.2027", (date(2026, 12, 28), date(2027, 1, 3))),  # the end's year, less one
    ("gültig vom 28.12.2026 bis 3.1.", (date(2026, 12, 28), date(2027, 1, 3))),
    ("gültig ab 20.11.2026", (date(2026, 11, 20), None)),
    ("Offer valid until November 30, 2026", (None, date(2026, 11, 30))),
    ("valid 20–30 Nov 2026", (date(2026, 11, 20), date(2026, 11, 30))),
    ("Valid from Nov 20 to Nov 30, 2026", (date(2026, 11, 20), date(2026, 11, 30))),
    ("valid Nov 20 – 30, 2026", (date(2026, 11, 20), date(2026, 11, 30))),
    ("valid until 2026-11-30", (None, date(2026, 11, 30))),
    ("Offre valable jusqu'au 30.11.2026 à 23h59", (None, date(2026, 11, 30))),
    ("Offre valable du 20.11.2026 au 30.11.2026", (date(2026, 11, 20), date(2026, 11, 30))),
    ("Válido hasta el 30 de noviembre de 2026", (None, date(2026, 11, 30))),
    ("Offerta valida fino al 30 novembre 2026", (None, date(2026, 11, 30))),
    ("Geldig t/m 30 november 2026", (None, date(2026, 11, 30))),
    ("Oferta ważna do 30 listopada 2026", (None, date(2026, 11, 30))),
    ("Nur vom 27.11. bis 30.11.2026: 20 % auf alle Schuhe", (date(2026, 11, 27), date(2026, 11, 30))),
    ("Aktion läuft vom 27.11. bis 30.11.2026", (date(2026, 11, 27), date(2026, 11, 30))),
    ("Vom 27.11. bis 30.11.2026 im Shop", (date(2026, 11, 27), date(2026, 11, 30))),
    ("Nur vom 27. bis 30. November 2026", (date(2026, 11, 27), date(2026, 11, 30))),
    ("Black Week 27.11. – 30.11.2026", (date(2026, 11, 27), date(2026, 11, 30))),  # a banner's dates, no word
    ("Black Week: 27.–30.11.2026", (date(2026, 11, 27), date(2026, 11, 30))),
])
def test_validity_texts(text, expected):
    assert parse_validity(text, SENT) == expected


@pytest.mark.parametrize("text, expected", [
    ("Offre valable du 27/11 au 30/11", (date(2026, 11, 27), date(2026, 11, 30))),
    ("du 27/11 au 30/11 seulement", (date(2026, 11, 27), date(2026, 11, 30))),
    ("Du 27/11/2026 au 30/11/2026 inclus", (date(2026, 11, 27), date(2026, 11, 30))),
    ("valable jusqu'au 30/11", (None, date(2026, 11, 30))),
    ("Valid 11/27/2026–11/30/2026", (date(2026, 11, 27), date(2026, 11, 30))),  # US: month first
    ("Offer valid through 11/30/2026", (None, date(2026, 11, 30))),
    ("valid 12/01/2026 - 12/24/2026", (date(2026, 12, 1), date(2026, 12, 24))),  # 24 says month first, for both
    ("gültig bis 05/12/2026", (None, date(2026, 12, 5))),  # nothing says otherwise: day first, as in Europe
])
def test_validity_texts_with_slash_dates_day_first_or_us_month_first(text, expected):
    assert parse_validity(text, SENT) == expected


@pytest.mark.parametrize("text, sent, expected", [
    ("nur bis 5.1.", date(2026, 12, 20), (None, date(2027, 1, 5))),  # sent before New Year: next January
    ("gültig vom 28.12. bis 3.1.", date(2026, 12, 27), (date(2026, 12, 28), date(2027, 1, 3))),
    ("nur bis 30.11.", date(2026, 12, 3), (None, date(2026, 11, 30))),  # a copy sent late: expired, not next year
    ("nur bis 30.11.", date(2026, 5, 1), (None, date(2026, 11, 30))),  # a long offer: ahead, never behind
    ("gültig bis 29.02.", date(2027, 3, 1), (None, date(2028, 2, 29))),
])
def test_dates_without_a_year_are_the_next_such_dates_from_the_day_the_newsletter_was_sent(text, sent, expected):
    assert parse_validity(text, sent) == expected


@pytest.mark.parametrize("text, expected", [  # sent on Thursday 19.11.2026
    ("Nur bis Sonntag: 20 % auf alle Schuhe", (None, date(2026, 11, 22))),
    ("Angebot gilt bis zum Sonntag", (None, date(2026, 11, 22))),
    ("Offer ends Sunday!", (None, date(2026, 11, 22))),
    ("valid until Monday", (None, date(2026, 11, 23))),
    ("gültig bis Donnerstag", (None, date(2026, 11, 19))),  # the day it was sent
    ("Offre valable jusqu'à dimanche", (None, date(2026, 11, 22))),
    ("Geldig t/m zondag", (None, date(2026, 11, 22))),
    ("Nur heute: 20 % auf alles", (date(2026, 11, 19), date(2026, 11, 19))),
    ("gültig bis Sonntag, 29.11.", (None, date(2026, 11, 29))),  # a date beside the day: the date
    ("Ends Sunday Nov 29", (None, date(2026, 11, 29))),
])
def test_a_weekday_ends_on_the_next_such_day_from_the_day_the_newsletter_was_sent(text, expected):
    assert parse_validity(text, date(2026, 11, 19)) == expected


def test_the_publication_date_decides_the_year_of_a_validity_without_one(tmp_path):
    html = ('<html><body><p>Nur bis 30.11.!</p><table><tr><td><a href="https://shop.example/p/kessel-1">'
            'Wasserkessel Edelstahl</a> <b>19,99 €</b></td></tr></table></body></html>')
    path = tmp_path / "nl.html"
    path.write_text(html, encoding="utf-8")
    for year in (2026, 2031):
        [offer] = newsletter.read(path, ProjectConfig(), published_at=datetime(year, 11, 20, 8, tzinfo=timezone.utc)).offers
        assert offer.valid_to.astimezone(ZoneInfo("Europe/Berlin")).date() == date(year, 12, 1)  # to the end of 30.11.


def test_a_newsletter_valid_until_sunday_advertises_its_offers_to_the_end_of_that_sunday(tmp_path):
    html = ('<html><body><h1>Black Week: nur bis Sonntag!</h1><table><tr><td><a href="https://shop.example/p/kessel-1">'
            'Wasserkessel Edelstahl</a> <b>19,99 €</b></td></tr></table></body></html>')
    (tmp_path / "nl.html").write_text(html, encoding="utf-8")
    sent = datetime(2026, 11, 19, 7, tzinfo=timezone.utc)  # a Thursday, 08:00 in Berlin
    read = newsletter.read(tmp_path / "nl.html", ProjectConfig(), published_at=sent)
    [offer] = read.offers
    assert offer.valid_to == datetime(2026, 11, 22, 23, tzinfo=timezone.utc)  # 23.11. 00:00 in Berlin
    assert not any("no validity statement" in note for note in read.notes)
    dated = html.replace("</table>", "</table><p>Angebote gültig bis 30.11.</p>")  # a date beats the weekday
    (tmp_path / "nl.html").write_text(dated, encoding="utf-8")
    [offer] = newsletter.read(tmp_path / "nl.html", ProjectConfig(), published_at=sent).offers
    assert offer.valid_to == datetime(2026, 11, 30, 23, tzinfo=timezone.utc)


@pytest.mark.parametrize("text", [
    "Lieferung bis 24.12. garantiert",  # a delivery promise, not the offer's validity
    "Wanderschuh Alpin GTX 79,99 €",
    "gültig bis 31.02.2026",  # no such day
    "100 % du coton 27/11",  # "du" without "au": no window
    "Lieferung vom 27.11. bis 30.11.",  # delivery, not the offer
    "Jetzt 19,99 € – 29,99 € sparen",  # prices, no dates
    "Größen 36 - 42, Farbe 2",
    "Sonntag geöffnet",  # opening hours, no validity word
    "Versand bis Montag",  # delivery
])
def test_texts_that_are_no_validity(text):
    assert parse_validity(text, SENT) is None


def test_cents_set_as_a_superscript_are_cents(tmp_path):
    html = ('<html><body><table><tr><td><a href="https://shop.example/p/kessel-1">Wasserkessel Edelstahl</a>'
            '<p><span style="font-size:28px">39<sup>99</sup>&nbsp;€</span> <s>49,99 €</s></p></td></tr></table>'
            '<p>Angebote gültig bis 30.11.2026</p></body></html>')
    (tmp_path / "nl.html").write_text(html, encoding="utf-8")
    [offer] = newsletter.read(tmp_path / "nl.html", ProjectConfig()).offers
    assert (offer.price, offer.reference_price) == (Decimal("39.99"), Decimal("49.99"))


def test_the_validity_in_the_small_print_beside_the_unsubscribe_link_is_read(tmp_path):
    # legal small print shares the footer with "Abmelden": its validity is the email's, its other words are none
    html = ('<html><body><table><tr><td><a href="https://shop.example/p/kessel-1">Wasserkessel</a> <b>19,99 €</b>'
            '</td></tr><tr><td>Alle Preise inkl. MwSt. Angebote gültig vom 27.11. bis 30.11.2026, solange der Vorrat '
            'reicht. Versandkostenfrei ab 20 €. <a href="https://shop.example/unsubscribe">Abmelden</a></td></tr>'
            '</table></body></html>')
    (tmp_path / "nl.html").write_text(html, encoding="utf-8")
    result = newsletter.read(tmp_path / "nl.html", ProjectConfig(), published_at=datetime(2026, 11, 26, 8, tzinfo=timezone.utc))
    [offer] = result.offers
    berlin = ZoneInfo("Europe/Berlin")
    assert (offer.valid_from.astimezone(berlin).date(), offer.valid_to.astimezone(berlin).date()) == (
        date(2026, 11, 27), date(2026, 12, 1))  # to the end of 30.11.
    assert [c.kind for c in result.claims] == ["validity"]


# ---- an email that states no validity -----------------------------------------------------------

NO_VALIDITY = ('<table><tr><td><a href="https://shop.example/p/jacke">Jacke Alpin</a><div>79,99 €</div></td>'
               '<td><a href="https://shop.example/p/hose">Hose Alpin</a><div>59,99 €</div></td></tr></table>')


def test_an_email_without_a_validity_statement_advertises_for_valid_days_after_it_was_sent(tmp_path):
    sent = datetime(2026, 11, 19, 6, tzinfo=timezone.utc)
    result = newsletter.read(write(tmp_path, NO_VALIDITY), ProjectConfig(), published_at=sent)
    assert {o.valid_to for o in result.offers} == {datetime(2026, 12, 3, 6, tzinfo=timezone.utc)}
    assert any("advertised for 14 days after it was sent, until 03.12.2026 07:00" in n for n in result.notes)
    open_ended = newsletter.read(write(tmp_path, NO_VALIDITY), ProjectConfig.model_validate({"newsletter": {"valid_days": 0}}),
                                 published_at=sent)
    assert {o.valid_to for o in open_ended.offers} == {None}  # until the location's next newsletter
    assert any("stay live until this location's next newsletter" in n for n in open_ended.notes)


@pytest.mark.parametrize("name", [
    "Kopfhörer AirPods Pro", "Over-Ear Kopfhörer Sony WH-1000XM5", "Fahrrad-Einkaufstasche Shopper",
    "Geschenkset Kettenpflege", "Versandtasche gepolstert", "Bonus Pack Flickzeug", "Spar-Set Schläuche 2 Stück",
    "Trinkrucksack über 2 L", "Gutscheinbuch Radtouren"])
@pytest.mark.parametrize("same_line", [False, True])
def test_a_name_holding_a_unit_shipping_or_voucher_word_keeps_its_price(tmp_path, name, same_line):
    """Words that mark a unit price ("pro kg"), a threshold ("Versand ab") or a voucher count beside
    their amount, not anywhere in a product's name on the line before its price."""
    gap = " " if same_line else "<br>"
    blocks = "".join(
        f'<tr><td><a href="https://shop.example/p/{i}"><img src="https://cdn.example/{i}.jpg"></a>'
        f'<h3><a href="https://shop.example/p/{i}">{title}</a>{gap}<strong>{price}</strong></h3></td></tr>'
        for i, (title, price) in enumerate([(name, "49,99 €"), ("Fahrradhelm Urban", "59,99 €")]))
    html = (f"<html><body><table>{blocks}</table><p>Versandkostenfrei ab 29 €. Spare jetzt 10 € mit dem "
            f"Gutschein ab 50 € Bestellwert. Gültig bis 30.11.2026</p></body></html>")
    result = newsletter.read(write(tmp_path, html), ProjectConfig())
    prices = {o.title: o.price for o in result.offers}
    assert prices == {name: Decimal("49.99"), "Fahrradhelm Urban": Decimal("59.99")}, result.rejections
    assert not result.rejections


@pytest.mark.parametrize("text", ["Versandkostenfrei ab 49 €", "Kostenloser Versand ab einem Bestellwert von 49 €",
                                  "Sparen Sie satte 49 €", "Free shipping on orders over 49 €", "Du sparst 49 €",
                                  "Grundpreis: 49,00 €", "1 kg = 49,00 €", "je 49,00 €"])
def test_a_threshold_saving_or_unit_price_beside_a_product_is_no_second_price(tmp_path, text):
    html = ('<html><body><table><tr><td><a href="https://shop.example/p/1">Zelt Trail 2</a>'
            f'<p><strong>199,00 €</strong></p><p>{text}</p></td></tr></table></body></html>')
    result = newsletter.read(write(tmp_path, html), ProjectConfig())
    assert [(o.title, o.price) for o in result.offers] == [("Zelt Trail 2", Decimal("199.00"))]


@pytest.mark.parametrize("headline, small_print, window", [
    ("Black Week – nur bis 30.11.!", "Angebote gültig vom 20.11. bis 30.11.2026.", ((2026, 11, 20), (2026, 12, 1))),
    ("Nur bis 30.11.2026!", "Alle Angebote gültig ab 20.11.2026.", ((2026, 11, 20), (2026, 12, 1))),
    ("Black Week", "Angebote gültig bis 30.11.2026.", (None, (2026, 12, 1))),
])
def test_the_newsletters_window_takes_its_start_and_end_wherever_the_text_states_them(tmp_path, headline, small_print,
                                                                                      window):
    html = (f"<html><body><h1>{headline}</h1><table><tr><td><a href='https://shop.example/p/1'>Helm Urban</a>"
            f"<p><strong>99,99 €</strong> <s>statt 129,99 €</s></p></td></tr></table><p>{small_print}</p></body></html>")
    [offer] = newsletter.read(write(tmp_path, html), ProjectConfig(),
                              published_at=datetime(2026, 11, 19, 7, tzinfo=timezone.utc)).offers
    start, end = window
    assert (offer.valid_from, offer.valid_to) == (start and berlin(*start), berlin(*end))


def test_one_promise_in_the_preheader_and_the_banner_is_one_claim_without_the_preheaders_padding(tmp_path):
    html = ('<html><body><div style="display:none">Nur bis Sonntag: 20 % auf alle Schuhe &#847; &zwnj; &#847; &zwnj;'
            '</div><table><tr><td><h1>BLACK WEEK</h1><p>20 % auf alle Schuhe</p></td></tr>'
            '<tr><td><p>10 % auf alle Jacken</p></td></tr><tr><td><a href="https://shop.example/p/a1">Laufschuh Speed'
            '</a> <b>80,00 €</b></td></tr></table></body></html>')
    (tmp_path / "nl.html").write_text(html, encoding="utf-8")
    claims = newsletter.read(tmp_path / "nl.html", ProjectConfig(),
                             published_at=datetime(2026, 11, 23, 7, tzinfo=timezone.utc)).claims
    assert [c.text for c in claims if c.kind == "discount"] == ["Nur bis Sonntag: 20 % auf alle Schuhe",
                                                                "10 % auf alle Jacken"]


def test_a_cut_off_email_is_refused_not_published_as_the_issue(tmp_path):
    whole = ('<html><body><table><tr><td><a href="https://shop.example/p/a1">Laufschuh Speed</a> 80,00 €</td></tr>'
             '<tr><td><a href="https://shop.example/p/a2">Hallenschuh Court</a> 90,00 €</td></tr></table></body></html>')
    (tmp_path / "nl.html").write_text(whole[:110], encoding="utf-8")
    with pytest.raises(InputError, match=r"^nl.html: the email ends before </body> and </html>: a cut-off"):
        newsletter.read(tmp_path / "nl.html", ProjectConfig())
    (tmp_path / "nl.html").write_text(whole.replace("</html>", ""), encoding="utf-8")  # </body> is enough
    assert len(newsletter.read(tmp_path / "nl.html", ProjectConfig()).offers) == 2


def test_an_email_declaring_utf8_but_saved_as_windows_1252_is_read_as_windows_1252(tmp_path):
    html = ('<html><head><meta charset="utf-8"></head><body><table><tr><td><a href="https://shop.example/p/a1">'
            'Größe Laufschuh</a> 79,99 € <s>statt 99,99 €</s></td></tr></table></body></html>')
    (tmp_path / "nl.html").write_bytes(html.encode("cp1252"))
    [offer] = newsletter.read(tmp_path / "nl.html", ProjectConfig()).offers
    assert (offer.title, offer.price) == ("Größe Laufschuh", Decimal("79.99"))
