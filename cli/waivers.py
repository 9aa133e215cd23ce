"""`unisono waive` and `unisono waivers` (list, edit, remove): accepted exceptions.

Registered on the `unisono` group when cli/main.py is imported; like every command module, it
imports nothing but click until a command runs.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import click

from unisono.cli.main import UnisonoError, cli, db_option, instant, project_option
from unisono.cli.terminal import visible

force_option = click.option("--force", is_flag=True,
                            help="Record it even if the rule or location is unknown or --until is past.")
until_help = "a date includes that day, e.g. 2026-12-01; or a time, e.g. 2026-12-01T06:00"


def _until(text: str, tz) -> datetime:
    """--until as the exclusive bound it is stored as: a date is the end of that day."""
    from unisono.channels.parsing import parse_instant

    try:
        return parse_instant(text, tz, end_of_day=True, what="--until", clamp=False)
    except ValueError as e:
        raise UnisonoError(f"{e} (use e.g. 2026-12-01 or 2026-12-01T06:00)") from None


def _say(line: str) -> None:
    """One line for a person: wrapped at words, continuation indented (cli/output.hanging)."""
    from rich.text import Text

    from unisono.cli.output import hanging
    from unisono.cli.text import console

    hanging(console(), "", Text(visible(line)))  # a rule, sku, location or reason may carry escapes


def _describe(w, tz) -> str:
    from unisono.cli import text

    return (f"#{w.id} {w.rule} for {w.sku}{' at ' + w.location if w.location else ''}"
            f"{' until ' + text.until(w.until, tz) if w.until else ', no expiry'}: {w.reason}")


@cli.command()
@click.argument("rule")
@click.argument("sku")
@click.option("--location", help="Only this location, e.g. store:1002 or 1002 (default: every location).")
@click.option("--reason", required=True, help="Why this is accepted (shown in every report).")
@click.option("--until", "until_text", help=f"When the waiver expires: {until_help} (default: never).")
@force_option
@project_option
@db_option
def waive(rule: str, sku: str, location: str | None, reason: str, until_text: str | None, force: bool,
          project_dir: Path, db: str | None) -> None:
    """Accept findings of RULE for SKU: they are reported apart and never fail a run until the
    waiver expires. A rule id or a location the project does not know, or an --until already
    past, is refused (exit 2) with the name you probably meant, unless --force.

    \b
    Example:
      unisono waive price-parity 100203 --location store:1002 \\
          --reason "store-only clearance" --until 2026-12-01
    """
    from unisono.api import waivers as api
    from unisono.api.project import Project
    from unisono.catalog.waivers import get_waiver

    project = Project.open(project_dir, db)
    tz = project.config.tz
    until = _until(until_text, tz) if until_text else None
    waiver_id = api.waive(project, rule, sku, reason=reason, location=location, until=until,
                          until_text=until_text or "", force=force)
    if (warning := api.product_warning(project, sku)):
        click.echo(f"warning: {warning}; the waiver applies once one does", err=True)
    if (hint := api.claim_hint(project, rule, sku)):
        click.echo(f"warning: {hint}", err=True)
    _say(f"Waiver {_describe(get_waiver(project.engine, waiver_id), tz)}")
    click.echo(f"(undo: unisono waivers remove {waiver_id})")


@cli.group(invoke_without_command=True)
@click.option("--at", "at_text", help="Say which waivers are in force at this instant (default: now).")
@project_option
@db_option
@click.pass_context
def waivers(ctx: click.Context, at_text: str | None, project_dir: Path, db: str | None) -> None:
    """List waivers (id, in force or expired, rule, product, location, until, reason); edit or
    remove them by id.

    \b
    Examples:
      unisono waivers
      unisono waivers edit 3 --until 2026-12-08
      unisono waivers remove 3
    """
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    from unisono.api.project import Project
    from unisono.catalog.waivers import list_waivers
    from unisono.cli import text

    project = Project.open(project_dir, db, read_only=True)
    tz = project.config.tz
    now = instant(at_text, tz, "--at") or datetime.now(timezone.utc)
    rows = list_waivers(project.engine)
    if not rows:
        click.echo("No waivers yet (`unisono waive RULE SKU --reason …` records one).")
        return
    table = Table("id", "state", "rule", "sku", "location", "until", "reason", box=None, header_style="bold",
                  pad_edge=False, collapse_padding=True)
    for w in rows:
        state = "expired" if w.until and w.until <= now else "active"
        table.add_row(f"#{w.id}", state, *(visible(v, lines=False) for v in (w.rule, w.sku, w.location or "all")),
                      text.until(w.until, tz) if w.until else "–", visible(w.reason, lines=False))
    text.console().print(table)


@waivers.command("edit")
@click.argument("waiver_id", metavar="ID", type=int)
@click.option("--until", "until_text", help=f"A new expiry: {until_help}; or 'never'.")
@click.option("--reason", help="A new reason.")
@force_option
@project_option
@db_option
def waivers_edit(waiver_id: int, until_text: str | None, reason: str | None, force: bool, project_dir: Path,
                 db: str | None) -> None:
    """Change the expiry or the reason of waiver ID (its rule and product stay: remove it and
    waive again for another).

    \b
    Example:
      unisono waivers edit 3 --until 2026-12-08 --reason "clearance extended"
    """
    from unisono.api import waivers as api
    from unisono.api.project import Project

    project = Project.open(project_dir, db)
    tz = project.config.tz
    forever = (until_text or "").strip().lower() == "never"
    until = _until(until_text, tz) if until_text and not forever else None
    waiver = api.edit(project, waiver_id, reason=reason, until=until, until_text=until_text or "", forever=forever,
                      force=force)
    _say(f"Waiver {_describe(waiver, tz)}")


@waivers.command("remove")
@click.argument("waiver_ids", metavar="ID...", type=int, nargs=-1, required=True)
@project_option
@db_option
def waivers_remove(waiver_ids: tuple[int, ...], project_dir: Path, db: str | None) -> None:
    """Remove waivers by ID: their findings fail runs again from the next check.

    \b
    Example:
      unisono waivers remove 3
    """
    from unisono.api import waivers as api
    from unisono.api.project import Project

    project = Project.open(project_dir, db)
    for w in api.remove(project, list(waiver_ids)):
        _say(f"Removed waiver {_describe(w, project.config.tz)}")
