"""The request store's SQL files: a dialect's own statement wins, and schema files split into bare statements."""

from __future__ import annotations

import sqlite3

import pytest

from hooks.request_store.statements import SQL_ROOT, schema_statements, statement


@pytest.mark.parametrize("dialect", ["sqlite", "postgres", "snowflake"])
def test_schema_files_split_into_statements_without_comments_or_semicolons(dialect):
    statements = schema_statements(dialect)

    assert statements and all(s.upper().startswith("CREATE ") for s in statements)
    assert not any(s.endswith(";") or "--" in s for s in statements)
    assert any("report_requests" in s and "TABLE" in s.upper() for s in statements)


def test_snowflakes_schema_ends_with_the_worktable_stream():
    assert schema_statements("snowflake")[-1].upper().startswith("CREATE STREAM IF NOT EXISTS REPORT_REQUESTS_STREAM")


def test_the_sqlite_schema_applies_and_applies_again():
    db = sqlite3.connect(":memory:")
    for _ in range(2):
        for sql in schema_statements("sqlite"):
            db.execute(sql)
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"report_requests", "audit_log", "error_log", "delivery_log"} <= tables


def test_a_dialects_own_statement_file_wins():
    own = SQL_ROOT / "request_store" / "snowflake" / "insert_request.sql"
    shared = SQL_ROOT / "request_store" / "insert_request.sql"

    assert statement("insert_request", "snowflake") == own.read_text(encoding="utf-8")
    assert statement("insert_request", "postgres") == shared.read_text(encoding="utf-8")
