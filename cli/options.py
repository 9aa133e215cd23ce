"""Options the report command shares with check and reconcile (click only: `--help` stays light)."""
from __future__ import annotations

from pathlib import Path

import click

CSV_DIALECTS = ("plain", "excel-de")

output_option = click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the report to FILE, its format from the extension: .xlsx, .html, .xml (JUnit), .csv, "
         ".json, .md.")
csv_dialect_option = click.option(
    "--csv-dialect", type=click.Choice(CSV_DIALECTS), default="plain", show_default=True,
    help="plain: comma, UTF-8, one row per finding (for machines). excel-de: for German Excel: ';', decimal "
         "comma, UTF-8 with BOM, one row per finding and location with value, currency and difference.")
