"""The engine retry policy: fail at once when no retry can help, wait as long as the engine asked otherwise."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk.definitions.retry_policy import RetryAction
from airflow.sdk.exceptions import AirflowFailException

from operators.engines import EngineRetryPolicy
from reporting.engine_errors import EngineHttpError, EngineTimeout


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
