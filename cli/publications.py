"""`unisono publications`, `rejections` and `withdraw`: what was published, every row it could not
take, and taking back a mistake.

Registered on the `unisono` group when cli/main.py is imported; imports nothing but click until run.
"""
from __future__ import annotations

from pathlib import Path

import click

from unisono.cli.main import UnisonoError, cli, db_option, project_option


@cli.command()
@click.option("--channel", type=click.Choice(["shop", "store", "newsletter"]), help="Only this channel's.")
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True,
              help="How many publications, newest first.")
@project_option
@db_option
def publications(channel: str | None, limit: int, project_dir: Path, db: str | None) -> None:
    """List publications, newest first: id, channel, file, when it was published (and went live),
    its offers, rejections and locations.

    \b
    Examples:
      unisono publications
      unisono publications --channel store --limit 5
    """
    from rich.table import Table

    from unisono.api.project import Project
    from unisono.catalog.publications import list_publications
    from unisono.cli import text
    from unisono.cli.terminal import visible

    project = Project.open(project_dir, db, read_only=True)
    tz = project.config.tz
    found = list_publications(project.engine, limit, channel)
    if not found:
        click.echo("Nothing published yet: `unisono publish CHANNEL FILE`.")
        return
    table = Table("id", "channel", "file", "published", "offers", "rejections", "locations",
                  box=None, header_style="bold", pad_edge=False, collapse_padding=True)
    for column in table.columns[4:]:
        column.justify = "right"
    for p, locations in found:
        when = text.instant(p.published_at, tz)
        if p.effective_from != p.published_at:
            when += f" (live {text.instant(p.effective_from, tz)})"
        table.add_row(f"#{p.id}", p.channel, visible(Path(p.source).name, lines=False), when, f"{p.offers:,}",
                      f"{p.rejections:,}", f"{locations:,}")
    text.console().print(table)


@cli.command()
@click.argument("publication_id", metavar="ID", type=click.IntRange(1))
@click.option("--format", "fmt", type=click.Choice(["text", "csv", "json"]), default="text", show_default=True)
@project_option
@db_option
def rejections(publication_id: int, fmt: str, project_dir: Path, db: str | None) -> None:
    """Every row publication ID (from `unisono publications`) rejected: file, line, reason and the
    row as it was (`publish` lists only the first ones). csv opens in a spreadsheet to fix the file.

    \b
    Examples:
      unisono rejections 8
      unisono rejections 8 --format csv > rejected.csv
    """
    import csv
    import json
    import sys

    from unisono.api.project import Project
    from unisono.catalog.publications import publication, rejections_of
    from unisono.cli.terminal import echo, visible
    from unisono.reports.cells import spreadsheet_safe

    project = Project.open(project_dir, db, read_only=True)
    if publication(project.engine, publication_id) is None:
        raise UnisonoError(f"no publication #{publication_id} (`unisono publications` lists them)")
    rows = rejections_of(project.engine, publication_id)
    if fmt == "csv":
        out = csv.writer(sys.stdout)
        out.writerow(["file", "line", "reason", "row"])
        for row in rows:
            out.writerow([spreadsheet_safe(c) if isinstance(c, str) else c for c in row])
    elif fmt == "json":  # one object per line: a file of millions of rows streams
        for file, line, reason, raw in rows:
            sys.stdout.write(json.dumps({"file": file, "line": line, "reason": reason, "row": raw},
                                        ensure_ascii=False) + "\n")
    else:
        n = 0
        for file, line, reason, raw in rows:
            n += 1
            echo(visible(f"{file}:{line}: {reason}" if line else f"{file}: {reason}", lines=False))
            if raw:
                echo("    " + visible(raw[:200] + ("…" if len(raw) > 200 else ""), lines=False))
        if not n:
            echo(f"Publication #{publication_id} rejected no row.")


@cli.command()
@click.argument("publication_id", metavar="ID", type=click.IntRange(1))
@click.option("--yes", is_flag=True, help="Do not ask: withdraw at once (for scripts).")
@project_option
@db_option
def withdraw(publication_id: int, yes: bool, project_dir: Path, db: str | None) -> None:
    """Withdraw publication ID (from `unisono publications`), published by mistake: it is deleted
    with its offers, rejections and claims, so checks, the 30-day price history and the next
    reconcile see the channel as if it had never been published. Stored runs keep what they found.

    \b
    Examples:
      unisono withdraw 8
      unisono withdraw 8 --yes
    """
    from unisono.api.project import Project
    from unisono.cli import text
    from unisono.cli.terminal import echo

    project = Project.open(project_dir, db)
    if not yes and not click.confirm(f"Withdraw publication #{publication_id} with all its offers?", err=True):
        raise click.Abort
    p = project.withdraw(publication_id)
    echo(f"Withdrew {p.channel} #{p.id} ({Path(p.source).name}, published {text.instant(p.published_at, project.config.tz)}): "
         f"{text.plural(p.offers, 'offer')}, {text.plural(p.rejections, 'rejection')} removed.")
