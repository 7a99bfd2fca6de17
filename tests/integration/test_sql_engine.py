"""The SQL engine against real databases: PostgreSQL (server-side cursor) and fakesnow.

fakesnow 0.12.1 has no ``fetch_arrow_batches`` (nor ``fetch_pandas_batches``): as it is, the
engine reads it with ``fetchmany``. The "arrow" runs give its cursor a ``fetch_arrow_batches``
that re-sends fakesnow's result as Snowflake chunks decoded by the real connector
(tests/support/snowflake_arrow.py), which is the path a real Snowflake takes.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime

import psycopg2
import pytest

from hooks import report_query
from operators.generate.sql import SqlReportOperator
from reporting.definition import ReportDefinition
from reporting.render import RenderContext

ROWS = 2_345


def _definition(conn_id: str) -> ReportDefinition:
    return ReportDefinition.model_validate(
        {
            "id": "engine_rows",
            "title": "Engine rows",
            "owner": "tests",
            "engine": {"type": "sql", "conn_id": conn_id, "sql": "engine_rows.sql", "batch_size": 500},
            "parameters": {"min_id": {"type": "integer", "default": 0}},
            "formats": ["csv", "xlsx"],
            "distribution": [{"type": "local", "path": "/tmp/unused"}],
        }
    )


def _render(definition: ReportDefinition, tmp_path) -> list[list[str]]:
    operator = SqlReportOperator(task_id="generate", definition=definition, request={})
    context = RenderContext("Engine rows", "engine_rows", {"min_id": 10}, datetime.now(UTC))
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
    real = report_query.fetch_batches

    def spy(cursor, size, kind):
        opened.append(getattr(cursor, "name", None))
        yield from real(cursor, size, kind)

    monkeypatch.setattr(report_query, "fetch_batches", spy)

    rows = _render(_definition("engine_pg"), tmp_path)

    assert rows[0] == ["id", "label"] and rows[1] == ["11", "row 11"] and rows[-1] == [str(ROWS), f"row {ROWS}"]
    assert opened == ["report_engine_rows"], "a named (server-side) cursor streams the result"


def _snowflake_reader(reader: str, monkeypatch) -> list[str]:
    """Make fakesnow's cursor serve Arrow chunks (reader "arrow") or leave it as it is; returns the calls seen."""
    from fakesnow.cursor import FakeSnowflakeCursor

    from support.snowflake_arrow import fakesnow_fetch_arrow_batches

    assert not hasattr(FakeSnowflakeCursor, "fetch_arrow_batches"), (
        "fakesnow serves Arrow batches now: drop the stand-in"
    )
    calls: list[str] = []
    if reader == "arrow":
        arrow = fakesnow_fetch_arrow_batches(chunk_rows=700)

        def fetch_arrow_batches(self, force_microsecond_precision=False):
            calls.append("fetch_arrow_batches")
            yield from arrow(self, force_microsecond_precision)

        monkeypatch.setattr(FakeSnowflakeCursor, "fetch_arrow_batches", fetch_arrow_batches, raising=False)
    fetchmany, fetchall = FakeSnowflakeCursor.fetchmany, FakeSnowflakeCursor.fetchall
    inside_fetchall: list[bool] = []

    def counted_fetchmany(self, size=None):
        if not inside_fetchall:  # fakesnow's description runs a DESCRIBE and reads it with fetchall
            calls.append("fetchmany")
        return fetchmany(self, size)

    def uncounted_fetchall(self):
        inside_fetchall.append(True)
        try:
            return fetchall(self)
        finally:
            inside_fetchall.pop()

    monkeypatch.setattr(FakeSnowflakeCursor, "fetchmany", counted_fetchmany)
    monkeypatch.setattr(FakeSnowflakeCursor, "fetchall", uncounted_fetchall)
    return calls


def _snowflake_sql(*statements: str) -> None:
    from snowflake import connector

    conn = connector.connect(account="fake", user="u", password="p", database="REPORTING", schema="PUBLIC")
    cur = conn.cursor()
    for statement in statements:
        cur.execute(statement)
    conn.close()


