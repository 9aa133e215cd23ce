"""The rule language (YAML -> pydantic models, one module per kind) and its set-based SQL evaluation.

    rules = load_rules([Path("rules.yaml")])        # RuleError: "file:line: ..." per problem
    findings = run_rules(conn, rules, EvalContext(at, tz))
    campaigns = load_promotions(Path("black-friday.yaml"))  # PromotionRules; .window_bounds(tz)

The names below are imported on first use (PEP 562), so importing one module of the package
(unisono.rules.promotion, unisono.rules.rete, ...) does not load all of them.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from unisono.rules.evaluate import EvalContext, run_rules
    from unisono.rules.promotion import PromotionRule, load_promotions
    from unisono.rules.ruleset import Rule, RuleError, default_rules_path, load_rules, rules_json_schema, validate

_WHERE = {
    "EvalContext": "evaluate", "run_rules": "evaluate",
    "PromotionRule": "promotion", "load_promotions": "promotion",
    "Rule": "ruleset", "RuleError": "ruleset", "default_rules_path": "ruleset", "load_rules": "ruleset",
    "rules_json_schema": "ruleset", "validate": "ruleset",
}

__all__ = [
    "EvalContext", "PromotionRule", "Rule", "RuleError", "default_rules_path", "load_promotions", "load_rules",
    "rules_json_schema", "run_rules", "validate",
]


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(f"unisono.rules.{_WHERE[name]}"), name)
        globals()[name] = value  # once is enough
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
