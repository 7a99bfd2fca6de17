"""The intake end to end: worktable rows -> stream/pending check -> queue -> report DAG runs.

Snowflake's SQL runs on fakesnow with the stream stand-in (tests/support/snowflake_streams.py);
the fallback runs on the real PostgreSQL server and on SQLite.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from hooks.request_store import STREAM, Actor, RequestStoreHook
from operators.intake import DispatchRequestsOperator, run_id_for_request
from sensors.request_intake import RequestIntakeSensor
from support.runs import load_module, run_started, task_states
from triggers.request_stream import RequestStreamTrigger

ROOT = Path(__file__).resolve().parents[2]
INSERT = (
    "INSERT INTO report_requests (request_id, report_id, parameters, distribution_overrides, priority, requested_by) "
    "SELECT :request_id, :report_id, JSON_IN(:parameters), JSON_IN(:distribution), :priority, :requested_by"
)
_moments = itertools.count()


def insert_request(
    store: RequestStoreHook,
    request_id: str,
    report_id: str = "sales_summary",
    parameters=None,
    distribution=None,
    priority: int = 5,
) -> None:
    """Insert a worktable row the way a user or upstream system does: defaults fill the rest."""
    with store._transaction() as tx:
        tx.execute_text(
            INSERT,
            {
                "request_id": request_id,
                "report_id": report_id,
                "parameters": json.dumps(parameters if parameters is not None else {"region": "EMEA"}),
                "distribution": json.dumps(distribution) if distribution is not None else None,
                "priority": priority,
                "requested_by": "finance-app",
            },
        )


def run_trigger(trigger: RequestStreamTrigger):
    async def first_event():
        return await trigger.run().asend(None)

    return asyncio.run(first_event())


def report_runs(prefix: str) -> list:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        runs = session.scalars(
            select(DagRun)
            .where(DagRun.dag_id == "report__sales_summary", DagRun.run_id.like(f"adhoc__{prefix}%"))
            .order_by(DagRun.id)
        ).all()
        session.expunge_all()
    return runs


def intake_cycle(dag):
    moment = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(seconds=next(_moments))
    return dag.test(run_after=moment, logical_date=moment)


@pytest.fixture
def intake_dag(airflow_db, monkeypatch):
    # An intake run with nothing to do waits this long in the (inline) triggerer, then ends.
    monkeypatch.setenv("AIRFLOW__REPORTING__INTAKE_WAIT_TIMEOUT", "2")
    monkeypatch.setenv("AIRFLOW__REPORTING__INTAKE_POLL_INTERVAL", "0.5")
    return load_module("request_intake_it", ROOT / "dags" / "request_intake.py").dag


# --- the trigger, on every store ---------------------------------------------------------------


def test_trigger_waits_then_fires_when_a_request_arrives(store, store_conn):
    trigger = RequestStreamTrigger(conn_id="reporting_request_store", poll_interval=0.1, timeout_at=time.time() + 1)
    event = run_trigger(trigger)
    assert event.payload["status"] == "timeout" and event.payload["checks"] >= 2

    insert_request(store, "t-1")
    event = run_trigger(RequestStreamTrigger(conn_id="reporting_request_store", poll_interval=0.1))
    assert event.payload == {"status": "data", "checks": 1}


def test_trigger_serialises_without_credentials(store_conn):
    trigger = RequestStreamTrigger(conn_id="reporting_request_store", poll_interval=5, timeout_at=123.0)
    classpath, kwargs = trigger.serialize()
    assert classpath == "triggers.request_stream.RequestStreamTrigger"
    assert kwargs == {"conn_id": "reporting_request_store", "stream": STREAM, "poll_interval": 5, "timeout_at": 123.0}
    rebuilt = RequestStreamTrigger(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)
    assert "not-a-real-secret" not in repr(kwargs) + repr(rebuilt.__dict__)


# --- the Snowflake stream semantics ---------------------------------------------------------


def test_stream_offset_moves_only_when_the_consuming_transaction_commits(snowflake_store):
    from support.snowflake_streams import stream_offset

    store = snowflake_store
    insert_request(store, "s-1")
    insert_request(store, "s-2")
    assert store.has_new_requests()
    actor = Actor("INTAKE", "intake-run", "take_in", 1)

    db_hook, _ = store._db
    conn = db_hook.get_conn()
    duck = conn.cursor()._duck_conn
    before = stream_offset(duck, STREAM)
    with pytest.raises(RuntimeError, match="crash"), store._transaction() as tx:
        assert tx.execute_text(_consume_sql(), {"now": datetime.now(UTC)}) == 2
        raise RuntimeError("crash between reading and triggering")
    assert stream_offset(duck, STREAM) == before, "a rolled back read leaves the offset"
    assert store.has_new_requests()

    assert store.take_in_new_requests(actor) == 2
    assert stream_offset(duck, STREAM) > before
    assert store.take_in_new_requests(actor) == 0, "a replay takes nothing twice"
    assert [r["request_id"] for r in store.open_intake_queue()] == ["s-1", "s-2"]


def _consume_sql() -> str:
    from hooks.request_store.statements import snowflake_statement

    return snowflake_statement("consume_stream")


# --- the sensors -----------------------------------------------------------------------------


def test_sensor_defers_to_the_triggerer_when_nothing_waits(store):
    from airflow.sdk.exceptions import TaskDeferred

    sensor = RequestIntakeSensor(task_id="wait", poll_interval=7, timeout=timedelta(minutes=5))
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    # The task leaves its worker slot here; the wait continues in the triggerer.
    assert deferred.value.method_name == "execute_complete"
    trigger = deferred.value.trigger
    assert isinstance(trigger, RequestStreamTrigger)
    assert trigger.poll_interval == 7
    assert trigger.timeout_at == pytest.approx(time.time() + 300, abs=5)


def test_sensor_goes_on_at_once_when_requests_wait(store):
    insert_request(store, "now-1")
    assert RequestIntakeSensor(task_id="wait").execute({}) is True


def test_sensor_timeout_ends_cleanly(store):
    from airflow.sdk.exceptions import AirflowSkipException

    sensor = RequestIntakeSensor(task_id="wait")
    assert sensor.execute_complete({}, {"status": "data", "checks": 3}) is True
    with pytest.raises(AirflowSkipException, match="next intake run waits again"):
        sensor.execute_complete({}, {"status": "timeout", "checks": 9})


def test_poke_mode_without_deferral(store):
    sensor = RequestIntakeSensor(task_id="wait", deferrable=False)
    assert sensor.poke({}) is False
    insert_request(store, "poke-1")
    assert sensor.poke({}) is True


# --- the intake DAG ------------------------------------------------------------------------------


def _trail_status(store, request_id):
    return store.get_request(request_id)["status"]


def test_intake_dag_starts_one_run_per_valid_request_highest_priority_first(pg_store, intake_dag):
    insert_request(pg_store, "prio-low", priority=2)
    insert_request(pg_store, "prio-high", priority=9)
    insert_request(
        pg_store,
        "prio-mid",
        priority=5,
        parameters={"region": "APAC", "start_date": "2026-03-01"},
        distribution=[{"type": "local", "path": "/mnt/nas/apac"}],
    )
    insert_request(pg_store, "prio-bad", priority=10, parameters={"region": "MARS"})

    run = intake_cycle(intake_dag)

    assert str(run.state) == "success"
    runs = report_runs("prio-")
    assert [r.run_id for r in runs] == ["adhoc__prio-high", "adhoc__prio-mid", "adhoc__prio-low"]
    mid = runs[1].conf
    assert mid == {
        "request_id": "prio-mid",
        "parameters": {"region": "APAC", "start_date": "2026-03-01"},
        "distribution": [{"type": "local", "path": "/mnt/nas/apac"}],
        "priority": 5,
        "requested_by": "finance-app",
    }
    # ADHOC comes from the run the intake started (its type and id), never from its conf.
    assert {str(r.run_type) for r in runs} == {"operator_triggered"}
    bad = pg_store.trail("prio-bad")
    assert bad["request"]["status"] == "FAILED"
    [error] = bad["errors"]
    assert error["component"] == "INTAKE" and error["retry_eligible"] is False
    assert "parameters.region: 'MARS' is not one of the allowed values" in error["message"]
    assert [(e["old_status"], e["new_status"]) for e in bad["events"] if e["event_type"] == "STATUS_CHANGE"] == [
        (None, "PENDING"),
        ("PENDING", "FAILED"),
    ]
    assert _trail_status(pg_store, "prio-high") == "PENDING", "the report run claims it, not the intake"

    intake_cycle(intake_dag)
    assert len(report_runs("prio-")) == 3, "a second intake run starts nothing twice"


def test_two_hundred_requests_in_bursts_make_exactly_two_hundred_runs(pg_store, intake_dag):
    invalid = set()
    for burst in range(5):
        for i in range(40):
            request_id = f"burst-{burst}-{i:02d}"
            if i % 10 == 7:
                invalid.add(request_id)
                insert_request(pg_store, request_id, report_id="no_such_report", priority=1 + i % 10)
            else:
                insert_request(pg_store, request_id, priority=1 + i % 10)
        intake_cycle(intake_dag)

    runs = report_runs("burst-")
    run_ids = [r.run_id for r in runs]
    assert len(run_ids) == len(set(run_ids)) == 200 - len(invalid)
    assert set(run_ids) == {f"adhoc__burst-{b}-{i:02d}" for b in range(5) for i in range(40)} - {
        f"adhoc__{r}" for r in invalid
    }
    for request_id in invalid:
        trail = pg_store.trail(request_id)
        assert trail["request"]["status"] == "FAILED"
        assert "report_id: no report definition 'no_such_report'" in trail["errors"][0]["message"]
    assert pg_store.open_intake_queue() == []


def test_intake_killed_mid_batch_and_retried_loses_nothing_and_starts_nothing_twice(pg_store, intake_dag):
    for i in range(8):
        insert_request(pg_store, f"kill-{i}", priority=5)
    real_start_run = DispatchRequestsOperator.start_run
    started = []

    def start_then_die(self, dag_id, run_id, conf):
        real_start_run(self, dag_id, run_id, conf)
        started.append(run_id)
        if len(started) == 3:
            # The worker dies after the third run exists but before the intake marks it.
            raise RuntimeError("worker killed mid-batch")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DispatchRequestsOperator, "start_run", start_then_die)
        patch.setattr(intake_dag.get_task("dispatch"), "retries", 0)
        crashed = intake_cycle(intake_dag)

    assert str(crashed.state) == "failed"
    assert len(report_runs("kill-")) == 3
    assert len(pg_store.open_intake_queue()) == 6, "the run started last was never marked"

    retried = intake_cycle(intake_dag)

    assert str(retried.state) == "success"
    runs = report_runs("kill-")
    assert sorted(r.run_id for r in runs) == [f"adhoc__kill-{i}" for i in range(8)]
    assert pg_store.open_intake_queue() == []


def test_snowflake_stream_intake(snowflake_store, intake_dag):

    for i in range(3):
        insert_request(snowflake_store, f"sfk-{i}", priority=3 + i)
    insert_request(snowflake_store, "sfk-bad", distribution=[{"type": "local"}])

    intake_cycle(intake_dag)

    assert [r.run_id for r in report_runs("sfk-")] == ["adhoc__sfk-2", "adhoc__sfk-1", "adhoc__sfk-0"]
    trail = snowflake_store.trail("sfk-bad")
    assert trail["request"]["status"] == "FAILED"
    assert "distribution.targets[0].path: field required" in trail["errors"][0]["message"]
    assert not snowflake_store.has_new_requests(), "the stream was consumed"

    intake_cycle_result = intake_cycle(intake_dag)
    states = {ti.task_id: str(ti.state) for ti in intake_cycle_result.get_task_instances()}
    assert len(report_runs("sfk-")) == 3
    assert states["take_in"] in ("success", "skipped")


def test_run_ids_are_derived_from_request_ids():
    assert run_id_for_request("REQ-2026-0001") == "adhoc__REQ-2026-0001"
    odd = run_id_for_request("finance request #12 (Q3)")
    assert odd.startswith("adhoc__") and odd == run_id_for_request("finance request #12 (Q3)")
    assert " " not in odd and "#" not in odd


# --- one bad request never stops the others -------------------------------------------------------

RAW_INSERT = (
    "INSERT INTO report_requests "
    "(request_id, report_id, parameters, distribution_overrides, priority, requested_by, requested_at) "
    "SELECT :request_id, :report_id, JSON_IN(:parameters), JSON_IN(:distribution), :priority, :requested_by, "
    ":requested_at"
)


def insert_raw(
    store: RequestStoreHook,
    request_id: str,
    *,
    parameters: str | None = '{"region": "EMEA"}',
    distribution: str | None = None,
    priority=5,
    requested_by="finance-app",
) -> None:
    """A worktable row written by hand: the JSON columns' text exactly as given, one request time for all."""
    with store._transaction() as tx:
        tx.execute_text(
            RAW_INSERT,
            {
                "request_id": request_id,
                "report_id": "sales_summary",
                "parameters": parameters,
                "distribution": distribution,
                "priority": priority,
                "requested_by": requested_by,
                "requested_at": datetime(2026, 11, 1, tzinfo=UTC),
            },
        )


