"""A request is one validated document: known keys only, types checked, every bad field named, never a crash."""

from __future__ import annotations

import json
import math
import random
import re
import time
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

import pytest

from reporting.request import RequestDocument, RequestInvalid, parse_request

NAMES = ("region", "start_date")


def _deep(depth: int) -> list[Any]:
    root: list[Any] = []
    node = root
    for _ in range(depth):
        child: list[Any] = []
        node.append(child)
        node = child
    return root


def _recursive() -> dict[str, Any]:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    return loop


def conf(document: Any) -> RequestDocument:
    return parse_request(document, parameter_names=NAMES, source="conf")


def problems(document: Any, source: str = "conf") -> list[str]:
    with pytest.raises(RequestInvalid) as caught:
        parse_request(document, parameter_names=NAMES, source=source)  # type: ignore[arg-type]
    return caught.value.problems


# --- what is taken ---------------------------------------------------------------------------------------


def test_no_conf_is_an_empty_request() -> None:
    assert conf(None) == RequestDocument()
    assert conf({}) == RequestDocument()


def test_the_intakes_shape_is_taken_as_it_is() -> None:
    document = {
        "request_id": "REQ-2026-0042",
        "parameters": {"region": "EMEA", "start_date": "2026-06-01"},
        "distribution": [{"type": "local", "path": "/srv/out"}],
        "priority": 8,
        "trigger_type": "ADHOC",
        "requested_by": "finance-app",
    }
    assert conf(document).model_dump() == {**document, "report_id": None}


def test_the_ui_forms_shape_puts_top_level_values_with_the_parameters() -> None:
    assert conf({"region": "EMEA", "start_date": date(2026, 6, 1)}).parameters == {
        "region": "EMEA",
        "start_date": date(2026, 6, 1),
    }
    assert conf({"region": "EMEA", "parameters": {"start_date": "2026-06-01"}}).parameters == {
        "region": "EMEA",
        "start_date": "2026-06-01",
    }


def test_a_worktable_row_names_its_report() -> None:
    row = {"request_id": "R1", "report_id": "sales_summary", "parameters": {"region": "APAC"}, "priority": 5}
    document = parse_request(row, parameter_names=NAMES, source="worktable")
    assert (document.report_id, document.parameters, document.priority) == ("sales_summary", {"region": "APAC"}, 5)


@pytest.mark.parametrize("value", [None, ""])
def test_empty_optional_fields_mean_not_given(value: Any) -> None:
    document = conf({"request_id": value, "requested_by": value, "trigger_type": value, "parameters": None})
    assert document == RequestDocument()


def test_a_caller_may_say_api_or_adhoc_in_any_case() -> None:
    assert conf({"trigger_type": "api"}).trigger_type == "API"
    assert conf({"trigger_type": "ADHOC"}).trigger_type == "ADHOC"


@pytest.mark.parametrize("distribution", [[], {}, None])
def test_an_empty_distribution_means_the_definitions_own(distribution: Any) -> None:
    assert conf({"distribution": distribution}).distribution is None


def test_both_distribution_shapes_are_kept_as_given() -> None:
    targets = [{"type": "email", "to": ["a@example.com"]}]
    assert conf({"distribution": targets}).distribution == targets
    assert conf({"distribution": {"mode": "replace", "targets": targets}}).distribution == {
        "mode": "replace",
        "targets": targets,
    }


def test_priority_bounds_are_inclusive() -> None:
    assert conf({"priority": 1}).priority == 1
    assert conf({"priority": 10}).priority == 10


def test_a_request_id_of_64_characters_is_taken() -> None:
    assert conf({"request_id": "R" * 64}).request_id == "R" * 64
    assert conf({"request_id": "7f1c1d1e-55a4-4c1f-9d0f-6d1b0c2a9e41"}).request_id


