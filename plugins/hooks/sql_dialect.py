"""What differs between the SQL databases we talk to: placeholders, JSON columns, transactions."""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from reporting.sql import bind

DIALECTS = ("sqlite", "postgres", "snowflake")
_JSON_IN = re.compile(r"JSON_IN\((:\w+)\)")
_JSON_CAST = {"sqlite": r"\1", "postgres": r"CAST(\1 AS JSONB)", "snowflake": r"PARSE_JSON(\1)"}


def dialect_of(conn_type: str | None) -> str:
    """Map an Airflow connection type onto one of the supported dialects.

    :param conn_type: the connection's ``conn_type`` (``sqlite``, ``postgres``, ``snowflake``).
    """
    kind = (conn_type or "").lower()
    if kind in ("postgres", "postgresql"):
        return "postgres"
    if kind in DIALECTS:
        return kind
    raise ValueError(f"connection type {conn_type!r} is not supported; use one of {', '.join(DIALECTS)}")


def paramstyle_of(conn: Any) -> str:
    """The DB-API paramstyle a live connection expects.

    :param conn: a DB-API connection.
    """
    # Snowflake keeps it per connection; the rest declare it on their DB-API module.
    style = getattr(conn, "_paramstyle", None)
    if isinstance(style, str):
        return style
    module = importlib.import_module(type(conn).__module__.split(".")[0])
    return getattr(module, "paramstyle", "pyformat")


def prepare(sql: str, values: Mapping[str, Any], conn: Any, dialect: str) -> tuple[str, Any]:
    """Turn a statement file's text into what this driver executes, values bound, never formatted.

    ``JSON_IN(:x)`` marks a JSON column value: bound as text and converted by the database.

    :param sql: statement text with ``:name`` placeholders.
    :param values: the values by name.
    :param conn: the live connection (its driver decides the paramstyle).
    :param dialect: one of :data:`DIALECTS`.
    """
    sql = _JSON_IN.sub(_JSON_CAST[dialect], sql)
    if dialect == "sqlite":
        # sqlite3's implicit datetime adapter is deprecated; store ISO 8601 text explicitly.
        values = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()}
    return bind(sql, values, paramstyle_of(conn))


def to_json(value: Any) -> str | None:
    """Serialise a value for a JSON column (``None`` stays SQL NULL).

    :param value: any JSON-compatible value.
    """
    return None if value is None else json.dumps(value, default=str, sort_keys=True)


def from_json(value: Any) -> Any:
    """Read a JSON column: drivers return text (SQLite, Snowflake; PostgreSQL in a :func:`transaction`).

    :param value: what the driver returned.
    """
    return json.loads(value) if isinstance(value, (str, bytes)) else value


class UnreadableJson(str):
    """A JSON column's text that is not JSON (a hand-written worktable row), kept as the text it is."""


def read_json(value: Any) -> Any:
    """Read a JSON column without ever raising: text that is not JSON comes back as :class:`UnreadableJson`.

    :param value: what the driver returned.
    """
    try:
        return from_json(value)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested deeper than the parser goes
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        return UnreadableJson(text)


def json_as_text(conn: Any) -> None:
    """Make a PostgreSQL connection return JSON columns as their text, as SQLite and Snowflake do.

    :func:`read_json` then parses each value once, and never raises. Left to the driver, a JSON
    string value (``'"/etc"'``) would come back as text that looks like JSON text, and a value
    nested deeper than Python's parser goes (PostgreSQL stores it) would fail the whole fetch.

    :param conn: a psycopg (3) connection, the driver of the Postgres provider on Airflow 3.
    """
    if type(conn).__module__.split(".")[0] == "psycopg":
        from psycopg.types.json import set_json_loads

        set_json_loads(_text, conn)


def _text(data: bytes | str) -> str:
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else data


@contextmanager
def transaction(conn: Any, dialect: str) -> Iterator[Any]:
    """One database transaction on a DB-API connection: commit on success, roll back on error.

    :param conn: a DB-API connection.
    :param dialect: one of :data:`DIALECTS`.
    """
    if dialect == "sqlite":
        # Explicit BEGIN IMMEDIATE takes the write lock up front, so concurrent claimers
        # queue on the lock (up to the busy timeout) instead of failing on upgrade.
        conn.isolation_level = None
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("BEGIN IMMEDIATE")
    elif dialect == "snowflake":
        conn.autocommit(False)
    elif dialect == "postgres":
        json_as_text(conn)
    cursor = conn.cursor()
    try:
        yield cursor
    except BaseException:
        if dialect == "sqlite":
            conn.execute("ROLLBACK")
        else:
            conn.rollback()
        raise
    else:
        if dialect == "sqlite":
            conn.execute("COMMIT")
        else:
            conn.commit()
    finally:
        cursor.close()
