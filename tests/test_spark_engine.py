"""The Spark catalog and engine (`--db spark:///path`): the same statements, the same findings.

Differential: a generated retailer with five weeks of price history (publish, reconcile, waive,
reconcile: every kind of the default rules, the reference prices judged) and the per-kind scenarios
of the rule tests (their own functions, run on a Spark connection) give on Spark what they give on
the embedded catalogs (DuckDB, the default, and SQLite). One SparkSession in local mode for the whole run (local[2], bound to 127.0.0.1); catalogs are
small because every statement is a Spark job whatever its rows: the cost is jobs, not data.
"""
from __future__ import annotations

import importlib
from datetime import date, datetime, timezone
from importlib.resources import files
from pathlib import Path

import pytest

from unisono.api.project import Project
from tests.conftest import spark_or_skip


def _spark_or_skip():
    spark_or_skip()
    from unisono.catalog.spark_store import spark_session

    # small data, test-only settings: interpreted expressions start sooner than compiled ones; the JVM's
    # quick compiler only, no adaptive re-planning, one partition per shuffle and per local frame (a
    # task per partition is the cost on rows this few)
    return spark_session("local[2]", {
        "spark.driver.memory": "1536m", "spark.sql.shuffle.partitions": "1", "spark.default.parallelism": "1",
        "spark.sql.codegen.wholeStage": "false",
        "spark.sql.codegen.factoryMode": "NO_CODEGEN", "spark.sql.adaptive.enabled": "false",
        "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"})


@pytest.fixture(scope="session")
def spark():
    session = _spark_or_skip()
    yield session
    session.stop()
    # the JVM ends when its stdin closes; waiting for it counts its CPU with the tests' (time, CI)
    from pyspark import SparkContext

    gateway, SparkContext._gateway, SparkContext._jvm = SparkContext._gateway, None, None
    gateway.shutdown()
    gateway.proc.stdin.close()
    gateway.proc.wait(timeout=60)


def _url(path: Path) -> str:
    return f"spark:///{path}"


def _dump(findings) -> list[dict]:
    return [f.model_dump(mode="json") for f in findings]


def _same_results(a, b) -> None:
    for name in ("findings", "waived", "undecided"):
        assert _dump(getattr(a, name)) == _dump(getattr(b, name)), name
    assert a.live_offers == b.live_offers
    assert a.rejected_rows == b.rejected_rows


# -- a generated retailer with five weeks of history: publish, reconcile, waive, reconcile --------

FILES = [("shop", "shop_feed.xml"), ("store", "store_prices.csv"), ("newsletter", "newsletter.html")]


@pytest.fixture(scope="module", params=[(3, 20, 2), (11, 60, 3)], ids=["seed3-20x2", "seed11-60x3"])
def retailer(request, spark, tmp_path_factory):
    """A generated retailer published into the default catalog (DuckDB) and into a Spark one (one project
    folder): the shop and the stores as of five weeks earlier, then all three channels, so the
    reference-price rule has its 30 days of history and judges (every kind of the default rules).
    Two seeds and sizes. Small on purpose: on Spark each statement is a job, whatever the rows; the
    store files are cut into parts of 2 kB, so the executors read each in several."""
    from unisono.api import spark_publish
    from unisono.demo.generator import generate

    seed, skus, stores = request.param
    folder = tmp_path_factory.mktemp("spark-retailer")
    earlier = generate(folder / "earlier", skus=skus, stores=stores, seed=seed, today=date(2026, 10, 15))
    key = generate(folder / "now", skus=skus, stores=stores, seed=seed)
    Project.init(folder / "p")
    projects = [Project.open(folder / "p"), Project.open(folder / "p", _url(folder / "lake"))]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(spark_publish, "PART_BYTES", 2000)
        for project in projects:
            for channel, name in FILES[:2]:
                project.publish(channel, folder / "earlier" / name, published_at=earlier.published_at)
            for channel, name in FILES:
                project.publish(channel, folder / "now" / name, published_at=key.published_at)
    return (*projects, key)


def test_reconcile_runs_and_a_waiver_give_on_spark_what_they_give_on_the_default_catalog(retailer):
    embedded, lake, key = retailer
    first = [project.reconcile(key.check_at) for project in (embedded, lake)]
    _same_results(*first)
    found = [*first[1].findings, *first[1].undecided]
    # every kind of the default rules, the reference prices judged against five weeks of history
    assert {f.kind for f in found} >= {"parity", "presence", "reference_price", "claim"}
    assert any(f.kind == "reference_price" for f in first[1].findings)
    assert {f.status for f in first[1].findings} == {"new"}
    assert list((Path(lake.db_url.removeprefix("spark:///")) / "offer").rglob("*.parquet"))  # the offers, as Parquet
    waived = next(f for f in first[0].findings if f.kind == "parity")
    for project in (embedded, lake):
        project.waive(waived.rule, waived.sku, reason="agreed with the store's manager")
    second = [project.reconcile(key.check_at) for project in (embedded, lake)]
    _same_results(*second)
    assert {f.status for f in second[1].findings} == {"open"}
    assert [f.sku for f in second[1].waived] == [waived.sku]
    assert second[1].run_id == first[1].run_id + 1


