"""Templates as a small language: only {name} and {params[name]}, rendered without evaluating anything."""

from __future__ import annotations

import html
import time

import pytest

from reporting.templates import Placeholder, Template, TemplateError, parse_template

FIELDS = ("report_id", "run_date", "request_id", "format", "title")
VALUES = {"report_id": "sales", "run_date": "2026-01-01", "request_id": "REQ-1", "format": "pdf", "title": "Sales"}


def parse(text: str, parameters: tuple[str, ...] | None = ("region", "year")) -> Template:
    return parse_template(text, FIELDS, parameters)


def problem(text: str, parameters: tuple[str, ...] | None = ("region",)) -> str:
    with pytest.raises(TemplateError) as caught:
        parse(text, parameters)
    return str(caught.value)


# --- what a template may hold -------------------------------------------------------------------------------


def test_a_template_is_literal_text_and_placeholders_in_order() -> None:
    template = parse("{report_id}_{params[region]}_{run_date}.{format}")
    assert template.parts == (
        Placeholder("report_id"),
        "_",
        Placeholder("params", "region"),
        "_",
        Placeholder("run_date"),
        ".",
        Placeholder("format"),
    )
    assert template.fields == ("report_id", "run_date", "format")
    assert template.param_names == ("region",)
    assert str(template) == "{report_id}_{params[region]}_{run_date}.{format}"


def test_fields_and_parameters_are_listed_once_each() -> None:
    template = parse("{report_id}-{params[year]}-{report_id}-{params[year]}-{params[region]}")
    assert template.fields == ("report_id",)
    assert template.param_names == ("year", "region")


def test_doubled_braces_are_literal_braces() -> None:
    assert parse("{{x}} {{{report_id}}}").parts == ("{x} {", Placeholder("report_id"), "}")
    assert parse("{{}}").render({}, {}) == "{}"


def test_plain_text_and_the_empty_template_have_no_placeholders() -> None:
    assert parse("report.pdf").parts == ("report.pdf",)
    assert parse("").parts == ()


def test_without_a_parameter_list_any_parameter_name_is_taken() -> None:
    assert parse("{params[anything]}", parameters=None).param_names == ("anything",)


# --- what it may not -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{report_id:>1999999999}", "at character 1: format specs are not allowed; write {report_id}"),
        ("x_{params[region]:>5}", "'{params[region]:>5}' at character 3: format specs are not allowed"),
        ("{title!r}", "at character 1: conversions are not allowed; write {title}"),
        ("{title.__class__}", "at character 1: attribute access is not allowed"),
        ("{report_id:{title.__class__.__name__[0]}}", "format specs are not allowed"),
        ("{x[0]}", "at character 1: index access is allowed only as {params[name]}"),
        ("{params[region][0]}", "at character 1: index access is allowed only as {params[name]}"),
        ("{params[0]}", "at character 1: params[...] must name a parameter (letters, digits and _)"),
        ("{params[a.b]}", "at character 1: params[...] must name a parameter (letters, digits and _)"),
        ("{params}", "at character 1: params needs a parameter name: {params[name]}"),
        ("x{report_id{title}}", "'{report_id{title}' at character 2: nested placeholders are not allowed"),
        ("a{{report_id}", "'}' at character 13: a single '}' (write '}}' for a literal brace)"),
        ("a}b", "'}' at character 2: a single '}' (write '}}' for a literal brace)"),
        ("name_{report_id", "'{report_id' at character 6: '{' is never closed (write '{{' for a literal brace)"),
        ("{params[region]", "at character 1: '{' is never closed"),
        ("x{}", "'{}' at character 2: an empty placeholder; name a field"),
        ("{0}", "at character 1: positional placeholders are not allowed; name a field"),
        ("{ report_id}", "at character 1: ' ' cannot appear in a placeholder; name a field"),
        ("{report-id}", "at character 1: '-' cannot appear in a placeholder; name a field"),
    ],
)
def test_anything_but_a_plain_placeholder_is_refused_saying_what_and_where(text: str, message: str) -> None:
    found = problem(text)
    assert found.startswith("template ")
    assert message in found


def test_nested_braces_inside_a_placeholder_are_refused() -> None:
    assert "nested placeholders are not allowed" in problem("{{{report_id{title}}}")


def test_an_unknown_field_lists_the_usable_ones() -> None:
    assert problem("{nope}") == (
        "template '{nope}': at character 1: unknown field {nope}; "
        "use {format}, {report_id}, {request_id}, {run_date}, {title} or {params[name]}"
    )


def test_an_undeclared_parameter_lists_the_declared_ones_up_to_ten() -> None:
    assert problem("{params[nope]}").endswith("{params[nope]} is not a declared parameter (declared: region)")
    assert problem("{params[nope]}", parameters=()).endswith("(declared: none)")
    many = tuple(f"p{i:03}" for i in range(200))
    assert problem("{params[nope]}", parameters=many).endswith(
        "(declared: p000, p001, p002, p003, p004, p005, p006, p007, p008, p009, … (200 in all))"
    )


