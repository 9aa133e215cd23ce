"""The rete engine: the same rules and findings as rules/evaluate.py, matched by durable_rules.

    findings = run_rules_rete(conn, rules, ctx)            # conn's `live` table filled (build_live)
    findings = recheck_keys(conn, rules, ctx, ["100203"])  # only these product keys

The parent process reads the live offers ordered by key, sends them in batches to worker
processes (worker.py), and turns the matches they report into rows shaped like each kind's SQL
row, for the kind's own to_finding(): the messages are the SQL engine's by construction.

Crash containment (durable_rules 2.0.28 segfaults, double-frees and runs out of memory, see
../shared/facts/durable_rules_limits.py):

- one session per key, deleted after use; a key with more than MAX_FACTS offers is refused
  (sessions of thousands of facts lose matches);
- workers are fresh interpreters (`python -I -S worker.py`, not multiprocessing's spawn, which
  would import unisono and the parent's __main__ again: seconds per worker), recycled after
  `keys_per_worker` keys, well under the ~20,000 create/delete cycles where the limits file
  saw crashes;
- a worker that dies (signal, MemoryError, a hang past `timeout`) is replaced; the keys it held
  are evaluated again, alone, so a key that crashes is told from its neighbours; a key that
  fails `retries` more times fails the run with its name: never "no findings" for a key
  nobody evaluated;
- per key: every fact has a unique id (durable_rules drops facts whose content hashes collide),
  the session's fact count is checked after the assert (`census`), an action that raised fails
  the key; with verify=True every durable rule has a complement and matches are checked to
  partition the candidates.

Test hook: UNISONO_RETE_FAULT makes workers kill themselves, e.g. "kill-after=40" (the first
worker of a run, once: SIGKILL after 40 keys), "crash-key=100203" (every worker, on that key),
plus ",signal=SEGV" (or ABRT, KILL) to choose the signal.
"""
from __future__ import annotations

import itertools
import logging
import os
import pickle
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, func, literal
from sqlalchemy import select as sql_select

from unisono.catalog.live import live
from unisono.domain.findings import Finding
from unisono.rules.base import OFFER_COLUMNS
from unisono.rules.claim_live import SALE_FIELDS, exclusive_keys, sale_exempt
from unisono.rules.evaluate import EvalContext, run_rules
from unisono.rules.rete import content
from unisono.rules.rete import worker as wire
from unisono.rules.rete.scope import fold_case, in_scope

try:  # durable-rules builds from source: a broken build should not break the SQL engine
    from unisono.rules.rete.compile import compile_rules
    _MISSING = None
except ImportError as e:  # pragma: no cover - depends on the installation
    _MISSING = e

if TYPE_CHECKING:
    from unisono.rules.rete.compile import Plan

log = logging.getLogger(__name__)

WORKER_FILE = str(Path(wire.__file__).resolve())
MAX_FACTS = 1000  # offers per key; the limits file saw matches lost at 8,000 facts in one session
# MALLOC_TOP_PAD_: every session mallocs and frees large blocks (a state node holds index arrays
# of tens of KB per rete node); without padding glibc gives the heap top back and asks for it
# again for every key: half the worker's time in brk() and page faults.
WORKER_ENV = {**os.environ, "MALLOC_TOP_PAD_": str(16 << 20)}
MAX_INFLIGHT = 2  # batches per worker: one being evaluated, one waiting in its pipe
KEY_CHUNK = 500  # keys per IN (...) when reading only some keys
FULL_COLUMNS = [c for c in OFFER_COLUMNS if c != "key"]


class ReteEngineError(RuntimeError):
    """The rete engine could not evaluate every key: the run has no trustworthy findings."""


@dataclass
class ReteStats:
    """What a run did, for tests, the benchmark and anyone wondering."""

    keys: int = 0
    offers: int = 0
    batches: int = 0
    durable_rules: int = 0
    matches: int = 0
    workers_started: int = 0
    workers_recycled: int = 0
    worker_crashes: int = 0
    keys_retried: int = 0
    crashes: list[str] = field(default_factory=list)
    delegated: dict[str, str] = field(default_factory=dict)  # rule id -> why the SQL engine ran it
    seconds: dict[str, float] = field(default_factory=dict)


