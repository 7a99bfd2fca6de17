"""Re-sending held requests and failing requests nobody is working on."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowSkipException

from operators.intake import DagRunAlreadyExists, trigger_dag_run
from report_runtime.request_context import actor, request_store
from report_runtime.sending_gate import SEND_REPORTS_VARIABLE, sending_enabled
from reporting.constants import DAG_PREFIX, RETRY_RUN_PREFIX, Component, EventType
from reporting.errors import ErrorInfo
from reporting.lifecycle import Status

_RETRY_NAMESPACE = uuid.UUID("5d2c7a61-0b7e-4f0e-9d53-8f3c1a2b4e77")


def duplicate_key(row: dict[str, Any]) -> tuple[str, str]:
    """What makes two held requests the same report: the report and its parameters.

    :param row: a held request row.
    """
    return row["report_id"], json.dumps(row["parameters"] or {}, sort_keys=True, default=str)


class ResendHeldRequestsOperator(BaseOperator):
    """Start one report run per held request, dropping duplicates; do nothing while sending is paused.

    Of each (report, parameters) pair the oldest held request is kept and the others become
    DUPLICATE. Each kept request starts ``report__<id>`` with a run id ``retry__...`` derived from
    the request and this retry run (its claim records RETRY from it), so a retried task starts
    nothing twice. The report run writes the request's RETRIED audit row when it completes.
    """

    ui_color = "#fce4ec"

    def execute(self, context: Context) -> dict[str, list[str]]:
        if not sending_enabled():
            raise AirflowSkipException(
                f"sending is paused (Variable {SEND_REPORTS_VARIABLE}=false): nothing is re-sent; "
                f"set it to true, then run this DAG again"
            )
        store = request_store()
        me = actor(context, Component.ORCHESTRATOR)
        session = context["dag_run"].run_id
        kept: dict[tuple[str, str], str] = {}
        outcome: dict[str, list[str]] = {"resent": [], "duplicate": []}
        for row in store.held_requests():
            request_id = row["request_id"]
            key = duplicate_key(row)
            if key in kept:
                if store.move(
                    request_id,
                    Status.HELD,
                    Status.DUPLICATE,
                    me,
                    details={"duplicate_of": kept[key], "retry_session": session},
                ):
                    outcome["duplicate"].append(request_id)
                continue
            kept[key] = request_id
            # The run id's prefix is what makes the report run's claim record RETRY (never the conf).
            run_id = f"{RETRY_RUN_PREFIX}{uuid.uuid5(_RETRY_NAMESPACE, f'{request_id}/{session}')}"
            conf = {
                "request_id": request_id,
                "parameters": row["parameters"] or {},
                "distribution": row["distribution_overrides"],
                "priority": row["priority"],
                "requested_by": row["requested_by"],
            }
            try:
                trigger_dag_run(f"{DAG_PREFIX}{row['report_id']}", run_id, conf)
            except DagRunAlreadyExists:
                self.log.info("request %s: retry run %s already exists", request_id, run_id)
            store.record_event(request_id, EventType.RETRY, me, {"retry_run_id": run_id, "retry_session": session})
            outcome["resent"].append(request_id)
        self.log.info("re-sent %d held request(s), %d duplicate(s)", len(outcome["resent"]), len(outcome["duplicate"]))
        return outcome


class FailStuckRequestsOperator(BaseOperator):
    """Move requests that made no progress for ``working_timeout`` to FAILED, saying why.

    A run that died without its callbacks (a killed worker, a lost scheduler) would otherwise
    leave its request IN_PROGRESS forever.

    :param working_timeout: how long a request may go without a move while in flight.
    """

    ui_color = "#fce4ec"

    def __init__(self, *, working_timeout: timedelta, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.working_timeout = working_timeout

    def execute(self, context: Context) -> list[str]:
        store = request_store()
        me = actor(context, Component.ORCHESTRATOR)
        before = datetime.now(UTC) - self.working_timeout
        failed = []
        for row in store.stuck_requests(before):
            reason = (
                f"no progress since {row['updated_at']} (over {self.working_timeout}) while {row['status']} "
                f"in run {row['dag_run_id']}: the run died without its callbacks"
            )
            store.record_error(row["request_id"], ErrorInfo("STUCK", "WorkingTimeout", reason, True), me)
            if store.move(
                row["request_id"],
                row["status"],
                Status.FAILED,
                me,
                details={"housekeeping": "working timeout"},
                last_error=f"housekeeping: {reason}",
            ):
                failed.append(row["request_id"])
        self.log.info("housekeeping: %d stuck request(s) failed", len(failed))
        return failed
