"""The engine definition models: defaults, parameter naming, and rejections that name their field path."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import yaml

from reporting.definition.engines import MidasEngine, ObieeEngine, PowerBiEngine, SsrsEngine, parameter_text
from reporting.loader import load_definitions

GUID = "f089354e-8366-4e18-aea3-4cb4a3a50b48"
ENGINES = {
    "obiee": {"type": "obiee", "conn_id": "bip", "report_path": "/Finance/Sales Detail.xdo"},
    "powerbi": {"type": "powerbi", "conn_id": "pbi", "workspace_id": GUID, "report_id": GUID},
    "ssrs": {"type": "ssrs", "conn_id": "ssrs", "report_path": "/Finance/Inventory"},
    "midas": {"type": "midas", "conn_id": "midas", "report": "risk_positions"},
}


def _definition(engine: dict) -> dict:
    return {
        "title": "Engine report",
        "owner": "bi-team",
        "engine": engine,
        "parameters": {"region": {"type": "string", "default": "ALL"}},
        "formats": ["pdf", "csv"],
        "distribution": [{"type": "local", "path": "/srv/reports"}],
    }


def _errors(project, engine: dict) -> list[str]:
    (project / "include/reports/report.yaml").write_text(yaml.safe_dump(_definition(engine)))
    result = load_definitions(project / "include/reports", sql_root=project / "include/sql")
    return [line.split(": ", 1)[1] for line in result.error_text().splitlines()]


@pytest.mark.parametrize("kind", sorted(ENGINES))
def test_each_engine_loads_with_its_defaults(project, kind):
    (project / "include/reports/report.yaml").write_text(yaml.safe_dump(_definition(ENGINES[kind])))

    [loaded] = load_definitions(project / "include/reports", sql_root=project / "include/sql").definitions

    assert loaded.engine.type == kind
    assert set(loaded.engine.format_map) == {"pdf", "xlsx", "csv"}
    assert loaded.engine.timeout == timedelta(minutes=5)


def test_default_format_names_are_each_engines_own():
    assert PowerBiEngine(**ENGINES["powerbi"]).format_map == {"pdf": "PDF", "xlsx": "XLSX", "csv": "CSV"}
    assert SsrsEngine(**ENGINES["ssrs"]).format_map == {"pdf": "PDF", "xlsx": "EXCELOPENXML", "csv": "CSV"}
    assert ObieeEngine(**ENGINES["obiee"]).format_map == {"pdf": "pdf", "xlsx": "xlsx", "csv": "csv"}
    overridden = MidasEngine(**ENGINES["midas"], format_map={"xlsx": "excel"})
    assert overridden.format_map == {"pdf": "pdf", "xlsx": "excel", "csv": "csv"}


def test_engine_parameters_use_engine_names_and_text_values():
    engine = ObieeEngine(**ENGINES["obiee"], parameter_map={"region": "P_REGION"})

    values = engine.engine_parameters(
        {
            "region": "EMEA",
            "as_of": date(2026, 1, 2),
            "at": datetime(2026, 1, 2, 3, 4),
            "full": True,
            "n": 3,
            "none": None,
        }
    )

    assert values == {"P_REGION": "EMEA", "as_of": "2026-01-02", "at": "2026-01-02T03:04:00", "full": "true", "n": "3"}
    assert parameter_text(False) == "false"


@pytest.mark.parametrize(
    ("kind", "change", "path", "problem"),
    [
        ("obiee", {"report_path": "Finance/x.xdo"}, "engine.report_path", "must be an absolute catalog path"),
        ("obiee", {"report_path": "/Finance/../x.xdo"}, "engine.report_path", "must not contain '..'"),
        ("ssrs", {"report_path": "/Finance/Inventory&rs:Format=HTML"}, "engine.report_path", "must not contain '?'"),
        ("powerbi", {"workspace_id": "finance"}, "engine.workspace_id", "'finance' is not a GUID"),
        ("powerbi", {"report_id": GUID[:-1]}, "engine.report_id", "is not a GUID"),
        ("midas", {"report": "risk positions"}, "engine.report", "must use only letters"),
        (
            "midas",
            {"format_map": {"docx": "docx"}},
            "engine.format_map.docx.[key]",
            "input should be 'pdf', 'xlsx' or 'csv'",
        ),
        ("midas", {"format_map": {"pdf": ""}}, "engine.format_map", "pdf: the engine's format name cannot be empty"),
        (
            "ssrs",
            {"parameter_map": {"region": "bad name"}},
            "engine.parameter_map",
            "region: 'bad name' is not a valid",
        ),
        ("ssrs", {"timeout": 0}, "engine.timeout", "must be longer than zero"),
        ("obiee", {"conn_id": ""}, "engine.conn_id", "string should have at least 1 character"),
        ("powerbi", {"poll_every": "1s"}, "engine.poll_every", "extra inputs are not permitted"),
        ("midas", {"parameter_map": {"desk": "DESK"}}, "engine.parameter_map", "'desk' is not a declared parameter"),
    ],
)
def test_rejections_name_the_field(project, kind, change, path, problem):
    [error] = _errors(project, {**ENGINES[kind], **change})

    assert error.startswith(f"{path}: "), error
    assert problem in error


def test_an_unknown_engine_type_is_named(project):
    [error] = _errors(project, {"type": "cognos", "conn_id": "x"})

    assert error.startswith("engine: ") and "'obiee'" in error and "'midas'" in error
