"""Reports through every door of a live Airflow: REST API, worktable intake and schedule.

Each test asserts the request's trail in the store (status history ending COMPLETED, one
delivery per format) and the files in the delivery folder, with the checksums the store recorded.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from pathlib import Path

from support.e2e_checks import EVERY_MINUTE_ID, SALES, assert_completed


def test_rest_api_run_completes_and_delivers(airflow, store):
    """POST /dagRuns with parameters and an extra target of the request's own: success, COMPLETED, both delivered."""
    airflow.unpause(SALES)
    request_id = f"e2e-rest-{uuid.uuid4().hex[:8]}"
    # The sample definition lets a request add local targets under /tmp/reporting-output only.
    extra = Path("/tmp/reporting-output") / request_id
    conf = {
        "request_id": request_id,
        "parameters": {"region": "EMEA", "start_date": "2026-01-01"},
        "trigger_type": "API",
        "requested_by": "e2e-suite",
        "distribution": [
            {"type": "local", "name": "adhoc_copy", "path": str(extra), "filename": "{report_id}_{request_id}.{format}"}
        ],
    }
    try:
        response = airflow.api("POST", f"/dags/{SALES}/dagRuns", json={"logical_date": None, "conf": conf})
        assert response.status_code == 200, response.text
        run = airflow.wait_for_run(SALES, response.json()["dag_run_id"])
        assert run["state"] == "success", airflow.task_states(SALES, run["dag_run_id"])
        folders = {"reports_share": airflow.output_dir / "sales_summary", "adhoc_copy": extra}
        trail = assert_completed(store, request_id, folders, "API")
    finally:
        shutil.rmtree(extra, ignore_errors=True)
    assert trail["request"]["requested_by"] == "e2e-suite"
    assert all(
        "EMEA" in Path(d["remote_location"]).name for d in trail["deliveries"] if d["target_key"] == "reports_share"
    )
    # one mapped distribute task per target
    assert {k for k in airflow.task_states(SALES, run["dag_run_id"]) if k.startswith("distribute")} == {
        "distribute[0]",
        "distribute[1]",
    }
    if airflow.executor == "CeleryExecutor":
        # the tasks ran on the Celery worker (through Redis), not inside the scheduler
        assert f"run_id={run['dag_run_id']}" in (airflow.home / "celery-worker.log").read_text()


def test_rest_api_invalid_conf_fails_fast_with_the_reason_in_the_task_log(airflow, store):
    """Invalid parameters fail the claim task at once, without retries, naming the field in the log."""
    airflow.unpause(SALES)
    request_id = f"e2e-bad-{uuid.uuid4().hex[:8]}"
    conf = {"request_id": request_id, "parameters": {"region": "MARS"}, "trigger_type": "API"}
    started = time.monotonic()
    response = airflow.api("POST", f"/dags/{SALES}/dagRuns", json={"logical_date": None, "conf": conf})
    assert response.status_code == 200, response.text
    run_id = response.json()["dag_run_id"]
    run = airflow.wait_for_run(SALES, run_id)
    assert run["state"] == "failed"
    states = airflow.task_states(SALES, run_id)
    assert states["claim"] == "failed"
    assert states["generate"] in ("upstream_failed", "skipped")
    claim = airflow.api("GET", f"/dags/{SALES}/dagRuns/{run_id}/taskInstances/claim").json()
    assert claim["try_number"] == 1, "a refused request must not be retried"
    log = airflow.task_log(SALES, run_id, "claim")
    assert "invalid parameters" in log and "region" in log and "MARS" in log, log[-2000:]
    assert time.monotonic() - started < 120
    trail = store.trail(request_id)
    assert trail["request"]["status"] != "COMPLETED"
    assert trail["deliveries"] == []


def test_worktable_row_is_taken_in_and_completed(airflow, store):
    """A row inserted into report_requests is found by the intake's deferrable sensor and run to COMPLETED."""
    airflow.unpause(SALES)
    airflow.unpause("reporting_request_intake")
    request_id = f"e2e-row-{uuid.uuid4().hex[:8]}"
    with store._transaction() as tx:
        tx.execute_text(
            "INSERT INTO report_requests (request_id, report_id, parameters, priority, requested_by) "
            "SELECT :request_id, :report_id, JSON_IN(:parameters), :priority, :requested_by",
            {
                "request_id": request_id,
                "report_id": "sales_summary",
                "parameters": json.dumps({"region": "AMER"}),
                "priority": 5,
                "requested_by": "finance-app",
            },
        )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        request = store.trail(request_id)["request"]
        if request and request["status"] in ("COMPLETED", "FAILED"):
            break
        time.sleep(2)
    else:
        raise AssertionError(
            f"worktable request {request_id} not finished: {store.trail(request_id)}\n{airflow.diagnostics()}"
        )
    trail = assert_completed(store, request_id, airflow.output_dir / "sales_summary", "ADHOC")
    assert trail["request"]["requested_by"] == "finance-app"
    sensor_runs = airflow.api("GET", "/dags/reporting_request_intake/dagRuns").json()["dag_runs"]
    assert sensor_runs, "the intake DAG never ran"


