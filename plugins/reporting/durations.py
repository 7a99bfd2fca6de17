"""Human-friendly durations for report definitions ("90s", "15m", "2h", "1d", 30, "PT15M")."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_SHORT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$", re.IGNORECASE)


def parse_duration(value: Any) -> Any:
    """Turn "15m"-style strings into a timedelta; leave everything else to pydantic.

    :param value: the raw YAML value (int/float seconds, "15m", ISO 8601 "PT15M", timedelta).
    """
    if isinstance(value, bool):
        # YAML `yes`/`no` would otherwise be read as 1/0 seconds.
        raise ValueError("a duration must be seconds or a string like '30s', '15m', '2h'")
    if isinstance(value, str):
        match = _SHORT.match(value)
        if match:
            return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2).lower()])
    return value


def _non_negative(value: timedelta) -> timedelta:
    if value < timedelta(0):
        raise ValueError("a duration cannot be negative")
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(_non_negative)]
"""A timedelta read from seconds, "30s"/"15m"/"2h"/"1d", or ISO 8601."""


def format_duration(value: timedelta) -> str:
    """Render a timedelta the way definitions write it ("15m", "90s").

    :param value: the duration to render.
    """
    seconds = value.total_seconds()
    for unit in ("d", "h", "m"):
        size = _UNITS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
