"""Intake: take new worktable requests in, check each, and start one report run per valid request."""

from __future__ import annotations

import re
import uuid
from typing import Any

from airflow.sdk import BaseOperator, Context

from hooks.sql_dialect import UnreadableJson
from report_runtime.request_context import actor, jsonable, request_store
from report_runtime.schedules import check_schedule
from reporting.constants import ADHOC_RUN_PREFIX, Component
from reporting.errors import MAX_MESSAGE, ErrorInfo
from reporting.lifecycle import Status
from reporting.limits import cap_problems, quote
from reporting.loader import load_definitions
from reporting.masking import mask_secrets
from reporting.request_check import RequestRejected, check_request

_SAFE_RUN_ID = re.compile(r"^[A-Za-z0-9_.~:+\-]{1,200}$")
_RUN_NAMESPACE = uuid.UUID("0b5c8d5e-3f7a-4c55-b0a9-2f9d1f6a7c11")


def run_id_for_request(request_id: str) -> str:
    """The run id of a request's report run: derived from the request id, so starting it twice is a no-op.

    :param request_id: the request's id (any text a worktable allows).
    """
    if _SAFE_RUN_ID.match(request_id):
        return f"{ADHOC_RUN_PREFIX}{request_id}"
    # Ids Airflow would refuse in a run id get a stable stand-in instead.
    return f"{ADHOC_RUN_PREFIX}{uuid.uuid5(_RUN_NAMESPACE, request_id)}"


class DagRunAlreadyExists(Exception):
    """A run with this id exists already: the request was started before."""


def trigger_dag_run(dag_id: str, run_id: str, conf: dict[str, Any]) -> None:
    """Create a DAG run through the task's supervisor, as ``TriggerDagRunOperator`` does.

    Unlike that operator, one task can start many runs this way, in the order it is asked to. The
    operator starts one run per task instance (its ``DagRunTriggerException`` becomes this same
    message in the task runner): mapped over a batch, its runs would start in parallel, in no set
    order, at the cost of a task start each.

    :param dag_id: the DAG to run.
    :param run_id: the new run's id.
    :param conf: the run's conf.
    :raises DagRunAlreadyExists: a run with this id exists.
    :raises RuntimeError: the API server refused for another reason (retryable).
    """
    from airflow.sdk.execution_time.comms import ErrorResponse, TriggerDagRun
    from airflow.sdk.execution_time.task_runner import SUPERVISOR_COMMS

    response = SUPERVISOR_COMMS.send(TriggerDagRun(dag_id=dag_id, run_id=run_id, conf=conf))
    if isinstance(response, ErrorResponse):
        if str(getattr(response.error, "value", response.error)) == "DAGRUN_ALREADY_EXISTS":
            raise DagRunAlreadyExists(f"{dag_id}/{run_id}")
        raise RuntimeError(f"could not start {dag_id} run {run_id}: {response.error} {response.detail}")


class TakeInRequestsOperator(BaseOperator):
    """Move new worktable requests into the intake queue, in one transaction.

    On Snowflake this consumes the worktable's stream (its offset advances with the commit);
    elsewhere it takes the pending ADHOC rows. Returns how many requests were taken in.
    """

    ui_color = "#e0f2f1"

    def execute(self, context: Context) -> int:
        taken = request_store().take_in_new_requests(actor(context, Component.INTAKE))
        self.log.info("took in %d new request(s)", taken)
        return taken


# A worktable row's columns -> the request document's fields.
_ROW_FIELDS = {
    "request_id": "request_id",
    "report_id": "report_id",
    "parameters": "parameters",
    "distribution_overrides": "distribution",
    "priority": "priority",
    "requested_by": "requested_by",
}