def test_each_publication_keeps_its_own_counts_and_is_written_once_on_spark(retailer):
    """`unisono publications` lists on Spark what it lists on the default catalog; each publish wrote its own rows
    (a statement of the same shape as an earlier one runs with its own values, not the earlier ones)."""
    import json

    from unisono.catalog.publications import list_publications

    embedded, lake, _ = retailer

    def listed(project):
        return [(p.id, p.channel, p.offers, p.rejections, n) for p, n in list_publications(project.engine)]

    assert listed(lake) == listed(embedded)
    assert all(offers > 0 for _, _, offers, _, _ in listed(lake))
    manifest = json.loads((Path(lake.db_url.removeprefix("spark:///")) / "_manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["tables"]["publication"]) == 5  # one folder per publish, none rewritten


def test_a_failed_publish_leaves_the_spark_catalog_as_it_was(retailer, tmp_path):
    """A feed cut short fails at its end, after its first offers were written: the manifest (which
    names every table's files) is unchanged and the files that publish wrote are gone."""
    from unisono.domain.models import InputError

    _, lake, _ = retailer
    folder = Path(lake.db_url.removeprefix("spark:///"))
    before = (folder / "_manifest.json").read_bytes(), sorted(folder.rglob("*.parquet"))
    broken = tmp_path / "shop_feed.xml"
    broken.write_text((Path(str(files("unisono.demo") / "data")) / "shop_feed.xml").read_text(encoding="utf-8")[:5000],
                      encoding="utf-8")
    with pytest.raises(InputError):
        lake.publish("shop", broken)
    assert ((folder / "_manifest.json").read_bytes(), sorted(folder.rglob("*.parquet"))) == before


# -- the per-kind scenarios of the rule tests, on a Spark connection ------------------------------

LIVE_SCENARIOS = [
    ("test_rules_parity", "test_a_store_not_granting_the_shop_sale_is_flagged_with_a_readable_message"),
    ("test_rules_parity", "test_the_newsletter_price_is_compared_with_the_shop_and_each_store"),
    ("test_rules_presence", "test_an_advertised_product_missing_from_the_shop_is_flagged"),
    ("test_rules_expression", "test_a_string_literal_containing_sql_is_just_a_literal"),
    ("test_rules_window", "test_a_store_promotion_starting_a_day_later_is_flagged_with_a_readable_message"),
    ("test_rules_promotion", "test_a_store_charging_the_regular_price_is_flagged_with_a_readable_message"),
    ("test_rules_promotion", "test_exclusive_to_flags_a_store_granting_an_online_only_price"),
    ("test_rules_claim", "test_in_all_stores_counts_every_store_of_the_catalog_and_the_whole_window"),
    ("test_rules_claim_exclusive", "test_without_the_claim_or_outside_its_window_parity_compares_the_sale_as_usual"),
    ("test_rules_content", "test_titles_are_compared_by_similarity_not_by_spelling"),
]

def _scenario(module: str, name: str):
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("module,name", LIVE_SCENARIOS, ids=[n for _, n in LIVE_SCENARIOS])
def test_rule_scenario_holds_on_spark(spark, tmp_path, module, name):
    """The scenario's own assertions (the findings SQLite gives) hold on a Spark connection."""
    from unisono.rules.testing import live_connection

    with live_connection(_url(tmp_path / "lake")) as conn:
        _scenario(module, name)(conn)


def test_a_rule_value_with_quotes_and_backslashes_is_a_value_not_sql(spark, tmp_path):
    from unisono.rules import run_rules
    from unisono.rules.expression import ExpressionRule
    from unisono.rules.testing import add_offers, context, live_connection, offer

    title = "O'Neill \\' Jacke \\\\ 'x' \\"
    rule = ExpressionRule.model_validate({"id": "odd-title", "kind": "expression", "severity": "warning",
                                          "when": "shop.title = '" + title.replace("'", "''") + "'"})
    found = {}
    for url in ("sqlite://", _url(tmp_path / "lake")):
        with live_connection(url) as conn:
            add_offers(conn, offer("shop", "online", "odd", "1.00", title=title),
                       offer("shop", "online", "plain", "1.00", title="O'Neill"))
            found[url] = [f.sku for f in run_rules(conn, [rule], context())]
    assert list(found.values()) == [["odd"], ["odd"]]



def test_init_writes_a_spark_catalog_into_the_project(spark, tmp_path):
    """`unisono init --db spark:///…` takes the URL (init refuses a URL only when its driver is missing)."""
    from click.testing import CliRunner

    from unisono.cli.main import cli

    url = _url(tmp_path / "lake")
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "p"), "--db", url])
    assert result.exit_code == 0, result.output
    assert Project.open(tmp_path / "p").db_url == url


