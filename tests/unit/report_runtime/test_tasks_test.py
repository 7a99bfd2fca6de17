"""A task run alone by `airflow tasks test` derives claim's request, or says in one line what to run instead."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowFailException

from report_runtime import tasks_test
from report_runtime.tasks_test import (
    is_tasks_test_run,
    missing_upstream_hint,
    refuse_missing_upstream,
    refuse_scheduler_takeover,
    run_date_argument,
    scheduler_hint,
    upstream_request,
)

TEMPORARY = "__airflow_temporary_run_2026-12-03T17:32:30.122816+00:00__"
JUNE_FIRST = datetime(2026, 6, 1, tzinfo=UTC)


def _run(run_id: str = TEMPORARY, logical_date: datetime | None = JUNE_FIRST) -> SimpleNamespace:
    return SimpleNamespace(run_id=run_id, dag_id="report__sales_summary", logical_date=logical_date, conf=None)


def test_only_the_temporary_run_of_tasks_test_is_a_tasks_test_run():
    assert is_tasks_test_run(_run())
    for run_id in ("manual__2026-06-01T00:00:00+00:00", "scheduled__2026-06-01", "adhoc__REQ-1", ""):
        assert not is_tasks_test_run(_run(run_id))
    assert not is_tasks_test_run(None)


def test_the_run_date_reads_as_the_command_takes_it():
    assert run_date_argument(JUNE_FIRST) == "2026-06-01"
    assert run_date_argument(datetime(2026, 6, 1, 6, 30, tzinfo=UTC)) == "2026-06-01T06:30:00+00:00"
    assert run_date_argument(None) == "<date>"


def test_the_hints_are_one_line_naming_the_commands():
    hint = missing_upstream_hint("report__sales_summary", "distribute", "2026-06-01")
    assert hint == (
        "distribute needs generate's files, which a tasks-test run does not have: "
        "run `airflow dags test report__sales_summary 2026-06-01` first, then "
        "`airflow tasks test report__sales_summary distribute 2026-06-01 --map-index 0` runs it in that run"
    )
    assert "--map-index" not in missing_upstream_hint("report__sales_summary", "finalize", "2026-06-01")
    paused = scheduler_hint("report__sales_summary")
    assert "`airflow dags pause report__sales_summary`" in paused
    for line in (hint, paused):
        assert "\n" not in line


def test_a_tasks_test_run_started_by_a_scheduler_stops_at_once(monkeypatch):
    monkeypatch.delenv("AIRFLOW_TEST_MODE", raising=False)
    with pytest.raises(AirflowFailException, match=r"started by a scheduler.*airflow dags pause report__sales_summary"):
        refuse_scheduler_takeover(_run())
    refuse_scheduler_takeover(_run("manual__1"))  # an ordinary run: the scheduler's own
    monkeypatch.setenv("AIRFLOW_TEST_MODE", "True")  # what `airflow tasks test` sets in its own process
    refuse_scheduler_takeover(_run())


class _Claim:
    def __init__(self) -> None:
        self.contexts: list[dict] = []

    def execute(self, context):
        self.contexts.append(context)
        return {"request_id": "req-test", "targets": []}


def _task(request=None, claim=None, task_id="generate"):
    dag = SimpleNamespace(task_dict={"claim": claim} if claim else {})
    return SimpleNamespace(task_id=task_id, request=request, dag=dag)


def test_claims_request_is_used_when_there_is_one():
    assert upstream_request(_task({"request_id": "req-1"}), {"dag_run": _run()}) == {"request_id": "req-1"}


def test_without_claims_request_a_tasks_test_run_does_claims_work_first():
    claim = _Claim()
    context = {"dag_run": _run()}
    assert upstream_request(_task(claim=claim), context) == {"request_id": "req-test", "targets": []}
    assert claim.contexts == [context]


def test_without_claims_request_an_ordinary_run_fails_naming_it():
    with pytest.raises(AirflowFailException, match="generate: the request from claim is missing"):
        upstream_request(_task(claim=_Claim()), {"dag_run": _run("manual__1")})


def test_a_dag_without_a_claim_task_gets_the_dags_test_hint():
    with pytest.raises(AirflowFailException, match="run `airflow dags test report__sales_summary 2026-06-01`"):
        upstream_request(_task(), {"dag_run": _run()})


def test_a_task_missing_upstream_output_fails_at_once_with_the_hint_in_a_tasks_test_run_only():
    finalize = _task(task_id="finalize")
    with pytest.raises(AirflowFailException) as caught:
        refuse_missing_upstream(finalize, {"dag_run": _run()}, None, None)
    assert str(caught.value) == missing_upstream_hint("report__sales_summary", "finalize", "2026-06-01")
    refuse_missing_upstream(finalize, {"dag_run": _run()}, {"request_id": "r"}, {"artifacts": []})
    refuse_missing_upstream(finalize, {"dag_run": _run("manual__1")}, None, None)


def test_every_task_that_cannot_derive_its_input_has_a_hint():
    assert set(tasks_test.NEEDS_UPSTREAM) == {"distribute", "notify", "finalize"}
    assert set(tasks_test.NEEDS_UPSTREAM) >= tasks_test.MAPPED_TASKS
