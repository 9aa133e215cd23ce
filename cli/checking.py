"""`unisono check` and `unisono reconcile`: run the rules and report, with the exit code a CI gate reads."""
from __future__ import annotations

import sys
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

import click

from unisono.cli.main import cli, db_option, engine_option, fail_on_option, format_option, instant, project_option, window_arg
from unisono.cli.narrow import narrowing_options
from unisono.cli.options import csv_dialect_option, output_option

if TYPE_CHECKING:
    from unisono.api.results import CheckResult


def _busy(fmt: str, what: str):
    """A spinner on stderr once a check runs past a second, on a terminal, for the table format only."""
    from unisono.cli.progress import PublishProgress

    quiet = click.get_current_context().find_root().params.get("quiet")
    return PublishProgress("", enabled=None if fmt == "table" and not quiet else False, waiting=what)


def report(result: CheckResult, fmt: str, fail_on: str, tz, *, project=None, limit: int | None = None,
           output_file: Path | None = None, csv_dialect: str = "plain", **narrowing) -> None:
    """Print a check or reconcile result in the chosen format (and write --output) and exit with its
    code: only the findings --rule/--sku/--store/--severity select, at most --limit of them listed
    (cli/narrow.py); the --output file has every selected finding."""
    from dataclasses import replace

    from unisono.cli import output
    from unisono.cli.narrow import narrow
    from unisono.domain.findings import Severity

    result, narrowed = narrow(project, result, **narrowing) if project else (result, "")
    if output_file is not None:
        from unisono.cli.report_cmd import write_result_output

        write_result_output(result, output_file, fail_on, tz, project.engine if project else None, csv_dialect)
    summary = result.summary(Severity(fail_on))
    listed = result if limit is None else replace(result, findings=result.findings[:limit],
                                                  waived=result.waived[:max(0, limit - len(result.findings))])
    if fmt == "json":
        if narrowed:
            summary["narrowed"] = narrowed
        if limit is not None:
            summary["not_listed"] = len(result.findings) + len(result.waived) - len(listed.findings) - len(listed.waived)
        output.write_json(listed, summary, sys.stdout)
    elif fmt == "csv":
        output.write_csv(chain(listed.findings, listed.waived), sys.stdout)
    elif fmt == "md":
        output.write_markdown(listed, summary, tz, sys.stdout)
    else:
        from unisono.cli.text import console

        output.print_report(console(), result, summary, tz, limit=limit, narrowed=narrowed)
    sys.exit(1 if summary["failed"] else 0)


@cli.command()
@click.option("--at", "at_text", help="The instant to check (default: now), e.g. 2026-11-24T12:00 or 24.11.2026.")
@click.option("--window", "window_text", help="Check a window START/END instead of an instant, e.g. 2026-11-27/2026-11-30 (a date-only end "
              "includes that day): it is cut at every change point and each finding says from when to when it holds.")
@click.option("--promotion", "promotion_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="A promotion file: check that every channel it names carries the campaign, over its window.")
@fail_on_option
@format_option
@output_option
@csv_dialect_option
@click.option("--rules", "rule_files", multiple=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Rule files to use instead of the project's (repeatable).")
@engine_option
@click.option("--save", is_flag=True, help="Store the run (see `unisono runs`): every rule's findings, whatever "
              "--rule, --sku, --store or --severity show. Without it, nothing is stored.")
@narrowing_options
@project_option
@db_option
def check(at_text: str | None, window_text: str | None, promotion_file: Path | None, fail_on: str, fmt: str,
          output: Path | None, csv_dialect: str, rule_files: tuple[Path, ...], engine: str, save: bool,
          project_dir: Path, db: str | None, **narrowing) -> None:
    """Check what the channels show at an instant, or over a window, against the rules.

    Exit code 0 when nothing is at or above --fail-on, 1 when something is: a CI gate for a promotion.
    Waived findings and what the rules could not judge are reported apart and never fail a run.
    """
    if at_text and window_text:
        raise click.UsageError("--at and --window exclude each other")
    from unisono.api.project import Project
    from unisono.rules import load_rules

    project = Project.open(project_dir, db, read_only=not save)  # a run stored is a write
    tz = project.config.tz
    window = window_arg(window_text, tz)
    rules = load_rules(list(rule_files) or project.rule_paths())
    if promotion_file is not None:
        from unisono.rules.promotion import load_promotions

        promotions = load_promotions(promotion_file)
        rules += promotions
        if window is None and at_text is None:
            bounds = [p.window_bounds(tz) for p in promotions]
            window = (min(b[0] for b in bounds), max(b[1] for b in bounds))
    with _busy(fmt, "checking the live offers against the rules …"):
        result = project.check(instant(at_text, tz, "--at"), window=window, rules=rules, engine=engine, record=save)
    report(result, fmt, fail_on, tz, project=project, output_file=output, csv_dialect=csv_dialect, **narrowing)


@cli.command()
@click.option("--at", "at_text", help="The instant to reconcile (default: now).")
@fail_on_option
@format_option
@output_option
@csv_dialect_option
@engine_option
@narrowing_options
@project_option
@db_option
def reconcile(at_text: str | None, fail_on: str, fmt: str, output: Path | None, csv_dialect: str, engine: str,
              project_dir: Path, db: str | None, **narrowing) -> None:
    """Nightly reconciliation: check what is live, store the run, and compare with the last one.

    Every finding gets a status: new, open (still there) or resolved (gone since the last
    reconcile). Resolved findings never fail a run. For cron: `unisono reconcile --format json`.
    """
    from unisono.api.project import Project

    project = Project.open(project_dir, db)
    with _busy(fmt, "reconciling the channels …"):
        result = project.reconcile(instant(at_text, project.config.tz, "--at"), engine=engine)
    report(result, fmt, fail_on,
           project.config.tz, project=project, output_file=output, csv_dialect=csv_dialect, **narrowing)