# --- what is refused, naming the field ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"priority": "high"}, "priority: must be an integer from 1 to 10, got 'high'"),
        ({"priority": 999}, "priority: must be an integer from 1 to 10, got 999"),
        ({"priority": 0}, "priority: must be an integer from 1 to 10, got 0"),
        ({"priority": True}, "priority: must be an integer from 1 to 10, got True"),
        ({"priority": 8.0}, "priority: must be an integer from 1 to 10, got 8.0"),
        ({"request_id": "R" * 65}, "request_id: longer than 64 characters: '" + "R" * 60 + "…' (65 chars)"),
        (
            {"request_id": "../etc/passwd"},
            "request_id: '../etc/passwd' may hold only letters, digits and _ . : - (starting with a letter or digit)",
        ),
        ({"request_id": "a/b"}, "request_id: 'a/b' may hold only letters, digits and _ . : - (starting with"),
        ({"request_id": ".."}, "request_id: '..' may hold only letters"),
        ({"request_id": 42}, "request_id: must be a string, got an integer 42"),
        (
            {"trigger_type": "SCHEDULED"},
            "trigger_type: 'SCHEDULED' is set from the run, never by a caller (a caller may say API or ADHOC)",
        ),
        ({"trigger_type": "retry"}, "trigger_type: 'retry' is set from the run, never by a caller"),
        ({"trigger_type": "MANUAL"}, "trigger_type: 'MANUAL' is set from the run, never by a caller"),
        ({"trigger_type": "TEST"}, "trigger_type: 'TEST' is set from the run, never by a caller"),
        ({"trigger_type": "HACK"}, "trigger_type: 'HACK' is not a trigger type a caller may give (API or ADHOC)"),
        ({"trigger_type": ["API"]}, "trigger_type: must be a string, got a list ['API']"),
        ({"requested_by": {"name": "x"}}, "requested_by: must be a string, got an object {'name': 'x'}"),
        ({"requested_by": "me\r\nyou"}, "requested_by: 'me\\r\\nyou' contains control or direction-changing"),
        ({"requested_by": "x" * 201}, "requested_by: longer than 200 characters"),
        (
            {"parameters": "region=APAC"},
            "parameters: must be a JSON object of parameter values, got a string 'region=APAC'",
        ),
        ({"parameters": ["region"]}, "parameters: must be a JSON object of parameter values, got a list"),
        (
            {"distribution": "/etc"},
            'distribution: must be a list of targets or {"mode": "add" | "replace", "targets": [...]}, '
            "got a string '/etc'",
        ),
        ({"distribution": 5}, "distribution: must be a list of targets or"),
        ({"distribution": ["/etc"]}, "distribution[0]: must be a JSON object (one target), got a string '/etc'"),
        ({"distribution": {"mode": "merge", "targets": [{}]}}, "distribution.mode: 'merge' is neither"),
        ({"distribution": {"targets": "x"}}, "distribution.targets: a non-empty list of targets is required"),
        ({"distribution": {"mode": "add"}}, "distribution.targets: a non-empty list of targets is required, got null"),
        ({"distribution": {"targets": [{}, 3]}}, "distribution.targets[1]: must be a JSON object (one target)"),
        ({"distribution": {"targets": [{}], "path": "/"}}, "distribution.path: unknown field (use mode and targets)"),
        ({"distribution": [{}] * 51}, "distribution: 51 targets; a request may bring at most 50"),
        ({"region": float("nan")}, "region: must be a finite number, got nan"),
        ({"parameters": {"region": math.inf}}, "parameters.region: must be a finite number, got inf"),
        ({"region": {"a": 1}}, "region: must be a single value (text, a number, true or false), got an object"),
        ({"region": "x" * 1_001}, "region: longer than 1,000 characters: '" + "x" * 60 + "…' (1,001 chars)"),
        ({"region": 2**63}, "region: must be an integer a database can hold (64 bits), got 9223372036854775808"),
        ({"region": 10**5000}, "region: must be an integer a database can hold (64 bits), got <an integer of about"),
        ({"distribution": [{"to": [float("nan")]}]}, "distribution[0]: must hold finite numbers only, got nan"),
        ({"distribution": [{"to": b"x"}]}, "distribution[0]: must hold JSON values only, got a bytes b'x'"),
        ({"distribution": [{"to": {1: "x"}}]}, "distribution[0]: a key must be text, got an integer 1"),
        ({"distribution": [{"to": _deep(50)}]}, "distribution[0]: nested more than 10 levels deep"),
        ({"distribution": [{"to": list(range(20_000))}]}, "distribution[0]: more than 10,000 values in one target"),
        ({"distribution": {"targets": [_recursive()]}}, "distribution.targets[0]: nested more than 10 levels deep"),
    ],
)
def test_each_bad_field_is_refused_with_a_line_naming_it(document: dict[str, Any], expected: str) -> None:
    [line] = problems(document)
    assert line.startswith(expected)


