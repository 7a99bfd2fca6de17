"""Claim: check the run's request, record it and claim it for this run (the first stage of every report run)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from airflow.sdk import BaseHook, BaseOperator, Context
from airflow.sdk.exceptions import AirflowSkipException

from hooks.request_store import Actor, RequestStoreHook
from report_runtime.request_context import (
    RequestRefused,
    actor,
    jsonable,
    request_id_of,
    request_store,
    run_note,
)
from report_runtime.sending_gate import hold_if_paused
from report_runtime.tasks_test import is_tasks_test_run, refuse_scheduler_takeover, upstream_request
from reporting.constants import RUN_NOTE_KEY, EventType, TriggerType
from reporting.contracts import TargetRecord
from reporting.definition import InvalidParameters, ReportDefinition
from reporting.errors import MAX_MESSAGE, ErrorInfo
from reporting.lifecycle import TERMINAL, Status
from reporting.limits import cap_problems, quote
from reporting.masking import mask_secrets
from reporting.naming import NamingContext
from reporting.request import RequestDocument, RequestInvalid, parse_request
from reporting.request_check import (
    RequestRejected,
    refused_fields,
    resend_differences,
    run_trigger_type,
    stated_trigger_type,
)
from reporting.run_targets import InvalidDistribution, check_rendering, resolve_targets

_CLAIMABLE = (Status.PENDING, Status.HELD, Status.FAILED)
_REFUSED = "INVALID_REQUEST"


@dataclass(frozen=True)
class _Run:
    """The run being claimed for, and what the store already knows of its request."""

    context: Context
    store: RequestStoreHook
    me: Actor
    request_id: str
    row: dict[str, Any] | None
    trigger_type: TriggerType


class ClaimRequestOperator(BaseOperator):
    """Check the run's request, record it (unless it exists) and claim it.

    The run's ``conf`` is one request document (:func:`reporting.request.parse_request`): known
    keys only, the report's parameters at its top level (the UI trigger form's shape) or in
    ``parameters`` (the intake's), every field checked. The trigger type comes from the run
    (scheduled, by hand, the intake, the retry DAG); a caller of a manual run may say ``API``.

    A request that does not fit is refused: a new one gets its row, FAILED with the reason
    (under a request id derived from the run when the given one is invalid); the task fails at
    once, without retries, and the run's note says why. A request id already recorded names
    the same request: a re-send with other parameters or targets is refused, naming each
    difference; one of a finished request delivers nothing and says so (run note, trail); one
    of a FAILED request is its next attempt.

    The run's targets are resolved here (the definition's, plus or instead of the request's
    distribution within the definition's override policy), every name, key, subject and body
    is rendered once as a check, and the result goes out as the request's ``targets``.

    :param definition: the report definition the DAG was built from.
    """

    ui_color = "#e8f0fe"

    def __init__(self, *, definition: ReportDefinition, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.definition = definition

    def execute(self, context: Context) -> dict[str, Any]:
        dag_run = context["dag_run"]
        refuse_scheduler_takeover(dag_run)
        store = request_store()
        request_id = request_id_of(dag_run)
        row = store.get_request(request_id)
        run_type = str(getattr(dag_run.run_type, "value", dag_run.run_type))
        derived = TriggerType.TEST if is_tasks_test_run(dag_run) else run_trigger_type(run_type, dag_run.run_id)
        run = _Run(context, store, actor(context), request_id, row, derived)
        try:
            document = parse_request(dag_run.conf, parameter_names=self.definition.parameters, source="conf")
            run = _with_trigger_type(run, stated_trigger_type(run.trigger_type, document.trigger_type))
        except (RequestInvalid, RequestRejected) as exc:
            self._refuse(run, "invalid request", exc.problems, document=None)

        if row is not None:
            differences = resend_differences(self.definition, row, document.parameters, document.distribution)
            if differences:
                self._refuse(
                    run,
                    f"request_id {request_id!r} was sent before with other values "
                    "(a request id keeps the values it was first sent with; send a new request_id)",
                    differences,
                    document=None,
                )
            if _status_of(row) in TERMINAL:
                self._nothing_to_deliver(run, row)

        parameters, targets, run_date = self._resolve(run, document)
        if row is None:
            created = store.create_request(
                request_id=request_id,
                report_id=self.definition.id,
                parameters=jsonable(parameters),
                trigger_type=str(run.trigger_type),
                requested_by=document.requested_by or _requester(dag_run),
                actor=run.me,
                priority=document.priority or self.definition.priority,
                distribution_overrides=document.distribution,
            )
            self.log.info("request %s: %s", request_id, "created" if created else "already recorded")

        hold_if_paused(context, request_id)
        self._claim(run)
        request = {
            "request_id": request_id,
            "report_id": self.definition.id,
            "trigger_type": str(run.trigger_type),
            "run_date": run_date,
            "parameters": jsonable(parameters),
            "dag_run_id": dag_run.run_id,
            "targets": targets,
        }
        self.log.info(
            "request %s: claimed by run %s with parameters %s", request_id, dag_run.run_id, request["parameters"]
        )
        return request

    def _resolve(self, run: _Run, document: RequestDocument) -> tuple[dict[str, Any], list[TargetRecord], str]:
        """The run's parameters, targets and business date; refuses the request if they do not fit."""
        recorded = run.row or {}
        # A re-send that gives no parameters or targets runs with the recorded ones.
        supplied: Any = document.parameters or recorded.get("parameters") or self._form_values(run)
        overrides: Any = document.distribution
        problems: list[str] = []
        kinds: list[str] = []
        if overrides is None and recorded.get("distribution_overrides") is not None:
            try:
                overrides = parse_request(
                    {"distribution": recorded["distribution_overrides"]}, parameter_names=(), source="conf"
                ).distribution
            except RequestInvalid as exc:
                problems.extend(f"recorded {line}" for line in exc.problems)
                kinds.append("distribution")
        parameters: dict[str, Any] = {}
        if not isinstance(supplied, Mapping):
            problems.append(f"recorded parameters: not a JSON object of parameter values: {quote(supplied)}")
            kinds.append("parameters")
        else:
            try:
                parameters = self.definition.resolve_parameters(dict(supplied))
            except InvalidParameters as exc:
                problems.extend(exc.problems)
                kinds.append("parameters")
        run_date = self._run_date(run.context).isoformat()
        targets: list[TargetRecord] = []
        if "distribution" not in kinds:
            try:
                targets = resolve_targets(self.definition, overrides)
                if "parameters" not in kinds:
                    naming = NamingContext(
                        self.definition.id, run_date, run.request_id, self.definition.title, jsonable(parameters)
                    )
                    check_rendering(self.definition, targets, naming)
                self._check_hosts(targets)
            except InvalidDistribution as exc:
                problems.extend(exc.problems)
                kinds.append("distribution")
        if problems:
            self._refuse(run, f"invalid {' and '.join(dict.fromkeys(kinds))}", problems, document=document)
        return parameters, targets, run_date

    def _form_values(self, run: _Run) -> dict[str, Any]:
        """The report's parameters as the run's params hold them (the trigger form, ``tasks test -t``)."""
        params = run.context.get("params") or {}
        return {name: params[name] for name in self.definition.parameters if params.get(name) is not None}

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

    def _claim(self, run: _Run) -> None:
        store, request_id, me = run.store, run.request_id, run.me
        row = store.get_request(request_id) or {}
        status = _status_of(row)
        if status in _CLAIMABLE and store.move(request_id, status, Status.IN_PROGRESS, me, claim=True):
            if status is Status.FAILED:
                self._note(run, f"Re-sent: request {request_id} had FAILED; this run is its next attempt")
            return
        row = store.get_request(request_id) or {}
        status = _status_of(row)
        if status in TERMINAL:
            self._nothing_to_deliver(run, row)
        if status is None:
            self._refuse(
                run, f"request {request_id} has status {quote(row.get('status'))}, which no run can claim", [], None
            )
        if row["dag_run_id"] != me.dag_run_id:
            self._refuse(
                run,
                f"request {request_id} is {status} in run {row['dag_run_id']}; this run does not take it over",
                [],
                document=None,
            )
        # Our own run claimed it before: this is a retried or cleared claim task.
        self.log.info("request %s: already claimed by this run (%s)", request_id, status)

    def _nothing_to_deliver(self, run: _Run, row: Mapping[str, Any]) -> NoReturn:
        """End the run, skipped, for a request that is finished: it is delivered once, never again."""
        status, request_id, me = row.get("status"), run.request_id, run.me
        by_run = row.get("dag_run_id")
        text = (
            f"Nothing delivered: request {request_id} is already {status}{f' (run {by_run})' if by_run else ''}; "
            "a request is delivered once: send a new request_id to run the report again"
        )
        if by_run != me.dag_run_id:
            # A new send of a finished request (a cleared run of its own leaves the trail as it is).
            run.store.record_event(
                request_id,
                EventType.RESEND,
                me,
                {"outcome": "nothing delivered", "status": status, "dag_run_id": me.dag_run_id},
            )
        self._note(run, text)
        raise AirflowSkipException(text)

    def _refuse(self, run: _Run, reason: str, problems: list[str], document: RequestDocument | None) -> NoReturn:
        """Record why the run's request is refused, leave the reason for the run's note, and fail the task.

        :param run: the run.
        :param reason: what is wrong, in a few words.
        :param problems: one line per field at fault.
        :param document: the request document when it was valid and its values are the recorded
            request's own (so the request itself does not fit and fails); ``None`` for a send that is
            not the recorded request (an invalid document, other values), which leaves it as it is.
        """
        store, request_id, me = run.store, run.request_id, run.me
        text = f"{reason}: {'; '.join(cap_problems(problems))}" if problems else reason
        error = ErrorInfo(_REFUSED, RequestRefused.__name__, mask_secrets(text)[:MAX_MESSAGE], False)
        request_failed = False
        recorded = False
        status = _status_of(run.row) if run.row is not None else None
        if run.row is None:
            fields: dict[str, Any] = (
                refused_fields(run.context["dag_run"].conf, self.definition.parameters)
                if document is None
                else {
                    "parameters": jsonable(document.parameters),
                    "distribution": document.distribution,
                    "priority": document.priority,
                    "requested_by": document.requested_by,
                }
            )
            request_failed = store.create_refused_request(
                request_id=request_id,
                report_id=self.definition.id,
                parameters=fields["parameters"],
                trigger_type=str(run.trigger_type),
                requested_by=fields["requested_by"] or _requester(run.context["dag_run"]),
                actor=me,
                error=error,
                priority=fields["priority"] or self.definition.priority,
                distribution_overrides=fields["distribution"],
            )
            recorded = request_failed
        elif document is not None and status in _CLAIMABLE:
            # The recorded request itself does not fit (its values are this send's): it fails.
            store.record_error(request_id, error, me)
            recorded = True
            if status is not Status.FAILED:
                request_failed = store.move(
                    request_id,
                    status,
                    Status.FAILED,
                    me,
                    details={"refused": error.code},
                    last_error=f"{me.task_id}: {text}",
                )
        if not recorded:
            # A send that is not the recorded request, or one that cannot change it: its trail says so.
            store.record_event(
                request_id,
                EventType.RESEND,
                me,
                {"outcome": "refused", "reason": error.message[:500], "dag_run_id": me.dag_run_id},
            )
        self.log.warning("request %s refused: %s", request_id, text)
        self._note(run, f"Refused: {text}" + (f" (request {request_id} is FAILED)" if request_failed else ""))
        raise RequestRefused(f"request {request_id} refused: {text}", error=error, request_failed=request_failed)

    def _note(self, run: _Run, text: str) -> None:
        """Leave the run's note for the listener that writes it (``report_listeners.run_notes``)."""
        try:
            run.context["ti"].xcom_push(key=RUN_NOTE_KEY, value=run_note(text))
        except Exception:  # the note explains the outcome; it never changes it
            self.log.exception("request %s: could not leave the run note", run.request_id)

    def _run_date(self, context: Context) -> date:
        """The business date of the run, read in the report's schedule time zone."""
        moment = context.get("logical_date") or context["dag_run"].run_after
        zone = ZoneInfo(self.definition.schedule.timezone if self.definition.schedule else "UTC")
        return moment.astimezone(zone).date()


def _with_trigger_type(run: _Run, trigger_type: TriggerType) -> _Run:
    return _Run(run.context, run.store, run.me, run.request_id, run.row, trigger_type)


def _status_of(row: Mapping[str, Any]) -> Status | None:
    """A row's status, or ``None`` when it holds no status of the lifecycle (a hand-written row)."""
    try:
        return Status(str(row.get("status")))
    except ValueError:
        return None


def _requester(dag_run: Any) -> str:
    """Who started the run, when the request does not say who asked (held to the same rules as ``requested_by``)."""
    try:
        name = RequestDocument.model_validate({"requested_by": dag_run.triggering_user_name}).requested_by
    except ValueError:  # a user name the store would not show safely
        name = None
    return name or "airflow"


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
