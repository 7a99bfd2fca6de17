"""Retry settings from the definition (per task kind, error lists, the exponential schedule) and the engine retry policy
(fail at once when no retry can help, wait as long as the engine asked otherwise)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from airflow.sdk.definitions.retry_policy import RetryAction
from airflow.sdk.exceptions import AirflowFailException

from report_runtime.retry import EngineRetryPolicy, ReportRetryPolicy, exception_names, retry_args
from reporting.definition import RetryPolicy
from reporting.engine_errors import EngineError, EngineHttpError, EngineTimeout


def test_the_default_retry_settings():
    args = retry_args(RetryPolicy())
    assert (args["retries"], args["retry_delay"], args["retry_exponential_backoff"], args["max_retry_delay"]) == (
        2,
        timedelta(seconds=1),
        2.0,
        timedelta(seconds=60),
    )


def test_a_fifteen_minute_schedule_is_expressible():
    policy = RetryPolicy.model_validate(
        {"retries": 3, "retry_delay": "15m", "backoff_multiplier": 2.0, "max_retry_delay": "2h"}
    )
    args = retry_args(policy)
    assert args["retries"] == 3 and args["retry_delay"] == timedelta(minutes=15)


def test_task_kinds_override_the_report_settings():
    policy = RetryPolicy.model_validate(
        {
            "retries": 3,
            "retry_delay": "10s",
            "max_retry_delay": "5m",
            "non_retryable_errors": ["PermissionError"],
            "engine": {"retries": 5},
            "distribution": {"retry_delay": "30s"},
            "notification": {"retries": 0},
        }
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
    assert (
        policy.evaluate(EngineError("obiee", "HTTP 400 bad request", retryable=False), 1, 3).action is RetryAction.FAIL
    )


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


def test_a_cause_chain_that_loops_back_is_walked_once():
    first, second = KeyError("a"), TimeoutError("b")
    first.__cause__, second.__cause__ = second, first

    assert {"KeyError", "TimeoutError", "LookupError"} <= exception_names(first)


# --- the engine retry policy ---------------------------------------------------------------------


def test_permanent_engine_errors_fail_without_retrying():
    decision = EngineRetryPolicy().evaluate(EngineHttpError("obiee", 404, "POST", "/run"), try_number=1, max_tries=4)
    assert decision.action is RetryAction.FAIL
    assert "HTTP 404" in decision.reason


def test_retry_after_becomes_the_retry_delay():
    error = EngineHttpError("powerbi", 429, "POST", "/ExportTo", retry_after=90)
    decision = EngineRetryPolicy().evaluate(error, try_number=1, max_tries=4)
    assert (decision.action, decision.retry_delay) == (RetryAction.RETRY, timedelta(seconds=90))


def test_other_retryable_errors_use_the_reports_own_backoff():
    assert EngineRetryPolicy().evaluate(EngineTimeout("ssrs", "slow"), 1, 4).action is RetryAction.DEFAULT
    assert EngineRetryPolicy().evaluate(RuntimeError("boom"), 1, 4).action is RetryAction.DEFAULT


def test_an_engine_error_wrapped_for_fail_fast_is_still_recognised():
    cause = EngineHttpError("midas", 400, "POST", "/api/v1/jobs")
    try:
        raise AirflowFailException(str(cause)) from cause
    except AirflowFailException as wrapper:
        assert EngineRetryPolicy().evaluate(wrapper, 1, 4).action is RetryAction.FAIL


def _context(retry_delay=1, backoff=2.0, max_retry_delay=60):
    from types import SimpleNamespace

    task = SimpleNamespace(
        retry_delay=timedelta(seconds=retry_delay),
        retry_exponential_backoff=backoff,
        max_retry_delay=None if max_retry_delay is None else timedelta(seconds=max_retry_delay),
    )
    return {"ti": SimpleNamespace(task=task)}


def _throttled(seconds: float) -> EngineHttpError:
    return EngineHttpError("powerbi", 429, "POST", "/ExportTo", retry_after=seconds)


def test_retry_after_within_the_tasks_settings_is_taken_as_asked():
    decision = EngineRetryPolicy().evaluate(_throttled(30), try_number=1, max_tries=4, context=_context())
    assert decision.retry_delay == timedelta(seconds=30)
    assert "asked to wait 30 s" in decision.reason


def test_retry_after_never_goes_below_the_tasks_own_backoff():
    # try 3 of a 5 s delay doubling: the report's own wait is 20 s, so "Retry-After: 0" still waits 20 s
    decision = EngineRetryPolicy().evaluate(_throttled(0), try_number=3, max_tries=4, context=_context(retry_delay=5))
    assert decision.retry_delay == timedelta(seconds=20)


def test_retry_after_is_capped_at_the_max_retry_delay():
    a_day = 24 * 3600
    decision = EngineRetryPolicy().evaluate(_throttled(a_day), try_number=1, max_tries=4, context=_context())
    assert decision.retry_delay == timedelta(seconds=60)


def test_retry_after_without_a_ceiling_is_honoured_and_never_zero():
    policy = EngineRetryPolicy()
    assert policy.evaluate(_throttled(7200), 1, 4, _context(max_retry_delay=None)).retry_delay == timedelta(hours=2)
    assert policy.evaluate(_throttled(0), 1, 4).retry_delay == timedelta(seconds=1)
