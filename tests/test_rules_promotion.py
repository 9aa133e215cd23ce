"""promotion: a planned campaign is carried, at the promised price, by every channel it names."""
from __future__ import annotations

import textwrap
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from unisono.rules import RuleError, load_rules, rules_json_schema, run_rules
from unisono.rules.promotion import PromotionRule, load_promotions, promotions_json_schema
from unisono.rules.testing import add_offers, context, live_conn_fixture, offer

live_conn = live_conn_fixture()  # SQLite, and PostgreSQL when UNISONO_TEST_POSTGRES is set

BERLIN = ZoneInfo("Europe/Berlin")
BOOT = "Wanderschuh Alpin GTX Herren"
DURING = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
BF_START, BF_END = datetime(2026, 11, 27, tzinfo=BERLIN), datetime(2026, 12, 1, tzinfo=BERLIN)


def black_friday(**fields) -> PromotionRule:
    fields = {"id": "black-friday-2026", "title": "Black Friday 2026", "window": "2026-11-27/2026-11-30",
              "scope": {"category": "Schuhe"}, "discount": {"percent": 20}, "channels": ["shop", "store"], **fields}
    return PromotionRule.model_validate(fields)


def boot(channel: str, location: str, price: str = "99.99", sale: str | None = "79.99", key: str = "100203", **columns) -> dict:
    """A shoe in Black Friday's scope; its sale (if any) runs over Black Friday."""
    columns = {"category": "Schuhe > Wanderschuhe", "sale_start": BF_START, "sale_end": BF_END, **columns}
    if sale is None:
        columns.update(sale_start=None, sale_end=None)
    return offer(channel, location, key, price, sale, **columns)


def ad(issue: str, price: str, reference: str | None = None, key: str = "100203") -> dict:
    """A newsletter block advertising the shoe (the live table gives every offer the product's category)."""
    return offer("newsletter", issue, key, price, reference=reference, category="Schuhe > Wanderschuhe")


def check(conn, rule, *rows, at: datetime = DURING):
    add_offers(conn, *rows)
    return run_rules(conn, [rule], context(at))


# -- the price every channel charges ----------------------------------------------------------

def test_every_required_channel_charging_the_promotion_price_passes(live_conn):
    assert check(live_conn, black_friday(channels=["shop", "store", "newsletter"]),
                 boot("shop", "online", title=BOOT),
                 boot("store", "1001"), boot("store", "1002"),
                 ad("bf-2026", "79.99", "99.99")) == []


def test_a_store_charging_the_regular_price_is_flagged_with_a_readable_message(live_conn):
    (f,) = check(live_conn, black_friday(),
                 boot("shop", "online", title=BOOT), boot("store", "1001"), boot("store", "1002", sale=None))
    assert f.message == (f"Black Friday 2026 promises 20 % off 100203 '{BOOT}' (79.99 EUR instead of 99.99 EUR) "
                         "in every store; Store 1002 charges 99.99 EUR.")
    assert (f.rule, f.kind, f.severity.value, f.sku, f.title) == ("black-friday-2026", "promotion", "error", "100203", BOOT)
    assert (f.channels, f.locations, f.values) == (["store"], ["store:1002"], {"store:1002": "99.99 EUR"})
    assert f.extra == {"promotion": "black-friday-2026", "problem": "price",
                       "promotion_price": "79.99 EUR", "regular_price": "99.99 EUR"}
    assert f.sources == ["store-1002.csv:1"]


def test_a_store_whose_sale_starts_too_late_is_told_when_it_starts(live_conn):
    late = datetime(2026, 11, 29, tzinfo=BERLIN)
    (f,) = check(live_conn, black_friday(),
                 boot("shop", "online"), boot("store", "1002", sale_start=late, effective="99.99"))
    assert f.message.endswith("Store 1002 charges 99.99 EUR (its sale price of 79.99 EUR starts only 29.11.).")


def test_a_store_granting_more_than_promised_is_flagged_too(live_conn):
    (f,) = check(live_conn, black_friday(), boot("shop", "online"), boot("store", "1002", sale="69.99"))
    assert f.message.endswith("in every store; Store 1002 charges 69.99 EUR.")


def test_each_channel_s_own_regular_price_is_discounted(live_conn):
    # the store's regular price is higher (parity's business); 20 % off it is 87.99
    assert check(live_conn, black_friday(), boot("shop", "online"), boot("store", "1002", price="109.99", sale="87.99")) == []


@pytest.mark.parametrize("store_price, flagged", [("79.99", False), ("79.94", False), ("80.04", False),
                                                  ("79.93", True), ("80.05", True)])
