"""Reading JSON columns never raises: text that is not JSON comes back as that text, marked."""

from __future__ import annotations

import pytest

from hooks.sql_dialect import UnreadableJson, _text, json_as_text, read_json


@pytest.mark.parametrize(
    ("stored", "value"),
    [
        ('{"region": "EMEA"}', {"region": "EMEA"}),
        ('"/etc"', "/etc"),
        ("[1, 2]", [1, 2]),
        (None, None),
        ({"a": 1}, {"a": 1}),
    ],
)
def test_json_is_read_once(stored, value):
    assert read_json(stored) == value
    assert not isinstance(read_json(stored), UnreadableJson)


@pytest.mark.parametrize(
    ("stored", "text"),
    [
        ('{"region": ', '{"region": '),
        ("region=EMEA", "region=EMEA"),
        (b"\xff\xfe not utf-8", "\ufffd\ufffd not utf-8"),
        ("[" * 5_000 + "]" * 5_000, "[" * 5_000 + "]" * 5_000),
    ],
    ids=["cut-short", "not-json", "not-utf8", "too-deep"],
)
def test_text_that_is_not_json_comes_back_as_unreadable_text(stored, text):
    value = read_json(stored)
    assert isinstance(value, UnreadableJson) and value == text


def test_postgres_json_comes_back_as_text_and_other_drivers_are_left_alone():
    assert _text(b'{"a": 1}') == '{"a": 1}' and _text('"/etc"') == '"/etc"'

    class NotPsycopg:
        pass

    json_as_text(NotPsycopg())  # nothing to set on a driver that returns text already
