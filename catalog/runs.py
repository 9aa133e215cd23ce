"""Runs and their findings: what each check or reconcile found, for history and comparison."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from itertools import islice

from sqlalchemy import Engine, Row, func, insert, or_, select

from unisono.catalog.db import write_transaction
from unisono.catalog.tables import FindingRow, Run, RunRule
from unisono.domain.findings import Finding, RuleInfo, Severity


CHUNK = 5_000  # findings inserted (and read back) per statement: the parameters never all at once


def record_run(engine: Engine, *, kind: str, at: datetime, engine_name: str, ruleset_hash: str,
               findings: list[Finding], window_end: datetime | None = None, waived: list[Finding] = (),
               undecided: list[Finding] = (), rules: list[RuleInfo] | None = None) -> int:
    """Store a run with its current findings (resolved ones are counted, not stored again), and
    apart from them the waived and the undecided ones (for its reports)."""
    current = [f for f in findings if f.status != "resolved"]
    rows = (finding_row(f, aside) for aside, fs in ((None, current), ("waived", waived), ("undecided", undecided))
            for f in fs)
    counts = {"findings": len(current), "new": sum(f.status == "new" for f in findings),
              "resolved": sum(f.status == "resolved" for f in findings), "waived": len(waived)}
    return store_run(engine, kind=kind, at=at, engine_name=engine_name, ruleset_hash=ruleset_hash, counts=counts,
                     rows=rows, window_end=window_end, rules=rules)


def finding_row(f: Finding, aside: str | None) -> dict:
    return {"fingerprint": f.fingerprint, "rule": f.rule, "kind": f.kind, "severity": f.severity.value, "sku": f.sku,
            "message": f.message, "data": f.model_dump_json(), "aside": aside}


def store_run(engine: Engine, *, kind: str, at: datetime, engine_name: str, ruleset_hash: str, counts: dict,
              rows: Iterable[dict], window_end: datetime | None = None, rules: list[RuleInfo] | None = None) -> int:
    """Store a run (`counts`: findings, new, resolved, waived) and its findings' rows as they come,
    CHUNK to a statement: memory does not grow with the run."""
    with write_transaction(engine) as conn, _small_page_cache(conn):
        run_id = conn.execute(insert(Run.__table__).values(
            kind=kind, at=at, window_end=window_end, started_at=datetime.now(timezone.utc), engine=engine_name,
            ruleset_hash=ruleset_hash, **counts)).inserted_primary_key[0]
        if rules:
            conn.execute(insert(RunRule.__table__), [
                {"run_id": run_id, "rule": r.id, "title": r.title, "kind": r.kind, "severity": r.severity.value,
                 "position": i} for i, r in enumerate(rules)])
        rows = iter(rows)
        while chunk := list(islice(rows, CHUNK)):
            _insert_findings(conn, run_id, chunk)
    return run_id


_COLUMNS = ["run_id", "fingerprint", "rule", "kind", "severity", "sku", "message", "data", "aside"]
_PLACEHOLDER = {"qmark": "?", "format": "%s", "pyformat": "%s"}  # of the drivers the catalog runs on


def _insert_findings(conn, run_id: int, rows: list[dict]) -> None:
    """Rows of plain text and numbers (no type to process) as tuples through the DBAPI: a Core insert
    of dicts spent more on each row's parameters than the database on storing it."""
    if conn.dialect.name == "duckdb":  # an executemany runs row by row there (8,569 findings: 0.8 s), Arrow does not
        from unisono.catalog.offer_stream import insert_rows

        insert_rows(conn, FindingRow.__table__, [{"run_id": run_id, **row} for row in rows])
        return
    mark = _PLACEHOLDER.get(conn.dialect.paramstyle)
    if mark is None:
        conn.execute(insert(FindingRow.__table__), [{"run_id": run_id, **row} for row in rows])
        return
    prep = conn.dialect.identifier_preparer
    conn.exec_driver_sql(f"INSERT INTO {prep.format_table(FindingRow.__table__)} ({', '.join(map(prep.quote, _COLUMNS))}) "
                         f"VALUES ({', '.join([mark] * len(_COLUMNS))})",
                         [(run_id, *(row[c] for c in _COLUMNS[1:])) for row in rows])


