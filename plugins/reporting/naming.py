"""Naming of artifacts and delivered files: templates, their fields, and sanitising."""

from __future__ import annotations

import html
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

TEMPLATE_FIELDS = ("report_id", "run_date", "request_id", "format", "title")
"""Fields a file-name template may use, besides ``params[<name>]``."""

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_SAFE_CHARS = re.compile(r"[^A-Za-z0-9._\- ]+")
_FORMATTER = string.Formatter()


class TemplateError(ValueError):
    """A file-name template is malformed, uses an unknown field, or renders to an unsafe name."""


def template_fields(template: str) -> list[str]:
    """Return the field expressions a template uses (``report_id``, ``params[region]``...).

    :param template: a ``str.format`` template such as ``"{report_id}_{run_date}.{format}"``.
    """
    try:
        parsed = list(_FORMATTER.parse(template))
    except ValueError as exc:
        raise TemplateError(f"malformed template {template!r}: {exc}") from None
    return [field for _, field, _, _ in parsed if field is not None]


def check_template(template: str, parameter_names: set[str] | frozenset[str], kind: str = "filename") -> None:
    """Refuse a template that uses a field no run can fill, or whose literal text is unsafe.

    :param template: the template.
    :param parameter_names: the report's declared parameter names (usable as ``params[name]``).
    :param kind: what it renders: ``filename``, ``key`` (an object key with ``/``), ``header``
        (an e-mail header such as the subject) or ``text`` (an e-mail body).
    """
    for field in template_fields(template):
        if field == "":
            raise TemplateError(f"template {template!r}: positional fields '{{}}' are not allowed")
        root, _, rest = field.partition("[")
        if root == "params":
            name = rest.rstrip("]")
            if not rest.endswith("]") or "[" in name or name not in parameter_names:
                raise TemplateError(
                    f"template {template!r}: {{{field}}} does not name a declared parameter "
                    f"(declared: {', '.join(sorted(parameter_names)) or 'none'})"
                )
        elif field not in TEMPLATE_FIELDS:
            raise TemplateError(
                f"template {template!r}: unknown field {{{field}}}; "
                f"use {', '.join('{' + f + '}' for f in TEMPLATE_FIELDS)} or {{params[name]}}"
            )
    # Literal text can still make an unsafe name ("sub/{report_id}.csv"): render a sample now,
    # so the definition is refused at load time rather than at delivery.
    sample = NamingContext("report", "2026-01-01", "request", "title", dict.fromkeys(parameter_names, "value"))
    RENDERERS[kind](template, sample, "pdf")


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
        raise TemplateError(f"template {template!r} renders to an unsafe file name {name!r}")
    if any(ord(ch) < 32 for ch in name):
        raise TemplateError(f"template {template!r} renders to a name with control characters")
    return name


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
        raise TemplateError(f"{value!r}: environment variable {name} is not set and has no default")

    return _ENV_REF.sub(replace, value)


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
        if not segment or segment in {".", ".."} or "\\" in segment or any(ord(ch) < 32 for ch in segment):
            raise TemplateError(
                f"template {template!r} renders to an unsafe key {key!r} "
                "(no leading '/', empty, '.' or '..' segments, backslashes or control characters)"
            )
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
            f"template {template!r} renders to a header with control characters {', '.join(bad)} "
            "(refused: header injection)"
        )
    if len(text) > 900:
        raise TemplateError(f"template {template!r} renders to a header longer than 900 characters")
    return text


def render_text(template: str, context: NamingContext, fmt: str) -> str:
    """Render an e-mail body (HTML): every value is HTML-escaped, so a value cannot add markup.

    :param template: the body template.
    :param context: the run's naming context.
    :param fmt: the artifact format, or ``all``.
    """
    return _render(template, context, fmt, html.escape)


def _render(template: str, context: NamingContext, fmt: str, quote: Callable[[str], str]) -> str:
    """Fill a template with the run's values, each passed through ``quote`` first.

    :param template: the template.
    :param context: the run's naming context.
    :param fmt: the artifact format (or the formats of a message, joined).
    :param quote: what makes a value safe where it lands (sanitise, HTML-escape, or nothing).
    """
    values = {
        "report_id": quote(context.report_id),
        "run_date": quote(context.run_date),
        "request_id": quote(context.request_id),
        "title": quote(context.title),
        "format": quote(fmt),
        "params": {k: quote(str(v)) for k, v in context.params.items()},
    }
    try:
        return template.format_map(values)
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        raise TemplateError(f"template {template!r} cannot be rendered: {exc}") from None


RENDERERS = {"filename": render_filename, "key": render_key, "header": render_header, "text": render_text}
"""The renderer of each template kind (see :func:`check_template`)."""
