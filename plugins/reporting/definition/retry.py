"""Retry settings: the report's retry policy and the overrides of each kind of task."""

from __future__ import annotations

import re
from datetime import timedelta

from pydantic import Field, field_validator, model_validator

from reporting.definition.base import DefinitionModel
from reporting.durations import Duration
from reporting.limits import quote

_ERROR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def _error_names(values: list[str]) -> list[str]:
    for value in values:
        if not _ERROR_NAME.match(value):
            raise ValueError(
                f"{quote(value)} is not an exception class name (ConnectionError) or dotted path (requests.HTTPError)"
            )
    return values


class RetryOverride(DefinitionModel):
    """Retry settings of one kind of task; anything left out comes from the report's ``retry``.

    :param retries: retries after the first attempt.
    :param retry_delay: the delay before the first retry.
    :param backoff_multiplier: 0 = constant delay, 2.0 = doubling.
    :param max_retry_delay: the cap on any one delay.
    :param retryable_errors: exception classes that are retried.
    :param non_retryable_errors: exception classes that fail at once.
    """

    retries: int | None = Field(default=None, ge=0, le=100)
    retry_delay: Duration | None = None
    backoff_multiplier: float | None = Field(default=None, ge=0, le=100)
    max_retry_delay: Duration | None = None
    retryable_errors: list[str] | None = None
    non_retryable_errors: list[str] | None = None

    @field_validator("retryable_errors", "non_retryable_errors")
    @classmethod
    def _valid_names(cls, values: list[str] | None) -> list[str] | None:
        return values if values is None else _error_names(values)


class RetryPolicy(DefinitionModel):
    """Airflow-native retries. Defaults: 3 attempts, 1 s first delay doubling up to 60 s.

    A slow schedule (15 minutes, growing with each attempt, 4 attempts) is
    ``retries: 3, retry_delay: 15m, backoff_multiplier: 2.0, max_retry_delay: 2h``.

    :param retries: retries after the first attempt (0 disables retrying).
    :param retry_delay: the delay before the first retry.
    :param backoff_multiplier: Airflow's ``retry_exponential_backoff`` (0 = constant delay, 2.0 = doubling).
    :param max_retry_delay: the cap on any one delay.
    :param retryable_errors: exception class names (or dotted paths) that are retried even if
        they would otherwise fail at once.
    :param non_retryable_errors: exception class names (or dotted paths) that fail at once.
    :param engine: overrides for the generate task.
    :param distribution: overrides for the delivery tasks.
    :param notification: overrides for the notify task.
    """

    retries: int = Field(default=2, ge=0, le=100)
    retry_delay: Duration = timedelta(seconds=1)
    backoff_multiplier: float = Field(default=2.0, ge=0, le=100)
    max_retry_delay: Duration = timedelta(seconds=60)
    retryable_errors: list[str] = Field(default_factory=list)
    non_retryable_errors: list[str] = Field(default_factory=list)
    engine: RetryOverride | None = None
    distribution: RetryOverride | None = None
    notification: RetryOverride | None = None

    @field_validator("retryable_errors", "non_retryable_errors")
    @classmethod
    def _valid_names(cls, values: list[str]) -> list[str]:
        return _error_names(values)

    @model_validator(mode="after")
    def _cap_not_below_delay(self) -> RetryPolicy:
        for kind in ("", "engine", "distribution", "notification"):
            policy = self.for_task(kind) if kind else self
            if policy.max_retry_delay < policy.retry_delay:
                where = f"{kind}." if kind else ""
                raise ValueError(f"{where}max_retry_delay must not be shorter than {where}retry_delay")
        return self

    def for_task(self, kind: str) -> RetryPolicy:
        """The settings of one kind of task: the report's, with that kind's overrides applied.

        :param kind: ``engine``, ``distribution`` or ``notification``.
        """
        override = getattr(self, kind)
        base = self.model_dump(exclude={"engine", "distribution", "notification"})
        if override is not None:
            base.update({k: v for k, v in override.model_dump().items() if v is not None})
        return RetryPolicy.model_construct(**base)
