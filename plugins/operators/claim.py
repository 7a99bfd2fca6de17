"""Claim: turn a DAG run into a request with resolved parameters (the first stage of every report run)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException

from reporting.definition import InvalidParameters, ReportDefinition

# Fixed namespace: the same DAG run always maps to the same request id, so a cleared or
# re-run claim refers to the same request instead of inventing a second one.
REQUEST_NAMESPACE = uuid.UUID("7f1c1d1e-55a4-4c1f-9d0f-6d1b0c2a9e41")

_TRIGGER_TYPES = {"scheduled": "SCHEDULED", "manual": "MANUAL", "backfill": "SCHEDULED"}


def request_id_for_run(dag_id: str, run_id: str) -> str:
    """Derive a stable request id for a run that did not come with one.

    :param dag_id: the report DAG's id.
    :param run_id: the DAG run's id.
    """
    return str(uuid.uuid5(REQUEST_NAMESPACE, f"{dag_id}/{run_id}"))


def jsonable(values: dict[str, Any]) -> dict[str, Any]:
    """Parameter values as JSON-friendly scalars (dates as ISO 8601), for XCom and logs.

    :param values: resolved parameter values.
    """
    return {k: v.isoformat() if isinstance(v, (date, datetime)) else v for k, v in values.items()}


class ClaimRequestOperator(BaseOperator):
    """Resolve the run's request: its id, trigger type, parameters and run date.

    A run may carry ``conf.request_id`` and ``conf.parameters`` (the intake's shape), or the
    report's parameters at the top level of ``conf`` (the UI trigger form's shape).
    Invalid parameters fail the task at once, naming each field, with no retries.

    :param definition: the report definition the DAG was built from.
    """

    ui_color = "#e8f0fe"

    def __init__(self, *, definition: ReportDefinition, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.definition = definition

    def execute(self, context: Context) -> dict[str, Any]:
        dag_run = context["dag_run"]
        conf = dict(dag_run.conf or {})
        if isinstance(conf.get("parameters"), dict):
            supplied = conf["parameters"]
        else:
            params = context["params"]
            supplied = {name: params.get(name) for name in self.definition.parameters}
        try:
            parameters = self.definition.resolve_parameters(supplied)
        except InvalidParameters as exc:
            raise AirflowFailException(f"report {self.definition.id!r}: invalid run parameters: {exc}") from None

        request_id = str(conf.get("request_id") or request_id_for_run(dag_run.dag_id, dag_run.run_id))
        run_type = str(getattr(dag_run.run_type, "value", dag_run.run_type))
        request = {
            "request_id": request_id,
            "report_id": self.definition.id,
            "trigger_type": str(conf.get("trigger_type") or _TRIGGER_TYPES.get(run_type, "MANUAL")),
            "requested_by": str(conf.get("requested_by") or ("airflow-scheduler" if run_type == "scheduled" else "airflow")),
            "run_date": self._run_date(context).isoformat(),
            "parameters": jsonable(parameters),
            "priority": int(conf.get("priority") or self.definition.priority),
            "dag_run_id": dag_run.run_id,
        }
        self.log.info(
            "request %s for report %s (%s) claimed with parameters %s",
            request_id,
            self.definition.id,
            request["trigger_type"],
            request["parameters"],
        )
        return request

    def _run_date(self, context: Context) -> date:
        """The business date of the run, read in the report's schedule time zone."""
        moment = context.get("logical_date") or context["dag_run"].run_after
        zone = ZoneInfo(self.definition.schedule.timezone if self.definition.schedule else "UTC")
        return moment.astimezone(zone).date()
