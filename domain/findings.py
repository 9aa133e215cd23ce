"""Findings: one violation of one rule, with the evidence a merchandiser needs to act on it."""
from __future__ import annotations

import hashlib
import re
from datetime import datetime
from decimal import Decimal
from enum import Enum
from functools import cached_property

from pydantic import BaseModel, Field


class Severity(str, Enum):
    info = "info"
    warning = "warning"
    error = "error"
    blocker = "blocker"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.info: 0, Severity.warning: 1, Severity.error: 2, Severity.blocker: 3}


class Finding(BaseModel):
    rule: str
    kind: str
    severity: Severity
    sku: str  # the product key: sku, else gtin, else the product link
    title: str | None = None
    channels: list[str]  # the channels involved, reference channel first
    locations: list[str]  # "shop:online", "store:1042", "newsletter:bf-2026" in the same order
    values: dict[str, str]  # location -> the value it showed ("79.99 EUR")
    message: str
    sources: list[str]  # file:line of every offer involved
    valid_from: datetime | None = None  # the interval in which the finding holds (window checks)
    valid_to: datetime | None = None
    extra: dict[str, str] = Field(default_factory=dict)
    # False: the rule could not judge (e.g. no 30 days of price history). Reported apart from
    # the violations, never failing a run: a guess would be either noise or a false all-clear.
    judged: bool = True
    status: str | None = None  # reconcile: new, open (still there) or resolved (gone since the last run)

    @property
    def concerned(self) -> list[str]:
        """The locations where the finding is acted on: the stores and newsletters it names (the shop is
        most rules' reference, so it counts only when it is all the finding names; "shop:*", no shop
        location, is never a place)."""
        acted = [loc for loc in self.locations if not loc.startswith("shop:")]
        return list(dict.fromkeys(acted or [loc for loc in self.locations[:1] if not loc.endswith(":*")]))

    @property
    def products(self) -> list[str]:
        """The products the finding is about: its key, and for a finding about many (a claim: "2 of 4
        Jacken are not reduced … (J2, J4)") each product it names as an example."""
        return [self.sku, *filter(None, self.extra.get("examples", "").split(", "))]

    @cached_property  # (asked for by records, comparisons and every report: a hash each time was a tenth of a
    def fingerprint(self) -> str:  # reconcile with 100,000 findings; copies never change rule, sku or locations)
        """Stable across runs: rule, product and locations; never the message or the values."""
        basis = "\x1f".join([self.rule, self.sku, *sorted(self.locations)])
        return hashlib.sha256(basis.encode()).hexdigest()[:16]


def location_label(channel: str, location: str) -> str:
    return f"{channel}:{location}"


class RuleInfo(BaseModel):
    """What a run knows of each rule it evaluated: reports list every rule, those without findings too."""

    id: str
    title: str | None = None
    kind: str
    severity: Severity


# Rules write money as "79.99 EUR" (amount with a point, ISO code). Reports read the number back
# from that text rather than storing it twice, so runs stored before reports existed render alike.
_MONEY = re.compile(r"^(-?\d+(?:\.\d+)?) ([A-Z]{3})$")


def money(value: str) -> tuple[Decimal, str] | None:
    """("79.99", "EUR") as (Decimal, currency) for a money value of a finding; None for any other value."""
    m = _MONEY.match(value)
    return (Decimal(m.group(1)), m.group(2)) if m else None
