"""Names shared across the project: the DAG and run id prefixes, trigger types, audit components and event types."""

from __future__ import annotations

from enum import StrEnum

DAG_PREFIX = "report__"
"""Every report's DAG id is this prefix and the report id (``report__sales_summary``)."""

ADHOC_RUN_PREFIX = "adhoc__"
"""The run id of a report run the intake starts is this prefix and the request id."""

RETRY_RUN_PREFIX = "retry__"
"""The run id of a report run the retry DAG starts begins with this prefix."""

RUN_NOTE_KEY = "run_note"
"""The XCom key under which the claim leaves the run's note: why it refused, or that nothing is delivered."""

MAX_RUN_NOTE_CHARS = 1000
"""The longest DAG run note Airflow stores (``dag_run_note.content``)."""


class TriggerType(StrEnum):
    """What started a report request (the worktable's ``trigger_type``)."""

    ADHOC = "ADHOC"
    """An ad hoc request taken in by the intake."""
    SCHEDULED = "SCHEDULED"
    """The report's own schedule (or a backfill of it)."""
    MANUAL = "MANUAL"
    """Someone triggered the DAG by hand."""
    API = "API"
    """A client triggered the DAG through the Airflow REST API."""
    RETRY = "RETRY"
    """The retry DAG re-sent a held request."""
    TEST = "TEST"
    """``airflow tasks test`` ran one task of the report on its own; the request ends with that task."""


class Component(StrEnum):
    """The part of the system that writes an audit or error row."""

    INTAKE = "INTAKE"
    ORCHESTRATOR = "ORCHESTRATOR"
    ENGINE = "ENGINE"
    DISTRIBUTOR = "DISTRIBUTOR"
    NOTIFIER = "NOTIFIER"


class EventType(StrEnum):
    """The kinds of row in a request's audit trail (``event_type``)."""

    STATUS_CHANGE = "STATUS_CHANGE"
    """The request moved from one status to another."""
    DELIVERY = "DELIVERY"
    """One file reached one target."""
    NOTIFICATION = "NOTIFICATION"
    """An event went out on one channel (queue, e-mail or log)."""
    RETRY = "RETRY"
    """A task is retried, a held request is re-sent, or a re-sent request went through."""
    ERROR = "ERROR"
    """A failure was recorded in the error log."""
    REPLACED = "REPLACED"
    """A request's delivered file was written over by another request's (``on_conflict: replace``)."""
    RESEND = "RESEND"
    """The request id was sent again and the re-send was refused or delivers nothing (the details say which)."""


class NotificationEvent(StrEnum):
    """The events sent to the message queue and stakeholders (the event's ``event`` field)."""

    COMPLETED = "report.completed"
    """Every file of the request was delivered."""
    FAILED = "report.failed"
    """The request failed for good; sent on the dead-letter routing key."""
