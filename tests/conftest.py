"""Shared fixtures: a catalog on SQLite, on DuckDB (a file, embedded), and on a real PostgreSQL server
when one is given."""
from __future__ import annotations

import os
import shutil

import pytest
from unisono.catalog.db import open_catalog
from unisono.catalog.tables import metadata

POSTGRES_URL = os.environ.get("UNISONO_TEST_POSTGRES")


def _postgres_or_skip() -> str:
    if POSTGRES_URL:
        return POSTGRES_URL
    if os.environ.get("CI"):
        pytest.fail("CI must provide a PostgreSQL server in UNISONO_TEST_POSTGRES (.ci/run starts one)")
    pytest.skip("no PostgreSQL server: set UNISONO_TEST_POSTGRES (bash .ci/run starts one)")


def spark_or_skip(java: bool = True) -> None:
    """Spark needs pyspark (the test extra) and a Java runtime: CI has both (.ci/run installs Java).
    java=False: a test that starts no JVM (pyspark's modules only)."""
    missing = None
    try:
        import pyspark  # noqa: F401
    except ImportError:
        missing = "pyspark is not installed (pip install -e '.[test]')"
    if missing is None and java and not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        missing = "no Java runtime (Spark needs Java 17 or later; .ci/run installs openjdk-17-jre-headless)"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Spark tests: {missing}")
        pytest.skip(missing)


@pytest.fixture(params=["sqlite", "duckdb", "postgresql"])
def catalog(request, tmp_path):
    """An empty catalog on each backend the project supports."""
    if request.param in ("sqlite", "duckdb"):
        engine = open_catalog(f"{request.param}:///{tmp_path / ('catalog.' + request.param)}")
        yield engine
        engine.dispose()
        return
    engine = open_catalog(_postgres_or_skip())
    metadata.drop_all(engine)
    metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def demo_project(tmp_path_factory):
    """A project with the demo's three files published (as of 19.11.2026), one per test module."""
    import shutil
    from importlib.resources import files
    from pathlib import Path

    from click.testing import CliRunner

    from unisono.cli.main import cli

    data = Path(str(files("unisono.demo") / "data"))
    project = tmp_path_factory.mktemp("demo") / "p"
    assert CliRunner().invoke(cli, ["init", str(project)]).exit_code == 0
    for channel, name in [("shop", "shop_feed.xml"), ("store", "store_prices.csv"), ("newsletter", "newsletter.html")]:
        shutil.copy(data / name, project / name)
        result = CliRunner().invoke(cli, ["publish", channel, str(project / name), "--published-at", "2026-11-19T06:00",
                                          "--project", str(project)])
        assert result.exit_code == 0, result.output
    return project
