"""unisono benchmark: the nightly job through the real CLI, against a lean pipeline in the same run.

    .venv/bin/python benchmarks/run.py                      # 100,000 products × 5 stores
    .venv/bin/python benchmarks/run.py --skus 1000000       # the 1M target
    .venv/bin/python benchmarks/run.py --skus 20000 --skip-check5k --skip-sqlite

Targets (2-core machine, 1M products × 5 stores): the nightly job (init, publish shop, store,
newsletter, reconcile --format json, default ruleset) ≤ 60 s wall, ≤ 1 GB peak RSS per process,
≤ 2× the lean pipeline (benchmarks/lean.py: lxml + pyarrow + DuckDB, the same parity and presence
checks on the same files); at 100k × 5 ≤ 8 s. A 5,000-product pre-release `check` ≤ 1.0 s;
`unisono --help` ≤ 0.3 s.

The nightly job runs twice: on the embedded default catalog (`init` as it comes: a DuckDB file) and
on a SQLite catalog (`init --db sqlite`), phases "sqlite: …", so the default is chosen by numbers.
Every phase is a fresh process: its wall time and its own peak RSS (wait4's ru_maxrss). Findings
are compared with the generator's answer key. Prints a table; writes JSON to benchmarks/out/.
The lean pipeline's packages (pyarrow, DuckDB, lxml) are unisono's own dependencies.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NIGHTLY = ["init", "publish shop", "publish store", "publish newsletter", "reconcile"]
CHANNEL_FILES = [("shop", "shop_feed.xml"), ("store", "store_prices.csv"), ("newsletter", "newsletter.html")]
TARGETS = {"help": (0.3, "≤ 0.3 s"), "check5k: check": (1.0, "≤ 1.0 s")}  # phase -> (seconds, text)
NIGHTLY_TARGETS = {(1_000_000, 5): (60.0, "≤ 60 s @1M×5"), (100_000, 5): (8.0, "≤ 8 s @100k×5")}  # the total's
SQLITE = "sqlite: "  # the phases of the nightly job on a SQLite catalog
MAX_RSS_MB = 1024  # per process
MAX_RATIO = 2.0  # nightly total / lean pipeline
W = 28  # the phase column
GENERATE = """
import json, sys
from pathlib import Path
from unisono.demo.generator import generate
a = json.loads(sys.argv[1])
key = generate(Path(a["dir"]), skus=a["skus"], stores=a["stores"], seed=a["seed"])
print(json.dumps({"expected_findings": len(key.expected_findings)}))
"""


def unisono_bin() -> str:
    """The `unisono` script of this interpreter's environment (the venv's), else the one on PATH."""
    here = Path(sys.executable).parent / "unisono"
    return str(here) if here.exists() else (shutil.which("unisono") or "unisono")


class Runner:
    """Runs phases as fresh processes; records wall seconds, peak RSS, exit code and errors."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.phases: dict[str, dict] = {}
        # The catalog must be the project's own (unisono.yaml), whatever the caller's environment says.
        self.env = {k: v for k, v in os.environ.items() if k not in ("UNISONO_DB", "UNISONO_PROJECT")}
        # as installed: bytecode cached after the first run (a machine that forbids writing it compiles
        # every module in every command: a third of a second of each small check)
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)

    def run(self, label: str, argv: list[str], ok_codes=(0,), stdout: Path | None = None) -> dict:
        print(f"… {label}", file=sys.stderr, flush=True)
        slug = label.replace(" ", "_").replace(":", "")
        out_path = stdout or self.tmp / f"{slug}.out"
        err_path = self.tmp / f"{slug}.err"
        # Output to files, not pipes: a chatty phase must not block on a full pipe before wait4.
        with out_path.open("wb") as out, err_path.open("wb") as err:
            start = time.perf_counter()
            try:
                proc = subprocess.Popen(argv, stdout=out, stderr=err, env=self.env)
            except OSError as e:
                r = {"ok": False, "seconds": 0.0, "cpu_s": 0.0, "peak_mb": 0, "rc": None, "error": str(e)}
                self.phases[label] = r
                return r
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - start
        rc = os.waitstatus_to_exitcode(status)
        r = {"ok": rc in ok_codes, "seconds": round(seconds, 3), "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
             "peak_mb": round(usage.ru_maxrss / 1024), "rc": rc,
             "argv": [str(a) for a in argv]}
        if not r["ok"]:
            tail = err_path.read_text(errors="replace").strip().splitlines()[-12:]
            killed = f"killed by {signal.Signals(-rc).name}" if rc < 0 else f"exit code {rc}"
            r["error"] = "\n".join(tail + ([killed] if rc < 0 else [])) or killed
        r["stdout"] = out_path
        self.phases[label] = r
        return r


