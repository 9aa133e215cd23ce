"""The `unisono` command: a thin face over unisono.api.

Exit codes: 0 nothing at or above the fail level; 1 findings at or above it; 2 bad usage or bad
input, with a one-line message and never a traceback (UNISONO_DEBUG=1 shows it).
"""
from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import click
from rich.console import Console

from unisono.api.project import Project
from unisono.catalog.db import CatalogError
from unisono.channels.parsing import parse_instant
from unisono.cli import output
from unisono.domain.config import ConfigError
from unisono.domain.findings import Severity
from unisono.domain.models import CHANNELS, InputError
from unisono.rules import RuleError


class UnisonoError(click.ClickException):
    exit_code = 2


class Unisono(click.Group):
    """Turns every failure into one line and exit code 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except (InputError, ConfigError, CatalogError, RuleError) as e:
            raise UnisonoError(" ".join(str(e).split("\n")) if not isinstance(e, RuleError) else str(e)) from None
        except Exception as e:  # a bug: still no traceback for the user, but say how to see it
            if os.environ.get("UNISONO_DEBUG"):
                raise
            raise UnisonoError(f"internal error: {type(e).__name__}: {e} (set UNISONO_DEBUG=1 for details)") from None


project_option = click.option(
    "--project", "project_dir", type=click.Path(file_okay=False, path_type=Path), envvar="UNISONO_PROJECT",
    default=".", show_default=True, help="Project folder (or UNISONO_PROJECT).")
db_option = click.option("--db", envvar="UNISONO_DB", help="Database URL, e.g. postgresql+psycopg://… (or UNISONO_DB). "
                         "Default: unisono.db in the project folder.")


def instant(text: str | None, tz, what: str) -> datetime | None:
    """An instant from the command line: ISO 8601 with or without zone (without: the project's
    timezone), or a date (its start in the project's timezone), or "now"."""
    if text is None:
        return None
    if text.strip().lower() == "now":
        return datetime.now(timezone.utc)
    try:
        return parse_instant(text, tz, what=what)
    except ValueError as e:
        raise UnisonoError(f"{e} (use e.g. 2026-11-24T12:00 or 24.11.2026)") from None


@click.group(cls=Unisono, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="unisono")
def cli() -> None:
    """unisono: do the shop, the stores and the newsletter tell customers the same thing?

    Publish each channel's files into a catalog, then check them against declarative rules:

    \b
      unisono init shop-project && cd shop-project
      unisono publish shop shop_feed.xml
      unisono publish store store_prices.csv
      unisono publish newsletter newsletter.html
      unisono check --at 2026-11-24T12:00
    """


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--timezone", "timezone_name", default="Europe/Berlin", show_default=True,
              help="IANA zone in which date-only values of channel files are read.")
@click.option("--currency", default="EUR", show_default=True, help="Currency of prices that carry none.")
def init(directory: Path, timezone_name: str, currency: str) -> None:
    """Create a project in DIRECTORY: unisono.yaml and the default rules in rules/."""
    project = Project.init(directory, timezone_name=timezone_name, currency=currency)
    click.echo(f"Created a unisono project in {project.path}: unisono.yaml, rules/default.yaml")
    click.echo("Next: unisono publish shop FEED, unisono publish store FILE, unisono publish newsletter HTML, unisono check")


