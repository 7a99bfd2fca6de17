"""The DAG factory: one DAG per definition, shaped by the definition."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from reporting.definition import ReportDefinition
from support.runs import load_module

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def factory():
    return load_module("report_factory_under_test", ROOT / "dags" / "report_factory.py")


def _definition(**overrides) -> ReportDefinition:
    data = {
        "id": "finance_daily",
        "title": "Finance daily",
        "description": "Daily **finance** figures.",
        "owner": "finance-bi",
        "tags": ["finance"],
        "engine": {"type": "sql", "conn_id": "warehouse", "sql": "finance.sql"},
        "parameters": {
            "region": {"type": "string", "default": "ALL", "allowed_values": ["ALL", "EMEA"], "description": "Region"},
            "as_of": {"type": "date", "default": "2026-03-01"},
            "limit": {"type": "integer"},
            "cost_center": {"type": "string", "required": True},
            "include_tax": {"type": "boolean", "default": True},
        },
        "formats": ["pdf", "csv"],
        "distribution": [
            {"type": "local", "name": "nas", "path": "/mnt/nas/finance"},
            {"type": "local", "path": "/mnt/archive", "formats": ["csv"]},
        ],
        "retry": {"retries": 4, "retry_delay": "15m", "backoff_multiplier": 2.0, "max_retry_delay": "2h"},
        "execution_timeout": "20m",
        "priority": 8,
    }
    data.update(overrides)
    return ReportDefinition.model_validate(data)


def test_dag_id_tags_and_docs(factory):
    dag = factory.build_report_dag(_definition())
    assert dag.dag_id == "report__finance_daily"
    assert set(dag.tags) == {"report", "engine:sql", "finance"}
    assert dag.description == "Finance daily"
    assert "Daily **finance** figures." in dag.doc_md
    assert "`nas` (local)" in dag.doc_md and "`local_1` (local)" in dag.doc_md


def test_stages_in_order_with_distribution_mapped_per_target(factory):
    dag = factory.build_report_dag(_definition())
    assert set(dag.task_ids) == {"claim", "targets", "generate", "distribute", "notify", "finalize"}
    assert dag.get_task("generate").upstream_task_ids == {"claim"}
    assert dag.get_task("targets").upstream_task_ids == {"claim"}
    assert dag.get_task("distribute").upstream_task_ids == {"claim", "targets", "generate"}
    assert dag.get_task("notify").upstream_task_ids >= {"distribute"}
    assert dag.get_task("finalize").upstream_task_ids >= {"notify"}
    distribute = dag.get_task("distribute")
    assert distribute.is_mapped
    # Mapped over the targets the claim task resolves at run time (definition + request overrides).
    mapped_over = distribute.expand_input.value["target"]
    assert (mapped_over.operator.task_id, mapped_over.key) == ("targets", "return_value")


def test_retries_backoff_timeout_owner_priority_on_every_task(factory):
    dag = factory.build_report_dag(_definition())
    for task in dag.tasks:
        assert task.owner == "finance-bi"
        assert task.retries == 4
        assert task.retry_delay == timedelta(minutes=15)
        assert task.retry_exponential_backoff == 2.0
        assert task.max_retry_delay == timedelta(hours=2)
        assert task.execution_timeout == timedelta(minutes=20)
        assert task.priority_weight == 8


def test_params_carry_types_defaults_and_allowed_values(factory):
    params = factory.build_report_dag(_definition()).params
    region = params.get_param("region")
    assert region.value == "ALL"
    assert region.schema["type"] == "string" and region.schema["enum"] == ["ALL", "EMEA"]
    assert region.description == "Region"
    as_of = params.get_param("as_of")
    assert as_of.value == "2026-03-01" and as_of.schema["format"] == "date"
    assert params.get_param("limit").schema["type"] == ["null", "integer"]
    assert params.get_param("include_tax").value is True
    assert params.get_param("include_tax").schema["type"] == "boolean"
    # required without default: no value until the trigger form or conf gives one
    cost_center = params.get_param("cost_center")
    assert not cost_center.has_value
    with pytest.raises(Exception, match="No value passed"):
        cost_center.resolve()


def test_manual_only_report_has_no_schedule(factory):
    dag = factory.build_report_dag(_definition())
    assert type(dag.timetable).__name__ == "NullTimetable"
    assert dag.start_date is None


def test_cron_schedule_reads_the_definition_timezone(factory):
    definition = _definition(
        parameters={},
        distribution=[{"type": "local", "path": "/mnt/nas"}],
        schedule={"cron": "30 6 * * 1-5", "timezone": "Europe/London", "start_date": "2026-02-01"},
    )
    dag = factory.build_report_dag(definition)
    assert type(dag.timetable).__name__ == "CronTriggerTimetable"
    assert dag.timetable.expression == "30 6 * * 1-5"
    assert str(dag.timetable.timezone) == "Europe/London"
    assert dag.start_date.year == 2026 and dag.start_date.month == 2
    assert dag.catchup is False


def test_preset_schedule(factory):
    definition = _definition(parameters={}, schedule={"cron": "@daily"})
    # presets resolve to their cron expression
    assert factory.build_report_dag(definition).timetable.expression == "0 0 * * *"


_GUID = "f089354e-8366-4e18-aea3-4cb4a3a50b48"


@pytest.mark.parametrize(
    ("engine", "operator", "deferrable"),
    [
        ({"type": "obiee", "conn_id": "bip", "report_path": "/Finance/Daily.xdo"}, "BiPublisherReportOperator", False),
        ({"type": "ssrs", "conn_id": "ssrs", "report_path": "/Finance/Daily"}, "SsrsReportOperator", False),
        (
            {"type": "powerbi", "conn_id": "pbi", "workspace_id": _GUID, "report_id": _GUID},
            "PowerBiReportOperator",
            True,
        ),
        ({"type": "midas", "conn_id": "midas", "report": "finance_daily"}, "MidasReportOperator", True),
    ],
)
def test_each_bi_engine_gets_its_operator_with_the_engine_retry_policy(factory, engine, operator, deferrable):
    dag = factory.build_report_dag(_definition(engine=engine))

    generate = dag.get_task("generate")
    assert type(generate).__name__ == operator
    assert hasattr(generate, "execute_complete") is deferrable
    assert type(generate.retry_policy).__name__ == "ReportRetryPolicy"  # the definition lists, then the engine verdict
    assert generate.execution_timeout == timedelta(minutes=20)
    assert set(generate.template_fields) == {"request", "report_path", "parameters"}
    # template fields keep what they were given; the definition's path is taken when the task runs
    assert generate.report_path is None and generate.parameters is None
    expected = {"obiee": "report_path", "ssrs": "report_path", "powerbi": "report_id", "midas": "report"}[
        engine["type"]
    ]
    assert generate.engine_report_path == engine[expected]
    assert f"engine:{engine['type']}" in dag.tags


def test_build_all_leaves_out_a_definition_whose_dag_cannot_be_built(factory, monkeypatch, tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    sample = (ROOT / "include" / "reports" / "sales_summary.yaml").read_text()
    (reports / "sales_summary.yaml").write_text(sample)
    (reports / "fragile.yaml").write_text(sample.replace("id: sales_summary", "id: fragile"))
    (reports / "broken.yaml").write_text("title: [unclosed\n")
    monkeypatch.setenv("REPORTING_DEFINITIONS_DIR", str(reports))
    real = factory.build_report_dag

    def build(definition):
        if definition.id == "fragile":
            raise RecursionError("maximum recursion depth exceeded")
        return real(definition)

    monkeypatch.setattr(factory, "build_report_dag", build)
    errors = []
    with pytest.warns(UserWarning, match="invalid report definition"):
        dags = factory.build_all(errors)
    assert list(dags) == ["report__sales_summary"]
    assert [Path(e.file).name for e in errors] == ["broken.yaml", "fragile.yaml"]
    assert errors[1].messages == ("the DAG cannot be built: RecursionError: maximum recursion depth exceeded",)


def test_a_built_dag_is_registered_through_the_module_only(factory):
    # report_definitions_check.py runs the factory's module to collect its errors; the DAGs it
    # builds there must not be registered as the check file's own
    assert factory.build_report_dag(_definition()).auto_register is False
