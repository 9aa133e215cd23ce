"""unisono on Spark (issue #9): the nightly job on the default catalog (DuckDB) and on a Spark lake.

    .venv/bin/python benchmarks/spark.py                                   # 100,000 products × 5 stores
    .venv/bin/python benchmarks/spark.py --sizes 100000x5,1000000x5 --data /tmp/retailers
    .venv/bin/python benchmarks/spark.py --sizes 5000x2,20000x2 --spark-master local[2] --keep /tmp/sb
    .venv/bin/python benchmarks/spark.py --sizes 1000000x20 --spark-conf spark.driver.memory=4g

Per size: one generated retailer (seed --seed; cached per size under --data if given), then the
nightly job as cron runs it, each command a fresh process (init, publish shop, store, newsletter,
`reconcile --format json`): first on `init` as it comes (DuckDB), then on `init --db
spark:///ABS/lake?master=…`. The findings are compared with the generator's answer key, and Spark's
with DuckDB's (the same (rule, sku, locations), and whether the JSON reports are byte for byte equal).
Then the curve: times against live offers (the offers the three publishes report), with a least-squares
`fixed + per million live offers` for Spark's reconcile and nightly total once two or more sizes ran.

What is counted, per phase: wall = the unisono process, start to exit (what a cron job waits for).
cpu = user + system of the unisono process, of its JVM and of what either reaped. pyspark starts the
JVM as a child but never waits for it: the JVM exits on its own when its stdin closes, just after the
python process, so run.py's wait4 on the python process alone misses it (measured on a 500-product
publish: 0.9 CPU s counted, the JVM's 19.3 not). This script therefore makes itself a child subreaper
(Linux prctl): the orphaned JVM becomes its child and is reaped after each phase, its rusage added to
cpu (python's alone is kept as python_cpu_s). peak MB = the unisono process's max RSS, JVM MB = the JVM's
(separate processes: together they held at most the sum). Prints tables; writes JSON to benchmarks/out/.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run import NIGHTLY, Runner, judged, publish_all, retailer, unisono_bin, unisono_findings  # noqa: E402

SPARK = "spark: "  # the phases of the nightly job on the Spark lake
PR_SET_CHILD_SUBREAPER = 36
JVM_EXIT_TIMEOUT = 120  # seconds to wait for an orphaned JVM after its python process exited


class TreeRunner(Runner):
    """run.py's Runner, plus the rusage of the processes a phase left behind (pyspark's JVM)."""

    def run(self, label: str, argv: list[str], **kw) -> dict:
        r = super().run(label, argv, **kw)
        start, cpu, peak = time.perf_counter(), 0.0, 0
        # Reaped before the next phase starts, so a JVM still shutting down never overlaps the next command.
        while time.perf_counter() - start < JVM_EXIT_TIMEOUT:
            try:
                pid, _, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                break  # no children left
            if pid == 0:
                time.sleep(0.05)
                continue
            cpu += usage.ru_utime + usage.ru_stime
            peak = max(peak, round(usage.ru_maxrss / 1024))
        else:
            r.update(ok=False, error=f"a child process still ran {JVM_EXIT_TIMEOUT} s after the phase")
        r.update(python_cpu_s=r["cpu_s"], cpu_s=round(r["cpu_s"] + cpu, 3), jvm_peak_mb=peak,
                 jvm_after_s=round(time.perf_counter() - start, 2))
        return r


def offers_published(phase: dict) -> int | None:
    """The offers a publish reports ("Published X as store #2: 498,488 offers, …")."""
    m = phase.get("ok") and re.search(r": ([\d,]+) offers?,", phase["stdout"].read_text())
    return int(m.group(1).replace(",", "")) if m else None


def one_size(args, skus: int, stores: int, tmp: Path) -> dict:
    runner, cli = TreeRunner(tmp), unisono_bin()
    size = {"skus": skus, "stores": stores, "phases": runner.phases, "vs_key": {}, "loadavg_start": os.getloadavg()}
    data = (args.data / f"{skus}x{stores}-seed{args.seed}").resolve() if args.data else tmp / "data"
    if (data / "answer_key.json").exists():  # cached by an earlier run: the same seed makes the same files
        key = json.loads((data / "answer_key.json").read_text())
    else:
        data.mkdir(parents=True, exist_ok=True)
        key = retailer(runner, "", data, skus, stores, args.seed)
        if key is None:
            return size
    expected = key["expected_findings"]
    size.update(data=str(data), expected_findings=len(expected), check_at=key["check_at"])
    lake = (tmp / "spark-project" / "lake").resolve()
    reports = {}
    for prefix, where, db in [("", tmp / "default-project", None),
                              (SPARK, tmp / "spark-project", f"spark:///{lake}?master={args.spark_master}"
                               + "".join(f"&{setting}" for setting in args.spark_conf))]:
        publish_all(runner, prefix, data, where, key["published_at"], db)
        reports[prefix] = tmp / f"{prefix.strip(': ') or 'default'}-reconcile.json"
        judged(runner, size, f"{prefix}reconcile", [cli, "reconcile", "--at", key["check_at"], "--format", "json",
                                                    "--project", str(where)], reports[prefix], expected)
    size["loadavg_end"] = os.getloadavg()
    counts = [offers_published(runner.phases.get(f"publish {c}", {})) for c in ("shop", "store", "newsletter")]
    size["offers"] = dict(zip(("shop", "store", "newsletter"), counts))
    # Approximation if a publish said nothing: every product in the shop and in every store.
    size["live_offers"] = sum(counts) if None not in counts else skus * (stores + 1)
    for prefix in ("", SPARK):
        nightly = [runner.phases.get(prefix + p) for p in NIGHTLY]
        if all(nightly):
            size[f"{prefix}nightly"] = {"seconds": round(sum(p["seconds"] for p in nightly), 3),
                                        "cpu_s": round(sum(p["cpu_s"] for p in nightly), 3),
                                        "peak_mb": max(p["peak_mb"] for p in nightly),
                                        "jvm_peak_mb": max(p["jvm_peak_mb"] for p in nightly),
                                        "ok": all(p["ok"] for p in nightly)}
    found = {p: unisono_findings(reports[p]) for p in reports if reports[p].exists()}
    if all(isinstance(found.get(p), list) for p in ("", SPARK)):
        spark, duck = ({(r, s, tuple(sorted(locs))) for r, s, locs in found[p]} for p in (SPARK, ""))
        size["spark_vs_duckdb"] = {"same": len(spark & duck), "only_spark": len(spark - duck),
                                   "only_duckdb": len(duck - spark),
                                   "examples": [list(f) for f in sorted(spark ^ duck)][:10],
                                   "identical_report": reports[""].read_bytes() == reports[SPARK].read_bytes()}
    for r in runner.phases.values():
        r.pop("stdout", None)  # a file in the temporary folder
    return size


def fit(xs: list[float], ys: list[float]) -> tuple[float, float] | None:
    """Least squares y = fixed + slope·x; None unless two distinct x."""
    if len(set(xs)) < 2:
        return None
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    return my - slope * mx, slope


def print_size(s: dict, master: str) -> None:
    load = s["loadavg_start"][0], s.get("loadavg_end", (float("nan"),))[0]
    offers = ", ".join(f"{c} {n:,}" for c, n in s.get("offers", {}).items() if n is not None)
    print(f"\n{s['skus']:,} products × {s['stores']} stores: {s.get('live_offers', 0):,} live offers ({offers}); "
          f"load {load[0]:.1f} → {load[1]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'phase':20} {'DuckDB wall s':>13} {'cpu s':>7} {'peak MB':>7}   "
          f"{f'Spark {master} wall s':>20} {'cpu s':>7} {'peak MB':>7} {'JVM MB':>7}")
    ph = s["phases"]
    rows = [(p, ph.get(p), ph.get(SPARK + p)) for p in NIGHTLY]
    rows.append(("nightly total", s.get("nightly"), s.get(SPARK + "nightly")))
    for name, d, k in rows:
        def cols(r, width):
            if r is None:
                return f"{'-':>{width}} {'':>7} {'':>7}"
            return f"{r['seconds']:>{width}.2f} {r['cpu_s']:>7.2f} {r['peak_mb']:>7}" + ("" if r["ok"] else " FAILED")
        print(f"{name:20} {cols(d, 13)}   {cols(k, 20)} {(k and k['jvm_peak_mb']) or '-':>7}")
    print(f"findings vs answer key ({s.get('expected_findings', '?')} expected at {s.get('check_at', '?')}):")
    for label, what in [("reconcile", "DuckDB"), (SPARK + "reconcile", "Spark")]:
        c = s["vs_key"].get(label)
        if c:
            print(f"  {what:7} reported {c['reported']:>6}, matched {c['matched']:>6}/{c['expected']}, "
                  f"missed {c['missed']}, unexpected {c['unexpected']}")
            for m in c["missed_examples"][:3] + c["unexpected_examples"][:3]:
                print(f"      {m}")
    v = s.get("spark_vs_duckdb")
    if v:
        print(f"  Spark vs DuckDB: {v['same']} the same, {v['only_spark']} only on Spark, {v['only_duckdb']} only on "
              f"DuckDB; JSON reports byte for byte {'equal' if v['identical_report'] else 'DIFFERENT'}")
        for e in v["examples"][:5]:
            print(f"      {e}")
    for label, r in ph.items():
        if not r["ok"]:
            print(f"  phase {label} failed (exit {r['rc']}): " + (r.get("error") or "?").replace("\n", "\n    "))


def print_curve(sizes: list[dict]) -> dict:
    done = [s for s in sizes if s.get(SPARK + "nightly", {}).get("ok") and s.get("nightly", {}).get("ok")]
    print(f"\ncurve (wall s; cpu s in brackets, the JVM's included):\n{'size':>14} {'live offers':>12} "
          f"{'Spark reconcile':>18} {'Spark total':>18} {'DuckDB reconcile':>18} {'DuckDB total':>18}")
    for s in done:
        ph = s["phases"]
        cells = [ph[SPARK + "reconcile"], s[SPARK + "nightly"], ph["reconcile"], s["nightly"]]
        print(f"{s['skus']:>10,}×{s['stores']:<3} {s['live_offers']:>12,} "
              + " ".join(f"{c['seconds']:>9.1f} ({c['cpu_s']:>6.1f})" for c in cells))
    fits = {}
    xs = [s["live_offers"] / 1e6 for s in done]
    for name, get in [("Spark reconcile", lambda s: s["phases"][SPARK + "reconcile"]),
                      ("Spark nightly total", lambda s: s[SPARK + "nightly"])]:
        wall, cpu = fit(xs, [get(s)["seconds"] for s in done]), fit(xs, [get(s)["cpu_s"] for s in done])
        if wall and cpu:
            fits[name] = {"fixed_s": round(wall[0], 1), "s_per_million": round(wall[1], 1),
                          "fixed_cpu_s": round(cpu[0], 1), "cpu_s_per_million": round(cpu[1], 1)}
            print(f"fit {name}: {wall[0]:.1f} s + {wall[1]:.1f} s per million live offers "
                  f"(cpu: {cpu[0]:.1f} s + {cpu[1]:.1f} core-s per million)")
    if not fits:
        print("(no fit: it needs two or more sizes whose nightly jobs all succeeded)")
    return fits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000x5", help="products x stores, comma-separated: 100000x5,1000000x5")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--spark-master", default="local[2]", help="the lake URL's ?master=")
    ap.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE",
                    help="a Spark setting in the lake URL, e.g. spark.driver.memory=4g (repeatable)")
    ap.add_argument("--data", type=Path, help="cache the generated retailers here, a folder per size and seed")
    ap.add_argument("--keep", type=Path, help="keep the projects and reports in this folder (default: a temporary one)")
    ap.add_argument("--out", type=Path, default=HERE / "out", help="folder for the JSON report")
    args = ap.parse_args()
    try:
        sizes = [tuple(int(n) for n in s.lower().split("x")) for s in args.sizes.split(",")]
        assert all(len(s) == 2 and s[0] > 0 and s[1] > 0 for s in sizes)
    except (ValueError, AssertionError):
        ap.error(f"--sizes {args.sizes}: give products x stores, e.g. 100000x5,1000000x5")
    if args.keep and args.keep.exists() and any(args.keep.iterdir()):
        ap.error(f"--keep {args.keep}: the folder must be new or empty (reconcile compares with earlier runs)")
    # The JVM outlives its python process; as subreaper this process inherits it and can count it.
    if not sys.platform.startswith("linux") or ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print("warning: not a child subreaper (Linux only): cpu will leave out the JVM", file=sys.stderr)

    tmp = Path(tempfile.mkdtemp(prefix="unisono-spark-")) if args.keep is None else args.keep.resolve()
    report = {"seed": args.seed, "spark_master": args.spark_master, "spark_conf": args.spark_conf, "cpus": os.cpu_count(), "unisono": unisono_bin(),
              "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "sizes": []}
    try:
        for skus, stores in sizes:
            folder = tmp / f"{skus}x{stores}"
            folder.mkdir(parents=True, exist_ok=True)
            report["sizes"].append(one_size(args, skus, stores, folder))
            print_size(report["sizes"][-1], args.spark_master)
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)
    report["fits"] = print_curve(report["sizes"])
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"spark-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    print(f"JSON: {path}")


if __name__ == "__main__":
    main()
