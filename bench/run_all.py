"""Run every benchmark, print one summary table with the targets, and write bench/results.json.

Runs, in this order: parse cost (bench/parse_definitions.py), render throughput and memory
(bench/render_sql.py), pickup latency (bench/pickup_latency.py), per-request overhead through a
live scheduler (bench/request_overhead.py). Each prints its own table while it runs; the summary
at the end puts the figures next to their targets.

Usage: python bench/run_all.py [--quick] [--only parse render pickup overhead] [--summarize]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"


def machine() -> dict:
    """Date, CPU count, memory and versions of the machine the figures come from."""
    from importlib.metadata import version

    free = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.strip()
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": int(nproc or os.cpu_count() or 0),
        "free_h": free,
        "python": platform.python_version(),
        "airflow": version("apache-airflow"),
        "dag_factory": version("dag-factory"),
        "pandas": version("pandas"),
        "xlsxwriter": version("xlsxwriter"),
        "reportlab": version("reportlab"),
    }


def _run(script: str, args: list[str], out: Path) -> object:
    # Each benchmark in its own interpreter: the pickup benchmark sets Airflow's environment at import.
    subprocess.run([sys.executable, str(ROOT / "bench" / script), *args, "--json", str(out)], check=True)
    return json.loads(out.read_text())


def summary(results: dict) -> list[tuple[str, str, str, str]]:
    """Rows of (figure, measured, target, verdict), one per performance target.

    :param results: the collected figures.
    """
    rows = []
    parse = {r["definitions"]: r for r in results.get("parse", [])}
    if 1000 in parse:
        p = parse[1000]
        rows.append(
            (
                "parse 1,000 defs: ours / static floor",
                f"{p['ours_vs_static']:.2f}x",
                "<= 1.5x",
                "met" if p["ours_vs_static"] <= 1.5 else "missed",
            )
        )
        rows.append(
            (
                "parse 1,000 defs: ours / dag-factory",
                f"{p['ours_vs_dag_factory']:.2f}x",
                "< 1.0x",
                "met" if p["ours_vs_dag_factory"] < 1 else "missed",
            )
        )
        if "validate" in p:
            v = p["validate"]
            rows.append(
                (
                    f"make validate 1,000 + {v['hostile']} hostile: time / 1,000 alone",
                    f"{v['ratio']:.2f}x (listed {v['listed']})",
                    f"<= {v['target']}x, exactly {v['hostile']} listed",
                    "met" if v["ratio"] <= v["target"] and v["listed"] == v["hostile"] else "missed",
                )
            )
    for p in parse.values():
        # Airflow's default [core] dagbag_import_timeout: a slower file is an import error, not a slow parse.
        slow = [k for k in ("ours", "dag_factory", "static") if p[k]["seconds"] > 30]
        if slow:
            rows.append(
                (
                    f"parse {p['definitions']:,} defs over the default 30 s import timeout",
                    ", ".join(slow),
                    "(none)",
                    "note",
                )
            )
    render = {(r["format"], r["rows"]): r for r in results.get("render", [])}
    csv = [r for (fmt, _), r in sorted(render.items()) if fmt == "csv"]
    if csv:
        worst = min(r["speed_vs_floor"] for r in csv)
        rows.append(
            (
                "CSV rows/s: ours / pandas floor (worst size)",
                f"{worst:.2f}x",
                ">= 0.8x",
                "met" if worst >= 0.8 else "missed",
            )
        )
    for fmt in ("csv", "xlsx"):
        if (fmt, 100_000) in render and (fmt, 1_000_000) in render:
            growth = render[(fmt, 1_000_000)]["ours"]["peak"] / render[(fmt, 100_000)]["ours"]["peak"]
            rows.append(
                (
                    f"{fmt.upper()} peak RSS 1M / 100k rows",
                    f"{growth:.2f}x",
                    "<= 1.5x",
                    "met" if growth <= 1.5 else "missed",
                )
            )
    for fmt, small, large in (("csv", 100_000, 1_000_000), ("xlsx", 100_000, 1_000_000), ("pdf", 50_000, 200_000)):
        if all((fmt, n) in render and "engine" in render[(fmt, n)] for n in (small, large)):
            # the SQL engine's own generate(): what it holds beyond its code, at 10x (4x for PDF) the rows
            low, high = (render[(fmt, n)]["engine"]["growth"] for n in (small, large))
            rows.append(
                (
                    f"SQL engine {fmt.upper()} RSS growth {large // 1000:,}k / {small // 1000:,}k rows",
                    f"{low:.0f} -> {high:.0f} MiB",
                    "flat (<= 1.5x)",
                    "met" if high <= 1.5 * low else "missed",
                )
            )
    if ("pdf", 50_000) in render and ("pdf", 200_000) in render:
        # growth (peak minus the RSS before the query) of 4x the rows: flat means about one batch more
        small, large = (render[("pdf", n)]["ours"]["growth"] for n in (50_000, 200_000))
        rows.append(
            (
                "PDF RSS growth 200k / 50k rows",
                f"{small:.0f} -> {large:.0f} MiB",
                "flat (<= 1.5x)",
                "met" if large <= 1.5 * small else "missed",
            )
        )
    for p in results.get("pickup", []):
        rows.append(
            (
                f"pickup {p['store']} p50 / p95 (poll {p['poll_s']:g} s)",
                f"{p['p50_s']:.2f} / {p['p95_s']:.2f} s",
                "(no target)",
                "-",
            )
        )
    overhead = results.get("overhead")
    if overhead:
        rows.append(
            (
                "per-request wall time: ours / bare DAG (live scheduler)",
                f"{overhead['ratio']:.2f}x",
                "<= 1.3x",
                "met" if overhead["ratio"] <= 1.3 else "missed",
            )
        )
    else:
        rows.append(("per-request overhead vs bare DAG (live scheduler)", "not measured", "<= 1.3x", "not done"))
    return rows


def _print_summary(results: dict, out: Path) -> None:
    print(f"\nsummary (figures in {out})")
    width = max(len(r["figure"]) for r in results["summary"])
    for r in results["summary"]:
        print(f"  {r['figure']:<{width}}  {r['measured']:>14}  target {r['target']:<12} {r['verdict']}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks, print the summary, write the results file.

    :param argv: command-line arguments.
    """
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the harness")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--only",
        nargs="+",
        choices=["parse", "render", "pickup", "overhead"],
        help="run only these benchmarks; keep the other figures of --out",
    )
    parser.add_argument("--summarize", action="store_true", help="only recompute and print the summary of --out")
    args = parser.parse_args(argv)
    if args.summarize:
        results = json.loads(args.out.read_text())
    else:
        info = machine()
        print(
            f"benchmarks on {info['nproc']} cores, Python {info['python']}, Airflow {info['airflow']}, {info['date']}"
        )
        work = ROOT / "bench" / "_work"
        work.mkdir(exist_ok=True)
        quick = args.quick
        steps = {
            "parse": (
                "parse_definitions.py",
                ["--counts", "100", "--repeat", "1"] if quick else ["--counts", "100", "1000", "5000", "--repeat", "3"],
            ),
            "render": (
                "render_sql.py",
                ["--rows", "100000", "--csv", "10000", "100000", "--xlsx", "10000", "--pdf", "10000"] if quick else [],
            ),
            "pickup": ("pickup_latency.py", ["--requests", "5" if quick else "50"]),
            "overhead": ("request_overhead.py", ["--runs", "3" if quick else "50"]),
        }
        # --only re-measures some figures and keeps the others from the existing results file.
        results = json.loads(args.out.read_text()) if args.only and args.out.exists() else {}
        results["machine"] = info
        for name in args.only or steps:
            script, script_args = steps[name]
            results[name] = _run(script, script_args, work / f"{name}.json")
    results["summary"] = [
        dict(zip(("figure", "measured", "target", "verdict"), row, strict=True)) for row in summary(results)
    ]
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    _print_summary(results, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
