"""The intake: new rows in the request worktable become report DAG runs, without a human.

wait_for_requests (deferrable: the triggerer polls the Snowflake stream, or pending rows on
SQLite/PostgreSQL) -> take_in (one transaction) -> dispatch (check each request, start
``report__<id>`` runs highest priority first). The DAG runs continuously, one run at a time.
Wiring only: nothing here touches a database or the network while the file is parsed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import DAG, conf

from operators.intake import DispatchRequestsOperator, TakeInRequestsOperator
from report_runtime.retry import platform_default_args
from sensors.request_intake import RequestIntakeSensor

INTAKE_DAG_ID = "reporting_request_intake"

with DAG(
    dag_id=INTAKE_DAG_ID,
    description="Start a report run for every new request in the worktable",
    doc_md=__doc__,
    schedule="@continuous",
    max_active_runs=1,
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    # The intake must run without anyone switching it on.
    is_paused_upon_creation=False,
    tags=["reporting", "intake"],
    default_args=platform_default_args(retries=3, retry_delay=timedelta(seconds=10)),
) as dag:
    wait = RequestIntakeSensor(
        task_id="wait_for_requests",
        request_store_conn_id=conf.get("reporting", "request_store_conn_id", fallback="reporting_request_store"),
        poll_interval=conf.getfloat("reporting", "intake_poll_interval", fallback=30.0),
        timeout=timedelta(seconds=conf.getfloat("reporting", "intake_wait_timeout", fallback=3600.0)),
        # the wait itself is bounded by `timeout`; the task's own time limit must not cut it short
        execution_timeout=None,
    )
    take_in = TakeInRequestsOperator(task_id="take_in")
    dispatch = DispatchRequestsOperator(task_id="dispatch")
    wait >> take_in >> dispatch
