"""`unisono runs`: the stored check and reconcile runs, as a table.

Registered on the `unisono` group when cli/main.py is imported; imports nothing but click until run.
"""
from __future__ import annotations

from pathlib import Path

import click

from unisono.cli.main import cli, db_option, project_option


@cli.command()
@click.option("--kind", type=click.Choice(["check", "reconcile"]), help="Only runs of this kind.")
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True, help="How many runs, newest first.")
@project_option
@db_option
def runs(kind: str | None, limit: int, project_dir: Path, db: str | None) -> None:
    """List stored runs, newest first: every reconcile, and each check run with --save.

    A row: the run's id, kind (and engine when not sql), the instant or window checked, its
    findings (for a reconcile: how many are new, still open, resolved since the run before),
    the waived ones, and the ruleset's hash (a change of rules shows as a new hash).

    \b
    Examples:
      unisono runs
      unisono runs --kind reconcile --limit 7
    """
    from rich.table import Table

    from unisono.api.project import Project
    from unisono.catalog.runs import list_runs
    from unisono.cli import text

    project = Project.open(project_dir, db, read_only=True)
    tz = project.config.tz
    found = list_runs(project.engine, limit, kind)
    if not found:
        click.echo(f"No {kind + ' ' if kind else ''}runs yet: `unisono reconcile` stores one, and "
                   "`unisono check --save`.")
        return
    table = Table("id", "kind", "as of / window", "findings", "new", "open", "resolved", "waived", "ruleset",
                  box=None, header_style="bold", pad_edge=False, collapse_padding=True)
    table.columns[2].no_wrap = True  # "24.11.2026 12:00" stays one piece
    for column in table.columns[3:8]:
        column.justify = "right"
    for r in found:
        when = text.span(r.at, r.window_end, tz) if r.window_end else text.instant(r.at, tz)
        reconcile = r.kind == "reconcile"
        table.add_row(f"#{r.id}", r.kind + (f" ({r.engine})" if r.engine != "sql" else ""), when, f"{r.findings:,}",
                      f"{r.new:,}" if reconcile else "", f"{r.findings - r.new:,}" if reconcile else "",
                      f"{r.resolved:,}" if reconcile else "", f"{r.waived:,}", r.ruleset_hash[:8])
    text.console().print(table)