def run_rules_rete(conn: Connection, rules: list, ctx: EvalContext, *, workers: int = 2,
                   keys_per_worker: int = 10_000, retries: int = 2, batch_keys: int = 250,
                   timeout: float = 120.0, verify: bool = False, census: bool = True,
                   stats: ReteStats | None = None) -> list[Finding]:
    """All rules' findings, as run_rules() gives them, with durable_rules doing the matching."""
    return _run(conn, rules, ctx, None, workers=workers, keys_per_worker=keys_per_worker, retries=retries,
                batch_keys=batch_keys, timeout=timeout, verify=verify, census=census, stats=stats)


def recheck_keys(conn: Connection, rules: list, ctx: EvalContext, keys: Iterable[str], *, workers: int = 2,
                 keys_per_worker: int = 10_000, retries: int = 2, batch_keys: int = 250, timeout: float = 120.0,
                 verify: bool = False, census: bool = True, stats: ReteStats | None = None) -> list[Finding]:
    """The findings for these product keys only (e.g. those a publication touched), read from the
    live table on conn. Rules the rete engine delegates run on the SQL engine over the whole
    live table, and only their findings for these keys are kept."""
    wanted = sorted(set(keys))
    return _run(conn, rules, ctx, wanted, workers=workers, keys_per_worker=keys_per_worker, retries=retries,
                batch_keys=batch_keys, timeout=timeout, verify=verify, census=census, stats=stats)


def _run(conn, rules, ctx, keys, *, workers, keys_per_worker, retries, batch_keys, timeout, verify, census,
         stats) -> list[Finding]:
    if _MISSING is not None:
        raise ReteEngineError(f"the rete engine needs durable-rules ({_MISSING}): pip install durable-rules==2.0.28")
    stats = stats if stats is not None else ReteStats()
    t0 = time.perf_counter()
    case = database_case(conn)
    plan = compile_rules(rules, case=case, verify=verify)
    stats.durable_rules = len(plan.tags)
    stats.delegated = {r.id: why for r, why in plan.delegated}
    for rule_id, why in stats.delegated.items():
        log.info("rete: rule %s runs on the SQL engine: %s", rule_id, why)
    stats.seconds["compile"] = time.perf_counter() - t0
    findings: list[Finding] = []
    if plan.delegated:
        t = time.perf_counter()
        sql = run_rules(conn, [r for r, _ in plan.delegated], ctx)
        if keys is not None:
            wanted = set(keys)
            sql = [f for f in sql if not wanted.isdisjoint(f.products)]
        findings += sql
        stats.seconds["sql_delegated"] = time.perf_counter() - t
    if plan.rules and (keys is None or keys):
        t = time.perf_counter()
        ids: dict[str, list] = {}  # key -> its rows' ids, while it is evaluated or has matches
        pool = _Pool(plan, workers=workers, keys_per_worker=keys_per_worker, retries=retries, timeout=timeout,
                     census=census or verify, stats=stats, ids=ids)
        matched = pool.run(_batches(_wire_rows(conn, plan, keys, ids, stats), batch_keys))
        stats.seconds["rete"] = time.perf_counter() - t
        t = time.perf_counter()
        exclusive = exclusive_keys(conn, live, ctx.at, ctx.config) \
            if any(r.kind in ("parity", "presence") and r.exclusive_claims for r in plan.rules) else {}
        brands = content.own_brands(conn) if any(r.kind == "content" for r in plan.rules) else {}
        builder = _FindingBuilder(plan, ctx, fold_case(case), exclusive, brands)
        for key, rows in _full_rows(conn, sorted(matched), ids):
            findings += builder.key(key, rows, matched[key])
        stats.seconds["findings"] = time.perf_counter() - t
    stats.seconds["total"] = time.perf_counter() - t0
    return sorted(findings, key=lambda f: (-f.severity.rank, f.rule, f.sku, f.locations))


