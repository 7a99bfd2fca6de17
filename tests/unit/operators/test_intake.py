"""The intake reads a worktable row as a request document, naming each JSON column that is not JSON."""

from __future__ import annotations

from hooks.sql_dialect import UnreadableJson
from operators.intake import row_document


def test_a_row_becomes_a_request_document():
    row = {
        "request_id": "R-1",
        "report_id": "sales_summary",
        "parameters": {"region": "EMEA"},
        "distribution_overrides": None,
        "priority": 5,
        "requested_by": "crm",
        "requested_at": "2026-11-01T00:00:00",
        "status": "PENDING",
    }
    document, problems = row_document(row)
    assert document == {
        "request_id": "R-1",
        "report_id": "sales_summary",
        "parameters": {"region": "EMEA"},
        "distribution": None,
        "priority": 5,
        "requested_by": "crm",
    }
    assert problems == []


def test_a_column_that_is_not_json_is_named_and_left_out():
    row = {"request_id": "R-2", "parameters": UnreadableJson('{"region": '), "distribution_overrides": "/etc"}
    document, problems = row_document(row)
    assert document["parameters"] is None and document["distribution"] == "/etc"
    assert problems == ["parameters: not valid JSON: '{\"region\": '"]
