"""unisono benchmark: publish + check at catalog scale, each engine beside a hand-written SQL floor.

    .venv/bin/python benchmarks/run.py                      # 100,000 products, 5 stores
    .venv/bin/python benchmarks/run.py --skus 1000000       # the 1M target
    .venv/bin/python benchmarks/run.py --skus 20000 --engines sql

Every phase runs in a fresh process, so its peak memory (max RSS) is its own. The same SQLite
catalog serves every engine and the floor, in the same run. Prints a table, writes JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
AT = "2026-11-24T12:00:00+01:00"

PHASES = {
    "generate": """
from pathlib import Path
from unisono.demo.generator import generate
T0 = time.perf_counter()
key = generate(Path(DATA), skus=SKUS, stores=STORES, seed=SEED)
RESULT = {"expected_findings": len(key.expected_findings)}
""",
    "publish": """
from datetime import datetime
from pathlib import Path
from unisono.api.project import Project
T0 = time.perf_counter()
p = Project.init(Path(PROJECT))
t = datetime.fromisoformat("2026-11-19T06:00:00+01:00")
RESULT = {}
for channel, name in [("shop", "shop_feed.xml"), ("store", "store_prices.csv"), ("newsletter", "newsletter.html")]:
    r = p.publish(channel, Path(DATA) / name, published_at=t)
    RESULT[channel] = r.offers + r.rejections
""",
    "check": """
from datetime import datetime
from pathlib import Path
from unisono.api.project import Project
from unisono.catalog.state import build_live
if ENGINE == "rete":
    import unisono.rules.rete.engine  # imports are not the engine's work
from unisono.rules import load_rules
T0 = time.perf_counter()
p = Project.open(Path(PROJECT))
# the rules the floor writes by hand (reference_price needs history the generated data lacks)
rules = [r for r in load_rules(p.rule_paths()) if r.kind in ("parity", "presence")]
r = p.check(datetime.fromisoformat(AT), engine=ENGINE, rules=rules, record=False)
RESULT = {"findings": len(r.findings), "undecided": len(r.undecided), "keys": KEYS}
""",
    "floor": """
import sqlite3
from pathlib import Path
T0 = time.perf_counter()
con = sqlite3.connect(str(Path(PROJECT) / "unisono.db"))
RESULT = {"findings": sum(con.execute(q, {"at": AT_UTC}).fetchone()[0] for q in FLOOR_QUERIES), "keys": KEYS}
""",
}

# The floor: the default parity and presence rules written by hand for this catalog's shape,
# straight on SQLite; the engines are timed on the same three rules.
# Same semantics as the engines (latest publication per channel and location, effective price
# at the instant, key resolution by gtin and link), none of their generality.
_LIVE = """
WITH cur AS (
  SELECT pl.publication_id, pl.location FROM publication_location pl JOIN publication p ON p.id = pl.publication_id
  WHERE p.effective_from <= :at AND NOT EXISTS (
    SELECT 1 FROM publication_location pl2 JOIN publication p2 ON p2.id = pl2.publication_id
    WHERE pl2.channel = pl.channel AND pl2.location = pl.location AND p2.effective_from <= :at
      AND (p2.effective_from, p2.published_at, p2.id) > (p.effective_from, p.published_at, p.id))),
base AS (
  SELECT o.*, CASE WHEN o.sale_price_cents IS NOT NULL AND (o.sale_start IS NULL OR o.sale_start <= :at)
                    AND (o.sale_end IS NULL OR o.sale_end > :at) THEN o.sale_price_cents ELSE o.price_cents END AS eff
  FROM offer o JOIN cur ON cur.publication_id = o.publication_id AND cur.location = o.location
  WHERE (o.valid_from IS NULL OR o.valid_from <= :at) AND (o.valid_to IS NULL OR o.valid_to > :at)),
shop AS (SELECT * FROM base WHERE channel = 'shop'),
live AS (
  SELECT b.*, COALESCE(b.sku, (SELECT s.sku FROM shop s WHERE s.gtin = b.gtin),
                       (SELECT s.sku FROM shop s WHERE s.url = b.url), b.gtin, b.url) AS k FROM base b)
