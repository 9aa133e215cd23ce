"""A merchandiser's and a CI pipeline's day: waivers undone and refused, runs, narrowing, text at 80 columns.

Every command states its instants (--published-at, --at, --window): the demo's files are dated 2026.
"""
from __future__ import annotations

import io
import json
import shutil
from importlib.resources import files
from pathlib import Path

import pytest
from click.testing import CliRunner

from unisono.cli.main import cli

DEMO = Path(str(files("unisono.demo") / "data"))
AT = json.loads((DEMO / "answer_key.json").read_text(encoding="utf-8"))["check_at"]  # 24.11.2026 12:00


def run(project: Path, *args: str, columns: int | None = None):
    env = {"UNISONO_PROJECT": str(project), "COLUMNS": str(columns) if columns else ""}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def demo(tmp_path) -> Path:
    """The demo retailer published as of 19.11.2026 06:00."""
    project = tmp_path / "p"
    assert CliRunner().invoke(cli, ["init", str(project)]).exit_code == 0
    for channel, name in [("shop", "shop_feed.xml"), ("store", "store_prices.csv"), ("newsletter", "newsletter.html")]:
        shutil.copy(DEMO / name, project / name)
        result = run(project, "publish", channel, str(project / name), "--published-at", "2026-11-19T06:00")
        assert result.exit_code == 0, result.output
    return project


def check(project: Path, *args: str) -> tuple[int, dict]:
    result = run(project, "check", "--at", AT, "--format", "json", *args)
    return result.exit_code, json.loads(result.output)


def one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output


# waivers

def test_a_waiver_is_shown_until_the_day_given_listed_with_its_id_then_removed(demo):
    waived = run(demo, "waive", "price-parity", "100085", "--location", "store:1002", "--reason", "Abverkauf",
                 "--until", "2026-12-01")
    assert waived.exit_code == 0, waived.output
    assert "Waiver #1 price-parity for 100085 at store:1002 until 01.12.2026: Abverkauf" in waived.output
    assert "unisono waivers remove 1" in waived.output
    listing = run(demo, "waivers", "--at", AT).output.splitlines()
    assert listing[0].split() == ["id", "state", "rule", "sku", "location", "until", "reason"]
    assert listing[1].split() == ["#1", "active", "price-parity", "100085", "store:1002", "01.12.2026", "Abverkauf"]
    code, doc = check(demo)
    assert [(f["rule"], f["sku"]) for f in doc["waived"]] == [("price-parity", "100085")]

    removed = run(demo, "waivers", "remove", "1")
    assert removed.exit_code == 0 and "Removed waiver #1" in removed.output
    code, doc = check(demo)
    assert code == 1 and doc["waived"] == [] and ("price-parity", "100085") in [(f["rule"], f["sku"]) for f in doc["findings"]]
    assert "No waivers yet" in run(demo, "waivers").output
    one_line_error(run(demo, "waivers", "remove", "1"), "there is no waiver #1")
    again = run(demo, "waive", "price-parity", "100085", "--reason", "Abverkauf")
    assert "Waiver #2 " in again.output  # a removed waiver's number is never given to another


def test_a_waiver_until_the_end_of_its_day_still_applies_then_and_not_after(demo):
    run(demo, "waive", "price-parity", "100085", "--reason", "Abverkauf", "--until", "2026-11-24")
    _, last_evening = check(demo, "--at", "2026-11-24T23:59")
    assert [f["sku"] for f in last_evening["waived"]] == ["100085"]
    _, next_day = check(demo, "--at", "2026-11-25T00:00")
    assert next_day["waived"] == []


def test_a_waiver_can_be_extended_given_a_new_reason_or_made_open_ended(demo):
    run(demo, "waive", "price-parity", "100085", "--reason", "Abverkauf", "--until", "2026-11-24")
    edited = run(demo, "waivers", "edit", "1", "--until", "2026-11-30", "--reason", "verlängert")
    assert edited.exit_code == 0 and "until 30.11.2026: verlängert" in edited.output
    _, doc = check(demo, "--at", "2026-11-30T18:00")
    assert [f["waiver"] for f in doc["waived"]] == ["#1: verlängert"]
    assert "no expiry" in run(demo, "waivers", "edit", "1", "--until", "never").output
    assert run(demo, "waivers", "--at", "2040-01-01").output.splitlines()[1].split()[:2] == ["#1", "active"]
    one_line_error(run(demo, "waivers", "edit", "1"), "nothing to change")
    one_line_error(run(demo, "waivers", "edit", "7", "--reason", "x"), "there is no waiver #7")


def test_a_misspelt_rule_is_refused_with_the_rule_meant_and_nothing_is_stored(demo):
    one_line_error(run(demo, "waive", "price-partiy", "100085", "--reason", "x"),
                   "no rule 'price-partiy' (did you mean 'price-parity'?)", "--force")
    assert "No waivers yet" in run(demo, "waivers").output


