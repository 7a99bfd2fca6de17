"""The SSRS engine operator: one synchronous URL-access rendering per format."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from hooks.ssrs import SsrsHook
from operators.generate.base import HttpReportOperator
from reporting.definition import SsrsEngine
from reporting.render import RenderResult


class SsrsReportOperator(HttpReportOperator):
    """Render an SSRS report once per format and stage the documents.

    :param definition: the report definition (engine ``ssrs``).
    :param request: the claimed request (the claim task's XCom).
    :param report_path: the report's folder path (templated); defaults to the definition's.
    """

    ui_color = "#e8f0fe"

    @property
    def engine(self) -> SsrsEngine:
        """The definition's SSRS engine settings."""
        return self.engine_of(SsrsEngine)

    def default_report_path(self) -> str:
        return self.engine.report_path

    @cached_property
    def hook(self) -> SsrsHook:
        """The SSRS hook of this task."""
        return SsrsHook(self.engine.conn_id, timeout=self.engine_timeout)

    def fetch_document(self, format_name: str, values: dict[str, str], dest: Path, fmt: str) -> RenderResult:
        return self.hook.render(self.engine_report_path, format_name, values, dest, fmt)
