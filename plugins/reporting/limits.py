"""The bounds every input is held to, and short, safe renderings of bad values for error messages.

A definition or a request that passes a bound is refused with a message naming the field; no
bound is enforced by running out of time or memory first.
"""

from __future__ import annotations

import math
import reprlib
import unicodedata
from collections.abc import Sized
from datetime import timedelta

MAX_DEFINITION_BYTES = 256 * 1024
"""The largest definition file read; larger files are refused before a byte is parsed."""

MAX_YAML_NODES = 20_000
"""The most YAML nodes (scalars, lists and mappings) one definition file may hold."""

MAX_ALIAS_EXPANSION = 20_000
"""The most nodes a definition may have once every alias is expanded (the file's own nodes included)."""

MAX_YAML_DEPTH = 50
"""The deepest nesting of lists and mappings, aliases expanded (definitions nest about 5 deep)."""

MAX_NUMBER_CHARS = 100
"""The longest number written in a definition (longer ones cost quadratic time to read)."""

MAX_PARAMETERS = 200
"""The most parameters a definition may declare, and so the most a request may give."""

MAX_ALLOWED_VALUES = 1_000
"""The most allowed values one parameter may list."""

MAX_PARAMETER_VALUE_CHARS = 1_000
"""The longest value a request may give one parameter."""

MAX_DURATION = timedelta(days=365)
"""The longest duration a definition may set (delays, timeouts)."""

MAX_PATH_COMPONENT_BYTES = 255
"""The longest file name or key segment, in UTF-8 bytes, after rendering with the longest values."""

MAX_TEMPLATE_CHARS = 1_000
"""The longest template (file name, key, subject or body) a definition may hold."""

MAX_REQUEST_ID_CHARS = 64
"""The longest request id (the request store's column is ``VARCHAR(64)``)."""

MAX_REQUESTED_BY_CHARS = 200
"""The longest ``requested_by`` (the request store's column is ``VARCHAR(200)``)."""

MAX_EMAIL_CHARS = 254
"""The longest e-mail address (RFC 5321's limit on a forward path, less its angle brackets)."""

MAX_REQUEST_TARGETS = 50
"""The most targets a request may bring (the highest ``max_targets`` a definition may allow)."""

MAX_REPORTED_PROBLEMS = 20
"""The most problem lines one error lists; the rest are counted, so a message stays readable."""

QUOTE_CHARS = 60
"""How much of a bad value an error message shows by default."""

# Characters that change how the text around them is displayed: right-to-left and isolate
# overrides can make "gpj.exe" read as "exe.jpg", and line separators split a log line.
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINE_BREAKING = frozenset({"Cc", "Zl", "Zp"})


class _ShortRepr(reprlib.Repr):
    """``reprlib`` with small bounds, and integers too long to print described instead."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 3
        self.maxstring = QUOTE_CHARS
        self.maxother = QUOTE_CHARS
        self.maxlong = QUOTE_CHARS

    def repr_int(self, x: int, level: int) -> str:
        return _short_int(x, self.maxlong)


_REPR = _ShortRepr()


def _short_int(value: int, limit: int) -> str:
    # str() refuses integers over 4,300 digits, and would be slow on them anyway.
    digits = math.floor(value.bit_length() * math.log10(2)) + 1
    if digits > limit:
        return f"<an integer of about {digits:,} digits>"
    return repr(value)


def quote(value: object, limit: int = QUOTE_CHARS) -> str:
    """A short, repr-like rendering of a value for an error message, never the whole value.

    ``quote("a" * 2_000_000)`` is ``'aaaa…' (2,000,000 chars)``; short values are their ``repr``;
    lists and mappings show their first items and their size.

    :param value: any value (a string from a file, a JSON value, a Python object).
    :param limit: how many characters of a string to show.
    """
    try:
        if isinstance(value, str | bytes | bytearray):
            if len(value) <= limit:
                return repr(value)
            head = repr(value[:limit])
            unit = "chars" if isinstance(value, str) else "bytes"
            return f"{head[:-1]}…{head[-1]} ({len(value):,} {unit})"
        if isinstance(value, bool) or value is None or isinstance(value, float):
            return repr(value)
        if isinstance(value, int):
            return _short_int(value, limit)
        text = _REPR.repr(value)
        if len(text) > 4 * limit:
            text = text[: 4 * limit] + "…"
        if isinstance(value, Sized) and not isinstance(value, type):
            size = len(value)
            if size > 6:
                text += f" ({size:,} items)"
        return text
    except Exception:  # a value whose repr or len fails must not break the message about it
        return f"<{type(value).__name__}>"


def describe(value: object) -> str:
    """The JSON-ish kind of a value, for "must be X, got Y" messages (``a string``, ``an object``).

    :param value: any value.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def control_characters(text: str) -> list[str]:
    """The control, line-breaking and bidirectional-override characters of a text, as ``U+XXXX``.

    Tab, CR, LF, NUL and DEL (0x7f) are control characters; so are U+0080-U+009F.

    :param text: the text to check.
    """
    found = {ch for ch in text if ch in _BIDI_CONTROLS or unicodedata.category(ch) in _LINE_BREAKING}
    return [f"U+{ord(ch):04X}" for ch in sorted(found)]


def cap_problems(problems: list[str], limit: int = MAX_REPORTED_PROBLEMS) -> list[str]:
    """The first ``limit`` problem lines, and one more line counting the ones left out.

    :param problems: ``<field path>: <problem>`` lines.
    :param limit: how many to keep.
    """
    if len(problems) <= limit:
        return list(problems)
    return [*problems[:limit], f"… and {len(problems) - limit:,} more problems"]
