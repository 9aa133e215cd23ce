"""`unisono explain SKU`: why a product is or is not flagged, rule by rule."""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from unisono.cli.main import cli, db_option, instant, project_option, window_arg
from unisono.cli.terminal import echo, json_visible

if TYPE_CHECKING:
    from unisono.api.explain import Explanation

VERDICT = {"finding": "FINDING", "no finding": "no finding", "waived": "waived", "undecided": "cannot judge"}


@cli.command()
@click.argument("sku")
@click.option("--at", "at_text", help="The instant (default: now), e.g. 2026-11-24T12:00.")
@click.option("--window", "window_text", help="A window START/END, as for check (offers shown as of its start).")
@click.option("--rule", "rule_ids", multiple=True, help="Only this rule (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@project_option
@db_option
def explain(sku: str, at_text: str | None, window_text: str | None, rule_ids: tuple[str, ...], fmt: str,
            project_dir: Path, db: str | None) -> None:
    """Why SKU is or is not flagged: per rule, the offers it saw (the price each charges and why),
    scopes and waivers, and each comparison with its tolerance. Its verdicts are check's.
    Nothing is stored."""
    if at_text and window_text:
        raise click.UsageError("--at and --window exclude each other")
    from unisono.api.explain import explain as explain_product
    from unisono.api.project import Project

    project = Project.open(project_dir, db, read_only=True)
    tz = project.config.tz
    result = explain_product(project, sku, at=instant(at_text, tz, "--at"), window=window_arg(window_text, tz),
                             rule_ids=list(rule_ids))
    if fmt == "json":
        click.echo(json_visible(json.dumps(result.as_json(), ensure_ascii=False, indent=2)))
        return
    for line in explanation_lines(result, tz):
        echo(line)


def explanation_lines(e: Explanation, tz) -> list[str]:
    when = e.at.astimezone(tz).strftime("%d.%m.%Y %H:%M")
    if e.window_end is not None:
        when = f"{when} to {e.window_end.astimezone(tz).strftime('%d.%m.%Y %H:%M')} (offers as of the start)"
    named = f"{e.sku} '{e.title}'" if e.title else e.sku
    if not e.offered and e.window_end is None:
        ever = "it was published before, but no offer of it is live then" if e.ever_published else \
            "no channel has ever published it (check the sku)"
        return [f"{named}: no channel offers it at {when}: {ever}.",
                "No rule has anything of it to judge, so no rule flags it."]
    out = [f"{named} at {when}"]
    for r in e.rules:
        out += ["", f"{r.id} ({r.kind}, {r.severity}): {VERDICT[r.verdict]}"]
        if r.title:
            out.append(f"  {r.title}")
        out.append("  offers seen:" if r.offers else "  offers seen: none of the product in the channels it compares")
        for o in r.offers:
            out.append(f"    {o.channel}:{o.location}: price {o.price}, sale {o.sale} → charges {o.charges} ({o.why})"
                       + (f", {o.availability}" if o.availability else "") + f"  [{o.source}]")
        for line in r.lines:
            out.append(f"  {line}")
        for f in r.findings:
            state = "waived" if "waiver" in f.extra else "cannot judge" if not f.judged else "finding"
            during = ""
            if f.valid_from or f.valid_to:
                ends = [t.astimezone(tz).strftime("%d.%m.%Y %H:%M") if t else "…" for t in (f.valid_from, f.valid_to)]
                during = f" (from {ends[0]} to {ends[1]})"
            out.append(f"  {state}{during}: {f.message}")
    return out
