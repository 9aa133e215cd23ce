"""Escape sequences in channel files never reach a terminal: a store id or title holding "clear the
screen, set the window title" or a bidi override is printed with its control characters visible, in
every format; Markdown escapes HTML; JSON stays the same data."""
from __future__ import annotations

import json
import shutil
from importlib.resources import files
from pathlib import Path

import pytest
from click.testing import CliRunner

from unisono.cli.main import cli

DEMO = Path(str(files("unisono.demo") / "data"))
EVIL = "\x1b[2J\x1b]0;pwned\x07"
BIDI = "\u202e"
C1 = "\x9b"
RAW = ("\x1b", "\x07", "\u202e", "\x9b")


def run(*args: str, project: Path):
    return CliRunner().invoke(cli, list(args), env={"UNISONO_PROJECT": str(project), "UNISONO_DB": None})


def assert_no_raw_controls(text: str) -> None:
    assert not any(c in text for c in RAW), repr(text[:300])


@pytest.fixture(scope="module")
def evil(tmp_path_factory) -> Path:
    project = tmp_path_factory.mktemp("escapes") / "p"
    assert run("init", str(project), project=project).exit_code == 0
    shutil.copy(DEMO / "shop_feed.xml", project / "shop_feed.xml")
    assert run("publish", "shop", str(project / "shop_feed.xml"), "--published-at", "2026-11-19T06:00",
               project=project).exit_code == 0
    # a store that charges more than the shop for 100017, its id and title full of escapes
    (project / "store.csv").write_text(
        "Filiale;Artikelnummer;EAN;Bezeichnung;VK-Preis\n"
        f'"10{EVIL}02";100017;;<script>alert(1)</script> {BIDI}Jacke{C1};999,99\n'
        f'"1003{EVIL}";100018;;Hose;"abc{EVIL}"\n', encoding="utf-8")
    return project


def test_publish_prints_escapes_visibly(evil):
    result = run("publish", "store", str(evil / "store.csv"), "--published-at", "2026-11-19T06:00", project=evil)
    assert result.exit_code == 0, result.output
    assert_no_raw_controls(result.output)
    assert "10\\x1b[2J\\x1b]0;pwned\\x0702" in result.output  # the location, as the catalog holds it
    assert "price 'abc\\x1b[2J" in result.output  # a rejection reason quoting the cell


@pytest.mark.parametrize("fmt", ["table", "md", "csv", "json"])
def test_check_prints_no_raw_escape_in_any_format(evil, fmt):
    run("publish", "store", str(evil / "store.csv"), "--published-at", "2026-11-19T06:00", project=evil)
    result = run("check", "--at", "2026-11-24T12:00", "--format", fmt, project=evil)
    assert result.exit_code in (0, 1), result.output
    assert_no_raw_controls(result.output)
    if fmt == "md":
        assert "<script>" not in result.output
        from unisono.reports.markdown import md_cell as _md_cell

        assert _md_cell("<script>alert(1)</script> | x") == "&lt;script&gt;alert(1)&lt;/script&gt; \\| x"
    if fmt == "json":  # the same data, written as JSON escapes
        doc = json.loads(result.output)
        assert any(f"10{EVIL}02" in " ".join(f["locations"]) for f in doc["findings"])


def test_waivers_print_no_raw_escape_and_empty_keys_are_refused(evil):
    result = run("waive", "price-parity", "100017", "--location", f"10{EVIL}02", "--reason", f"ok{BIDI}",
                 project=evil)
    assert result.exit_code == 0 and "\\x1b" in result.output
    assert_no_raw_controls(result.output)
    listed = run("waivers", project=evil)
    assert_no_raw_controls(listed.output)
    assert "ok\\u202e" in listed.output
    for rule, sku in (("price-parity", ""), ("", "100017"), ("  ", "100017")):
        empty = run("waive", rule, sku, "--reason", "r", project=evil)
        assert empty.exit_code == 2 and "a waiver needs a rule and a product" in empty.stderr


def test_an_error_quoting_a_file_prints_no_raw_escape(evil, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(f"no header here{EVIL}\n", encoding="utf-8")
    result = run("publish", "store", str(bad), project=evil)
    assert result.exit_code == 2
    assert_no_raw_controls(result.output)


@pytest.mark.parametrize("fmt", ["csv", "json", "md"])
def test_a_stored_run_reported_to_the_terminal_prints_no_raw_escape(evil, fmt):
    run("publish", "store", str(evil / "store.csv"), "--published-at", "2026-11-19T06:00", project=evil)
    assert run("reconcile", "--at", "2026-11-24T12:00", project=evil).exit_code in (0, 1)
    result = run("report", "--format", fmt, project=evil)
    assert result.exit_code == 0, result.output
    assert_no_raw_controls(result.output)
    if fmt == "json":  # the same data, written as JSON escapes
        doc = json.loads(result.output)
        assert any(f"10{EVIL}02" in " ".join(f["locations"]) for f in doc["findings"])
    if fmt == "csv":  # one finding a line, as check --format csv prints them
        assert "10\\x1b[2J\\x1b]0;pwned\\x0702" in result.output and "\\x0d" not in result.output