def database_case(conn: Connection) -> str:
    """How this database's lower() folds letters (SQLite: A-Z only; PostgreSQL: per locale)."""
    return "unicode" if conn.execute(sql_select(func.lower(literal("ÄÉ")))).scalar_one() == "äé" else "ascii"


# -- reading the live offers ----------------------------------------------------------------------

# The stream (wire columns, every key) and the second read (all columns, matched keys only) must
# agree on which row is which: by the offer id behind each live row (one live row per offer).


def _select(conn: Connection, columns: Sequence[str], keys: list[str] | None) -> list:
    q = sql_select(live.c.key, live.c.offer_id, *[live.c[c] for c in columns]).order_by(live.c.key)
    if keys is None:
        return [q]
    return [q.where(live.c.key.in_(keys[i:i + KEY_CHUNK])) for i in range(0, len(keys), KEY_CHUNK)]


def _grouped(conn: Connection, columns: Sequence[str], keys: list[str] | None, *,
             raw: bool = False) -> Iterator[tuple[str, list[tuple]]]:
    """(key, rows) per product key, in key order; a row is (offer id, *columns).
    raw: read through the DB-API cursor, without SQLAlchemy's result processing (the wire
    columns are plain strings and numbers; half the parent's time went into it)."""
    for q in _select(conn, columns, keys):
        # per statement: Connection.execution_options() would stream every later statement of the
        # connection too (on PostgreSQL a server-side cursor, which refuses DDL)
        result = _raw(conn, q) if raw else conn.execute(q, execution_options={"yield_per": 10_000})
        for key, group in itertools.groupby(result, key=itemgetter(0)):
            yield key, [r[1:] for r in group]


def _raw(conn: Connection, q) -> Iterator[tuple]:
    compiled = q.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    if conn.dialect.positional:
        params = tuple(params[name] for name in compiled.positiontup)
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.execute(str(compiled), params)
        while rows := cursor.fetchmany(10_000):
            yield from rows
    finally:
        cursor.close()


def _wire_rows(conn: Connection, plan: Plan, keys: list[str] | None, ids: dict,
               stats: ReteStats) -> Iterator[tuple[str, list[tuple]]]:
    """The columns the facts need, per key (the stream the workers evaluate); ids[key]: the
    rows' ids in this order, kept until the key's findings are built."""
    for key, rows in _grouped(conn, plan.wire, keys, raw=True):
        stats.keys += 1
        stats.offers += len(rows)
        ids[key] = [r[0] for r in rows]
        yield key, [r[1:] for r in rows]


def _full_rows(conn: Connection, keys: list[str], ids: dict) -> Iterator[tuple[str, list[tuple]]]:
    """Every OFFER_COLUMNS column (as the SQL engine reads them) of these keys' rows, in the
    order the workers saw them."""
    if not keys:
        return
    for key, rows in _grouped(conn, FULL_COLUMNS, keys):
        by_id = {r[0]: r[1:] for r in rows}
        yield key, [by_id[i] for i in ids[key]]


def _batches(keyed: Iterator[tuple[str, list[tuple]]], size: int) -> Iterator[list]:
    """Batches of (seq, key, wire rows) for the workers."""
    batch = []
    for seq, (key, rows) in enumerate(keyed):
        if len(rows) > MAX_FACTS:
            raise ReteEngineError(f"product key {key} has {len(rows)} live offers; the rete engine evaluates at "
                                  f"most {MAX_FACTS} per key (durable_rules loses matches in large sessions): "
                                  "use the SQL engine")
        batch.append((seq, key, rows))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# -- worker processes -----------------------------------------------------------------------------

_SIGNALS = {"KILL": signal.SIGKILL, "SEGV": signal.SIGSEGV, "ABRT": signal.SIGABRT}


