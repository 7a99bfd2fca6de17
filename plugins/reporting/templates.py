"""Templates as a small language: literal text with ``{name}`` and ``{params[name]}`` placeholders, nothing else.

``str.format`` would also take format specs (``{report_id:>1999999999}`` renders 2 GB), conversions,
attribute and index access (``{title.__class__}``) and fields nested in specs. Here a template is
parsed once into literal text and placeholders; rendering only joins strings, evaluating nothing.
``{{`` and ``}}`` are literal braces.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import NoReturn

from reporting.limits import MAX_TEMPLATE_CHARS, quote

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PARAMS = "params"
_SHOWN_NAMES = 10


class TemplateError(ValueError):
    """A template is malformed, uses something other than a known placeholder, or cannot be rendered."""


@dataclass(frozen=True)
class Placeholder:
    """One ``{name}`` or ``{params[name]}`` of a template.

    :param name: the field (``report_id``), or ``params``.
    :param param: the parameter's name when ``name`` is ``params``.
    """

    name: str
    param: str | None = None

    @property
    def text(self) -> str:
        """The placeholder as written: ``{report_id}`` or ``{params[region]}``."""
        return f"{{{self.name}[{self.param}]}}" if self.param is not None else f"{{{self.name}}}"


@dataclass(frozen=True)
class Template:
    """A parsed template: literal text and placeholders, in order.

    :param text: the template as written.
    :param parts: literal strings (braces unescaped) and placeholders.
    """

    text: str
    parts: tuple[str | Placeholder, ...]

    def __str__(self) -> str:
        return self.text

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields used (``report_id``, ``run_date``...), once each, in order; not ``params``."""
        return tuple(dict.fromkeys(p.name for p in self._placeholders() if p.param is None))

    @property
    def param_names(self) -> tuple[str, ...]:
        """The parameters used as ``{params[name]}``, once each, in order."""
        return tuple(dict.fromkeys(p.param for p in self._placeholders() if p.param is not None))

    def render(
        self,
        values: Mapping[str, str],
        params: Mapping[str, str],
        escape: Callable[[str], str] | None = None,
    ) -> str:
        """Join the literal text and the values; nothing in a template or a value is evaluated.

        :param values: the value of each field (already made safe for where it goes).
        :param params: the value of each parameter.
        :param escape: applied to every value (not to the literal text), e.g. ``html.escape``.
        :raises TemplateError: a placeholder has no value.
        """
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            source = params if part.param is not None else values
            key = part.param if part.param is not None else part.name
            if key not in source:
                raise TemplateError(f"template {quote(self.text)}: no value for {part.text}")
            value = source[key]
            if not isinstance(value, str):
                raise TypeError(f"the value of {part.text} must be a str, got {type(value).__name__}")
            out.append(escape(value) if escape is not None else value)
        return "".join(out)

    def max_length(self, longest: Mapping[str, int], param_longest: Mapping[str, int], *, in_bytes: bool = True) -> int:
        """The longest the rendered text can be, given the longest value of each placeholder.

        :param longest: the longest rendered value of each field used.
        :param param_longest: the longest rendered value of each parameter used.
        :param in_bytes: count the literal text in UTF-8 bytes (give the longest values in bytes
            too), as file systems count a name; ``False`` counts characters.
        :raises TemplateError: a placeholder has no known longest value.
        """
        total = 0
        for part in self.parts:
            if isinstance(part, str):
                total += len(part.encode("utf-8")) if in_bytes else len(part)
                continue
            source = param_longest if part.param is not None else longest
            key = part.param if part.param is not None else part.name
            if key not in source:
                raise TemplateError(f"template {quote(self.text)}: no longest value is known for {part.text}")
            total += source[key]
        return total

    def split(self, separator: str) -> tuple[Template, ...]:
        """The template cut at each ``separator`` of its literal text (values never hold one once made safe).

        ``"{report_id}/{run_date}.{format}"`` split at ``/`` is ``{report_id}`` and ``{run_date}.{format}``,
        so each segment of an object key can be bounded like a file name.

        :param separator: a non-empty literal, such as ``/``.
        """
        if not separator:
            raise ValueError("the separator must not be empty")
        segments: list[list[str | Placeholder]] = [[]]
        for part in self.parts:
            if isinstance(part, Placeholder):
                segments[-1].append(part)
                continue
            first, *rest = part.split(separator)
            if first:
                segments[-1].append(first)
            for piece in rest:
                segments.append([piece] if piece else [])
        return tuple(Template(_source(segment), tuple(segment)) for segment in segments)

    def _placeholders(self) -> list[Placeholder]:
        return [part for part in self.parts if isinstance(part, Placeholder)]


