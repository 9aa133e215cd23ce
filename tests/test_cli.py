"""The `unisono` command end to end: what a user types, what they see, the exit codes."""
from __future__ import annotations

import csv
import gc
import io
import json
import re
import shlex
import shutil
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from unisono.cli.main import cli

DEMO = Path(str(files("unisono.demo") / "data"))
KEY = json.loads((DEMO / "answer_key.json").read_text(encoding="utf-8"))
AT = KEY["check_at"]


def run(*args: str, project: Path | None = None):
    env = {"UNISONO_PROJECT": str(project)} if project else {}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def project(tmp_path) -> Path:
    result = run("init", str(tmp_path / "p"))
    assert result.exit_code == 0, result.output
    return tmp_path / "p"


@pytest.fixture
def published(project) -> Path:
    for channel, name in [("shop", "shop_feed.xml"), ("store", "store_prices.csv"), ("newsletter", "newsletter.html")]:
        shutil.copy(DEMO / name, project / name)
        result = run("publish", channel, str(project / name), "--published-at", "2026-11-19T06:00", project=project)
        assert result.exit_code == 0, result.output
    return project


def test_init_creates_a_config_and_the_default_rules(project):
    assert (project / "unisono.yaml").read_text().startswith("# unisono project configuration")
    assert "price-parity" in (project / "rules" / "default.yaml").read_text()


def test_init_gives_editors_the_rules_schema_and_the_line_that_names_it(project):
    import jsonschema
    import yaml

    rules = (project / "rules" / "default.yaml").read_text()
    modeline = rules.splitlines()[0]
    assert modeline == "# yaml-language-server: $schema=unisono-rules.schema.json"
    schema = json.loads((project / "rules" / "unisono-rules.schema.json").read_text())
    jsonschema.validate(yaml.safe_load(rules), schema)
    assert run("rules", "validate", project=project).exit_code == 0  # the schema file is no rule file


def test_init_refuses_an_existing_project_and_an_unknown_timezone(project, tmp_path):
    again = run("init", str(project))
    assert again.exit_code == 2 and "exists already" in again.output
    bad = run("init", str(tmp_path / "q"), "--timezone", "Mars/Olympus")
    assert bad.exit_code == 2 and "unknown timezone" in bad.output and "Traceback" not in bad.output


def test_init_db_duckdb_keeps_the_catalog_in_the_project_folder_wherever_commands_run(tmp_path, monkeypatch):
    project = tmp_path / "p"
    assert run("init", str(project), "--db", "duckdb").exit_code == 0
    shutil.copy(DEMO / "shop_feed.xml", project / "feed.xml")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the URL's relative path is the project's, not the working folder's
    published = run("publish", "shop", str(project / "feed.xml"), "--published-at", "2026-11-19T06:00", project=project)
    assert published.exit_code == 0, published.output
    assert (project / "catalog.duckdb").is_file() and not (project / "unisono.db").exists()
    assert list(elsewhere.iterdir()) == []
    shown = run("publications", project=project)
    assert shown.exit_code == 0 and "feed.xml" in shown.output


def test_init_db_writes_the_url_quoted_and_refuses_what_is_no_url(tmp_path):
    url = "postgresql+psycopg://shop:p#ss@db.example/unisono"  # a # would start a YAML comment unquoted
    assert run("init", str(tmp_path / "p"), "--db", url).exit_code == 0
    from unisono.domain.config import load_config

    assert load_config(tmp_path / "p").database == url
    bad = run("init", str(tmp_path / "q"), "--db", "not a url")
    assert bad.exit_code == 2 and "not a database URL" in bad.output and not (tmp_path / "q").exists()
    # a driver that is not installed: refused by init, not by every command after it
    driverless = run("init", str(tmp_path / "r"), "--db", "firebird+nosuchdriver://db.example/unisono")
    assert driverless.exit_code == 2 and not (tmp_path / "r").exists()
    assert "its database driver is not installed" in driverless.output


def test_publish_json_reports_what_was_read(project):
    shutil.copy(DEMO / "shop_feed.xml", project / "feed.xml")
    result = run("publish", "shop", str(project / "feed.xml"), "--format", "json", project=project)
    assert result.exit_code == 0
    doc = json.loads(result.output)
    assert set(doc) >= {"publication", "offers", "claims", "rejections"}
    assert doc["offers"] == 300 and doc["rejections"] == 0
    assert doc["publication"]["channel"] == "shop" and len(doc["publication"]["sha256"]) == 64


def test_publishing_the_same_file_twice_says_nothing_changed(project):
    shutil.copy(DEMO / "shop_feed.xml", project / "feed.xml")
    run("publish", "shop", str(project / "feed.xml"), project=project)
    again = run("publish", "shop", str(project / "feed.xml"), project=project)
    assert again.exit_code == 0 and "unchanged" in again.output and "nothing changed" in again.output


