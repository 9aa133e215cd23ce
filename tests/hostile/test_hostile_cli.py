"""Hostile command lines and catalog files: one line on stderr and exit 2, never a traceback or an
"internal error"; what a refused command would have written is not written (the catalog file stays
as it was)."""
from __future__ import annotations

import shutil
import sqlite3
from importlib.resources import files
from pathlib import Path

import pytest
from click.testing import CliRunner

from unisono.cli.main import cli

DEMO = Path(str(files("unisono.demo") / "data"))


def run(*args: str, project: Path | None = None, **env: str):
    return CliRunner().invoke(cli, list(args), env={"UNISONO_PROJECT": str(project) if project else None,
                                                   "UNISONO_DB": None, **env})


def refused(result, words: str) -> str:
    assert result.exit_code == 2, result.output
    err = result.stderr.strip().splitlines()
    assert len(err) == 1, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert words in err[0], err[0]
    return err[0]


def digest(path: Path) -> tuple:
    """What the catalog holds (its file alone would not tell: SQLite keeps recent commits in -wal)."""
    con = sqlite3.connect(path)
    try:
        return tuple(con.execute(f"SELECT count(*), max(id) FROM {t}").fetchone()
                     for t in ("publication", "offer", "rejection", "run", "waiver"))
    finally:
        con.close()


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    project = tmp_path_factory.mktemp("hostile") / "p"
    assert run("init", str(project), "--db", "sqlite").exit_code == 0  # its file read by sqlite3 (digest)
    for channel, name in [("shop", "shop_feed.xml"), ("store", "store_prices.csv"), ("newsletter", "newsletter.html")]:
        shutil.copy(DEMO / name, project / name)
        result = run("publish", channel, str(project / name), "--published-at", "2026-11-19T06:00", project=project)
        assert result.exit_code == 0, result.output
    return project


OUT_OF_RANGE = "is outside the instants unisono handles (0001-01-02 00:00 to 9999-12-30 00:00 UTC)"


@pytest.mark.parametrize("args", [
    ["check", "--at", "0001-01-01"],
    ["check", "--at", "9999-12-31"],
    ["check", "--at", "9999-12-31T23:59:59Z"],
    ["check", "--at", "0001-01-01T00:00+14:00"],
    ["check", "--window", "0001-01-01/2026-11-30"],
    ["check", "--window", "2026-11-01/9999-12-31"],
    ["check", "--window", "0001-01-02/2026-11-30"],  # midnight in Berlin (LMT, +00:53) is 01.01. in UTC
    ["check", "--window", "2026-11-01/9999-12-30"],  # a window's last day runs to midnight after it
    ["reconcile", "--at", "9999-12-31"],
    ["waive", "price-parity", "100017", "--reason", "r", "--until", "9999-12-31"],
    ["waivers", "--at", "0001-01-01"],
    ["publish", "shop", "{project}/shop_feed.xml", "--effective-from", "9999-12-31T23:59:59Z"],
    ["publish", "shop", "{project}/shop_feed.xml", "--published-at", "0001-01-01"],
], ids=lambda a: " ".join(a))
def test_an_instant_beyond_the_catalog_on_the_command_line_is_one_line_and_changes_nothing(published, args):
    before = digest(published / "unisono.db")
    result = run(*[a.format(project=published) for a in args], project=published)
    refused(result, OUT_OF_RANGE)
    assert digest(published / "unisono.db") == before


@pytest.mark.parametrize("args", [
    ["check", "--at", "9999-12-29"],
    ["check", "--at", "0001-01-03"],
    ["check", "--window", "2026-11-20/9999-12-29"],
    ["check", "--at", "9999-12-29", "--engine", "rete"],
], ids=lambda a: " ".join(a))
def test_an_instant_near_the_ends_is_checked_without_an_internal_error(published, args):
    result = run(*args, "--format", "json", project=published)
    assert result.exit_code in (0, 1) or "nothing to check" in result.stderr, result.output
    assert "internal error" not in result.output


def test_a_waiver_until_the_last_day_is_kept_and_listed(published, tmp_path):
    project = tmp_path / "w"
    shutil.copytree(published, project)
    result = run("waive", "price-parity", "100017", "--reason", "store-only", "--until", "9999-12-29",
                 project=project)
    assert result.exit_code == 0 and "until 29.12.9999" in result.output
    assert "active" in run("waivers", project=project).output


def test_a_file_that_is_not_a_catalog_is_one_line(published, tmp_path):
    fake = tmp_path / "fake.db"
    fake.write_bytes(b"this is not a database " * 100)
    for args in (["runs"], ["check", "--at", "2026-11-24T12:00"], ["waive", "price-parity", "b", "--reason", "r"]):
        refused(run(*args, "--db", f"sqlite:///{fake}", project=published), "is not a usable unisono catalog")
    assert fake.read_bytes() == b"this is not a database " * 100


