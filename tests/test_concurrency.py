"""Commands at once, as a scheduler runs them: real processes on one catalog, no mocks.

On SQLite (`init --db sqlite`): readers never wait for a writer; writers take turns within the busy timeout and say so; a publish
holds the write lock only for its short write phase; two publishes starting on a new project, or
of the same file, land as if one came after the other.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from importlib.resources import files
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from unisono.catalog.publish import publish_stream
from unisono.catalog.tables import OfferRow, Publication

DEMO = Path(str(files("unisono.demo") / "data"))
AT = json.loads((DEMO / "answer_key.json").read_text(encoding="utf-8"))["check_at"]
POSTGRES_URL = os.environ.get("UNISONO_TEST_POSTGRES")


def start(*args: str, project: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "unisono.cli.main", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "UNISONO_DB": "", "UNISONO_PROJECT": str(project), **env})


def finish(p: subprocess.Popen) -> tuple[int, str, str]:
    out, err = p.communicate(timeout=120)
    return p.returncode, out, err


def unisono(*args: str, project: Path, **env: str) -> tuple[int, str, str]:
    return finish(start(*args, project=project, **env))


def one_line(err: str) -> str:
    """stderr of a failed command: one line, no traceback, no SQL."""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err and "SELECT" not in err and "INSERT" not in err, err
    return lines[0]


@pytest.fixture
def project(tmp_path) -> Path:
    """A project on SQLite, whose locking these tests are about (DuckDB's: one process per file)."""
    code, _, err = unisono("init", str(tmp_path / "p"), "--db", "sqlite", project=tmp_path)
    assert code == 0, err
    for name in ("shop_feed.xml", "store_prices.csv", "newsletter.html"):
        shutil.copy(DEMO / name, tmp_path / "p" / name)
    return tmp_path / "p"


@pytest.fixture
def published(project) -> Path:
    from datetime import datetime, timezone

    from unisono.api.project import Project

    p = Project.open(project)
    for channel, name in [("shop", "shop_feed.xml"), ("store", "store_prices.csv"), ("newsletter", "newsletter.html")]:
        p.publish(channel, project / name, published_at=datetime(2026, 11, 19, 5, tzinfo=timezone.utc))
    p.engine.dispose()
    return project


class WriteLock:
    """Another process's write transaction on the catalog, as a publish's write phase holds it."""

    def __init__(self, db: Path):
        self.con = sqlite3.connect(db, isolation_level=None)

    def __enter__(self) -> WriteLock:
        self.con.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, *exc) -> None:
        self.con.execute("ROLLBACK")
        self.con.close()


def test_reading_commands_work_while_another_process_writes(published):
    with WriteLock(published / "unisono.db"):
        for args in (["runs"], ["waivers"], ["rules", "list"]):
            code, out, err = unisono(*args, project=published, UNISONO_BUSY_TIMEOUT="0")
            assert code == 0 and err == "", (args, err)


def test_a_writer_gives_up_after_the_busy_timeout_with_one_line_and_exit_2(published):
    """check and reconcile record their run, waive its waiver: they wait for the write lock."""
    with WriteLock(published / "unisono.db"):
        for args in (["waive", "price-parity", "100017", "--reason", "clearance"], ["reconcile", "--at", AT],
                     ["check", "--at", AT, "--save"]):
            code, _, err = unisono(*args, project=published, UNISONO_BUSY_TIMEOUT="0.5")
            line = [x for x in err.strip().splitlines() if not x.startswith(("waiting for", "warning:"))]
            assert code == 2 and len(line) == 1 and "Traceback" not in err and "INSERT" not in err, err
            assert "is busy: another unisono command kept writing it for 0.5 s" in line[0]
            assert "UNISONO_BUSY_TIMEOUT" in line[0]
    code, out, err = unisono("waivers", project=published)
    assert code == 0 and out.startswith("No waivers yet"), err  # nothing was half-written
    code, out, err = unisono("runs", project=published)
    assert code == 0 and out.startswith("No runs yet"), err


