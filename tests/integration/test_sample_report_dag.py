"""The sample report end to end with ``dag.test()``: a real SQLite database in, real files out."""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import itertools
import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import openpyxl
import pytest
from pypdf import PdfReader

ROOT = Path(__file__).resolve().parents[2]
RUN_AFTER = datetime(2026, 11, 20, 7, 0, tzinfo=timezone.utc)
_runs = itertools.count()


def _test_run(dag, conf=None):
    """One ``dag.test()`` run with its own run id (run ids derive from the run time)."""
    moment = RUN_AFTER + timedelta(seconds=next(_runs))
    return dag.test(run_after=moment, logical_date=moment, run_conf=conf)


def _load_module(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sample") / "sample.db"
    _load_module("create_sample_db", ROOT / "scripts" / "create_sample_db.py").create(path)
    return path


@pytest.fixture
def report_env(airflow_db, sample_db, tmp_path, monkeypatch) -> Path:
    out = tmp_path / "out"
    monkeypatch.setenv("AIRFLOW_CONN_REPORTING_SAMPLE_DB", json.dumps({"conn_type": "sqlite", "host": str(sample_db)}))
    monkeypatch.setenv("REPORTING_OUTPUT_DIR", str(out))
    monkeypatch.setenv("AIRFLOW__REPORTING__STAGING_ROOT", (tmp_path / "staging").as_uri())
    return out


@pytest.fixture(scope="module")
def sample_dag():
    factory = _load_module("report_factory_it", ROOT / "dags" / "report_factory.py")
    return factory.build_all()["report__sales_summary"]


def _expected_rows(db: Path, region: str, start: str) -> list[tuple]:
    sql = (ROOT / "include" / "sql" / "sales_summary.sql").read_text()
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, {"region": region, "start_date": start}).fetchall()


def _task_states(run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


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
    run = _test_run(sample_dag, {"parameters": {"region": "MARS"}})

    assert str(run.state) == "failed"
    claim = next(t for t in run.get_task_instances() if t.task_id == "claim")
    assert str(claim.state) == "failed"
    assert claim.try_number == 1, "a bad parameter is not retried"
    assert not (report_env / "sales_summary").exists(), "nothing is delivered"
