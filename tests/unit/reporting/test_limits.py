"""The named bounds, and the short renderings error messages use for bad values."""

from __future__ import annotations

import time

import pytest

from reporting import limits
from reporting.limits import cap_problems, control_characters, describe, quote


def test_the_bounds_have_the_documented_values() -> None:
    assert limits.MAX_DEFINITION_BYTES == 262_144
    assert limits.MAX_PARAMETERS == 200
    assert limits.MAX_ALLOWED_VALUES == 1_000
    assert limits.MAX_DURATION.total_seconds() == 365 * 86_400
    assert limits.MAX_PATH_COMPONENT_BYTES == 255
    assert limits.MAX_REQUEST_ID_CHARS == 64
    assert limits.MAX_YAML_NODES <= limits.MAX_ALIAS_EXPANSION


def test_a_short_string_is_its_repr() -> None:
    assert quote("EMEA") == "'EMEA'"
    assert quote("a\x00b\x7f") == "'a\\x00b\\x7f'"


def test_a_long_string_shows_a_prefix_an_ellipsis_and_its_length() -> None:
    assert quote("a" * 2_000_000) == "'" + "a" * 60 + "…' (2,000,000 chars)"
    assert quote("abcdefgh", limit=3) == "'abc…' (8 chars)"


def test_a_long_bytes_value_counts_bytes() -> None:
    assert quote(b"x" * 100, limit=2) == "b'xx…' (100 bytes)"


def test_control_characters_in_a_prefix_stay_escaped() -> None:
    text = quote("\n" * 1000, limit=5)
    assert "\n" not in text
    assert text == "'\\n\\n\\n\\n\\n…' (1,000 chars)"


@pytest.mark.parametrize(("value", "expected"), [(None, "None"), (True, "True"), (1.5, "1.5"), (42, "42")])
def test_scalars_are_their_repr(value: object, expected: str) -> None:
    assert quote(value) == expected


def test_an_integer_too_long_to_print_is_described() -> None:
    started = time.perf_counter()
    assert quote(10**100_000) == "<an integer of about 100,001 digits>"
    assert time.perf_counter() - started < 0.5


def test_a_long_list_shows_its_first_items_and_its_size() -> None:
    text = quote(list(range(1_000_000)))
    assert text.startswith("[0, 1, 2, 3, 4, 5, ...]")
    assert text.endswith("(1,000,000 items)")


def test_nested_and_recursive_values_are_bounded() -> None:
    deep: list[object] = []
    node = deep
    for _ in range(10_000):
        child: list[object] = []
        node.append(child)
        node = child
    recursive: list[object] = []
    recursive.append(recursive)
    assert len(quote(deep)) < 100
    assert len(quote(recursive)) < 100
    assert len(quote({"k" * 10_000: "v" * 10_000})) < 300


def test_a_value_whose_repr_fails_is_named_by_its_type() -> None:
    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    assert "Hostile" in quote(Hostile())


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "null"),
        (True, "a boolean"),
        (3, "an integer"),
        (3.0, "a number"),
        ("x", "a string"),
        ({}, "an object"),
        ([], "a list"),
        (b"", "a bytes"),
    ],
)
def test_describe_names_the_json_kind(value: object, expected: str) -> None:
    assert describe(value) == expected


def test_control_characters_are_listed_once_each_in_code_point_order() -> None:
    assert control_characters("ok text, é, 日本") == []
    assert control_characters("a\x7fb\x00\n\x7f") == ["U+0000", "U+000A", "U+007F"]
    assert control_characters("\u202etxt.exe\u2066\u2028\x85") == ["U+0085", "U+2028", "U+202E", "U+2066"]


def test_cap_problems_keeps_the_first_and_counts_the_rest() -> None:
    lines = [f"f{i}: bad" for i in range(25)]
    assert cap_problems(lines[:20]) == lines[:20]
    assert cap_problems(lines) == [*lines[:20], "… and 5 more problems"]
    assert cap_problems(lines, limit=2) == ["f0: bad", "f1: bad", "… and 23 more problems"]
