"""The claim on a real request store (a SQLite file): trigger types from the run, refusals recorded, never a crash."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from hooks.request_store import Actor, RequestStoreHook
from operators import claim as claim_module
from operators.claim import ClaimRequestOperator
from report_runtime.request_context import RequestRefused, request_id_for_run
from reporting.constants import RUN_NOTE_KEY
from reporting.loader import load_definitions

ROOT = Path(__file__).resolve().parents[3]
DAG_ID = "report__sales_summary"


class _TI:
    task_id = "claim"
    try_number = 1

    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


@pytest.fixture(scope="module")
def definition():
    loaded = load_definitions(ROOT / "include" / "reports", ROOT / "include" / "sql", only_id="sales_summary")
    [sales] = loaded.definitions
    return sales


@pytest.fixture
def store(tmp_path, monkeypatch) -> RequestStoreHook:
    conn = json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "requests.db")})
    monkeypatch.setenv("AIRFLOW_CONN_REPORTING_REQUEST_STORE", conn)
    # the sending gate is an Airflow Variable: on, here
    monkeypatch.setattr(claim_module, "hold_if_paused", lambda context, request_id: None)
    hook = RequestStoreHook()
    hook.apply_schema()
    return hook


def _claim(definition, run_type: str, run_id: str, conf: Any = None):
    ti = _TI()
    moment = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)
    context = {
        "dag_run": SimpleNamespace(
            dag_id=DAG_ID, run_id=run_id, run_type=run_type, conf=conf, triggering_user_name="alice", run_after=moment
        ),
        "ti": ti,
        "logical_date": moment,
    }
    operator = ClaimRequestOperator(task_id="claim", definition=definition)
    try:
        return operator.execute(context), ti
    except RequestRefused as exc:
        exc.ti = ti  # type: ignore[attr-defined]
        raise


@pytest.mark.parametrize(
    ("run_type", "run_id", "conf", "expected"),
    [
        ("scheduled", "scheduled__2026-11-20T07:00:00+00:00", None, "SCHEDULED"),
        ("backfill", "backfill__2026-11-20T07:00:00+00:00", {}, "SCHEDULED"),
        ("manual", "manual__2026-11-20T07:00:00+00:00", {"region": "EMEA"}, "MANUAL"),
        ("manual", "manual__2026-11-20T07:00:00+00:00", {"trigger_type": "API"}, "API"),
        ("manual", "adhoc__looks-like-the-intake", {}, "MANUAL"),
        ("operator_triggered", "adhoc__R-1", {"request_id": "R-1"}, "ADHOC"),
        ("operator_triggered", "retry__abc", {"request_id": "R-2"}, "RETRY"),
    ],
)
def test_a_new_request_records_the_trigger_type_of_its_run(definition, store, run_type, run_id, conf, expected):
    request, _ = _claim(definition, run_type, run_id, conf)

    assert request["trigger_type"] == expected
    row = store.get_request(request["request_id"])
    assert (row["trigger_type"], row["status"], row["requested_by"]) == (expected, "IN_PROGRESS", "alice")


def test_a_held_request_resent_by_the_retry_dag_is_claimed_as_a_retry(definition, store):
    store.create_request(
        request_id="held-1",
        report_id="sales_summary",
        parameters={"region": "EMEA"},
        trigger_type="API",
        requested_by="crm",
        actor=Actor("ORCHESTRATOR"),
        status="HELD",
    )

    request, ti = _claim(definition, "operator_triggered", "retry__1", {"request_id": "held-1"})

    assert request["trigger_type"] == "RETRY"
    assert request["parameters"] == {"region": "EMEA", "start_date": "2026-01-01"}, "the recorded values"
    assert store.get_request("held-1")["status"] == "IN_PROGRESS"
    assert ti.xcom == {}, "a run that goes as asked leaves no note"


def test_a_refusal_fails_a_new_request_and_leaves_the_note(definition, store):
    conf = {"request_id": "bad-1", "trigger_type": "API"}
    with pytest.raises(RequestRefused) as caught:
        _claim(definition, "scheduled", "scheduled__2026-11-20T07:00:00+00:00", conf)

    assert caught.value.request_failed is True
    assert caught.value.error.code == "INVALID_REQUEST" and caught.value.error.retry_eligible is False
    assert "trigger_type: 'API' does not fit this run, which is SCHEDULED" in str(caught.value)
    row = store.get_request("bad-1")
    assert (row["status"], row["trigger_type"]) == ("FAILED", "SCHEDULED")
    assert caught.value.ti.xcom[RUN_NOTE_KEY].startswith("Refused: invalid request: trigger_type: 'API'")


def test_a_request_in_another_runs_hands_is_not_taken_over_nor_touched(definition, store):
    _claim(definition, "manual", "manual__1", {"request_id": "busy-1"})

    with pytest.raises(RequestRefused) as caught:
        _claim(definition, "manual", "manual__2", {"request_id": "busy-1"})

    assert caught.value.request_failed is False
    assert "request busy-1 is IN_PROGRESS in run manual__1; this run does not take it over" in str(caught.value)
    trail = store.trail("busy-1")
    assert trail["request"]["status"] == "IN_PROGRESS" and trail["errors"] == []
    assert trail["events"][-1]["event_type"] == "RESEND"
    assert trail["events"][-1]["details"]["outcome"] == "refused"


def test_a_hand_written_row_with_an_unknown_status_is_refused_not_crashed_on(definition, store):
    with store._transaction() as tx:
        tx.execute_text(
            "INSERT INTO report_requests (request_id, report_id, status) SELECT 'odd-1', 'sales_summary', 'WEIRD'", {}
        )

    with pytest.raises(RequestRefused, match="request odd-1 has status 'WEIRD', which no run can claim"):
        _claim(definition, "manual", "manual__1", {"request_id": "odd-1"})


def test_a_worktable_row_whose_distribution_is_not_targets_fails_with_its_run(definition, store):
    with store._transaction() as tx:
        tx.execute_text(
            "INSERT INTO report_requests (request_id, report_id, distribution_overrides) "
            "SELECT 'etc-1', 'sales_summary', '\"/etc\"'",
            {},
        )

    with pytest.raises(RequestRefused) as caught:
        _claim(definition, "operator_triggered", "adhoc__etc-1", {"request_id": "etc-1"})

    assert "recorded distribution: must be a list of targets" in str(caught.value)
    assert caught.value.request_failed is True
    assert store.get_request("etc-1")["status"] == "FAILED"


def test_no_conf_and_a_conf_that_is_not_an_object(definition, store):
    request, _ = _claim(definition, "manual", "manual__none", None)
    assert request["request_id"] == request_id_for_run(DAG_ID, "manual__none")

    with pytest.raises(RequestRefused, match="conf: must be a JSON object of request fields"):
        _claim(definition, "manual", "manual__list", ["not", "an", "object"])
    row = store.get_request(request_id_for_run(DAG_ID, "manual__list"))
    assert row["status"] == "FAILED" and row["parameters"] == {"conf": ["not", "an", "object"]}
