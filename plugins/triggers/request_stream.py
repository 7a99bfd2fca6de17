"""Trigger that waits, in the triggerer, until the request store has work for the intake."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from hooks.request_store import STREAM, RequestStoreHook


class RequestStreamTrigger(BaseTrigger):
    """Poll ``SYSTEM$STREAM_HAS_DATA`` (Snowflake) or the pending worktable rows (other stores).

    Yields ``{"status": "data"}`` as soon as there is work, or ``{"status": "timeout"}`` once
    ``timeout_at`` passes, so the waiting sensor can end cleanly. Only the connection id is
    serialised, never a credential. The check runs in a thread so the triggerer's event loop
    is never blocked by the database driver.

    :param conn_id: the request store's (or Snowflake's) Airflow connection id.
    :param stream: the Snowflake stream on the worktable.
    :param poll_interval: seconds between checks.
    :param timeout_at: Unix time after which the trigger gives up, or ``None`` to wait forever.
    """

    def __init__(
        self, *, conn_id: str, stream: str = STREAM, poll_interval: float = 60.0, timeout_at: float | None = None
    ) -> None:
        super().__init__()
        self.conn_id = conn_id
        self.stream = stream
        self.poll_interval = poll_interval
        self.timeout_at = timeout_at

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "triggers.request_stream.RequestStreamTrigger",
            {
                "conn_id": self.conn_id,
                "stream": self.stream,
                "poll_interval": self.poll_interval,
                "timeout_at": self.timeout_at,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = RequestStoreHook(request_store_conn_id=self.conn_id)
        checks = 0
        while True:
            checks += 1
            if await asyncio.to_thread(hook.has_new_requests, self.stream):
                self.log.info("new report requests found after %d check(s)", checks)
                yield TriggerEvent({"status": "data", "checks": checks})
                return
            if self.timeout_at is not None and time.time() >= self.timeout_at:
                yield TriggerEvent({"status": "timeout", "checks": checks})
                return
            delay = self.poll_interval
            if self.timeout_at is not None:
                delay = max(0.0, min(delay, self.timeout_at - time.time()))
            await asyncio.sleep(delay)