"""
FLOOR_QUERIES = [
    _LIVE + """SELECT count(*) FROM live s JOIN live o ON o.k = s.k AND o.channel = 'store'
               WHERE s.channel = 'shop' AND (abs(o.price_cents - s.price_cents) > 1 OR abs(o.eff - s.eff) > 1
                                             OR o.currency <> s.currency)""",
    _LIVE + """SELECT count(*) FROM live n JOIN live o ON o.k = n.k AND o.channel = 'shop'
               WHERE n.channel = 'newsletter' AND (abs(o.eff - n.eff) > 1 OR o.currency <> n.currency)""",
    _LIVE + """SELECT count(*) FROM live n WHERE n.channel = 'newsletter' AND NOT EXISTS (
                 SELECT 1 FROM live s WHERE s.k = n.k AND s.channel = 'shop'
                 AND (s.availability IS NULL OR s.availability <> 'out_of_stock'))""",
]


def run_phase(name: str, params: dict) -> dict:
    """Run one phase in a fresh interpreter; return its result, seconds and peak RSS."""
    prelude = "".join(f"{k} = {v!r}\n" for k, v in params.items())
    code = ("import time\n" + prelude + PHASES[name] + "\nRESULT['work_seconds'] = round(time.perf_counter() - T0, 3)\n"
            "import json, sys\nsys.stdout.write('\\nRESULT ' + json.dumps(RESULT))\n")
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    out, err = proc.stdout.read(), proc.stderr.read()
    if status != 0:
        raise SystemExit(f"phase {name} failed:\n{err[-3000:]}")
    result = json.loads(out.rsplit("RESULT ", 1)[1])
    return {"seconds": round(seconds, 2), "peak_mb": round(usage.ru_maxrss / 1024), **result}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skus", type=int, default=100_000)
    ap.add_argument("--stores", type=int, default=5)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--engines", default="sql,rete", help="comma-separated: sql, rete")
    ap.add_argument("--out", type=Path, default=HERE / "out", help="folder for the JSON report")
    args = ap.parse_args()

    from datetime import datetime, timezone
    at_utc = datetime.fromisoformat(AT).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    with tempfile.TemporaryDirectory(prefix="unisono-bench-") as tmp:
        params = {"DATA": f"{tmp}/data", "PROJECT": f"{tmp}/project", "SKUS": args.skus, "STORES": args.stores,
                  "SEED": args.seed, "AT": AT, "AT_UTC": at_utc, "KEYS": args.skus, "FLOOR_QUERIES": FLOOR_QUERIES}
        report = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
                  "skus": args.skus, "stores": args.stores, "phases": {}}
        phases = [("generate", {}), ("publish", {})]
        phases += [(f"check:{e}", {"ENGINE": e}) for e in args.engines.split(",") if e]
        phases += [("floor", {})]
        for label, extra in phases:
            print(f"… {label}", file=sys.stderr, flush=True)
            report["phases"][label] = run_phase(label.split(":")[0], params | extra)
    floor = report["phases"]["floor"]["work_seconds"]
    print(f"\nunisono benchmark: {args.skus:,} products × {args.stores} stores, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print("(work: the phase's own time after its imports; wall: the whole process)")
    print(f"{'phase':16} {'work s':>8} {'wall s':>8} {'peak MB':>8} {'keys/s':>10} {'× floor':>8}  findings")
    for label, r in report["phases"].items():
        keys = f"{r['keys'] / r['work_seconds']:,.0f}" if "keys" in r else ""
        ratio = f"{r['work_seconds'] / floor:.2f}" if "keys" in r else ""
        found = r.get("findings", r.get("expected_findings", ""))
        print(f"{label:16} {r['work_seconds']:>8.2f} {r['seconds']:>8.2f} {r['peak_mb']:>8} {keys:>10} {ratio:>8}  {found}")
    pc = report["phases"]["publish"]["seconds"] + report["phases"].get("check:sql", {"seconds": 0})["seconds"]
    print(f"publish + check (sql), wall: {pc:.1f} s; expected findings (answer key): "
          f"{report['phases']['generate']['expected_findings']}")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"bench-{args.skus}x{args.stores}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"JSON: {path}")


if __name__ == "__main__":
    main()
