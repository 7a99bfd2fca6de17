"""Every use case of the seeds' retry design (seed 000: 1 to 8) and retry configuration (seed 004),
on Airflow's own retries, the sending gate Variable and the reports_retry DAG.

Runs are in-process ``dag.test()`` runs of the sample report on SQLite; failures come from a
real cause: the local target folder is blocked by a file (an infrastructure error that a
retry can cure once the file is gone) or a parameter is invalid (no retry can help).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from hooks.request_store import RequestStoreHook
from report_runtime.sending_gate import SEND_REPORTS_VARIABLE
from support.runs import ROOT, load_module, moves, run_started, task_states, test_run


def _gate() -> str | None:
    from airflow.models import Variable

    return Variable.get(SEND_REPORTS_VARIABLE, default_var=None)


def _set_gate(value: str) -> None:
    from airflow.models import Variable

    Variable.set(SEND_REPORTS_VARIABLE, value)


def _block(report_env: Path) -> Path:
    """Put a file where the target folder must go: every delivery fails with an OS error."""
    report_env.mkdir(parents=True, exist_ok=True)
    blocker = report_env / "sales_summary"
    blocker.write_text("not a folder")
    return blocker


def _when_retrying(request_id: str, action, tries: int = 1) -> threading.Thread:
    """Run ``action`` once the request's trail shows ``tries`` RETRY rows (a try failed and waits)."""
    store = RequestStoreHook()

    def watch() -> None:
        deadline = time.time() + 120
        while time.time() < deadline:
            trail = store.trail(request_id) if store.get_request(request_id) else {"events": []}
            if (
                sum(e["event_type"] == "RETRY" and "sending_gate" not in (e["details"] or {}) for e in trail["events"])
                >= tries
            ):
                action()
                return
            time.sleep(0.1)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def _conf(request_id: str, **parameters) -> dict:
    return {"request_id": request_id, "trigger_type": "API", "parameters": parameters or {"region": "EMEA"}}


def _retries(trail) -> list[dict]:
    return [e for e in trail["events"] if e["event_type"] == "RETRY" and "sending_gate" not in (e["details"] or {})]


@pytest.fixture
def retry_dag(airflow_db):
    return load_module("reports_retry_it", ROOT / "dags" / "reports_retry.py").retry_dag


def _runs_started_by_retry(request_id: str) -> list:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        runs = [
            r
            for r in session.scalars(select(DagRun).where(DagRun.dag_id == "report__sales_summary"))
            if r.run_id.startswith("retry__") and (r.conf or {}).get("request_id") == request_id
        ]
        session.expunge_all()
    return runs


# --- seed 000 ---------------------------------------------------------------------------------


def test_use_case_1_sending_off_holds_the_request(sample_dag, report_env):
    _set_gate("false")

    run = test_run(sample_dag, _conf("uc1"))

    assert str(run.state) == "success", "a held request ends its run successfully"
    states = task_states(run)
    assert states["claim"] == "skipped" and states["generate"] == "skipped", "no engine is called"
    assert not (report_env / "sales_summary").exists(), "no destination is called"
    trail = RequestStoreHook().trail("uc1")
    assert trail["request"]["status"] == "HELD"
    assert moves(trail) == [(None, "PENDING"), ("PENDING", "HELD")]
    assert _gate() == "false"


def test_use_case_2_1_sent_successfully(sample_dag, report_env):
    run = test_run(sample_dag, _conf("uc2-1"))

    assert str(run.state) == "success"
    assert RequestStoreHook().get_request("uc2-1")["status"] == "COMPLETED"
    assert _gate() is None, "the gate is untouched"


def test_use_case_2_2_destination_down_is_retried_until_it_is_back(sample_dag, report_env):
    blocker = _block(report_env)
    watcher = _when_retrying("uc2-2", blocker.unlink)

    run = test_run(sample_dag, _conf("uc2-2"))
    watcher.join(5)

    assert str(run.state) == "success", task_states(run)
    trail = RequestStoreHook().trail("uc2-2")
    assert trail["request"]["status"] == "COMPLETED"
    assert [e["try_number"] for e in _retries(trail)] == [1]
    assert _retries(trail)[0]["task_id"] == "distribute"
    assert len(trail["deliveries"]) == 3 and _gate() is None


