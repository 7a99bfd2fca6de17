"""The OBIEE / BI Publisher engine operator: one synchronous run per format."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from hooks.bi_publisher import BiPublisherHook
from operators.generate.base import HttpReportOperator
from reporting.definition import ObieeEngine
from reporting.render import RenderResult


class BiPublisherReportOperator(HttpReportOperator):
    """Run a BI Publisher report once per format and stage the documents.

    :param definition: the report definition (engine ``obiee``).
    :param request: the claimed request (the claim task's XCom).
    :param report_path: the catalog path (templated); defaults to the definition's.
    """

    ui_color = "#fde9e7"

    @property
    def engine(self) -> ObieeEngine:
        """The definition's BI Publisher engine settings."""
        return self.engine_of(ObieeEngine)

    def default_report_path(self) -> str:
        return self.engine.report_path

    @cached_property
    def hook(self) -> BiPublisherHook:
        """The BI Publisher hook of this task."""
        return BiPublisherHook(self.engine.conn_id, timeout=self.engine_timeout)

    def fetch_document(self, format_name: str, values: dict[str, str], dest: Path, fmt: str) -> RenderResult:
        engine = self.engine
        return self.hook.run_report(
            self.engine_report_path,
            format_name,
            values,
            dest,
            fmt,
            template=engine.template,
            locale=engine.locale,
            by_pass_cache=engine.by_pass_cache,
        )
