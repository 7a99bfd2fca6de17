"""Re-send held requests, and fail requests no run is working on.

``reports_retry``: start it from the UI, the REST API or its schedule once sending is on again
(Variable ``REPORTING_SEND_REPORTS``). While sending is paused it does nothing and says so.
``reporting_housekeeping``: every few minutes, a request in flight with no move for longer
than the working timeout (``[reporting] working_timeout_minutes``) is moved to FAILED.
Wiring only: nothing here touches a database or the network while the file is parsed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import DAG, conf

from operators.resend import FailStuckRequestsOperator, ResendHeldRequestsOperator
from report_runtime.retry import platform_default_args

_COMMON = platform_default_args(retries=2, retry_delay=timedelta(seconds=30))
_START = datetime(2026, 1, 1, tzinfo=UTC)

with DAG(
    dag_id="reports_retry",
    description="Re-send held report requests once sending is on again",
    doc_md=__doc__,
    schedule=conf.get("reporting", "retry_schedule", fallback=None) or None,
    start_date=_START,
    catchup=False,
    max_active_runs=1,
    tags=["reporting", "retry"],
    default_args=_COMMON,
) as retry_dag:
    ResendHeldRequestsOperator(task_id="resend_held")

with DAG(
    dag_id="reporting_housekeeping",
    description="Fail report requests that no run is working on any more",
    doc_md=__doc__,
    schedule=timedelta(minutes=10),
    start_date=_START,
    catchup=False,
    max_active_runs=1,
    is_paused_upon_creation=False,
    tags=["reporting", "housekeeping"],
    default_args=_COMMON,
) as housekeeping_dag:
    FailStuckRequestsOperator(
        task_id="fail_stuck_requests",
        working_timeout=timedelta(minutes=conf.getfloat("reporting", "working_timeout_minutes", fallback=360.0)),
    )
