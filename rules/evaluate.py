"""Evaluation: run each rule's query on a connection whose `live` temp table is filled.

Set-based: the database finds the violating rows; Python only turns each into a Finding.
"""
from __future__ import annotations

import logging
import time

from collections.abc import Iterator
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
    return sorted(each_finding(conn, rules, ctx), key=lambda f: (-f.severity.rank, f.rule, f.sku, f.locations))


def each_finding(conn: Connection, rules: list[Rule], ctx: EvalContext) -> Iterator[Finding]:
    """The rules' findings one at a time, as each rule's query returns its rows (unsorted): a caller
    that stores them as they come holds none of them (api/project.py spools them)."""
    from unisono.catalog.runs import streamed

    ctx = replace(ctx, conn=conn)
    for rule in rules:
        started, n = time.perf_counter(), 0
        for row in conn.execute(rule.query(live, ctx), execution_options=streamed(conn)):
            n += 1
            yield rule.to_finding(row, ctx)
        log.info("rule %s (%s) in %.2f s: %d found", rule.id, rule.kind, time.perf_counter() - started, n)
