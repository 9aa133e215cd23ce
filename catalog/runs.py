"""Runs and their findings: what each check or reconcile found, for history and comparison."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Engine, insert

from unisono.catalog.tables import FindingRow, Run
from unisono.domain.findings import Finding


def record_run(engine: Engine, *, kind: str, at: datetime, engine_name: str, ruleset_hash: str,
               findings: list[Finding]) -> int:
    with engine.begin() as conn:
        run_id = conn.execute(insert(Run.__table__).values(
            kind=kind, at=at, started_at=datetime.now(timezone.utc), engine=engine_name,
            ruleset_hash=ruleset_hash, findings=len(findings),
        )).inserted_primary_key[0]
        if findings:
            conn.execute(insert(FindingRow.__table__), [
                {"run_id": run_id, "fingerprint": f.fingerprint, "rule": f.rule, "kind": f.kind,
                 "severity": f.severity.value, "sku": f.sku, "message": f.message, "data": f.model_dump_json()}
                for f in findings
            ])
    return run_id
