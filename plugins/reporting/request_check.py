"""Checking a request against its report's definition, and what the run it arrives in makes of it.

:func:`check_request` checks a worktable row (the intake's door); the claim checks a run's conf
with :func:`reporting.request.parse_request` and the definition itself. Both share what is here:
which request id a run serves (:func:`usable_request_id`), which trigger type it records
(:func:`run_trigger_type`, :func:`stated_trigger_type`), what a re-send changes
(:func:`resend_differences`) and how any value is made fit for a JSON column (:func:`storable`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from reporting.constants import ADHOC_RUN_PREFIX, RETRY_RUN_PREFIX, TriggerType
from reporting.definition import InvalidParameters, ReportDefinition
from reporting.errors import ProblemsError
from reporting.limits import quote
from reporting.request import RequestDocument, RequestInvalid, parse_request
from reporting.run_targets import InvalidDistribution, resolve_targets

MAX_STORED_JSON_CHARS = 16_000
"""The most JSON text a refused request's value keeps in the store; longer text is cut."""

_SCHEDULER_RUN_TYPES = frozenset({"scheduled", "backfill"})
_STORED_DEPTH = 20


@dataclass(frozen=True)
class CheckedRequest:
    """A request that fits its definition.

    :param definition: the report's definition.
    :param parameters: the resolved, typed parameter values.
    :param distribution: the request's distribution as given (checked), or ``None`` for the definition's own.
    :param document: the request document the values came from.
    """

    definition: ReportDefinition
    parameters: dict[str, Any]
    distribution: Any
    document: RequestDocument | None = None


class RequestRejected(ProblemsError):
    """A request does not fit its definition; ``problems`` names each field."""


def check_request(
    document: Mapping[str, Any],
    definitions: Mapping[str, ReportDefinition],
    *,
    problems: Collection[str] = (),
) -> CheckedRequest:
    """Check a worktable request: a known report, a valid document, valid parameters and valid targets.

    :param document: the row's request fields (``request_id``, ``report_id``, ``parameters``,
        ``distribution``, ``priority``, ``requested_by``), as read; any value.
    :param definitions: the valid definitions by report id.
    :param problems: problems already found while reading the row (a column that is not JSON).
    :raises RequestRejected: naming every field at fault.
    """
    found = list(problems)
    report_id = document.get("report_id")
    definition = definitions.get(report_id) if isinstance(report_id, str) else None
    raw_parameters = document.get("parameters")
    # An unknown report has no parameter names to hold the values to: only their shape is checked.
    if definition is not None:
        names: Collection[str] = definition.parameters
    elif isinstance(raw_parameters, Mapping):
        names = [k for k in raw_parameters if isinstance(k, str)]
    else:
        names = ()
    parsed: RequestDocument | None = None
    try:
        parsed = parse_request(document, parameter_names=names, source="worktable")
    except RequestInvalid as exc:
        found.extend(exc.problems)
    if definition is None and not any(p.startswith("report_id:") for p in found):
        known = ", ".join(sorted(definitions)) or "none"
        found.insert(0, f"report_id: no report definition {quote(report_id)} (known: {known})")
    if definition is None or parsed is None:
        raise RequestRejected(found)
    resolved: dict[str, Any] = {}
    try:
        resolved = definition.resolve_parameters(parsed.parameters)
    except InvalidParameters as exc:
        found.extend(exc.problems)
    if parsed.distribution is not None:
        try:
            # The same check a report run's claim makes: allow-list, shape, names.
            resolve_targets(definition, parsed.distribution)
        except InvalidDistribution as exc:
            found.extend(exc.problems)
    if found:
        raise RequestRejected(found)
    return CheckedRequest(definition, resolved, parsed.distribution, parsed)


def usable_request_id(value: Any) -> str | None:
    """A caller's request id when it is a valid one (at most 64 letters, digits, ``_ . : -``), else ``None``.

    :param value: ``conf.request_id`` as given (anything).
    """
    if value is None:
        return None
    try:
        return RequestDocument.model_validate({"request_id": value}).request_id
    except Exception:  # whatever it is, it is not an id
        return None


def run_trigger_type(run_type: str, run_id: str) -> TriggerType:
    """The trigger type a run records, from what only the orchestrator sets: its run type and run id.

    A REST or UI caller can name a run but cannot make it ``operator_triggered``: only a task
    (the intake, the retry DAG) starts runs of that type, so their run id prefixes can be trusted.

    :param run_type: the DAG run's type (``scheduled``, ``backfill``, ``manual``, ``operator_triggered``...).
    :param run_id: the DAG run's id.
    """
    if run_type in _SCHEDULER_RUN_TYPES:
        return TriggerType.SCHEDULED
    if run_type == "operator_triggered":
        if run_id.startswith(ADHOC_RUN_PREFIX):
            return TriggerType.ADHOC
        if run_id.startswith(RETRY_RUN_PREFIX):
            return TriggerType.RETRY
    return TriggerType.MANUAL


