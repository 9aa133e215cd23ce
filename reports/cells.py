"""Cell values shared by the spreadsheet-like formats (XLSX, CSV)."""
from __future__ import annotations

from decimal import Decimal

from unisono.domain.findings import Finding, money

FORMULA_START = "=+-@\t\r"


def spreadsheet_safe(value: str) -> str:
    """Cells starting with = + - @ (or a tab/CR) are formulas in Excel: neutralise them (OWASP)."""
    return "'" + value if value and value[0] in FORMULA_START else value


def difference(f: Finding) -> tuple[Decimal, str] | None:
    """The second value less the first (the reference comes first), when both are money in one currency."""
    amounts = [money(v) for v in list(f.values.values())[:2]]
    if len(amounts) == 2 and all(amounts) and amounts[0][1] == amounts[1][1]:
        return amounts[1][0] - amounts[0][0], amounts[0][1]
    return None
