"""OBIEE / BI Publisher: the real hook and operator against a local server that follows the REST API."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from datetime import timedelta

import openpyxl
import pytest
from airflow.sdk.definitions.retry_policy import RetryAction
from airflow.sdk.exceptions import AirflowFailException
from pypdf import PdfReader

from fake_engines import bi_publisher as fake
from fake_engines.harness import claimed, closed_port, make_definition, set_connection, staged_bytes, task_context
from hooks.bi_publisher import BiPublisherHook
from operators.generate.bi_publisher import BiPublisherReportOperator
from report_runtime.retry import EngineRetryPolicy
from reporting.engine_errors import EngineConnectionError, EngineHttpError, EngineTimeout
from reporting.errors import classify

RUN_PATH = "/xmlpserver/services/rest/v1/reports/%2FFinance%2FSales%20Detail.xdo/run"
ENGINE = {
    "type": "obiee",
    "conn_id": "bip_test",
    "report_path": "/Finance/Sales Detail.xdo",
    "parameter_map": {"region": "P_REGION", "as_of": "P_AS_OF"},
    "timeout": "2s",
}


@pytest.fixture
def server(monkeypatch):
    with fake.server() as srv:
        set_connection(
            monkeypatch, "bip_test", conn_type="bi_publisher", host=srv.url, login=fake.USER, password=fake.PASSWORD
        )
        yield srv


def _operator(definition, request, **kwargs):
    return BiPublisherReportOperator(task_id="generate", definition=definition, request=request, **kwargs)


def test_hook_posts_a_multipart_report_request_and_keeps_the_report_output(server, tmp_path):
    dest = tmp_path / "out.pdf"

    result = BiPublisherHook("bip_test").run_report(
        "/Finance/Sales Detail.xdo",
        "pdf",
        {"P_REGION": "AMER", "P_AS_OF": "2026-11-20"},
        dest,
        "pdf",
        template="Default",
        locale="en-GB",
    )

    [sent] = server.requests
    assert (sent.method, sent.path) == ("POST", RUN_PATH)
    assert (
        sent.headers["authorization"] == "Basic " + base64.b64encode(f"{fake.USER}:{fake.PASSWORD}".encode()).decode()
    )
    assert sent.headers["content-type"].startswith("multipart/form-data; boundary=")
    parts = fake.form_parts(sent)
    assert list(parts) == ["ReportRequest"] and parts["ReportRequest"][0] == "application/json"
    assert fake.report_request_of(sent) == {
        "attributeFormat": "pdf",
        "byPassCache": True,
        "flattenXML": False,
        "attributeTemplate": "Default",
        "attributeLocale": "en-GB",
        "parameterNameValues": {
            "listOfParamNameValues": {
                "item": [
                    {"name": "P_REGION", "values": {"item": ["AMER"]}},
                    {"name": "P_AS_OF", "values": {"item": ["2026-11-20"]}},
                ]
            }
        },
    }
    data = dest.read_bytes()
    assert data.startswith(b"%PDF-") and b"ReportResponse" not in data, "only the ReportOutput part is kept"
    text = PdfReader(dest).pages[0].extract_text()
    assert "Sales detail" in text and "P_REGION=AMER" in text
    assert (result.format, result.bytes, result.sha256, result.rows) == (
        "pdf",
        len(data),
        hashlib.sha256(data).hexdigest(),
        None,
    )


def test_hook_sends_a_bearer_token_when_the_connection_says_so(server, tmp_path, monkeypatch):
    set_connection(
        monkeypatch,
        "bip_token",
        conn_type="bi_publisher",
        host=server.url,
        password=fake.TOKEN,
        extra={"auth_type": "bearer"},
    )

    BiPublisherHook("bip_token").run_report("/Shared/Ops/Stock.xdo", "csv", {}, tmp_path / "s.csv", "csv")

    [sent] = server.requests
    assert sent.headers["authorization"] == f"Bearer {fake.TOKEN}"
    assert sent.path == "/xmlpserver/services/rest/v1/reports/%2FShared%2FOps%2FStock.xdo/run"
    assert "parameterNameValues" not in fake.report_request_of(sent)


def test_operator_generates_pdf_xlsx_csv_stages_them_and_marks_the_request_generated(server, store):
    definition = make_definition(ENGINE)
    request = claimed(store, definition, {"region": "APAC", "as_of": "2026-11-20"})

    artifacts = _operator(definition, request).execute(task_context())

    assert [a["format"] for a in artifacts] == ["pdf", "xlsx", "csv"]
    assert [fake.report_request_of(r)["attributeFormat"] for r in server.requests] == ["pdf", "xlsx", "csv"]
    for artifact in artifacts:
        data = staged_bytes(artifact)
        assert (len(data), hashlib.sha256(data).hexdigest()) == (artifact["bytes"], artifact["sha256"])
        assert f"/engine_report/2026-11-20/{request['request_id']}/" in artifact["uri"]
    sheet = openpyxl.load_workbook(io.BytesIO(staged_bytes(artifacts[1]))).active
    assert [c.value for c in sheet[2]][:1] == ["APAC"]
    rows = list(csv.reader(io.StringIO(staged_bytes(artifacts[2]).decode())))
    assert rows[0] == ["region", "product", "units"] and rows[1][0] == "APAC"
    assert store.get_request(request["request_id"])["status"] == "GENERATED"


def test_a_503_with_retry_after_is_retried_after_that_delay_and_the_retry_succeeds(server, store):
    definition = make_definition(ENGINE, formats=["pdf"])
    request = claimed(store, definition)
    server.fail("/run", 503, headers={"Retry-After": "7"}, body=b"Service Unavailable")
    operator = _operator(definition, request)

    with pytest.raises(EngineHttpError) as failed:
        operator.execute(task_context(try_number=1))

    error = failed.value
    assert (error.status, error.retryable, error.retry_after) == (503, True, 7.0)
    decision = EngineRetryPolicy().evaluate(error, try_number=1, max_tries=3)
    assert (decision.action, decision.retry_delay) == (RetryAction.RETRY, timedelta(seconds=7))
    info = classify(error)
    assert (info.code, info.retry_eligible) == ("HTTP_503", True)
    assert info.message.startswith("obiee: HTTP 503 on POST") and "retry after 7 s" in info.message
    assert store.get_request(request["request_id"])["status"] == "IN_PROGRESS"

    [artifact] = operator.execute(task_context(try_number=2))

    assert staged_bytes(artifact).startswith(b"%PDF-")
    assert len(server.requests) == 2
    assert store.get_request(request["request_id"])["status"] == "GENERATED"


@pytest.mark.parametrize(
    ("report_path", "region", "status", "detail"),
    [
        ("/Finance/Missing.xdo", "EMEA", 404, "Report not found"),
        ("/Finance/Sales Detail.xdo", "MARS", 500, "InvalidParametersException"),
    ],
)
def test_an_unknown_report_or_a_rejected_parameter_fails_at_once(server, store, report_path, region, status, detail):
    definition = make_definition({**ENGINE, "report_path": report_path}, formats=["pdf"])
    request = claimed(store, definition, {"region": region, "as_of": "2026-11-20"})

    with pytest.raises(AirflowFailException) as failed:
        _operator(definition, request).execute(task_context())

    assert len(server.requests) == 1, "no retry inside the task"
    info = classify(failed.value, non_retryable=True)
    assert (info.code, info.error_class, info.retry_eligible) == (f"HTTP_{status}", "EngineHttpError", False)
    assert info.message.startswith(f"obiee: HTTP {status} on POST") and detail in info.message
    assert "not retryable" in info.message
    assert EngineRetryPolicy().evaluate(failed.value.__cause__, 1, 3).action is RetryAction.FAIL


def test_wrong_credentials_fail_at_once_and_the_error_holds_no_credential(server, store, monkeypatch):
    set_connection(
        monkeypatch, "bip_test", conn_type="bi_publisher", host=server.url, login=fake.USER, password="wrong-pass-xyz"
    )
    definition = make_definition(ENGINE, formats=["pdf"])

    with pytest.raises(AirflowFailException) as failed:
        _operator(definition, claimed(store, definition)).execute(task_context())

    info = classify(failed.value, non_retryable=True)
    assert (info.code, info.retry_eligible) == ("HTTP_401", False)
    assert "wrong-pass-xyz" not in info.message and fake.USER not in info.message


def test_a_server_that_does_not_answer_in_time_is_a_retryable_timeout(server, store):
    definition = make_definition({**ENGINE, "timeout": "0.5s"}, formats=["pdf"])
    request = claimed(store, definition)
    server.fail("/run", 200, delay=1.5)

    with pytest.raises(EngineTimeout) as failed:
        _operator(definition, request).execute(task_context())

    info = classify(failed.value)
    assert (info.code, info.retry_eligible) == ("TIMEOUT", True)
    assert info.message == "obiee: no answer to POST " + RUN_PATH + " within 0.5 s (retryable)"
    assert EngineRetryPolicy().evaluate(failed.value, 1, 3).action is RetryAction.DEFAULT


def test_an_unreachable_server_is_a_retryable_connection_error(store, monkeypatch):
    set_connection(
        monkeypatch,
        "bip_test",
        conn_type="bi_publisher",
        host=f"http://127.0.0.1:{closed_port()}",
        login=fake.USER,
        password=fake.PASSWORD,
    )
    definition = make_definition(ENGINE, formats=["pdf"])

    with pytest.raises(EngineConnectionError) as failed:
        _operator(definition, claimed(store, definition)).execute(task_context())

    assert (classify(failed.value).code, classify(failed.value).retry_eligible) == ("CONNECTION", True)
    assert fake.PASSWORD not in str(failed.value)


def test_a_reply_that_is_not_multipart_is_refused(server, store, tmp_path):
    server.fail("/run", 200, headers={"Content-Type": "text/html"}, body=b"<html>login</html>")

    with pytest.raises(Exception) as failed:
        BiPublisherHook("bip_test").run_report("/Finance/Sales Detail.xdo", "pdf", {}, tmp_path / "x.pdf", "pdf")

    info = classify(failed.value)
    assert (info.code, info.retry_eligible) == ("ENGINE_RESPONSE", False)
    assert "expected a multipart response" in info.message


def test_a_reply_cut_short_is_a_retryable_transfer_error(server, store, tmp_path):
    boundary = "Boundary_cut"
    cut = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="ReportOutput"\r\n\r\n'.encode()
        + b"%PDF-1.7 the first bytes of the document and no closing boundary"
    )
    server.fail("/run", 200, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}, body=cut)

    with pytest.raises(Exception) as failed:
        BiPublisherHook("bip_test").run_report("/Finance/Sales Detail.xdo", "pdf", {}, tmp_path / "x.pdf", "pdf")

    info = classify(failed.value)
    assert (info.code, info.retry_eligible) == ("ENGINE_TRANSFER", True)
    assert "ends before its closing boundary" in info.message
    assert not (tmp_path / "x.pdf").exists()