def last_json(r: dict) -> dict | None:
    """The JSON line a helper process printed last (generate, lean)."""
    if not r["ok"]:
        return None
    lines = r["stdout"].read_text().strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        r.update(ok=False, error=f"no JSON result: {lines[-1][:200] if lines else 'no output'}")
        return None


def compare(expected: list[dict], reported: list[tuple[str, str, list[str]]]) -> dict:
    """An expected finding matches a reported one with the same rule and sku whose locations hold
    the expected location (one reported finding may match several: its locations are a list)."""
    by_key: dict[tuple[str, str], list[int]] = {}
    for i, (rule, sku, _) in enumerate(reported):
        by_key.setdefault((rule, sku), []).append(i)
    used, missed = set(), []
    for e in expected:
        hits = [i for i in by_key.get((e["rule"], e["sku"]), []) if e["location"] in reported[i][2]]
        if hits:
            used.update(hits)
        else:
            missed.append([e["rule"], e["sku"], e["location"]])
    unexpected = [[rule, sku, locs] for i, (rule, sku, locs) in enumerate(reported) if i not in used]
    return {"expected": len(expected), "reported": len(reported), "matched": len(expected) - len(missed),
            "missed": len(missed), "unexpected": len(unexpected),
            "missed_examples": missed[:10], "unexpected_examples": unexpected[:10]}


def judged(runner: Runner, report: dict, label: str, argv: list[str], out: Path, expected: list[dict],
           key_label: str | None = None) -> None:
    """Run a check or reconcile writing JSON to `out`; compare its findings with the answer key.
    Exit 1 means findings at or above --fail-on, not a failure."""
    phase = runner.run(label, argv, ok_codes=(0, 1), stdout=out)
    if not phase["ok"]:
        return
    found = unisono_findings(out)
    if isinstance(found, str):
        phase.update(ok=False, error=found)
    else:
        report["vs_key"][key_label or label] = compare(expected, found)