def _fault_from_env() -> tuple[dict | None, dict | None]:
    """UNISONO_RETE_FAULT -> (fault for the first worker only, fault for every worker)."""
    text = os.environ.get("UNISONO_RETE_FAULT", "").strip()
    if not text:
        return None, None
    items = dict(part.split("=", 1) for part in text.split(",") if "=" in part)
    sig = _SIGNALS[items.get("signal", "KILL").upper().removeprefix("SIG")]
    if "crash-key" in items:
        return None, {"key": items["crash-key"], "signal": sig}
    if "kill-after" in items:
        return {"after": int(items["kill-after"]), "signal": sig}, None
    raise ValueError(f"UNISONO_RETE_FAULT={text!r}: use kill-after=N or crash-key=KEY[,signal=KILL|SEGV|ABRT]")


class _Worker:
    def __init__(self, spec: dict, number: int):
        self.number = number
        self.errors = tempfile.TemporaryFile()
        site = str(Path(sys.modules["durable"].__file__).resolve().parent.parent)
        self.proc = subprocess.Popen([sys.executable, "-I", "-S", WORKER_FILE, site], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.errors, close_fds=True, env=WORKER_ENV)
        self.rfd, self.wfd = self.proc.stdout.fileno(), self.proc.stdin.fileno()
        os.set_blocking(self.wfd, False)
        self.outbox = bytearray()
        self.inflight: dict[int, tuple[float, list]] = {}  # batch id -> (sent at, batch)
        self.assigned = 0
        self.retiring = False  # no more batches: told to exit, or exiting by itself
        self.send(("init", spec))

    def send(self, msg: object) -> None:
        body = pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL)
        self.outbox += wire.HEADER.pack(len(body)) + body
        self.flush()

    def flush(self) -> None:
        while self.outbox:
            try:
                n = os.write(self.wfd, self.outbox)
            except BlockingIOError:
                return
            except BrokenPipeError:  # it died: its end of file on stdout tells the rest
                self.outbox.clear()
                return
            del self.outbox[:n]

    def why_dead(self) -> str:
        code = self.proc.wait()
        self.errors.seek(0)
        lines = [ln for ln in self.errors.read().decode(errors="replace").splitlines() if ln.strip()]
        what = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
        return what + (f": {lines[-1][:200]}" if lines else "")

    def close(self) -> None:
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass
        self.errors.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()


