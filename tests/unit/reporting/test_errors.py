"""Error classification and secret masking for the error log."""

from __future__ import annotations

import socket

import pytest

from reporting.definition import InvalidParameters
from reporting.errors import MAX_MESSAGE, classify, mask_secrets


@pytest.mark.parametrize(
    ("exc", "code", "retry"),
    [
        (InvalidParameters(["parameters.region: 'X' is not allowed"]), "INVALID_PARAMETERS", False),
        (TimeoutError("read timed out"), "TIMEOUT", True),
        (ConnectionRefusedError("refused"), "CONNECTION", True),
        (socket.gaierror("no such host"), "CONNECTION", True),
        (RuntimeError("boom"), "TASK_ERROR", True),
    ],
)
def test_classification(exc, code, retry):
    info = classify(exc)
    assert (info.code, info.error_class, info.retry_eligible) == (code, type(exc).__name__, retry)


def test_fail_fast_errors_are_not_retry_eligible():
    assert classify(RuntimeError("bad request"), non_retryable=True).code == "NON_RETRYABLE"
    assert classify(ConnectionError("x"), non_retryable=True).retry_eligible is False


@pytest.mark.parametrize(
    "text",
    [
        "connect postgresql://bi:hunter2@db:5432/x failed",
        "login failed: password=hunter2",
        "Authorization: Bearer hunter2",
        "api_key: hunter2",
    ],
)
def test_credentials_are_masked(text):
    masked = mask_secrets(text)
    assert "hunter2" not in masked and "***" in masked


def test_messages_are_truncated():
    assert len(classify(RuntimeError("x" * 10_000)).message) == MAX_MESSAGE


# --- engine errors ----------------------------------------------------------------------------

from datetime import datetime, timezone  # noqa: E402

from reporting.errors import (  # noqa: E402
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


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(400, False), (401, False), (403, False), (404, False), (422, False), (408, True), (429, True),
     (500, True), (502, True), (503, True), (504, True)],
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
    now = datetime(2026, 11, 23, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Mon, 23 Nov 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Mon, 23 Nov 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