def test_use_case_2_3_any_other_issue_fails_and_leaves_the_gate_alone(sample_dag, report_env):
    run = test_run(sample_dag, _conf("uc2-3", region="MARS"))

    assert str(run.state) == "failed"
    trail = RequestStoreHook().trail("uc2-3")
    assert trail["request"]["status"] == "FAILED"
    assert trail["errors"][0]["retry_eligible"] is False
    assert _retries(trail) == [], "a non-retryable error is not retried"
    assert _gate() is None, "a non-retryable error never touches the gate"


def test_use_case_3_each_retry_waits_longer(sample_dag, report_env):
    blocker = _block(report_env)
    watcher = _when_retrying("uc3", blocker.unlink, tries=2)

    run = test_run(sample_dag, _conf("uc3"))
    watcher.join(5)

    assert str(run.state) == "success", task_states(run)
    trail = RequestStoreHook().trail("uc3")
    assert [e["try_number"] for e in _retries(trail)] == [1, 2]
    gaps = _retry_gaps(run, "distribute")
    # retry_delay 1 s doubling: Airflow waits at least ceil(1 * 2**(try-1)) s after each failed try.
    assert gaps[0] >= 1.0 and gaps[1] >= 2.0, gaps


def test_use_case_4_2_last_attempt_fails_and_sending_is_paused(sample_dag, report_env):
    _block(report_env)

    run = test_run(sample_dag, _conf("uc4"))

    assert str(run.state) == "failed"
    store = RequestStoreHook()
    trail = store.trail("uc4")
    assert trail["request"]["status"] == "FAILED"
    assert [e["try_number"] for e in _retries(trail)] == [1, 2]
    assert _gate() == "false"
    [paused] = [e for e in trail["events"] if (e["details"] or {}).get("sending_gate") == "off"]
    assert paused["task_id"] == "distribute"

    later = test_run(sample_dag, _conf("uc4-next"))
    assert str(later.state) == "success"
    assert store.get_request("uc4-next")["status"] == "HELD", "every later request is held"


def test_use_case_4_runs_waiting_to_retry_stop_at_their_next_start(sample_dag, report_env):
    blocker = _block(report_env)
    # While the first failed try waits, sending is paused (another request ran out of retries).
    watcher = _when_retrying("uc4-wait", lambda: _set_gate("false"))

    run = test_run(sample_dag, _conf("uc4-wait"))
    watcher.join(5)

    assert str(run.state) == "success", task_states(run)
    trail = RequestStoreHook().trail("uc4-wait")
    assert trail["request"]["status"] == "HELD"
    assert moves(trail)[-1] == ("GENERATED", "HELD")
    assert trail["deliveries"] == [] and blocker.is_file(), "the next try did not call out"


def test_use_case_5_retry_with_nothing_held(retry_dag, report_env):
    run = test_run(retry_dag)

    assert str(run.state) == "success"
    assert _xcom(run, "resend_held") == {"resent": [], "duplicate": []}


def test_use_case_6_one_held_request_is_resent_and_marked_retried(sample_dag, retry_dag, report_env):
    _set_gate("false")
    test_run(sample_dag, _conf("uc6"))
    _set_gate("true")

    retry = test_run(retry_dag)

    assert _xcom(retry, "resend_held") == {"resent": ["uc6"], "duplicate": []}
    [started] = _runs_started_by_retry("uc6")
    # RETRY comes from the run the retry DAG started (its type and id), never from its conf.
    assert "trigger_type" not in started.conf
    assert (str(started.run_type), started.run_id[:7]) == ("operator_triggered", "retry__")
    # The scheduler would now run it; run that same run here.
    resent = run_started(sample_dag, started.run_id)
    assert str(resent.state) == "success", task_states(resent)
    assert _xcom(resent, "claim")["trigger_type"] == "RETRY"
    trail = RequestStoreHook().trail("uc6")
    assert trail["request"]["status"] == "COMPLETED" and trail["request"]["attempt"] == 1
    assert moves(trail) == [
        (None, "PENDING"),
        ("PENDING", "HELD"),
        ("HELD", "IN_PROGRESS"),
        ("IN_PROGRESS", "GENERATED"),
        ("GENERATED", "DISTRIBUTED"),
        ("DISTRIBUTED", "COMPLETED"),
    ]
    assert trail["events"][-1]["details"] == {"result": "RETRIED"}


