"""The shapes of the records tasks hand each other through XCom and send out: artifacts, targets, deliveries, events.

Plain dicts at run time (XCom and the message queue carry JSON); these types name their keys.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

from reporting.constants import NotificationEvent


class Artifact(TypedDict):
    """One generated and staged file; the generate task returns one per format.

    :param format: pdf, xlsx or csv.
    :param file_name: the file's name as generated (the e-mail attachment's default name).
    :param uri: where the staged copy is (``file://`` or ``s3://``).
    :param rows: data rows written; ``None`` when an engine rendered the file and did not say.
    :param bytes: the file's size.
    :param sha256: the hex SHA-256 of the file; every delivered copy is checked against it.
    """

    format: str
    file_name: str
    uri: str
    rows: int | None
    bytes: int
    sha256: str


class ArtifactSummary(TypedDict):
    """An artifact as the completion event and the GENERATED audit row list it (no file name)."""

    format: str
    uri: str
    rows: int | None
    bytes: int
    sha256: str


def artifact_summary(artifact: Artifact) -> ArtifactSummary:
    """An artifact as the completion event and the GENERATED audit row list it.

    :param artifact: the generated and staged file.
    """
    return {
        "format": artifact["format"],
        "uri": artifact["uri"],
        "rows": artifact["rows"],
        "bytes": artifact["bytes"],
        "sha256": artifact["sha256"],
    }


class TargetRecord(TypedDict):
    """One resolved target of a run, as the claim task hands it to the distribute tasks.

    :param key: the target's stable key in delivery records.
    :param index: its position in the definition's ``distribution``; ``None`` for a request's own target.
    :param origin: ``definition`` or ``request``.
    :param type: the target type (local, s3, sftp, smb, email).
    :param spec: the target model as JSON (``model_dump(mode="json")``).
    """

    key: str
    index: int | None
    origin: Literal["definition", "request"]
    type: str
    spec: dict[str, Any]


class DeliveryOutcome(TypedDict):
    """Where one file went on one target, as a deliverer reports it.

    :param location: where the file now is (a path, ``s3://``, ``sftp://``, ``smb://`` or ``mailto:`` URI).
    :param bytes: the delivered size.
    :param sha256: the delivered copy's hex SHA-256.
    :param skipped_identical: the object already there had the same checksum and size, so nothing was sent.
    """

    location: str
    bytes: int
    sha256: str
    skipped_identical: NotRequired[bool]


class DeliveryRecord(DeliveryOutcome):
    """One delivered file, as a distribute task returns it (one per format it delivered).

    :param request_id: the request served.
    :param target: the target's key.
    :param type: the target type.
    :param format: the artifact's format.
    """

    request_id: str
    target: str
    type: str
    format: str


class CompletedTimings(TypedDict):
    """When a completed request was asked for, claimed, started and notified (ISO 8601, or ``None``)."""

    requested_at: str | None
    claimed_at: str | None
    run_started_at: str | None
    notified_at: str


class FailedTimings(TypedDict):
    """When a failed request was asked for, claimed and failed (ISO 8601, or ``None``)."""

    requested_at: str | None
    claimed_at: str | None
    failed_at: str


# "class" is a keyword, so this one is spelled the functional way.
EventError = TypedDict("EventError", {"code": str, "class": str, "message": str, "retry_eligible": bool})
"""The classified error of a failure event (see :class:`reporting.errors.ErrorInfo`)."""


class _Event(TypedDict):
    """What every notification event says.

    :param request_id: the request.
    :param report_id: the report.
    :param attempt: the request's attempt number.
    :param recipients: the stakeholders told (empty when the event's ``on_success``/``on_failure`` is off).
    """

    request_id: str
    report_id: str
    attempt: int | None
    recipients: list[str]


class CompletedEvent(_Event):
    """The ``report.completed`` event: every file of the request was delivered.

    :param event: ``report.completed``.
    :param status: ``DISTRIBUTED`` (finalize moves it to COMPLETED after the event is sent).
    :param run_date: the run's business date, ``YYYY-MM-DD``.
    :param trigger_type: what started the request (see :class:`reporting.constants.TriggerType`).
    :param parameters: the run's resolved parameter values.
    :param artifacts: the generated files.
    :param targets: the keys of the targets delivered to, sorted.
    :param deliveries: every delivered file.
    :param timings: when the request moved along.
    """

    event: Literal[NotificationEvent.COMPLETED]
    status: Literal["DISTRIBUTED"]
    run_date: str
    trigger_type: str
    parameters: dict[str, Any]
    artifacts: list[ArtifactSummary]
    targets: list[str]
    deliveries: list[DeliveryRecord]
    timings: CompletedTimings


class FailedEvent(_Event):
    """The ``report.failed`` event: the request failed for good (after the last retry); one per attempt.

    :param event: ``report.failed``.
    :param status: ``FAILED``.
    :param run_date: the run's business date, when the failed task knew it.
    :param failed_task: the id of the task that failed.
    :param target: the key of the target being delivered to, when a delivery failed.
    :param error: the classified error.
    :param retries: how many retries the failed task had.
    :param timings: when the request moved along.
    """

    event: Literal[NotificationEvent.FAILED]
    status: Literal["FAILED"]
    run_date: str | None
    failed_task: str
    target: str | None
    error: EventError
    retries: int
    timings: FailedTimings


ReportEvent = CompletedEvent | FailedEvent
"""Either notification event; ``event`` tells them apart."""