# -- a store file read by Spark's executors, in parts -------------------------------------------

def _stored(project, publication_id: int) -> tuple[list, list]:
    """A publication's offers (all their columns but the id) and its rejections, in line order."""
    from sqlalchemy import select

    from unisono.catalog.publications import rejections_of
    from unisono.catalog.tables import OfferRow

    o = OfferRow.__table__
    with project.engine.connect() as conn:
        offers = conn.execute(select(*[c for c in o.columns if c.name != "id"])
                              .where(o.c.publication_id == publication_id)).all()
    by_line = sorted(offers, key=lambda row: int(row.source.rsplit(":", 1)[1]))
    return [tuple(row) for row in by_line], list(rejections_of(project.engine, publication_id))


def test_a_store_file_read_in_parts_by_the_executors_is_stored_as_on_the_default_catalog(spark, tmp_path, monkeypatch):
    """Cut into parts of a few hundred bytes, the rows of one store and sku fall into different
    parts: the duplicates found across them, the rejections (with their lines, reasons and rows),
    the offers of the row path, the notes and the counts are those of the default catalog."""
    from tests.test_store_parts import _messy
    from unisono.api import spark_publish

    monkeypatch.setattr(spark_publish, "PART_BYTES", 700)
    path = _messy(tmp_path / "filiale_1000.csv", rows=300)
    Project.init(tmp_path / "p")
    embedded, lake = Project.open(tmp_path / "p"), Project.open(tmp_path / "p", _url(tmp_path / "lake"))
    published = [p.publish("store", path, published_at=datetime(2026, 11, 20, 5, tzinfo=timezone.utc))
                 for p in (embedded, lake)]
    assert published[1].as_json() == published[0].as_json()
    rejections = _stored(embedded, 1)[1]
    assert any("duplicate row" in reason for _, _, reason, _ in rejections)
    assert _stored(lake, 1) == _stored(embedded, 1)
    empty = tmp_path / "filiale_1001.csv"  # a header, no rows: no part to read
    empty.write_text("Filiale;Artikelnummer;VK-Preis\r\n", encoding="cp1252")
    plain = tmp_path / "filiale_1002.csv"
    plain.write_text("Filiale;Artikelnummer;VK-Preis\r\n1002;200001;9,99\r\n1002;200002;19,99\r\n", encoding="cp1252")
    for day, file in ((21, empty), (22, plain)):
        published = [p.publish("store", file, published_at=datetime(2026, 11, day, 5, tzinfo=timezone.utc))
                     for p in (embedded, lake)]
        assert published[1].as_json() == published[0].as_json()
        assert (published[1].offers, any(n.endswith("has a header but no rows") for n in published[1].notes)) == \
            ((0, True) if file == empty else (2, False))
    import pyarrow.parquet as pq  # a BI tool reads each table's files, every publication's, as one table

    for table in (tmp_path / "lake").iterdir():
        schemas = {pq.read_schema(f).remove_metadata() for f in table.rglob("*.parquet")}
        assert len(schemas) <= 1, (table.name, schemas)


def test_a_store_publish_that_fails_after_the_executors_wrote_leaves_the_spark_catalog_as_it_was(spark, tmp_path,
                                                                                              monkeypatch):
    from tests.test_store_parts import _messy
    from unisono.api import spark_publish
    from unisono.domain.models import InputError

    path = _messy(tmp_path / "filiale_1000.csv", rows=50)
    Project.init(tmp_path / "p")
    lake = Project.open(tmp_path / "p", _url(tmp_path / "lake"))
    lake.publish("shop", Path(str(files("unisono.demo") / "data")) / "shop_feed.xml")
    folder = tmp_path / "lake"
    before = (folder / "_manifest.json").read_bytes(), sorted(folder.rglob("*.parquet"))

    def broken(*args):
        assert list(folder.rglob("exec-*.parquet"))  # the executors wrote theirs
        raise InputError("the disk filled up")

    monkeypatch.setattr(spark_publish, "_duplicates", broken)
    with pytest.raises(InputError):
        lake.publish("store", path)
    assert ((folder / "_manifest.json").read_bytes(), sorted(folder.rglob("*.parquet"))) == before


def test_skus_excel_stripped_of_their_zeros_are_said_on_spark(spark, tmp_path):
    """Spark's two-argument ltrim takes its arguments the other way round: without the dialect's own
    form the note never came (every SKU trimmed to nothing)."""
    from tests.test_sku_shapes import test_skus_excel_stripped_of_zeros_or_in_another_case_are_said_on_every_backend
    from unisono.catalog.db import open_catalog

    test_skus_excel_stripped_of_zeros_or_in_another_case_are_said_on_every_backend(open_catalog(_url(tmp_path / "lake")))