class _Pool:
    """Feeds batches to at most `workers` processes; replaces dead and worn ones; retries keys."""

    def __init__(self, plan: Plan, *, workers: int, keys_per_worker: int, retries: int, timeout: float,
                 census: bool, stats: ReteStats, ids: dict):
        self.plan, self.stats, self.ids = plan, stats, ids
        self.size = max(1, workers)
        self.keys_per_worker, self.retries, self.timeout = max(1, keys_per_worker), retries, timeout
        self.census = census
        self.once_fault, self.every_fault = _fault_from_env()
        self.workers: list[_Worker] = []
        self.retry: deque[list] = deque()  # batches to evaluate again, before new ones
        self.failures: dict[int, list[str]] = {}  # seq -> why each attempt failed
        self.batch_ids = itertools.count()

    def run(self, batches: Iterator[list]) -> dict[str, list[tuple[int, tuple[int, ...]]]]:
        """key -> durable_rules' matches, for the keys that have any; every key evaluated."""
        self.matched: dict[str, list] = {}
        source = iter(batches)
        exhausted = False
        try:
            while True:
                exhausted = self._dispatch(source, exhausted)
                if exhausted and not self.retry and not any(w.inflight for w in self.workers):
                    break
                self._wait()
        except BaseException:
            for w in self.workers:
                w.kill()
                w.proc.wait()
            raise
        finally:
            for w in self.workers:
                if not w.retiring:
                    w.send(("exit",))
                w.close()  # it exits by itself; subprocess reaps it later (no need to wait here)
            self.workers.clear()
        return self.matched

    def _next_batch(self, source: Iterator[list], exhausted: bool) -> tuple[list | None, bool]:
        if self.retry:
            return self.retry.popleft(), exhausted
        if exhausted:
            return None, True
        batch = next(source, None)
        return batch, batch is None

    def _dispatch(self, source: Iterator[list], exhausted: bool) -> bool:
        while self._has_room():
            batch, exhausted = self._next_batch(source, exhausted)
            if batch is None:
                return exhausted
            worker = self._worker_with_room()
            batch_id = next(self.batch_ids)
            worker.inflight[batch_id] = (time.monotonic(), batch)
            worker.assigned += len(batch)
            self.stats.batches += 1
            worker.send(("batch", batch_id, batch))
            if worker.assigned >= self.keys_per_worker:
                worker.retiring = True  # recycled: it exits after this batch
                worker.send(("exit",))
                self.stats.workers_recycled += 1
        return exhausted

    def _has_room(self) -> bool:
        active = [w for w in self.workers if not w.retiring]
        return len(active) < self.size or any(len(w.inflight) < MAX_INFLIGHT for w in active)

    def _worker_with_room(self) -> _Worker:
        active = [w for w in self.workers if not w.retiring]
        idle = [w for w in active if not w.inflight]
        if idle:
            return idle[0]
        if len(active) < self.size:  # every worker busy: use the next core
            return self._start()
        return min((w for w in active if len(w.inflight) < MAX_INFLIGHT), key=lambda w: len(w.inflight))

    def _start(self) -> _Worker:
        fault = self.every_fault
        if self.once_fault is not None:
            fault, self.once_fault = self.once_fault, None
        worker = _Worker(self.plan.worker_spec(census=self.census, fault=fault), self.stats.workers_started)
        self.stats.workers_started += 1
        self.workers.append(worker)
        return worker

    def _wait(self) -> None:
        readers = {w.rfd: w for w in self.workers}
        writers = [w.wfd for w in self.workers if w.outbox]
        readable, writable, _ = select.select(list(readers), writers, [], 1.0)
        for w in self.workers:
            if w.wfd in writable:
                w.flush()
        for fd in readable:
            self._receive(readers[fd])
        now = time.monotonic()
        for w in list(self.workers):
            if w.inflight and now - min(t for t, _ in w.inflight.values()) > self.timeout:
                w.kill()  # hung: its end of file comes next and counts as a crash
                self.stats.crashes.append(f"worker {w.number} hung for more than {self.timeout:g} s")

    def _receive(self, w: _Worker) -> None:
        msg = wire.read_frame(w.rfd)
        if msg is None:
            self._ended(w)
            return
        if msg[0] == "ready":
            return
        if msg[0] == "error":
            raise ReteEngineError(msg[1])
        _, batch_id, results, failed, unprocessed = msg
        _, batch = w.inflight.pop(batch_id)
        self.stats.matches += sum(len(m) for _, m in results)
        by_seq = {item[0]: item for item in batch}
        if self.plan.verify:
            found = dict(results)
            for seq in set(by_seq) - {s for s, _ in failed} - set(unprocessed):
                why = check_partition(self.plan, by_seq[seq][2], found.get(seq, ()))
                if why:
                    failed.append((seq, why))
        failed_seqs = {seq for seq, _ in failed}
        for seq, matches in results:
            if seq not in failed_seqs:
                self.matched[by_seq[seq][1]] = matches
        for seq, key, _ in batch:  # evaluated, no matches: its row ids are not needed
            if key not in self.matched and seq not in failed_seqs and seq not in unprocessed:
                self.ids.pop(key, None)
        for seq, why in failed:
            self._failed(by_seq[seq], why)
        if unprocessed:
            self.retry.appendleft([by_seq[s] for s in sorted(unprocessed)])
        if failed and not w.retiring:  # evaluate again in a fresh process
            w.retiring = True
            w.send(("exit",))

    def _failed(self, item: tuple, why: str) -> None:
        seq, key = item[0], item[1]
        attempts = self.failures.setdefault(seq, [])
        attempts.append(why)
        self.stats.keys_retried += 1
        if len(attempts) > self.retries:
            raise ReteEngineError(
                f"the rete engine could not evaluate product key {key} ({len(attempts)} attempts; last: {why}); "
                "no findings are reported for a run that did not evaluate every key")
        log.warning("rete: key %s failed (%s); evaluating it again", key, why)
        self.retry.appendleft([item])

    def _ended(self, w: _Worker) -> None:
        """w's stdout closed: it exited (recycled, or after a failed key) or it died."""
        self.workers.remove(w)
        why = w.why_dead()
        w.close()
        if w.proc.returncode == 0:  # it exited on purpose: recycled, or after a failed key
            for _, batch in sorted(w.inflight.values(), key=lambda tb: tb[1][0][0], reverse=True):
                self.retry.appendleft(batch)  # sent before it stopped, never started
            return
        self.stats.worker_crashes += 1
        self.stats.crashes.append(f"worker {w.number} {why}")
        log.warning("rete: worker %s %s; evaluating its %d batch(es) again", w.number, why, len(w.inflight))
        dead: list[tuple] = []
        for _, batch in sorted(w.inflight.values(), key=lambda tb: tb[1][0][0]):
            if len(batch) == 1:
                dead.append(batch[0])  # it was alone: it may be what crashes
            else:
                self.retry.extendleft([[item] for item in reversed(batch)])  # alone, so a crash names its key
        for item in dead:
            self._failed(item, f"worker {why}")


