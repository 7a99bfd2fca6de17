"""Notify: send the completion event of a run, and the failure event of a request that failed for good.

Channels: the message queue (RabbitMQ, ``notifications.queue``) and stakeholder e-mail
(``notifications.emails`` through ``notifications.smtp_conn_id``). Each channel is sent at
most once per request and event, guarded by the NOTIFICATION audit rows, so a retried notify
task never publishes or mails twice. Failure events go out from the failure callback, once,
after the last retry (see :func:`notify_failure`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any

from airflow.sdk import BaseOperator, Context

from report_runtime.request_context import actor, request_store
from report_runtime.sending_gate import hold_if_paused
from report_runtime.tasks_test import refuse_missing_upstream
from reporting.constants import DAG_PREFIX, EventType, NotificationEvent
from reporting.contracts import (
    Artifact,
    CompletedEvent,
    DeliveryRecord,
    EventError,
    FailedEvent,
    ReportEvent,
    artifact_summary,
)
from reporting.definition import Notifications, ReportDefinition
from reporting.errors import ErrorInfo
from reporting.lifecycle import Status
from reporting.naming import NamingContext, TemplateError, render_header


def _already_sent(store: Any, request_id: str, event: str, channel: str, attempt: Any = None) -> bool:
    for row in store.trail(request_id)["events"]:
        details = row.get("details") or {}
        if (
            row["event_type"] == EventType.NOTIFICATION
            and details.get("event") == event
            and details.get("channel") == channel
            and details.get("attempt") == attempt
        ):
            return True
    return False


def send_notifications(
    notifications: Notifications, event: ReportEvent, *, title: str, store: Any, me: Any, attempt: Any = None
) -> list[str]:
    """Send one event on every configured channel not yet used for it; return the channels used.

    A completion event goes to the queue's routing key, a failure event to the dead-letter
    routing key; stakeholders get a short e-mail either way. Without any channel the event is
    only logged (one ``log`` NOTIFICATION row).

    :param notifications: the definition's notification settings.
    :param event: the event (``report.completed`` or ``report.failed``).
    :param title: the report title, for the mail subject.
    :param store: the request store hook.
    :param me: the audit actor.
    :param attempt: the request attempt the event belongs to (failure events: one per attempt).
    """
    request_id = event["request_id"]
    failed = event["event"] == NotificationEvent.FAILED
    wanted = notifications.on_failure if failed else notifications.on_success
    sent: list[str] = []
    queue = notifications.queue
    if queue is not None:
        if not _already_sent(store, request_id, event["event"], "amqp", attempt):
            from hooks.amqp import RabbitMQHook

            RabbitMQHook(amqp_conn_id=queue.conn_id).publish(
                exchange=queue.exchange,
                exchange_type=queue.exchange_type,
                routing_key=queue.dead_letter_routing_key if failed else queue.routing_key,
                bindings={queue.queue: queue.routing_key, queue.dead_letter_queue: queue.dead_letter_routing_key},
                body=event,
                message_id=f"{request_id}:{event['event']}:{attempt or 1}",
            )
            store.record_event(
                request_id,
                EventType.NOTIFICATION,
                me,
                {
                    "event": event["event"],
                    "channel": "amqp",
                    "attempt": attempt,
                    "exchange": queue.exchange,
                    "queue": queue.dead_letter_queue if failed else queue.queue,
                },
            )
        sent.append("amqp")
    if wanted and notifications.emails and notifications.smtp_conn_id:
        if not _already_sent(store, request_id, event["event"], "email", attempt):
            _mail(notifications.smtp_conn_id, notifications, event, title)
            store.record_event(
                request_id,
                EventType.NOTIFICATION,
                me,
                {
                    "event": event["event"],
                    "channel": "email",
                    "attempt": attempt,
                    "recipients": notifications.emails,
                },
            )
        sent.append("email")
    if not sent:
        store.record_event(
            request_id,
            EventType.NOTIFICATION,
            me,
            {
                "event": event["event"],
                "channel": "log",
                "attempt": attempt,
                "recipients": notifications.emails if wanted else [],
            },
        )
        sent.append("log")
    return sent


def _mail(smtp_conn_id: str, notifications: Notifications, event: ReportEvent, title: str) -> None:
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    failed = event["event"] == NotificationEvent.FAILED
    naming = NamingContext(event["report_id"], event["run_date"] or "", event["request_id"], title, {})
    try:
        subject = render_header(("[FAILED] " if failed else "") + "{title}: request {request_id}", naming, "")
    except TemplateError:
        subject = f"{'[FAILED] ' if failed else ''}report {event['report_id']}: request {event['request_id']}"
    if event["event"] == NotificationEvent.FAILED:
        body = (
            f"<p>Request <b>{escape(event['request_id'])}</b> of report {escape(event['report_id'])} failed "
            f"in <b>{escape(event['failed_task'])}</b>.</p>"
            f"<p>{escape(event['error']['message'])}</p>"
        )
    else:
        rows = "".join(
            f"<li>{escape(d['format'])} &rarr; {escape(d['target'])}: {escape(d['location'])}</li>"
            for d in event["deliveries"]
        )
        body = (
            f"<p>Request <b>{escape(event['request_id'])}</b> of report {escape(event['report_id'])} "
            f"was delivered.</p><ul>{rows}</ul>"
        )
    with SmtpHook(smtp_conn_id=smtp_conn_id) as hook:
        hook.send_email_smtp(
            to=notifications.emails,
            subject=subject,
            html_content=body,
            custom_headers={"X-Report-Request-Id": event["request_id"], "X-Report-Event": event["event"]},
        )


def flatten(deliveries: Any) -> list[DeliveryRecord]:
    """Flatten the mapped distribute task's results (one list per target) into one list.

    :param deliveries: the lazy sequence of per-target delivery lists.
    """
    if not deliveries:
        return []
    # Index by length: iterating a lazy XCom sequence probes one offset past the end.
    return [record for i in range(len(deliveries)) for record in deliveries[i] or ()]


class NotifyOperator(BaseOperator):
    """Build the run's completion event (request, report, artifacts, deliveries, timings) and send it.

    The event is published to the definition's message queue, mailed to its stakeholders,
    logged and returned as XCom; a retried task does not send a channel twice.

    :param definition: the report definition.
    :param request: the claimed request.
    :param artifacts: the staged artifact records.
    :param deliveries: the distribute task's results.
    """

    template_fields: Sequence[str] = ("request", "artifacts", "deliveries")
    ui_color = "#fef3c7"

    def __init__(
        self, *, definition: ReportDefinition, request: Any, artifacts: Any, deliveries: Any, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.definition = definition
        self.request = request
        self.artifacts = artifacts
        self.deliveries = deliveries

    def execute(self, context: Context) -> CompletedEvent:
        refuse_missing_upstream(self, context, self.request, self.artifacts)
        hold_if_paused(context, self.request["request_id"])
        dag_run = context["dag_run"]
        deliveries = flatten(self.deliveries)
        request_id = self.request["request_id"]
        store = request_store()
        me = actor(context)
        # Every mapped distribute task succeeded, or this task would not run.
        store.move(
            request_id,
            Status.GENERATED,
            Status.DISTRIBUTED,
            me,
            details={"targets": sorted({d["target"] for d in deliveries}), "files": len(deliveries)},
        )
        row = store.get_request(request_id) or {}
        event = completed_event(
            self.definition,
            self.request,
            row,
            artifacts=self.artifacts,
            deliveries=deliveries,
            run_started_at=getattr(dag_run, "start_date", None),
        )
        self.log.info("request %s: completion event %s", request_id, json.dumps(event, default=str))
        channels = send_notifications(
            self.definition.notifications, event, title=self.definition.title, store=store, me=me
        )
        self.log.info("request %s: completion event sent on %s", request_id, ", ".join(channels))
        return event


def _iso(moment: Any) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, str):
        return moment
    return str(moment.isoformat())


def completed_event(
    definition: ReportDefinition,
    request: dict[str, Any],
    row: dict[str, Any],
    *,
    artifacts: list[Artifact],
    deliveries: list[DeliveryRecord],
    run_started_at: Any,
) -> CompletedEvent:
    """The ``report.completed`` event of a run whose files were all delivered.

    :param definition: the report definition.
    :param request: the claimed request (the claim task's XCom).
    :param row: the request's row in the store (attempt, when it was asked for and claimed).
    :param artifacts: the generated files (the generate task's XCom).
    :param deliveries: every delivered file.
    :param run_started_at: when the DAG run started.
    """
    return {
        "event": NotificationEvent.COMPLETED,
        "request_id": request["request_id"],
        "report_id": definition.id,
        "status": "DISTRIBUTED",
        "run_date": request["run_date"],
        "attempt": row.get("attempt"),
        "trigger_type": request["trigger_type"],
        "parameters": request["parameters"],
        "artifacts": [artifact_summary(a) for a in artifacts],
        "targets": sorted({d["target"] for d in deliveries}),
        "deliveries": deliveries,
        "recipients": definition.notifications.emails if definition.notifications.on_success else [],
        "timings": {
            "requested_at": _iso(row.get("requested_at")),
            "claimed_at": _iso(row.get("processed_at")),
            "run_started_at": _iso(run_started_at),
            "notified_at": datetime.now(UTC).isoformat(),
        },
    }


def failed_event(
    definition: ReportDefinition,
    request_id: str,
    row: dict[str, Any],
    *,
    run_date: str | None,
    failed_task: str,
    target: str | None,
    error: ErrorInfo,
    retries: int,
) -> FailedEvent:
    """The ``report.failed`` event of a request that failed for good.

    :param definition: the report definition.
    :param request_id: the request.
    :param row: the request's row in the store (attempt, when it was asked for and claimed).
    :param run_date: the run's business date, when the failed task knew it.
    :param failed_task: the id of the task that failed.
    :param target: the key of the target being delivered to, when a delivery failed.
    :param error: the classified error.
    :param retries: how many retries the failed task had.
    """
    classified: EventError = {
        "code": error.code,
        "class": error.error_class,
        "message": error.message,
        "retry_eligible": error.retry_eligible,
    }
    return {
        "event": NotificationEvent.FAILED,
        "request_id": request_id,
        "report_id": definition.id,
        "status": "FAILED",
        "attempt": row.get("attempt"),
        "run_date": run_date,
        "failed_task": failed_task,
        "target": target,
        "error": classified,
        "retries": retries,
        "recipients": definition.notifications.emails if definition.notifications.on_failure else [],
        "timings": {
            "requested_at": _iso(row.get("requested_at")),
            "claimed_at": _iso(row.get("processed_at")),
            "failed_at": datetime.now(UTC).isoformat(),
        },
    }


def notify_failure(context: Context, request_id: str, error: ErrorInfo, me: Any, store: Any) -> list[str]:
    """Send the failure event (dead-letter queue) and the failure e-mail of a request that just failed for good.

    Called from the task failure callback, which Airflow runs only after the last retry, and
    only when that callback moved the request to FAILED: one event per failed attempt, never
    one per try.

    :param context: the failed task's context.
    :param request_id: the request.
    :param error: the classified error (``reporting.errors.ErrorInfo``).
    :param me: the audit actor.
    :param store: the request store hook.
    """
    task = context["task"]
    definition = getattr(task, "definition", None) or _definition_for(context["dag_run"].dag_id)
    target = getattr(task, "target", None)
    row = store.get_request(request_id) or {}
    request = getattr(task, "request", None)
    event = failed_event(
        definition,
        request_id,
        row,
        run_date=request.get("run_date") if isinstance(request, dict) else None,
        failed_task=str(me.task_id),
        target=target.get("key") if isinstance(target, dict) else None,
        error=error,
        retries=max((me.try_number or 1) - 1, 0),
    )
    return send_notifications(
        definition.notifications, event, title=definition.title, store=store, me=me, attempt=row.get("attempt")
    )


def _definition_for(dag_id: str) -> ReportDefinition:
    from reporting.loader import load_definitions

    result = load_definitions(only_id=dag_id.removeprefix(DAG_PREFIX))
    if not result.definitions:
        raise LookupError(f"no valid report definition for {dag_id}")
    return result.definitions[0]
