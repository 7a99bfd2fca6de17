"""Portable bind parameters: SQL files write ``:name``; each driver gets its own paramstyle."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# Quoted text and comments are matched first so a ':word' inside them is never a parameter,
# and '::' (a PostgreSQL/Snowflake cast) is consumed before it can look like one.
_TOKENS = re.compile(
    r"""
    (?P<skip>'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|/\*.*?\*/|::)
    |(?<![\w:]):(?P<name>[A-Za-z_]\w*)
    |(?P<percent>%)
    """,
    re.VERBOSE | re.DOTALL,
)

PARAMSTYLES = ("named", "qmark", "format", "pyformat", "numeric")


class BindError(ValueError):
    """The SQL names a parameter the run does not supply, or a paramstyle is unknown."""


def parameter_names(sql: str) -> list[str]:
    """Return the ``:name`` parameters a SQL text uses, in first-use order.

    :param sql: SQL text with ``:name`` placeholders.
    """
    seen: dict[str, None] = {}
    for match in _TOKENS.finditer(sql):
        if match.group("name"):
            seen.setdefault(match.group("name"), None)
    return list(seen)


def bind(sql: str, values: Mapping[str, Any], paramstyle: str) -> tuple[str, Any]:
    """Rewrite ``:name`` placeholders for a DB-API paramstyle and build the matching parameters.

    Values never enter the SQL text; only placeholders change.

    :param sql: SQL text with ``:name`` placeholders.
    :param values: the parameter values by name; extra names are ignored.
    :param paramstyle: the driver's DB-API ``paramstyle``.
    """
    if paramstyle not in PARAMSTYLES:
        raise BindError(f"unknown paramstyle {paramstyle!r}; expected one of {', '.join(PARAMSTYLES)}")
    missing = [name for name in parameter_names(sql) if name not in values]
    if missing:
        raise BindError(f"the SQL uses parameters with no value: {', '.join(missing)}")

    positional: list[Any] = []
    # pyformat/format drivers read every '%' as a placeholder marker, so literal ones are doubled.
    doubles_percent = paramstyle in ("format", "pyformat")

    def replace(match: re.Match[str]) -> str:
        if match.group("skip"):
            text = match.group("skip")
            return text.replace("%", "%%") if doubles_percent else text
        if match.group("percent"):
            return "%%" if doubles_percent else "%"
        name = match.group("name")
        if paramstyle == "named":
            return f":{name}"
        if paramstyle == "pyformat":
            return f"%({name})s"
        positional.append(values[name])
        if paramstyle == "qmark":
            return "?"
        if paramstyle == "format":
            return "%s"
        return f":{len(positional)}"

    rewritten = _TOKENS.sub(replace, sql)
    if paramstyle in ("named", "pyformat"):
        return rewritten, {name: values[name] for name in parameter_names(sql)}
    return rewritten, positional
