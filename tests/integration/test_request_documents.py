"""A run's conf is one request document: what does not fit is refused at once, recorded, and the run's note says why.

Runs are in-process ``dag.test()`` runs of the sample report (the same state update the scheduler
makes, so the run-note listener runs too); the request store is SQLite, or the local PostgreSQL
server where column bounds and JSON types are enforced.
"""

from __future__ import annotations

import hashlib
import math

import pytest

from hooks.request_store import RequestStoreHook
from support.runs import ROOT, load_module, moves, note_of, request_of, task_states, test_run


def _ti(run, task_id: str):
    return next(t for t in run.get_task_instances() if t.task_id == task_id)


def _assert_refused(run, request_id: str, field: str) -> dict:
    """The run failed at its claim, at once; the request is FAILED naming the field; the note says so."""
    assert str(run.state) == "failed", task_states(run)
    claim = _ti(run, "claim")
    assert str(claim.state) == "failed" and claim.try_number == 1, "a refused request is not retried"
    assert task_states(run)["generate"] in ("upstream_failed", "skipped")
    trail = RequestStoreHook().trail(request_id)
    assert trail["request"] is not None, f"no row for {request_id}"
    assert trail["request"]["status"] == "FAILED"
    assert moves(trail) == [(None, "PENDING"), ("PENDING", "FAILED")]
    [error] = trail["errors"]
    assert (error["error_code"], error["retry_eligible"], error["component"]) == (
        "INVALID_REQUEST",
        False,
        "ORCHESTRATOR",
    )
    assert field in error["message"], error["message"]
    assert field in trail["request"]["last_error"]
    note = note_of(run)
    assert note is not None and note.startswith("Refused: ") and field in note, note
    assert "\n" not in note and len(note) <= 1000
    return trail


# --- fields that crashed, were stored unchecked, or were silently ignored ----------------------------


