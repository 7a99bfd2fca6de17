"""Date and time patterns in the notation SSRS and .NET users know (``dd MMM yyyy``, ``HH:mm``).

One pattern drives both the text in a PDF or an e-mail and the native number format of an Excel
cell, so a column reads the same in every document. Letters outside the tokens below must be
quoted (``'at'``); other characters (space, ``-``, ``/``, ``.``, ``:``, ``,``) are copied as
they are.

========  =====================================  ==============
token     meaning                                example
========  =====================================  ==============
yyyy      four-digit year                        2026
yy        two-digit year                         26
MMMM      month name                             January
MMM       abbreviated month name                 Jan
MM        month, two digits                      01
M         month                                  1
dd        day, two digits                        05
d         day                                    5
dddd      weekday name                           Monday
ddd       abbreviated weekday name               Mon
HH        hour 00-23                             07
H         hour 0-23                              7
hh        hour 01-12                             07
h         hour 1-12                              7
mm        minutes, two digits                    05
ss        seconds, two digits                    09
tt        AM or PM                               AM
========  =====================================  ==============
"""

from __future__ import annotations

import re
from datetime import date, datetime

MAX_PATTERN_CHARS = 64
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Longest tokens first, so "MMMM" is never read as "MM" twice.
_TOKEN = re.compile(r"yyyy|yy|MMMM|MMM|MM|M|dddd|ddd|dd|d|HH|H|hh|h|mm|ss|tt|'[^']*'|[ \-/.:,]")
_EXCEL = {
    "yyyy": "yyyy",
    "yy": "yy",
    "MMMM": "mmmm",
    "MMM": "mmm",
    "MM": "mm",
    "M": "m",
    "dddd": "dddd",
    "ddd": "ddd",
    "dd": "dd",
    "d": "d",
    "HH": "hh",
    "H": "h",
    "hh": "hh",
    "h": "h",
    "mm": "mm",
    "ss": "ss",
    "tt": "AM/PM",
}
_TIME_TOKENS = frozenset({"HH", "H", "hh", "h", "mm", "ss", "tt"})


class PatternError(ValueError):
    """A date pattern that cannot be read."""


def tokens(pattern: str) -> list[str]:
    """Split a pattern into tokens and literal pieces, refusing what it cannot read.

    :param pattern: the pattern, e.g. ``dd MMM yyyy``.
    :raises PatternError: naming the first character that is neither a token nor an allowed literal.
    """
    if not pattern:
        raise PatternError("a date pattern cannot be empty")
    if len(pattern) > MAX_PATTERN_CHARS:
        raise PatternError(f"a date pattern has at most {MAX_PATTERN_CHARS} characters")
    found: list[str] = []
    position = 0
    while position < len(pattern):
        match = _TOKEN.match(pattern, position)
        if match is None:
            raise PatternError(
                f"{pattern[position]!r} at position {position + 1} of {pattern!r} is not a date token;"
                " quote literal text ('at')"
            )
        found.append(match.group())
        position = match.end()
    return found


def has_time(pattern: str) -> bool:
    """Whether a pattern shows a time of day.

    :param pattern: a valid pattern.
    """
    return any(token in _TIME_TOKENS for token in tokens(pattern))


def format_date(value: date, pattern: str) -> str:
    """A date or datetime as the pattern shows it; English month and weekday names.

    :param value: the date or datetime (a date has midnight as its time).
    :param pattern: a valid pattern.
    """
    moment = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
    hour12 = moment.hour % 12 or 12
    parts = {
        "yyyy": f"{moment.year:04d}",
        "yy": f"{moment.year % 100:02d}",
        "MMMM": _MONTHS[moment.month - 1],
        "MMM": _MONTHS[moment.month - 1][:3],
        "MM": f"{moment.month:02d}",
        "M": str(moment.month),
        "dddd": _WEEKDAYS[moment.weekday()],
        "ddd": _WEEKDAYS[moment.weekday()][:3],
        "dd": f"{moment.day:02d}",
        "d": str(moment.day),
        "HH": f"{moment.hour:02d}",
        "H": str(moment.hour),
        "hh": f"{hour12:02d}",
        "h": str(hour12),
        "mm": f"{moment.minute:02d}",
        "ss": f"{moment.second:02d}",
        "tt": "AM" if moment.hour < 12 else "PM",
    }
    return "".join(parts.get(token, token.strip("'")) for token in tokens(pattern))


def excel_format(pattern: str) -> str:
    """The Excel number format that shows a date cell as the pattern does.

    :param pattern: a valid pattern.
    """
    pieces = []
    for token in tokens(pattern):
        if token in _EXCEL:
            pieces.append(_EXCEL[token])
        elif token.startswith("'"):
            literal = token.strip("'").replace('"', "")
            pieces.append(f'"{literal}"' if literal else "")
        else:
            pieces.append(f"\\{token}" if token in "-/.:," else token)
    return "".join(pieces)