@pytest.mark.parametrize("reader", ["arrow", "fetchmany"])
def test_snowflake_rows_arrive_in_batches(reader, fake_snowflake, sql_dir, tmp_path, monkeypatch):
    from support.snowflake_streams import FAKE_SNOWFLAKE_CONN

    monkeypatch.setenv("AIRFLOW_CONN_ENGINE_SF", FAKE_SNOWFLAKE_CONN)
    _snowflake_sql(
        "CREATE OR REPLACE TABLE engine_rows (id INTEGER, label VARCHAR)",
        f"INSERT INTO engine_rows SELECT seq4() + 1, 'row ' || (seq4() + 1) FROM TABLE(GENERATOR(ROWCOUNT => {ROWS}))",
    )
    calls = _snowflake_reader(reader, monkeypatch)

    rows = _render(_definition("engine_sf"), tmp_path)

    assert [c.lower() for c in rows[0]] == ["id", "label"]
    assert rows[1] == ["11", "row 11"] and len(rows) == ROWS - 10 + 1
    assert set(calls) == {"fetch_arrow_batches" if reader == "arrow" else "fetchmany"}


# --- NULLs and exact values: the same rows give the same files from either database ---------------

NULLS_SQL = "SELECT id, qty, label, day, happened_at, amount FROM null_rows WHERE id > :min_id ORDER BY id"
NULLS_VALUES = (
    "(1, NULL, 'first', '2026-01-02', '2026-01-02 03:04:05.123456', 12.50),"
    " (2, 7, NULL, NULL, NULL, NULL),"
    " (3, -300, 'third', '2025-12-31', '1999-12-31 23:59:59', -0.01),"
    " (4, 1099511627776, 'fourth', '2026-06-30', '2026-06-30 00:00:00', 1234567890.99),"
    " (5, NULL, NULL, NULL, NULL, NULL)"
)
NULLS_CSV = [
    ["id", "qty", "label", "day", "happened_at", "amount"],
    ["1", "", "first", "2026-01-02", "2026-01-02T03:04:05.123456", "12.50"],
    ["2", "7", "", "", "", ""],
    ["3", "-300", "third", "2025-12-31", "1999-12-31T23:59:59", "-0.01"],
    ["4", "1099511627776", "fourth", "2026-06-30", "2026-06-30T00:00:00", "1234567890.99"],
    ["5", "", "", "", "", ""],
]


def _render_nulls(conn_id: str, folder) -> dict[str, object]:
    import openpyxl
    from pypdf import PdfReader

    definition = ReportDefinition.model_validate(
        {
            "id": "null_rows",
            "title": "Null rows",
            "owner": "tests",
            "engine": {"type": "sql", "conn_id": conn_id, "sql": "null_rows.sql", "batch_size": 2},
            "parameters": {"min_id": {"type": "integer", "default": 0}},
            "formats": ["csv", "xlsx", "pdf"],
            "distribution": [{"type": "local", "path": "/tmp/unused"}],
        }
    )
    operator = SqlReportOperator(task_id="generate", definition=definition, request={})
    context = RenderContext("Null rows", "null_rows", {"min_id": 0}, datetime(2026, 1, 1, tzinfo=UTC))
    folder.mkdir()
    paths = {fmt: folder / f"out.{fmt}" for fmt in ("csv", "xlsx", "pdf")}
    results = operator.generate(paths, {"min_id": 0}, context)
    assert [r.rows for r in results] == [5, 5, 5]
    with paths["csv"].open(newline="") as handle:
        csv_rows = list(csv.reader(handle))
    xlsx_rows = list(openpyxl.load_workbook(paths["xlsx"], read_only=True)["Data"].iter_rows(values_only=True))
    pdf_text = [page.extract_text() for page in PdfReader(paths["pdf"]).pages]
    # fakesnow upper-cases even quoted aliases (Snowflake keeps them): compare the names in one case.
    header = csv_rows[0]
    for name in header:
        pdf_text = [text.replace(name, name.lower()) for text in pdf_text]
    csv_rows[0] = [name.lower() for name in header]
    xlsx_rows[0] = tuple(name.lower() for name in xlsx_rows[0])
    return {"csv": csv_rows, "xlsx": xlsx_rows, "pdf": pdf_text}