def test_a_quiet_writer_waits_without_a_word_and_fails_with_one_line(published):
    """-q: nothing but errors; waiting for the lock is talk (the same command without -q says it)."""
    with WriteLock(published / "unisono.db"):
        said = [unisono(*q, "waive", "price-parity", "100017", "--reason", "r", project=published,
                        UNISONO_BUSY_TIMEOUT="0.5")[2].strip().splitlines() for q in ([], ["-q"])]
    assert said[0][0].startswith("waiting for another unisono command") and len(said[0]) == 2
    assert len(said[1]) == 1 and "is busy: another unisono command kept writing it" in said[1][0]


def test_a_writer_waits_for_the_other_one_and_says_so(published):
    lock = WriteLock(published / "unisono.db").__enter__()
    waiting = start("waive", "price-parity", "100017", "--reason", "clearance", project=published)
    said = []
    while not any("waiting for" in line for line in said):  # it says so, then waits
        line = waiting.stderr.readline()
        assert line, f"ended without waiting: {said}"
        said.append(line)
    lock.__exit__()
    code, out, err = finish(waiting)
    assert code == 0 and out.startswith("Waiver #1 price-parity for 100017"), err
    assert said[-1].startswith("waiting for another unisono command to finish writing the catalog")


def test_a_publish_takes_the_write_lock_only_after_reading_the_whole_file(published):
    """While the file is read, another process writes a waiver without waiting (busy timeout 0)."""
    from unisono.catalog.db import open_catalog

    engine = open_catalog(f"sqlite:///{published / 'unisono.db'}")
    seen: list[tuple[int, str]] = []

    def entries():
        from unisono.domain.models import Offer, SourceRef
        from decimal import Decimal

        for i in range(3):
            yield Offer(channel="store", location="1001", sku=str(i), currency="EUR", price=Decimal("9.99"),
                        source=SourceRef(file="slow.csv", line=i + 2))
        code, _, err = unisono("waive", "price-parity", "100017", "--reason", "r", project=published,
                               UNISONO_BUSY_TIMEOUT="0")
        seen.append((code, err))

    result = publish_stream(engine, "store", entries(), notes=[], source="slow.csv", sha256="slow")
    assert seen[0][0] == 0, seen[0][1]
    assert result.offers == 3
    engine.dispose()


def test_publish_check_reconcile_and_waive_at_once_all_succeed(published):
    shutil.copy(DEMO / "store_prices.csv", published / "store_late.csv")
    with (published / "store_late.csv").open("a", encoding="utf-8") as f:  # other bytes: a new publication
        f.write("\n")
    procs = [
        start("publish", "store", str(published / "store_late.csv"), "--published-at", "2026-11-20T06:00",
              project=published),
        start("check", "--at", AT, "--format", "json", project=published),
        start("reconcile", "--at", AT, "--format", "json", project=published),
        start("waive", "price-parity", "100017", "--reason", "clearance", project=published),
        start("runs", project=published),
    ]
    results = [finish(p) for p in procs]
    for p, (code, out, err) in zip(procs, results):
        assert code in (0, 1) and "Traceback" not in err and "internal error" not in err, (p.args, err)
    assert results[0][1].startswith("Published store_late.csv as store #4")
    code, out, _ = unisono("runs", project=published)
    assert code == 0 and len(out.strip().splitlines()) == 2  # the check and the reconcile were both recorded


def publications(db_url: str) -> list[tuple[int, str]]:
    engine = create_engine(db_url)
    with engine.connect() as c:
        pub = Publication.__table__.c
        rows = c.execute(select(pub.id, pub.sha256).order_by(pub.id)).all()
        n = c.execute(select(func.count()).select_from(OfferRow.__table__)).scalar_one()
    engine.dispose()
    return [tuple(r) for r in rows], n


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, project) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{project / 'unisono.db'}"
    if not POSTGRES_URL:
        pytest.skip("no PostgreSQL server: set UNISONO_TEST_POSTGRES")
    from unisono.catalog.db import open_catalog
    from unisono.catalog.tables import metadata

    engine = open_catalog(POSTGRES_URL)
    metadata.drop_all(engine)
    engine.dispose()
    return POSTGRES_URL


def test_four_publishes_into_a_brand_new_project_all_land(project, db_url):
    names = []
    for i in range(4):  # four different files: four publications, whoever creates the tables
        name = project / f"store_{i}.csv"
        name.write_bytes((DEMO / "store_prices.csv").read_bytes() + b"\n" * (i + 1))
        names.append(name)
    procs = [start("publish", "store", str(n), "--published-at", f"2026-11-19T0{i}:00", project=project,
                   UNISONO_DB=db_url) for i, n in enumerate(names)]
    results = [finish(p) for p in procs]
    assert [code for code, _, _ in results] == [0, 0, 0, 0], [err for _, _, err in results]
    pubs, _ = publications(db_url)
    assert len(pubs) == 4


