"""A request as one validated document: a DAG run's conf (UI, REST API, intake) or a worktable row.

Known keys only, types checked, every problem named: :func:`parse_request` refuses a document with
a :class:`RequestInvalid` listing each bad field as ``<field>: <problem>``, and never raises anything
else, whatever it is given. Whether the report exists, the parameter values fit their types and the
per-request targets fit the definition's override policy is checked later, against the definition.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from reporting.constants import TriggerType
from reporting.limits import (
    MAX_PARAMETER_VALUE_CHARS,
    MAX_PARAMETERS,
    MAX_REQUEST_ID_CHARS,
    MAX_REQUEST_TARGETS,
    MAX_REQUESTED_BY_CHARS,
    cap_problems,
    control_characters,
    describe,
    quote,
)

RequestSource = Literal["conf", "worktable"]
"""Where a request document comes from: a DAG run's ``conf``, or a worktable row."""

REQUEST_FIELDS = ("request_id", "report_id", "parameters", "distribution", "priority", "requested_by", "trigger_type")
"""The fields of a request document; a run's conf has all but ``report_id`` (its DAG is the report)."""

CALLER_TRIGGER_TYPES = (TriggerType.API, TriggerType.ADHOC)
"""The trigger types a caller may state; the others are derived from the run."""

ORCHESTRATOR_TRIGGER_TYPES = (TriggerType.SCHEDULED, TriggerType.MANUAL, TriggerType.RETRY, "TEST")
"""Trigger types only the orchestrator sets, never taken from a caller."""

MIN_PRIORITY = 1
MAX_PRIORITY = 10

_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]*")
_REPORT_ID = re.compile(r"[a-z][a-z0-9_]{0,99}")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_DISTRIBUTION_KEYS = ("mode", "targets")
_SHOWN_NAMES = 10
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# a target is a handful of fields and a recipient list
_MAX_TARGET_DEPTH = 10
_MAX_TARGET_NODES = 10_000


class RequestInvalid(ValueError):
    """A request document does not fit; ``problems`` names each bad field (``<field>: <problem>``)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(cap_problems(problems)))


def _parameter_value(value: Any) -> Any:
    """One parameter's value: a single JSON value (or a date), bounded; its type is checked later."""
    if value is None or isinstance(value, bool | date):
        return value
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(f"must be an integer a database can hold (64 bits), got {quote(value)}")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"must be a finite number, got {value!r}")
        return value
    if isinstance(value, str):
        if len(value) > MAX_PARAMETER_VALUE_CHARS:
            raise ValueError(f"longer than {MAX_PARAMETER_VALUE_CHARS:,} characters: {quote(value)}")
        return value
    raise ValueError(f"must be a single value (text, a number, true or false), got {describe(value)} {quote(value)}")


ParameterValue = Annotated[Any, BeforeValidator(_parameter_value)]
"""A parameter's value as a request gives it: text, a number, a boolean, a date or null."""


