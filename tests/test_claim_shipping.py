"""Shipping: what the shop feed says (g:free_shipping_threshold, g:shipping) becomes claims of the shop,
and a newsletter's "Versandkostenfrei ab 49 €" is judged against them before unisono.yaml."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import insert

from unisono.catalog.tables import ClaimRow, Publication, PublicationLocation
from unisono.channels import shop
from unisono.domain.claims import ClaimTerms
from unisono.domain.config import ProjectConfig
from unisono.rules import run_rules
from unisono.rules.testing import live_conn_fixture
from tests.test_rules_claim import BERLIN, context, rule, said

live_conn = live_conn_fixture()
G = 'xmlns:g="http://base.google.com/ns/1.0"'


def feed(tmp_path, *items: str) -> list:
    body = "\n".join(f"<item><g:id>{sku}</g:id><g:price>{price}</g:price>{extra}</item>" for sku, price, extra in items)
    path = tmp_path / "feed.xml"
    path.write_text(f'<?xml version="1.0"?>\n<rss {G} version="2.0"><channel>\n{body}\n</channel></rss>', "utf-8")
    return shop.read(path, ProjectConfig()).claims


def ship(country: str, price: str, minimum: str = "") -> str:
    m = f"<g:min_order_value>{minimum}</g:min_order_value>" if minimum else ""
    return f"<g:shipping><g:country>{country}</g:country><g:service>Standard</g:service><g:price>{price}</g:price>{m}" \
           "</g:shipping>"


def test_a_feeds_free_shipping_threshold_and_shipping_entries_become_shop_claims(tmp_path):
    claims = feed(tmp_path,
                  ("100", "19.99 EUR", "<g:free_shipping_threshold><g:country>DE</g:country>"
                                       "<g:price_threshold>50.00 EUR</g:price_threshold></g:free_shipping_threshold>"
                                       + ship("DE", "4.95 EUR")),
                  ("101", "59.99 EUR", ship("DE", "4.95 EUR") + ship("DE", "0.00 EUR", "70.00 EUR")),
                  ("102", "89.99 EUR", ship("DE", "4.95 EUR") + ship("DE", "0 EUR", "70.00 EUR")),
                  ("103", "9.99 EUR", ship("DE", "four euros")))  # unreadable: ignored, the item stays
    assert [(c.channel, c.text, str(c.source)) for c in claims] == [
        ("shop", "free_shipping_threshold: free from 50.00 EUR (DE)", "feed.xml:3"),
        ("shop", "shipping: free from 70.00 EUR (DE)", "feed.xml:4"),
        ("shop", "shipping: 4.95 EUR on 101 at 59.99 EUR", "feed.xml:4")]  # 102 reaches the 70 EUR
    assert (claims[2].terms.charged_on, claims[2].terms.fee) == (Decimal("59.99"), Decimal("4.95"))


def test_the_tabular_feed_gives_the_same_claims(tmp_path):
    path = tmp_path / "feed.tsv"
    path.write_text("id\tprice\tshipping\tfree_shipping_threshold\n"
                    "100\t19.99 EUR\tDE::Standard:4.95 EUR\tDE:49.00 EUR\n"
                    "101\t39.99 EUR\tDE::Standard:4.95 EUR,AT::Standard:6.95 EUR\t\n", "utf-8")
    read = shop.read(path, ProjectConfig())
    assert len(read.offers) == 2 and not read.rejections
    assert [c.text for c in read.claims] == ["free_shipping_threshold: free from 49.00 EUR (DE)",
                                             "shipping: 4.95 EUR on 101 at 39.99 EUR"]


def shop_says(conn, *claims: tuple[str, dict]) -> None:
    """A shop feed in effect since 20.11. whose shipping attributes say `claims`."""
    pub = conn.execute(insert(Publication.__table__).values(
        channel="shop", source="feed.xml", sha256="s", published_at=datetime(2026, 11, 20, tzinfo=BERLIN),
        effective_from=datetime(2026, 11, 20, tzinfo=BERLIN), loaded_at=datetime(2026, 11, 20, tzinfo=BERLIN),
    ).returning(Publication.__table__.c.id)).scalar_one()
    conn.execute(insert(PublicationLocation.__table__).values(publication_id=pub, channel="shop", location="online"))
    for line, (text, terms) in enumerate(claims, start=2):
        t = ClaimTerms.model_validate({"type": "shipping", "currency": "EUR", **terms})
        conn.execute(insert(ClaimRow.__table__).values(
            publication_id=pub, channel="shop", location="online", kind="shipping", text=text,
            source=f"feed.xml:{line}", terms=t.model_dump_json(exclude_defaults=True)))


FREE_FROM_49 = ("Versandkostenfrei ab 49 €", {"type": "shipping", "threshold": 49, "currency": "EUR"})


def test_the_feeds_threshold_is_the_reference_before_the_config(live_conn):
    said(live_conn, FREE_FROM_49)
    shop_says(live_conn, ("free_shipping_threshold: free from 50.00 EUR (DE)", {"threshold": 50}))
    [f] = run_rules(live_conn, [rule()], context(free_shipping_threshold=49))  # the feed says otherwise
    assert f.judged and f.message.endswith("; the shop feed says free from 50.00 EUR (DE) (feed.xml:2).")
    assert f.sources == ["bf-2026.html:3", "feed.xml:2"]
    assert f.values == {"newsletter:bf-2026": "49.00 EUR", "shop:online": "50.00 EUR"}


def test_a_claim_naming_the_feeds_threshold_holds(live_conn):
    said(live_conn, FREE_FROM_49)
    shop_says(live_conn, ("free_shipping_threshold: free from 49.00 EUR (DE)", {"threshold": 49}))
    assert run_rules(live_conn, [rule()], context()) == []


def test_a_fee_the_feed_charges_at_or_above_the_claimed_threshold_refutes_it(live_conn):
    said(live_conn, FREE_FROM_49)
    shop_says(live_conn, ("free_shipping_threshold: free from 49.00 EUR (DE)", {"threshold": 49}),
              ("shipping: 4.95 EUR on 100203 at 59.99 EUR", {"charged_on": "59.99", "fee": "4.95",
                                                              "product": "100203"}))
    [f] = run_rules(live_conn, [rule()], context())
    assert f.message.endswith("; the shop feed charges 4.95 EUR shipping on 100203 at 59.99 EUR (feed.xml:3).")


def test_a_fee_below_the_claimed_threshold_is_no_evidence_against_it(live_conn):
    said(live_conn, FREE_FROM_49)
    shop_says(live_conn, ("shipping: 4.95 EUR on 100203 at 39.99 EUR", {"charged_on": "39.99", "fee": "4.95"}))
    assert run_rules(live_conn, [rule()], context(free_shipping_threshold=49)) == []
    [undecided] = run_rules(live_conn, [rule()], context())  # no threshold anywhere: not guessed
    assert not undecided.judged


def test_one_threshold_stated_by_two_attributes_is_named_once(live_conn):
    said(live_conn, FREE_FROM_49)
    shop_says(live_conn, ("free_shipping_threshold: free from 50.00 EUR (DE)", {"threshold": 50}),
              ("shipping: free from 50.00 EUR (DE)", {"threshold": 50}))
    [f] = run_rules(live_conn, [rule()], context())
    assert f.message.endswith("; the shop feed says free from 50.00 EUR (DE) (feed.xml:2).")


def test_an_item_shipping_free_at_its_price_is_no_threshold_of_the_shop(tmp_path):
    """Feeds that export shipping per item give 0.00 above the shop's threshold and the fee below."""
    claims = feed(tmp_path, ("A1", "79.99 EUR", ship("DE", "0.00 EUR")), ("B2", "19.99 EUR", ship("DE", "4.95 EUR")),
                  ("C3", "54.99 EUR", ship("DE", "0.00 EUR")))
    assert [c.text for c in claims] == ["shipping: 4.95 EUR on B2 at 19.99 EUR", "shipping: free on A1 at 79.99 EUR"]
    assert (claims[1].terms.threshold, claims[1].terms.charged_on, claims[1].terms.fee) == \
        (None, Decimal("79.99"), Decimal("0.00"))


def test_free_items_at_or_above_the_claimed_threshold_bear_it_out_unless_one_is_charged(live_conn):
    said(live_conn, FREE_FROM_49)
    shop_says(live_conn, ("shipping: 4.95 EUR on B2 at 19.99 EUR", {"charged_on": "19.99", "fee": "4.95"}),
              ("shipping: free on A1 at 79.99 EUR", {"charged_on": "79.99", "fee": "0"}))
    assert run_rules(live_conn, [rule()], context()) == []  # no threshold stated, nothing refutes it
    [f] = run_rules(live_conn, [rule()], context(free_shipping_threshold=60))  # the config states one: it decides
    assert f.judged


def test_free_items_below_the_claimed_threshold_leave_it_undecided(live_conn):
    said(live_conn, ("Versandkostenfrei ab 99 €", {"type": "shipping", "threshold": 99, "currency": "EUR"}))
    shop_says(live_conn, ("shipping: free on A1 at 79.99 EUR", {"charged_on": "79.99", "fee": "0"}))
    [undecided] = run_rules(live_conn, [rule()], context())
    assert not undecided.judged
