"""`unisono publications` lists what was published; `unisono withdraw` takes back a mistake so that
checks and the price history read the catalog as if it had never been published."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from unisono.api.project import Project
from unisono.catalog.tables import ClaimRow, OfferRow, Publication, PublicationLocation, RejectionRow
from unisono.cli.main import cli

FEED = ('<rss xmlns:g="http://base.google.com/ns/1.0"><channel>{}</channel></rss>')
ITEM = "<item><g:id>{}</g:id><g:title>Jacke</g:title><g:price>{} EUR</g:price></item>"


def run(project: Path, *args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), env={"UNISONO_PROJECT": str(project)}, input=input)


def findings(project: Path) -> list[tuple[str, str]]:
    doc = json.loads(run(project, "check", "--at", "2026-11-24T12:00", "--format", "json").output)
    return sorted((f["rule"], f["sku"]) for f in doc["findings"])


@pytest.mark.parametrize("database", ["sqlite", "duckdb", "duckdb-keyed"])
def test_a_mistaken_publication_withdrawn_leaves_the_catalog_as_without_it(tmp_path, database, monkeypatch):
    if database == "duckdb-keyed":  # a DuckDB catalog made before: its offers have a key, a foreign key, an index
        monkeypatch.setattr("unisono.catalog.tables.OFFER_KEYS_ON_DUCKDB", True)
        database = "duckdb"
    project = tmp_path / "p"
    Project.init(project, database=database)
    good, wrong = tmp_path / "feed.xml", tmp_path / "old_feed.xml"
    good.write_text(FEED.format(ITEM.format("A1", "99.99") + ITEM.format("A2", "49.99")))
    wrong.write_text(FEED.format(ITEM.format("A1", "79.99") + "<item><g:id>A2</g:id></item>"))
    (tmp_path / "stores.csv").write_text("Filiale;Artikelnummer;VK-Preis\n1001;A1;99,99\n1001;A2;49,99\n")
    for channel, file, at in (("shop", good, "2026-11-20T06:00"), ("store", tmp_path / "stores.csv", "2026-11-20T06:00")):
        assert run(project, "publish", channel, str(file), "--published-at", at).exit_code == 0
    clean = findings(project)
    assert run(project, "publish", "shop", str(wrong), "--published-at", "2026-11-22T06:00").exit_code == 0
    assert findings(project) != clean  # the old feed's prices differ from the stores'

    listed = run(project, "publications", "--channel", "shop").output.splitlines()
    assert [line.split()[:3] for line in listed[1:]] == [["#3", "shop", "old_feed.xml"], ["#1", "shop", "feed.xml"]]
    refused = run(project, "withdraw", "3", input="n\n")
    assert refused.exit_code == 1 and findings(project) != clean  # asked, not confirmed: nothing withdrawn
    done = run(project, "withdraw", "3", "--yes")
    assert done.exit_code == 0 and done.output.startswith("Withdrew shop #3 (old_feed.xml, published 22.11.2026 06:00)")
    assert findings(project) == clean
    engine = Project.open(project).engine
    with engine.connect() as conn:
        for table in (OfferRow, RejectionRow, ClaimRow, PublicationLocation):
            t = table.__table__
            assert conn.execute(select(func.count()).where(t.c.publication_id == 3)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(Publication.__table__)).scalar_one() == 2
    engine.dispose()  # DuckDB: one process, one open database file
    again = run(project, "publish", "shop", str(wrong), "--published-at", "2026-11-22T07:00")
    assert again.exit_code == 0 and "as shop #4:" in again.output  # #3 stays the withdrawn one's in logs and notes


def test_withdrawing_an_unknown_publication_is_one_line(tmp_path):
    project = tmp_path / "p"
    Project.init(project)
    result = run(project, "withdraw", "7", "--yes")
    assert result.exit_code == 2 and result.output.strip() == \
        "Error: no publication #7 (`unisono publications` lists them)"
    assert run(project, "publications").output.startswith("Nothing published yet")
