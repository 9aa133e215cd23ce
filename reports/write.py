"""Which renderer writes which format, and the format a file name asks for."""
from __future__ import annotations

from pathlib import Path

from unisono.reports.source import ReportRun

FORMATS = ("xlsx", "html", "junit", "csv", "json", "md")
EXTENSIONS = {".xlsx": "xlsx", ".html": "html", ".htm": "html", ".xml": "junit", ".csv": "csv", ".json": "json",
              ".md": "md"}


def format_for(path: Path) -> str | None:
    return EXTENSIONS.get(path.suffix.lower())


def write_report(run: ReportRun, path: Path, fmt: str, csv_dialect: str = "plain") -> None:
    """Render `run` into `path`. Text formats are written in UTF-8 (the excel-de CSV with a BOM)."""
    if fmt == "xlsx":
        from unisono.reports.xlsx import write_xlsx

        write_xlsx(run, path)
    elif fmt == "html":
        from unisono.reports.html import write_html

        write_html(run, path)
    elif fmt == "junit":
        from unisono.reports.junit import write_junit

        write_junit(run, path)
    elif fmt == "csv":
        from unisono.reports.csvfile import write_csv

        # newline="": the csv module writes its own line ends (\r\n)
        with path.open("w", encoding="utf-8-sig" if csv_dialect == "excel-de" else "utf-8", newline="") as out:
            write_csv(run, out, csv_dialect)
    elif fmt == "json":
        from unisono.reports.jsonfile import write_json

        with path.open("w", encoding="utf-8") as out:
            write_json(run, out)
    elif fmt == "md":
        from unisono.reports.markdown import write_markdown

        with path.open("w", encoding="utf-8") as out:
            write_markdown(run, out)
    else:
        raise ValueError(f"unknown report format {fmt!r}")
