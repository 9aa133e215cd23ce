"""The newsletter adapter on the patterns of newsletters as really sent (issue 15): prices without a
currency sign, other currencies, the EU 30-day lowest price line, space-grouped thousands, blocks
with a dead link, vouchers and teasers, badges above the name, click-tracked links. Every email here
is written for the test; none is copied from a sender."""
from __future__ import annotations

import base64
from decimal import Decimal
from pathlib import Path

from unisono.channels import newsletter
from unisono.channels.newsletter_links import unwrap
from unisono.channels.newsletter_prices import parse_amount
from unisono.domain.config import ProjectConfig

D = Decimal


def read(tmp_path: Path, body: str, currency: str = "EUR", style: str = "") -> newsletter.ChannelRead:
    path = tmp_path / "mail.html"
    path.write_text(f"<html><head><style>{style}</style></head><body>{body}</body></html>", encoding="utf-8")
    return newsletter.read(path, ProjectConfig.model_validate({"currency": currency}))


def cell(inner: str) -> str:
    return f"<td>{inner}</td>"


def grid(*cells: str) -> str:
    return "<table><tr>" + "".join(cells) + "</tr></table>"


def offers(result) -> list[tuple]:
    return [(o.title, o.price, o.currency, o.reference_price, o.list_price) for o in result.offers]


# ---- prices without a currency sign -----------------------------------------------------------------

def test_prices_without_a_sign_take_the_currency_the_email_states(tmp_path):
    result = read(tmp_path, grid(
        cell('<a href="https://markt.example/p/butter"><img src="b.jpg" alt=""></a><b>Deutsche Markenbutter</b>'
             '<div>250 g</div><div>1,79*</div>'),
        cell('<a href="https://markt.example/p/kaffee"><img src="k.jpg" alt=""></a><b>Röstkaffee Crema</b>'
             '<div>UVP 5,99</div><div>3,99*</div>'),
    ) + "<p>* Alle angegebenen Preise in Euro inkl. MwSt.</p>", currency="USD")
    assert offers(result) == [("Deutsche Markenbutter", D("1.79"), "EUR", None, None),
                              ("Röstkaffee Crema", D("3.99"), "EUR", None, D("5.99"))]


def test_without_a_statement_signless_prices_take_the_currency_of_the_signed_ones(tmp_path):
    result = read(tmp_path, grid(
        cell('<a href="https://shop.example/p/kit-1">Battery Kit #1</a> | MSRP 2,113.75 NOW $1,796.69'),
        cell('<a href="https://shop.example/p/kit-2">Battery Kit #2</a> | MSRP $3,709.75 NOW $3,153.29'),
    ))
    assert offers(result) == [("Battery Kit #1", D("1796.69"), "USD", None, D("2113.75")),
                              ("Battery Kit #2", D("3153.29"), "USD", None, D("3709.75"))]


def test_dates_times_percentages_and_measures_are_no_prices(tmp_path):
    result = read(tmp_path, grid(cell(
        '<a href="https://shop.example/p/1">Saft 1,5 l</a><div>gültig bis 30.11. um 10.30 Uhr, -12,50 %</div>'
        '<div>1,29*</div>')))
    assert offers(result) == [("Saft 1,5 l", D("1.29"), "EUR", None, None)]


# ---- other currencies and forms ---------------------------------------------------------------------

def test_rupees_mrp_and_prices_inside_sentences(tmp_path):
    result = read(tmp_path, grid(
        cell('<a href="https://shop.example.in/p/kurta">Cotton Kurta</a><p>MRP Rs. 4,698 | Our Price Rs. 3,599</p>'),
        cell('<a href="https://shop.example.in/p/saree">Silk Saree</a><p>Grab it today in just Rs.1908!</p>'),
        cell('<a href="https://shop.example.in/p/shawl">Pashmina Shawl</a><p>Rs. 3,239</p>'),
    ))
    assert offers(result) == [("Cotton Kurta", D("3599"), "INR", None, D("4698")),
                              ("Silk Saree", D("1908"), "INR", None, None),
                              ("Pashmina Shawl", D("3239"), "INR", None, None)]


def test_space_no_break_and_thin_space_thousands_separators(tmp_path):
    result = read(tmp_path, grid(
        cell('<a href="https://shop.example/p/sac">MOSCHINO</a><div>1\u202f865,00\u00a0€</div>'),
        cell('<a href="https://shop.example/p/sofa">Sofa</a><div>2\u00a0399,00 €</div>'),
        cell('<a href="https://shop.example/p/uhr">Uhr</a><div>CHF 1\'299.00</div>'),
    ))
    assert [(o.price, o.currency) for o in result.offers] == [
        (D("1865.00"), "EUR"), (D("2399.00"), "EUR"), (D("1299.00"), "CHF")]


def test_amounts_with_one_separator_before_three_digits_are_thousands():
    assert parse_amount("3,239") == D("3239") and parse_amount("1.299") == D("1299")
    assert parse_amount("1.299,00") == D("1299.00") and parse_amount("1,299.00") == D("1299.00")
    assert parse_amount("19,-") == D("19") and parse_amount("0,99") == D("0.99")