def _problem(store: RequestStoreHook, request_id: str) -> str:
    trail = store.trail(request_id)
    assert trail["request"]["status"] == "FAILED", trail["request"]
    [error] = trail["errors"]
    assert (error["component"], error["error_code"], error["retry_eligible"]) == ("INTAKE", "INVALID_REQUEST", False)
    return error["message"]


# request id -> (the row's malformed part, the field its refusal names); SQLite keeps any text
MALFORMED = {
    "mal-2-etc": ({"distribution": '"/etc"'}, "distribution: must be a list of targets"),
    "mal-3-notjson": ({"parameters": '{"region": '}, "parameters: not valid JSON: '{\"region\": '"),
    "mal-4-list": ({"parameters": '["EMEA"]'}, "parameters: must be a JSON object of parameter values, got a list"),
    "mal-5-prio": ({"priority": 999}, "priority: must be an integer from 1 to 10, got 999"),
    "mal-6-prio": ({"priority": "high"}, "priority: must be an integer from 1 to 10, got 'high'"),
    "mal-7-by": ({"requested_by": "\x1b[2Jeve"}, "requested_by: '\\x1b[2Jeve' contains control"),
    "mal-8-" + "x" * 80: ({}, "request_id: longer than 64 characters"),
}


def test_malformed_rows_between_good_ones_fail_alone_and_the_good_ones_complete(
    report_env, intake_dag, sample_dag, capsys
):
    store = RequestStoreHook()
    insert_raw(store, "mal-1-good", parameters='{"region": "APAC"}')
    for request_id, (row, _) in MALFORMED.items():
        insert_raw(store, request_id, **row)
    insert_raw(store, "mal-9-good")

    run = intake_cycle(intake_dag)

    assert str(run.state) == "success"
    assert [r.run_id for r in report_runs("mal-")] == ["adhoc__mal-1-good", "adhoc__mal-9-good"]
    for request_id, (_, problem) in MALFORMED.items():
        assert problem in _problem(store, request_id), request_id
    assert store.open_intake_queue() == []

    # The scheduler runs what the intake started: both good requests complete, as ADHOC requests.
    for request_id in ("mal-1-good", "mal-9-good"):
        report = run_started(sample_dag, f"adhoc__{request_id}")
        assert str(report.state) == "success", task_states(report)
        request = store.get_request(request_id)
        assert (request["status"], request["trigger_type"]) == ("COMPLETED", "ADHOC")
    assert sorted(p.name.split("_")[2] for p in (report_env / "sales_summary").glob("*.csv")) == ["APAC", "EMEA"]

    # `make trail` shows any request, however malformed.
    command = load_module("request_store_command_intake", ROOT / "scripts" / "request_store.py")
    for request_id, (_, problem) in MALFORMED.items():
        assert command.main(["trail", request_id]) == 0
        out = capsys.readouterr().out
        assert "status FAILED" in out and problem in out, out
        assert "not a valid request: " in out
        assert "\x1b" not in out


