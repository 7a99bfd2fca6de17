"""The SQL engine against real databases: PostgreSQL (server-side cursor) and fakesnow (Arrow batches)."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timezone

import psycopg2
import pytest

from operators.engines import SqlReportOperator
from reporting.definition import ReportDefinition
from reporting.renderers import RenderContext

ROWS = 2_345


def _definition(conn_id: str) -> ReportDefinition:
    return ReportDefinition.model_validate({
        "id": "engine_rows", "title": "Engine rows", "owner": "tests",
        "engine": {"type": "sql", "conn_id": conn_id, "sql": "engine_rows.sql", "batch_size": 500},
        "parameters": {"min_id": {"type": "integer", "default": 0}},
        "formats": ["csv", "xlsx"],
        "distribution": [{"type": "local", "path": "/tmp/unused"}],
    })


def _render(definition: ReportDefinition, tmp_path) -> list[list[str]]:
    operator = SqlReportOperator(task_id="generate", definition=definition, request={})
    context = RenderContext("Engine rows", "engine_rows", {"min_id": 10}, datetime.now(timezone.utc))
    paths = {"csv": tmp_path / "out.csv", "xlsx": tmp_path / "out.xlsx"}
    results = operator.generate(paths, {"min_id": 10}, context)
    assert [r.rows for r in results] == [ROWS - 10, ROWS - 10]
    with paths["csv"].open(newline="") as handle:
        return list(csv.reader(handle))


@pytest.fixture
def sql_dir(tmp_path, monkeypatch):
    folder = tmp_path / "sql"
    folder.mkdir()
    (folder / "engine_rows.sql").write_text("SELECT id, label FROM engine_rows WHERE id > :min_id ORDER BY id")
    monkeypatch.setenv("REPORTING_SQL_DIR", str(folder))
    return folder


def test_postgres_rows_stream_through_a_server_side_cursor(pg_database, sql_dir, tmp_path, monkeypatch):
    params = json.loads(pg_database)
    conn = psycopg2.connect(host=params["host"], port=params["port"], user=params["login"], dbname=params["schema"])
    with conn, conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS engine_rows")
        cur.execute("CREATE TABLE engine_rows (id INTEGER PRIMARY KEY, label TEXT)")
        cur.execute("INSERT INTO engine_rows SELECT g, 'row ' || g FROM generate_series(1, %s) AS g", (ROWS,))
    conn.close()
    monkeypatch.setenv("AIRFLOW_CONN_ENGINE_PG", pg_database)
    opened: list[str | None] = []
    real = SqlReportOperator._batches

    def spy(cursor, size, kind):
        opened.append(getattr(cursor, "name", None))
        yield from real(cursor, size, kind)

    monkeypatch.setattr(SqlReportOperator, "_batches", staticmethod(spy))

    rows = _render(_definition("engine_pg"), tmp_path)

    assert rows[0] == ["id", "label"] and rows[1] == ["11", "row 11"] and rows[-1] == [str(ROWS), f"row {ROWS}"]
    assert opened == ["report_engine_rows"], "a named (server-side) cursor streams the result"


def test_snowflake_rows_arrive_as_arrow_batches(fake_snowflake, sql_dir, tmp_path, monkeypatch):
    from support.snowflake_streams import FAKE_SNOWFLAKE_CONN
    from snowflake import connector

    monkeypatch.setenv("AIRFLOW_CONN_ENGINE_SF", FAKE_SNOWFLAKE_CONN)
    conn = connector.connect(account="fake", user="u", password="p", database="REPORTING", schema="PUBLIC")
    cur = conn.cursor()
    cur.execute("CREATE OR REPLACE TABLE engine_rows (id INTEGER, label VARCHAR)")
    cur.execute(f"INSERT INTO engine_rows SELECT seq4() + 1, 'row ' || (seq4() + 1) FROM TABLE(GENERATOR(ROWCOUNT => {ROWS}))")
    conn.close()

    rows = _render(_definition("engine_sf"), tmp_path)

    assert [c.lower() for c in rows[0]] == ["id", "label"]
    assert rows[1] == ["11", "row 11"] and len(rows) == ROWS - 10 + 1
