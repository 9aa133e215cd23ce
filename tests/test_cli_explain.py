"""`unisono explain SKU`: why a product is or is not flagged, agreeing with `check`."""
from __future__ import annotations

import json
import shutil
from importlib.resources import files
from pathlib import Path

import pytest
from click.testing import CliRunner

from unisono.cli.main import cli

DEMO = Path(str(files("unisono.demo") / "data"))
AT = json.loads((DEMO / "answer_key.json").read_text(encoding="utf-8"))["check_at"]


def run(project: Path, *args: str):
    return CliRunner().invoke(cli, list(args), env={"UNISONO_PROJECT": str(project)}, catch_exceptions=False)


def why(project: Path, sku: str, rule: str) -> str:
    """explain's text for one rule at the demo's instant."""
    return run(project, "explain", sku, "--at", AT, "--rule", rule).output


@pytest.fixture(scope="module")
def demo(demo_project) -> Path:
    return demo_project


def test_explains_verdicts_are_checks_for_every_rule(demo):
    checked = json.loads(run(demo, "check", "--at", AT, "--format", "json").output)
    flagged = {(f["rule"], f["sku"]) for f in checked["findings"]}
    skus = sorted({sku for _, sku in flagged}) + ["100001", "100042", "100203"]  # and some that are not flagged
    seen_rules = set()
    for sku in skus:
        explained = json.loads(run(demo, "explain", sku, "--at", AT, "--format", "json").output)
        assert explained["offered"], sku
        for r in explained["rules"]:
            seen_rules.add(r["rule"])
            assert (r["verdict"] == "finding") == ((r["rule"], explained["sku"]) in flagged), (sku, r["rule"], r["verdict"])
    from unisono.rules import load_rules

    assert seen_rules == {r.id for r in load_rules([demo / "rules" / "default.yaml"])}
    assert {"price-parity", "newsletter-price-honoured", "advertised-in-shop"} <= {rule for rule, _ in flagged}


def test_explain_tells_why_one_store_is_flagged_and_another_is_not(demo):
    result = run(demo, "explain", "100085", "--at", AT, "--rule", "price-parity")
    assert result.exit_code == 0
    out = result.output
    assert "price-parity (parity, error): FINDING" in out
    assert "store:1002: price 35.99 EUR, sale 30.19 EUR 20.11.2026–30.11.2026 → charges 30.19 EUR (sale price: inside its sale window)" in out
    assert "Store 1002: charges 30.19 EUR against the shop's 25.19 EUR, difference 5.00 > tolerance 0.01 → finding" in out
    assert "Store 1001: charges 25.19 EUR against the shop's 25.19 EUR, difference 0.00 ≤ tolerance 0.01\n" in out
    assert "newsletter-price-honoured" not in out  # --rule narrows


def test_a_sale_that_has_not_started_is_the_reason_for_no_finding_until_the_window(demo):
    before = why(demo, "100349", "price-parity")
    assert "price-parity (parity, error): no finding" in before
    assert "charges 59.00 EUR (regular price: its sale starts only 27.11.2026)" in before
    during = run(demo, "explain", "100349", "--window", "2026-11-27/2026-11-28", "--rule", "price-parity").output
    assert "price-parity (parity, error): FINDING" in during
    assert "Store 1002: charges 59.00 EUR against the shop's 44.19 EUR, difference 14.81 > tolerance 0.01 → finding" in during


def test_a_presence_finding_says_what_is_missing(demo):
    out = why(demo, "100168", "advertised-in-shop")
    assert "advertised-in-shop (presence, error): FINDING" in out
    assert "requires shop: listed in shop:online (out_of_stock), but out of stock everywhere" in out


def test_a_waived_finding_is_explained_as_waived(demo, tmp_path):
    project = tmp_path / "copy"
    shutil.copytree(demo, project)
    assert run(project, "waive", "price-parity", "100085", "--location", "store:1002", "--reason", "clearance"
               ).exit_code == 0  # no --until: today's date cannot make it expired
    out = why(project, "100085", "price-parity")
    assert "price-parity (parity, error): waived" in out
    assert "waiver #1 (in force) for store:1002: clearance" in out
    assert "→ finding, waived (see the waivers below)" in out and "yet the check reports nothing" not in out