def test_a_difference_within_the_rounding_tolerance_is_no_finding(live_conn, store_price, flagged):
    findings = check(live_conn, black_friday(rounding="0.05"), boot("shop", "online"), boot("store", "1002", sale=store_price))
    assert bool(findings) is flagged


def test_the_default_rounding_tolerance_is_one_cent(live_conn):
    findings = check(live_conn, black_friday(),
                     boot("shop", "online"), boot("store", "a", sale="79.98"), boot("store", "b", sale="79.97"))
    assert [f.locations for f in findings] == [["store:b"]]


@pytest.mark.parametrize("discount, regular, promised", [
    ({"percent": 20}, "99.99", "79.99"),      # 79.992
    ({"percent": "12.5"}, "49.99", "43.74"),  # 43.74125
    ({"percent": 50}, "0.99", "0.50"),        # 0.495: half up
    ({"price": "79.99"}, "99.99", "79.99"),
    ({"amount_off": 10}, "99.99", "89.99"),
])
def test_percent_price_and_amount_off_discounts(live_conn, discount, regular, promised):
    rule = black_friday(discount=discount, rounding=0)
    assert check(live_conn, rule, boot("shop", "online", price=regular, sale=promised)) == []
    cent_more = f"{float(promised) + 0.01:.2f}"
    (f,) = check(live_conn, rule, boot("shop", "online", price=regular, sale=cent_more, key="2"))
    assert f.extra["promotion_price"] == f"{promised} EUR"


def test_the_discount_is_told_as_it_was_promised(live_conn):
    add_offers(live_conn, boot("shop", "online", sale=None, title="Zelt"))

    def told(discount: dict) -> str:
        (f,) = run_rules(live_conn, [black_friday(discount=discount)], context(DURING))
        return f.message

    assert told({"price": 79.99}) == ("Black Friday 2026 promises 100203 'Zelt' at 79.99 EUR (instead of 99.99 EUR) "
                                      "in the shop; the shop charges 99.99 EUR.")
    assert told({"amount_off": 10}) == ("Black Friday 2026 promises 10.00 EUR off 100203 'Zelt' (89.99 EUR instead of "
                                        "99.99 EUR) in the shop; the shop charges 99.99 EUR.")


def test_the_newsletter_advertises_against_its_statt_price_else_the_shop_s_regular_price(live_conn):
    findings = check(live_conn, black_friday(channels=["shop", "newsletter"]),
                     boot("shop", "online", title=BOOT),
                     ad("statt", "79.99", "99.99"),
                     ad("plain", "79.99"),
                     ad("wrong", "84.99", "99.99"))
    (f,) = findings
    assert f.message == (f"Black Friday 2026 promises 20 % off 100203 '{BOOT}' (79.99 EUR instead of 99.99 EUR) "
                         "in the newsletter; Newsletter wrong advertises 84.99 EUR.")


# -- who must list the products --------------------------------------------------------------

def test_a_missing_store_listing_is_flagged_when_the_stores_are_named(live_conn):
    (f,) = check(live_conn, black_friday(stores=["1001", 1002]),
                 boot("shop", "online", title=BOOT), boot("store", "1001"), boot("store", "1003", sale=None))
    assert f.message == (f"Store 1002 does not list 100203 '{BOOT}', which Black Friday 2026 promises "
                         "in Store 1001 and Store 1002.")
    assert (f.channels, f.locations, f.values) == (["store"], ["store:1002"], {"store:1002": "not listed"})
    assert f.sources == ["shop-online.csv:1"]  # the evidence that the product exists
    assert f.extra["problem"] == "missing"


def test_without_named_stores_only_the_stores_that_list_a_product_are_checked(live_conn):
    assert check(live_conn, black_friday(),
                 boot("shop", "online"), boot("store", "1001"),
                 boot("shop", "online", key="online-only")) == []


def test_a_product_in_scope_the_shop_does_not_list_is_flagged(live_conn):
    (f,) = check(live_conn, black_friday(scope={"sku": ["100203", "100204"]}),
                 boot("shop", "online"), boot("store", "1001"),
                 boot("store", "1001", key="100204", title="Wanderschuh Damen"))
    assert f.message == "The shop does not list 100204 'Wanderschuh Damen', which Black Friday 2026 promises in the shop."
    assert f.locations == ["shop:*"]


def test_many_named_stores_are_counted_not_listed(live_conn):
    stores = ["1001", "1002", "1003", "1004"]
    findings = check(live_conn, black_friday(stores=stores), boot("shop", "online"), boot("store", "1001"))
    assert [f.locations[0] for f in findings] == ["store:1002", "store:1003", "store:1004"]
    assert findings[0].message.endswith("which Black Friday 2026 promises in 4 stores.")


