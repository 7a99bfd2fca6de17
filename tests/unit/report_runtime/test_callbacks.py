"""The task callbacks record what failed, also when Airflow reports the failure as text (a worker that died)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from report_runtime import callbacks


class _Store:
    def __init__(self) -> None:
        self.events: list[tuple] = []

    def record_event(self, request_id, event_type, actor, details):
        self.events.append((request_id, event_type, actor.task_id, details))


def _context(exception):
    return {
        "dag_run": SimpleNamespace(conf={"request_id": "req-1"}, dag_id="report__sales", run_id="run-1"),
        "ti": SimpleNamespace(task_id="generate", try_number=2),
        "exception": exception,
    }


@pytest.mark.parametrize(
    ("exception", "error_code", "message"),
    [
        (ConnectionRefusedError("engine down"), "CONNECTION", "engine down"),
        ("Task was killed externally", "TASK_ERROR", "Task was killed externally"),
        (None, "TASK_ERROR", "unknown error"),
    ],
)
def test_a_retry_is_recorded_with_its_error_in_whatever_form_it_comes(monkeypatch, exception, error_code, message):
    store = _Store()
    monkeypatch.setattr(callbacks, "request_store", lambda: store)

    callbacks.on_task_retry(_context(exception))

    assert store.events == [
        (
            "req-1",
            "RETRY",
            "generate",
            {"task": "generate", "try_number": 2, "error_code": error_code, "error": message},
        ),
    ]


def _refused(request_failed: bool):
    from report_runtime.request_context import RequestRefused
    from reporting.errors import ErrorInfo

    error = ErrorInfo("INVALID_REQUEST", "RequestRefused", "priority: must be an integer", False)
    return RequestRefused("request req-1 refused: priority", error=error, request_failed=request_failed)


@pytest.mark.parametrize("request_failed", [True, False])
def test_a_refusal_the_claim_recorded_is_not_recorded_again(monkeypatch, request_failed):
    sent = []

    def no_store():
        raise AssertionError("the claim recorded the refusal; the callback must not write it again")

    monkeypatch.setattr(callbacks, "request_store", lambda: no_store() if not request_failed else "store")
    monkeypatch.setattr(
        callbacks, "notify_failure", lambda context, request_id, error, me, store: sent.append((request_id, error.code))
    )
    context = {**_context(_refused(request_failed)), "ti": SimpleNamespace(task_id="claim", try_number=1)}

    callbacks.on_task_failure(context)

    # The failure notifications of a request the refusal failed are still due; a re-send's are not.
    assert sent == ([("req-1", "INVALID_REQUEST")] if request_failed else [])