class RequestDocument(BaseModel):
    """One request, as its caller gave it, with every field checked for shape.

    :param request_id: the request's id (absent: derived from the run).
    :param report_id: the report asked for (a worktable row names it; a run's DAG is its report).
    :param parameters: the parameter values, from ``parameters`` and from the conf's top level.
    :param distribution: the request's own targets: a list, or ``{"mode": "add" | "replace", "targets": [...]}``.
    :param priority: 1 (lowest) to 10 (highest); absent: the definition's.
    :param requested_by: who asked.
    :param trigger_type: ``API`` or ``ADHOC`` when the caller says so; otherwise derived from the run.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    request_id: str | None = None
    report_id: str | None = None
    parameters: dict[str, ParameterValue] = Field(default_factory=dict)
    distribution: list[dict[str, Any]] | dict[str, Any] | None = None
    priority: int | None = None
    requested_by: str | None = None
    trigger_type: Literal[TriggerType.API, TriggerType.ADHOC] | None = None

    @field_validator("request_id", mode="before")
    @classmethod
    def _valid_request_id(cls, value: Any) -> Any:
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise ValueError(f"must be a string, got {describe(value)} {quote(value)}")
        if len(value) > MAX_REQUEST_ID_CHARS:
            raise ValueError(f"longer than {MAX_REQUEST_ID_CHARS} characters: {quote(value)}")
        if not _REQUEST_ID.fullmatch(value):
            raise ValueError(
                f"{quote(value)} may hold only letters, digits and _ . : - (starting with a letter or digit)"
            )
        return value

    @field_validator("report_id", mode="before")
    @classmethod
    def _valid_report_id(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError(f"must be a string, got {describe(value)} {quote(value)}")
        if not _REPORT_ID.fullmatch(value):
            raise ValueError(f"{quote(value)} is not a report id (a-z first, then a-z, 0-9 and _; at most 100)")
        return value

    @field_validator("parameters", mode="before")
    @classmethod
    def _parameters_object(cls, value: Any) -> Any:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise ValueError(f"must be a JSON object of parameter values, got {describe(value)} {quote(value)}")
        if len(value) > MAX_PARAMETERS:
            raise ValueError(f"{len(value):,} values; a report has at most {MAX_PARAMETERS} parameters")
        return dict(value)

    @field_validator("distribution", mode="before")
    @classmethod
    def _distribution_shape(cls, value: Any) -> Any:
        # The shape only: whether the targets fit the definition's override policy is checked against it.
        # A message that starts with "." or "[" continues the field path (see _field_problems).
        if value is None or (isinstance(value, list | Mapping) and not value):
            return None
        if isinstance(value, list):
            _check_targets(value, "")
            return value
        if isinstance(value, Mapping):
            unknown = [k for k in value if k not in _DISTRIBUTION_KEYS]
            if unknown:
                raise ValueError(f"{_key(unknown[0], '')}: unknown field (use mode and targets)")
            mode = value.get("mode", "add")
            if mode not in ("add", "replace"):
                raise ValueError(f".mode: {quote(mode)} is neither 'add' nor 'replace'")
            targets = value.get("targets")
            if not isinstance(targets, list) or not targets:
                raise ValueError(f".targets: a non-empty list of targets is required, got {describe(targets)}")
            _check_targets(targets, ".targets")
            return dict(value)
        raise ValueError(
            'must be a list of targets or {"mode": "add" | "replace", "targets": [...]}, '
            f"got {describe(value)} {quote(value)}"
        )

    @field_validator("priority", mode="before")
    @classmethod
    def _valid_priority(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not MIN_PRIORITY <= value <= MAX_PRIORITY:
            raise ValueError(f"must be an integer from {MIN_PRIORITY} to {MAX_PRIORITY}, got {quote(value)}")
        return value

    @field_validator("requested_by", mode="before")
    @classmethod
    def _valid_requested_by(cls, value: Any) -> Any:
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise ValueError(f"must be a string, got {describe(value)} {quote(value)}")
        if len(value) > MAX_REQUESTED_BY_CHARS:
            raise ValueError(f"longer than {MAX_REQUESTED_BY_CHARS} characters: {quote(value)}")
        bad = control_characters(value)
        if bad:
            raise ValueError(f"{quote(value)} contains control or direction-changing characters ({', '.join(bad)})")
        return value

    @field_validator("trigger_type", mode="before")
    @classmethod
    def _caller_trigger_type(cls, value: Any) -> Any:
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise ValueError(f"must be a string, got {describe(value)} {quote(value)}")
        given = value.strip().upper()
        if given in CALLER_TRIGGER_TYPES:
            return given
        may = " or ".join(CALLER_TRIGGER_TYPES)
        if given in ORCHESTRATOR_TRIGGER_TYPES:
            raise ValueError(f"{quote(value)} is set from the run, never by a caller (a caller may say {may})")
        raise ValueError(f"{quote(value)} is not a trigger type a caller may give ({may})")


def _check_targets(targets: list[Any], where: str) -> None:
    if len(targets) > MAX_REQUEST_TARGETS:
        raise ValueError(f"{where}: {len(targets):,} targets; a request may bring at most {MAX_REQUEST_TARGETS}")
    for index, target in enumerate(targets):
        if not isinstance(target, Mapping):
            raise ValueError(
                f"{where}[{index}]: must be a JSON object (one target), got {describe(target)} {quote(target)}"
            )
        problem = _not_plain_json(target)
        if problem:
            raise ValueError(f"{where}[{index}]: {problem}")


def _not_plain_json(value: Any) -> str | None:
    """What keeps a value from being stored as JSON as it is (deep, huge, cyclic, NaN, bytes...), or ``None``."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    seen = 0
    while pending:
        node, depth = pending.pop()
        seen += 1
        if seen > _MAX_TARGET_NODES:
            return f"more than {_MAX_TARGET_NODES:,} values in one target"
        if depth > _MAX_TARGET_DEPTH:
            return f"nested more than {_MAX_TARGET_DEPTH} levels deep"
        if isinstance(node, Mapping):
            for key, item in node.items():
                if not isinstance(key, str):
                    return f"a key must be text, got {describe(key)} {quote(key)}"
                pending.append((item, depth + 1))
        elif isinstance(node, list):
            pending.extend((item, depth + 1) for item in node)
        elif isinstance(node, float):
            if not math.isfinite(node):
                return f"must hold finite numbers only, got {node!r}"
        elif not (node is None or isinstance(node, str | int)):
            return f"must hold JSON values only, got {describe(node)} {quote(node)}"
    return None


