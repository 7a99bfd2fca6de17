"""Benchmark: per-request overhead through a live scheduler, our report DAG against a bare DAG.

Starts a real Airflow (api-server, scheduler with LocalExecutor, dag-processor) on a throwaway
PostgreSQL metadata database, with a DAGs folder holding only dags/report_factory.py (the sample
report, unscheduled) and a bare DAG of the same six tasks (PythonOperator no-ops, distribute
mapped over one target). Then triggers --runs runs at once and waits until all have finished:
bare, ours, bare again (the bare figure is the mean of the two). Per-request wall time =
(last run's end - first run queued) / runs.

The report runs do the real work of the sample report: claim in the request store (PostgreSQL),
SQL on the embedded SQLite sample database, PDF + XLSX + CSV, staging on local files, delivery to
a local folder, completion. The ratio ours / bare is the package's overhead per request on top
of what any six-task Airflow DAG costs on this machine.

Usage: python bench/request_overhead.py [--runs 50] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import psycopg2
import yaml

ROOT = Path(__file__).resolve().parents[1]
# Run as bench/<name>.py: the repository root on the path for what the benchmarks share (bench/noop.py).
sys.path.insert(0, str(ROOT))
from bench.noop import SIX_TASKS  # noqa: E402

PG: dict[str, Any] = {
    "host": os.environ.get("REPORTING_TEST_PG_HOST", "127.0.0.1"),
    "port": int(os.environ.get("REPORTING_TEST_PG_PORT", "5432")),
    "user": os.environ.get("REPORTING_TEST_PG_USER", "postgres"),
}
BIN = Path(sys.executable).parent
OURS, BARE = "report__sales_summary", "bench_bare_six_tasks"

BARE_DAG = f'''"""The bare DAG of the overhead benchmark: six no-op tasks in the report DAG's shape."""
from datetime import datetime, timezone

from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator

from bench.noop import noop