# ---- the EU "lowest price of the last 30 days" line ---------------------------------------------------

def test_the_30_day_lowest_price_is_a_third_price_the_offer_states_beside_its_former_price(tmp_path):
    strike = ".struck { text-decoration: line-through }"
    result = read(tmp_path, grid(
        cell('<a href="https://shop.example/p/pull"><img src="p.jpg" alt=""></a><div>Roxy</div><div>31,69 €</div>'
             '<div>Prix de référence : <span class="struck">44,99 €</span> -30%</div>'
             '<div>Dernier prix le plus bas :</div><div><span class="struck">33,89 €</span> -6%</div>'),
        cell('<a href="https://shop.example/p/tasche">Tasche</a><div>19,99 €</div><div>statt 29,99 €</div>'
             '<div>Niedrigster Preis der letzten 30 Tage: 22,59 €</div>'),
        cell('<a href="https://shop.example/p/sabot">Sabot</a><div>279,00 €</div>'
             '<div>Dernier prix le plus bas : <s>370,00 €</s> -25%</div>'),
    ), style=strike)
    assert offers(result) == [("Roxy", D("31.69"), "EUR", D("44.99"), None),
                              ("Tasche", D("19.99"), "EUR", D("29.99"), None),
                              ("Sabot", D("279.00"), "EUR", None, None)]  # the lowest price is no former price
    assert [o.lowest_30d for o in result.offers] == [D("33.89"), D("22.59"), D("370.00")]
    stated = {str(c.source): c.text for c in result.claims if c.kind == "lowest_price"}
    assert [stated[str(o.source)] for o in result.offers] == [
        "'Roxy': Dernier prix le plus bas : 33,89 €", "'Tasche': Niedrigster Preis der letzten 30 Tage: 22,59 €",
        "'Sabot': Dernier prix le plus bas : 370,00 €"]
    assert not result.rejections


# ---- blocks with a dead link -------------------------------------------------------------------------

def test_a_priced_block_whose_link_goes_nowhere_is_an_offer_keyed_by_its_title(tmp_path):
    block = ('<img src="dress.jpg" alt=""><div class="price">$100.00</div><h3>Young Woman Dress</h3>'
             '<p>Light summer dress.</p><a href="#">Shop now</a>')
    result = read(tmp_path, grid(cell(block), cell(block), cell(block.replace("Young Woman", "Linen"))))
    assert [(o.title, o.price, o.url, o.sku) for o in result.offers] == [
        ("Young Woman Dress", D("100.00"), "urn:unisono:title:young-woman-dress", None),
        ("Young Woman Dress", D("100.00"), "urn:unisono:title:young-woman-dress:2", None),
        ("Linen Dress", D("100.00"), "urn:unisono:title:linen-dress", None)]


def test_a_block_without_a_link_but_with_a_product_number_is_keyed_by_it(tmp_path):
    result = read(tmp_path, grid(
        cell('<img src="a.jpg"><b>Akku-Bohrschrauber</b><div>Art.-Nr. 552310</div><div>89,99 €</div>'
             '<a href="">Details</a>'),
        cell('<a href="https://shop.example/p/1">Hammer</a><div>9,99 €</div>')))
    assert [(o.title, o.sku, o.url) for o in result.offers] == [
        ("Akku-Bohrschrauber", "552310", None), ("Hammer", None, "https://shop.example/p/1")]


# ---- blocks without any link --------------------------------------------------------------------------

def test_a_name_and_price_beside_an_image_is_an_offer_without_a_link_keyed_by_its_title(tmp_path):
    result = read(tmp_path, grid(
        cell('<img src="https://img.example/sofa.jpg" alt=""><p><b>Ecksofa Lund, Cord grau</b></p>'
             '<p><b>1.299,00 €</b> <s>1.599,00 €</s></p>'),
        cell('<img src="https://img.example/tisch.jpg" alt=""><p><b>Esstisch Eiche massiv</b></p><p>2 499,00 €</p>'),
    ))
    assert [(o.title, o.price, o.reference_price, o.url) for o in result.offers] == [
        ("Ecksofa Lund, Cord grau", D("1299.00"), D("1599.00"), "urn:unisono:title:ecksofa-lund-cord-grau"),
        ("Esstisch Eiche massiv", D("2499.00"), None, "urn:unisono:title:esstisch-eiche-massiv")]


def test_a_linkless_product_whose_image_stands_in_the_cell_beside_its_text_is_read(tmp_path):
    result = read(tmp_path, '<table><tr><td><img src="https://img.example/bottle.jpg" alt=""></td>'
                            '<td><h3>Insulated Bottle 750 ml</h3><p>Keeps tea hot.</p><p><b>€24.99</b></p></td></tr></table>'
                            '<table><tr><td><a href="https://shop.example/p/boot">Trail Boot</a><p>€89.99</p></td></tr></table>')
    assert offers(result) == [("Insulated Bottle 750 ml", D("24.99"), "EUR", None, None),
                              ("Trail Boot", D("89.99"), "EUR", None, None)]