def test_a_template_longer_than_the_limit_is_refused_quoting_a_prefix() -> None:
    assert parse("x" * 1_000).parts == ("x" * 1_000,)
    assert problem("{report_id}" * 200_000) == (
        "template '" + ("{report_id}" * 6)[:60] + "…' (2,200,000 chars): longer than 1,000 characters (the limit)"
    )


def test_a_template_that_is_not_text_is_refused() -> None:
    assert problem(42) == "a template must be text, got int"  # type: ignore[arg-type]


def test_a_hostile_template_is_refused_quickly_with_a_short_message() -> None:
    started = time.perf_counter()
    for text in ("}" * 999, "{" * 999, "{{" * 499 + "}", "{params[" + "a" * 990 + "]:x}"):
        assert len(problem(text)) < 300
    assert time.perf_counter() - started < 0.5


# --- rendering -------------------------------------------------------------------------------------------


def test_rendering_joins_literal_text_and_values() -> None:
    template = parse("{report_id}_{params[region]}_{run_date}.{format}")
    assert template.render(VALUES, {"region": "EMEA"}) == "sales_EMEA_2026-01-01.pdf"


def test_values_are_inserted_as_they_are_never_expanded_again() -> None:
    template = parse("{title} {params[region]}")
    assert template.render({"title": "{report_id.__class__}"}, {"region": "{{x}}"}) == "{report_id.__class__} {{x}}"


def test_escape_applies_to_values_not_to_the_literal_text() -> None:
    template = parse("<b>{title}</b> {params[region]}")
    rendered = template.render({"title": "<script>"}, {"region": "A&B"}, escape=html.escape)
    assert rendered == "<b>&lt;script&gt;</b> A&amp;B"


def test_a_placeholder_without_a_value_is_an_error_naming_it() -> None:
    with pytest.raises(TemplateError, match=r"no value for \{params\[year\]\}"):
        parse("{params[year]}").render(VALUES, {"region": "EMEA"})
    with pytest.raises(TemplateError, match=r"no value for \{title\}"):
        parse("{title}").render({}, {})


def test_a_value_that_is_not_a_string_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match=r"the value of \{params\[year\]\} must be a str, got int"):
        parse("{params[year]}").render(VALUES, {"year": 2026})  # type: ignore[dict-item]


# --- bounds -----------------------------------------------------------------------------------------------


def test_max_length_adds_the_literal_bytes_and_the_longest_values() -> None:
    template = parse("{report_id}_{params[region]}_é.{format}")
    assert template.max_length({"report_id": 100, "format": 4}, {"region": 20}) == 100 + 1 + 20 + 1 + 2 + 1 + 4
    assert template.max_length({"report_id": 100, "format": 4}, {"region": 20}, in_bytes=False) == 100 + 1 + 20 + 3 + 4


def test_max_length_counts_a_placeholder_each_time_it_appears() -> None:
    assert parse("{title}{title}{params[year]}{params[year]}").max_length({"title": 7}, {"year": 4}) == 22


def test_max_length_without_a_longest_value_is_an_error_naming_the_placeholder() -> None:
    with pytest.raises(TemplateError, match=r"no longest value is known for \{params\[region\]\}"):
        parse("{params[region]}").max_length({}, {})


def test_split_cuts_at_literal_separators_only() -> None:
    segments = parse("{report_id}/{run_date}/{{x}}_{params[region]}.{format}").split("/")
    assert [str(s) for s in segments] == ["{report_id}", "{run_date}", "{{x}}_{params[region]}.{format}"]
    assert segments[2].parts == ("{x}_", Placeholder("params", "region"), ".", Placeholder("format"))
    assert [s.max_length({"report_id": 9, "run_date": 10, "format": 4}, {"region": 20}) for s in segments] == [
        9,
        10,
        3 + 1 + 20 + 1 + 4,
    ]


def test_split_keeps_empty_segments_so_callers_can_refuse_them() -> None:
    assert [str(s) for s in parse("/a//{title}/").split("/")] == ["", "a", "", "{title}", ""]
    with pytest.raises(ValueError, match="separator"):
        parse("a").split("")


@pytest.mark.parametrize(
    "text",
    [
        "{report_id}_{run_date}.{format}",
        "{report_id}/{run_date}/{report_id}_{run_date}.{format}",
        "{report_id}_{params[region]}_{run_date}",
        "{title} for {params[region]} ({run_date})",
        "<p>{{literal}} {title}</p>",
        "no placeholders at all",
    ],
)
def test_an_accepted_template_renders_exactly_as_str_format_did(text: str) -> None:
    params = {"region": "EMEA", "year": "2026"}
    assert parse(text).render(VALUES, params) == text.format_map({**VALUES, "params": params})
