"""Checking a request against its definition, and what the run it arrives in makes of it."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from reporting.constants import TriggerType
from reporting.loader import load_definitions
from reporting.request_check import (
    MAX_STORED_JSON_CHARS,
    RequestRejected,
    check_request,
    refused_fields,
    resend_differences,
    run_trigger_type,
    stated_trigger_type,
    storable,
    usable_request_id,
)

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def definitions():
    result = load_definitions(ROOT / "include" / "reports", ROOT / "include" / "sql")
    return {d.id: d for d in result.definitions}


def row(report_id: Any = "sales_summary", parameters: Any = None, distribution: Any = None, **more: Any):
    return {"report_id": report_id, "parameters": parameters, "distribution": distribution, **more}


# --- a worktable request against its definition ------------------------------------------------


def test_valid_request_resolves_parameters_and_targets(definitions):
    checked = check_request(
        row(parameters={"region": "EMEA"}, distribution=[{"type": "local", "path": "/mnt/nas/emea"}]), definitions
    )
    assert checked.definition.id == "sales_summary"
    assert checked.parameters == {"region": "EMEA", "start_date": date(2026, 1, 1)}
    assert checked.distribution == [{"type": "local", "path": "/mnt/nas/emea"}]
    assert checked.document is not None and checked.document.parameters == {"region": "EMEA"}


def test_no_parameters_and_no_overrides_use_the_definition(definitions):
    checked = check_request(row(), definitions)
    assert checked.parameters["region"] == "ALL" and checked.distribution is None


def test_the_rows_other_fields_are_checked_and_kept(definitions):
    checked = check_request(row(request_id="REQ-1", priority=9, requested_by="finance-app"), definitions)
    assert checked.document is not None
    assert (checked.document.request_id, checked.document.priority, checked.document.requested_by) == (
        "REQ-1",
        9,
        "finance-app",
    )


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        (row("nope"), "report_id: no report definition 'nope' (known: "),
        (row(None), "report_id: no report definition None"),
        (row("Not An Id!"), "report_id: 'Not An Id!' is not a report id"),
        (row(parameters={"region": "MARS"}), "parameters.region: 'MARS' is not one of the allowed values"),
        (row(parameters={"colour": "red"}), "parameters.colour: not a parameter of this report"),
        (row(parameters=["EMEA"]), "parameters: must be a JSON object of parameter values, got a list"),
        (row(parameters="region=APAC"), "parameters: must be a JSON object of parameter values, got a string"),
        (row(distribution="/etc"), "distribution: must be a list of targets"),
        (row(distribution=[{"type": "local"}]), "distribution.targets[0].path: field required"),
        (row(distribution=[{"type": "ftp", "path": "/x"}]), "distribution.targets[0]: input tag 'ftp' found"),
        (row(distribution=[{"type": "local", "path": "../etc"}]), "distribution.targets[0].path: must be an absolute"),
        (row(priority="high"), "priority: must be an integer from 1 to 10, got 'high'"),
        (row(priority=999), "priority: must be an integer from 1 to 10, got 999"),
        (row(request_id="x" * 65), "request_id: longer than 64 characters"),
        (row(request_id="finance request #12"), "request_id: 'finance request #12' may hold only letters"),
        (row(requested_by={"name": "x"}), "requested_by: must be a string, got an object"),
        (row(trigger_type="HACK"), "trigger_type: 'HACK' is not a trigger type a caller may give"),
    ],
)
def test_rejections_name_the_field(definitions, document, problem):
    with pytest.raises(RequestRejected) as caught:
        check_request(document, definitions)
    assert any(p.startswith(problem) or problem in p for p in caught.value.problems), caught.value.problems


def test_an_unknown_report_still_has_its_other_fields_checked(definitions):
    with pytest.raises(RequestRejected) as caught:
        check_request(row("nope", parameters={"region": "X"}, priority=0), definitions)
    problems = caught.value.problems
    assert problems[0].startswith("report_id: no report definition 'nope'")
    assert any(p.startswith("priority:") for p in problems)
    assert not any(p.startswith("parameters") for p in problems), "no parameter names to hold them to"


def test_problems_found_reading_the_row_come_first(definitions):
    with pytest.raises(RequestRejected) as caught:
        check_request(row(priority=0), definitions, problems=["parameters: not valid JSON: '{bad'"])
    assert caught.value.problems[0] == "parameters: not valid JSON: '{bad'"
    assert any(p.startswith("priority:") for p in caught.value.problems)


def test_targets_outside_the_allow_list_are_refused(definitions):
    with pytest.raises(RequestRejected, match="distribution"):
        check_request(row(distribution=[{"type": "local", "path": "/etc/cron.d"}]), definitions)
    with pytest.raises(RequestRejected, match="does not allow per-request distribution"):
        check_request(row("ssrs_inventory", distribution=[{"type": "local", "path": "/mnt/nas"}]), definitions)


def test_all_problems_are_reported_together(definitions):
    with pytest.raises(RequestRejected) as caught:
        check_request(row(parameters={"region": "MARS", "x": 1}, distribution=[{"type": "local"}]), definitions)
    # The document's shape first: its values are held to the definition once it has one.
    assert caught.value.problems == ["parameters.x: not a parameter of this report (parameters: region, start_date)"]
    with pytest.raises(RequestRejected) as caught:
        check_request(row(parameters={"region": "MARS"}, distribution=[{"type": "local"}]), definitions)
    assert len(caught.value.problems) == 2


# --- the request id a run serves -------------------------------------------------------------------


@pytest.mark.parametrize("value", ["REQ-2026-0042", "a" * 64, "x.y:z_1-2"])
def test_a_valid_request_id_is_used(value):
    assert usable_request_id(value) == value


@pytest.mark.parametrize("value", [None, "", "a" * 65, "has space", "-starts-with-dash", 42, {"id": 1}, ["x"]])
def test_anything_else_is_no_request_id(value):
    assert usable_request_id(value) is None


# --- the trigger type a run records ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("run_type", "run_id", "expected"),
    [
        ("scheduled", "scheduled__2026-01-01T00:00:00+00:00", TriggerType.SCHEDULED),
        ("backfill", "backfill__2026-01-01T00:00:00+00:00", TriggerType.SCHEDULED),
        ("manual", "manual__2026-01-01T00:00:00+00:00", TriggerType.MANUAL),
        # a REST caller may name its run like the intake's: the run type says it is not
        ("manual", "adhoc__REQ-1", TriggerType.MANUAL),
        ("manual", "retry__x", TriggerType.MANUAL),
        ("operator_triggered", "adhoc__REQ-1", TriggerType.ADHOC),
        ("operator_triggered", "retry__1b2c", TriggerType.RETRY),
        ("operator_triggered", "triggered_by_another_dag", TriggerType.MANUAL),
        ("asset_triggered", "asset_triggered__x", TriggerType.MANUAL),
    ],
)
def test_the_trigger_type_comes_from_the_run(run_type, run_id, expected):
    assert run_trigger_type(run_type, run_id) is expected


def test_a_caller_of_a_manual_run_may_say_api():
    assert stated_trigger_type(TriggerType.MANUAL, "API") is TriggerType.API
    assert stated_trigger_type(TriggerType.MANUAL, None) is TriggerType.MANUAL
    assert stated_trigger_type(TriggerType.ADHOC, "ADHOC") is TriggerType.ADHOC


@pytest.mark.parametrize(
    ("derived", "stated", "problem"),
    [
        (TriggerType.SCHEDULED, "API", "trigger_type: 'API' does not fit this run, which is SCHEDULED"),
        (TriggerType.MANUAL, "ADHOC", "trigger_type: 'ADHOC' is for requests the intake takes from the worktable"),
        (TriggerType.RETRY, "API", "trigger_type: 'API' does not fit this run, which is RETRY"),
    ],
)
def test_a_stated_trigger_type_the_run_is_not_is_refused(derived, stated, problem):
    with pytest.raises(RequestRejected) as caught:
        stated_trigger_type(derived, stated)
    assert caught.value.problems[0].startswith(problem)


# --- re-sends ----------------------------------------------------------------------------------------


def test_a_resend_with_the_same_values_changes_nothing(definitions):
    sales = definitions["sales_summary"]
    recorded = {"parameters": {"region": "EMEA"}, "distribution_overrides": None}
    assert resend_differences(sales, recorded, {"region": "EMEA"}, None) == []
    # the intake's run names the default the row left out: the same request
    assert resend_differences(sales, recorded, {"region": "EMEA", "start_date": "2026-01-01"}, None) == []
    # nothing given: as recorded
    assert resend_differences(sales, recorded, {}, None) == []


def test_a_resend_with_other_values_names_each_difference(definitions):
    sales = definitions["sales_summary"]
    recorded = {"parameters": {"region": "EMEA"}, "distribution_overrides": [{"type": "local", "path": "/mnt/a"}]}
    lines = resend_differences(
        sales, recorded, {"region": "APAC", "start_date": "2026-06-01"}, [{"type": "local", "path": "/mnt/b"}]
    )
    assert lines == [
        "parameters.region: 'EMEA' recorded, 'APAC' now",
        "parameters.start_date: '2026-01-01' recorded, '2026-06-01' now",
        "distribution: [{'path': '/mnt/a', 'type': 'local'}] recorded, [{'path': '/mnt/b', 'type': 'local'}] now",
    ]


def test_recorded_values_that_no_longer_resolve_are_compared_as_given(definitions):
    sales = definitions["sales_summary"]
    assert resend_differences(sales, {"parameters": {"region": "MARS"}}, {"region": "EMEA"}, None) == [
        "parameters.region: 'MARS' recorded, 'EMEA' now"
    ]
    assert resend_differences(sales, {"parameters": "region=APAC"}, {"region": "APAC"}, None) == [
        "parameters: 'region=APAC' recorded, {'region': 'APAC'} now"
    ]


# --- what the store keeps of a refused request -----------------------------------------------------


def test_plain_bounded_json_is_kept_as_it_is():
    value = {"region": "EMEA", "n": [1, 2.5, None, True]}
    assert storable(value) == value
    assert storable("text") == "text"


@pytest.mark.parametrize(
    "value",
    [
        {"x": math.nan},
        {1: "not a text key"},
        {"d": date(2026, 1, 1)},
        {"s": {1, 2}},
        "x" * (MAX_STORED_JSON_CHARS + 1),
        10**5000,
    ],
    ids=["nan", "int-key", "date", "set", "long-text", "huge-int"],
)
def test_anything_else_becomes_bounded_json_text(value):
    kept = storable(value)
    assert isinstance(kept, str)
    assert len(kept) <= MAX_STORED_JSON_CHARS + 1
    json.dumps(kept)


def test_a_deep_or_looping_value_is_kept_as_short_text():
    loop: dict[str, Any] = {}
    loop["self"] = loop
    deep: list[Any] = []
    node = deep
    for _ in range(5_000):
        node.append([])
        node = node[0]
    for value in (loop, deep):
        kept = storable(value)
        assert isinstance(kept, str) and len(kept) <= MAX_STORED_JSON_CHARS + 1


def test_refused_fields_keep_what_is_valid_and_leave_out_the_rest():
    fields = refused_fields(
        {"region": "EMEA", "parameters": {"start_date": "2026-01-01"}, "priority": "high", "requested_by": "crm"},
        ["region", "start_date"],
    )
    assert fields == {
        "parameters": {"region": "EMEA", "start_date": "2026-01-01"},
        "distribution": None,
        "priority": None,
        "requested_by": "crm",
    }


def test_refused_fields_of_unusable_parameters_keep_them_as_text():
    assert refused_fields({"parameters": "region=APAC"}, ["region"])["parameters"] == "region=APAC"
    assert refused_fields({"parameters": {"x": math.inf}}, ["region"])["parameters"] == '{"x": Infinity}'
    assert refused_fields({"distribution": "/etc"}, [])["distribution"] == "/etc"
    assert refused_fields(["not", "an", "object"], [])["parameters"] == {"conf": ["not", "an", "object"]}
    assert refused_fields(None, []) == {"parameters": {}, "distribution": None, "priority": None, "requested_by": None}
