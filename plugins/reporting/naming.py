"""Naming of artifacts and delivered files: templates, their fields, bounds and sanitising.

Templates are parsed by :mod:`reporting.templates` (``{name}`` and ``{params[name]}`` only), so
a template can never evaluate anything or render more than its literal text and its values.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from reporting.limits import MAX_PATH_COMPONENT_BYTES, MAX_REQUEST_ID_CHARS, control_characters, quote
from reporting.templates import Template, TemplateError, parse_template

__all__ = [
    "MAX_HEADER_CHARS",
    "MAX_KEY_BYTES",
    "RENDERERS",
    "TEMPLATE_FIELDS",
    "NamingContext",
    "TemplateError",
    "check_template",
    "env_default_problems",
    "expand_env",
    "render_filename",
    "render_header",
    "render_key",
    "render_text",
    "safe_component",
    "staging_key",
]

TEMPLATE_FIELDS = ("report_id", "run_date", "request_id", "format", "title")
"""Fields a template may use, besides ``params[<name>]``."""

MAX_HEADER_CHARS = 900
"""The longest rendered e-mail header (a subject)."""

MAX_KEY_BYTES = 1024
"""The longest rendered object key (S3's limit), besides each segment's own bound."""

# The longest each field renders to when the definition does not say: report ids and titles are
# bounded by the definition model, run dates are ISO dates, formats are pdf/xlsx/csv (a message
# names all three: "pdf, xlsx, csv").
_LONGEST_FIELDS = {"report_id": 100, "run_date": 10, "request_id": MAX_REQUEST_ID_CHARS, "title": 200}
_LONGEST_FORMAT = {"filename": 4, "key": 4, "header": len("pdf, xlsx, csv"), "text": len("pdf, xlsx, csv")}
# A free-form value is counted as its shortest rendering ("_") at load time and bounded when rendered.
_SHORTEST_VALUE = 1

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_SAFE_CHARS = re.compile(r"[^A-Za-z0-9._\- ]+")

ParameterValues = Collection[Any] | int | None
"""What one parameter may render: its allowed values, the longest text of its type, or ``None`` (free-form)."""


@lru_cache(maxsize=2048)
def _parse(template: str, parameters: frozenset[str] | None) -> Template:
    return parse_template(template, TEMPLATE_FIELDS, parameters)


def check_template(
    template: str,
    parameters: Mapping[str, ParameterValues] | Collection[str],
    kind: str = "filename",
    *,
    report_id: str | None = None,
    title: str | None = None,
) -> Template:
    """Refuse a template that is not the small template language, uses a field no run can fill,
    has unsafe literal text, or can render a name longer than its bound.

    Names are bounded per path component (255 bytes for a file name and each segment of a key; a
    key in all 1,024 bytes; a subject 900 characters), counted with the longest value each
    placeholder can have: dates and formats have a fixed length, the report id and title are the
    definition's own (or their bounds), a request id at most 64 characters, a parameter with
    allowed values its longest one. A free-form parameter is bounded when a run renders it.

    :param template: the template.
    :param parameters: the report's parameters (usable as ``params[name]``): a collection of names
        (every one free-form), or by name what each may render (:data:`ParameterValues`).
    :param kind: what it renders: ``filename``, ``key`` (an object key with ``/``), ``header``
        (an e-mail header such as the subject) or ``text`` (an e-mail body).
    :param report_id: the report's id, when known.
    :param title: the report's title, when known.
    :returns: the parsed template.
    :raises TemplateError: saying what is wrong, quoting a short prefix of the template.
    """
    names = frozenset(parameters)
    parsed = _parse(template, names)
    values = parameters if isinstance(parameters, Mapping) else dict.fromkeys(parameters)
    _check_longest(parsed, kind, values, report_id, title)
    # Literal text can still make an unsafe name ("sub/{report_id}.csv"): render a sample now,
    # so the definition is refused at load time rather than at delivery. The sample values are
    # no longer than the longest ones counted above.
    sample = NamingContext(report_id or "r", "2026-01-01", "request", title or "t", dict.fromkeys(names, "v"))
    RENDERERS[kind](template, sample, "pdf")
    return parsed


def _check_longest(
    parsed: Template,
    kind: str,
    parameters: Mapping[str, ParameterValues],
    report_id: str | None,
    title: str | None,
) -> None:
    if kind == "text":
        return
    escape = safe_component if kind in ("filename", "key") else str
    fields = dict(_LONGEST_FIELDS, format=_LONGEST_FORMAT[kind])
    if report_id is not None:
        fields["report_id"] = _size(escape(report_id), kind)
    if title is not None:
        fields["title"] = _size(escape(title), kind)
    longest = {name: _longest(values, escape, kind) for name, values in parameters.items()}
    if kind == "header":
        size = parsed.max_length(fields, longest, in_bytes=False)
        if size > MAX_HEADER_CHARS:
            raise TemplateError(
                f"template {quote(parsed.text)} can render a header of {size:,} characters; at most {MAX_HEADER_CHARS}"
            )
        return
    segments = parsed.split("/") if kind == "key" else (parsed,)
    for segment in segments:
        size = segment.max_length(fields, longest)
        if size > MAX_PATH_COMPONENT_BYTES:
            what = "a file name" if kind == "filename" else f"the key segment {quote(segment.text, 40)}"
            raise TemplateError(
                f"template {quote(parsed.text)} can render {what} of {size:,} bytes with the longest values;"
                f" at most {MAX_PATH_COMPONENT_BYTES}"
            )
    if kind == "key":
        size = parsed.max_length(fields, longest)
        if size > MAX_KEY_BYTES:
            raise TemplateError(
                f"template {quote(parsed.text)} can render a key of {size:,} bytes with the longest values;"
                f" at most {MAX_KEY_BYTES}"
            )


def _longest(values: ParameterValues, escape: Callable[[str], str], kind: str) -> int:
    if values is None:
        return _SHORTEST_VALUE
    if isinstance(values, int):
        return values
    return max((_size(escape(str(value)), kind) for value in values), default=_SHORTEST_VALUE)


def _size(text: str, kind: str) -> int:
    return len(text) if kind == "header" else len(text.encode("utf-8"))


@dataclass(frozen=True)
class NamingContext:
    """What a file-name template can refer to for one run.

    :param report_id: the report definition id.
    :param run_date: the run's date as ``YYYY-MM-DD``.
    :param request_id: the request being served.
    :param title: the report title.
    :param params: the run's parameter values.
    """

    report_id: str
    run_date: str
    request_id: str
    title: str
    params: Mapping[str, Any]

    @classmethod
    def for_request(cls, report_id: str, title: str, request: Mapping[str, Any]) -> NamingContext:
        """The naming context of a claimed request (the claim task's record).

        :param report_id: the report definition id.
        :param title: the report title.
        :param request: the request record with ``run_date``, ``request_id`` and ``parameters``.
        """
        return cls(
            report_id=report_id,
            run_date=request["run_date"],
            request_id=request["request_id"],
            title=title,
            params=request["parameters"],
        )


def safe_component(value: str) -> str:
    """Make one value safe inside a single path component.

    :param value: any text (a parameter value, a title).
    """
    # '..' is harmless without a separator, but names that look like traversal alarm people.
    cleaned = re.sub(r"\.{2,}", ".", _SAFE_CHARS.sub("_", value)).strip(" .")
    return cleaned or "_"


def render_filename(template: str, context: NamingContext, fmt: str) -> str:
    """Render a template into one safe file name, refusing traversal and control characters.

    Field values are sanitised before substitution, so a parameter value such as
    ``../../etc`` can never leave the target directory.

    :param template: the file-name template.
    :param context: the run's naming context.
    :param fmt: the artifact format (``pdf``, ``xlsx``, ``csv``).
    """
    name = _render(template, context, fmt, safe_component)
    if not name or name in {".", ".."} or "/" in name or "\\" in name or "\x00" in name:
        raise TemplateError(f"template {quote(template)} renders to an unsafe file name {quote(name)}")
    if control_characters(name):
        raise TemplateError(f"template {quote(template)} renders to a name with control characters")
    _check_component(template, name, "a file name")
    return name


def _check_component(template: str, name: str, what: str) -> None:
    size = len(name.encode("utf-8"))
    if size > MAX_PATH_COMPONENT_BYTES:
        raise TemplateError(
            f"template {quote(template)} renders to {what} of {size:,} bytes ({quote(name, 40)});"
            f" at most {MAX_PATH_COMPONENT_BYTES}: a value is too long for it"
        )


def staging_key(report_id: str, run_date: str, request_id: str, filename: str) -> str:
    """Deterministic staging key, so a retried task overwrites its own artifact and nothing else.

    :param report_id: the report definition id.
    :param run_date: the run's date as ``YYYY-MM-DD``.
    :param request_id: the request being served.
    :param filename: the artifact's file name.
    """
    parts = [safe_component(report_id), safe_component(run_date), safe_component(request_id), filename]
    return "/".join(parts)


def expand_env(value: str, environ: Mapping[str, str]) -> str:
    """Replace ``${VAR}`` and ``${VAR:-default}`` with values from an environment.

    :param value: text with references.
    :param environ: where the values come from.
    :raises TemplateError: a referenced variable is unset and has no default.
    """

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = environ.get(name)
        if found:
            return found
        if default is not None:
            return default
        raise TemplateError(f"{quote(value)}: environment variable {name} is not set and has no default")

    return _ENV_REF.sub(replace, value)


def env_default_problems(value: str) -> list[str]:
    """What is wrong with the ``${VAR:-default}`` defaults of a directory, checked like literal text.

    A default may supply the whole directory when the variable is unset, so it is held to the
    rules of a written path: no ``..`` segment and no control characters; and the directory the
    defaults give (a variable without one counted as some absolute folder) must be absolute.

    :param value: the directory as written (``${OUT:-/srv/reports}/sales``).
    """
    problems = []
    for match in _ENV_REF.finditer(value):
        name, default = match.group(1), match.group(2)
        if default is None:
            continue
        if control_characters(default):
            problems.append(f"the default of ${{{name}}} must not contain control characters")
        if ".." in default.split("/"):
            problems.append(f"the default of ${{{name}}} ({quote(default)}) must not contain '..'")
    if not problems:
        resolved = _ENV_REF.sub(lambda m: m.group(2) if m.group(2) is not None else "/_", value)
        if not resolved.startswith("/"):
            problems.append(f"with its defaults, the path is {quote(resolved)}, not an absolute directory")
        elif ".." in resolved.split("/"):
            problems.append(f"with its defaults, the path {quote(resolved)} contains '..'")
    return problems


def render_key(template: str, context: NamingContext, fmt: str) -> str:
    """Render an object-key template (``/`` separates segments), every segment a safe name.

    Field values are sanitised like file names, so they can never add a segment or climb
    out of the prefix; the template's literal ``/`` are the only separators.

    :param template: the key template, such as ``"{report_id}/{run_date}/{report_id}.{format}"``.
    :param context: the run's naming context.
    :param fmt: the artifact format.
    """
    key = _render(template, context, fmt, safe_component)
    segments = key.split("/")
    for segment in segments:
        if not segment or segment in {".", ".."} or "\\" in segment or control_characters(segment):
            raise TemplateError(
                f"template {quote(template)} renders to an unsafe key {quote(key)} "
                "(no leading '/', empty, '.' or '..' segments, backslashes or control characters)"
            )
        _check_component(template, segment, "a key segment")
    size = len(key.encode("utf-8"))
    if size > MAX_KEY_BYTES:
        raise TemplateError(f"template {quote(template)} renders to a key of {size:,} bytes; at most {MAX_KEY_BYTES}")
    return key


def render_header(template: str, context: NamingContext, fmt: str) -> str:
    """Render a one-line e-mail header value (a subject), refusing header injection.

    Values are kept as they are (a subject may say ``EMEA / Q3``), but a carriage return,
    line feed or any other control character, from the template or a value, is refused.

    :param template: the header template.
    :param context: the run's naming context.
    :param fmt: the artifact format (``pdf``, or ``all`` for a message with several files).
    """
    text = _render(template, context, fmt, str)
    bad = sorted({repr(ch) for ch in text if ord(ch) < 32 or ord(ch) == 127})
    if bad:
        raise TemplateError(
            f"template {quote(template)} renders to a header with control characters {', '.join(bad)} "
            "(refused: header injection)"
        )
    if len(text) > MAX_HEADER_CHARS:
        raise TemplateError(f"template {quote(template)} renders to a header longer than {MAX_HEADER_CHARS} characters")
    return text


def render_text(template: str, context: NamingContext, fmt: str) -> str:
    """Render an e-mail body (HTML): every value is HTML-escaped, so a value cannot add markup.

    :param template: the body template.
    :param context: the run's naming context.
    :param fmt: the artifact format, or ``all``.
    """
    return _render(template, context, fmt, html.escape)


def _render(template: str, context: NamingContext, fmt: str, escape: Callable[[str], str]) -> str:
    """Fill a template with the run's values, each passed through ``escape`` first.

    :param template: the template.
    :param context: the run's naming context.
    :param fmt: the artifact format (or the formats of a message, joined).
    :param escape: what makes a value safe where it lands (sanitise, HTML-escape, or nothing).
    """
    try:
        parsed = _parse(template, None)
        params = {name: escape(str(context.params[name])) for name in parsed.param_names if name in context.params}
        values = {
            "report_id": escape(context.report_id),
            "run_date": escape(context.run_date),
            "request_id": escape(context.request_id),
            "title": escape(context.title),
            "format": escape(fmt),
        }
        return parsed.render(values, params)
    except TemplateError as exc:
        raise TemplateError(f"cannot be rendered: {exc}") from None


RENDERERS = {"filename": render_filename, "key": render_key, "header": render_header, "text": render_text}
"""The renderer of each template kind (see :func:`check_template`)."""
