"""SQL the database rejects fails at once and is not retry-eligible; a lost connection or a timeout is retried."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import psycopg2.errors
import pytest
from airflow.sdk.definitions.retry_policy import RetryAction
from snowflake.connector import errors as snowflake_errors

from operators.generate.sql import SqlReportOperator
from report_runtime.retry import EngineRetryPolicy, ReportRetryPolicy
from reporting.definition import ReportDefinition
from reporting.engine_errors import EngineSqlError, engine_error_from_dict, engine_error_to_dict
from reporting.errors import classify
from reporting.render import RenderContext


def _sqlite_error(sql: str) -> sqlite3.Error:
    with pytest.raises(sqlite3.Error) as raised:
        sqlite3.connect(":memory:").execute(sql)
    return raised.value


def _locked_error(tmp_path) -> sqlite3.Error:
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(sqlite3.Error) as raised:
            sqlite3.connect(path, timeout=0).execute("SELECT * FROM t")
    finally:
        holder.execute("ROLLBACK")
    return raised.value


def _snowflake(errno: int, sqlstate: str, msg: str) -> snowflake_errors.ProgrammingError:
    return snowflake_errors.ProgrammingError(msg=msg, errno=errno, sqlstate=sqlstate)


@pytest.mark.parametrize(
    ("make", "code", "retry"),
    [
        (lambda tmp: psycopg2.errors.UndefinedTable('relation "nope" does not exist'), "SQL_ERROR", False),
        (lambda tmp: psycopg2.errors.SyntaxError('syntax error at or near "FORM"'), "SQL_ERROR", False),
        (lambda tmp: psycopg2.errors.DivisionByZero("division by zero"), "SQL_ERROR", False),
        (lambda tmp: psycopg2.OperationalError("server closed the connection unexpectedly"), "CONNECTION", True),
        (lambda tmp: psycopg2.errors.QueryCanceled("canceling statement due to statement timeout"), "CONNECTION", True),
        (
            lambda tmp: _snowflake(2003, "42S02", "SQL compilation error: Object 'NOPE' does not exist"),
            "SQL_ERROR",
            False,
        ),
        (
            lambda tmp: _snowflake(630, "57014", "Statement reached its statement or warehouse timeout"),
            "TASK_ERROR",
            True,
        ),
        (
            lambda tmp: snowflake_errors.OperationalError(msg="Could not connect to Snowflake backend"),
            "CONNECTION",
            True,
        ),
        (lambda tmp: _sqlite_error("SELECT * FROM nope"), "SQL_ERROR", False),
        (lambda tmp: _sqlite_error("SELEC 1"), "SQL_ERROR", False),
        (lambda tmp: _locked_error(tmp), "CONNECTION", True),
    ],
    ids=[
        "pg-missing-table",
        "pg-syntax",
        "pg-division-by-zero",
        "pg-connection-lost",
        "pg-statement-timeout",
        "sf-missing-table",
        "sf-statement-timeout",
        "sf-connection",
        "sqlite-missing-table",
        "sqlite-syntax",
        "sqlite-locked",
    ],
)
def test_driver_errors_are_classified_by_what_a_retry_can_do(make, code, retry, tmp_path):
    exc = make(tmp_path)
    info = classify(exc)
    assert (info.code, info.error_class, info.retry_eligible) == (code, type(exc).__name__, retry)


def test_an_sql_error_names_the_file_and_the_database_message_and_is_never_retryable():
    cause = psycopg2.errors.UndefinedTable(
        'relation "no_such_table" does not exist\nLINE 1: SELECT * FROM no_such_table\n'
    )
    error = EngineSqlError("missing.sql", cause)

    info = classify(error)
    assert (info.code, info.error_class, info.retry_eligible) == ("SQL_ERROR", "EngineSqlError", False)
    assert info.message == (
        'sql: missing.sql: UndefinedTable: relation "no_such_table" does not exist LINE 1: SELECT * FROM no_such_table'
        " (not retryable)"
    )
    rebuilt = engine_error_from_dict(engine_error_to_dict(error))
    assert type(rebuilt) is EngineSqlError and str(rebuilt) == str(error)


def test_the_retry_policies_fail_an_sql_error_at_once_unless_the_definition_lists_it():
    cause = psycopg2.errors.UndefinedTable('relation "nope" does not exist')
    try:
        raise EngineSqlError("missing.sql", cause) from cause
    except EngineSqlError as raised:
        error = raised
    assert EngineRetryPolicy().evaluate(error, 1, 3).action is RetryAction.FAIL
    assert ReportRetryPolicy().evaluate(error, 1, 3).action is RetryAction.FAIL
    # A table another job creates late may be worth waiting for: the definition can say so.
    assert ReportRetryPolicy(retryable=["UndefinedTable"]).evaluate(error, 1, 3).action is RetryAction.RETRY


def _operator(tmp_path, monkeypatch, sql: str, host: str) -> tuple[SqlReportOperator, dict]:
    folder = tmp_path / "sql"
    folder.mkdir(exist_ok=True)
    (folder / "report.sql").write_text(sql)
    monkeypatch.setenv("REPORTING_SQL_DIR", str(folder))
    monkeypatch.setenv("AIRFLOW_CONN_SQL_ERRORS_DB", json.dumps({"conn_type": "sqlite", "host": host}))
    definition = ReportDefinition.model_validate(
        {
            "id": "sql_errors",
            "title": "SQL errors",
            "owner": "tests",
            "engine": {"type": "sql", "conn_id": "sql_errors_db", "sql": "report.sql"},
            "formats": ["csv"],
            "distribution": [{"type": "local", "path": "/tmp/unused"}],
        }
    )
    return SqlReportOperator(task_id="generate", definition=definition, request={}), {"csv": tmp_path / "out.csv"}


CONTEXT = RenderContext("SQL errors", "sql_errors", {}, datetime(2026, 1, 1, tzinfo=UTC))


def test_generate_turns_sql_the_database_rejects_into_a_non_retryable_engine_error(tmp_path, monkeypatch):
    operator, paths = _operator(tmp_path, monkeypatch, "SELECT id FROM no_such_table", str(tmp_path / "data.db"))

    with pytest.raises(EngineSqlError) as raised:
        operator.generate(paths, {}, CONTEXT)

    assert raised.value.retryable is False
    assert isinstance(raised.value.__cause__, sqlite3.OperationalError)
    assert "report.sql: OperationalError: no such table: no_such_table" in str(raised.value)
    assert operator.retry_policy.evaluate(raised.value, 1, 3).action is RetryAction.FAIL


def test_generate_leaves_other_database_errors_to_the_retries(tmp_path, monkeypatch):
    operator, paths = _operator(tmp_path, monkeypatch, "SELECT 1", str(tmp_path / "no" / "such" / "folder.db"))

    with pytest.raises(sqlite3.OperationalError) as raised:
        operator.generate(paths, {}, CONTEXT)

    assert classify(raised.value).retry_eligible is True
    assert operator.retry_policy.evaluate(raised.value, 1, 3).action is RetryAction.DEFAULT


def test_a_placeholder_without_a_value_fails_at_once_naming_the_file(tmp_path, monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException

    operator, paths = _operator(tmp_path, monkeypatch, "SELECT :region AS region", str(tmp_path / "data.db"))

    with pytest.raises(AirflowFailException, match=r"^report\.sql: the SQL uses parameters with no value: region$"):
        operator.generate(paths, {}, CONTEXT)
