"""Task callbacks that keep the request trail true when a task retries or fails for good, or ends a tasks test."""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowFailException

from operators.notify import notify_failure
from report_runtime.request_context import RequestRefused, actor, request_id_of, request_store
from report_runtime.sending_gate import SEND_REPORTS_VARIABLE, pause_sending
from report_runtime.tasks_test import NEEDS_UPSTREAM, is_tasks_test_run, missing_upstream_hint, run_date_argument
from reporting.constants import EventType
from reporting.errors import classify
from reporting.lifecycle import TERMINAL, Status

log = logging.getLogger(__name__)

OUTBOUND_TASKS = frozenset({"generate", "distribute", "notify"})
"""Tasks that call an engine, a destination or a broker: their exhausted retries pause sending."""


def _owned_by_run(row: dict[str, Any], run_id: str | None) -> bool:
    # A request claimed by another run is not ours to fail; an unclaimed one is (our claim failed).
    return row["dag_run_id"] == run_id or (row["dag_run_id"] is None and row["status"] in ("PENDING", "HELD"))


def _exception_of(context: Context) -> BaseException:
    """The failure the callback is about; a scheduler-side failure (a worker that died) comes as text."""
    exc = context.get("exception")
    if isinstance(exc, BaseException):
        return exc
    return RuntimeError(exc or "unknown error")


def on_task_retry(context: Context) -> None:
    """Write a RETRY audit row with the try number and the (masked) error.

    :param context: the failed try's context.
    """
    if is_tasks_test_run(context["dag_run"]):
        # A tasks-test run has no next try: its one task has ended.
        end_tasks_test(context, outcome="failed")
        return
    try:
        request_id = request_id_of(context["dag_run"])
        error = classify(_exception_of(context))
        me = actor(context)
        request_store().record_event(
            request_id,
            EventType.RETRY,
            me,
            {"task": me.task_id, "try_number": me.try_number, "error_code": error.code, "error": error.message},
        )
    except Exception:  # a callback must never hide the task's own failure
        log.exception("could not record the retry in the request store")


def on_task_failure(context: Context) -> None:
    """Record the error (ERROR_LOG), move the request to FAILED and send the failure notifications.

    Airflow calls this after the last retry only. Nothing happens to a request that is finished
    or held by another run. A request the claim refused is recorded by the claim itself; here
    only its failure notifications are sent, when the refusal failed it.

    :param context: the failed task's context.
    """
    if is_tasks_test_run(context["dag_run"]):
        # A test of one task neither pauses sending nor tells stakeholders; it ends its TEST request.
        end_tasks_test(context, outcome="failed")
        return
    exc = _exception_of(context)
    if isinstance(exc, RequestRefused):
        _refused(context, exc)
        return
    try:
        request_id = request_id_of(context["dag_run"])
        error = classify(exc, non_retryable=isinstance(exc, AirflowFailException))
        me = actor(context)
        store = request_store()
        row = store.get_request(request_id)
        if row is None or not _owned_by_run(row, me.dag_run_id):
            log.warning("request %s is not held by run %s; its status is left alone", request_id, me.dag_run_id)
            return
        store.record_error(request_id, error, me, retry_count=max((me.try_number or 1) - 1, 0))
        status = Status(row["status"])
        moved = False
        if status not in TERMINAL and status is not Status.FAILED:
            moved = store.move(
                request_id,
                status,
                Status.FAILED,
                me,
                details={"task": me.task_id, "error_code": error.code, "retry_eligible": error.retry_eligible},
                last_error=f"{me.task_id}: {error.error_class}: {error.message}",
            )
        if moved:
            log.info("request %s: FAILED in %s: %s: %s", request_id, me.task_id, error.error_class, error.message)
    except Exception:  # a callback must never hide the task's own failure
        log.exception("could not record the failure in the request store")
        return
    if error.retry_eligible and me.task_id in OUTBOUND_TASKS:
        # Retries ran out on an infrastructure error (engine, destination or broker down):
        # pause all sending until someone switches it back.
        try:
            pause_sending(request_id, me, f"{me.task_id}: {error.error_class}: {error.message}")
            log.warning(
                "request %s: retries exhausted on %s; sending paused (%s=false)",
                request_id,
                error.code,
                SEND_REPORTS_VARIABLE,
            )
        except Exception:
            log.exception("request %s: could not pause sending", request_id)
    if moved:
        # Only the callback that moved the request to FAILED tells the world: two targets
        # failing in one run make one failure event, not two.
        try:
            channels = notify_failure(context, request_id, error, me, store)
            log.info("request %s: failure event sent on %s", request_id, ", ".join(channels))
        except Exception:
            log.exception("request %s: could not send the failure notification", request_id)


def on_task_success(context: Context) -> None:
    """In a tasks-test run, end the TEST request: the task succeeded (COMPLETED).

    :param context: the task's context.
    """
    if is_tasks_test_run(context["dag_run"]):
        end_tasks_test(context, outcome="success")


def on_task_skipped(context: Context) -> None:
    """In a tasks-test run, end the TEST request of a skipped task (FAILED).

    A task skips when sending is paused; a held TEST request would otherwise be re-sent, as a real
    one, by ``reports_retry``.

    :param context: the task's context.
    """
    if is_tasks_test_run(context["dag_run"]):
        end_tasks_test(context, outcome="skipped")


def end_tasks_test(context: Context, *, outcome: str) -> None:
    """End the TEST request of a tasks-test run when its one task ends: COMPLETED if it succeeded, else FAILED.

    A failure goes to the error log, as any request's. A task that needs another task's output and
    failed before it could say so (a mapped task cannot even be expanded) logs the one-line hint.

    :param context: the task's context.
    :param outcome: ``success``, ``failed`` (also a try that would be retried) or ``skipped``.
    """
    dag_run = context["dag_run"]
    task_id = context["ti"].task_id
    exc = _exception_of(context) if outcome == "failed" else None
    try:
        request_id = request_id_of(dag_run)
        me = actor(context)
        store = request_store()
        error = None if exc is None else classify(exc, non_retryable=True)
        last_error = None
        if error is not None:
            last_error = f"{task_id}: {error.error_class}: {error.message}"
            if store.get_request(request_id) is not None:
                store.record_error(request_id, error, me)
        elif outcome == "skipped":
            last_error = f"{task_id} was skipped (is sending paused? Variable {SEND_REPORTS_VARIABLE})"
        ended = store.end_tasks_test_request(
            request_id,
            me,
            succeeded=outcome == "success",
            details={"tasks_test": task_id, "outcome": outcome},
            last_error=last_error,
        )
    except Exception:  # a callback must never hide the task's own outcome
        log.exception("tasks test: could not end the request in the request store")
        return
    if ended is not None:
        log.info("tasks test: request %s ended %s with its one task, %s", request_id, ended, task_id)
    if exc is not None and task_id in NEEDS_UPSTREAM:
        hint = missing_upstream_hint(dag_run.dag_id, task_id, run_date_argument(dag_run.logical_date))
        if hint not in str(exc):
            log.error(hint)


def _refused(context: Context, exc: RequestRefused) -> None:
    """A request the claim refused: the claim recorded why; only its failure notifications are left to send."""
    if not exc.request_failed:
        return
    request_id = request_id_of(context["dag_run"])
    try:
        channels = notify_failure(context, request_id, exc.error, actor(context), request_store())
        log.info("request %s: failure event sent on %s", request_id, ", ".join(channels))
    except Exception:
        log.exception("request %s: could not send the failure notification", request_id)
