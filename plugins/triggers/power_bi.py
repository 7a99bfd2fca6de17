"""Waits for Power BI exports (Export To File API) without holding a worker slot."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from hooks.power_bi import PowerBiHook
from triggers.engine_poll import EnginePollTrigger


class PowerBiExportTrigger(EnginePollTrigger):
    """Poll ``GET .../reports/{report}/exports/{id}`` until every export has Succeeded.

    The other arguments are :class:`EnginePollTrigger`'s.

    :param workspace_id: the workspace (group) id.
    :param report_id: the report id.
    """

    engine = "powerbi"

    def __init__(self, *, workspace_id: str, report_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.workspace_id = workspace_id
        self.report_id = report_id

    @cached_property
    def hook(self) -> PowerBiHook:
        """One hook for the whole wait, so every poll shares its Azure AD token until it expires."""
        return PowerBiHook(self.conn_id, timeout=self.timeout)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "triggers.power_bi.PowerBiExportTrigger",
            {**self._base_kwargs(), "workspace_id": self.workspace_id, "report_id": self.report_id},
        )

    async def poll(self, client: Any, export_id: str) -> tuple[bool, float | None]:
        hook = self.hook
        state = await hook.aget_export(
            client, await hook.aget_token(client), self.workspace_id, self.report_id, export_id
        )
        self.log.info("powerbi export %s: %s, %d%%", export_id, state.status, state.percent)
        return state.done, state.retry_after
