"""Sensors that wait for new report requests without holding a worker slot."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator, Context
from airflow.sdk.exceptions import AirflowSkipException

from hooks.request_store import STREAM, RequestStoreHook
from triggers.request_stream import RequestStreamTrigger


class RequestIntakeSensor(BaseSensorOperator):
    """Wait until the request store has new worktable requests, deferring to the triggerer.

    On Snowflake it checks ``SYSTEM$STREAM_HAS_DATA`` on the worktable's stream (cloud
    services only: no warehouse burns while nothing arrives); on SQLite and PostgreSQL it
    counts pending rows. It checks once, then (``deferrable=True``) hands the wait to the
    triggerer. When ``timeout`` passes with nothing new, the sensor is skipped: the run ends
    cleanly and the next intake run resumes waiting.

    :param request_store_conn_id: the request store's Airflow connection.
    :param stream: the Snowflake stream on the worktable.
    :param poll_interval: seconds between checks while deferred.
    :param deferrable: wait in the triggerer instead of a worker slot.
    """

    template_fields: Sequence[str] = ("stream",)
    ui_color = "#e0f2f1"

    def __init__(
        self,
        *,
        request_store_conn_id: str = RequestStoreHook.default_conn_name,
        stream: str = STREAM,
        poll_interval: float = 60.0,
        deferrable: bool = True,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("poke_interval", poll_interval)
        super().__init__(**kwargs)
        self.request_store_conn_id = request_store_conn_id
        self.stream = stream
        self.poll_interval = poll_interval
        self.deferrable = deferrable

    def _hook(self) -> RequestStoreHook:
        return RequestStoreHook(request_store_conn_id=self.request_store_conn_id)

    def poke(self, context: Context) -> bool:
        return self._hook().has_new_requests(self.stream)

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        if self.poke(context):
            return True
        timeout = self.timeout.total_seconds() if isinstance(self.timeout, timedelta) else float(self.timeout)
        self.defer(
            trigger=RequestStreamTrigger(
                conn_id=self.request_store_conn_id,
                stream=self.stream,
                poll_interval=self.poll_interval,
                timeout_at=time.time() + timeout,
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> bool:
        """Resume after the trigger fired: go on when there is work, end cleanly on timeout.

        :param context: the task context.
        :param event: the trigger's event.
        """
        if event and event.get("status") == "data":
            self.log.info("new requests to take in (found after %s check(s))", event.get("checks"))
            return True
        raise AirflowSkipException("no new report requests before the timeout; the next intake run waits again")
