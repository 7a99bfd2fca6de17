"""The request store against real databases: SQLite, PostgreSQL, and fakesnow for Snowflake's SQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hooks.request_store import Actor, RequestStoreHook
from reporting.errors import ErrorInfo
from reporting.lifecycle import TRANSITIONS, IllegalTransition, Status

ROOT = Path(__file__).resolve().parents[2]
ORCH = Actor("ORCHESTRATOR", dag_run_id="manual__1", task_id="claim", try_number=1)


def _new(store: RequestStoreHook, request_id: str = "req-1", **overrides) -> None:
    values = dict(
        request_id=request_id,
        report_id="sales_summary",
        parameters={"region": "EMEA", "start_date": "2026-01-01"},
        trigger_type="API",
        requested_by="finance-app",
        actor=Actor("INTAKE"),
        priority=7,
    )
    values.update(overrides)
    assert store.create_request(**values)


def _statuses(trail) -> list[tuple]:
    return [(e["old_status"], e["new_status"]) for e in trail["events"] if e["event_type"] == "STATUS_CHANGE"]


def test_schema_applies_twice(store):
    assert store.apply_schema() > 0, "re-applying is a no-op, not an error"


def test_create_is_idempotent(store):
    _new(store)
    assert not store.create_request(
        request_id="req-1", report_id="other", parameters={}, trigger_type="MANUAL", requested_by=None, actor=ORCH
    )
    request = store.get_request("req-1")
    assert request["report_id"] == "sales_summary"
    assert request["parameters"] == {"region": "EMEA", "start_date": "2026-01-01"}
    assert (request["status"], request["priority"], request["trigger_type"]) == ("PENDING", 7, "API")
    assert request["requested_by"] == "finance-app"
    assert _statuses(store.trail("req-1")) == [(None, "PENDING")]


def test_happy_path_trail(store):
    _new(store)
    assert store.move("req-1", Status.PENDING, Status.IN_PROGRESS, ORCH, claim=True)
    engine = Actor("ENGINE", "manual__1", "generate", 1)
    assert store.move("req-1", "IN_PROGRESS", "GENERATED", engine, details={"artifacts": 3})
    distributor = Actor("DISTRIBUTOR", "manual__1", "distribute", 1)
    assert store.record_delivery(
        "req-1", target_key="nas", format="pdf", location="/nas/a.pdf", size=10, sha256="a" * 64, actor=distributor
    )
    notifier = Actor("NOTIFIER", "manual__1", "notify", 1)
    assert store.move("req-1", "GENERATED", "DISTRIBUTED", notifier)
    store.record_event("req-1", "NOTIFICATION", notifier, {"channel": "log"})
    assert store.move("req-1", "DISTRIBUTED", "COMPLETED", Actor("ORCHESTRATOR", "manual__1", "finalize", 1))

    trail = store.trail("req-1")
    assert _statuses(trail) == [
        (None, "PENDING"),
        ("PENDING", "IN_PROGRESS"),
        ("IN_PROGRESS", "GENERATED"),
        ("GENERATED", "DISTRIBUTED"),
        ("DISTRIBUTED", "COMPLETED"),
    ]
    assert [e["event_type"] for e in trail["events"]] == [
        "STATUS_CHANGE",
        "STATUS_CHANGE",
        "STATUS_CHANGE",
        "DELIVERY",
        "STATUS_CHANGE",
        "NOTIFICATION",
        "STATUS_CHANGE",
    ]
    assert [e["component"] for e in trail["events"]][:3] == ["INTAKE", "ORCHESTRATOR", "ENGINE"]
    assert trail["events"][2]["details"] == {"artifacts": 3}
    stamps = [e["event_timestamp"] for e in trail["events"]]
    assert stamps == sorted(stamps)
    request = trail["request"]
    assert request["status"] == "COMPLETED" and request["attempt"] == 1
    assert request["dag_run_id"] == "manual__1"
    assert request["processed_at"] and request["completed_at"]
    assert trail["deliveries"] == [
        {
            "request_id": "req-1",
            "target_key": "nas",
            "format": "pdf",
            "remote_location": "/nas/a.pdf",
            "bytes": 10,
            "sha256": "a" * 64,
            "delivered_at": trail["deliveries"][0]["delivered_at"],
        }
    ]
    assert trail["errors"] == []


def test_failure_path_records_the_error(store):
    _new(store)
    store.move("req-1", "PENDING", "IN_PROGRESS", ORCH, claim=True)
    engine = Actor("ENGINE", "manual__1", "generate", 3)
    error = ErrorInfo("CONNECTION", "OperationalError", "could not connect to warehouse", True)
    store.record_error("req-1", error, engine, retry_count=2)
    assert store.move("req-1", "IN_PROGRESS", "FAILED", engine, last_error="OperationalError: could not connect")

    trail = store.trail("req-1")
    assert trail["request"]["status"] == "FAILED"
    assert trail["request"]["last_error"] == "OperationalError: could not connect"
    [row] = trail["errors"]
    assert (row["error_code"], row["error_class"], row["component"]) == ("CONNECTION", "OperationalError", "ENGINE")
    assert (row["retry_count"], row["retry_eligible"]) == (2, True)
    assert [e["event_type"] for e in trail["events"]][-2:] == ["ERROR", "STATUS_CHANGE"]
    assert trail["events"][-1]["try_number"] == 3


def test_a_move_whose_expected_status_no_longer_holds_changes_nothing(store):
    _new(store)
    assert store.move("req-1", "PENDING", "IN_PROGRESS", ORCH, claim=True)
    before = store.trail("req-1")

    assert not store.move("req-1", "PENDING", "IN_PROGRESS", Actor("ORCHESTRATOR", "manual__2", "claim", 1), claim=True)

    after = store.trail("req-1")
    assert after == before, "no row changed, no audit row added"
    assert after["request"]["dag_run_id"] == "manual__1"


def test_a_tasks_test_request_ends_with_its_task_and_only_a_test_request_does(store):
    """A TEST request ends COMPLETED from where its one task left it, or FAILED; any other request never moves so."""
    tester = Actor("ENGINE", "__airflow_temporary_run_1__", "generate", 1)
    _new(store, "req-test", trigger_type="TEST")
    assert store.move("req-test", "PENDING", "IN_PROGRESS", tester, claim=True)
    assert store.move("req-test", "IN_PROGRESS", "GENERATED", tester)
    assert store.end_tasks_test_request("req-test", tester, succeeded=True, details={"tasks_test": "generate"})
    assert store.get_request("req-test")["status"] == "COMPLETED"
    assert _statuses(store.trail("req-test"))[-1] == ("GENERATED", "COMPLETED")
    assert store.end_tasks_test_request("req-test", tester, succeeded=False) is None, "a finished request stays"

    _new(store, "req-test-2", trigger_type="TEST")
    assert store.move("req-test-2", "PENDING", "IN_PROGRESS", tester, claim=True)
    ended = store.end_tasks_test_request("req-test-2", tester, succeeded=False, last_error="generate: boom")
    assert ended == Status.FAILED
    assert (store.get_request("req-test-2")["status"], store.get_request("req-test-2")["last_error"]) == (
        "FAILED",
        "generate: boom",
    )

    _new(store, "req-real")
    assert store.move("req-real", "PENDING", "IN_PROGRESS", ORCH, claim=True)
    assert store.end_tasks_test_request("req-real", ORCH, succeeded=True) is None
    assert store.get_request("req-real")["status"] == "IN_PROGRESS"
    assert store.end_tasks_test_request("no-such-request", ORCH, succeeded=True) is None


ILLEGAL = [(old, new) for old in Status for new in Status if new not in TRANSITIONS[old]]


@pytest.mark.parametrize(("old", "new"), ILLEGAL, ids=[f"{o.value}->{n.value}" for o, n in ILLEGAL])
def test_every_illegal_transition_is_refused(old, new):
    with pytest.raises(IllegalTransition, match=f"from {old.value} to {new.value}"):
        RequestStoreHook(request_store_conn_id="never_opened").move("req-1", old, new, ORCH)


def test_illegal_transition_touches_nothing(store):
    _new(store)
    with pytest.raises(IllegalTransition):
        store.move("req-1", "PENDING", "COMPLETED", ORCH)
    assert store.get_request("req-1")["status"] == "PENDING"
    assert len(store.trail("req-1")["events"]) == 1


def test_delivery_is_recorded_once(store):
    _new(store)
    actor = Actor("DISTRIBUTOR", "manual__1", "distribute", 1)
    first = store.record_delivery(
        "req-1", target_key="nas", format="csv", location="/a", size=1, sha256="b" * 64, actor=actor
    )
    again = store.record_delivery(
        "req-1", target_key="nas", format="csv", location="/a", size=1, sha256="b" * 64, actor=actor
    )
    assert (first, again) == (True, False)
    assert store.get_delivery("req-1", "nas", "csv")["remote_location"] == "/a"
    assert [e["event_type"] for e in store.trail("req-1")["events"]].count("DELIVERY") == 1


def test_secrets_never_reach_the_error_columns(store):
    _new(store)
    store.move("req-1", "PENDING", "IN_PROGRESS", ORCH, claim=True)
    store.move(
        "req-1", "IN_PROGRESS", "FAILED", ORCH, last_error="connect postgresql://bi:hunter2@db/x password=hunter2"
    )
    assert "hunter2" not in json.dumps(store.trail("req-1"))


_RACER = r"""
import json, os, sys, time
sys.path.insert(0, {plugins!r})
from hooks.request_store import Actor, RequestStoreHook
start_at, run_id = float(sys.argv[1]), sys.argv[2]
hook = RequestStoreHook()
hook.get_request("race")  # connect before the start line so every racer is ready
time.sleep(max(0.0, start_at - time.time()))
print(json.dumps(hook.move("race", "PENDING", "IN_PROGRESS", Actor("ORCHESTRATOR", run_id, "claim", 1), claim=True)))
"""


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_eight_processes_race_to_claim_one_request_and_exactly_one_wins(backend, request, tmp_path, monkeypatch):
    # fakesnow lives inside one process, so the race runs on the two servers that really share state.
    if backend == "sqlite":
        conn = json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "race.db")})
    else:
        conn = request.getfixturevalue("pg_database")
    monkeypatch.setenv("AIRFLOW_CONN_REPORTING_REQUEST_STORE", conn)
    store = RequestStoreHook()
    store.apply_schema()
    _new(store, "race")

    start_at = time.time() + 3
    code = _RACER.format(plugins=str(ROOT / "plugins"))
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(start_at), f"run_{i}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        for i in range(8)
    ]
    results = []
    for racer in racers:
        out, err = racer.communicate(timeout=120)
        assert racer.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))

    assert results.count(True) == 1 and results.count(False) == 7
    trail = store.trail("race")
    claims = [e for e in trail["events"] if e["new_status"] == "IN_PROGRESS"]
    assert len(claims) == 1
    assert trail["request"]["dag_run_id"] == claims[0]["dag_run_id"]
    assert trail["request"]["attempt"] == 1
