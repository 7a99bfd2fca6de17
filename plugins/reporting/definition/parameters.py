"""Run parameters: their types, how supplied values are coerced, and the names a parameter may not take."""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from reporting.definition.base import DefinitionModel
from reporting.errors import ProblemsError
from reporting.limits import MAX_ALLOWED_VALUES, MAX_NUMBER_CHARS, quote

ParameterType = Literal["string", "integer", "number", "boolean", "date", "datetime"]

# conf keys a request carries beside the report's own parameters
RESERVED_CONF_KEYS = frozenset({"request_id", "parameters", "distribution", "priority", "trigger_type", "requested_by"})


def _coerce(kind: ParameterType, value: Any) -> Any:
    """Coerce one value to a parameter type, or raise ValueError saying what was expected."""
    if kind == "string":
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
    elif kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return _bounded_int(value)
        if isinstance(value, str) and len(value) <= MAX_NUMBER_CHARS and re.fullmatch(r"[+-]?\d+", value.strip()):
            return _bounded_int(int(value))
    elif kind == "number":
        if isinstance(value, int) and not isinstance(value, bool):
            return _bounded_int(value)
        if isinstance(value, float):
            return _finite(value)
        if isinstance(value, str) and len(value) <= MAX_NUMBER_CHARS:
            try:
                number = float(value)
            except ValueError:
                pass
            else:
                return _finite(number)
    elif kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "false"}:
            return value.lower() == "true"
    elif kind == "date":
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
    elif kind == "datetime":
        if isinstance(value, datetime):
            return value
        if isinstance(value, date):
            # YAML reads an unquoted 2026-01-01 as a date; as a datetime it means midnight.
            return datetime(value.year, value.month, value.day)
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                pass
    article = "an" if kind[0] in "aeiou" else "a"
    raise ValueError(f"expected {article} {kind}, got {quote(value)}")


def _bounded_int(value: int) -> int:
    # 2**332 has 100 digits: anything longer is no report parameter, and slow to print
    if value.bit_length() > 332:
        raise ValueError(f"{quote(value)} has more than {MAX_NUMBER_CHARS} digits")
    return value


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {quote(value)}")
    return value


class ParameterSpec(DefinitionModel):
    """One run parameter: shown in the Airflow trigger form and bound into the query.

    :param type: string, integer, number, boolean, date or datetime.
    :param default: the value used when a run does not give one.
    :param required: a run must supply a value (or the default applies).
    :param allowed_values: the only values accepted, shown as a drop-down.
    :param description: help text in the trigger form.
    """

    # Field order matters: each validator below reads the fields declared before it.
    type: ParameterType = "string"
    allowed_values: list[Any] | None = Field(default=None, min_length=1, max_length=MAX_ALLOWED_VALUES)
    default: Any = None
    required: bool = False
    description: str = ""

    @field_validator("allowed_values")
    @classmethod
    def _typed_allowed_values(cls, values: list[Any] | None, info: ValidationInfo) -> list[Any] | None:
        if values is None or "type" not in info.data:
            return values
        coerced = []
        for index, value in enumerate(values):
            try:
                coerced.append(_coerce(info.data["type"], value))
            except ValueError as exc:
                raise ValueError(f"item {index}: {exc}") from None
        return coerced

    @field_validator("default")
    @classmethod
    def _typed_default(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None or "type" not in info.data:
            return value
        coerced = _coerce(info.data["type"], value)
        allowed = info.data.get("allowed_values")
        if allowed is not None and coerced not in allowed:
            raise ValueError(f"{quote(value)} is not one of the allowed values {quote(allowed)}")
        return coerced

    def coerce(self, value: Any) -> Any:
        """Coerce and check one supplied value.

        :param value: the raw value from YAML, the trigger form or a request's conf.
        """
        coerced = _coerce(self.type, value)
        if self.allowed_values is not None and coerced not in self.allowed_values:
            raise ValueError(f"{quote(value)} is not one of the allowed values {quote(self.allowed_values)}")
        return coerced


class InvalidParameters(ProblemsError):
    """A run's parameters do not fit the definition; ``problems`` names each field."""