def test_schedule_fires_and_makes_a_scheduled_request(airflow, store):
    """A definition with an every-minute cron runs on its own once unpaused; its request is SCHEDULED."""
    dag_id = f"report__{EVERY_MINUTE_ID}"
    airflow.unpause(dag_id)
    try:
        deadline = time.monotonic() + 180
        finished = []
        while time.monotonic() < deadline and not finished:
            runs = airflow.api("GET", f"/dags/{dag_id}/dagRuns", params={"run_type": "scheduled"}).json()["dag_runs"]
            finished = [r for r in runs if r["state"] in ("success", "failed")]
            time.sleep(2)
        assert finished, f"no scheduled run of {dag_id} finished\n{airflow.diagnostics()}"
    finally:
        # Every minute is only for this test: the rest of the suite runs without it.
        airflow.unpause(dag_id, paused=True)
    run = finished[0]
    assert run["state"] == "success", airflow.task_states(dag_id, run["dag_run_id"])
    assert run["run_type"] == "scheduled"
    claimed = airflow.xcom(dag_id, run["dag_run_id"], "claim")
    assert claimed["trigger_type"] == "SCHEDULED"
    assert_completed(store, claimed["request_id"], airflow.output_dir / EVERY_MINUTE_ID, "SCHEDULED")


def test_rest_api_refused_request_says_why_in_the_run_note(airflow, store):
    """A field that does not fit (priority "high") fails the run at once; its note and its FAILED row name the field."""
    airflow.unpause(SALES)
    request_id = f"e2e-note-{uuid.uuid4().hex[:8]}"
    conf = {"request_id": request_id, "parameters": {"region": "EMEA"}, "priority": "high", "trigger_type": "API"}
    response = airflow.api("POST", f"/dags/{SALES}/dagRuns", json={"logical_date": None, "conf": conf})
    assert response.status_code == 200, response.text
    run_id = response.json()["dag_run_id"]
    run = airflow.wait_for_run(SALES, run_id)

    assert run["state"] == "failed"
    claim = airflow.api("GET", f"/dags/{SALES}/dagRuns/{run_id}/taskInstances/claim").json()
    assert claim["state"] == "failed" and claim["try_number"] == 1, "a refused request is not retried"
    # The note is written when the run ends, in the scheduler: read the run again until it shows.
    deadline = time.monotonic() + 30
    note = run.get("note")
    while not note and time.monotonic() < deadline:
        time.sleep(1)
        note = airflow.api("GET", f"/dags/{SALES}/dagRuns/{run_id}").json().get("note")
    assert note and note.startswith("Refused: ") and "priority" in note and "'high'" in note, note
    trail = store.trail(request_id)
    assert trail["request"]["status"] == "FAILED"
    assert "priority: must be an integer from 1 to 10, got 'high'" in trail["errors"][0]["message"]
    assert trail["deliveries"] == []


def test_rest_api_resend_of_a_completed_request_delivers_nothing_and_says_so(airflow, store):
    """The same request id sent again after it COMPLETED: nothing delivered, the run's note and the trail say so."""
    airflow.unpause(SALES)
    request_id = f"e2e-resend-{uuid.uuid4().hex[:8]}"
    conf = {"request_id": request_id, "parameters": {"region": "EMEA"}, "trigger_type": "API"}
    first = airflow.api("POST", f"/dags/{SALES}/dagRuns", json={"logical_date": None, "conf": conf}).json()
    assert airflow.wait_for_run(SALES, first["dag_run_id"])["state"] == "success"
    delivered = store.trail(request_id)["deliveries"]

    again = airflow.api("POST", f"/dags/{SALES}/dagRuns", json={"logical_date": None, "conf": conf}).json()
    run = airflow.wait_for_run(SALES, again["dag_run_id"])

    assert run["state"] == "success"
    assert airflow.task_states(SALES, again["dag_run_id"])["claim"] == "skipped"
    deadline = time.monotonic() + 30
    note = run.get("note")
    while not note and time.monotonic() < deadline:
        time.sleep(1)
        note = airflow.api("GET", f"/dags/{SALES}/dagRuns/{again['dag_run_id']}").json().get("note")
    assert note and note.startswith(f"Nothing delivered: request {request_id} is already COMPLETED"), note
    trail = store.trail(request_id)
    assert trail["deliveries"] == delivered
    assert [e["details"]["outcome"] for e in trail["events"] if e["event_type"] == "RESEND"] == ["nothing delivered"]


