"""Engine operators: generate a report's artifacts and put them in staging storage."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from airflow.sdk import BaseHook, BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException

from hooks.sql_dialect import paramstyle_of
from operators.request_context import actor, request_store
from operators.staging import stage_file
from reporting.definition import InvalidParameters, ReportDefinition
from reporting.lifecycle import Status
from reporting.loader import sql_dir
from reporting.naming import NamingContext, render_filename, staging_key
from reporting.renderers import RenderContext, RenderResult, open_renderer, render_all
from reporting.sql import BindError, bind

ARTIFACT_NAME = "{report_id}_{run_date}.{format}"


@dataclass(frozen=True)
class PreparedRun:
    """What generating needs to know about the request being served.

    :param request: the claimed request (the claim task's XCom).
    :param parameters: the resolved, typed parameter values.
    :param naming: file naming for this request.
    :param render_context: what renderers print about the run.
    """

    request: dict[str, Any]
    parameters: dict[str, Any]
    naming: NamingContext
    render_context: RenderContext


class ReportEngineOperator(BaseOperator):
    """Base of every engine operator: resolve the request, generate, stage, return artifact metadata.

    Subclasses implement :meth:`generate`, writing one file per format into a local folder.
    The task returns a list of artifact records (uri, format, bytes, sha256, rows, file name):
    metadata only, never the report bytes.

    :param definition: the report definition.
    :param request: the claimed request (the claim task's XCom).
    """

    template_fields: Sequence[str] = ("request",)
    ui_color = "#fff3e0"

    def __init__(self, *, definition: ReportDefinition, request: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.definition = definition
        self.request = request

    def execute(self, context: Context) -> list[dict[str, Any]]:
        run = self.prepare()
        with tempfile.TemporaryDirectory(prefix=f"report-{self.definition.id}-") as workdir:
            results = self.generate(self.artifact_paths(workdir, run.naming), run.parameters, run.render_context)
            artifacts = [self._stage(result, run.naming) for result in results]
        return self.record_generated(context, run.request, artifacts)

    def prepare(self) -> PreparedRun:
        """Resolve the request's parameters (failing at once if they are invalid) and its naming."""
        request = self.request
        try:
            parameters = self.definition.resolve_parameters(request["parameters"])
        except InvalidParameters as exc:
            raise AirflowFailException(f"request {request['request_id']}: {exc}") from None
        return PreparedRun(
            request=request,
            parameters=parameters,
            naming=NamingContext.for_request(self.definition.id, self.definition.title, request),
            render_context=RenderContext(
                title=self.definition.title,
                report_id=self.definition.id,
                parameters=request["parameters"],
                generated_at=datetime.now(timezone.utc),
            ),
        )

    def artifact_paths(self, workdir: str, naming: NamingContext) -> dict[str, Path]:
        """Where each format is written inside a work folder.

        :param workdir: a private temporary folder.
        :param naming: the run's naming context.
        """
        return {fmt: Path(workdir) / render_filename(ARTIFACT_NAME, naming, fmt) for fmt in self.definition.formats}

    def record_generated(
        self, context: Context, request: dict[str, Any], artifacts: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Move the request IN_PROGRESS -> GENERATED with the artifacts in its audit row, and log them.

        :param context: the task context.
        :param request: the claimed request.
        :param artifacts: the staged artifacts' metadata.
        """
        moved = request_store().move(
            request["request_id"],
            Status.IN_PROGRESS,
            Status.GENERATED,
            actor(context),
            details={"artifacts": [{k: a[k] for k in ("format", "uri", "rows", "bytes", "sha256")} for a in artifacts]},
        )
        if not moved:
            self.log.info("request %s: already past IN_PROGRESS; the staged artifacts were refreshed", request["request_id"])
        for artifact in artifacts:
            self.log.info(
                "request %s: %s artifact staged at %s (%s rows, %d bytes, sha256 %s)",
                request["request_id"],
                artifact["format"],
                artifact["uri"],
                "unknown" if artifact["rows"] is None else artifact["rows"],
                artifact["bytes"],
                artifact["sha256"],
            )
        return artifacts

    def generate(
        self, paths: dict[str, Path], parameters: dict[str, Any], context: RenderContext
    ) -> list[RenderResult]:
        """Write one file per format and describe each.

        :param paths: where to write each format.
        :param parameters: the run's resolved, typed parameter values.
        :param context: what the renderers print about the run.
        """
        raise NotImplementedError

    @staticmethod
    def _stage(result: RenderResult, naming: NamingContext) -> dict[str, Any]:
        key = staging_key(naming.report_id, naming.run_date, naming.request_id, result.path.name)
        return {
            "format": result.format,
            "file_name": result.path.name,
            "uri": stage_file(result.path, key),
            "rows": result.rows,
            "bytes": result.bytes,
            "sha256": result.sha256,
        }


class SqlReportOperator(ReportEngineOperator):
    """Run the definition's SQL file on a common-sql connection and render every format in one pass.

    Rows are fetched ``batch_size`` at a time and fed to all renderers as they arrive, so
    memory holds about one batch whatever the row count. Parameters are bind parameters.

    :param definition: the report definition (its engine must be ``sql``).
    :param request: the claimed request (the claim task's XCom).
    """

    def generate(
        self, paths: dict[str, Path], parameters: dict[str, Any], context: RenderContext
    ) -> list[RenderResult]:
        engine = self.definition.engine
        sql_text = (sql_dir() / engine.sql).read_text(encoding="utf-8")
        hook = BaseHook.get_connection(engine.conn_id).get_hook()
        conn = hook.get_conn()
        try:
            try:
                statement, bound = bind(sql_text, parameters, paramstyle_of(conn))
            except BindError as exc:
                raise AirflowFailException(f"{engine.sql}: {exc}") from None
            cursor = conn.cursor()
            try:
                cursor.execute(statement, bound)
                columns = [column[0] for column in cursor.description]
                renderers = [open_renderer(fmt, path, columns, context) for fmt, path in paths.items()]
                return render_all(renderers, self._batches(cursor, engine.batch_size))
            finally:
                cursor.close()
        finally:
            conn.close()

    @staticmethod
    def _batches(cursor: Any, size: int) -> Iterator[Sequence[Sequence[Any]]]:
        while rows := cursor.fetchmany(size):
            yield rows