def test_the_same_file_published_three_times_at_once_lands_once(project, db_url):
    procs = [start("publish", "store", str(project / "store_prices.csv"), "--published-at", "2026-11-19T06:00",
                   project=project, UNISONO_DB=db_url) for _ in range(3)]
    results = [finish(p) for p in procs]
    assert [code for code, _, _ in results] == [0, 0, 0], [err for _, _, err in results]
    outs = sorted(out.split(" as ")[0].split(":")[0] for _, out, _ in results)
    assert outs == ["Published store_prices.csv", "store_prices.csv", "store_prices.csv"]
    pubs, offers = publications(db_url)
    assert len(pubs) == 1 and offers > 0
    # (on PostgreSQL the publishes that found the same bytes rolled back an id of their own)
    assert sum(f"unchanged, already published as #{pubs[0][0]} " in out for _, out, _ in results) == 2


def test_the_same_file_published_at_once_without_a_date_lands_once(project, db_url):
    """Two publishes of one file dated "now" (no --published-at): the one that started first commits
    last, its "now" before the other's; it must still see the same bytes stored meanwhile."""
    from unisono.api.project import Project

    csv = project / "store_prices.csv"
    others: list[tuple[int, str, str]] = []

    def meanwhile(progress) -> None:  # called while this publish reads the file, before it writes
        if not others:  # the other process publishes the file, without a date
            others.append(unisono("publish", "store", str(csv), project=project, UNISONO_DB=db_url))

    p = Project.open(project, db_url)
    result = p.publish("store", csv, progress=meanwhile)
    p.engine.dispose()
    code, out, err = others[0]
    assert code == 0 and out.startswith("Published store_prices.csv as store #"), err
    pubs, _ = publications(db_url)
    assert len(pubs) == 1 and result.duplicate and result.publication_id == pubs[0][0]


def _catalog_state(project: Path) -> tuple:
    """What the project's catalog holds, read by its own engine's module (SQLite checked for integrity)."""
    tables = ("publication", "publication_location", "offer", "rejection")
    if (project / "unisono.db").exists():
        con = sqlite3.connect(project / "unisono.db")
        try:
            assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            return tuple(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables)
        finally:
            con.close()
    import duckdb

    with duckdb.connect(str(project / "catalog.duckdb"), read_only=True) as con:
        return tuple(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables)


@pytest.mark.parametrize("database", ["sqlite", "duckdb"])
def test_a_publish_killed_at_any_moment_leaves_the_catalog_as_it_was_or_complete(tmp_path, database):
    """kill -9 while the file is read, while it is copied, while it commits: never half a publication."""
    project = tmp_path / "p"
    assert unisono("init", str(project), "--db", database, project=tmp_path)[0] == 0
    assert unisono("publish", "store", str(DEMO / "store_prices.csv"), "--published-at", "2026-11-19T06:00",
                   project=project)[0] == 0
    rows = ["Filiale;Artikelnummer;EAN;Bezeichnung;VK-Preis;Aktionspreis;Aktion von;Aktion bis"]
    rows += [f"{1001 + i % 5};{200000 + i};;Artikel {i};{i % 90 + 9},99;;;" for i in range(60_000)]
    (project / "big.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    before = _catalog_state(project)
    outcomes = set()
    for delay in (0.5, 1.5, 2.5, 3.5, 5.0):
        p = start("publish", "store", str(project / "big.csv"), "--published-at", "2026-11-20T06:00",
                  project=project)
        time.sleep(delay)
        p.kill()
        p.communicate(timeout=60)
        now = _catalog_state(project)
        if now != before:  # it had committed: the whole file, once
            assert now[0] == before[0] + 1 and now[2] == before[2] + 60_000, now
            outcomes.add("complete")
            break
        outcomes.add("unchanged")
    assert "unchanged" in outcomes


def test_a_second_process_on_a_duckdb_catalog_gets_one_line(project):
    pytest.importorskip("duckdb_engine")
    url = f"duckdb:///{project / 'catalog.duckdb'}"
    code, _, err = unisono("publish", "shop", str(project / "shop_feed.xml"), "--published-at", "2026-11-19T06:00",
                           project=project, UNISONO_DB=url)
    assert code == 0, err
    holder = start("publish", "store", str(project / "store_prices.csv"), "--published-at", "2026-11-19T06:00",
                   project=project, UNISONO_DB=url)
    try:
        time.sleep(0.5)
        results = [unisono(*args, project=project, UNISONO_DB=url)
                   for args in (["runs"], ["waive", "price-parity", "100017", "--reason", "r"])]
    finally:
        finish(holder)
    for code, _, err in results:  # each either ran after the holder or was told why not
        if code != 0:
            err = "\n".join(x for x in err.splitlines() if not x.startswith("waiting for"))
            assert code == 2 and "was in use by another process" in one_line(err)


def duckdb_holder(db: Path, read_only: bool = False) -> subprocess.Popen:
    """Another process with the DuckDB file open (to read only, or to write) until it reads a line."""
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1], "
                               "read_only=sys.argv[2] == 'ro'); print('open', flush=True); sys.stdin.readline()",
                               str(db), "ro" if read_only else "rw"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "open\n"
    return holder


