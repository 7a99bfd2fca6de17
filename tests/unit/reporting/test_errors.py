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
