"""The sending gate: one Airflow Variable that pauses every outbound call.

``REPORTING_SEND_REPORTS`` = ``true`` (or unset): reports are generated and sent.
``false``: new runs hold their request (HELD) and end without calling an engine or a
destination; runs already waiting to retry stop at their next start the same way; the
``reports_retry`` DAG re-sends held requests once the gate is on again. The gate is switched
off by itself when a request exhausts its retries on an infrastructure error.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Context, Variable
from airflow.sdk.exceptions import AirflowSkipException

from report_runtime.request_context import actor, request_store
from reporting.constants import EventType
from reporting.lifecycle import TRANSITIONS, Status

SEND_REPORTS_VARIABLE = "REPORTING_SEND_REPORTS"
_OFF = frozenset({"false", "0", "no", "off"})


def sending_enabled() -> bool:
    """Whether reports may be sent now (the Variable is unset, or anything but false/0/no/off)."""
    value = Variable.get(SEND_REPORTS_VARIABLE, default="true")
    return str(value).strip().lower() not in _OFF


def pause_sending(request_id: str, actor_: Any, reason: str) -> None:
    """Switch the gate off and write why into the request's audit trail.

    :param request_id: the request whose failure paused sending.
    :param actor_: the failed task's audit identity.
    :param reason: what failed.
    """
    Variable.set(SEND_REPORTS_VARIABLE, "false", description="switched off by the report pipeline: " + reason[:200])
    request_store().record_event(request_id, EventType.RETRY, actor_, {"sending_gate": "off", "reason": reason})


def hold_if_paused(context: Context, request_id: str) -> None:
    """When sending is paused, move the request to HELD and skip the rest of this run.

    Called at the start of every task that calls out, so a run waiting to retry stops
    there instead of calling an engine or a destination.

    :param context: the running task's context.
    :param request_id: the run's request.
    """
    if sending_enabled():
        return
    store = request_store()
    row = store.get_request(request_id) or {}
    status = Status(row.get("status", Status.HELD))
    if Status.HELD in TRANSITIONS[status]:
        store.move(
            request_id,
            status,
            Status.HELD,
            actor(context),
            details={"sending_gate": "off", "variable": SEND_REPORTS_VARIABLE},
        )
    raise AirflowSkipException(
        f"sending is paused (Variable {SEND_REPORTS_VARIABLE}=false): request {request_id} is held "
        "for the reports_retry DAG"
    )
