"""Snowflake streams for tests: a stand-in layered on fakesnow, which has no streams.

What it emulates, and how:

* ``CREATE STREAM [IF NOT EXISTS] <s> ON TABLE <t> [APPEND_ONLY = TRUE]`` creates a view ``<s>``
  over ``<t>`` with Snowflake's metadata columns (``METADATA$ACTION`` always ``'INSERT'``,
  ``METADATA$ISUPDATE`` always ``FALSE``, ``METADATA$ROW_ID``) showing the rows past the
  stream's offset, and an offset row in ``_stream_offsets``. Offsets are DuckDB ``rowid``s,
  which grow with every insert: right for append-only streams, which is all the intake uses.
* ``SYSTEM$STREAM_HAS_DATA('<s>')`` is a DuckDB macro that is true while the view has rows
  (the real function may also give false positives; this one never does).
* The offset advances only when a DML statement (INSERT, UPDATE, DELETE, MERGE) that reads
  the stream commits: the stand-in records the table's highest rowid before that statement
  and moves the offset to it in the same DuckDB transaction. A rollback leaves it where it was;
  a plain SELECT never moves it.

Not emulated: update and delete change records (standard streams), stream staleness and
retention, ``AT``/``BEFORE`` clauses, several sessions sharing one stream (fakesnow is one
in-process database), and the real function's false positives.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

FAKE_SNOWFLAKE_CONN = json.dumps(
    {
        "conn_type": "snowflake",
        "login": "reporting",
        "password": "not-a-real-secret",
        "schema": "PUBLIC",
        "extra": {"account": "fake", "database": "REPORTING", "warehouse": "REPORTING_WH"},
    }
)
"""An Airflow connection (JSON form) that fakesnow serves while the stand-in is active."""

_CREATE = re.compile(
    r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?STREAM\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s+ON\s+TABLE\s+(\w+)", re.IGNORECASE
)
_DML = re.compile(r"^\s*(INSERT|UPDATE|DELETE|MERGE)\b", re.IGNORECASE)
_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)


@contextmanager
def snowflake_with_streams() -> Iterator[dict[str, str]]:
    """Patch Snowflake connections to fakesnow with the stream stand-in; yields stream -> table."""
    import fakesnow
    from fakesnow.cursor import FakeSnowflakeCursor

    streams: dict[str, str] = {}
    original = FakeSnowflakeCursor.execute

    def execute(self: Any, command: str, params: Any = None, *args: Any, **kwargs: Any) -> Any:
        created = _CREATE.match(command)
        if created:
            _create_stream(self._duck_conn, streams, created.group(1).upper(), created.group(2))
            return original(self, "SELECT 'stream created' AS status")
        text = _COMMENT.sub(" ", command)
        read = [name for name in streams if re.search(rf"\bFROM\s+{name}\b", text, re.IGNORECASE)]
        if not (read and _DML.match(text)):
            return original(self, command, params, *args, **kwargs)
        horizons = {name: _max_rowid(self._duck_conn, streams[name]) for name in read}
        result = original(self, command, params, *args, **kwargs)
        for name, horizon in horizons.items():
            # Same DuckDB connection, same transaction as the DML: they commit or roll back together.
            self._duck_conn.execute("UPDATE _stream_offsets SET last_row = ? WHERE stream_name = ?", [horizon, name])
        return result

    with mock.patch.object(FakeSnowflakeCursor, "execute", execute), fakesnow.patch(nop_regexes=[]):
        yield streams


def _max_rowid(duck: Any, table: str) -> int:
    return duck.execute(f"SELECT COALESCE(MAX(rowid), -1) FROM {table}").fetchone()[0]


def _create_stream(duck: Any, streams: dict[str, str], name: str, table: str) -> None:
    duck.execute(
        "CREATE TABLE IF NOT EXISTS _stream_offsets"
        " (stream_name VARCHAR PRIMARY KEY, table_name VARCHAR, last_row BIGINT)"
    )
    if name in streams:
        return  # IF NOT EXISTS: an existing stream keeps its offset
    streams[name] = table
    # A new stream starts at the table's current end, as in Snowflake.
    duck.execute("INSERT INTO _stream_offsets VALUES (?, ?, ?)", [name, table, _max_rowid(duck, table)])
    duck.execute(
        f"CREATE OR REPLACE VIEW {name} AS SELECT t.*, 'INSERT' AS \"METADATA$ACTION\", "
        f'FALSE AS "METADATA$ISUPDATE", t.rowid AS "METADATA$ROW_ID" FROM {table} AS t '
        f"WHERE t.rowid > (SELECT last_row FROM _stream_offsets WHERE stream_name = '{name}')"
    )
    cases = " ".join(f"WHEN '{s}' THEN (SELECT COUNT(*) > 0 FROM {s})" for s in streams)
    duck.execute(f'CREATE OR REPLACE MACRO "system$stream_has_data"(stream) AS (CASE upper(stream) {cases} END)')


def stream_offset(duck: Any, name: str) -> int:
    """The stream's committed offset (a rowid), for tests that check it did or did not move.

    :param duck: fakesnow's DuckDB connection.
    :param name: the stream's name.
    """
    return duck.execute("SELECT last_row FROM _stream_offsets WHERE stream_name = ?", [name.upper()]).fetchone()[0]
