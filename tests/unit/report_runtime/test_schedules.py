"""A report's schedule as Airflow builds it, and the check that accepts exactly what the scheduler accepts."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from croniter import croniter

from report_runtime.schedules import build_schedule, check_schedule
from reporting.definition import PRESETS, Schedule
from reporting.loader import load_definitions

MINIMAL: dict[str, Any] = {
    "title": "Weekly sales",
    "owner": "bi-team",
    "engine": {"type": "sql", "conn_id": "warehouse", "sql": "report.sql"},
    "formats": ["csv"],
    "distribution": [{"type": "local", "path": "/srv/reports"}],
}


def test_a_report_without_schedule_runs_on_demand_only() -> None:
    assert build_schedule(None) == (None, None)


def test_once_starts_at_midnight_of_the_start_date_in_the_time_zone() -> None:
    schedule, start = build_schedule(Schedule(cron="@once", timezone="Asia/Tokyo", start_date=date(2026, 3, 1)))
    assert schedule == "@once"
    assert start.isoformat() == "2026-03-01T00:00:00+09:00"


def test_a_cron_becomes_a_trigger_timetable_in_the_time_zone() -> None:
    schedule, start = build_schedule(Schedule(cron="30 6 * * 1-5", timezone="Europe/London"))
    assert type(schedule).__name__ == "CronTriggerTimetable"
    assert (schedule.expression, str(schedule.timezone)) == ("30 6 * * 1-5", "Europe/London")
    assert start is not None and start.year == 2024


@pytest.mark.parametrize(
    ("cron", "problem"),
    [
        ("*/0 * * * *", "schedule.cron: '*/0 * * * *': cron minute field '*/0' has a step of 0"),
        ("61 * * * *", "schedule.cron: '61 * * * *': cron minute value 61 is outside 0-59"),
        ("0 0 * * 5L", "schedule.cron: '0 0 * * 5L': cron day of week field '5L' is malformed"),
        ("0 0 31 2 *", "schedule.cron: '0 0 31 2 *' never fires (Airflow finds no time it runs at)"),
        ("0 0 30 2 *", "schedule.cron: '0 0 30 2 *' never fires (Airflow finds no time it runs at)"),
    ],
)
def test_what_airflow_refuses_is_refused_naming_schedule_cron(cron: str, problem: str) -> None:
    assert check_schedule(Schedule(cron=cron)) == [problem]


@pytest.mark.parametrize(
    "cron",
    [
        *sorted(PRESETS),
        "0 6 * * 1-5",
        "*/15 * * * *",
        "0-59/5 0-23/2 1,15 * *",
        "0 9 * JAN-MAR MON-FRI",
        "0 0 L * *",
        "0 0 * * MON#2",  # the second Monday: Airflow takes it, so we do
        "0 0 * * 1#2",
        "59 23 31 12 7",
        "*/70 * * * *",
    ],
)
def test_what_airflow_accepts_is_accepted(cron: str) -> None:
    assert check_schedule(Schedule(cron=cron, timezone="Europe/London")) == []


@pytest.mark.parametrize(
    "cron",
    [
        "*/0 * * * *",
        "0 */0 * * *",
        "61 * * * *",
        "0 6 * * 1-5",
        "0 0 * * MON#2",
        "0 0 * * 5L",
        "0 0 31 2 *",
        "0 0 29 2 *",
        "1-0 * * * *",
        "0 0 ? * *",
        "abc * * * *",
        "0 0 L * *",
    ],
)
def test_the_check_agrees_with_croniter_which_the_scheduler_runs(cron: str) -> None:
    try:
        croniter(cron).get_next()
        croniter(cron).get_prev()
        scheduler_accepts = True
    except Exception:
        scheduler_accepts = False
    assert (check_schedule(Schedule(cron=cron)) == []) is scheduler_accepts


def test_a_start_date_at_the_edge_of_the_calendar_is_named() -> None:
    [problem] = check_schedule(Schedule(cron="@daily", timezone="Asia/Tokyo", start_date=date(1, 1, 1)))
    assert problem.startswith("schedule.start_date: 0001-01-01 cannot start a schedule")


# --- through the loader ---------------------------------------------------------------------------------


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    reports, sql = tmp_path / "reports", tmp_path / "sql"
    reports.mkdir()
    sql.mkdir()
    (sql / "report.sql").write_text("SELECT 1")
    return reports, sql


def _write(folder: Path, name: str, **changes: Any) -> None:
    data = copy.deepcopy(MINIMAL)
    data.update(changes)
    (folder / name).write_text(yaml.safe_dump(data))


def test_the_loader_with_airflows_check_names_the_file_and_schedule_cron(folders: tuple[Path, Path]) -> None:
    reports, sql = folders
    _write(reports, "zero_step.yaml", schedule={"cron": "*/0 * * * *"})
    _write(reports, "good.yaml", schedule={"cron": "0 6 * * MON#2"})
    without = load_definitions(reports, sql)
    assert [d.id for d in without.definitions] == ["good", "zero_step"]  # the form alone is fine
    result = load_definitions(reports, sql, check_schedule=check_schedule)
    assert [d.id for d in result.definitions] == ["good"]
    assert result.error_text() == (
        f"{reports / 'zero_step.yaml'}: schedule.cron: '*/0 * * * *': cron minute field '*/0' has a step of 0"
    )


def test_a_bad_schedule_is_listed_beside_the_other_problems(folders: tuple[Path, Path]) -> None:
    reports, sql = folders
    _write(reports, "two.yaml", schedule={"cron": "0 0 31 2 *"}, priority=0)
    [error] = load_definitions(reports, sql, check_schedule=check_schedule).errors
    assert error.messages == (
        "priority: input should be greater than or equal to 1",
        "schedule.cron: '0 0 31 2 *' never fires (Airflow finds no time it runs at)",
    )


def test_a_failing_check_is_one_problem_of_the_file(folders: tuple[Path, Path]) -> None:
    reports, sql = folders
    _write(reports, "one.yaml", schedule={"cron": "@daily"})

    def broken(schedule: Schedule) -> list[str]:
        raise RuntimeError("the check itself failed")

    [error] = load_definitions(reports, sql, check_schedule=broken).errors
    assert error.messages == ("schedule: could not be checked: RuntimeError: the check itself failed",)
