"""`unisono demo`: the whole flow on the shipped demo retailer, in a temporary project."""
from __future__ import annotations

import json
import shlex
import shutil
import tempfile
from datetime import datetime
from importlib.resources import as_file, files
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console

from unisono.api.project import Project
from unisono.cli import output
from unisono.cli.text import plural
from unisono.domain.findings import Finding, Severity

DEMO_FILES = [("shop", "shop_feed.xml"), ("store", "store_prices.csv"), ("newsletter", "newsletter.html")]


def replay_commands(data: Path | None, published_at: str, check_at: str, project: str | None = None) -> list[str]:
    """The commands that reproduce a generated retailer's answer key on any day: its files are
    dated, so they are published as of their date and checked at the answer key's instant.
    data: the folder holding the files (None: the file names alone, in the project folder)."""
    where = f" --project {shlex.quote(project)}" if project else ""
    commands = [f"unisono init {shlex.quote(project)}"] if project else []
    for channel, name in DEMO_FILES:
        file = shlex.quote(str(data / name)) if data else name
        commands.append(f"unisono publish {channel} {file} --published-at {published_at}{where}")
    commands.append(f"unisono check --at {check_at}{where}")
    return commands


def run_demo(console: Console, keep: Path | None) -> int:
    workdir = keep or Path(tempfile.mkdtemp(prefix="unisono-demo-"))
    try:
        return _run(console, workdir, kept=keep is not None)
    finally:
        if keep is None:
            shutil.rmtree(workdir, ignore_errors=True)


def _run(console: Console, workdir: Path, kept: bool) -> int:
    with as_file(files("unisono.demo") / "data") as data:
        key = json.loads((data / "answer_key.json").read_text(encoding="utf-8"))
        at = datetime.fromisoformat(key["check_at"]).astimezone(project_tz := ZoneInfo("Europe/Berlin"))
        from rich.rule import Rule

        # piped, the console is 1000 wide (one line per line): a heading rule of a screen's width, not of that
        console.print(Rule("[bold]unisono demo: Bergwelt Outdoor, Black Friday week"), width=min(console.width, 100))
        project = Project.init(workdir / "bergwelt", timezone_name=project_tz.key)
        console.print(f"$ unisono init {project.path}", highlight=False)
        console.print(f"$ cd {project.path}", highlight=False)
        *publishing, checking = replay_commands(None, key["published_at"], at.isoformat())
        for (channel, name), command in zip(DEMO_FILES, publishing):
            src = project.path / name
            shutil.copyfile(data / name, src)
            result = project.publish(channel, src, published_at=datetime.fromisoformat(key["published_at"]))
            console.print(f"$ {command}", highlight=False, soft_wrap=True)
            console.print(f"  {plural(result.offers, 'offer')}, {plural(result.claims, 'claim')}, "
                          f"{plural(result.rejections, 'rejection')} ({', '.join(result.locations)})")
    console.print(f"$ {checking}", highlight=False, soft_wrap=True)
    result = project.check(at, record=False)  # as `unisono check` without --save
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
    explore = f"`unisono check --project {project.path if kept else 'DIR/bergwelt'} --at {at.isoformat()} --format json`"
    console.print(f"Explore the project: {explore}." if kept else
                  f"Keep the project to explore it: `unisono demo --keep DIR`, then {explore}.", soft_wrap=True)
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
