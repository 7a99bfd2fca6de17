"""Report queries: run one report's SQL on any common-sql connection and hand its rows over batch by batch."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from airflow.sdk import BaseHook

from hooks.sql_dialect import paramstyle_of
from reporting.sql import bind

Batch = Sequence[Sequence[Any]]
_POSTGRES = frozenset({"postgres", "postgresql"})


class ReportQueryHook(BaseHook):
    """Run a report query with bind parameters and stream its rows, about one batch in memory at a time.

    Wraps the connection's own DbApiHook (``Connection.get_hook()``: PostgresHook, SnowflakeHook,
    SqliteHook, ...), so any database Airflow has a common-sql provider for can feed a report.
    PostgreSQL streams through a named (server-side) cursor, Snowflake through its Arrow result
    chunks, every other driver through ``fetchmany``.

    :param report_conn_id: the Airflow connection the report reads from.
    """

    conn_name_attr = "report_conn_id"
    default_conn_name = "report_db_default"
    # Any common-sql connection: its own type decides which DbApiHook does the work.
    conn_type = "generic"
    hook_name = "Report query"

    def __init__(self, report_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.report_conn_id = report_conn_id

    def get_conn(self) -> Any:
        """A DB-API connection from the connection's own DbApiHook; the caller closes it."""
        return self.get_connection(self.report_conn_id).get_hook().get_conn()

    @contextmanager
    def stream_rows(
        self, sql: str, parameters: Mapping[str, Any], *, batch_size: int, cursor_name: str = "report_rows"
    ) -> Iterator[tuple[list[str], Iterator[Batch]]]:
        """Execute ``sql`` and yield its column names and an iterator over its rows, ``batch_size`` at a time.

        The connection and cursor stay open inside the ``with`` block and are closed when it ends.
        Rows come as ``fetchmany`` gives them: None for NULL, int, Decimal, date, datetime.

        :param sql: the statement, with ``:name`` placeholders.
        :param parameters: the values by name; always sent as bind parameters.
        :param batch_size: rows per batch.
        :param cursor_name: the name of PostgreSQL's server-side cursor.
        :raises reporting.sql.BindError: a placeholder has no value.
        """
        connection = self.get_connection(self.report_conn_id)
        kind = (connection.conn_type or "").lower()
        conn = connection.get_hook().get_conn()
        try:
            statement, bound = bind(sql, parameters, paramstyle_of(conn))
            if kind == "snowflake":
                # Asked before execute, Snowflake's Arrow chunks carry NUMBER(p,s) with s > 0 as
                # decimal128 instead of float64 (the connector's ``arrow_number_to_decimal``).
                conn._arrow_number_to_decimal = True
            # A PostgreSQL client cursor loads the whole result at execute; a named (server-side)
            # cursor streams it, so memory stays at one batch.
            cursor = conn.cursor(name=cursor_name) if kind in _POSTGRES else conn.cursor()
            try:
                cursor.execute(statement, bound)
                yield [column[0] for column in cursor.description], fetch_batches(cursor, batch_size, kind)
            finally:
                cursor.close()
        finally:
            conn.close()


def fetch_batches(cursor: Any, size: int, kind: str) -> Iterator[Batch]:
    """Read an executed cursor's rows ``size`` at a time: Snowflake's Arrow chunks, or ``fetchmany``.

    :param cursor: a DB-API cursor after ``execute``.
    :param size: rows per batch.
    :param kind: the connection type (``snowflake``, ``postgres``, ...).
    """
    if kind == "snowflake" and hasattr(cursor, "fetch_arrow_batches"):
        from snowflake.connector.errors import NotSupportedError

        try:
            # Microseconds: Python's datetime has no nanoseconds, and every chunk gets one schema.
            tables = cursor.fetch_arrow_batches(force_microsecond_precision=True)
        except NotSupportedError:  # a result in JSON format has no Arrow chunks; its rows are rows
            tables = None
        if tables is not None:
            for table in tables:
                # A Snowflake chunk may hold far more rows than a batch: Python values for one batch at a time.
                for offset in range(0, table.num_rows, size):
                    yield arrow_rows(table.slice(offset, size))
            return
    while rows := cursor.fetchmany(size):
        yield rows


def arrow_rows(table: Any) -> list[tuple[Any, ...]]:
    """Rows of an Arrow table with the values ``fetchmany`` gives: None for NULL, int, Decimal, date, datetime.

    Column by column (pandas would make NaN, NaT, floats and Timestamps of them). A NUMBER(p,0)
    chunk too wide for int64 arrives as decimal128(38, 0) and becomes int, as Snowflake's rows give it.

    :param table: one Arrow table (or record batch) of a result.
    """
    import pyarrow.types

    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        values = column.to_pylist()
        if pyarrow.types.is_decimal(field.type) and field.type.scale == 0:
            values = [None if value is None else int(value) for value in values]
        columns.append(values)
    return list(zip(*columns, strict=True))
