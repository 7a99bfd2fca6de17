"""Error classification for the error log, and the cause chain it reads."""

from __future__ import annotations

import socket

import pytest

from reporting.definition import InvalidParameters
from reporting.errors import MAX_MESSAGE, cause_chain, classify, engine_error_of


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


def test_messages_are_truncated():
    assert len(classify(RuntimeError("x" * 10_000)).message) == MAX_MESSAGE


def test_the_cause_chain_follows_causes_then_contexts():
    root, middle, outer = OSError("disk"), RuntimeError("copy failed"), ValueError("outer")
    middle.__cause__ = root  # raise ... from
    middle.__context__ = KeyError("hidden by the explicit cause")
    outer.__context__ = middle  # raised while handling

    assert list(cause_chain(outer)) == [outer, middle, root]


def test_the_cause_chain_stops_where_it_loops_back():
    first, second = RuntimeError("a"), RuntimeError("b")
    first.__cause__, second.__cause__ = second, first

    assert list(cause_chain(first)) == [first, second]
    assert engine_error_of(first) is None
