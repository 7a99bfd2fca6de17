"""Generate with SQL: run the definition's query on any common-sql connection and render every format in one pass."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowFailException

from hooks.sql_dialect import paramstyle_of
from operators.generate.base import ReportEngineOperator
from reporting.errors import EngineSqlError, sql_error_is_permanent
from reporting.loader import sql_dir
from reporting.renderers import RenderContext, RenderResult, open_renderer, render_all
from reporting.sql import BindError, bind


class SqlReportOperator(ReportEngineOperator):
    """Run the definition's SQL file on a common-sql connection and render every format in one pass.

    Rows are fetched ``batch_size`` at a time and fed to all renderers as they arrive, so
    memory holds about one batch whatever the row count. Parameters are bind parameters.
    SQL the database rejects as such (syntax, a missing table or column) fails the task at
    once as an :class:`EngineSqlError`; a lost connection or a timeout gets the task's retries.

    :param definition: the report definition (its engine must be ``sql``).
    :param request: the claimed request (the claim task's XCom).
    """

    def default_report_path(self) -> str:
        """The definition's SQL file, relative to include/sql."""
        return self.definition.engine.sql

    def generate(
        self, paths: dict[str, Path], parameters: dict[str, Any], context: RenderContext
    ) -> list[RenderResult]:
        engine = self.definition.engine
        sql_file = self.engine_report_path
        sql_text = (sql_dir() / sql_file).read_text(encoding="utf-8")
        connection = BaseHook.get_connection(engine.conn_id)
        kind = (connection.conn_type or "").lower()
        conn = connection.get_hook().get_conn()
        try:
            try:
                statement, bound = bind(sql_text, parameters, paramstyle_of(conn))
            except BindError as exc:
                raise AirflowFailException(f"{sql_file}: {exc}") from None
            if kind == "snowflake":
                # Asked before execute, Snowflake's Arrow chunks carry NUMBER(p,s) with s > 0 as
                # decimal128 instead of float64 (the connector's ``arrow_number_to_decimal``).
                conn._arrow_number_to_decimal = True
            # A PostgreSQL client cursor loads the whole result at execute; a named (server-side)
            # cursor streams it, so memory stays at one batch.
            cursor = conn.cursor(name=f"report_{self.definition.id}") if kind in ("postgres", "postgresql") else conn.cursor()
            try:
                cursor.execute(statement, bound)
                columns = [column[0] for column in cursor.description]
                renderers = [open_renderer(fmt, path, columns, context) for fmt, path in paths.items()]
                return render_all(renderers, self._batches(cursor, engine.batch_size, kind))
            except Exception as exc:
                if sql_error_is_permanent(exc):
                    raise EngineSqlError(sql_file, exc) from exc
                raise
            finally:
                cursor.close()
        finally:
            conn.close()

    @staticmethod
    def _batches(cursor: Any, size: int, kind: str) -> Iterator[Sequence[Sequence[Any]]]:
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
                        yield SqlReportOperator._python_rows(table.slice(offset, size))
                return
        while rows := cursor.fetchmany(size):
            yield rows

    @staticmethod
    def _python_rows(table: Any) -> list[tuple[Any, ...]]:
        """Rows of an Arrow table with the values ``fetchmany`` gives: None for NULL, int, Decimal, date, datetime.

        Column by column (pandas would make NaN, NaT, floats and Timestamps of them). A NUMBER(p,0)
        chunk too wide for int64 arrives as decimal128(38, 0) and becomes int, as Snowflake's rows give it.

        :param table: one Arrow table (or record batch) of a result.
        """
        import pyarrow.types

        columns = []
        for field, column in zip(table.schema, table.columns):
            values = column.to_pylist()
            if pyarrow.types.is_decimal(field.type) and field.type.scale == 0:
                values = [None if value is None else int(value) for value in values]
            columns.append(values)
        return list(zip(*columns))