def test_stores_not_named_are_not_checked(live_conn):
    assert check(live_conn, black_friday(stores=["1001"]),
                 boot("shop", "online"), boot("store", "1001"), boot("store", "1099", sale=None)) == []


# -- exclusivity, window, scope ----------------------------------------------------------------

def test_exclusive_to_flags_a_store_granting_an_online_only_price(live_conn):
    rule = black_friday(title="Online Black Friday", channels=["shop"], exclusive_to=["shop"])
    (f,) = check(live_conn, rule,
                 boot("shop", "online", title=BOOT),
                 boot("store", "1001", sale=None),
                 boot("store", "1002"),
                 boot("store", "1003", sale="89.99"))
    assert f.message == (f"Online Black Friday's 20 % off 100203 '{BOOT}' (79.99 EUR instead of 99.99 EUR) is for the shop only, "
                         "but Store 1002 charges 79.99 EUR too.")
    assert (f.locations, f.extra["problem"]) == (["store:1002"], "exclusive")


def test_a_newsletter_may_advertise_an_offer_exclusive_to_shop_and_newsletter(live_conn):
    rule = black_friday(channels=["shop", "newsletter"], exclusive_to=["shop", "newsletter"])
    findings = check(live_conn, rule,
                     boot("shop", "online"), ad("bf", "79.99", "99.99"),
                     boot("store", "1002"))
    assert [(f.locations, f.extra["problem"]) for f in findings] == [(["store:1002"], "exclusive")]
    assert "is for the shop and the newsletter only" in findings[0].message


@pytest.mark.parametrize("at, inside", [
    (datetime(2026, 11, 26, 22, 59, tzinfo=timezone.utc), False),  # 26.11. 23:59 in Berlin
    (datetime(2026, 11, 26, 23, 0, tzinfo=timezone.utc), True),    # 27.11. 00:00
    (datetime(2026, 11, 30, 22, 59, tzinfo=timezone.utc), True),   # 30.11. 23:59: the end day is included
    (datetime(2026, 11, 30, 23, 0, tzinfo=timezone.utc), False),   # 01.12. 00:00
])
def test_outside_its_window_a_promotion_says_nothing(live_conn, at, inside):
    findings = check(live_conn, black_friday(), boot("shop", "online", sale=None), at=at)
    assert bool(findings) is inside


def test_the_scope_by_category_leaves_other_products_alone(live_conn):
    findings = check(live_conn, black_friday(),
                     boot("shop", "online", sale=None, key="boot"),
                     boot("shop", "online", sale=None, key="insole", category="Schuheinlagen"),
                     boot("shop", "online", sale=None, key="tent", category="Zelte"))
    assert [f.sku for f in findings] == ["boot"]


def test_unless_exempts_a_brand(live_conn):
    findings = check(live_conn, black_friday(unless={"brand": "Hausmarke"}),
                     boot("shop", "online", sale=None, key="lowa", brand="Lowa"),
                     boot("shop", "online", sale=None, key="own", brand="Hausmarke"))
    assert [f.sku for f in findings] == ["lowa"]


def test_window_bounds_are_whole_days_in_the_project_timezone():
    assert black_friday().window_bounds(BERLIN) == (BF_START, BF_END)
    rule = black_friday(window="2026-11-27T18:00/2026-11-30T12:00+01:00")
    assert rule.window_bounds(BERLIN) == (datetime(2026, 11, 27, 18, tzinfo=BERLIN), datetime(2026, 11, 30, 11, tzinfo=timezone.utc))
    assert black_friday(window="2026-11-27").window_bounds(ZoneInfo("UTC")) == (
        datetime(2026, 11, 27, tzinfo=ZoneInfo("UTC")), datetime(2026, 11, 28, tzinfo=ZoneInfo("UTC")))


# -- promotion files --------------------------------------------------------------------------

