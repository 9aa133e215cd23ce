"""Options the report command shares with check and reconcile (click only: `--help` stays light)."""
from __future__ import annotations

from pathlib import Path

import click

from unisono.cli.terminal import visible

CSV_DIALECTS = ("plain", "excel-de")


class _Repeated(click.ClickException):
    exit_code = 2


def _once(ctx: click.Context, param: click.Parameter, values: tuple) -> object:
    """A one-valued option given more than once is refused: click would keep the last silently, and
    the report a user asked for first would not be written."""
    if len(values) > 1:
        raise _Repeated(visible(f"--{param.name} given {len(values)} times ({', '.join(map(str, values))}):"
                                " give it once"))
    return values[0] if values else None


output_option = click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), multiple=True, callback=_once,
    help="Also write the report to FILE, its format from the extension: .xlsx, .html, .xml (JUnit), .csv, "
         ".json, .md.")
csv_dialect_option = click.option(
    "--csv-dialect", type=click.Choice(CSV_DIALECTS), default="plain", show_default=True,
    help="plain: comma, UTF-8, one row per finding (for machines). excel-de: for German Excel: ';', decimal "
         "comma, UTF-8 with BOM, one row per finding and location with value, currency and difference.")
