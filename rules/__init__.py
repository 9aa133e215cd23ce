"""The rule language (YAML -> pydantic models, one module per kind) and its set-based SQL evaluation.

    rules = load_rules([Path("rules.yaml")])        # RuleError: "file:line: ..." per problem
    findings = run_rules(conn, rules, EvalContext(at, tz))
    campaigns = load_promotions(Path("black-friday.yaml"))  # PromotionRules; .window_bounds(tz)
"""
from unisono.rules.evaluate import EvalContext, run_rules
from unisono.rules.promotion import PromotionRule, load_promotions
from unisono.rules.ruleset import Rule, RuleError, default_rules_path, load_rules, rules_json_schema, validate

__all__ = [
    "EvalContext", "PromotionRule", "Rule", "RuleError", "default_rules_path", "load_promotions", "load_rules",
    "rules_json_schema", "run_rules", "validate",
]