def test_an_in_memory_catalog_is_refused_before_anything_says_published(published):
    result = run("publish", "shop", str(published / "shop_feed.xml"), "--db", "sqlite://", project=published)
    refused(result, "an in-memory catalog keeps nothing")
    assert "Published" not in result.output


def test_a_missing_driver_never_shows_the_password(published):
    result = run("runs", "--db", "mysql://merchant:s3cret-pw@db.example/unisono", project=published)
    line = refused(result, "cannot use database 'mysql://merchant:***@db.example/unisono'")
    assert "s3cret-pw" not in result.output


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://merchant@127.0.0.1:1/unisono?password=s3cret-pw",  # libpq's own parameter
    "postgresql+pg8000://merchant:s3cret-pw@127.0.0.1:1/unisono?password=s3cret-pw",  # and no driver
    "postgresql+psycopg://merchant:s3cr@t:pw@127.0.0.1:1/unisono",  # an @ and a : in the password
])
def test_a_password_is_never_shown_wherever_the_url_holds_it(published, url):
    result = run("runs", "--db", url, project=published)
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
    assert "***" in result.output and "Traceback" not in result.output
    assert not any(part in result.output for part in ("s3cret-pw", "s3cr", "t:pw")), result.output


def test_a_busy_timeout_that_is_no_number_is_one_line(published):
    refused(run("waive", "price-parity", "b", "--reason", "r", project=published, UNISONO_BUSY_TIMEOUT="soon"),
            "UNISONO_BUSY_TIMEOUT='soon' is not a number of seconds")


def test_a_busy_timeout_that_is_no_number_is_one_line_on_the_default_catalog_too(tmp_path):
    """DuckDB waits only when another process has the file: the setting is still checked at once."""
    assert run("init", str(tmp_path / "p")).exit_code == 0
    refused(run("runs", project=tmp_path / "p", UNISONO_BUSY_TIMEOUT="soon"),
            "UNISONO_BUSY_TIMEOUT='soon' is not a number of seconds")


def test_a_catalog_file_duckdb_cannot_open_is_one_line_naming_what_to_do(published, tmp_path):
    """Never DuckDB's own message (nor its attempt to download a SQLite reader from the network)."""
    url = f"duckdb:///{published / 'unisono.db'}"  # the project's SQLite catalog, named as DuckDB
    refused(run("runs", "--db", url, project=published), "is a SQLite catalog, not a DuckDB one: name it sqlite:///")
    (tmp_path / "junk.duckdb").write_text("not a database", encoding="utf-8")
    refused(run("runs", "--db", f"duckdb:///{tmp_path / 'junk.duckdb'}", project=published),
            "is not a usable unisono catalog")
    refused(run("publish", "shop", str(published / "shop_feed.xml"), "--db", f"duckdb:///{tmp_path / 'no' / 'c.duckdb'}",
                project=published), "check that its folder exists, is writable and has free space")
    refused(run("runs", "--db", "duckdb", project=published), "a URL is needed here, e.g. duckdb:///catalog.duckdb")


def test_a_read_only_catalog_is_read_and_refuses_writes_in_one_line(published):
    """(A read-only file or mount, as SQLite's read-only mode opens it: the tests may run as root.)"""
    ro = f"sqlite:///file:{published / 'unisono.db'}?mode=ro&uri=true"
    before = digest(published / "unisono.db")
    assert run("runs", "--db", ro, project=published).exit_code == 0
    assert run("waivers", "--db", ro, project=published).exit_code == 0
    checked = run("check", "--at", "2026-11-24T12:00", "--save", "--db", ro, project=published)
    assert checked.exit_code == 1 and "FAIL" in checked.stdout  # it still gates
    assert checked.stderr.startswith("warning: the run was not recorded: the catalog") and "read-only" in checked.stderr
    for args in (["reconcile", "--at", "2026-11-24T12:00"], ["waive", "price-parity", "100017", "--reason", "r"],
                 ["publish", "shop", str(published / "shop_feed.xml"), "--effective-from", "2026-11-25"]):
        refused(run(*args, "--db", ro, project=published), "is read-only (attempt to write a readonly database)")
    assert digest(published / "unisono.db") == before


@pytest.mark.parametrize("args", [
    ("check", "--at", "2026-03-29T02:30"),
    ("check", "--window", "2026-03-29T02:15/2026-03-30"),
    ("waive", "price-parity", "100001", "--reason", "r", "--until", "29.03.2026 02:30"),
])
def test_a_typed_local_time_the_clocks_skip_is_refused_in_one_line(published, args):
    before = digest(published / "unisono.db")
    line = refused(run(*args, project=published), "does not exist in Europe/Berlin")
    assert "+01:00" in line or "+02:00" in line  # says how to write the instant meant
    assert digest(published / "unisono.db") == before


def test_a_typed_local_time_that_occurs_twice_is_its_first_occurrence(published):
    # nothing is live before the demo's files were published: the refusal names the instant as read
    line = refused(run("check", "--at", "2026-10-25T02:30", project=published), "no offers are live")
    assert "25.10.2026 02:30 CEST" in line  # still summer time (CEST, not CET): the first 02:30