@pytest.mark.parametrize(
    ("conf", "field"),
    [
        ({"priority": "high"}, "priority: must be an integer from 1 to 10, got 'high'"),
        ({"priority": 999}, "priority: must be an integer from 1 to 10, got 999"),
        ({"trigger_type": "HACK"}, "trigger_type: 'HACK' is not a trigger type a caller may give"),
        ({"trigger_type": "SCHEDULED"}, "trigger_type: 'SCHEDULED' is set from the run, never by a caller"),
        ({"trigger_type": "ADHOC"}, "trigger_type: 'ADHOC' is for requests the intake takes from the worktable"),
        ({"regio": "EMEA"}, "regio: not a request field"),
        ({"parameters": {"regio": "EMEA"}}, "parameters.regio: not a parameter of this report"),
        ({"parameters": "region=APAC"}, "parameters: must be a JSON object of parameter values, got a string"),
        ({"region": "EMEA", "parameters": {"region": "APAC"}}, "parameters.region: also given at the top level"),
        ({"requested_by": {"name": "eve"}}, "requested_by: must be a string, got an object"),
        ({"distribution": "/etc"}, "distribution: must be a list of targets"),
        ({"parameters": {"region": "MARS"}}, "parameters.region: 'MARS' is not one of the allowed values"),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 20 else None,
)
def test_a_request_that_does_not_fit_fails_at_once_with_its_row_and_note(sample_dag, report_env, conf, field):
    request_id = f"doc-{hashlib.sha256(field.encode()).hexdigest()[:12]}"

    run = test_run(sample_dag, {"request_id": request_id, **conf})

    trail = _assert_refused(run, request_id, field)
    assert trail["deliveries"] == []
    assert not (report_env / "sales_summary").exists(), "nothing is delivered"


def test_an_invalid_request_id_is_refused_under_the_runs_own_id(sample_dag, report_env):
    run = test_run(sample_dag, {"request_id": "R" * 65, "parameters": {"region": "EMEA"}})

    trail = _assert_refused(run, request_of(run), "request_id: longer than 64 characters")
    # what the request brought is kept, to show in the trail
    assert trail["request"]["parameters"] == {"region": "EMEA"}
    assert RequestStoreHook().get_request("R" * 65) is None


def test_a_scheduled_trigger_type_from_the_api_is_never_stored(sample_dag, report_env):
    run = test_run(sample_dag, {"request_id": "doc-sched", "trigger_type": "SCHEDULED"})

    trail = _assert_refused(run, "doc-sched", "trigger_type")
    assert trail["request"]["trigger_type"] == "MANUAL", "the run's own trigger type, not the caller's"


def test_a_caller_may_say_api(sample_dag, report_env):
    run = test_run(sample_dag, {"request_id": "doc-api", "trigger_type": "api", "requested_by": "crm"})

    assert str(run.state) == "success", task_states(run)
    request = RequestStoreHook().get_request("doc-api")
    assert (request["trigger_type"], request["requested_by"], request["status"]) == ("API", "crm", "COMPLETED")
    assert note_of(run) is None, "a run that went as asked has no note"


def test_hostile_values_reach_postgres_bounded_and_as_json(sample_dag, report_env, pg_store):
    # PostgreSQL enforces VARCHAR(64)/(200) and JSONB (no NaN): nothing here may crash there.
    conf = {
        "request_id": "doc-pg-" + "x" * 100,
        "requested_by": "y" * 5_000,
        "priority": 10**30,
        "parameters": {"region": math.nan, "start_date": "z" * 50_000},
        "distribution": [{"type": "local", "path": math.inf}],
        "colour": {"nested": ["deep"] * 1_000},
    }

    run = test_run(sample_dag, conf)

    trail = _assert_refused(run, request_of(run), "request_id: longer than 64 characters")
    request = trail["request"]
    assert request["requested_by"] == "dag_test", "a requester that does not fit is not stored"
    assert request["priority"] == 5, "the definition's priority"
    # kept as bounded JSON text (Airflow stores a conf's NaN as null, so a NaN never even gets here)
    assert isinstance(request["parameters"], str) and request["parameters"].startswith('{"region": ')
    assert len(request["parameters"]) <= 16_001
    for problem in ("requested_by: longer than 200", "priority: must be an integer", "colour: not a request field"):
        assert problem in trail["errors"][0]["message"]


# --- re-sends --------------------------------------------------------------------------------------------


def _conf(request_id: str, **parameters) -> dict:
    return {"request_id": request_id, "parameters": parameters or {"region": "EMEA"}}


def test_a_resend_with_other_parameters_is_refused_naming_each_difference(sample_dag, report_env):
    first = test_run(sample_dag, _conf("rs-other", region="EMEA"))
    assert str(first.state) == "success", task_states(first)
    store = RequestStoreHook()
    before = store.trail("rs-other")

    again = test_run(sample_dag, _conf("rs-other", region="APAC", start_date="2026-06-01"))

    assert str(again.state) == "failed"
    assert _ti(again, "claim").try_number == 1
    note = note_of(again)
    assert "request_id 'rs-other' was sent before with other values" in note
    assert "parameters.region: 'EMEA' recorded, 'APAC' now" in note
    assert "parameters.start_date: '2026-01-01' recorded, '2026-06-01' now" in note
    after = store.trail("rs-other")
    assert after["request"] == before["request"], "the recorded request is untouched"
    assert after["errors"] == [] and after["deliveries"] == before["deliveries"]
    [resend] = [e for e in after["events"] if e["event_type"] == "RESEND"]
    assert resend["details"]["outcome"] == "refused" and resend["dag_run_id"] == again.run_id
    assert "parameters.region" in resend["details"]["reason"]


def test_a_resend_of_a_completed_request_delivers_nothing_and_says_so(sample_dag, report_env):
    first = test_run(sample_dag, _conf("rs-done"))
    store = RequestStoreHook()
    delivered = store.trail("rs-done")["deliveries"]
    assert len(delivered) == 3

    again = test_run(sample_dag, {"request_id": "rs-done"})

    assert str(again.state) == "success"
    assert task_states(again)["claim"] == "skipped" and task_states(again)["generate"] == "skipped"
    note = note_of(again)
    assert note.startswith(f"Nothing delivered: request rs-done is already COMPLETED (run {first.run_id})")
    trail = store.trail("rs-done")
    assert trail["deliveries"] == delivered and trail["request"]["attempt"] == 1
    [resend] = [e for e in trail["events"] if e["event_type"] == "RESEND"]
    assert resend["details"] == {"outcome": "nothing delivered", "status": "COMPLETED", "dag_run_id": again.run_id}


def test_a_failed_request_resent_with_the_same_parameters_is_its_next_attempt(sample_dag, report_env):
    refused = test_run(sample_dag, {**_conf("rs-retry"), "priority": "high"})
    assert str(refused.state) == "failed"

    other = test_run(sample_dag, _conf("rs-retry", region="APAC"))
    assert str(other.state) == "failed", "a request id keeps the values it was first sent with"
    assert "parameters.region: 'EMEA' recorded, 'APAC' now" in note_of(other)

    again = test_run(sample_dag, {**_conf("rs-retry"), "priority": 8})

    assert str(again.state) == "success", task_states(again)
    assert note_of(again) == "Re-sent: request rs-retry had FAILED; this run is its next attempt"
    trail = RequestStoreHook().trail("rs-retry")
    assert (trail["request"]["status"], trail["request"]["attempt"]) == ("COMPLETED", 1)
    assert moves(trail)[:3] == [(None, "PENDING"), ("PENDING", "FAILED"), ("FAILED", "IN_PROGRESS")]


# --- the note, where the scheduler writes it -------------------------------------------------------------


def test_the_listener_writes_the_note_on_a_run_in_the_schedulers_session(sample_dag, report_env):
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from report_listeners.run_notes import write_note

    run = test_run(sample_dag, {"request_id": "note-1", "priority": 0})
    refused = note_of(run)
    assert refused.startswith("Refused: invalid request: priority")

    # As the scheduler has it: the run in its session, a caller's note already on it, committed after.
    with create_session() as session:
        stored = session.scalar(select(DagRun).where(DagRun.dag_id == run.dag_id, DagRun.run_id == run.run_id))
        stored.note = "from the caller: quarterly pack"
    with create_session() as session:
        stored = session.scalar(select(DagRun).where(DagRun.dag_id == run.dag_id, DagRun.run_id == run.run_id))
        assert write_note(stored) == f"{refused}\nfrom the caller: quarterly pack"
    assert note_of(run) == f"{refused}\nfrom the caller: quarterly pack"

    with create_session() as session:
        stored = session.scalar(select(DagRun).where(DagRun.dag_id == run.dag_id, DagRun.run_id == run.run_id))
        assert write_note(stored) is None, "written once"


def test_the_trail_shows_a_refused_request_with_hostile_values(sample_dag, report_env, capsys):
    command = load_module("request_store_command_it", ROOT / "scripts" / "request_store.py")
    run = test_run(sample_dag, {"request_id": "doc-trail", "requested_by": "\x1b[2Jeve", "parameters": "x" * 9_000})
    assert str(run.state) == "failed"

    assert command.main(["trail", "doc-trail"]) == 0

    out = capsys.readouterr().out
    assert "\x1b" not in out, "control characters are shown escaped, never sent to the terminal"
    assert "status FAILED" in out and "requested_by: " in out
    assert "parameters: must be a JSON object of parameter values" in out
    assert max(len(line) for line in out.splitlines()) < 2_500
