"""The durable_rules ("rete") engine: the same rules and findings as the SQL engine.

    from unisono.rules.rete import run_rules_rete, recheck_keys
    findings = run_rules_rete(conn, rules, ctx)  # conn's live table filled by build_live

compile.py turns rules into one durable_rules ruleset, worker.py evaluates keys in worker
processes, engine.py feeds them, contains their crashes and builds the findings.
"""
from unisono.rules.rete.engine import ReteEngineError, ReteStats, recheck_keys, run_rules_rete

__all__ = ["ReteEngineError", "ReteStats", "recheck_keys", "run_rules_rete"]