def test_a_misspelled_top_level_parameter_is_refused_not_ignored() -> None:
    assert problems({"regoin": "EMEA"}) == [
        "regoin: not a request field (request_id, parameters, distribution, priority, requested_by, trigger_type)"
        " nor a parameter of this report (parameters: region, start_date)"
    ]


def test_an_unknown_name_inside_parameters_is_refused() -> None:
    assert problems({"parameters": {"regoin": "EMEA"}}) == [
        "parameters.regoin: not a parameter of this report (parameters: region, start_date)"
    ]


def test_a_parameter_given_in_both_places_names_both() -> None:
    assert problems({"region": "EMEA", "parameters": {"region": "APAC"}}) == [
        "parameters.region: also given at the top level as region; give it in one place"
    ]


def test_a_null_at_the_top_level_does_not_clash_with_a_value_in_parameters() -> None:
    assert conf({"region": None, "parameters": {"region": "APAC"}}).parameters == {"region": "APAC"}


def test_report_id_is_a_worktable_field_not_a_conf_one() -> None:
    [line] = problems({"report_id": "sales_summary"})
    assert line.startswith("report_id: not a request field")
    assert parse_request({"report_id": "sales_summary"}, parameter_names=(), source="worktable")


def test_a_worktable_row_has_no_top_level_parameters() -> None:
    assert problems({"region": "EMEA"}, source="worktable") == [
        "region: not a request field (request_id, report_id, parameters, distribution, priority, requested_by,"
        " trigger_type)"
    ]
    [line] = problems({"report_id": "Sales Summary"}, source="worktable")
    assert line == "report_id: 'Sales Summary' is not a report id (a-z first, then a-z, 0-9 and _; at most 100)"


def test_every_bad_field_is_listed_not_only_the_first() -> None:
    found = problems(
        {
            "bogus": 1,
            "priority": "high",
            "trigger_type": "SCHEDULED",
            "requested_by": {},
            "parameters": {"region": ["x"], "nope": 1},
            "request_id": "a b",
            "distribution": "/etc",
        }
    )
    assert [line.split(":")[0] for line in found] == [
        "bogus",
        "parameters.nope",
        "request_id",
        "parameters.region",
        "distribution",
        "priority",
        "requested_by",
        "trigger_type",
    ]


def test_the_message_lists_at_most_twenty_problems_and_counts_the_rest() -> None:
    document = {f"unknown_{i}": i for i in range(50)}
    with pytest.raises(RequestInvalid) as caught:
        conf(document)
    assert len(caught.value.problems) == 50
    shown = str(caught.value).split("; ")
    assert len(shown) == 21 and shown[-1] == "… and 30 more problems"


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ([], "conf: must be a JSON object of request fields, got a list []"),
        ("region=EMEA", "conf: must be a JSON object of request fields, got a string 'region=EMEA'"),
        (42, "conf: must be a JSON object of request fields, got an integer 42"),
        (b"{}", "conf: must be a JSON object of request fields, got a bytes b'{}'"),
    ],
)
def test_a_document_that_is_not_an_object_is_refused(document: Any, expected: str) -> None:
    assert problems(document) == [expected]


def test_keys_that_are_not_names_are_quoted_short() -> None:
    found = problems({"k" * 100_000: 1, 7: 2, "parameters": {"a b": 1}})
    assert found == [
        "['" + "k" * 60 + "…' (100,000 chars)]: not a request field (request_id, parameters, distribution, priority,"
        " requested_by, trigger_type) nor a parameter of this report (parameters: region, start_date)",
        "[7]: a key must be text, got an integer",
        "parameters['a b']: not a parameter of this report (parameters: region, start_date)",
    ]


def test_a_huge_document_is_refused_in_one_line_fast() -> None:
    # built before the clock starts: building a million-key dict is not what is timed
    huge_conf = {f"k{i}": i for i in range(1_000_000)}
    huge_parameters = {"parameters": {f"k{i}": i for i in range(100_000)}}
    started = time.perf_counter()
    assert problems(huge_conf) == ["conf: 1,000,000 keys; a request has at most 206"]
    assert problems(huge_parameters) == ["parameters: 100,000 values; a report has at most 200 parameters"]
    assert time.perf_counter() - started < 2


