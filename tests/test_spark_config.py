"""Running the Spark catalog as a user sets it up: the `spark:` section of unisono.yaml, --db naming a lake
that is not there, and two commands writing one lake at once.

Most of this starts no Spark: the config is read, the URL built and the dialect's arguments checked
without a JVM. The writer lock is tested with real `unisono publish` processes (each starts its own
local Spark); the lake they wrote is read back with pyarrow, as a BI tool would.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from unisono.api.project import Project
from unisono.cli.main import cli
from unisono.domain.config import ConfigError
from tests.conftest import spark_or_skip

# settings that start a small local Spark sooner (as tests/test_spark_engine.py's session): here they
# travel the way a user's do, through unisono.yaml's `spark:` section
QUICK = {"spark.driver.memory": "768m", "spark.sql.shuffle.partitions": 1, "spark.default.parallelism": 1,
         "spark.sql.codegen.wholeStage": False, "spark.sql.codegen.factoryMode": "NO_CODEGEN",
         "spark.sql.adaptive.enabled": False,
         "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"}


def _project(folder: Path, yaml_text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "unisono.yaml").write_text(yaml_text, encoding="utf-8")
    (folder / "rules").mkdir(exist_ok=True)
    return folder


# -- the spark: section -----------------------------------------------------------------------------

def test_the_spark_section_names_the_lake_master_and_options(tmp_path):
    folder = _project(tmp_path / "p", "spark:\n  master: local[4]\n  lake: lake\n  options:\n"
                                      "    spark.executor.memory: 4g\n    spark.sql.shuffle.partitions: 64\n"
                                      "    spark.ui.enabled: false\n")
    project = Project.open(folder)
    assert project.db_url == f"spark:///{(folder / 'lake').resolve()}"  # relative: from the project folder
    assert project.config.spark.master == "local[4]"
    # numbers and YAML's false reach Spark as it spells them
    assert project.config.spark.options == {"spark.executor.memory": "4g", "spark.sql.shuffle.partitions": "64",
                                            "spark.ui.enabled": "false"}


def test_database_spark_url_alone_keeps_working_and_is_read_from_the_project_folder(tmp_path):
    absolute = _project(tmp_path / "a", f"database: spark:///{tmp_path / 'lake'}\n")
    assert Project.open(absolute).db_url == f"spark:///{tmp_path / 'lake'}"
    relative = _project(tmp_path / "r", "database: spark:///lake\n")
    assert Project.open(relative).db_url == f"spark:///{(relative / 'lake').resolve()}"
    s3 = _project(tmp_path / "s", "database: spark:///s3a://bucket/lake\n")  # no folder of ours: left as it is
    assert Project.open(s3).db_url == "spark:///s3a://bucket/lake"


def test_the_command_line_catalog_beats_the_spark_lake(tmp_path):
    folder = _project(tmp_path / "p", "spark: {lake: lake}\n")
    assert Project.open(folder, "sqlite:///other.db").db_url == "sqlite:///other.db"


def test_the_spark_example_unisono_init_writes_is_valid_once_uncommented(tmp_path):
    Project.init(tmp_path / "p", database="spark:///lake")
    config = tmp_path / "p" / "unisono.yaml"
    lines = config.read_text(encoding="utf-8").splitlines()
    start = lines.index("# spark:")
    block = [line[2:] for line in lines[start:] if line.startswith("# ")]  # to the end of the commented block
    block = block[:next((i for i, line in enumerate(block[1:], 1) if not line.startswith(" ")), len(block))]
    assert len(block) > 1
    config.write_text("\n".join(lines + block) + "\n", encoding="utf-8")
    project = Project.open(tmp_path / "p")
    assert project.config.spark.master and project.config.spark.options
    assert project.db_url == f"spark:///{(tmp_path / 'p' / 'lake').resolve()}"


@pytest.mark.parametrize("yaml_text,message", [
    ("spark: {mastr: local}\n", "spark.mastr: Extra inputs are not permitted"),
    ("spark: {master: yarm}\n", "spark.master: 'yarm' is not a Spark master URL"),
    ("spark: {master: [local]}\n", "spark.master: Input should be a valid string"),
    ("spark: {lake: 3}\n", "spark.lake: Input should be a valid string"),
    ("spark: [local]\n", "spark: Input should be a valid dictionary"),
    ("spark: {options: [spark.ui.enabled]}\n", "spark.options: Input should be a valid dictionary"),
    ("spark: {options: {executor.memory: 4g}}\n", "'executor.memory' is not a Spark setting"),
    ("spark: {options: {spark.jars: [a.jar, b.jar]}}\n", "spark.jars: list ['a.jar', 'b.jar']: a Spark setting is "
                                                         "text, a number, true or false"),
    ("spark: {options: {spark.executor.memory: }}\n", "spark.executor.memory: no value"),
    ("spark: {options: {spark.master: yarn}}\n", "spark.master is set by `master:`"),
    ("database: sqlite:///c.db\nspark: {lake: lake}\n", "both name the catalog: keep one"),
])
def test_a_wrong_spark_section_is_one_line_naming_the_key(tmp_path, yaml_text, message):
    folder = _project(tmp_path / "p", yaml_text)
    with pytest.raises(ConfigError) as raised:
        Project.open(folder)
    assert message in str(raised.value)
    result = CliRunner().invoke(cli, ["check", "--project", str(folder)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.output


def test_the_sections_master_and_options_reach_the_spark_driver_and_the_urls_own_win(tmp_path, monkeypatch):
    """Project -> engine -> dialect -> the session's builder: what unisono.yaml says arrives, and a
    setting in the URL's query (--db spark:///lake?spark.x=…) beats the file's."""
    spark_or_skip(java=False)
    from unisono.catalog import spark_dbapi
    from unisono.catalog.db import CatalogError

    asked = []

    def no_spark(master, options):  # where the SparkSession would start: record, and stop there
        asked.append((master, options))
        raise RuntimeError("not starting Spark in this test")

    monkeypatch.setattr(spark_dbapi, "spark_session", no_spark)
    folder = _project(tmp_path / "p", "spark:\n  master: local[3]\n  options: {spark.executor.memory: 2g, "
                                      "spark.sql.shuffle.partitions: 8}\n")
    for db in (f"spark:///{tmp_path / 'lake'}", f"spark:///{tmp_path / 'lake2'}?spark.sql.shuffle.partitions=2"):
        with pytest.raises(CatalogError, match="Spark did not start"):
            _ = Project.open(folder, db).engine
    assert asked == [("local[3]", {"spark.executor.memory": "2g", "spark.sql.shuffle.partitions": "8"}),
                     ("local[3]", {"spark.executor.memory": "2g", "spark.sql.shuffle.partitions": "2"})]


class _Builder:
    """SparkSession.builder's part spark_session uses, recording what it is given."""

    def __init__(self):
        self.master_url, self.settings = None, {}

    def appName(self, _name):  # noqa: N802 (Spark's name)
        return self

    def master(self, url):
        self.master_url = url
        return self

    def config(self, key, value):
        self.settings[key] = value
        return self

    def getOrCreate(self):  # noqa: N802
        raise RuntimeError("recorded")


