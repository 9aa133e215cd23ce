"""presence: what one channel shows must exist in others, e.g. what the newsletter advertises
is in the shop (and, with require_available, not out of stock there).

    - id: advertised-in-shop
      kind: presence
      when_in: newsletter
      require_in: [shop]
      require_available: true

For each live offer of `when_in` (each location) there must be a live offer with the same key in
each required channel (any location). One finding per (key, when_in location, missing channel).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BeforeValidator, ConfigDict, Field, model_validator
from sqlalchemy import Select, Table, and_, exists, literal, or_, select, union_all
from sqlalchemy.sql import FromClause

from unisono.domain.findings import Finding, location_label
from unisono.catalog.live import compared
from unisono.catalog.tables import OfferRow
from unisono.rules.base import (
    Channel, OfferView, RuleBase, accept_single_item, carried, one_or_many, shop_title, widened,
)
from unisono.rules.claim_live import exclusive_keys, exclusive_table
from unisono.rules.found_rows import materialise
from unisono.rules.messages import sentence

if TYPE_CHECKING:
    from sqlalchemy import Row

    from unisono.rules.evaluate import EvalContext

OUT_OF_STOCK = "out_of_stock"


class PresenceRule(RuleBase):
    """What one channel shows exists in others."""

    model_config = ConfigDict(json_schema_extra=lambda schema: accept_single_item(schema, "require_in"))

    kind: Literal["presence"]
    when_in: Channel
    """Every offer of this channel (each location) is checked."""
    require_in: Annotated[list[Channel], BeforeValidator(one_or_many)] = Field(min_length=1)
    """Each of these channels must have an offer for the product (any location)."""
    require_available: bool = False
    """An offer that is out_of_stock does not count."""
    exclusive_claims: bool = True
    """A product a live claim reserves to one side is not required in the channel it excludes: "nur online"
    not in the stores, "nur im Markt" not in the shop (claim_live.py)."""
    listed_only: bool = False
    """With require_available: only products the required channel lists (all its listings out of stock or
    discontinued) are findings; one it does not list at all is not (a product the stores do not carry)."""

    @model_validator(mode="after")
    def _not_itself(self) -> PresenceRule:
        if self.when_in in self.require_in:
            raise ValueError(f"require_in names {self.when_in!r}, the when_in channel itself: that always holds")
        if self.listed_only and not self.require_available:
            raise ValueError("listed_only needs require_available: true (else nothing listed is ever missing)")
        return self

    def template_channels(self) -> list[str]:
        return [self.when_in]  # the required channel's offer is missing, so it has no fields to show

    def query(self, live: Table, ctx: EvalContext | None = None) -> Select:
        """The offers missing elsewhere, found on the narrow live relation (catalog/live.py `compared`),
        then widened to the evidence of those offers only."""
        rel = compared(self.scope_columns())
        seen = rel.alias("seen")
        keys = exclusive_keys(ctx.conn, live, ctx.at, ctx.config) \
            if self.exclusive_claims and ctx is not None and ctx.conn is not None else {}
        ex = exclusive_table(ctx.conn, keys) if keys else None
        hashing = ctx is not None and ctx.conn is not None and ctx.conn.dialect.name == "duckdb"
        per_channel = [self._missing_in(rel, seen, ch, ex, hashing) for ch in dict.fromkeys(self.require_in)]
        found = per_channel[0] if len(per_channel) == 1 else select(union_all(*per_channel).subquery())
        found = materialise(ctx.conn, "presence_found", found) if ctx is not None and ctx.conn is not None \
            else found.subquery("found")
        columns, joined = widened(found, "seen")
        oos = OfferRow.__table__.alias("oos_row")  # the out-of-stock offer shown as evidence, where there is one
        return select(
            *columns, shop_title(found.c.key, among=select(found.c.key)),
            found.c.missing_channel, found.c.listed,
            oos.c.location.label("oos_location"), oos.c.source.label("oos_source"),
        ).select_from(joined.outerjoin(oos, oos.c.id == found.c.oos_id))

    def _missing_in(self, rel: FromClause, seen: FromClause, channel: str, ex: Table | None,
                    hashing: bool = False) -> Select:
        there = rel.alias("there")
        same_product = and_(there.c.channel == channel, there.c.key == seen.c.key)
        if hashing:  # DuckDB answers each question below with a scan of every live offer: the channel's
            # offers of the products seen, once (1M x 5: 1.8 -> 0.6 CPU s); SQLite and PostgreSQL look
            # each product up in the key index instead
            every, seen_keys = rel.alias("every"), rel.alias("seen_keys")
            there = select(every.c.key, every.c.offer_id, every.c.location, every.c.availability).where(
                every.c.channel == channel,
                every.c.key.in_(select(seen_keys.c.key).where(seen_keys.c.channel == self.when_in))
            ).cte(f"there_{channel}")
            same_product = there.c.key == seen.c.key
        listed = exists().where(same_product)
        counts = listed
        if self.require_available:
            counts = exists().where(same_product, or_(there.c.availability.is_(None), there.c.availability != OUT_OF_STOCK))
        # where it is listed but out of stock: one such offer as evidence (the first by location)
        first_out_of_stock = select(there.c.offer_id).where(same_product, there.c.availability == OUT_OF_STOCK) \
            .order_by(there.c.location, there.c.offer_id).limit(1).scalar_subquery()

        return select(
            seen.c.key, carried(seen, "seen"),
            literal(channel).label("missing_channel"), listed.label("listed"), first_out_of_stock.label("oos_id"),
        ).where(seen.c.channel == self.when_in, ~counts, *([listed] if self.listed_only else []),
                *([~exists().where(ex.c.key == seen.c.key, ex.c.excluded == channel)] if ex is not None else []),
                *self.scope_clauses(seen, [seen]))

    def to_finding(self, row: Row, ctx: EvalContext) -> Finding:
        seen = OfferView.from_row(row, "seen")
        m = row._mapping
        missing = m["missing_channel"]
        verb = "advertises" if seen.channel == "newsletter" else "sells"
        if m["listed"]:
            place = "the shop" if missing == "shop" else f"every {missing} that lists it"
            state, problem = "out of stock", f"which is out of stock in {place}"
        else:
            place = "the shop" if missing == "shop" else f"any {missing}"
            state, problem = "not listed", f"which is not in {place}"
        message = sentence(f"{seen.name} {verb} {self.item(row, seen)}, {problem}")
        elsewhere = location_label(missing, "*")  # no location of that channel has it
        return self.finding(
            row, [seen], message=message,
            channels=[seen.channel, missing], locations=[seen.label, elsewhere],
            values={seen.label: seen.text("effective_price"), elsewhere: state},
            sources=[seen.source] + ([m["oos_source"]] if m["oos_source"] else []),
            extra={"out_of_stock_at": location_label(missing, m["oos_location"])} if m["oos_location"] else None,
        )