def test_a_report_with_many_parameters_lists_ten_of_them() -> None:
    names = [f"p{i:03}" for i in range(200)]
    with pytest.raises(RequestInvalid) as caught:
        parse_request({"nope": 1}, parameter_names=names, source="conf")
    assert caught.value.problems[0].endswith(
        "(parameters: p000, p001, p002, p003, p004, p005, p006, p007, p008, p009, … (200 in all))"
    )


def test_an_unknown_source_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="source must be 'conf' or 'worktable'"):
        parse_request({}, parameter_names=(), source="rest")  # type: ignore[arg-type]


# --- whatever it is given: a document or a RequestInvalid, nothing else ------------------------------------------


class ExplodingMapping(Mapping[str, Any]):
    """A mapping that fails when read."""

    def __getitem__(self, key: str) -> Any:
        raise RuntimeError("boom")

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("boom")

    def __len__(self) -> int:
        return 1


class ExplodingRepr:
    def __repr__(self) -> str:
        raise RuntimeError("boom")


HOSTILE_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    10**100_000,
    1e308,
    float("nan"),
    float("-inf"),
    "",
    " ",
    "x" * 2_000_000,
    "\x00\x7f\r\n\u202e",
    b"\xff",
    [],
    {},
    set(),
    (1, 2),
    _deep(10_000),
    _recursive(),
    ExplodingRepr(),
    ExplodingMapping(),
    date(2026, 1, 1),
    object(),
]


@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=lambda v: type(v).__name__)
@pytest.mark.parametrize(
    "key",
    [
        "request_id",
        "report_id",
        "parameters",
        "distribution",
        "priority",
        "requested_by",
        "trigger_type",
        "region",
        "unknown",
    ],
)
def test_any_value_in_any_field_is_a_document_or_a_refusal(key: str, value: Any) -> None:
    for source in ("conf", "worktable"):
        _document_or_refusal({key: value}, source)


@pytest.mark.parametrize("document", HOSTILE_VALUES, ids=lambda v: type(v).__name__)
def test_any_value_as_the_whole_document_is_a_document_or_a_refusal(document: Any) -> None:
    _document_or_refusal(document, "conf")


def test_random_nested_junk_is_always_a_document_or_a_refusal() -> None:
    rng = random.Random(20260101)
    keys = [
        "request_id",
        "report_id",
        "parameters",
        "distribution",
        "priority",
        "requested_by",
        "trigger_type",
        "region",
        "start_date",
        "mode",
        "targets",
        "",
        "nope",
    ]
    scalars = [
        None,
        True,
        False,
        0,
        5,
        11,
        -3,
        2.5,
        float("nan"),
        "",
        "API",
        "SCHEDULED",
        "add",
        "replace",
        "x" * 5_000,
        "a/b",
        "REQ-1",
        "\x7f",
    ]

    def junk(depth: int) -> Any:
        kind = rng.random()
        if depth <= 0 or kind < 0.5:
            return rng.choice(scalars)
        if kind < 0.75:
            return [junk(depth - 1) for _ in range(rng.randrange(4))]
        return {rng.choice(keys): junk(depth - 1) for _ in range(rng.randrange(5))}

    outcomes = {"document": 0, "refused": 0}
    for _ in range(3_000):
        document = {rng.choice(keys): junk(4) for _ in range(rng.randrange(6))} if rng.random() < 0.9 else junk(3)
        outcome = _document_or_refusal(document, rng.choice(["conf", "worktable"]))
        outcomes[outcome] += 1
    assert outcomes["document"] > 50 and outcomes["refused"] > 1_000


def _document_or_refusal(document: Any, source: str) -> str:
    started = time.perf_counter()
    try:
        parse_request(document, parameter_names=NAMES, source=source)  # type: ignore[arg-type]
    except RequestInvalid as exc:
        assert exc.problems
        for line in exc.problems:
            assert re.match(r"^\S[^\n]*?: ", line), line
            assert "\n" not in line and len(line) <= 1_200, line[:200]
        assert len(str(exc)) <= 21 * 1_200
        outcome = "refused"
    else:
        outcome = "document"
        # what the store writes and the logs print must work on every accepted document
        assert isinstance(repr(document), str)
        json.dumps(
            parse_request(document, parameter_names=NAMES, source=source).model_dump(mode="json"),  # type: ignore[arg-type]
            allow_nan=False,
        )
    assert time.perf_counter() - started < 1
    return outcome
