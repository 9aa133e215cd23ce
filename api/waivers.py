"""Waivers as a user records, edits and removes them: what looks like a typo is refused.

A waiver that matches nothing never applies, silently: a misspelt rule id or store, or an expiry
already past, would leave a finding failing while the user believes it accepted. So those are
refused with the reason and, where one is near, the name meant; `force` records them anyway (a
promotion file's rule id, a store that opens next week). A product no channel has published is
only a warning: waivers are often recorded before the file that lists the product.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from unisono.catalog.tables import OfferRow
from unisono.catalog.waivers import (
    add_waiver, get_waiver, latest_effective, published_locations, remove_waivers, update_waiver,
)
from unisono.domain.models import InputError
from unisono.rules.messages import did_you_mean

if TYPE_CHECKING:
    from sqlalchemy import Row

    from unisono.api.project import Project

FORCE = "--force records it anyway"


def _check_rule(project: Project, rule: str) -> None:
    ids = {r.id for r in project.rules()}
    if rule not in ids:
        raise InputError(f"the project has no rule {rule!r}{did_you_mean(rule, ids)}: `unisono rules list`"
                         f" lists them; {FORCE}, e.g. for a promotion file's id")


def check_location(project: Project, location: str, hint: str) -> None:
    """Refuse a location ("store:1002" or "1002") no publication covered, with the nearest one."""
    known = published_locations(project.engine)
    names = known | {label.split(":", 1)[1] for label in known}
    if location in names:
        return
    listed = ", ".join(sorted(known)[:6]) + (" …" if len(known) > 6 else "")
    raise InputError(f"no channel has published a location {location!r}{did_you_mean(location, names)}"
                     f" ({'known: ' + listed if known else 'nothing is published yet'}): {hint}")


def _check_until(project: Project, until: datetime, now: datetime, shown: str) -> None:
    """Refused when it ended before now and before the newest publication goes live: it could
    apply to no check of anything the catalog holds. (Against both, not the clock alone: dated
    files checked on a later day, like the demo's, keep their waivers.)"""
    latest = latest_effective(project.engine)
    horizon = min(now, latest) if latest is not None else now
    if until <= horizon:
        raise InputError(f"--until {shown} is in the past: the waiver would never apply ({FORCE})")


def claim_hint(project: Project, rule: str, sku: str) -> str | None:
    """A waiver of a claim rule by a product's sku: it covers a claim about that one product only."""
    if sku.startswith("claim:") or not any(r.id == rule and r.kind == "claim" for r in project.rules()):
        return None
    return (f"{rule} judges the newsletter's claims: one about several products (\"20 % auf alle Jacken\") is "
            f"waived by the claim:… id its finding shows (`unisono check --format json`), not by {sku!r}; a sku "
            "covers only a claim about that one product")


def product_warning(project: Project, sku: str) -> str | None:
    from sqlalchemy import select

    if sku.startswith("claim:"):  # the id of a claim's finding (rules/claim_live.py): no product's
        return None
    o = OfferRow.__table__
    with project.engine.connect() as conn:
        known = conn.execute(select(o.c.id).where((o.c.sku == sku) | (o.c.url == sku) | (o.c.gtin == sku)).limit(1)).first()
    return None if known else f"no channel has published a product {sku!r}"


def waive(project: Project, rule: str, sku: str, *, reason: str, location: str | None = None,
          until: datetime | None = None, until_text: str = "", force: bool = False,
          now: datetime | None = None) -> int:
    """Record a waiver; refused (InputError) when its rule, location or expiry looks mistaken."""
    if not rule.strip() or not sku.strip():  # an empty key would match no finding, silently
        raise InputError(f"a waiver needs a rule and a product (got rule {rule!r}, product {sku!r})")
    if not reason.strip():
        raise InputError("a waiver needs a reason (--reason)")
    if not force:
        _check_rule(project, rule)
        if location:
            check_location(project, location, f"({FORCE}, e.g. for a store not published yet)")
        if until:
            _check_until(project, until, now or datetime.now(timezone.utc), until_text)
    return add_waiver(project.engine, rule=rule, sku=sku, location=location, reason=reason.strip(), until=until)


def _existing(project: Project, waiver_id: int) -> Row:
    waiver = get_waiver(project.engine, waiver_id)
    if waiver is None:
        raise InputError(f"there is no waiver #{waiver_id} (`unisono waivers` lists them)")
    return waiver


def edit(project: Project, waiver_id: int, *, reason: str | None = None, until: datetime | None = None,
         until_text: str = "", forever: bool = False, force: bool = False, now: datetime | None = None) -> Row:
    """Change a waiver's reason or expiry (`forever`: no expiry); the edited waiver."""
    _existing(project, waiver_id)
    values: dict = {}
    if reason is not None:
        if not reason.strip():
            raise InputError("a waiver needs a reason (--reason)")
        values["reason"] = reason.strip()
    if forever:
        values["until"] = None
    elif until is not None:
        if not force:
            _check_until(project, until, now or datetime.now(timezone.utc), until_text)
        values["until"] = until
    if not values:
        raise InputError("nothing to change: give --until or --reason")
    update_waiver(project.engine, waiver_id, **values)
    return _existing(project, waiver_id)


def remove(project: Project, waiver_ids: list[int]) -> list[Row]:
    """Remove waivers (all or none: an unknown id refuses the lot); the waivers removed."""
    removed = [_existing(project, i) for i in dict.fromkeys(waiver_ids)]
    remove_waivers(project.engine, [w.id for w in removed])
    return removed