def test_several_store_files_are_published_in_one_command_each_as_its_own_publication(project, tmp_path):
    """The night's exports, one per store (`publish store exports/*.csv`): each its own publication,
    the store from its file name; a file that cannot be read stops the rest, with the ones before it
    named, published."""
    header = "Artikelnummer;Bezeichnung;VK-Preis\n"
    for store, price in (("filiale-1001", "19,99"), ("filiale-1002", "18,99")):
        (tmp_path / f"{store}.csv").write_text(header + f"100001;Wanderschuh;{price}\n", encoding="utf-8")
    (tmp_path / "filiale-1003.csv").write_text("nothing;here\n", encoding="utf-8")
    names = [str(tmp_path / f"filiale-{n}.csv") for n in (1001, 1002)]
    at = ["--published-at", "2026-11-19T06:00"]
    result = run("publish", "store", *names, *at, "--format", "json", project=project)
    assert result.exit_code == 0, result.output
    assert [(p["publication"]["id"], p["publication"]["locations"], p["offers"]) for p in json.loads(result.output)] \
        == [(1, ["filiale-1001"], 1), (2, ["filiale-1002"], 1)]

    result = CliRunner().invoke(cli, ["publish", "store", *reversed(names), str(tmp_path / "filiale-1003.csv"),
                                      "--published-at", "2026-11-20T06:00"], env={"UNISONO_PROJECT": str(project)})
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1].startswith("Error: filiale-1003.csv:")
    assert "2 of 3 files published before it: filiale-1002.csv as #2, filiale-1001.csv as #3" in result.output
    result = CliRunner().invoke(cli, ["publish", "store", *names, "--location", "1001"], env={"UNISONO_PROJECT": str(project)})
    assert (result.exit_code, result.output.strip()) == (2, "Error: --location takes one file; 2 were given")


def test_one_price_list_published_for_two_stores_is_stored_for_each(project):
    """A single-store file two branches share (--location): the same bytes, two publications."""
    (project / "preise.csv").write_text("Artikelnummer;VK-Preis\nA1;12,00\n", encoding="utf-8")
    outs = [run("publish", "store", str(project / "preise.csv"), "--location", store, "--published-at",
                "2026-11-19T05:00", project=project).output for store in ("1004", "1005", "1005")]
    assert outs[0].startswith("Published preise.csv as store #1") and "(1004)" in outs[0]
    assert outs[1].startswith("Published preise.csv as store #2") and "(1005)" in outs[1]
    assert "unchanged, already published as #2" in outs[2]


def test_location_given_for_a_file_that_names_its_stores_is_said_not_to_apply_and_changes_nothing(project):
    """A multi-store file's rows name their stores: --location cannot make its same bytes another publication."""
    args = ["publish", "store", str(DEMO / "store_prices.csv"), "--published-at", "2026-11-19T05:00"]
    first = run(*args, "--location", "x", project=project)
    assert first.output.startswith("Published store_prices.csv as store #1") and "(1001, 1002, 1003)" in first.output
    assert "--location x does not apply: store_prices.csv names each row's store (column 'Filiale')" in first.output
    for again in (run(*args, "--location", "x", project=project), run(*args, project=project)):
        assert again.exit_code == 0 and "unchanged, already published as #1" in again.output, again.output


def test_reconcile_output_makes_its_folder_and_refuses_what_it_cannot_write_before_running(published):
    (published / "not-a-folder").write_text("", encoding="utf-8")
    refused = run("reconcile", "--at", AT, "--output", str(published / "not-a-folder" / "r.json"), project=published)
    assert refused.exit_code == 2 and "not-a-folder is a file, not a folder" in refused.output
    assert run("runs", project=published).output.startswith("No runs yet")  # refused before running
    done = run("reconcile", "--at", AT, "--output", str(published / "reports" / "nightly.json"), project=published)
    assert done.exit_code == 1, done.output  # the demo's findings
    doc = json.loads((published / "reports" / "nightly.json").read_text(encoding="utf-8"))
    assert doc["findings"] and {f["status"] for f in doc["findings"]} == {"new"}  # the first run kept


def test_a_file_dated_in_the_future_is_published_with_a_note_saying_so(project):
    from datetime import datetime, timedelta

    (project / "s.csv").write_text("Filiale;Artikelnummer;VK-Preis\n1001;A1;12,00\n", encoding="utf-8")
    (project / "t.csv").write_text("Filiale;Artikelnummer;VK-Preis\n1001;A1;13,00\n", encoding="utf-8")
    future, past = (f"{datetime.now() + timedelta(days=d):%Y-%m-%dT%H:%M}" for d in (30, -30))  # (the clock's own)
    dated = run("publish", "store", str(project / "s.csv"), "--published-at", future, project=project)
    assert dated.exit_code == 0 and "in the future: until then, checks read the channel's previous files" in dated.output
    assert "in the future" not in run("publish", "store", str(project / "t.csv"), "--published-at", past,
                                      project=project).output


