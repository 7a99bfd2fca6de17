"""A report's schedule as Airflow builds it: the one place a definition's schedule becomes a timetable.

The DAG factory builds each report's schedule here, and :func:`check_schedule` builds the same
timetable and puts it through what Airflow does with it (the DAG bag's validation, the
serialized form the scheduler reads, the first run time it computes), so ``make validate``, the
factory and the import check accept exactly the schedules the scheduler accepts.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any

import pendulum
from airflow.sdk.definitions.timetables.trigger import CronTriggerTimetable

from reporting.definition import Schedule
from reporting.definition.schedule import cron_problem
from reporting.limits import quote

ONCE = "@once"


def build_schedule(spec: Schedule | None) -> tuple[Any, pendulum.DateTime | None]:
    """The ``schedule`` and ``start_date`` of a report's DAG.

    :param spec: the definition's schedule; ``None`` for a report that runs on demand only.
    :returns: ``(None, None)``, ``("@once", start)`` or ``(CronTriggerTimetable, start)``; the start
        is midnight of ``start_date`` in the schedule's time zone.
    """
    if spec is None:
        return None, None
    start = pendulum.datetime(spec.start_date.year, spec.start_date.month, spec.start_date.day, tz=spec.timezone)
    if spec.cron == ONCE:
        return ONCE, start
    return CronTriggerTimetable(spec.cron, timezone=spec.timezone), start


def check_schedule(spec: Schedule) -> list[str]:
    """What Airflow refuses in a schedule, as ``schedule.<field>: <problem>`` lines (none when it is accepted).

    Builds the timetable the factory builds and validates it as the DAG bag does, converts it to
    the scheduler's own timetable through its serialized form, and computes the first run time,
    as the DAG processor does when it records the DAG. A cron expression that never fires
    (``0 0 31 2 *``) is refused as well as one Airflow cannot read (``*/0 * * * *``).

    :param spec: the definition's schedule.
    """
    # Many reports share a schedule; one parse checks each distinct one once.
    return list(_check(spec.cron, spec.timezone, spec.start_date, spec.catchup))


@lru_cache(maxsize=4096)
def _check(cron: str, timezone: str, start_date: date, catchup: bool) -> tuple[str, ...]:
    spec = Schedule(cron=cron, timezone=timezone, start_date=start_date, catchup=catchup)
    try:
        pendulum.timezone(spec.timezone)
    except Exception as exc:
        return (f"schedule.timezone: {quote(spec.timezone)} is not a time zone Airflow knows ({_reason(exc)})",)
    try:
        schedule, start = build_schedule(spec)
    except Exception as exc:
        return (f"schedule.start_date: {spec.start_date.isoformat()} cannot start a schedule ({_reason(exc)})",)
    if schedule == ONCE:
        return ()
    try:
        _as_the_scheduler_does(schedule, start, spec.catchup)
    except OverflowError as exc:  # a start at the edge of the calendar, moved to UTC
        return (f"schedule.start_date: {spec.start_date.isoformat()} cannot start a schedule ({_reason(exc)})",)
    except Exception as exc:
        # croniter's error for an expression no date matches (it ships no type stubs to import it by)
        if any(cls.__name__ == "CroniterBadDateError" for cls in type(exc).__mro__):
            return (f"schedule.cron: {quote(spec.cron)} never fires (Airflow finds no time it runs at)",)
        explained = cron_problem(spec.cron)
        detail = explained or f"Airflow's timetable refuses it: {_reason(exc)}"
        return (f"schedule.cron: {quote(spec.cron)}: {detail}",)
    return ()


def _as_the_scheduler_does(timetable: CronTriggerTimetable, start: pendulum.DateTime | None, catchup: bool) -> None:
    # Imported here: the scheduler's side of Airflow is needed to check a schedule, not to build one.
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import TimeRestriction

    timetable.validate()
    core = coerce_to_core_timetable(timetable)
    core.validate()
    core.next_dagrun_info(
        last_automated_data_interval=None, restriction=TimeRestriction(earliest=start, latest=None, catchup=catchup)
    )


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"
