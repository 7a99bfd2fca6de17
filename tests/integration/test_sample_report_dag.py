"""The sample report end to end with ``dag.test()``: a real SQLite database in, real files out."""

from __future__ import annotations

import csv
import hashlib
import sqlite3
from datetime import timedelta
from pathlib import Path

import openpyxl
from pypdf import PdfReader

from hooks.request_store import RequestStoreHook
from support.runs import RUN_AFTER, moves, note_of, request_of, task_states, test_run

ROOT = Path(__file__).resolve().parents[2]
_test_run = test_run
_request_of = request_of
_moves = moves
_task_states = task_states


def _expected_rows(db: Path, region: str, start: str) -> list[tuple]:
    sql = (ROOT / "include" / "sql" / "sales_summary.sql").read_text()
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, {"region": region, "start_date": start}).fetchall()


def test_sample_report_runs_and_delivers_pdf_xlsx_csv(sample_dag, report_env, sample_db):
    run = _test_run(sample_dag)

    assert str(run.state) == "success", _task_states(run)
    folder = report_env / "sales_summary"
    files = {p.suffix: p for p in folder.iterdir()}
    assert sorted(files) == [".csv", ".pdf", ".xlsx"]
    assert all(p.name.startswith("sales_summary_ALL_2026-11-20") for p in files.values())
    assert not list(folder.glob(".*partial")), "no temporary file is left behind"

    expected = _expected_rows(sample_db, "ALL", "2026-01-01")
    assert len(expected) > 100

    with files[".csv"].open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["sale_date", "region", "country", "product", "units", "unit_price", "revenue"]
    assert [row[:5] for row in rows[1:]] == [[str(v) for v in row[:5]] for row in expected]

    sheet = openpyxl.load_workbook(files[".xlsx"], read_only=True).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:3] == ("sale_date", "region", "country")
    assert len(values) - 1 == len(expected)
    assert values[1][4] == expected[0][4]

    pdf = PdfReader(files[".pdf"])
    assert len(pdf.pages) >= 2
    first, second = pdf.pages[0].extract_text(), pdf.pages[1].extract_text()
    assert "Sales summary by region" in first and "region=ALL" in first
    assert "sale_date" in second and "revenue" in second, "the header repeats on page 2"
    assert "Page 2" in second


def test_xcom_carries_artifact_metadata_not_bytes(sample_dag, report_env):
    run = _test_run(sample_dag)
    ti = next(t for t in run.get_task_instances() if t.task_id == "generate")
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        row = session.scalars(
            select(XComModel).where(
                XComModel.dag_id == ti.dag_id, XComModel.run_id == ti.run_id, XComModel.task_id == "generate"
            )
        ).one()
        artifacts = XComModel.deserialize_value(row)
    assert {a["format"] for a in artifacts} == {"pdf", "xlsx", "csv"}
    for artifact in artifacts:
        assert set(artifact) == {"format", "file_name", "uri", "rows", "bytes", "sha256"}
        staged = Path(artifact["uri"].removeprefix("file://"))
        data = staged.read_bytes()
        assert len(data) == artifact["bytes"]
        assert hashlib.sha256(data).hexdigest() == artifact["sha256"]
        assert artifact["uri"].startswith("file://")
        assert "/sales_summary/2026-11-20/" in artifact["uri"]


def test_run_parameters_come_from_conf(sample_dag, report_env, sample_db):
    run = _test_run(sample_dag, {"region": "EMEA", "start_date": "2026-06-01"})

    assert str(run.state) == "success", _task_states(run)
    csv_file = next((report_env / "sales_summary").glob("sales_summary_EMEA_*.csv"))
    with csv_file.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    expected = _expected_rows(sample_db, "EMEA", "2026-06-01")
    assert len(rows) == len(expected) > 0
    assert {row["region"] for row in rows} == {"EMEA"}
    assert min(row["sale_date"] for row in rows) >= "2026-06-01"


def test_invalid_parameters_fail_the_claim_at_once(sample_dag, report_env):
    run = _test_run(sample_dag, {"request_id": "api-42", "trigger_type": "API", "parameters": {"region": "MARS"}})

    assert str(run.state) == "failed"
    claim = next(t for t in run.get_task_instances() if t.task_id == "claim")
    assert str(claim.state) == "failed"
    assert claim.try_number == 1, "a bad parameter is not retried"
    assert not (report_env / "sales_summary").exists(), "nothing is delivered"
    trail = RequestStoreHook().trail("api-42")
    assert trail["request"]["status"] == "FAILED"
    assert trail["request"]["trigger_type"] == "API"
    assert _moves(trail) == [(None, "PENDING"), ("PENDING", "FAILED")]
    [error] = trail["errors"]
    assert (error["error_code"], error["error_class"]) == ("INVALID_REQUEST", "RequestRefused")
    assert error["retry_eligible"] is False
    assert "parameters.region: 'MARS' is not one of the allowed values" in error["message"]
    assert error["component"] == "ORCHESTRATOR"
    assert "parameters.region: 'MARS'" in trail["request"]["last_error"]
    note = note_of(run)
    assert note.startswith("Refused: invalid parameters: parameters.region: 'MARS' is not one of the allowed values")
    assert "request api-42 is FAILED" in note