def test_a_command_on_a_duckdb_catalog_waits_for_the_process_that_has_it_open(project):
    """DuckDB lets one process open a file at a time: the next waits (busy timeout, a progress line),
    as SQLite's writers do, and gives up in one line."""
    pytest.importorskip("duckdb_engine")
    db = project / "catalog.duckdb"
    url = f"duckdb:///{db}"
    code, _, err = unisono("publish", "shop", str(project / "shop_feed.xml"), "--published-at", "2026-11-19T06:00",
                           project=project, UNISONO_DB=url)
    assert code == 0, err
    holder = duckdb_holder(db)
    try:
        code, _, err = unisono("runs", project=project, UNISONO_DB=url, UNISONO_BUSY_TIMEOUT="0.5")
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 2 and "Traceback" not in err, err
        assert lines[0].startswith("waiting for another unisono command to close the DuckDB catalog")
        assert "was in use by another process" in lines[1] and "for 0.5 s" in lines[1]
        waiting = start("waive", "price-parity", "100017", "--reason", "r", project=project, UNISONO_DB=url)
        assert waiting.stderr.readline().startswith("waiting for another unisono command")
    finally:
        holder.communicate("\n", timeout=60)  # the holder closes the file: the waiting command goes on
    code, out, err = finish(waiting)
    assert code == 0 and out.startswith("Waiver #1 price-parity for 100017"), err


def test_commands_that_only_read_a_duckdb_catalog_run_at_once_and_a_writer_waits_for_them(project):
    """DuckDB lets many processes read a file at once: `check` (without --save), `runs`, `publications`,
    `waivers`, `explain` open it read-only and never wait for each other; a writer waits for them."""
    db = project / "catalog.duckdb"
    url = f"duckdb:///{db}"
    for channel, name in [("shop", "shop_feed.xml"), ("store", "store_prices.csv")]:
        code, _, err = unisono("publish", channel, str(project / name), "--published-at", "2026-11-19T06:00",
                               project=project, UNISONO_DB=url)
        assert code == 0, err
    reader = duckdb_holder(db, read_only=True)
    try:
        quick = {"UNISONO_DB": url, "UNISONO_BUSY_TIMEOUT": "0"}  # no waiting at all
        checked = unisono("check", "--at", AT, "--format", "json", project=project, **quick)
        assert checked[0] == 1 and json.loads(checked[1])["findings"] and checked[2] == "", checked[2]
        for args in (["runs"], ["publications"], ["waivers"], ["explain", "100017", "--at", AT]):
            code, _, err = unisono(*args, project=project, **quick)
            assert code == 0 and err == "", (args, err)
        code, _, err = unisono("check", "--at", AT, "--save", project=project, UNISONO_DB=url, UNISONO_BUSY_TIMEOUT="0.5")
        assert code == 2 and "was in use by another process" in err.strip().splitlines()[-1], err  # it writes
    finally:
        reader.communicate("\n", timeout=60)
    assert unisono("check", "--at", AT, "--save", project=project, UNISONO_DB=url)[0] == 1

