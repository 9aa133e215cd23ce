"""The rete worker: a fresh interpreter that evaluates product keys with durable_rules.

engine.py starts it as `python -I -S worker.py SITE_DIR` (SITE_DIR: where durable_rules is
installed) and talks to it in frames on stdin/stdout: an 8-byte length, then a pickle.

    parent -> worker   ("init", spec)                 first frame: the compiled ruleset (compile.py)
                       ("batch", batch_id, [(seq, key, rows), ...])
                       ("exit",)
    worker -> parent   ("ready", pid)                  the ruleset is created
                       ("done", batch_id, results, failed, unprocessed)
                       ("error", message)              the ruleset cannot be created: not retried

For each key: build one fact per live offer, assert them in a session of their own (sid = the
key's sequence number), collect the matches the actions report, delete the session. A key whose
evaluation raises is reported in `failed`; the worker then exits, so the retry runs in a fresh
process, and the keys after it come back in `unprocessed`.

This module imports nothing from unisono: importing the package (pydantic, SQLAlchemy, sqlglot)
costs seconds per process, and a worker is started every `keys_per_worker` keys.

durable_rules 2.0.28 reads memory it never initialised; whether that crashes depends on what
malloc hands out, which is why the limits file saw crashes "from 5,000 to 100,000 SKUs,
depending on the data and the rules". Two of them are avoided here, the others in compile.py:

- the ruleset is created first, on a fresh heap (created after building 100,000 facts it
  double-frees on the first assert; created first, 200,000 create/delete cycles run clean);
- a new session's two result pointers are left unset and freed when the session is deleted,
  unless an action ran in it: the first session of a worker runs one (Evaluator._warm_up),
  and every later session reuses that session's slot, with the pointers cleared.

Then no crash was seen in any run (valgrind reports no invalid read or free on the demo); the
workers are still recycled, and restarted when they die, because the engine is unmaintained C.
"""
from __future__ import annotations

import json
import os
import pickle
import signal
import struct
import sys

# -- wire format (shared with engine.py) ------------------------------------------------------

HEADER = struct.Struct("<Q")


def read_frame(fd: int) -> object | None:
    """One pickled frame from fd, or None at end of file."""
    head = _read_exactly(fd, HEADER.size)
    if head is None:
        return None
    body = _read_exactly(fd, HEADER.unpack(head)[0])
    if body is None:
        return None
    return pickle.loads(body)


def write_frame(fd: int, obj: object) -> None:
    body = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    data = memoryview(HEADER.pack(len(body)) + body)
    while data:
        data = data[os.write(fd, data):]


def _read_exactly(fd: int, n: int) -> bytes | None:
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


# -- facts -------------------------------------------------------------------------------------

_ASCII_UPPER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def fold_case(case: str):
    """lower() as the database does it: "ascii" (SQLite; PostgreSQL in the C locale) folds A-Z
    only, "unicode" (PostgreSQL in a UTF-8 locale) every letter. engine.py asks the database."""
    if case == "ascii":
        return lambda s: s.translate(_ASCII_UPPER)
    return str.lower


def _representable(x: float) -> bool:
    # durable_rules' JSON parser rejects numbers in exponent form without a decimal point
    # ("1e-05", "1e+16"); Python writes those for 0 < |x| < 1e-4 and |x| >= 1e16.
    return x == 0 or 1e-4 <= abs(x) < 1e16


PACK = 10**13  # money: rank of the currency among the key's * PACK + cents (|cents| < PACK / 10)
HUGE = 10**17  # money of a NULL price: below (lo) or above (hi) every packed value


