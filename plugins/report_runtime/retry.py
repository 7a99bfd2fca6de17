"""Retry settings and retry policies of a report's tasks, on Airflow's own retry machinery.

:func:`retry_args` turns a definition's retry settings into task arguments; :class:`ReportRetryPolicy`
(the definition's error lists) and :class:`EngineRetryPolicy` (an engine error's own verdict and
``Retry-After``) decide each failed try; :func:`platform_default_args` are the platform DAGs' own.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Context
from airflow.sdk.definitions.retry_policy import RetryDecision, RetryPolicy

from reporting.definition import RetryPolicy as RetrySettings
from reporting.errors import cause_chain, engine_error_of


def exception_names(exc: BaseException) -> set[str]:
    """The names a definition may use for an exception: class names and dotted paths along its MRO,
    and those of the exceptions it wraps (a delivery error raised from an ``OSError``).

    :param exc: the exception.
    """
    names: set[str] = set()
    for link in cause_chain(exc):
        for cls in type(link).__mro__:
            names.add(cls.__name__)
            names.add(f"{cls.__module__}.{cls.__qualname__}")
    return names


class EngineRetryPolicy(RetryPolicy):
    """Retry decisions for engine errors: permanent ones fail at once, throttled ones wait as long as asked.

    A ``Retry-After`` is honoured within the task's own retry settings: never sooner than the
    task's own backoff for this try (``Retry-After: 0`` is not a licence to hammer the engine),
    never later than its ``max_retry_delay`` (a far-future date must not park the request).
    Anything that is not an engine error gets the task's usual retries.
    """

    def evaluate(
        self, exception: BaseException, try_number: int, max_tries: int, context: Context | None = None
    ) -> RetryDecision:
        error = engine_error_of(exception)
        if error is None:
            return RetryDecision.default()
        if not error.retryable:
            return RetryDecision.fail(reason=str(error))
        if error.retry_after is not None:
            delay = retry_after_delay(
                error.retry_after, try_number, getattr(context and context.get("ti"), "task", None)
            )
            return RetryDecision.retry(
                delay=delay, reason=f"{error} (the engine asked to wait {error.retry_after:g} s)"
            )
        return RetryDecision.default()

    def serialize(self) -> dict[str, Any]:
        return {"__type": "EngineRetryPolicy"}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> EngineRetryPolicy:
        return cls()


def retry_after_delay(retry_after: float, try_number: int, task: Any) -> timedelta:
    """The wait before the next try when the engine sent ``Retry-After``, bounded by the task's retry settings.

    :param retry_after: seconds the engine asked for.
    :param try_number: the try that just failed (1-based).
    :param task: the task (its ``retry_delay``, ``retry_exponential_backoff``, ``max_retry_delay``), or None.
    """
    asked = timedelta(seconds=retry_after)
    if task is None:
        return max(asked, timedelta(seconds=1))
    own: timedelta = task.retry_delay
    multiplier = task.retry_exponential_backoff or 1.0
    if multiplier > 1.0:
        own = own * multiplier ** (try_number - 1)
    ceiling = task.max_retry_delay  # BaseOperator keeps it as a timedelta
    if ceiling is not None:
        own = min(own, ceiling)
        asked = min(asked, ceiling)
    return max(asked, own, timedelta(seconds=1))


class ReportRetryPolicy(RetryPolicy):
    """The definition's error lists first, then an engine error's own verdict, then Airflow's retries.

    A ``non_retryable_errors`` match fails the task at once; a ``retryable_errors`` match is
    retried (within ``retries``); anything else is left to the engine policy (HTTP 4xx fail,
    ``Retry-After`` honoured) and then to the task's ``retries`` and backoff.

    :param retryable: exception class names or dotted paths that are retried.
    :param non_retryable: exception class names or dotted paths that fail at once.
    """

    def __init__(
        self, retryable: list[str] | tuple[str, ...] = (), non_retryable: list[str] | tuple[str, ...] = ()
    ) -> None:
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
        return {
            "__type": "ReportRetryPolicy",
            "retryable": list(self.retryable),
            "non_retryable": list(self.non_retryable),
        }

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> ReportRetryPolicy:
        return cls(data.get("retryable", ()), data.get("non_retryable", ()))


def platform_default_args(*, retries: int, retry_delay: timedelta) -> dict[str, Any]:
    """The default task arguments of the platform's own DAGs (intake, retry, housekeeping).

    Retries back off by doubling up to five minutes; a try may take thirty minutes.

    :param retries: retries per task.
    :param retry_delay: the wait before the first retry.
    """
    return {
        "owner": "reporting-platform",
        "retries": retries,
        "retry_delay": retry_delay,
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=5),
        "execution_timeout": timedelta(minutes=30),
    }


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
