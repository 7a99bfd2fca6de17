"""The lifecycle's transition table."""

from __future__ import annotations

import pytest

from reporting.lifecycle import (
    TASKS_TEST_ENDS,
    TERMINAL,
    TRANSITIONS,
    IllegalTransition,
    Status,
    check_transition,
    ending_of_tasks_test,
)


def test_status_is_a_str_enum_with_every_status():
    assert {s.value for s in Status} == {
        "PENDING",
        "HELD",
        "IN_PROGRESS",
        "GENERATED",
        "DISTRIBUTED",
        "COMPLETED",
        "FAILED",
        "DUPLICATE",
    }
    assert Status.PENDING == "PENDING" and str(Status.FAILED) == "FAILED"
    assert set(TRANSITIONS) == set(Status)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("PENDING", "IN_PROGRESS"),
        ("PENDING", "HELD"),
        ("HELD", "IN_PROGRESS"),
        ("IN_PROGRESS", "GENERATED"),
        ("GENERATED", "DISTRIBUTED"),
        ("DISTRIBUTED", "COMPLETED"),
        ("IN_PROGRESS", "FAILED"),
        ("FAILED", "IN_PROGRESS"),
        ("PENDING", "DUPLICATE"),
        ("HELD", "DUPLICATE"),
    ],
)
def test_the_design_moves_are_allowed(old, new):
    assert check_transition(old, new) == (Status(old), Status(new))


def test_finished_requests_never_move():
    assert {Status.COMPLETED, Status.DUPLICATE} == TERMINAL
    for status in TERMINAL:
        for new in Status:
            with pytest.raises(IllegalTransition):
                check_transition(status, new)


def test_no_move_goes_backwards_along_the_happy_path():
    order = ["PENDING", "IN_PROGRESS", "GENERATED", "DISTRIBUTED", "COMPLETED"]
    for i, later in enumerate(order):
        for earlier in order[:i]:
            with pytest.raises(IllegalTransition, match=f"from {later} to {earlier}"):
                check_transition(later, earlier)


def test_the_error_names_both_states_and_the_allowed_ones():
    with pytest.raises(IllegalTransition) as caught:
        check_transition("GENERATED", "PENDING")
    assert (
        str(caught.value)
        == "a request cannot move from GENERATED to PENDING (allowed from GENERATED: DISTRIBUTED, FAILED, HELD)"
    )
    assert (caught.value.old, caught.value.new) == (Status.GENERATED, Status.PENDING)


def test_unknown_status_is_refused():
    with pytest.raises(IllegalTransition, match="from SENT to PENDING"):
        check_transition("SENT", "PENDING")


@pytest.mark.parametrize(
    ("status", "succeeded", "end"),
    [
        ("IN_PROGRESS", True, "COMPLETED"),
        ("GENERATED", True, "COMPLETED"),
        ("DISTRIBUTED", True, "COMPLETED"),
        ("IN_PROGRESS", False, "FAILED"),
        ("GENERATED", False, "FAILED"),
        ("HELD", False, "FAILED"),
        ("HELD", True, "FAILED"),
        ("PENDING", False, "FAILED"),
        ("COMPLETED", True, None),
        ("FAILED", False, None),
        ("DUPLICATE", False, None),
    ],
)
def test_a_tasks_test_request_ends_with_its_task_never_in_flight(status, succeeded, end):
    assert ending_of_tasks_test(status, succeeded) == (Status(end) if end else None)


def test_a_tasks_test_end_leaves_nothing_in_flight_and_adds_only_ends():
    in_flight = {Status.PENDING, Status.HELD, Status.IN_PROGRESS, Status.GENERATED, Status.DISTRIBUTED}
    assert set(TASKS_TEST_ENDS) == in_flight
    assert set().union(*TASKS_TEST_ENDS.values()) == {Status.COMPLETED, Status.FAILED}
