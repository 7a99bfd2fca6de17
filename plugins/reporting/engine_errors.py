"""Errors of the report engines: their hierarchy, whether a retry may help, and their JSON form for trigger events."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from reporting.masking import mask_secrets

# Request timeout, too early, throttled: the same request may succeed later. Every 5xx too.
_RETRYABLE_4XX = frozenset({408, 425, 429})


def status_is_retryable(status: int) -> bool:
    """Whether an HTTP status means the same request may succeed later (408, 425, 429, 5xx).

    :param status: the HTTP status code.
    """
    return status in _RETRYABLE_4XX or status >= 500


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent or unreadable.

    :param value: the header's value.
    :param now: the current time (for HTTP dates); defaults to now in UTC.
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


class EngineError(Exception):
    """A report engine failed; the message names the engine and says whether a retry may help.

    :param engine: the engine's type (obiee, powerbi, ssrs, midas).
    :param message: what went wrong (never a credential).
    :param retryable: whether the same request may succeed later.
    :param retry_after: seconds the engine asked us to wait, if it said.
    """

    code = "ENGINE_ERROR"
    status: int | None = None
    """The HTTP status the engine answered with, when it answered one."""

    def __init__(self, engine: str, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        self.engine = engine
        self.detail = message
        self.retryable = retryable
        self.retry_after = retry_after
        if retryable:
            hint = "retryable" + (f", retry after {retry_after:g} s" if retry_after is not None else "")
        else:
            hint = "not retryable"
        super().__init__(mask_secrets(f"{engine}: {message} ({hint})"))


class EngineHttpError(EngineError):
    """The engine answered with an HTTP error status.

    :param engine: the engine's type.
    :param status: the HTTP status code.
    :param method: the request's method.
    :param path: the request's path (no query string, which may carry parameter values).
    :param detail: the engine's own explanation, shortened.
    :param retryable: overrides the status's default (for engines that report permanent
        errors with a 500, or a retryable failure inside a 200).
    :param retry_after: seconds from the ``Retry-After`` header.
    """

    def __init__(
        self,
        engine: str,
        status: int,
        method: str,
        path: str,
        detail: str = "",
        *,
        retryable: bool | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.code = f"HTTP_{status}"
        detail = " ".join(detail.split())[:300]
        message = f"HTTP {status} on {method} {path}" + (f": {detail}" if detail else "")
        super().__init__(
            engine,
            message,
            retryable=status_is_retryable(status) if retryable is None else retryable,
            retry_after=retry_after,
        )


class EngineConnectionError(EngineError, ConnectionError):
    """The engine could not be reached (refused, reset, DNS). Always retryable."""

    code = "CONNECTION"

    def __init__(self, engine: str, message: str) -> None:
        super().__init__(engine, message, retryable=True)


class EngineTimeout(EngineError, TimeoutError):
    """The engine did not answer, or did not finish, in time. Always retryable."""

    code = "TIMEOUT"

    def __init__(self, engine: str, message: str) -> None:
        super().__init__(engine, message, retryable=True)


class EngineJobFailed(EngineError):
    """The engine accepted the export or job but reports that it failed."""

    code = "ENGINE_JOB_FAILED"


class EngineResponseError(EngineError):
    """The engine's answer is not what its API promises (no document part, an HTML page for a PDF)."""

    code = "ENGINE_RESPONSE"

    def __init__(self, engine: str, message: str) -> None:
        super().__init__(engine, message, retryable=False)


class EngineTransferError(EngineError):
    """The document arrived damaged: cut short, or not the size and digest the engine announced.

    Retryable: the engine produced the document, only the transfer failed, and a new try fetches it again.
    """

    code = "ENGINE_TRANSFER"

    def __init__(self, engine: str, message: str) -> None:
        super().__init__(engine, message, retryable=True)


class EngineSqlError(EngineError):
    """The database rejected the report's SQL itself (syntax, a missing table or column, a bad cast). Never retryable.

    :param sql_file: the report's SQL file (under include/sql).
    :param cause: the database driver's exception.
    """

    code = "SQL_ERROR"

    def __init__(self, sql_file: str, cause: BaseException) -> None:
        detail = " ".join(str(cause).split()) or type(cause).__name__
        super().__init__("sql", f"{sql_file}: {type(cause).__name__}: {detail}", retryable=False)


_ENGINE_ERRORS: dict[str, type[EngineError]] = {}


def engine_error_to_dict(error: EngineError) -> dict[str, Any]:
    """An engine error as JSON-able data (a trigger hands it to the task in its event).

    :param error: the error.
    """
    return {
        "type": type(error).__name__,
        "engine": error.engine,
        "detail": error.detail,
        "retryable": error.retryable,
        "retry_after": error.retry_after,
        "status": error.status,
    }


def engine_error_from_dict(data: dict[str, Any]) -> EngineError:
    """Rebuild an engine error from :func:`engine_error_to_dict`'s data.

    :param data: the data.
    """
    if not _ENGINE_ERRORS:
        _ENGINE_ERRORS.update({cls.__name__: cls for cls in _with_subclasses(EngineError)})
    cls = _ENGINE_ERRORS.get(data.get("type", ""), EngineError)
    error = cls.__new__(cls)
    EngineError.__init__(
        error, data["engine"], data["detail"], retryable=bool(data["retryable"]), retry_after=data.get("retry_after")
    )
    if data.get("status") is not None:
        error.status = int(data["status"])
        error.code = f"HTTP_{error.status}"
    return error


def _with_subclasses(cls: type[EngineError]) -> list[type[EngineError]]:
    """A class and every class below it.

    :param cls: the root class.
    """
    return [cls, *(sub for child in cls.__subclasses__() for sub in _with_subclasses(child))]
