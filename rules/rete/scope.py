"""`where` / `unless` in Python: the predicate rules/scope.py's scope_clause() gives the SQL engine.

The rete engine filters durable_rules' matches with it (a scope names the product and the
offers a match involves, so it is cheapest on the few matches, not on every fact). One
implementation of the semantics beside the SQL one, held to it by tests/test_engine_rete.py,
which compares both on random rows:

- sku: the product key, exact; brand: equal ignoring case; category: equal ignoring case, or a
  path prefix followed by ">" or " >" ("Schuhe" covers "Schuhe > Wanderschuhe");
- store, channel, availability: some offer of the match has them all;
- "ignoring case" is the database's lower(): SQLite folds ASCII letters only, PostgreSQL per its
  locale (engine.database_case asks it).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from unisono.rules.rete.worker import fold_case
from unisono.rules.scope import Scope

Fold = Callable[[str], str]

__all__ = ["fold_case", "in_scope", "scope_matches"]


def scope_matches(scope: Scope, product: Mapping, offers: Sequence[Mapping], fold: Fold) -> bool:
    """True where scope_clause(scope, product, offers) is true (it is never NULL)."""
    if scope.sku and product["key"] not in scope.sku:
        return False
    if scope.brand and not _same_text(product["brand"], scope.brand, fold):
        return False
    if scope.category and not _category_prefix(product["category"], scope.category, fold):
        return False
    if scope.store or scope.channel or scope.availability:
        return any(_offer_matches(scope, o) for o in offers)
    return True


def in_scope(rule, product: Mapping, offers: Sequence[Mapping], fold: Fold) -> bool:
    """A rule's `where` holds and its `unless` does not (RuleBase.scope_clauses)."""
    if rule.where is not None and not scope_matches(rule.where, product, offers, fold):
        return False
    return rule.unless is None or not scope_matches(rule.unless, product, offers, fold)


def _offer_matches(scope: Scope, offer: Mapping) -> bool:
    if scope.store and offer["location"] not in scope.store:
        return False
    if scope.channel and offer["channel"] not in scope.channel:
        return False
    return not scope.availability or (offer["availability"] is not None and offer["availability"] in scope.availability)


def _same_text(value: str | None, wanted: list[str], fold: Fold) -> bool:
    return value is not None and fold(value) in {fold(v) for v in wanted}


def _category_prefix(value: str | None, wanted: list[str], fold: Fold) -> bool:
    # lower(col) = lower(v) OR lower(col) LIKE lower(v || ' >%') OR lower(col) LIKE lower(v || '>%')
    if value is None:
        return False
    folded = fold(value)
    for v in wanted:
        prefix = fold(v.strip())
        if folded == prefix or folded.startswith(prefix + " >") or folded.startswith(prefix + ">"):
            return True
    return False