def unisono_findings(report_path: Path) -> list[tuple[str, str, list[str]]] | str:
    """reconcile's or check's JSON findings (undecided and resolved ones aside), or why not."""
    try:
        doc = json.loads(report_path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        return f"no JSON report: {e}"
    return [(f["rule"], f["sku"], f.get("locations") or []) for f in doc.get("findings", [])
            if f.get("status") != "resolved"]


def retailer(runner: Runner, prefix: str, data: Path, skus: int, stores: int, seed: int) -> dict | None:
    """Generate a retailer (python API, not part of the nightly job); its answer key."""
    spec = json.dumps({"dir": str(data), "skus": skus, "stores": stores, "seed": seed})
    if last_json(runner.run(f"{prefix}generate", [sys.executable, "-c", GENERATE, spec])) is None:
        return None
    return json.loads((data / "answer_key.json").read_text())


def publish_all(runner: Runner, prefix: str, data: Path, project: Path, published_at: str, db: str | None = None) -> None:
    """`db`: init's --db (None: its default)."""
    cli = unisono_bin()
    runner.run(f"{prefix}init", [cli, "init", str(project), *(["--db", db] if db else [])])
    for channel, name in CHANNEL_FILES:
        runner.run(f"{prefix}publish {channel}",
                   [cli, "publish", channel, str(data / name), "--published-at", published_at, "--project", str(project)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skus", type=int, default=100_000)
    ap.add_argument("--stores", type=int, default=5)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--check-skus", type=int, default=5_000, help="the pre-release check's retailer (0: skip)")
    ap.add_argument("--skip-check5k", action="store_true", help="skip the pre-release check phases")
    ap.add_argument("--skip-sqlite", action="store_true", help="skip the nightly job on a SQLite catalog")
    ap.add_argument("--skip-lean", action="store_true", help="skip the lean pipeline and the SQLite anchor")
    ap.add_argument("--keep", type=Path, help="keep the data and projects in this folder (default: a temporary one)")
    ap.add_argument("--out", type=Path, default=HERE / "out", help="folder for the JSON report")
    args = ap.parse_args()
    if args.keep and args.keep.exists() and any(args.keep.iterdir()):
        ap.error(f"--keep {args.keep}: the folder must be new or empty (reconcile compares with earlier runs)")

    tmp = Path(tempfile.mkdtemp(prefix="unisono-bench-")) if args.keep is None else args.keep.resolve()
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        report = bench(args, tmp)
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)
    print_report(report, args)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"bench-{args.skus}x{args.stores}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    print(f"JSON: {path}")


def bench(args, tmp: Path) -> dict:
    runner = Runner(tmp)
    cli = unisono_bin()
    data = tmp / "data"
    # Load average: other work on the machine shows in every wall time; the run records it.
    report = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                          "loadavg_start": os.getloadavg()},
              "skus": args.skus, "stores": args.stores, "seed": args.seed, "unisono": cli, "phases": runner.phases,
              "vs_key": {}}  # findings against the answer key, per pipeline
    key = retailer(runner, "", data, args.skus, args.stores, args.seed)
    if key is None:
        return report
    published_at, check_at = key["published_at"], key["check_at"]
    report.update(published_at=published_at, check_at=check_at, expected_findings=len(key["expected_findings"]))

    # The nightly job, command by command, as cron runs it: on the default catalog (DuckDB), then on SQLite.
    for prefix, db in [("", None), *([] if args.skip_sqlite else [(SQLITE, "sqlite")])]:
        where = tmp / f"{db or 'default'}-project"
        publish_all(runner, prefix, data, where, published_at, db)
        judged(runner, report, f"{prefix}reconcile", [cli, "reconcile", "--at", check_at, "--format", "json",
                                                      "--project", str(where)],
               tmp / f"{db or 'default'}-reconcile.json", key["expected_findings"])
    runner.run("help", [cli, "--help"])

    if not args.skip_lean:
        lean_args = [str(data), "--at", check_at, "--published-at", published_at]
        for mode, label in [("duckdb", "lean pipeline"), ("sqlite", "flat sqlite")]:
            result = last_json(runner.run(label, [sys.executable, str(HERE / "lean.py"), mode, *lean_args]))
            if result is not None:
                keys = result.pop("keys")
                runner.phases[label]["detail"] = result
                report["vs_key"][label] = compare(key["expected_findings"], [(r, s, [loc]) for r, s, loc in keys])

    if not args.skip_check5k and args.check_skus > 0:
        small_data, small_project = tmp / "data5k", tmp / "project5k"
        small = retailer(runner, "check5k: ", small_data, args.check_skus, args.stores, args.seed)
        if small is not None:
            publish_all(runner, "check5k: ", small_data, small_project, small["published_at"])
            judged(runner, report, "check5k: check", [cli, "check", "--at", small["check_at"], "--format", "json",
                                                      "--project", str(small_project)],
                   tmp / "check5k.json", small["expected_findings"], key_label="check5k")
    report["machine"]["loadavg_end"] = os.getloadavg()
    summarize(report)
    return report


def summarize(report: dict) -> None:
    phases = report["phases"]
    for prefix in ["", SQLITE]:
        nightly = [phases[prefix + p] for p in NIGHTLY if prefix + p in phases]
        if len(nightly) != len(NIGHTLY):
            continue
        total = report[f"{prefix}nightly"] = {
            "seconds": round(sum(p["seconds"] for p in nightly), 3), "cpu_s": round(sum(p["cpu_s"] for p in nightly), 3),
            "peak_mb": max(p["peak_mb"] for p in nightly), "ok": all(p["ok"] for p in nightly)}
        lean = phases.get("lean pipeline")
        if lean and lean["ok"]:
            total["ratio_to_lean"] = round(total["seconds"] / lean["seconds"], 2)
            total["cpu_ratio_to_lean"] = round(total["cpu_s"] / lean["cpu_s"], 2)
    for r in phases.values():
        r.pop("stdout", None)  # a file in the temporary folder


def verdict(ok: bool | None) -> str:
    return "" if ok is None else ("ok" if ok else "MISSED")


