"""presence: what one channel shows exists (and, if required, is available) in others."""
from __future__ import annotations

from unisono.rules import run_rules
from unisono.rules.presence import PresenceRule
from unisono.rules.testing import add_offers, context, live_conn_fixture, offer

live_conn = live_conn_fixture()  # SQLite, and PostgreSQL when UNISONO_TEST_POSTGRES is set


def presence(**fields) -> PresenceRule:
    fields = {"id": "advertised-in-shop", "kind": "presence", "when_in": "newsletter", "require_in": ["shop"], **fields}
    return PresenceRule.model_validate(fields)


def check(conn, rule, *rows):
    add_offers(conn, *rows)
    return run_rules(conn, [rule], context())


def test_an_advertised_product_missing_from_the_shop_is_flagged(live_conn):
    (f,) = check(live_conn, presence(),
                 offer("newsletter", "bf-2026", "100777", "129.99", title="Zelt Kuppel 2P"),
                 offer("newsletter", "bf-2026", "100203", "79.99"),
                 offer("shop", "online", "100203", "79.99"))
    assert f.message == "Newsletter bf-2026 advertises 100777 'Zelt Kuppel 2P', which is not in the shop."
    assert (f.rule, f.kind, f.sku) == ("advertised-in-shop", "presence", "100777")
    assert f.channels == ["newsletter", "shop"]
    assert f.locations == ["newsletter:bf-2026", "shop:*"]
    assert f.values == {"newsletter:bf-2026": "129.99 EUR", "shop:*": "not listed"}
    assert f.sources == ["newsletter-bf-2026.csv:1"]


def test_out_of_stock_in_the_shop_counts_as_missing_only_when_availability_is_required(live_conn):
    rows = [offer("newsletter", "bf-2026", "100203", "79.99", title="Wanderschuh"),
            offer("shop", "online", "100203", "79.99", title="Wanderschuh Alpin GTX Herren", availability="out_of_stock")]
    assert check(live_conn, presence(), *rows) == []
    (f,) = run_rules(live_conn, [presence(require_available=True)], context())
    assert f.message == "Newsletter bf-2026 advertises 100203 'Wanderschuh Alpin GTX Herren', which is out of stock in the shop."
    assert f.values["shop:*"] == "out of stock"
    assert f.sources == ["newsletter-bf-2026.csv:1", "shop-online.csv:1"]
    assert f.extra == {"out_of_stock_at": "shop:online"}


def test_unknown_availability_counts_as_available(live_conn):
    assert check(live_conn, presence(require_available=True),
                 offer("newsletter", "bf-2026", "1", "9.99"), offer("shop", "online", "1", "9.99")) == []


def test_one_available_store_is_enough(live_conn):
    rule = presence(id="in-a-store", require_in=["store"], require_available=True)
    findings = check(live_conn, rule,
                     offer("newsletter", "bf-2026", "both", "9.99"),
                     offer("store", "1042", "both", "9.99", availability="out_of_stock"),
                     offer("store", "1043", "both", "9.99", availability="in_stock"),
                     offer("newsletter", "bf-2026", "none", "5.99", title="Stirnlampe"),
                     offer("store", "1042", "none", "5.99", availability="out_of_stock"))
    (f,) = findings
    assert f.sku == "none"
    assert f.message == "Newsletter bf-2026 advertises none 'Stirnlampe', which is out of stock in every store that lists it."


def test_a_product_only_known_by_its_link_is_reported_with_the_link(live_conn):
    link = "https://shop.example/p/zelt-kuppel-2p"
    (f,) = check(live_conn, presence(),
                 offer("newsletter", "bf-2026", link, "129.99", sku=None, url=link, title="Zelt Kuppel 2P"))
    assert f.sku == link
    assert f.message == (f"Newsletter bf-2026 advertises 'Zelt Kuppel 2P' (link {link}; no SKU could be resolved from it), "
                         "which is not in the shop.")


def test_a_block_known_only_by_its_title_is_not_shown_as_a_link(live_conn):
    key = "urn:unisono:title:zelt-kuppel-2p"  # a newsletter block with neither link nor product number
    (f,) = check(live_conn, presence(),
                 offer("newsletter", "bf-2026", key, "129.99", sku=None, url=key, title="Zelt Kuppel 2P"))
    assert f.message == ("Newsletter bf-2026 advertises 'Zelt Kuppel 2P' (the newsletter gives it no link and no SKU), "
                         "which is not in the shop.")


def test_one_finding_per_issue_and_missing_channel(live_conn):
    rule = presence(require_in=["shop", "store"])
    findings = check(live_conn, rule,
                     offer("newsletter", "bf-2026", "1", "9.99", title="Tasse"),
                     offer("newsletter", "xmas-2026", "1", "9.99", title="Tasse"))
    assert [(f.locations[0], f.channels[1]) for f in findings] == [
        ("newsletter:bf-2026", "shop"), ("newsletter:bf-2026", "store"),
        ("newsletter:xmas-2026", "shop"), ("newsletter:xmas-2026", "store"),
    ]
    assert findings[1].message == "Newsletter bf-2026 advertises 1 'Tasse', which is not in any store."
    assert len({f.fingerprint for f in findings}) == 4


def test_store_assortment_missing_online(live_conn):
    (f,) = check(live_conn, presence(id="store-products-online", when_in="store", require_in=["shop"]),
                 offer("store", "1042", "1", "9.99", title="Tasse"))
    assert f.message == "Store 1042 sells 1 'Tasse', which is not in the shop."


def test_scopes_limit_and_exempt_what_presence_checks(live_conn):
    rule = presence(where={"store": "bf-2026"}, unless={"category": "Gutscheine"})
    findings = check(live_conn, rule,
                     offer("newsletter", "bf-2026", "voucher", "25.00", category="Gutscheine > Geschenk"),
                     offer("newsletter", "bf-2026", "tent", "99.99", category="Zelte"),
                     offer("newsletter", "xmas-2026", "lamp", "19.99"))
    assert [f.sku for f in findings] == ["tent"]


def test_a_message_template_can_use_the_advertising_offer(live_conn):
    rule = presence(message="{sku} ({newsletter.effective_price}) from {newsletter.location} is missing online")
    (f,) = check(live_conn, rule, offer("newsletter", "bf-2026", "1", "9.99", "7.99"))
    assert f.message == "1 (7.99 EUR) from bf-2026 is missing online"


def test_listed_only_flags_a_product_every_listing_store_has_out_of_stock_not_one_no_store_carries(live_conn):
    from unisono.rules.rete import run_rules_rete

    rule = presence(id="advertised-in-stock-in-stores", require_in=["store"], require_available=True,
                    listed_only=True)
    add_offers(live_conn,
               offer("newsletter", "bf-2026", "100203", "79.99"), offer("newsletter", "bf-2026", "100204", "19.99"),
               offer("newsletter", "bf-2026", "100205", "9.99"),  # sold online only: no store lists it
               offer("store", "1001", "100203", "99.99", availability="out_of_stock"),
               offer("store", "1002", "100203", "99.99", availability="out_of_stock"),
               offer("store", "1001", "100204", "19.99", availability="out_of_stock"),
               offer("store", "1002", "100204", "19.99", availability="in_stock"))
    found = run_rules(live_conn, [rule], context())
    assert [(f.sku, f.values["store:*"]) for f in found] == [("100203", "out of stock")]
    assert found[0].message.endswith("which is out of stock in every store that lists it.")
    assert run_rules_rete(live_conn, [rule], context()) == found


def test_listed_only_without_require_available_is_refused():
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="listed_only needs require_available"):
        presence(listed_only=True)
