"""What every task of a report run needs to know about its request: id, store, and who is acting."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from airflow.sdk import Context, conf
from airflow.sdk.exceptions import AirflowFailException

from hooks.request_store import Actor, RequestStoreHook
from reporting.constants import MAX_RUN_NOTE_CHARS, Component
from reporting.errors import ErrorInfo
from reporting.request_check import usable_request_id

# Fixed namespace: the same DAG run always maps to the same request id, so a cleared or
# re-run task refers to the same request instead of inventing a second one.
REQUEST_NAMESPACE = uuid.UUID("7f1c1d1e-55a4-4c1f-9d0f-6d1b0c2a9e41")

COMPONENTS = {
    "claim": Component.ORCHESTRATOR,
    "generate": Component.ENGINE,
    "distribute": Component.DISTRIBUTOR,
    "notify": Component.NOTIFIER,
    "finalize": Component.ORCHESTRATOR,
}


def request_id_for_run(dag_id: str, run_id: str) -> str:
    """Derive a stable request id for a run that did not come with one.

    :param dag_id: the report DAG's id.
    :param run_id: the DAG run's id.
    """
    return str(uuid.uuid5(REQUEST_NAMESPACE, f"{dag_id}/{run_id}"))


def request_id_of(dag_run: Any) -> str:
    """The request a DAG run serves: ``conf.request_id``, or one derived from the run.

    A ``conf.request_id`` that is not a valid id (too long, odd characters, not text) is not
    used: the run's request is then the derived one, where its refusal is recorded.

    :param dag_run: the DAG run (from the task context).
    """
    given = dag_run.conf if isinstance(dag_run.conf, dict) else {}
    return usable_request_id(given.get("request_id")) or request_id_for_run(dag_run.dag_id, dag_run.run_id)


def run_note(text: str) -> str:
    """A run note: one line, at most :data:`reporting.constants.MAX_RUN_NOTE_CHARS` characters.

    :param text: what the note says.
    """
    line = " ".join(text.split())
    return line if len(line) <= MAX_RUN_NOTE_CHARS else line[: MAX_RUN_NOTE_CHARS - 1] + "…"


class RequestRefused(AirflowFailException):
    """The claim refused the run's request and has recorded why; the task fails at once, without retries.

    :param message: the reason, naming the request and each field at fault.
    :param error: the error as recorded in the request's error log.
    :param request_failed: the refusal moved the request to FAILED (its failure notifications are due).
    """

    def __init__(self, message: str, *, error: ErrorInfo, request_failed: bool) -> None:
        super().__init__(message)
        self.error = error
        self.request_failed = request_failed


def jsonable(values: dict[str, Any]) -> dict[str, Any]:
    """Parameter values as JSON-friendly scalars (dates as ISO 8601), for XCom, logs and the store.

    :param values: parameter values.
    """
    return {k: v.isoformat() if isinstance(v, (date, datetime)) else v for k, v in values.items()}


def request_store() -> RequestStoreHook:
    """The request store hook on ``[reporting] request_store_conn_id`` (default ``reporting_request_store``)."""
    conn_id = conf.get("reporting", "request_store_conn_id", fallback=None) or RequestStoreHook.default_conn_name
    return RequestStoreHook(request_store_conn_id=conn_id)


def actor(context: Context, component: Component | None = None) -> Actor:
    """The audit identity of the running task: component, run, task and try.

    :param context: the task context.
    :param component: overrides the component derived from the task id.
    """
    ti = context["ti"]
    return Actor(
        component=component or COMPONENTS.get(ti.task_id, Component.ORCHESTRATOR),
        dag_run_id=context["dag_run"].run_id,
        task_id=ti.task_id,
        try_number=ti.try_number,
    )
