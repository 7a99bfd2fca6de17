"""Finalize: close the request once every artifact was generated, delivered and announced."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from airflow.sdk import BaseOperator, Context

from report_runtime.request_context import actor, request_store
from report_runtime.tasks_test import refuse_missing_upstream
from reporting.constants import EventType, TriggerType
from reporting.lifecycle import Status


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
        refuse_missing_upstream(self, context, self.request, self.event)
        store = request_store()
        me = actor(context)
        moved = store.move(
            self.request["request_id"],
            Status.DISTRIBUTED,
            Status.COMPLETED,
            me,
            details={"artifacts": len(self.event["artifacts"]), "deliveries": len(self.event["deliveries"])},
        )
        if not moved:
            self.log.info("request %s: was not DISTRIBUTED; its status is left alone", self.request["request_id"])
        elif self.request.get("trigger_type") == TriggerType.RETRY:
            # A held request that the retry DAG re-sent has gone through: its trail says RETRIED.
            store.record_event(self.request["request_id"], EventType.RETRY, me, {"result": "RETRIED"})
        summary = {
            "request_id": self.request["request_id"],
            "status": "COMPLETED",
            "artifacts": len(self.event["artifacts"]),
            "deliveries": len(self.event["deliveries"]),
            "completed_at": datetime.now(UTC).isoformat(),
        }
        # The run's last word on its request (``airflow dags test`` ends with it): who, status, where the files went.
        self.log.info(
            "request %s: COMPLETED (%d artifacts, %d deliveries); files: %s",
            summary["request_id"],
            summary["artifacts"],
            summary["deliveries"],
            ", ".join(str(d.get("location")) for d in self.event["deliveries"]) or "none",
        )
        return summary
