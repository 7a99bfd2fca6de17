"""Tests for file-name templates, sanitising, staging keys and ${VAR} expansion."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from reporting.naming import (
    TEMPLATE_FIELDS,
    NamingContext,
    TemplateError,
    check_template,
    env_default_problems,
    expand_env,
    render_filename,
    render_key,
    safe_component,
    staging_key,
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
    parsed = check_template(template, {"region", "start_date"}, report_id="sales_summary", title="Sales summary")
    assert parsed.text == template


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
        assert check_template("{" + field + "}", frozenset()).fields == (field,)
        assert render_filename("{" + field + "}", context(), "csv") == values[field]


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("{date}.csv", "unknown field {date}"),
        ("{report_id.upper}.csv", "attribute access is not allowed"),
        ("{report_id[0]}.csv", "index access is allowed only as {params[name]}"),
        ("{0}.csv", "positional placeholders are not allowed"),
        ("{}.csv", "an empty placeholder"),
        ("{params[country]}.csv", "{params[country]} is not a declared parameter (declared: region)"),
        ("{params}.csv", "params needs a parameter name: {params[name]}"),
        ("{params[region][x]}.csv", "index access is allowed only as {params[name]}"),
        ("{params[region}.csv", "params[...] must name a parameter"),
        ("{report_id", "'{' is never closed"),
        ("report_id}", "a single '}'"),
        ("{report_id:>1999999999}.csv", "format specs are not allowed; write {report_id}"),
        ("{report_id!r}.csv", "conversions are not allowed; write {report_id}"),
        ("{report_id:{title.__class__.__name__[0]}}", "format specs are not allowed"),
        ("{title.__class__}.csv", "attribute access is not allowed"),
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


# --- the template language and rendered bounds ------------------------------------------------------------


def test_a_huge_width_is_refused_at_once_with_a_short_message() -> None:
    started = time.perf_counter()
    with pytest.raises(TemplateError) as caught:
        check_template("{report_id:>1999999999}", frozenset())
    assert time.perf_counter() - started < 0.1
    assert str(caught.value) == (
        "template '{report_id:>1999999999}': at character 1: format specs are not allowed; write {report_id}"
    )


@pytest.mark.parametrize(
    "template", ["{report_id:{title.__class__.__name__[0]}}", "{title.__class__}", "{report_id!s}", "{params[a].b}"]
)
def test_nothing_is_evaluated_at_render_time_either(template: str) -> None:
    with pytest.raises(TemplateError, match="cannot be rendered: template"):
        render_filename(template, context(a="x"), "csv")


def test_a_file_name_is_bounded_with_the_longest_allowed_value() -> None:
    allowed = {"region": ["EMEA", "x" * 240]}
    check_template("{report_id}_{params[region]}.{format}", allowed, report_id="r", title="t")  # 1+1+240+1+4
    with pytest.raises(TemplateError) as caught:
        check_template("{report_id}_{params[region]}_{run_date}.{format}", allowed, report_id="r", title="t")
    assert str(caught.value) == (
        "template '{report_id}_{params[region]}_{run_date}.{format}' can render a file name of 258 bytes with the"
        " longest values; at most 255"
    )


def test_bounds_count_utf8_bytes_of_the_literal_text() -> None:
    check_template("é" * 125 + ".csv", frozenset())  # 250 + 4 bytes
    with pytest.raises(TemplateError, match="can render a file name of 256 bytes"):
        check_template("é" * 126 + ".csv", frozenset())


def test_without_the_definition_the_report_id_and_title_count_at_their_bounds() -> None:
    # report id <= 100, request id <= 64, title <= 200 characters
    with pytest.raises(TemplateError, match="can render a file name of 382 bytes"):
        check_template("{report_id}-{run_date}-{request_id}-{title}.{format}", frozenset())
    check_template("{report_id}-{run_date}-{request_id}-{title}.{format}", frozenset(), report_id="r", title="T")


def test_each_key_segment_and_the_whole_key_are_bounded() -> None:
    long = "x" * 250
    check_template(f"{long}/{long}/{{report_id}}.{{format}}", frozenset(), "key", report_id="r", title="t")
    with pytest.raises(TemplateError, match=r"can render the key segment '" + "x" * 36):
        check_template(f"a/{long}{{run_date}}/{{format}}", frozenset(), "key", report_id="r", title="t")
    template = "/".join(["x" * 150] * 5) + "/{request_id}/{title}/{report_id}"  # 754 + 65 + 201 + 101
    with pytest.raises(TemplateError, match="can render a key of 1,121 bytes with the longest values; at most 1024"):
        check_template(template, frozenset(), "key")


def test_a_subject_is_bounded_in_characters() -> None:
    check_template("{title} " + "é" * 800, frozenset(), "header", report_id="r", title="t")
    with pytest.raises(TemplateError, match="can render a header of 1,001 characters; at most 900"):
        check_template("{params[p]}", {"p": ["y" * 1_001]}, "header", report_id="r", title="t")


def test_a_free_form_value_is_bounded_when_rendered_naming_the_size() -> None:
    check_template("{params[region]}.{format}", {"region": None}, report_id="r", title="t")
    with pytest.raises(TemplateError) as caught:
        render_filename("{params[region]}.{format}", context(region="x" * 300), "csv")
    assert str(caught.value) == (
        "template '{params[region]}.{format}' renders to a file name of 304 bytes ('"
        + "x" * 40
        + "…' (304 chars)); at most 255: a value is too long for it"
    )
    with pytest.raises(TemplateError, match="renders to a key segment of 300 bytes"):
        render_key("a/{params[region]}/b", context(region="x" * 300), "csv")


@pytest.mark.parametrize(
    "template",
    [
        DEFAULT_TEMPLATE,
        "{report_id}-{run_date}-{request_id}-{title}-{params[region]}.{format}",
        "{{literal}} {title}.{format}",
        "plain.csv",
    ],
)
def test_an_accepted_template_renders_as_str_format_did(template: str) -> None:
    ctx = context(region="EMEA")
    values = {
        "report_id": ctx.report_id,
        "run_date": ctx.run_date,
        "request_id": ctx.request_id,
        "title": ctx.title,
        "format": "pdf",
        "params": {"region": "EMEA"},
    }
    assert render_filename(template, ctx, "pdf") == template.format_map(values)


@pytest.mark.parametrize(
    ("value", "problems"),
    [
        ("/srv/x", []),
        ("${OUT}/x", []),
        ("${OUT:-/tmp/out}/x", []),
        ("${OUT:-/tmp/x/..}", ["the default of ${OUT} ('/tmp/x/..') must not contain '..'"]),
        ("${OUT:-/a\x7f}", ["the default of ${OUT} must not contain control characters"]),
        ("${OUT:-rel}", ["with its defaults, the path is 'rel', not an absolute directory"]),
    ],
)
def test_env_default_problems(value: str, problems: list[str]) -> None:
    assert env_default_problems(value) == problems
