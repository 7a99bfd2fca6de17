"""Notify and finalize: the completion event of a run, and the run's closing record."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from airflow.sdk import BaseOperator, Context

from operators.request_context import actor, request_store
from reporting.definition import ReportDefinition
from reporting.lifecycle import Status


def flatten(deliveries: Any) -> list[dict[str, Any]]:
    """Flatten the mapped distribute task's results (one list per target) into one list.

    :param deliveries: the lazy sequence of per-target delivery lists.
    """
    if not deliveries:
        return []
    # Index by length: iterating a lazy XCom sequence probes one offset past the end.
    return [record for i in range(len(deliveries)) for record in deliveries[i] or ()]


class NotifyOperator(BaseOperator):
    """Build the run's completion event (request, report, artifacts, deliveries, timings).

    The event is logged and returned as XCom; the message-queue and e-mail channels
    publish this same event.

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

    def execute(self, context: Context) -> dict[str, Any]:
        dag_run = context["dag_run"]
        deliveries = flatten(self.deliveries)
        request_id = self.request["request_id"]
        store = request_store()
        me = actor(context)
        # Every mapped distribute task succeeded, or this task would not run.
        store.move(request_id, Status.GENERATED, Status.DISTRIBUTED, me,
                   details={"targets": sorted({d["target"] for d in deliveries}), "files": len(deliveries)})
        event = {
            "event": "report.completed",
            "request_id": self.request["request_id"],
            "report_id": self.definition.id,
            "status": "DISTRIBUTED",
            "trigger_type": self.request["trigger_type"],
            "parameters": self.request["parameters"],
            "artifacts": [{k: a[k] for k in ("format", "uri", "rows", "bytes", "sha256")} for a in self.artifacts],
            "targets": sorted({d["target"] for d in deliveries}),
            "deliveries": deliveries,
            "recipients": self.definition.notifications.emails if self.definition.notifications.on_success else [],
            "timings": {
                "run_started_at": _iso(getattr(dag_run, "start_date", None)),
                "notified_at": datetime.now(timezone.utc).isoformat(),
            },
        }
        self.log.info("request %s: completion event %s", request_id, json.dumps(event, default=str))
        store.record_event(request_id, "NOTIFICATION", me, {"event": event["event"], "channel": "log",
                                                             "recipients": event["recipients"]})
        return event


class FinalizeOperator(BaseOperator):
    """Close the request: every artifact was generated and every target delivered.

    :param request: the claimed request.
    :param event: the completion event from the notify task.
    """

    template_fields: Sequence[str] = ("request", "event")
    ui_color = "#e1f5fe"

    def __init__(self, *, request: Any, event: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.request = request
        self.event = event

    def execute(self, context: Context) -> dict[str, Any]:
        moved = request_store().move(
            self.request["request_id"], Status.DISTRIBUTED, Status.COMPLETED, actor(context),
            details={"artifacts": len(self.event["artifacts"]), "deliveries": len(self.event["deliveries"])},
        )
        if not moved:
            self.log.info("request %s: was not DISTRIBUTED; its status is left alone", self.request["request_id"])
        summary = {
            "request_id": self.request["request_id"],
            "status": "COMPLETED",
            "artifacts": len(self.event["artifacts"]),
            "deliveries": len(self.event["deliveries"]),
            "completed_at": datetime.now(timezone.utc).isoformat(),
        }
        self.log.info("request %s: COMPLETED (%d artifacts, %d deliveries)", summary["request_id"], summary["artifacts"], summary["deliveries"])
        return summary


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
