"""Base trigger for engines that export asynchronously: poll each export until all are done, then wake the task."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from reporting.engine_errors import EngineError, EngineJobFailed, EngineTimeout, engine_error_to_dict

# Polling errors in a row (5xx, 429, timeouts) tolerated before the task is woken to retry.
MAX_TRANSIENT_ERRORS = 5


class EnginePollTrigger(BaseTrigger):
    """Poll exports until every one has finished, honouring the engine's Retry-After; stop at the deadline.

    Fires ``{"status": "success", "exports": {format: id}}``, or ``{"status": "error", "error": {...}}``
    with the engine error (see :func:`reporting.errors.engine_error_to_dict`). Holds connection
    ids only: credentials are read from the connection inside the triggerer.

    :param conn_id: the engine's Airflow connection.
    :param exports: the engine's export (job) ids by report format.
    :param poll_interval: seconds between polls when the engine gives no Retry-After.
    :param deadline: epoch seconds after which waiting ends with a (retryable) timeout.
    :param timeout: seconds to wait for one HTTP response.
    """

    engine = ""

    def __init__(
        self, *, conn_id: str, exports: dict[str, str], poll_interval: float, deadline: float, timeout: float = 60.0
    ) -> None:
        super().__init__()
        self.conn_id = conn_id
        self.exports = dict(exports)
        self.poll_interval = float(poll_interval)
        self.deadline = float(deadline)
        self.timeout = float(timeout)

    def _base_kwargs(self) -> dict[str, Any]:
        return {
            "conn_id": self.conn_id,
            "exports": self.exports,
            "poll_interval": self.poll_interval,
            "deadline": self.deadline,
            "timeout": self.timeout,
        }

    async def poll(self, client: Any, export_id: str) -> tuple[bool, float | None]:
        """Ask the engine about one export: (finished, seconds it asks us to wait).

        :param client: an ``httpx.AsyncClient``.
        :param export_id: the export's id.
        """
        raise NotImplementedError

    async def cancel(self, client: Any, export_id: str) -> None:
        """Stop one export nobody will wait for any more; engines without a cancel API do nothing.

        :param client: an ``httpx.AsyncClient``.
        :param export_id: the export's id.
        """

    async def abandon(self, client: Any, formats: Any) -> None:
        """Cancel the exports of these formats, each on its own: one that cannot be cancelled keeps none running.

        :param client: an ``httpx.AsyncClient``.
        :param formats: report formats whose exports are given up.
        """
        for fmt in sorted(formats):
            try:
                await self.cancel(client, self.exports[fmt])
            except Exception:
                self.log.warning("%s: export %s could not be cancelled", self.engine, self.exports[fmt], exc_info=True)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        import httpx

        due = dict.fromkeys(self.exports, 0.0)
        transient = 0
        async with httpx.AsyncClient() as client:
            while True:
                try:
                    for fmt in sorted(due):
                        if due[fmt] > time.time():
                            continue
                        finished, retry_after = await self.poll(client, self.exports[fmt])
                        if finished:
                            del due[fmt]
                        else:
                            due[fmt] = time.time() + (self.poll_interval if retry_after is None else retry_after)
                    transient = 0
                except EngineError as exc:
                    # A failed export is over whatever the engine says; the task's retry starts a new one.
                    if isinstance(exc, EngineJobFailed) or not exc.retryable or transient >= MAX_TRANSIENT_ERRORS:
                        # The task fails or retries with new exports: the others of this try are waste.
                        failed = {fmt} if isinstance(exc, EngineJobFailed) else set()
                        await self.abandon(client, set(due) - failed)
                        yield TriggerEvent({"status": "error", "error": engine_error_to_dict(exc)})
                        return
                    transient += 1
                    self.log.warning("%s: polling failed (%d in a row), trying again: %s", self.engine, transient, exc)
                    wait = self.poll_interval if exc.retry_after is None else exc.retry_after
                    due = {fmt: max(at, time.time() + wait) for fmt, at in due.items()}
                if not due:
                    yield TriggerEvent({"status": "success", "exports": self.exports})
                    return
                next_poll = min(due.values())
                if next_poll > self.deadline:
                    pending = ", ".join(f"{fmt} {self.exports[fmt]}" for fmt in sorted(due))
                    error = EngineTimeout(self.engine, f"exports not finished by the task's deadline: {pending}")
                    await self.abandon(client, due)
                    yield TriggerEvent({"status": "error", "error": engine_error_to_dict(error)})
                    return
                await asyncio.sleep(max(next_poll - time.time(), 0.0))