def row_document(row: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A worktable row as a request document, and a problem line for each JSON column that is not JSON.

    :param row: the row as the request store reads it (a column that is not JSON comes as its text).
    """
    document: dict[str, Any] = {}
    problems: list[str] = []
    for column, field in _ROW_FIELDS.items():
        value = row.get(column)
        if isinstance(value, UnreadableJson):
            problems.append(f"{field}: not valid JSON: {quote(str(value))}")
            value = None
        document[field] = value
    return document, problems


class DispatchRequestsOperator(BaseOperator):
    """Check every queued request against its definition and start its report run, highest priority first.

    Each row is read as one request document (:func:`reporting.request_check.check_request`).
    A valid request starts ``report__<report_id>`` with run id ``adhoc__<request_id>`` and conf
    ``{request_id, parameters, distribution, priority, requested_by}`` (the run's id makes it
    ADHOC); a run that already exists (a replay after a crash) counts as started. A request
    that does not fit, however malformed its row, becomes FAILED with an ERROR_LOG row naming
    each field, and the rest of the batch goes on. Each request is marked in the queue only
    after its run exists, so a killed task loses nothing and, retried, starts nothing twice.
    """

    ui_color = "#e0f2f1"

    def execute(self, context: Context) -> dict[str, list[str]]:
        store = request_store()
        me = actor(context, Component.INTAKE)
        definitions = {d.id: d for d in load_definitions(check_schedule=check_schedule).definitions}
        outcome: dict[str, list[str]] = {"triggered": [], "invalid": [], "skipped": []}
        for row in store.open_intake_queue():
            request_id = row["request_id"]
            if row["status"] != Status.PENDING:
                # Cancelled or handled elsewhere since it was taken in: not ours to start.
                store.mark_dispatched(request_id, "SKIPPED", None)
                outcome["skipped"].append(request_id)
                continue
            try:
                document, unreadable = row_document(row)
                checked = check_request(document, definitions, problems=unreadable)
            except RequestRejected as exc:
                self._reject(store, me, request_id, exc)
                outcome["invalid"].append(request_id)
                continue
            except Exception as exc:  # one request that breaks the check must not stop the others
                self.log.exception("request %s: the check failed", request_id)
                problem = f"request: cannot be checked ({type(exc).__name__}: {quote(str(exc))})"
                self._reject(store, me, request_id, RequestRejected([problem]))
                outcome["invalid"].append(request_id)
                continue
            run_id = run_id_for_request(request_id)
            given = checked.document
            conf = {
                "request_id": request_id,
                "parameters": jsonable(checked.parameters),
                "distribution": checked.distribution,
                "priority": given.priority if given else None,
                "requested_by": given.requested_by if given else None,
            }
            try:
                self.start_run(checked.definition.dag_id, run_id, conf)
                self.log.info(
                    "request %s: started %s run %s (priority %s)",
                    request_id,
                    checked.definition.dag_id,
                    run_id,
                    row["priority"],
                )
            except DagRunAlreadyExists:
                self.log.info("request %s: run %s already exists; not started again", request_id, run_id)
            store.mark_dispatched(request_id, "TRIGGERED", run_id)
            outcome["triggered"].append(request_id)
        self.log.info(
            "intake: %d started, %d invalid, %d skipped",
            len(outcome["triggered"]),
            len(outcome["invalid"]),
            len(outcome["skipped"]),
        )
        return outcome

    def start_run(self, dag_id: str, run_id: str, conf: dict[str, Any]) -> None:
        """Start one report run (a seam for tests that kill the intake mid-batch).

        :param dag_id: the report DAG.
        :param run_id: the run id derived from the request id.
        :param conf: the run's conf.
        """
        trigger_dag_run(dag_id, run_id, conf)

    def _reject(self, store: Any, me: Any, request_id: str, exc: RequestRejected) -> None:
        problems = cap_problems(exc.problems)
        message = mask_secrets("; ".join(problems))
        self.log.warning("request %s refused: %s", request_id, message)
        error = ErrorInfo("INVALID_REQUEST", "RequestRejected", message[:MAX_MESSAGE], False)
        store.record_error(request_id, error, me)
        store.move(
            request_id,
            Status.PENDING,
            Status.FAILED,
            me,
            details={"problems": problems},
            last_error=f"intake: {message}",
        )
        store.mark_dispatched(request_id, "INVALID", None)
