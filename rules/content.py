"""content: the same product is described alike in every channel: its title and its brand.

    - id: title-and-brand-drift
      kind: content
      channels: [shop, store]     # the first is the reference
      fields: [title, brand]
      title_similarity: 70        # 0-100; below it the titles name different things
      severity: warning

A store calling 100203 "WANDERSCH. ALPIN GTX" where the shop says "Wanderschuh Alpin GTX Herren"
is an abbreviation, not drift (a word of three letters or more that begins a word of the reference
title counts as that word); "Daunenweste Damen" for the same sku is (a wrong sku, a re-used article
number, a label printed for another product). Titles are compared by rapidfuzz's token_set_ratio of
the titles with case, accents and punctuation folded (a title whose words are all in the other scores
100), and differ when the score is below `title_similarity`. Brands are compared folded, each channel's
own (a store file's Marke column), never the product's merged brand. Unknown on either side is no
difference. One finding per product and pair of locations, as parity gives it.

The database picks the candidate pairs (titles or brands that differ as text); Python scores each
distinct pair of titles once, and the database returns the offers of the pairs scoring below.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BeforeValidator, Field
from rapidfuzz import fuzz
from sqlalchemy import Column, MetaData, Select, Table, Text, and_, exists, func, insert, null, or_, select

from unisono.catalog.live import compared, drop_temporary, live_narrow
from unisono.catalog.tables import OfferRow, Publication
from unisono.domain.findings import Finding, location_label
from unisono.rules.base import Channel, RuleBase, one_or_many
from unisono.rules.claim_scope import fold
from unisono.rules.found_rows import found_rows, from_row, none_found
from unisono.rules.messages import fill_template, offer_name, sentence

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlalchemy import Row

    from unisono.rules.evaluate import EvalContext

ContentField = Literal["title", "brand"]
Pair = tuple[str, str]  # (reference title, other title)


class ContentRule(RuleBase):
    """The same product has the same title (by similarity) and brand in every channel."""

    kind: Literal["content"]
    channels: list[Channel] = Field(default_factory=lambda: ["shop", "store"], min_length=2)
    """The reference channel first, then the channels compared with it."""
    fields: Annotated[list[ContentField], BeforeValidator(one_or_many)] = Field(
        default_factory=lambda: ["title", "brand"], min_length=1)
    """title (by similarity) and brand (folded: case, accents and punctuation aside)."""
    title_similarity: float = Field(default=70, ge=0, le=100)
    """rapidfuzz token_set_ratio of the folded titles, 0-100: titles scoring below it differ."""

    def template_channels(self) -> list[str]:
        return []  # a finding names {sku}, {title}, {rule}

    def query(self, live: Table, ctx: EvalContext) -> Select:
        if ctx.conn is None:
            return none_found()
        conn = ctx.conn
        # the narrow relation (titles are in it); the sources only once some pair drifted (rarely)
        rel = compared({"title"} | self.scope_columns())
        ref, other = rel.alias("ref"), rel.alias("other")
        joined = ref.join(other, and_(other.c.key == ref.c.key, other.c.channel.in_(self.channels[1:])))
        where = [ref.c.channel == self.channels[0], *self.scope_clauses(ref, [other])]
        differs, judged = [], {}
        if "title" in self.fields:
            titles_differ = and_(ref.c.title.is_not(None), other.c.title.is_not(None),
                                 _differ(conn, ref.c.title, other.c.title, in_sql=False))
            # each distinct pair of titles is scored once (5 stores mostly show one title)
            if self.where is not None or self.unless is not None:
                pairs = select(ref.c.title.label("ref_title"), other.c.title.label("other_title")).distinct() \
                    .select_from(joined).where(*where, titles_differ)
            else:  # the stores' titles per product first: five stores mostly print one title, so the
                # join reads a fifth of the rows (1M x 5: 3 -> 1 s)
                others = select(rel.c.key, rel.c.title).distinct().where(
                    rel.c.channel.in_(self.channels[1:]), rel.c.title.is_not(None)).subquery("other")
                pairs = select(ref.c.title.label("ref_title"), others.c.title.label("other_title")).distinct() \
                    .select_from(ref.join(others, others.c.key == ref.c.key)) \
                    .where(ref.c.channel == self.channels[0], ref.c.title.is_not(None),
                           _differ(conn, ref.c.title, others.c.title, in_sql=False))
            judged = self.judge_titles(conn.execute(pairs), strip_case=conn.dialect.name == "sqlite")
            drifted = [pair for pair, score in judged.items() if score is not None]
            if drifted:
                differs.append(and_(titles_differ, _one_of(conn, drifted, ref.c.title, other.c.title)))
        brands = "brand" in self.fields and _named_brands(conn, live_narrow, self.channels)
        # each offer's own row: its source, and its own brand (the live brand is the product's, merged)
        ref_row, other_row = OfferRow.__table__.alias("ref_row"), OfferRow.__table__.alias("other_row")
        columns = [ref.c.key, ref.c.channel.label("ref_channel"), ref.c.location.label("ref_location"),
                   ref.c.title.label("ref_title"), ref_row.c.source.label("ref_source"),
                   other.c.channel.label("other_channel"), other.c.location.label("other_location"),
                   other.c.title.label("other_title"), other_row.c.source.label("other_source")]
        if brands:
            columns += [ref_row.c.brand.label("ref_brand"), other_row.c.brand.label("other_brand")]
            differs.append(and_(ref_row.c.brand.is_not(None), other_row.c.brand.is_not(None),
                                _differ(conn, ref_row.c.brand, other_row.c.brand)))
        else:
            columns += [null().label("ref_brand"), null().label("other_brand")]
        if not differs:
            return none_found()  # most runs: no title scores below the threshold, no brands to compare
        joined = joined.join(ref_row, ref_row.c.id == ref.c.offer_id).join(other_row, other_row.c.id == other.c.offer_id)
        q = (select(*columns).select_from(joined).where(*where, or_(*differs))
             .order_by(ref.c.key, other.c.channel, other.c.location, ref.c.location))
        found = [f for r in conn.execute(q) if (f := self._judge(r, judged)) is not None]
        return found_rows(conn, "content_findings", found)

    def to_finding(self, row: Row, ctx: EvalContext) -> Finding:
        return from_row(row)

    def judge_titles(self, pairs: Iterable[tuple[str, str]], strip_case: bool = False) -> dict[Pair, float | None]:
        """title_drift() of each distinct (reference title, other title), folding each title once.
        strip_case: pairs equal but for case and surrounding spaces are left out (what SQLite's
        query cannot tell apart by itself)."""
        words: dict[str, str] = {}

        def folded(title: str) -> str:
            if (w := words.get(title)) is None:
                w = words[title] = fold_words.__wrapped__(title)
            return w

        judged = {}
        for a, b in pairs:
            if (a, b) not in judged and not (strip_case and a.strip().casefold() == b.strip().casefold()):
                judged[(a, b)] = self.title_drift(a, b, folded)
        return judged

    def title_drift(self, ref_title: str | None, other_title: str | None, folded=None) -> float | None:
        """The similarity of two titles when it is below `title_similarity` (they name different
        things), else None. Titles equal but for case, or missing, are no drift."""
        if not (ref_title and other_title) or ref_title.casefold() == other_title.casefold():
            return None
        folded = folded or fold_words
        ref_words, other_words = folded(ref_title), folded(other_title)
        if ref_words == other_words and ref_words:
            return None  # the same words score 100 (nothing scores above the highest threshold)
        score = fuzz.token_set_ratio(ref_words, expand(other_words, ref_words))
        return score if score < self.title_similarity else None

    def _judge(self, r, judged: dict[Pair, float | None] | None = None) -> Finding | None:
        score = None
        if "title" in self.fields:
            pair = (r.ref_title, r.other_title)
            score = judged[pair] if judged and pair in judged else self.title_drift(*pair)
        brands = "brand" in self.fields and r.ref_brand and r.other_brand and fold(r.ref_brand) != fold(r.other_brand)
        if score is None and not brands:
            return None  # most candidates: the titles differ only in case, accents or abbreviation
        ref, other = offer_name(r.ref_channel, r.ref_location), offer_name(r.other_channel, r.other_location)
        ref_label, other_label = location_label(r.ref_channel, r.ref_location), \
            location_label(r.other_channel, r.other_location)
        parts, values, extra = [], {}, {}
        if score is not None:
            parts.append(f"{other} calls {r.key} '{r.other_title}', {ref} '{r.ref_title}' "
                         f"(title similarity {score:.0f} of 100)")
            values = {ref_label: r.ref_title, other_label: r.other_title}
            extra["title_similarity"] = f"{score:.0f}"
        if brands:
            parts.append(f"{other} gives {r.key} the brand '{r.other_brand}', {ref} '{r.ref_brand}'")
            extra["brands"] = f"{r.ref_brand} / {r.other_brand}"
            values = values or {ref_label: r.ref_brand, other_label: r.other_brand}
        if not parts:
            return None
        message = sentence("; ".join(parts))
        if self.message is not None:
            message = fill_template(self.message, {"sku": r.key, "title": r.ref_title or "", "rule": self.title or self.id})
        return Finding(rule=self.id, kind=self.kind, severity=self.severity, sku=r.key, title=r.ref_title,
                       channels=[r.ref_channel, r.other_channel], locations=[ref_label, other_label], values=values,
                       message=message, sources=[r.ref_source, r.other_source], extra=extra)


def _named_brands(conn, live: Table, channels: list[str]) -> bool:
    """Whether the reference channel and another one both have live offers from publications that
    name brands (or categories): without, no offer of one of them has a brand and no brand differs."""
    pub = Publication.__table__
    # attributed NULL: a publication from before it was counted
    naming = or_(live.c.publication_id.is_(None),
                 live.c.publication_id.not_in(select(pub.c.id).where(pub.c.attributed == 0)))
    return all(conn.execute(select(live.c.offer_id).where(live.c.channel.in_(side), naming).limit(1)).first()
               for side in (channels[:1], channels[1:]))


def _differ(conn, a, b, in_sql: bool = True):
    """a and b differ beyond case and surrounding spaces (lower(trim())). SQLite's lower() and NOCASE
    fold A-Z only ("Ü" stays): there NOCASE (in C) rules out most equal texts, and with in_sql
    Python's strip().casefold(), as a function of the connection, the rest (a call out of SQLite
    per text); without, the caller folds what the query returns."""
    if conn.dialect.name != "sqlite":
        return func.lower(func.trim(a)) != func.lower(func.trim(b))
    nocase = a.collate("NOCASE") != b
    if not in_sql:
        return nocase
    conn.connection.driver_connection.create_function(
        "unisono_fold", 1, lambda t: t.strip().casefold() if isinstance(t, str) else t, deterministic=True)
    return and_(nocase, func.unisono_fold(a) != func.unisono_fold(b))


def _one_of(conn, pairs: list[tuple[str, str]], a, b):
    """(a, b) is one of `pairs`: a temporary table of them (SQLite has no VALUES with column names)."""
    table = Table("content_titles", MetaData(), Column("ref_title", Text, primary_key=True),
                  Column("other_title", Text, primary_key=True), prefixes=["TEMPORARY"])
    drop_temporary(conn, table)
    table.create(conn)
    conn.execute(insert(table), [{"ref_title": x, "other_title": y} for x, y in pairs])
    return exists().where(table.c.ref_title == a, table.c.other_title == b)


_MARKS = re.compile(r"[\u0300-\u036f]")  # combining accents, once NFKD has split them off their letters
_NON_WORD = re.compile(r"[\W_]+")


def expand(words: str, full: str) -> str:
    """A POS abbreviation ("wandersch." for "wanderschuh") read as the word of `full` it begins."""
    known = full.split()
    out = []
    for w in words.split():
        if len(w) >= 3 and w not in known:
            w = next((k for k in known if k.startswith(w)), w)
        out.append(w)
    return " ".join(out)


@lru_cache(maxsize=1 << 16)  # a shop title is compared with every store's
def fold_words(title: str) -> str:
    """Words folded for comparison: case, accents and punctuation aside, words kept apart."""
    plain = _MARKS.sub("", unicodedata.normalize("NFKD", title.casefold().replace("ß", "ss")))
    return _NON_WORD.sub(" ", plain).strip()
