"""The request store against real databases: SQLite, PostgreSQL, and fakesnow for Snowflake's SQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from hooks.request_store import Actor, RequestStoreHook
from reporting.conflicts import location_key
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


# --- delivery locations --------------------------------------------------------------------------

DISTRIBUTOR = Actor("DISTRIBUTOR", "manual__1", "distribute", 1)
HOUR = timedelta(hours=1)


def _claim(store: RequestStoreHook, request_id: str, location: str = "/nas/sales.csv", lease: timedelta = HOUR):
    return store.claim_location(
        location_key("local", location), location, request_id=request_id, target_key="nas", format="csv", lease=lease
    )


def _deliver(store: RequestStoreHook, request_id: str, location: str = "/nas/sales.csv", sha: str = "a") -> None:
    assert store.record_delivery(
        request_id,
        target_key="nas",
        format="csv",
        location=location,
        size=1,
        sha256=sha * 64,
        actor=DISTRIBUTOR,
        claim_key=location_key("local", location),
    )


def test_a_location_stays_with_the_first_request_that_claims_it(store):
    first = _claim(store, "req-a")
    assert (first["request_id"], first["delivered_at"], first["expired"]) == ("req-a", None, False)
    assert _claim(store, "req-b")["request_id"] == "req-a", "another request sees the holder"
    assert _claim(store, "req-a")["generation"] > first["generation"], "a retry renews its lease"

    _deliver(store, "req-a")

    claim = _claim(store, "req-b")
    assert (claim["request_id"], claim["sha256"]) == ("req-a", "a" * 64)
    assert claim["delivered_at"] is not None and claim["expired"] is False


def test_a_location_delivered_before_claims_were_kept_belongs_to_that_delivery(store):
    store.record_delivery(
        "req-old", target_key="share", format="pdf", location="/nas/old.pdf", size=3, sha256="c" * 64, actor=DISTRIBUTOR
    )

    claim = _claim(store, "req-new", "/nas/old.pdf")

    assert (claim["request_id"], claim["target_key"], claim["format"], claim["sha256"]) == (
        "req-old",
        "share",
        "pdf",
        "c" * 64,
    )
    assert claim["delivered_at"] is not None


def test_an_in_flight_claim_expires_with_its_lease(store):
    _claim(store, "req-a", lease=timedelta(0))

    assert _claim(store, "req-b")["expired"] is True


def test_taking_over_a_delivered_location_writes_replaced_into_both_trails(store):
    _new(store, "req-a")
    _new(store, "req-b")
    _claim(store, "req-a")
    _deliver(store, "req-a")
    seen = _claim(store, "req-b")

    assert store.take_over_location(
        seen, request_id="req-b", target_key="lake", format="csv", lease=HOUR, actor=DISTRIBUTOR
    )
    assert not store.take_over_location(
        seen, request_id="req-c", target_key="nas", format="csv", lease=HOUR, actor=DISTRIBUTOR
    ), "the claim changed since it was read"

    claim = store.get_location_claim(location_key("local", "/nas/sales.csv"))
    assert (claim["request_id"], claim["delivered_at"], claim["sha256"]) == ("req-b", None, None)
    [earlier] = [e for e in store.trail("req-a")["events"] if e["event_type"] == "REPLACED"]
    assert earlier["details"] == {
        "location": "/nas/sales.csv",
        "target": "nas",
        "format": "csv",
        "sha256": "a" * 64,
        "replaced_by": "req-b",
    }
    [later] = [e for e in store.trail("req-b")["events"] if e["event_type"] == "REPLACED"]
    assert later["details"] == {
        "location": "/nas/sales.csv",
        "target": "lake",
        "format": "csv",
        "sha256": "a" * 64,
        "replaces": "req-a",
    }
    _deliver(store, "req-b", sha="b")
    assert store.get_location_claim(location_key("local", "/nas/sales.csv"))["sha256"] == "b" * 64


def test_taking_over_a_dead_try_writes_no_replaced_row(store):
    seen = _claim(store, "req-a", lease=timedelta(0))

    assert store.take_over_location(
        seen, request_id="req-b", target_key="nas", format="csv", lease=HOUR, actor=DISTRIBUTOR
    )
    assert [e for e in store.trail("req-a")["events"] if e["event_type"] == "REPLACED"] == []


_LOCATION_RACER = r"""
import json, sys, time
from datetime import timedelta
sys.path.insert(0, {plugins!r})
from hooks.request_store import RequestStoreHook
from reporting.conflicts import location_key
start_at, request_id = float(sys.argv[1]), sys.argv[2]
hook = RequestStoreHook()
hook.get_request("race")  # connect before the start line so every racer is ready
time.sleep(max(0.0, start_at - time.time()))
claim = hook.claim_location(
    location_key("sftp", "sftp://h/x.csv"), "sftp://h/x.csv",
    request_id=request_id, target_key="partner", format="csv", lease=timedelta(hours=1),
)
print(json.dumps(claim["request_id"]))
"""


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_eight_processes_claim_one_location_and_all_see_one_holder(backend, request, tmp_path, monkeypatch):
    if backend == "sqlite":
        conn = json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "race.db")})
    else:
        conn = request.getfixturevalue("pg_database")
    monkeypatch.setenv("AIRFLOW_CONN_REPORTING_REQUEST_STORE", conn)
    RequestStoreHook().apply_schema()

    start_at = time.time() + 3
    code = _LOCATION_RACER.format(plugins=str(ROOT / "plugins"))
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(start_at), f"req-{i}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        for i in range(8)
    ]
    holders = []
    for racer in racers:
        out, err = racer.communicate(timeout=120)
        assert racer.returncode == 0, err
        holders.append(json.loads(out.strip().splitlines()[-1]))

    assert len(set(holders)) == 1 and holders[0] in {f"req-{i}" for i in range(8)}
