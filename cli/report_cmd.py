"""`unisono report`: render a stored run, and the --output of check and reconcile.

Imports only click at module level (`unisono --help` stays light); registered by cli/main.py.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from unisono.cli.main import SEVERITIES, UnisonoError, cli, db_option, project_option
from unisono.cli.narrow import narrowing_options
from unisono.cli.options import csv_dialect_option, output_option

FORMATS = ("xlsx", "html", "junit", "csv", "json", "md")
TEXT_FORMATS = ("csv", "json", "md")  # these may go to standard output

FORMAT_HELP = ("xlsx (Excel: a summary sheet, a sheet per rule, numbers and dates as such), html (one "
               "self-contained file with charts, sortable and filterable, opens offline), junit (XML for GitLab, "
               "Jenkins, Azure DevOps: a testsuite per rule), csv, json, md.")
def output_format(path: Path, fmt: str | None = None) -> str:
    from unisono.reports.write import format_for

    found = fmt or format_for(path)
    if found is None:
        raise UnisonoError(f"{path.name}: cannot tell the report format from the extension "
                           "(use .xlsx, .html, .xml, .csv, .json or .md, or --format)")
    return found


def write_file(run, path: Path, fmt: str, csv_dialect: str) -> None:
    from unisono.reports.write import write_report

    try:
        write_report(run, path, fmt, csv_dialect)
    except OSError as e:
        raise UnisonoError(f"cannot write {path}: {e.strerror or e}") from None


def write_result_output(result, path: Path, fail_on: str, tz, engine, csv_dialect: str = "plain") -> None:
    """check/reconcile --output FILE: the run just evaluated, with its waived and undecided findings."""
    from unisono.domain.findings import Severity
    from unisono.reports.source import from_result

    fmt = output_format(path)
    write_file(from_result(result, Severity(fail_on), tz, engine), path, fmt, csv_dialect)
    if not click.get_current_context().find_root().params.get("quiet"):  # -q: nothing but errors on stderr
        click.echo(f"Wrote {fmt} report to {path}", err=True)


def _run_id(text: str | None) -> int | None:
    if text is None or text.lower() == "latest":
        return None
    try:
        return int(text.lstrip("#"))
    except ValueError:
        raise UnisonoError(f"RUN must be a run number such as 12 or #12 (see `unisono runs`), not {text!r}") from None


@cli.command("report")
@click.argument("run", required=False)
@click.option("--format", "fmt", type=click.Choice(FORMATS), help=FORMAT_HELP + " Default: from --output's "
              "extension; without --output, a summary on the terminal.")
@output_option
@csv_dialect_option
@click.option("--fail-on", type=click.Choice(SEVERITIES), default="error", show_default=True,
              help="The level the report counts as failing (JUnit failures, PASS/FAIL).")
@narrowing_options
@project_option
@db_option
def report_cmd(run: str | None, fmt: str | None, output: Path | None, csv_dialect: str, fail_on: str,
               project_dir: Path, db: str | None, limit: int | None, **narrowing) -> None:
    """Render a stored run (RUN: its number from `unisono runs`; default the latest check or reconcile)
    without evaluating anything again.

    \b
      unisono report --output findings.xlsx
      unisono report 12 --format html --output report.html
      unisono report --format junit --output junit.xml --fail-on warning
      unisono report --format csv --csv-dialect excel-de --output findings.csv
      unisono report --store 1002 --rule price-parity --output store-1002.xlsx

    A stored run keeps its findings, not the waived or undecided ones (it counts the waived);
    `check --output FILE` writes them too. Exit 0 once written, whatever the run found.
    """
    from unisono.api.project import Project
    from unisono.domain.findings import Severity
    from unisono.reports.source import from_catalog

    project = Project.open(project_dir, db, read_only=True)
    try:
        stored = from_catalog(project.engine, _run_id(run), Severity(fail_on), project.config.tz)
    except LookupError as e:
        raise UnisonoError(str(e)) from None
    _narrow(project, stored, limit, **narrowing)
    if output is not None:
        fmt = output_format(output, fmt)
        write_file(stored, output, fmt, csv_dialect)
        click.echo(f"Wrote {fmt} report of {stored.kind} #{stored.run_id} ({stored.stats.findings} findings) to {output}")
        return
    if fmt is None:
        _print_summary(stored)
    elif fmt in TEXT_FORMATS:
        _to_stdout(stored, fmt, csv_dialect)
    else:
        raise UnisonoError(f"--format {fmt} writes a file: give --output FILE")


def _narrow(project, stored, limit: int | None, *, rule_ids, skus, stores, severity) -> None:
    """--rule/--sku/--store/--severity select the findings the report holds (its counts too), --limit
    caps how many it holds (a file's counts are of what it holds), as for check and reconcile (cli/narrow.py)."""
    from itertools import islice

    from unisono.api.results import finding_filter, named
    from unisono.cli.narrow import checked
    from unisono.domain.findings import Severity

    known = {r.id for r in stored.rules} or None
    words = checked(project, known if known is not None else set(rule_ids), rule_ids=rule_ids, skus=skus,
                    stores=stores, severity=severity,
                    found=lambda key: named(key, stored.read_findings(), stored.read_waived(), stored.read_undecided()))
    if not words and limit is None:
        return
    keep = finding_filter(rules=set(rule_ids), skus=set(skus), locations=set(stores),
                          min_severity=Severity(severity) if severity else None)
    read, read_waived = stored.read_findings, stored.read_waived
    stored.read_findings = lambda: islice((f for f in read() if keep(f)), limit)
    stored.read_waived = lambda: (f for f in read_waived() if keep(f))
    if words:
        stored.summary_extra["narrowed"] = words


def _to_stdout(run, fmt: str, csv_dialect: str) -> None:
    from unisono.cli.terminal import VisibleWriter, json_visible, visible

    # the stored text of channel files on its way to a terminal: control characters as escapes
    # (\x1b in CSV, \u001b in JSON, the same JSON value); files written with --output keep it as is
    out = VisibleWriter(sys.stdout, json_visible if fmt == "json" else lambda t: visible(t.replace("\r\n", "\n")))
    if fmt == "csv":
        from unisono.reports.csvfile import write_csv

        write_csv(run, out, csv_dialect)
    elif fmt == "json":
        from unisono.reports.jsonfile import write_json

        write_json(run, out)
    else:
        from unisono.reports.markdown import write_markdown

        write_markdown(run, out)


def _print_summary(run) -> None:
    s = run.summary()
    when = f"{run.at.astimezone(run.tz):%d.%m.%Y %H:%M}" + (
        f" – {run.window_end.astimezone(run.tz):%d.%m.%Y %H:%M}" if run.window_end else "")
    click.echo(f"{run.kind} #{run.run_id} as of {when}: {s['findings']} findings, {run.waived} waived; "
               f"{'FAIL' if s['failed'] else 'PASS'} at {s['fail_on']} and above")
    width = max((len(r) for r in s["by_rule"]), default=0)
    for rule, n in s["by_rule"].items():
        click.echo(f"  {rule:{width}}  {n}")
    sys.stdout.flush()
