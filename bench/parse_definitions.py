"""Benchmark: how long it takes to read N report definitions and to build their DAGs.

Generates N variations of the sample definition in a temporary folder, then measures, in
fresh subprocesses so imports are not shared:
  * load:   YAML + pydantic validation of every file (reporting.loader.load_definitions)
  * dagbag: a full Airflow DagBag parse of dags/report_factory.py over those files
  * one:    the same parse when only one DAG is wanted (Airflow's parsing context, as at task start)

Usage: python bench/parse_definitions.py [--counts 100 1000] [--repeat 3]
Prints a table; figures are wall-clock seconds, best of --repeat, and peak RSS in MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, os, resource, sys, time
sys.path.insert(0, {plugins!r})
mode = sys.argv[1]
start = time.perf_counter()
if mode == "load":
    from reporting.loader import load_definitions
    result = load_definitions()
    count, errors = len(result.definitions), len(result.errors)
else:
    from airflow.dag_processing.dagbag import DagBag
    bag = DagBag(dag_folder={factory!r})
    count, errors = len(bag.dags), len(bag.import_errors)
elapsed = time.perf_counter() - start
print(json.dumps({{"seconds": elapsed, "count": count, "errors": errors,
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def write_definitions(folder: Path, count: int) -> None:
    """Write ``count`` valid definitions derived from the sample report.

    :param folder: where to write them.
    :param count: how many.
    """
    base = yaml.safe_load((ROOT / "include" / "reports" / "sales_summary.yaml").read_text())
    for i in range(count):
        data = dict(base, id=f"bench_report_{i:05d}", title=f"Benchmark report {i}", priority=1 + i % 10)
        data["schedule"] = dict(base["schedule"], cron=f"{i % 60} {i % 24} * * *")
        (folder / f"bench_report_{i:05d}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


def measure(mode: str, env: dict[str, str], repeat: int) -> dict[str, float]:
    """Run one measurement in fresh interpreters and keep the fastest.

    :param mode: ``load`` or ``dagbag``.
    :param env: the environment of the child process.
    :param repeat: how many runs.
    """
    code = _CHILD.format(plugins=str(ROOT / "plugins"), factory=str(ROOT / "dags" / "report_factory.py"))
    runs = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c", code, mode], env=env, capture_output=True, text=True, check=True
        ).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    best = min(runs, key=lambda r: r["seconds"])
    if best["errors"]:
        raise SystemExit(f"{mode}: {best['errors']} errors while parsing")
    return best


def main() -> None:
    """Generate the definitions, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{'definitions':>12} {'load s':>8} {'ms/def':>7} {'dagbag s':>9} {'ms/dag':>7} {'one-dag s':>10} {'RSS MiB':>8}")
    with tempfile.TemporaryDirectory(prefix="bench-defs-") as tmp:
        home = Path(tmp) / "airflow"
        home.mkdir()
        for count in args.counts:
            folder = Path(tmp) / f"defs_{count}"
            folder.mkdir()
            write_definitions(folder, count)
            env = dict(
                os.environ,
                AIRFLOW_HOME=str(home),
                AIRFLOW__CORE__LOAD_EXAMPLES="False",
                AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"),
                AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
                PYTHONPATH=str(ROOT / "plugins"),
                REPORTING_DEFINITIONS_DIR=str(folder),
            )
            load = measure("load", env, args.repeat)
            dagbag = measure("dagbag", env, args.repeat)
            one = measure("dagbag", dict(env, _AIRFLOW_PARSING_CONTEXT_DAG_ID="report__bench_report_00007"), args.repeat)
            assert load["count"] == dagbag["count"] == count and one["count"] == 1
            print(
                f"{count:>12} {load['seconds']:>8.3f} {1000 * load['seconds'] / count:>7.2f}"
                f" {dagbag['seconds']:>9.3f} {1000 * dagbag['seconds'] / count:>7.2f}"
                f" {one['seconds']:>10.3f} {dagbag['rss_mib']:>8.0f}"
            )


if __name__ == "__main__":
    main()
