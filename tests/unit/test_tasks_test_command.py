"""The tasks-test wrapper ends with the run's request, as `make demo` does, and the task's own error in one line."""

from __future__ import annotations

import json
from pathlib import Path

from hooks.request_store import Actor, RequestStoreHook
from support.runs import load_module

ROOT = Path(__file__).resolve().parents[2]
TESTER = Actor("ENGINE", "__airflow_temporary_run_1__", "generate", 1)
ARTIFACT = {"format": "pdf", "uri": "file:///staging/sales/2026-06-01/r-1/sales.pdf", "rows": 3, "bytes": 10}


def _store(tmp_path, monkeypatch) -> RequestStoreHook:
    conn = json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "requests.db")})
    monkeypatch.setenv("AIRFLOW_CONN_REPORTING_REQUEST_STORE", conn)
    store = RequestStoreHook()
    store.apply_schema()
    return store


def _test_request(store: RequestStoreHook, request_id: str = "r-1") -> None:
    store.create_request(
        request_id=request_id,
        report_id="sales",
        parameters={},
        trigger_type="TEST",
        requested_by="me",
        actor=TESTER,
    )
    store.move(request_id, "PENDING", "IN_PROGRESS", TESTER, claim=True)


def test_a_generated_test_request_names_its_staged_files(tmp_path, monkeypatch):
    store = _store(tmp_path, monkeypatch)
    _test_request(store)
    store.move("r-1", "IN_PROGRESS", "GENERATED", TESTER, details={"artifacts": [{**ARTIFACT, "sha256": "a" * 64}]})
    store.end_tasks_test_request("r-1", TESTER, succeeded=True)

    lines = load_module("demo_summary", ROOT / "scripts" / "demo_summary.py").request_summary(store.trail("r-1"))

    assert lines == [
        "Request r-1: COMPLETED (report sales, trigger TEST, attempt 1)",
        "Staged files (generated, not delivered):",
        f"  pdf         10 bytes  sha256 aaaaaaaaaaaa  {ARTIFACT['uri']}",
        "The files are in: /staging/sales/2026-06-01/r-1",
        "Read its trail with: make trail REQUEST=r-1",
    ]


def test_a_delivered_request_names_where_its_files_went_and_a_failed_one_its_error(tmp_path, monkeypatch):
    store = _store(tmp_path, monkeypatch)
    _test_request(store)
    store.record_delivery(
        "r-1", target_key="nas", format="csv", location="/nas/sales.csv", size=7, sha256="b" * 64, actor=TESTER
    )
    store.end_tasks_test_request("r-1", TESTER, succeeded=False, last_error="distribute: OSError: disk full")
    summary = load_module("demo_summary", ROOT / "scripts" / "demo_summary.py").request_summary

    assert summary(store.trail("r-1")) == [
        "Request r-1: FAILED (report sales, trigger TEST, attempt 1)",
        "  last error: distribute: OSError: disk full",
        "Delivered files:",
        "  csv          7 bytes  sha256 bbbbbbbbbbbb  /nas/sales.csv",
        "The report is in: /nas",
        "Read its trail with: make trail REQUEST=r-1",
    ]


def test_the_wrapper_says_when_there_is_no_request_or_no_store(tmp_path, monkeypatch):
    _store(tmp_path, monkeypatch)
    wrapper = load_module("airflow_tasks_test", ROOT / "scripts" / "airflow_tasks_test.py")

    assert wrapper._request_lines("never-claimed") == [
        "Request never-claimed: not recorded (the task ended before claiming it)"
    ]
    monkeypatch.setenv("AIRFLOW_CONN_REPORTING_REQUEST_STORE", json.dumps({"conn_type": "sqlite", "host": "/no/such"}))
    [line] = wrapper._request_lines("r-1")
    assert line.startswith("Request r-1: the request store could not be read: OperationalError: ")


def test_the_tasks_error_is_one_line():
    wrapper = load_module("airflow_tasks_test", ROOT / "scripts" / "airflow_tasks_test.py")

    assert wrapper.one_line(KeyError("target")) == "KeyError: 'target'"
    assert wrapper.one_line(ValueError("first\n  second")) == "ValueError: first second"
    assert wrapper.one_line(RuntimeError()) == "RuntimeError: (no message)"
    long = wrapper.one_line(ValueError("x" * 5000))
    assert len(long) < 700 and long.endswith("…")
