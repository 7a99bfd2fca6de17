"""MIDAS: the real hook, operator and trigger against a local server implementing plugins/hooks/MIDAS_API.md."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from datetime import timedelta

import openpyxl
import pytest
from airflow.sdk.definitions.retry_policy import RetryAction
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from fake_engines import midas as fake
from fake_engines.harness import (
    claimed,
    closed_port,
    make_definition,
    round_trip,
    run_trigger,
    set_connection,
    staged_bytes,
    task_context,
)
from hooks.midas import MidasHook
from operators.generate.midas import MidasReportOperator
from report_runtime.retry import EngineRetryPolicy
from reporting.engine_errors import EngineConnectionError, EngineHttpError, EngineJobFailed, EngineTimeout
from reporting.errors import classify
from triggers.midas import MidasJobTrigger

ENGINE = {"type": "midas", "conn_id": "midas_test", "report": "risk_positions", "poll_interval": "1s", "timeout": "5s"}


@pytest.fixture
def state():
    return fake.MidasState()


@pytest.fixture
def server(state, monkeypatch):
    with fake.server(state) as srv:
        set_connection(monkeypatch, "midas_test", conn_type="midas", host=srv.url, password=fake.API_KEY)
        yield srv


def _operator(definition, request):
    return MidasReportOperator(task_id="generate", definition=definition, request=request)


def _defer(operator, try_number=1) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(task_context(try_number))
    return deferred.value


def test_hook_submits_a_json_job_with_the_api_key_header(server, state):
    job_id = MidasHook("midas_test").submit("risk_positions", "xlsx", {"region": "AMER"})

    [sent] = server.requests
    assert (sent.method, sent.path) == ("POST", "/api/v1/jobs")
    assert sent.headers["x-api-key"] == fake.API_KEY
    assert json.loads(sent.body) == {"report": "risk_positions", "format": "xlsx", "parameters": {"region": "AMER"}}
    assert state.jobs[job_id]["status"] == "QUEUED"


def test_operator_submits_defers_and_downloads_every_format_when_the_trigger_fires(server, store, state):
    definition = make_definition(ENGINE)
    request = claimed(store, definition, {"region": "APAC", "as_of": "2026-11-20"})
    operator = _operator(definition, request)

    deferred = _defer(operator)
    classpath, kwargs = deferred.trigger.serialize()

    assert classpath == "triggers.midas.MidasJobTrigger" and fake.API_KEY not in json.dumps(kwargs)
    assert [state.jobs[j]["format"] for j in deferred.trigger.exports.values()] == ["pdf", "xlsx", "csv"]
    submitted = [json.loads(r.body)["parameters"] for r in server.requests if r.method == "POST"]
    assert submitted == [{"region": "APAC", "as_of": "2026-11-20"}] * 3

    event = run_trigger(round_trip(deferred.trigger))
    artifacts = operator.execute_complete(task_context(), event.payload)

    assert event.payload == {"status": "success", "exports": deferred.trigger.exports}
    assert [a["format"] for a in artifacts] == ["pdf", "xlsx", "csv"]
    assert staged_bytes(artifacts[0]).startswith(b"%PDF-")
    assert openpyxl.load_workbook(io.BytesIO(staged_bytes(artifacts[1]))).active["A2"].value == "APAC"
    assert list(csv.reader(io.StringIO(staged_bytes(artifacts[2]).decode())))[1] == ["APAC", "product-1", "10"]
    assert store.get_request(request["request_id"])["status"] == "GENERATED"


def test_a_throttled_submission_is_retried_after_retry_after_and_the_retry_succeeds(server, store):
    definition = make_definition(ENGINE, formats=["csv"])
    operator = _operator(definition, claimed(store, definition))
    server.fail(
        "/api/v1/jobs",
        429,
        headers={"Retry-After": "6", "Content-Type": "application/json"},
        body=b'{"error": {"code": "THROTTLED", "message": "too many jobs"}}',
        method="POST",
    )

    with pytest.raises(EngineHttpError) as failed:
        operator.execute(task_context(1))

    decision = EngineRetryPolicy().evaluate(failed.value, try_number=1, max_tries=3)
    assert (decision.action, decision.retry_delay) == (RetryAction.RETRY, timedelta(seconds=6))
    assert "THROTTLED: too many jobs" in classify(failed.value).message

    deferred = _defer(operator, 2)
    [artifact] = operator.execute_complete(task_context(2), run_trigger(deferred.trigger).payload)
    assert staged_bytes(artifact).startswith(b"region,product,units")


@pytest.mark.parametrize(("retryable", "raised"), [(True, EngineJobFailed), (False, AirflowFailException)])
def test_a_failed_job_is_retried_only_when_midas_says_it_may_succeed(server, store, state, retryable, raised):
    definition = make_definition(ENGINE, formats=["pdf"])
    operator = _operator(definition, claimed(store, definition))
    state.fail_next, state.fail_retryable = True, retryable

    event = run_trigger(_defer(operator).trigger)
    with pytest.raises(raised) as failed:
        operator.execute_complete(task_context(), event.payload)

    info = classify(failed.value, non_retryable=raised is AirflowFailException)
    assert (info.code, info.retry_eligible) == ("ENGINE_JOB_FAILED", retryable)
    assert "WAREHOUSE_BUSY: the warehouse timed out" in info.message


@pytest.mark.parametrize(
    ("engine_change", "region", "status", "code"),
    [({"report": "no_such_report"}, "EMEA", 404, "REPORT_NOT_FOUND"), ({}, "MARS", 400, "INVALID_PARAMETERS")],
)
def test_an_unknown_report_or_bad_parameters_fail_at_once(server, store, engine_change, region, status, code):
    definition = make_definition({**ENGINE, **engine_change}, formats=["pdf"])
    request = claimed(store, definition, {"region": region, "as_of": "2026-11-20"})

    with pytest.raises(AirflowFailException) as failed:
        _operator(definition, request).execute(task_context())

    info = classify(failed.value, non_retryable=True)
    assert (info.code, info.retry_eligible) == (f"HTTP_{status}", False)
    assert info.message.startswith(f"midas: HTTP {status} on POST /api/v1/jobs: {code}")


def test_a_wrong_api_key_fails_at_once_and_is_never_recorded(server, store, monkeypatch):
    set_connection(monkeypatch, "midas_test", conn_type="midas", host=server.url, password="wrong-key-31337")
    definition = make_definition(ENGINE, formats=["pdf"])

    with pytest.raises(AirflowFailException) as failed:
        _operator(definition, claimed(store, definition)).execute(task_context())

    info = classify(failed.value, non_retryable=True)
    assert info.code == "HTTP_401" and "wrong-key-31337" not in info.message


def test_a_job_that_outlives_the_deadline_is_a_retryable_timeout(server, store, state):
    definition = make_definition(ENGINE, formats=["pdf"], execution_timeout="2s")
    operator = _operator(definition, claimed(store, definition))
    state.polls_until_done, state.retry_after = 100, 5

    event = run_trigger(_defer(operator).trigger)

    with pytest.raises(EngineTimeout) as failed:
        operator.execute_complete(task_context(), event.payload)
    assert (classify(failed.value).code, classify(failed.value).retry_eligible) == ("TIMEOUT", True)
    # the retry submits a new job, so the one given up on is cancelled rather than left running on MIDAS
    assert {job["status"] for job in state.jobs.values()} == {"CANCELLED"}


def test_a_job_that_fails_cancels_the_other_jobs_of_the_same_try(server, store, state):
    definition = make_definition(ENGINE, formats=["pdf", "csv"])
    operator = _operator(definition, claimed(store, definition))
    state.fail_next = True  # the pdf job, submitted first
    trigger = _defer(operator).trigger
    state.jobs[trigger.exports["csv"]]["polls"] = -100  # the csv job is still running when the pdf one fails

    event = run_trigger(trigger)

    assert event.payload["status"] == "error"
    assert state.jobs[trigger.exports["pdf"]]["status"] == "FAILED"
    assert state.jobs[trigger.exports["csv"]]["status"] == "CANCELLED"
    deletes = [r.path for r in server.requests if r.method == "DELETE"]
    assert deletes == [f"/api/v1/jobs/{trigger.exports['csv']}"], "the failed job itself is not cancelled"


def test_a_submission_that_fails_part_way_cancels_the_jobs_already_submitted(server, store, state):
    definition = make_definition({**ENGINE, "format_map": {"csv": "no_such_format"}}, formats=["pdf", "csv"])
    operator = _operator(definition, claimed(store, definition))

    with pytest.raises(AirflowFailException, match="INVALID_FORMAT"):
        operator.execute(task_context())

    [(job_id, job)] = state.jobs.items()
    assert (job["format"], job["status"]) == ("pdf", "CANCELLED")
    assert [r.path for r in server.requests if r.method == "DELETE"] == [f"/api/v1/jobs/{job_id}"]


def test_a_status_request_that_hangs_is_tolerated_as_a_transient_error(server, store, state):
    definition = make_definition({**ENGINE, "timeout": "0.5s"}, formats=["csv"])
    operator = _operator(definition, claimed(store, definition))
    deferred = _defer(operator)
    server.fail("/api/v1/jobs/", 200, delay=1.5, method="GET")

    event = run_trigger(deferred.trigger)

    assert event.payload["status"] == "success"


def test_on_kill_cancels_the_submitted_jobs(server, store, state):
    definition = make_definition(ENGINE, formats=["pdf", "csv"])
    operator = _operator(definition, claimed(store, definition))
    deferred = _defer(operator)

    operator.on_kill()

    assert {state.jobs[j]["status"] for j in deferred.trigger.exports.values()} == {"CANCELLED"}
    assert [r.method for r in server.requests].count("DELETE") == 2


def test_trigger_on_kill_cancels_the_jobs_it_waits_for(server, state):
    hook = MidasHook("midas_test")
    jobs = {"pdf": hook.submit("risk_positions", "pdf", {})}
    trigger = MidasJobTrigger(conn_id="midas_test", exports=jobs, poll_interval=1, deadline=time.time() + 30, timeout=5)

    asyncio.run(trigger.on_kill())

    assert state.jobs[jobs["pdf"]]["status"] == "CANCELLED"


def test_a_download_that_does_not_match_the_announced_result_is_refused(server, state, tmp_path):
    hook = MidasHook("midas_test")
    job_id = hook.submit("risk_positions", "pdf", {})
    state.polls_until_done = 0
    assert hook.get_job(job_id).done
    state.truncate_downloads = True

    with pytest.raises(Exception) as failed:
        hook.download(job_id, tmp_path / "r.pdf", "pdf")

    # the document exists on MIDAS; only this transfer broke, so a retry may well succeed
    assert (classify(failed.value).code, classify(failed.value).retry_eligible) == ("ENGINE_TRANSFER", True)
    assert not (tmp_path / "r.pdf").exists()


def test_an_unreachable_midas_is_a_retryable_connection_error(store, monkeypatch):
    set_connection(
        monkeypatch, "midas_test", conn_type="midas", host=f"http://127.0.0.1:{closed_port()}", password=fake.API_KEY
    )
    definition = make_definition(ENGINE, formats=["pdf"])

    with pytest.raises(EngineConnectionError):
        _operator(definition, claimed(store, definition)).execute(task_context())
