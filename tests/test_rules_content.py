"""content: titles (by similarity) and brands agree between the shop and the stores; published from
real files, since each store's own brand is read from its price file (the live relation merges it)."""
from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from unisono.cli.main import cli
from unisono.rules import run_rules
from unisono.rules.content import ContentRule, fold_words
from unisono.rules.testing import add_offers, context, live_conn_fixture, offer

live_conn = live_conn_fixture()


def rule(**options) -> ContentRule:
    return ContentRule.model_validate({"id": "title-and-brand-drift", "kind": "content", "severity": "warning",
                                       **options})


def test_titles_are_compared_by_similarity_not_by_spelling(live_conn):
    add_offers(live_conn, offer("shop", "online", "100203", "99.99", title="Wanderschuh Alpin GTX Herren"),
               offer("store", "1001", "100203", "99.99", title="WANDERSCH. ALPIN GTX"),  # abbreviated: the same
               offer("store", "1002", "100203", "99.99", title="Daunenweste Damen"),  # another product
               offer("store", "1003", "100203", "99.99"))  # no title: nothing to compare
    [f] = run_rules(live_conn, [rule()], context())
    assert f.locations == ["shop:online", "store:1002"] and f.severity == "warning"
    assert f.message.startswith("Store 1002 calls 100203 'Daunenweste Damen', the shop 'Wanderschuh Alpin GTX "
                                "Herren' (title similarity ")
    assert int(f.extra["title_similarity"]) < 70
    assert run_rules(live_conn, [rule(title_similarity=10)], context()) == []


def test_an_abbreviation_counts_as_the_word_it_begins():
    from unisono.rules.content import expand

    assert expand("wandersch alpin gtx", "wanderschuh alpin gtx herren") == "wanderschuh alpin gtx"
    assert expand("wj alpin", "winterjacke alpin") == "wj alpin"  # two letters: too short to tell


def test_folding_keeps_words_apart_and_drops_case_accents_and_punctuation():
    assert fold_words("Müsli-Riegel,  BIO!") == "musli riegel bio"
    assert fold_words("Straße Ørsted") == "strasse ørsted"  # a letter of its own is kept


def run(*args: str, project: Path):
    return CliRunner().invoke(cli, list(args), env={"UNISONO_PROJECT": str(project)}, catch_exceptions=False)


def test_a_store_files_brand_differing_from_the_shops_is_a_warning_end_to_end(tmp_path):
    project = tmp_path / "p"
    assert run("init", str(project), project=project).exit_code == 0
    (tmp_path / "feed.xml").write_text(
        '<?xml version="1.0"?><rss xmlns:g="http://base.google.com/ns/1.0" version="2.0"><channel>\n'
        "<item><g:id>100203</g:id><g:title>Wanderschuh Alpin GTX</g:title><g:brand>Salewa</g:brand>"
        "<g:price>99.99 EUR</g:price></item>\n"
        "<item><g:id>100204</g:id><g:title>Trinkflasche 1 l</g:title><g:brand>Sigg</g:brand>"
        "<g:price>19.99 EUR</g:price></item>\n</channel></rss>", "utf-8")
    (tmp_path / "stores.csv").write_text(
        "Filiale;Artikelnummer;Bezeichnung;Marke;VK-Preis\n1001;100203;Wanderschuh Alpin GTX;SALEWA;99,99\n"
        "1001;100204;Trinkflasche 1 l;Salomon;19,99\n", "utf-8")
    for channel, name in (("shop", "feed.xml"), ("store", "stores.csv")):
        assert run("publish", channel, str(tmp_path / name), "--published-at", "2026-11-20T06:00",
                   project=project).exit_code == 0
    result = run("check", "--at", "2026-11-24T12:00", "--format", "json", project=project)
    drift = [f for f in json.loads(result.output)["findings"] if f["rule"] == "title-and-brand-drift"]
    assert [(f["sku"], f["severity"], f["message"], f["sources"]) for f in drift] == [
        ("100204", "warning", "Store 1001 gives 100204 the brand 'Salomon', the shop 'Sigg'.",
         ["feed.xml:3", "stores.csv:3"])]
    assert result.exit_code == 0  # a warning does not fail the default gate


