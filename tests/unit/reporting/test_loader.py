"""Tests for loading a folder of definitions: error lines, isolation of broken files, SQL checks."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from reporting import loader
from reporting.loader import (
    DefinitionError,
    DefinitionFileError,
    LoadResult,
    load_definitions,
    parse_definition,
)

MINIMAL: dict[str, Any] = {
    "title": "Weekly sales",
    "owner": "bi-team",
    "engine": {"type": "sql", "conn_id": "warehouse", "sql": "report.sql"},
    "formats": ["csv"],
    "distribution": [{"type": "local", "path": "/srv/reports"}],
}


def minimal(**changes: Any) -> dict[str, Any]:
    """The minimal valid definition with top-level fields replaced."""
    data = copy.deepcopy(MINIMAL)
    data.update(copy.deepcopy(changes))
    return data


@pytest.fixture
def reports(project: Path) -> Path:
    return project / "include" / "reports"


@pytest.fixture
def sql_root(project: Path) -> Path:
    return project / "include" / "sql"


def write(folder: Path, name: str, data: Any) -> Path:
    path = folder / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def only_error(result: LoadResult) -> DefinitionError:
    [error] = result.errors
    return error


# --- the error line format -----------------------------------------------------------------------------


def test_error_line_is_file_field_path_problem(reports: Path, sql_root: Path) -> None:
    targets = [{"type": "local", "path": "/a"}, {"type": "local", "name": "nas"}]
    write(reports, "sales.yaml", minimal(distribution=targets))
    result = load_definitions(reports, sql_root=sql_root)
    assert result.error_text() == "include/reports/sales.yaml: distribution[1].path: field required"
    assert only_error(result).lines() == ["include/reports/sales.yaml: distribution[1].path: field required"]


@pytest.mark.parametrize(
    ("changes", "line"),
    [
        ({"engine": {"type": "sql", "sql": "report.sql"}}, "engine.conn_id: field required"),
        ({"engine": {"type": "sql", "conn_id": "c", "sql": "/x.sql"}}, "engine.sql: must be a path inside"),
        ({"engine": {"type": "sql", "conn_id": "c", "sql": "x.txt"}}, "engine.sql: must name a .sql file"),
        ({"engine": {"type": "sql", "conn_id": "c", "sql": "report.sql", "x": 1}}, "engine.x: extra inputs"),
        ({"engine": {"type": "sql", "conn_id": "c", "sql": "report.sql", "batch_size": 0}}, "engine.batch_size: input"),
        ({"distribution": [{"type": "local", "path": "rel"}]}, "distribution[0].path: must be an absolute"),
        ({"distribution": [{"type": "local", "path": "/a", "sql": 1}]}, "distribution[0].sql: extra inputs"),
    ],
)
def test_union_tags_are_dropped_from_paths(reports: Path, sql_root: Path, changes: dict, line: str) -> None:
    # pydantic puts the union tag ('sql', 'local') in the location; the field `sql` of the sql engine
    # shares its name with the tag, which must not hide the tag nor drop the field.
    write(reports, "report.yaml", minimal(**changes))
    [message] = only_error(load_definitions(reports, sql_root=sql_root)).messages
    assert message.startswith(line), message


def test_problem_text_is_lower_cased_and_has_no_pydantic_prefix(reports: Path, sql_root: Path) -> None:
    write(reports, "report.yaml", minimal(priority=99))
    [message] = only_error(load_definitions(reports, sql_root=sql_root)).messages
    assert message == "priority: input should be less than or equal to 10"
    write(reports, "report.yaml", minimal(execution_timeout=0))
    [message] = only_error(load_definitions(reports, sql_root=sql_root)).messages
    assert message == "execution_timeout: must be longer than zero"


def test_every_problem_in_a_file_is_listed(reports: Path, sql_root: Path) -> None:
    data = minimal(priority=0, formats=["csv", "doc"])
    del data["owner"]
    write(reports, "report.yaml", data)
    error = only_error(load_definitions(reports, sql_root=sql_root))
    assert sorted(error.messages) == [
        "formats[1]: input should be 'pdf', 'xlsx' or 'csv'",
        "owner: field required",
        "priority: input should be greater than or equal to 1",
    ]
    assert str(error) == "\n".join(error.lines())


def test_template_problems_are_listed_beside_field_errors_and_each_other(reports: Path, sql_root: Path) -> None:
    # A field error (the e-mail address) must not hide the template problems of other targets, and
    # one bad template must not hide the next one.
    data = minimal(
        distribution=[
            {"type": "local", "path": "/srv/reports", "filename": "{report_id:>1999999999}"},
            {"type": "local", "path": "/srv/reports", "filename": "{title.__class__}"},
            {"type": "email", "to": ["a\x7fb@example.com"], "subject": "{params[nope]}"},
        ]
    )
    write(reports, "report.yaml", data)
    paths = [message.split(":")[0] for message in only_error(load_definitions(reports, sql_root=sql_root)).messages]
    assert sorted(paths) == [
        "distribution[0].filename",
        "distribution[1].filename",
        "distribution[2].subject",
        "distribution[2].to[0]",
    ]


def test_cross_checks_list_every_problem_once_the_fields_are_valid(reports: Path, sql_root: Path) -> None:
    data = minimal(
        distribution=[
            {"type": "local", "path": "/srv/reports", "filename": "{report_id:x}"},
            {"type": "local", "path": "/srv/reports", "formats": ["pdf"]},
        ]
    )
    write(reports, "report.yaml", data)
    messages = only_error(load_definitions(reports, sql_root=sql_root)).messages
    assert [m.split(":")[0] for m in messages] == ["distribution[0].filename", "distribution[1].formats"]


def test_file_outside_the_working_directory_is_shown_in_full(tmp_path: Path, sql_root: Path) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    path = write(outside, "report.yaml", minimal(priority=0))
    with pytest.raises(DefinitionFileError) as caught:
        parse_definition(path, sql_root)
    assert caught.value.error.file == str(path)


# --- one broken file never hides the good ones ---------------------------------------------------------


def test_broken_files_do_not_hide_good_ones(reports: Path, sql_root: Path) -> None:
    write(reports, "alpha.yaml", minimal())
    write(reports, "bravo.yaml", minimal(priority=0))
    write(reports, "charlie.yaml", "title: [unclosed\n")
    write(reports, "delta.yml", minimal())
    write(reports, "echo.yaml", "- just\n- a list\n")
    result = load_definitions(reports, sql_root=sql_root)
    assert [d.id for d in result.definitions] == ["alpha", "delta"]
    assert [e.file for e in result.errors] == [
        "include/reports/bravo.yaml",
        "include/reports/charlie.yaml",
        "include/reports/echo.yaml",
    ]


def test_definitions_are_sorted_by_id_whatever_their_suffix(reports: Path, sql_root: Path) -> None:
    write(reports, "zulu.yaml", minimal())
    write(reports, "alpha.yml", minimal())
    write(reports, "mike.yaml", minimal(id="mike"))
    result = load_definitions(reports, sql_root=sql_root)
    assert [d.id for d in result.definitions] == ["alpha", "mike", "zulu"]
    assert result.files == {
        "alpha": "include/reports/alpha.yml",
        "mike": "include/reports/mike.yaml",
        "zulu": "include/reports/zulu.yaml",
    }


def test_only_yaml_files_are_read(reports: Path, sql_root: Path) -> None:
    write(reports, "good.yaml", minimal())
    write(reports, "README.md", "# not a definition: [")
    write(reports, "old.yaml.bak", "broken: [")
    write(reports, "notes.txt", "broken: [")
    (reports / "folder.yaml").mkdir()
    (reports / "sub").mkdir()
    write(reports / "sub", "nested.yaml", "broken: [")
    result = load_definitions(reports, sql_root=sql_root)
    assert result.errors == []
    assert [d.id for d in result.definitions] == ["good"]


def test_empty_folder_loads_nothing(reports: Path, sql_root: Path) -> None:
    result = load_definitions(reports, sql_root=sql_root)
    assert (result.definitions, result.errors, result.error_text()) == ([], [], "")


def test_missing_folder_is_an_error(project: Path, sql_root: Path) -> None:
    result = load_definitions(project / "nowhere", sql_root=sql_root)
    assert result.definitions == []
    assert result.error_text() == "nowhere: the definitions folder does not exist"


# --- duplicate ids and ids from file names -------------------------------------------------------------


def test_an_id_written_in_the_file_must_be_its_file_name(reports: Path, sql_root: Path) -> None:
    write(reports, "sales_copy.yaml", minimal(id="sales", priority=0))
    write(reports, "sales.yaml", minimal())
    result = load_definitions(reports, sql_root=sql_root)
    assert [d.id for d in result.definitions] == ["sales"]
    # the rest of the file is checked too, under its file name
    assert only_error(result).lines() == [
        "include/reports/sales_copy.yaml: id: 'sales' differs from the file name 'sales_copy.yaml'; a definition's"
        " id is its file name without .yaml (rename the file, or leave id out)",
        "include/reports/sales_copy.yaml: priority: input should be greater than or equal to 1",
    ]


@pytest.mark.parametrize("written", [5, None, "Sales", ["sales"]])
def test_an_id_that_is_not_the_file_name_is_refused_whatever_it_is(reports: Path, sql_root: Path, written: Any) -> None:
    write(reports, "sales.yaml", minimal(id=written))
    [message] = only_error(load_definitions(reports, sql_root=sql_root)).messages
    assert message.startswith("id: "), message
    assert "differs from the file name 'sales.yaml'" in message


def test_two_files_of_one_id_are_both_refused_each_naming_the_other(reports: Path, sql_root: Path) -> None:
    write(reports, "shared.yaml", minimal(title="First"))
    write(reports, "shared.yml", minimal(title="Second"))
    write(reports, "other.yaml", minimal())
    for only in (None, "shared"):
        result = load_definitions(reports, sql_root=sql_root, only_id=only)
        assert [d.id for d in result.definitions] == ([] if only else ["other"])
        assert result.error_text() == (
            "include/reports/shared.yaml: id: 'shared' is also the id of include/reports/shared.yml; neither file"
            " is loaded until one of them is removed\n"
            "include/reports/shared.yml: id: 'shared' is also the id of include/reports/shared.yaml; neither file"
            " is loaded until one of them is removed"
        )


def test_a_broken_twin_still_refuses_the_good_one(reports: Path, sql_root: Path) -> None:
    write(reports, "shared.yaml", minimal())
    write(reports, "shared.yml", "title: [unclosed\n")
    result = load_definitions(reports, sql_root=sql_root)
    assert result.definitions == []
    [good, broken] = result.errors
    assert good.messages == (
        "id: 'shared' is also the id of include/reports/shared.yml; neither file is loaded until one of them"
        " is removed",
    )
    assert broken.messages[0].startswith("not valid YAML")
    assert broken.messages[1].startswith("id: 'shared' is also the id of include/reports/shared.yaml")


def test_id_defaults_to_the_file_stem(reports: Path, sql_root: Path) -> None:
    write(reports, "weekly_sales.yml", minimal())
    [loaded] = load_definitions(reports, sql_root=sql_root).definitions
    assert (loaded.id, loaded.dag_id) == ("weekly_sales", "report__weekly_sales")


def test_an_id_equal_to_the_file_name_may_be_written(reports: Path, sql_root: Path) -> None:
    write(reports, "weekly_sales.yaml", minimal(id="weekly_sales"))
    [loaded] = load_definitions(reports, sql_root=sql_root).definitions
    assert loaded.id == "weekly_sales"


def test_file_stem_that_is_not_a_valid_id(reports: Path, sql_root: Path) -> None:
    write(reports, "Weekly-Sales.yaml", minimal())
    result = load_definitions(reports, sql_root=sql_root)
    assert result.definitions == []
    assert result.error_text().startswith("include/reports/Weekly-Sales.yaml: id: must start with a lower-case letter")


# --- SQL checks ----------------------------------------------------------------------------------------


def test_missing_sql_file(reports: Path, sql_root: Path) -> None:
    write(reports, "report.yaml", minimal(engine={"type": "sql", "conn_id": "c", "sql": "finance/missing.sql"}))
    result = load_definitions(reports, sql_root=sql_root)
    assert result.definitions == []
    assert result.error_text() == (
        "include/reports/report.yaml: engine.sql: file not found: include/sql/finance/missing.sql"
    )


def test_sql_with_undeclared_parameters(reports: Path, sql_root: Path) -> None:
    (sql_root / "report.sql").write_text(
        "SELECT * FROM sales WHERE sale_date >= :start AND region = :region AND country = :country\n"
        "  AND product = :region\n"
    )
    write(reports, "report.yaml", minimal(parameters={"country": {"default": "FR"}}))
    result = load_definitions(reports, sql_root=sql_root)
    assert result.definitions == []
    assert result.error_text() == (
        "include/reports/report.yaml: engine.sql: report.sql uses undeclared parameters: start, region"
    )


def test_sql_placeholders_in_quotes_comments_and_casts_are_not_parameters(reports: Path, sql_root: Path) -> None:
    (sql_root / "report.sql").write_text(
        "-- filter by :nothing\n"
        "/* :also_nothing\n   over two lines */\n"
        "SELECT ':not_a_param' AS a, \"odd:name\" AS b, amount::numeric AS c, '10:30' AS t\n"
        "FROM sales WHERE region = :region\n"
    )
    write(reports, "report.yaml", minimal(parameters={"region": {"default": "EMEA"}}))
    result = load_definitions(reports, sql_root=sql_root)
    assert result.errors == []
    assert [d.id for d in result.definitions] == ["report"]


def test_a_missing_sql_file_is_listed_beside_the_schema_errors(reports: Path, sql_root: Path) -> None:
    write(reports, "report.yaml", minimal(priority=0, engine={"type": "sql", "conn_id": "c", "sql": "missing.sql"}))
    assert only_error(load_definitions(reports, sql_root=sql_root)).messages == (
        "priority: input should be greater than or equal to 1",
        "engine.sql: file not found: include/sql/missing.sql",
    )


def test_undeclared_sql_parameters_are_listed_beside_the_schema_errors(reports: Path, sql_root: Path) -> None:
    (sql_root / "report.sql").write_text("SELECT 1 WHERE a = :region AND b = :country")
    write(reports, "report.yaml", minimal(owner="", parameters={"region": {"type": "bogus"}}))
    assert only_error(load_definitions(reports, sql_root=sql_root)).messages == (
        "owner: string should have at least 1 character",
        "parameters.region.type: input should be 'string', 'integer', 'number', 'boolean', 'date' or 'datetime'",
        "engine.sql: report.sql uses undeclared parameters: country",
    )


@pytest.mark.parametrize("sql", ["../outside.sql", "/etc/passwd.sql", "report.txt", 5])
def test_a_sql_path_the_model_refuses_is_never_opened(reports: Path, sql_root: Path, sql: Any) -> None:
    (sql_root.parent / "outside.sql").write_text("SELECT :secret")
    write(reports, "report.yaml", minimal(engine={"type": "sql", "conn_id": "c", "sql": sql}))
    [message] = only_error(load_definitions(reports, sql_root=sql_root)).messages
    assert message.startswith("engine.sql: "), message
    assert "not found" not in message and "undeclared" not in message


def test_parse_without_sql_root_skips_the_sql_checks(reports: Path) -> None:
    path = write(reports, "report.yaml", minimal(engine={"type": "sql", "conn_id": "c", "sql": "missing.sql"}))
    assert parse_definition(path).engine.sql == "missing.sql"


def test_parse_with_sql_root_checks_the_sql(reports: Path, sql_root: Path) -> None:
    path = write(reports, "report.yaml", minimal(engine={"type": "sql", "conn_id": "c", "sql": "missing.sql"}))
    with pytest.raises(DefinitionFileError) as caught:
        parse_definition(path, sql_root)
    assert caught.value.error.messages == ("engine.sql: file not found: include/sql/missing.sql",)


# --- files that are not definitions --------------------------------------------------------------------


@pytest.mark.parametrize("text", ["title: [unclosed\n", "title: a\n  owner: b\n", "key: 'open\n", "\tbad: tab\n"])
def test_yaml_syntax_error(reports: Path, sql_root: Path, text: str) -> None:
    write(reports, "broken.yaml", text)
    error = only_error(load_definitions(reports, sql_root=sql_root))
    [message] = error.messages
    assert message.startswith("not valid YAML: ")
    assert "\n" not in message
    assert error.lines() == [f"include/reports/broken.yaml: {message}"]


@pytest.mark.parametrize("text", ["", "# only a comment\n", "- a\n- b\n", "just text\n", "42\n", "null\n"])
def test_yaml_that_is_not_a_mapping(reports: Path, sql_root: Path, text: str) -> None:
    write(reports, "odd.yaml", text)
    assert only_error(load_definitions(reports, sql_root=sql_root)).lines() == [
        "include/reports/odd.yaml: must be a mapping of fields (id, title, engine...)"
    ]


def test_yaml_is_loaded_safely(reports: Path, sql_root: Path) -> None:
    write(reports, "evil.yaml", "title: !!python/object/apply:os.system ['echo pwned']\n")
    [message] = only_error(load_definitions(reports, sql_root=sql_root)).messages
    assert message.startswith("not valid YAML: ")


def test_unreadable_file(project: Path) -> None:
    with pytest.raises(DefinitionFileError) as caught:
        parse_definition(project / "include" / "reports" / "gone.yaml")
    expected = DefinitionError("include/reports/gone.yaml", ("cannot be read: No such file or directory",))
    assert caught.value.error == expected
    assert isinstance(caught.value, ValueError)
    assert str(caught.value) == "include/reports/gone.yaml: cannot be read: No such file or directory"


# --- only_id -------------------------------------------------------------------------------------------


def test_only_id_loads_just_that_file(reports: Path, sql_root: Path) -> None:
    write(reports, "sales.yaml", minimal())
    write(reports, "stock.yaml", minimal())
    write(reports, "broken.yaml", "oops: [")
    result = load_definitions(reports, sql_root=sql_root, only_id="stock")
    assert [d.id for d in result.definitions] == ["stock"]
    assert result.errors == []


def test_only_id_matches_yml_files_too(reports: Path, sql_root: Path) -> None:
    write(reports, "sales.yml", minimal())
    write(reports, "stock.yaml", minimal())
    assert [d.id for d in load_definitions(reports, sql_root=sql_root, only_id="sales").definitions] == ["sales"]


@pytest.mark.parametrize("only", ["renamed", "../reports/one", "", ".hidden", "a/b"])
def test_only_id_without_its_file_loads_nothing(reports: Path, sql_root: Path, only: str) -> None:
    # an id is its file's name: when that file does not exist, no other file can define it
    write(reports, "one.yaml", minimal(id="renamed"))
    write(reports, "two.yaml", minimal())
    result = load_definitions(reports, sql_root=sql_root, only_id=only)
    assert (result.definitions, result.errors) == ([], [])


def test_only_id_gives_what_the_full_load_gives_for_that_id(reports: Path, sql_root: Path) -> None:
    write(reports, "good.yaml", minimal(title="Good"))
    write(reports, "bad.yml", minimal(priority=0))
    write(reports, "renamed.yaml", minimal(id="other"))
    full = load_definitions(reports, sql_root=sql_root)
    for report_id in ("good", "bad", "renamed", "other"):
        one = load_definitions(reports, sql_root=sql_root, only_id=report_id)
        assert one.definitions == [d for d in full.definitions if d.id == report_id]
        assert one.errors == [e for e in full.errors if Path(e.file).stem == report_id]


# --- default folders -----------------------------------------------------------------------------------


def test_default_folders_come_from_the_environment(
    reports: Path, sql_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(reports, "sales.yaml", minimal())
    monkeypatch.setenv(loader.REPORTS_DIR_ENV, str(reports))
    monkeypatch.setenv(loader.SQL_DIR_ENV, str(sql_root))
    assert (loader.reports_dir(), loader.sql_dir()) == (reports, sql_root)
    assert [d.id for d in load_definitions().definitions] == ["sales"]


def test_default_folders_are_the_project_include_folders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(loader.REPORTS_DIR_ENV, raising=False)
    monkeypatch.delenv(loader.SQL_DIR_ENV, raising=False)
    root = Path(__file__).resolve().parents[3]
    assert loader.reports_dir() == root / "include" / "reports"
    assert loader.sql_dir() == root / "include" / "sql"


# --- bounds: every one a field error, quoting at most a short prefix -----------------------------------


@pytest.mark.parametrize(
    ("changes", "line"),
    [
        (
            {"retry": {"retry_delay": "99999999999d"}},
            "retry.retry_delay: '99999999999d' is longer than 365 days, the longest duration a definition may set",
        ),
        (
            {"execution_timeout": "9" * 5_000 + "h"},
            "execution_timeout: '" + "9" * 60 + "…' (5,001 chars) is longer than 365 days",
        ),
        ({"run_timeout": "P9999Y"}, "run_timeout: '3649635d' is longer than 365 days"),
        ({"run_timeout": 10**12}, "run_timeout: '1e+12s' is longer than 365 days"),
        ({"run_timeout": "366d"}, "run_timeout: '366d' is longer than 365 days"),
        ({"retry": {"backoff_multiplier": "nan"}}, "retry.backoff_multiplier: input should be a finite number"),
        (
            {"parameters": {"x": {"type": "number", "default": "nan"}}},
            "parameters.x.default: expected a finite number, got nan",
        ),
        (
            {"parameters": {"x": {"type": "number", "allowed_values": [1, "-inf"]}}},
            "parameters.x.allowed_values: item 1: expected a finite number, got -inf",
        ),
        (
            {"parameters": {"x": {"type": "integer", "default": "1" * 101}}},
            "parameters.x.default: expected an integer, got '" + "1" * 60 + "…' (101 chars)",
        ),
        (
            {"parameters": {f"p{i}": {} for i in range(201)}},
            "parameters: declares 201 parameters; a definition may declare at most 200",
        ),
        (
            {"parameters": {"x": {"allowed_values": list(range(1_001))}}},
            "parameters.x.allowed_values: list should have at most 1000 items after validation, not 1001",
        ),
        ({"tags": ["t" * 100_000]}, "tags: tag '" + "t" * 60 + "…' (100,000 chars) must be 1-100 characters"),
    ],
)
def test_each_bound_is_a_field_error(reports: Path, sql_root: Path, changes: dict[str, Any], line: str) -> None:
    write(reports, "report.yaml", minimal(**changes))
    [message] = only_error(load_definitions(reports, sql_root=sql_root)).messages
    assert message.startswith(line), message


def test_exactly_at_the_bounds_is_accepted(reports: Path, sql_root: Path) -> None:
    parameters = {f"p{i}": {"type": "integer", "default": 0} for i in range(199)}
    parameters["x"] = {"type": "integer", "allowed_values": list(range(1_000)), "default": 999}
    write(reports, "report.yaml", minimal(parameters=parameters, run_timeout="365d", execution_timeout="365d"))
    [loaded] = load_definitions(reports, sql_root=sql_root).definitions
    assert len(loaded.parameters) == 200


def test_a_huge_key_is_quoted_in_the_field_path(reports: Path, sql_root: Path) -> None:
    write(reports, "report.yaml", minimal(parameters={"k" * 100_000: {"type": "bogus"}}))
    messages = only_error(load_definitions(reports, sql_root=sql_root)).messages
    assert all(len(message) <= 500 for message in messages)
    assert messages[0].startswith("parameters['" + "k" * 40 + "…' (100,000 chars)].type: input should be")


def test_a_message_carrying_a_huge_value_is_cut_to_one_short_line(reports: Path, sql_root: Path) -> None:
    write(reports, "report.yaml", minimal(engine={"type": "x" * 100_000, "conn_id": "c"}))
    [message] = only_error(load_definitions(reports, sql_root=sql_root)).messages
    assert message.startswith("engine: input tag 'xxx")
    assert len(message) == 500 and message.endswith("…")


def test_a_file_with_thousands_of_problems_lists_twenty_and_counts_the_rest(reports: Path, sql_root: Path) -> None:
    write(reports, "report.yaml", minimal(parameters={f"p{i}": {"type": "bogus"} for i in range(150)}))
    messages = only_error(load_definitions(reports, sql_root=sql_root)).messages
    assert len(messages) == 21
    assert messages[-1] == "… and 130 more problems"


def test_yaml_bounds_are_field_errors_of_the_file(reports: Path, sql_root: Path) -> None:
    write(reports, "nan.yaml", "title: x\nretry:\n  backoff_multiplier: .nan\n")
    write(reports, "big.yaml", "title: " + "x" * (300 * 1024) + "\n")
    write(reports, "good.yaml", minimal())
    result = load_definitions(reports, sql_root=sql_root)
    assert [d.id for d in result.definitions] == ["good"]
    assert result.error_text() == (
        "include/reports/big.yaml: the file is 307,208 bytes; a definition may be at most 262,144 bytes (256 KiB)\n"
        "include/reports/nan.yaml: retry.backoff_multiplier: .nan is not a finite number (NaN and infinity are"
        " refused)"
    )


class _Unforeseen(RuntimeError):
    pass


def test_an_error_nobody_foresaw_is_that_files_error(
    reports: Path, sql_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = loader.ReportDefinition.model_validate

    def validate(data: Any) -> Any:
        if data.get("title") == "explodes":
            raise _Unforeseen("boom\nsecond line")
        return real(data)

    monkeypatch.setattr(loader.ReportDefinition, "model_validate", validate)
    write(reports, "alpha.yaml", minimal())
    write(reports, "bravo.yaml", minimal(title="explodes"))
    result = load_definitions(reports, sql_root=sql_root)
    assert [d.id for d in result.definitions] == ["alpha"]
    assert result.error_text() == "include/reports/bravo.yaml: could not be loaded: _Unforeseen: boom second line"
    assert result.files == {"alpha": "include/reports/alpha.yaml"}