@contextmanager
def _small_page_cache(conn):
    """SQLite: a small page cache while the findings are written. The catalog's 200 MB one (for
    building the live offers) would keep every page written until the commit: ~1 KB per finding."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql("PRAGMA cache_size=-16000")  # (full, it spills to the write-ahead log)
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(before)}")


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


def iter_fingerprints(engine: Engine, run_ids: list[int]) -> Iterator[str]:
    """The fingerprints of those runs' findings as they are read (a spool keeps them, not a set): those
    that stood and those waived, so a finding whose waiver expired is open again, not new."""
    if not run_ids:
        return
    finding = FindingRow.__table__
    with engine.connect() as conn:
        result = conn.execute(select(finding.c.fingerprint).where(
            finding.c.run_id.in_(run_ids), or_(finding.c.aside.is_(None), finding.c.aside == "waived")),
            execution_options=streamed(conn))
        yield from result.scalars()


def streamed(conn) -> dict:
    """Execution options that read a large result a chunk at a time: psycopg otherwise fetches all of
    it at once (SQLite and DuckDB step through it as it is read)."""
    return {"yield_per": CHUNK} if conn.dialect.name == "postgresql" else {}


def run_findings(engine: Engine, run_ids: list[int], fingerprints: Iterable[str]) -> list[Finding]:
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
                finding.c.run_id.in_(run_ids), finding.c.fingerprint.in_(wanted[i:i + CHUNK]),
                finding.c.aside.is_(None)))
            for run_id, fp, data in rows:
                if fp not in found or rank[run_id] < found[fp][0]:
                    found[fp] = (rank[run_id], data)
    return [Finding.model_validate_json(data) for _, data in found.values()]


def resolved_findings(engine: Engine, run_ids: list[int], run_id: int) -> Iterator[Finding]:
    """The findings of runs `run_ids` (see run_findings) whose fingerprints run `run_id` does not have,
    CHUNK fingerprints at a time in their order: never all of them at once."""
    finding, later = FindingRow.__table__, FindingRow.__table__.alias("later")
    still = select(later.c.id).where(later.c.run_id == run_id, later.c.fingerprint == finding.c.fingerprint,
                                     or_(later.c.aside.is_(None), later.c.aside == "waived")).exists()  # waived: not fixed
    last = ""
    while True:
        with engine.connect() as conn:
            chunk = conn.execute(select(finding.c.fingerprint).distinct().where(
                finding.c.run_id.in_(run_ids), finding.c.aside.is_(None), finding.c.fingerprint > last, ~still)
                .order_by(finding.c.fingerprint).limit(CHUNK)).scalars().all()
        if not chunk:
            return
        yield from run_findings(engine, run_ids, chunk)
        last = chunk[-1]


def list_runs(engine: Engine, limit: int = 20, kind: str | None = None) -> list[Row]:
    """The latest runs (of one kind), newest first."""
    run = Run.__table__
    query = select(run).order_by(run.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        rows = conn.execute(query.where(run.c.kind == kind) if kind else query)
        return list(rows)


def find_run(engine: Engine, run_id: int | None = None) -> Row | None:
    """A run by id, or the latest check or reconcile."""
    run = Run.__table__
    query = select(run).where(run.c.id == run_id) if run_id is not None else select(run).order_by(run.c.id.desc()).limit(1)
    with engine.connect() as conn:
        return conn.execute(query).first()


def rules_of_run(engine: Engine, run_id: int) -> list[RuleInfo]:
    """The rules the run evaluated, in file order (none for a run stored before runs kept them)."""
    rr = RunRule.__table__
    with engine.connect() as conn:
        rows = conn.execute(select(rr).where(rr.c.run_id == run_id).order_by(rr.c.position)).all()
    return [RuleInfo(id=r.rule, title=r.title, kind=r.kind, severity=Severity(r.severity)) for r in rows]


def iter_run_findings(engine: Engine, run_id: int, aside: str | None = None) -> Iterator[Finding]:
    """The run's stored findings that stand (or those set aside: "waived", "undecided") in the order
    they were stored, CHUNK at a time: memory does not grow with the run (keyset paging by id: no
    server-side cursor, the same on every backend)."""
    finding = FindingRow.__table__
    which = finding.c.aside.is_(None) if aside is None else finding.c.aside == aside
    last = -1
    while True:
        with engine.connect() as conn:
            rows = conn.execute(select(finding.c.id, finding.c.data).where(
                finding.c.run_id == run_id, which, finding.c.id > last).order_by(finding.c.id).limit(CHUNK)).all()
        for _, data in rows:
            yield Finding.model_validate_json(data)
        if len(rows) < CHUNK:
            return
        last = rows[-1][0]


def count_aside(engine: Engine, run_id: int, aside: str) -> int:
    """How many of the run's findings were set aside so ("undecided"); 0 for a run stored before
    runs kept them."""
    finding = FindingRow.__table__
    with engine.connect() as conn:
        return conn.execute(select(func.count()).where(finding.c.run_id == run_id, finding.c.aside == aside)).scalar_one()


def compared_runs(engine: Engine, run: Row) -> list[int]:
    """The runs a stored reconcile run was compared with (as `baseline_runs` chose them then): the
    first earlier run for the same instant, and the latest run for an earlier instant before it."""
    r = Run.__table__
    before = (r.c.kind == run.kind) & (r.c.id < run.id)
    with engine.connect() as conn:
        same = conn.execute(select(r.c.id).where(before, r.c.at == run.at).order_by(r.c.id).limit(1)).scalar()
        earlier = conn.execute(select(r.c.id).where(before, r.c.at < run.at)
                               .order_by(r.c.at.desc(), r.c.id.desc()).limit(1)).scalar()
    return [i for i in (same, earlier) if i is not None]


def reconcile_trend(engine: Engine, upto: int | None, limit: int = 14) -> list[Row]:
    """The last reconcile runs up to run `upto` (all when None), oldest first: new / open / resolved per run."""
    r = Run.__table__
    query = select(r).where(r.c.kind == "reconcile")
    if upto is not None:
        query = query.where(r.c.id <= upto)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(r.c.id.desc()).limit(limit)).all()
    return rows[::-1]
