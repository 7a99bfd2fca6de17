"""Waits for MIDAS jobs without holding a worker slot; cancels them if the task is killed meanwhile."""

from __future__ import annotations

from typing import Any

from hooks.midas import MidasHook
from triggers.engine_poll import EnginePollTrigger


class MidasJobTrigger(EnginePollTrigger):
    """Poll ``GET /api/v1/jobs/{id}`` until every job has SUCCEEDED (the arguments are :class:`EnginePollTrigger`'s)."""

    engine = "midas"

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("triggers.midas.MidasJobTrigger", self._base_kwargs())

    async def poll(self, client: Any, export_id: str) -> tuple[bool, float | None]:
        state = await MidasHook(self.conn_id, timeout=self.timeout).aget_job(client, export_id)
        self.log.info("midas job %s: %s", export_id, state.status)
        return state.done, state.retry_after

    async def cancel(self, client: Any, export_id: str) -> None:
        await MidasHook(self.conn_id, timeout=self.timeout).acancel(client, export_id)
        self.log.info("midas job %s cancelled", export_id)

    async def on_kill(self) -> None:
        """Cancel the jobs when a user kills the deferred task (mark failed, clear)."""
        import httpx

        async with httpx.AsyncClient() as client:
            await self.abandon(client, self.exports)
