"""Narrowing what `check` and `reconcile` report: --rule, --sku, --store, --severity, --limit.

The filters select findings: the listing, the summary and the exit code all cover the selected
ones only (`check --rule price-parity` gates price parity alone; a reconcile still stores every
finding, so the next night compares with the whole run). --limit only shortens the listing:
counts and the exit code still cover everything selected, and the report says how many it left
out. A rule id or a location the project does not know is refused (a typo would pass a gate by
selecting nothing), and so is a product no channel published and no finding names.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from collections.abc import Callable

    from unisono.api.project import Project
    from unisono.api.results import CheckResult

SEVERITIES = ("info", "warning", "error", "blocker")  # the same as cli.main.SEVERITIES (a test checks both)


def narrowing_options(command):
    """--rule, --sku, --store/--location, --severity, --limit: the keyword `narrowing` of the command."""
    options = [
        click.option("--rule", "rule_ids", multiple=True, metavar="ID",
                     help="Only findings of this rule (repeatable; `unisono rules list` shows the ids)."),
        click.option("--sku", "skus", multiple=True, help="Only findings for this product (repeatable)."),
        click.option("--store", "--location", "stores", multiple=True, metavar="ID",
                     help="Only findings involving this location, e.g. 1002 or store:1002 (repeatable)."),
        click.option("--severity", type=click.Choice(SEVERITIES), help="Only findings of this severity or higher."),
        click.option("--limit", type=click.IntRange(0), metavar="N",
                     help="List at most N findings (in every format); counts and the exit code still cover all."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def narrow(project: Project, result: CheckResult, *, rule_ids: tuple[str, ...], skus: tuple[str, ...],
           stores: tuple[str, ...], severity: str | None) -> tuple[CheckResult, str]:
    """The narrowed result, and the filter in words for the report's head ("" when none)."""
    from unisono.domain.findings import Severity

    from unisono.api.results import named

    def found(key: str) -> bool:  # read again per --sku asked for, never held as a set of every product named
        return named(key, result.findings, result.waived, result.undecided)

    words = checked(project, set(result.rule_titles), rule_ids=rule_ids, skus=skus, stores=stores, severity=severity,
                    found=found)
    if not words:
        return result, ""
    narrowed = result.narrowed(rules=set(rule_ids), skus=set(skus), locations=set(stores),
                               min_severity=Severity(severity) if severity else None)
    return narrowed, words


def checked(project: Project, known_rules: set[str], *, rule_ids: tuple[str, ...], skus: tuple[str, ...],
            stores: tuple[str, ...], severity: str | None, found: Callable[[str], bool] | None = None) -> str:
    """The filters checked against the project (an unknown rule, location or product refused; a
    product is known when some channel published it or `found(key)` says a finding names it), in
    words for the report's head: "only rule price-parity; location 1002"."""
    from unisono.api.waivers import check_location, product_warning
    from unisono.domain.models import InputError
    from unisono.rules.messages import did_you_mean

    for rule in rule_ids:
        if rule not in known_rules:
            raise InputError(f"--rule {rule}: the ruleset has no such rule{did_you_mean(rule, known_rules)};"
                             " `unisono rules list` lists them")
    for store in stores:
        check_location(project, store, "(--store selects findings by location)")
    for sku in skus:  # a mistyped product would pass a gate by selecting nothing
        if not (found and found(sku)) and (unknown := product_warning(project, sku)):
            raise InputError(f"--sku {sku}: {unknown} (nor does any finding name it)")
    words = [f"{name} {', '.join(values)}" for name, values in
             (("rule", rule_ids), ("sku", skus), ("location", stores)) if values]
    words += [f"{severity} and above"] if severity else []
    return "only " + "; ".join(words) if words else ""
