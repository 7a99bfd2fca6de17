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


class _TestRunStore:
    """The store calls a tasks-test run's callbacks make."""

    def __init__(self, recorded: bool = True) -> None:
        self.recorded = recorded
        self.errors: list[tuple] = []
        self.ends: list[tuple] = []

    def get_request(self, request_id):
        return {"request_id": request_id, "status": "IN_PROGRESS"} if self.recorded else None

    def record_error(self, request_id, error, actor):
        self.errors.append((request_id, error.error_class, error.message))

    def end_tasks_test_request(self, request_id, actor, *, succeeded, details, last_error):
        self.ends.append((request_id, succeeded, details, last_error))
        return "COMPLETED" if succeeded else "FAILED"


def _tasks_test_context(task_id="generate", exception=None):
    return {
        "dag_run": SimpleNamespace(
            conf=None,
            dag_id="report__sales",
            run_id="__airflow_temporary_run_2026-12-03T17:32:30+00:00__",
            logical_date=None,
        ),
        "ti": SimpleNamespace(task_id=task_id, try_number=1),
        "exception": exception,
    }


def test_a_tasks_test_run_ends_its_request_completed_when_its_task_succeeds(monkeypatch):
    store = _TestRunStore()
    monkeypatch.setattr(callbacks, "request_store", lambda: store)

    callbacks.on_task_success(_tasks_test_context())

    [(_, succeeded, details, last_error)] = store.ends
    assert (succeeded, details, last_error) == (True, {"tasks_test": "generate", "outcome": "success"}, None)
    assert store.errors == []


@pytest.mark.parametrize("callback", [callbacks.on_task_retry, callbacks.on_task_failure])
def test_a_failed_tasks_test_ends_its_request_failed_and_neither_pauses_sending_nor_notifies(monkeypatch, callback):
    store = _TestRunStore()
    monkeypatch.setattr(callbacks, "request_store", lambda: store)
    monkeypatch.setattr(callbacks, "pause_sending", lambda *a: pytest.fail("a test never pauses sending"))
    monkeypatch.setattr(callbacks, "notify_failure", lambda *a: pytest.fail("a test never notifies"))

    callback(_tasks_test_context(exception=ConnectionRefusedError("engine down")))

    assert [e[1:] for e in store.errors] == [("ConnectionRefusedError", "engine down")]
    [(_, succeeded, _, last_error)] = store.ends
    assert (succeeded, last_error) == (False, "generate: ConnectionRefusedError: engine down")


def test_a_skipped_tasks_test_ends_its_request_failed_so_reports_retry_never_resends_it(monkeypatch):
    store = _TestRunStore()
    monkeypatch.setattr(callbacks, "request_store", lambda: store)

    callbacks.on_task_skipped(_tasks_test_context())

    [(_, succeeded, details, last_error)] = store.ends
    assert (succeeded, details["outcome"]) == (False, "skipped")
    assert "REPORTING_SEND_REPORTS" in last_error


def test_ordinary_runs_ignore_the_success_and_skip_callbacks(monkeypatch):
    monkeypatch.setattr(callbacks, "request_store", lambda: pytest.fail("no store call for an ordinary run"))
    callbacks.on_task_success(_context(None))
    callbacks.on_task_skipped(_context(None))


def test_a_mapped_task_that_failed_before_it_could_say_why_logs_the_hint(monkeypatch, caplog):
    store = _TestRunStore(recorded=False)
    monkeypatch.setattr(callbacks, "request_store", lambda: store)

    callbacks.on_task_retry(_tasks_test_context("distribute", KeyError("target")))

    assert store.errors == [], "no request was recorded: there is no error row to write"
    assert "distribute needs generate's files" in caplog.text
    assert "`airflow dags test report__sales <date>` first" in caplog.text


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
