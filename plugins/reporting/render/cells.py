"""The text of a database value in a report cell, and whether it is a number."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any


def cell_text(value: Any) -> str:
    """Text form of a database value, as used in CSV cells and PDF tables.

    :param value: Any value from a DB-API row.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        # Fixed-point notation: str() would give exponents such as "0E-10" or "1E+3".
        return format(value, "f")
    return str(value)


def is_number(value: Any) -> bool:
    """Whether a value is numeric and therefore right-aligned in the PDF.

    :param value: Any value from a DB-API row.
    """
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)
