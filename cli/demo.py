"""`unisono demo`: the whole flow on the shipped demo retailer, in a temporary project."""
from __future__ import annotations

import json
import shutil
import tempfile
from datetime import datetime
from importlib.resources import as_file, files
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console

from unisono.api.project import Project
from unisono.cli import output
from unisono.domain.findings import Finding, Severity

DEMO_FILES = [("shop", "shop_feed.xml"), ("store", "store_prices.csv"), ("newsletter", "newsletter.html")]
PUBLISHED_AT = "2026-11-19T06:00:00+01:00"  # the channels published the morning before the campaign


def run_demo(console: Console, keep: Path | None) -> int:
    workdir = keep or Path(tempfile.mkdtemp(prefix="unisono-demo-"))
    try:
        return _run(console, workdir)
    finally:
        if keep is None:
            shutil.rmtree(workdir, ignore_errors=True)


def _run(console: Console, workdir: Path) -> int:
    with as_file(files("unisono.demo") / "data") as data:
        key = json.loads((data / "answer_key.json").read_text(encoding="utf-8"))
        at = datetime.fromisoformat(key["check_at"]).astimezone(project_tz := ZoneInfo("Europe/Berlin"))
        console.rule("[bold]unisono demo: Bergwelt Outdoor, Black Friday week")
        project = Project.init(workdir / "bergwelt", timezone_name=project_tz.key)
        console.print(f"$ unisono init {project.path}")
        for channel, name in DEMO_FILES:
            src = project.path / name
            shutil.copyfile(data / name, src)
            result = project.publish(channel, src, published_at=datetime.fromisoformat(PUBLISHED_AT))
            console.print(f"$ unisono publish {channel} {name}")
            console.print(f"  {result.offers} offers, {result.claims} claims, {result.rejections} rejections "
                          f"({', '.join(result.locations)})")
    console.print(f"$ unisono check --at {at.isoformat()}")
    result = project.check(at)
    summary = result.summary(Severity.error)
    output.print_report(console, result, summary, project.config.tz)
    missed, unexpected = compare_with_answer_key(result.findings, key["expected_findings"])
    if missed or unexpected:
        console.print(f"[red]The demo expected {len(key['expected_findings'])} findings: {len(missed)} missed, "
                      f"{len(unexpected)} unexpected.[/red] This is a bug in unisono; please report it.")
        return 1
    console.print(f"\n[green]As planted:[/green] the demo hid {len(key['planted'])} inconsistencies; the "
                  f"{len(key['expected_findings'])} findings they cause at this instant were all found, nothing else "
                  f"(one plant is a store missing a sale that starts 27.11.: `check --window` shows it). A real "
                  f"`unisono check` would exit {1 if summary['failed'] else 0} here, failing a release pipeline.")
    console.print(f"Keep the project to explore it: `unisono demo --keep DIR`, then "
                  f"`unisono check --project DIR/bergwelt --at {at.isoformat()} --format json`.")
    return 0


def compare_with_answer_key(findings: list[Finding], expected: list[dict]) -> tuple[list[dict], list[Finding]]:
    """The expected findings nobody found, and the findings nobody expected."""
    left = list(findings)
    missed = []
    for e in expected:
        hit = next((f for f in left if f.rule == e["rule"] and f.sku == e["sku"] and e["location"] in f.locations), None)
        if hit is None:
            missed.append(e)
        else:
            left.remove(hit)
    return missed, left