def test_titles_equal_but_for_case_umlauts_and_spaces_are_no_drift(live_conn):
    add_offers(live_conn, offer("shop", "online", "100300", "49.99", title="Überjacke Grün Damen"),
               offer("store", "1001", "100300", "49.99", title=" ÜBERJACKE GRÜN DAMEN"),
               offer("store", "1002", "100300", "49.99", title="Daunenweste Damen"))
    assert [f.locations for f in run_rules(live_conn, [rule()], context())] == [["shop:online", "store:1002"]]


def test_every_store_and_product_showing_the_same_wrong_title_gets_its_own_finding(live_conn):
    # titles are scored once per distinct pair: the offers behind a pair must all come back
    add_offers(live_conn, *[offer("shop", "online", sku, "9.99", title="Wanderschuh Alpin GTX Herren")
                            for sku in ("100203", "100204")],
               *[offer("store", store, sku, "9.99", title="Daunenweste Damen")
                 for sku in ("100203", "100204") for store in ("1001", "1002")],
               offer("store", "1003", "100203", "9.99", title="WANDERSCH. ALPIN GTX"))
    assert [(f.sku, f.locations[1]) for f in run_rules(live_conn, [rule()], context())] == [
        ("100203", "store:1001"), ("100203", "store:1002"), ("100204", "store:1001"), ("100204", "store:1002")]


def test_accents_spaces_punctuation_and_abbreviations_are_no_drift_but_another_product_is(live_conn):
    shop = "Café Crème Bohnen 500 g"
    stores = {"1001": "CAFE CREME BOHNEN 500 G",  # accents and case
              "1002": "Café  Crème\tBohnen 500 g ",  # spaces inside and around
              "1003": "Café-Crème (Bohnen) 500g!",  # punctuation: "500g" is a word of its own
              "1004": "CAF. CRÈME BOHN. 500 G",  # abbreviated words
              "1005": "Espressomaschine Edelstahl"}  # another product
    add_offers(live_conn, offer("shop", "online", "100400", "9.99", title=shop),
               *[offer("store", s, "100400", "9.99", title=t) for s, t in stores.items()])
    found = {f.locations[1]: int(f.extra["title_similarity"]) for f in run_rules(live_conn, [rule()], context())}
    assert set(found) == {"store:1005"} and found["store:1005"] < 70
    # a strict threshold sees what separates them: only the titles with other words than the shop's
    strict = {f.locations[1] for f in run_rules(live_conn, [rule(title_similarity=100)], context())}
    assert strict == {"store:1003", "store:1005"}


def test_titles_of_only_punctuation_score_zero_unless_equal_but_for_case_and_spaces(live_conn):
    add_offers(live_conn, offer("shop", "online", "100500", "9.99", title="-"),
               offer("store", "1001", "100500", "9.99", title=" - "),  # the same once trimmed
               offer("store", "1002", "100500", "9.99", title="!!"))
    [f] = run_rules(live_conn, [rule()], context())
    assert f.locations == ["shop:online", "store:1002"] and f.extra["title_similarity"] == "0"


def test_scoring_each_distinct_pair_once_gives_the_similarity_the_rule_defines():
    from rapidfuzz import fuzz

    from unisono.rules.content import expand

    titles = ["Überjacke Grün Damen", "UEBERJACKE GRUEN DAMEN", "uberjacke grun damen", " Überjacke  Grün Damen ",
              "ÜBERJ. GRÜN DAM.", "Straße Ørsted", "STRASSE ORSTED", "Daunenweste Damen", "-", "!!", "",
              "Müsli-Riegel BIO", "musli riegel bio", "Riegel Müsli", "ﬁligran Öl", "filigran ol"]
    pairs = [(a, b) for a in titles for b in titles] * 2  # repeated pairs, as the stores give them
    for threshold in (0, 50, 70, 95, 100):
        r = rule(title_similarity=threshold)

        def defined(a: str, b: str) -> float | None:  # the rule's definition, pair by pair
            if not (a and b) or a.casefold() == b.casefold():
                return None
            score = fuzz.token_set_ratio(fold_words(a), expand(fold_words(b), fold_words(a)))
            return score if score < threshold else None

        assert r.judge_titles(pairs) == {(a, b): defined(a, b) for a, b in pairs}
        assert all(r.title_drift(a, b) == defined(a, b) for a, b in pairs)
