"""Engine errors: HTTP statuses that may succeed later, masked messages, Retry-After, and their JSON form."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reporting.engine_errors import (
    EngineConnectionError,
    EngineHttpError,
    EngineJobFailed,
    EngineResponseError,
    EngineTimeout,
    engine_error_from_dict,
    engine_error_to_dict,
    parse_retry_after,
    status_is_retryable,
)
from reporting.errors import classify


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (400, False),
        (401, False),
        (403, False),
        (404, False),
        (422, False),
        (408, True),
        (429, True),
        (500, True),
        (502, True),
        (503, True),
        (504, True),
    ],
)
def test_http_statuses_that_may_succeed_later(status, retryable):
    error = EngineHttpError("powerbi", status, "POST", "/v1.0/myorg/x", "detail")
    info = classify(error)
    assert status_is_retryable(status) is retryable
    assert (info.code, info.retry_eligible) == (f"HTTP_{status}", retryable)
    assert info.message.startswith(f"powerbi: HTTP {status} on POST /v1.0/myorg/x: detail (")
    assert info.message.endswith("(retryable)" if retryable else "(not retryable)")


def test_an_engine_error_behind_a_fail_fast_wrapper_keeps_its_code_but_is_not_retried():
    class AirflowFailException(Exception):
        pass

    cause = EngineHttpError("ssrs", 503, "GET", "/ReportServer", retry_after=5)
    try:
        raise AirflowFailException(str(cause)) from cause
    except AirflowFailException as wrapper:
        info = classify(wrapper, non_retryable=True)
    assert (info.code, info.error_class, info.retry_eligible) == ("HTTP_503", "EngineHttpError", False)


def test_engine_error_messages_mask_credentials():
    error = EngineHttpError("obiee", 401, "POST", "/run", "Authorization: Bearer abc.def password=hunter2")
    assert "hunter2" not in str(error) and "abc.def" not in str(error)


@pytest.mark.parametrize(
    ("error", "code", "retryable"),
    [
        (EngineTimeout("midas", "slow"), "TIMEOUT", True),
        (EngineConnectionError("midas", "refused"), "CONNECTION", True),
        (EngineJobFailed("powerbi", "failed", retryable=True, retry_after=4.0), "ENGINE_JOB_FAILED", True),
        (EngineResponseError("obiee", "no ReportOutput part"), "ENGINE_RESPONSE", False),
        (EngineHttpError("ssrs", 500, "GET", "/ReportServer", "rsItemNotFound", retryable=False), "HTTP_500", False),
    ],
)
def test_engine_errors_survive_a_trigger_event(error, code, retryable):
    rebuilt = engine_error_from_dict(engine_error_to_dict(error))
    assert type(rebuilt) is type(error)
    assert str(rebuilt) == str(error)
    assert (classify(rebuilt).code, rebuilt.retryable, rebuilt.retry_after) == (code, retryable, error.retry_after)


def test_retry_after_reads_seconds_and_http_dates():
    now = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Mon, 23 Nov 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Mon, 23 Nov 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