# -- matches -> the SQL engine's rows -> findings -------------------------------------------------

class _Row:
    """What to_finding() reads of a SQLAlchemy Row: `_mapping`."""

    __slots__ = ("_mapping",)

    def __init__(self, mapping: dict):
        self._mapping = mapping


class _FindingBuilder:
    """durable_rules' matches of one key -> the rows each kind's SQL query returns -> findings."""

    def __init__(self, plan: Plan, ctx: EvalContext, fold, exclusive: dict[str, str], brands: content.Brands):
        self.plan, self.ctx, self.fold, self.brands = plan, ctx, fold, brands
        self.exclusive = exclusive  # product key -> online_only / store_only: parity's exemption (claim_live.py)

    def key(self, key: str, rows: list[tuple], matches: Sequence[tuple[int, tuple[int, ...]]]) -> list[Finding]:
        offers = [{"key": key, **dict(zip(FULL_COLUMNS, r, strict=True))} for r in rows]
        titled = sorted((o["location"], o["title"]) for o in offers
                        if o["channel"] == "shop" and o["title"] is not None)
        shop_title = titled[0][1] if titled else None  # shop_title(): the shop's, by location
        grouped: dict[tuple[int, str], set[tuple[int, ...]]] = {}
        for tag_no, idx in matches:
            tag = self.plan.tags[tag_no]
            if not tag.complement:
                grouped.setdefault((tag.rule_no, tag.part), set()).add(idx)
        out = []
        for rule_no, rule in enumerate(self.plan.rules):
            out += getattr(self, f"_{rule.kind}")(rule, rule_no, offers, grouped, shop_title)
        return out

    def _parity(self, rule, rule_no, offers, grouped, shop_title) -> list[Finding]:
        pairs: dict[tuple[int, int], set[str]] = {}
        for f in rule.fields:
            for ref, other in grouped.get((rule_no, f), ()):
                pairs.setdefault((ref, other), set()).add(f)
        out = []
        for (ref, other), fields in sorted(pairs.items()):
            a, b = offers[ref], offers[other]
            if a["channel"] == b["channel"] and not b["location"] > a["location"]:
                continue  # within one channel each pair of locations once, as the SQL query pairs them
            if not in_scope(rule, offers[ref], [offers[other]], self.fold):
                continue
            if rule.exclusive_claims and sale_exempt(self.exclusive, a["key"], (a["channel"], b["channel"])):
                fields = fields - SALE_FIELDS
                if not fields:
                    continue
            mapping = _prefixed(offers[ref], "ref") | _prefixed(offers[other], "other")
            mapping["shop_title"] = shop_title
            mapping.update({f"differs_{f}": int(f in fields) for f in rule.fields})
            out.append(rule.to_finding(_Row(mapping), self.ctx))
        return out

    def _presence(self, rule, rule_no, offers, grouped, shop_title) -> list[Finding]:
        out = []
        for ch in dict.fromkeys(rule.require_in):
            there = [o for o in offers if o["channel"] == ch]
            if rule.listed_only and not there:
                continue  # as the SQL query: a product the channel does not list is no finding
            if rule.exclusive_claims and sale_exempt(self.exclusive, offers[0]["key"], (ch,)):
                continue  # a live claim keeps the product out of this channel
            out_of_stock = sorted((o["location"], o["source"]) for o in there if o["availability"] == "out_of_stock")
            for (seen,) in sorted(grouped.get((rule_no, ch), ())):
                if not in_scope(rule, offers[seen], [offers[seen]], self.fold):
                    continue
                mapping = _prefixed(offers[seen], "seen")
                mapping.update(shop_title=shop_title, missing_channel=ch, listed=bool(there),
                               oos_location=out_of_stock[0][0] if out_of_stock else None,
                               oos_source=out_of_stock[0][1] if out_of_stock else None)
                out.append(rule.to_finding(_Row(mapping), self.ctx))
        return out

    def _content(self, rule, rule_no, offers, grouped, shop_title) -> list[Finding]:
        pairs = {p for ch in dict.fromkeys(rule.channels[1:]) for p in grouped.get((rule_no, ch), ())}
        return content.findings(rule, pairs, offers, self.fold, self.brands)

    def _expression(self, rule, rule_no, offers, grouped, shop_title) -> list[Finding]:
        channels = rule.condition.channels
        out = []
        for combo in sorted(grouped.get((rule_no, ""), ())):
            involved = [offers[i] for i in combo]
            if not in_scope(rule, involved[0], involved, self.fold):
                continue
            mapping = {"shop_title": shop_title}
            for ch, o in zip(channels, involved, strict=True):
                mapping |= _prefixed(o, ch)
            out.append(rule.to_finding(_Row(mapping), self.ctx))
        return out


