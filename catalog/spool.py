"""The findings of one evaluation on their way to the run's table and to every output: a private
SQLite file of their own (deleted when closed; whatever the catalog's engine), where SQLite sorts
them and from which they are read back a chunk at a time. Memory does not grow with the findings: a
Finding object lives from the rule's row to its INSERT, and again from a read to its output line.

Three parts: findings (for a reconcile: those still there, then those resolved since the runs it is
compared with), waived, undecided; each in the order checks have always listed them (most severe
first, then rule, product, locations, start of the interval).
"""
from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice

from unisono.domain.findings import Finding

PARTS = ("findings", "waived", "undecided")
CHUNK = 2_000  # findings held at once: inserted per statement, read per fetch

_COLUMNS = "part, section, rank, rule, sku, locs, vfrom, fingerprint, kind, severity, message, status, data, line"
# Python's order of (-rank, rule, sku, locations, start): text compares by code point in both (SQLite's
# BINARY is memcmp of UTF-8); the locations list as one blob, each ended by NUL, so a shorter list
# that is a prefix sorts first, as in Python; rowid keeps equal keys in the order they came (a stable sort)
_KEY = "section, rank DESC, rule, sku, locs, vfrom"
_ORDER = f"{_KEY}, rowid"  # (every index ends in the rowid: the index below gives this order, unsorted)


class FindingSpool:
    def __init__(self, render: Callable[[Finding], str] | None = None) -> None:
        """`render`: each finding's line of the JSON output, made while the object is at hand (printing
        it then needs no finding read back: api/project.py passes reports/jsonfile.py's)."""
        self.render = render
        # "": a temporary database on disk, private to this connection and deleted when it closes
        self.db = sqlite3.connect("", check_same_thread=False, isolation_level=None)
        self.db.executescript(f"""
            PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -16000;
            CREATE TABLE spool ({_COLUMNS});
            CREATE TABLE baseline (fp TEXT PRIMARY KEY) WITHOUT ROWID;
        """)
        self._pending: list[tuple[int, int, Finding]] = []
        self._baseline = False
        self._indexed = False

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def _transaction(self):
        """One transaction per chunk (the module's autocommit would end one per row)."""
        self.db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # ---- writing ------------------------------------------------------------------------------

    def set_baseline(self, fingerprints: Iterable[str]) -> None:
        """The fingerprints of the runs a reconcile is compared with: a finding added afterwards is
        `open` when its fingerprint is among them, else `new`."""
        it = iter(fingerprints)
        while chunk := list(islice(it, CHUNK)):
            with self._transaction():
                self.db.executemany("INSERT OR IGNORE INTO baseline VALUES (?)", ((fp,) for fp in chunk))
        self._baseline = True

    def add(self, part: str, f: Finding, *, resolved: bool = False) -> None:
        self._pending.append((PARTS.index(part), int(resolved), f))
        if len(self._pending) >= CHUNK:
            self._flush()

    def add_all(self, part: str, findings: Iterable[Finding]) -> None:
        for f in findings:
            self.add(part, f)

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        if self._baseline:
            current = [f for part, section, f in pending if part == 0 and not section]
            known = self._known([f.fingerprint for f in current])
            for f in current:
                f.status = "open" if f.fingerprint in known else "new"
        rows = [(part, section, f.severity.rank, f.rule, f.sku, b"".join(loc.encode() + b"\x00" for loc in f.locations),
                 f.valid_from.timestamp() if f.valid_from else 0, f.fingerprint, f.kind, f.severity.value, f.message,
                 f.status, f.model_dump_json(), self.render(f) if self.render else None) for part, section, f in pending]
        with self._transaction():
            self.db.executemany(f"INSERT INTO spool ({_COLUMNS}) VALUES ({', '.join('?' * 14)})", rows)
        self._indexed = False

    def _known(self, fingerprints: list[str]) -> set[str]:
        known: set[str] = set()
        for i in range(0, len(fingerprints), 500):  # SQLite's limit on parameters is far above 500
            chunk = fingerprints[i:i + 500]
            known.update(r[0] for r in self.db.execute(
                f"SELECT fp FROM baseline WHERE fp IN ({', '.join('?' * len(chunk))})", chunk))
        return known

    def add_resolved(self, read: Callable[[list[str]], Iterable[Finding]]) -> None:
        """The baseline's findings that are neither found nor waived now, read by `read(fingerprints)`
        a chunk at a time, as resolved (after the current findings)."""
        self._flush()
        self.db.executescript("""
            DROP TABLE IF EXISTS gone;
            CREATE TABLE gone AS SELECT fp FROM baseline
              EXCEPT SELECT fingerprint FROM spool WHERE section = 0 AND part IN (0, 1) ORDER BY 1;
        """)
        last = ""
        while chunk := [r[0] for r in self.db.execute("SELECT fp FROM gone WHERE fp > ? ORDER BY fp LIMIT ?",
                                                      (last, CHUNK))]:
            for f in read(chunk):
                f.status = "resolved"
                self.add("findings", f, resolved=True)
            self._flush()
            last = chunk[-1]

    # ---- reading ------------------------------------------------------------------------------

    def _ready(self) -> None:
        self._flush()
        if not self._indexed:  # the order is walked on an index: SQLite never sorts the JSON with the keys
            self.db.executescript(f"DROP INDEX IF EXISTS ordered; CREATE INDEX ordered ON spool (part, {_KEY});")
            self._indexed = True

    def read(self, part: str) -> Iterator[Finding]:
        for data, fp in self._rows(part, "data, fingerprint"):  # (a status is in the data: set before it was written)
            f = Finding.model_validate_json(data)
            f.__dict__["fingerprint"] = fp  # the cached property, as it was computed when the finding was added
            yield f

    def lines(self, part: str) -> Iterator[str] | None:
        """The part's findings as their JSON output lines (see `render`), or None without a renderer."""
        return (line for (line,) in self._rows(part, "line")) if self.render else None

    def _rows(self, part: str, columns: str) -> Iterator[tuple]:
        self._ready()
        cursor = self.db.execute(f"SELECT {columns} FROM spool WHERE part = ? ORDER BY part, {_ORDER}",
                                 (PARTS.index(part),))
        while rows := cursor.fetchmany(CHUNK):
            yield from rows

    def count(self, part: str) -> int:
        self._flush()
        return self.db.execute("SELECT count(*) FROM spool WHERE part = ?", (PARTS.index(part),)).fetchone()[0]

    def counts(self, part: str) -> list[tuple[str, str, str | None, int]]:
        """(severity, rule, status, how many) of a part: what a summary needs, without reading the findings."""
        self._flush()
        return self.db.execute("SELECT severity, rule, status, count(*) FROM spool WHERE part = ? "
                               "GROUP BY severity, rule, status", (PARTS.index(part),)).fetchall()

    def run_counts(self) -> dict[str, int]:
        """A run's counts (catalog/runs.py): current findings, of them new, resolved, waived."""
        self._flush()
        findings, new, resolved = self.db.execute(
            "SELECT coalesce(sum(section = 0), 0), coalesce(sum(status = 'new'), 0), coalesce(sum(section = 1), 0) "
            "FROM spool WHERE part = 0").fetchone()
        return {"findings": findings, "new": new, "resolved": resolved, "waived": self.count("waived")}

    def stored_rows(self) -> Iterator[dict]:
        """The rows of a run's findings table (catalog/runs.py): the current findings, then the waived
        and the undecided ones (resolved findings are not stored again), in their order."""
        for part, aside in zip(PARTS, (None, "waived", "undecided")):
            for fp, rule, kind, severity, sku, message, data, section in self._rows(
                    part, "fingerprint, rule, kind, severity, sku, message, data, section"):
                if not section:
                    yield {"fingerprint": fp, "rule": rule, "kind": kind, "severity": severity, "sku": sku,
                           "message": message, "data": data, "aside": aside}

    def view(self, part: str) -> SpooledFindings:
        return SpooledFindings(self, part)