def print_report(report: dict, args) -> None:
    phases = report["phases"]
    small = args.skus < 1_000_000
    print(f"\nunisono benchmark: {args.skus:,} products × {args.stores} stores, seed {args.seed}; "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}")
    print("(wall: the whole process, imports included; cpu: its user + system time; peak: its max RSS)")
    load = report["machine"]["loadavg_start"], report["machine"].get("loadavg_end", ())
    print(f"(load average at start {load[0][0]:.1f}, at end {load[1][0] if load[1] else float('nan'):.1f}: "
          f"above {os.cpu_count()} means other work shared the CPUs)")
    print(f"{'phase':{W}} {'wall s':>8} {'cpu s':>8} {'peak MB':>8}  {'target':18} {'':6}  note")
    for label, r in phases.items():
        seconds, text = TARGETS.get(label, (None, ""))
        rss_ok = r["peak_mb"] <= MAX_RSS_MB if label.removeprefix(SQLITE) in NIGHTLY else None
        ok = None if seconds is None else r["seconds"] <= seconds
        if rss_ok is not None:
            text, ok = f"≤ {MAX_RSS_MB} MB", rss_ok
        note = "" if r["ok"] else (r.get("error") or "?").splitlines()[-1][:100]
        if "detail" in r:
            d = r["detail"]
            note = (f"parse {d['parse_shop_s'] + d['parse_store_s'] + d['parse_newsletter_s']:.2f} "
                    f"(newsletter {d['parse_newsletter_s']:.2f}), duckdb load {d['load_s']:.2f}")
            note += f", sqlite load {d['sqlite_load_s']:.2f}, sqlite query {d['query_s']:.3f}" if "sqlite_load_s" in d \
                else f", query {d['query_s']:.3f}"
        status = verdict(ok) if r["ok"] else "FAILED"
        print(f"{label:{W}} {r['seconds']:>8.2f} {r['cpu_s']:>8.2f} {r['peak_mb']:>8}  {text:18} {status:6}  {note}")
    for prefix in ["", SQLITE]:
        n = report.get(f"{prefix}nightly")
        if not n:
            continue
        seconds, text = NIGHTLY_TARGETS.get((args.skus, args.stores), (None, ""))
        scaled = "the targets are for 1M and 100k products × 5 stores" if seconds is None else ""
        print(f"{prefix + 'nightly total':{W}} {n['seconds']:>8.2f} {n['cpu_s']:>8.2f} {n['peak_mb']:>8}  {text:18} "
              f"{('' if seconds is None else verdict(n['seconds'] <= seconds)) if n['ok'] else 'FAILED':6}  "
              f"{'' if n['ok'] else 'a phase failed; '}{scaled}")
        if "ratio_to_lean" in n:
            print(f"{prefix + '× lean pipeline':{W}} {n['ratio_to_lean']:>8.2f} {n['cpu_ratio_to_lean']:>8.2f} "
                  f"{'':>8}  {f'≤ {MAX_RATIO:g}× (wall)':18} "
                  f"{'' if small else verdict(n['ratio_to_lean'] <= MAX_RATIO) if n['ok'] else 'FAILED':6}  "
                  f"nightly total / lean pipeline, wall and cpu{'; the target is for 1M products' if small else ''}")
    print(f"\nfindings vs answer key ({report.get('expected_findings', '?')} expected at {report.get('check_at', '?')}):")
    for what in ["reconcile", SQLITE + "reconcile", "lean pipeline", "flat sqlite", "check5k"]:
        c = report["vs_key"].get(what)
        if c is None:
            continue
        line = (f"  {what:22} reported {c['reported']:>6}, matched {c['matched']:>6}/{c['expected']}, "
                f"missed {c['missed']}, unexpected {c['unexpected']}")
        print(line)
        for m in c["missed_examples"][:5]:
            print(f"      missed     {m}")
        for u in c["unexpected_examples"][:5]:
            print(f"      unexpected {u}")
    failed = {k: r for k, r in phases.items() if not r["ok"]}
    for label, r in failed.items():
        print(f"\nphase {label} failed (exit {r['rc']}):\n  " + r.get("error", "").replace("\n", "\n  "))


if __name__ == "__main__":
    main()
