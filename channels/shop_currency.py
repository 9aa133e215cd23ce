"""The currency of a feed's prices that name none: shop.currency, else the one the feed's other prices
name, else the project's (with what the feed's site suggests, for the note)."""
from __future__ import annotations

import re
from pathlib import Path

from unisono.domain.config import ProjectConfig

_PRICE_TEXT = re.compile(r"<(?:g:)?(?:sale_)?price>([^<]{1,60})<", re.I)
_AMOUNT_CODE = re.compile(r"\d[\d.,]*\s?([A-Z]{3})\b|\b([A-Z]{3})\s?\d")
_CODES = {"EUR", "USD", "GBP", "CHF", "SEK", "CZK", "PLN", "DKK", "NOK", "ILS", "HUF", "RON", "BGN", "CAD", "AUD",
          "JPY"}
_SITE = re.compile(r"<link>\s*https?://(?:www\.)?([^/<\s]+)", re.I)
_COUNTRY_CURRENCY = {"cz": "CZK", "pl": "PLN", "se": "SEK", "dk": "DKK", "no": "NOK", "ch": "CHF", "hu": "HUF",
                     "uk": "GBP", "ro": "RON", "bg": "BGN", "il": "ILS", "us": "USD", "ca": "CAD", "au": "AUD"}


def bare_price_currency(path: Path, encoding: str | None, xml: bool, config: ProjectConfig) -> tuple[str, str]:
    """The currency of a price that names none, and why (for the note): shop.currency when set; else
    the one currency the feed's other prices name (in its first MB); else the project's, with what
    the feed's site suggests when that differs ("hurom.cz": CZK). Never the project's currency
    silently when the feed names another."""
    if config.shop.currency:
        return config.shop.currency, ""
    with path.open("rb") as fh:
        text = fh.read(1 << 20).decode(encoding or "utf-8", errors="ignore")
    prices = (m.group(1) for m in _PRICE_TEXT.finditer(text)) if xml else iter([text])
    named = {code for p in prices for m in _AMOUNT_CODE.finditer(p) for code in m.groups() if code in _CODES}
    if len(named) == 1:
        return named.pop(), ", the currency the feed's other prices name"
    site = _SITE.search(text) if xml else None
    suggests = _COUNTRY_CURRENCY.get(site.group(1).rsplit(".", 1)[-1].lower()) if site else None
    if suggests and suggests != config.currency:
        return config.currency, (f" (the project's currency; the feed's site {site.group(1)} suggests"
                                 f" shop.currency: {suggests} in unisono.yaml)")
    return config.currency, " (set shop.currency in unisono.yaml if that is wrong)"