def check_partition(plan: Plan, rows: list[tuple], matches: Sequence[tuple[int, tuple[int, ...]]]) -> str | None:
    """verify: per durable rule (rule, part, case), its matches and its complement's must
    partition its candidates (one offer of each pattern's channel; presence: the offers of the
    when_in channel) in the key; else what is wrong. rows: the key's wire rows."""
    channel = plan.wire.index("channel")
    by_channel: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_channel.setdefault(r[channel], []).append(i)
    groups: dict[tuple[int, str, int], tuple[set, set, set]] = {}
    for tag in plan.tags:
        group = (tag.rule_no, tag.part, tag.case)
        if group not in groups:
            per_offer = tag.aliases[0] == "seen"  # presence: whether each seen offer has one
            channels = tag.channels[:1] if per_offer else tag.channels
            product = itertools.product(*(by_channel.get(ch, []) for ch in channels))
            # durable_rules never binds one fact to two patterns of a rule
            groups[group] = ({c for c in product if len(set(c)) == len(c)}, set(), set())
    for tag_no, idx in matches:
        tag = plan.tags[tag_no]
        groups[(tag.rule_no, tag.part, tag.case)][2 if tag.complement else 1].add(
            idx[:1] if tag.aliases[0] == "seen" else idx)
    for (rule_no, part, case), (cands, hit, miss) in groups.items():
        if hit & miss or (hit | miss) != cands:
            lost = len(cands - hit - miss)
            return (f"rule {plan.rules[rule_no].id}{'/' + part if part else ''} case {case}: durable_rules matched "
                    f"{len(hit)} and {len(miss)} (complement) of {len(cands)} candidates"
                    + (f", {lost} in neither" if lost else ""))
    return None


def _prefixed(offer: dict, prefix: str) -> dict:
    return {f"{prefix}__{c}": v for c, v in offer.items()}


__all__ = ["ReteEngineError", "ReteStats", "recheck_keys", "run_rules_rete"]
