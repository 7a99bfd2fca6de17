"""Tests for file-name templates, sanitising, staging keys and ${VAR} expansion."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reporting.naming import (
    TEMPLATE_FIELDS,
    NamingContext,
    TemplateError,
    check_template,
    expand_env,
    render_filename,
    safe_component,
    staging_key,
    template_fields,
)

DEFAULT_TEMPLATE = "{report_id}_{run_date}.{format}"


def context(**params: Any) -> NamingContext:
    return NamingContext(
        report_id="sales_summary",
        run_date="2026-03-01",
        request_id="req-42",
        title="Sales summary",
        params=params,
    )


# --- check_template ------------------------------------------------------------------------------------


def test_template_fields_lists_fields_in_order() -> None:
    assert template_fields("{report_id}_{params[region]}_{run_date}.{format}") == [
        "report_id",
        "params[region]",
        "run_date",
        "format",
    ]
    assert template_fields("static.csv") == []
    assert template_fields("{{literal}}.csv") == []


@pytest.mark.parametrize(
    "template",
    [
        DEFAULT_TEMPLATE,
        "{report_id}-{run_date}-{request_id}-{title}.{format}",
        "{params[region]}_{params[start_date]}.{format}",
        "static_name.csv",
        "{{braces}}_{report_id}.{format}",
    ],
)
def test_check_template_accepts(template: str) -> None:
    assert check_template(template, {"region", "start_date"}) is None


def test_every_documented_field_is_accepted_and_renders_its_value() -> None:
    values = {
        "report_id": "sales_summary",
        "run_date": "2026-03-01",
        "request_id": "req-42",
        "format": "csv",
        "title": "Sales summary",
    }
    assert sorted(TEMPLATE_FIELDS) == sorted(values)
    for field in TEMPLATE_FIELDS:
        assert check_template("{" + field + "}", frozenset()) is None
        assert render_filename("{" + field + "}", context(), "csv") == values[field]


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("{date}.csv", "unknown field {date}"),
        ("{report_id.upper}.csv", "unknown field {report_id.upper}"),
        ("{report_id[0]}.csv", "unknown field {report_id[0]}"),
        ("{0}.csv", "unknown field {0}"),
        ("{}.csv", "positional fields '{}' are not allowed"),
        ("{params[country]}.csv", "{params[country]} does not name a declared parameter (declared: region)"),
        ("{params}.csv", "{params} does not name a declared parameter"),
        ("{params[region][x]}.csv", "does not name a declared parameter"),
        ("{params[region}.csv", "malformed template"),
        ("{report_id", "malformed template"),
        ("report_id}", "malformed template"),
    ],
)
def test_check_template_rejects(template: str, fragment: str) -> None:
    with pytest.raises(TemplateError) as caught:
        check_template(template, {"region"})
    assert fragment in str(caught.value)


def test_check_template_without_parameters_says_none_are_declared() -> None:
    with pytest.raises(TemplateError, match=r"\(declared: none\)"):
        check_template("{params[region]}", set())


def test_unknown_field_error_lists_the_usable_fields() -> None:
    with pytest.raises(TemplateError) as caught:
        check_template("{nope}", set())
    for field in TEMPLATE_FIELDS:
        assert "{" + field + "}" in str(caught.value)
    assert "{params[name]}" in str(caught.value)


# --- safe_component ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("EMEA", "EMEA"),
        ("2026-03-01", "2026-03-01"),
        ("a b.c_d-e", "a b.c_d-e"),
        ("../../etc/passwd", "_._etc_passwd"),
        ("a..b", "a.b"),
        ("..", "_"),
        (".", "_"),
        ("", "_"),
        ("a/b\\c", "a_b_c"),
        ("nul\x00byte", "nul_byte"),
        ("line\nbreak\ttab", "line_break_tab"),
        ("Zürich", "Z_rich"),
        (" .hidden. ", "hidden"),
        ("a:*?<>|b", "a_b"),
    ],
)
def test_safe_component(value: str, expected: str) -> None:
    assert safe_component(value) == expected


# --- render_filename -----------------------------------------------------------------------------------


def test_render_default_template() -> None:
    assert render_filename(DEFAULT_TEMPLATE, context(), "pdf") == "sales_summary_2026-03-01.pdf"


def test_render_every_field() -> None:
    template = "{report_id}-{run_date}-{request_id}-{title}-{params[region]}.{format}"
    name = render_filename(template, context(region="EMEA"), "xlsx")
    assert name == "sales_summary-2026-03-01-req-42-Sales summary-EMEA.xlsx"


def test_render_converts_non_text_parameter_values() -> None:
    assert render_filename("{params[top]}_{params[flag]}.csv", context(top=10, flag=True), "csv") == "10_True.csv"


@pytest.mark.parametrize(
    "value", ["../../etc/passwd", "..", "/etc/passwd", "..\\..\\windows", "a/../../b", "x\x00.sh", "~/.ssh/id_rsa"]
)
def test_parameter_values_cannot_leave_the_target_directory(tmp_path: Path, value: str) -> None:
    name = render_filename("{params[region]}.{format}", context(region=value), "csv")
    assert "/" not in name and "\\" not in name and "\x00" not in name
    assert ".." not in name
    target = tmp_path / "out"
    assert (target / name).resolve().parent == target.resolve()


def test_traversal_value_is_neutralised_to_a_flat_name() -> None:
    name = render_filename("{report_id}_{params[region]}.{format}", context(region="../../etc/passwd"), "pdf")
    assert name == "sales_summary__._etc_passwd.pdf"


def test_every_context_field_is_sanitised() -> None:
    evil = NamingContext(report_id="../r", run_date="2026/03/01", request_id="a/b", title="Sales / Summary", params={})
    name = render_filename("{report_id}_{run_date}_{request_id}_{title}.{format}", evil, "../csv")
    assert name == "_r_2026_03_01_a_b_Sales _ Summary._csv"


@pytest.mark.parametrize(
    "template", ["sub/{report_id}.csv", "..", ".", "{report_id}\\x.csv", "{report_id}\x00.csv", "/abs.csv", ""]
)
def test_template_text_that_renders_an_unsafe_name(template: str) -> None:
    with pytest.raises(TemplateError, match="unsafe file name"):
        render_filename(template, context(), "csv")


@pytest.mark.parametrize("template", ["{report_id}\n.csv", "{report_id}\t.csv", "\x1b[31m.csv"])
def test_template_text_with_control_characters(template: str) -> None:
    with pytest.raises(TemplateError, match="control characters"):
        render_filename(template, context(), "csv")


@pytest.mark.parametrize("template", ["{params[missing]}.csv", "{unknown}.csv", "{0}.csv", "{report_id:d}.csv"])
def test_template_that_cannot_be_rendered(template: str) -> None:
    with pytest.raises(TemplateError, match="cannot be rendered"):
        render_filename(template, context(), "csv")


def test_value_that_sanitises_to_nothing_still_gives_a_name() -> None:
    assert render_filename("{params[region]}", context(region="..."), "csv") == "_"


# --- staging_key ---------------------------------------------------------------------------------------


def test_staging_key_is_deterministic() -> None:
    first = staging_key("sales_summary", "2026-03-01", "req-42", "sales_summary_2026-03-01.pdf")
    again = staging_key("sales_summary", "2026-03-01", "req-42", "sales_summary_2026-03-01.pdf")
    assert first == again == "sales_summary/2026-03-01/req-42/sales_summary_2026-03-01.pdf"


def test_staging_keys_differ_per_request_and_file() -> None:
    keys = {
        staging_key("r", "2026-03-01", "req-1", "a.pdf"),
        staging_key("r", "2026-03-01", "req-2", "a.pdf"),
        staging_key("r", "2026-03-01", "req-1", "a.csv"),
        staging_key("r", "2026-03-02", "req-1", "a.pdf"),
    }
    assert len(keys) == 4


def test_staging_key_components_are_sanitised() -> None:
    key = staging_key("../../r", "2026/03/01", "../req", "a.pdf")
    parts = key.split("/")
    assert parts == ["_._r", "2026_03_01", "_req", "a.pdf"]
    assert not any(".." in part for part in parts)


# --- expand_env ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "environ", "expected"),
    [
        ("${OUT}/sales", {"OUT": "/mnt/nas"}, "/mnt/nas/sales"),
        ("${OUT:-/tmp/out}/sales", {"OUT": "/mnt/nas"}, "/mnt/nas/sales"),
        ("${OUT:-/tmp/out}/sales", {}, "/tmp/out/sales"),
        ("${OUT:-/tmp/out}/sales", {"OUT": ""}, "/tmp/out/sales"),
        ("/base${SUB:-}/x", {}, "/base/x"),
        ("${A}/${B:-b}/${A}", {"A": "a"}, "a/b/a"),
        ("/plain/path", {}, "/plain/path"),
        ("$OUT/x and $(cmd)", {"OUT": "/mnt"}, "$OUT/x and $(cmd)"),
        ("${_UNDER_9}", {"_UNDER_9": "ok"}, "ok"),
    ],
)
def test_expand_env(value: str, environ: dict[str, str], expected: str) -> None:
    assert expand_env(value, environ) == expected


def test_expand_env_value_is_not_expanded_again() -> None:
    assert expand_env("${A}", {"A": "${B}", "B": "nope"}) == "${B}"


@pytest.mark.parametrize("environ", [{}, {"OTHER": "x"}, {"OUT": ""}])
def test_expand_env_unset_variable_without_default(environ: dict[str, str]) -> None:
    with pytest.raises(TemplateError) as caught:
        expand_env("${OUT}/sales", environ)
    assert "environment variable OUT is not set and has no default" in str(caught.value)


@pytest.mark.parametrize("template", ["sub/{report_id}.csv", "..", "{report_id}\\x.csv"])
def test_literal_text_that_makes_an_unsafe_name_is_refused_at_load(template: str) -> None:
    with pytest.raises(TemplateError, match="unsafe file name"):
        check_template(template, frozenset())
