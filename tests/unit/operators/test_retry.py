"""Retry settings from the definition: per task kind, error lists, and the exponential schedule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from airflow.sdk.definitions.retry_policy import RetryAction

from operators.retry import ReportRetryPolicy, exception_names, retry_args
from reporting.definition import RetryPolicy
from reporting.engine_errors import EngineError


def test_seed_004_defaults():
    args = retry_args(RetryPolicy())
    assert (args["retries"], args["retry_delay"], args["retry_exponential_backoff"], args["max_retry_delay"]) == (
        2, timedelta(seconds=1), 2.0, timedelta(seconds=60)
    )


def test_seed_000_schedule_is_expressible():
    policy = RetryPolicy.model_validate({"retries": 3, "retry_delay": "15m", "backoff_multiplier": 2.0, "max_retry_delay": "2h"})
    args = retry_args(policy)
    assert args["retries"] == 3 and args["retry_delay"] == timedelta(minutes=15)


def test_task_kinds_override_the_report_settings():
    policy = RetryPolicy.model_validate(
        {"retries": 3, "retry_delay": "10s", "max_retry_delay": "5m", "non_retryable_errors": ["PermissionError"],
         "engine": {"retries": 5}, "distribution": {"retry_delay": "30s"}, "notification": {"retries": 0}}
    )
    assert policy.for_task("engine").retries == 5
    assert policy.for_task("distribution").retry_delay == timedelta(seconds=30)
    assert policy.for_task("distribution").retries == 3
    assert policy.for_task("notification").retries == 0
    assert policy.for_task("engine").non_retryable_errors == ["PermissionError"]


def test_error_lists_decide_before_anything_else():
    policy = ReportRetryPolicy(retryable=["TimeoutError"], non_retryable=["builtins.PermissionError", "KeyError"])
    assert policy.evaluate(PermissionError("no"), 1, 3).action is RetryAction.FAIL
    assert policy.evaluate(KeyError("k"), 1, 3).action is RetryAction.FAIL
    assert policy.evaluate(TimeoutError("slow"), 1, 3).action is RetryAction.RETRY
    assert policy.evaluate(RuntimeError("other"), 1, 3).action is RetryAction.DEFAULT


def test_engine_errors_keep_their_own_verdict():
    policy = ReportRetryPolicy()
    assert policy.evaluate(EngineError("obiee", "HTTP 400 bad request", retryable=False), 1, 3).action is RetryAction.FAIL


def test_serialize_round_trip():
    policy = ReportRetryPolicy(["ConnectionError"], ["PermissionError"])
    again = ReportRetryPolicy.deserialize(policy.serialize())
    assert (again.retryable, again.non_retryable) == (("ConnectionError",), ("PermissionError",))


def test_exception_names_cover_class_names_and_dotted_paths():
    names = exception_names(ConnectionRefusedError())
    assert {"ConnectionRefusedError", "ConnectionError", "OSError", "builtins.ConnectionError"} <= names


@pytest.mark.parametrize("bad", [["not a name"], ["1Error"], ["a..b"]])
def test_bad_error_names_are_refused(bad):
    with pytest.raises(ValueError, match="is not an exception class name"):
        RetryPolicy.model_validate({"retryable_errors": bad})


def test_wrapped_causes_count():
    try:
        try:
            raise FileExistsError("blocked")
        except OSError as exc:
            raise RuntimeError("target 'nas' (local): blocked") from exc
    except RuntimeError as wrapped:
        assert "FileExistsError" in exception_names(wrapped)
        assert ReportRetryPolicy(non_retryable=["FileExistsError"]).evaluate(wrapped, 1, 3).action is RetryAction.FAIL
