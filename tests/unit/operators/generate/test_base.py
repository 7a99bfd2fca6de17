"""The engine operators' template fields: the report path and parameters render from the run, then drive the run."""

from __future__ import annotations

from datetime import timedelta

from operators.generate.sql import SqlReportOperator
from operators.generate.ssrs import SsrsReportOperator
from reporting.definition import ReportDefinition

REQUEST = {
    "request_id": "req-1",
    "report_id": "templated",
    "trigger_type": "MANUAL",
    "run_date": "2026-11-20",
    "parameters": {"region": "AMER", "as_of": "2026-11-20"},
    "dag_run_id": "run-1",
}


def _definition(engine: dict) -> ReportDefinition:
    return ReportDefinition.model_validate(
        {
            "id": "templated",
            "title": "Templated",
            "owner": "bi",
            "engine": engine,
            "parameters": {
                "region": {"type": "string", "default": "EMEA"},
                "as_of": {"type": "date", "default": "2026-11-20"},
            },
            "formats": ["csv"],
            "distribution": [{"type": "local", "path": "/srv/reports"}],
            "execution_timeout": "7m",
        }
    )


def test_report_path_and_parameters_render_from_the_context_and_replace_the_requests():
    operator = SsrsReportOperator(
        task_id="generate",
        definition=_definition({"type": "ssrs", "conn_id": "ssrs", "report_path": "/Finance/Daily"}),
        request=REQUEST,
        report_path="/Finance/{{ params.folder }}",
        parameters={"region": "{{ params.region }}"},
    )
    assert operator.report_path == "/Finance/{{ params.folder }}", "kept as given until rendered"

    operator.render_template_fields({"params": {"folder": "Monthly", "region": "APAC"}})

    assert operator.engine_report_path == "/Finance/Monthly"
    run = operator.prepare()
    assert run.parameters["region"] == "APAC" and run.request["parameters"]["as_of"] == "2026-11-20"
    assert run.naming.params["region"] == "APAC", "file names follow the parameters the engine runs with"


def test_the_definitions_report_and_timeout_are_used_when_none_is_given():
    operator = SqlReportOperator(
        task_id="generate",
        definition=_definition({"type": "sql", "conn_id": "db", "sql": "sales_summary.sql"}),
        request=REQUEST,
    )

    assert operator.engine_report_path == "sales_summary.sql"
    assert operator.execution_timeout == timedelta(minutes=7)
    assert operator.prepare().parameters["region"] == "AMER"
