"""Tests for human-friendly durations ("30s", "15m", "2h", "1d", seconds, ISO 8601)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from reporting.durations import Duration, format_duration, parse_duration

DURATION = TypeAdapter(Duration)


def error_text(value: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        DURATION.validate_python(value)
    [error] = caught.value.errors()
    return error["msg"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("90s", timedelta(seconds=90)),
        ("1.5h", timedelta(minutes=90)),
        ("0.5s", timedelta(milliseconds=500)),
        ("0s", timedelta(0)),
        ("15M", timedelta(minutes=15)),
        ("2H", timedelta(hours=2)),
        (" 2 h ", timedelta(hours=2)),
        (30, timedelta(seconds=30)),
        (0, timedelta(0)),
        (1.5, timedelta(seconds=1.5)),
        ("PT15M", timedelta(minutes=15)),
        ("PT1H30M", timedelta(minutes=90)),
        ("P1D", timedelta(days=1)),
        ("PT0S", timedelta(0)),
        (timedelta(minutes=5), timedelta(minutes=5)),
    ],
)
def test_accepted_durations(value: Any, expected: timedelta) -> None:
    assert DURATION.validate_python(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
    ],
)
def test_parse_duration_turns_short_forms_into_timedeltas(value: str, expected: timedelta) -> None:
    assert parse_duration(value) == expected


@pytest.mark.parametrize("value", [30, 1.5, "PT15M", "soon", None, timedelta(seconds=3)])
def test_parse_duration_leaves_other_values_to_pydantic(value: Any) -> None:
    assert parse_duration(value) is value


@pytest.mark.parametrize("value", [True, False])
def test_booleans_are_rejected(value: bool) -> None:
    # YAML `yes`/`no` would otherwise become 1 s / 0 s
    with pytest.raises(ValueError, match="a duration must be seconds or a string like '30s', '15m', '2h'"):
        parse_duration(value)
    assert "a duration must be seconds or a string like" in error_text(value)


@pytest.mark.parametrize("value", [-1, -0.5, "-PT5M", "-P1D", timedelta(seconds=-1)])
def test_negative_durations_are_rejected(value: Any) -> None:
    assert error_text(value) == "Value error, a duration cannot be negative"


def test_negative_short_form_is_rejected() -> None:
    # not matched by the short form; pydantic refuses it as text
    assert "valid timedelta" in error_text("-5s")


@pytest.mark.parametrize("value", ["soon", "10x", "1w", "15 minutes", "m", "", "1h30m", [1], {"s": 1}])
def test_garbage_is_rejected(value: Any) -> None:
    with pytest.raises(ValidationError):
        DURATION.validate_python(value)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(seconds=1), "1s"),
        (timedelta(seconds=59), "59s"),
        (timedelta(seconds=90), "90s"),
        (timedelta(seconds=1.5), "1.5s"),
        (timedelta(milliseconds=250), "0.25s"),
        (timedelta(minutes=1), "1m"),
        (timedelta(minutes=15), "15m"),
        (timedelta(minutes=90), "90m"),
        (timedelta(hours=1), "1h"),
        (timedelta(hours=25), "25h"),
        (timedelta(days=1), "1d"),
        (timedelta(days=2), "2d"),
        (timedelta(days=1, seconds=1), "86401s"),
    ],
)
def test_format_duration(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


@pytest.mark.parametrize(
    "value",
    [
        timedelta(0),
        timedelta(seconds=90),
        timedelta(seconds=1.5),
        timedelta(minutes=15),
        timedelta(hours=25),
        timedelta(days=3),
    ],
)
def test_format_then_parse_round_trips(value: timedelta) -> None:
    assert DURATION.validate_python(format_duration(value)) == value
