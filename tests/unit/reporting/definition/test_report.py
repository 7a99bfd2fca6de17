"""Tests for the report definition model: every rejection rule names its field path.

Each rejection test writes a YAML file into a throw-away project and loads it the way the DAG
processor does, then checks the single error line ``<file>: <field path>: <problem>``.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from reporting.definition import (
    PRESETS,
    RESERVED_CONF_KEYS,
    InvalidParameters,
    LocalTarget,
    Notifications,
    ParameterSpec,
    ReportDefinition,
    RetryPolicy,
    Schedule,
    SqlEngine,
)
from reporting.definition.schedule import cron_problem
from reporting.loader import load_definitions, parse_definition

ROOT = Path(__file__).resolve().parents[4]
REPORT_FILE = "include/reports/report.yaml"

# The smallest definition the model accepts; each test changes one thing.
MINIMAL: dict[str, Any] = {
    "title": "Weekly sales",
    "owner": "bi-team",
    "engine": {"type": "sql", "conn_id": "warehouse", "sql": "report.sql"},
    "formats": ["csv", "pdf"],
    "distribution": [{"type": "local", "path": "/srv/reports"}],
}

_DELETE = object()


def definition(*changes: tuple[str, Any], base: dict[str, Any] | None = None) -> dict[str, Any]:
    """A copy of the minimal definition with ``(dotted.path, value)`` changes applied.

    A path part that is a number indexes a list (``distribution.0.path``); ``_DELETE`` removes the key.
    """
    data = copy.deepcopy(MINIMAL if base is None else base)
    for dotted, value in changes:
        *parents, last = dotted.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        key: Any = int(last) if isinstance(node, list) else last
        if value is _DELETE:
            del node[key]
        else:
            node[key] = copy.deepcopy(value)
    return data


def load(project: Path, data: dict[str, Any]):
    """Write ``data`` as include/reports/report.yaml and load the folder."""
    (project / REPORT_FILE).write_text(yaml.safe_dump(data, sort_keys=False))
    return load_definitions(project / "include" / "reports", sql_root=project / "include" / "sql")


def accepted(project: Path, data: dict[str, Any]) -> ReportDefinition:
    result = load(project, data)
    assert result.error_text() == ""
    [loaded] = result.definitions
    return loaded


def rejection(project: Path, data: dict[str, Any]) -> tuple[str, str]:
    """The ``(field path, problem)`` of the one error line the definition produces."""
    result = load(project, data)
    assert result.definitions == []
    [error] = result.errors
    [line] = error.lines()
    assert line.startswith(f"{REPORT_FILE}: "), line
    path, _, problem = line.removeprefix(f"{REPORT_FILE}: ").partition(": ")
    return path, problem


def assert_rejected(project: Path, data: dict[str, Any], path: str, *fragments: str) -> None:
    got_path, problem = rejection(project, data)
    assert got_path == path, f"{got_path}: {problem}"
    for fragment in fragments:
        assert fragment in problem


WITH_REGION = ("parameters", {"region": {"type": "string", "default": "EMEA"}})


# --- the minimal definition and the shipped sample ----------------------------------------------------


def test_minimal_definition_is_valid_and_id_comes_from_the_file_name(project: Path) -> None:
    loaded = accepted(project, definition())
    assert loaded.id == "report"
    assert loaded.dag_id == "report__report"
    assert isinstance(loaded.engine, SqlEngine)
    assert isinstance(loaded.distribution[0], LocalTarget)


def test_shipped_sample_validates_against_the_real_sql_folder() -> None:
    loaded = parse_definition(ROOT / "include/reports/sales_summary.yaml", sql_root=ROOT / "include/sql")
    assert loaded.id == "sales_summary"
    assert loaded.engine.sql == "sales_summary.sql"
    assert loaded.engine.batch_size == 500
    assert loaded.formats == ["pdf", "xlsx", "csv"]
    assert loaded.parameters["region"].allowed_values == ["ALL", "EMEA", "AMER", "APAC"]
    assert loaded.parameters["start_date"].default == date(2026, 1, 1)
    assert loaded.schedule == Schedule(cron="0 6 * * 1-5", timezone="Europe/London", start_date=date(2026, 1, 1))
    assert loaded.target_key(0) == "reports_share"
    assert loaded.execution_timeout == timedelta(minutes=30)
    assert loaded.notifications.emails == ["bi-team@example.com"]


def test_shipped_folder_loads_without_errors() -> None:
    result = load_definitions(ROOT / "include/reports", sql_root=ROOT / "include/sql")
    assert result.errors == []
    # The SQL sample plus one sample per BI engine.
    assert {d.id: d.engine.type for d in result.definitions} == {
        "sales_summary": "sql",
        "obiee_sales_detail": "obiee",
        "powerbi_finance_pack": "powerbi",
        "ssrs_inventory": "ssrs",
        "midas_risk_positions": "midas",
    }


def test_defaults(project: Path) -> None:
    loaded = accepted(project, definition())
    assert loaded.priority == 5
    assert loaded.retry == RetryPolicy(
        retries=2, retry_delay=timedelta(seconds=1), backoff_multiplier=2.0, max_retry_delay=timedelta(seconds=60)
    )
    assert loaded.execution_timeout == timedelta(hours=1)
    assert loaded.schedule is None
    assert loaded.parameters == {}
    assert loaded.tags == []
    assert loaded.description == ""
    assert loaded.notifications == Notifications(emails=[], on_success=True, on_failure=True)
    assert loaded.engine.batch_size == 10_000
    assert loaded.distribution[0].filename == "{report_id}_{run_date}.{format}"
    assert loaded.distribution[0].formats is None
    assert loaded.distribution[0].name is None


def test_retry_policy_defaults_standalone() -> None:
    policy = RetryPolicy()
    assert (policy.retries, policy.retry_delay, policy.backoff_multiplier, policy.max_retry_delay) == (
        2,
        timedelta(seconds=1),
        2.0,
        timedelta(seconds=60),
    )


def test_schedule_defaults() -> None:
    schedule = Schedule(cron="@daily")
    assert (schedule.timezone, schedule.start_date, schedule.catchup) == ("UTC", date(2024, 1, 1), False)


def test_whitespace_is_stripped(project: Path) -> None:
    loaded = accepted(project, definition(("title", "  Weekly sales  "), ("owner", " bi-team ")))
    assert (loaded.title, loaded.owner) == ("Weekly sales", "bi-team")


def test_definition_is_frozen(project: Path) -> None:
    loaded = accepted(project, definition())
    with pytest.raises(ValidationError):
        loaded.priority = 9  # type: ignore[misc]


def test_durations_in_definitions_accept_short_and_iso_forms(project: Path) -> None:
    loaded = accepted(
        project,
        definition(
            ("retry", {"retry_delay": "30s", "max_retry_delay": "PT15M"}),
            ("execution_timeout", "2h"),
        ),
    )
    assert loaded.retry.retry_delay == timedelta(seconds=30)
    assert loaded.retry.max_retry_delay == timedelta(minutes=15)
    assert loaded.execution_timeout == timedelta(hours=2)


# --- unknown keys (extra="forbid") and missing required fields ------------------------------------------


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        pytest.param([("colour", "blue")], "colour", id="top-level"),
        pytest.param([("engine.timeout", 5)], "engine.timeout", id="engine"),
        pytest.param([("distribution.0.bucket", "x")], "distribution[0].bucket", id="target"),
        pytest.param([WITH_REGION, ("parameters.region.label", "Region")], "parameters.region.label", id="parameter"),
        pytest.param([("schedule", {"cron": "@daily", "when": "often"})], "schedule.when", id="schedule"),
        pytest.param([("retry", {"attempts": 3})], "retry.attempts", id="retry"),
        pytest.param([("notifications", {"slack": "#bi"})], "notifications.slack", id="notifications"),
    ],
)
def test_unknown_key_is_rejected(project: Path, changes: list[tuple[str, Any]], path: str) -> None:
    assert_rejected(project, definition(*changes), path, "extra inputs are not permitted")


@pytest.mark.parametrize(
    "path",
    ["title", "owner", "engine", "formats", "distribution", "engine.conn_id", "engine.sql", "distribution.0.path"],
)
def test_missing_required_field(project: Path, path: str) -> None:
    expected = path.replace(".0.", "[0].")
    assert_rejected(project, definition((path, _DELETE)), expected, "field required")


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("title", "", "at least 1 character"),
        ("title", "   ", "at least 1 character"),
        ("title", "x" * 201, "at most 200 characters"),
        ("owner", "", "at least 1 character"),
        ("owner", "x" * 101, "at most 100 characters"),
    ],
)
def test_title_and_owner_lengths(project: Path, field: str, value: str, fragment: str) -> None:
    assert_rejected(project, definition((field, value)), field, fragment)


@pytest.mark.parametrize("tag", ["", "x" * 101])
def test_bad_tag(project: Path, tag: str) -> None:
    assert_rejected(project, definition(("tags", ["ok", tag])), "tags", "must be 1-100 characters")


# --- id ------------------------------------------------------------------------------------------------


# The loader gives a definition its file's name as id (test_loader.py); the model checks the id's form.


def _id_errors(value: Any) -> list[tuple[tuple[Any, ...], str]]:
    with pytest.raises(ValidationError) as caught:
        ReportDefinition.model_validate(definition(("id", value)))
    return [(error["loc"], error["msg"]) for error in caught.value.errors()]


@pytest.mark.parametrize("bad_id", ["Sales", "1sales", "_sales", "sales-summary", "sales summary", "a" * 101, "é"])
def test_bad_id(bad_id: str) -> None:
    [(loc, message)] = _id_errors(bad_id)
    assert loc == ("id",)
    assert "must start with a lower-case letter" in message


def test_id_must_be_text() -> None:
    [(loc, message)] = _id_errors(5)
    assert (loc, message) == (("id",), "Input should be a valid string")


@pytest.mark.parametrize("good_id", ["a", "sales_2024", "a" * 100])
def test_good_id(good_id: str) -> None:
    assert ReportDefinition.model_validate(definition(("id", good_id))).id == good_id


def test_a_file_name_that_is_not_a_valid_id(project: Path) -> None:
    (project / "include" / "reports" / "Sales Summary.yaml").write_text(yaml.safe_dump(definition()))
    result = load_definitions(project / "include" / "reports", sql_root=project / "include" / "sql")
    assert result.error_text().startswith("include/reports/Sales Summary.yaml: id: must start with a lower-case letter")


# --- engine --------------------------------------------------------------------------------------------


def test_unknown_engine_type_names_the_allowed_tags(project: Path) -> None:
    assert_rejected(project, definition(("engine.type", "http")), "engine", "'http'", "expected tags: 'sql'")


def test_engine_without_type(project: Path) -> None:
    assert_rejected(project, definition(("engine.type", _DELETE)), "engine", "discriminator 'type'")


@pytest.mark.parametrize("sql", ["/etc/report.sql", "\\share\\report.sql", "../report.sql", "sub/../../report.sql"])
def test_sql_path_outside_the_sql_folder(project: Path, sql: str) -> None:
    assert_rejected(project, definition(("engine.sql", sql)), "engine.sql", "no absolute path, no '..'")


@pytest.mark.parametrize("sql", ["report.txt", "report", "report.sql.bak"])
def test_sql_path_not_a_sql_file(project: Path, sql: str) -> None:
    assert_rejected(project, definition(("engine.sql", sql)), "engine.sql", "must name a .sql file")


def test_sql_path_in_a_subfolder_is_accepted(project: Path) -> None:
    (project / "include/sql/finance").mkdir()
    (project / "include/sql/finance/report.sql").write_text("SELECT 1")
    assert accepted(project, definition(("engine.sql", "finance/report.sql"))).engine.sql == "finance/report.sql"


def test_empty_conn_id(project: Path) -> None:
    assert_rejected(project, definition(("engine.conn_id", "")), "engine.conn_id", "at least 1 character")


@pytest.mark.parametrize(
    ("size", "fragment"),
    [
        (0, "greater than or equal to 1"),
        (-5, "greater than or equal to 1"),
        (1_000_001, "less than or equal to 1000000"),
    ],
)
def test_batch_size_out_of_bounds(project: Path, size: int, fragment: str) -> None:
    assert_rejected(project, definition(("engine.batch_size", size)), "engine.batch_size", fragment)


@pytest.mark.parametrize("size", [1, 1_000_000])
def test_batch_size_bounds_are_inclusive(project: Path, size: int) -> None:
    assert accepted(project, definition(("engine.batch_size", size))).engine.batch_size == size


# --- parameters ----------------------------------------------------------------------------------------


def test_unknown_parameter_type(project: Path) -> None:
    data = definition(("parameters", {"limit": {"type": "float"}}))
    assert_rejected(project, data, "parameters.limit.type", "'string', 'integer', 'number', 'boolean', 'date'")


@pytest.mark.parametrize(
    ("kind", "default"),
    [
        ("integer", "ten"),
        ("integer", 2.5),
        ("integer", True),
        ("number", "lots"),
        ("boolean", "maybe"),
        ("boolean", 1),
        ("date", "2026-02-30"),
        ("date", "yesterday"),
        ("datetime", "noon"),
        ("string", ["a", "list"]),
    ],
)
def test_default_not_matching_type(project: Path, kind: str, default: Any) -> None:
    data = definition(("parameters", {"p": {"type": kind, "default": default}}))
    article = "an" if kind == "integer" else "a"
    assert_rejected(project, data, "parameters.p.default", f"expected {article} {kind}, got {default!r}")


def test_default_not_in_allowed_values(project: Path) -> None:
    data = definition(("parameters", {"region": {"default": "MARS", "allowed_values": ["EMEA", "APAC"]}}))
    assert_rejected(
        project, data, "parameters.region.default", "'MARS' is not one of the allowed values ['EMEA', 'APAC']"
    )


def test_allowed_values_empty(project: Path) -> None:
    data = definition(("parameters", {"region": {"allowed_values": []}}))
    assert_rejected(project, data, "parameters.region.allowed_values", "at least 1 item")


def test_allowed_values_not_matching_type(project: Path) -> None:
    data = definition(("parameters", {"top": {"type": "integer", "allowed_values": [10, "twenty"]}}))
    assert_rejected(project, data, "parameters.top.allowed_values", "expected an integer, got 'twenty'")


def test_required_must_be_boolean(project: Path) -> None:
    data = definition(("parameters", {"p": {"required": "perhaps"}}))
    assert_rejected(project, data, "parameters.p.required", "valid boolean")


@pytest.mark.parametrize("name", sorted(RESERVED_CONF_KEYS))
def test_reserved_parameter_name(project: Path, name: str) -> None:
    assert_rejected(project, definition(("parameters", {name: {}})), "parameters", f"{name!r} is reserved")


def test_reserved_names_cover_the_request_fields() -> None:
    request_fields = {"request_id", "parameters", "distribution", "priority", "trigger_type", "requested_by"}
    assert request_fields <= RESERVED_CONF_KEYS


@pytest.mark.parametrize("name", ["1st", "with-dash", "has space", "région", "x" * 65, "a.b"])
def test_invalid_parameter_name(project: Path, name: str) -> None:
    assert_rejected(project, definition(("parameters", {name: {}})), "parameters", "must be an identifier")


@pytest.mark.parametrize("name", ["_private", "Region", "x" * 64, "start_date2"])
def test_valid_parameter_names(project: Path, name: str) -> None:
    assert name in accepted(project, definition(("parameters", {name: {}}))).parameters


def test_parameter_defaults_and_allowed_values_are_coerced(project: Path) -> None:
    loaded = accepted(
        project,
        definition(
            (
                "parameters",
                {
                    "top": {"type": "integer", "default": "10", "allowed_values": ["10", 20]},
                    "since": {"type": "date", "default": "2026-01-31"},
                    "flag": {"type": "boolean", "default": "TRUE"},
                    "name": {},
                },
            )
        ),
    )
    assert loaded.parameters["top"].default == 10
    assert loaded.parameters["top"].allowed_values == [10, 20]
    assert loaded.parameters["since"].default == date(2026, 1, 31)
    assert loaded.parameters["flag"].default is True
    assert loaded.parameters["name"] == ParameterSpec(type="string", default=None, required=False)


# --- formats -------------------------------------------------------------------------------------------


def test_unknown_format(project: Path) -> None:
    assert_rejected(project, definition(("formats", ["csv", "docx"])), "formats[1]", "'pdf', 'xlsx' or 'csv'")


@pytest.mark.parametrize("formats", [["csv", "csv"], ["csv", "CSV"], ["pdf", "xlsx", "Pdf"]])
def test_duplicate_format(project: Path, formats: list[str]) -> None:
    assert_rejected(project, definition(("formats", formats)), "formats", "lists a format twice")


def test_empty_formats(project: Path) -> None:
    assert_rejected(project, definition(("formats", [])), "formats", "at least 1 item")


def test_upper_case_formats_are_accepted_as_lower_case(project: Path) -> None:
    assert accepted(project, definition(("formats", ["PDF", "Xlsx", "csv"]))).formats == ["pdf", "xlsx", "csv"]


# --- schedule ------------------------------------------------------------------------------------------


# Whether Airflow accepts an expression is Airflow's to say (tests/unit/report_runtime/test_schedules.py);
# the model checks the form, and cron_problem explains a refused expression field by field.


@pytest.mark.parametrize(
    "cron",
    ["0 6 * * mon-", "abc * * * *", "0 0 * foo *", "0 0 * * sunday", "*/x * * * *", "0 0 * * 1#2", "0 0 * * 5L"],
)
def test_malformed_cron_is_explained(cron: str) -> None:
    assert "field" in (cron_problem(cron) or ""), cron
    assert cron_problem(cron).endswith("is malformed")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("cron", "fragment"),
    [
        ("60 * * * *", "cron minute value 60 is outside 0-59"),
        ("5-70 * * * *", "cron minute value 70 is outside 0-59"),
        ("1,2,61 * * * *", "cron minute value 61 is outside 0-59"),
        ("0 24 * * *", "cron hour value 24 is outside 0-23"),
        ("0 0 0 * *", "cron day of month value 0 is outside 1-31"),
        ("0 0 32 * *", "cron day of month value 32 is outside 1-31"),
        ("0 0 * 13 *", "cron month value 13 is outside 1-12"),
        ("0 0 * * 8", "cron day of week value 8 is outside 0-7"),
        ("*/0 * * * *", "cron minute field '*/0' has a step of 0"),
    ],
)
def test_cron_value_out_of_range_is_explained(cron: str, fragment: str) -> None:
    assert cron_problem(cron) == fragment


@pytest.mark.parametrize("cron", ["0 6 * * 1-5", "*/15 * * * *", "0 0 L * *", "0 9 * JAN-MAR MON-FRI"])
def test_a_good_cron_has_no_problem_to_explain(cron: str) -> None:
    assert cron_problem(cron) is None


@pytest.mark.parametrize(
    ("cron", "fragment"),
    [
        ("0  6 * * " + "1," * 60 + "2", "is longer than 100 characters"),
        ("0 6 * *\x0b *", "contains control characters"),
    ],
)
def test_the_form_of_a_cron_is_the_models_to_check(project: Path, cron: str, fragment: str) -> None:
    assert_rejected(project, definition(("schedule", {"cron": cron})), "schedule.cron", fragment)


@pytest.mark.parametrize("cron", ["0 6 * *", "0 6 * * 1-5 2026", "@every_minute", "* * * * * *"])
def test_cron_wrong_field_count(project: Path, cron: str) -> None:
    assert_rejected(
        project, definition(("schedule", {"cron": cron})), "schedule.cron", "nor a 5-field cron expression", "@daily"
    )


@pytest.mark.parametrize("cron", sorted(PRESETS))
def test_cron_presets_are_accepted(project: Path, cron: str) -> None:
    assert accepted(project, definition(("schedule", {"cron": cron}))).schedule.cron == cron


@pytest.mark.parametrize(
    "cron",
    [
        "0 6 * * 1-5",
        "*/15 * * * *",
        "0-59/5 0-23/2 1,15 * *",
        "0 9 * JAN-MAR MON-FRI",
        "0 9 * * sun",
        "0 0 L * *",
        "59 23 31 12 7",
        "0 0 1 1 0",
    ],
)
def test_valid_crons_are_accepted(project: Path, cron: str) -> None:
    assert accepted(project, definition(("schedule", {"cron": cron}))).schedule.cron == cron


def test_schedule_without_cron(project: Path) -> None:
    assert_rejected(project, definition(("schedule", {"timezone": "UTC"})), "schedule.cron", "field required")


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "", "/etc/passwd", "Europe/../UTC"])
def test_unknown_timezone(project: Path, zone: str) -> None:
    data = definition(("schedule", {"cron": "@daily", "timezone": zone}))
    assert_rejected(project, data, "schedule.timezone", f"unknown time zone {zone!r}")


def test_known_timezone_and_start_date(project: Path) -> None:
    data = definition(("schedule", {"cron": "@daily", "timezone": "America/New_York", "start_date": "2025-03-01"}))
    schedule = accepted(project, data).schedule
    assert (schedule.timezone, schedule.start_date) == ("America/New_York", date(2025, 3, 1))


def test_required_parameter_without_default_on_scheduled_report(project: Path) -> None:
    data = definition(("schedule", {"cron": "@daily"}), ("parameters", {"region": {"required": True}}))
    assert_rejected(project, data, "parameters.region", "is required and has no default")


def test_required_parameter_without_default_is_fine_when_unscheduled(project: Path) -> None:
    loaded = accepted(project, definition(("parameters", {"region": {"required": True}})))
    assert loaded.parameters["region"].required is True


def test_required_parameter_with_default_is_fine_when_scheduled(project: Path) -> None:
    data = definition(
        ("schedule", {"cron": "@daily"}), ("parameters", {"region": {"required": True, "default": "EMEA"}})
    )
    assert accepted(project, data).parameters["region"].default == "EMEA"


# --- priority ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("priority", "fragment"),
    [(0, "greater than or equal to 1"), (-1, "greater than or equal to 1"), (11, "less than or equal to 10")],
)
def test_priority_out_of_range(project: Path, priority: int, fragment: str) -> None:
    assert_rejected(project, definition(("priority", priority)), "priority", fragment)


@pytest.mark.parametrize("priority", [1, 10])
def test_priority_bounds_are_inclusive(project: Path, priority: int) -> None:
    assert accepted(project, definition(("priority", priority))).priority == priority


# --- distribution --------------------------------------------------------------------------------------


def test_distribution_empty(project: Path) -> None:
    assert_rejected(project, definition(("distribution", [])), "distribution", "at least 1 item")


def test_unknown_target_type_names_the_allowed_tags(project: Path) -> None:
    data = definition(("distribution.0.type", "ftp"))
    assert_rejected(project, data, "distribution[0]", "'ftp'", "expected tags: 'local', 's3', 'sftp', 'smb', 'email'")


def test_target_without_type(project: Path) -> None:
    assert_rejected(project, definition(("distribution.0.type", _DELETE)), "distribution[0]", "discriminator 'type'")


def test_second_target_missing_path(project: Path) -> None:
    data = definition(("distribution", [{"type": "local", "path": "/a"}, {"type": "local", "name": "b"}]))
    assert rejection(project, data) == ("distribution[1].path", "field required")


@pytest.mark.parametrize("path", ["reports", "./reports", "~/reports", "$HOME/reports", "/tmp/a\x00b"])
def test_local_target_path_not_absolute(project: Path, path: str) -> None:
    data = definition(("distribution.0.path", path))
    assert_rejected(project, data, "distribution[0].path", "must be an absolute directory")


def test_local_target_path_empty(project: Path) -> None:
    assert_rejected(project, definition(("distribution.0.path", "")), "distribution[0].path", "at least 1 character")


@pytest.mark.parametrize("path", ["/srv/../etc", "/srv/reports/..", "${OUT}/../etc"])
def test_local_target_path_with_dotdot(project: Path, path: str) -> None:
    assert_rejected(project, definition(("distribution.0.path", path)), "distribution[0].path", "must not contain '..'")


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("${OUT:-/tmp/x/..}", "the default of ${OUT} ('/tmp/x/..') must not contain '..'"),
        ("${OUT:-..}/x", "the default of ${OUT} ('..') must not contain '..'"),
        ("${OUT:-/tmp/\x1b[31m}/x", "must not contain control characters (U+001B)"),
        ("/srv/\u202ereports", "must not contain control characters (U+202E)"),
        ("/srv/a\tb", "must not contain control characters (U+0009)"),
        ("${OUT:-tmp}/x", "with its defaults, the path is 'tmp/x', not an absolute directory"),
        ("${OUT:-}x", "with its defaults, the path is 'x', not an absolute directory"),
        ("${A:-/srv}${B:-/x/..}/y", "the default of ${B} ('/x/..') must not contain '..'"),
    ],
)
def test_env_defaults_are_checked_like_a_written_path(project: Path, path: str, fragment: str) -> None:
    assert_rejected(project, definition(("distribution.0.path", path)), "distribution[0].path", fragment)


@pytest.mark.parametrize(
    "path",
    ["/srv/reports", "${OUT}/reports", "${OUT:-/tmp/out}/sales", "/srv/a..b", "${OUT:-}/x", "/base${SUB:-/a..b}/x"],
)
def test_local_target_path_accepted(project: Path, path: str) -> None:
    assert accepted(project, definition(("distribution.0.path", path))).distribution[0].path == path


@pytest.mark.parametrize("name", ["has space", "a/b", "", "x" * 101])
def test_bad_target_name(project: Path, name: str) -> None:
    assert_rejected(project, definition(("distribution.0.name", name)), "distribution[0].name", "should match pattern")


@pytest.mark.parametrize(
    ("filename", "fragment"),
    [
        ("{date}.{format}", "unknown field {date}"),
        ("{report_id.upper}.csv", "attribute access is not allowed"),
        ("{0}.csv", "positional placeholders are not allowed"),
        ("{params[country]}.csv", "{params[country]} is not a declared parameter (declared: region)"),
        ("{params}.csv", "params needs a parameter name: {params[name]}"),
        ("{params[region][0]}.csv", "index access is allowed only as {params[name]}"),
        ("{}.csv", "an empty placeholder"),
        ("{report_id.csv", "attribute access is not allowed"),
        ("report_id}.csv", "a single '}' (write '}}' for a literal brace)"),
        ("{report_id:>1999999999}.csv", "format specs are not allowed; write {report_id}"),
        ("{report_id:{title.__class__.__name__[0]}}", "format specs are not allowed"),
        ("{title!r}.csv", "conversions are not allowed; write {title}"),
    ],
)
def test_bad_filename_template(project: Path, filename: str, fragment: str) -> None:
    data = definition(WITH_REGION, ("distribution.0.filename", filename))
    assert_rejected(project, data, "distribution[0].filename", fragment)


def test_filename_template_error_points_at_the_right_target(project: Path) -> None:
    data = definition(
        ("distribution", [{"type": "local", "path": "/a"}, {"type": "local", "path": "/b", "filename": "{nope}"}])
    )
    assert_rejected(project, data, "distribution[1].filename", "unknown field {nope}")


def test_filename_template_with_every_field_is_accepted(project: Path) -> None:
    template = "{report_id}-{run_date}-{request_id}-{title}-{params[region]}.{format}"
    data = definition(WITH_REGION, ("distribution.0.filename", template))
    assert accepted(project, data).distribution[0].filename == template


def test_target_format_not_among_report_formats(project: Path) -> None:
    data = definition(("formats", ["csv"]), ("distribution.0.formats", ["csv", "xlsx"]))
    assert_rejected(project, data, "distribution[0].formats", "'xlsx' is not among the report's formats")


def test_target_format_unknown(project: Path) -> None:
    data = definition(("distribution.0.formats", ["doc"]))
    assert_rejected(project, data, "distribution[0].formats[0]", "'pdf', 'xlsx' or 'csv'")


def test_target_formats_empty(project: Path) -> None:
    assert_rejected(project, definition(("distribution.0.formats", [])), "distribution[0].formats", "at least 1 item")


def test_target_format_subset_is_accepted(project: Path) -> None:
    assert accepted(project, definition(("distribution.0.formats", ["pdf"]))).distribution[0].formats == ["pdf"]


def test_duplicate_target_names(project: Path) -> None:
    targets = [
        {"type": "local", "name": "share", "path": "/a"},
        {"type": "local", "name": "share", "path": "/b"},
    ]
    data = definition(("distribution", targets))
    assert_rejected(project, data, "distribution[1].name", "'share' is already used by target 0")


def test_explicit_name_colliding_with_a_default_key(project: Path) -> None:
    targets = [{"type": "local", "path": "/a"}, {"type": "local", "name": "local_0", "path": "/b"}]
    assert_rejected(
        project, definition(("distribution", targets)), "distribution[1].name", "'local_0' is already used by target 0"
    )


def test_target_key_is_the_name_or_type_and_index(project: Path) -> None:
    targets = [
        {"type": "local", "path": "/a"},
        {"type": "local", "name": "nas", "path": "/b"},
        {"type": "local", "path": "/c"},
    ]
    loaded = accepted(project, definition(("distribution", targets)))
    assert [loaded.target_key(i) for i in range(3)] == ["local_0", "nas", "local_2"]


def test_resolved_path_reads_the_environment() -> None:
    target = LocalTarget(type="local", path="${OUT:-/tmp/out}/sales")
    assert target.resolved_path({}) == "/tmp/out/sales"
    assert target.resolved_path({"OUT": "/mnt/nas"}) == "/mnt/nas/sales"


@pytest.mark.parametrize("value", ["relative/dir", "/mnt/../etc"])
def test_resolved_path_refuses_an_unsafe_environment_value(value: str) -> None:
    target = LocalTarget(type="local", path="${OUT}/sales")
    with pytest.raises(ValueError, match="not a safe absolute directory"):
        target.resolved_path({"OUT": value})


# --- notifications -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    [
        "not-an-email",
        "a@b",
        "a@b.com, c@d.com",
        "a@b.com;c@d.com",
        "Ann <ann@example.com>",
        "a b@example.com",
        "",
        "a\x7fb@example.com",
        "a@localhost",
    ],
)
def test_invalid_email(project: Path, email: str) -> None:
    data = definition(("notifications", {"emails": ["ok@example.com", email]}))
    assert_rejected(project, data, "notifications.emails[1]", f"{email!r} is not a", "e-mail address")


@pytest.mark.parametrize(
    ("field", "path"),
    [
        ("to", "distribution[0].to[1]"),
        ("cc", "distribution[0].cc[1]"),
        ("bcc", "distribution[0].bcc[1]"),
    ],
)
def test_every_address_of_an_email_target_goes_through_the_one_check(project: Path, field: str, path: str) -> None:
    target = {"type": "email", "to": ["ok@example.com"], field: ["ok@example.com", "a\x7fb@example.com"]}
    data = definition(("distribution", [target]))
    assert_rejected(project, data, path, "'a\\x7fb@example.com' is not an e-mail address", "(U+007F)")


def test_override_domains_go_through_the_one_check(project: Path) -> None:
    data = definition(("distribution_overrides", {"allowed_email_domains": ["Example.COM", "corp.local"]}))
    assert accepted(project, data).distribution_overrides.allowed_email_domains == ["example.com", "corp.local"]
    data = definition(("distribution_overrides", {"allowed_email_domains": ["example.com", "exa\x7fmple.com"]}))
    assert_rejected(project, data, "distribution_overrides.allowed_email_domains[1]", "is not an e-mail domain")


def test_valid_emails(project: Path) -> None:
    emails = ["bi-team@example.com", "first.last+reports@sub.example.co.uk", "ops@corp.local", "qa@reports.test"]
    loaded = accepted(project, definition(("notifications", {"emails": emails, "on_success": False})))
    assert loaded.notifications == Notifications(emails=emails, on_success=False, on_failure=True)


# --- retries and timeouts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("retry", "path", "fragment"),
    [
        ({"retries": -1}, "retry.retries", "greater than or equal to 0"),
        ({"retries": 101}, "retry.retries", "less than or equal to 100"),
        ({"backoff_multiplier": -1}, "retry.backoff_multiplier", "greater than or equal to 0"),
        ({"retry_delay": -5}, "retry.retry_delay", "a duration cannot be negative"),
        ({"retry_delay": "-PT5S"}, "retry.retry_delay", "a duration cannot be negative"),
        ({"max_retry_delay": "-PT1M"}, "retry.max_retry_delay", "a duration cannot be negative"),
        ({"retry_delay": True}, "retry.retry_delay", "a duration must be seconds or a string"),
        ({"retry_delay": "soon"}, "retry.retry_delay", "valid timedelta"),
    ],
)
def test_bad_retry_field(project: Path, retry: dict[str, Any], path: str, fragment: str) -> None:
    assert_rejected(project, definition(("retry", retry)), path, fragment)


def test_max_retry_delay_shorter_than_retry_delay(project: Path) -> None:
    data = definition(("retry", {"retry_delay": "2m", "max_retry_delay": "1m"}))
    assert_rejected(project, data, "retry", "max_retry_delay must not be shorter than retry_delay")


def test_max_retry_delay_below_the_default_delay(project: Path) -> None:
    data = definition(("retry", {"max_retry_delay": "0s"}))
    assert_rejected(project, data, "retry", "max_retry_delay must not be shorter than retry_delay")


def test_retry_policy_edge_values_are_accepted(project: Path) -> None:
    data = definition(("retry", {"retries": 0, "retry_delay": "1m", "max_retry_delay": 60, "backoff_multiplier": 0}))
    assert accepted(project, data).retry == RetryPolicy(
        retries=0, retry_delay=timedelta(minutes=1), max_retry_delay=timedelta(minutes=1), backoff_multiplier=0
    )


@pytest.mark.parametrize("timeout", [0, "0s", "PT0S"])
def test_execution_timeout_zero(project: Path, timeout: Any) -> None:
    data = definition(("execution_timeout", timeout))
    assert_rejected(project, data, "execution_timeout", "must be longer than zero")


@pytest.mark.parametrize("timeout", [-1, "-PT1H"])
def test_execution_timeout_negative(project: Path, timeout: Any) -> None:
    assert_rejected(project, definition(("execution_timeout", timeout)), "execution_timeout", "cannot be negative")


def test_every_problem_of_a_file_is_reported(project: Path) -> None:
    data = definition(("priority", 0), ("distribution.0.path", _DELETE), ("colour", "blue"))
    [error] = load(project, data).errors
    assert sorted(error.lines()) == sorted(
        [
            f"{REPORT_FILE}: priority: input should be greater than or equal to 1",
            f"{REPORT_FILE}: distribution[0].path: field required",
            f"{REPORT_FILE}: colour: extra inputs are not permitted",
        ]
    )


# --- resolve_parameters --------------------------------------------------------------------------------


def report_with(parameters: dict[str, Any]) -> ReportDefinition:
    return ReportDefinition.model_validate(definition(("id", "sales"), ("parameters", parameters)))


@pytest.mark.parametrize(
    ("kind", "supplied", "expected"),
    [
        ("string", "EMEA", "EMEA"),
        ("string", 42, "42"),
        ("string", 2.5, "2.5"),
        ("integer", 42, 42),
        ("integer", "42", 42),
        ("integer", " -7 ", -7),
        ("integer", "+3", 3),
        ("number", 2.5, 2.5),
        ("number", 3, 3),
        ("number", "2.5", 2.5),
        ("number", "1e3", 1000.0),
        ("boolean", True, True),
        ("boolean", False, False),
        ("boolean", "true", True),
        ("boolean", "FALSE", False),
        ("date", "2026-03-01", date(2026, 3, 1)),
        ("date", date(2026, 3, 1), date(2026, 3, 1)),
        ("datetime", "2026-03-01T06:30:00", datetime(2026, 3, 1, 6, 30)),
        ("datetime", "2026-03-01 06:30+00:00", datetime(2026, 3, 1, 6, 30, tzinfo=UTC)),
        ("datetime", datetime(2026, 3, 1, 6, 30), datetime(2026, 3, 1, 6, 30)),
    ],
)
def test_resolve_coerces_each_type(kind: str, supplied: Any, expected: Any) -> None:
    resolved = report_with({"p": {"type": kind}}).resolve_parameters({"p": supplied})
    assert resolved == {"p": expected}
    assert type(resolved["p"]) is type(expected)


@pytest.mark.parametrize(
    ("kind", "supplied"),
    [
        ("string", True),
        ("string", ["a"]),
        ("integer", "4.2"),
        ("integer", 4.2),
        ("integer", True),
        ("number", "many"),
        ("number", False),
        ("boolean", "yes"),
        ("boolean", 1),
        ("date", "2026-02-30"),
        ("date", datetime(2026, 3, 1, 6, 30)),
        ("datetime", "tomorrow"),
    ],
)
def test_resolve_rejects_values_of_the_wrong_type(kind: str, supplied: Any) -> None:
    report = report_with({"p": {"type": kind}})
    with pytest.raises(InvalidParameters) as caught:
        report.resolve_parameters({"p": supplied})
    article = "an" if kind == "integer" else "a"
    assert caught.value.problems == [f"parameters.p: expected {article} {kind}, got {supplied!r}"]


def test_resolve_applies_defaults_for_missing_none_and_empty_values() -> None:
    report = report_with(
        {
            "region": {"default": "EMEA"},
            "top": {"type": "integer", "default": 10},
            "since": {"type": "date", "default": "2026-01-01"},
            "note": {},
        }
    )
    expected = {"region": "EMEA", "top": 10, "since": date(2026, 1, 1), "note": None}
    assert report.resolve_parameters(None) == expected
    assert report.resolve_parameters({}) == expected
    assert report.resolve_parameters({"region": None, "top": "", "since": None}) == expected


def test_resolve_supplied_value_wins_over_default() -> None:
    report = report_with({"top": {"type": "integer", "default": 10}, "flag": {"type": "boolean", "default": True}})
    assert report.resolve_parameters({"top": "0", "flag": "false"}) == {"top": 0, "flag": False}


def test_resolve_enforces_allowed_values() -> None:
    report = report_with({"region": {"default": "ALL", "allowed_values": ["ALL", "EMEA"]}})
    assert report.resolve_parameters({"region": "EMEA"}) == {"region": "EMEA"}
    with pytest.raises(InvalidParameters) as caught:
        report.resolve_parameters({"region": "MARS"})
    assert caught.value.problems == ["parameters.region: 'MARS' is not one of the allowed values ['ALL', 'EMEA']"]


def test_resolve_allowed_values_compare_after_coercion() -> None:
    report = report_with({"top": {"type": "integer", "allowed_values": [10, 20]}})
    assert report.resolve_parameters({"top": "20"}) == {"top": 20}


def test_resolve_names_an_unknown_parameter() -> None:
    report = report_with({"region": {"default": "EMEA"}})
    with pytest.raises(InvalidParameters) as caught:
        report.resolve_parameters({"country": "FR"})
    assert caught.value.problems == ["parameters.country: not a parameter of report 'sales'"]


def test_resolve_names_a_missing_required_value() -> None:
    report = report_with({"region": {"required": True}})
    with pytest.raises(InvalidParameters) as caught:
        report.resolve_parameters({"region": ""})
    assert caught.value.problems == ["parameters.region: a value is required"]


def test_resolve_required_with_default_uses_the_default() -> None:
    assert report_with({"region": {"required": True, "default": "EMEA"}}).resolve_parameters({}) == {"region": "EMEA"}


def test_resolve_reports_every_problem_together() -> None:
    report = report_with(
        {"region": {"required": True}, "top": {"type": "integer"}, "since": {"type": "date", "default": "2026-01-01"}}
    )
    with pytest.raises(InvalidParameters) as caught:
        report.resolve_parameters({"top": "many", "zeta": 1, "alpha": 2})
    problems = caught.value.problems
    assert problems == [
        "parameters.alpha: not a parameter of report 'sales'",
        "parameters.zeta: not a parameter of report 'sales'",
        "parameters.region: a value is required",
        "parameters.top: expected an integer, got 'many'",
    ]
    assert isinstance(caught.value, ValueError)
    assert str(caught.value) == "; ".join(problems)


def test_parameter_spec_coerce_directly() -> None:
    spec = ParameterSpec(type="number", allowed_values=["1.5", 2])
    assert spec.allowed_values == [1.5, 2]
    assert spec.coerce("2") == 2.0
    with pytest.raises(ValueError, match="not one of the allowed values"):
        spec.coerce(3)


def test_unquoted_yaml_date_is_a_midnight_datetime_default() -> None:
    report = report_with({"since": {"type": "datetime", "default": date(2026, 1, 1)}})
    assert report.parameters["since"].default == datetime(2026, 1, 1, 0, 0)


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("integer", 10**120, "<an integer of about 121 digits> has more than 100 digits"),
        ("number", 10**120, "<an integer of about 121 digits> has more than 100 digits"),
        ("number", float("nan"), "expected a finite number, got nan"),
        ("number", "inf", "expected a finite number, got inf"),
        ("integer", "9" * 5_000, "expected an integer, got '" + "9" * 60 + "…' (5,000 chars)"),
        ("string", ["x"] * 10_000, "expected a string, got ['x', 'x', 'x', 'x', 'x', 'x', ...] (10,000 items)"),
    ],
)
def test_a_supplied_value_out_of_bounds_is_refused_quoting_a_prefix(kind: str, value: Any, message: str) -> None:
    spec = ParameterSpec(type=kind)
    with pytest.raises(ValueError) as caught:
        spec.coerce(value)
    assert str(caught.value) == message