def parse_template(text: str, allowed: Collection[str], parameters: Collection[str] | None = None) -> Template:
    """Parse a template, refusing anything but literal text, ``{name}`` and ``{params[name]}``.

    :param text: the template as written.
    :param allowed: the field names it may use (``report_id``, ``run_date``...).
    :param parameters: the parameter names ``{params[...]}`` may use; ``None`` accepts any name.
    :raises TemplateError: naming the first problem and where it is.
    """
    if not isinstance(text, str):
        raise TemplateError(f"a template must be text, got {type(text).__name__}")
    if len(text) > MAX_TEMPLATE_CHARS:
        raise TemplateError(f"template {quote(text)}: longer than {MAX_TEMPLATE_CHARS:,} characters (the limit)")
    parts: list[str | Placeholder] = []
    literal = ""
    i = 0
    while i < len(text):
        brace = _next_brace(text, i)
        literal += text[i:brace]
        if brace == len(text):
            break
        if text.startswith("{{", brace) or text.startswith("}}", brace):
            literal += text[brace]
            i = brace + 2
            continue
        if text[brace] == "}":
            _fail(text, brace, "a single '}' (write '}}' for a literal brace)")
        placeholder, i = _placeholder(text, brace, allowed, parameters)
        if literal:
            parts.append(literal)
            literal = ""
        parts.append(placeholder)
    if literal:
        parts.append(literal)
    return Template(text, tuple(parts))


def _next_brace(text: str, start: int) -> int:
    found = [index for index in (text.find("{", start), text.find("}", start)) if index != -1]
    return min(found) if found else len(text)


def _placeholder(
    text: str, start: int, allowed: Collection[str], parameters: Collection[str] | None
) -> tuple[Placeholder, int]:
    """Parse the placeholder opening at ``start``; return it and the index after its ``}``."""
    match = _NAME.match(text, start + 1)
    name = match.group() if match else ""
    at = match.end() if match else start + 1
    if at >= len(text):
        _fail(text, start, "'{' is never closed (write '{{' for a literal brace)")
    char = text[at]
    if not name:
        if char == "}":
            _fail(text, start, "an empty placeholder; name a field")
        if char.isdigit():
            _fail(text, start, "positional placeholders are not allowed; name a field")
        _problem_after_name(text, start, char, "")
    if char == "[":
        if name != _PARAMS:
            _fail(text, start, "index access is allowed only as {params[name]}")
        key = _NAME.match(text, at + 1)
        close = key.end() if key else at + 1
        if not key or close >= len(text) or text[close] != "]":
            _fail(text, start, "params[...] must name a parameter (letters, digits and _)")
        if close + 1 >= len(text):
            _fail(text, start, "'{' is never closed (write '{{' for a literal brace)")
        if text[close + 1] != "}":
            _problem_after_name(text, start, text[close + 1], f"params[{key.group()}]")
        _check_parameter(text, start, key.group(), parameters)
        return Placeholder(_PARAMS, key.group()), close + 2
    if char != "}":
        _problem_after_name(text, start, char, name)
    if name == _PARAMS:
        _fail(text, start, "params needs a parameter name: {params[name]}")
    if name not in allowed:
        usable = ", ".join(f"{{{field}}}" for field in sorted(allowed))
        _fail(text, start, f"unknown field {{{name}}}; use {usable + ' or ' if usable else ''}{{params[name]}}")
    return Placeholder(name), at + 1


def _problem_after_name(text: str, start: int, char: str, name: str) -> NoReturn:
    shown = f"{{{name}}}" if name else "a field"
    problems = {
        ":": f"format specs are not allowed; write {shown}",
        "!": f"conversions are not allowed; write {shown}",
        ".": "attribute access is not allowed",
        "[": "index access is allowed only as {params[name]}",
        "{": "nested placeholders are not allowed",
    }
    _fail(text, start, problems.get(char, f"{quote(char)} cannot appear in a placeholder; name a field"))


def _check_parameter(text: str, start: int, name: str, parameters: Collection[str] | None) -> None:
    if parameters is None or name in parameters:
        return
    declared = sorted(parameters)
    shown = ", ".join(declared[:_SHOWN_NAMES]) + (
        f", … ({len(declared):,} in all)" if len(declared) > _SHOWN_NAMES else ""
    )
    _fail(text, start, f"{{params[{name}]}} is not a declared parameter (declared: {shown or 'none'})")


def _fail(text: str, start: int, problem: str) -> NoReturn:
    end = text.find("}", start)
    snippet = text[start : end + 1] if end != -1 else text[start:]
    where = f"at character {start + 1}" if snippet == text else f"{quote(snippet, 40)} at character {start + 1}"
    raise TemplateError(f"template {quote(text)}: {where}: {problem}")


def _source(parts: list[str | Placeholder]) -> str:
    return "".join(part.replace("{", "{{").replace("}", "}}") if isinstance(part, str) else part.text for part in parts)
