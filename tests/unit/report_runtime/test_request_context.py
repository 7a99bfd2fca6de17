"""Claim helpers: stable request ids and JSON-friendly parameters."""

from __future__ import annotations

from datetime import UTC, date, datetime

from report_runtime.request_context import jsonable, request_id_for_run


def test_request_id_is_stable_per_run_and_distinct_between_runs():
    first = request_id_for_run("report__sales", "manual__2026-11-20T07:00:00+00:00")
    assert first == request_id_for_run("report__sales", "manual__2026-11-20T07:00:00+00:00")
    assert first != request_id_for_run("report__sales", "manual__2026-11-21T07:00:00+00:00")
    assert first != request_id_for_run("report__other", "manual__2026-11-20T07:00:00+00:00")


def test_jsonable_turns_dates_into_iso_strings():
    values = {"d": date(2026, 1, 2), "t": datetime(2026, 1, 2, 3, 4, tzinfo=UTC), "n": 3, "s": "x"}
    assert jsonable(values) == {"d": "2026-01-02", "t": "2026-01-02T03:04:00+00:00", "n": 3, "s": "x"}
