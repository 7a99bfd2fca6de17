"""SSRS: the real hook and operator against a local report server speaking URL access with NTLM or Basic."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import timedelta

import openpyxl
import pytest
from airflow.sdk.definitions.retry_policy import RetryAction
from airflow.sdk.exceptions import AirflowFailException
from pypdf import PdfReader

from fake_engines import ssrs as fake
from fake_engines.harness import claimed, closed_port, make_definition, set_connection, staged_bytes, task_context
from hooks.ssrs import SsrsHook, render_url
from operators.generate.ssrs import SsrsReportOperator
from report_runtime.retry import EngineRetryPolicy
from reporting.engine_errors import EngineConnectionError, EngineHttpError, EngineTimeout
from reporting.errors import classify

ENGINE = {
    "type": "ssrs",
    "conn_id": "ssrs_test",
    "report_path": "/Finance/Inventory",
    "parameter_map": {"region": "Region", "as_of": "AsOf"},
    "timeout": "2s",
}


@pytest.fixture
def server(monkeypatch, tmp_path):
    monkeypatch.setenv("NTLM_USER_FILE", fake.user_file(tmp_path))
    with fake.server("ntlm") as srv:
        set_connection(
            monkeypatch,
            "ssrs_test",
            conn_type="ssrs",
            host=srv.url,
            login=f"{fake.DOMAIN}\\{fake.USER}",
            password=fake.PASSWORD,
        )
        yield srv


def _operator(definition, request):
    return SsrsReportOperator(task_id="generate", definition=definition, request=request)


def test_url_access_address_keeps_the_path_and_encodes_values():
    url = render_url(
        "https://ssrs.example.com", "/Finance/Stock Levels", "PDF", {"Region": "A&B=C", "AsOf": "2026-11-20"}
    )

    assert url == (
        "https://ssrs.example.com/ReportServer?/Finance/Stock%20Levels&Region=A%26B%3DC&AsOf=2026-11-20"
        "&rs:Command=Render&rs:Format=PDF"
    )


def test_hook_renders_through_url_access_after_an_ntlm_handshake(server, tmp_path):
    dest = tmp_path / "inventory.pdf"

    result = SsrsHook("ssrs_test").render(
        "/Finance/Inventory", "PDF", {"Region": "AMER", "AsOf": "2026-11-20"}, dest, "pdf"
    )

    # Anonymous try, NTLM negotiate (answered by a challenge), then the authenticated request.
    assert [r.headers.get("authorization", "")[:5] for r in server.requests] == ["", "NTLM ", "NTLM "]
    final = server.requests[-1]
    assert (final.method, final.path) == ("GET", "/ReportServer")
    assert final.query == "/Finance/Inventory&Region=AMER&AsOf=2026-11-20&rs:Command=Render&rs:Format=PDF"
    assert final.user == f"{fake.DOMAIN}\\{fake.USER}", "the server verified the NTLM response"
    data = dest.read_bytes()
    assert "Region=AMER" in PdfReader(dest).pages[0].extract_text()
    assert (result.bytes, result.sha256) == (len(data), hashlib.sha256(data).hexdigest())


def test_hook_uses_basic_auth_when_the_connection_says_so(tmp_path, monkeypatch):
    with fake.server("basic") as srv:
        set_connection(
            monkeypatch,
            "ssrs_basic",
            conn_type="ssrs",
            host=srv.url,
            login=fake.USER,
            password=fake.PASSWORD,
            extra={"auth_type": "basic"},
        )
        SsrsHook("ssrs_basic").render("/Finance/Inventory", "CSV", {}, tmp_path / "i.csv", "csv")

    [sent] = srv.requests
    assert sent.headers["authorization"].startswith("Basic ")
    assert sent.params["rs:Format"] == "CSV"


def test_a_wrong_ntlm_password_fails_at_once_without_leaking_it(server, store, monkeypatch):
    set_connection(
        monkeypatch,
        "ssrs_test",
        conn_type="ssrs",
        host=server.url,
        login=f"{fake.DOMAIN}\\{fake.USER}",
        password="not-the-password-42",
    )
    definition = make_definition(ENGINE, formats=["pdf"])

    with pytest.raises(AirflowFailException) as failed:
        _operator(definition, claimed(store, definition)).execute(task_context())

    info = classify(failed.value, non_retryable=True)
    assert (info.code, info.retry_eligible) == ("HTTP_401", False)
    assert "not-the-password-42" not in info.message


def test_operator_renders_pdf_excelopenxml_and_csv_and_marks_the_request_generated(server, store):
    definition = make_definition(ENGINE)
    request = claimed(store, definition, {"region": "APAC", "as_of": "2026-11-20"})

    artifacts = _operator(definition, request).execute(task_context())

    formats = [r.params["rs:Format"] for r in server.requests if r.user]
    assert formats == ["PDF", "EXCELOPENXML", "CSV"]
    assert [a["format"] for a in artifacts] == ["pdf", "xlsx", "csv"]
    assert staged_bytes(artifacts[0]).startswith(b"%PDF-")
    sheet = openpyxl.load_workbook(io.BytesIO(staged_bytes(artifacts[1]))).active
    assert sheet["A2"].value == "APAC"
    assert list(csv.reader(io.StringIO(staged_bytes(artifacts[2]).decode())))[1][0] == "APAC"
    assert store.get_request(request["request_id"])["status"] == "GENERATED"


def test_a_429_with_retry_after_is_retried_after_that_delay_and_the_retry_succeeds(server, store):
    definition = make_definition(ENGINE, formats=["csv"])
    request = claimed(store, definition)
    server.fail("rs:Format=CSV", 429, headers={"Retry-After": "3"}, body=b"Too Many Requests")
    operator = _operator(definition, request)

    with pytest.raises(EngineHttpError) as failed:
        operator.execute(task_context(try_number=1))

    assert (failed.value.status, failed.value.retryable, failed.value.retry_after) == (429, True, 3.0)
    decision = EngineRetryPolicy().evaluate(failed.value, try_number=1, max_tries=3)
    assert (decision.action, decision.retry_delay) == (RetryAction.RETRY, timedelta(seconds=3))

    [artifact] = operator.execute(task_context(try_number=2))

    assert staged_bytes(artifact).startswith(b"region,product,units")
    assert store.get_request(request["request_id"])["status"] == "GENERATED"


@pytest.mark.parametrize(
    ("engine_change", "region", "status", "code"),
    [
        ({"report_path": "/Finance/Nope"}, "EMEA", 404, "rsItemNotFound"),
        ({}, "MARS", 500, "rsInvalidReportParameter"),
        ({"parameter_map": {"region": "Territory"}}, "EMEA", 500, "rsUnknownReportParameter"),
    ],
)
def test_unknown_reports_and_rejected_parameters_fail_at_once(server, store, engine_change, region, status, code):
    definition = make_definition({**ENGINE, **engine_change}, formats=["pdf"])
    request = claimed(store, definition, {"region": region, "as_of": "2026-11-20"})

    with pytest.raises(AirflowFailException) as failed:
        _operator(definition, request).execute(task_context())

    assert len([r for r in server.requests if r.user]) == 1, "no retry inside the task"
    info = classify(failed.value, non_retryable=True)
    assert (info.code, info.retry_eligible) == (f"HTTP_{status}", False)
    assert info.message.startswith(f"ssrs: HTTP {status} on GET /ReportServer") and code in info.message


def test_a_500_without_a_known_cause_is_retryable(server, store):
    definition = make_definition(ENGINE, formats=["pdf"])
    server.fail("rs:Format=PDF", 500, body=b"<html>An internal error occurred (rsInternalError)</html>")

    with pytest.raises(EngineHttpError) as failed:
        _operator(definition, claimed(store, definition)).execute(task_context())

    assert classify(failed.value).retry_eligible is True
    assert EngineRetryPolicy().evaluate(failed.value, 1, 3).action is RetryAction.DEFAULT


def test_a_slow_rendering_is_a_retryable_timeout(server, store):
    definition = make_definition({**ENGINE, "timeout": "0.5s"}, formats=["pdf"])
    server.fail("rs:Format=PDF", 200, delay=1.5)

    with pytest.raises(EngineTimeout) as failed:
        _operator(definition, claimed(store, definition)).execute(task_context())

    assert (classify(failed.value).code, classify(failed.value).retry_eligible) == ("TIMEOUT", True)


def test_a_download_that_stalls_half_way_is_a_retryable_timeout_and_leaves_no_file(server, store, tmp_path):
    document = b"%PDF-1.7\n" + b"x" * 200_000
    server.fail("rs:Format=PDF", 200, headers={"Content-Type": "application/pdf"}, body=document, stall=2.0)

    with pytest.raises(EngineTimeout) as failed:
        SsrsHook("ssrs_test", timeout=0.5).render("/Finance/Inventory", "PDF", {}, tmp_path / "x.pdf", "pdf")

    assert "the pdf download stalled for 0.5 s" in str(failed.value)
    assert classify(failed.value).retry_eligible is True
    assert not (tmp_path / "x.pdf").exists()


def test_an_html_page_instead_of_a_pdf_is_refused(server, store, tmp_path):
    server.fail(
        "rs:Format=PDF", 200, headers={"Content-Type": "text/html"}, body=b"<!DOCTYPE html><html>sign in</html>"
    )

    with pytest.raises(Exception) as failed:
        SsrsHook("ssrs_test").render("/Finance/Inventory", "PDF", {}, tmp_path / "x.pdf", "pdf")

    assert classify(failed.value).code == "ENGINE_RESPONSE"
    assert not (tmp_path / "x.pdf").exists()


def test_an_unreachable_report_server_is_a_retryable_connection_error(store, monkeypatch):
    set_connection(
        monkeypatch,
        "ssrs_test",
        conn_type="ssrs",
        host=f"http://127.0.0.1:{closed_port()}",
        login=fake.USER,
        password=fake.PASSWORD,
        extra={"auth_type": "basic"},
    )
    definition = make_definition(ENGINE, formats=["pdf"])

    with pytest.raises(EngineConnectionError):
        _operator(definition, claimed(store, definition)).execute(task_context())
