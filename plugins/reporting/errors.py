"""Error classification: what a failure is called in the error log and whether a retry may help."""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

MAX_MESSAGE = 2000

# Text that looks like a credential is masked before a message reaches a log table.
_SECRET_PATTERNS = (
    re.compile(r"(?i)(password|passwd|pwd|secret|token|api[_-]?key|authorization)(\s*[=:]\s*)([^\s,;&'\"]+)"),
    re.compile(r"(?i)(://[^:/@\s]+:)([^@/\s]+)(@)"),
    re.compile(r"(?i)(bearer\s+)([A-Za-z0-9._\-]+)"),
)


@dataclass(frozen=True)
class ErrorInfo:
    """One failure as recorded in ERROR_LOG.

    :param code: a short stable code (INVALID_PARAMETERS, TIMEOUT, CONNECTION, ...).
    :param error_class: the exception's class name.
    :param message: the exception's message, masked and truncated.
    :param retry_eligible: whether trying again may succeed.
    """

    code: str
    error_class: str
    message: str
    retry_eligible: bool


def mask_secrets(text: str) -> str:
    """Mask credential-looking values (``password=...``, ``user:pass@host``, bearer tokens).

    :param text: any message.
    """
    # Bearer first: "Authorization: Bearer x" would otherwise mask only the word "Bearer".
    text = _SECRET_PATTERNS[2].sub(r"\1***", text)
    text = _SECRET_PATTERNS[0].sub(r"\1\2***", text)
    return _SECRET_PATTERNS[1].sub(r"\1***\3", text)


# --- engine errors ------------------------------------------------------------------------------

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
        when = when.replace(tzinfo=timezone.utc)
    return max((when - (now or datetime.now(timezone.utc))).total_seconds(), 0.0)


class EngineError(Exception):
    """A report engine failed; the message names the engine and says whether a retry may help.

    :param engine: the engine's type (obiee, powerbi, ssrs, midas).
    :param message: what went wrong (never a credential).
    :param retryable: whether the same request may succeed later.
    :param retry_after: seconds the engine asked us to wait, if it said.
    """

    code = "ENGINE_ERROR"

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


# DB-API classes for a fault of the statement (syntax, a missing table, column or privilege, a
# bad cast, a feature the database lacks): the same SQL fails the same way on every try.
_PERMANENT_SQL_ERRORS = frozenset({"ProgrammingError", "DataError", "NotSupportedError"})
# SQLSTATE classes that say the statement was fine and the moment was not: connection (08),
# transaction rollback (40), insufficient resources (53), operator intervention: a cancel, a
# timeout, a shutdown (57), system error (58). Snowflake raises ProgrammingError for every
# failed query, its statement timeouts (57014) too.
_TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57", "58"})


def sql_error_is_permanent(exc: BaseException) -> bool:
    """Whether a database driver's exception is a fault of the SQL that no retry can cure.

    DB-API ``ProgrammingError``, ``DataError`` and ``NotSupportedError`` are, unless their
    SQLSTATE (``sqlstate``, psycopg2's ``pgcode``) says the failure was transient. SQLite
    reports a bad statement as ``OperationalError`` with the code ``SQLITE_ERROR`` ("no such
    table", a syntax error); busy, locked and I/O errors have codes of their own and stay retryable.
    ``OperationalError`` and connection losses of other drivers are never permanent.

    :param exc: any exception.
    """
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "DatabaseError" not in names:
        return False
    sqlstate = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    if isinstance(sqlstate, str) and sqlstate[:2] in _TRANSIENT_SQLSTATE_CLASSES:
        return False
    if names & _PERMANENT_SQL_ERRORS:
        return True
    return getattr(exc, "sqlite_errorname", None) == "SQLITE_ERROR"


_ENGINE_ERRORS: dict[str, type[EngineError]] = {}


def engine_error_to_dict(error: EngineError) -> dict:
    """An engine error as JSON-able data (a trigger hands it to the task in its event).

    :param error: the error.
    """
    return {
        "type": type(error).__name__,
        "engine": error.engine,
        "detail": error.detail,
        "retryable": error.retryable,
        "retry_after": error.retry_after,
        "status": getattr(error, "status", None),
    }


def engine_error_from_dict(data: dict) -> EngineError:
    """Rebuild an engine error from :func:`engine_error_to_dict`'s data.

    :param data: the data.
    """
    if not _ENGINE_ERRORS:
        _ENGINE_ERRORS.update({cls.__name__: cls for cls in (EngineError, *_subclasses(EngineError))})
    cls = _ENGINE_ERRORS.get(data.get("type", ""), EngineError)
    error = cls.__new__(cls)
    EngineError.__init__(
        error, data["engine"], data["detail"], retryable=bool(data["retryable"]), retry_after=data.get("retry_after")
    )
    if data.get("status") is not None:
        error.status = int(data["status"])
        error.code = f"HTTP_{error.status}"
    return error


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def engine_error_of(exc: BaseException | None) -> EngineError | None:
    """The :class:`EngineError` behind an exception (itself, or its cause or context), if any.

    :param exc: any exception, possibly a fail-fast wrapper raised ``from`` an engine error.
    """
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, EngineError):
            return exc
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def classify(exc: BaseException, *, non_retryable: bool = False) -> ErrorInfo:
    """Classify an exception for the error log.

    :param exc: the failure.
    :param non_retryable: the caller already knows no retry can help (for example Airflow's
        fail-fast exception).
    """
    engine_error = engine_error_of(exc)
    if engine_error is not None:
        # A fail-fast wrapper says no retry will happen; the engine error says why it failed.
        return ErrorInfo(
            engine_error.code,
            type(engine_error).__name__,
            mask_secrets(str(engine_error))[:MAX_MESSAGE],
            engine_error.retryable and not non_retryable,
        )
    name = type(exc).__name__
    message = mask_secrets(str(exc) or name)[:MAX_MESSAGE]
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "InvalidParameters" in names:
        return ErrorInfo("INVALID_PARAMETERS", name, message, False)
    if sql_error_is_permanent(exc):
        return ErrorInfo("SQL_ERROR", name, message, False)
    if isinstance(exc, TimeoutError) or "Timeout" in name or "TaskDeferralTimeout" in names:
        return ErrorInfo("TIMEOUT", name, message, not non_retryable)
    if isinstance(exc, (ConnectionError, socket.gaierror)) or "OperationalError" in names:
        return ErrorInfo("CONNECTION", name, message, not non_retryable)
    if non_retryable:
        return ErrorInfo("NON_RETRYABLE", name, message, False)
    return ErrorInfo("TASK_ERROR", name, message, True)
