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
