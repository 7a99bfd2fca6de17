"""Generate: what every engine operator shares (resolve the request, generate, stage, record GENERATED)."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException
from airflow.triggers.base import BaseTrigger

from report_runtime.request_context import actor, request_store
from report_runtime.retry import EngineRetryPolicy
from report_runtime.sending_gate import hold_if_paused
from report_runtime.staging import stage_file
from report_runtime.tasks_test import upstream_request
from reporting.contracts import Artifact, artifact_summary
from reporting.definition import HttpEngine, InvalidParameters, ReportDefinition, ReportFormat
from reporting.engine_errors import EngineError, engine_error_from_dict
from reporting.lifecycle import Status
from reporting.naming import NamingContext, render_filename, staging_key
from reporting.render import RenderContext, RenderResult

ARTIFACT_NAME = "{report_id}_{run_date}.{format}"
DEFER_BACKSTOP_GRACE = timedelta(minutes=5)
_Engine = TypeVar("_Engine")


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
    :param request: the claimed request (the claim task's XCom); in a tasks-test run without it, the
        task claims a TEST request itself first (see ``report_runtime.tasks_test``).
    :param report_path: what the engine runs (templated): the SQL file under include/sql, the
        catalog or folder path, the report id or name; ``None`` takes the definition's.
    :param parameters: parameter values (templated) that replace the request's, by name; for DAGs
        written by hand (the report factory passes none: the request carries them).
    """

    template_fields: Sequence[str] = ("report_path", "parameters", "request")
    ui_color = "#fff3e0"

    def __init__(
        self,
        *,
        definition: ReportDefinition,
        request: Any,
        report_path: str | None = None,
        parameters: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("execution_timeout", definition.execution_timeout)
        kwargs.setdefault("retry_policy", EngineRetryPolicy())
        super().__init__(**kwargs)
        self.definition = definition
        self.request = request
        self.report_path = report_path
        self.parameters = parameters

    @property
    def engine_report_path(self) -> str:
        """What the engine runs: the rendered ``report_path``, or the definition's."""
        return self.report_path or self.default_report_path()

    def default_report_path(self) -> str:
        """The engine's name for the report, from the definition."""
        raise NotImplementedError

    def engine_of(self, kind: type[_Engine]) -> _Engine:
        """The definition's engine settings, checked to be the kind this operator runs.

        :param kind: the engine model this operator runs.
        """
        engine = self.definition.engine
        if not isinstance(engine, kind):
            raise TypeError(f"{type(self).__name__} does not run {engine.type} engines")
        return engine

    def execute(self, context: Context) -> list[Artifact]:
        self.request = upstream_request(self, context)
        hold_if_paused(context, self.request["request_id"])
        run = self.prepare()
        with tempfile.TemporaryDirectory(prefix=f"report-{self.definition.id}-") as workdir:
            results = self.generate(self.artifact_paths(workdir, run.naming), run.parameters, run.render_context)
            artifacts = [self._stage(result, run.naming) for result in results]
        return self.record_generated(context, run.request, artifacts)

    def prepare(self) -> PreparedRun:
        """Resolve the request's parameters (failing at once if they are invalid) and its naming."""
        request = self.request
        if self.parameters:
            self.log.info(
                "request %s: parameters %s replace the request's", request["request_id"], sorted(self.parameters)
            )
            request = {**request, "parameters": {**request["parameters"], **self.parameters}}
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
                generated_at=datetime.now(UTC),
                presentation=self.definition.presentation,
                source=f"include/reports/{self.definition.id}.yaml",
            ),
        )

    def artifact_paths(self, workdir: str, naming: NamingContext) -> dict[ReportFormat, Path]:
        """Where each format is written inside a work folder.

        :param workdir: a private temporary folder.
        :param naming: the run's naming context.
        """
        return {fmt: Path(workdir) / render_filename(ARTIFACT_NAME, naming, fmt) for fmt in self.definition.formats}

    def record_generated(self, context: Context, request: dict[str, Any], artifacts: list[Artifact]) -> list[Artifact]:
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
            details={"artifacts": [artifact_summary(a) for a in artifacts]},
        )
        if not moved:
            self.log.info(
                "request %s: already past IN_PROGRESS; the staged artifacts were refreshed", request["request_id"]
            )
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
        self, paths: dict[ReportFormat, Path], parameters: dict[str, Any], context: RenderContext
    ) -> list[RenderResult]:
        """Write one file per format and describe each.

        :param paths: where to write each format.
        :param parameters: the run's resolved, typed parameter values.
        :param context: what the renderers print about the run.
        """
        raise NotImplementedError

    @staticmethod
    def _stage(result: RenderResult, naming: NamingContext) -> Artifact:
        key = staging_key(naming.report_id, naming.run_date, naming.request_id, result.path.name)
        return {
            "format": result.format,
            "file_name": result.path.name,
            "uri": stage_file(result.path, key),
            "rows": result.rows,
            "bytes": result.bytes,
            "sha256": result.sha256,
        }