def test_an_unknown_location_is_refused_with_the_one_meant_unless_forced(demo):
    one_line_error(run(demo, "waive", "price-parity", "100085", "--location", "store:1020", "--reason", "x"),
                   "no channel has published a location 'store:1020' (did you mean 'store:10")
    forced = run(demo, "waive", "price-parity", "100085", "--location", "store:1020", "--reason", "opens 1.12.", "--force")
    assert forced.exit_code == 0 and "#1" in forced.output
    assert run(demo, "waive", "price-parity", "100085", "--location", "1002", "--reason", "x").exit_code == 0


def test_an_expiry_already_past_is_refused_when_waiving_and_when_editing(demo):
    one_line_error(run(demo, "waive", "price-parity", "100085", "--reason", "x", "--until", "2001-01-01"),
                   "--until 2001-01-01 is in the past: the waiver would never apply")
    run(demo, "waive", "price-parity", "100085", "--reason", "x", "--until", "2026-12-01")
    # before the demo's files went live (19.11.2026) and before today: it could apply to nothing
    one_line_error(run(demo, "waivers", "edit", "1", "--until", "2026-11-10"), "is in the past")
    assert " 01.12.2026 " in run(demo, "waivers").output  # unchanged


# runs

def test_a_check_is_stored_as_a_run_only_with_save_and_runs_filters_by_kind(demo):
    assert run(demo, "runs").output.startswith("No runs yet")
    for fmt in ("table", "json", "csv"):
        run(demo, "check", "--at", AT, "--format", fmt)
    assert run(demo, "runs").output.startswith("No runs yet")
    saved = json.loads(run(demo, "check", "--at", AT, "--format", "json", "--save").output)
    assert saved["summary"]["run"] == 1
    run(demo, "check", "--window", "2026-11-27/2026-11-30", "--save")
    run(demo, "reconcile", "--at", AT)
    rows = run(demo, "runs", columns=80).output.splitlines()
    assert rows[0].split() == ["id", "kind", "as", "of", "/", "window", "findings", "new", "open", "resolved", "waived",
                               "ruleset"]
    assert [r.split()[:2] for r in rows[1:]] == [["#3", "reconcile"], ["#2", "check"], ["#1", "check"]]
    assert "27.11.–30.11.2026" in rows[2] and "24.11.2026 12:00" in rows[3]
    assert [r.split()[0] for r in run(demo, "runs", "--kind", "check").output.splitlines()[1:]] == ["#2", "#1"]
    assert len(run(demo, "runs", "--limit", "1").output.splitlines()) == 2
    assert run(demo, "runs", "--kind", "reconcile", "--project", str(demo)).output.split()[:2] == ["id", "kind"]


# narrowing

def test_narrowing_selects_what_is_shown_and_what_fails_the_gate(demo):
    code, everything = check(demo)
    assert code == 1
    parity = [f for f in everything["findings"] if f["rule"] == "price-parity"]
    code, doc = check(demo, "--rule", "price-parity")
    assert code == 1 and doc["findings"] == parity and doc["summary"]["findings"] == len(parity)
    assert doc["summary"]["by_rule"] == {"price-parity": len(parity)}  # not every other rule "0", as if passed
    code, doc = check(demo, "--store", "1002")
    assert code == 1 and doc["findings"] and all("store:1002" in f["locations"] for f in doc["findings"])
    code, doc = check(demo, "--sku", "100085", "--store", "store:1003")
    assert code == 0 and doc["findings"] == []  # 100085 is wrong in store 1002 only: this gate passes
    code, doc = check(demo, "--severity", "blocker")
    assert code == 0 and doc["findings"] == [] and doc["summary"]["narrowed"] == "only blocker and above"


def test_a_narrowing_typo_cannot_pass_a_gate(demo):
    one_line_error(run(demo, "check", "--at", AT, "--rule", "price-partiy"), "(did you mean 'price-parity'?)")
    one_line_error(run(demo, "check", "--at", AT, "--store", "1020"), "no channel has published a location '1020'")
    one_line_error(run(demo, "check", "--at", AT, "--sku", "1000850"),
                   "--sku 1000850: no channel has published a product '1000850' (nor does any finding name it)")
    run(demo, "check", "--at", AT, "--save")
    one_line_error(run(demo, "report", "--sku", "1000850"), "no channel has published a product '1000850'")
    assert json.loads(run(demo, "report", "--sku", "100085", "--format", "json").output)["findings"][0]["sku"] == "100085"


def test_limit_shortens_the_listing_not_the_counts_or_the_exit_code(demo):
    code, doc = check(demo, "--limit", "2")
    assert code == 1 and len(doc["findings"]) == 2
    assert doc["summary"]["findings"] == 7 and doc["summary"]["not_listed"] == 5
    text = run(demo, "check", "--at", AT, "--limit", "2", columns=200).output
    assert text.count("  • ") == 2 and "… and 5 more findings not listed (--limit 2" in text
    assert "FAIL: 7 errors" in text


# text at 80 columns

