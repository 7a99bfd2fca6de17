"""The MIDAS engine operator: submit one job per format, defer while MIDAS works, download."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hooks.midas import MidasHook
from operators.generate.base import DeferrableReportOperator
from reporting.definition import MidasEngine
from reporting.render import RenderResult
from triggers.midas import MidasJobTrigger


class MidasReportOperator(DeferrableReportOperator):
    """Run a MIDAS report as one job per format; the wait happens in the triggerer.

    :param definition: the report definition (engine ``midas``).
    :param request: the claimed request (the claim task's XCom).
    :param report_path: the MIDAS report name (templated); defaults to the definition's.
    """

    ui_color = "#e6f4ea"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._submitted: list[str] = []

    @property
    def engine(self) -> MidasEngine:
        """The definition's MIDAS engine settings."""
        return self.engine_of(MidasEngine)

    def default_report_path(self) -> str:
        return self.engine.report

    def _hook(self) -> MidasHook:
        return MidasHook(self.engine.conn_id, timeout=self.engine_timeout)

    def start_exports(self, parameters: dict[str, Any]) -> dict[str, str]:
        engine = self.engine
        hook = self._hook()
        values = engine.engine_parameters(parameters)
        jobs: dict[str, str] = {}
        try:
            for fmt in self.definition.formats:
                jobs[fmt] = hook.submit(self.engine_report_path, engine.format_map[fmt], values)
                # Remembered at once, so a kill while later formats are submitted cancels this one too.
                self._submitted.append(jobs[fmt])
        except Exception:
            # This try is over; its retry submits every format again, so the jobs already running are waste.
            self.on_kill()
            raise
        return jobs

    def trigger_for(self, exports: dict[str, str], deadline: float) -> MidasJobTrigger:
        return MidasJobTrigger(**self.poll_arguments(exports, deadline, self.engine.poll_interval))

    def download(self, export_id: str, fmt: str, dest: Path) -> RenderResult:
        return self._hook().download(export_id, dest, fmt)

    def on_kill(self) -> None:
        """Cancel the jobs this try submitted before it deferred (also when a later submission failed)."""
        hook = self._hook()
        for job_id in self._submitted:
            try:
                hook.cancel(job_id)
                self.log.info("midas job %s cancelled", job_id)
            except Exception:  # keep cancelling the others
                self.log.warning("midas job %s could not be cancelled", job_id, exc_info=True)