@cli.command("publish")
@click.argument("channel", type=click.Choice(CHANNELS))
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--published-at", help="When the channel published the file (default: now). For loading history.")
@click.option("--effective-from", help="When the file goes live (default: when published). For staged files.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@project_option
@db_option
def publish_cmd(channel: str, file: Path, published_at: str | None, effective_from: str | None, fmt: str,
                project_dir: Path, db: str | None) -> None:
    """Read FILE as CHANNEL's publication and store it in the catalog, in one transaction.

    CHANNEL is shop (Google Merchant Center feed: XML or TSV), store (POS price export: CSV) or
    newsletter (the email's HTML). Every row becomes an offer or a rejection with file, line and
    reason. Publishing the same bytes again changes nothing.
    """
    project = Project.open(project_dir, db)
    tz = project.config.tz
    result = project.publish(channel, file, published_at=instant(published_at, tz, "--published-at"),
                             effective_from=instant(effective_from, tz, "--effective-from"))
    if fmt == "json":
        click.echo(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
        return
    if result.duplicate:
        click.echo(f"{file.name}: unchanged, already published as #{result.publication_id} "
                   f"({result.published_at.astimezone(tz):%d.%m.%Y %H:%M}); nothing changed.")
        return
    where = ", ".join(result.locations[:8]) + (" …" if len(result.locations) > 8 else "")
    click.echo(f"Published {file.name} as {channel} #{result.publication_id}: {result.offers} offers, "
               f"{result.claims} claims, {result.rejections} rejections ({where or 'no locations'}).")
    if result.effective_from != result.published_at:
        click.echo(f"  goes live {result.effective_from.astimezone(tz):%d.%m.%Y %H:%M %Z}")
    for r in result.first_rejections:
        click.echo(f"  rejected {r.source}: {r.reason}")
    if result.rejections > len(result.first_rejections):
        click.echo(f"  … and {result.rejections - len(result.first_rejections)} more rejections")
    for note in result.notes:
        click.echo(f"  note: {note}")


@cli.command()
@click.option("--at", "at_text", help="The instant to check (default: now), e.g. 2026-11-24T12:00 or 24.11.2026.")
@click.option("--fail-on", type=click.Choice([s.value for s in Severity]), default="error", show_default=True,
              help="Exit 1 when a finding has this severity or higher.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "md"]), default="table", show_default=True)
@click.option("--rules", "rule_files", multiple=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Rule files to use instead of the project's (repeatable).")
@project_option
@db_option
def check(at_text: str | None, fail_on: str, fmt: str, rule_files: tuple[Path, ...], project_dir: Path,
          db: str | None) -> None:
    """Check what the channels show at an instant against the rules.

    Exit code 0 when nothing is at or above --fail-on, 1 when something is: a CI gate for a promotion.
    """
    project = Project.open(project_dir, db)
    at = instant(at_text, project.config.tz, "--at") or datetime.now(timezone.utc)
    result = project.check(at, rule_files=list(rule_files) or None)
    level = Severity(fail_on)
    summary = result.summary(level)
    if fmt == "json":
        click.echo(output.to_json(result.findings, summary))
    elif fmt == "csv":
        click.echo(output.to_csv(result.findings), nl=False)
    elif fmt == "md":
        click.echo(output.to_markdown(result.findings, summary), nl=False)
    else:
        output.print_report(Console(), result.findings, summary, at.astimezone(project.config.tz), result.rule_titles)
    sys.exit(1 if summary["failed"] else 0)


@cli.group("rules")
def rules_group() -> None:
    """Validate, list and describe rules."""


@rules_group.command("validate")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, exists=True, path_type=Path))
@project_option
def rules_validate(files: tuple[Path, ...], project_dir: Path) -> None:
    """Validate rule FILES (default: the project's). Every problem as file:line: what is wrong."""
    from unisono.rules import validate

    paths = list(files) or Project.open(project_dir).rule_paths()
    problems = validate(paths)
    for p in problems:
        click.echo(p, err=True)
    if problems:
        sys.exit(2)
    click.echo(f"{len(paths)} rule file(s) valid: {', '.join(str(p) for p in paths)}")


@rules_group.command("list")
@project_option
def rules_list(project_dir: Path) -> None:
    """List the project's rules."""
    from unisono.rules import load_rules

    for r in load_rules(Project.open(project_dir).rule_paths()):
        click.echo(f"{r.id:32} {r.kind:11} {r.severity.value:8} {r.title}")


@rules_group.command("schema")
def rules_schema() -> None:
    """Print the JSON Schema of rule files (for editor completion and validation)."""
    from unisono.rules import rules_json_schema

    click.echo(json.dumps(rules_json_schema(), indent=2))


@cli.command()
@click.option("--keep", type=click.Path(file_okay=False, path_type=Path),
              help="Build the demo project in this folder and keep it (default: a temporary folder).")
def demo(keep: Path | None) -> None:
    """Run the whole flow on Bergwelt Outdoor, a demo retailer shipped with unisono.

    A shop feed (300 products), a price file of three stores and a Black Friday newsletter, with a
    handful of planted inconsistencies: init, publish three times, check, report.
    """
    from unisono.cli.demo import run_demo

    sys.exit(run_demo(Console(), keep))


def main() -> None:
    cli(prog_name="unisono")


if __name__ == "__main__":
    main()
