"""The request store's SQL, as files: one statement per file, a dialect's own file where it differs, and the schema."""

from __future__ import annotations

import functools
from pathlib import Path

SQL_ROOT = Path(__file__).resolve().parents[3] / "include" / "sql"
STREAM = "REPORT_REQUESTS_STREAM"
"""The Snowflake stream on the worktable (include/sql/snowflake/report_requests_stream.sql)."""


@functools.cache
def statement(name: str, dialect: str) -> str:
    """The text of ``include/sql/request_store/[<dialect>/]<name>.sql``; a dialect's own file wins.

    :param name: the statement's file name without ``.sql``.
    :param dialect: sqlite, postgres or snowflake.
    """
    folder = SQL_ROOT / "request_store"
    own = folder / dialect / f"{name}.sql"
    return (own if own.is_file() else folder / f"{name}.sql").read_text(encoding="utf-8")


@functools.cache
def snowflake_statement(name: str) -> str:
    """The text of ``include/sql/snowflake/<name>.sql`` (the stream and its consumer).

    :param name: the statement's file name without ``.sql``.
    """
    return (SQL_ROOT / "snowflake" / f"{name}.sql").read_text(encoding="utf-8")


def schema_statements(dialect: str) -> list[str]:
    """The DDL statements of ``include/sql/schema/<dialect>.sql`` (and Snowflake's stream), in order.

    :param dialect: sqlite, postgres or snowflake.
    """
    from airflow.providers.common.sql.hooks.sql import DbApiHook

    statements = DbApiHook.split_sql_string(
        (SQL_ROOT / "schema" / f"{dialect}.sql").read_text(encoding="utf-8"), strip_semicolon=True
    )
    if dialect == "snowflake":
        statements += DbApiHook.split_sql_string(snowflake_statement("report_requests_stream"), strip_semicolon=True)
    return statements
