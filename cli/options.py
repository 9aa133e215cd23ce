"""Options the report command shares with check and reconcile (click only: `--help` stays light)."""
from __future__ import annotations

from pathlib import Path

import click

from unisono.cli.terminal import visible

CSV_DIALECTS = ("plain", "excel-de")


class _Refused(click.ClickException):
    exit_code = 2


def _once(ctx: click.Context, param: click.Parameter, values: tuple) -> object:
    """A one-valued option given more than once is refused: click would keep the last silently, and
    the report a user asked for first would not be written."""
    if len(values) > 1:
        raise _Refused(visible(f"--{param.name} given {len(values)} times ({', '.join(map(str, values))}):"
                                " give it once"))
    return values[0] if values else None


def _writable(ctx: click.Context, param: click.Parameter, values: tuple) -> Path | None:
    """--output: its folder made if missing (reports/2026-11-19.xlsx from a nightly job) and known to
    be writable before the command runs: a reconcile that stored its run and then could not write
    its report would leave tonight's findings never reported as new."""
    import os

    path = _once(ctx, param, values)
    if path is not None:
        folder = path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise _Refused(visible(f"cannot write {path}: {folder} is a file, not a folder")) from None
        except OSError as e:
            raise _Refused(visible(f"cannot write {path}: {e.strerror or e} ({folder})")) from None
        if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            raise _Refused(visible(f"cannot write {path}: permission denied"))
    return path


output_option = click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), multiple=True, callback=_writable,
    help="Also write the report to FILE, its format from the extension: .xlsx, .html, .xml (JUnit), .csv, "
         ".json, .md. Its folder is made if missing.")
csv_dialect_option = click.option(
    "--csv-dialect", type=click.Choice(CSV_DIALECTS), default="plain", show_default=True,
    help="plain: comma, UTF-8, one row per finding (for machines). excel-de: for German Excel: ';', decimal "
         "comma, UTF-8 with BOM, one row per finding and location with value, currency and difference.")
