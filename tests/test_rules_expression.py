"""expression: a safe condition over channel-qualified fields, compiled to SQL by walking its tree."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from unisono.catalog.live import live
from unisono.rules import run_rules
from unisono.rules.expression import ExpressionRule
from unisono.rules.testing import add_offers, context, live_conn_fixture, offer

live_conn = live_conn_fixture()  # SQLite, and PostgreSQL when UNISONO_TEST_POSTGRES is set


def expression(when: str, **fields) -> ExpressionRule:
    return ExpressionRule.model_validate({"id": "expr", "kind": "expression", "when": when, "severity": "warning", **fields})


def check(conn, rule, *rows):
    add_offers(conn, *rows)
    return run_rules(conn, [rule], context())


def test_a_newsletter_price_below_half_the_shop_price_is_flagged_as_a_typo(live_conn):
    rule = expression("newsletter.effective_price < shop.price * 0.5", title="Newsletter price below half the shop price")
    (f,) = check(live_conn, rule,
                 offer("newsletter", "bf-2026", "100203", "12.99", title="Wanderschuh"),
                 offer("shop", "online", "100203", "129.99", title="Wanderschuh Alpin GTX Herren"),
                 offer("newsletter", "bf-2026", "100777", "99.99"),
                 offer("shop", "online", "100777", "129.99"))
    assert (f.sku, f.kind, f.severity.value) == ("100203", "expression", "warning")
    assert f.channels == ["newsletter", "shop"] and f.locations == ["newsletter:bf-2026", "shop:online"]
    assert f.values == {"newsletter:bf-2026": "12.99 EUR", "shop:online": "129.99 EUR"}
    assert f.message == ("100203 'Wanderschuh Alpin GTX Herren' meets \"Newsletter price below half the shop price\": "
                         "Newsletter bf-2026 shows price 12.99 EUR; the shop shows regular price 129.99 EUR.")


def test_money_is_written_in_currency_units(live_conn):
    findings = check(live_conn, expression("shop.price >= 1000 AND shop.effective_price = 899.99"),
                     offer("shop", "online", "tv", "1000.00", "899.99"), offer("shop", "online", "cheap", "9.99"))
    assert [f.sku for f in findings] == ["tv"]


def test_a_store_sale_the_shop_does_not_run_is_found_with_null_checks(live_conn):
    findings = check(live_conn, expression("store.sale_price IS NOT NULL AND shop.sale_price IS NULL"),
                     offer("shop", "online", "1", "10.00"),
                     offer("store", "1042", "1", "10.00", "8.00"),
                     offer("store", "1043", "1", "10.00"))
    assert [f.locations for f in findings] == [["store:1042", "shop:online"]]


def test_text_fields_compare_with_quoted_text(live_conn):
    findings = check(live_conn, expression("shop.availability = 'out_of_stock' AND newsletter.discount_percent >= 20"),
                     offer("shop", "online", "1", "10.00", availability="out_of_stock"),
                     offer("newsletter", "bf", "1", "8.00", discount_percent=20.0),
                     offer("shop", "online", "2", "10.00", availability="in_stock"),
                     offer("newsletter", "bf", "2", "8.00", discount_percent=20.0))
    assert [f.sku for f in findings] == ["1"]


def test_between_in_abs_and_not(live_conn):
    rule = expression("ABS(store.price - shop.price) BETWEEN 1 AND 5 AND NOT shop.availability IN ('out_of_stock', 'backorder')")
    findings = check(live_conn, rule,
                     offer("shop", "online", "near", "10.00", availability="in_stock"),
                     offer("store", "1042", "near", "13.00"),
                     offer("shop", "online", "far", "10.00", availability="in_stock"),
                     offer("store", "1042", "far", "30.00"),
                     offer("shop", "online", "gone", "10.00", availability="backorder"),
                     offer("store", "1042", "gone", "7.00"))
    assert [f.sku for f in findings] == ["near"]


def test_one_finding_per_combination_of_locations(live_conn):
    findings = check(live_conn, expression("store.effective_price > shop.effective_price"),
                     offer("shop", "online", "1", "10.00"),
                     offer("store", "1042", "1", "11.00"), offer("store", "1043", "1", "12.00"), offer("store", "1044", "1", "10.00"))
    assert [f.locations for f in findings] == [["store:1042", "shop:online"], ["store:1043", "shop:online"]]


def test_a_channel_without_an_offer_for_the_product_does_not_match(live_conn):
    assert check(live_conn, expression("store.price > shop.price"), offer("store", "1042", "1", "11.00")) == []


def test_division_by_zero_is_no_match_on_every_database(live_conn):
    findings = check(live_conn, expression("shop.price / shop.discount_percent > 1"),
                     offer("shop", "online", "zero", "10.00", discount_percent=0.0),
                     offer("shop", "online", "ten", "100.00", discount_percent=10.0))
    assert [f.sku for f in findings] == ["ten"]


def test_a_string_literal_containing_sql_is_just_a_literal(live_conn):
    sneaky = "x'); DROP TABLE live_offers; --"
    rule = expression("shop.title = '" + sneaky.replace("'", "''") + "'")
    findings = check(live_conn, rule,
                     offer("shop", "online", "odd", "1.00", title=sneaky), offer("shop", "online", "plain", "1.00", title="x"))
    assert [f.sku for f in findings] == ["odd"]
    assert live_conn.execute(select(func.count()).select_from(live)).scalar() == 2  # the table is still there


def test_the_compiled_query_carries_literals_as_bound_parameters():
    rule = expression("shop.title = 'DROP TABLE live_offers' AND shop.price > 12.5")
    compiled = rule.query(live).compile()
    assert "DROP TABLE" not in str(compiled)
    assert "DROP TABLE live_offers" in compiled.params.values() and 12.5 in compiled.params.values()


def test_scopes_apply_to_the_offers_the_condition_names(live_conn):
    rule = expression("store.price > shop.price", where={"store": "1042"}, unless={"brand": "Hausmarke"})
    findings = check(live_conn, rule,
                     offer("shop", "online", "1", "10.00"), offer("store", "1042", "1", "11.00"), offer("store", "1043", "1", "11.00"),
                     offer("shop", "online", "2", "10.00", brand="Hausmarke"), offer("store", "1042", "2", "11.00", brand="Hausmarke"))
    assert [(f.sku, f.locations[0]) for f in findings] == [("1", "store:1042")]


def test_a_message_template_fills_channel_fields(live_conn):
    rule = expression("newsletter.effective_price < shop.price * 0.5",
                      message="Newsletter {newsletter.location} shows {sku} '{title}' at {newsletter.effective_price}, "
                              "less than half the shop's {shop.price}: a typo?")
    (f,) = check(live_conn, rule, offer("newsletter", "bf-2026", "1", "4.99"), offer("shop", "online", "1", "49.99", title="Zelt"))
    assert f.message == "Newsletter bf-2026 shows 1 'Zelt' at 4.99 EUR, less than half the shop's 49.99 EUR: a typo?"
    assert f.extra == {"newsletter.effective_price": "4.99 EUR", "shop.price": "49.99 EUR"}


@pytest.mark.parametrize("when", ["shop.price > 1 --", "shop.price > 1 /* note */"])
def test_comments_are_harmless(when, live_conn):
    assert [f.sku for f in check(live_conn, expression(when), offer("shop", "online", "1", "2.00"))] == ["1"]
