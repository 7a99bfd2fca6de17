"""The SQL engine operator: run the definition's query on any common-sql connection, render every format in one pass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from hooks.report_query import ReportQueryHook
from operators.generate.base import ReportEngineOperator
from reporting.definition import ReportFormat, SqlEngine
from reporting.engine_errors import EngineSqlError
from reporting.errors import sql_error_is_permanent
from reporting.loader import sql_dir
from reporting.render import RenderContext, RenderResult, open_renderer, render_all
from reporting.sql import BindError


class SqlReportOperator(ReportEngineOperator):
    """Run the definition's SQL file on a common-sql connection and render every format in one pass.

    Rows are fetched ``batch_size`` at a time (:class:`~hooks.report_query.ReportQueryHook`) and
    fed to all renderers as they arrive, so memory holds about one batch whatever the row count.
    Parameters are bind parameters. SQL the database rejects as such (syntax, a missing table or
    column) fails the task at once as an :class:`EngineSqlError`; a lost connection or a timeout
    gets the task's retries.

    :param definition: the report definition (its engine must be ``sql``).
    :param request: the claimed request (the claim task's XCom).
    """

    @property
    def engine(self) -> SqlEngine:
        """The definition's SQL engine settings."""
        return self.engine_of(SqlEngine)

    def default_report_path(self) -> str:
        """The definition's SQL file, relative to include/sql."""
        return self.engine.sql

    def generate(
        self, paths: dict[ReportFormat, Path], parameters: dict[str, Any], context: RenderContext
    ) -> list[RenderResult]:
        engine = self.engine
        sql_file = self.engine_report_path
        sql_text = (sql_dir() / sql_file).read_text(encoding="utf-8")
        hook = ReportQueryHook(report_conn_id=engine.conn_id)
        try:
            with hook.stream_rows(
                sql_text, parameters, batch_size=engine.batch_size, cursor_name=f"report_{self.definition.id}"
            ) as (columns, batches):
                renderers = [open_renderer(fmt, path, columns, context) for fmt, path in paths.items()]
                return render_all(renderers, batches)
        except BindError as exc:
            raise AirflowFailException(f"{sql_file}: {exc}") from None
        except Exception as exc:
            if sql_error_is_permanent(exc):
                raise EngineSqlError(sql_file, exc) from exc
            raise