with DAG(dag_id="bench_bare_six_tasks", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
         catchup=False, max_active_runs=16):
{SIX_TASKS}'''


@contextmanager
def pg_database(prefix: str):
    """A throwaway database on the local PostgreSQL server; yields its name.

    :param prefix: the start of its name.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(dbname="postgres", **PG)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _meta(dbname: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg2.connect(dbname=dbname, **PG) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _wait(what: str, check, timeout: float, logs: Path) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return
        time.sleep(1)
    tails = "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}" for p in sorted(logs.glob("*.log")))
    raise SystemExit(f"timed out waiting for {what}\n{tails}")


def trigger_and_wait(env: dict, meta: str, dag_id: str, runs: int, prefix: str, logs: Path) -> dict:
    """Trigger ``runs`` runs of a DAG at once and wait until all have finished; return the timings.

    :param env: the Airflow environment.
    :param meta: the metadata database's name.
    :param dag_id: the DAG.
    :param runs: how many runs.
    :param prefix: run id prefix.
    :param logs: where the daemons' logs are (shown on a timeout).
    """
    code = (
        "from airflow.api.common.trigger_dag import trigger_dag\n"
        "from airflow.utils.types import DagRunTriggeredByType\n"
        f"for i in range({runs}):\n"
        f"    trigger_dag({dag_id!r}, run_id=f'{prefix}{{i:03d}}', conf={{}}, triggered_by=DagRunTriggeredByType.CLI)\n"
    )
    proc = subprocess.run([str(BIN / "python"), "-c", code], env=env, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"triggering {dag_id} failed:\n{proc.stderr[-3000:]}")
    like = prefix + "%"

    def finished() -> bool:
        [(n,)] = _meta(
            meta,
            "SELECT count(*) FROM dag_run WHERE dag_id = %s AND run_id LIKE %s AND state IN ('success', 'failed')",
            (dag_id, like),
        )
        return n >= runs

    _wait(f"{runs} runs of {dag_id}", finished, 1800, logs)
    # From the first run queued to the last run finished: the trigger script's own start-up is not counted.
    [(ok, wall, mean)] = _meta(
        meta,
        "SELECT count(*) FILTER (WHERE state = 'success'), extract(epoch FROM max(end_date) - min(queued_at)), "
        "avg(extract(epoch FROM end_date - start_date)) FROM dag_run WHERE dag_id = %s AND run_id LIKE %s",
        (dag_id, like),
    )
    if ok != runs:
        raise SystemExit(f"{dag_id}: only {ok} of {runs} runs succeeded; logs in {logs}")
    wall = float(wall)
    return {"dag_id": dag_id, "runs": runs, "wall_s": wall, "per_request_s": wall / runs, "mean_run_s": float(mean)}


def main(argv: list[str] | None = None) -> dict:
    """Start Airflow, run both DAGs, print the figures; return them.

    :param argv: command-line arguments.
    """
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-overhead-")))
        meta = stack.enter_context(pg_database("reporting_bench_meta"))
        store = stack.enter_context(pg_database("reporting_bench_store"))
        dags, defs, logs = tmp / "dags", tmp / "defs", tmp / "logs"
        for folder in (dags, defs, logs):
            folder.mkdir()
        shutil.copy(ROOT / "dags" / "report_factory.py", dags / "report_factory.py")
        (dags / "bench_bare.py").write_text(BARE_DAG)
        sample = yaml.safe_load((ROOT / "include" / "reports" / "sales_summary.yaml").read_text())
        sample.pop("schedule")  # triggered runs only: no scheduled run may join the measured ones
        (defs / "sales_summary.yaml").write_text(yaml.safe_dump(sample, sort_keys=False))
        subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "create_sample_db.py"), str(tmp / "sample.db")],
            check=True,
            capture_output=True,
        )
        port = _free_port()
        pg_url = f"postgresql+psycopg2://{PG['user']}@{PG['host']}:{PG['port']}/{meta}"
        env = dict(
            os.environ,
            AIRFLOW_HOME=str(tmp / "home"),
            AIRFLOW__CORE__DAGS_FOLDER=str(dags),
            AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__CORE__EXECUTOR="LocalExecutor",
            AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
            AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{port}/execution/",
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=pg_url,
            AIRFLOW__API__PORT=str(port),
            AIRFLOW__API__HOST="127.0.0.1",
            AIRFLOW__API__SECRET_KEY=uuid.uuid4().hex,
            AIRFLOW__API_AUTH__JWT_SECRET=uuid.uuid4().hex,
            AIRFLOW__REPORTING__STAGING_ROOT=(tmp / "staging").as_uri(),
            AIRFLOW_CONN_REPORTING_REQUEST_STORE=json.dumps(
                {"conn_type": "postgres", "host": PG["host"], "port": PG["port"], "login": PG["user"], "schema": store}
            ),
            AIRFLOW_CONN_REPORTING_SAMPLE_DB=json.dumps({"conn_type": "sqlite", "host": str(tmp / "sample.db")}),
            REPORTING_DEFINITIONS_DIR=str(defs),
            REPORTING_OUTPUT_DIR=str(tmp / "output"),
            PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
        )
        subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env, check=True, capture_output=True)
        subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "request_store.py"), "schema", "--conn", "reporting_request_store"],
            env=env,
            check=True,
            capture_output=True,
        )
        daemons = []
        for name in ("api-server", "scheduler", "dag-processor"):
            log = (logs / f"{name}.log").open("w")
            daemons.append(
                subprocess.Popen(
                    [str(BIN / "airflow"), name], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            )

        def stop() -> None:
            for proc in daemons:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGTERM)
            for proc in daemons:
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)

        stack.callback(stop)
        _wait(
            "both DAGs serialised",
            lambda: len(_meta(meta, "SELECT dag_id FROM serialized_dag WHERE dag_id IN (%s, %s)", (OURS, BARE))) == 2,
            300,
            logs,
        )
        # Warm-up: the first runs pay for imports and connections once; not counted.
        trigger_and_wait(env, meta, BARE, 2, "warmup__", logs)
        trigger_and_wait(env, meta, OURS, 2, "warmup__", logs)
        print(
            f"per-request overhead: {args.runs} runs at once per DAG, LocalExecutor, "
            f"PostgreSQL metadata, {os.cpu_count()} CPUs"
        )
        # Bare before and after ours: on a shared machine, load that comes and goes hits both sides.
        bare_before = trigger_and_wait(env, meta, BARE, args.runs, "bench__", logs)
        ours = trigger_and_wait(env, meta, OURS, args.runs, "bench__", logs)
        bare_after = trigger_and_wait(env, meta, BARE, args.runs, "bench2__", logs)
    bare = {k: (bare_before[k] + bare_after[k]) / 2 for k in ("wall_s", "per_request_s", "mean_run_s")}
    bare.update(dag_id=BARE, runs=args.runs, before=bare_before, after=bare_after)
    result = {"bare": bare, "ours": ours, "ratio": ours["per_request_s"] / bare["per_request_s"]}
    print(f"{'DAG':<24} {'wall s':>7} {'s/request':>9} {'mean run s':>10}")
    for label, r in (
        ("bare (before)", bare_before),
        ("report__sales_summary", ours),
        ("bare (after)", bare_after),
        ("bare (mean)", bare),
    ):
        print(f"{label:<24} {r['wall_s']:>7.1f} {r['per_request_s']:>9.2f} {r['mean_run_s']:>10.1f}")
    print(f"ours / bare: {result['ratio']:.2f}x")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return {"overhead": result}


if __name__ == "__main__":
    main()