def test_use_case_7_several_held_requests_are_resent_without_duplicates(sample_dag, retry_dag, report_env):
    _set_gate("false")
    test_run(sample_dag, _conf("uc7-a", region="EMEA"))
    test_run(sample_dag, _conf("uc7-b", region="APAC"))
    test_run(sample_dag, _conf("uc7-c", region="EMEA"))
    _set_gate("true")

    retry = test_run(retry_dag)

    assert _xcom(retry, "resend_held") == {"resent": ["uc7-a", "uc7-b"], "duplicate": ["uc7-c"]}
    store = RequestStoreHook()
    assert [store.get_request(r)["status"] for r in ("uc7-a", "uc7-b", "uc7-c")] == ["HELD", "HELD", "DUPLICATE"]
    assert store.trail("uc7-c")["events"][-1]["details"]["duplicate_of"] == "uc7-a"
    assert len(_runs_started_by_retry("uc7-a")) == len(_runs_started_by_retry("uc7-b")) == 1
    assert _runs_started_by_retry("uc7-c") == []


def test_use_case_8_retry_while_sending_is_off_does_nothing_and_says_why(sample_dag, retry_dag, report_env):
    _set_gate("false")
    test_run(sample_dag, _conf("uc8"))

    retry = test_run(retry_dag)

    assert task_states(retry)["resend_held"] == "skipped"
    assert RequestStoreHook().get_request("uc8")["status"] == "HELD"
    assert _runs_started_by_retry("uc8") == []


# --- seed 004 ---------------------------------------------------------------------------------


def _write_definition(tmp_path: Path, monkeypatch, retry: dict) -> str:
    """A copy of the sample report with other retry settings, in its own definitions folder."""
    data = yaml.safe_load((ROOT / "include" / "reports" / "sales_summary.yaml").read_text())
    data.update(id="sales_retry_cfg", retry=retry)
    folder = tmp_path / "reports"
    folder.mkdir(exist_ok=True)
    (folder / "sales_retry_cfg.yaml").write_text(yaml.safe_dump(data))
    monkeypatch.setenv("REPORTING_DEFINITIONS_DIR", str(folder))
    return "report__sales_retry_cfg"


def test_seed_004_retries_disabled(factory, report_env, tmp_path, monkeypatch):
    dag_id = _write_definition(tmp_path, monkeypatch, {"retries": 0})
    _block(report_env)

    run = test_run(factory.build_all()[dag_id], _conf("s004-off"))

    assert str(run.state) == "failed"
    trail = RequestStoreHook().trail("s004-off")
    assert _retries(trail) == [] and trail["errors"][0]["retry_count"] == 0


def test_seed_004_listed_non_retryable_error_fails_at_once(factory, report_env, tmp_path, monkeypatch):
    dag_id = _write_definition(
        tmp_path, monkeypatch, {"retries": 3, "non_retryable_errors": ["FileExistsError", "NotADirectoryError"]}
    )
    _block(report_env)

    run = test_run(factory.build_all()[dag_id], _conf("s004-nonretry"))

    assert str(run.state) == "failed"
    ti = next(t for t in run.get_task_instances() if t.task_id == "distribute")
    assert ti.try_number == 1, "the listed error is not retried"
    assert _retries(RequestStoreHook().trail("s004-nonretry")) == []


