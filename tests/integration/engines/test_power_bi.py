"""Power BI: the real hook, operator and trigger against a local Azure AD token endpoint and Export To File API."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import timedelta
from urllib.parse import parse_qsl

import openpyxl
import pytest
from airflow.sdk.definitions.retry_policy import RetryAction
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred
from pypdf import PdfReader

from fake_engines import power_bi as fake
from fake_engines.harness import (
    claimed,
    make_definition,
    round_trip,
    run_trigger,
    set_connection,
    staged_bytes,
    task_context,
)
from hooks.power_bi import PowerBiHook
from operators.generate.power_bi import PowerBiReportOperator
from report_runtime.retry import EngineRetryPolicy
from reporting.engine_errors import EngineHttpError, EngineJobFailed, EngineTimeout
from reporting.errors import classify
from triggers.power_bi import PowerBiExportTrigger

ENGINE = {
    "type": "powerbi",
    "conn_id": "pbi_test",
    "workspace_id": fake.GROUP,
    "report_id": fake.REPORT,
    "parameter_map": {"region": "Region", "as_of": "AsOf"},
    "poll_interval": "1s",
    "timeout": "5s",
}
REPORT_API = f"/v1.0/myorg/groups/{fake.GROUP}/reports/{fake.REPORT}"


@pytest.fixture
def state():
    return fake.PowerBiState()


@pytest.fixture
def server(state, monkeypatch):
    with fake.server(state) as srv:
        set_connection(
            monkeypatch,
            "pbi_test",
            conn_type="powerbi",
            login=fake.CLIENT_ID,
            password=fake.CLIENT_SECRET,
            extra={"tenant_id": fake.TENANT, "authority": srv.url, "api_url": srv.url},
        )
        yield srv


def _operator(definition, request):
    return PowerBiReportOperator(task_id="generate", definition=definition, request=request)


def _defer(operator, try_number=1) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(task_context(try_number))
    return deferred.value


def test_hook_gets_a_client_credentials_token_and_posts_an_export_to_request(server, state):
    export_id = PowerBiHook("pbi_test").start_export(
        fake.GROUP, fake.REPORT, "PDF", {"Region": "AMER", "AsOf": "2026-11-20"}
    )

    token_request, export_request = server.requests
    assert (token_request.method, token_request.path) == ("POST", f"/{fake.TENANT}/oauth2/v2.0/token")
    assert dict(parse_qsl(token_request.body.decode())) == {
        "grant_type": "client_credentials",
        "client_id": fake.CLIENT_ID,
        "client_secret": fake.CLIENT_SECRET,
        "scope": "https://analysis.windows.net/powerbi/api/.default",
    }
    assert (export_request.method, export_request.path) == ("POST", f"{REPORT_API}/ExportTo")
    assert export_request.headers["authorization"] == f"Bearer {state.tokens[0]}"
    assert json.loads(export_request.body) == {
        "format": "PDF",
        "paginatedReportConfiguration": {
            "parameterValues": [{"name": "Region", "value": "AMER"}, {"name": "AsOf", "value": "2026-11-20"}]
        },
    }
    assert export_id in state.exports


def test_trigger_polls_each_export_honouring_retry_after_until_it_succeeds(server, state):
    hook = PowerBiHook("pbi_test")
    exports = {
        "pdf": hook.start_export(fake.GROUP, fake.REPORT, "PDF", {}),
        "csv": hook.start_export(fake.GROUP, fake.REPORT, "CSV", {}),
    }
    state.polls_until_done = 2
    trigger = PowerBiExportTrigger(
        conn_id="pbi_test",
        workspace_id=fake.GROUP,
        report_id=fake.REPORT,
        exports=exports,
        poll_interval=30,
        deadline=time.time() + 60,
        timeout=5,
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "triggers.power_bi.PowerBiExportTrigger"
    assert fake.CLIENT_SECRET not in json.dumps(kwargs) and kwargs["conn_id"] == "pbi_test"

    started = time.monotonic()
    event = run_trigger(round_trip(trigger))
    elapsed = time.monotonic() - started

    assert event.payload == {"status": "success", "exports": exports}
    polls = [r for r in server.requests if r.method == "GET" and "/exports/" in r.path]
    assert len(polls) == 6, "two Running answers and one Succeeded per export"
    # Retry-After was 1 s (not the 30 s poll interval), twice in a row.
    assert 2.0 <= elapsed < 10


def test_operator_defers_then_downloads_every_format_when_the_trigger_fires(server, store, state):
    definition = make_definition(ENGINE)
    request = claimed(store, definition, {"region": "APAC", "as_of": "2026-11-20"})
    operator = _operator(definition, request)

    deferred = _defer(operator)

    assert deferred.method_name == "execute_complete"
    assert isinstance(deferred.trigger, PowerBiExportTrigger)
    assert set(deferred.trigger.exports) == {"pdf", "xlsx", "csv"}
    assert [state.exports[i]["format"] for i in deferred.trigger.exports.values()] == ["PDF", "XLSX", "CSV"]
    assert fake.CLIENT_SECRET not in json.dumps(deferred.trigger.serialize()[1])
    assert store.get_request(request["request_id"])["status"] == "IN_PROGRESS"

    event = run_trigger(round_trip(deferred.trigger))
    artifacts = operator.execute_complete(task_context(), event.payload)

    assert [a["format"] for a in artifacts] == ["pdf", "xlsx", "csv"]
    assert "Region=APAC" in PdfReader(io.BytesIO(staged_bytes(artifacts[0]))).pages[0].extract_text()
    assert openpyxl.load_workbook(io.BytesIO(staged_bytes(artifacts[1]))).active["A2"].value == "APAC"
    assert list(csv.reader(io.StringIO(staged_bytes(artifacts[2]).decode())))[1][0] == "APAC"
    downloads = [r.path for r in server.requests if r.path.endswith("/file")]
    assert downloads == [f"{REPORT_API}/exports/{i}/file" for i in deferred.trigger.exports.values()]
    assert store.get_request(request["request_id"])["status"] == "GENERATED"


def test_a_failed_export_with_retry_after_is_retried_after_that_delay_and_the_retry_succeeds(server, store, state):
    definition = make_definition(ENGINE, formats=["pdf"])
    request = claimed(store, definition)
    operator = _operator(definition, request)
    state.fail_next, state.fail_retry_after = True, 4

    event = run_trigger(_defer(operator).trigger)
    with pytest.raises(EngineJobFailed) as failed:
        operator.execute_complete(task_context(), event.payload)

    assert (failed.value.retryable, failed.value.retry_after) == (True, 4.0)
    decision = EngineRetryPolicy().evaluate(failed.value, try_number=1, max_tries=3)
    assert (decision.action, decision.retry_delay) == (RetryAction.RETRY, timedelta(seconds=4))
    info = classify(failed.value)
    assert (info.code, info.retry_eligible) == ("ENGINE_JOB_FAILED", True)
    assert info.message.startswith("powerbi: export ") and "capacity overloaded" in info.message

    second = _defer(operator, try_number=2)
    [artifact] = operator.execute_complete(task_context(2), run_trigger(second.trigger).payload)

    assert staged_bytes(artifact).startswith(b"%PDF-")
    assert store.get_request(request["request_id"])["status"] == "GENERATED"


def test_a_failed_export_without_retry_after_fails_at_once(server, store, state):
    definition = make_definition(ENGINE, formats=["pdf"])
    operator = _operator(definition, claimed(store, definition))
    state.fail_next = True

    event = run_trigger(_defer(operator).trigger)
    with pytest.raises(AirflowFailException) as failed:
        operator.execute_complete(task_context(), event.payload)

    info = classify(failed.value, non_retryable=True)
    assert (info.code, info.retry_eligible) == ("ENGINE_JOB_FAILED", False)


@pytest.mark.parametrize(
    ("engine_change", "region", "status", "detail"),
    [
        ({"report_id": "00000000-0000-4000-8000-000000000000"}, "EMEA", 404, "ItemNotFound"),
        ({}, "MARS", 400, "InvalidParameterValue"),
    ],
)
def test_an_unknown_report_or_a_rejected_parameter_fails_before_deferring(
    server, store, engine_change, region, status, detail
):
    definition = make_definition({**ENGINE, **engine_change}, formats=["pdf"])
    request = claimed(store, definition, {"region": region, "as_of": "2026-11-20"})

    with pytest.raises(AirflowFailException) as failed:
        _operator(definition, request).execute(task_context())

    info = classify(failed.value, non_retryable=True)
    assert (info.code, info.retry_eligible) == (f"HTTP_{status}", False)
    assert info.message.startswith(f"powerbi: HTTP {status} on POST") and detail in info.message


def test_a_wrong_client_secret_fails_at_once_and_is_never_recorded(server, store, monkeypatch):
    set_connection(
        monkeypatch,
        "pbi_test",
        conn_type="powerbi",
        login=fake.CLIENT_ID,
        password="bad-secret-777",
        extra={"tenant_id": fake.TENANT, "authority": server.url, "api_url": server.url},
    )
    definition = make_definition(ENGINE, formats=["pdf"])

    with pytest.raises(AirflowFailException) as failed:
        _operator(definition, claimed(store, definition)).execute(task_context())

    info = classify(failed.value, non_retryable=True)
    assert (info.code, info.retry_eligible) == ("HTTP_401", False)
    assert "Invalid client secret provided" in info.message and "bad-secret-777" not in info.message


def test_transient_status_errors_while_polling_do_not_end_the_wait(server, store, state):
    definition = make_definition(ENGINE, formats=["csv"])
    operator = _operator(definition, claimed(store, definition))
    deferred = _defer(operator)
    server.fail("/exports/", 503, headers={"Retry-After": "1"}, times=2, method="GET")

    event = run_trigger(deferred.trigger)

    assert event.payload["status"] == "success"
    assert [a["format"] for a in operator.execute_complete(task_context(), event.payload)] == ["csv"]


def test_an_export_that_outlives_the_deadline_is_a_retryable_timeout(server, store, state):
    definition = make_definition(ENGINE, formats=["pdf"], execution_timeout="2s")
    operator = _operator(definition, claimed(store, definition))
    state.polls_until_done, state.retry_after = 100, 5

    deferred = _defer(operator)
    started = time.monotonic()
    event = run_trigger(deferred.trigger)

    assert time.monotonic() - started < 2, "the trigger stops as soon as the next poll would pass the deadline"
    with pytest.raises(EngineTimeout) as failed:
        operator.execute_complete(task_context(), event.payload)
    info = classify(failed.value)
    assert (info.code, info.retry_eligible) == ("TIMEOUT", True)
    assert "exports not finished by the task's deadline" in info.message


def test_an_export_request_that_gets_no_answer_in_time_is_a_retryable_timeout(server, store):
    definition = make_definition({**ENGINE, "timeout": "0.5s"}, formats=["pdf"])
    server.fail("/ExportTo", 202, delay=1.5)

    with pytest.raises(EngineTimeout) as failed:
        _operator(definition, claimed(store, definition)).execute(task_context())

    info = classify(failed.value)
    assert (info.code, info.retry_eligible) == ("TIMEOUT", True)
    assert info.message.startswith("powerbi: no answer to POST ") and "within 0.5 s" in info.message


def test_a_throttled_export_request_is_retried_after_retry_after(server, store):
    definition = make_definition(ENGINE, formats=["pdf"])
    operator = _operator(definition, claimed(store, definition))
    server.fail(
        "/ExportTo",
        429,
        headers={"Retry-After": "12", "Content-Type": "application/json"},
        body=b'{"error": {"code": "TooManyRequests", "message": "too many exports"}}',
    )

    with pytest.raises(EngineHttpError) as failed:
        operator.execute(task_context())

    decision = EngineRetryPolicy().evaluate(failed.value, try_number=1, max_tries=3)
    assert (decision.action, decision.retry_delay) == (RetryAction.RETRY, timedelta(seconds=12))
    assert isinstance(_defer(operator, 2).trigger, PowerBiExportTrigger), "the retry starts the export"
