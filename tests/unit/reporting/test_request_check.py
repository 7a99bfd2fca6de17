"""Checking an ad hoc request against its definition."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from reporting.loader import load_definitions
from reporting.request_check import RequestRejected, check_request

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def definitions():
    result = load_definitions(ROOT / "include" / "reports", ROOT / "include" / "sql")
    return {d.id: d for d in result.definitions}


def test_valid_request_resolves_parameters_and_targets(definitions):
    checked = check_request(
        "sales_summary", {"region": "EMEA"}, [{"type": "local", "path": "/mnt/nas/emea"}], definitions
    )
    assert checked.definition.id == "sales_summary"
    assert checked.parameters == {"region": "EMEA", "start_date": date(2026, 1, 1)}
    assert checked.distribution == [{"type": "local", "path": "/mnt/nas/emea"}]


def test_no_parameters_and_no_overrides_use_the_definition(definitions):
    checked = check_request("sales_summary", None, None, definitions)
    assert checked.parameters["region"] == "ALL" and checked.distribution is None


@pytest.mark.parametrize(
    ("report_id", "parameters", "distribution", "problem"),
    [
        ("nope", {}, None, "report_id: no report definition 'nope' (known: "),
        (None, {}, None, "report_id: no report definition None"),
        ("sales_summary", {"region": "MARS"}, None, "parameters.region: 'MARS' is not one of the allowed values"),
        ("sales_summary", {"colour": "red"}, None, "parameters.colour: not a parameter of report 'sales_summary'"),
        ("sales_summary", ["EMEA"], None, "parameters: must be a JSON object, got list"),
        ("sales_summary", {}, [{"type": "local"}], "distribution.targets[0].path: field required"),
        (
            "sales_summary",
            {},
            [{"type": "ftp", "path": "/x"}],
            "distribution.targets[0]: input tag 'ftp' found using 'type'",
        ),
        (
            "sales_summary",
            {},
            [{"type": "local", "path": "../etc"}],
            "distribution.targets[0].path: must be an absolute directory",
        ),
    ],
)
def test_rejections_name_the_field(definitions, report_id, parameters, distribution, problem):
    with pytest.raises(RequestRejected) as caught:
        check_request(report_id, parameters, distribution, definitions)
    assert any(p.startswith(problem) or problem in p for p in caught.value.problems), caught.value.problems


def test_targets_outside_the_allow_list_are_refused(definitions):
    with pytest.raises(RequestRejected, match="distribution"):
        check_request("sales_summary", {}, [{"type": "local", "path": "/etc/cron.d"}], definitions)
    with pytest.raises(RequestRejected, match="does not allow per-request distribution"):
        check_request("ssrs_inventory", {}, [{"type": "local", "path": "/mnt/nas"}], definitions)


def test_all_problems_are_reported_together(definitions):
    with pytest.raises(RequestRejected) as caught:
        check_request("sales_summary", {"region": "MARS", "x": 1}, [{"type": "local"}], definitions)
    assert len(caught.value.problems) == 3