def test_the_trail_of_a_run_goes_from_pending_to_completed(sample_dag, report_env):
    run = _test_run(sample_dag)

    trail = RequestStoreHook().trail(_request_of(run))
    assert _moves(trail) == [
        (None, "PENDING"),
        ("PENDING", "IN_PROGRESS"),
        ("IN_PROGRESS", "GENERATED"),
        ("GENERATED", "DISTRIBUTED"),
        ("DISTRIBUTED", "COMPLETED"),
    ]
    request = trail["request"]
    assert (request["status"], request["trigger_type"], request["attempt"]) == ("COMPLETED", "MANUAL", 1)
    assert request["dag_run_id"] == run.run_id
    assert request["parameters"] == {"region": "ALL", "start_date": "2026-01-01"}
    assert sorted(d["format"] for d in trail["deliveries"]) == ["csv", "pdf", "xlsx"]
    assert {d["target_key"] for d in trail["deliveries"]} == {"reports_share"}
    by_task = {e["task_id"] for e in trail["events"]}
    assert by_task == {"claim", "generate", "distribute", "notify", "finalize"}
    assert [e["event_type"] for e in trail["events"]].count("NOTIFICATION") == 1


def test_a_rerun_of_a_finished_run_changes_nothing(sample_dag, report_env):
    moment = RUN_AFTER + timedelta(hours=1)
    first = _test_run(sample_dag, moment=moment)
    store = RequestStoreHook()
    before = store.trail(_request_of(first))

    again = _test_run(sample_dag, moment=moment)

    assert again.run_id == first.run_id
    assert str(again.state) == "success"
    assert store.trail(_request_of(again)) == before, "no row or audit entry added, nothing moved back"
    states = _task_states(again)
    assert states["claim"] == "skipped" and states["generate"] == "skipped"


def test_a_failed_delivery_fails_the_request_and_a_cleared_run_completes_it(sample_dag, report_env):
    moment = RUN_AFTER + timedelta(hours=2)
    report_env.mkdir(parents=True, exist_ok=True)
    (report_env / "sales_summary").write_text("a file where the target folder should be")

    failed = _test_run(sample_dag, moment=moment)

    assert str(failed.state) == "failed"
    store = RequestStoreHook()
    request_id = _request_of(failed)
    trail = store.trail(request_id)
    assert trail["request"]["status"] == "FAILED"
    assert "distribute" in trail["request"]["last_error"]
    retries = [e for e in trail["events"] if e["event_type"] == "RETRY" and "sending_gate" not in (e["details"] or {})]
    assert [e["try_number"] for e in retries] == [1, 2], "one RETRY row per failed try before the last"
    [error] = trail["errors"]
    assert (error["component"], error["retry_count"], error["retry_eligible"]) == ("DISTRIBUTOR", 2, True)

    # Retries ran out on an infrastructure error: sending was paused, and the trail says why.
    from airflow.models import Variable

    from report_runtime.sending_gate import SEND_REPORTS_VARIABLE

    assert Variable.get(SEND_REPORTS_VARIABLE) == "false"
    assert any(e["details"] and e["details"].get("sending_gate") == "off" for e in trail["events"])

    (report_env / "sales_summary").unlink()
    Variable.set(SEND_REPORTS_VARIABLE, "true")
    cleared = _test_run(sample_dag, moment=moment)

    assert str(cleared.state) == "success", _task_states(cleared)
    trail = store.trail(request_id)
    assert _moves(trail) == [
        (None, "PENDING"),
        ("PENDING", "IN_PROGRESS"),
        ("IN_PROGRESS", "GENERATED"),
        ("GENERATED", "FAILED"),
        ("FAILED", "IN_PROGRESS"),
        ("IN_PROGRESS", "GENERATED"),
        ("GENERATED", "DISTRIBUTED"),
        ("DISTRIBUTED", "COMPLETED"),
    ]
    assert (trail["request"]["status"], trail["request"]["attempt"]) == ("COMPLETED", 2)
    assert len(trail["deliveries"]) == 3