def write(tmp_path: Path, text: str, name: str = "black-friday.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def test_a_promotion_file_loads_its_campaigns(tmp_path):
    path = write(tmp_path, """
        promotions:
          - id: black-friday-2026
            title: Black Friday 2026
            window: 2026-11-27/2026-11-30
            scope: {category: "Schuhe"}
            discount: {percent: 20}
            channels: [shop, store, newsletter]
            stores: [1001, "1002"]
            rounding: 0.05
            severity: blocker
          - id: cyber-monday
            window: 2026-11-30
            discount: {amount_off: 10}
            channels: shop
            exclusive_to: shop
    """)
    bf, cm = load_promotions(path)
    assert (bf.id, bf.kind, bf.stores, str(bf.rounding), bf.severity.value) == ("black-friday-2026", "promotion", ["1001", "1002"], "0.05", "blocker")
    assert bf.window_bounds(BERLIN) == (BF_START, BF_END)
    assert (cm.window, cm.channels, cm.exclusive_to) == ("2026-11-30", ["shop"], ["shop"])


def test_mistakes_in_a_promotion_file_are_told_with_file_and_line(tmp_path):
    path = write(tmp_path, """
        promotions:
          - id: black-friday-2026
            window: 2026-11-30/2026-11-27
            discount: {percent: 20, price: 79.99}
            channels: [shop, stroe]
          - id: cyber-monday
            window: 2026-11-30
            discount:
              percentage: 10
            channels: [shop, store]
            exclusive_to: [shop]
            store: [1001]
          - id: black-friday-2026
            window: 2026-11-27
            discount: {price: 79.999}
            channels: shop
        campaigns: []
    """)
    with pytest.raises(RuleError) as e:
        load_promotions(path)
    problems = [p.split("black-friday.yaml:", 1)[1] for p in e.value.problems]
    assert problems == [  # in line order, each at its own line, near misses named
        "3: promotion 'black-friday-2026': window: '2026-11-30/2026-11-27' ends before it starts",
        "4: promotion 'black-friday-2026': discount: a discount is exactly one of percent, price or amount_off, "
        "e.g. {percent: 20} (got percent, price)",
        "5: promotion 'black-friday-2026': channels.1: unknown channel 'stroe' (did you mean 'store'?) "
        "(valid channels: shop, store, newsletter)",
        "9: promotion 'cyber-monday': discount.percentage: unknown key 'percentage' (did you mean 'percent'?) "
        "(valid keys: percent, price, amount_off)",
        "12: promotion 'cyber-monday': store: unknown key 'store' (did you mean 'stores'?) (valid keys: "
        + ", ".join(PromotionRule.model_fields) + ")",
        "15: promotion 'black-friday-2026': discount: price 79.999 has more than two decimals",
        "17: unknown top-level key 'campaigns' (a promotion file has only 'promotions:')",
    ]


def test_a_promotion_whose_channels_contradict_its_exclusivity_is_refused(tmp_path):
    path = write(tmp_path, """
        - id: online-only
          window: 2026-11-27/2026-11-30
          discount: {percent: 20}
          channels: [shop, store]
          exclusive_to: [shop]
    """)
    with pytest.raises(RuleError, match=r"black-friday\.yaml:1: promotion 'online-only': channels: requires store to carry "
                                        r"the promotion, but exclusive_to: allows only shop; add store to exclusive_to"):
        load_promotions(path)


@pytest.mark.parametrize("fields, problem", [
    ({"window": "27.11.2026-30.11.2026"}, "is not a window"),
    ({"window": "soon"}, "'soon' is not a window; write START/END, e.g. 2026-11-27/2026-11-30"),
    ({"scope": {"store": "1001"}}, "a promotion's scope names products"),
    ({"stores": ["1001"], "channels": ["shop"]}, "stores: names stores, but channels: does not include store"),
    ({"discount": {"percent": 100}}, "less than 100"),
    ({"discount": {}}, "a discount is exactly one of"),
])
def test_a_promotion_that_cannot_be_checked_is_refused(fields, problem):
    with pytest.raises(ValidationError, match=problem):
        black_friday(**fields)


def test_a_promotion_can_stand_in_a_rule_file_where_its_window_is_required(tmp_path):
    path = write(tmp_path, """
        rules:
          - id: black-friday-2026
            kind: promotion
            window: 2026-11-27/2026-11-30
            discount: {percent: 20}
            channels: [shop]
          - id: no-window
            kind: promotion
            discount: {percent: 20}
            channels: [shop]
    """, "rules.yaml")
    with pytest.raises(RuleError) as e:
        load_rules([path])
    (problem,) = e.value.problems
    assert problem.endswith("rules.yaml:7: rule 'no-window': window: this required key is missing")
    (rule,) = load_rules([write(tmp_path, path.read_text().split("  - id: no-window")[0], "ok.yaml")])
    assert isinstance(rule, PromotionRule)


def test_editors_get_a_json_schema_for_promotion_files_and_rule_files():
    schema = promotions_json_schema()
    assert schema["title"] == "unisono promotions"
    rule_kinds = {d["properties"]["kind"].get("const") for d in rules_json_schema()["$defs"].values() if "kind" in d.get("properties", {})}
    assert {"window", "promotion"} <= rule_kinds
