"""Findings: one violation of one rule, with the evidence a merchandiser needs to act on it."""
from __future__ import annotations

import hashlib
from datetime import datetime
from enum import Enum

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
    def fingerprint(self) -> str:
        """Stable across runs: rule, product and locations; never the message or the values."""
        basis = "\x1f".join([self.rule, self.sku, *sorted(self.locations)])
        return hashlib.sha256(basis.encode()).hexdigest()[:16]


def location_label(channel: str, location: str) -> str:
    return f"{channel}:{location}"