def stated_trigger_type(derived: TriggerType, stated: str | None) -> TriggerType:
    """The trigger type to record: the run's own, or ``API`` when a caller of a manual run says so.

    :param derived: what :func:`run_trigger_type` says about the run.
    :param stated: ``trigger_type`` as the request document gives it (``API``, ``ADHOC`` or ``None``).
    :raises RequestRejected: the caller states a trigger type this run is not.
    """
    if stated is None or stated == derived:
        return derived
    if stated == TriggerType.API and derived is TriggerType.MANUAL:
        return TriggerType.API
    if derived is TriggerType.MANUAL:
        reason = (
            f"{quote(str(stated))} is for requests the intake takes from the worktable; "
            "a run started through the UI, CLI or REST API may say 'API'"
        )
    else:
        reason = f"{quote(str(stated))} does not fit this run, which is {derived}: set from the run, never by a caller"
    raise RequestRejected([f"trigger_type: {reason}"])


def resend_differences(
    definition: ReportDefinition,
    recorded: Mapping[str, Any],
    parameters: Mapping[str, Any],
    distribution: Any,
) -> list[str]:
    """What a re-sent request changes against the request recorded under its id, one line per field.

    Parameters are compared as the definition resolves them (defaults filled in), so a request that
    left a value to its default and its run that names it are the same request. No parameters and
    no distribution in the re-send mean "as recorded".

    :param definition: the report's definition.
    :param recorded: the request's row (``parameters``, ``distribution_overrides``).
    :param parameters: the re-send's parameter values (empty: as recorded).
    :param distribution: the re-send's distribution (``None``: as recorded).
    """
    lines: list[str] = []
    if parameters:
        before, after = recorded.get("parameters"), dict(parameters)
        resolved_before, resolved_after = _resolved(definition, before), _resolved(definition, after)
        if resolved_before is not None and resolved_after is not None:
            before, after = resolved_before, resolved_after
        if isinstance(before, Mapping):
            for name in sorted({*before, *after}, key=str):
                if _canonical(before.get(name)) != _canonical(after.get(name)):
                    lines.append(
                        f"parameters.{name}: {quote(_plain(before.get(name)))} recorded, "
                        f"{quote(_plain(after.get(name)))} now"
                    )
        elif _canonical(before) != _canonical(after):
            lines.append(f"parameters: {quote(before)} recorded, {quote(after)} now")
    if distribution is not None:
        before = recorded.get("distribution_overrides")
        if _canonical(before) != _canonical(distribution):
            lines.append(f"distribution: {quote(before)} recorded, {quote(distribution)} now")
    return lines


def _resolved(definition: ReportDefinition, values: Any) -> dict[str, Any] | None:
    if not isinstance(values, Mapping):
        return None
    try:
        return definition.resolve_parameters(dict(values))
    except Exception:  # a recorded value that no longer fits: compared as it was given
        return None


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def _canonical(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except Exception:  # unorderable keys, cycles: compare by what is shown
        return quote(value)


def storable(value: Any, limit: int = MAX_STORED_JSON_CHARS) -> Any:
    """A value fit for a JSON column: itself when it is plain, bounded JSON, else its JSON text, cut at ``limit``.

    For what a refused request brought: it is kept to show in the trail, never run.

    :param value: any value.
    :param limit: the most characters of JSON text kept.
    """
    if _plain_json(value, 0):
        try:
            text = json.dumps(value, allow_nan=False)
        except Exception:  # deeper than json can go after all
            text = None
        if text is not None and len(text) <= limit:
            return value
    try:
        text = json.dumps(value, default=quote, sort_keys=True)
    except Exception:  # cycles, NaN keys, depth: the short rendering says what it was
        text = quote(value, limit)
    return text if len(text) <= limit else text[:limit] + "…"


def _plain_json(value: Any, depth: int) -> bool:
    if depth > _STORED_DEPTH:
        return False
    if value is None or isinstance(value, str | bool | int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_plain_json(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain_json(v, depth + 1) for k, v in value.items())
    return False


def refused_fields(document: Any, parameter_names: Collection[str]) -> dict[str, Any]:
    """What a refused request document brought, field by field, in a form the request store takes.

    A field that is valid on its own is kept as it is; the parameters and the distribution are
    kept as given (as JSON text when they are not plain, bounded JSON); anything else that does
    not fit is left out (``None``), since the error names it.

    :param document: a run's conf as received (anything).
    :param parameter_names: the report's parameter names (the conf may give them at its top level).
    """
    given = document if isinstance(document, Mapping) else {}
    names = frozenset(parameter_names)
    top_level = {k: v for k, v in given.items() if isinstance(k, str) and k in names}
    nested = given.get("parameters")
    if nested is None:
        parameters: Any = top_level
    elif isinstance(nested, Mapping):
        parameters = {**top_level, **nested}
    else:
        parameters = {**top_level, "parameters": nested} if top_level else nested
    if not isinstance(document, Mapping | None):
        parameters = {"conf": document}
    return {
        "parameters": storable(_jsonable(parameters)),
        "distribution": storable(_jsonable(given.get("distribution"))),
        "priority": _valid_field("priority", given.get("priority")),
        "requested_by": _valid_field("requested_by", given.get("requested_by")),
    }


def _valid_field(name: str, value: Any) -> Any:
    try:
        return getattr(RequestDocument.model_validate({name: value}), name)
    except Exception:  # the error names it; the store keeps nothing of it
        return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return _plain(value)