def test_seed_004_backoff_follows_the_configured_formula(factory, report_env, tmp_path, monkeypatch):
    dag_id = _write_definition(
        tmp_path, monkeypatch, {"retries": 3, "retry_delay": "1s", "backoff_multiplier": 3.0, "max_retry_delay": "5s"}
    )
    _block(report_env)

    run = test_run(factory.build_all()[dag_id], _conf("s004-backoff"))

    assert str(run.state) == "failed"
    gaps = _retry_gaps(run, "distribute")
    # try 1 -> 2 waits >= 1 s, 2 -> 3 >= 3 s, 3 -> 4 >= min(9, 5) = 5 s (max_retry_delay caps it)
    assert len(gaps) == 3
    assert gaps[0] >= 1.0 and gaps[1] >= 3.0 and 5.0 <= gaps[2] < 9.0, gaps


def _retry_gaps(run, task_id: str) -> list[float]:
    """Seconds between the end of each try and the start of the next, from Airflow's own records."""
    from airflow.models.taskinstancehistory import TaskInstanceHistory
    from airflow.utils.session import create_session

    with create_session() as session:
        tries = session.scalars(
            select(TaskInstanceHistory)
            .where(
                TaskInstanceHistory.dag_id == run.dag_id,
                TaskInstanceHistory.run_id == run.run_id,
                TaskInstanceHistory.task_id == task_id,
            )
            .order_by(TaskInstanceHistory.try_number)
        ).all()
        ends = [t.end_date for t in tries]
        last = next(t for t in run.get_task_instances() if t.task_id == task_id)
        starts = [t.start_date for t in tries[1:]] + [last.start_date]
    return [(start - end).total_seconds() for end, start in zip(ends, starts, strict=True)]


def _xcom(run, task_id: str):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.scalars(
            select(XComModel).where(
                XComModel.dag_id == run.dag_id,
                XComModel.run_id == run.run_id,
                XComModel.task_id == task_id,
                XComModel.key == "return_value",
            )
        ).one()
        return XComModel.deserialize_value(row)


# --- timeouts: no request stays IN_PROGRESS forever ----------------------------------------------

_WORKER = r"""
import sys
sys.path[:0] = [{plugins!r}, {tests!r}]
from support.runs import ROOT, load_module, test_run
factory = load_module("report_factory_worker", ROOT / "dags" / "report_factory.py")
test_run(factory.build_all()["report__sales_summary"], {{"request_id": "killed", "parameters": {{"region": "ALL"}}}})
"""


