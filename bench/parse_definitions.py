"""Benchmark: parse cost of N report definitions, ours side by side with dag-factory and a static file.

Generates N variations of the sample definition (include/reports/sales_summary.yaml) and the
same N reports in two other shapes a user might pick instead, then measures each in fresh
subprocesses (imports are not shared between runs):
  * load:        YAML + pydantic validation of every definition (reporting.loader)
  * ours:        a full Airflow DagBag parse of dags/report_factory.py over the definitions
  * dag-factory: a DagBag parse of one loader file calling dagfactory.load_yaml_dags over N
                 YAML files with the same DAG settings and the same six tasks
  * static:      a DagBag parse of one hand-written Python file declaring the N DAGs (the floor)
  * one:         the parse when only one DAG is wanted (Airflow's parsing context, as at task start)
  * validate:    `make validate` (scripts/validate_definitions.py) over the 1,000 definitions alone and
                 with the 20 hostile ones of tests/dags/hostile_definitions.py beside them: it must list
                 exactly those 20, each with its own error, and take at most 1.2x the time of the 1,000

Each DAG has the same shape in all three: claim -> targets, generate -> distribute (mapped over
targets' output) -> notify -> finalize, with the same default_args, cron schedule, tags, params
and doc. Ours uses the package's operators; the other two use PythonOperator with a no-op
callable (bench/noop.py), which is what a hand-written DAG would call.

Usage: python bench/parse_definitions.py [--counts 100 1000 5000] [--repeat 3] [--json out.json]
       python bench/parse_definitions.py --validate-only [--repeat 3]   (only the validate case, 1,000 definitions)
Figures: wall-clock seconds (best of --repeat; counts above 1,000 run once) and peak RSS in MiB of the parsing process.
dag-factory must be importable (make bench puts it on PYTHONPATH from .bench-site/).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
# Run as bench/<name>.py: the repository root on the path for what the benchmarks share (bench/noop.py).
sys.path.insert(0, str(ROOT))
from bench.noop import SIX_TASKS  # noqa: E402

SAMPLE = ROOT / "include" / "reports" / "sales_summary.yaml"
VALIDATE = ROOT / "scripts" / "validate_definitions.py"
HOSTILE = ROOT / "tests" / "dags" / "hostile_definitions.py"
VALIDATE_COUNT = 1000
VALIDATE_TARGET = 1.2

_CHILD = r"""
import json, os, resource, sys, time
sys.path.insert(0, {plugins!r})
mode, target = sys.argv[1], sys.argv[2]
start = time.perf_counter()
if mode == "load":
    from reporting.loader import load_definitions
    result = load_definitions()
    count, errors = len(result.definitions), len(result.errors)
else:
    from airflow.dag_processing.dagbag import DagBag
    bag = DagBag(dag_folder=target)
    count, errors = len(bag.dags), len(bag.import_errors)
    if errors:
        print(json.dumps(bag.import_errors)[:2000], file=sys.stderr)
