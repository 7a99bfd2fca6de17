"""Checking an ad hoc request against its report's definition before any run starts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reporting.definition import InvalidParameters, ReportDefinition
from reporting.errors import ProblemsError
from reporting.run_targets import InvalidDistribution, resolve_targets


@dataclass(frozen=True)
class CheckedRequest:
    """A request that fits its definition.

    :param definition: the report's definition.
    :param parameters: the resolved, typed parameter values.
    :param distribution: the request's distribution as given (checked), or ``None`` for the definition's own.
    """

    definition: ReportDefinition
    parameters: dict[str, Any]
    distribution: Any


class RequestRejected(ProblemsError):
    """A request does not fit its definition; ``problems`` names each field."""


def check_request(
    report_id: str | None,
    parameters: Any,
    distribution: Any,
    definitions: Mapping[str, ReportDefinition],
) -> CheckedRequest:
    """Check that a request names a known report, with valid parameters and valid targets.

    :param report_id: the report the request asks for.
    :param parameters: the request's parameters (a JSON object, or nothing).
    :param distribution: the request's distribution overrides (a JSON list, or nothing).
    :param definitions: the valid definitions by report id.
    :raises RequestRejected: naming every field at fault.
    """
    definition = definitions.get(report_id or "")
    if definition is None:
        known = ", ".join(sorted(definitions)) or "none"
        raise RequestRejected([f"report_id: no report definition {report_id!r} (known: {known})"])
    problems: list[str] = []
    if parameters is not None and not isinstance(parameters, dict):
        raise RequestRejected([f"parameters: must be a JSON object, got {type(parameters).__name__}"])
    resolved: dict[str, Any] = {}
    try:
        resolved = definition.resolve_parameters(parameters)
    except InvalidParameters as exc:
        problems.extend(exc.problems)
    if distribution is not None:
        try:
            # The same check a report run's claim makes: allow-list, shape, names.
            resolve_targets(definition, distribution)
        except InvalidDistribution as exc:
            problems.extend(exc.problems)
    if problems:
        raise RequestRejected(problems)
    return CheckedRequest(definition, resolved, distribution)
