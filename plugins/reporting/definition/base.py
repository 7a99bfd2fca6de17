"""The pydantic base model of every definition model, and the field rules several models share."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict

from reporting.emails import check_email, check_email_domain

ReportFormat = Literal["pdf", "xlsx", "csv"]

CONN_ID = r"^[A-Za-z0-9_.\-]{1,250}$"
"""The pattern of an Airflow connection id named by a target or a channel."""

EmailAddress = Annotated[str, AfterValidator(check_email)]
"""One e-mail address, checked and normalized by :func:`reporting.emails.check_email`."""

EmailDomain = Annotated[str, AfterValidator(check_email_domain)]
"""The domain of an e-mail address, checked and normalized by :func:`reporting.emails.check_email_domain`."""


class DefinitionModel(BaseModel):
    """Frozen, whitespace-stripped, refusing unknown keys (a typo in a definition is an error) and NaN or infinity."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, allow_inf_nan=False)


def matching(pattern: re.Pattern[str], value: str, problem: str) -> str:
    """Return ``value`` if ``pattern`` matches it, else refuse it.

    :param pattern: the rule, anchored.
    :param value: the field's value.
    :param problem: what the error says when it does not match.
    """
    if not pattern.match(value):
        raise ValueError(problem)
    return value


def safe_directory(value: str, *, absolute: bool) -> str:
    """Refuse traversal, NUL/control characters and (if asked) relative directories.

    :param value: the directory as written in the definition.
    :param absolute: whether it must start with ``/`` (or must not).
    """
    if any(ord(ch) < 32 for ch in value) or "\\" in value:
        raise ValueError("must not contain control characters or backslashes")
    if absolute and not value.startswith("/"):
        raise ValueError("must be an absolute directory path")
    if not absolute and value.startswith("/"):
        raise ValueError("must be relative to the share (no leading '/')")
    if ".." in value.split("/"):
        raise ValueError("must not contain '..'")
    return value