def test_a_worker_killed_mid_engine_task_leaves_no_request_stuck(report_env, tmp_path, monkeypatch):
    import os
    import signal
    import subprocess
    import sys

    big = tmp_path / "big.db"
    load_module("create_sample_db_big", ROOT / "scripts" / "create_sample_db.py").create(big, rows=150_000)
    monkeypatch.setenv("AIRFLOW_CONN_REPORTING_SAMPLE_DB", f'{{"conn_type": "sqlite", "host": "{big}"}}')
    store = RequestStoreHook()
    worker = subprocess.Popen(
        [sys.executable, "-c", _WORKER.format(plugins=str(ROOT / "plugins"), tests=str(ROOT / "tests"))],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 120
        while time.time() < deadline and (store.get_request("killed") or {}).get("status") != "IN_PROGRESS":
            time.sleep(0.2)
        time.sleep(1.0)  # well inside the engine task: 150,000 rows take many seconds to render
        assert store.get_request("killed")["status"] == "IN_PROGRESS"
        os.killpg(worker.pid, signal.SIGKILL)  # no callback, no cleanup: the worker is gone
        worker.wait(30)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    assert store.get_request("killed")["status"] == "IN_PROGRESS", "nothing moved it: it would be stuck"

    monkeypatch.setenv("AIRFLOW__REPORTING__WORKING_TIMEOUT_MINUTES", "0.01")
    housekeeping = load_module("housekeeping_it", ROOT / "dags" / "reports_retry.py").housekeeping_dag
    time.sleep(1)
    run = test_run(housekeeping)

    assert str(run.state) == "success"
    trail = store.trail("killed")
    assert trail["request"]["status"] == "FAILED"
    assert moves(trail)[-1] == ("IN_PROGRESS", "FAILED")
    [error] = trail["errors"]
    assert error["error_code"] == "STUCK" and "the run died without its callbacks" in error["message"]
    assert trail["request"]["last_error"].startswith("housekeeping: no progress since")


# --- SQL errors: the report's own SQL is wrong, or its database is down ---------------------------


def _write_sql_report(tmp_path: Path, monkeypatch, conn: str, sql: str) -> str:
    """The sample report reading ``sql`` from PostgreSQL (connection ``conn``), in its own folders."""
    folder = tmp_path / "sql"
    folder.mkdir(exist_ok=True)
    (folder / "pg_report.sql").write_text(sql)
    monkeypatch.setenv("REPORTING_SQL_DIR", str(folder))
    monkeypatch.setenv("AIRFLOW_CONN_REPORTING_PG_WAREHOUSE", conn)
    data = yaml.safe_load((ROOT / "include" / "reports" / "sales_summary.yaml").read_text())
    data.update(id="pg_report", engine={"type": "sql", "conn_id": "reporting_pg_warehouse", "sql": "pg_report.sql"})
    reports = tmp_path / "reports"
    reports.mkdir(exist_ok=True)
    (reports / "pg_report.yaml").write_text(yaml.safe_dump(data))
    monkeypatch.setenv("REPORTING_DEFINITIONS_DIR", str(reports))
    return "report__pg_report"


def test_sql_naming_a_missing_table_fails_at_once_and_leaves_the_gate_alone(
    factory, report_env, pg_database, tmp_path, monkeypatch
):
    dag_id = _write_sql_report(
        tmp_path, monkeypatch, pg_database, "SELECT region, units FROM no_such_table WHERE region = :region"
    )

    run = test_run(factory.build_all()[dag_id], _conf("sql-missing-table"))

    assert str(run.state) == "failed"
    generate = next(t for t in run.get_task_instances() if t.task_id == "generate")
    assert (str(generate.state), generate.try_number) == ("failed", 1), "failed on try 1, no retry"
    trail = RequestStoreHook().trail("sql-missing-table")
    assert trail["request"]["status"] == "FAILED"
    assert _retries(trail) == []
    [error] = trail["errors"]
    assert (error["error_code"], error["error_class"], error["retry_eligible"]) == (
        "SQL_ERROR",
        "EngineSqlError",
        False,
    )
    assert (error["component"], error["retry_count"]) == ("ENGINE", 0)
    assert 'pg_report.sql: UndefinedTable: relation "no_such_table" does not exist' in error["message"]
    assert trail["request"]["last_error"].startswith("generate: EngineSqlError: sql: pg_report.sql: UndefinedTable")
    assert _gate() is None, "the sending gate is untouched"
    assert not any((e["details"] or {}).get("sending_gate") for e in trail["events"])
    assert not (report_env / "sales_summary").exists(), "nothing is delivered"


def test_a_database_that_is_down_is_retried_and_then_pauses_sending(factory, report_env, tmp_path, monkeypatch):
    import json
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = json.dumps({"conn_type": "postgres", "host": "127.0.0.1", "port": port, "login": "postgres", "schema": "x"})
    dag_id = _write_sql_report(tmp_path, monkeypatch, down, "SELECT 1 AS one WHERE :region IS NOT NULL")

    run = test_run(factory.build_all()[dag_id], _conf("sql-db-down"))

    assert str(run.state) == "failed"
    trail = RequestStoreHook().trail("sql-db-down")
    assert [e["try_number"] for e in _retries(trail)] == [1, 2], "an OperationalError gets the retries"
    [error] = trail["errors"]
    assert (error["error_code"], error["error_class"], error["retry_eligible"]) == (
        "CONNECTION",
        "OperationalError",
        True,
    )
    assert _gate() == "false", "retries ran out on an infrastructure error"
