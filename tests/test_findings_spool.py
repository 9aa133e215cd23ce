"""Findings on their way from the rules to storage and output (catalog/spool.py): listed in the order
checks have always listed them, and never all held in memory at once."""
from __future__ import annotations

import gc
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from unisono.catalog import spool as spool_module
from unisono.catalog.spool import FindingSpool
from unisono.cli.main import cli
from unisono.domain.findings import Finding, Severity

AT = "2026-11-24T12:00"
text = st.text(alphabet=st.sampled_from(["a", "b", "ä", "Z", "1", " ", ":", "é", "\u00ff", "𝄞"]), max_size=3)


@st.composite
def findings(draw):
    start = draw(st.none() | st.integers(0, 3))
    return Finding(rule=draw(text), kind="parity", severity=draw(st.sampled_from(list(Severity))), sku=draw(text),
                   channels=["shop"], locations=draw(st.lists(text, max_size=3)), values={}, message="m", sources=[],
                   valid_from=None if start is None else datetime(2026, 11, 24, tzinfo=timezone.utc) + timedelta(days=start))


@settings(max_examples=60, deadline=None)
@given(st.lists(findings(), max_size=40))
def test_the_spool_lists_findings_in_the_order_checks_always_listed_them(found):
    spool = FindingSpool()
    for i, f in enumerate(found):
        f.extra["n"] = str(i)  # which one came when: equal keys keep the order they came in
        spool.add("findings", f)
    key = lambda f: (-f.severity.rank, f.rule, f.sku, f.locations, f.valid_from.timestamp() if f.valid_from else 0)  # noqa: E731
    expected = [f.extra["n"] for f in sorted(found, key=key)]
    view = spool.view("findings")
    assert [f.extra["n"] for f in view] == expected
    assert len(view) == len(found) and bool(view) == bool(found)
    assert [f.extra["n"] for f in view[:5]] == expected[:5]
    assert view == sorted(found, key=key)
    first = view.filter(lambda f: f.severity == Severity.blocker)
    assert [f.extra["n"] for f in first] == [n for n, f in zip(expected, sorted(found, key=key))
                                               if f.severity == Severity.blocker]


def _project(tmp_path: Path) -> Path:
    """A generated retailer of 300 products and two stores whose store 1001 charges 1 EUR more for
    everything: a parity finding per product and far more findings than a chunk."""
    data = tmp_path / "data"
    assert CliRunner().invoke(cli, ["generate", str(data), "--skus", "300", "--stores", "2", "--seed", "3"]).exit_code == 0
    lines = (data / "store_prices.csv").read_text(encoding="cp1252").splitlines()
    for i, line in enumerate(lines[1:], 1):
        cells = line.split(";")
        if cells[0] == "1001":
            cells[4] = f"{float(cells[4].replace(',', '.')) + 1:.2f}".replace(".", ",")
            lines[i] = ";".join(cells)
    (data / "store_prices.csv").write_text("\n".join(lines) + "\n", encoding="cp1252")
    project = tmp_path / "p"
    assert CliRunner().invoke(cli, ["init", str(project)]).exit_code == 0
    for channel, name in [("shop", "shop_feed.xml"), ("store", "store_prices.csv"), ("newsletter", "newsletter.html")]:
        result = CliRunner().invoke(cli, ["publish", channel, str(data / name), "--published-at", "2026-11-19T06:00",
                                          "--project", str(project)])
        assert result.exit_code == 0, result.output
    return project


def test_a_reconcile_holds_a_chunk_of_findings_not_all_of_them(tmp_path, monkeypatch):
    project = _project(tmp_path)
    monkeypatch.setattr(spool_module, "CHUNK", 20)
    held: list[int] = []
    flush = FindingSpool._flush

    def counting_flush(self):  # how many findings are alive whenever a chunk goes to the spool
        held.append(sum(isinstance(o, Finding) for o in gc.get_objects()))
        flush(self)

    monkeypatch.setattr(FindingSpool, "_flush", counting_flush)
    first = CliRunner().invoke(cli, ["reconcile", "--at", AT, "--format", "json", "--project", str(project)])
    doc = json.loads(first.output)
    assert first.exit_code == 1 and doc["summary"]["findings"] >= 250
    assert doc["summary"]["status"] == {"new": doc["summary"]["findings"], "open": 0, "resolved": 0}
    assert max(held) <= 3 * 20, held  # not one per finding: the chunk being written, and what a rule keeps

    # the same instant again: every finding still open, in the same order, read back through chunks
    again = json.loads(CliRunner().invoke(cli, ["reconcile", "--at", AT, "--format", "json", "--project",
                                                str(project)]).output)
    assert [f["fingerprint"] for f in again["findings"]] == [f["fingerprint"] for f in doc["findings"]]
    assert {f["status"] for f in again["findings"]} == {"open"}
    assert again["summary"]["status"] == {"new": 0, "open": doc["summary"]["findings"], "resolved": 0}
