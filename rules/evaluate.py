"""Evaluation: run each rule's query on a connection whose `live` temp table is filled.

Set-based: the database finds the violating rows; Python only turns each into a Finding.
"""
from __future__ import annotations

import logging
import time

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from unisono.catalog.live import live
from unisono.domain.config import ProjectConfig
from unisono.domain.findings import Finding

if TYPE_CHECKING:
    from unisono.rules.ruleset import Rule


log = logging.getLogger("unisono.timing")  # each rule's time, shown by `unisono --verbose`

@dataclass
class EvalContext:
    at: datetime  # the instant the live offers were built for (timezone-aware)
    tz: ZoneInfo  # the project's zone, for dates in messages
    conn: Connection | None = None  # where the rules run: a rule may look at the catalog's small tables first
    config: ProjectConfig | None = None  # the project's references (`claims:` in unisono.yaml) for the claim kind

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("EvalContext.at must be timezone-aware")


def run_rules(conn: Connection, rules: list[Rule], ctx: EvalContext) -> list[Finding]:
    """Findings of all rules: most severe first, then by rule, product and locations."""
    ctx = replace(ctx, conn=conn)
    findings: list[Finding] = []
    for rule in rules:
        started = time.perf_counter()
        found = [rule.to_finding(row, ctx) for row in conn.execute(rule.query(live, ctx))]
        log.info("rule %s (%s) in %.2f s: %d found", rule.id, rule.kind, time.perf_counter() - started, len(found))
        findings += found
    return sorted(findings, key=lambda f: (-f.severity.rank, f.rule, f.sku, f.locations))
