"""Exclusivity against parity: a product the newsletter calls "nur online" is not expected to be
reduced in the stores, so price-parity does not tell the stores to match the shop's sale price; a
store that reduces it anyway is the claim rule's finding. Both engines agree."""
from __future__ import annotations

from datetime import datetime

from unisono.rules import run_rules
from unisono.rules.parity import ParityRule
from unisono.rules.rete import run_rules_rete
from unisono.rules.testing import add_offers, live_conn_fixture, offer
from tests.test_rules_claim import BERLIN, JACKETS, context, rule, said

live_conn = live_conn_fixture()
ONLINE_ONLY = ("Daunenweste: nur online", {"type": "exclusivity", "exclusivity": "online_only", "product": "100401"})


def parity(**options) -> ParityRule:
    return ParityRule.model_validate({"id": "price-parity", "kind": "parity", "channels": ["shop", "store"],
                                      "fields": ["price", "effective_price"], "tolerance": "0.01", **options})


def vest_offers(conn, store_1001_price: str = "89.99") -> None:
    """The shop reduces the vest; store 1001 does not, store 1002 does."""
    add_offers(conn, offer("shop", "online", "100401", "89.99", "69.99"),
               offer("store", "1001", "100401", store_1001_price),
               offer("store", "1002", "100401", "89.99", "69.99"))


def located(findings) -> list[tuple[str, str]]:
    return sorted((f.rule, f.locations[-1]) for f in findings)


def test_an_online_only_product_is_a_claim_finding_for_the_store_reducing_it_and_no_parity_finding(live_conn):
    vest_offers(live_conn)
    said(live_conn, ONLINE_ONLY)
    found = run_rules(live_conn, [parity(), rule()], context())
    assert run_rules_rete(live_conn, [parity(), rule()], context()) == found
    # store 1001 charging the regular price is what "nur online" promises: no parity finding
    assert located(found) == [("newsletter-claims", "store:1002")]
    assert "store 1002 (69.99 EUR instead of 89.99 EUR) also reduces it" in found[0].message


def test_without_the_claim_or_outside_its_window_parity_compares_the_sale_as_usual(live_conn):
    vest_offers(live_conn)
    assert located(run_rules(live_conn, [parity()], context())) == [("price-parity", "store:1001")]
    said(live_conn, ONLINE_ONLY)
    after = context(datetime(2026, 12, 2, 12, tzinfo=BERLIN))
    assert located(run_rules(live_conn, [parity()], after)) == [("price-parity", "store:1001")]
    assert located(run_rules(live_conn, [parity(exclusive_claims=False)], context())) == \
        [("price-parity", "store:1001")]


def test_an_online_only_product_still_has_its_regular_price_compared(live_conn):
    vest_offers(live_conn, store_1001_price="94.99")
    said(live_conn, ONLINE_ONLY)
    [f] = run_rules(live_conn, [parity()], context())
    assert f.locations == ["shop:online", "store:1001"] and f.extra["fields"] == "price"
    assert f.values == {"shop:online": "89.99 EUR", "store:1001": "94.99 EUR"}


def test_store_only_keeps_the_shop_out_of_the_comparison(live_conn):
    add_offers(live_conn, offer("shop", "online", "100401", "89.99"), offer("store", "1001", "100401", "89.99", "69.99"))
    said(live_conn, ("nur im Markt", {"type": "exclusivity", "exclusivity": "store_only", "product": "100401"}))
    assert run_rules(live_conn, [parity()], context()) == []


def test_an_online_only_discount_exempts_its_scope_and_both_engines_agree(live_conn):
    add_offers(live_conn, *[offer(ch, loc, sku, "100.00", "80.00" if ch == "shop" else None, category=JACKETS)
                            for sku in ("100201", "100202") for ch, loc in (("shop", "online"), ("store", "1001"))],
               offer("shop", "online", "100301", "50.00", "40.00", category="Schuhe"),
               offer("store", "1001", "100301", "50.00", category="Schuhe"))
    said(live_conn, ("Nur online: 20 % auf alle Winterjacken", {"type": "discount", "percent": 20,
                                                               "scope": ["Winterjacken"], "exclusivity": "online_only"}))
    ctx = context()
    sql = run_rules(live_conn, [parity()], ctx)
    assert [f.sku for f in sql] == ["100301"]  # the shoes are not covered by the claim
    assert run_rules_rete(live_conn, [parity()], ctx) == sql


def test_presence_does_not_require_a_product_in_the_channel_its_claim_excludes(live_conn):
    from unisono.rules.presence import PresenceRule

    in_stores = PresenceRule.model_validate({"id": "in-stores", "kind": "presence", "when_in": "newsletter",
                                             "require_in": ["store"]})
    in_shop = in_stores.model_copy(update={"id": "in-shop", "require_in": ["shop"]})
    add_offers(live_conn, offer("newsletter", "bf-2026", "100401", "69.99"), offer("shop", "online", "100401", "69.99"),
               offer("newsletter", "bf-2026", "100501", "19.99"), offer("store", "1001", "100501", "19.99"))
    said(live_conn, ONLINE_ONLY, ("Kerzen: nur im Markt", {"type": "exclusivity", "exclusivity": "store_only",
                                                            "product": "100501"}))
    assert run_rules(live_conn, [in_stores, in_shop], context()) == []
    assert run_rules_rete(live_conn, [in_stores, in_shop], context()) == []
    later = context(datetime(2026, 12, 2, 12, tzinfo=BERLIN))  # the claims' window is over
    assert located(run_rules(live_conn, [in_stores, in_shop], later)) == [("in-shop", "shop:*"), ("in-stores", "store:*")]
