"""parity: the same field shows the same value in every channel (within tolerance)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from unisono.rules import run_rules
from unisono.rules.parity import ParityRule
from unisono.rules.testing import add_offers, context, live_conn_fixture, offer

live_conn = live_conn_fixture()  # SQLite, and PostgreSQL when UNISONO_TEST_POSTGRES is set

BOOT = "Wanderschuh Alpin GTX Herren"
SALE_FROM = datetime(2026, 11, 19, 23, 0, tzinfo=timezone.utc)  # 20.11. 00:00 in Berlin


def parity(**fields) -> ParityRule:
    fields = {"id": "price-parity", "kind": "parity", "channels": ["shop", "store"], "fields": ["price", "effective_price"],
              "tolerance": "0.01", **fields}
    return ParityRule.model_validate(fields)


def check(conn, rule, *rows):
    add_offers(conn, *rows)
    return run_rules(conn, [rule], context())


def test_a_store_not_granting_the_shop_sale_is_flagged_with_a_readable_message(live_conn):
    (f,) = check(live_conn, parity(),
                 offer("shop", "online", "100203", "99.99", "79.99", title=BOOT, sale_start=SALE_FROM),
                 offer("store", "1042", "100203", "99.99", title="WANDERSCH. ALPIN GTX"))
    assert f.message == f"Store 1042 charges 99.99 EUR for 100203 '{BOOT}'; the shop's sale price is 79.99 EUR since 20.11."
    assert (f.rule, f.kind, f.severity.value, f.sku, f.title) == ("price-parity", "parity", "error", "100203", BOOT)
    assert f.channels == ["shop", "store"]
    assert f.locations == ["shop:online", "store:1042"]
    assert f.values == {"shop:online": "79.99 EUR", "store:1042": "99.99 EUR"}
    assert f.sources == ["shop-online.csv:1", "store-1042.csv:1"]


def test_stores_charging_what_the_shop_charges_are_not_flagged(live_conn):
    assert check(live_conn, parity(),
                 offer("shop", "online", "100203", "99.99", "79.99"),
                 offer("store", "1042", "100203", "99.99", "79.99"),
                 offer("store", "1043", "100203", "99.99", "79.99")) == []


def test_one_finding_per_product_and_store_even_when_both_prices_differ(live_conn):
    findings = check(live_conn, parity(),
                     offer("shop", "online", "100203", "99.99", "79.99"),
                     offer("store", "1042", "100203", "109.99"),
                     offer("store", "1043", "100203", "89.99", "79.99"))
    assert [f.locations for f in findings] == [["shop:online", "store:1042"], ["shop:online", "store:1043"]]
    assert findings[0].message == ("Store 1042's regular price for 100203 is 109.99 EUR; the shop's regular price is 99.99 EUR. "
                                   "Its price differs too (Store 1042 109.99 EUR, the shop 79.99 EUR).")
    assert findings[0].values == {"shop:online": "99.99 EUR", "store:1042": "109.99 EUR"}
    assert findings[0].extra == {"fields": "price, effective_price"}


def test_without_any_sale_a_regular_price_difference_is_told_once(live_conn):
    (f,) = check(live_conn, parity(), offer("shop", "online", "1", "36.99", title="Gaskocher"), offer("store", "1003", "1", "26.99"))
    assert f.message == "Store 1003 charges 26.99 EUR for 1 'Gaskocher'; the shop charges 36.99 EUR."


def test_a_product_missing_in_one_channel_is_not_parity_s_business(live_conn):
    assert check(live_conn, parity(),
                 offer("shop", "online", "100203", "99.99"),
                 offer("store", "1042", "100777", "19.99")) == []


@pytest.mark.parametrize("store_price, flagged", [("99.99", False), ("100.00", False), ("100.01", True), ("99.97", True)])
def test_a_difference_within_the_absolute_tolerance_is_no_finding(live_conn, store_price, flagged):
    findings = check(live_conn, parity(tolerance="0.01"),
                     offer("shop", "online", "1", "99.99"), offer("store", "1042", "1", store_price))
    assert bool(findings) is flagged


@pytest.mark.parametrize("store_price, flagged", [("102.00", False), ("98.00", False), ("102.01", True), ("97.99", True)])
def test_a_relative_tolerance_is_a_share_of_the_reference_price(live_conn, store_price, flagged):
    findings = check(live_conn, parity(fields=["price"], tolerance="0.50", relative_tolerance="0.02"),
                     offer("shop", "online", "1", "100.00"), offer("store", "1042", "1", store_price))
    assert bool(findings) is flagged


@pytest.mark.parametrize("tolerance", ["1e400", float("inf"), "NaN"])
def test_a_tolerance_no_price_difference_could_exceed_is_refused(tolerance):
    """(YAML reads 1e400 as text, Decimal as a finite 10^400: a rule that could never fire, silently)"""
    with pytest.raises(ValueError, match="tolerance"):
        parity(tolerance=tolerance)


def test_the_larger_of_absolute_and_relative_tolerance_counts(live_conn):
    findings = check(live_conn, parity(fields=["price"], tolerance="1.00", relative_tolerance="0.02"),
                     offer("shop", "online", "cheap", "10.00"), offer("store", "1042", "cheap", "10.90"),  # 2 % = 0.20, 1.00 wins
                     offer("shop", "online", "dear", "500.00"), offer("store", "1042", "dear", "509.00"))  # 2 % = 10.00 wins
    assert findings == []


def test_not_above_lets_stores_be_cheaper_but_not_dearer(live_conn):
    findings = check(live_conn, parity(fields=["effective_price"], direction="not_above"),
                     offer("shop", "online", "1", "50.00"),
                     offer("store", "cheaper", "1", "45.00"),
                     offer("store", "dearer", "1", "55.00"))
    assert [f.locations[1] for f in findings] == ["store:dearer"]


def test_not_below_lets_stores_be_dearer_but_not_cheaper(live_conn):
    findings = check(live_conn, parity(fields=["effective_price"], direction="not_below"),
                     offer("shop", "online", "1", "50.00"),
                     offer("store", "cheaper", "1", "45.00"),
                     offer("store", "dearer", "1", "55.00"))
    assert [f.locations[1] for f in findings] == ["store:cheaper"]


def test_the_same_amount_in_another_currency_is_a_difference(live_conn):
    (f,) = check(live_conn, parity(fields=["effective_price"]),
                 offer("shop", "online", "1", "79.99", title="Zelt"),
                 offer("store", "zurich", "1", "79.99", currency="CHF"))
    assert f.values == {"shop:online": "79.99 EUR", "store:zurich": "79.99 CHF"}
    assert f.message == "Store zurich charges 79.99 CHF for 1 'Zelt'; the shop charges 79.99 EUR."


def test_a_sale_in_one_channel_only_is_a_sale_price_difference(live_conn):
    (f,) = check(live_conn, parity(fields=["sale_price"]),
                 offer("shop", "online", "1", "99.99", "79.99"),
                 offer("store", "1042", "1", "99.99"),
                 offer("store", "1043", "1", "99.99", "79.99"))
    assert f.values == {"shop:online": "79.99 EUR", "store:1042": "none"}


def test_unknown_availability_is_not_a_difference_but_a_different_one_is(live_conn):
    (f,) = check(live_conn, parity(fields=["availability"]),
                 offer("shop", "online", "1", "9.99", availability="in_stock"),
                 offer("store", "1042", "1", "9.99"),
                 offer("store", "1043", "1", "9.99", availability="out_of_stock"))
    assert f.locations == ["shop:online", "store:1043"]
    assert "Store 1043 shows 1 as out of stock; the shop shows it as in stock." == f.message


def test_the_newsletter_price_is_compared_with_the_shop_and_each_store(live_conn):
    rule = parity(id="newsletter-price-honoured", channels=["newsletter", "shop", "store"], fields=["effective_price"])
    findings = check(live_conn, rule,
                     offer("newsletter", "bf-2026", "100203", "99.99", "59.99", title="Wanderschuh"),
                     offer("shop", "online", "100203", "99.99", "79.99", title=BOOT),
                     offer("store", "1042", "100203", "99.99", "59.99"),
                     offer("store", "1043", "100203", "99.99", "64.99"))
    assert [f.locations for f in findings] == [["newsletter:bf-2026", "shop:online"], ["newsletter:bf-2026", "store:1043"]]
    assert findings[0].message == f"Newsletter bf-2026 advertises 100203 '{BOOT}' at 59.99 EUR; the shop's sale price is 79.99 EUR."
    assert findings[1].message == f"Newsletter bf-2026 advertises 100203 '{BOOT}' at 59.99 EUR; Store 1043's sale price is 64.99 EUR."


def test_locations_of_one_channel_are_compared_pairwise_once(live_conn):
    findings = check(live_conn, parity(channels=["store", "store"], fields=["price"]),
                     offer("store", "a", "1", "10.00"), offer("store", "b", "1", "10.00"), offer("store", "c", "1", "12.00"))
    assert sorted(f.locations for f in findings) == [["store:a", "store:c"], ["store:b", "store:c"]]


def test_where_limits_the_check_to_a_category_and_unless_exempts_a_brand(live_conn):
    rule = parity(where={"category": "schuhe"}, unless={"brand": "hausmarke"})
    findings = check(live_conn, rule,
                     offer("shop", "online", "boot", "99.99", category="Schuhe > Wanderschuhe", brand="Lowa"),
                     offer("store", "1042", "boot", "89.99", category="Schuhe > Wanderschuhe", brand="Lowa"),
                     offer("shop", "online", "own", "49.99", category="Schuhe", brand="Hausmarke"),
                     offer("store", "1042", "own", "39.99", category="Schuhe", brand="Hausmarke"),
                     offer("shop", "online", "insole", "9.99", category="Schuheinlagen"),
                     offer("store", "1042", "insole", "7.99", category="Schuheinlagen"),
                     offer("shop", "online", "tent", "199.99", category="Zelte"),
                     offer("store", "1042", "tent", "179.99", category="Zelte"))
    assert [f.sku for f in findings] == ["boot"]


def test_a_store_scope_picks_the_compared_store(live_conn):
    rows = [offer("shop", "online", "1", "10.00"), offer("store", "1042", "1", "11.00"), offer("store", "1043", "1", "12.00")]
    assert [f.locations[1] for f in check(live_conn, parity(where={"store": [1043]}), *rows)] == ["store:1043"]


def test_an_unless_scope_on_missing_data_exempts_nothing(live_conn):
    # brand unknown (NULL): "unless brand X" must not swallow the finding
    findings = check(live_conn, parity(unless={"brand": "Hausmarke", "availability": "out_of_stock"}),
                     offer("shop", "online", "1", "10.00"), offer("store", "1042", "1", "11.00"))
    assert len(findings) == 1


def test_a_message_template_replaces_the_generated_message(live_conn):
    rule = parity(message="{title} ({sku}): store {store.location} {store.effective_price}, shop {shop.effective_price} [{rule}]",
                  title="Stores charge the shop price")
    (f,) = check(live_conn, rule, offer("shop", "online", "1", "10.00", title="Zelt"), offer("store", "1042", "1", "11.00"))
    assert f.message == "Zelt (1): store 1042 11.00 EUR, shop 10.00 EUR [Stores charge the shop price]"


def test_titles_compare_ignoring_case_and_surrounding_spaces(live_conn):
    (f,) = check(live_conn, parity(fields=["title"]),
                 offer("shop", "online", "1", "10.00", title="Zelt Kuppel 2P"),
                 offer("store", "a", "1", "10.00", title=" zelt kuppel 2p "),
                 offer("store", "b", "1", "10.00", title="Zelt Kuppel 3P"))
    assert f.message == "Store b calls 1 'Zelt Kuppel 3P'; the shop calls it 'Zelt Kuppel 2P'."
