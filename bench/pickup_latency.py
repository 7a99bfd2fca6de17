"""Benchmark: pickup latency, worktable INSERT -> report DAG run created, through the real intake code.

For each request store (the Snowflake stream on fakesnow with the stream stand-in of
tests/support/snowflake_streams.py, and the PostgreSQL pending-rows fallback on the local
server) the intake DAG (dags/request_intake.py) runs cycle after cycle with ``dag.test()``:
RequestIntakeSensor checks once, defers, and RequestStreamTrigger polls
``has_new_requests`` every --poll seconds (inline, as dag.test runs triggers), then
TakeInRequestsOperator (``take_in_new_requests``) and DispatchRequestsOperator (``check_request``
and ``start_run``, which creates the report's DAG run in the Airflow metadata database through
the task's execution API). Meanwhile another thread inserts --requests worktable rows, one at a
time, each after a random pause of 0..--poll seconds so it lands at a random point of the
poll cycle, and waits for its run before the next.

Latency = the moment ``start_run`` returned for the request (its DAG run row exists) minus the
moment its INSERT committed. Excluded: the scheduler loop (dag.test stands in for it: the gap
between intake runs here is dag.test's, not the scheduler's), the triggerer process hop, and
Snowflake's network round trips (fakesnow is in-process). Expected: about poll/2 of waiting
plus the intake's own processing.

fakesnow is one in-process database behind one shared DuckDB connection, so this benchmark
serialises store transactions with a lock on the Snowflake run (Snowflake's server isolates
sessions itself); the PostgreSQL run needs no lock.

Usage: python bench/pickup_latency.py [--requests 50] [--poll 1.0] [--stores snowflake postgres] [--json out.json]
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
_HOME = Path(tempfile.mkdtemp(prefix="bench-pickup-home-"))
for folder in (ROOT / "plugins", ROOT / "dags", ROOT / "tests"):
    sys.path.insert(0, str(folder))

from support.airflow_home import isolated_airflow_env  # noqa: E402

# Airflow reads its configuration once, on first import: the environment comes first.
os.environ.update(
    {
        **isolated_airflow_env(ROOT, _HOME),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        # An intake run with nothing to do ends after this long; the next one starts waiting again.
        "AIRFLOW__REPORTING__INTAKE_WAIT_TIMEOUT": "30",
    }
)

import psycopg2  # noqa: E402

PG: dict[str, Any] = {
    "host": os.environ.get("REPORTING_TEST_PG_HOST", "127.0.0.1"),
    "port": int(os.environ.get("REPORTING_TEST_PG_PORT", "5432")),
    "user": os.environ.get("REPORTING_TEST_PG_USER", "postgres"),
}
STORE_ENV = "AIRFLOW_CONN_REPORTING_REQUEST_STORE"
INSERT = (
    "INSERT INTO report_requests (request_id, report_id, parameters, distribution_overrides, priority, requested_by) "
    "SELECT :request_id, :report_id, JSON_IN(:parameters), JSON_IN(:distribution), :priority, :requested_by"
)


def _admin():
    conn = psycopg2.connect(dbname="postgres", **PG)
    conn.autocommit = True
    return conn


@contextmanager
def postgres_store():
    """A throwaway PostgreSQL database as the request store; yields its connection JSON."""
    name = f"reporting_bench_{uuid.uuid4().hex[:8]}"
    admin = _admin()
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield json.dumps(
            {"conn_type": "postgres", "host": PG["host"], "port": PG["port"], "login": PG["user"], "schema": name}
        )
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@contextmanager
def snowflake_store():
    """fakesnow with the stream stand-in, its store transactions serialised; yields its connection JSON."""
    from hooks.request_store import RequestStoreHook
    from support.snowflake_streams import FAKE_SNOWFLAKE_CONN, snowflake_with_streams

    lock = threading.RLock()
    original = RequestStoreHook._transaction

    @contextmanager
    def one_at_a_time(self):
        # One shared DuckDB connection: two threads' transactions would otherwise interleave.
        with lock, original(self) as tx:
            yield tx

    with mock.patch.object(RequestStoreHook, "_transaction", one_at_a_time), snowflake_with_streams():
        yield FAKE_SNOWFLAKE_CONN


def _load_intake_dag():
    spec = importlib.util.spec_from_file_location("request_intake_bench", ROOT / "dags" / "request_intake.py")
    if spec is None or spec.loader is None:
        raise ImportError("dags/request_intake.py cannot be imported as a module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dag


def measure(store_name: str, requests: int, poll: float) -> dict:
    """Run the intake continuously while requests are inserted one by one; return the latencies.

    :param store_name: ``snowflake`` or ``postgres``.
    :param requests: how many requests.
    :param poll: the trigger's poll interval in seconds.
    """
    from hooks.request_store import RequestStoreHook
    from operators.intake import DispatchRequestsOperator

    os.environ["AIRFLOW__REPORTING__INTAKE_POLL_INTERVAL"] = str(poll)
    dag = _load_intake_dag()
    started_runs: dict[str, float] = {}
    picked = threading.Event()
    original_start_run = DispatchRequestsOperator.start_run

    def start_run(self, dag_id, run_id, conf):
        original_start_run(self, dag_id, run_id, conf)
        # The run row exists once start_run returns: that is "DAG run created".
        started_runs[conf["request_id"]] = time.time()
        picked.set()

    store_cm = snowflake_store() if store_name == "snowflake" else postgres_store()
    inserted: dict[str, float] = {}
    errors: list[BaseException] = []
    done = threading.Event()
    prefix = f"lat-{store_name}-"
    try:
        with mock.patch.object(DispatchRequestsOperator, "start_run", start_run), store_cm as conn:
            os.environ[STORE_ENV] = conn
            store = RequestStoreHook()
            store.apply_schema()

            def insert_all():
                rng = random.Random(7)
                try:
                    # Request -1 warms up (first DAG serialisation, imports in the task runner); not counted.
                    for i in range(-1, requests):
                        time.sleep(rng.uniform(0, poll))
                        request_id = f"{prefix}warmup" if i < 0 else f"{prefix}{i:03d}"
                        picked.clear()
                        with store._transaction() as tx:
                            tx.execute_text(
                                INSERT,
                                {
                                    "request_id": request_id,
                                    "report_id": "sales_summary",
                                    "parameters": json.dumps({"region": "EMEA"}),
                                    "distribution": None,
                                    "priority": 5,
                                    "requested_by": "bench",
                                },
                            )
                        inserted[request_id] = time.time()
                        if not picked.wait(120):
                            raise TimeoutError(f"{request_id} was not picked up within 120 s")
                except BaseException as exc:  # reported by the main thread
                    errors.append(exc)
                finally:
                    done.set()

            inserter = threading.Thread(target=insert_all, daemon=True)
            moments = itertools.count()
            inserter.start()
            cycles = 0
            while not done.is_set():
                moment = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(seconds=next(moments))
                dag.test(run_after=moment, logical_date=moment)
                cycles += 1
            inserter.join()
    finally:
        os.environ.pop(STORE_ENV, None)
    if errors:
        raise errors[0]
    latencies = sorted(started_runs[r] - inserted[r] for r in inserted if not r.endswith("warmup"))
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "store": store_name,
        "requests": len(latencies),
        "poll_s": poll,
        "intake_runs": cycles,
        "p50_s": statistics.median(latencies),
        "p95_s": q[94],
        "max_s": latencies[-1],
        "min_s": latencies[0],
    }


def main(argv: list[str] | None = None) -> dict:
    """Measure each store, print the table; return the figures.

    :param argv: command-line arguments.
    """
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--poll", type=float, default=1.0, help="the trigger's poll interval, seconds")
    parser.add_argument("--stores", nargs="+", default=["snowflake", "postgres"], choices=["snowflake", "postgres"])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    from airflow.utils.db import resetdb

    resetdb(skip_init=False)
    results = []
    print(
        f"pickup latency: insert -> report DAG run created, {args.requests} requests, poll {args.poll:g} s "
        f"(scheduler loop excluded: dag.test drives the intake)"
    )
    print(f"{'store':<28} {'p50 s':>6} {'p95 s':>6} {'min s':>6} {'max s':>6} {'intake runs':>11}")
    labels = {"snowflake": "stream sensor (fakesnow)", "postgres": "pending rows (PostgreSQL)"}
    for name in args.stores:
        r = measure(name, args.requests, args.poll)
        results.append(r)
        print(
            f"{labels[name]:<28} {r['p50_s']:>6.2f} {r['p95_s']:>6.2f} {r['min_s']:>6.2f} {r['max_s']:>6.2f} "
            f"{r['intake_runs']:>11}",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return {"pickup": results}


if __name__ == "__main__":
    main()