@pytest.mark.parametrize("master,env,local", [(None, {}, True), ("local[4]", {}, True),
                                              ("spark://head:7077", {}, False), ("yarn", {}, False),
                                              (None, {"SPARK_HOME": "/opt/spark"}, False)])
def test_only_local_mode_binds_the_driver_to_the_loopback(monkeypatch, master, env, local):
    """A cluster's executors must reach the driver by its address: 127.0.0.1 and the few shuffle
    partitions are local mode's; under spark-submit (SPARK_HOME, no master of ours) its --master rules."""
    spark_or_skip(java=False)
    from pyspark.sql import SparkSession

    from unisono.catalog.spark_store import spark_session

    builder = _Builder()
    monkeypatch.setattr(SparkSession, "getActiveSession", classmethod(lambda cls: None))
    monkeypatch.setattr(SparkSession, "builder", builder)
    monkeypatch.delenv("SPARK_HOME", raising=False)
    monkeypatch.delenv("SPARK_LOCAL_IP", raising=False)  # (local mode sets it: restored afterwards)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(RuntimeError, match="recorded"):
        spark_session(master, {"spark.sql.shuffle.partitions": "16"} if not local else None)
    assert builder.master_url == (master or ("local[2]" if not env else None))
    assert (builder.settings.get("spark.driver.host") == "127.0.0.1") is local
    assert builder.settings["spark.sql.session.timeZone"] == "UTC"
    assert builder.settings["spark.sql.shuffle.partitions"] == ("4" if local else "16")  # the user's, on a cluster
    # no ./spark-warehouse left wherever unisono runs in local mode (a cluster's own setting stays)
    warehouse = builder.settings.get("spark.sql.warehouse.dir")
    assert (warehouse is not None and Path(warehouse).parent == Path(tempfile.gettempdir())) is local


