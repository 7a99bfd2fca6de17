"""Human-friendly durations for report definitions ("90s", "15m", "2h", "1d", 30, "PT15M")."""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

from reporting.limits import MAX_DURATION, quote

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_SHORT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$", re.IGNORECASE)
_MAX_DAYS = MAX_DURATION.days


def parse_duration(value: Any) -> Any:
    """Turn "15m"-style strings into a timedelta; leave everything else to pydantic.

    :param value: the raw YAML value (int/float seconds, "15m", ISO 8601 "PT15M", timedelta).
    """
    if isinstance(value, bool):
        # YAML `yes`/`no` would otherwise be read as 1/0 seconds.
        raise ValueError("a duration must be seconds or a string like '30s', '15m', '2h'")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"a duration must be a finite number of seconds, got {value!r}")
    if isinstance(value, str):
        match = _SHORT.match(value)
        if match:
            # float() of a long digit string is infinity, never an error; checked before timedelta
            # is built, which would overflow.
            seconds = float(match.group(1)) * _UNITS[match.group(2).lower()]
            if seconds > MAX_DURATION.total_seconds():
                raise ValueError(_too_long(value))
            return timedelta(seconds=seconds)
    return value


def _in_range(value: timedelta) -> timedelta:
    if value < timedelta(0):
        raise ValueError("a duration cannot be negative")
    if value > MAX_DURATION:
        raise ValueError(_too_long(format_duration(value)))
    return value


def _too_long(written: object) -> str:
    return f"{quote(written)} is longer than {_MAX_DAYS} days, the longest duration a definition may set"


Duration = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(_in_range)]
"""A timedelta from 0 to 365 days, read from seconds, "30s"/"15m"/"2h"/"1d", or ISO 8601."""


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