def test_a_db_file_that_does_not_exist_is_refused_by_every_command_but_publish(published, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a relative --db is read from here, not from the project folder
    for args in (["runs"], ["check", "--at", AT], ["reconcile", "--at", AT], ["waivers"]):
        result = run(*args, "--db", "duckdb:///catalog.duckdb", project=published)
        assert result.exit_code == 2 and f"no catalog at {tmp_path / 'catalog.duckdb'}" in result.output, args
    assert not (tmp_path / "catalog.duckdb").exists()  # none left behind, empty
    result = run("publish", "store", str(published / "store_prices.csv"), "--db", "sqlite:///new.db", project=published)
    assert result.exit_code == 0 and (tmp_path / "new.db").exists()
    assert run("runs", "--db", "sqlite:///new.db", project=published).output.startswith("No runs yet")


def test_a_truncated_feed_is_one_line_exit_2_and_leaves_the_catalog_unchanged(published):
    text = (DEMO / "shop_feed.xml").read_text(encoding="utf-8")
    (published / "broken.xml").write_text(text[: len(text) // 2], encoding="utf-8")
    before = run("check", "--at", AT, "--format", "json", project=published)
    result = run("publish", "shop", str(published / "broken.xml"), project=published)
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1 and "broken.xml" in result.output
    after = run("check", "--at", AT, "--format", "json", project=published)
    assert json.loads(after.output)["findings"] == json.loads(before.output)["findings"]


def test_a_store_file_without_a_price_column_is_refused_with_exit_2(project):
    (project / "prices.csv").write_text("Filiale;Artikelnummer;Bezeichnung\n1001;100203;Schuh\n", encoding="utf-8")
    result = run("publish", "store", str(project / "prices.csv"), project=project)
    assert result.exit_code == 2 and "price" in result.output and "Traceback" not in result.output


def test_a_bad_price_row_becomes_a_rejection_with_its_line(project):
    (project / "prices.csv").write_text(
        "Filiale;Artikelnummer;VK-Preis\n1001;100203;19,99\n1001;100204;abc\n", encoding="utf-8")
    result = run("publish", "store", str(project / "prices.csv"), "--format", "json", project=project)
    doc = json.loads(result.output)
    assert (doc["offers"], doc["rejections"]) == (1, 1)
    assert doc["first_rejections"][0]["source"] == "prices.csv:3" and "abc" in doc["first_rejections"][0]["reason"]


def test_check_json_lists_the_demo_findings_and_exits_1(published):
    result = run("check", "--at", AT, "--format", "json", project=published)
    assert result.exit_code == 1
    doc = json.loads(result.output)
    assert len(doc["findings"]) == len(KEY["expected_findings"])
    first = doc["findings"][0]
    assert set(first) >= {"rule", "kind", "severity", "sku", "channels", "locations", "values", "message", "sources"}
    assert doc["summary"]["failed"] is True and doc["summary"]["findings"] == len(doc["findings"])


def test_check_passes_when_nothing_reaches_the_fail_level(published):
    assert run("check", "--at", AT, "--fail-on", "blocker", project=published).exit_code == 0


def test_check_with_nothing_live_refuses_to_pass_the_gate(project):
    result = run("check", "--at", AT, project=project)
    assert result.exit_code == 2 and "nothing to check" in result.output


def test_check_csv_neutralises_spreadsheet_formulas(published, tmp_path):
    rule = tmp_path / "formula.yaml"
    rule.write_text("rules:\n  - id: formula\n    kind: presence\n    when_in: newsletter\n    require_in: [shop]\n"
                    "    message: '=HYPERLINK(\"http://evil\"; {sku})'\n", encoding="utf-8")
    result = run("check", "--at", AT, "--format", "csv", "--rules", str(rule), project=published)
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert rows and all(r["message"].startswith("'=HYPERLINK(") for r in rows)


def test_a_bad_instant_is_a_one_line_usage_error(published):
    result = run("check", "--at", "next tuesday", project=published)
    assert result.exit_code == 2 and "next tuesday" in result.output


@pytest.mark.parametrize("stop", [KeyboardInterrupt(), RuntimeError("Query interrupted")])  # DuckDB's, on ^C
def test_ctrl_c_is_one_line_and_exit_130_not_an_internal_error(published, monkeypatch, stop):
    from unisono.api.project import Project

    def interrupted(self, *args, **kwargs):
        raise stop

    monkeypatch.setattr(Project, "reconcile", interrupted)
    result = run("reconcile", "--at", AT, project=published)
    assert result.exit_code == 130 and result.output.strip() == "Interrupted."


def test_rules_validate_reports_file_and_line(project):
    (project / "rules" / "bad.yaml").write_text("rules:\n  - id: x\n    title: t\n    kind: parity\n"
                                                "    channels: [shop, warehouse]\n    fields: [price]\n")
    result = run("rules", "validate", project=project)
    assert result.exit_code == 2 and "bad.yaml:5" in result.output


def test_rules_list_shows_the_default_rules(project):
    result = run("rules", "list", project=project)
    assert result.exit_code == 0
    assert {"price-parity", "newsletter-price-honoured", "advertised-in-shop"} <= {l.split()[0] for l in result.output.splitlines()}


def test_demo_finds_exactly_its_planted_inconsistencies():
    result = run("demo")
    assert result.exit_code == 0, result.output
    assert "As planted" in result.output


def test_demo_kept_says_where_the_project_is_on_the_default_catalog(tmp_path):
    result = run("demo", "--keep", str(tmp_path))
    assert result.exit_code == 0 and f"Explore the project: `unisono check --project {tmp_path / 'bergwelt'} " in result.output
    assert (tmp_path / "bergwelt" / "catalog.duckdb").is_file() and not (tmp_path / "bergwelt" / "unisono.db").exists()


def _commands(group: click.Group, prefix=()):
    for name, cmd in group.commands.items():
        yield (*prefix, name)
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, (*prefix, name))


@pytest.mark.parametrize("command", list(_commands(cli)), ids=" ".join)
def test_every_command_has_help_and_is_in_the_readme(command):
    result = run(*command, "--help")
    assert result.exit_code == 0 and "Usage:" in result.output
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    assert f"unisono {' '.join(command)}" in readme


# Modules a command loads only when it runs: `unisono --help` must stay a click program.
HEAVY = ("sqlalchemy", "sqlmodel", "sqlglot", "pydantic", "rich", "durable", "lxml", "yaml", "unisono.rules",
         "unisono.catalog", "unisono.api", "unisono.domain", "unisono.channels")
LIGHT = {"unisono.domain", "unisono.domain.words"}  # words for people: re and datetime only


def _modules_loaded_by(code: str, cwd: Path | None = None) -> set[str]:
    """The modules a fresh interpreter holds after `code` (which may run the cli), by name."""
    script = f"import sys\n{code}\nprint(\"\\n\".join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, check=True)
    return set(done.stdout.splitlines())


def _run_cli(*args: str) -> str:
    return (f"from unisono.cli.main import cli\ntry:\n    cli({list(args)!r}, prog_name='unisono')\n"
            f"except SystemExit as e:\n    assert not e.code, e.code")


def test_help_loads_neither_the_catalog_nor_the_rules():
    commands = [(), *list(_commands(cli))]
    code = "\n".join(["import contextlib, io", "with contextlib.redirect_stdout(io.StringIO()):"] +
                      [f"    {line}" for c in commands for line in _run_cli(*c, "--help").splitlines()])
    loaded = _modules_loaded_by(code)
    assert "unisono.cli.main" in loaded
    assert not {m for m in loaded if m.startswith(HEAVY)} - LIGHT


def test_publish_loads_no_rules(tmp_path):
    assert run("init", str(tmp_path / "p")).exit_code == 0
    loaded = _modules_loaded_by(_run_cli("publish", "shop", str(DEMO / "shop_feed.xml")), cwd=tmp_path / "p")
    assert "unisono.catalog.publish" in loaded
    assert not {m for m in loaded if m.startswith(("sqlglot", "durable", "unisono.rules"))}
    assert not {m for m in loaded if m.startswith(("sqlmodel", "sqlalchemy.orm"))}  # the tables are Core


def test_check_loads_nothing_of_publishing(published):
    loaded = _modules_loaded_by(_run_cli("check", "--at", AT, "--format", "json", "--fail-on", "blocker"), cwd=published)
    assert "unisono.rules.parity" in loaded
    assert not {m for m in loaded if m.startswith(("pyarrow", "numpy", "unisono.catalog.publish", "unisono.channels.s",
                                                   "unisono.channels.newsletter", "unisono.channels.ahead"))}
    assert not {m for m in loaded if m.startswith("sqlglot")}  # the default rules have no expression rule
    assert not {m for m in loaded if m.startswith(("sqlmodel", "sqlalchemy.orm"))}  # the tables are Core
    # JSON draws nothing on a terminal; an --at is no price to read out of text
    assert not {m for m in loaded if m.startswith(("rich", "price_parser"))}


def test_a_command_closes_the_catalog_when_it_ends(published):
    """The process ends without collecting its objects (cli/main.py): the catalog is still closed, so
    DuckDB folds its write-ahead log back into the file and the project folder keeps only catalog.duckdb."""
    gc.collect()  # the in-process publishes above: their catalogs closed too
    done = subprocess.run([sys.executable, "-m", "unisono.cli.main", "check", "--at", AT, "--format", "json", "--save"],
                          cwd=published, capture_output=True, text=True)
    assert done.returncode in (0, 1), done.stderr
    assert sorted(p.name for p in published.iterdir() if p.name.startswith("catalog.duckdb")) == ["catalog.duckdb"]


def test_a_check_with_an_expression_rule_parses_its_condition(published):
    (published / "rules" / "guard.yaml").write_text(
        "rules:\n  - id: newsletter-typo-guard\n    kind: expression\n    severity: warning\n"
        "    when: newsletter.effective_price < shop.price * 0.5\n", encoding="utf-8")
    loaded = _modules_loaded_by(_run_cli("check", "--at", AT, "--format", "json", "--fail-on", "blocker"), cwd=published)
    assert "unisono.rules.condition" in loaded and "sqlglot" in loaded


def test_the_clis_choices_are_the_domains():
    from unisono.cli import main
    from unisono.domain.findings import Severity
    from unisono.domain.models import CHANNELS

    from unisono.cli import narrow

    assert main.CHANNELS == CHANNELS
    assert main.SEVERITIES == narrow.SEVERITIES == tuple(s.value for s in Severity)


def test_a_corrected_newsletter_published_under_the_same_location_replaces_the_first(published):
    fixed = (DEMO / "newsletter.html").read_text(encoding="utf-8").replace("49,49", "59,49")
    (published / "newsletter_v2.html").write_text(fixed, encoding="utf-8")
    before = json.loads(run("check", "--at", AT, "--format", "json", project=published).output)
    run("publish", "newsletter", str(published / "newsletter_v2.html"), "--location", "newsletter",
        "--published-at", "2026-11-19T07:00", project=published)
    after = json.loads(run("check", "--at", AT, "--format", "json", project=published).output)
    assert after["summary"]["live_offers"]["newsletter"] == before["summary"]["live_offers"]["newsletter"]
    assert len(after["findings"]) < len(before["findings"])
    assert not any(f["rule"] == "newsletter-price-honoured" and f["sku"] == "100165" for f in after["findings"])


def test_a_file_published_to_the_wrong_channel_says_which_channel_it_looks_like(project):
    shutil.copy(DEMO / "shop_feed.xml", project / "feed.xml")
    result = run("publish", "store", str(project / "feed.xml"), project=project)
    assert result.exit_code == 2 and "did you mean `unisono publish shop feed.xml`" in result.output


STUDENAC = "<Proizvodi><Proizvod><Naziv>Voda</Naziv><MaloprodajnaCijena>0,69</MaloprodajnaCijena></Proizvod></Proizvodi>\n"
SHOPIFY = ("Handle,Title,Body (HTML),Vendor,Type,Tags,Published,Option1 Name,Option1 Value,Variant SKU,Variant Price\n"
           "tee,Tee,<p>x</p>,Acme,Shirt,,true,Size,M,T-1,19.99\n")


@pytest.mark.parametrize("channel, name, text, says, not_says", [
    ("store", "prices.xml", STUDENAC, "an XML document <Proizvodi>, not a product feed", "did you mean"),
    ("shop", "prices.xml", STUDENAC, "an XML document <Proizvodi>, not a product feed", "did you mean"),
    ("newsletter", "prices.xml", STUDENAC, "an XML document <Proizvodi>", "did you mean"),
    ("store", "products_export.csv", SHOPIFY, "a Shopify product export", "did you mean"),
    ("shop", "products_export.csv", SHOPIFY, "Google Merchant Center feed", "did you mean `unisono publish store"),
    ("shop", "export.json", '[{"id": "A1", "price": 9.99}]', "a JSON document", "did you mean"),
    ("store", "export.json", '{"items": []}', "a JSON document", "did you mean"),
    ("shop", "data.bin", "\x00\x01\x02PK\x03\x04" * 50, "binary data, not text", "did you mean"),
])
def test_a_file_of_no_channel_says_what_it_looks_like_instead_of_a_wrong_channel(project, channel, name, text, says,
                                                                                 not_says):
    (project / name).write_text(text, encoding="utf-8")
    result = run("publish", channel, str(project / name), "--published-at", "2026-11-19T06:00", project=project)
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
    assert says in result.output and not_says not in result.output, result.output


def test_check_says_how_many_rejected_rows_were_not_checked(published):
    (published / "prices.csv").write_text("Filiale;Artikelnummer;VK-Preis\n1009;100203;19,99\n1009;100204;abc\n",
                                          encoding="utf-8")
    run("publish", "store", str(published / "prices.csv"), "--published-at", "2026-11-19T06:00", project=published)
    doc = json.loads(run("check", "--at", AT, "--format", "json", project=published).output)
    assert doc["summary"]["rejected_rows"] == 1
    assert "1 input row was rejected" in " ".join(run("check", "--at", AT, project=published).output.split())


def test_publish_check_rechecks_the_products_the_file_touched(published):
    (published / "prices.csv").write_text("Filiale;Artikelnummer;VK-Preis\n1009;100186;1,00\n", encoding="utf-8")
    result = run("publish", "store", str(published / "prices.csv"), "--check", "--published-at", "2026-11-24T06:00",
                 "--format", "json", project=published)
    assert result.exit_code == 1, result.output  # a gate: error findings fail it
    doc = json.loads(result.output)
    assert doc["checked_at"] == "2026-11-24T06:00:00+01:00"
    # every finding for the touched product: the new store's, and the demo's planted one for store 1003
    assert [(f["rule"], f["sku"], f["locations"]) for f in doc["findings"]] == [
        ("price-parity", "100186", ["shop:online", "store:1003"]), ("price-parity", "100186", ["shop:online", "store:1009"])]


def test_publish_check_of_the_same_file_again_checks_it_again(published):
    """A retried CI job publishes the same bytes: nothing is stored twice, and the gate still fails."""
    (published / "prices.csv").write_text("Filiale;Artikelnummer;VK-Preis\n1009;100186;1,00\n", encoding="utf-8")
    args = ("publish", "store", str(published / "prices.csv"), "--check", "--published-at", "2026-11-24T06:00")
    first, again = run(*args, project=published), run(*args, project=published)
    assert first.exit_code == 1 and again.exit_code == 1, again.output
    assert "unchanged, already published as #4" in again.output
    assert again.output.count("price-parity: Store 1009 charges 1.00 EUR") == 1


def test_publish_check_with_a_broken_rule_file_publishes_nothing(published):
    (published / "rules" / "broken.yaml").write_text("rules:\n  - id: x\n    kind: parity\n    channels: [shop\n",
                                                     encoding="utf-8")
    (published / "prices.csv").write_text("Filiale;Artikelnummer;VK-Preis\n1009;100186;1,00\n", encoding="utf-8")
    result = run("publish", "store", str(published / "prices.csv"), "--check", project=published)
    assert result.exit_code == 2 and "broken.yaml" in result.output and "not valid YAML" in result.output
    assert " prices.csv" not in run("publications", project=published).output  # (store_prices.csv is the demo's)


def test_the_generators_closing_commands_reproduce_its_answer_key_on_any_day(tmp_path, monkeypatch):
    # the files are dated 2026; the commands the generator prints must find its findings whatever
    # the day (CI runs this suite a second time with the clock moved years away)
    monkeypatch.chdir(tmp_path)
    generated = run("generate", "data", "--skus", "400", "--stores", "2", "--seed", "11")
    assert generated.exit_code == 0, generated.output
    commands = [shlex.split(line) for line in generated.output.splitlines() if line.startswith("  unisono ")]
    assert [c[1] for c in commands] == ["init", "publish", "publish", "publish", "check"]
    for command in commands[:-1]:
        result = run(*command[1:])
        assert result.exit_code == 0, result.output
    checked = run(*commands[-1][1:])
    doc = json.loads(run(*commands[-1][1:], "--format", "json").output)
    key = json.loads((tmp_path / "data" / "answer_key.json").read_text(encoding="utf-8"))
    expected = {(f["rule"], f["sku"], f["location"]) for f in key["expected_findings"]}
    assert expected and checked.exit_code == 1, checked.output
    # each expected finding names the side that differs: one of the finding's locations
    assert len(doc["findings"]) == len(expected)
    assert all(any((f["rule"], f["sku"]) == (rule, sku) and location in f["locations"] for f in doc["findings"])
               for rule, sku, location in expected)


def test_publish_check_reports_waived_findings_apart_and_passes_when_all_are_waived(published):
    (published / "prices.csv").write_text("Filiale;Artikelnummer;VK-Preis\n1009;100186;1,00\n", encoding="utf-8")
    for location, force in (("store:1009", ["--force"]), ("store:1003", [])):  # 1009 is not published yet
        waived = run("waive", "price-parity", "100186", "--location", location, "--reason", "Abverkauf", *force,
                     project=published)
        assert waived.exit_code == 0, waived.output
    result = run("publish", "store", str(published / "prices.csv"), "--check", "--published-at", "2026-11-24T06:00",
                 project=published)
    assert result.exit_code == 0, result.output
    assert "as of 24.11.2026 06:00: 0 findings, 2 waived." in result.output


@pytest.mark.parametrize("command", [["runs"], ["waivers"], ["check"], ["reconcile"]])
def test_a_folder_that_is_no_project_is_refused_and_left_as_it_was(tmp_path, command):
    result = run(*command, "--project", str(tmp_path))
    assert result.exit_code == 2
    assert "is not a unisono project: it has no unisono.yaml" in result.output
    assert list(tmp_path.iterdir()) == []  # no catalog left behind


def test_a_ci_job_sets_the_common_options_once_in_the_environment(published):
    env = {"UNISONO_PROJECT": str(published), "UNISONO_FORMAT": "json", "UNISONO_FAIL_ON": "blocker"}
    result = CliRunner().invoke(cli, ["check", "--at", "2026-11-24T12:00"], env=env, catch_exceptions=False)
    assert result.exit_code == 0  # errors found, but the job fails only at blocker
    assert json.loads(result.output)["summary"]["fail_on"] == "blocker"
    stricter = CliRunner().invoke(cli, ["check", "--at", "2026-11-24T12:00", "--fail-on", "error"], env=env)
    assert stricter.exit_code == 1  # the command line wins


def test_the_terminal_report_says_per_rule_and_per_location_where_the_findings_are_before_listing(published):
    out = run("check", "--at", "2026-11-24T12:00", project=published).output
    head = out.split("\n\n", 1)[0]
    assert "By rule: price-parity 4, advertised-in-shop 2, newsletter-price-honoured 1" in head
    assert "By location: newsletter:newsletter 3, store:1002 2, store:1003 2" in " ".join(head.split())


def test_quiet_prints_nothing_but_errors_and_keeps_the_exit_code(published):
    found = CliRunner().invoke(cli, ["--quiet", "check", "--at", "2026-11-24T12:00"],
                                               env={"UNISONO_PROJECT": str(published)})
    assert (found.exit_code, found.stdout) == (1, "")
    wrong = CliRunner().invoke(cli, ["-q", "check", "--at", "nonsense"],
                                               env={"UNISONO_PROJECT": str(published)})
    assert wrong.exit_code == 2 and wrong.stdout == "" and "--at 'nonsense'" in wrong.stderr


def test_quiet_and_verbose_also_after_the_command_but_not_as_an_option_value(published):
    env = {"UNISONO_PROJECT": str(published)}
    after = CliRunner().invoke(cli, ["check", "--at", "2026-11-24T12:00", "-q"], env=env)
    assert (after.exit_code, after.stdout) == (1, "")
    verbose = CliRunner().invoke(cli, ["check", "--format", "json", "--verbose", "--at", "2026-11-24T12:00"], env=env)
    assert verbose.exit_code == 1 and "live offers as of" in verbose.stderr
    assert json.loads(verbose.stdout)["summary"]["findings"] == 7
    asked = CliRunner().invoke(cli, ["check", "--at", "2026-11-24T12:00", "--format", "json", "--output",
                                     str(published / "out.csv")], env={**env, "UNISONO_QUIET": "1"})
    assert asked.exit_code == 1 and json.loads(asked.stdout)["summary"]["findings"] == 7  # what it asked for
    assert asked.stderr == "" and (published / "out.csv").exists()
    value = CliRunner().invoke(cli, ["check", "--at", "2026-11-24T12:00", "--rule", "-q"], env=env)
    assert value.exit_code == 2 and "--rule -q: the ruleset has no such rule" in value.stderr


def test_verbose_says_on_stderr_what_each_step_took(published):
    result = CliRunner().invoke(cli, ["--verbose", "check", "--at", "2026-11-24T12:00", "--format", "json"],
                                env={"UNISONO_PROJECT": str(published)})
    assert result.exit_code == 1 and json.loads(result.stdout)["summary"]["findings"] == 7  # stdout stays JSON
    assert "live offers as of 2026-11-24T12:00:00+01:00: 1206 in" in result.stderr
    assert re.search(r"rule price-parity \(parity\) in \d+\.\d\d s: 4 found", result.stderr)
    quiet = CliRunner().invoke(cli, ["check", "--at", "2026-11-24T12:00", "--format", "json"],
                               env={"UNISONO_PROJECT": str(published)})
    assert "live offers as of" not in quiet.stderr


def test_csv_on_standard_output_is_csv_a_machine_reads(published):
    out = run("check", "--at", "2026-11-24T12:00", "--format", "csv", project=published).output
    assert "\\x0d" not in out and "\r" not in out
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 7 and all(len(r["fingerprint"]) > 8 for r in rows)


@pytest.mark.parametrize("command", [["check", "--at", AT], ["reconcile", "--at", AT], ["report", "1"]])
def test_output_given_twice_is_refused_in_one_line_and_writes_nothing(published, tmp_path, command):
    first, second = tmp_path / "a.html", tmp_path / "b.csv"
    result = run(*command, "--output", str(first), "-o", str(second), project=published)
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == f"Error: --output given 2 times ({first}, {second}): give it once"
    assert not first.exists() and not second.exists()


def test_rejections_lists_every_rejected_row_of_a_publication(project):
    rows = ["Filiale;Artikelnummer;VK-Preis", "1009;100201;19,99"] + [f"1009;1003{i:02};abc{i}" for i in range(8)] \
        + ['1009;100399;=HYPERLINK("x")']
    (project / "prices.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    published = run("publish", "store", str(project / "prices.csv"), "--published-at", "2026-11-19T06:00", project=project)
    assert "… and 4 more rejections (all of them: unisono rejections 1)" in " ".join(published.output.split())
    listed = run("rejections", "1", project=project)
    assert listed.exit_code == 0
    assert listed.output.splitlines()[:2] == ["prices.csv:3: price 'abc0' is not a number", "    1009;100300;abc0"]
    assert len(listed.output.splitlines()) == 18
    as_csv = list(csv.reader(io.StringIO(run("rejections", "1", "--format", "csv", project=project).output)))
    assert as_csv[0] == ["file", "line", "reason", "row"] and [r[1] for r in as_csv[1:]] == [str(n) for n in range(3, 12)]
    assert "HYPERLINK" in as_csv[-1][3] and not any(c.startswith(("=", "+", "-", "@")) for r in as_csv for c in r)
    lines = run("rejections", "1", "--format", "json", project=project).output.splitlines()
    assert [json.loads(x)["line"] for x in lines] == list(range(3, 12))
    missing = run("rejections", "7", project=project)
    assert missing.exit_code == 2 and "no publication #7" in missing.output


def test_tables_piped_keep_whole_ids_and_file_names(project):
    # piped into grep or a log, a table is as wide as its cells: nothing cut with "…" at 80 columns
    name = "filialen_2026-11-27_nachlieferung_region_sued.csv"
    (project / name).write_text("Filiale;Artikelnummer;VK-Preis\n1009;100201;19,99\n", encoding="utf-8")
    run("publish", "store", str(project / name), "--published-at", "2026-11-19T06:00", project=project)
    assert name in run("publications", project=project).output
    assert "advertised-in-stock-in-stores" in run("rules", "list", project=project).output


def test_an_xml_bomb_is_refused_in_one_line_without_a_wrong_hint(project):
    bomb = Path(__file__).parent / "fixtures" / "shop" / "billion_laughs.xml"
    result = run("publish", "shop", str(bomb), project=project)
    assert result.exit_code == 2
    assert "refused: the XML declares entities" in result.output and "looks like" not in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("given", ["EURO", "€", "Euro", "EU"])
def test_a_currency_that_is_no_iso_code_is_refused_in_init_and_in_the_config(tmp_path, given):
    refused = run("init", str(tmp_path / "p"), "--currency", given)
    assert refused.exit_code == 2 and f"unknown currency {given!r}" in refused.output
    assert run("init", str(tmp_path / "q")).exit_code == 0
    config = tmp_path / "q" / "unisono.yaml"
    config.write_text(config.read_text().replace("currency: EUR", f"currency: '{given}'"))
    result = run("publications", project=tmp_path / "q")
    assert result.exit_code == 2 and result.output.strip() == (
        f"Error: {config}: currency: unknown currency {given!r} (an ISO 4217 code such as EUR, CHF or GBP)")


def test_a_currency_code_in_lower_case_reads_as_the_code(tmp_path):
    from unisono.domain.config import load_config

    assert run("init", str(tmp_path / "p"), "--currency", "chf").exit_code == 0
    assert load_config(tmp_path / "p").currency == "CHF"


def test_a_usage_error_is_one_line_naming_the_help(project):
    for args, says in ((["check", "--nope"], "No such option '--nope'"), (["publsh", "shop"], "No such command 'publsh'"),
                       (["withdraw", "abc"], "'abc' is not a valid integer")):
        result = CliRunner().invoke(cli, args, prog_name="unisono", env={"UNISONO_PROJECT": str(project)})
        assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1, result.stderr
        assert result.stderr.startswith("Error: ") and says in result.stderr and "--help`)" in result.stderr
