"""`unisono rules preview FILE`: counts per rule on the catalog, the difference against the rules in
force, and nothing stored."""
from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from unisono.cli.main import cli

DEMO = Path(str(files("unisono.demo") / "data"))
AT = json.loads((DEMO / "answer_key.json").read_text(encoding="utf-8"))["check_at"]

ONE_STORE = """\
rules:
  - id: price-parity
    title: Store 1002 charges what the shop charges
    kind: parity
    channels: [shop, store]
    fields: [price, effective_price]
    tolerance: 0.01
    where: {store: "1002"}
  - id: newsletter-typo-guard
    kind: expression
    when: newsletter.effective_price < shop.price * 0.8
    severity: warning
"""


def run(project: Path, *args: str):
    return CliRunner().invoke(cli, list(args), env={"UNISONO_PROJECT": str(project)}, catch_exceptions=False)


@pytest.fixture(scope="module")
def demo(demo_project) -> Path:
    assert run(demo_project, "check", "--at", AT, "--save").exit_code == 1  # one stored run, to see none is added
    return demo_project


def stored(project: Path) -> tuple[int, int]:
    from unisono.api.project import Project
    from unisono.catalog.tables import FindingRow, Run

    engine = Project.open(project).engine
    with engine.connect() as conn:
        counts = tuple(conn.execute(select(func.count()).select_from(t.__table__)).scalar_one() for t in (Run, FindingRow))
    engine.dispose()
    return counts


def in_force(project: Path, rule: str) -> list[dict]:
    doc = json.loads(run(project, "check", "--at", AT, "--format", "json", "--rule", rule).output)
    return doc["findings"]


def test_preview_counts_per_rule_and_the_difference_against_the_rules_in_force(demo, tmp_path):
    proposed = tmp_path / "one-store.yaml"
    proposed.write_text(ONE_STORE, encoding="utf-8")
    before = stored(demo)
    result = run(demo, "rules", "preview", str(proposed), "--at", AT, "--format", "json")
    assert result.exit_code == 0, result.output
    assert stored(demo) == before  # no run, no finding stored
    doc = {r["rule"]: r for r in json.loads(result.output)["rules"]}
    parity = in_force(demo, "price-parity")
    at_1002 = [f for f in parity if "store:1002" in f["locations"]]
    assert doc["price-parity"]["in_force"] == len(parity)
    assert doc["price-parity"]["findings"] == len(at_1002) > 0
    assert (doc["price-parity"]["added"], doc["price-parity"]["removed"]) == (0, len(parity) - len(at_1002)) != (0, 0)
    assert doc["newsletter-typo-guard"]["in_force"] is None  # a new rule: everything it finds is added
    assert doc["newsletter-typo-guard"]["added"] == doc["newsletter-typo-guard"]["findings"] > 0


def test_the_text_shows_counts_a_sample_and_the_total(demo, tmp_path):
    proposed = tmp_path / "one-store.yaml"
    proposed.write_text(ONE_STORE, encoding="utf-8")
    out = run(demo, "rules", "preview", str(proposed), "--at", AT, "--sample", "2").output
    parity = len(in_force(demo, "price-parity"))
    removed = parity - 2
    assert f"price-parity (parity, error): 2 findings; +0 / −{removed} against the rule in force ({parity})" in out
    assert "  − Store 1003 charges" in out  # what the narrower rule no longer reports
    assert "newsletter-typo-guard (expression, warning): 7 findings; new rule" in out
    assert "  … and 5 more" in out
    assert f"In total: +7 / −{removed} findings against the rules in force." in out


def test_a_broken_rule_file_is_refused_with_its_line(demo, tmp_path):
    proposed = tmp_path / "broken.yaml"
    proposed.write_text(ONE_STORE.replace("kind: parity", "kind: parrity"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["rules", "preview", str(proposed)], env={"UNISONO_PROJECT": str(demo)})
    assert result.exit_code == 2
    assert f"{proposed}:4:" in result.output and "did you mean 'parity'?" in result.output