class FactBuilder:
    """Live rows of one key -> the JSON of its durable_rules facts, per the spec compile.py made.

    Every fact has sid, id and i (its row index: unique in the session, so no two facts collide
    on a content hash), z = 0 and zf = 0.0 (what comparisons are written against), ch. A last
    fact `go` (i = -1, ch = "") completes the session: see compile.py, presence. No attribute
    is ever missing or NULL; what compile.py's conditions read:

      lo_/hi_<col>   money: currency rank * PACK + cents; NULL: -HUGE / +HUGE
      d_<col>        1 where the column is not NULL
      th_...         max(floor(tolerance in cents), floor(relative tolerance * |cents|))
      cu_<col>       rank of the currency (from 1) where the money column is not NULL, else 0
      rk_<col>       rank of the value among the key's values (from 1), 0 for NULL; the title
                     as lower(trim(title)), folded as the database folds
      s_<col>        the string ("" for NULL); oos: 1 where availability = 'out_of_stock'
      x_<col>        expressions: a number in currency units (cents / 100.0, as the SQL engine)
      t_<col>, k_... expressions: ranks of texts and text literals among the key's texts
    """

    def __init__(self, spec: dict):
        self.cols = {name: i for i, name in enumerate(spec["wire"])}
        col = self.cols.__getitem__
        self.money = [(c, col(c)) for c in spec["money"]]
        self.currency_of = [(c, col(c)) for c in spec["currency_of"]]
        self.thresholds = [(name, col(c), t, rel) for name, c, t, rel in spec["thresholds"]]
        self.ranked = [(c, col(c), c == "title") for c in spec["ranked"]]
        self.plain = [(c, col(c)) for c in spec["plain"]]
        self.floats = [(c, col(c), c != "discount_percent") for c in spec["floats"]]
        self.texts = [(c, col(c)) for c in spec["texts"]]
        self.literals = spec["literals"]  # (attribute, text)
        self.flags = [(c, col(c)) for c in spec["flags"]]
        self.oos = col("availability") if spec["oos"] else None
        self.cur = self.cols.get("currency")
        self.fold = fold_case(spec["case"])
        self.ch = col("channel")
        self._encoded: dict[str, str] = {}

    def facts(self, seq: int, rows: list[tuple]) -> list[dict]:
        """The facts as dicts (for tests and debugging; the worker asserts text())."""
        return json.loads(self.text(seq, rows))

    def text(self, seq: int, rows: list[tuple]) -> str:
        """The facts as the JSON array durable_rules parses, written directly: json.dumps of
        dicts cost as much as the rete evaluation itself."""
        enc = self._encoded
        head = f'{{"sid":"{seq}","id":"'
        currencies = (_ranks(r[self.cur] for r in rows) if (self.money or self.currency_of) else None)
        texts = self._text_ranks(rows) if (self.texts or self.literals) else None
        ranked = [(c, j, _ranks(self._ranked_value(r[j], title) for r in rows), title) for c, j, title in self.ranked]
        facts = []
        for i, r in enumerate(rows):
            ch = r[self.ch]
            parts = [f'{head}{i}","i":{i},"z":0,"zf":0.0,"ch":{enc.get(ch) or self._encode(ch)}']
            if self.oos is not None:
                parts.append('"oos":1' if r[self.oos] == "out_of_stock" else '"oos":0')
            for c, j in self.money:
                v = r[j]
                if v is None:
                    parts.append(f'"lo_{c}":{-HUGE},"hi_{c}":{HUGE}')
                    continue
                if abs(v) >= PACK // 10:
                    raise ValueError(f"{c} {v} is beyond what the rete engine compares")
                packed = currencies[r[self.cur]] * PACK + int(v)
                parts.append(f'"lo_{c}":{packed},"hi_{c}":{packed}')
            for name, j, t, rel in self.thresholds:
                v = r[j]  # rel * |cents| in floats, as the SQL engine computes it; the difference is whole cents
                parts.append(f'"{name}":{t if v is None or not rel else max(t, int(rel * abs(v) // 1))}')
            for c, j in self.currency_of:
                parts.append(f'"cu_{c}":{0 if r[j] is None else currencies[r[self.cur]]}')
            for c, j, ranks, title in ranked:
                parts.append(f'"rk_{c}":{ranks.get(self._ranked_value(r[j], title), 0)}')
            for c, j in self.plain:
                v = r[j]
                parts.append(f'"s_{c}":""' if v is None else f'"s_{c}":{enc.get(v) or self._encode(v)}')
            for c, j in self.flags:
                parts.append(f'"d_{c}":{0 if r[j] is None else 1}')
            for c, j, cents in self.floats:
                v = r[j]
                if v is None:
                    parts.append(f'"x_{c}":0.0,"d_{c}":0')
                    continue
                x = v / 100.0 if cents else float(v)  # as the SQL engine: cents / 100.0
                if not _representable(x):
                    raise ValueError(f"{c} {x!r} cannot be written in durable_rules' number format")
                parts.append(f'"x_{c}":{x!r},"d_{c}":1')
            if texts is not None:
                for c, j in self.texts:
                    v = r[j]
                    parts.append(f'"t_{c}":0,"d_{c}":0' if v is None else f'"t_{c}":{texts[v]},"d_{c}":1')
                for name, text in self.literals:
                    parts.append(f'"{name}":{texts[text]}')
            facts.append(",".join(parts))
        # last: presence rules wait for it (durable_rules fires a none() pattern as soon as the
        # positive fact arrives, even if a blocking fact follows in the same assert)
        facts.append(f'{head}go","i":-1,"z":0,"zf":0.0,"ch":"","go":1')
        return "[" + "},".join(facts) + "}]"

    def _ranked_value(self, v: str | None, title: bool) -> str | None:
        if v is None or not title:
            return v
        return self.fold(v.strip(" "))  # SQL: lower(trim(title))

    def _encode(self, text: str) -> str:
        out = json.dumps(text, ensure_ascii=False)
        if len(self._encoded) > 100_000:
            self._encoded.clear()
        self._encoded[text] = out
        return out

    def _text_ranks(self, rows: list[tuple]) -> dict[str, int]:
        """Rank (from 1) of every text the key's expressions compare: ranks keep equality and the
        order of Python's str comparison, which is SQLite's (and PostgreSQL's "C" collation)."""
        values = {text for _, text in self.literals}
        for r in rows:
            values.update(r[j] for _, j in self.texts if r[j] is not None)
        return {v: n for n, v in enumerate(sorted(values), start=1)}


