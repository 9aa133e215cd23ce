"""claim: what the newsletter says in words holds against what the channels charge and unisono.yaml.

Each test puts a few live offers and one newsletter publication with its claims into a real catalog
(SQLite, DuckDB, PostgreSQL) and checks at a fixed instant inside (or outside) the claims' window."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from unisono.catalog.tables import ClaimRow, Publication, PublicationLocation
from unisono.domain.claims import ClaimTerms
from unisono.domain.config import ProjectConfig
from unisono.rules import default_rules_path, load_rules, run_rules
from unisono.rules.claim import ClaimRule
from unisono.rules.evaluate import EvalContext
from unisono.rules.testing import add_offers, live_conn_fixture, offer

live_conn = live_conn_fixture()
BERLIN = ZoneInfo("Europe/Berlin")
FROM, TO = datetime(2026, 11, 27, tzinfo=BERLIN), datetime(2026, 12, 1, tzinfo=BERLIN)  # 27.–30.11.
AT = datetime(2026, 11, 28, 12, tzinfo=BERLIN)
JACKETS = "Bekleidung > Jacken > Winterjacken"
SHOES = "Schuhe > Wanderschuhe"


def rule(**options) -> ClaimRule:
    return ClaimRule.model_validate({"id": "newsletter-claims", "kind": "claim", **options})


def context(at: datetime = AT, **claims) -> EvalContext:
    return EvalContext(at=at, tz=BERLIN, config=ProjectConfig.model_validate({"claims": claims}))


def said(conn, *claims: tuple[str, dict], valid: tuple = (FROM, TO), location: str = "bf-2026") -> None:
    """A newsletter publication, in effect since 26.11., stating `claims` (text, terms)."""
    pub = conn.execute(insert(Publication.__table__).values(
        channel="newsletter", source=f"{location}.html", sha256="x", published_at=datetime(2026, 11, 26, tzinfo=BERLIN),
        effective_from=datetime(2026, 11, 26, tzinfo=BERLIN), loaded_at=datetime(2026, 11, 26, tzinfo=BERLIN),
    ).returning(Publication.__table__.c.id)).scalar_one()
    conn.execute(insert(PublicationLocation.__table__).values(publication_id=pub, channel="newsletter",
                                                              location=location))
    for line, (text, terms) in enumerate(claims, start=3):
        t = ClaimTerms.model_validate(terms)
        conn.execute(insert(ClaimRow.__table__).values(
            publication_id=pub, channel="newsletter", location=location, kind=t.type, text=text,
            source=f"{location}.html:{line}", terms=t.model_dump_json(exclude_defaults=True),
            valid_from=valid[0], valid_to=valid[1]))


def jacket(channel: str, location: str, sku: str, price: str, sale: str | None = None, category: str = JACKETS,
           **columns):
    return offer(channel, location, sku, price, sale, category=category, **columns)


def twenty_percent_on_jackets(conn) -> None:
    """The shop and store 1001 reduce every jacket by 20 %; store 1002 reduces one of three."""
    rows = []
    for location in ("online", "1001", "1002"):
        channel = "shop" if location == "online" else "store"
        for sku, price, sale in (("100201", "199.99", "159.99"), ("100202", "149.99", "119.99"),
                                 ("100203", "99.99", "79.99")):
            reduced = not (location == "1002" and sku != "100201")
            rows.append(jacket(channel, location, sku, price, sale if reduced else None))
        rows.append(jacket(channel, location, "100301", "129.99", category=SHOES))  # out of scope, not reduced
    add_offers(conn, *rows)


DISCOUNT = ("20 % auf alle Winterjacken", {"type": "discount", "percent": 20, "scope": ["Winterjacken"]})


def test_a_discount_claim_is_one_finding_per_store_that_breaks_it_with_counts_and_examples(live_conn):
    twenty_percent_on_jackets(live_conn)
    said(live_conn, DISCOUNT)
    [f] = run_rules(live_conn, [rule()], context())
    assert f.locations == ["newsletter:bf-2026", "store:1002"] and f.judged
    assert f.message == ("Newsletter bf-2026: '20 % auf alle Winterjacken' (valid 27.11.–30.11.): 2 of 3 "
                         "Winterjacken are not reduced by 20 % in store 1002 (100202, 100203).")
    assert f.sources == ["bf-2026.html:3"] and f.extra["in_scope"] == "3"


def test_a_discount_claim_outside_its_window_is_not_judged(live_conn):
    twenty_percent_on_jackets(live_conn)
    said(live_conn, DISCOUNT)
    assert run_rules(live_conn, [rule()], context(datetime(2026, 12, 1, 12, tzinfo=BERLIN))) == []
    assert run_rules(live_conn, [rule()], context(datetime(2026, 11, 26, 12, tzinfo=BERLIN))) == []


def test_a_discount_within_the_tolerance_holds_and_a_smaller_one_does_not(live_conn):
    add_offers(live_conn, jacket("shop", "online", "100201", "99.99", "80.25"),  # 19.74 %: rounding
               jacket("store", "1001", "100201", "99.99", "84.99"))  # 15 %
    said(live_conn, DISCOUNT)
    [f] = run_rules(live_conn, [rule()], context())
    assert f.locations[1] == "store:1001"
    assert run_rules(live_conn, [rule(tolerance=0.1)], context())[0].locations[1] == "shop:online"


def test_a_discount_naming_online_judges_only_the_shop(live_conn):
    twenty_percent_on_jackets(live_conn)
    said(live_conn, ("20 % auf alle Winterjacken im Onlineshop",
                     {"type": "discount", "percent": 20, "scope": ["Winterjacken"], "channels": ["shop"]}))
    assert run_rules(live_conn, [rule()], context()) == []


def test_up_to_holds_when_one_offer_reaches_it_and_none_exceeds_it(live_conn):
    add_offers(live_conn, jacket("shop", "online", "100201", "100.00", "70.00"),  # 30 %
               jacket("shop", "online", "100202", "100.00", "90.00"),  # 10 %
               jacket("store", "1001", "100201", "100.00", "80.00"),  # the most in 1001: 20 %
               jacket("store", "1002", "100201", "100.00", "60.00"))  # 40 %: more than promised
    said(live_conn, ("Bis zu 30 % auf Winterjacken",
                     {"type": "discount", "percent": 30, "up_to": True, "scope": ["Winterjacken"]}))
    found = {f.locations[1]: f.message for f in run_rules(live_conn, [rule()], context())}
    assert set(found) == {"store:1001", "store:1002"}
    assert "none of 1 Winterjacken is reduced by 30 % in store 1001" in found["store:1001"]
    assert "1 of 1 Winterjacken is reduced by more than 30 % in store 1002 (100201)" in found["store:1002"]


def test_scope_words_match_category_segments_singular_or_plural_and_brands(live_conn):
    add_offers(live_conn, jacket("shop", "online", "100201", "100.00", "80.00", category="Bekleidung > Winterjacke"),
               jacket("shop", "online", "100301", "100.00", category=SHOES))
    said(live_conn, ("20 % auf Wanderschuh", {"type": "discount", "percent": 20, "scope": ["Wanderschuh"]}))
    [f] = run_rules(live_conn, [rule()], context())
    assert "1 of 1 Wanderschuh is not reduced" in f.message and "100301" in f.message


def test_a_scope_word_names_the_compounds_it_heads_as_german_category_trees_build_them(live_conn):
    add_offers(live_conn, jacket("shop", "online", "A1", "100.00", "80.00", category="Damen > Laufschuhe"),
               jacket("shop", "online", "A2", "90.00", category="Herren > Hallenschuhe"),
               jacket("shop", "online", "A3", "120.00", category="Fußball > Fußballschuhe"),
               jacket("shop", "online", "A4", "9.99", category="Pflege > Schuhputzmittel"),  # heads: putzmittel
               jacket("shop", "online", "A5", "999.00", category="Elektronik > Laptops"))
    said(live_conn, ("20 % auf alle Schuhe", {"type": "discount", "percent": 20, "scope": ["Schuhe"]}))
    [f] = run_rules(live_conn, [rule()], context())
    assert f.judged and "2 of 3 Schuhe are not reduced by 20 % in the shop (A2, A3)" in f.message
    said(live_conn, ("20 % auf alle Tops", {"type": "discount", "percent": 20, "scope": ["Tops"]}))
    assert [g.judged for g in run_rules(live_conn, [rule()], context()) if "Tops" in g.message] == [False]


def test_scope_words_the_config_maps_to_a_category_path(live_conn):
    twenty_percent_on_jackets(live_conn)
    said(live_conn, ("20 % auf Winterware", {"type": "discount", "percent": 20, "scope": ["Winterware"]}))
    [f] = run_rules(live_conn, [rule()], context(scopes={"Winterware": "Bekleidung > Jacken"}))
    assert f.judged and f.locations[1] == "store:1002" and "2 of 3 Winterware" in f.message


def test_a_scope_matching_nothing_is_undecided_never_guessed(live_conn):
    twenty_percent_on_jackets(live_conn)
    said(live_conn, ("20 % auf alle Mützen", {"type": "discount", "percent": 20, "scope": ["Mützen"]}))
    [f] = run_rules(live_conn, [rule()], context())
    assert not f.judged and f.severity == "info"
    assert "'Mützen' matches no category or brand" in f.message and "claims.scopes" in f.message


def test_everything_covers_every_product(live_conn):
    twenty_percent_on_jackets(live_conn)
    said(live_conn, ("20 % auf alles", {"type": "discount", "percent": 20, "everything": True}))
    found = {f.locations[1]: f.extra["failing"] for f in run_rules(live_conn, [rule()], context())}
    assert found == {"shop:online": "1", "store:1001": "1", "store:1002": "3"}  # the shoes are not reduced


def test_a_shipping_threshold_differing_from_the_config_is_a_finding(live_conn):
    twenty_percent_on_jackets(live_conn)
    said(live_conn, ("Versandkostenfrei ab 49 €", {"type": "shipping", "threshold": 49, "currency": "EUR"}))
    [f] = run_rules(live_conn, [rule()], context(free_shipping_threshold=50))
    assert "the shop charges shipping below 50.00 EUR" in f.message
    assert f.values == {"newsletter:bf-2026": "49.00 EUR", "shop:online": "50.00 EUR"}
    assert run_rules(live_conn, [rule()], context(free_shipping_threshold=49)) == []
    [undecided] = run_rules(live_conn, [rule()], context())
    assert not undecided.judged and undecided.message.endswith(
        ": neither the shop feed (free_shipping_threshold, shipping) nor claims.free_shipping_threshold in "
        "unisono.yaml says what the shop charges.")


def test_payment_and_service_claims_against_the_configured_lists(live_conn):
    twenty_percent_on_jackets(live_conn)
    said(live_conn, ("Kauf auf Rechnung und PayPal", {"type": "payment", "methods": ["invoice", "paypal"]}),
         ("Click & Collect in jeder Filiale", {"type": "service", "methods": ["click_collect"]}))
    found = run_rules(live_conn, [rule()], context(payment_methods=["paypal"], services=["click_collect"]))
    assert [f.message.split(": ", 1)[1] for f in found] == [
        "'Kauf auf Rechnung und PayPal' (valid 27.11.–30.11.): the shop does not offer invoice "
        "(claims.payment_methods: paypal)."]
    undecided = run_rules(live_conn, [rule()], context())
    assert len(undecided) == 2 and not any(f.judged for f in undecided)


def test_online_only_product_reduced_in_a_store_names_the_store_and_price(live_conn):
    add_offers(live_conn, offer("shop", "online", "100401", "89.99", "69.99"),
               offer("store", "1001", "100401", "89.99"),
               offer("store", "1002", "100401", "89.99", "69.99"),
               offer("newsletter", "bf-2026", "100401", "69.99", reference="89.99"))
    said(live_conn, ("Daunenweste: nur online",
                     {"type": "exclusivity", "exclusivity": "online_only", "product": "100401"}))
    [f] = run_rules(live_conn, [rule()], context())
    assert f.sku == "100401" and f.locations == ["newsletter:bf-2026", "store:1002"]
    assert "store 1002 (69.99 EUR instead of 89.99 EUR) also reduces it" in f.message


def test_online_only_holds_when_no_store_reduces(live_conn):
    add_offers(live_conn, offer("shop", "online", "100401", "89.99", "69.99"), offer("store", "1001", "100401", "89.99"))
    said(live_conn, ("nur online", {"type": "exclusivity", "exclusivity": "online_only", "product": "100401"}))
    assert run_rules(live_conn, [rule()], context()) == []


def test_in_all_stores_names_stores_lacking_or_not_reducing_the_product(live_conn):
    add_offers(live_conn, offer("store", "1001", "100401", "89.99", "69.99"),
               offer("store", "1002", "100401", "89.99"),
               offer("store", "1003", "100999", "10.00"))
    said(live_conn, ("auch in allen Filialen", {"type": "exclusivity", "exclusivity": "all_stores",
                                                "product": "100401"}))
    [f] = run_rules(live_conn, [rule()], context())
    assert f.locations == ["newsletter:bf-2026", "store:1003", "store:1002"]
    assert "store 1003 does not list it; store 1002 does not reduce it (2 of 3 stores)" in f.message


def test_the_rule_judges_only_the_classes_it_names(live_conn):
    twenty_percent_on_jackets(live_conn)
    said(live_conn, DISCOUNT, ("Versandkostenfrei ab 49 €", {"type": "shipping", "threshold": 49}))
    [f] = run_rules(live_conn, [rule(claims=["shipping"])], context(free_shipping_threshold=50))
    assert f.extra["claim_type"] == "shipping"


def test_the_default_ruleset_has_claim_rules_that_validate():
    rules = load_rules([default_rules_path()])
    kinds = {r.id: r for r in rules if r.kind == "claim"}
    assert {tuple(r.claims) for r in kinds.values()} >= {("discount", "shipping", "exclusivity")}
    assert Decimal(str(next(iter(kinds.values())).tolerance)) == Decimal("0.5")


def test_a_discount_without_a_scope_is_undecided_even_up_to(live_conn):
    # "bis zu 30 % Rabatt" alone says neither what nor where: judging it over everything would be a guess
    twenty_percent_on_jackets(live_conn)
    said(live_conn, ("Bis zu 20 % Rabatt", {"type": "discount", "percent": 20, "up_to": True}),
         ("20 % Rabatt", {"type": "discount", "percent": 20}))
    found = run_rules(live_conn, [rule()], context())
    assert [(f.judged, f.severity, f.message) for f in found] == [(False, "info", (
        f"Cannot judge Newsletter bf-2026: '{text}' (valid 27.11.–30.11.): it names no products or categories."))
        for text in ("Bis zu 20 % Rabatt", "20 % Rabatt")]


def test_the_rules_json_schema_offers_the_claim_kind():
    from unisono.rules import rules_json_schema

    schema = rules_json_schema()
    claim = schema["$defs"]["ClaimRule"]
    assert claim["properties"]["kind"]["const"] == "claim"
    assert claim["properties"]["claims"]["items"]["enum"] == ["discount", "shipping", "exclusivity", "payment", "service"]


def test_an_online_only_discount_granted_in_a_store_is_a_finding_for_that_store(live_conn):
    twenty_percent_on_jackets(live_conn)  # store 1001 reduces all three jackets, store 1002 one
    said(live_conn, ("Nur online: 20 % auf alle Winterjacken", {"type": "discount", "percent": 20,
                                                               "scope": ["Winterjacken"], "exclusivity": "online_only"}))
    found = {f.locations[1]: f.message for f in run_rules(live_conn, [rule()], context())}
    assert set(found) == {"store:1001", "store:1002"}  # the shop grants it: as promised
    assert found["store:1001"].endswith("the offer is online only, but store 1001 also reduces 3 Winterjacken "
                                        "(100201, 100202, 100203).")
    assert found["store:1002"].endswith("but store 1002 also reduces one of the Winterjacken (100201).")


def store_without_offers(conn, store: str) -> None:
    """A store whose current price file lists nothing live: a store location of the catalog all the same."""
    pub = conn.execute(insert(Publication.__table__).values(
        channel="store", source="stores.csv", sha256="y", published_at=datetime(2026, 11, 20, tzinfo=BERLIN),
        effective_from=datetime(2026, 11, 20, tzinfo=BERLIN), loaded_at=datetime(2026, 11, 20, tzinfo=BERLIN),
    ).returning(Publication.__table__.c.id)).scalar_one()
    conn.execute(insert(PublicationLocation.__table__).values(publication_id=pub, channel="store", location=store))


ALL_STORES = ("Daunenweste: auch in allen Filialen", {"type": "exclusivity", "exclusivity": "all_stores",
                                                      "product": "100401"})


def test_in_all_stores_counts_every_store_of_the_catalog_and_the_whole_window(live_conn):
    late, early = datetime(2026, 11, 28, tzinfo=BERLIN), datetime(2026, 11, 30, tzinfo=BERLIN)
    add_offers(live_conn, offer("store", "1001", "100401", "89.99", "69.99", sale_start=FROM, sale_end=TO),
               offer("store", "1002", "100401", "89.99", "69.99", sale_start=late, sale_end=TO),
               offer("store", "1003", "100401", "89.99", "69.99", sale_start=FROM, sale_end=early))
    store_without_offers(live_conn, "1004")
    said(live_conn, ALL_STORES)
    [f] = run_rules(live_conn, [rule()], context())
    assert f.message.endswith(": store 1004 does not list it; store 1002 reduces it only from 28.11.; store 1003 "
                              "reduces it only until 29.11. (3 of 4 stores).")
    assert f.locations == ["newsletter:bf-2026", "store:1004", "store:1002", "store:1003"]
    assert f.values["store:1004"] == "not listed" and f.values["store:1002"] == "69.99 EUR"


def test_in_all_stores_holds_when_every_store_reduces_it_over_the_window(live_conn):
    add_offers(live_conn, *[offer("store", s, "100401", "89.99", "69.99", sale_start=FROM, sale_end=TO)
                            for s in ("1001", "1002")])
    said(live_conn, ALL_STORES)
    assert run_rules(live_conn, [rule()], context()) == []


def test_a_discount_in_all_stores_names_a_store_listing_nothing_in_its_scope(live_conn):
    twenty_percent_on_jackets(live_conn)
    add_offers(live_conn, jacket("store", "1003", "100301", "129.99", category=SHOES))
    said(live_conn, ("20 % auf alle Winterjacken – auch in allen Filialen",
                     {"type": "discount", "percent": 20, "scope": ["Winterjacken"], "channels": ["shop", "store"],
                      "exclusivity": "all_stores"}))
    found = {f.locations[1]: f.message for f in run_rules(live_conn, [rule()], context())}
    assert set(found) == {"store:1002", "store:1003"}
    assert found["store:1003"].endswith(": store 1003 lists none of the Winterjacken (3 stores).")


def test_a_scoped_discount_is_judged_over_its_whole_window_and_says_from_when(live_conn):
    late, early = datetime(2026, 11, 28, tzinfo=BERLIN), datetime(2026, 11, 30, tzinfo=BERLIN)
    rows = [jacket("shop", "online", sku, "99.99", "79.99") for sku in ("100201", "100202", "100203")]
    rows += [jacket("store", "1002", "100201", "99.99", "79.99", sale_start=FROM, sale_end=TO),
             jacket("store", "1002", "100202", "99.99", "79.99", sale_start=late, sale_end=TO),
             jacket("store", "1002", "100203", "99.99", "79.99", sale_start=late, sale_end=TO),
             jacket("store", "1003", "100201", "99.99", "79.99", sale_start=FROM, sale_end=early)]
    add_offers(live_conn, *rows)
    said(live_conn, DISCOUNT)
    found = {f.locations[1]: f for f in run_rules(live_conn, [rule()], context())}
    assert set(found) == {"store:1002", "store:1003"}  # the shop's sales have no window: every day of it
    assert found["store:1002"].message.endswith(
        ": store 1002 reduces 2 of 3 Winterjacken only from 28.11. (100202, 100203).")
    assert found["store:1002"].extra["failing"] == "2"
    assert found["store:1003"].message.endswith(": store 1003 reduces 1 of 1 Winterjacken only until 29.11. (100201).")


def test_a_sale_starting_later_in_the_window_is_late_not_missing_even_before_it_starts(live_conn):
    late = datetime(2026, 11, 28, tzinfo=BERLIN)
    add_offers(live_conn, jacket("store", "1002", "100201", "99.99", "79.99", sale_start=FROM, sale_end=TO),
               jacket("store", "1002", "100202", "99.99", "79.99", sale_start=late, sale_end=TO, effective="99.99"),
               jacket("store", "1002", "100203", "99.99"))
    said(live_conn, DISCOUNT)
    [f] = run_rules(live_conn, [rule()], context(at=datetime(2026, 11, 27, 9, tzinfo=BERLIN)))
    assert f.message.endswith(": 1 of 3 Winterjacken is not reduced by 20 % in store 1002 (100203); "
                              "store 1002 reduces 1 of 3 only from 28.11. (100202).")


def test_up_to_and_selected_claims_ask_no_whole_window_of_every_offer(live_conn):
    late = datetime(2026, 11, 28, tzinfo=BERLIN)
    add_offers(live_conn, jacket("store", "1002", "100201", "99.99", "69.99", sale_start=FROM, sale_end=TO),
               jacket("store", "1002", "100202", "99.99", "79.99", sale_start=late, sale_end=TO))
    said(live_conn, ("Bis zu 30 % auf Winterjacken", {"type": "discount", "percent": 30, "up_to": True,
                                                      "scope": ["Winterjacken"]}),
         ("20 % auf ausgewählte Winterjacken", {"type": "discount", "percent": 20, "selected": True,
                                                "scope": ["Winterjacken"]}))
    assert run_rules(live_conn, [rule()], context()) == []


# -- one test per remaining claim class: money off, "ausgewählte", stores only, "nur im Markt", more methods

def test_money_off_is_measured_in_cents_from_the_regular_price(live_conn):
    add_offers(live_conn, jacket("shop", "online", "100201", "99.99", "89.99"),  # 10.00 off: holds
               jacket("shop", "online", "100202", "99.99", "91.99"))  # 8.00 off
    said(live_conn, ("10 € Rabatt auf alle Winterjacken", {"type": "discount", "amount": 10, "currency": "EUR",
                                                           "scope": ["Winterjacken"]}))
    [f] = run_rules(live_conn, [rule()], context())
    assert f.message.endswith(": 1 of 2 Winterjacken is not reduced by 10.00 EUR in the shop (100202).")


def test_selected_breaks_only_where_no_offer_of_the_scope_reaches_it(live_conn):
    twenty_percent_on_jackets(live_conn)
    add_offers(live_conn, jacket("store", "1003", "100201", "199.99"))
    said(live_conn, ("20 % auf ausgewählte Winterjacken", {"type": "discount", "percent": 20, "selected": True,
                                                           "scope": ["Winterjacken"]}))
    [f] = run_rules(live_conn, [rule()], context())  # store 1002 reduces one of three: enough
    assert f.locations[1] == "store:1003" and f.message.endswith(": none of 1 Winterjacken is reduced by 20 % in "
                                                                 "store 1003.")


def test_a_discount_naming_the_stores_judges_only_the_stores(live_conn):
    add_offers(live_conn, jacket("shop", "online", "100201", "99.99"), jacket("store", "1001", "100201", "99.99"))
    said(live_conn, ("20 % auf alle Winterjacken in unseren Filialen",
                     {"type": "discount", "percent": 20, "scope": ["Winterjacken"], "channels": ["store"]}))
    assert [f.locations[1] for f in run_rules(live_conn, [rule()], context())] == ["store:1001"]


def test_store_only_product_reduced_by_the_shop_is_a_finding(live_conn):
    add_offers(live_conn, offer("shop", "online", "100401", "89.99", "69.99"), offer("store", "1001", "100401", "89.99",
                                                                                      "69.99"))
    said(live_conn, ("Daunenweste: nur im Markt", {"type": "exclusivity", "exclusivity": "store_only",
                                                   "product": "100401"}))
    [f] = run_rules(live_conn, [rule()], context())
    assert f.message.endswith(": the reduction is in stores only, but the shop (69.99 EUR instead of 89.99 EUR) also "
                              "reduces it.")


def test_installments_and_made_in_germany_are_judged_against_the_configured_lists(live_conn):
    said(live_conn, ("Bequem in Raten zahlen: Ratenkauf", {"type": "payment", "methods": ["installments"]}),
         ("Made in Germany", {"type": "service", "methods": ["made_in_germany"]}))
    found = run_rules(live_conn, [rule()], context(payment_methods=["installments"], services=["click_collect"]))
    assert [f.message.split("): ", 1)[1] for f in found] == [
        "the shop does not offer made_in_germany (claims.services: click_collect)."]