class HttpReportOperator(ReportEngineOperator):
    """Base of the BI engine operators: one engine request per format, engine errors classified.

    An engine error that no retry can help (HTTP 400/401/403/404/422, an unknown report, a
    rejected parameter) fails the task at once; a retryable one goes through Airflow's retries,
    after the engine's ``Retry-After`` when it gave one.

    :param definition: the report definition (its engine is an HTTP engine).
    :param request: the claimed request (the claim task's XCom).
    :param report_path: what to run on the engine (templated); defaults to the definition's.
    :param parameters: parameter values (templated) that replace the request's.
    """

    @property
    def engine(self) -> HttpEngine:
        """The definition's engine settings."""
        return self.engine_of(HttpEngine)

    @property
    def engine_timeout(self) -> float:
        """Seconds the hooks wait for one HTTP response."""
        return self.engine.timeout.total_seconds()

    def execute(self, context: Context) -> Any:
        with fail_fast():
            return super().execute(context)

    def generate(
        self, paths: dict[ReportFormat, Path], parameters: dict[str, Any], context: RenderContext
    ) -> list[RenderResult]:
        engine = self.engine
        values = engine.engine_parameters(parameters)
        return [self.fetch_document(engine.format_map[fmt], values, path, fmt) for fmt, path in paths.items()]

    def fetch_document(self, format_name: str, values: dict[str, str], dest: Path, fmt: str) -> RenderResult:
        """Have the engine run the report in one format and write the document to ``dest``.

        :param format_name: the engine's name for the format.
        :param values: parameter values by the engine's parameter names.
        :param dest: the local file to write.
        :param fmt: the report format (pdf, xlsx, csv) the document must be.
        """
        raise NotImplementedError


@contextmanager
def fail_fast() -> Iterator[None]:
    """Turn an engine error that no retry can help into AirflowFailException (the cause keeps the details)."""
    try:
        yield
    except EngineError as exc:
        if exc.retryable:
            raise
        raise AirflowFailException(str(exc)) from exc


class DeferrableReportOperator(HttpReportOperator):
    """Base of the asynchronous engines: start the exports, defer while the engine works, download on completion.

    No worker slot is held while the engine renders. The trigger gets connection ids and
    export ids only, never a credential, and gives up at ``execution_timeout``.

    :param definition: the report definition.
    :param request: the claimed request (the claim task's XCom).
    :param report_path: what to run on the engine (templated); defaults to the definition's.
    """

    def execute(self, context: Context) -> NoReturn:
        self.request = upstream_request(self, context)
        hold_if_paused(context, self.request["request_id"])
        run = self.prepare()
        with fail_fast():
            exports = self.start_exports(run.parameters)
        self.log.info(
            "request %s: %s exports started: %s", run.request["request_id"], self.definition.engine.type, exports
        )
        budget = self.execution_timeout or self.definition.execution_timeout
        deadline = time.time() + budget.total_seconds()
        # The trigger stops itself at the deadline with a classified, retryable timeout; Airflow's own
        # trigger timeout, a little later, is the backstop should the trigger never report at all.
        self.defer(
            trigger=self.trigger_for(exports, deadline),
            method_name="execute_complete",
            timeout=budget + DEFER_BACKSTOP_GRACE,
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> list[Artifact]:
        """Download the finished exports, stage them and record GENERATED; or raise the trigger's error.

        :param context: the task context.
        :param event: the trigger's payload: ``{"status": "success", "exports": {format: id}}`` or an error.
        """
        self.request = upstream_request(self, context)
        with fail_fast():
            if event.get("status") != "success":
                raise engine_error_from_dict(event["error"])
            run = self.prepare()
            with tempfile.TemporaryDirectory(prefix=f"report-{self.definition.id}-") as workdir:
                paths = self.artifact_paths(workdir, run.naming)
                results = [self.download(event["exports"][fmt], fmt, path) for fmt, path in paths.items()]
                artifacts = [self._stage(result, run.naming) for result in results]
        return self.record_generated(context, run.request, artifacts)

    def start_exports(self, parameters: dict[str, Any]) -> dict[str, str]:
        """Ask the engine for one export per format; return the export ids by format.

        :param parameters: the run's resolved parameter values.
        """
        raise NotImplementedError

    def trigger_for(self, exports: dict[str, str], deadline: float) -> BaseTrigger:
        """The trigger that waits for the exports.

        :param exports: export ids by format.
        :param deadline: the epoch time at which waiting stops with a timeout.
        """
        raise NotImplementedError

    def poll_arguments(self, exports: dict[str, str], deadline: float, poll_interval: timedelta) -> dict[str, Any]:
        """What every engine's poll trigger takes: the connection, the exports, when to poll and when to stop.

        :param exports: export ids by format.
        :param deadline: the epoch time at which waiting stops with a timeout.
        :param poll_interval: the wait between polls when the engine gives no Retry-After.
        """
        return {
            "conn_id": self.engine.conn_id,
            "exports": exports,
            "poll_interval": poll_interval.total_seconds(),
            "deadline": deadline,
            "timeout": self.engine_timeout,
        }

    def download(self, export_id: str, fmt: str, dest: Path) -> RenderResult:
        """Download one finished export.

        :param export_id: the engine's id of the export.
        :param fmt: the report format.
        :param dest: where to write it.
        """
        raise NotImplementedError