class SpooledFindings(Sequence):
    """A part of a spool as a sequence of findings, read again on every pass (never held): len, bool,
    iteration, indexing and slicing (a slice is a list), equality with any sequence; `filter` narrows
    it without reading it."""

    def __init__(self, spool: FindingSpool, part: str, keep: Callable[[Finding], bool] | None = None):
        self.spool, self.part, self.keep = spool, part, keep

    def __iter__(self) -> Iterator[Finding]:
        found = self.spool.read(self.part)
        return found if self.keep is None else filter(self.keep, found)

    def __len__(self) -> int:
        return self.spool.count(self.part) if self.keep is None else sum(1 for _ in self)

    def __bool__(self) -> bool:
        return any(True for _ in self) if self.keep is not None else self.spool.count(self.part) > 0

    def __getitem__(self, index):
        if isinstance(index, slice):
            if (index.step or 1) == 1 and (index.start or 0) >= 0 and (index.stop is None or index.stop >= 0):
                return list(islice(self, index.start, index.stop))
            return list(self)[index]
        if index >= 0:
            for f in islice(self, index, None):
                return f
            raise IndexError(index)
        return list(self)[index]

    def __eq__(self, other) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<{len(self)} {self.part} (spooled)>"

    def json_lines(self) -> Iterator[str] | None:
        """Each finding's line of the JSON output as rendered when it was added; None when filtered."""
        return self.spool.lines(self.part) if self.keep is None else None

    def filter(self, keep: Callable[[Finding], bool]) -> SpooledFindings:
        both = keep if self.keep is None else (lambda f, first=self.keep: first(f) and keep(f))
        return SpooledFindings(self.spool, self.part, both)

    def counts(self) -> list[tuple[str, str, str | None, int]] | None:
        """(severity, rule, status, how many) from the spool's columns; None when filtered (the filter
        must read the findings)."""
        return self.spool.counts(self.part) if self.keep is None else None
