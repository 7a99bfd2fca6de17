"""The notification events: what the completion and the failure event say, built from the run's records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from operators.notify import completed_event, failed_event
from reporting.constants import NotificationEvent
from reporting.contracts import Artifact, DeliveryRecord
from reporting.definition import ReportDefinition
from reporting.errors import ErrorInfo


def _definition(on_success: bool = True, on_failure: bool = True) -> ReportDefinition:
    return ReportDefinition.model_validate(
        {
            "id": "sales",
            "title": "Sales",
            "owner": "bi",
            "engine": {"type": "sql", "conn_id": "warehouse", "sql": "sales.sql"},
            "formats": ["csv"],
            "distribution": [{"type": "local", "name": "nas", "path": "/tmp/nas"}],
            "notifications": {"emails": ["bi@example.com"], "on_success": on_success, "on_failure": on_failure},
        }
    )


ROW: dict[str, Any] = {"attempt": 2, "requested_at": "2026-06-01T06:00:00+00:00", "processed_at": None}
REQUEST: dict[str, Any] = {
    "request_id": "req-1",
    "run_date": "2026-06-01",
    "trigger_type": "API",
    "parameters": {"region": "EMEA"},
}
ARTIFACT: Artifact = {
    "format": "csv",
    "file_name": "sales_2026-06-01.csv",
    "uri": "file:///staging/sales.csv",
    "rows": 3,
    "bytes": 12,
    "sha256": "ab" * 32,
}
DELIVERIES: list[DeliveryRecord] = [
    {
        "request_id": "req-1",
        "target": target,
        "type": "local",
        "format": "csv",
        "location": f"/{target}/sales.csv",
        "bytes": 12,
        "sha256": "ab" * 32,
    }
    for target in ("zeta", "alpha", "zeta")
]


def test_the_completed_event_lists_the_run_its_files_and_where_they_went() -> None:
    started = datetime(2026, 6, 1, 6, 1, tzinfo=UTC)

    event = completed_event(
        _definition(), REQUEST, ROW, artifacts=[ARTIFACT], deliveries=DELIVERIES, run_started_at=started
    )

    notified_at = event["timings"].pop("notified_at")
    assert datetime.fromisoformat(notified_at).tzinfo is not None
    assert event == {
        "event": "report.completed",
        "request_id": "req-1",
        "report_id": "sales",
        "status": "DISTRIBUTED",
        "run_date": "2026-06-01",
        "attempt": 2,
        "trigger_type": "API",
        "parameters": {"region": "EMEA"},
        # the file name stays out: the event names where the file is, not what it was called
        "artifacts": [{k: v for k, v in ARTIFACT.items() if k != "file_name"}],
        "targets": ["alpha", "zeta"],
        "deliveries": DELIVERIES,
        "recipients": ["bi@example.com"],
        "timings": {
            "requested_at": "2026-06-01T06:00:00+00:00",
            "claimed_at": None,
            "run_started_at": "2026-06-01T06:01:00+00:00",
        },
    }


def test_the_completed_event_tells_no_one_when_success_mail_is_off() -> None:
    event = completed_event(
        _definition(on_success=False), REQUEST, ROW, artifacts=[], deliveries=[], run_started_at=None
    )

    assert event["recipients"] == []
    assert event["timings"]["run_started_at"] is None


def test_the_failed_event_carries_the_classified_error_and_where_it_happened() -> None:
    error = ErrorInfo("CONNECTION", "ConnectionRefusedError", "refused", retry_eligible=True)

    event = failed_event(
        _definition(),
        "req-1",
        ROW,
        run_date="2026-06-01",
        failed_task="distribute",
        target="nas",
        error=error,
        retries=2,
    )

    assert event["event"] == NotificationEvent.FAILED == "report.failed"
    failed_at = event["timings"].pop("failed_at")
    assert datetime.fromisoformat(failed_at).tzinfo is not None
    assert {k: v for k, v in event.items() if k != "event"} == {
        "request_id": "req-1",
        "report_id": "sales",
        "status": "FAILED",
        "attempt": 2,
        "run_date": "2026-06-01",
        "failed_task": "distribute",
        "target": "nas",
        "error": {
            "code": "CONNECTION",
            "class": "ConnectionRefusedError",
            "message": "refused",
            "retry_eligible": True,
        },
        "retries": 2,
        "recipients": ["bi@example.com"],
        "timings": {"requested_at": "2026-06-01T06:00:00+00:00", "claimed_at": None},
    }


def test_the_failed_event_tells_no_one_when_failure_mail_is_off() -> None:
    error = ErrorInfo("UNKNOWN", "RuntimeError", "boom", False)

    event = failed_event(
        _definition(on_failure=False),
        "req-1",
        {},
        run_date=None,
        failed_task="claim",
        target=None,
        error=error,
        retries=0,
    )

    assert event["recipients"] == []
    assert event["attempt"] is None
