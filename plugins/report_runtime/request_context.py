"""What every task of a report run needs to know about its request: id, store, and who is acting."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from airflow.sdk import Context, conf

from hooks.request_store import Actor, RequestStoreHook
from reporting.constants import Component

# Fixed namespace: the same DAG run always maps to the same request id, so a cleared or
# re-run task refers to the same request instead of inventing a second one.
REQUEST_NAMESPACE = uuid.UUID("7f1c1d1e-55a4-4c1f-9d0f-6d1b0c2a9e41")

COMPONENTS = {
    "claim": Component.ORCHESTRATOR,
    "generate": Component.ENGINE,
    "distribute": Component.DISTRIBUTOR,
    "notify": Component.NOTIFIER,
    "finalize": Component.ORCHESTRATOR,
}


def request_id_for_run(dag_id: str, run_id: str) -> str:
    """Derive a stable request id for a run that did not come with one.

    :param dag_id: the report DAG's id.
    :param run_id: the DAG run's id.
    """
    return str(uuid.uuid5(REQUEST_NAMESPACE, f"{dag_id}/{run_id}"))


def request_id_of(dag_run: Any) -> str:
    """The request a DAG run serves: ``conf.request_id``, or one derived from the run.

    :param dag_run: the DAG run (from the task context).
    """
    given = (dag_run.conf or {}).get("request_id")
    return str(given) if given else request_id_for_run(dag_run.dag_id, dag_run.run_id)


def jsonable(values: dict[str, Any]) -> dict[str, Any]:
    """Parameter values as JSON-friendly scalars (dates as ISO 8601), for XCom, logs and the store.

    :param values: parameter values.
    """
    return {k: v.isoformat() if isinstance(v, (date, datetime)) else v for k, v in values.items()}


def request_store() -> RequestStoreHook:
    """The request store hook on ``[reporting] request_store_conn_id`` (default ``reporting_request_store``)."""
    conn_id = conf.get("reporting", "request_store_conn_id", fallback=None) or RequestStoreHook.default_conn_name
    return RequestStoreHook(request_store_conn_id=conn_id)


def actor(context: Context, component: Component | None = None) -> Actor:
    """The audit identity of the running task: component, run, task and try.

    :param context: the task context.
    :param component: overrides the component derived from the task id.
    """
    ti = context["ti"]
    return Actor(
        component=component or COMPONENTS.get(ti.task_id, Component.ORCHESTRATOR),
        dag_run_id=context["dag_run"].run_id,
        task_id=ti.task_id,
        try_number=ti.try_number,
    )
