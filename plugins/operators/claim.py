"""Claim: record the run's request and claim it for this run (the first stage of every report run)."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from airflow.sdk import BaseHook, BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from report_runtime.request_context import actor, jsonable, request_id_of, request_store
from report_runtime.sending_gate import hold_if_paused
from report_runtime.tasks_test import is_tasks_test_run, refuse_scheduler_takeover, upstream_request
from reporting.constants import TriggerType
from reporting.contracts import TargetRecord
from reporting.definition import InvalidParameters, ReportDefinition
from reporting.lifecycle import TERMINAL, Status
from reporting.naming import NamingContext
from reporting.run_targets import InvalidDistribution, check_rendering, resolve_targets

TRIGGER_TYPES = frozenset(TriggerType)
_RUN_TYPE_TRIGGERS = {"scheduled": TriggerType.SCHEDULED, "backfill": TriggerType.SCHEDULED}
_CLAIMABLE = (Status.PENDING, Status.HELD, Status.FAILED)


class ClaimRequestOperator(BaseOperator):
    """Record the run's request (unless it exists), validate its parameters and claim it.

    A run may carry ``conf.request_id`` and ``conf.parameters`` (the intake's shape), or the
    report's parameters at the top level of ``conf`` (the UI trigger form's shape). A run
    without a request id creates its request row first, with its trigger type and requester.
    Invalid parameters fail the task at once, naming each field, with no retries. A request
    that is already finished is not run again: the rest of the run is skipped.

    The run's targets are resolved here (the definition's, plus or instead of ``conf.distribution``
    within the definition's override policy), every name, key, subject and body is rendered
    once as a check, and the result goes out as the request's ``targets``; anything refused
    fails the task before the request is claimed and before a single file is sent.

    :param definition: the report definition the DAG was built from.
    """

    ui_color = "#e8f0fe"

    def __init__(self, *, definition: ReportDefinition, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.definition = definition

    def execute(self, context: Context) -> dict[str, Any]:
        dag_run = context["dag_run"]
        refuse_scheduler_takeover(dag_run)
        conf = dict(dag_run.conf or {})
        request_id = request_id_of(dag_run)
        if isinstance(conf.get("parameters"), dict):
            supplied = conf["parameters"]
        else:
            params = context["params"]
            supplied = {name: params.get(name) for name in self.definition.parameters}
        trigger_type = self._trigger_type(conf, dag_run)
        store = request_store()
        me = actor(context)
        created = store.create_request(
            request_id=request_id,
            report_id=self.definition.id,
            parameters=jsonable(supplied),
            trigger_type=trigger_type,
            requested_by=str(conf.get("requested_by") or dag_run.triggering_user_name or "airflow"),
            actor=me,
            priority=int(conf.get("priority") or self.definition.priority),
            distribution_overrides=conf.get("distribution"),
        )
        self.log.info("request %s: %s", request_id, "created" if created else "already recorded")
        try:
            parameters = self.definition.resolve_parameters(supplied)
        except InvalidParameters as exc:
            raise AirflowFailException(f"request {request_id}: invalid parameters: {exc}") from None
        run_date = self._run_date(context).isoformat()
        naming = NamingContext(self.definition.id, run_date, request_id, self.definition.title, jsonable(parameters))
        try:
            overrides = conf.get("distribution")
            if overrides is None:
                # A request from the worktable carries its distribution in its row, not in conf.
                overrides = (store.get_request(request_id) or {}).get("distribution_overrides")
            targets = resolve_targets(self.definition, overrides)
            check_rendering(self.definition, targets, naming)
            self._check_hosts(targets)
        except InvalidDistribution as exc:
            raise AirflowFailException(f"request {request_id}: invalid distribution: {exc}") from None

        hold_if_paused(context, request_id)
        self._claim(store, request_id, me)
        request = {
            "request_id": request_id,
            "report_id": self.definition.id,
            "trigger_type": trigger_type,
            "run_date": run_date,
            "parameters": jsonable(parameters),
            "dag_run_id": dag_run.run_id,
            "targets": targets,
        }
        self.log.info(
            "request %s: claimed by run %s with parameters %s", request_id, dag_run.run_id, request["parameters"]
        )
        return request

    def _check_hosts(self, targets: list[TargetRecord]) -> None:
        """Refuse a request's own target whose connection points at a host the policy does not list."""
        allowed = self.definition.distribution_overrides.allowed_hosts
        if not allowed:
            return

        problems = []
        for record in targets:
            conn_id = record["spec"].get("conn_id")
            if record["origin"] != "request" or not conn_id:
                continue
            host = (BaseHook.get_connection(conn_id).host or "").lower()
            if host not in allowed:
                problems.append(
                    f"target {record['key']!r}: connection {conn_id!r} points at host {host!r}, not an allowed host"
                )
        if problems:
            raise InvalidDistribution(problems)

    def _claim(self, store: Any, request_id: str, me: Any) -> None:
        row = store.get_request(request_id)
        status = Status(row["status"])
        if status in _CLAIMABLE and store.move(request_id, status, Status.IN_PROGRESS, me, claim=True):
            return
        row = store.get_request(request_id)
        status = Status(row["status"])
        if status in TERMINAL:
            raise AirflowSkipException(f"request {request_id} is already {status}; nothing is run again")
        if row["dag_run_id"] != me.dag_run_id:
            raise AirflowFailException(
                f"request {request_id} is {status} in run {row['dag_run_id']}; "
                f"this run {me.dag_run_id} does not take it over"
            )
        # Our own run claimed it before: this is a retried or cleared claim task.
        self.log.info("request %s: already claimed by this run (%s)", request_id, status)

    @staticmethod
    def _trigger_type(conf: dict[str, Any], dag_run: Any) -> str:
        if is_tasks_test_run(dag_run):
            return TriggerType.TEST.value
        given = str(conf.get("trigger_type") or "").upper()
        if given:
            if given not in TRIGGER_TYPES:
                raise AirflowFailException(
                    f"conf.trigger_type: {given!r} is not one of {', '.join(sorted(TRIGGER_TYPES))}"
                )
            return given
        run_type = str(getattr(dag_run.run_type, "value", dag_run.run_type))
        return str(_RUN_TYPE_TRIGGERS.get(run_type, TriggerType.MANUAL))

    def _run_date(self, context: Context) -> date:
        """The business date of the run, read in the report's schedule time zone."""
        moment = context.get("logical_date") or context["dag_run"].run_after
        zone = ZoneInfo(self.definition.schedule.timezone if self.definition.schedule else "UTC")
        return moment.astimezone(zone).date()


class RunTargetsOperator(BaseOperator):
    """Hand the claimed request's resolved targets on as a list, for the distribute task to map over.

    Airflow maps only over a task's return value, and the claim task returns the request.

    :param request: the claimed request (the claim task's XCom).
    """

    template_fields = ("request",)
    ui_color = "#e8f0fe"

    def __init__(self, *, request: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.request = request

    def execute(self, context: Context) -> list[TargetRecord]:
        request = upstream_request(self, context)
        targets: list[TargetRecord] = request["targets"]
        self.log.info(
            "request %s: %d targets: %s",
            request["request_id"],
            len(targets),
            ", ".join(f"{t['key']} ({t['type']}, {t['origin']})" for t in targets),
        )
        return targets
