"""When a report runs on its own: a cron expression or preset, read in a time zone.

The model checks only the form (a preset, or five fields); whether Airflow accepts the expression
is decided by Airflow's own timetable code, which the DAG factory, ``make validate`` and the import
check run on every schedule (``report_runtime.schedules.check_schedule``). :func:`cron_problem`
explains, field by field, an expression Airflow refuses.
"""

from __future__ import annotations

import re
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator

from reporting.definition.base import DefinitionModel
from reporting.limits import control_characters, quote

MAX_CRON_CHARS = 100
"""The longest cron expression a schedule may hold."""

PRESETS = frozenset({"@once", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly", "@annually"})
# minute, hour, day of month, month, day of week
_CRON_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_CRON_FIELD = re.compile(r"^(\*|\?|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/\d+)?$")
# the only words a field may hold: month and weekday names, and 'L' (last day of the month)
_CRON_NAMES: tuple[frozenset[str], ...] = (
    frozenset(),
    frozenset(),
    frozenset({"L"}),
    frozenset({"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}),
    frozenset({"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}),
)


def _check_form(expr: str) -> None:
    if len(expr) > MAX_CRON_CHARS:
        raise ValueError(f"{quote(expr)} is longer than {MAX_CRON_CHARS} characters")
    if control_characters(expr.replace("\t", " ")):
        raise ValueError(f"{quote(expr)} contains control characters")
    if len(expr.split()) != 5:
        raise ValueError(
            f"{quote(expr)} is neither a preset ({', '.join(sorted(PRESETS))}) nor a 5-field cron expression"
        )


def cron_problem(expr: str) -> str | None:
    """Which field of a 5-field cron expression is malformed or out of range, if one can be named.

    An explanation for people, not the rule: Airflow's timetable decides what it accepts (it also
    takes forms this does not know, such as ``MON#2``).

    :param expr: the expression.
    """
    fields = expr.split()
    if len(fields) != 5:
        return None
    for text, (low, high), names, label in zip(
        fields, _CRON_BOUNDS, _CRON_NAMES, ("minute", "hour", "day of month", "month", "day of week"), strict=True
    ):
        for part in text.split(","):
            if not _CRON_FIELD.match(part) or any(
                not word.isdigit() and word.upper() not in names for word in re.findall(r"[0-9A-Za-z]+", part)
            ):
                return f"cron {label} field {quote(text)} is malformed"
            for number in re.findall(r"(?<![/\d])\d+", part):
                if not low <= int(number) <= high:
                    return f"cron {label} value {number} is outside {low}-{high}"
            step = re.search(r"/(\d+)$", part)
            if step and int(step.group(1)) == 0:
                return f"cron {label} field {quote(text)} has a step of 0"
    return None


class Schedule(DefinitionModel):
    """When the report runs on its own.

    :param cron: a 5-field cron expression or a preset such as ``@daily``.
    :param timezone: the IANA time zone the cron is read in.
    :param start_date: the first date the schedule may fire.
    :param catchup: run the intervals missed since ``start_date``.
    """

    cron: str
    timezone: str = "UTC"
    start_date: date = date(2024, 1, 1)
    catchup: bool = False

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        if value not in PRESETS:
            _check_form(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {quote(value)} (use an IANA name such as Europe/London)") from None
        return value