def parse_request(document: Any, *, parameter_names: Collection[str], source: RequestSource) -> RequestDocument:
    """Check a request document, naming every bad field at once.

    A run's conf may give the report's parameters at its top level (the UI trigger form's shape) or
    in ``parameters`` (the intake's), not both for one name; any other top-level key is refused.

    :param document: the conf or the row's fields, as received (anything: ``None`` is an empty conf).
    :param parameter_names: the report's parameter names.
    :param source: ``conf`` (a DAG run's conf) or ``worktable`` (a worktable row's request fields).
    :raises RequestInvalid: with one ``<field>: <problem>`` line per bad field.
    """
    if source not in ("conf", "worktable"):
        raise ValueError(f"source must be 'conf' or 'worktable', not {source!r}")
    names = frozenset(parameter_names)
    try:
        return _parse(document, names, source)
    except RequestInvalid:
        raise
    except Exception as exc:  # whatever a caller sends, the answer is a refusal, never a crash
        raise RequestInvalid([f"{source}: cannot be read ({type(exc).__name__})"]) from None


def _parse(document: Any, names: frozenset[str], source: RequestSource) -> RequestDocument:
    if document is None:
        document = {}
    if not isinstance(document, Mapping):
        raise RequestInvalid(
            [f"{source}: must be a JSON object of request fields, got {describe(document)} {quote(document)}"]
        )
    fields = REQUEST_FIELDS if source == "worktable" else tuple(f for f in REQUEST_FIELDS if f != "report_id")
    # Past this many keys no request can be valid: one line says so, not one per key.
    most = len(fields) + MAX_PARAMETERS
    if len(document) > most:
        raise RequestInvalid([f"{source}: {len(document):,} keys; a request has at most {most}"])
    problems: list[str] = []
    given: dict[str, Any] = {}
    top_level: dict[str, Any] = {}
    for key, value in document.items():
        if isinstance(key, str) and key in fields:
            given[key] = value
        elif source == "conf" and isinstance(key, str) and key in names:
            top_level[key] = value
        else:
            problems.append(f"{_key(key)}: {_unknown(key, fields, names, source)}")
    nested = given.get("parameters")
    if isinstance(nested, Mapping) and len(nested) <= MAX_PARAMETERS:
        for key in nested:
            where = _key(key, "parameters")
            if not isinstance(key, str) or key not in names:
                problems.append(f"{where}: not a parameter of this report ({_listing(names)})")
            elif top_level.get(key) is not None:
                problems.append(f"{where}: also given at the top level as {key}; give it in one place")
    if top_level and (nested is None or isinstance(nested, Mapping)):
        # The UI form's shape: the values join the others and are checked like them.
        given["parameters"] = {**top_level, **(nested or {})}
    try:
        checked = RequestDocument.model_validate(given)
    except ValidationError as exc:
        problems.extend(_field_problems(exc, top_level))
    if problems:
        raise RequestInvalid(problems)
    return checked


def _field_problems(exc: ValidationError, top_level: Mapping[str, Any]) -> list[str]:
    lines = []
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        if loc and loc[-1] == "[key]":
            continue  # a key that is not text: already named
        if loc[:1] == ("parameters",) and len(loc) >= 2:
            # A value given at the top level is named where it was written.
            path = _key(loc[1]) if loc[1] in top_level else _key(loc[1], "parameters")
        else:
            path = str(loc[0]) if loc else "request"
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{path}{message}" if message.startswith((".", "[", ":")) else f"{path}: {message}")
    return lines


def _unknown(key: Any, fields: tuple[str, ...], names: frozenset[str], source: RequestSource) -> str:
    if not isinstance(key, str):
        return f"a key must be text, got {describe(key)}"
    known = f"not a request field ({', '.join(fields)})"
    if source == "worktable":
        return known
    return f"{known} nor a parameter of this report ({_listing(names)})"


def _listing(names: frozenset[str]) -> str:
    shown = sorted(names)
    more = f", … ({len(shown)} in all)" if len(shown) > _SHOWN_NAMES else ""
    return "parameters: " + (", ".join(shown[:_SHOWN_NAMES]) + more if shown else "none")


def _key(key: Any, prefix: str | None = None) -> str:
    """A key as a field path: ``parameters.region``, or ``parameters['odd key']`` when it is not a name.

    :param key: the key.
    :param prefix: the path it is under (``""`` for a continuation such as ``.mode``; ``None`` at the top).
    """
    if isinstance(key, str) and _KEY.fullmatch(key):
        return key if prefix is None else f"{prefix}.{key}"
    return f"{prefix or ''}[{quote(key)}]"