@pytest.mark.parametrize("reader", ["arrow", "fetchmany"])
def test_nulls_and_exact_numbers_render_the_same_from_postgres_and_snowflake(
    reader, pg_database, fake_snowflake, sql_dir, tmp_path, monkeypatch
):
    from support.snowflake_streams import FAKE_SNOWFLAKE_CONN

    (sql_dir / "null_rows.sql").write_text(NULLS_SQL)
    params = json.loads(pg_database)
    conn = psycopg2.connect(host=params["host"], port=params["port"], user=params["login"], dbname=params["schema"])
    with conn, conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS null_rows")
        cur.execute(
            "CREATE TABLE null_rows (id INTEGER, qty BIGINT, label TEXT, day DATE, happened_at TIMESTAMP,"
            " amount NUMERIC(12, 2))"
        )
        cur.execute(f"INSERT INTO null_rows VALUES {NULLS_VALUES}")
    conn.close()
    _snowflake_sql(
        "CREATE OR REPLACE TABLE null_rows (id INTEGER, qty INTEGER, label VARCHAR, day DATE,"
        " happened_at TIMESTAMP_NTZ, amount NUMBER(12, 2))",
        f"INSERT INTO null_rows VALUES {NULLS_VALUES}",
    )
    monkeypatch.setenv("AIRFLOW_CONN_NULLS_PG", pg_database)
    monkeypatch.setenv("AIRFLOW_CONN_NULLS_SF", FAKE_SNOWFLAKE_CONN)
    calls = _snowflake_reader(reader, monkeypatch)

    postgres = _render_nulls("nulls_pg", tmp_path / "pg")
    snowflake = _render_nulls("nulls_sf", tmp_path / "sf")

    assert set(calls) == {"fetch_arrow_batches" if reader == "arrow" else "fetchmany"}
    assert postgres["csv"] == NULLS_CSV
    assert snowflake == postgres, "CSV rows, XLSX cells and PDF text are identical"
    assert postgres["xlsx"][2] == (2, 7, None, None, None, None), "NULL is an empty cell"
    assert postgres["xlsx"][1][5] == 12.5 and postgres["xlsx"][4][1] == 1099511627776
    text = "\n".join(postgres["pdf"])
    assert "12.50" in text and "1234567890.99" in text
    assert not any(junk in text for junk in ("nan", "NaT", "None", "7.0"))


# --- SQL the database rejects -------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["postgres", "snowflake"])
def test_sql_naming_a_missing_table_is_a_non_retryable_sql_error(
    engine, pg_database, fake_snowflake, sql_dir, monkeypatch
):
    from reporting.engine_errors import EngineSqlError
    from reporting.errors import classify
    from support.snowflake_streams import FAKE_SNOWFLAKE_CONN

    (sql_dir / "engine_rows.sql").write_text("SELECT id, label FROM no_such_table WHERE id > :min_id")
    monkeypatch.setenv("AIRFLOW_CONN_ENGINE_BAD", pg_database if engine == "postgres" else FAKE_SNOWFLAKE_CONN)
    operator = SqlReportOperator(task_id="generate", definition=_definition("engine_bad"), request={})
    context = RenderContext("Engine rows", "engine_rows", {"min_id": 10}, datetime.now(UTC))

    with pytest.raises(EngineSqlError) as raised:
        operator.generate({"csv": sql_dir / "out.csv"}, {"min_id": 10}, context)

    cause = raised.value.__cause__
    assert type(cause).__name__ == ("UndefinedTable" if engine == "postgres" else "ProgrammingError")
    info = classify(raised.value)
    assert (info.code, info.retry_eligible) == ("SQL_ERROR", False)
    assert "engine_rows.sql" in info.message and "no_such_table" in info.message.lower()
