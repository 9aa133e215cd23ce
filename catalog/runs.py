"""Runs and their findings: what each check or reconcile found, for history and comparison."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Engine, insert, select

from unisono.catalog.db import write_transaction
from unisono.catalog.tables import FindingRow, Run
from unisono.domain.findings import Finding


CHUNK = 5_000  # findings inserted (and read back) per statement: the parameters never all at once


def record_run(engine: Engine, *, kind: str, at: datetime, engine_name: str, ruleset_hash: str,
               findings: list[Finding], window_end: datetime | None = None, waived: int = 0) -> int:
    """Store a run with its current findings (resolved ones are counted, not stored again)."""
    current = [f for f in findings if f.status != "resolved"]
    with write_transaction(engine) as conn:
        run_id = conn.execute(insert(Run.__table__).values(
            kind=kind, at=at, window_end=window_end, started_at=datetime.now(timezone.utc), engine=engine_name,
            ruleset_hash=ruleset_hash, findings=len(current), new=sum(f.status == "new" for f in findings),
            resolved=sum(f.status == "resolved" for f in findings), waived=waived,
        )).inserted_primary_key[0]
        for i in range(0, len(current), CHUNK):
            conn.execute(insert(FindingRow.__table__), [
                {"run_id": run_id, "fingerprint": f.fingerprint, "rule": f.rule, "kind": f.kind,
                 "severity": f.severity.value, "sku": f.sku, "message": f.message, "data": f.model_dump_json()}
                for f in current[i:i + CHUNK]
            ])
    return run_id


def baseline_runs(engine: Engine, kind: str, at: datetime) -> list[int]:
    """The runs a run of `kind` for instant `at` is compared with, newest first: the first run for the
    same instant (running a reconcile again compares with it: what it found is open, not new again),
    then the latest run for an earlier instant (so the re-run reports what that one resolved, too)."""
    run = Run.__table__
    with engine.connect() as conn:
        same = conn.execute(select(run.c.id).where(run.c.kind == kind, run.c.at == at)
                            .order_by(run.c.id).limit(1)).scalar()
        earlier = conn.execute(select(run.c.id).where(run.c.kind == kind, run.c.at < at)
                               .order_by(run.c.at.desc(), run.c.id.desc()).limit(1)).scalar()
    return [r for r in (same, earlier) if r is not None]


def run_fingerprints(engine: Engine, run_ids: list[int]) -> set[str]:
    """The fingerprints of those runs' findings (narrow: the findings themselves are not read)."""
    if not run_ids:
        return set()
    finding = FindingRow.__table__
    with engine.connect() as conn:
        return set(conn.execute(select(finding.c.fingerprint).where(finding.c.run_id.in_(run_ids))).scalars())


def run_findings(engine: Engine, run_ids: list[int], fingerprints: set[str]) -> list[Finding]:
    """Those runs' findings with these fingerprints, one each (from the first run in `run_ids` that has it)."""
    if not run_ids or not fingerprints:
        return []
    finding = FindingRow.__table__
    rank = {run_id: i for i, run_id in enumerate(run_ids)}
    found: dict[str, tuple[int, str]] = {}
    wanted = sorted(fingerprints)
    with engine.connect() as conn:
        for i in range(0, len(wanted), CHUNK):
            rows = conn.execute(select(finding.c.run_id, finding.c.fingerprint, finding.c.data).where(
                finding.c.run_id.in_(run_ids), finding.c.fingerprint.in_(wanted[i:i + CHUNK])))
            for run_id, fp, data in rows:
                if fp not in found or rank[run_id] < found[fp][0]:
                    found[fp] = (rank[run_id], data)
    return [Finding.model_validate_json(data) for _, data in found.values()]


def list_runs(engine: Engine, limit: int = 20) -> list[Run]:
    run = Run.__table__
    with engine.connect() as conn:
        rows = conn.execute(select(run).order_by(run.c.id.desc()).limit(limit))
        return [Run.model_validate(dict(r._mapping)) for r in rows]