def test_the_report_at_80_columns_wraps_at_words_under_each_bullet(demo):
    out = run(demo, "check", "--at", AT, columns=80).output
    lines = out.splitlines()
    # at most 80 columns, but for a link longer than a line: whole on a line of its own
    assert lines and all(len(line) <= 80 or len(line.split()) == 1 for line in lines)
    assert lines[:2] == ["7 inconsistencies as of 24.11.2026 12:00 CET (12 newsletter, 300 shop, 894",
                         "  store offers live)"]
    in_finding = False
    for line in lines:
        if line.startswith("  • "):
            in_finding = True
        elif not line.strip():
            in_finding = False
        elif in_finding:  # a finding's continued message and its evidence: under the text, not at column 0
            assert line.startswith("    "), line
    assert "Could not judge 242 announced reductions (reference-price-30-days: 242)" in " ".join(out.split())
    assert lines[-1] == "FAIL: 7 errors (failing at error and above)"


def test_a_link_longer_than_the_line_stays_whole_to_click_or_copy():
    from rich.console import Console
    from rich.text import Text

    from unisono.cli.output import hanging

    link = "https://www.bergwelt-outdoor.de/p/hardshelljacke-grat-damen-gelb-100001?variant=4711"
    out = io.StringIO()
    console = Console(file=out, width=60, soft_wrap=False, force_terminal=False)
    hanging(console, "  • ", Text(f"Newsletter bf-2026 advertises the product (link {link}; no SKU), not in the shop."))
    lines = out.getvalue().splitlines()
    assert f"    {link};" in lines and all(len(line) <= 60 for line in lines if link not in line)
    assert " ".join(" ".join(lines).split()) == f"• Newsletter bf-2026 advertises the product (link {link}; no SKU), not in the shop."


def test_a_merchandisers_day_reads_at_80_columns(demo):
    steps = [("check", "--at", AT), ("waive", "price-parity", "100085", "--location", "1002", "--until", "2026-12-01",
                                     "--reason", "Abverkauf der Restbestände in Filiale 1002, mit dem Einkauf abgestimmt"),
             ("waivers", "--at", AT), ("check", "--at", AT, "--store", "1002"), ("waivers", "remove", "1"),
             ("reconcile", "--at", AT), ("runs",), ("rules", "list")]
    for step in steps:
        result = run(demo, *step, columns=80)
        assert result.exit_code in (0, 1), (step, result.output)
        assert all(len(line) <= 80 or len(line.split()) == 1 for line in result.output.splitlines()), step
        assert not any(line.rstrip() != line for line in result.output.splitlines() if line.startswith("  •")), step


def test_a_window_is_shown_with_the_end_day_the_user_gave(demo):
    out = run(demo, "check", "--window", "2026-11-27/2026-11-30", columns=200).output
    assert out.startswith("8 inconsistencies over 27.11.–30.11.2026 (1 piece; ")
    assert "01.12." not in out


def test_one_finding_and_one_rejection_are_counted_in_the_singular(demo):
    (demo / "prices.csv").write_text("Filiale;Artikelnummer;VK-Preis\n1009;100203;19,99\n1009;100204;abc\n",
                                     encoding="utf-8")
    published = run(demo, "publish", "store", str(demo / "prices.csv"), "--published-at", "2026-11-19T06:00")
    assert "1 offer, 0 claims, 1 rejection (1009)." in published.output
    out = run(demo, "check", "--at", AT, "--sku", "100085", columns=200).output
    assert out.startswith("1 inconsistency as of") and "FAIL: 1 error (" in out
    assert "1 input row was rejected at publish" in out


# progress

def test_publishing_reports_progress_per_batch_not_per_row(demo):
    from datetime import datetime, timezone

    from unisono.api.project import Project

    (demo / "feed2.xml").write_text((DEMO / "shop_feed.xml").read_text(encoding="utf-8").replace("99.99", "98.99"),
                                    encoding="utf-8")
    calls = []
    Project.open(demo).publish("shop", demo / "feed2.xml", published_at=datetime(2026, 11, 20, tzinfo=timezone.utc),
                               progress=lambda r: calls.append((r.offers, r.rejections)))
    assert calls == [(300, 0)]  # the feed's 300 items are one batch: one call, with the counts so far


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_progress_goes_to_a_terminal_on_stderr_and_never_into_json(demo, monkeypatch, fmt):
    from types import SimpleNamespace

    from unisono.cli import progress

    monkeypatch.setattr(progress, "sys", SimpleNamespace(stderr=SimpleNamespace(isatty=lambda: True)))
    monkeypatch.setattr(progress.PublishProgress, "DELAY", 0)
    (demo / "feed2.xml").write_text((DEMO / "shop_feed.xml").read_text(encoding="utf-8").replace("99.99", "98.99"),
                                    encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["publish", "shop", str(demo / "feed2.xml"), "--published-at", "2026-11-20T06:00", "--format", fmt],
        env={"UNISONO_PROJECT": str(demo)})
    assert result.exit_code == 0
    if fmt == "json":
        assert json.loads(result.stdout)["offers"] == 300 and result.stderr == ""
    else:
        assert result.stdout.startswith("Published feed2.xml as shop #4: 300 offers")
        assert "feed2.xml: 300 offers, 0 rejections so far" in result.stderr
