"""What a shop feed says about shipping, as claims of the shop: the reference for a newsletter's
"Versandkostenfrei ab 49 €".

Google Merchant Center has it per item in two attributes (XML: nested elements; tabular: the
colon-separated form):
- `free_shipping_threshold` (country, price_threshold): "DE:50.00 EUR";
- `shipping` (country, region, service, price[, min_order_value]): "DE::Standard:4.95 EUR"; an entry
  with price 0 and a min_order_value is a free-shipping threshold too. One with price 0 and none says
  what ordering that item costs: it ships free at its own price (feeds that export shipping per item
  give 0.00 above the shop's threshold and the fee below it), no threshold of the shop's.
Per feed they become few claims: one per distinct threshold ("free_shipping_threshold: 50.00 EUR
(DE)", its first item as the source), the highest order value an item is charged shipping on
("g:shipping: 4.95 EUR on 100203 at 59.99 EUR"): an item of 59.99 EUR that ships for a fee refutes
"free from 49 €", and the highest order value an item ships free at ("shipping: free on 100 at
79.99 EUR"). Texts that do not read as amounts are ignored (shipping never rejects an item).
"""
from __future__ import annotations

import re
from decimal import Decimal

from unisono.channels.parsing import parse_feed_money
from unisono.domain.claims import ClaimTerms
from unisono.domain.models import Claim, SourceRef

_ENTRIES = re.compile(r",\s*(?=[A-Za-z]{2}:)")  # several entries in one cell: "DE::Std:4.95 EUR,AT::Std:6.95 EUR"
NESTED = {"shipping": ("country", "region", "service", "price", "min_order_value"),
          "free_shipping_threshold": ("country", "price_threshold")}


def _amount(text: str, currency: str) -> tuple[Decimal, str] | None:
    try:
        return parse_feed_money(text, currency, what="shipping") if text.strip() else None
    except ValueError:
        return None


class ShippingTally:
    """Collects the shipping attributes of a feed's items; claims() says what they add up to."""

    def __init__(self) -> None:
        self.thresholds: dict[tuple[Decimal, str, str], tuple[str, int]] = {}  # (amount, cur, country) -> attr, line
        self.charged: tuple[Decimal, Decimal, str, str, int] | None = None  # order value, fee, currency, sku, line
        self.free: tuple[Decimal, Decimal, str, str, int] | None = None  # the same, of the highest shipping free

    def add(self, shipping: str | None, threshold: str | None, order_value: Decimal, currency: str, sku: str,
            line: int) -> None:
        free_from: list[Decimal] = []  # order values from which this item ships free
        fees: list[Decimal] = []
        for entry in _ENTRIES.split(threshold or ""):
            country, _, price = entry.partition(":")
            if (amount := _amount(price, currency)) is not None:
                self._threshold(amount, country, "free_shipping_threshold", line)
                free_from.append(amount[0])
        for entry in _ENTRIES.split(shipping or ""):
            parts = entry.split(":")
            if len(parts) < 4 or (fee := _amount(parts[3], currency)) is None or fee[1] != currency:
                continue
            minimum = _amount(parts[4], currency) if len(parts) > 4 else None
            if fee[0] == 0 and minimum is not None:
                self._threshold(minimum, parts[0], "shipping", line)
                free_from.append(minimum[0])
            elif fee[0] == 0:  # this item, at its price, ships free
                free_from.append(order_value)
                if self.free is None or order_value > self.free[0]:
                    self.free = (order_value, fee[0], currency, sku, line)
            else:
                fees.append(fee[0])
        if fees and not any(order_value >= f for f in free_from):
            if self.charged is None or order_value > self.charged[0]:
                self.charged = (order_value, min(fees), currency, sku, line)

    def add_later(self, later: ShippingTally) -> None:
        """What a later part of the same feed collected: its first item per threshold, the highest
        order value charged (the earlier one on a tie, as one reader keeps it)."""
        for key, value in later.thresholds.items():
            self.thresholds.setdefault(key, value)
        if later.charged is not None and (self.charged is None or later.charged[0] > self.charged[0]):
            self.charged = later.charged
        if later.free is not None and (self.free is None or later.free[0] > self.free[0]):
            self.free = later.free

    def _threshold(self, amount: tuple[Decimal, str], country: str, attribute: str, line: int) -> None:
        self.thresholds.setdefault((amount[0], amount[1], country.strip().upper()), (attribute, line))

    def claims(self, location: str, file: str) -> list[Claim]:
        out = []
        for (amount, currency, country), (attribute, line) in sorted(self.thresholds.items(), key=lambda kv: kv[1][1]):
            where = f" ({country})" if country else ""
            text = f"{attribute}: free from {amount:.2f} {currency}{where}" if amount else \
                f"{attribute}: free on every order{where}"
            out.append(Claim(channel="shop", location=location, kind="shipping", text=text,
                             source=SourceRef(file=file, line=line),
                             terms=ClaimTerms(type="shipping", threshold=amount, currency=currency)))
        for evidence in (self.charged, self.free):
            if evidence is not None:
                value, fee, currency, sku, line = evidence
                cost = f"{fee:.2f} {currency}" if fee else "free"
                out.append(Claim(channel="shop", location=location, kind="shipping",
                                 text=f"shipping: {cost} on {sku} at {value:.2f} {currency}",
                                 source=SourceRef(file=file, line=line),
                                 terms=ClaimTerms(type="shipping", charged_on=value, fee=fee, currency=currency,
                                                  product=sku)))
        return out
