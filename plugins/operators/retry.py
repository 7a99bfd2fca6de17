"""Retry settings of a report's tasks, from its definition, on Airflow's own retry machinery."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Context
from airflow.sdk.definitions.retry_policy import RetryDecision, RetryPolicy

from operators.engines import EngineRetryPolicy
from reporting.definition import RetryPolicy as RetrySettings


def exception_names(exc: BaseException) -> set[str]:
    """The names a definition may use for an exception: class names and dotted paths along its MRO,
    and those of the exceptions it wraps (a delivery error raised from an ``OSError``).

    :param exc: the exception.
    """
    names: set[str] = set()
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for cls in type(current).__mro__:
            names.add(cls.__name__)
            names.add(f"{cls.__module__}.{cls.__qualname__}")
        current = current.__cause__ or current.__context__
    return names


class ReportRetryPolicy(RetryPolicy):
    """The definition's error lists first, then an engine error's own verdict, then Airflow's retries.

    A ``non_retryable_errors`` match fails the task at once; a ``retryable_errors`` match is
    retried (within ``retries``); anything else is left to the engine policy (HTTP 4xx fail,
    ``Retry-After`` honoured) and then to the task's ``retries`` and backoff.

    :param retryable: exception class names or dotted paths that are retried.
    :param non_retryable: exception class names or dotted paths that fail at once.
    """

    def __init__(self, retryable: list[str] | tuple[str, ...] = (), non_retryable: list[str] | tuple[str, ...] = ()) -> None:
        self.retryable = tuple(retryable)
        self.non_retryable = tuple(non_retryable)

    def evaluate(
        self, exception: BaseException, try_number: int, max_tries: int, context: Context | None = None
    ) -> RetryDecision:
        names = exception_names(exception)
        if names & set(self.non_retryable):
            return RetryDecision.fail(reason=f"{type(exception).__name__} is listed as non-retryable")
        if names & set(self.retryable):
            return RetryDecision.retry(reason=f"{type(exception).__name__} is listed as retryable")
        return EngineRetryPolicy().evaluate(exception, try_number, max_tries, context)

    def serialize(self) -> dict[str, Any]:
        return {"__type": "ReportRetryPolicy", "retryable": list(self.retryable), "non_retryable": list(self.non_retryable)}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> ReportRetryPolicy:
        return cls(data.get("retryable", ()), data.get("non_retryable", ()))


def retry_args(settings: RetrySettings) -> dict[str, Any]:
    """Task keyword arguments for one kind of task's retry settings.

    :param settings: the merged settings (``definition.retry.for_task(kind)`` or the report's own).
    """
    return {
        "retries": settings.retries,
        "retry_delay": settings.retry_delay,
        "retry_exponential_backoff": settings.backoff_multiplier,
        "max_retry_delay": settings.max_retry_delay,
        "retry_policy": ReportRetryPolicy(settings.retryable_errors, settings.non_retryable_errors),
    }
