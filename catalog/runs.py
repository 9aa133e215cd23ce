"""Runs and their findings: what each check or reconcile found, for history and comparison."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Engine, insert, select

from unisono.catalog.tables import FindingRow, Run
from unisono.domain.findings import Finding


def record_run(engine: Engine, *, kind: str, at: datetime, engine_name: str, ruleset_hash: str,
               findings: list[Finding], window_end: datetime | None = None, waived: int = 0) -> int:
    """Store a run with its current findings (resolved ones are counted, not stored again)."""
    current = [f for f in findings if f.status != "resolved"]
    with engine.begin() as conn:
        run_id = conn.execute(insert(Run.__table__).values(
            kind=kind, at=at, window_end=window_end, started_at=datetime.now(timezone.utc), engine=engine_name,
            ruleset_hash=ruleset_hash, findings=len(current), new=sum(f.status == "new" for f in findings),
            resolved=sum(f.status == "resolved" for f in findings), waived=waived,
        )).inserted_primary_key[0]
        if current:
            conn.execute(insert(FindingRow.__table__), [
                {"run_id": run_id, "fingerprint": f.fingerprint, "rule": f.rule, "kind": f.kind,
                 "severity": f.severity.value, "sku": f.sku, "message": f.message, "data": f.model_dump_json()}
                for f in current
            ])
    return run_id


def last_run_findings(engine: Engine, kind: str, before: datetime) -> dict[str, Finding]:
    """The findings of the latest run of a kind for an instant before `before`, by fingerprint
    (empty before the first run). Running a reconcile again for the same instant compares with
    the same earlier run, so re-running it (say, for another format) gives the same statuses."""
    run, finding = Run.__table__, FindingRow.__table__
    with engine.connect() as conn:
        last = conn.execute(select(run.c.id).where(run.c.kind == kind, run.c.at < before)
                            .order_by(run.c.at.desc(), run.c.id.desc()).limit(1)).scalar()
        if last is None:
            return {}
        rows = conn.execute(select(finding.c.data).where(finding.c.run_id == last)).scalars()
        return {f.fingerprint: f for f in (Finding.model_validate_json(d) for d in rows)}


def list_runs(engine: Engine, limit: int = 20) -> list[Run]:
    run = Run.__table__
    with engine.connect() as conn:
        rows = conn.execute(select(run).order_by(run.c.id.desc()).limit(limit))
        return [Run.model_validate(dict(r._mapping)) for r in rows]
