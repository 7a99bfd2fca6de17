"""The engine retry policy: fail at once when no retry can help, wait as long as the engine asked otherwise."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk.definitions.retry_policy import RetryAction
from airflow.sdk.exceptions import AirflowFailException

from operators.engines import EngineRetryPolicy
from reporting.errors import EngineHttpError, EngineTimeout


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
