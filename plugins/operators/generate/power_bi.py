"""The Power BI engine operator: start one export per format, defer while Power BI renders, download."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from hooks.power_bi import PowerBiHook
from operators.generate.base import DeferrableReportOperator
from reporting.definition import PowerBiEngine
from reporting.render import RenderResult
from triggers.power_bi import PowerBiExportTrigger


class PowerBiReportOperator(DeferrableReportOperator):
    """Export a Power BI paginated report in every format; the wait happens in the triggerer.

    Power BI offers no way to cancel an export, so there is no ``on_kill``: an abandoned export
    simply expires on the service.

    :param definition: the report definition (engine ``powerbi``).
    :param request: the claimed request (the claim task's XCom).
    :param report_path: the report id (templated); defaults to the definition's.
    """

    ui_color = "#fff4c2"

    @property
    def engine(self) -> PowerBiEngine:
        """The definition's Power BI engine settings."""
        return self.engine_of(PowerBiEngine)

    def default_report_path(self) -> str:
        return self.engine.report_id

    @cached_property
    def hook(self) -> PowerBiHook:
        """The Power BI hook; one per task process, so the formats share one Azure AD token."""
        return PowerBiHook(self.engine.conn_id, timeout=self.engine_timeout)

    def start_exports(self, parameters: dict[str, Any]) -> dict[str, str]:
        engine = self.engine
        hook = self.hook
        values = engine.engine_parameters(parameters)
        return {
            fmt: hook.start_export(engine.workspace_id, self.engine_report_path, engine.format_map[fmt], values)
            for fmt in self.definition.formats
        }

    def trigger_for(self, exports: dict[str, str], deadline: float) -> PowerBiExportTrigger:
        return PowerBiExportTrigger(
            workspace_id=self.engine.workspace_id,
            report_id=self.engine_report_path,
            **self.poll_arguments(exports, deadline, self.engine.poll_interval),
        )

    def download(self, export_id: str, fmt: str, dest: Path) -> RenderResult:
        engine = self.engine
        return self.hook.download(engine.workspace_id, self.engine_report_path, export_id, dest, fmt)