def _ranks(values) -> dict:
    """Each distinct value that is not None -> its rank from 1."""
    return {v: n for n, v in enumerate(sorted({v for v in values if v is not None}), start=1)}


# -- evaluation --------------------------------------------------------------------------------

class Evaluator:
    """One durable_rules ruleset; evaluates keys one session each."""

    def __init__(self, spec: dict):
        import durable_rules_engine  # after sys.path is set up
        from durable import engine

        class Host(engine.Host):
            # durable's Host starts two threads that poll every ruleset for timers and queued
            # actions every 0.2 s; this engine uses neither, and actions run synchronously in
            # assert_facts, so the threads would only touch sessions concurrently.
            def _run(self):
                pass

        self.name = spec["name"]
        self.matches: list[tuple[int, tuple[int, ...]]] = []
        self.errors: list[str] = []
        definition = {}
        for rule_name, rule in spec["definition"].items():
            rule = dict(rule)
            tag = rule["run"]
            rule["run"] = self._action(tag, spec["aliases"][tag]) if tag >= 0 else (lambda c: None)
            definition[rule_name] = rule
        self.host = Host()
        self.host.register_rulesets({self.name: definition})
        self.ruleset = self.host.get_ruleset(self.name)
        self.engine = durable_rules_engine
        self.handle = self.ruleset._handle  # durable_rules 2.0.28; engine.py pins it
        self.facts = FactBuilder(spec["facts"])
        self.census = spec.get("census", True)
        self.fault = spec.get("fault") or {}
        self.evaluated = 0
        self._warm_up()

    def _warm_up(self) -> None:
        """durable_rules leaves two pointers of a new session unset (createStateNode) and frees
        them when the session is deleted, unless an action ran in it: a segfault or double free
        whenever malloc handed out dirty memory. A session reuses the slot of the last deleted
        one, so one session with an action (compile.py's warm-up rule) clears them for all."""
        code, state = self.engine.assert_facts(
            self.handle, '[{"sid":"warmup","id":"w","i":-1,"z":0,"zf":0.0,"ch":"","warmup":1}]')
        self.ruleset.do_actions(state, self._completed)
        self.engine.delete_state(self.handle, "warmup")
        if code != 0 or self.errors:
            raise RuntimeError(f"the warm-up session failed ({code}, {self.errors})")

    def _action(self, tag: int, aliases: list[str]):
        matches, errors = self.matches, self.errors

        def action(c):
            try:
                for frame in c.m:
                    d = frame._d
                    matches.append((tag, tuple(d[a]["i"] for a in aliases)))
            except BaseException as e:  # durable would swallow it into the session state
                errors.append(f"{type(e).__name__}: {e}")
        return action

    def key(self, seq: int, key: str, rows: list[tuple]) -> list[tuple[int, tuple[int, ...]]]:
        """The matches of one key's session: (tag, fact indices in the tag's alias order)."""
        self._maybe_fault(key)
        text = self.facts.text(seq, rows)
        sid = str(seq)
        del self.matches[:]
        del self.errors[:]
        dre, handle = self.engine, self.handle
        try:
            # durable.engine's Ruleset.assert_facts, minus its json.dumps: the text is ready
            code, state = dre.assert_facts(handle, text)
            if code != 0:  # 1: a fact no pattern handles, 2: a fact seen already, 3: queued (no actions)
                raise RuntimeError(f"durable_rules did not take the facts (result {code})")
            if state:
                self.ruleset.do_actions(state, self._completed)
            if self.census:
                stored = dre.get_facts(handle, sid).count('"sid":')
                if stored != len(rows) + 1:
                    raise RuntimeError(f"the session holds {stored} of {len(rows) + 1} facts")
        finally:
            dre.delete_state(handle, sid)
        if self.errors:
            raise RuntimeError("; ".join(self.errors))
        self.evaluated += 1
        return list(self.matches)

    def _completed(self, error, _state) -> None:
        if error:
            self.errors.append(f"action failed: {error}")

    def _maybe_fault(self, key: str) -> None:
        """Test hook (UNISONO_RETE_FAULT, see engine.py): die like a crashing C extension."""
        f = self.fault
        if not f:
            return
        if f.get("key") == key or (f.get("after") is not None and self.evaluated >= f["after"]):
            os.kill(os.getpid(), f.get("signal", signal.SIGKILL))


def main() -> int:
    sys.path.append(sys.argv[1])
    rfd = 0
    wfd = os.dup(1)  # frames go to the real stdout; anything printed goes to stderr
    os.dup2(2, 1)
    first = read_frame(rfd)
    if not first or first[0] != "init":
        return 2
    try:
        evaluator = Evaluator(first[1])
    except Exception as e:
        write_frame(wfd, ("error", f"cannot create the durable_rules ruleset: {type(e).__name__}: {e}"))
        return 1
    write_frame(wfd, ("ready", os.getpid()))
    while True:
        msg = read_frame(rfd)
        if msg is None or msg[0] == "exit":
            return 0
        _, batch_id, keys = msg
        results, failed, unprocessed = [], [], []
        for n, (seq, key, rows) in enumerate(keys):
            try:
                matches = evaluator.key(seq, key, rows)
            except Exception as e:
                failed.append((seq, f"{type(e).__name__}: {e}"))
                unprocessed = [k[0] for k in keys[n + 1:]]
                break
            if matches:
                results.append((seq, matches))
        write_frame(wfd, ("done", batch_id, results, failed, unprocessed))
        if failed:
            return 0  # retried in a fresh process


if __name__ == "__main__":
    sys.exit(main())