# -- --db naming a lake that is not there ----------------------------------------------------------

@pytest.mark.parametrize("command", [["check"], ["reconcile"], ["runs"], ["publications"], ["waivers"]])
def test_a_lake_that_does_not_exist_is_refused_by_every_command_but_publish(tmp_path, command):
    folder = _project(tmp_path / "p", "")
    missing = tmp_path / "no-lake"
    result = CliRunner().invoke(cli, [*command, "--project", str(folder), "--db", f"spark:///{missing}"])
    assert result.exit_code == 2
    assert f"no catalog at {missing}: nothing was published there" in result.output
    assert not missing.exists()  # nothing made there either
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(cli, [*command, "--project", str(folder)], env={"UNISONO_DB": f"spark:///{empty}"})
    assert result.exit_code == 2
    assert f"no catalog at {empty} (the folder has no _manifest.json)" in result.output
    assert list(empty.iterdir()) == []


def test_an_object_store_lake_passes_the_check_and_is_refused_in_one_line_where_it_is_opened(tmp_path):
    """s3a:// cannot be looked at from here; the catalog then says plainly that it cannot write there
    (rather than making a local folder named s3a:)."""
    spark_or_skip(java=False)
    folder = _project(tmp_path / "p", "")
    result = CliRunner().invoke(cli, ["runs", "--project", str(folder), "--db", "spark:///s3a://bucket/lake"])
    assert result.exit_code == 2
    assert "no catalog at" not in result.output
    assert "the lake s3a://bucket/lake is on an object store: not supported yet" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (folder / "s3a:").exists() and not Path("s3a:").exists()


# -- two writers, one lake: real processes ---------------------------------------------------------

