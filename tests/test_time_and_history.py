"""Windows, history, reconciliation and waivers, as a user drives them through the CLI."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from unisono.cli.main import cli

ONLY_PARITY = "rules:\n  - id: price-parity\n    kind: parity\n    channels: [shop, store]\n" \
              "    fields: [price, effective_price]\n    tolerance: 0.01\n"


def feed(items: list[tuple[str, str, str | None, str | None]]) -> str:
    """A GMC feed: (sku, price, sale price, sale window)."""
    body = ""
    for sku, price, sale, window in items:
        body += f"<item><g:id>{sku}</g:id><g:title>Artikel {sku}</g:title><g:price>{price} EUR</g:price>"
        if sale:
            body += f"<g:sale_price>{sale} EUR</g:sale_price>"
        if window:
            body += f"<g:sale_price_effective_date>{window}</g:sale_price_effective_date>"
        body += f"<g:link>https://shop.example/p/{sku}</g:link><g:availability>in stock</g:availability></item>\n"
    return ('<?xml version="1.0"?>\n<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel>\n'
            f"{body}</channel></rss>\n")


def store_file(rows: list[str]) -> str:
    return "Filiale;Artikelnummer;VK-Preis;Aktionspreis;Aktion von;Aktion bis\n" + "\n".join(rows) + "\n"


@pytest.fixture(params=["sqlite", "duckdb"])
def project(request, tmp_path) -> Path:
    """A project on each embedded catalog: SQLite and DuckDB (the default)."""
    CliRunner().invoke(cli, ["init", str(tmp_path / "p"), "--db", request.param], catch_exceptions=False)
    p = tmp_path / "p"
    (p / "rules" / "default.yaml").write_text(ONLY_PARITY, encoding="utf-8")
    return p


def unisono(project: Path, *args: str):
    return CliRunner().invoke(cli, [*args], env={"UNISONO_PROJECT": str(project)}, catch_exceptions=False)


def publish(project: Path, channel: str, name: str, text: str, *extra: str) -> None:
    (project / name).write_text(text, encoding="utf-8")
    result = unisono(project, "publish", channel, str(project / name), *extra)
    assert result.exit_code == 0, result.output


def check_json(project: Path, *args: str) -> tuple[int, dict]:
    result = unisono(project, "check", "--format", "json", *args)
    return result.exit_code, json.loads(result.output)


def test_a_store_promotion_starting_a_day_late_is_flagged_for_that_day_only(project):
    publish(project, "shop", "feed.xml", feed([("1", "99.99", "79.99", "2026-11-27/2026-11-30"),
                                                ("2", "19.99", None, None)]), "--published-at", "2026-11-01")
    publish(project, "store", "store.csv", store_file(["1001;1;99,99;79,99;28.11.2026;30.11.2026", "1001;2;19,99;;;"]),
            "--published-at", "2026-11-01")
    code, doc = check_json(project, "--window", "2026-11-25/2026-12-02")
    assert code == 1
    [f] = doc["findings"]
    assert (f["sku"], f["locations"]) == ("1", ["shop:online", "store:1001"])
    assert (f["from"], f["to"]) == ("2026-11-27T00:00:00+01:00", "2026-11-28T00:00:00+01:00")


def test_adjacent_pieces_with_the_same_finding_merge_into_one_interval(project):
    # the store never grants the sale: the shop's sale start and end cut the window, one finding remains
    publish(project, "shop", "feed.xml", feed([("1", "99.99", "79.99", "2026-11-27/2026-11-30")]),
            "--published-at", "2026-11-01")
    publish(project, "store", "store.csv", store_file(["1001;1;89,99;;;"]), "--published-at", "2026-11-01")
    _, doc = check_json(project, "--window", "2026-11-25/2026-12-03")  # a date-only end is inclusive
    assert [(f["from"], f["to"]) for f in doc["findings"]] == [("2026-11-25T00:00:00+01:00", "2026-12-04T00:00:00+01:00")]
    assert doc["summary"]["pieces"] == 3


def test_a_finding_ending_exactly_at_the_window_edge_is_cut_there(project):
    publish(project, "shop", "feed.xml", feed([("1", "99.99", "79.99", "2026-11-27/2026-11-30")]),
            "--published-at", "2026-11-01")
    publish(project, "store", "store.csv", store_file(["1001;1;99,99;;;"]), "--published-at", "2026-11-01")
    _, doc = check_json(project, "--window", "2026-11-28T12:00/2026-11-30")
    assert [(f["from"], f["to"]) for f in doc["findings"]] == [("2026-11-28T12:00:00+01:00", "2026-12-01T00:00:00+01:00")]


def test_a_staged_store_file_closes_the_gap_when_it_goes_live(project):
    publish(project, "shop", "feed.xml", feed([("1", "99.99", "79.99", "2026-11-27/2026-11-30")]),
            "--published-at", "2026-11-01")
    publish(project, "store", "old.csv", store_file(["1001;1;99,99;;;"]), "--published-at", "2026-11-01")
    publish(project, "store", "bf.csv", store_file(["1001;1;99,99;79,99;27.11.2026;30.11.2026"]),
            "--published-at", "2026-11-20", "--effective-from", "2026-11-27T06:00")
    _, doc = check_json(project, "--window", "2026-11-26/2026-12-01")
    assert [(f["from"], f["to"]) for f in doc["findings"]] == [("2026-11-27T00:00:00+01:00", "2026-11-27T06:00:00+01:00")]


def test_a_file_made_live_before_it_was_published_says_so(project):
    (project / "late.csv").write_text(store_file(["1001;1;89,99;;;"]), encoding="utf-8")
    result = unisono(project, "publish", "store", str(project / "late.csv"), "--published-at", "2026-11-26T06:00",
                     "--effective-from", "2026-11-20")
    assert result.exit_code == 0, result.output
    assert "late.csv goes live 20.11.2026 00:00, before it was published (26.11.2026 06:00): the catalog's history " \
           "now shows its prices as live since then" in " ".join(result.output.split())


def test_date_only_days_follow_the_project_timezone_across_the_dst_change(project):
    # 25 October 2026 has 25 hours in Berlin: the finding covers the whole local day
    publish(project, "shop", "feed.xml", feed([("1", "99.99", "79.99", "2026-10-25/2026-10-25")]),
            "--published-at", "2026-10-01")
    publish(project, "store", "store.csv", store_file(["1001;1;99,99;;;"]), "--published-at", "2026-10-01")
    _, doc = check_json(project, "--window", "2026-10-24/2026-10-27")
    assert [(f["from"], f["to"]) for f in doc["findings"]] == [("2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00")]


def test_reconcile_reports_new_then_open_and_resolved_after_a_corrected_store_file(project):
    publish(project, "shop", "feed.xml", feed([("1", "99.99", None, None), ("2", "19.99", None, None)]),
            "--published-at", "2026-11-20")
    publish(project, "store", "store.csv", store_file(["1001;1;89,99;;;", "1001;2;18,99;;;"]),
            "--published-at", "2026-11-20")
    first = json.loads(unisono(project, "reconcile", "--at", "2026-11-21T05:30", "--format", "json").output)
    assert sorted((f["sku"], f["status"]) for f in first["findings"]) == [("1", "new"), ("2", "new")]
    publish(project, "store", "fixed.csv", store_file(["1001;1;99,99;;;", "1001;2;18,99;;;"]),
            "--published-at", "2026-11-21T12:00")
    result = unisono(project, "reconcile", "--at", "2026-11-22T05:30", "--format", "json")
    second = json.loads(result.output)
    assert sorted((f["sku"], f["status"]) for f in second["findings"]) == [("1", "resolved"), ("2", "open")]
    assert second["summary"]["status"] == {"new": 0, "open": 1, "resolved": 1}
    assert result.exit_code == 1  # the open one still fails; the resolved one never does
    assert "reconcile" in unisono(project, "runs").output


def test_fingerprints_stay_the_same_when_only_the_values_change(project):
    publish(project, "shop", "feed.xml", feed([("1", "99.99", None, None)]), "--published-at", "2026-11-20")
    publish(project, "store", "a.csv", store_file(["1001;1;89,99;;;"]), "--published-at", "2026-11-20")
    _, before = check_json(project, "--at", "2026-11-21")
    publish(project, "store", "b.csv", store_file(["1001;1;79,99;;;"]), "--published-at", "2026-11-21T06:00")
    _, after = check_json(project, "--at", "2026-11-22")
    assert before["findings"][0]["message"] != after["findings"][0]["message"]
    assert before["findings"][0]["fingerprint"] == after["findings"][0]["fingerprint"]


def test_a_waiver_sets_a_finding_apart_until_it_expires(project):
    publish(project, "shop", "feed.xml", feed([("1", "99.99", None, None)]), "--published-at", "2026-11-20")
    publish(project, "store", "a.csv", store_file(["1001;1;89,99;;;"]), "--published-at", "2026-11-20")
    waive = unisono(project, "waive", "price-parity", "1", "--location", "store:1001",
                    "--reason", "Räumungsverkauf in Filiale 1001", "--until", "2026-11-25")
    assert waive.exit_code == 0
    code, during = check_json(project, "--at", "2026-11-24")
    assert code == 0 and during["findings"] == [] and len(during["waived"]) == 1
    assert "Räumungsverkauf" in during["waived"][0]["waiver"]
    code, last_day = check_json(project, "--at", "2026-11-25T23:00")  # "--until 2026-11-25" includes the 25th
    assert code == 0 and len(last_day["waived"]) == 1
    code, after = check_json(project, "--at", "2026-11-26T00:00")
    assert code == 1 and len(after["findings"]) == 1 and after["waived"] == []
    assert "expired" in unisono(project, "waivers", "--at", "2026-11-26").output
    assert "active" in unisono(project, "waivers", "--at", "2026-11-24").output


def test_a_finding_whose_waiver_expired_is_open_again_in_reconcile_not_new(project):
    publish(project, "shop", "feed.xml", feed([("1", "99.99", None, None)]), "--published-at", "2026-11-20")
    publish(project, "store", "a.csv", store_file(["1001;1;89,99;;;"]), "--published-at", "2026-11-20")

    def statuses(at: str) -> list[str]:
        result = unisono(project, "reconcile", "--at", at, "--format", "json")
        return [f["status"] for f in json.loads(result.output)["findings"]]

    assert statuses("2026-11-21") == ["new"]
    unisono(project, "waive", "price-parity", "1", "--location", "store:1001", "--reason", "r", "--until", "2026-11-22")
    assert statuses("2026-11-22T12:00") == []  # waived: set apart
    assert statuses("2026-11-23T12:00") == ["open"]  # there every night: not new, and nothing was resolved


def test_a_rule_taken_out_of_the_ruleset_resolves_none_of_its_findings(project):
    publish(project, "shop", "feed.xml", feed([("1", "99.99", None, None)]), "--published-at", "2026-11-20")
    publish(project, "store", "a.csv", store_file(["1001;1;89,99;;;"]), "--published-at", "2026-11-20")
    first = json.loads(unisono(project, "reconcile", "--at", "2026-11-21", "--format", "json").output)
    assert [f["status"] for f in first["findings"]] == ["new"]
    (project / "rules" / "default.yaml").write_text(ONLY_PARITY.replace("price-parity", "regular-price-parity")
                                                    .replace("price, effective_price", "price"), encoding="utf-8")
    doc = json.loads(unisono(project, "reconcile", "--at", "2026-11-22", "--format", "json").output)
    # the store still charges 89.99: the renamed rule's finding is new, the old rule's is not "fixed"
    assert [(f["rule"], f["status"]) for f in doc["findings"]] == [("regular-price-parity", "new")]


def test_a_waiver_for_another_store_does_not_apply(project):
    publish(project, "shop", "feed.xml", feed([("1", "99.99", None, None)]), "--published-at", "2026-11-20")
    publish(project, "store", "a.csv", store_file(["1001;1;89,99;;;"]), "--published-at", "2026-11-20")
    unisono(project, "waive", "price-parity", "1", "--location", "1002", "--reason", "only 1002")
    code, doc = check_json(project, "--at", "2026-11-24")
    assert code == 1 and len(doc["findings"]) == 1


def test_a_window_and_an_instant_exclude_each_other(project):
    result = unisono(project, "check", "--at", "2026-11-24", "--window", "2026-11-24/2026-11-25")
    assert result.exit_code == 2 and "exclude each other" in result.output


def test_the_promotion_gate_checks_every_named_channel_over_the_campaign(project):
    publish(project, "shop", "feed.xml", feed([("1", "100.00", "80.00", "2026-11-27/2026-11-30"),
                                                ("2", "50.00", "40.00", "2026-11-27/2026-11-30")]),
            "--published-at", "2026-11-01")
    publish(project, "store", "store.csv", store_file(["1001;1;100,00;80,00;27.11.2026;30.11.2026",
                                                       "1001;2;50,00;40,00;28.11.2026;30.11.2026"]),
            "--published-at", "2026-11-01")
    (project / "bf.yaml").write_text(
        "promotions:\n  - id: black-friday\n    title: Black Friday\n    window: 2026-11-27/2026-11-30\n"
        "    discount: {percent: 20}\n    channels: [shop, store]\n    stores: ['1001']\n", encoding="utf-8")
    code, doc = check_json(project, "--promotion", str(project / "bf.yaml"))
    assert code == 1
    promo = [f for f in doc["findings"] if f["rule"] == "black-friday"]
    assert [(f["sku"], f["locations"][-1], f["from"], f["to"]) for f in promo] == [
        ("2", "store:1001", "2026-11-27T00:00:00+01:00", "2026-11-28T00:00:00+01:00")]
    assert "Black Friday" in promo[0]["message"]
    assert doc["summary"]["from"] == "2026-11-27T00:00:00+01:00" and doc["summary"]["to"] == "2026-12-01T00:00:00+01:00"


def test_a_bad_promotion_file_is_reported_with_file_and_line(project):
    (project / "bf.yaml").write_text("promotions:\n  - id: bf\n    window: 2026-11-27/2026-11-30\n"
                                     "    discount: {percent: 120}\n    channels: [shop]\n", encoding="utf-8")
    result = unisono(project, "check", "--promotion", str(project / "bf.yaml"))
    assert result.exit_code == 2 and "bf.yaml:4" in result.output


def test_a_waiver_expiring_inside_a_window_leaves_the_rest_failing(project):
    publish(project, "shop", "feed.xml", feed([("1", "99.99", None, None)]), "--published-at", "2026-11-20")
    publish(project, "store", "a.csv", store_file(["1001;1;89,99;;;"]), "--published-at", "2026-11-20")
    unisono(project, "waive", "price-parity", "1", "--reason", "Abverkauf", "--until", "2026-11-26")
    code, doc = check_json(project, "--window", "2026-11-25/2026-11-28")
    assert code == 1
    assert [(f["from"], f["to"]) for f in doc["waived"]] == [("2026-11-25T00:00:00+01:00", "2026-11-27T00:00:00+01:00")]
    assert [(f["from"], f["to"]) for f in doc["findings"]] == [("2026-11-27T00:00:00+01:00", "2026-11-29T00:00:00+01:00")]


def test_a_waiver_for_an_unknown_rule_is_refused_and_an_unknown_product_warns(project):
    refused = unisono(project, "waive", "price-parit", "999", "--reason", "x")
    assert refused.exit_code == 2 and "no rule 'price-parit' (did you mean 'price-parity'?)" in refused.output
    assert "No waivers yet" in unisono(project, "waivers").output
    forced = CliRunner().invoke(cli, ["waive", "price-parit", "999", "--reason", "x", "--force"],
                                env={"UNISONO_PROJECT": str(project)})
    assert forced.exit_code == 0 and "no channel has published a product '999'" in forced.output


def test_reconciling_the_same_instant_again_gives_the_same_statuses(project):
    publish(project, "shop", "feed.xml", feed([("1", "99.99", None, None)]), "--published-at", "2026-11-20")
    publish(project, "store", "a.csv", store_file(["1001;1;89,99;;;"]), "--published-at", "2026-11-20")
    unisono(project, "reconcile", "--at", "2026-11-21T05:30")
    publish(project, "store", "b.csv", store_file(["1001;1;99,99;;;"]), "--published-at", "2026-11-21T12:00")
    first = json.loads(unisono(project, "reconcile", "--at", "2026-11-22T05:30", "--format", "json").output)
    again = json.loads(unisono(project, "reconcile", "--at", "2026-11-22T05:30", "--format", "json").output)
    assert [f["status"] for f in first["findings"]] == [f["status"] for f in again["findings"]] == ["resolved"]


def test_reconciling_the_same_instant_twice_compares_with_the_first_run(project):
    publish(project, "shop", "feed.xml", feed([("1", "99.99", None, None), ("2", "19.99", None, None)]),
            "--published-at", "2026-11-20")
    publish(project, "store", "a.csv", store_file(["1001;1;89,99;;;", "1001;2;18,99;;;"]), "--published-at", "2026-11-20")
    first = json.loads(unisono(project, "reconcile", "--at", "2026-11-21T05:30", "--format", "json").output)
    assert sorted((f["sku"], f["status"]) for f in first["findings"]) == [("1", "new"), ("2", "new")]
    again = json.loads(unisono(project, "reconcile", "--at", "2026-11-21T05:30", "--format", "json").output)
    assert sorted((f["sku"], f["status"]) for f in again["findings"]) == [("1", "open"), ("2", "open")]
    assert again["summary"]["status"] == {"new": 0, "open": 2, "resolved": 0}
    # a late corrected file, then the nightly job again for the same instant: against the first run
    publish(project, "store", "b.csv", store_file(["1001;1;99,99;;;", "1001;2;18,99;;;"]), "--published-at", "2026-11-21")
    third = json.loads(unisono(project, "reconcile", "--at", "2026-11-21T05:30", "--format", "json").output)
    assert sorted((f["sku"], f["status"]) for f in third["findings"]) == [("1", "resolved"), ("2", "open")]


def test_history_loaded_after_newer_files_is_deduplicated_like_history_loaded_in_order(project):
    text = store_file(["1001;1;99,99;;;"])
    publish(project, "store", "now.csv", store_file(["1001;1;89,99;;;"]), "--published-at", "2026-11-20")
    publish(project, "store", "w1.csv", text, "--published-at", "2026-10-23")
    (project / "w2.csv").write_text(text, encoding="utf-8")
    again = unisono(project, "publish", "store", str(project / "w2.csv"), "--published-at", "2026-10-30")
    assert "unchanged" in again.output


def test_rules_validate_reads_promotion_files_too(project):
    (project / "bf.yaml").write_text("promotions:\n  - id: bf\n    window: 2026-11-27/2026-11-30\n"
                                     "    discount: {percent: 20}\n    channels: [shop]\n", encoding="utf-8")
    result = unisono(project, "rules", "validate", str(project / "bf.yaml"))
    assert result.exit_code == 0, result.output