def test_linkless_raffles_gift_cards_and_slogans_beside_images_are_not_offers(tmp_path):
    result = read(tmp_path, grid(
        cell('<img src="g.png" alt=""><h3>Adventsgewinnspiel</h3><p>Gewinnen Sie einen Gutschein über 500 €</p>'),
        cell('<img src="c.png" alt=""><h3>Give the gift of scent</h3><p>Digital gift cards from $25</p>'),
        cell('<img src="m.png" alt=""><h3>Wintermützen</h3><p>Alle Mützen nur 9,99 €</p>'),
        cell('<img src="e.png" alt=""><h1>EVERYTHING UNDER €50</h1>'),
        cell('<p>Versandkostenfrei ab 39 € Bestellwert</p>'),
        cell('<a href="https://shop.example/p/schal">Schal Merino</a><p>19,99 €</p>'),
    ))
    assert offers(result) == [("Schal Merino", D("19.99"), "EUR", None, None)]


# ---- vouchers, gift cards, thresholds, teasers ----------------------------------------------------------

def test_vouchers_gift_cards_prizes_and_category_teasers_are_not_offers(tmp_path):
    result = read(tmp_path, grid(
        cell('<a href="https://shop.example/gewinnspiel">Mitmachen</a><p>Gewinnen Sie einen 25 € Einkaufsgutschein!</p>'),
        cell('<a href="https://shop.example/raffle">Enter now</a><p>Win a free $150 gift card</p>'),
        cell('<a href="https://shop.example/c/laptops"><img src="l.jpg"></a><p>LAPTOPS UNDER $250</p>'),
        cell('<a href="https://shop.example/card">Apply</a><p>$500 minimum purchase with your card</p>'),
        cell('<p>Digital gift cards from $25.</p><a href="https://shop.example/products/gift-card">Buy a gift card</a>'),
        cell('<a href="https://shop.example/p/hoodie">Under Armour Hoodie</a><p>$49.00</p>'),
    ))
    assert offers(result) == [("Under Armour Hoodie", D("49.00"), "USD", None, None)]


# ---- titles --------------------------------------------------------------------------------------------

def test_the_title_is_the_products_name_not_a_badge(tmp_path):
    result = read(tmp_path, grid(
        cell('<a href="https://shop.example/p/1"><img src="1.jpg" alt=""></a><div>15% EXTRA*</div>'
             '<div>Gummibärchen 1 kg</div><div>7,99 €</div>'),
        cell('<a href="https://shop.example/p/2"><img src="2.jpg" alt=""></a><div>Enfant</div><div>Jordan</div>'
             '<div>38,95 €</div>'),
        cell('<a href="https://shop.example/p/3"><strong>NEW LENS KIT<br>Canon EOS M5 15-45mm</strong></a>'
             '<div>$1,099.99</div><a href="https://shop.example/p/3">PRE-ORDER »</a>'),
    ))
    assert [o.title for o in result.offers] == ["Gummibärchen 1 kg", "Jordan", "Canon EOS M5 15-45mm"]


# ---- click-tracked links --------------------------------------------------------------------------------

def test_tracked_links_are_unwrapped_where_they_carry_their_target():
    target = "https://shop.example/p/jacke-100001"
    b64 = base64.urlsafe_b64encode(target.encode()).decode().rstrip("=")
    assert unwrap(f"https://trk.klclick.com/ls/click?url={target}") == target
    assert unwrap(f"https://shop.us1.list-manage.com/track/click?u=ab12&id=cd34&e=ef56&redirect={target}") == target
    assert unwrap(f"https://click.news.shop.example/?qs=x&data={b64}") == target
    assert unwrap(f"https://click.news.shop.example/r/{b64}/1") == target
    assert unwrap("https://r.mail.example/redirect/https%3A%2F%2Fshop.example%2Fp%2Fjacke-100001") == target
    opaque = "https://trk.klclick.com/ls/click?upn=u001.Xy7aBc9dEf"
    assert unwrap(opaque) == opaque  # nothing to recover offline: the redirect stays the link


def test_a_block_behind_a_tracked_link_is_keyed_by_the_shops_link(tmp_path):
    target = "https://shop.example/p/jacke-100001?utm_source=email"
    b64 = base64.b64encode(target.encode()).decode()
    result = read(tmp_path, grid(
        cell(f'<a href="https://click.e.shop.example/?qs=1&data={b64}">Jacke</a><div>79,99 €</div>'),
        cell('<a href="https://shop.us1.list-manage.com/track/click?u=1&id=2&url=https%3A%2F%2Fshop.example%2Fp%2Fhose">'
             'Hose</a><div>59,99 €</div>'),
        cell('<a href="https://trk.klclick.com/ls/click?upn=u001.opaque">Weste</a><div>49,99 €</div>'),
    ))
    assert [(o.title, o.url) for o in result.offers] == [
        ("Jacke", "https://shop.example/p/jacke-100001"), ("Hose", "https://shop.example/p/hose"),
        ("Weste", "https://trk.klclick.com/ls/click?upn=u001.opaque")]
