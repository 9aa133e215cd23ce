"""The default ruleset (what `unisono init` copies) on a small Black Friday scenario."""
from __future__ import annotations

from datetime import datetime, timezone

from unisono.rules import default_rules_path, load_rules, run_rules
from unisono.rules.parity import ParityRule
from unisono.rules.testing import add_offers, context, live_conn_fixture, offer

live_conn = live_conn_fixture()  # SQLite, and PostgreSQL when UNISONO_TEST_POSTGRES is set

BOOT, TENT, LAMP = "Wanderschuh Alpin GTX Herren", "Zelt Kuppel 2P", "Stirnlampe 300"
SALE_FROM = datetime(2026, 11, 19, 23, 0, tzinfo=timezone.utc)


def test_the_default_rules_flag_what_a_merchandiser_would_fix(live_conn):
    add_offers(
        live_conn,
        # the boot: on sale online since 20.11.; store 1042 missed the sale; the newsletter promises less
        offer("shop", "online", "100203", "99.99", "79.99", title=BOOT, sale_start=SALE_FROM, availability="in_stock"),
        offer("store", "1042", "100203", "99.99", title="WANDERSCH. ALPIN"),
        offer("store", "1043", "100203", "99.99", "79.99"),
        offer("newsletter", "bf-2026", "100203", "99.99", "59.99", title="Wanderschuh Alpin"),
        # the tent: advertised but not in the shop at all
        offer("newsletter", "bf-2026", "100777", "149.99", "129.99", title=TENT),
        # the lamp: advertised, in the shop but sold out; prices agree everywhere
        offer("shop", "online", "100555", "24.99", title=LAMP, availability="out_of_stock"),
        offer("store", "1042", "100555", "24.99"),
        offer("newsletter", "bf-2026", "100555", "24.99", title=LAMP),
    )
    findings = run_rules(live_conn, load_rules([default_rules_path()]), context())
    assert [(f.rule, f.sku, f.locations) for f in findings] == [
        ("advertised-in-shop", "100555", ["newsletter:bf-2026", "shop:*"]),
        ("advertised-in-shop", "100777", ["newsletter:bf-2026", "shop:*"]),
        # one finding for the newsletter's mistake (the stores follow the shop through price-parity)
        ("newsletter-price-honoured", "100203", ["newsletter:bf-2026", "shop:online"]),
        ("price-parity", "100203", ["shop:online", "store:1042"]),
    ]
    messages = [f.message for f in findings]
    assert messages[0] == f"Newsletter bf-2026 advertises 100555 '{LAMP}', which is out of stock in the shop."
    assert messages[1] == f"Newsletter bf-2026 advertises 100777 '{TENT}', which is not in the shop."
    assert messages[2] == f"Newsletter bf-2026 advertises 100203 '{BOOT}' at 59.99 EUR; the shop's sale price is 79.99 EUR since 20.11."
    assert messages[3] == f"Store 1042 charges 99.99 EUR for 100203 '{BOOT}'; the shop's sale price is 79.99 EUR since 20.11."


def test_findings_come_most_severe_first(live_conn):
    def rule(id_: str, severity: str) -> ParityRule:
        return ParityRule.model_validate({"id": id_, "kind": "parity", "field": "price", "channels": ["shop", "store"],
                                          "severity": severity})

    add_offers(live_conn, offer("shop", "online", "1", "10.00"), offer("store", "1042", "1", "11.00"))
    rules = [rule("a-info", "info"), rule("b-blocker", "blocker"), rule("c-warning", "warning"), rule("d-error", "error")]
    assert [f.rule for f in run_rules(live_conn, rules, context())] == ["b-blocker", "d-error", "c-warning", "a-info"]