elapsed = time.perf_counter() - start
print(json.dumps({{"seconds": elapsed, "count": count, "errors": errors,
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

# The DAG-level settings every variant shares, taken from the sample definition.
_DOC = "# Benchmark report {i}\n\nEvery sale line since **start_date**."
_DEFAULT_ARGS = {
    "owner": "bi-team",
    "retries": 2,
    "retry_delay_sec": 1,
    "retry_exponential_backoff": 2.0,
    "max_retry_delay_sec": 60,
    "execution_timeout_sec": 1800,
}


def write_definitions(folder: Path, count: int) -> None:
    """Write ``count`` valid definitions derived from the sample report.

    :param folder: where to write them.
    :param count: how many.
    """
    base = yaml.safe_load(SAMPLE.read_text())
    for i in range(count):
        data = dict(base, id=f"bench_report_{i:05d}", title=f"Benchmark report {i}", priority=1 + i % 10)
        data["schedule"] = dict(base["schedule"], cron=f"{i % 60} {i % 24} * * *")
        (folder / f"bench_report_{i:05d}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


def write_dag_factory(folder: Path, count: int) -> Path:
    """Write the same reports as dag-factory YAML (one file each) and the loader file; return the loader.

    :param folder: where to write them.
    :param count: how many.
    """
    configs = folder / "configs"
    configs.mkdir()
    for i in range(count):
        noop = "bench.noop.noop"
        dag = {
            "default_args": {
                "owner": "bi-team",
                "retries": 2,
                "retry_delay_sec": 1,
                "retry_exponential_backoff": True,
                "execution_timeout_secs": 1800,
                "priority_weight": 1 + i % 10,
                "start_date": "2026-01-01",
            },
            "description": f"Benchmark report {i}",
            "doc_md": _DOC.format(i=i),
            "schedule": f"{i % 60} {i % 24} * * *",
            "catchup": False,
            "tags": ["engine:sql", "report", "sales", "sample"],
            "render_template_as_native_obj": True,
            "params": {"region": "ALL", "start_date": "2026-01-01"},
            "tasks": [
                {
                    "task_id": "claim",
                    "operator": "airflow.providers.standard.operators.python.PythonOperator",
                    "python_callable": noop,
                },
                {
                    "task_id": "targets",
                    "operator": "airflow.providers.standard.operators.python.PythonOperator",
                    "python_callable": noop,
                    "dependencies": ["claim"],
                },
                {
                    "task_id": "generate",
                    "operator": "airflow.providers.standard.operators.python.PythonOperator",
                    "python_callable": noop,
                    "dependencies": ["claim"],
                },
                {
                    "task_id": "distribute",
                    "operator": "airflow.providers.standard.operators.python.PythonOperator",
                    "python_callable": noop,
                    "expand": {"op_args": "targets.output"},
                    "dependencies": ["generate", "targets"],
                },
                {
                    "task_id": "notify",
                    "operator": "airflow.providers.standard.operators.python.PythonOperator",
                    "python_callable": noop,
                    "dependencies": ["distribute"],
                },
                {
                    "task_id": "finalize",
                    "operator": "airflow.providers.standard.operators.python.PythonOperator",
                    "python_callable": noop,
                    "dependencies": ["notify"],
                },
            ],
        }
        (configs / f"report__bench_report_{i:05d}.yaml").write_text(
            yaml.safe_dump({f"report__bench_report_{i:05d}": dag}, sort_keys=False)
        )
    loader = folder / "dag_factory_reports.py"
    loader.write_text(
        "# airflow DAG file (the words 'airflow' and 'dag' let the safe-mode scan pick it up)\n"
        "from dagfactory import load_yaml_dags\n\n"
        f"load_yaml_dags(globals_dict=globals(), dags_folder={str(configs)!r})\n"
    )
    return loader


def write_static(folder: Path, count: int) -> Path:
    """Write one hand-written-style Python file declaring the same ``count`` DAGs; return its path.

    :param folder: where to write it.
    :param count: how many DAGs.
    """
    head = '''"""Hand-written reports: the floor of the parse benchmark."""
from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param
from airflow.sdk.definitions.timetables.trigger import CronTriggerTimetable
from airflow.providers.standard.operators.python import PythonOperator

from bench.noop import noop

'''
    block = """
with DAG(
    dag_id="report__bench_report_{i:05d}",
    description="Benchmark report {i}",
    doc_md={doc!r},
    schedule=CronTriggerTimetable("{m} {h} * * *", timezone="Europe/London"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Europe/London"),
    catchup=False,
    tags=["engine:sql", "report", "sales", "sample"],
    params={{
        "region": Param("ALL", type="string", enum=["ALL", "EMEA", "AMER", "APAC"], description="Sales region, or ALL"),
        "start_date": Param("2026-01-01", type="string", format="date", description="First sale date included"),
    }},
    default_args={{
        "owner": "bi-team", "retries": 2, "retry_delay": timedelta(seconds=1),
        "retry_exponential_backoff": 2.0, "max_retry_delay": timedelta(seconds=60),
        "execution_timeout": timedelta(minutes=30), "priority_weight": {p},
    }},
    render_template_as_native_obj=True,
) as dag_{i}:
{tasks}"""
    body = "".join(
        block.format(i=i, doc=_DOC.format(i=i), m=i % 60, h=i % 24, p=1 + i % 10, tasks=SIX_TASKS) for i in range(count)
    )
    path = folder / "static_reports.py"
    path.write_text(head + body)
    return path


def measure(mode: str, target: Path, env: dict[str, str], repeat: int, expected: int) -> dict[str, float]:
    """Run one measurement in fresh interpreters and keep the fastest.

    :param mode: ``load`` or ``dagbag``.
    :param target: the DAG file to parse (ignored for ``load``).
    :param env: the environment of the child process.
    :param repeat: how many runs.
    :param expected: how many DAGs (or definitions) the run must produce.
    """
    code = _CHILD.format(plugins=str(ROOT / "plugins"))
    runs = []
    for _ in range(repeat):
        proc = subprocess.run([sys.executable, "-c", code, mode, str(target)], env=env, capture_output=True, text=True)
        if proc.returncode:
            raise SystemExit(f"{mode} {target.name}: failed\n{proc.stderr[-3000:]}")
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    best = min(runs, key=lambda r: r["seconds"])
    if best["errors"] or best["count"] != expected:
        raise SystemExit(
            f"{mode} {target.name}: {best['count']} DAGs (wanted {expected}), {best['errors']} errors\n"
            f"{proc.stderr[-3000:]}"
        )
    return best


def _hostile() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hostile_definitions", HOSTILE)
    if spec is None or spec.loader is None:
        raise SystemExit(f"{HOSTILE} cannot be imported")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _validate_once(folder: Path, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(VALIDATE), "--reports", str(folder), "--sql", str(ROOT / "include" / "sql")],
        env=env,
        capture_output=True,
        text=True,
    )
    return time.perf_counter() - started, proc


def measure_validate(folder: Path, count: int, env: dict[str, str], repeat: int) -> dict[str, Any]:
    """``make validate`` over ``count`` good definitions, then over them and the 20 hostile ones.

    Each run is the command itself in a fresh interpreter (imports included, as a user waits for
    it); the best of ``repeat`` runs of each is kept.

    :param folder: where to write the two definition folders.
    :param count: how many good definitions.
    :param env: the environment of the command.
    :param repeat: how many runs of each.
    """
    good, mixed = folder / f"validate_good_{count}", folder / f"validate_mixed_{count}"
    good.mkdir()
    mixed.mkdir()
    write_definitions(good, count)
    write_definitions(mixed, count)
    expected = _hostile().write_hostile(mixed)
    good_runs, mixed_runs = [], []
    for _ in range(repeat):
        seconds, proc = _validate_once(good, env)
        if proc.returncode != 0:
            raise SystemExit(f"validate over {count} good definitions failed:\n{proc.stderr[-3000:]}")
        good_runs.append(seconds)
        seconds, proc = _validate_once(mixed, env)
        mixed_runs.append(seconds)
        listed = _listed(proc.stderr)
        if proc.returncode != 1 or set(listed) != set(expected):
            raise SystemExit(
                f"validate over {count} + {len(expected)} hostile definitions listed {sorted(listed)}"
                f" (wanted {sorted(expected)}), exit {proc.returncode}\n{proc.stderr[-3000:]}"
            )
        missing = [name for name, fragment in expected.items() if fragment not in listed[name]]
        if missing or f"{len(expected)} invalid definition file(s), {count} valid" not in proc.stderr:
            raise SystemExit(f"validate did not give these files their own error: {missing}\n{proc.stderr[-3000:]}")
    best_good, best_mixed = min(good_runs), min(mixed_runs)
    return {
        "definitions": count,
        "hostile": len(expected),
        "listed": len(expected),
        "good_seconds": best_good,
        "mixed_seconds": best_mixed,
        "ratio": best_mixed / best_good,
        "target": VALIDATE_TARGET,
    }


def _listed(stderr: str) -> dict[str, str]:
    """The files named in ``make validate``'s error lines, each with its lines joined."""
    listed: dict[str, list[str]] = {}
    for line in stderr.splitlines():
        path, sep, rest = line.partition(": ")
        if sep and path.endswith((".yaml", ".yml")):
            listed.setdefault(Path(path).name, []).append(rest)
    return {name: "\n".join(lines) for name, lines in listed.items()}


def _print_validate(figures: dict[str, Any]) -> None:
    ratio = figures["ratio"]
    print(
        f"make validate: {figures['definitions']:,} good {figures['good_seconds']:.2f} s"
        f" | + {figures['hostile']} hostile {figures['mixed_seconds']:.2f} s"
        f" (listed exactly those {figures['listed']}) | ratio {ratio:.2f}x"
        f" (target <= {VALIDATE_TARGET}x: {'met' if ratio <= VALIDATE_TARGET else 'missed'})",
        flush=True,
    )


def main(argv: list[str] | None = None) -> dict:
    """Generate the definitions in each shape, measure, print the table; return the figures.

    :param argv: command-line arguments.
    """
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--validate-only", action="store_true", help="only the make validate case (1,000 + 20)")
    args = parser.parse_args(argv)
    if args.validate_only:
        with tempfile.TemporaryDirectory(prefix="bench-validate-") as tmp:
            figures = measure_validate(Path(tmp), VALIDATE_COUNT, dict(os.environ), args.repeat)
        _print_validate(figures)
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2))
        return {"validate": figures}
    print(
        f"parse cost: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"best of {args.repeat}, seconds / peak RSS MiB"
    )
    print(
        f"{'defs':>6} {'load s':>7} | {'ours s':>7} {'MiB':>5} | {'dag-fac s':>9} {'MiB':>5} | "
        f"{'static s':>8} {'MiB':>5} | {'ours/static':>11} {'ours/d-f':>8} | "
        f"{'one ours':>8} {'one d-f':>7} {'one static':>10}"
    )
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-defs-") as tmp:
        home = Path(tmp) / "airflow"
        home.mkdir()
        for count in args.counts:
            folder = Path(tmp) / f"defs_{count}"
            folder.mkdir()
            write_definitions(folder, count)
            dag_factory = write_dag_factory(folder, count)
            static = write_static(folder, count)
            env = dict(
                os.environ,
                AIRFLOW_HOME=str(home),
                AIRFLOW__CORE__LOAD_EXAMPLES="False",
                AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"),
                AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
                # Airflow gives up on a DAG file after 30 s by default; here we want the time, however long.
                AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT="900",
                # dag-factory would otherwise call home on every parse.
                AIRFLOW__DAG_FACTORY__ENABLE_TELEMETRY="False",
                DO_NOT_TRACK="1",
                PYTHONPATH=os.pathsep.join(
                    p for p in (str(ROOT / "plugins"), str(ROOT), os.environ.get("PYTHONPATH", "")) if p
                ),
                REPORTING_DEFINITIONS_DIR=str(folder),
            )
            # Above 1,000 definitions one run takes tens of seconds and noise is small: run once.
            repeat = args.repeat if count <= 1000 else 1
            one_env = dict(env, _AIRFLOW_PARSING_CONTEXT_DAG_ID="report__bench_report_00007")
            ours_file = ROOT / "dags" / "report_factory.py"
            row = {
                "definitions": count,
                "repeat": repeat,
                "load": measure("load", ours_file, env, repeat, count),
                "ours": measure("dagbag", ours_file, env, repeat, count),
                "dag_factory": measure("dagbag", dag_factory, env, repeat, count),
                "static": measure("dagbag", static, env, repeat, count),
                "one_ours": measure("dagbag", ours_file, one_env, repeat, 1),
                # Neither alternative looks at the parsing context: a task start parses every DAG.
                "one_dag_factory": measure("dagbag", dag_factory, one_env, 1, count),
                "one_static": measure("dagbag", static, one_env, 1, count),
            }
            if count == VALIDATE_COUNT:
                row["validate"] = measure_validate(Path(tmp), count, env, repeat)
            row["ours_vs_static"] = row["ours"]["seconds"] / row["static"]["seconds"]
            row["ours_vs_dag_factory"] = row["ours"]["seconds"] / row["dag_factory"]["seconds"]
            results.append(row)
            print(
                f"{count:>6} {row['load']['seconds']:>7.2f} | "
                f"{row['ours']['seconds']:>7.2f} {row['ours']['rss_mib']:>5.0f} | "
                f"{row['dag_factory']['seconds']:>9.2f} {row['dag_factory']['rss_mib']:>5.0f} | "
                f"{row['static']['seconds']:>8.2f} {row['static']['rss_mib']:>5.0f} | "
                f"{row['ours_vs_static']:>10.2f}x {row['ours_vs_dag_factory']:>7.2f}x | "
                f"{row['one_ours']['seconds']:>8.2f} {row['one_dag_factory']['seconds']:>7.2f} "
                f"{row['one_static']['seconds']:>10.2f}",
                flush=True,
            )
            if "validate" in row:
                _print_validate(row["validate"])
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return {"parse": results}


if __name__ == "__main__":
    main()