def test_a_product_no_channel_offers_is_said_so_with_exit_0(demo):
    result = run(demo, "explain", "999999", "--at", AT)
    assert result.exit_code == 0
    assert "999999: no channel offers it at" in result.output and "no channel has ever published it" in result.output
    doc = json.loads(run(demo, "explain", "999999", "--at", AT, "--format", "json").output)
    assert doc["offered"] is False and doc["rules"] == []


def test_an_unknown_rule_is_one_line_with_the_name_meant(demo):
    result = CliRunner().invoke(cli, ["explain", "100085", "--rule", "price-parrity"], env={"UNISONO_PROJECT": str(demo)})
    assert result.exit_code == 2
    assert "no rule 'price-parrity'" in result.output and "did you mean 'price-parity'?" in result.output


def test_an_expression_is_shown_with_the_values_it_read(demo, tmp_path):
    project = tmp_path / "copy"
    shutil.copytree(demo, project)
    (project / "rules" / "extra.yaml").write_text(
        "rules: [{id: typo-guard, kind: expression, when: 'newsletter.effective_price < shop.price * 0.8', severity: warning}]\n")
    out = why(project, "100165", "typo-guard")
    assert "typo-guard (expression, warning): FINDING" in out
    assert ("newsletter:newsletter × shop:online: newsletter.effective_price 49.49 EUR, shop.price 69.99 EUR "
            "→ the condition holds") in out
    out = why(project, "100085", "typo-guard")
    assert "typo-guard (expression, warning): no finding" in out
    assert "the condition needs an offer in each of newsletter, shop: the product lacks one" in out


def test_a_reduction_without_30_days_of_history_cannot_be_judged_and_says_why(demo):
    out = why(demo, "100165", "reference-price-30-days")
    assert "reference-price-30-days (reference_price, error): cannot judge" in out
    assert "shop:online announces a reduction: 59.49 EUR instead of 69.99 EUR" in out
    assert "cannot judge: Cannot judge 59 announced reductions in the shop" in out


def test_explain_agrees_with_check_on_every_backend(catalog, tmp_path):
    url = catalog.url.render_as_string(hide_password=False)
    catalog.dispose()  # DuckDB: one process, one connection to the file at a time
    project = tmp_path / "p"
    env = {"UNISONO_PROJECT": str(project), "UNISONO_DB": url}
    invoke = lambda *args: CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)  # noqa: E731
    assert invoke("init", str(project)).exit_code == 0
    for channel, name in [("shop", "shop_feed.xml"), ("store", "store_prices.csv"), ("newsletter", "newsletter.html")]:
        assert invoke("publish", channel, str(DEMO / name), "--published-at", "2026-11-19T06:00").exit_code == 0
    flagged = {(f["rule"], f["sku"]) for f in json.loads(invoke("check", "--at", AT, "--format", "json").output)["findings"]}
    assert {("price-parity", "100085"), ("newsletter-price-honoured", "100165"), ("advertised-in-shop", "100168")} <= flagged
    for sku in ["100085", "100165", "100168", "100001"]:
        for r in json.loads(invoke("explain", sku, "--at", AT, "--format", "json").output)["rules"]:
            assert (r["verdict"] == "finding") == ((r["rule"], sku) in flagged), (url.split(":")[0], sku, r["rule"])


def test_a_claim_is_explained_by_the_id_check_gives_it(demo):
    checked = json.loads(run(demo, "check", "--at", AT, "--format", "json").output)
    claimed = {(f["rule"], f["sku"]) for f in checked["undecided"] if f["sku"].startswith("claim:")}
    assert claimed  # the demo's newsletter claims cannot be judged at AT (their reference is not configured)
    for rule, claim in claimed:
        doc = json.loads(run(demo, "explain", claim, "--at", AT, "--format", "json").output)
        verdicts = {r["rule"]: r["verdict"] for r in doc["rules"]}
        assert verdicts[rule] == "undecided" and doc["offered"]
    unknown = CliRunner().invoke(cli, ["explain", "claim:0000000000", "--at", AT], env={"UNISONO_PROJECT": str(demo)})
    assert unknown.exit_code == 2 and "claim:0000000000: no claim rule reports this claim" in unknown.output
