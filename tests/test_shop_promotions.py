"""The shop's Merchant Promotions feed (XML and tab-separated) and the product feed's promotion_id:
read into promotions, and used by the claim rule as what the shop grants beyond its prices."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import insert

from unisono.catalog.tables import ClaimRow, Publication, PublicationLocation
from unisono.channels import shop, shop_promotions
from unisono.domain.config import ProjectConfig
from unisono.domain.models import Claim, InputError, Rejection
from unisono.rules import run_rules
from unisono.rules.testing import add_offers, live_conn_fixture
from tests.test_rules_claim import BERLIN, DISCOUNT, FROM, JACKETS, TO, context, jacket, rule, said

live_conn = live_conn_fixture()
CONFIG = ProjectConfig.model_validate({"timezone": "Europe/Berlin"})


def promotion(pid: str = "WINTER20", *, percent: str | None = "20", extra: str = "",
              dates: str = "2026-11-27T00:00:00+01:00/2026-12-01T00:00:00+01:00",
              applicability: str = "specific_products", channel: str = "<redemption_channel>online</redemption_channel>"):
    off = f"<percent_off>{percent}</percent_off>" if percent else ""
    return (f"<promotion><promotion_id>{pid}</promotion_id><product_applicability>{applicability}"
            f"</product_applicability><offer_type>no_code</offer_type><long_title>{pid} Winterjacken</long_title>"
            f"<promotion_effective_dates>{dates}</promotion_effective_dates>{channel}{off}{extra}</promotion>")


def promotions_file(tmp_path, *promotions: str):
    path = tmp_path / "promotions.xml"
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<promotions>\n' + "\n".join(promotions)
                    + "\n</promotions>\n", "utf-8")
    return path


def read(path) -> list:
    return list(shop_promotions.stream(path, CONFIG))


def test_an_xml_promotions_feed_becomes_promotions_with_their_filters_channels_and_window(tmp_path):
    path = promotions_file(tmp_path, promotion(extra="<product_type>Bekleidung &gt; Jacken</product_type>"
                                                     "<brand>Bergwelt</brand><brand>Alpina</brand>"
                                                     "<item_id_exclusion>100299</item_id_exclusion>",
                                               channel="<redemption_channel>online</redemption_channel>"
                                                       "<redemption_channel>in_store</redemption_channel>"))
    assert shop_promotions.looks_like(path)
    [c] = read(path)
    assert isinstance(c, Claim) and c.channel == "shop" and c.location == "promotions" and c.kind == "promotion"
    t = c.terms
    assert (t.promotion_id, t.percent, t.channels) == ("WINTER20", Decimal(20), ["shop", "store"])
    assert t.product_types == ["Bekleidung > Jacken"] and t.brands == ["Bergwelt", "Alpina"]
    assert t.not_items == ["100299"] and not t.everything
    assert (c.valid_from, c.valid_to) == (FROM, TO) and str(c.source) == "promotions.xml:3"


def test_the_tab_separated_form_with_comma_lists_and_a_nested_time_period_read_alike(tmp_path):
    path = tmp_path / "promotions.txt"
    path.write_text("promotion_id\tproduct_applicability\toffer_type\tlong_title\tpromotion_effective_time_period"
                    "\tredemption_channel\tmoney_off_amount\titem_id\n"
                    "TEN\tspecific_products\tgeneric_code\t10 € auf Jacken\t2026-11-27/2026-11-30\tonline,in_store"
                    "\t10.00 EUR\t100201,100202\n", "utf-8")
    xml = promotions_file(tmp_path, "<promotion><promotion_id>TEN</promotion_id><product_applicability>"
                          "SPECIFIC_PRODUCTS</product_applicability><long_title>10 € auf Jacken</long_title>"
                          "<promotion_effective_time_period><start_time>2026-11-27</start_time><end_time>2026-11-30"
                          "</end_time></promotion_effective_time_period><redemption_channel>ONLINE</redemption_channel>"
                          "<redemption_channel>IN_STORE</redemption_channel><money_off_amount>10.00 EUR"
                          "</money_off_amount><item_id>100201</item_id><item_id>100202</item_id></promotion>")
    assert shop_promotions.looks_like(path)
    [tsv], [x] = read(path), read(xml)
    assert tsv.terms == x.terms and (tsv.valid_from, tsv.valid_to) == (x.valid_from, x.valid_to) == (FROM, TO)
    assert (tsv.terms.amount, tsv.terms.currency, tsv.terms.items) == (Decimal(10), "EUR", ["100201", "100202"])


def test_a_promotion_that_cannot_be_read_is_a_rejection_with_its_line_never_a_guess(tmp_path):
    path = promotions_file(tmp_path, promotion("A", channel=""), promotion("B", percent="zwanzig"),
                           promotion("C", applicability="some"), promotion("D", dates="bald"), promotion("E"))
    found = read(path)
    reasons = [e.reason for e in found if isinstance(e, Rejection)]
    assert reasons == ["promotion A: no redemption_channel (online, in_store)",
                       "promotion B: percent_off 'zwanzig' is not a percentage",
                       "promotion C: product_applicability 'some' is neither all_products nor specific_products",
                       "promotion D: promotion_effective_dates 'bald' is not an interval 'start/end'"]
    assert [c.terms.promotion_id for c in found if isinstance(c, Claim)] == ["E"]
    assert [str(e.source) for e in found if isinstance(e, Rejection)][0] == "promotions.xml:3"


def test_a_product_feed_is_no_promotions_feed_and_an_empty_promotions_feed_is_refused(tmp_path):
    feed = tmp_path / "feed.xml"
    feed.write_text('<rss xmlns:g="http://base.google.com/ns/1.0"><channel></channel></rss>', "utf-8")
    assert not shop_promotions.looks_like(feed)
    with pytest.raises(InputError, match="no promotion in the file"):
        read(promotions_file(tmp_path))


def test_the_product_feeds_promotion_id_links_its_items_to_the_promotion(tmp_path):
    path = tmp_path / "feed.xml"
    path.write_text('<rss xmlns:g="http://base.google.com/ns/1.0"><channel>'
                    "<item><g:id>100201</g:id><g:price>99.99 EUR</g:price><g:promotion_id>WINTER20</g:promotion_id>"
                    "<g:promotion_id>BF</g:promotion_id></item>"
                    "<item><g:id>100202</g:id><g:price>99.99 EUR</g:price><g:promotion_id>WINTER20</g:promotion_id>"
                    "</item></channel></rss>", "utf-8")
    links = {c.terms.promotion_id: c.terms.items for c in shop.read(path, CONFIG).claims}
    assert links == {"WINTER20": ["100201", "100202"], "BF": ["100201"]}
    tsv = tmp_path / "feed.tsv"
    tsv.write_text("id\tprice\tpromotion_id\n100201\t99.99 EUR\tWINTER20,BF\n100202\t99.99 EUR\tWINTER20\n", "utf-8")
    assert {c.terms.promotion_id: c.terms.items for c in shop.read(tsv, CONFIG).claims} == links


# -- the claim rule --------------------------------------------------------------------------------

def shop_says(conn, location: str, claims: list[Claim]) -> None:
    """A shop publication (the promotions feed, or the product feed's links) of 26.11. stating `claims`."""
    pub = conn.execute(insert(Publication.__table__).values(
        channel="shop", source=location, sha256=location, published_at=datetime(2026, 11, 26, tzinfo=BERLIN),
        effective_from=datetime(2026, 11, 26, tzinfo=BERLIN), loaded_at=datetime(2026, 11, 26, tzinfo=BERLIN),
    ).returning(Publication.__table__.c.id)).scalar_one()
    conn.execute(insert(PublicationLocation.__table__).values(publication_id=pub, channel="shop", location=location))
    for c in claims:
        conn.execute(insert(ClaimRow.__table__).values(
            publication_id=pub, channel="shop", location=location, kind=c.kind, text=c.text, source=str(c.source),
            terms=c.terms.model_dump_json(exclude_defaults=True), valid_from=c.valid_from, valid_to=c.valid_to))


def shop_promotes(conn, path) -> None:
    shop_says(conn, "promotions", read(path))


def jackets_at_full_price_online(conn) -> None:
    add_offers(conn, *[jacket("shop", "online", sku, "99.99") for sku in ("100201", "100202", "100203")])


def test_a_shop_promotion_over_the_scope_and_window_is_the_shops_reduction(live_conn, tmp_path):
    jackets_at_full_price_online(live_conn)
    said(live_conn, DISCOUNT)
    shop_promotes(live_conn, promotions_file(tmp_path, promotion(extra=f"<product_type>{JACKETS.replace('>', '&gt;')}"
                                                                       "</product_type>")))
    assert run_rules(live_conn, [rule()], context()) == []


def test_a_promotion_granting_less_or_starting_later_is_named_in_the_finding(live_conn, tmp_path):
    jackets_at_full_price_online(live_conn)
    said(live_conn, DISCOUNT)
    shop_promotes(live_conn, promotions_file(
        tmp_path, promotion("WINTER15", percent="15", applicability="all_products"),
        promotion("LATE20", extra="<item_id>100201</item_id>",
                  dates="2026-11-28T00:00:00+01:00/2026-12-01T00:00:00+01:00")))
    [f] = run_rules(live_conn, [rule()], context())
    assert f.message == (
        "Newsletter bf-2026: '20 % auf alle Winterjacken' (valid 27.11.–30.11.): 3 of 3 Winterjacken are not "
        "reduced by 20 % in the shop (100201, 100202, 100203); promotion WINTER15 (promotions.xml:3) grants 15 % on "
        "3 of them; promotion LATE20 (promotions.xml:4) grants 20 % on 1 of them, only from 28.11.")
    assert f.sources == ["bf-2026.html:3", "promotions.xml:3", "promotions.xml:4"]


def test_a_promotion_reaches_offers_through_the_feeds_promotion_id_and_stacks_on_the_sale(live_conn, tmp_path):
    add_offers(live_conn, jacket("shop", "online", "100201", "100.00", "90.00"),  # 10 % + 12 % of the rest = 20.8 %
               jacket("shop", "online", "100202", "100.00"))
    said(live_conn, DISCOUNT)
    shop_promotes(live_conn, promotions_file(tmp_path, promotion("P12", percent="12")))
    shop_says(live_conn, "online", [Claim(channel="shop", location="online", kind="promotion",
                                          text="promotion_id P12: 1 item", source={"file": "feed.xml", "line": 2},
                                          terms={"type": "promotion", "promotion_id": "P12", "items": ["100201"]})])
    [f] = run_rules(live_conn, [rule()], context())
    assert "1 of 2 Winterjacken is not reduced by 20 % in the shop (100202)" in f.message