def test_worktable_malformed_row_between_good_ones_fails_alone(airflow, store):
    """A row whose distribution is a bare JSON string, between two good rows: both good ones COMPLETED, it FAILED."""
    airflow.unpause(SALES)
    airflow.unpause("reporting_request_intake")
    suffix = uuid.uuid4().hex[:8]
    rows = {
        f"e2e-mal-1-{suffix}": ('{"region": "APAC"}', None),
        f"e2e-mal-2-{suffix}": ('{"region": "EMEA"}', '"/etc"'),
        f"e2e-mal-3-{suffix}": ('{"region": "AMER"}', None),
    }
    with store._transaction() as tx:
        for request_id, (parameters, distribution) in rows.items():
            tx.execute_text(
                "INSERT INTO report_requests (request_id, report_id, parameters, distribution_overrides, priority, "
                "requested_by) SELECT :request_id, 'sales_summary', JSON_IN(:parameters), JSON_IN(:distribution), 5, "
                "'finance-app'",
                {"request_id": request_id, "parameters": parameters, "distribution": distribution},
            )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        statuses = {r: (store.get_request(r) or {}).get("status") for r in rows}
        if all(s in ("COMPLETED", "FAILED") for s in statuses.values()):
            break
        time.sleep(2)
    else:
        raise AssertionError(f"worktable requests not finished: {statuses}\n{airflow.diagnostics()}")
    good_1, bad, good_3 = rows
    assert_completed(store, good_1, airflow.output_dir / "sales_summary", "ADHOC")
    assert_completed(store, good_3, airflow.output_dir / "sales_summary", "ADHOC")
    trail = store.trail(bad)
    assert trail["request"]["status"] == "FAILED"
    assert "distribution: must be a list of targets" in trail["errors"][0]["message"]
    assert trail["errors"][0]["component"] == "INTAKE"


# Each request the REST API may send that does not fit, and the field its refusal must name.
_REFUSED = {
    "priority-range": ({"priority": 999}, "priority"),
    "priority-text": ({"priority": "high"}, "priority"),
    "long-id": ({"request_id": "x" * 70}, "request_id"),
    "trigger-hack": ({"trigger_type": "HACK"}, "trigger_type"),
    "trigger-scheduled": ({"trigger_type": "SCHEDULED"}, "trigger_type"),
    "misspelled": ({"regoin": "APAC"}, "regoin"),
    "params-string": ({"parameters": "region=APAC"}, "parameters"),
    "requester-object": ({"requested_by": {"name": "eve"}}, "requested_by"),
    "both-places": ({"region": "APAC", "parameters": {"region": "EMEA"}}, "region"),
    "bare-distribution": ({"distribution": "/etc"}, "distribution"),
}


def test_rest_api_refuses_each_malformed_request_once_with_a_failed_row_and_a_note(airflow, store):
    """Every malformed request through POST /dagRuns: the run fails on its first try, its note names the field,
    and the request has a FAILED row whose error names it too (under the run's own id when the given id is bad)."""
    airflow.unpause(SALES)
    suffix = uuid.uuid4().hex[:8]
    runs = {}
    for case, (fields, _) in _REFUSED.items():
        conf = {"request_id": f"e2e-bad-{case}-{suffix}", "parameters": {"region": "EMEA"}, **fields}
        response = airflow.api("POST", f"/dags/{SALES}/dagRuns", json={"logical_date": None, "conf": conf})
        assert response.status_code == 200, response.text
        runs[case] = (conf["request_id"], response.json()["dag_run_id"])

    for case, (request_id, run_id) in runs.items():
        field = _REFUSED[case][1]
        run = airflow.wait_for_run(SALES, run_id)
        assert run["state"] == "failed", (case, airflow.task_states(SALES, run_id))
        claim = airflow.api("GET", f"/dags/{SALES}/dagRuns/{run_id}/taskInstances/claim").json()
        assert claim["try_number"] == 1, f"{case}: a refused request is not retried"
        deadline = time.monotonic() + 30
        note = run.get("note")
        while not note and time.monotonic() < deadline:
            time.sleep(1)
            note = airflow.api("GET", f"/dags/{SALES}/dagRuns/{run_id}").json().get("note")
        assert note and note.startswith("Refused: ") and field in note, (case, note)
        if case == "long-id":
            continue  # the given id cannot name a row; the run's own id does
        trail = store.trail(request_id)
        assert trail["request"]["status"] == "FAILED", (case, trail["request"])
        assert field in trail["errors"][0]["message"], (case, trail["errors"])
        assert trail["deliveries"] == [], case