def test_malformed_json_values_never_stop_the_intake_on_postgres(pg_store, intake_dag):
    deep = "[" * 3_000 + "]" * 3_000  # PostgreSQL stores it; Python's parser cannot go that deep
    insert_raw(pg_store, "pgm-1-good")
    insert_raw(pg_store, "pgm-2-etc", distribution='"/etc"')
    insert_raw(pg_store, "pgm-3-deep", parameters=deep)
    insert_raw(pg_store, "pgm-4-list", parameters='["EMEA"]')
    insert_raw(pg_store, "pgm-5-by", requested_by="\u202eeve")
    insert_raw(pg_store, "pgm-9-good")

    run = intake_cycle(intake_dag)

    assert str(run.state) == "success"
    assert [r.run_id for r in report_runs("pgm-")] == ["adhoc__pgm-1-good", "adhoc__pgm-9-good"]
    assert "distribution: must be a list of targets" in _problem(pg_store, "pgm-2-etc")
    assert "parameters: not valid JSON: '[[[[" in _problem(pg_store, "pgm-3-deep")
    assert "parameters: must be a JSON object of parameter values" in _problem(pg_store, "pgm-4-list")
    assert "requested_by: " in _problem(pg_store, "pgm-5-by")
    assert pg_store.trail("pgm-3-deep")["request"]["parameters"].startswith("[[[")


def test_a_request_whose_check_breaks_fails_alone(pg_store, intake_dag, monkeypatch):
    import operators.intake as intake

    real = intake.check_request

    def breaks_on_one(document, definitions, **kwargs):
        if document["request_id"] == "brk-2":
            raise RuntimeError("an error nobody foresaw")
        return real(document, definitions, **kwargs)

    monkeypatch.setattr(intake, "check_request", breaks_on_one)
    for request_id in ("brk-1", "brk-2", "brk-3"):
        insert_request(pg_store, request_id)

    run = intake_cycle(intake_dag)

    assert str(run.state) == "success"
    assert [r.run_id for r in report_runs("brk-")] == ["adhoc__brk-1", "adhoc__brk-3"]
    assert "request: cannot be checked (RuntimeError: 'an error nobody foresaw')" in _problem(pg_store, "brk-2")
