"""Helpers of the engine tests: connections from the environment, definitions, claimed requests, contexts."""

from __future__ import annotations

import json
import socket
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from hooks.request_store import Actor, RequestStoreHook
from reporting.definition import ReportDefinition
from reporting.lifecycle import Status


def set_connection(monkeypatch, conn_id: str, **fields: Any) -> None:
    """Define an Airflow connection through the environment, as a deployment would."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))


def make_definition(engine: dict[str, Any], formats=("pdf", "xlsx", "csv"), **extra: Any) -> ReportDefinition:
    """A valid definition around an engine block, with a ``region`` parameter."""
    data = {
        "id": "engine_report",
        "title": "Engine report",
        "owner": "bi-team",
        "engine": engine,
        "parameters": {
            "region": {"type": "string", "default": "EMEA"},
            "as_of": {"type": "date", "default": "2026-11-20"},
        },
        "formats": list(formats),
        "distribution": [{"type": "local", "path": "/srv/reports"}],
        "retry": {"retries": 2},
    }
    data.update(extra)
    return ReportDefinition.model_validate(data)


def claimed(store: RequestStoreHook, definition: ReportDefinition, parameters: dict | None = None) -> dict[str, Any]:
    """A request moved to IN_PROGRESS, as the claim task leaves it; returns the claim task's record."""
    request_id = str(uuid.uuid4())
    me = Actor("ORCHESTRATOR", "run-1", "claim", 1)
    params = parameters or {"region": "EMEA", "as_of": "2026-11-20"}
    store.create_request(
        request_id=request_id,
        report_id=definition.id,
        parameters=params,
        trigger_type="MANUAL",
        requested_by="tester",
        actor=me,
    )
    assert store.move(request_id, Status.PENDING, Status.IN_PROGRESS, me, claim=True)
    return {
        "request_id": request_id,
        "report_id": definition.id,
        "trigger_type": "MANUAL",
        "run_date": "2026-11-20",
        "parameters": params,
        "dag_run_id": "run-1",
    }


def task_context(try_number: int = 1) -> dict[str, Any]:
    """The part of a task context the engine operators read."""
    return {
        "ti": SimpleNamespace(task_id="generate", try_number=try_number),
        "dag_run": SimpleNamespace(run_id="run-1", dag_id="report__engine_report", conf={}),
    }


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def staged_bytes(artifact: dict[str, Any]) -> bytes:
    """The bytes of a staged artifact (file:// staging)."""
    return Path(artifact["uri"].removeprefix("file://")).read_bytes()


def run_trigger(trigger) -> Any:
    """Run a trigger the way the triggerer does, until its first event; returns that event."""
    import asyncio

    async def first_event():
        events = trigger.run()
        try:
            return await events.asend(None)
        finally:
            await events.aclose()

    return asyncio.run(first_event())


def round_trip(trigger) -> Any:
    """Rebuild a trigger from its serialized form, as the triggerer does (classpath must import)."""
    import importlib

    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    return getattr(importlib.import_module(module), name)(**kwargs)
