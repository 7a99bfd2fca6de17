"""The OBIEE / BI Publisher engine operator: one synchronous run per format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hooks.bi_publisher import BiPublisherHook
from operators.generate.base import HttpReportOperator
from reporting.renderers import RenderContext, RenderResult


class BiPublisherReportOperator(HttpReportOperator):
    """Run a BI Publisher report once per format and stage the documents.

    :param definition: the report definition (engine ``obiee``).
    :param request: the claimed request (the claim task's XCom).
    :param report_path: the catalog path (templated); defaults to the definition's.
    """

    ui_color = "#fde9e7"

    def generate(
        self, paths: dict[str, Path], parameters: dict[str, Any], context: RenderContext
    ) -> list[RenderResult]:
        engine = self.definition.engine
        hook = BiPublisherHook(engine.conn_id, timeout=self.engine_timeout)
        values = engine.engine_parameters(parameters)
        return [
            hook.run_report(
                self.engine_report_path,
                engine.format_map[fmt],
                values,
                path,
                fmt,
                template=engine.template,
                locale=engine.locale,
                by_pass_cache=engine.by_pass_cache,
            )
            for fmt, path in paths.items()
        ]
