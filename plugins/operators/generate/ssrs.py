"""The SSRS engine operator: one synchronous URL-access rendering per format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hooks.ssrs import SsrsHook
from operators.generate.base import HttpReportOperator
from reporting.renderers import RenderContext, RenderResult


class SsrsReportOperator(HttpReportOperator):
    """Render an SSRS report once per format and stage the documents.

    :param definition: the report definition (engine ``ssrs``).
    :param request: the claimed request (the claim task's XCom).
    :param report_path: the report's folder path (templated); defaults to the definition's.
    """

    ui_color = "#e8f0fe"

    def generate(
        self, paths: dict[str, Path], parameters: dict[str, Any], context: RenderContext
    ) -> list[RenderResult]:
        engine = self.definition.engine
        hook = SsrsHook(engine.conn_id, timeout=self.engine_timeout)
        values = engine.engine_parameters(parameters)
        return [
            hook.render(self.engine_report_path, engine.format_map[fmt], values, path, fmt) for fmt, path in paths.items()
        ]
