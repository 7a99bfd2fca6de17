"""Request lifecycle: the statuses of a report request and the only moves allowed between them."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """Where a report request stands."""

    PENDING = "PENDING"
    """Accepted, not yet started."""
    HELD = "HELD"
    """Accepted while sending is paused; waits for the retry DAG."""
    IN_PROGRESS = "IN_PROGRESS"
    """Claimed by exactly one DAG run."""
    GENERATED = "GENERATED"
    """Every artifact generated and staged."""
    DISTRIBUTED = "DISTRIBUTED"
    """Every target delivered."""
    COMPLETED = "COMPLETED"
    """Notifications sent; nothing left to do."""
    FAILED = "FAILED"
    """Stopped; the error log says why and whether a retry may help."""
    DUPLICATE = "DUPLICATE"
    """The same report and parameters were already re-sent in this retry session."""


S = Status
TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.PENDING: frozenset({S.IN_PROGRESS, S.HELD, S.FAILED, S.DUPLICATE}),
    # The retry DAG releases a held request to a new run, or drops it as a duplicate.
    S.HELD: frozenset({S.IN_PROGRESS, S.DUPLICATE, S.FAILED}),
    # Sending paused mid-run: the request waits, HELD, for the retry DAG instead of calling out.
    S.IN_PROGRESS: frozenset({S.GENERATED, S.FAILED, S.HELD}),
    S.GENERATED: frozenset({S.DISTRIBUTED, S.FAILED, S.HELD}),
    S.DISTRIBUTED: frozenset({S.COMPLETED, S.FAILED, S.HELD}),
    # A failed request may be claimed again (a cleared run, a retry); the attempt count grows.
    S.FAILED: frozenset({S.IN_PROGRESS}),
    S.COMPLETED: frozenset(),
    S.DUPLICATE: frozenset(),
}
"""Every legal move. Anything not listed is refused."""

TERMINAL = frozenset(status for status, targets in TRANSITIONS.items() if not targets)
"""Statuses no move leaves: a replayed task never reopens them."""

TASKS_TEST_ENDS: dict[Status, frozenset[Status]] = {
    S.PENDING: frozenset({S.FAILED}),
    S.HELD: frozenset({S.FAILED}),
    S.IN_PROGRESS: frozenset({S.COMPLETED, S.FAILED}),
    S.GENERATED: frozenset({S.COMPLETED, S.FAILED}),
    S.DISTRIBUTED: frozenset({S.COMPLETED, S.FAILED}),
}
"""How the TEST request of a tasks-test run ends with its one task: COMPLETED if the task succeeded, else FAILED.

Only TEST requests end this way (the request store checks the trigger type): the run has no other
task that could move them on, and one left in flight would wait hours for housekeeping. Every
other request reaches COMPLETED through DISTRIBUTED only.
"""


def ending_of_tasks_test(status: Status | str, succeeded: bool) -> Status | None:
    """The status a TEST request ends in when the one task of its tasks-test run ends.

    ``None`` when it has nothing to end (COMPLETED, FAILED or DUPLICATE already).

    :param status: the request's status when the task ended.
    :param succeeded: whether the task succeeded.
    """
    allowed = TASKS_TEST_ENDS.get(Status(status), frozenset())
    for candidate in (S.COMPLETED, S.FAILED) if succeeded else (S.FAILED,):
        if candidate in allowed:
            return candidate
    return None


class IllegalTransition(ValueError):
    """A move the lifecycle does not allow; names both statuses."""

    def __init__(self, old: Status | str | None, new: Status | str) -> None:
        self.old = old
        self.new = new
        try:
            allowed = ", ".join(sorted(TRANSITIONS[Status(old)])) if old is not None else ""
        except ValueError:
            allowed = ""
        super().__init__(f"a request cannot move from {old} to {new} (allowed from {old}: {allowed or 'none'})")


def check_transition(old: Status | str, new: Status | str) -> tuple[Status, Status]:
    """Refuse a move the lifecycle does not allow.

    :param old: the status the request is expected to have.
    :param new: the status to move to.
    :raises IllegalTransition: naming both statuses.
    """
    try:
        old_status, new_status = Status(old), Status(new)
    except ValueError:
        raise IllegalTransition(old, new) from None
    if new_status not in TRANSITIONS[old_status]:
        raise IllegalTransition(old_status, new_status)
    return old_status, new_status