def _publish(folder: Path, file: Path, timeout: str) -> subprocess.Popen:
    env = {**os.environ, "UNISONO_BUSY_TIMEOUT": timeout, "PYTHONUNBUFFERED": "1"}
    env.pop("UNISONO_DB", None)
    return subprocess.Popen([sys.executable, "-m", "unisono.cli.main", "publish", "store", str(file), "--project",
                             str(folder), "--published-at", "2026-11-19T06:00", "--format", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _wait_for_line(process: subprocess.Popen, text: str, limit: float = 300) -> str:
    """stderr up to a line holding `text` (the process keeps running); fails if it ends first."""
    seen, deadline = [], time.monotonic() + limit  # (a bound on a hang, not an assertion on time)
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            pytest.fail(f"the publish ended without saying {text!r}: {''.join(seen)}{process.stdout.read()}")
        seen.append(line)
        if text in line:
            return "".join(seen)
    pytest.fail(f"no {text!r} within {limit} s: {''.join(seen)}")


def _child_command_lines(pid: int) -> list[str]:
    """The command lines of a process's descendants (Linux /proc): its Spark driver JVM among them."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # (a process that ended meanwhile)
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    family, lines = {pid}, []
    for child in sorted(parents):
        chain, seen = child, set()
        while chain in parents and chain not in seen and chain not in family:
            seen.add(chain)
            chain = parents[chain]
        if chain in family and child != pid:
            try:
                lines.append((Path("/proc") / str(child) / "cmdline").read_bytes().replace(b"\0", b" ").decode())
            except OSError:
                continue
    return lines


def _lake_table(lake: Path, name: str):
    import pyarrow.parquet as pq

    manifest = json.loads((lake / "_manifest.json").read_text(encoding="utf-8"))
    return [row for folder in manifest["tables"][name] for row in pq.read_table(lake / folder).to_pylist()]


def test_two_publishes_into_one_lake_take_turns_and_a_third_gives_up_in_one_line(tmp_path):
    """While another writer holds the lake (here the test, through the same lock unisono takes), two
    `unisono publish` processes wait, saying so, and a third with a short UNISONO_BUSY_TIMEOUT gives up
    in one line, storing nothing. Released, the two write one after the other: both publications
    are in the lake, each with its own ids and all its offers (none lost to the other's manifest)."""
    spark_or_skip()
    from unisono.catalog.spark_store import ParquetStore
    from unisono.demo.generator import generate

    for seed in (3, 4):
        generate(tmp_path / f"seed{seed}", skus=12, stores=2, seed=seed, today=date(2026, 11, 19))
    lake = tmp_path / "lake"
    options = "".join(f"    {key}: {json.dumps(value)}\n" for key, value in QUICK.items())
    folder = _project(tmp_path / "p", f"spark:\n  master: local[1]\n  lake: {lake}\n  options:\n{options}")

    holder, started = ParquetStore(None, lake), []
    assert holder.lock_writers()
    try:
        try:
            waiters = [_publish(folder, tmp_path / f"seed{seed}" / "store_prices.csv", "600") for seed in (3, 4)]
            started += waiters
            impatient = _publish(folder, tmp_path / "seed3" / "store_prices.csv", "0.5")
            started.append(impatient)
            out, err = impatient.communicate(timeout=600)
            assert impatient.returncode == 2, err
            assert err.strip().splitlines()[-1].startswith(f"Error: the Spark catalog {lake} is busy: another "
                                                           "unisono command kept writing it for 0.5 s")
            assert "Traceback" not in err and out == ""
            said = [_wait_for_line(p, "waiting for another unisono command to finish writing the Spark catalog")
                    for p in waiters]
            assert all(str(lake) in text for text in said)
            if Path("/proc/self/stat").exists():  # unisono.yaml's master and options started the driver's JVM
                java = [line for line in _child_command_lines(waiters[0].pid)
                        if "org.apache.spark.deploy.SparkSubmit" in line]
                assert java and "-XX:TieredStopAtLevel=1" in java[0] and "spark.master=local[1]" in java[0], java
        finally:
            holder.unlock_writers()
        results = []
        for p in waiters:
            out, err = p.communicate(timeout=600)
            assert p.returncode == 0, err
            results.append(json.loads(out))
    finally:
        for p in started:  # (a failed assertion leaves none of them running)
            if p.poll() is None:
                p.kill()
                p.wait()
    assert sorted(r["publication"]["id"] for r in results) == [1, 2]
    publications = {row["id"]: row for row in _lake_table(lake, "publication")}
    assert sorted(publications) == [1, 2]
    offers = _lake_table(lake, "offer")
    assert len({row["id"] for row in offers}) == len(offers)  # no id numbered twice
    for r in results:
        assert r["offers"] > 0
        assert publications[r["publication"]["id"]]["offers"] == r["offers"]
        assert sum(row["publication_id"] == r["publication"]["id"] for row in offers) == r["offers"]


@pytest.mark.parametrize("java, said", [
    ("An error occurred while calling o953.localCheckpoint.\n: org.apache.spark.SparkException: Job aborted due to "
     "stage failure: Task 1 in stage 4.0 failed 1 times, most recent failure: java.lang.OutOfMemoryError: Java heap "
     "space\n\tat java.base/java.util.Arrays.copyOf(Arrays.java:3537)",
     "Spark ran out of memory (java.lang.OutOfMemoryError); give it more: spark.driver.memory in local mode, "
     "spark.executor.memory on a cluster, under spark: options: in unisono.yaml"),
    ("An error occurred while calling o12.sql.\n: org.apache.spark.sql.AnalysisException: [TABLE_OR_VIEW_NOT_FOUND] x"
     "\n\tat org.apache.spark.sql.Dataset.ofRows",
     "An error occurred while calling o12.sql. org.apache.spark.sql.AnalysisException: [TABLE_OR_VIEW_NOT_FOUND] x"),
])
def test_a_java_error_is_said_by_its_cause_not_by_the_call_that_met_it(java, said):
    """A reconcile at 1M x 20 on local mode's 1 GB stopped with only "An error occurred while calling
    o953.localCheckpoint.": nothing said what to do."""
    spark_or_skip(java=False)
    from unisono.catalog.spark_dbapi import _first_line

    assert _first_line(Exception(java)) == said
